"""robots: arm definitions — planar arms, DH tables, URDF files, TOML arm files, a catalog.

Every builder returns a `kinematics.Chain`.
"""

from .builders import DHRow, from_dh, planar
from .catalog import available, get

__all__ = ["available", "get", "planar", "from_dh", "DHRow"]
