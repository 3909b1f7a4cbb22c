"""Cartesian paths: waypoints solved on one solution branch, interpolated poses, time scaling.

`solve_path(robot, tasks_per_waypoint, q0)` solves K waypoints in order, each warm-started from
the previous answer and WITHOUT random restarts (a random start is what flips an elbow or a
wrist mid-path). A waypoint whose answer is not found from the previous one, or whose largest
joint step |q_k − q_{k−1}|_j exceeds `max_joint_step`, is repaired locally: the segment from
waypoint k−1 to k is bisected (its targets interpolated by `interpolate_poses`), and the halves
are solved in order, each from the answer before it, down to 1/2^MAX_DEPTH of the segment. A
continuous branch gets through (its steps shrink with the pieces); a real discontinuity (a
singularity, a joint limit) does not: there the break is located, an answer beyond it is found
with random restarts (nearest the last continuous answer), solved back towards the break (the
re-solve from the other side: where the two sides join there was no jump after all), and the
walk goes on from it. Every waypoint whose step remains above `max_joint_step`, or that only a
restart across a break reached, is listed in `PathResult.jumps` and says so in its reason.

Interpolation (`interpolate_poses`): positions linearly, rotations along the geodesic (SLERP:
R(s) = R₀ exp(s log(R₀ᵀ R₁)), constant angular velocity about one axis). This is the decoupled
interpolation, not the screw motion: the origin moves on the straight line between the two
positions, which is what a "straight-line tool path" asks for.

Time scaling (`time_scale`): with waypoint spacing dt, each segment runs as fast as the nominal
spacing, the velocity limits (Δt_k ≥ max_j |Δq_kj| / v_j) and the acceleration limits allow,
the accelerations measured as the second differences of the result,
a_i = (v_i − v_{i−1}) / ((Δt_{i−1} + Δt_i) / 2), v_i = Δq_i / Δt_i: half of each joint's budget
goes to the path's curvature, half to speeding up and slowing down (forward and backward passes),
which bounds a_i by construction (`time_scale`). The path is timed from waypoint 0 (t = 0) to
waypoint K−1; the motion from q0 to waypoint 0 and starting/stopping from rest are not part of it.

Glossary: K waypoints; s ∈ [0, 1] the fraction of a segment from waypoint k−1 (s = 0) to k
(s = 1); goal: what `solve` takes for one waypoint (a (4, 4) pose, a (3,) position, or a task list).
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np

import autodiff as ad

from .chain import Chain
from .fk import forward_kinematics, frame_poses, rotation_vector
from .ik import IKResult, _check_q0, _end_task, _parse_target, solve
from .robot import Robot
from .tasks import Axis, Orientation, Pose, Position, Relative, Task, is_task_list
from .transforms import rot_axis

__all__ = ["PathResult", "solve_path", "interpolate_poses", "time_scale", "MAX_DEPTH"]

# The repair bisects a segment down to 1/2^MAX_DEPTH of it (at most 2^(MAX_DEPTH+1) solves for a
# segment that holds a break): a continuous branch's steps halve with each level, so a step that
# is still above the limit at 1/64 of the segment is a jump, not a coarse sampling.
MAX_DEPTH = 6

# Random restarts for an answer beyond a located break when the caller gives no max_restarts
# (solve's own default).
FALLBACK_RESTARTS = 100

# A rotation angle below this (rad) is the identity for interpolation (its axis is undefined).
_TINY_ANGLE = 1e-12


@dataclasses.dataclass
class PathResult(IKResult):
    """`solve_path`'s result: a batch IKResult over the K waypoints, and how the path went.

    Attributes:
        q: (K, n) the answers; the other IKResult fields are (K,) (reason a list of K strings).
            iterations and restarts count every solve spent on a waypoint, its repair's included.
        max_joint_step: max over waypoints k and joints j of |q_k − q_{k−1}|_j (q_{−1} = q0), in
            rad or m.
        jumps: waypoint indices k (ascending) where the step from waypoint k−1 (k = 0: from q0)
            is still above `max_joint_step` after the repair, or where the answer was reached only
            by a restart across a break in the branch; their reasons say which, and where.
        repaired: waypoint indices whose segment was subdivided (the repair ran).
        times: (K,) seconds from waypoint 0 (t = 0) when `dt` was given, time-scaled to the
            velocity and acceleration limits; None without dt.
        velocity_limits, acceleration_limits: (n,) the limits the times respect (inf: none), or
            None without dt.
    """

    max_joint_step: float = 0.0
    jumps: list = dataclasses.field(default_factory=list)
    repaired: list = dataclasses.field(default_factory=list)
    times: np.ndarray | None = None
    velocity_limits: np.ndarray | None = None
    acceleration_limits: np.ndarray | None = None


# ----------------------------------------------------------------------------- interpolation

def _geodesic(R0: np.ndarray, R1: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Rotations (m, 3, 3) along the geodesic from R0 to R1 (3, 3) at fractions s (m,): R0 exp(s log(R0ᵀ R1))."""
    w = rotation_vector(R0.T @ R1)  # θ k, θ ∈ [0, π]
    theta = float(np.linalg.norm(w))
    if theta < _TINY_ANGLE:
        return np.broadcast_to(R0, (len(s), 3, 3)).copy()
    step = np.asarray(rot_axis(w / theta, s * theta))  # (m, 4, 4) Rodrigues: the exp map about k
    return R0 @ step[..., :3, :3]


def interpolate_poses(T0, T1, steps: int) -> np.ndarray:
    """`steps` poses from T0 to T1, both ends included: positions linear, rotations by SLERP.

    The rotation follows the geodesic R(s) = R₀ exp(s log(R₀ᵀ R₁)) (SLERP of the quaternions: a
    constant angular velocity about one fixed axis), the origin the straight line
    p(s) = (1 − s) p₀ + s p₁, with s = 0, 1/(steps − 1), ..., 1. (A screw motion would move the
    origin on a helix instead.) For rotations π apart the geodesic is not unique: the one
    `rotation_vector` picks is taken. Positions (d,) — e.g. (3,), or (2,) for planar arms —
    are interpolated linearly.

    Args:
        T0, T1: (4, 4) rigid poses, or positions (d,) (both the same kind).
        steps: how many, >= 2.

    Returns:
        (steps, 4, 4) poses, or (steps, d) positions; the first is T0 and the last T1 exactly.

    Raises:
        ValueError: steps < 2, shapes that differ or are neither (4, 4) nor (d,), non-finite values.

    Example:
        >>> from kinematics.transforms import rot_z, translation
        >>> path = interpolate_poses(np.eye(4), translation([0.2, 0.0, 0.0]) @ rot_z(np.pi / 2), 3)
        >>> np.round(path[1, :3, 3], 12), round(float(np.degrees(np.arctan2(path[1, 1, 0], path[1, 0, 0]))), 9)
        (array([0.1, 0. , 0. ]), 45.0)
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 2:
        raise ValueError(f"interpolate_poses: steps must be an integer >= 2 (both ends included), got {steps!r}")
    a, b = (np.asarray(x.data if isinstance(x, ad.Tensor) else x, dtype=np.float64) for x in (T0, T1))
    if a.shape != b.shape or not (a.shape == (4, 4) or a.ndim == 1):
        raise ValueError(f"interpolate_poses: T0 and T1 must both be poses (4, 4) or positions (d,), "
                         f"got shapes {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("interpolate_poses: T0 and T1 must be finite")
    return _interpolate(a, b, np.linspace(0.0, 1.0, int(steps)))


def _interpolate(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Poses (m, 4, 4) or points (m, d) between a and b at fractions s (m,); the ends exactly a and b."""
    if a.shape != (4, 4):
        out = a + s[:, None] * (b - a)
    else:
        out = np.zeros((len(s), 4, 4))
        out[:, :3, :3] = _geodesic(a[:3, :3], b[:3, :3], s)
        out[:, :3, 3] = a[:3, 3] + s[:, None] * (b[:3, 3] - a[:3, 3])
        out[:, 3, 3] = 1.0
    out[s == 0.0], out[s == 1.0] = a, b
    return out


def _direction_between(d0: np.ndarray, d1: np.ndarray, s: float):
    """Unit vector at fraction s of the great circle from d0 to d1 (3,), or None when they are opposite."""
    cos = float(np.clip(d0 @ d1, -1.0, 1.0))
    theta = math.acos(cos)
    if theta < _TINY_ANGLE:
        return d0.copy()
    if math.pi - theta < 1e-9:
        return None  # every great circle joins them: no one interpolation
    return (math.sin((1 - s) * theta) * d0 + math.sin(s * theta) * d1) / math.sin(theta)


def _task_between(a: Task, b: Task, s: float):
    """Task b with its target moved to fraction s between a's (s = 0) and b's (s = 1), or None if undefined.

    Pose, Relative, Position, Orientation and Axis carry a target; the other tasks (soft ones,
    collision) have none to interpolate and are b's as they are.
    """
    if type(a) is not type(b) or a.frames != b.frames:
        return None
    task = copy.copy(b)
    if isinstance(b, Pose | Relative | Position):
        task.target = _interpolate(a.target[0], b.target[0], np.array([s]))
    elif isinstance(b, Orientation):
        task.target = _geodesic(a.target[0], b.target[0], np.array([s]))
    elif isinstance(b, Axis):
        if (a.position is None) != (b.position is None) or not np.allclose(a.axis, b.axis):
            return None
        d = _direction_between(a.direction[0], b.direction[0], s)
        if d is None:
            return None
        task.direction = d[None]
        if b.position is not None:
            task.position = _interpolate(a.position[0], b.position[0], np.array([s]))
    return task


def _task_achieved(robot, task: Task, q: np.ndarray) -> Task:
    """The task with its target set to what q achieves (a waypoint "−1" at q0), or the task itself."""
    if not isinstance(task, Pose | Relative | Position | Orientation | Axis):
        return task
    T = frame_poses(robot, q, list(task.frames))  # (f, 4, 4)
    done = copy.copy(task)
    if isinstance(task, Relative):
        done.target = (np.linalg.inv(T[0]) @ T[1])[None]
    elif isinstance(task, Pose):
        done.target = T[:1].copy()
    elif isinstance(task, Position):
        done.target = T[:1, :3, 3].copy()
    elif isinstance(task, Orientation):
        done.target = T[:1, :3, :3].copy()
    else:
        done.direction = (T[0, :3, :3] @ task.axis)[None]
        if task.position is not None:
            done.position = T[:1, :3, 3].copy()
    return done


# ----------------------------------------------------------------------------- waypoints

class _Waypoints:
    """The K goals and the interpolation between consecutive ones (bare targets or task lists)."""

    def __init__(self, robot, tasks_per_waypoint):
        self.robot = robot
        self.tasks = isinstance(tasks_per_waypoint, list | tuple) and bool(tasks_per_waypoint) and all(
            _is_tasks(entry) for entry in tasks_per_waypoint)
        if self.tasks:
            self.goals = [[entry] if isinstance(entry, Task) else list(entry) for entry in tasks_per_waypoint]
            for k, goal in enumerate(self.goals):
                for task in goal:
                    if task.batch is not None:
                        raise ValueError(f"tasks_per_waypoint[{k}]: {task.label} holds a batch of {task.batch} "
                                         "targets; a waypoint takes one target per task")
            return
        if isinstance(tasks_per_waypoint, list | tuple) and any(_is_tasks(e) for e in tasks_per_waypoint):
            k = next(k for k, e in enumerate(tasks_per_waypoint) if not _is_tasks(e))
            raise TypeError(f"tasks_per_waypoint[{k}]: every waypoint must be a task list when one is, "
                            f"got {type(tasks_per_waypoint[k]).__name__}")
        if isinstance(robot, Chain):
            targets, _, single = _parse_target(robot, tasks_per_waypoint)  # planar (K, 2) lifted
            if single:
                raise ValueError(f"tasks_per_waypoint: a path takes (K, 4, 4) poses or (K, 3) positions, "
                                 f"got one target of shape {np.shape(tasks_per_waypoint)}")
        else:
            targets = np.asarray(tasks_per_waypoint, dtype=np.float64)
            if not (targets.ndim == 3 and targets.shape[1:] == (4, 4) or targets.ndim == 2
                    and targets.shape[1] == 3):
                raise ValueError(f"tasks_per_waypoint: (K, 4, 4) poses, (K, 3) positions or a list of K task "
                                 f"lists, got shape {targets.shape}")
        self.goals = targets

    def __len__(self):
        return len(self.goals)

    def start(self, q0: np.ndarray):
        """Waypoint −1: the first goal as q0 achieves it (so the segment to waypoint 0 can be bisected too)."""
        if self.tasks:
            return [_task_achieved(self.robot, task, q0) for task in self.goals[0]]
        if isinstance(self.robot, Chain):
            T = forward_kinematics(self.robot, q0)
        else:
            frame = _end_task(self.robot, self.goals[0], None).frames[0]
            T = frame_poses(self.robot, q0, [frame])[0]
        return T if self.goals.shape[1:] == (4, 4) else T[:3, 3]

    def between(self, a, b, s: float):
        """The goal at fraction s from goal a to goal b, or None where it is undefined."""
        if s == 1.0:
            return b
        if not self.tasks:
            return _interpolate(a, b, np.array([s]))[0]
        if len(a) != len(b):
            return None
        tasks = [_task_between(x, y, s) for x, y in zip(a, b)]
        return None if any(t is None for t in tasks) else tasks


def _is_tasks(entry) -> bool:
    return isinstance(entry, Task) or (isinstance(entry, list | tuple) and bool(entry) and is_task_list(entry))


# ----------------------------------------------------------------------------- checks

def _per_joint(name: str, value, n: int, unit: str, allow_inf: bool) -> np.ndarray:
    """A positive scalar or (n,) array (one value per joint), as (n,); ValueError naming `name` otherwise."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"solve_path: {name} must be a number or an (n,) = ({n},) array ({unit}), "
                         f"got {value!r:.60}") from None
    if a.ndim > 1 or (a.ndim == 1 and a.shape != (n,)):
        raise ValueError(f"solve_path: {name} must be a number or an (n,) = ({n},) array ({unit} per joint), "
                         f"got shape {a.shape}")
    ok = (a > 0) & (np.isfinite(a) | (allow_inf & (a == math.inf)))
    if not ok.all():
        raise ValueError(f"solve_path: {name} must be positive{' (inf: no limit)' if allow_inf else ' and finite'}, "
                         f"got {a.tolist()}")
    return np.broadcast_to(a, (n,)).copy()


def _check_dt(dt, K: int) -> np.ndarray:
    """dt as (K − 1,) segment durations: a positive finite number, or K − 1 of them."""
    try:
        a = np.asarray(dt, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"solve_path: dt must be the waypoint spacing in seconds, got {dt!r:.60}") from None
    if a.ndim > 1 or (a.ndim == 1 and a.shape != (max(K - 1, 0),)):
        raise ValueError(f"solve_path: dt must be a number of seconds or ({max(K - 1, 0)},) segment durations "
                         f"for {K} waypoints, got shape {a.shape}")
    if not ((a > 0) & np.isfinite(a)).all():
        raise ValueError(f"solve_path: dt must be positive and finite (seconds), got {a.tolist()}")
    return np.broadcast_to(a, (max(K - 1, 0),)).copy()


def joint_velocity_limits(robot) -> np.ndarray:
    """(n,) the free joints' speed limits (`velocity` of each Joint / RobotJoint; inf where None)."""
    if isinstance(robot, Chain):
        joints = robot.free_joints
    else:
        joints = [robot.joints_by_name[name] for name in robot.joint_names]
    return np.array([math.inf if j.velocity is None else j.velocity for j in joints])


# ----------------------------------------------------------------------------- time scaling

def time_scale(q, dt, velocity_limits, acceleration_limits=None) -> np.ndarray:
    """Waypoint times (K,) for joint values q (K, n) that respect velocity and acceleration limits.

    In finite differences — segment velocities v_k = Δq_k / d_k and waypoint accelerations
    a_i = (v_i − v_{i−1}) / ((d_{i−1} + d_i) / 2) — with σ_k = 1 / d_k each segment's speed
    (segments per second) and u_k = σ_k², the largest speeds are chosen that satisfy

    - nominal: σ_k ≤ 1 / dt_k (a segment never runs faster than the spacing asked for);
    - velocity: σ_k ≤ min_j v_j / |Δq_kj|;
    - curvature: σ_k ≤ min_j √(a_j / 2 / |Δq_ij − Δq_{i−1,j}|) at both of its waypoints i;
    - speed change: |u_i − u_{i−1}| ≤ min_j a_j / max(|Δq_{i−1,j}|, |Δq_ij|), by a forward
      and a backward pass (each only lowers speeds, so both hold after them).

    These bound the finite-difference acceleration: writing
    a_i = ((Δq_i − Δq_{i−1}) σ_i + Δq_{i−1} (σ_i − σ_{i−1})) · H, with H = 2σ_iσ_{i−1}/(σ_i + σ_{i−1})
    ≤ (σ_i + σ_{i−1}) / 2 the harmonic mean, the first term is at most a_j / 2 by the curvature
    bound and the second at most |Δq_{i−1,j}| |u_i − u_{i−1}| / 2 ≤ a_j / 2 by the speed-change
    bound. So the limits hold by construction (a last uniform stretch, which divides every
    acceleration by its square, absorbs rounding). The price of splitting the acceleration budget
    in halves: up to √2 slower than the time-optimal profile where accelerations bind.

    Args:
        q: (K, n) joint values at the waypoints.
        dt: the nominal spacing: seconds, or (K − 1,) segment durations; positive.
        velocity_limits: (n,) positive speeds (rad/s or m/s; inf: none).
        acceleration_limits: (n,) positive (rad/s² or m/s²; inf: none), or None.

    Returns:
        (K,) times, t_0 = 0, increasing.

    Example:
        >>> time_scale(np.array([[0.0], [1.0], [2.0]]), 0.1, np.array([2.0])).round(6)
        array([0. , 0.5, 1. ])
    """
    q = np.asarray(q, dtype=np.float64)
    K = len(q)
    durations = _check_dt(dt, K)
    if K < 2:
        return np.zeros(K)
    dq = np.abs(np.diff(q, axis=0))  # (K − 1, n)
    with np.errstate(divide="ignore"):  # a joint that does not move sets no bound
        sigma = np.minimum(1.0 / durations, (np.asarray(velocity_limits, dtype=np.float64) / dq).min(axis=1))
        if acceleration_limits is not None and K > 2:
            a_max = np.asarray(acceleration_limits, dtype=np.float64)
            curve = np.sqrt((0.5 * a_max / np.abs(np.diff(q, n=2, axis=0))).min(axis=1))  # (K − 2,) per waypoint
            sigma[:-1] = np.minimum(sigma[:-1], curve)
            sigma[1:] = np.minimum(sigma[1:], curve)
            change = (a_max / np.maximum(dq[:-1], dq[1:])).min(axis=1)  # (K − 2,): the bound on |u_i − u_{i−1}|
            u = sigma ** 2
            for i in range(1, K - 1):  # forward: speed up no faster than allowed
                u[i] = min(u[i], u[i - 1] + change[i - 1])
            for i in range(K - 2, 0, -1):  # backward: slow down in time
                u[i - 1] = min(u[i - 1], u[i] + change[i - 1])
            sigma = np.sqrt(u)
    durations = 1.0 / sigma
    if acceleration_limits is not None and K > 2:
        v = np.diff(q, axis=0) / durations[:, None]
        a = np.diff(v, axis=0) / (0.5 * (durations[:-1] + durations[1:]))[:, None]
        worst = float((np.abs(a) / a_max).max())
        if worst > 1.0:  # rounding only
            durations = durations * math.sqrt(worst * (1.0 + 1e-12))
    return np.concatenate([[0.0], np.cumsum(durations)])


# ----------------------------------------------------------------------------- the path

class _Spent:
    """Iterations and restarts summed over the solves spent on one waypoint."""

    def __init__(self):
        self.iterations = self.restarts = 0

    def add(self, result):
        self.iterations += int(result.iterations)
        self.restarts += int(result.restarts)
        return result


def _step_ok(result, q_from, limit) -> bool:
    """Converged, and (with a limit) no joint moved more than its limit from q_from."""
    return bool(result.success) and (limit is None or bool(np.all(np.abs(result.q - q_from) <= limit)))


def _walk(solve_at, q, s0: float, s1: float, limit, depth: int, spent):
    """Continue from q (the answer at s0) to s1 by bisection, the direct solve of s1 having failed.

    Returns:
        (result at s1, None) when every piece stepped within the limit, else
        (None, (s_lo, s_hi, q_lo)): the piece [s_lo, s_hi] (1/2^MAX_DEPTH long at most) that no
        continuation crosses, and the answer q_lo at s_lo.
    """
    if depth == 0:
        return None, (s0, s1, q)
    mid = 0.5 * (s0 + s1)
    for a, b in ((s0, mid), (mid, s1)):
        r = spent.add(solve_at(b, q))
        if not _step_ok(r, q, limit):
            r, broken = _walk(solve_at, q, a, b, limit, depth - 1, spent)
            if broken:
                return None, broken
        q = r.q
    return r, None


def _describe_start(k: int) -> str:
    return "q0" if k == 0 else f"waypoint {k - 1}"


def _repair(solve_at, q_prev, limit, k: int, restarts: int, spent):
    """The answer at waypoint k reached by bisecting its segment; (result, jump text or None).

    Where a piece cannot be crossed, an answer just beyond it comes from random restarts (nearest
    the last continuous answer), and is solved back to the piece's start: if it lands within the
    limit of the continuous answer there, both sides are one branch and there was no jump.
    """
    s, q, breaks = 0.0, q_prev, []
    while True:
        if s > 0.0:  # past a break: the rest of the segment may need no bisection
            result = spent.add(solve_at(1.0, q))
            if _step_ok(result, q, limit):
                break
        result, broken = _walk(solve_at, q, s, 1.0, limit, MAX_DEPTH, spent)
        if broken is None:
            break
        s_lo, s_hi, q_lo = broken
        beyond = spent.add(solve_at(s_hi, q_lo, max_restarts=restarts))
        if not beyond.success:  # nothing there at all (out of reach, say): the best effort at waypoint k
            return spent.add(solve_at(1.0, q_lo, max_restarts=restarts)), None
        back = spent.add(solve_at(s_lo, beyond.q))
        if not (_step_ok(back, beyond.q, limit) and _step_ok(back, q_lo, limit)):
            step = float(np.abs(beyond.q - q_lo).max())
            breaks.append(f"s = {s_lo:.3g}..{s_hi:.3g} (a joint moves {step:.3g})")
        s, q = s_hi, beyond.q
        if s_hi == 1.0:
            result = beyond
            break
    if not breaks:
        return result, None
    within = "" if limit is None else f" within max_joint_step per 1/{2 ** MAX_DEPTH} of the segment"
    return result, (f"jump at waypoint {k}: no answer continues from {_describe_start(k)}{within} across "
                    f"{', '.join(breaks)} (a singularity or a joint limit on the way); the answer beyond "
                    "came from random restarts")


# The default largest step per waypoint (rad or m): far above a dense path's steps (0.004-0.007
# rad a waypoint on the 200-waypoint lines of the tests), far below a branch flip (a wrist or
# elbow turning by ~π), so a flip is repaired or reported, never silently taken.
MAX_JOINT_STEP = 0.5


def solve_path(robot, tasks_per_waypoint, q0, *, dt=None, max_joint_step=MAX_JOINT_STEP, velocity_limits=None,
               acceleration_limits=None, repair: bool = True, **solve_options) -> PathResult:
    """Solve K waypoints in order on one solution branch, repairing large steps, optionally timed.

    Each waypoint starts from the previous answer (the first from q0), with no random restarts
    unless `max_restarts` is given: a restart could land on another branch. A waypoint that does
    not converge from there, or whose largest joint step exceeds `max_joint_step`, is repaired by
    bisecting its segment (module docstring); what no repair avoids is reported in `jumps`.

    Args:
        robot: a kinematics.Chain or Robot.
        tasks_per_waypoint: end-effector targets, (K, 4, 4) poses or (K, 3) positions ((K, 2)
            for planar arms), or a list of K task lists (kinematics.Pose, Position, Orientation,
            Axis, Relative, soft tasks, collision tasks: `kinematics.tasks`; a lone Task counts as a
            list of one), each task with one target. Consecutive task lists with the same tasks
            (types and frames) are interpolated for the repair; others are solved as given.
        q0: (n,) the configuration before the first waypoint, inside the limits.
        dt: seconds between waypoints (or (K − 1,) segment durations): the result is timed
            (`time_scale`) to respect the velocity and acceleration limits. None: no times.
        max_joint_step: the largest step |q_k − q_{k−1}| allowed per joint (rad or m): a number,
            or (n,) one per joint; default MAX_JOINT_STEP (0.5), which lets a dense path through
            and catches a branch flip. None: any step (only waypoints that fail from the previous
            answer are repaired, and a flip goes unreported).
        velocity_limits: with dt: a number or (n,) speeds (rad/s, m/s; inf: none). None: each
            joint's `velocity` (the URDF's `<limit velocity>`; no limit where it has none).
        acceleration_limits: with dt: a number or (n,) (rad/s², m/s²; inf: none). None: none.
        repair: False solves each waypoint once, from the previous answer, without the repair
            (to see what the plain warm start does).
        **solve_options: passed to `kinematics.solve` (tolerances, weights, max_iterations, seed,
            ...). max_restarts (default 0 here) applies to every waypoint's solve; the repair's
            restarts beyond a break use it too, or FALLBACK_RESTARTS (100) when it is not given.

    Returns:
        PathResult: q (K, n), success, errors, iterations, restarts (K,), reasons (K strings),
        history (with record_history, one dict per waypoint), task_errors (task lists of the same
        length: one dict of (K,) arrays per task), max_joint_step, jumps, repaired, times.

    Raises:
        ValueError: bad targets, q0, dt, max_joint_step or limits (the message names which);
            velocity_limits or acceleration_limits without dt.
        TypeError: a robot that is not a Chain or Robot; a list that mixes task lists with other things.

    Example:
        >>> import robots
        >>> arm = robots.get("planar2")
        >>> line = interpolate_poses([1.2, 0.6], [0.6, 1.2], 5)
        >>> path = solve_path(arm, line, [0.3, 1.2], max_joint_step=0.5, dt=0.1)
        >>> bool(path.success.all()), path.jumps, path.times.shape
        (True, [], (5,))
    """
    if not isinstance(robot, Chain | Robot):
        raise TypeError(f"solve_path: robot must be a kinematics.Chain or Robot, got {type(robot).__name__}")
    if np.ndim(q0) != 1:
        raise ValueError(f"solve_path: q0 must be (n,), got shape {np.shape(q0)}")
    q_prev = np.array(_check_q0(robot, q0, 1)[0])
    waypoints = _Waypoints(robot, tasks_per_waypoint)
    K, n = len(waypoints), robot.n
    limit = None if max_joint_step is None else _per_joint("max_joint_step", max_joint_step, n, "rad or m", True)
    if dt is None and (velocity_limits is not None or acceleration_limits is not None):
        raise ValueError("solve_path: velocity_limits and acceleration_limits need dt (the waypoint spacing, s)")
    durations = None if dt is None else _check_dt(dt, K)
    v_max = a_max = None
    if dt is not None:
        v_max = joint_velocity_limits(robot) if velocity_limits is None else _per_joint(
            "velocity_limits", velocity_limits, n, "rad/s or m/s", True)
        a_max = np.full(n, math.inf) if acceleration_limits is None else _per_joint(
            "acceleration_limits", acceleration_limits, n, "rad/s² or m/s²", True)
    restarts = solve_options.get("max_restarts", FALLBACK_RESTARTS)
    options = {"max_restarts": 0, **solve_options}
    if K == 0:
        empty = solve(robot, np.zeros((0, 3)), q0=q_prev, **options)
        return PathResult(**dataclasses.asdict(empty), max_joint_step=0.0,
                          times=None if dt is None else np.zeros(0), velocity_limits=v_max,
                          acceleration_limits=a_max)
    results, spent_all, jumps, repaired, notes = [], [], [], [], {}
    previous = waypoints.start(q_prev)
    for k in range(K):
        goal, spent = waypoints.goals[k], _Spent()

        def solve_at(s, q_start, _a=previous, _b=goal, **extra):
            return solve(robot, waypoints.between(_a, _b, s), q0=q_start, **{**options, **extra})

        result = spent.add(solve(robot, goal, q0=q_prev, **options))
        if repair and not _step_ok(result, q_prev, limit) and waypoints.between(previous, goal, 0.5) is not None:
            repaired.append(k)
            result, note = _repair(solve_at, q_prev, limit, k, restarts, spent)
            if note:
                notes[k] = note
        step = np.abs(result.q - q_prev)
        if limit is not None and np.any(step > limit) and k not in notes:
            j = int(np.argmax(step / limit))
            notes[k] = (f"jump at waypoint {k}: joint {robot.joint_names[j]!r} steps {step[j]:.3g} from "
                        f"{_describe_start(k)}, above max_joint_step {limit[j]:.3g}"
                        + (" on a continuous branch (the bisected segment has no break): the joints move "
                           "this fast here, near a singularity or between waypoints too far apart"
                           if k in repaired else " (not repaired)"))
        if k in notes:
            jumps.append(k)
        results.append(result)
        spent_all.append(spent)
        previous, q_prev = goal, result.q
    return _assemble(results, spent_all, np.asarray(q0, dtype=np.float64), jumps, repaired, notes, durations,
                     v_max, a_max, solve_options.get("record_history", False))


def _assemble(results, spent, q0, jumps, repaired, notes, durations, v_max, a_max, record_history) -> PathResult:
    """The PathResult from one IKResult per waypoint."""
    qs = np.stack([r.q for r in results])
    steps = np.abs(np.diff(np.concatenate([q0[None], qs]), axis=0))
    reasons = [r.reason if k not in notes else (f"{notes[k]}; {r.reason}" if r.reason != "converged"
                                                  else notes[k]) for k, r in enumerate(results)]
    task_errors = None
    if results[0].task_errors is not None and len({len(r.task_errors) for r in results}) == 1:
        task_errors = [{key: np.array([r.task_errors[t][key] for r in results]) for key in entry}
                       for t, entry in enumerate(results[0].task_errors)]
    times = None if durations is None else time_scale(qs, durations, v_max, a_max)
    return PathResult(
        qs, np.array([bool(r.success) for r in results]), np.array([r.position_error for r in results]),
        np.array([r.rotation_error for r in results]), np.array([s.iterations for s in spent]),
        np.array([s.restarts for s in spent]), reasons,
        [r.history for r in results] if record_history else None, task_errors,
        max_joint_step=float(steps.max()), jumps=jumps, repaired=repaired, times=times,
        velocity_limits=v_max, acceleration_limits=a_max)
