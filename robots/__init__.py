"""robots (see DESIGN.md)."""
