"""robots: arm definitions — planar arms, DH tables, URDF and MJCF files, TOML arm files, a catalog.

Every builder returns a `kinematics.Chain` (but `builders.mount_arms`, arms on a torso); `load_robot`
and `load_mjcf` return whole trees (`kinematics.Robot`), and so does `get` for the built-in trees ("dual_panda").
"""

from .armfile import ArmFileError, load
from .builders import DHRow, from_dh, planar
from .catalog import available, get
from .mjcf import MJCFError, load_mjcf
from .robot import example_robot_data, load_robot
from .urdf import URDFError, load_urdf

__all__ = ["available", "get", "planar", "from_dh", "DHRow", "load_urdf", "load", "load_robot", "example_robot_data",
           "load_mjcf", "URDFError", "MJCFError", "ArmFileError"]
