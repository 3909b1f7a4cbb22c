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

Mimic joints (URDF's `<mimic>`) are coupled, not free: `Chain(joints, mimic={name: (master,
multiplier, offset)})` sets joint `name`'s value to multiplier · value(master) + offset. q then
holds the free joints only (`free_joints`, `joint_names`, `n`): the joints of the path that mimic
nothing, base to tip, then the `masters`, free joints that lie off the path (a gripper's first
finger, which the second finger's chain mimics without passing through it: its column moves the
path only through its mimics). Every motion's value is affine in one column,
values = q[..., source] · scale + shift (`coupling`), so FK gathers and scales q before the
motions and the engine's derivatives follow by the chain rule; the closed-form Jacobian is the
one of the motions times the (m, n) `coupling_matrix`. A mimic joint's own limits are enforced
through its source: each is pulled back to the source's value, (lower − offset) / multiplier to
(upper − offset) / multiplier (ends swapped for a negative multiplier), and intersected into the
source's box (`lower`, `upper`), so a q inside the box keeps every mimic joint inside its limits.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
from functools import cached_property

import numpy as np

from .transforms import axis_to_z, unit_vector

__all__ = ["Joint", "Chain", "REVOLUTE", "PRISMATIC", "MAX_LENGTH", "MAX_LIMIT", "MAX_JOINTS", "check_mimic",
           "resolve_mimic", "mimic_limits", "plane_height"]

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
        velocity: the joint's speed limit (rad/s or m/s; URDF `<limit velocity>`), positive and
            finite, or None when the description gives none (never read as zero).

    Raises:
        ValueError: any of the above violated; the message names the joint and the bad value.
    """

    name: str
    type: str = REVOLUTE
    axis: np.ndarray = dataclasses.field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    origin: np.ndarray = dataclasses.field(default_factory=lambda: np.eye(4))
    limits: tuple = (-math.inf, math.inf)
    velocity: float | None = None

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
        object.__setattr__(self, "velocity", _velocity(self.velocity, f"Joint {self.name!r}"))

    @property
    def continuous(self) -> bool:
        """True for a revolute joint without limits."""
        return self.type == REVOLUTE and math.isinf(self.limits[0]) and math.isinf(self.limits[1])


PLANAR_TOLERANCE = 1e-9
"""Largest |axis component| (unit axes) and height difference (m, times 1 + the chain's summed
offsets) still read as zero by `plane_height`."""


def plane_height(joints, base=None, tool=None) -> float | None:
    """The height z = h of the horizontal plane a chain lies and moves in for every q, or None
    when it does not (`Chain.planar`, `Chain.plane_z`).

    At q = 0 let W_i be the world pose of joint i's frame (base, then the origins up to it). If
    every revolute axis W_i a_i is ±z and every prismatic axis is horizontal (W_i a_i · z = 0),
    then moving any joint turns about, or slides across, the z axis: the rotation before joint i
    stays Rz(φ) W_i (turns about z commute), so the axes keep those directions, and every
    translation keeps its height, z(W_i(q)) = z(W_i(0)). Frames at one height h at q = 0 thus stay
    at h for all q. The chain is planar when, in addition, every joint frame and the end effector
    sit at one height at q = 0: the arm then lies in the plane z = h, where 2-D targets (x, y),
    read as (x, y, h), and 2-D drawings put it. A prismatic joint along z, a tilted revolute axis,
    or a tool offset along z each break it; the base frame's own height does not count (a joint
    origin may lift the arm onto its plane).

    Args:
        joints: `Joint`s, base to tip.
        base, tool: (4, 4) rigid transforms before the first and after the last joint (None: identity).
    """
    W = np.eye(4) if base is None else np.asarray(base, dtype=float)
    tool = np.eye(4) if tool is None else np.asarray(tool, dtype=float)
    reach, heights = 1.0 + float(np.abs(W[:3, 3]).sum()), []
    for joint in joints:
        W = W @ joint.origin
        axis = W[:3, :3] @ joint.axis
        off_plane = abs(axis[2]) if joint.type == PRISMATIC else math.hypot(axis[0], axis[1])
        if off_plane > PLANAR_TOLERANCE:
            return None
        heights.append(W[2, 3])
        reach += float(np.abs(joint.origin[:3, 3]).sum())  # a bound on how far any frame can be
    heights.append((W @ tool)[2, 3])
    reach += float(np.abs(tool[:3, 3]).sum())
    if max(heights) - min(heights) > PLANAR_TOLERANCE * reach:
        return None
    h = heights[-1]  # the end effector's: 2-D targets are its positions
    return 0.0 if abs(h) <= PLANAR_TOLERANCE * reach else float(h)


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


def affine_terms(table: np.ndarray) -> tuple:
    """A table of local transforms (m, 4, 16) split by feature: φ @ table[i] =
    constant[i] + (cos q, sin q) @ turn[i] + q slide[i], flattened.

    FK computes the local transforms this way (`fk._locals`): cos and sin come from one op,
    and the slide term, zero for a turn, is left out of chains that do not slide.

    Returns:
        (constant (m, 1, 16), turn (m, 2, 16), slide (m, 1, 16) or None where no joint slides),
        contiguous copies.
    """
    slide = table[:, 3:4].copy() if table[:, 3].any() else None
    return table[:, 0:1].copy(), table[:, 1:3].copy(), slide


class Chain:
    """A serial kinematic chain.

    Args:
        joints: the movable joints of the path, base to tip (1 to MAX_JOINTS of them), mimic
            joints included: FK multiplies all of them.
        base: (4, 4) pose of the chain's root in the world (default identity).
        tool: (4, 4) end-effector transform after the last joint (default identity); base and
            tool are rigid with |translation| <= MAX_LENGTH, as a joint's origin.
        name: a label.
        planar: the chain lies and moves in a horizontal plane z = plane_z (every joint turns
            about, or slides across, the z axis; `plane_height` tells), so 2-D position targets
            (x, y), read as (x, y, plane_z), make sense for it. The loaders set both by
            `plane_height`.
        plane_z: that plane's height (m) in the world, for a planar chain (default 0).
        mimic: {joint name: (master name, multiplier, offset)} for the coupled joints among
            `joints`: value = multiplier · value(master) + offset (module docstring). A master is
            another joint of the path or of `masters`; a mimic of a mimic resolves to the free
            joint at the end of the couplings.
        masters: free joints off the path that mimic joints of the path follow (only their name,
            type and limits matter: their motion is not on the path); each must drive a mimic.

    Attributes:
        joints: the path's joints, as given (m = len(joints) motions).
        free_joints: the q columns: the path's joints that mimic nothing, then `masters`; each
            with its limits intersected with its mimics' (so `free_joints[i].limits` ==
            (lower[i], upper[i])). Without mimic joints, `joints` itself.
        n: degrees of freedom, len(free_joints).
        lower, upper: (n,) the free joints' limits (infinite for unbounded joints), intersected
            with the limits their mimic joints imply (module docstring).
        mimic: {mimic joint: (master, multiplier, offset)} as given (checked; read-only), empty
            without mimic joints.
        masters: the free joints off the path, as given.
        coupling: (source, scale, shift): (m,) arrays with motion k's value
            q[..., source[k]] · scale[k] + shift[k] (scale or shift None when all ones or all
            zeros); None when the motions' values are q itself (m = n, source = 0..m-1, no scale
            or shift): without mimic joints, or a Panda finger's chain, whose last joint copies
            the other finger's.

    Raises:
        ValueError: no or too many joints, a bad base or tool, a mimic that names an unknown
            joint, a cycle of mimics, a master that drives nothing, duplicate names among joints
            and masters, mimic limits that no value of their source meets (the message names
            both joints).
        TypeError: a master that is not a `kinematics.Joint`.
    """

    # Collision geometry for kinematics.Avoid and AvoidSelf: {frame of Robot.from_chain(chain): Sphere |
    # Capsule | [shapes]} in frame coordinates, or None (robots.get sets it for arms with a built-in model).
    geometry = None

    def __init__(self, joints, base=None, tool=None, name: str = "chain", planar: bool = False, mimic=None,
                 masters=(), plane_z: float = 0.0):
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
        self.plane_z = float(plane_z)
        if not abs(self.plane_z) <= MAX_LENGTH:
            raise ValueError(f"Chain: plane_z must be finite with magnitude <= {MAX_LENGTH:g} m, got {plane_z!r}")
        # read-only: a chain is not changed after it is built (its compiled tables and tree are cached)
        self.mimic = types.MappingProxyType({} if mimic is None else {key: check_mimic(key, value)
                                                                      for key, value in dict(mimic).items()})
        self.masters = tuple(masters)
        if not self.mimic and not self.masters:  # the common case: q drives the motions one to one
            self.free_joints, self.coupling = self.joints, None
            self.lower = np.array([j.limits[0] for j in self.joints])
            self.upper = np.array([j.limits[1] for j in self.joints])
        else:
            self._couple()

    def _couple(self):
        """free_joints, coupling, lower and upper of a chain with mimic joints (checked)."""
        who = f"Chain {self.name!r}"
        path = {j.name: j for j in self.joints}
        known = dict(path)
        for joint in self.masters:
            if not isinstance(joint, Joint):
                raise TypeError(f"{who}: masters must be kinematics.Joint, got {type(joint).__name__}")
            if joint.name in known:
                raise ValueError(f"{who}: master {joint.name!r} is also a joint of the path or another master")
            known[joint.name] = joint
        for key in self.mimic:
            if key not in path:
                raise ValueError(f"{who}: mimic joint {key!r} is not one of its joints ({_short(list(path))})")
        free = [j for j in self.joints if j.name not in self.mimic] + list(self.masters)
        index = {j.name: i for i, j in enumerate(free)}
        m = len(self.joints)
        source, scale, shift = np.zeros(m, dtype=int), np.ones(m), np.zeros(m)
        couplings = []
        for k, joint in enumerate(self.joints):
            if joint.name in self.mimic:
                master, scale[k], shift[k] = resolve_mimic(who, joint.name, self.mimic, known)
                source[k] = index[master]
                couplings.append((joint.name, joint.limits, source[k], scale[k], shift[k]))
            else:
                source[k] = index[joint.name]
        idle = [j.name for j in self.masters if index[j.name] not in set(source.tolist())]
        if idle:
            raise ValueError(f"{who}: master {idle[0]!r} drives no joint of the path (no mimic joint resolves to it)")
        self.lower, self.upper = mimic_limits(who, [j.limits[0] for j in free], [j.limits[1] for j in free],
                                              [j.name for j in free], couplings)
        self.free_joints = tuple(j if j.limits == (lo, hi) else dataclasses.replace(j, limits=(lo, hi))
                                 for j, lo, hi in zip(free, self.lower.tolist(), self.upper.tolist()))
        scale, shift = None if np.all(scale == 1.0) else scale, None if np.all(shift == 0.0) else shift
        identity = scale is None and shift is None and m == len(free) and np.array_equal(source, np.arange(m))
        self.coupling = None if identity else (source, scale, shift)  # identity: q drives the motions as it is

    @property
    def n(self) -> int:
        return len(self.free_joints)

    @property
    def joint_names(self) -> list:
        """The free joints' names: q's columns."""
        return [j.name for j in self.free_joints]

    @property
    def mimic_names(self) -> list:
        """The mimic joints of the path, base to tip (not in q)."""
        return [j.name for j in self.joints if j.name in self.mimic]

    @property
    def coupling_matrix(self) -> np.ndarray:
        """(m, n) d(motion values)/dq: row k holds scale[k] in column source[k] (the identity without
        mimic joints)."""
        if self.coupling is None:
            return np.eye(self.n)
        source, scale, _ = self.coupling
        M = np.zeros((len(self.joints), self.n))
        M[np.arange(len(self.joints)), source] = 1.0 if scale is None else scale
        return M

    def replace(self, **changes) -> Chain:
        """A copy with some of joints, base, tool, name, planar, mimic, masters, plane_z changed."""
        fields = dict(joints=self.joints, base=self.base, tool=self.tool, name=self.name, planar=self.planar,
                      mimic=self.mimic, masters=self.masters, plane_z=self.plane_z)
        fields.update(changes)
        return Chain(**fields)

    def lift(self, xy) -> np.ndarray:
        """2-D positions (..., 2) of a planar chain as 3-D ones (..., 3) in its plane (z = plane_z)."""
        xy = np.asarray(xy, dtype=float)
        return np.concatenate([xy, np.full(xy.shape[:-1] + (1,), self.plane_z)], axis=-1)

    def __repr__(self) -> str:
        kinds = "".join("R" if j.type == REVOLUTE else "P" for j in self.free_joints)
        mimics = f", {len(self.mimic)} mimic" if self.mimic else ""
        return f"Chain({self.name!r}, {self.n} joints {kinds}{mimics})"

    @cached_property
    def compiled(self) -> dict:
        """The folded form used by forward kinematics (see the module docstring).

        Returns a dict of constants over the m = len(joints) motions (m = n without mimic
        joints; q_i below is motion i's value, see `coupling`):
            terms: `affine_terms` of the (m, 4, 16) table whose entry i, flattened, is local
                transform i: φ_i @ table[i] with φ_i = (1, cos q_i, sin q_i, q_i).
            terms_fk: the same with the tool folded into the last joint's entry, so that the
                product of the local transforms is the end-effector pose.
            frames: (m, 4, 4) — right factors turning z-form frames into joint frames (Aᵀ).
            constants: (m, 4, 4) — C_i, so that T(q) = Π_i C_i Mz(q_i) · tip.
            tip: (4, 4) — the constant after the last motion (its Aᵀ and the tool).
        """
        m = len(self.joints)  # the motions, mimic joints included
        table = np.zeros((m, 4, 16))
        frames = np.zeros((m, 4, 4))
        constants = np.zeros((m, 4, 4))
        left = self.base
        for i, joint in enumerate(self.joints):
            A = axis_to_z(joint.axis)
            C = left @ joint.origin @ A  # constant before the z-motion
            constants[i] = C
            table[i] = (C @ motion_basis(joint.type)).reshape(4, 16)
            frames[i] = A.T
            left = A.T  # the next joint's constant starts with this joint's Aᵀ
        tip = (table[-1].reshape(4, 4, 4) @ (frames[-1] @ self.tool)).reshape(4, 16)
        return {"terms": affine_terms(table), "terms_fk": affine_terms(np.concatenate([table[:-1], tip[None]])),
                "frames": frames, "constants": constants, "tip": frames[-1] @ self.tool}


def check_mimic(name: str, mimic) -> tuple:
    """A mimic coupling as (master name, float multiplier, float offset), checked.

    Raises:
        ValueError: not a triple, a master that is not a non-empty string, a multiplier or offset
            that is not finite or beyond MAX_LIMIT in magnitude (the message names the joint).
    """
    try:
        master, multiplier, offset = mimic
        multiplier, offset = float(multiplier), float(offset)
    except (TypeError, ValueError):
        raise ValueError(f"Joint {name!r}: mimic must be (master joint name, multiplier, offset) with real "
                         f"numbers, got {mimic!r}") from None
    if not isinstance(master, str) or not master:
        raise ValueError(f"Joint {name!r}: mimic master must be a joint name, got {master!r}")
    for label, value in (("multiplier", multiplier), ("offset", offset)):
        if not (math.isfinite(value) and abs(value) <= MAX_LIMIT):
            raise ValueError(f"Joint {name!r}: mimic {label}={value} must be finite and at most {MAX_LIMIT:g} in "
                             "magnitude (kinematics.chain.MAX_LIMIT)")
    return (master, multiplier, offset)


def resolve_mimic(who: str, name: str, mimic: dict, known, fixed=frozenset()) -> tuple:
    """Mimic joint `name`'s (free master, multiplier, offset) through its chain of couplings.

    value = m₁ · (m₂ · x + o₂) + o₁ = (m₁ m₂) · x + (m₁ o₂ + o₁): multipliers multiply along the
    chain, and each offset is scaled by the multipliers before it.

    Args:
        who: the owner, for messages ("Robot 'r'", "Chain 'c'").
        name: a key of `mimic`.
        mimic: {joint name: (master, multiplier, offset)} of every coupled joint.
        known: the names of all joints (a master must be one of them).
        fixed: the names of fixed joints (which cannot be masters).

    Returns:
        (master, multiplier, offset): the free joint at the end of the chain and the combined map.

    Raises:
        ValueError: an unknown or fixed master, a cycle of mimics, or a combined multiplier or
            offset beyond MAX_LIMIT (the message names the joints).
    """
    scale, shift, walk = 1.0, 0.0, [name]
    while True:
        master, multiplier, offset = mimic[walk[-1]]
        scale, shift = scale * multiplier, shift + scale * offset  # value = scale·(m·x + o) + shift
        if master not in known:
            near = difflib.get_close_matches(master, list(known), n=5)
            hint = f"; nearest: {_short(near)}" if near else ""
            raise ValueError(f"{who}: joint {walk[-1]!r} mimics unknown joint {master!r}{hint}")
        if master in fixed:
            raise ValueError(f"{who}: joint {walk[-1]!r} mimics fixed joint {master!r}; the master must "
                             "be a revolute or prismatic joint")
        if master in walk:
            raise ValueError(f"{who}: mimic joints form a cycle: {' -> '.join(walk + [master])}")
        if not (abs(scale) <= MAX_LIMIT and abs(shift) <= MAX_LIMIT):
            raise ValueError(f"{who}: the mimic chain {' -> '.join(walk + [master])} has multiplier "
                             f"{scale:g} and offset {shift:g}, beyond {MAX_LIMIT:g} (kinematics.chain.MAX_LIMIT)")
        if master not in mimic:
            return master, scale, shift
        walk.append(master)


def mimic_limits(who: str, lower, upper, names, couplings) -> tuple:
    """The free joints' box with every mimic joint's limits intersected into its source's interval.

    A mimic joint with limits [a, b] and value s · x + o (x its free source) stays inside them
    exactly for x in [(a − o) / s, (b − o) / s] (ends swapped for s < 0); for s = 0 its value is
    the constant o, inside or not. An unbounded mimic joint (-inf, inf) constrains nothing, and
    pulled-back ends beyond ±MAX_LIMIT (a tiny multiplier) are cut there, the widest finite range
    a joint may have.

    Args:
        who: the owner, for messages.
        lower, upper: (n,) the free joints' own limits.
        names: (n,) the free joints' names.
        couplings: (mimic name, (a, b), source column, s, o) per mimic joint.

    Returns:
        (lower, upper): new (n,) arrays.

    Raises:
        ValueError: a mimic joint whose limits no value of its source meets, within the source's
            box (narrowed by the mimic joints before it): the message names both joints.
    """
    lower, upper = np.array(lower, dtype=float), np.array(upper, dtype=float)
    narrowed = {}  # source column -> the mimic joints that narrowed it
    for name, (a, b), k, s, o in couplings:
        if a == -math.inf and b == math.inf:
            continue
        source = names[k]
        box = f"[{lower[k]:.6g}, {upper[k]:.6g}]"
        box += f" (narrowed by mimic joint {_short(narrowed[k])})" if k in narrowed else ""
        if s == 0.0:
            if a <= o <= b:
                continue
            raise ValueError(f"{who}: mimic joint {name!r} = 0 · {source!r} + {o:.6g} is always {o:.6g}, outside its "
                             f"limits [{a:.6g}, {b:.6g}]")
        low, high = sorted(((a - o) / s, (b - o) / s))
        if low <= -MAX_LIMIT and high >= MAX_LIMIT:
            continue  # no finite limit is narrower
        # + 0.0 turns a -0.0 end (0 / -1) into 0.0: numpy's samplers refuse a span of -0.0
        low, high = max(lower[k], low, -MAX_LIMIT) + 0.0, min(upper[k], high, MAX_LIMIT) + 0.0
        if low > high:
            ends = sorted(((a - o) / s, (b - o) / s))
            raise ValueError(f"{who}: mimic joint {name!r} (limits [{a:.6g}, {b:.6g}], value {s:.6g} · {source!r} + "
                             f"{o:.6g}) needs {source!r} in [{ends[0]:.6g}, {ends[1]:.6g}], which misses {source!r}'s "
                             f"limits {box}")
        if (low, high) != (lower[k], upper[k]):
            narrowed.setdefault(k, []).append(name)
            lower[k], upper[k] = low, high
    return lower, upper


def _short(names, limit=8):
    """'a', 'b', ... (k more): at most `limit` names, quoted."""
    names = [repr(n) for n in names]
    return ", ".join(names[:limit]) + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


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


def _velocity(velocity, who):
    """A speed limit as a float (positive, finite), or None for none given."""
    if velocity is None:
        return None
    try:
        value = float(velocity)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: velocity must be a number or None, got {_show(velocity)}") from None
    if not 0.0 < value < math.inf:  # NaN fails too
        raise ValueError(f"{who}: velocity must be positive and finite (or None for no limit), got {value}")
    return value
