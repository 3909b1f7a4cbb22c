"""Collision tasks for IK: `Avoid` (obstacles) and `AvoidSelf` (the robot's own links), hard by default.

The robot's collision geometry is K primitives, each a capsule (a sphere: a == b) fixed in one of
its frames: `geometry` = {frame: Sphere | Capsule | a sequence of them}, coordinates in that frame
(`robots.collision_model` reads them from a URDF or MJCF file; the built-in arms that have a
model carry it as `chain.geometry`, which the tasks use when `geometry` is not given).

Residual: one row per pair p (a primitive and an obstacle, or two primitives),
    e_p = max(0, m⁺ − d_p),  m⁺ = margin + INFLATION,
and for a point cloud one row per primitive, the root-sum-square of its points' hinges,
    e = ‖(max(0, m⁺ − d_i))_i‖,
so every point within m⁺ pushes, each by its depth. LM drives e to 0 and approaches d = m⁺ from
the penetrating side; the task is met when every row is within INFLATION, which holds exactly
when d ≥ margin for every pair (for a cloud it implies it). So a met task's distances are never
below the margin, though LM stops short of m⁺.

Jacobian, by backprop. A primitive's ends are world points x = R_f x_f + p_f of its frame f, and
move with q as dx = J_v dq + (J_ω dq) × (x − p_f), with (J_v; J_ω) the frame's geometric Jacobian.
The engine gives g = ∂d/∂x at both ends of every violating pair in one backward pass (each
pair's distance reads its own copy of the ends, so the sum's gradient separates them), and
    ∂d/∂q = Σ_ends gᵀ J_v + ((x − p_f) × g)ᵀ J_ω,
so A = −∂e/∂q = ∂d/∂q on a violating row (a cloud's: Σ_i (h_i / e) ∂d_i/∂q), 0 elsewhere.

Pruning: a bounding sphere per primitive (its segment's midpoint, radius half the length plus r)
and per obstacle bounds each pair's distance from below; a pair whose bound exceeds m⁺ is clear
(e = 0 and no gradient) and costs no distance. A point cloud's KD-tree (`scipy.spatial.cKDTree`,
built once with the task) gives the points within each near primitive's bounding sphere.

Self-collision pairs (`AvoidSelf`): primitives on different, non-adjacent links; of those, the
pairs that sampling (SAMPLES random configurations within the limits) finds never within the
margin, or always within it, are dropped, as MoveIt's setup assistant builds its allowed-collision
matrix; `pairs=` names the pairs to check instead. `AvoidSelf.bind(robot)` shows both lists.

Glossary: K primitives, O obstacles, R rows, E the (row, pair) entries being computed, F frames.
"""

from __future__ import annotations

import copy
import difflib
import functools
import itertools
import math
import weakref
from collections.abc import Mapping

import numpy as np

import autodiff as ad

from ..fk import _frame_jacobians, _frame_poses, _jacobian_plan, _value
from ..tasks import _HardTask
from .distance import capsule_box, capsule_capsule, capsule_halfspace, cross, sphere_capsule
from .shapes import Box, Capsule, HalfSpace, PointCloud, Shape, Sphere

__all__ = ["Avoid", "AvoidSelf", "INFLATION", "SAMPLES"]

INFLATION = 1e-5  # m: the hinge aims at margin + INFLATION, and a row within INFLATION of 0 is met
SAMPLES = 10_000  # random configurations that decide which self-collision pairs are dropped
_ALLOWED: dict = {}  # AvoidSelf's sampled matrices, by content (AvoidSelf._allowed)


# -- the robot's primitives ------------------------------------------------------------------

class _Body:
    """The robot's K collision primitives, bound to a Robot.

    Attributes:
        frames: (F,) the frame names that carry primitives (in the geometry's order).
        frame: (K,) each primitive's index into `frames`.
        a, b: (K, 3) segment ends in their frames; radius: (K,).
        labels: (K,) names for messages: the frame, or frame[i] for its i-th of several shapes.
        moving: (F,) whether some joint moves the frame.
    """

    def __init__(self, robot, geometry, task):
        if geometry is None:
            raise ValueError(f"{task}: robot {robot.name!r} carries no collision geometry; give the task "
                             "geometry={frame: shapes} (robots.collision_model(path) reads a URDF's or MJCF's)")
        if not isinstance(geometry, Mapping):
            raise TypeError(f"{task}: geometry must be a mapping {{frame: Sphere | Capsule | [shapes]}}, "
                            f"got {type(geometry).__name__}")
        frames, frame, ends, labels = [], [], [], []
        for name, value in geometry.items():
            if name not in robot.frames:
                close = difflib.get_close_matches(str(name), robot.frames, n=3)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                raise ValueError(f"{task}: geometry names frame {name!r}, which robot {robot.name!r} does not "
                                 f"have{hint}")
            shapes = (value,) if isinstance(value, Shape) else tuple(value) if isinstance(value, list | tuple) \
                else None
            if shapes is None or not all(isinstance(s, Sphere | Capsule) for s in shapes):
                raise TypeError(f"{task}: geometry[{name!r}] must be a Sphere, a Capsule or a list of them, "
                                f"got {value!r:.80}")
            for i, shape in enumerate(shapes):
                a, b = (shape.center, shape.center) if isinstance(shape, Sphere) else (shape.a, shape.b)
                ends.append((a, b, shape.radius))
                labels.append(name if len(shapes) == 1 else f"{name}[{i}]")
                frame.append(len(frames))
            if shapes:
                frames.append(name)
        if not ends:
            raise ValueError(f"{task}: the geometry holds no shapes")
        self.frames, self.frame, self.labels = frames, np.array(frame), labels
        self.a = np.array([e[0] for e in ends])
        self.b = np.array([e[1] for e in ends])
        self.radius = np.array([e[2] for e in ends], dtype=np.float64)
        self.moving = np.array([bool(_jacobian_plan(robot, f)[0]) for f in frames])

    def world(self, T: dict, k=slice(None)):
        """World ends (R, K, 3) twice and frame origins (R, K, 3) of primitives k, from poses {frame: (R, 4, 4)}."""
        frame = self.frame[k]
        P = np.stack([T[f] for f in self.frames], axis=1)[:, frame]  # (R, K, 4, 4)
        R, p = P[..., :3, :3], P[..., :3, 3]
        return (np.einsum("rkij,kj->rki", R, self.a[k]) + p, np.einsum("rkij,kj->rki", R, self.b[k]) + p, p)


def _dq(J, origin, x, g):
    """∂d/∂q (E, n) through one end: gᵀ J_v + ((x − p) × g)ᵀ J_ω, J (E, 6, n), the rest (E, 3)."""
    return np.einsum("ei,ein->en", g, J[:, :3]) + np.einsum("ei,ein->en", cross(x - origin, g), J[:, 3:])


def _gradients(distance, *ends):
    """d (E,) and ∂d/∂end (E, 3) for each of `ends` (E, 3), from one backward pass of Σ d."""
    leaves = [ad.Tensor(x, requires_grad=True) for x in ends]
    d = distance(*leaves)
    ad.sum(d).backward()
    return d.data, [leaf.grad for leaf in leaves]


def _bounds(A, B, radius):
    """Bounding spheres of capsules: centres (..., 3), radii (...) = half length + radius."""
    return 0.5 * (A + B), 0.5 * np.linalg.norm(B - A, axis=-1) + radius


# -- obstacles ------------------------------------------------------------------------------

class _Group:
    """The obstacles of one kind, stacked, so that one call computes every pair with them.

    Attributes:
        index: (G,) the obstacles' positions among the task's obstacles.
        center, reach: (G, 3) and (G,) bounding spheres; None for half-spaces (whose exact
            distance is as cheap as any bound).
    """

    def __init__(self, kind, index, shapes):
        self.kind, self.index = kind, np.array(index)
        if kind == "capsule":  # spheres and capsules
            self.a = np.array([s.center if isinstance(s, Sphere) else s.a for s in shapes])
            self.b = np.array([s.center if isinstance(s, Sphere) else s.b for s in shapes])
            self.radius = np.array([s.radius for s in shapes])
            self.center, self.reach = _bounds(self.a, self.b, self.radius)
        elif kind == "box":
            self.pose, self.size = np.array([s.pose for s in shapes]), np.array([s.size for s in shapes])
            self.center, self.reach = self.pose[:, :3, 3], 0.5 * np.linalg.norm(self.size, axis=-1)
        else:
            self.normal, self.offset = np.array([s.normal for s in shapes]), np.array([s.offset for s in shapes])
            self.center = None

    def distance(self, a, b, r, g):
        """Signed distances (E,) from capsules a, b (E, 3), r (E,) to obstacles g (E,) of the group."""
        if self.kind == "capsule":
            return capsule_capsule(a, b, r, self.a[g], self.b[g], self.radius[g])
        if self.kind == "box":
            return capsule_box(a, b, r, self.pose[g], self.size[g])
        return capsule_halfspace(a, b, r, self.normal[g], self.offset[g])


class _Cloud:
    """A point cloud obstacle: its KD-tree, a bounding sphere and a coarse distance grid, built once
    per PointCloud (cached: a task list made anew for every solve reuses them).

    The grid holds, for the centre of each cell of side h (CLOUD_CELLS along the longest side of
    the points' box, padded by one cell), the distance to the nearest point; any x in a cell is
    then at least that minus h√3/2 from every point, a lower bound read in O(1) per query.
    """

    def __init__(self, index, shape):
        self.index, self.shape = index, shape
        built = _CLOUDS.get(shape)
        if built is None:
            built = _build_cloud(shape.points)
            _CLOUDS[shape] = built
        self.tree, self.center, self.reach, self._origin, self._cell, self._grid = built
        self.reach += shape.radius

    def lower_bound(self, x):
        """(E,) a lower bound on the distance from points x (E, 3) to the nearest point of the cloud."""
        k = np.floor((x - self._origin) / self._cell).astype(np.int64)
        inside = np.all((k >= 0) & (k < self._grid.shape), axis=-1)
        k = np.clip(k, 0, np.array(self._grid.shape) - 1)
        bound = self._grid[k[:, 0], k[:, 1], k[:, 2]] - 0.5 * np.sqrt(3.0) * self._cell
        # outside the grid: at least the distance to the padded box, plus the pad, from any point
        box = np.linalg.norm(np.maximum(np.maximum(self._origin - x, x - self._end), 0.0), axis=-1) + self._cell
        return np.where(inside, bound, box)

    @property
    def _end(self):
        return self._origin + self._cell * np.array(self._grid.shape)


CLOUD_CELLS = 24  # cells along the longest side of a cloud's box, for the lower-bound grid
_CLOUDS = weakref.WeakKeyDictionary()  # PointCloud -> what _build_cloud returns


def _build_cloud(points):
    """(tree, centre, radius of the bounding sphere, grid origin, cell side, grid of nearest distances)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    lo, hi = points.min(axis=0), points.max(axis=0)
    cell = max(float((hi - lo).max()) / CLOUD_CELLS, 1e-6)
    origin = lo - cell
    shape = np.ceil((hi - lo) / cell).astype(int) + 2
    centres = origin + cell * (np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), axis=-1) + 0.5)
    grid = tree.query(centres.reshape(-1, 3))[0].reshape(tuple(shape))
    return tree, 0.5 * (lo + hi), 0.5 * float(np.linalg.norm(hi - lo)), origin, cell, grid


def _group_distance(group, r, g, a, b):
    """group.distance with the ends last, for `_gradients`."""
    return group.distance(a, b, r, g)


def _groups(shapes) -> tuple:
    """([_Group] of the primitive obstacles by kind, [_Cloud]) for the task's obstacle list."""
    kinds = {"capsule": [], "box": [], "halfspace": []}
    clouds = []
    for o, shape in enumerate(shapes):
        if isinstance(shape, PointCloud):
            clouds.append(_Cloud(o, shape))
        else:
            kinds["box" if isinstance(shape, Box) else "halfspace" if isinstance(shape, HalfSpace) else
                  "capsule"].append(o)
    groups = [_Group(kind, index, [shapes[o] for o in index]) for kind, index in kinds.items() if index]
    return groups, clouds


def _obstacles(obstacles, task) -> tuple:
    """(labels, shapes) from a Shape, a sequence of Shapes or a mapping {name: Shape}."""
    if isinstance(obstacles, Shape):
        obstacles = [obstacles]
    if isinstance(obstacles, Mapping):
        items = list(obstacles.items())
    elif isinstance(obstacles, list | tuple):
        counts = {}
        items = []
        for shape in obstacles:
            kind = type(shape).__name__.lower()
            items.append((f"{kind}[{counts.get(kind, 0)}]", shape))
            counts[kind] = counts.get(kind, 0) + 1
    else:
        raise TypeError(f"{task}: obstacles must be a shape, a list of shapes or a mapping {{name: shape}}, "
                        f"got {type(obstacles).__name__}")
    if not items:
        raise ValueError(f"{task}: no obstacles given")
    for name, shape in items:
        if not isinstance(shape, Shape):
            raise TypeError(f"{task}: obstacle {name!r} must be a Sphere, Capsule, Box, HalfSpace or PointCloud, "
                            f"got {type(shape).__name__}")
    return [str(name) for name, _ in items], [shape for _, shape in items]


def _margin(task, margin) -> float:
    if isinstance(margin, bool) or not isinstance(margin, int | float | np.integer | np.floating) or \
            not math.isfinite(margin) or margin < 0:
        raise ValueError(f"{task}: margin must be a finite non-negative number (m), got {margin!r}")
    return float(margin)


# -- the tasks ------------------------------------------------------------------------------

class _CollisionTask(_HardTask):
    """What Avoid and AvoidSelf share: hinge rows, their tolerance, and the report of the closest pair.

    With a `weight` the task is soft: the squared-hinge cost ½ w Σ e² over its rows (defined, and
    smooth, at penetrating starts, where a log barrier is not), lowered in the hard tasks' null space.
    """

    measures = ("clearance",)
    needs_motion = False  # a frame no joint moves still carries geometry (a robot's base)

    def __init__(self, margin, geometry, weight=None):
        self.margin = _margin(self, margin)
        self.geometry = geometry
        self.weights = np.ones(0)
        self.tol_position = self.tol_rotation = None
        self.bound = False
        if weight is not None:
            if isinstance(weight, bool) or not isinstance(weight, int | float | np.integer | np.floating) or \
                    not math.isfinite(weight) or weight < 0:
                raise ValueError(f"{self.label}: weight must be a finite non-negative number (or None: a hard task), "
                                 f"got {weight!r}")
            self.hard, self.weight = False, float(weight)

    def cost(self, T, q, idx, robot):
        """The soft task's cost ½ w Σ e² per row (R,), an array (its gradient: `cost_gradient`)."""
        self._check_bound()
        e = self._rows({f: np.asarray(_value(T[f])) for f in self.frames}, None)[0]
        return 0.5 * self.weight * np.sum(e * e, axis=-1)

    def cost_gradient(self, q, robot):
        """∂cost/∂q (R, n) at q (R, n): w Σ e ∂e/∂q = −w Aᵀ e."""
        T, J = _frame_jacobians(robot, q, list(self.frames))
        e, A = self._rows({f: T[:, k] for k, f in enumerate(self.frames)},
                          {f: J[:, k] for k, f in enumerate(self.frames)}, q.shape[-1])
        return -self.weight * (np.swapaxes(A, -1, -2) @ e[..., None])[..., 0]

    def tolerances(self, tol_position, tol_rotation):
        return INFLATION, math.inf

    def bind(self, robot, geometry=None):
        """This task for one robot: a copy with its primitives, pairs and rows (what `solve` evaluates).

        Args:
            robot: a kinematics.Robot (a Chain: kinematics.robot.as_robot first).
            geometry: the robot's geometry when the task has none of its own (`robot.geometry`).
        """
        bound = copy.copy(self)
        bound.body = _Body(robot, self.geometry if self.geometry is not None else geometry, self.label)
        bound._pair_up(robot)
        bound.weights = np.ones(bound.width)
        bound.bound = True
        return bound

    def _check_bound(self):
        if not self.bound:
            raise RuntimeError(f"{self.label}: evaluate the bound task (task.bind(robot)), as solve does")

    def errors(self, e):
        return (e.max(axis=-1) if e.shape[-1] else np.zeros(len(e))), np.zeros(len(e))

    def residual(self, T, q, idx):
        self._check_bound()
        return self._rows(T, None)[0]

    def linearize(self, T, J, q, idx):
        """(e (R, m), A = −∂e/∂q (R, m, n)) at the poses T {frame: (R, 4, 4)} with Jacobians J {frame: (R, 6, n)}."""
        self._check_bound()
        e, A = self._rows(T, J, q.shape[-1])
        return e, A

    def report(self, T):
        """{"distance": (R,) the smallest signed distance over the pairs (m), "pair": (R,) its pair's names}."""
        self._check_bound()
        d, labels = self._smallest(T)
        k = np.argmin(d, axis=-1) if d.shape[-1] else np.zeros(len(d), dtype=int)
        if not d.shape[-1]:
            return {"distance": np.full(len(d), np.inf), "pair": np.array([""] * len(d))}
        return {"distance": d[np.arange(len(d)), k], "pair": np.array(labels)[k]}

    def violation(self, report) -> str:
        """Words for a failed row of `report` (one row's values)."""
        return f"smallest distance {report['distance']:.3g} m ({report['pair']}), margin {self.margin:g} m"


class Avoid(_CollisionTask):
    """Every link's geometry at least `margin` from every obstacle: a hard task by default.

    Links that no joint moves (the base) are left out: IK cannot change their distances (a base
    that stands on the table touches it in every answer).

    Args:
        obstacles: a shape (kin.Sphere, Capsule, Box, HalfSpace, PointCloud), a list of them, or
            {name: shape} (the names label the pairs in results).
        margin: the clearance to keep (m), finite and >= 0.
        geometry: {frame: Sphere | Capsule | [shapes]} in frame coordinates; None: the robot's
            own (`chain.geometry`, which built-in arms with a model carry).
        weight: None: a hard task (success needs it); a number w >= 0: a soft one, the cost
            ½ w Σ max(0, margin + INFLATION − d)² (`_CollisionTask`).

    Example:
        >>> import kinematics as kin, robots
        >>> arm = robots.get("panda")
        >>> T = kin.forward_kinematics(arm, [0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.8])
        >>> result = kin.solve(arm, [kin.Pose("tool", T), kin.Avoid(kin.HalfSpace([0, 0, 1], 0.05), 0.01)])
        >>> bool(result.success), result.task_errors[1]["distance"] >= 0.01
        (True, True)
    """

    def __init__(self, obstacles, margin=0.0, *, geometry=None, weight=None):
        self.names, self.obstacles = _obstacles(obstacles, self)
        super().__init__(margin, geometry, weight)
        self.groups, self.clouds = _groups(self.obstacles)

    names = ()  # the obstacles' labels (set first thing: messages about the other arguments use the label)

    @property
    def label(self):
        return f"Avoid({', '.join(self.names)})" if self.names else "Avoid"

    def _pair_up(self, robot):
        body = self.body
        keep = np.flatnonzero(body.moving[body.frame])
        if not keep.size:
            raise ValueError(f"{self.label}: no joint of {robot.name!r} moves any frame of the geometry")
        self.k = keep  # the primitives in the task, on moving frames
        self.frames = tuple(body.frames)
        self.width = keep.size * len(self.obstacles)
        self.pair_labels = [f"{body.labels[k]} – {name}" for k in keep for name in self.names]

    def _rows(self, T, J, n=None):
        """e (R, m), and A (R, m, n) with J given (else None); row k·O + o is primitive k and obstacle o."""
        body, k, O = self.body, self.k, len(self.obstacles)
        A_end, B_end, origin = body.world(T, k)  # (R, K, 3)
        radius = body.radius[k]
        R, K = A_end.shape[:2]
        plus = self.margin + INFLATION
        e = np.zeros((R, K, O))
        Jk = None if J is None else np.stack([J[f] for f in body.frames], axis=1)[:, body.frame[k]]  # (R, K, 6, n)
        D = None if J is None else np.zeros((R, K, O, n))  # ∂d/∂q on violating rows (A = −∂e/∂q = ∂d/∂q)
        center, reach = _bounds(A_end, B_end, radius)

        def jacobian_rows(rows, prims, o, a, b, ga, gb):
            Jh, oh = Jk[rows, prims], origin[rows, prims]
            D[rows, prims, o] = _dq(Jh, oh, a, ga) + _dq(Jh, oh, b, gb)

        for group in self.groups:
            if group.center is None:
                rows, prims, g = (x.ravel() for x in np.indices((R, K, len(group.index))))
            else:
                bound = np.linalg.norm(center[:, :, None] - group.center, axis=-1) - reach[..., None] - group.reach
                rows, prims, g = np.nonzero(bound < plus)
            if not rows.size:
                continue
            a, b, r = A_end[rows, prims], B_end[rows, prims], radius[prims]
            h = np.maximum(plus - group.distance(a, b, r, g), 0.0)
            e[rows, prims, group.index[g]] = h
            hot = np.flatnonzero(h > 0)
            if J is not None and hot.size:
                _, (ga, gb) = _gradients(functools.partial(_group_distance, group, r[hot], g[hot]), a[hot], b[hot])
                jacobian_rows(rows[hot], prims[hot], group.index[g[hot]], a[hot], b[hot], ga, gb)
        for cloud in self.clouds:
            bound = np.linalg.norm(center - cloud.center, axis=-1) - reach - cloud.reach
            rows, prims = np.nonzero(bound < plus)
            if not rows.size:
                continue
            a, b, r = A_end[rows, prims], B_end[rows, prims], radius[prims]
            h, grads = _cloud_hinges(cloud, a, b, r, plus, J is not None)
            e[rows, prims, cloud.index] = h
            if grads is not None:
                hot, ga, gb = grads
                jacobian_rows(rows[hot], prims[hot], cloud.index, a[hot], b[hot], ga, gb)
        return e.reshape(R, K * O), (None if J is None else D.reshape(R, K * O, n))

    def _smallest(self, T):
        """(d (R, m) every pair's exact signed distance, the pairs' labels)."""
        body, k = self.body, self.k
        A_end, B_end, _ = body.world(T, k)
        R, K = A_end.shape[:2]
        d = np.zeros((R, K, len(self.obstacles)))
        for group in self.groups:
            G = len(group.index)
            g = np.broadcast_to(np.arange(G), (R, K, G))
            d[..., group.index] = group.distance(A_end[:, :, None], B_end[:, :, None], body.radius[k][:, None], g)
        for cloud in self.clouds:
            d[..., cloud.index] = _cloud_distance(cloud, A_end, B_end, np.broadcast_to(body.radius[k], (R, K)))
        return d.reshape(R, K * len(self.obstacles)), self.pair_labels


def _cloud_hinges(obstacle, a, b, r, plus, grad):
    """A cloud's rows: e (E,) = ‖max(0, m⁺ − d_i)‖ over its points for capsules (E, 3), (E, 3), (E,);
    with `grad`, (hot entries, ∂e/∂a, ∂e/∂b) of the entries with e > 0 (else None)."""
    center, reach = _bounds(a, b, r)
    e = np.zeros(len(a))
    cloud = obstacle.shape
    # Every point p is at least |p − c| − reach from the capsule: a lower bound on the nearest point's
    # distance from the centre c (the grid's, O(1) each) rules most entries out before the ball queries.
    within = reach + cloud.radius + plus  # a point closer than this to c may be within m⁺ of the capsule
    maybe = np.flatnonzero(obstacle.lower_bound(center) < within)
    if not maybe.size:
        return e, None
    entry, point = _capsule_points(obstacle.tree, a[maybe], b[maybe], r[maybe] + cloud.radius + plus)
    if not entry.size:
        return e, None
    entry = maybe[entry]
    d = sphere_capsule(cloud.points[point], cloud.radius, a[entry], b[entry], r[entry])
    h = np.maximum(plus - d, 0.0)
    e = np.sqrt(np.bincount(entry, weights=h * h, minlength=len(a)))
    if not grad or not (h > 0).any():
        return e, None
    live = np.flatnonzero(h > 0)
    ent, pts = entry[live], point[live]
    _, (ga, gb) = _gradients(lambda x, y: sphere_capsule(cloud.points[pts], cloud.radius, x, y, r[ent]),
                             a[ent], b[ent])
    w = (-h[live] / e[ent])[:, None]  # ∂e/∂d_i = −h_i / e
    hot = np.unique(ent)
    Ga, Gb = np.zeros((len(a), 3)), np.zeros((len(a), 3))
    np.add.at(Ga, ent, w * ga)
    np.add.at(Gb, ent, w * gb)
    return e, (hot, -Ga[hot], -Gb[hot])  # the caller's A is ∂d/∂q = −∂e/∂q


def _capsule_points(tree, a, b, radius, pieces: int = 2):
    """(entry, point) index pairs (M,), each pair once, of the tree's points within `radius` (E,) of the
    segments a–b (E, 3): each segment cut into `pieces`, each piece covered by the ball about its
    midpoint of radius half its length + radius (tighter than one ball about the whole segment)."""
    s = (np.arange(pieces) + 0.5) / pieces
    centres = a[:, None] + s[:, None] * (b - a)[:, None]  # (E, pieces, 3)
    radii = 0.5 * np.linalg.norm(b - a, axis=-1) / pieces + radius
    entry, point = _ball_points(tree, centres.reshape(-1, 3), np.repeat(radii, pieces))
    key = np.unique((entry // pieces) * tree.n + point)  # a point in two balls counts once
    return key // tree.n, key % tree.n


def _ball_points(tree, centers, radii):
    """(entry, point) index pairs (M,) of the tree's points within radii (E,) of centers (E, 3)."""
    near = tree.query_ball_point(centers, radii, return_sorted=False)
    counts = np.fromiter(map(len, near), dtype=int, count=len(near))
    return np.repeat(np.arange(len(near)), counts), np.fromiter(itertools.chain.from_iterable(near), dtype=int,
                                                                count=int(counts.sum()))


def _cloud_distance(obstacle, A, B, radius):
    """Exact smallest signed distance (...) from capsules (..., 3) to a cloud's points.

    The point nearest a capsule's midpoint bounds the answer U from above; every point that could
    beat it lies within U + the capsule's bounding radius + the cloud's radius of the midpoint.
    """
    shape = A.shape[:-1]
    a, b, r = A.reshape(-1, 3), B.reshape(-1, 3), np.reshape(radius, -1)
    center, reach = _bounds(a, b, r)
    cloud = obstacle.shape
    _, nearest = obstacle.tree.query(center)
    upper = sphere_capsule(cloud.points[nearest], cloud.radius, a, b, r)
    entry, point = _ball_points(obstacle.tree, center, np.maximum(upper, 0.0) + reach + cloud.radius + 1e-9)
    best = upper.copy()
    if entry.size:
        d = sphere_capsule(cloud.points[point], cloud.radius, a[entry], b[entry], r[entry])
        np.minimum.at(best, entry, d)
    return best.reshape(shape)


class AvoidSelf(_CollisionTask):
    """The robot's links at least `margin` apart (pairs of non-adjacent links): a hard task by default.

    Args:
        margin: the clearance to keep (m), finite and >= 0.
        pairs: None: every pair of primitives on different links that are not parent and child,
            less the pairs that SAMPLES random configurations (a fixed seed) find never within
            the margin or always within it (an allowed-collision matrix, as MoveIt's setup
            assistant computes). Else [(frame_a, frame_b), ...]: exactly those frames' primitive
            pairs, no sampling.
        geometry: as for `Avoid`.
        samples: configurations for the sampled matrix, >= 1.
        weight: as for `Avoid`.

    Attributes (of `bind(robot)`'s copy): pair_labels, the pairs checked; dropped {pair: why},
    why "adjacent", "never within the margin in N samples" or "always within the margin in N samples".
    """

    def __init__(self, margin=0.0, pairs=None, *, geometry=None, samples=SAMPLES, weight=None):
        super().__init__(margin, geometry, weight)
        if pairs is not None:
            if not isinstance(pairs, list | tuple) or not all(
                    isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(f, str) for f in p) for p in pairs):
                raise TypeError(f"{self.label}: pairs must be a list of (frame_a, frame_b) names, got {pairs!r:.80}")
            pairs = [tuple(p) for p in pairs]
        self.pairs = pairs
        if isinstance(samples, bool) or not isinstance(samples, int | np.integer) or samples < 1:
            raise ValueError(f"{self.label}: samples must be an integer >= 1, got {samples!r}")
        self.samples = int(samples)

    @property
    def label(self):
        return "AvoidSelf"

    def _pair_up(self, robot):
        body = self.body
        K = len(body.labels)
        i, j = np.triu_indices(K, 1)
        self.dropped = {}
        if self.pairs is not None:
            wanted = set()
            for fa, fb in self.pairs:
                for f in (fa, fb):
                    if f not in body.frames:
                        raise ValueError(f"{self.label}: pair ({fa!r}, {fb!r}) names frame {f!r}, which carries no "
                                         f"geometry (frames with geometry: {', '.join(body.frames)})")
                if fa == fb:
                    raise ValueError(f"{self.label}: pair ({fa!r}, {fb!r}) names one frame twice")
                wanted |= {(fa, fb), (fb, fa)}
            names = [(body.frames[body.frame[x]], body.frames[body.frame[y]]) for x, y in zip(i, j)]
            keep = np.array([n in wanted for n in names], dtype=bool)
        else:
            keep = self._allowed(robot, i, j)
        self.i, self.j = i[keep], j[keep]
        self.frames = tuple(body.frames)
        self.width = self.i.size
        self.pair_labels = [f"{body.labels[x]} – {body.labels[y]}" for x, y in zip(self.i, self.j)]

    def _allowed(self, robot, i, j):
        """Which primitive pairs (i, j) the sampled allowed-collision matrix keeps; records the others in `dropped`.

        Cached by content (the robot's joint tables, limits and links, the primitives, the margin and
        the sample count), so solves after the first skip the sampling.
        """
        body = self.body
        key = (robot.table.tobytes(), robot.lower.tobytes(), robot.upper.tobytes(), tuple(robot.links),
               tuple((j.name, j.parent, j.child, j.origin.tobytes()) for j in robot.joints),
               tuple((f, link, T.tobytes()) for f, (link, T) in robot.offsets.items()), tuple(body.frames),
               body.frame.tobytes(), body.a.tobytes(), body.b.tobytes(), body.radius.tobytes(), self.margin,
               self.samples)
        found = _ALLOWED.get(key)
        if found is None:
            found = self._sample(robot, i, j)
            if len(_ALLOWED) >= 64:
                _ALLOWED.clear()
            _ALLOWED[key] = found
        keep, dropped = found
        self.dropped = dict(dropped)
        return keep.copy()

    def _sample(self, robot, i, j):
        body = self.body
        dropped = {}
        link = {f: robot.offsets[f][0] if f in robot.offsets else f for f in body.frames}
        parent = {jt.child: jt.parent for jt in robot.joints}
        fi, fj = body.frame[i], body.frame[j]
        keep = fi != fj
        for x in np.flatnonzero(keep):
            la, lb = link[body.frames[fi[x]]], link[body.frames[fj[x]]]
            if la == lb or parent.get(la) == lb or parent.get(lb) == la:
                keep[x] = False
                dropped[f"{body.labels[i[x]]} – {body.labels[j[x]]}"] = "adjacent"
        rng = np.random.default_rng(0)
        lower = np.where(np.isfinite(robot.lower), robot.lower, -np.pi)
        upper = np.where(np.isfinite(robot.upper), robot.upper, np.pi)
        q = lower + (upper - lower) * rng.random((self.samples, robot.n))
        P = _frame_poses(robot, q, body.frames)
        A_end, B_end, _ = body.world({f: P[:, k] for k, f in enumerate(body.frames)})
        x = np.flatnonzero(keep)
        d = capsule_capsule(A_end[:, i[x]], B_end[:, i[x]], body.radius[i[x]],
                            A_end[:, j[x]], B_end[:, j[x]], body.radius[j[x]])  # (samples, pairs)
        within = d < self.margin
        for c, never, always in zip(x, ~within.any(axis=0), within.all(axis=0)):
            if never or always:
                keep[c] = False
                word = "never" if never else "always"
                dropped[f"{body.labels[i[c]]} – {body.labels[j[c]]}"] = \
                    f"{word} within the margin in {self.samples} samples"
        return keep, dropped

    def _rows(self, T, J, n=None):
        body, i, j = self.body, self.i, self.j
        A_end, B_end, origin = body.world(T)
        R = len(A_end)
        plus = self.margin + INFLATION
        e = np.zeros((R, self.width))
        D = None if J is None else np.zeros((R, self.width, n))
        if not self.width:
            return e, D
        center, reach = _bounds(A_end, B_end, body.radius)
        bound = np.linalg.norm(center[:, i] - center[:, j], axis=-1) - reach[:, i] - reach[:, j]
        rows, pairs = np.nonzero(bound < plus)
        if not rows.size:
            return e, D
        pi, pj = i[pairs], j[pairs]
        ends = A_end[rows, pi], B_end[rows, pi], A_end[rows, pj], B_end[rows, pj]
        ri, rj = body.radius[pi], body.radius[pj]
        d = capsule_capsule(ends[0], ends[1], ri, ends[2], ends[3], rj)
        h = np.maximum(plus - d, 0.0)
        e[rows, pairs] = h
        hot = np.flatnonzero(h > 0)
        if J is None or not hot.size:
            return e, D
        _, g = _gradients(lambda a1, b1, a2, b2: capsule_capsule(a1, b1, ri[hot], a2, b2, rj[hot]),
                          *(x[hot] for x in ends))
        Jf = np.stack([J[f] for f in body.frames], axis=1)  # (R, F, 6, n)
        rh, ih, jh = rows[hot], pi[hot], pj[hot]
        Ji, Jj = Jf[rh, body.frame[ih]], Jf[rh, body.frame[jh]]
        oi, oj = origin[rh, ih], origin[rh, jh]
        D[rh, pairs[hot]] = (_dq(Ji, oi, ends[0][hot], g[0]) + _dq(Ji, oi, ends[1][hot], g[1])
                             + _dq(Jj, oj, ends[2][hot], g[2]) + _dq(Jj, oj, ends[3][hot], g[3]))
        return e, D

    def _smallest(self, T):
        body, i, j = self.body, self.i, self.j
        A_end, B_end, _ = body.world(T)
        d = capsule_capsule(A_end[:, i], B_end[:, i], body.radius[i], A_end[:, j], B_end[:, j], body.radius[j])
        return d, self.pair_labels
