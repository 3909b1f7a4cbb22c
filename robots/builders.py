"""Arm builders: planar n-link arms and Denavit-Hartenberg tables (Chains), arms on a torso (a Robot).

A DH row becomes one joint: the constant part of the row before the joint motion goes into the
joint's origin, the part after it into the next joint's origin (or the tool), so every
joint moves about (or along) its local z axis.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from kinematics import FIXED, Chain, Joint, Robot, RobotJoint
from kinematics.chain import MAX_LENGTH
from kinematics.robot import as_robot
from kinematics.transforms import rot_x, rot_z, translation

__all__ = ["DHRow", "planar", "from_dh", "mount_arms"]


def _limits(limits, name):
    if limits is None:
        return (-math.inf, math.inf)
    try:
        lower, upper = (float(v) for v in limits)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: limits must be a pair (lower, upper), got {limits!r}") from None
    if not lower <= upper:
        raise ValueError(f"{name}: limits must satisfy lower <= upper, got {limits!r}")
    return (lower, upper)


def planar(lengths, limits=None, name: str | None = None) -> Chain:
    """An n-link planar arm: joints about z, each link along its x axis.

    Args:
        lengths: (n,) positive link lengths in metres, each at most kinematics.chain.MAX_LENGTH (1e6).
        limits: None for (−π, π) on every joint, one (lower, upper) pair for all, or n pairs.
        name: a label (default "planarN").

    Example:
        >>> from kinematics import forward_kinematics
        >>> arm = planar([1.0, 0.8])
        >>> np.round(forward_kinematics(arm, [np.pi / 2, -np.pi / 2])[:2, 3], 12)
        array([0.8, 1. ])
    """
    lengths = np.asarray(lengths, dtype=float)
    if (lengths.ndim != 1 or lengths.size == 0 or not np.all(np.isfinite(lengths)) or np.any(lengths <= 0)
            or np.any(lengths > MAX_LENGTH)):
        shown = lengths.tolist() if lengths.size <= 8 else f"an array of shape {lengths.shape}"
        raise ValueError(f"planar: lengths must be a non-empty list of positive numbers up to {MAX_LENGTH:g} m "
                         f"(kinematics.chain.MAX_LENGTH), got {shown}")
    n = lengths.size
    if limits is None:
        limits = [(-math.pi, math.pi)] * n
    elif np.ndim(limits) == 1:
        limits = [limits] * n
    if len(limits) != n:
        raise ValueError(f"planar: {len(limits)} limit pairs for {n} links")
    joints = [
        Joint(f"joint{i + 1}", origin=translation([lengths[i - 1] if i else 0.0, 0.0, 0.0]),
              limits=_limits(lim, f"planar joint{i + 1}"))
        for i, lim in enumerate(limits)
    ]
    return Chain(joints, tool=translation([lengths[-1], 0.0, 0.0]), name=name or f"planar{n}", planar=True)


@dataclasses.dataclass(frozen=True)
class DHRow:
    """One Denavit-Hartenberg row.

    Standard: T = Rz(q + offset) Tz(d) Tx(a) Rx(alpha). Modified (Craig): T = Rx(alpha) Tx(a)
    Rz(q + offset) Tz(d). For a prismatic joint q adds to d instead, and offset stays the
    joint angle.

    Attributes:
        d, a, alpha, offset: lengths in metres, angles in radians.
        joint: "revolute" or "prismatic".
        limits: (lower, upper) or None for an unbounded (continuous) joint.
        name: the joint's name (default "jointK").
    """

    d: float = 0.0
    a: float = 0.0
    alpha: float = 0.0
    offset: float = 0.0
    joint: str = "revolute"
    limits: tuple | None = None
    name: str | None = None


_DH_KEYS = {f.name for f in dataclasses.fields(DHRow)}


def _row(row, k):
    if isinstance(row, DHRow):
        return row
    if not isinstance(row, dict):
        raise TypeError(f"from_dh: row {k} must be a DHRow or a dict with named fields, got {type(row).__name__}")
    unknown = set(row) - _DH_KEYS
    if unknown:
        raise ValueError(f"from_dh: row {k} has unknown keys {sorted(unknown)}; expected some of {sorted(_DH_KEYS)}")
    return DHRow(**row)


def from_dh(rows, *, modified: bool = False, base=None, tool=None, name: str | None = None) -> Chain:
    """A chain from a DH table.

    Args:
        rows: DHRow objects or dicts with keys d, a, alpha, offset, joint, limits, name; |d| and
            |a| at most kinematics.chain.MAX_LENGTH (1e6 m), limits as `kinematics.Joint` takes them.
        modified: use modified (Craig) DH instead of standard DH.
        base: (4, 4) base transform; tool: (4, 4) transform after the last row.
        name: a label.

    Example:
        >>> from kinematics import forward_kinematics
        >>> arm = from_dh([DHRow(a=1.0), DHRow(a=1.0)])
        >>> np.round(forward_kinematics(arm, [0.0, np.pi / 2])[:3, 3], 12)
        array([1., 1., 0.])
    """
    rows = [_row(r, k) for k, r in enumerate(rows)]
    if not rows:
        raise ValueError("from_dh: needs at least one row")
    joints, after = [], np.eye(4)  # `after`: the previous row's constant part after its joint
    for k, r in enumerate(rows):
        label = r.name or f"joint{k + 1}"
        values = [r.d, r.a, r.alpha, r.offset]
        if not all(isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) for v in values):
            raise ValueError(f"from_dh: row {k} ({label}) needs finite numbers for d, a, alpha, offset, got {values}")
        if max(abs(r.d), abs(r.a)) > MAX_LENGTH:
            raise ValueError(f"from_dh: row {k} ({label}) d={r.d:g}, a={r.a:g}: lengths must be at most "
                             f"{MAX_LENGTH:g} m in magnitude (kinematics.chain.MAX_LENGTH)")
        if r.joint not in ("revolute", "prismatic"):
            raise ValueError(f"from_dh: row {k} ({label}) joint must be 'revolute' or 'prismatic', got {r.joint!r}")
        if modified:
            before = rot_x(r.alpha) @ translation([r.a, 0, 0]) @ rot_z(r.offset)
            trailing = translation([0, 0, r.d])
        else:
            before = rot_z(r.offset)
            trailing = translation([0, 0, r.d]) @ translation([r.a, 0, 0]) @ rot_x(r.alpha)
        joints.append(Joint(label, type=r.joint, origin=after @ before, limits=_limits(r.limits, label)))
        after = trailing
    tool = after if tool is None else after @ np.asarray(tool, dtype=float)
    return Chain(joints, base=base, tool=tool, name=name or "dh")


def mount_arms(arms, *, root: str = "torso", name: str = "robot") -> Robot:
    """Several arms fixed to one root link, as one tree: a dual-arm robot on a torso.

    Each arm keeps its own tree (`Robot.from_chain` for a Chain: its joints, limits, origins and
    end frame "tool", never rebuilt from DH), with every link, joint and extra frame name given
    the arm's prefix; a fixed joint f"{prefix}mount" holds the arm's root link (a chain's
    "base", i.e. f"{prefix}base") at `mount` in the root link's frame. So an arm's frame pose is
    mount · (the arm's own pose of that frame at its q), and q is the arms' q one after another.

    Args:
        arms: (prefix, arm, mount) triples: prefix a non-empty string, arm a `kinematics.Chain`
            or `kinematics.Robot`, mount a (4, 4) rigid transform.
        root: the root link's name.
        name: the robot's name.

    Returns:
        A `kinematics.Robot`: joint_names, lower and upper are the arms' in the order given.

    Raises:
        ValueError: no arms, an empty or non-string prefix, a bad mount, or names that clash
            (two arms with one prefix; `Robot` names the duplicate).
        TypeError: an arm that is neither a Chain nor a Robot.

    Example:
        >>> from kinematics import frame_poses
        >>> from kinematics.transforms import translation
        >>> two = mount_arms([("l_", planar([1.0]), translation([0, 1, 0])),
        ...                   ("r_", planar([1.0]), translation([0, -1, 0]))])
        >>> two.joint_names
        ['l_joint1', 'r_joint1']
        >>> np.round(frame_poses(two, [0.0, np.pi / 2], ["l_tool", "r_tool"])[:, :3, 3], 12) + 0.0
        array([[1., 1., 0.],
               [0., 0., 0.]])
    """
    arms = list(arms)
    if not arms:
        raise ValueError(f"mount_arms: {name!r} needs at least one (prefix, arm, mount) triple")
    joints, frames = [], {}
    for k, triple in enumerate(arms):
        try:
            prefix, arm, mount = triple
        except (TypeError, ValueError):
            raise ValueError(f"mount_arms: arm {k} must be a (prefix, arm, mount) triple, got {triple!r}") from None
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"mount_arms: arm {k}'s prefix must be a non-empty string, got {prefix!r}")
        tree = as_robot(arm)
        joints.append(RobotJoint(f"{prefix}mount", root, prefix + tree.root, FIXED, mount))
        for j in tree.joints:  # the arm's own joints, renamed; origins, axes and limits as they are
            mimic = None if j.mimic is None else (prefix + j.mimic[0], *j.mimic[1:])
            joints.append(RobotJoint(prefix + j.name, prefix + j.parent, prefix + j.child, j.type, j.origin, j.axis,
                                     j.limits, mimic, j.velocity))
        frames.update({prefix + frame: (prefix + link, offset) for frame, (link, offset) in tree.offsets.items()})
    return Robot(joints, frames=frames, name=name)
