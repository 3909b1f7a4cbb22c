"""IK tasks: each a small object with a residual written with the engine's ops.

`kinematics.solve(robot, tasks)` makes the robot meet every HARD task (they define success) and,
without disturbing them, lowers the SOFT tasks' costs:

- hard tasks, each with its own tolerances (None: `solve`'s tol_position / tol_rotation):
  `Pose(frame, T)`, `Position(frame, p)`, `Orientation(frame, R)`, `Axis(frame, axis, direction,
  position=None)` (the frame's local axis along a world direction: the 5-DoF tool target), and
  `Relative(frame_a, frame_b, T)` (frame b's pose in frame a's);
- soft tasks, each with a weight: `Posture(q_rest)`, `Manipulability(frame)` and `Cost(fn)`, any
  function of frame poses and q written with the engine's ops.

How they interact. LM works on the hard residuals stacked into one vector e (R, m) with their
Jacobian A = −∂e/∂q: Δq = (AᵀWA + λI)⁻¹ AᵀW e, W the tasks' weights; success is every hard task
within its tolerances. Once a target's hard tasks are met, the soft phase takes steps in their
null space, −N ∇c with N = I − A_f⁺ A_f over the joints the limits leave free (no damping: a
damped N is not a projector and leaks into the hard tasks), followed by a Gauss-Newton
correction A_f⁺ e; a step is kept only when every hard task is still within tolerance and the
soft cost fell. So a soft task never costs a hard task its tolerance, and a soft cost is
reported (`IKResult.task_errors`) but never part of success.

Jacobians: Pose, Position and Orientation use the frame's geometric Jacobian (six cotangents on
its pose, as `kinematics.pose_and_jacobian`); the others backpropagate their own residual. Every
target array may carry a leading batch axis (B, ...); an unbatched task broadcasts against the
batched ones, and all batched tasks must share B.

Glossary: R rows (target × start pairs), idx (R,) each row's target index into a batch, T a
dict {frame: (R, 4, 4) pose}, q (R, n).
"""

from __future__ import annotations

import math

import numpy as np

import autodiff as ad

from .chain import MAX_JOINTS, MAX_LENGTH, MAX_LIMIT, Chain
from .fk import (
    _VEX_MINUS, _VEX_PLUS, _frame_jacobians, _frame_poses, _jacobian_plan, _namespace, _value, pose_error,
    rotation_vector,
)
from .robot import as_robot

__all__ = ["Task", "Pose", "Position", "Orientation", "Axis", "Relative", "Posture", "Manipulability", "Cost"]


# The farthest any chain reaches: every offset and every prismatic travel at their bounds.
MAX_REACH = MAX_JOINTS * (MAX_LENGTH + MAX_LIMIT)
_EYE3, _BOTTOM_ROW = np.eye(3), np.array([0.0, 0.0, 0.0, 1.0])


def rigid_rows(T: np.ndarray) -> np.ndarray:
    """(...,) True where T (..., 4, 4) is a rigid transform: RᵀR = I and det R = 1 to 1e-6, last row 0 0 0 1."""
    R = T[..., :3, :3]
    orthonormal = np.abs(R.mT @ R - _EYE3).max(axis=(-2, -1), initial=0.0) < 1e-6
    return orthonormal & (np.abs(np.linalg.det(R) - 1.0) <= 1e-6) & (T[..., 3, :] == _BOTTOM_ROW).all(axis=-1)


def _check_rigid(T: np.ndarray, label: str):
    """Raise ValueError naming `label` unless every T (..., 4, 4) is a rigid transform within MAX_REACH."""
    if not rigid_rows(T).all():
        raise ValueError(f"{label}: poses must be rigid transforms (orthonormal rotation, det +1, last row 0 0 0 1)")
    _check_far(T[..., :3, 3], label)


def _check_far(p: np.ndarray, label: str):
    """Positions (..., 3) beyond every chain's reach would overflow the solver's squared errors."""
    far = np.abs(p).max(initial=0.0)
    if far > MAX_REACH:
        raise ValueError(f"{label}: a coordinate of {far:.3g} m lies beyond any chain's reach "
                         f"({MAX_REACH:.0e} m = MAX_JOINTS · (MAX_LENGTH + MAX_LIMIT))")


def _weights(weights, kind):
    """W (6,) or (3,) for position targets, scaled so that the largest weight is 1.

    Only the weights' ratios matter to the answer: Chan-Lawrence damping scales with ½eᵀWe, so
    LM's step is the same for W and c·W. Scaling keeps W² finite for huge weights (1e300).
    """
    if weights is None:
        return _ONES[:3] if kind == "position" else _ONES
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        w = None
    if w is not None and w.shape == (2,):
        w = np.repeat(w, 3)
    if w is None or w.shape != (6,):
        got = f"shape {w.shape}" if w is not None else repr(weights)[:80]
        raise ValueError(f"weights must be (w_position, w_rotation) or 6 finite non-negative numbers, got {got}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be finite and non-negative, got {weights!r}")
    w = w[:3] if kind == "position" else w
    if not w.max() > 0:
        raise ValueError(f"weights: at least one weight on the target's {kind} error must be positive, got {weights!r}")
    return w / w.max()


_ONES = np.ones(6)
_ONES.flags.writeable = False


class Task:
    """A term of the IK problem: hard (defines success) or soft (lowered in the hard tasks' null space).

    Attributes:
        frames: names of the frames whose poses the task reads.
        hard: whether the task defines success.
        batch: B for a task whose targets carry a leading batch axis, else None.
    """

    hard = True
    frames: tuple = ()
    batch = None
    needs_motion = True  # a frame that no joint moves is a mistake (collision geometry may sit on one)
    linearize = None  # or (T, J, q, idx) -> (e, A): a task that chains its own Jacobian (collision)
    report = None  # or T -> {name: (R,) array}: what the result reports instead of its errors

    def bind(self, robot, geometry=None) -> Task:
        """The task for one robot (a copy that knows it, for tasks that need to); most tasks are their own."""
        return self

    @property
    def label(self) -> str:
        """The task as the solver's reasons and errors name it, e.g. Pose('tool')."""
        return f"{type(self).__name__}({', '.join(repr(f) for f in self.frames)})"

    def __repr__(self) -> str:
        return self.label


class _HardTask(Task):
    """A hard task: a residual (R, m) that vanishes when it is met, and its errors."""

    measures = ("position", "angle")  # the errors it reports (and has tolerances for)
    geometric = None  # Pose, Position, Orientation: the rows of [v; ω] their residual follows

    def __init__(self, tol_position, tol_rotation, weights):
        self.tol_position = _tolerance(self, "tol_position", tol_position)
        self.tol_rotation = _tolerance(self, "tol_rotation", tol_rotation)
        self.weights = weights

    def tolerances(self, tol_position, tol_rotation):
        """(position, rotation) bounds of its errors for success (inf: not measured); None inherits `solve`'s."""
        return ((self.tol_position or tol_position) if "position" in self.measures else math.inf,
                (self.tol_rotation or tol_rotation) if "angle" in self.measures else math.inf)

    def residual(self, T: dict, q, idx):
        """The residual (R, m), of the poses' kind (Tensor or array).

        It reads q only through the frame poses T: `Problem.evaluate` carries its derivative to q
        by the frames' Jacobians (a cost of q itself belongs in a soft task).
        """
        raise NotImplementedError

    def errors(self, e: np.ndarray):
        """(position (R,), angle (R,)) from the residual's values; zeros for what it does not measure."""
        raise NotImplementedError


def _tolerance(task, name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or \
            not math.isfinite(value) or value <= 0:
        raise ValueError(f"{type(task).__name__}: {name} must be a finite positive number, got {value!r}")
    return float(value)


def _frame_name(task, frame):
    if not isinstance(frame, str) or not frame:
        raise TypeError(f"{type(task).__name__}: the frame must be a frame name (str), got {frame!r}")
    return frame


def _batched(task, name, value, shape):
    """A target array of the given trailing shape, finite, as (B, *shape) or (1, *shape); sets task.batch."""
    try:
        a = np.asarray(_value(value), dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{type(task).__name__}: {name} must be an array of numbers, got {value!r:.80}") from None
    if a.shape[a.ndim - len(shape):] != shape or a.ndim not in (len(shape), len(shape) + 1):
        dims = ", ".join(map(str, shape))
        raise ValueError(f"{task.label}: {name} must have shape ({dims}) or (B, {dims}), got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{task.label}: {name} contains NaN or infinite values")
    if a.ndim > len(shape):
        if task.batch is not None and task.batch != len(a):
            raise ValueError(f"{task.label}: {name} has {len(a)} rows, another of its arrays {task.batch}")
        task.batch = len(a)
        return a
    return a[None]


def _rigid(task, name, value):
    """(B or 1, 4, 4) rigid transforms, checked."""
    T = _batched(task, name, value, (4, 4))
    _check_rigid(T, f"{task.label}: {name}")
    return T


def _rotation(task, name, value):
    """(B or 1, 3, 3) rotations, checked."""
    R = _batched(task, name, value, (3, 3))
    T = np.zeros(R.shape[:-2] + (4, 4))
    T[..., :3, :3], T[..., 3, 3] = R, 1.0
    _check_rigid(T, f"{task.label}: {name}")
    return R


def _point(task, name, value):
    """(B or 1, 3) positions, checked."""
    p = _batched(task, name, value, (3,))
    _check_far(p, f"{task.label}: {name}")
    return p


def _unit(task, name, value):
    v = _batched(task, name, value, (3,))
    norm = np.linalg.norm(v / np.abs(v).max(axis=-1, keepdims=True).clip(1e-300), axis=-1, keepdims=True)
    if not (np.abs(v).max(axis=-1) > 0).all():
        raise ValueError(f"{task.label}: {name} must be a nonzero vector, got {value!r}")
    return (v / np.abs(v).max(axis=-1, keepdims=True)) / norm  # scaled first, so 1e200 works too


def _rows(a, idx):
    """Each row's target: a batched array indexed by idx, an unbatched one as it is (broadcasts)."""
    return a[idx] if len(a) > 1 else a[0]


class Pose(_HardTask):
    """The frame's pose equals T: residual pose_error(T_frame, T) = [p_t − p; rotation vector of R_t Rᵀ] (6).

    Args:
        frame: a frame name of the robot.
        T: (4, 4) or (B, 4, 4) target poses in the world (root) frame.
        tol_position, tol_rotation: success bounds (m, rad); None inherits `solve`'s.
        weights: (w_position, w_rotation) or 6 non-negative weights on the residual's rows (only
            ratios matter within a task); None: all ones. Zero rotation weights solve the position only.
    """

    geometric = slice(0, 6)

    def __init__(self, frame, T, *, tol_position=None, tol_rotation=None, weights=None):
        self.frames = (_frame_name(self, frame),)
        self.target = _rigid(self, "T", T)
        super().__init__(tol_position, tol_rotation, _task_weights(self, weights))

    def residual(self, T, q, idx):
        return pose_error(T[self.frames[0]], _rows(self.target, idx))

    def errors(self, e):
        norms = np.sqrt((e * e).reshape(len(e), 2, 3).sum(axis=-1))
        return norms[:, 0], norms[:, 1]


class Position(_HardTask):
    """The frame's origin at p: residual p_t − p (3).

    Args:
        frame: a frame name.
        p: (3,) or (B, 3) world positions.
        tol_position: success bound (m); None inherits `solve`'s.
    """

    geometric = slice(0, 3)
    measures = ("position",)

    def __init__(self, frame, p, *, tol_position=None):
        self.frames = (_frame_name(self, frame),)
        self.target = _point(self, "p", p)
        super().__init__(tol_position, None, np.ones(3))

    def residual(self, T, q, idx):
        return _rows(self.target, idx) - T[self.frames[0]][..., :3, 3]

    def errors(self, e):
        return np.sqrt((e * e).sum(axis=-1)), np.zeros(len(e))


class Orientation(_HardTask):
    """The frame's rotation equals R: residual rotation vector of R_t Rᵀ (3).

    Args:
        frame: a frame name.
        R: (3, 3) or (B, 3, 3) world rotations.
        tol_rotation: success bound (rad); None inherits `solve`'s.
    """

    geometric = slice(3, 6)
    measures = ("angle",)

    def __init__(self, frame, R, *, tol_rotation=None):
        self.frames = (_frame_name(self, frame),)
        self.target = _rotation(self, "R", R)
        super().__init__(None, tol_rotation, np.ones(3))

    def residual(self, T, q, idx):
        R = T[self.frames[0]][..., :3, :3]
        return rotation_vector(_rows(self.target, idx) @ _namespace(R).swapaxes(R, -1, -2))

    def errors(self, e):
        return np.zeros(len(e)), np.sqrt((e * e).sum(axis=-1))


class Axis(_HardTask):
    """The frame's local `axis` along the world `direction` (free spin about it), its origin optionally at `position`.

    Residual a − d (3), a = R_frame · axis, d = direction, both unit, then p_t − p (3) with a
    position: |a − d| = 2 sin(θ/2) for the angle θ between them, smooth everywhere and zero only
    when aligned (a × d also vanishes when a = −d, which would make the flipped tool an attracting
    false solution). The reported angle is θ = 2 arcsin(|a − d| / 2).

    Args:
        frame: a frame name.
        axis: (3,) nonzero vector in the frame's coordinates (normalised), e.g. the tool's z (0, 0, 1).
        direction: (3,) or (B, 3) nonzero world direction (normalised).
        position: None, or (3,) / (B, 3) world positions for the frame's origin.
        tol_position, tol_rotation: success bounds; None inherits `solve`'s.
    """

    def __init__(self, frame, axis, direction, position=None, *, tol_position=None, tol_rotation=None):
        self.frames = (_frame_name(self, frame),)
        self.axis = _unit(self, "axis", axis)[0]
        if self.batch is not None:
            raise ValueError(f"{self.label}: axis is the frame's own axis, (3,); batch the direction instead")
        self.direction = _unit(self, "direction", direction)
        self.position = None if position is None else _point(self, "position", position)
        self.measures = ("angle",) if position is None else ("position", "angle")
        super().__init__(tol_position, tol_rotation, np.ones(3 if position is None else 6))

    def residual(self, T, q, idx):
        pose = T[self.frames[0]]
        a = pose[..., :3, :3] @ self.axis  # (R, 3): the axis in the world
        r = a - _rows(self.direction, idx)
        if self.position is None:
            return r
        return _namespace(pose).concatenate([r, _rows(self.position, idx) - pose[..., :3, 3]], axis=-1)

    def errors(self, e):
        angle = 2.0 * np.arcsin(np.minimum(np.sqrt((e[:, :3] ** 2).sum(axis=-1)) * 0.5, 1.0))
        position = np.sqrt((e[:, 3:] ** 2).sum(axis=-1)) if self.position is not None else np.zeros(len(e))
        return position, angle


class Relative(_HardTask):
    """Frame b's pose in frame a's equals T: T = T_a⁻¹ T_b (two hands holding a box), error in frame a.

    Residual [p_t − p_ab; rotation vector of R_t R_abᵀ] (6) with R_ab = R_aᵀ R_b and
    p_ab = R_aᵀ (p_b − p_a): both expressed in frame a.

    Args:
        frame_a, frame_b: frame names (different).
        T: (4, 4) or (B, 4, 4) rigid transforms.
        tol_position, tol_rotation, weights: as for `Pose`.
    """

    def __init__(self, frame_a, frame_b, T, *, tol_position=None, tol_rotation=None, weights=None):
        self.frames = (_frame_name(self, frame_a), _frame_name(self, frame_b))
        if frame_a == frame_b:
            raise ValueError(f"{self.label}: the two frames must differ")
        self.target = _rigid(self, "T", T)
        super().__init__(tol_position, tol_rotation, _task_weights(self, weights))

    def residual(self, T, q, idx):
        Ta, Tb = T[self.frames[0]], T[self.frames[1]]
        xp = _namespace(Ta)
        Ra_t = xp.swapaxes(Ta[..., :3, :3], -1, -2)
        R_ab = Ra_t @ Tb[..., :3, :3]
        p_ab = Ra_t @ xp.reshape(Tb[..., :3, 3] - Ta[..., :3, 3], Ta.shape[:-2] + (3, 1))
        target = _rows(self.target, idx)
        ep = target[..., :3, 3] - xp.reshape(p_ab, Ta.shape[:-2] + (3,))
        er = rotation_vector(target[..., :3, :3] @ xp.swapaxes(R_ab, -1, -2))
        return xp.concatenate([ep, er], axis=-1)

    errors = Pose.errors


def _task_weights(task, weights):
    try:
        return _weights(weights, "pose")
    except ValueError as error:
        raise ValueError(f"{task.label}: {error}") from None


class _SoftTask(Task):
    """A soft task: a cost (R,) lowered without disturbing the hard tasks; weight >= 0 scales it."""

    hard = False

    def __init__(self, weight):
        if isinstance(weight, bool) or not isinstance(weight, int | float | np.integer | np.floating) or \
                not math.isfinite(weight) or weight < 0:
            raise ValueError(f"{type(self).__name__}: weight must be a finite non-negative number, got {weight!r}")
        self.weight = float(weight)

    def cost(self, T: dict, q, idx, robot):
        """The weighted cost per row (R,), of q's kind."""
        raise NotImplementedError


class Posture(_SoftTask):
    """Stay near a rest configuration: cost ½ w ‖q − q_rest‖².

    Args:
        q_rest: (n,) or (B, n) joint values (the robot's free joints).
        weight: w >= 0.
    """

    def __init__(self, q_rest, weight=1.0):
        super().__init__(weight)
        self.q_rest = np.asarray(q_rest, dtype=np.float64)
        if self.q_rest.ndim not in (1, 2) or not np.isfinite(self.q_rest).all():
            raise ValueError(f"Posture: q_rest must be finite, (n,) or (B, n), got shape {self.q_rest.shape}")
        self.batch = len(self.q_rest) if self.q_rest.ndim == 2 else None
        self.q_rest = self.q_rest if self.q_rest.ndim == 2 else self.q_rest[None]

    @property
    def label(self):
        return "Posture"

    def cost(self, T, q, idx, robot):
        d = q - _rows(self.q_rest, idx)
        return _namespace(q).sum(d * d, axis=-1) * (0.5 * self.weight)


class Manipulability(_SoftTask):
    """Stay away from singularities: maximise Yoshikawa's √det(J Jᵀ) of the frame (J its 6 × n Jacobian).

    Cost −½ w log det(J Jᵀ + εI) = −w log √det(...), with J the frame's geometric Jacobian as a
    forward expression of q (`kinematics.frame_jacobian`), so the engine differentiates the cost;
    ε = 1e-9 keeps the log finite at a singularity.

    Args:
        frame: a frame name.
        weight: w >= 0.
    """

    EPS = 1e-9

    def __init__(self, frame, weight=1.0):
        super().__init__(weight)
        self.frames = (_frame_name(self, frame),)

    def cost(self, T, q, idx, robot):
        from .fk import frame_jacobian

        J = frame_jacobian(robot, q, self.frames[0])
        xp = _namespace(q)
        JJt = J @ xp.swapaxes(J, -1, -2) + self.EPS * np.eye(6)
        logdet = ad.logdet(JJt) if xp is ad else np.linalg.slogdet(JJt)[1]
        return logdet * (-0.5 * self.weight)


class Cost(_SoftTask):
    """Any objective of frame poses and q, written with the engine's ops: the seed's method.

    Args:
        fn: fn(T, q) -> (R,) cost per row, where T is {frame: (R, 4, 4) pose} for `frames` and q
            is (R, n); both Tensors while solving, so backprop gives the cost's gradient.
        weight: w >= 0; the cost is w · fn.
        frames: the frame names fn reads.
    """

    def __init__(self, fn, weight=1.0, frames=()):
        if not callable(fn):
            raise TypeError(f"Cost: fn must be callable, got {fn!r:.80}")
        super().__init__(weight)
        frames = (frames,) if isinstance(frames, str) else tuple(frames)
        self.frames = tuple(_frame_name(self, f) for f in frames)
        self.fn = fn

    @property
    def label(self):
        return f"Cost({getattr(self.fn, '__name__', type(self.fn).__name__)})"

    def cost(self, T, q, idx, robot):
        value = self.fn({f: T[f] for f in self.frames}, q)
        data = np.asarray(value.data if isinstance(value, ad.Tensor) else value)
        if data.shape not in ((len(q),), ()) and not (data.ndim == 2 and data.shape == (len(q), 1)):
            raise ValueError(f"{self.label}: fn must return one cost per row, shape ({len(q)},), got {data.shape}")
        if not np.isfinite(data).all():
            raise ValueError(f"{self.label}: fn returned NaN or infinite values")
        if data.ndim == 2:
            value = _namespace(value).reshape(value, (len(q),))
        return value * self.weight


def _data(x) -> np.ndarray:
    return np.asarray(_value(x), dtype=np.float64)


def is_task_list(tasks) -> bool:
    """Whether `solve`'s second argument is tasks: a Task, or a non-empty sequence of nothing but Tasks.

    Raises:
        TypeError: a sequence that mixes Tasks with other things.
    """
    if isinstance(tasks, Task):
        return True
    if isinstance(tasks, list | tuple) and tasks:
        kinds = [isinstance(t, Task) for t in tasks]
        if all(kinds):
            return True
        if any(kinds):
            bad = next(t for t, k in zip(tasks, kinds) if not k)
            raise TypeError(f"tasks: a list of tasks holds a {type(bad).__name__} ({bad!r:.60}); every entry must be "
                            "a kinematics task (Pose, Position, Orientation, Axis, Relative, Posture, ...)")
    return False


class Problem:
    """Tasks compiled for one robot: the solver's evaluations, one forward and one backward pass each.

    Args:
        robot: a kinematics.Robot or Chain.
        tasks: Tasks (at least one hard task).
        tol_position, tol_rotation: the tolerances of tasks that leave theirs None.

    Attributes:
        robot: the Robot (a Chain as its tree).
        hard, soft: the tasks of each kind, in the order given; tasks: all of them.
        batch: B, or None when no task is batched.
        tol_p, tol_r: (len(hard),) each hard task's tolerances (inf where it does not measure).
        W: (m,) the weights of the stacked residual's rows.

    Raises:
        ValueError: no hard task, an unknown frame (the nearest names listed), a frame that no joint
            moves, tasks with different batch sizes, a Posture of the wrong length; each names the task.
    """

    def __init__(self, robot, tasks, tol_position, tol_rotation):
        geometry = getattr(robot, "geometry", None)  # a built-in chain's collision model, for collision tasks
        self.robot = as_robot(robot)
        self.tasks = [t.bind(self.robot, geometry) for t in ([tasks] if isinstance(tasks, Task) else tasks)]
        self.hard = [t for t in self.tasks if t.hard]
        self.soft = [t for t in self.tasks if not t.hard]
        if not self.hard:
            raise ValueError("tasks: at least one hard task (Pose, Position, Orientation, Axis, Relative) is needed; "
                             f"got only soft ones: {self.soft}")
        batches = {t.batch for t in self.tasks} - {None}
        if len(batches) > 1:
            sizes = ", ".join(f"{t.label}: {t.batch}" for t in self.tasks if t.batch is not None)
            raise ValueError(f"tasks: batched tasks must share one batch size, got {sizes}")
        self.batch = batches.pop() if batches else None
        for task in self.tasks:
            self._check_frames(task)
            if isinstance(task, Posture) and task.q_rest.shape[-1] != self.robot.n:
                raise ValueError(f"Posture: q_rest has {task.q_rest.shape[-1]} values for {self.robot.n} joints "
                                 f"of {self.robot.name!r}")
        self.hard_frames = list(dict.fromkeys(f for t in self.hard for f in t.frames))
        self.soft_frames = list(dict.fromkeys(f for t in self.soft for f in t.frames))
        self.generic = [t for t in self.hard if t.geometric is None and t.linearize is None]
        self.linearized = any(t.linearize is not None for t in self.hard)
        self.tol_p, self.tol_r = np.array([t.tolerances(tol_position, tol_rotation) for t in self.hard]).T.copy()
        self.positions = np.array(["position" in t.measures for t in self.hard])  # tasks with position errors
        self.W = np.concatenate([t.weights for t in self.hard])

    def _check_frames(self, task):
        for frame in task.frames:
            try:
                self.robot.plan([frame])
            except ValueError as error:
                raise ValueError(f"{task.label}: {error}") from None
            if task.needs_motion and not _jacobian_plan(self.robot, frame)[0]:  # no motion joint on its path
                raise ValueError(f"{task.label}: no joint of {self.robot.name!r} moves frame {frame!r}; a task on it "
                                 "could never change")

    # -- evaluations ----------------------------------------------------------------------------

    def _poses(self, q, frames):
        """{frame: (R, 4, 4)} of q's kind, one frame_poses walk for all of them."""
        if not frames:
            return {}
        P = _frame_poses(self.robot, q, frames)
        return {f: P[:, k] for k, f in enumerate(frames)}

    def residuals(self, q: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """The stacked hard residual e (R, m) at q (R, n), without a graph."""
        T = self._poses(q, self.hard_frames)
        return np.concatenate([t.residual(T, q, idx) for t in self.hard], axis=-1)

    def evaluate(self, q: np.ndarray, idx: np.ndarray):
        """e (R, m) and A = −∂e/∂q (R, m, n) at q (R, n).

        Every hard residual reads q through its frames' poses, and a pose moves with q as
        dp = J_v dq, dR = [J_ω dq]× R, with (J_v; J_ω) the frame's geometric Jacobian
        (`frame_jacobian`, closed form from the same walk as the poses). So:

        - Pose, Position, Orientation take rows of J itself (LM's convention, as for a chain:
          ∂e/∂q = −J at zero error);
        - every other task backpropagates its residual to the poses, one cotangent per row in one
          stacked pass through a graph of a few ops (not through FK), and the chain rule gives
          ∂r/∂q = g_pᵀ J_v + g_ωᵀ J_ω with g_p = ∂r/∂p and g_ω = vex(∂r/∂R · Rᵀ − R · ∂r/∂Rᵀ)
          (⟨G, [ω]× R⟩ = ω · vex(G Rᵀ − R Gᵀ)).
        """
        T, J = _frame_jacobians(self.robot, q, self.hard_frames)
        poses = {f: T[:, k] for k, f in enumerate(self.hard_frames)}
        column = {f: k for k, f in enumerate(self.hard_frames)}
        generic = self._generic_jacobians(poses, J, column, q, idx) if self.generic else iter(())
        e_parts, A_parts = [], []
        for task in self.hard:
            if task.geometric is not None:
                e_parts.append(task.residual(poses, q, idx))
                A_parts.append(J[:, column[task.frames[0]], task.geometric])
            elif task.linearize is not None:
                r, A = task.linearize(poses, {f: J[:, column[f]] for f in task.frames}, q, idx)
                e_parts.append(r)
                A_parts.append(A)
            else:
                r, A = next(generic)
                e_parts.append(r)
                A_parts.append(A)
        return np.concatenate(e_parts, axis=-1), np.concatenate(A_parts, axis=1)

    def _generic_jacobians(self, poses, J, column, q, idx):
        """(r (R, m_t), A = −∂r/∂q (R, m_t, n)) of each non-geometric hard task, in order, from one backward pass."""
        R = len(q)
        leaves = {f: ad.Tensor(poses[f], requires_grad=True) for f in dict.fromkeys(
            f for t in self.generic for f in t.frames)}
        residuals = [t.residual(leaves, q, idx) for t in self.generic]
        widths = [r.shape[-1] for r in residuals]
        Y = ad.concatenate(residuals, axis=-1) if len(residuals) > 1 else residuals[0]
        m = Y.shape[-1]
        seeds = np.zeros((m, R, m))
        seeds[np.arange(m), :, np.arange(m)] = 1.0
        Y.backward(seeds)
        D = np.zeros((R, m, q.shape[-1]))  # ∂r/∂q
        for f, leaf in leaves.items():
            if leaf.grad is None:
                continue
            G = np.moveaxis(leaf.grad, 0, 1)  # (R, m, 4, 4)
            M = G[..., :3, :3] @ np.swapaxes(poses[f][:, None, :3, :3], -1, -2)  # G Rᵀ
            g_w = M[..., _VEX_PLUS[0], _VEX_PLUS[1]] - M[..., _VEX_MINUS[0], _VEX_MINUS[1]]
            Jf = J[:, column[f]]
            D += G[..., :3, 3] @ Jf[:, :3] + g_w @ Jf[:, 3:]
        at = 0
        for r, width in zip(residuals, widths):
            yield r.data, -D[:, at:at + width]
            at += width

    def task_errors(self, e: np.ndarray):
        """(position (R, h), angle (R, h)) per hard task from the stacked residual (R, m)."""
        P, A, at = np.zeros((len(e), len(self.hard))), np.zeros((len(e), len(self.hard))), 0
        for k, task in enumerate(self.hard):
            width = len(task.weights)
            P[:, k], A[:, k] = task.errors(e[:, at:at + width])
            at += width
        return P, A

    def reports(self, q: np.ndarray, idx: np.ndarray) -> list:
        """Each hard task's `report` at q (R, n) (None for tasks that report their errors), in order."""
        frames = list(dict.fromkeys(f for t in self.hard if t.report is not None for f in t.frames))
        T = self._poses(q, frames)
        return [t.report(T) if t.report is not None else None for t in self.hard]

    def scaled_errors(self, e: np.ndarray):
        """The worst hard task's position and angle errors in units of its tolerances, (R,) each."""
        P, A = self.task_errors(e)
        return (P / self.tol_p).max(axis=-1), (A / self.tol_r).max(axis=-1)

    def loss_gradient(self, q: np.ndarray, idx: np.ndarray, W: np.ndarray):
        """e (R, m) and the gradient (R, n) of ½ Σ ‖W e‖² per row from one backward pass (the gradient methods).

        With tasks that chain their own Jacobians (collision), from `evaluate`: ∂e/∂q = −A, so the
        gradient is −Aᵀ W² e.
        """
        if self.linearized:
            e, A = self.evaluate(q, idx)
            return e, -(np.swapaxes(A, -1, -2) @ (W * W * e)[..., None])[..., 0]
        leaf = ad.Tensor(q, requires_grad=True)
        T = self._poses(leaf, self.hard_frames)
        e = ad.concatenate([t.residual(T, leaf, idx) for t in self.hard], axis=-1)
        we = e * W
        (ad.sum(we * we) * 0.5).backward()
        return e.data, leaf.grad

    def soft_cost(self, q, idx, grad: bool):
        """The summed soft cost (R,) at q (R, n); with `grad` its gradient (R, n) from one backward pass, else None."""
        if not grad:
            return np.sum(self.soft_costs(q, idx), axis=0), None
        leaf = ad.Tensor(q, requires_grad=True)
        costs = self._costs(leaf, idx)
        total = np.sum([np.broadcast_to(_data(c), (len(q),)) for c in costs], axis=0)
        live = [ad.sum(c) for c in costs if isinstance(c, ad.Tensor) and c.requires_grad]  # others: constant in q
        if live:
            loss = live[0]
            for term in live[1:]:
                loss = loss + term
            loss.backward()
        g = leaf.grad if leaf.grad is not None else np.zeros_like(q)
        for task in self.soft:  # soft collision tasks: their own chained gradients (their cost above is constant)
            if task.linearize is not None:
                g = g + task.cost_gradient(q, self.robot)
        return total, g

    def _costs(self, q, idx):
        """Each soft task's weighted cost at q (R, n) (Tensor or array), in task order."""
        T = self._poses(q, self.soft_frames)
        return [task.cost(T, q, idx, self.robot) for task in self.soft]

    def check_costs(self, q, idx):
        """Evaluate the soft tasks once at q (R, n) so that a bad Cost fails before any work (its message names it)."""
        if self.soft:
            self.soft_cost(q, idx, grad=True)

    def soft_costs(self, q, idx):
        """Each soft task's cost (R,) at q (R, n) as arrays, a list in task order."""
        return [np.broadcast_to(_data(c), (len(q),)).astype(np.float64) for c in self._costs(q, idx)]


def is_chain_end_task(robot, tasks) -> bool:
    """Whether the tasks are one Pose or Position on a Chain's "tool": today's fast path (pose_and_jacobian)."""
    return (isinstance(robot, Chain) and len(tasks) == 1 and type(tasks[0]) in (Pose, Position)
            and tasks[0].frames == ("tool",))
