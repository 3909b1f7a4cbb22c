"""kinematics (see DESIGN.md)."""
