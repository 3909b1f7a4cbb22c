"""kinematics: serial chains and trees (Robot), forward kinematics, Jacobians and IK through the autodiff engine.

Glossary: q joint values (..., n); T homogeneous pose (..., 4, 4); R rotation (..., 3, 3);
p position (..., 3); J geometric Jacobian (..., 6, n), rows [v; ω] in the base frame;
e pose error (..., 6) = [p_t − p; rotation vector of R_t Rᵀ]; n degrees of freedom.
"""

from . import collision, transforms
from .chain import PRISMATIC, REVOLUTE, Chain, Joint
from .fk import (
    forward_kinematics, frame_jacobian, frame_poses, geometric_jacobian, jacobian, link_poses, pose_and_jacobian,
    pose_error, rotation_vector,
)
from .ik import DAMPING, METHODS, IKResult, default_start, solve
from .paths import PathResult, interpolate_poses, solve_path
from .reach import reachability
from .scale import solve_many
from .robot import FIXED, Robot, RobotJoint
from .collision import Avoid, AvoidSelf, Box, Capsule, HalfSpace, PointCloud, Sphere
from .trajectory import TrajectoryResult, optimize_trajectory
from .tasks import Axis, Cost, Manipulability, Orientation, Pose, Position, Posture, Relative, Task

__all__ = [
    "Chain", "Joint", "REVOLUTE", "PRISMATIC", "transforms", "forward_kinematics", "link_poses",
    "Robot", "RobotJoint", "FIXED", "frame_poses", "frame_jacobian",
    "jacobian", "geometric_jacobian", "pose_and_jacobian", "pose_error", "rotation_vector",
    "solve", "solve_many", "reachability", "solve_path", "interpolate_poses", "default_start", "IKResult", "PathResult",
    "METHODS", "DAMPING", "optimize_trajectory", "TrajectoryResult",
    "collision", "Sphere", "Capsule", "Box", "HalfSpace", "PointCloud", "Avoid", "AvoidSelf",
    "Task", "Pose", "Position", "Orientation", "Axis", "Relative", "Posture", "Manipulability", "Cost",
]
