"""Trajectory optimisation: every waypoint's hard tasks met, the path's velocity, acceleration and jerk lowered.

`optimize_trajectory(robot, tasks_per_waypoint, q_init, dt=...)` solves all K waypoints as one
problem. The unknowns are the stacked joint values Q = (q_0, ..., q_{K−1}), (K, n); the hard tasks
of waypoint k are constraints e_k(q_k) = 0 (to their tolerances, 1e-6 by default), and the
objective is the weighted summed squares of Q's finite differences over the time step dt,

    F(Q) = Σ_p w_p Σ_i ‖Δ^p Q_i / dt^p‖²,   p = 1 velocity, 2 acceleration, 3 jerk,

which is a quadratic form F = Qᵀ (H_s ⊗ I_n) Q with H_s = Σ_p w_p D_pᵀ D_p / dt^{2p} (K, K): a
banded matrix (the jerk stencil couples q_k .. q_{k+3}, so H_s has three diagonals on each side)
that acts on every joint alike. Joint limits are hard: iterates are clipped, and a joint on a
limit that a step pushes outward is held (an active set, as the IK solver does).

The method: damped Newton (Levenberg-Marquardt) on F in the null space of the hard tasks (the
scheme of `kinematics.soft`, for one configuration, made global). Why this one and not a
penalty: the hard tasks are met at every iterate (never traded against smoothness), a 6-DoF arm
on full poses falls out exactly (its null spaces are empty: nothing to optimise, and the result
says so), and the reduced system is small: r = n − m free directions per waypoint (one for a
Panda on full poses). Each iteration:

1. evaluate: e (K, m) and A = −∂e/∂q (K, m, n) of every waypoint at once, one pass for the whole
   trajectory (a chain's end pose by the engine's backward pass with the six cotangents stacked on
   a lead axis, `kinematics.fk.pose_and_jacobian`; task lists through `Problem.evaluate`, whose
   non-geometric tasks backpropagate all rows in one stacked pass). A is block diagonal:
   waypoint k's residual reads q_k only, so it is stored as K blocks, never as a (K·m, K·n) matrix;
2. null spaces: N_k (n, r), an orthonormal basis of {δ: A_k δ = 0, held joints' δ = 0}, from an
   SVD of A_k with unit rows for the held joints appended (r the largest null dimension; smaller
   ones padded with zero columns);
3. the step δ = N z with (Nᵀ H N + C + μ I) z = −Nᵀ H Q, C the tasks' curvature weighted by their
   Lagrange multipliers (block diagonal, r × r per waypoint, from central differences of A along
   N: `_curvature`): a block-banded system (K blocks of r × r, three off-diagonal blocks each
   side), solved banded by Cholesky (`scipy.linalg.solveh_banded`); the dense (K·n)² matrix is
   never formed;
4. Gauss-Newton corrections δ_k = A_k⁺ e_k (per waypoint, the held joints fixed) pull every waypoint
   back onto its tasks (the step is only tangent to them) to a millionth of their tolerances (the
   corrections' own scatter would otherwise be jerk: 1e-8 rad of it is ~1 rad²/s⁶ at dt = 0.01);
5. the trial is kept when every waypoint that met its tasks still does and F fell: μ shrinks
   three-fold; otherwise (or when the system is not positive definite) μ grows ten-fold.

μ is relative to H_s's largest diagonal entry and may fall to 1e-20 of it: jerk's H_s spans
~K⁶ from its stiffest to its softest modes (the slow drifts along the self-motion), and a floor
of 1e-12 damped those modes into linear convergence (jerk 1.99 after 100 steps, 1.82 at 20
steps without it, on the Panda line of the tests).

It stops when an accepted step lowers F by less than a relative `ftol`, when μ grows past any use
("stalled": no step that keeps the tasks lowers F), or after max_iterations. Waypoints whose tasks
q_init does not meet (after a first correction) are held fixed and reported, never hidden.

Glossary: K waypoints, n joints, m stacked hard residual rows per waypoint, r free directions
per waypoint, Q (K, n), H_s the (K, K) smoothness matrix, kept as its 4 diagonals (4, K).
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import scipy.linalg

from .chain import Chain
from .fk import JACOBIAN_CHUNK, _check_values, _pose_and_jacobian_chunked
from .ik import _end_task, _errors, _one_blas_thread, _parse_target
from .robot import Robot
from .soft import _min_norm
from .tasks import Axis, Orientation, Pose, Position, Problem, Relative, Task, is_task_list

__all__ = ["TrajectoryResult", "optimize_trajectory", "smoothness", "COSTS"]

# The smoothness terms, by the order of their finite difference.
COSTS = {"velocity": 1, "acceleration": 2, "jerk": 3}
# Δ^p's stencils: (Δ^p q)_i = Σ_a c_a q_{i+a}.
_STENCILS = {1: np.array([-1.0, 1.0]), 2: np.array([1.0, -2.0, 1.0]), 3: np.array([-1.0, 3.0, -3.0, 1.0])}
DEFAULT_COSTS = {"jerk": 1.0}

SNUG = 1e-6  # corrections stop once every waypoint is within this fraction of its tolerances
CORRECTIONS = 6  # Gauss-Newton corrections per trial at most
RANK_RTOL = 1e-9  # singular values below this (relative to the largest, at least 1) count as zero
MU_START, MU_MIN, MU_MAX = 1e-8, 1e-20, 1e4  # μ relative to H_s's largest diagonal entry

# Tasks whose targets stack into one batched task over waypoints: the attributes that carry them.
_BATCHED = {Pose: ("target",), Position: ("target",), Orientation: ("target",), Relative: ("target",),
            Axis: ("direction", "position")}


@dataclasses.dataclass
class TrajectoryResult:
    """What `optimize_trajectory` found.

    Attributes:
        q: (K, n) joint values at the waypoints, inside the limits.
        success: (K,) every hard task of the waypoint within its tolerances (FK at q).
        position_error: (K,) the largest position error over the waypoint's hard tasks (m).
        rotation_error: (K,) the largest rotation error over them (rad; 0 for position targets).
        times: (K,) k · dt (s).
        before, after: {"velocity", "acceleration", "jerk"}: Σ_i ‖Δ^p q_i / dt^p‖² of q_init and
            of q (rad²/s², rad²/s⁴, rad²/s⁶), whatever the weights.
        objective_before, objective_after: the weighted objective F of q_init and of q.
        freedom: (K,) free directions the hard tasks leave each waypoint at q: n − rank of its
            Jacobian (0 everywhere: the path is fixed by its tasks; 0 at a waypoint held fixed
            because q_init misses its tasks).
        max_joint_step: max over k and joints of |q_{k+1} − q_k|.
        iterations: accepted and rejected steps taken.
        reason: "converged", "stalled", "iteration budget" or "isolated", with words on what
            that means here and on waypoints that miss their tasks.
    """

    q: np.ndarray
    success: np.ndarray
    position_error: np.ndarray
    rotation_error: np.ndarray
    times: np.ndarray
    before: dict
    after: dict
    objective_before: float
    objective_after: float
    freedom: np.ndarray
    max_joint_step: float
    iterations: int
    reason: str


# -- the smoothness terms ------------------------------------------------------------------------

def smoothness(q, dt: float) -> dict:
    """{"velocity", "acceleration", "jerk"}: Σ_i ‖Δ^p q_i / dt^p‖² of the path q (K, n) (0 when K ≤ p)."""
    q = np.asarray(q, dtype=np.float64)
    return {name: float(np.sum((np.diff(q, p, axis=0) / dt ** p) ** 2)) for name, p in COSTS.items()}


def smoothness_residuals(q: np.ndarray, dt: float, costs: dict) -> np.ndarray:
    """The stacked residual r (M,) with ‖r‖² = F(q): √w_p Δ^p q / dt^p for each weighted term, flattened.

    Args:
        q: (K, n) joint values.
        dt: the time step (s).
        costs: {term: weight} (checked weights, see `optimize_trajectory`).
    """
    parts = [math.sqrt(w) * np.diff(q, COSTS[name], axis=0).ravel() / dt ** COSTS[name]
             for name, w in costs.items() if w > 0]
    return np.concatenate(parts) if parts else np.zeros(0)


def hessian_bands(K: int, dt: float, costs: dict) -> np.ndarray:
    """H_s = Σ_p w_p D_pᵀ D_p / dt^{2p} as its diagonals: bands (4, K) with bands[d, k] = H_s[k, k + d].

    F(Q) = Qᵀ (H_s ⊗ I_n) Q (in exact arithmetic: compute F and its gradient from the differences,
    `_objective`, `_gradient`). Row i of D_p carries the stencil c (p + 1 entries) at columns i .. i+p,
    for i = 0 .. K−1−p, so its outer product adds c_a c_{a+d} to H_s[i+a, i+a+d]. Entries past the
    end (k + d ≥ K) stay 0.
    """
    bands = np.zeros((4, K))
    for name, w in costs.items():
        p = COSTS[name]
        if w == 0 or K <= p:
            continue
        c, rows = _STENCILS[p], K - p
        for d in range(p + 1):
            for a in range(p + 1 - d):
                bands[d, a:a + rows] += (w / dt ** (2 * p)) * c[a] * c[a + d]
    return bands


def _gradient(Q: np.ndarray, dt: float, costs: dict, start=None) -> np.ndarray:
    """½ ∇F = (H_s ⊗ I) Q, (K, n), as Σ_p w_p D_pᵀ (Δ^p Q) / dt^{2p}: from the differences, not from H_s.

    H_s's entries are ~20/dt⁶ for jerk, and (H_s Q)_k sums them times q ~ 1 into a value ~1e6 times
    smaller: H_s Q by its diagonals loses ~6 digits (at dt = 0.01 the objective came out 0.68 where
    Σ‖Δ³q/dt³‖² was 3.3). The differences Δ^p Q are formed first, then D_pᵀ as p adjoint
    differences (D₁ᵀ y)_k = y_{k−1} − y_k (y_{−1} = y_{K−1} = 0), which cancel nothing large.

    With `start` (n,), the path is [start; Q] with start fixed: the gradient's rows for Q.
    """
    if start is not None:
        return _gradient(np.concatenate([start[None], Q]), dt, costs)[1:]
    out = np.zeros_like(Q)
    for name, w in costs.items():
        p = COSTS[name]
        if w == 0 or len(Q) <= p:
            continue
        y = np.diff(Q, p, axis=0)
        for _ in range(p):
            y = -np.diff(np.pad(y, ((1, 1), (0, 0))), axis=0)
        out += (w / dt ** (2 * p)) * y
    return out


def _objective(Q: np.ndarray, dt: float, costs: dict, start=None) -> float:
    """F(Q) = Σ_p w_p ‖Δ^p Q / dt^p‖², from the differences (see `_gradient` for why not Qᵀ H Q); of
    [start; Q] with `start` (n,)."""
    if start is not None:
        Q = np.concatenate([start[None], Q])
    return float(sum(w * np.sum((np.diff(Q, COSTS[name], axis=0) / dt ** COSTS[name]) ** 2)
                     for name, w in costs.items() if w > 0))


# -- the banded reduced system -------------------------------------------------------------------

def reduced_solve(N: np.ndarray, bands: np.ndarray, rhs: np.ndarray, mu: float, extra=None) -> np.ndarray:
    """z (K, r) solving (Nᵀ (H_s ⊗ I_n) N + blockdiag(extra) + μ I) z = rhs, as a banded system; N = blockdiag(N_k).

    The matrix's block (k, l) is H_s[k, l] · N_kᵀ N_l (r × r), nonzero for |k − l| ≤ 3, so in
    scalars its half bandwidth is u = 4r − 1; its upper band is stored as solveh_banded's
    ab[u + i − j, j] = M[i, j] (i ≤ j ≤ i + u) and factored by banded Cholesky: O(K r · u²) work,
    O(K r · u) memory. A zero column of N (a waypoint with fewer free directions than r) gets a
    unit diagonal, so its z is 0 (its rhs entry is 0) and the rest is unchanged.

    Args:
        N: (K, n, r) per-waypoint null-space bases (columns orthonormal or zero).
        bands: (4, K) H_s's diagonals (`hessian_bands`).
        rhs: (K, r).
        mu: damping, > 0 (μ I keeps the system positive definite where H_s is only semidefinite).
        extra: None or (K, r, r) symmetric blocks added on the diagonal (the tasks' curvature).

    Returns:
        (K, r).
    """
    K, n, r = N.shape
    if r == 0:
        return np.zeros((K, 0))
    u = 4 * r - 1
    ab = np.zeros((u + 1, K * r))
    ia, ib = np.meshgrid(np.arange(r), np.arange(r), indexing="ij")
    for d in range(min(4, K)):
        blocks = bands[d, :K - d, None, None] * (np.swapaxes(N[:K - d], -1, -2) @ N[d:])  # (K − d, r, r)
        if d == 0 and extra is not None:
            blocks = blocks + extra
        k = np.arange(K - d)[:, None, None]
        i, j = k * r + ia, (k + d) * r + ib  # (K − d, r, r) scalar rows and columns
        keep = np.broadcast_to(i <= j, blocks.shape)  # the upper triangle only (d > 0: all of it)
        ab[(u + i - j)[keep], j[keep]] = blocks[keep]
    empty = ~np.any(N != 0, axis=1).ravel()  # (K r,) zero columns
    ab[u] += mu + empty
    return scipy.linalg.solveh_banded(ab, rhs.ravel(), lower=False, check_finite=False).reshape(K, r)


def null_basis(A: np.ndarray, held: np.ndarray):
    """Orthonormal null-space bases of each waypoint's hard Jacobian with its held joints fixed.

    Args:
        A: (K, m, n) Jacobians (zero rows allowed: unweighted or inactive residual rows).
        held: (K, n) joints that must not move.

    Returns:
        N (K, n, r) with r = the largest null dimension (columns beyond a waypoint's own are
        zero), and freedom (K,) each waypoint's null dimension.
    """
    K, m, n = A.shape
    C = np.concatenate([A, held[:, :, None] * np.eye(n)], axis=1)  # (K, m + n, n): A with δ_j = 0 rows
    _, s, Vt = np.linalg.svd(C)  # s (K, n) descending; Vt's rows past the rank span the null space
    rank = (s > RANK_RTOL * np.maximum(s[:, :1], 1.0)).sum(axis=-1)
    freedom = n - rank
    r = int(freedom.max(initial=0))
    index = np.arange(n - r, n)
    N = np.swapaxes(Vt[:, n - r:, :], -1, -2) * (index[None, :] >= rank[:, None])[:, None, :]
    return N, freedom


# -- the hard tasks at every waypoint ------------------------------------------------------------

class _Waypoints:
    """Every waypoint's hard tasks: e (K, m) and A = −∂e/∂q (K, m, n) in one pass, and their errors.

    A chain with bare targets uses its end pose and the engine's Jacobian (`pose_and_jacobian`);
    task lists become one batched `Problem` per distinct task structure (usually one: the same
    tasks with different targets), its targets stacked over the waypoints it covers.
    """

    def __init__(self, robot, tasks_per_waypoint, K, tol_position, tol_rotation):
        self.robot, self.K = robot, K
        self.groups = []  # (rows (K_g,), Problem, weights (m_g,))
        if _is_task_lists(tasks_per_waypoint):
            if len(tasks_per_waypoint) != K:
                raise ValueError(f"tasks_per_waypoint has {len(tasks_per_waypoint)} task lists for {K} rows of q_init")
            for rows, tasks in _stack(tasks_per_waypoint):
                problem = Problem(robot, tasks, tol_position, tol_rotation)
                self.groups.append((rows, problem, problem.W))
            self.m = max(len(p.W) for _, p, _ in self.groups)
            self.chain = None
            return
        if isinstance(robot, Chain):
            targets, kind, single = _parse_target(robot, tasks_per_waypoint)
            if single:
                raise ValueError("tasks_per_waypoint: one target per waypoint, (K, 4, 4) or (K, 3); "
                                 "got a single target")
            if len(targets) != K:
                raise ValueError(f"tasks_per_waypoint has {len(targets)} targets for {K} rows of q_init")
            self.chain, self.targets, self.kind = robot, targets, kind
            self.tol = (tol_position, tol_rotation if kind == "pose" else math.inf)
            self.m = 6 if kind == "pose" else 3
            return
        task = _end_task(robot, tasks_per_waypoint, None)
        if task.batch is None:
            raise ValueError("tasks_per_waypoint: one target per waypoint, (K, 4, 4) or (K, 3); got a single target")
        if task.batch != K:
            raise ValueError(f"tasks_per_waypoint has {task.batch} targets for {K} rows of q_init")
        problem = Problem(robot, [task], tol_position, tol_rotation)
        self.groups.append((np.arange(K), problem, problem.W))
        self.chain, self.m = None, len(problem.W)

    def evaluate(self, Q: np.ndarray):
        """(e (K, m), A (K, m, n), errors) at Q (K, n); rows scaled by the tasks' weights, padded with zeros.

        errors: (position (K,), rotation (K,), scaled (K,)), scaled = the worst task error in units
        of its tolerance (≤ 1: the waypoint meets its tasks).
        """
        if self.chain is not None:
            T, J = _pose_and_jacobian_chunked(self.chain, Q)
            e, pe, re = _errors(T, self.targets, self.kind)
            tol_p, tol_r = self.tol
            return e, J[:, :self.m], (pe, re, np.maximum(pe / tol_p, re / tol_r))
        K, n = Q.shape
        e, A = np.zeros((K, self.m)), np.zeros((K, self.m, n))
        pe, re, scaled = np.zeros(K), np.zeros(K), np.zeros(K)
        for rows, problem, W in self.groups:
            parts = [problem.evaluate(Q[rows[i:i + JACOBIAN_CHUNK]], np.arange(i, min(i + JACOBIAN_CHUNK, len(rows))))
                     for i in range(0, len(rows), JACOBIAN_CHUNK)]
            e_g, A_g = (np.concatenate(part) for part in zip(*parts))
            P, R = problem.task_errors(e_g)
            pe[rows], re[rows] = (P * problem.positions).max(axis=-1), R.max(axis=-1)
            scaled[rows] = np.maximum(P / problem.tol_p, R / problem.tol_r).max(axis=-1)
            m = len(W)
            e[rows, :m], A[rows, :m] = e_g * W, A_g * W[:, None]
        return e, A, (pe, re, scaled)


def _is_task_lists(value) -> bool:
    """Whether tasks_per_waypoint is K task lists (or Tasks); TypeError for a list mixing them with other things."""
    if not isinstance(value, list | tuple) or not value:
        return False
    lists = [isinstance(v, Task) or (isinstance(v, list | tuple) and v and is_task_list(v)) for v in value]
    if all(lists):
        return True
    if any(lists):
        k = lists.index(False)
        raise TypeError(f"tasks_per_waypoint: waypoint {k} holds {type(value[k]).__name__}, not a task list; give "
                        "every waypoint a list of tasks, or an array of targets for all of them")
    return False


def _signature(task: Task, k: int):
    """What must agree for tasks of several waypoints to stack into one batched task (their targets may differ)."""
    if not task.hard:
        raise ValueError(f"tasks_per_waypoint: waypoint {k}: {task.label} is a soft task; the trajectory's "
                         "objective is its smoothness (costs=), and its tasks are hard constraints")
    if task.batch is not None:
        raise ValueError(f"tasks_per_waypoint: waypoint {k}: {task.label} holds {task.batch} targets; give each "
                         "waypoint's task one target")
    attrs = _BATCHED.get(type(task))
    if attrs is None:  # collision and other tasks: the same object at every waypoint stacks
        return ("object", id(task))
    fixed = tuple((name, value.tobytes() if isinstance(value, np.ndarray) else value)
                  for name, value in sorted(vars(task).items()) if name not in attrs + ("batch",))
    return (type(task), fixed, tuple(getattr(task, a) is None for a in attrs))


def _stack(task_lists):
    """[(rows, tasks)]: the waypoints grouped by task structure, each group's tasks batched over its rows."""
    lists = [[t] if isinstance(t, Task) else list(t) for t in task_lists]
    groups: dict = {}
    for k, tasks in enumerate(lists):
        groups.setdefault(tuple(_signature(t, k) for t in tasks), []).append(k)
    out = []
    for rows in groups.values():
        merged = []
        for j, first in enumerate(lists[rows[0]]):
            attrs = _BATCHED.get(type(first))
            if attrs is None:
                merged.append(first)
                continue
            task = copy.copy(first)
            for name in attrs:
                if getattr(first, name) is not None:
                    setattr(task, name, np.concatenate([getattr(lists[k][j], name) for k in rows]))
            task.batch = len(rows)
            merged.append(task)
        out.append((np.array(rows), merged))
    return out


# -- the optimiser -------------------------------------------------------------------------------

def _check_costs(costs) -> dict:
    if costs is None:
        return dict(DEFAULT_COSTS)
    if not isinstance(costs, dict):
        raise TypeError(f"costs must be a dict {{term: weight}} with terms {tuple(COSTS)}, got {type(costs).__name__}")
    out = {}
    for name, w in costs.items():
        if name not in COSTS:
            raise ValueError(f"costs: unknown term {name!r}; the terms are {tuple(COSTS)}")
        if isinstance(w, bool) or not isinstance(w, int | float | np.integer | np.floating) or not math.isfinite(w) \
                or w < 0:
            raise ValueError(f"costs: the weight of {name!r} must be a finite non-negative number, got {w!r}")
        out[name] = float(w)
    if not any(w > 0 for w in out.values()):
        raise ValueError(f"costs: at least one weight must be positive, got {costs!r}")
    return out


def _check_positive(name, value, integer=False):
    kinds = int | np.integer if integer else int | float | np.integer | np.floating
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or value <= 0:
        what = "a positive integer" if integer else "a finite positive number"
        raise ValueError(f"{name} must be {what}, got {value!r}")


def _check_q_init(robot, q_init) -> np.ndarray:
    _check_values(robot, q_init, "q_init")
    Q = np.array(q_init, dtype=np.float64)
    if Q.ndim != 2 or len(Q) == 0:
        raise ValueError(f"q_init must be (K, n) = (waypoints, {robot.n}) for {robot.name!r}, got shape {Q.shape}")
    outside = (Q < robot.lower - 1e-12) | (Q > robot.upper + 1e-12)
    if outside.any():
        k, j = (int(i) for i in np.argwhere(outside)[0])
        raise ValueError(f"q_init: waypoint {k}: joint {robot.joint_names[j]!r} = {Q[k, j]:.6g} is outside its "
                         f"limits [{robot.lower[j]:.4g}, {robot.upper[j]:.4g}]")
    return np.clip(Q, robot.lower, robot.upper)


def _check_q_start(robot, q_start) -> np.ndarray:
    _check_values(robot, q_start, "q_start")
    q = np.array(q_start, dtype=np.float64)
    if q.shape != (robot.n,):
        raise ValueError(f"q_start must be (n,) = ({robot.n},) for {robot.name!r}, got shape {q.shape}")
    return q


def _held_by_limits(Q, step, lower, upper):
    """(K, n) joints on a limit that `step` pushes outward."""
    return ((Q <= lower) & (step < 0)) | ((Q >= upper) & (step > 0))


def _correct(waypoints, Q, frozen, lower, upper):
    """Gauss-Newton corrections δ_k = A_k⁺ e_k until every waypoint is within SNUG of its tolerances.

    A joint on a limit that the correction pushes outward is held and the correction recomputed
    (as LM does); frozen waypoints (K,) never move. Returns Q, e, A and errors at the final Q.
    """
    for k in range(CORRECTIONS + 1):
        e, A, errors = waypoints.evaluate(Q)
        fix = (errors[2] > SNUG) & ~frozen
        if not fix.any() or k == CORRECTIONS:
            return Q, e, A, errors
        Af, ef, Qf = A[fix], e[fix], Q[fix]
        dq = _min_norm(Af, ef)
        held = _held_by_limits(Qf, dq, lower, upper)
        if held.any():
            free = ~held
            dq = _min_norm(Af * free[:, None, :], ef) * free
        Q = Q.copy()
        Q[fix] = np.clip(Qf + dq, lower, upper)


def _step(waypoints, Q, A, frozen, dt, costs, bands, mu, lower, upper, start=None):
    """The damped Newton step on the tasks' manifolds: (step (K, n), freedom (K,)); step None when nothing can move.

    δ = N z, (Nᵀ H N + C + μ I) z = −Nᵀ g with g = ½ ∇F = (H_s ⊗ I) Q: Newton on the Lagrangian
    L = F − Σ_k λ_kᵀ e_k restricted to the null spaces, C its constraint curvature (`_curvature`).
    A joint on a limit that the step pushes outward is held (its δ fixed at 0) and the step solved
    again; held joints only ever grow, so at most n + 1 passes.

    Raises:
        numpy.linalg.LinAlgError: the reduced system is not positive definite at this μ.
    """
    K, n = Q.shape
    g = _gradient(Q, dt, costs, start)
    held = np.repeat(frozen[:, None], n, axis=1)
    for _ in range(n + 1):
        N, freedom = null_basis(A, held)
        if N.shape[-1] == 0:
            return None, freedom
        Nt = np.swapaxes(N, -1, -2)
        z = reduced_solve(N, bands, -(Nt @ g[..., None])[..., 0], mu, extra=_curvature(waypoints, Q, A, N, held, g))
        step = (N @ z[..., None])[..., 0]
        out = _held_by_limits(Q, step, lower, upper) & ~held
        if not out.any():
            break
        held |= out
    return step, freedom


CURVATURE_STEP = 1e-5  # rad (m): central differences of the tasks' Jacobian along the null directions


def _curvature(waypoints, Q, A, N, held, g):
    """C (K, r, r): the hard tasks' curvature weighted by their multipliers, in the null-space coordinates.

    At a stationary point of L = F − Σ λ_kᵀ e_k, ∇F = 2g = Σ ∇e_kᵀ λ_k = −A_kᵀ λ_k, so the least-squares
    multipliers are λ' = λ/2 = −(A_kᵀ)⁺ g_k (the held joints' unit rows take the limits' share). The
    Lagrangian's Hessian is 2H − Σ_i λ_i ∇²e_i, and ∇²e_i = −∇A_i (A = −∂e/∂q), so half of it in the
    null coordinates is NᵀHN + C with C_ab = Σ_i λ'_i (∂A_i/∂q · N_b) · N_a. The engine is first-order,
    so ∂A/∂q · N_b comes from central differences of A along N_b (2r evaluations, every waypoint in
    each). Without C, Gauss-Newton converged linearly: 100 steps took a Panda line's jerk from 3.41
    to 1.99 rad²/s⁶ and 1000 only to 1.87.
    """
    K, m, n = A.shape
    r = N.shape[-1]
    C_full = np.concatenate([A, held[:, :, None] * np.eye(n)], axis=1)  # (K, m + n, n)
    lam = -(np.swapaxes(np.linalg.pinv(C_full, rcond=RANK_RTOL), -1, -2) @ g[..., None])[..., 0][:, :m]
    C = np.zeros((K, r, r))
    h = CURVATURE_STEP
    for b in range(r):
        direction = N[:, :, b]
        if not direction.any():
            continue
        dA = (waypoints.evaluate(Q + h * direction)[1] - waypoints.evaluate(Q - h * direction)[1]) / (2 * h)
        C[:, :, b] = np.einsum("ki,kia->ka", lam, dA @ N)
    return 0.5 * (C + np.swapaxes(C, -1, -2))


def optimize_trajectory(robot, tasks_per_waypoint, q_init, *, dt: float, costs: dict | None = None,
                        q_start=None, max_iterations: int = 100, tol_position: float = 1e-6,
                        tol_rotation: float = 1e-6, ftol: float = 1e-6) -> TrajectoryResult:
    """Lower a path's summed squared velocity, acceleration and jerk while every waypoint keeps its hard tasks.

    All waypoints are one problem (see the module docstring): LM on the smoothness objective in
    the null space of the hard tasks, the block-banded system solved banded, Gauss-Newton
    corrections back onto the tasks, joint limits hard. Jerk (or any term) can only drop where the
    tasks leave the arm free: a redundant arm (the Panda on full poses), or partial targets
    (Position, Axis) on any arm. A 6-DoF arm on full poses has isolated answers: the result then
    reports reason "isolated" and q = q_init (after the first correction), and claims no drop.

    Args:
        robot: a kinematics.Chain or Robot.
        tasks_per_waypoint: (K, 4, 4) poses or (K, 3) positions of the end frame ((K, 2) on a
            planar arm), or a list of K task lists (hard tasks: Pose, Position, Orientation, Axis,
            Relative, Avoid, AvoidSelf, ...). Waypoints with the same kinds of tasks are evaluated
            together, one batched problem for all of them; a collision task stacks when the same
            object is given at every waypoint (as a list [task] * K does).
        q_init: (K, n) the starting path, inside the limits, e.g. `kin.solve_path`'s answer.
        dt: the time step between waypoints (s), > 0.
        costs: {"velocity": w, "acceleration": w, "jerk": w}, weights >= 0 (absent: 0), at least
            one positive; default {"jerk": 1.0}. The terms are in physical units (Δ^p q / dt^p),
            so the weights trade rad²/s² against rad²/s⁶.
        q_start: None, or (n,) the configuration the path departs from (where the arm is now: the
            q0 given to `solve_path`), held fixed one dt before the first waypoint, so that the
            terms, `before`/`after` and `max_joint_step` count the move from it. Without it the first
            waypoint is as free as the others, and the path may start anywhere on its tasks.
        max_iterations: steps at most (accepted or rejected), >= 1.
        tol_position, tol_rotation: success bounds (m, rad) for tasks that set none.
        ftol: stop once an accepted step lowers the objective by less than this fraction.

    Returns:
        TrajectoryResult: q (K, n), success (K,), errors (K,), the smoothness terms before and
        after, the free directions per waypoint, and the reason it stopped.

    Raises:
        ValueError: dt, q_init's shape or values, the targets, a task or an option, named
            (TypeError for a wrong type).
    """
    if not isinstance(robot, Chain | Robot):
        raise TypeError(f"robot must be a kinematics.Chain or Robot, got {type(robot).__name__}")
    _check_positive("dt", dt)
    _check_positive("max_iterations", max_iterations, integer=True)
    for name, value in (("tol_position", tol_position), ("tol_rotation", tol_rotation), ("ftol", ftol)):
        _check_positive(name, value)
    costs = _check_costs(costs)
    Q0 = _check_q_init(robot, q_init)
    K, n = Q0.shape
    start = None if q_start is None else _check_q_start(robot, q_start)
    waypoints = _Waypoints(robot, tasks_per_waypoint, K, tol_position, tol_rotation)
    lower, upper = robot.lower, robot.upper
    # With a start the path is [start; Q], start fixed: H_s of K + 1 points without its first row and column.
    bands = hessian_bands(K, dt, costs) if start is None else hessian_bands(K + 1, dt, costs)[:, 1:]
    scale = float(bands[0].max(initial=0.0)) or 1.0
    with _one_blas_thread():
        Q, _, A, errors = _correct(waypoints, Q0.copy(), np.zeros(K, dtype=bool), lower, upper)
        init_met = waypoints.evaluate(Q0)[2][2] <= 1.0
        # A waypoint that the correction leaves unmet keeps q_init's values, and stays there (frozen):
        # one whose tasks q_init misses is reported as it came, and one that q_init met (which a
        # correction should never break) keeps its answer.
        frozen = errors[2] > 1.0
        if frozen.any():
            Q[frozen] = Q0[frozen]
            _, A, errors = waypoints.evaluate(Q)
        met = ~frozen
        F = _objective(Q, dt, costs, start)
        mu, iterations, reason = MU_START, 0, "iteration budget"
        while iterations < max_iterations:
            try:
                step, _ = _step(waypoints, Q, A, frozen, dt, costs, bands, mu * scale, lower, upper, start)
            except np.linalg.LinAlgError:  # the model is not positive definite at this damping
                step = False
            if step is None:
                if iterations == 0:  # nothing can move: the met waypoints keep q_init exactly
                    reason = "isolated"
                    Q = np.where((met & init_met)[:, None], Q0, Q)
                    _, A, errors = waypoints.evaluate(Q)
                    F = _objective(Q, dt, costs, start)
                else:  # the limits hold every free direction
                    reason = "converged"
                break
            iterations += 1
            accept = False
            if step is not False:
                trial, _, A_t, errors_t = _correct(waypoints, np.clip(Q + step, lower, upper), frozen, lower, upper)
                F_t = _objective(trial, dt, costs, start)
                accept = bool(np.all(errors_t[2][met] <= 1.0)) and F_t < F
            if accept:
                small = F - F_t <= ftol * F or np.abs(trial - Q).max() < 1e-13
                Q, A, errors, F = trial, A_t, errors_t, F_t
                mu = max(mu / 3.0, MU_MIN)
                if small:
                    reason = "converged"
                    break
            else:
                mu *= 10.0
                if mu > MU_MAX:
                    reason = "stalled"
                    break
        freedom = null_basis(A, np.broadcast_to(frozen[:, None], (K, n)))[1]
    pe, re, scaled = errors
    success = scaled <= 1.0
    path = (lambda q: q) if start is None else (lambda q: np.concatenate([start[None], q]))
    before, after = smoothness(path(Q0), dt), smoothness(path(Q), dt)
    return TrajectoryResult(
        Q, success, pe, re, dt * np.arange(K), before, after, _objective(Q0, dt, costs, start), F, freedom,
        float(np.abs(np.diff(path(Q), axis=0)).max(initial=0.0)), iterations,
        _describe(reason, success, frozen, freedom, before, after))


def _describe(reason, success, frozen, freedom, before, after) -> str:
    """The reason in words: why it stopped, and which waypoints miss their tasks."""
    words = {
        "converged": "converged: the objective no longer falls",
        "stalled": "stalled: no step that keeps every waypoint on its tasks lowers the objective",
        "iteration budget": "iteration budget: stopped after max_iterations steps",
        "isolated": "isolated: the hard tasks leave no free joint motion at any waypoint (as many constraints as "
                    "joints), so the path is fixed by its tasks and its smoothness cannot change",
    }[reason]
    if reason != "isolated":
        words += f" (jerk {before['jerk']:.4g} -> {after['jerk']:.4g} rad²/s⁶)"
    if (~success).any():
        bad = np.flatnonzero(~success)
        shown = ", ".join(map(str, bad[:10])) + (" ..." if bad.size > 10 else "")
        held = " (held fixed: q_init misses them)" if frozen[bad].all() else ""
        words += f"; {bad.size} waypoint(s) miss their tasks: {shown}{held}"
    return words
