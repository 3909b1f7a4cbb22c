"""A robot as a kinematic tree: named links (frames) joined by fixed and movable joints.

Every link but the root has exactly one parent joint; joint j moves its child link by
`origin_j · Motion_j(q_j)` in its parent link's frame (URDF's convention), so a link's world pose
is the product of the origins and motions on its path from the root (whose pose is the identity).
Extra named frames ride on a link at a constant offset (a Chain's end effector `"tool"`).

`q` holds the free movable joints only, in `joint_names` order (the order the joints were given);
fixed joints carry no value, and a mimic joint (URDF's `<mimic>`: a coupled joint, not a degree
of freedom) takes the value multiplier · q[master] + offset of a free joint. A mimic of a mimic
resolves to the free joint at the end of the chain of couplings (multipliers multiply), so every
motion joint's value is q[source] · scale + offset, and FK applies that gather before the motions
(derivatives follow by the chain rule); the tree walk is unchanged.

Limits: `lower` and `upper` are the free joints' limits, with every mimic joint's own limits
intersected in: a mimic value is affine in one free joint, q[source] · scale + shift, so it stays
within [lower, upper] of the mimic joint exactly when its source lies in (lower − shift) / scale ..
(upper − shift) / scale (ends swapped for scale < 0), and that interval narrows the source's box
(`kinematics.chain.mimic_limits`; no overlap is a ValueError naming both joints). A q inside
`lower`/`upper` thus keeps every joint, coupled or free, inside its own limits.

Like chain.py, each movable joint's local transform origin · A Rz(q) Aᵀ (A takes z to the axis)
is linear in φ = (1, cos q, sin q, q): one constant (4, 16) table per joint, all stacked in
`Robot.table`, and FK (kinematics.frame_poses) multiplies them along the tree.
"""

from __future__ import annotations

import dataclasses
import difflib
import weakref

import numpy as np

from .chain import (
    MAX_JOINTS, PRISMATIC, REVOLUTE, Chain, Joint, _pose, _short, affine_terms, check_mimic, mimic_limits, motion_basis,
    plane_height, resolve_mimic,
)
from .transforms import axis_to_z

__all__ = ["Robot", "RobotJoint", "FIXED"]

FIXED = "fixed"


@dataclasses.dataclass(frozen=True, eq=False)
class RobotJoint:
    """One joint of a tree: it moves link `child` relative to link `parent`.

    Attributes:
        name: the joint's name (unique in the robot).
        parent, child: link names.
        type: "revolute", "prismatic" or "fixed".
        origin: (4, 4) rigid transform from the parent link's frame to the joint's frame.
        axis: (3,) motion axis in the joint's frame (ignored for fixed joints; stored normalised).
        limits: (lower, upper) as for `kinematics.Joint` (ignored for fixed joints).
        velocity: speed limit as for `kinematics.Joint` (None: not given; ignored for fixed joints).
        mimic: None for a free (or fixed) joint; for a coupled movable joint (master, multiplier,
            offset): its value is multiplier · value(master) + offset (URDF `<mimic>`; the
            master, another movable joint of the robot, is checked by `Robot`).
        motion: the `kinematics.Joint` holding (and validating) name, type, axis, origin and
            limits of a movable joint; None for a fixed one.

    Raises:
        ValueError: a bad type, origin, axis, limits or mimic (the message names the joint).
    """

    name: str
    parent: str
    child: str
    type: str = FIXED
    origin: np.ndarray = dataclasses.field(default_factory=lambda: np.eye(4))
    axis: np.ndarray = dataclasses.field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    limits: tuple = (-np.inf, np.inf)
    mimic: tuple | None = None
    velocity: float | None = None
    motion: Joint | None = dataclasses.field(default=None, init=False)

    def __post_init__(self):
        for field in ("name", "parent", "child"):
            if not isinstance(getattr(self, field), str) or not getattr(self, field):
                raise ValueError(f"RobotJoint {self.name!r}: {field} must be a non-empty string, "
                                 f"got {getattr(self, field)!r}")
        if self.mimic is not None:
            if self.type == FIXED:
                raise ValueError(f"Joint {self.name!r}: a fixed joint cannot mimic another joint "
                                 f"(mimic={self.mimic!r})")
            object.__setattr__(self, "mimic", check_mimic(self.name, self.mimic))
        if self.type == FIXED:
            object.__setattr__(self, "origin", _pose(self.origin, f"Joint {self.name!r}: origin"))
            return
        if self.type not in (REVOLUTE, PRISMATIC):
            raise ValueError(f"Joint {self.name!r}: type must be 'revolute', 'prismatic' or 'fixed', got {self.type!r}")
        motion = Joint(self.name, type=self.type, axis=self.axis, origin=self.origin, limits=self.limits,
                       velocity=self.velocity)
        for field in ("origin", "axis", "limits", "velocity", "motion"):
            object.__setattr__(self, field, motion if field == "motion" else getattr(motion, field))


class Robot:
    """A kinematic tree of links and joints, with extra named frames.

    Args:
        joints: RobotJoints (1 to MAX_JOINTS of them); the free movable ones (no mimic), in this
            order, are q's columns.
        frames: extra frames {name: (link, (4, 4) offset)}: the frame's pose is the link's pose
            times the offset.
        name: a label.

    Attributes:
        name, root (the one link that is no joint's child), joints (all, as given).
        links: link names, root first, every parent before its children.
        frames: every link, then the extra frames: the names `frame_poses` accepts.
        joint_names: the free movable joints, in q order; n: their number.
        mimic_names: the mimic (coupled) joints, in the order given; not in q.
        lower, upper: (n,) the free joints' limits (infinite for unbounded joints), intersected
            with the limits their mimic joints imply (module docstring).
        parent_joint: {link: the joint that moves it} (every link but the root).
        joints_by_name: {joint name: RobotJoint}.
        offsets: {extra frame: (link, (4, 4) offset)}.
        index: {free joint name: its q column}.
        source, scale, shift: (n + len(mimic_names),) for the motion joints (the free joints in q
            order, then the mimic joints): motion k's value is q[source[k]] * scale[k] + shift[k].
        table: (n + len(mimic_names), 4, 16) the motion joints' local transforms as linear maps
            of φ (module docstring).

    Raises:
        ValueError: duplicate joint or frame names, a link with two parents, no single root,
            a cycle, an extra frame on an unknown link, more than MAX_JOINTS joints, a mimic of
            an unknown or fixed joint, a cycle of mimics, a mimic joint whose limits no value of
            its master meets (naming both joints).
    """

    # Collision geometry for kinematics.Avoid and AvoidSelf: {frame: Sphere | Capsule | [shapes]} in
    # frame coordinates, or None (robots.collision_model(path) reads a description's).
    geometry = None

    def __init__(self, joints, frames=None, name: str = "robot"):
        self.joints = tuple(joints)
        self.name = name
        if not self.joints:
            raise ValueError(f"Robot {name!r}: needs at least one joint")
        if len(self.joints) > MAX_JOINTS:
            raise ValueError(f"Robot {name!r}: {len(self.joints)} joints is more than the {MAX_JOINTS} supported "
                             "(kinematics.chain.MAX_JOINTS)")
        parent_joint, children, seen = {}, {}, {}
        for joint in self.joints:
            if not isinstance(joint, RobotJoint):
                raise TypeError(f"Robot {name!r}: joints must be kinematics.RobotJoint, got {type(joint).__name__}")
            if joint.name in seen:
                raise ValueError(f"Robot {name!r}: two joints are named {joint.name!r}")
            seen[joint.name] = joint
            if joint.child in parent_joint:
                raise ValueError(f"Robot {name!r}: link {joint.child!r} has two parents: joints "
                                 f"{parent_joint[joint.child].name!r} and {joint.name!r}")
            parent_joint[joint.child] = joint
            children.setdefault(joint.parent, []).append(joint)
        roots = [link for link in dict.fromkeys(j.parent for j in self.joints) if link not in parent_joint]
        if len(roots) != 1:
            detail = f"roots {_short(roots)}" if roots else "every link has a parent"
            raise ValueError(f"Robot {name!r}: needs exactly one root link, found {len(roots)} ({detail})")
        self.root = roots[0]
        self.links = [self.root]  # breadth-first: parents before children, no recursion
        for link in self.links:
            self.links.extend(j.child for j in children.get(link, ()))
        if len(self.links) < len(parent_joint) + 1:  # links that the root does not reach hang in a loop
            loop = [j.name for j in self.joints if j.child not in set(self.links)]
            raise ValueError(f"Robot {name!r}: the joints form a cycle (not reachable from root {self.root!r}): "
                             f"{_short(loop)}")
        self.parent_joint = parent_joint
        self.joints_by_name = seen
        self.offsets = {}  # extra frame -> (link, offset)
        for frame, (link, offset) in (frames or {}).items():
            if frame in parent_joint or frame == self.root:
                raise ValueError(f"Robot {name!r}: frame {frame!r} is also a link name")
            if link not in parent_joint and link != self.root:
                raise ValueError(f"Robot {name!r}: frame {frame!r} is on unknown link {link!r}")
            self.offsets[frame] = (link, _pose(offset, f"Robot {name!r}: frame {frame!r} offset"))
        self.frames = self.links + list(self.offsets)
        free = [j for j in self.joints if j.motion is not None and j.mimic is None]
        mimics = [j for j in self.joints if j.mimic is not None]
        self.joint_names = [j.name for j in free]
        self.mimic_names = [j.name for j in mimics]
        self.index = {j.name: i for i, j in enumerate(free)}  # joint name -> q column
        # motion joints = free then mimic; motion k's value is q[source[k]] * scale[k] + shift[k]
        self.source = np.arange(len(free) + len(mimics))
        self.scale, self.shift = np.ones(len(self.source)), np.zeros(len(self.source))
        couplings, mimic = [], {j.name: j.mimic for j in mimics}
        fixed = {j.name for j in self.joints if j.motion is None}
        for k, joint in enumerate(mimics, start=len(free)):
            master, self.scale[k], self.shift[k] = resolve_mimic(f"Robot {name!r}", joint.name, mimic, seen, fixed)
            self.source[k] = self.index[master]
            couplings.append((joint.name, joint.limits, self.source[k], self.scale[k], self.shift[k]))
        self.lower, self.upper = mimic_limits(f"Robot {name!r}", [j.limits[0] for j in free],
                                              [j.limits[1] for j in free], self.joint_names, couplings)
        self._motion = {j.name: k for k, j in enumerate(free + mimics)}
        motions = free + mimics
        self.table = np.stack([_table(j) for j in motions]) if motions else np.zeros((0, 4, 16))
        self._depth = {link: i for i, link in enumerate(self.links)}
        self._plans = {}

    @property
    def n(self) -> int:
        return len(self.joint_names)

    def __repr__(self) -> str:
        mimics = f", {len(self.mimic_names)} mimic" if self.mimic_names else ""
        return f"Robot({self.name!r}, {len(self.links)} links, {self.n} movable joints{mimics})"

    @classmethod
    def from_chain(cls, chain: Chain) -> Robot:
        """The tree of a serial chain (cached on it): root link "base" (the world frame; the chain's
        base folds into the first joint's origin), one link per joint named after the joint (its
        frame after the motion, as `kinematics.link_poses`), and the end frame "tool".

        A chain's mimic joints stay mimic joints (RobotJoint mimic=...) with their own limits, so
        the tree intersects the same box; each of its `masters` (free joints off the path) hangs
        on "base" as a link of its own name, at its joint's origin and moving nothing else: a
        frame that exists for q's sake, not a pose of the robot.

        Args:
            chain: a `kinematics.Chain` whose joint and master names are unique and not "base" or
                "tool".

        Returns:
            A Robot with the chain's joints, couplings, limits and name; q is the chain's q.
        """
        robot = _FROM_CHAIN.get(chain)
        if robot is None:
            joints, parent = [], "base"
            for i, joint in enumerate(chain.joints):
                origin = chain.base @ joint.origin if i == 0 else joint.origin
                joints.append(RobotJoint(joint.name, parent, joint.name, joint.type, origin, joint.axis, joint.limits,
                                         chain.mimic.get(joint.name), joint.velocity))
                parent = joint.name
            tool = parent
            for joint in chain.masters:  # after the path: q's columns stay in the chain's order
                joints.append(RobotJoint(joint.name, "base", joint.name, joint.type, joint.origin, joint.axis,
                                         joint.limits, velocity=joint.velocity))
            robot = _FROM_CHAIN[chain] = cls(joints, frames={"tool": (tool, chain.tool)}, name=chain.name)
        return robot

    def chain(self, frame: str, base: str | None = None) -> Chain:
        """The serial chain from link `base` (default: the root) to `frame`, as a `kinematics.Chain`.

        The path's fixed joints fold into the next movable joint's origin (or into the tool, with
        an extra frame's offset), so the chain's FK equals `frame_poses(robot, q, [frame])` in
        `base`'s frame (the chain's base is the identity). Mimic joints on the path stay coupled to
        their free source joints (multipliers and offsets resolved, as in the tree); a source
        off the path becomes one of the chain's `masters`. q's columns are then the path's free
        joints, base to tip, then those masters — in general not the tree's q (`joint_names`
        says which).

        Args:
            frame: a link or extra frame of the robot.
            base: a link on the root path of `frame` (None: the root).

        Returns:
            A `kinematics.Chain` named after the robot, `planar` when it lies and moves in a plane
            parallel to `base`'s xy plane (`kinematics.chain.plane_height`, also its `plane_z`).

        Raises:
            ValueError: an unknown frame or base (naming the nearest frames), a base that is not on
                the frame's path, or no movable joint between them.
        """
        link, offset = self._frame_link(frame)
        if base is not None:
            self._frame_link(base)
            if base in self.offsets:
                raise ValueError(f"Robot {self.name!r}: base {base!r} must be a link, not an extra frame")
        path = []
        while link != (self.root if base is None else base):
            if link == self.root:
                raise ValueError(f"Robot {self.name!r}: frame {frame!r} is not below link {base!r}")
            path.append(self.parent_joint[link])
            link = path[-1].parent
        joints, couplings, pending = [], {}, np.eye(4)  # pending: fixed transforms since the last motion
        for joint in reversed(path):
            if joint.motion is None:
                pending = pending @ joint.origin
                continue
            joints.append(dataclasses.replace(joint.motion, origin=pending @ joint.origin))
            pending = np.eye(4)
            if joint.mimic is not None:
                k = self._motion[joint.name]
                couplings[joint.name] = (self.joint_names[self.source[k]], float(self.scale[k]), float(self.shift[k]))
        if not joints:
            raise ValueError(f"Robot {self.name!r}: no movable joint between {base or self.root!r} and {frame!r}")
        on_path = {j.name for j in joints}
        masters = [self.joints_by_name[master].motion for master in dict.fromkeys(m for m, _, _ in couplings.values())
                   if master not in on_path]
        tool = pending if offset is None else pending @ offset
        height = plane_height(joints, tool=tool)
        return Chain(joints, tool=tool, name=self.name, planar=height is not None, plane_z=height or 0.0,
                     mimic=couplings or None, masters=masters)

    def _frame_link(self, frame) -> tuple:
        """(link, offset) carrying `frame` (offset None for a link); ValueError naming the nearest frames."""
        if frame in self.offsets:
            return self.offsets[frame]
        if frame in self._depth:
            return frame, None
        near = difflib.get_close_matches(str(frame), self.frames, n=5)
        hint = f"nearest: {_short(near)}" if near else f"frames: {_short(self.frames)}"
        raise ValueError(f"Robot {self.name!r} has no frame {frame!r}; {hint}")

    def plan(self, frames) -> tuple:
        """The walk that computes `frames` (cached per tuple of names): (columns, scale, shift, terms,
        steps, outputs).

        Only links on the union of the frames' root paths are visited, parents first, each once,
        so shared ancestors are multiplied once. Fixed joints cost no product: the constants
        since the last movable joint fold into the next movable joint's row of `table` (a copy
        of `Robot.table`), or into the output.

        Returns:
            columns: (m,) the q column driving each of the m motion joints on the walk (a mimic
                joint's is its free source's); None when they are q's columns in order.
            scale, shift: (m,) the motions' values are q[..., columns] * scale + shift (None:
                all ones, all zeros; both None without mimic joints on the walk).
            terms: `affine_terms` of the (m, 4, 16) feature table of those motions (for `fk._locals`).
            steps: (link, anchor, i): pose[link] = pose[anchor] · local_i (local_i alone when
                anchor is the root), in topological order; i indexes `columns`.
            outputs: (anchor, C) per frame: its pose is pose[anchor] · C (C None: the identity).

        Raises:
            ValueError: no frames, or an unknown frame name (the message lists the nearest names).
        """
        key = tuple(frames)
        if not key:
            raise ValueError(f"Robot {self.name!r}: frames must name at least one frame")
        if key not in self._plans:
            targets, needed = [], set()
            for frame in key:
                link, offset = self._frame_link(frame)
                targets.append((link, offset))
                while link != self.root and link not in needed:
                    needed.add(link)
                    link = self.parent_joint[link].parent
            table, steps = self.table.copy(), []
            held = {self.root: (self.root, None)}  # link -> (anchor, C): pose = pose[anchor] · C
            for link in sorted(needed, key=self._depth.__getitem__):
                joint = self.parent_joint[link]
                anchor, C = held[joint.parent]
                if joint.motion is None:
                    held[link] = (anchor, joint.origin if C is None else C @ joint.origin)
                    continue
                i = self._motion[joint.name]
                if C is not None:
                    table[i] = (C @ table[i].reshape(4, 4, 4)).reshape(4, 16)
                steps.append((link, anchor, i))
                held[link] = (link, None)
            motions = sorted(i for _, _, i in steps)  # the motions this walk needs: only those are made
            position = {i: k for k, i in enumerate(motions)}
            table, steps = table[motions], [(link, anchor, position[i]) for link, anchor, i in steps]
            columns, scale, shift = self.source[motions], self.scale[motions], self.shift[motions]
            if len(columns) == self.n and np.array_equal(columns, np.arange(self.n)):
                columns = None  # q itself: no gather
            scale = None if np.all(scale == 1.0) else scale
            shift = None if np.all(shift == 0.0) else shift
            outputs = []
            for link, offset in targets:
                anchor, C = held[link]
                outputs.append((anchor, offset if C is None else C if offset is None else C @ offset))
            self._plans[key] = (columns, scale, shift, affine_terms(table), steps, outputs)
        return self._plans[key]


_FROM_CHAIN = weakref.WeakKeyDictionary()  # Chain -> Robot (a chain is not changed after it is built)


def as_robot(robot) -> Robot:
    """A Robot as it is, a Chain as its tree (`Robot.from_chain`); TypeError otherwise."""
    if isinstance(robot, Robot):
        return robot
    if isinstance(robot, Chain):
        return Robot.from_chain(robot)
    raise TypeError(f"expected a kinematics.Robot or Chain, got {type(robot).__name__}")


def _table(joint: RobotJoint) -> np.ndarray:
    """(4, 16): the local transform origin · A Mz(q) Aᵀ, flattened, is φ @ table, φ = (1, cos q, sin q, q)."""
    A = axis_to_z(joint.axis)
    return (joint.origin @ A @ motion_basis(joint.type) @ A.T).reshape(4, 16)
