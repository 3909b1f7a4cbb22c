"""A serial chain as data: constant transforms and joint motions.

Joint i moves by `origin_i · Motion_i(q_i)`, where `origin_i` (4, 4) is the constant transform
from the previous link's frame to the joint's frame and `Motion_i` rotates about (revolute) or
slides along (prismatic) the joint's unit `axis`, given in the joint's frame (URDF's convention).
The end effector is `base · Π_i origin_i Motion_i(q_i) · tool`.

For speed, `compile_chain` rewrites every motion as one about the local z axis
(Motion_k(q) = A Rz(q) Aᵀ with A a constant rotation taking z to k) and folds all constants:
T(q) = C_0 Mz(q_1) C_1 Mz(q_2) ... Mz(q_n) C_n. Each factor C_{i-1} Mz(q_i) is linear in the
features φ_i = (1, cos q_i, sin q_i, q_i), so all n local transforms come from one contraction
with a constant (n, 4, 16) table.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property

import numpy as np

from .transforms import axis_to_z, unit_vector

__all__ = ["Joint", "Chain", "REVOLUTE", "PRISMATIC", "MAX_LENGTH", "MAX_LIMIT", "MAX_JOINTS"]

REVOLUTE = "revolute"
PRISMATIC = "prismatic"


MAX_LENGTH = 1e6
"""Largest |translation| (m) in a joint origin, base or tool: far beyond any arm, and small enough
that FK of MAX_JOINTS joints (|p| <= n (MAX_LENGTH + MAX_LIMIT)) and its squared errors stay finite."""
MAX_LIMIT = 1e6
"""Largest |finite joint limit| (rad or m): ranges beyond it only overflow the solver's sampling and
steps (a ±1e308 range has an infinite span); unbounded joints use (-inf, inf) instead."""
MAX_JOINTS = 10_000
"""Most joints in a chain: the LM solver forms (n, n) systems per target (800 MB at 10,000 joints),
and building, compiling and differentiating a chain are linear in n (seconds at 10,000)."""


@dataclasses.dataclass(frozen=True, eq=False)
class Joint:
    """One degree of freedom.

    Attributes:
        name: the joint's name.
        type: "revolute" (angle in rad) or "prismatic" (displacement in m). A continuous joint
            is a revolute joint with limits (-inf, inf).
        axis: (3,) axis in the joint frame: any nonzero finite vector, stored normalised (scaled
            by its largest component first, so (1e200, 0, 0) works).
        origin: (4, 4) constant rigid transform from the parent link frame to the joint frame:
            rotation block orthonormal to 1e-6, last row (0, 0, 0, 1), |translation| <= MAX_LENGTH.
        limits: (lower, upper), finite with |value| <= MAX_LIMIT and lower <= upper, or
            (-inf, inf) for an unbounded joint (half-infinite ranges are refused).

    Raises:
        ValueError: any of the above violated; the message names the joint and the bad value.
    """

    name: str
    type: str = REVOLUTE
    axis: np.ndarray = dataclasses.field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    origin: np.ndarray = dataclasses.field(default_factory=lambda: np.eye(4))
    limits: tuple = (-math.inf, math.inf)

    def __post_init__(self):
        if self.type not in (REVOLUTE, PRISMATIC):
            raise ValueError(f"Joint {self.name!r}: type must be 'revolute' or 'prismatic', got {self.type!r}")
        axis = unit_vector(self.axis)
        if axis is None:
            raise ValueError(f"Joint {self.name!r}: axis must be a nonzero finite 3-vector, got {_show(self.axis)}")
        origin = _pose(self.origin, f"Joint {self.name!r}: origin")
        object.__setattr__(self, "axis", axis)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "limits", _limits(self.limits, f"Joint {self.name!r}"))

    @property
    def continuous(self) -> bool:
        """True for a revolute joint without limits."""
        return self.type == REVOLUTE and math.isinf(self.limits[0]) and math.isinf(self.limits[1])


def motion_basis(joint_type: str) -> np.ndarray:
    """(4, 4, 4) K with the motion about (revolute) or along (prismatic) z equal to Σ_f φ_f K[f],
    φ = (1, cos q, sin q, q): FK's per-joint transforms are then linear in φ."""
    K = np.zeros((4, 4, 4))
    if joint_type == REVOLUTE:
        K[0] = np.diag([0.0, 0.0, 1.0, 1.0])
        K[1] = np.diag([1.0, 1.0, 0.0, 0.0])
        K[2][0, 1], K[2][1, 0] = -1.0, 1.0
    else:
        K[0] = np.eye(4)
        K[3][2, 3] = 1.0
    return K


class Chain:
    """A serial kinematic chain.

    Args:
        joints: the joints, base to tip (1 to MAX_JOINTS of them).
        base: (4, 4) pose of the chain's root in the world (default identity).
        tool: (4, 4) end-effector transform after the last joint (default identity); base and
            tool are rigid with |translation| <= MAX_LENGTH, as a joint's origin.
        name: a label.
        planar: the chain moves in its base's xy plane (every joint turns about the base z axis),
            so 2-D position targets make sense for it.

    Attributes:
        n: degrees of freedom.
        lower, upper: (n,) joint limits (infinite for unbounded joints).
    """

    def __init__(self, joints, base=None, tool=None, name: str = "chain", planar: bool = False):
        self.joints = tuple(joints)
        if not self.joints:
            raise ValueError("Chain: needs at least one joint")
        if len(self.joints) > MAX_JOINTS:
            raise ValueError(f"Chain: {len(self.joints)} joints is more than the {MAX_JOINTS} supported "
                             "(kinematics.chain.MAX_JOINTS)")
        self.base = np.eye(4) if base is None else _pose(base, "Chain: base")
        self.tool = np.eye(4) if tool is None else _pose(tool, "Chain: tool")
        self.name = name
        self.planar = bool(planar)
        self.lower = np.array([j.limits[0] for j in self.joints])
        self.upper = np.array([j.limits[1] for j in self.joints])

    @property
    def n(self) -> int:
        return len(self.joints)

    @property
    def joint_names(self) -> list:
        return [j.name for j in self.joints]

    def replace(self, **changes) -> Chain:
        """A copy with some of joints, base, tool, name, planar changed."""
        fields = dict(joints=self.joints, base=self.base, tool=self.tool, name=self.name, planar=self.planar)
        fields.update(changes)
        return Chain(**fields)

    def __repr__(self) -> str:
        kinds = "".join("R" if j.type == REVOLUTE else "P" for j in self.joints)
        return f"Chain({self.name!r}, {self.n} joints {kinds})"

    @cached_property
    def compiled(self) -> dict:
        """The folded form used by forward kinematics (see the module docstring).

        Returns a dict of constants:
            table: (n, 4, 16) — local transform i, flattened, is φ_i @ table[i] with
                φ_i = (1, cos q_i, sin q_i, q_i).
            table_fk: (n, 4, 16) — the same with the tool folded into the last joint's entry,
                so that the product of the local transforms is the end-effector pose.
            frames: (n, 4, 4) — right factors turning z-form frames into joint frames (Aᵀ).
            constants: (n, 4, 4) — C_i, so that T(q) = Π_i C_i Mz(q_i) · tip.
            tip: (4, 4) — the constant after the last motion (its Aᵀ and the tool).
        """
        n = self.n
        table = np.zeros((n, 4, 16))
        frames = np.zeros((n, 4, 4))
        constants = np.zeros((n, 4, 4))
        left = self.base
        for i, joint in enumerate(self.joints):
            A = axis_to_z(joint.axis)
            C = left @ joint.origin @ A  # constant before the z-motion
            constants[i] = C
            table[i] = (C @ motion_basis(joint.type)).reshape(4, 16)
            frames[i] = A.T
            left = A.T  # the next joint's constant starts with this joint's Aᵀ
        tip = (table[-1].reshape(4, 4, 4) @ (frames[-1] @ self.tool)).reshape(4, 16)
        return {"table": table, "table_fk": np.concatenate([table[:-1], tip[None]]), "frames": frames,
                "constants": constants, "tip": frames[-1] @ self.tool}


def _show(value):
    """A short text for a bad value: the numbers of a small array, else its shape."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    if array.size > 16:
        return f"an array of shape {array.shape}"
    return np.array2string(array.ravel() if array.ndim > 1 else array, separator=", ", precision=6)


def _pose(T, what):
    """`T` as a float (4, 4) rigid transform; ValueError naming `what` and the first problem."""
    try:
        T = np.asarray(T, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a (4, 4) transform, got {_show(T)}") from None
    if T.shape != (4, 4):
        raise ValueError(f"{what} must be a (4, 4) transform, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise ValueError(f"{what} must be a finite (4, 4) transform ({np.count_nonzero(~np.isfinite(T))} "
                         "NaN or infinite entries)")
    if np.abs(T[:3, 3]).max() > MAX_LENGTH:
        raise ValueError(f"{what}: translation {_show(T[:3, 3])} exceeds {MAX_LENGTH:g} m in magnitude "
                         "(kinematics.chain.MAX_LENGTH)")
    R = T[:3, :3]
    # Rigid only: a scaled or sheared block would grow without bound along a long chain.
    if (np.abs(R).max() > 1.0 + 1e-6  # first, so that RᵀR cannot overflow
            or np.abs(R.T @ R - np.eye(3)).max() > 1e-6 or np.abs(T[3] - [0.0, 0.0, 0.0, 1.0]).max() > 1e-12):
        raise ValueError(f"{what} must be a rigid transform (orthonormal rotation block, last row 0 0 0 1)")
    return T


def _limits(limits, who):
    """(lower, upper) as floats: finite within MAX_LIMIT, or (-inf, inf) for an unbounded joint."""
    try:
        lower, upper = (float(v) for v in limits)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: limits must be a pair (lower, upper), got {_show(limits)}") from None
    if lower == -math.inf and upper == math.inf:
        return (lower, upper)
    for side, v in (("lower", lower), ("upper", upper)):
        if not abs(v) <= MAX_LIMIT:  # NaN fails too
            raise ValueError(f"{who}: limit {side}={v} must be finite with magnitude <= {MAX_LIMIT:g} "
                             "(kinematics.chain.MAX_LIMIT), or limits (-inf, inf) for an unbounded joint")
    if lower > upper:
        raise ValueError(f"{who}: limits must satisfy lower <= upper, got ({lower}, {upper})")
    return (lower, upper)
