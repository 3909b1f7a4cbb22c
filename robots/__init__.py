"""robots: arm definitions — planar arms, DH tables, URDF, MJCF and xacro files, TOML arm files, a catalog.

Every builder returns a `kinematics.Chain` (but `builders.mount_arms`, arms on a torso); `load_robot`
and `load_mjcf` return whole trees (`kinematics.Robot`), and so does `get` for the built-in trees
("dual_panda"). `expand_xacro` turns a xacro file into URDF text (robots.xacro also loads it:
`load_xacro`, `load_xacro_chain`); the `xacro` package it needs is imported only then.
`collision_model` gives each link's enclosing spheres and capsules (URDF `<collision>`, MJCF
geoms), `load_scene` a scene file's obstacles (both in `kinematics.collision` shapes).
"""

from .armfile import ArmFileError, load
from .builders import DHRow, from_dh, planar
from .catalog import available, get
from .geometry import GeometryWarning, collision_model
from .mjcf import MJCFError, MJCFWarning, load_mjcf
from .robot import description_kind, example_robot_data, load_robot
from .scene import SceneError, load_scene
from .urdf import URDFError, URDFWarning, load_urdf
from .xacro import XacroError, expand_xacro

__all__ = ["available", "get", "planar", "from_dh", "DHRow", "load_urdf", "load_mjcf", "load", "load_robot",
           "description_kind", "example_robot_data", "expand_xacro", "URDFError", "URDFWarning", "MJCFError",
           "MJCFWarning", "XacroError", "ArmFileError", "collision_model", "GeometryWarning", "load_scene",
           "SceneError"]
