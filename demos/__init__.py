"""demos (see DESIGN.md)."""
