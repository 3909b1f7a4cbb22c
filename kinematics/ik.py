"""Inverse kinematics: joint values that put the end effector on a target.

Two families of solvers share one batched loop (`_solve_batch`):

- gradient methods ("gd", "momentum", "adam"): descend the loss ½‖W e‖², its gradient from one
  backward pass of the engine through FK and the pose error — the course's method;
- Levenberg-Marquardt ("lm"): Δq = (JᵀWJ + λ_k I)⁻¹ JᵀW e, with J from one backward pass of
  the engine (`pose_and_jacobian`) and e = pose_error(T(q), target), so ∂e/∂q ≈ −J.

Targets and starts form one batch of rows (targets × starts); rows that converge leave it, and
rows that stall are restarted from a random configuration within the limits. A lone target's
extra starts are the sampled configurations whose frame poses lie nearest it (`kinematics.starts`);
a batch's targets, with one start each, take those for their first restarts instead. The first
iteration of a chain's LM loop reads FK and the Jacobian at its starts (the default start and
sampled ones) from values computed once per chain, by the same pass, instead of running it.
There is no Python loop over targets: every step is one array operation over the active rows. A
batch of more than TARGET_CHUNK targets is solved chunk by chunk, so time and memory grow
linearly with it.

Glossary: q joint values; e pose error [p_t − p; rotation vector of R_t Rᵀ] (or p_t − p for
position targets); W diagonal weights; J Jacobian; λ damping; rows: the active (target, start)
pairs.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
import weakref

import numpy as np

import autodiff as ad

from .chain import PRISMATIC, Chain, _short
from .fk import (
    JACOBIAN_CHUNK, _check_values, _forward_kinematics, _pose_and_jacobian_chunked, _pose_then_jacobian, pose_error,
)
from .linalg import solve_damped
from .robot import Robot
from .soft import soft_phase
from .starts import Goal, nearest_starts
from .tasks import (
    Pose, Position, Problem, Task, _check_far, _check_rigid, _rows, _weights, is_chain_end_task, is_task_list,
)

__all__ = ["IKResult", "solve", "default_start", "METHODS", "DAMPING"]

METHODS = ("lm", "gd", "momentum", "adam")
DAMPING = ("chan-lawrence", "sugihara", "constant")

# The solver's random starts come from its own stream for a given seed, so that they never
# coincide with configurations a caller drew from np.random.default_rng(seed) (a benchmark's
# targets, say), which would hand the solver its answers as starting points.
_STREAM = 0x1C0DE

# Below this many rows an iteration costs little more for a few extra rows (per-op overhead,
# and the Jacobian's six cotangents travel in one pass), so stragglers restart with up to
# EXTRA_STARTS additional random starts each: fewer rounds of restarts in the tail (measured:
# 10,000 Panda targets 8.8k -> 9.5k solves/s, 1,000 UR5 targets 5.1k -> 6.0k, from 48 to 512).
SMALL_BATCH = 512
EXTRA_STARTS = 3

# A batch of more targets is solved in consecutive chunks of this many, each a whole solve of its
# own (loop, local restarts, polish, reasons), and the results are concatenated. One batch holds
# ~2.8 kB of arrays per Panda target while it runs (J (R, 6, 7), JᵀWJ and the damped system
# (R, 7, 7) each, the evaluation's pieces before they are joined, a copy of the targets per row):
# unchunked, 1M targets peaked at 2.8 GiB, every array far above glibc's 32 MiB mmap ceiling, so
# each iteration mapped and zero-filled ~3 GB anew (kernel time 5 % of the run at 100k targets,
# 10 % at 1M). A chunk's work per target is the same (17 row-iterations per Panda target
# unchunked at 100k and 1M, 16.9 in chunks of 10k), and solves/s were within this shared
# machine's noise for chunks of 5k-50k (100k targets, interleaved runs, median CPU seconds:
# 10k 25.7-26.9, 20k-25k 25.9-27.1, 50k 24.5-24.7); 10k keeps a chunk's arrays at ~28 MB, each
# under 4 MB, which glibc serves from its heap (autodiff.memory), and is the chunk DESIGN §8
# found best on Dask workers.
TARGET_CHUNK = 10_000

# Up to this many rows, an LM step with a joint blocked on its limit solves every row again (see
# `_LevenbergMarquardt.update`): cheaper than gathering the blocked rows while calls, not
# arithmetic, are the cost.
RESOLVE_ALL_ROWS = 16

# Iterations between progress checks: a start that has not halved its error since the last
# check is restarted (99% of successful LM starts on the Panda converge within 16 iterations).
# LM's 6 (from 8, once restarts were near ones: `NEAR_RESTARTS`), measured in batches of 3,000
# (CPU s, every target solved): UR5 -5 %, Puma 560 -12 %, IRB 120 -5 %, Panda (10,000) -1 to
# -7 %, dual_panda's two hands (1,000) and lone targets unchanged.
STALL_WINDOW = {"lm": 6, "gd": 200, "momentum": 200, "adam": 200}

# Per-method defaults: iterations per start, step size (lr) for the gradient methods.
_DEFAULTS = {
    "lm": dict(max_iterations=30, step_size=None),
    "gd": dict(max_iterations=3000, step_size=0.2),
    "momentum": dict(max_iterations=3000, step_size=0.05),
    "adam": dict(max_iterations=3000, step_size=0.02),
}


@dataclasses.dataclass
class IKResult:
    """What `solve` found.

    For a single target the fields are scalars and `q` is (n,); for a batch of B targets they
    are arrays with a leading axis B (and `reason` a list of B strings).

    Attributes:
        q: joint values, inside the joint limits.
        success: True where both errors are within tolerance (and q within limits).
        position_error: ‖p_t − p‖ in metres, measured by FK at `q`.
        rotation_error: rotation angle of R_t Rᵀ in radians (0 for position targets).
        iterations: steps taken for the target, over all of its starts (its rows step
            together); a target already solved at its start takes 0.
        restarts: random restarts used beyond the first start(s).
        reason: why the solver stopped.
        history: with record_history=True, a dict per target of arrays over iterations of the
            start that produced `q`: "q" (k+1, n), "position_error" (k+1,),
            "rotation_error" (k+1,) (maxima over the hard tasks); a list of such dicts for a batch.
        task_errors: one dict per task, in task order (a bare target is one task): {"position":
            m, "angle": rad} with the errors a hard task measures, {"cost": value} for a soft
            one; floats for a single target, (B,) arrays for a batch.
    """

    q: np.ndarray
    success: np.ndarray | bool
    position_error: np.ndarray | float
    rotation_error: np.ndarray | float
    iterations: np.ndarray | int
    restarts: np.ndarray | int
    reason: list | str
    history: list | dict | None = None
    task_errors: list | None = None


def _parse_target(chain: Chain, target):
    """Targets as (B, 4, 4) poses or (B, 3) positions, and whether the input was one target."""
    t = np.asarray(target.data if isinstance(target, ad.Tensor) else target, dtype=np.float64)
    if t.shape[-2:] == (4, 4) and t.ndim in (2, 3):
        kind = "pose"
    elif t.ndim in (1, 2) and t.shape[-1] == 3:
        kind = "position"
    elif t.ndim in (1, 2) and t.shape[-1] == 2:
        if not chain.planar:
            raise ValueError(f"target: 2-D positions need a planar arm; {chain.name!r} is spatial, give (x, y, z)")
        t = chain.lift(t)  # (x, y) in the arm's plane: z = chain.plane_z
        kind = "position"
    else:
        raise ValueError(
            f"target must be a pose (4, 4) or (B, 4, 4), or a position (3,) or (B, 3) "
            f"((2,) or (B, 2) for planar arms); got shape {t.shape}"
        )
    if not np.isfinite(t).all():
        raise ValueError("target contains NaN or infinite values")
    # (a target beyond every chain's reach: its squared error would overflow the sums)
    if kind == "pose":
        _check_rigid(t, "target")  # which checks the reach too
    else:
        _check_far(t, "target")
    single = t.ndim == (2 if kind == "pose" else 1)
    return (t[None] if single else t), kind, single


def _sample_box(chain: Chain):
    """Finite bounds for sampling starts: continuous joints use [−π, π]."""
    lo = np.where(np.isfinite(chain.lower), chain.lower, -math.pi)
    hi = np.where(np.isfinite(chain.upper), chain.upper, math.pi)
    return lo, hi


def default_start(chain: Chain) -> np.ndarray:
    """The first start when no q0 is given: mid-range plus a small fixed perturbation, (n,).

    q = 0 is a singular, stretched pose for planar arms and the UR5, and the perturbation keeps
    the start off such symmetric poses; continuous joints count as [−π, π]. Clipped to the
    limits, for joints with a range narrower than the perturbation.
    """
    return _starts_box(chain)[0].copy()


def _starts_box(chain: Chain):
    """(default start, sampling box's lower end, its span), read-only and cached per joint limits.

    A solve for one target costs a few milliseconds, and deriving these anew took ~15 numpy
    calls of it; the key is the limits themselves, so a chain whose limits change gets new ones.
    """
    key = (chain.lower.tobytes(), chain.upper.tobytes())
    found = _STARTS_BOX.get(key)
    if found is None:
        lo, hi = _sample_box(chain)
        start = np.clip(0.5 * (lo + hi) + 0.1 * np.sin(np.arange(1, chain.n + 1)), chain.lower, chain.upper)
        found = (start, lo, hi - lo)
        for array in found:
            array.flags.writeable = False
        if len(_STARTS_BOX) >= 256:  # bound the cache for programs that make many chains
            _STARTS_BOX.clear()
        _STARTS_BOX[key] = found
    return found


_STARTS_BOX: dict = {}


def _check_q0(chain, q0, batch: int):
    """q0 (n,) or (B, n) inside the limits of `chain` (a Chain or Robot), as (batch, n)."""
    _check_values(chain, q0, "q0")
    q0 = np.asarray(q0, dtype=np.float64)
    if q0.ndim == 2 and q0.shape[0] not in (1, batch):
        raise ValueError(f"q0 has {q0.shape[0]} rows for {batch} targets")
    if q0.ndim > 2:
        raise ValueError(f"q0 must be (n,) or (B, n), got shape {q0.shape}")
    outside = (q0 < chain.lower - 1e-12) | (q0 > chain.upper + 1e-12)
    if np.any(outside):
        j = int(np.argwhere(outside)[0][-1])
        raise ValueError(
            f"q0: joint {chain.joint_names[j]!r} is outside its limits "
            f"[{chain.lower[j]:.4g}, {chain.upper[j]:.4g}]"
        )
    return np.broadcast_to(q0, (batch, chain.n))


def _errors(T, targets, kind):
    """Errors of poses T (R, 4, 4): e (R, 6) or (R, 3), position and rotation error norms (R,)."""
    if kind == "position":
        e = targets - T[..., :3, 3]
        return e, np.linalg.norm(e, axis=-1), np.zeros(len(e))
    e = pose_error(T, targets)
    # Both norms from one reduction (np.linalg.norm's own overhead is several ops' worth).
    norms = np.sqrt((e * e).reshape(len(e), 2, 3).sum(axis=-1))
    return e, norms[:, 0], norms[:, 1]


class _LevenbergMarquardt:
    """Damped least squares with the engine's Jacobian: Δq = (JᵀWJ + λ_k I)⁻¹ JᵀW e.

    `evaluate(q, targets) -> (e, position error, rotation error, J)` gives the residual (R, m)
    and J = −∂e/∂q (R, m, n), or a function of no arguments that computes it when the step
    needs it: a chain's end pose (`_chain_evaluator`, which defers its backward pass so that a
    last iteration, with no step after it, skips it) or a task list's stacked hard residuals
    (`_problem_evaluator`).

    With `monotone`, a step that raises ½eᵀWe is undone and retried with ten times the
    damping (classic LM); otherwise every step is taken, as in Chan-Lawrence's and Sugihara's
    schemes, which converge in fewer iterations when restarts cover the failures.

    `update` returns the next iterates (R, n), inside the joint limits (as every stepper's).
    """

    def __init__(self, evaluate, robot, W, damping, lam, monotone=False):
        self.evaluate, self.lower, self.upper = evaluate, robot.lower, robot.upper
        self.W2, self.damping, self.lam = W * W, damping, lam
        # Unit weights (the default) multiply nothing: the products are skipped (x · 1 = x exactly).
        self.weighted = bool((self.W2 != 1.0).any())
        self.monotone = monotone

    def init_state(self, q):
        if not self.monotone:  # no per-row state: fewer arrays for the loop to filter
            return {}
        R, n = q.shape
        m = len(self.W2)
        return {"mu": np.ones(R), "prev_q": q.copy(), "prev_sq": np.full(R, np.inf),
                "prev_e": np.zeros((R, m)), "prev_J": np.zeros((R, m, n))}

    def reset(self, state, rows):
        """Forget the history of restarted rows."""
        if self.monotone:
            state["mu"][rows] = 1.0
            state["prev_sq"][rows] = np.inf

    def update(self, q, e, J, state):
        J = J() if callable(J) else J
        sq = 0.5 * ((self.W2 * e if self.weighted else e) * e).sum(axis=-1)  # .sum: no np.sum dispatch layer
        if self.monotone:
            worse = sq > state["prev_sq"]
            q, e, J, sq = (np.where(_expand(worse, a), p, a) for a, p in
                           ((q, state["prev_q"]), (e, state["prev_e"]), (J, state["prev_J"]), (sq, state["prev_sq"])))
            state["mu"] = np.where(worse, state["mu"] * 10.0, np.maximum(state["mu"] * 0.5, 1.0))
            state.update(prev_q=q, prev_e=e, prev_J=J, prev_sq=sq)
        if self.damping == "chan-lawrence":
            lam = self.lam * sq
        elif self.damping == "sugihara":
            lam = sq + self.lam
        else:
            lam = np.full(len(e), self.lam)
        # A floor keeps the solve well posed for redundant arms (JᵀJ is singular when n > 6)
        # once the error, and with it Chan-Lawrence damping, has vanished.
        lam = np.maximum(lam * state["mu"] if self.monotone else lam, 1e-12)  # μ stays 1 otherwise
        # A step on a few rows costs per-op overhead, not arithmetic: JᵀWJ and JᵀWe are built
        # once, and the second solve below reuses them.
        JtW = J.mT * self.W2 if self.weighted else J.mT  # (numpy's products of the view: the same bits)
        # JᵀWJ from a C-ordered copy of JᵀW: numpy's stacked matmul takes BLAS for it but a slower
        # loop for the transposed view (the same bits; at 10,000 rows 0.7 ms against 1.4 ms).
        A, JtWe = np.ascontiguousarray(JtW) @ J, (JtW @ e[..., None])[..., 0]
        _diagonals(A)[...] += lam[:, None]  # A = JᵀWJ + λI in place (A is this call's own array)
        step = q + solve_damped(A, JtWe)
        inside = np.minimum(np.maximum(step, self.lower), self.upper)  # (np.clip without its layers of Python)
        # A joint at a limit that the step pushes further out leaves the system (its column of J
        # is zeroed) and the step is recomputed, so the other joints compensate: clipping alone
        # stalls. A zero column zeroes that joint's row and column of JᵀWJ and its entry of JᵀWe,
        # so the reduced system is a masked copy of the full one: the blocked joint's row keeps
        # only λ on the diagonal, and its step comes out 0.
        # Iterates are clipped, so a joint on a limit equals it, and the step pushes it out through
        # that limit exactly where clipping moved the step back onto q.
        blocked = (inside != step) & (inside == q)
        if blocked.any():
            # A few rows are all solved again, with no gathers (per-call cost rules there): a row
            # with no blocked joint has the very same system, hence the very same step.
            pick = slice(None) if len(q) <= RESOLVE_ALL_ROWS else blocked.any(axis=1)
            free = ~blocked[pick]
            A = A[pick] * (free[:, :, None] & free[:, None, :])  # (JᵀWJ + λI) masked; then λ where blocked
            np.copyto(_diagonals(A), lam[pick][:, None], where=~free)
            step = q[pick] + solve_damped(A, JtWe[pick] * free)
            inside[pick] = np.minimum(np.maximum(step, self.lower), self.upper)
        return inside


def _diagonals(A):
    """A writable view (R, n) of the diagonals of C-ordered systems A (R, n, n)."""
    return A.reshape(len(A), -1)[:, ::A.shape[-1] + 1]


def _ranks(ids):
    """Each entry's rank among the equal ones before it, for grouped (sorted) ids: [0, 0, 1, 0, 1, 2]."""
    return np.arange(ids.size) - np.searchsorted(ids, ids)


def _expand(mask, like):
    return mask.reshape(mask.shape + (1,) * (like.ndim - 1))


class _GradientMethod:
    """Descent on ½‖W e‖² with the gradient from one backward pass: "gd", "momentum", "adam".

    `evaluate(q, targets) -> (e, position error, rotation error, gradient)`; the rows are
    independent, so the gradient of the summed loss holds every row's gradient.
    """

    state_keys = ("velocity", "second", "age")

    def __init__(self, method, evaluate, robot, step_size, momentum):
        self.method, self.evaluate, self.lower, self.upper = method, evaluate, robot.lower, robot.upper
        self.lr, self.momentum = step_size, momentum

    def init_state(self, q):
        return {"velocity": np.zeros_like(q), "second": np.zeros_like(q), "age": np.zeros(len(q))}

    def reset(self, state, rows):
        """Forget the history of restarted rows."""
        for key in self.state_keys:
            state[key][rows] = 0.0

    def update(self, q, e, g, state):
        if self.method == "gd":
            step = -self.lr * g
        elif self.method == "momentum":  # heavy ball
            state["velocity"] = self.momentum * state["velocity"] - self.lr * g
            step = state["velocity"]
        else:  # Adam, bias-corrected by each row's age
            b1, b2 = 0.9, 0.999
            state["age"] = state["age"] + 1
            k = state["age"][:, None]
            state["velocity"] = b1 * state["velocity"] + (1 - b1) * g
            state["second"] = b2 * state["second"] + (1 - b2) * g * g
            step = -self.lr * (state["velocity"] / (1 - b1 ** k)) / (np.sqrt(state["second"] / (1 - b2 ** k)) + 1e-12)
        return np.minimum(np.maximum(q + step, self.lower), self.upper)  # projected onto the joint limits


def _chain_evaluator(chain: Chain, kind: str):
    """LM's evaluation for a chain's end: e, its norms, and J's backward pass deferred until the step asks."""
    def evaluate(q, target):
        T, jacobian = _pose_then_jacobian(chain, q)
        e, pe, re = _errors(T, target, kind)
        return e, pe, re, jacobian if kind == "pose" else lambda: jacobian()[:, :3]
    return evaluate


def _known_evaluator(T, J, kind: str):
    """`_chain_evaluator`'s evaluation of rows whose end poses T (R, 4, 4) and Jacobians J (R, 6, n)
    are known already (the loop's first iteration at the default start and sampled starts)."""
    def evaluate(q, target):
        return (*_errors(T, target, kind), J if kind == "pose" else J[:, :3])
    return evaluate


def _chain_gradient(chain: Chain, kind: str, W: np.ndarray):
    """The gradient methods' evaluation for a chain's end: one backward pass of ½‖W e‖²."""
    def evaluate(q, target):
        qt = ad.Tensor(q, requires_grad=True)
        T = _forward_kinematics(chain, qt)
        e = pose_error(T, target) if kind == "pose" else target - T[..., :3, 3]
        we = e * W
        (ad.sum(we * we) * 0.5).backward()
        pe = np.linalg.norm(e.data[:, :3], axis=-1)
        re = np.linalg.norm(e.data[:, 3:], axis=-1) if kind == "pose" else np.zeros(len(q))
        return e.data, pe, re, qt.grad
    return evaluate


def _problem_errors(problem: Problem):
    """(e -> position error, rotation error) in the loop's units: a lone hard task's own errors
    (the loop then uses its tolerances), else the worst task's in units of its tolerances."""
    if len(problem.hard) == 1:
        def errors(e):
            P, A = problem.task_errors(e)
            return P[:, 0], A[:, 0]
        return errors
    return problem.scaled_errors


def _problem_evaluator(problem: Problem):
    """LM's evaluation for a task list: the stacked hard residuals and their Jacobian, in chunks of rows."""
    errors = _problem_errors(problem)

    def evaluate(q, idx):
        if len(q) > JACOBIAN_CHUNK:  # keep each pass's arrays cache-sized
            parts = [problem.evaluate(q[i:i + JACOBIAN_CHUNK], idx[i:i + JACOBIAN_CHUNK])
                     for i in range(0, len(q), JACOBIAN_CHUNK)]
            e, J = (np.concatenate(part) for part in zip(*parts))
        else:
            e, J = problem.evaluate(q, idx)
        pe, re = errors(e)
        return e, pe, re, J
    return evaluate


def _problem_gradient(problem: Problem, W: np.ndarray):
    """The gradient methods' evaluation for a task list: one backward pass of ½‖W e‖²."""
    errors = _problem_errors(problem)

    def evaluate(q, idx):
        e, g = problem.loss_gradient(q, idx, W)
        pe, re = errors(e)
        return e, pe, re, g
    return evaluate


def solve(robot, target, q0=None, *, method: str = "lm", weights=None,
          tol_position: float = 1e-6, tol_rotation: float = 1e-6, max_iterations: int | None = None,
          max_restarts: int = 100, starts: int | None = None, time_budget: float | None = None, seed: int | None = 0,
          damping: str = "chan-lawrence", lam: float | None = None, step_size: float | None = None,
          momentum: float = 0.9, record_history: bool = False, soft_iterations: int = 100) -> IKResult:
    """Find joint values q that meet the target (or every hard task), within the joint limits.

    Args:
        robot: a kinematics.Chain, or a kinematics.Robot (a tree; with a bare target it needs a
            single end frame).
        target: either a bare target for the end frame — a pose (4, 4) or (B, 4, 4), or a
            position (3,) or (B, 3); planar arms also take (2,) or (B, 2) — or tasks: a Task or a
            non-empty list of Tasks (kinematics.tasks: Pose, Position, Orientation, Axis, Relative;
            soft Posture, Manipulability, Cost). A bare target is the one-task case, Pose or
            Position on the end frame, solved by the same loop.
        q0: (n,) or (B, n) start (and preferred answer), inside the limits. Default: mid-range
            plus a small fixed perturbation.
        method: "lm" (Levenberg-Marquardt), "gd", "momentum" or "adam".
        weights: for a bare target only: (w_position, w_rotation) or 6 finite non-negative weights
            on the error components; only their ratios matter (they are scaled so that the largest
            is 1); with zero rotation weights a pose target is solved for its position only. Tasks
            carry their own (Pose(..., weights=...)).
        tol_position: success bound on ‖p_t − p‖ (m), for every task that sets none.
        tol_rotation: success bound on rotation angles (rad), for every task that sets none.
        max_iterations: iterations per start, >= 1 (None: 30 for lm, 3000 for the gradient methods).
        max_restarts: random restarts per target after the first start(s); the extra starts a
            straggler gets in a small batch count too, and so do the last resort's: up to
            LOCAL_STARTS (at most half the budget) are kept for starts scattered about the best
            answer of a target that spent the rest (unless it is out of reach for certain).
        starts: starts per target from the outset: the first is q0 or mid-range; the next (up
            to NEAR_STARTS) are the configurations of a fixed sample whose frame poses lie
            nearest the target (kinematics.starts), for a bare target or hard tasks that are each
            a Pose or a Position on a frame of its own; the others (and all of them for other
            hard tasks) uniformly random; several cut the tail of slow targets. Default: 4
            for up to 16 targets without q0, where extra rows cost almost nothing (a step's
            time is per-op overhead), else 1 (with q0, its own start runs alone and random ones
            follow only if it fails, so the answer stays near q0).
        time_budget: seconds, finite and positive; stop (unconverged rows report it) when exceeded.
            None: no limit.
        seed: a non-negative integer seeding the random starts, for reproducible results; None
            draws fresh entropy from the operating system (numpy's convention): results may then
            differ from run to run.
        damping: for lm: "chan-lawrence" (λ_k = λ·½eᵀWe, λ = 0.1), "sugihara"
            (λ_k = ½eᵀWe + λ, λ = 1e-3) or "constant" (λ_k = λ, λ = 1e-2).
        lam: the λ of the damping rule, finite and >= 0 (None: the rule's default above).
        step_size: learning rate of the gradient methods, finite and positive (None: 0.2, 0.05,
            0.02 for gd, momentum, adam).
        momentum: the momentum coefficient of "momentum" (heavy ball), in [0, 1).
        record_history: keep per-iteration q and errors of the start that produced each answer.
        soft_iterations: with soft tasks, the most null-space steps per target once its hard tasks
            are met (>= 0; see kinematics.tasks).

    Returns:
        IKResult. `task_errors` has one entry per task ({"position", "angle"} for hard tasks,
        {"cost"} for soft ones); `position_error`/`rotation_error` are the maxima over the hard
        tasks. A failed target gets the closest q found, success False and a reason
        "<cause>: <task> ..." with the cause one of "not converged", "out of reach" (only where
        certain: a target farther from the root than its frame can ever be), "limits" (the best
        answer presses joints against their limits, which block the rest of the way) and
        "time budget". An empty batch gives an empty result: q (0, n), the other fields (0,).

    While it runs, BLAS uses one thread (through threadpoolctl, where installed): the solver's
    linear systems are tiny, and BLAS threads only slow them down.

    A batch of more than TARGET_CHUNK (10,000) targets is solved in consecutive chunks of that
    many, so that time and memory grow linearly with B. Every chunk draws its random starts from
    a fresh generator for `seed`: its answers are exactly those of solving its targets alone with
    the same options (and `starts`, whose default follows the whole batch's size). A time budget
    is the whole call's; chunks reached after it ran out take one iteration each.

    Raises:
        ValueError: a bad target, task, q0 or option, named in the message (TypeError: a wrong type).

    Example:
        >>> import robots
        >>> arm = robots.get("planar2")
        >>> result = solve(arm, [1.0, 0.8])
        >>> bool(result.success), result.position_error < 1e-6
        (True, True)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if damping not in DAMPING:
        raise ValueError(f"damping must be one of {DAMPING}, got {damping!r}")
    if not isinstance(robot, Chain | Robot):
        raise TypeError(f"robot must be a kinematics.Chain or Robot, got {type(robot).__name__}")
    for name, value in (("tol_position", tol_position), ("tol_rotation", tol_rotation)):
        _check_number(name, value, positive=True)
    problem, targets, kind, single, W, (tol_p, tol_r), tol_position = _formulate(
        robot, target, weights, tol_position, tol_rotation)
    B = len(targets)
    if starts is None:
        starts = 4 if B <= 16 and q0 is None else 1
    starts = _check_count("starts", starts, 1)
    max_restarts = _check_count("max_restarts", max_restarts, 0)
    soft_iterations = _check_count("soft_iterations", soft_iterations, 0)
    defaults = _DEFAULTS[method]
    max_iterations = defaults["max_iterations"] if max_iterations is None else _check_count(
        "max_iterations", max_iterations, 1)
    if time_budget is not None:
        _check_number("time_budget", time_budget, positive=True)
    if seed is not None:
        seed = _check_count("seed", seed, 0)
    if lam is not None:
        _check_number("lam", lam, positive=False)
    if step_size is not None:
        _check_number("step_size", step_size, positive=True)
    _check_number("momentum", momentum, positive=False)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    if q0 is not None:
        q_first = _check_q0(robot, q0, B)
    else:  # the default start, read-only (a view of one target's without np.broadcast_to's layers)
        q_first = _starts_box(robot)[0][None] if B == 1 else np.broadcast_to(_starts_box(robot)[0], (B, robot.n))
    if not B:
        return _empty_result(robot.n, record_history, problem)
    if problem is not None:
        problem.check_costs(q_first, targets)  # a Cost's fn: one value per row, finite, before any work
    lam = {"chan-lawrence": 0.1, "sugihara": 1e-3, "constant": 1e-2}[damping] if lam is None else lam
    if problem is None:
        evaluate = _chain_evaluator(robot, kind) if method == "lm" else _chain_gradient(robot, kind, W)
    else:
        evaluate = _problem_evaluator(problem) if method == "lm" else _problem_gradient(problem, W)
    if method == "lm":
        stepper = _LevenbergMarquardt(evaluate, robot, W, damping, lam)
    else:
        stepper = _GradientMethod(method, evaluate, robot, defaults["step_size"] if step_size is None else step_size,
                                  momentum)
    deadline = None if time_budget is None else time.perf_counter() + time_budget
    soft_rank = (lambda q, rows: problem.soft_cost(q, rows, grad=False)[0]) if problem is not None and problem.soft \
        else None  # among a target's rows that converge together, the lowest soft cost wins
    # The polish's stepper, made only where some target needs it (most solves converge).
    make_polisher = functools.partial(_LevenbergMarquardt, evaluate, robot, W, damping, lam, monotone=True) \
        if method == "lm" else lambda: stepper
    parts = []
    for lo in range(0, B, TARGET_CHUNK):  # a large batch in chunks: time and memory linear in B
        part = slice(lo, lo + TARGET_CHUNK)
        # Every chunk draws from a fresh generator for the seed, so its answers are those of
        # solving its targets alone with that seed.
        loop = functools.partial(
            _solve_batch, chain=robot, tol_p=tol_p, tol_r=tol_r, max_iterations=max_iterations, rng=_Stream(seed),
            record_history=record_history, deadline=deadline, soft_rank=soft_rank)
        with _one_blas_thread():
            result, far = _search(loop, stepper, targets[part], q_first[part], robot, problem, kind, q0 is not None,
                                  method, max_restarts, starts, tol_p, tol_r, tol_position, make_polisher)
            if problem is not None and problem.soft and soft_iterations:
                soft_phase(problem, result, targets[part], _problem_evaluator(problem), tol_p, tol_r, soft_iterations,
                           deadline)
        parts.append(_finish(result, robot, problem, targets[part], kind, single, max_iterations, far, W, tol_r,
                             record_history))
    return parts[0] if len(parts) == 1 else _concatenate(parts)


def _concatenate(parts: list) -> IKResult:
    """One batch IKResult from the results of consecutive chunks of its targets, in order."""
    arrays = {name: np.concatenate([getattr(part, name) for part in parts])
              for name in ("q", "success", "position_error", "rotation_error", "iterations", "restarts")}
    history = None if parts[0].history is None else [h for part in parts for h in part.history]
    task_errors = [{key: np.concatenate([part.task_errors[k][key] for part in parts]) for key in entry}
                   for k, entry in enumerate(parts[0].task_errors)]
    return IKResult(**arrays, reason=[r for part in parts for r in part.reason], history=history,
                    task_errors=task_errors)


def _formulate(robot, target, weights, tol_position, tol_rotation):
    """What the loop solves: (problem, targets, kind, single, W, (tol_p, tol_r), tol_position).

    A task list, or a bare target on a tree, becomes a `Problem` whose loop "targets" are row
    indices into the tasks' batches; its errors are a lone hard task's own, else in units of each
    task's tolerances (tol_p = tol_r = 1). A bare target on a chain, or tasks that are just one
    Pose/Position on its "tool", keep the chain's own fast evaluation (problem None): targets
    (B, 4, 4) or (B, 3), W the weights, and that task's tolerances.
    """
    problem = None
    if is_task_list(target):
        if weights is not None:
            raise ValueError("weights apply to a bare target; give each task its own "
                             "(e.g. Pose(frame, T, weights=...))")
        problem = Problem(robot, target, tol_position, tol_rotation)
    elif isinstance(robot, Robot):
        problem = Problem(robot, _end_task(robot, target, weights), tol_position, tol_rotation)
    if problem is not None and is_chain_end_task(robot, problem.tasks):
        task = problem.hard[0]
        target = task.target if task.batch else task.target[0]
        weights = None if isinstance(task, Position) else task.weights
        tol_position, tol_rotation = task.tol_position or tol_position, task.tol_rotation or tol_rotation
        problem = None
    if problem is None:
        targets, kind, single = _parse_target(robot, target)
        W = _weights(weights, kind)
        # A rotation weighted zero is not asked for: success then judges the position alone.
        tol = tol_position, tol_rotation if kind == "pose" and (W[3:] > 0).any() else math.inf
        return None, targets, kind, single, W, tol, tol_position
    B = 1 if problem.batch is None else problem.batch  # an empty batch is 0 targets
    if len(problem.hard) == 1:
        tol = problem.tol_p[0], problem.tol_r[0]
    else:
        tol = 1.0, 1.0 if np.isfinite(problem.tol_r).any() else math.inf
    return problem, np.arange(B), "tasks", problem.batch is None, problem.W, tol, tol_position


def _search(loop, stepper, targets, q_first, robot, problem, kind, prefer_q0, method, max_restarts, starts, tol_p,
            tol_r, tol_position, make_polisher):
    """The hard tasks' search: the batch loop, local restarts for stragglers, then a polish of the failures.

    Returns:
        (the loop's IKResult with causes for reasons, `_Far` of the targets out of reach for
        certain or None when every target converged).
    """
    # Part of the restart budget is kept for the local restarts below (the last resort).
    local = min(LOCAL_STARTS, max_restarts // 2)
    far = None
    goals = _near_goals(problem, targets, tol_r)
    start_q = near_restarts = known = None
    # A chain's LM loop reads its first iteration's poses and Jacobians where they are known
    # already: at the default start (`_start_evaluation`) and at sampled starts (`nearest_starts`).
    evaluated = method == "lm" and problem is None and not prefer_q0
    if goals is not None and starts > 1:
        start_q, known = _first_starts(robot, goals, q_first, starts, loop.keywords["rng"], evaluated)
    elif goals is not None and NEAR_RESTARTS:  # soft tasks or not: the same search for the hard ones
        near_restarts = _NearRestarts(robot, goals)
    if evaluated and starts == 1:  # every row at the default start
        T, J = _start_evaluation(robot)
        known = np.broadcast_to(T, (len(targets), 4, 4)), np.broadcast_to(J, (len(targets),) + J.shape)
    result = loop(stepper, targets, q_first, prefer_q0=prefer_q0, max_restarts=max_restarts - local,
                  starts=starts, stall_window=STALL_WINDOW[method], start_q=start_q, near_restarts=near_restarts,
                  known=None if known is None else _known_evaluator(*known, kind))
    failed = np.array([i for i, r in enumerate(result.reason) if r in ("stalled", "iteration budget")], dtype=int)
    if failed.size:
        far = _out_of_reach(robot, problem, targets, tol_position)
    if local and failed.size:
        _local_restarts(loop, stepper, targets, result, failed[~far.mask[failed]], local, robot,
                        loop.keywords["rng"], STALL_WINDOW[method], tol_p, tol_r)
        failed = failed[~result.success[failed]]
    if failed.size:
        # Restarts give up on slow progress, but the closest answer to an unreachable target
        # lies where progress is slow (a stretched, singular arm): continue each target's best
        # start there, without restarts or impatience, accepting only steps that help.
        _merge(result, failed, loop(make_polisher(), targets[failed], result.q[failed], prefer_q0=False,
                                    max_restarts=0, starts=1, stall_window=None), tol_p, tol_r)
    return result, far


# A target's first extra starts come from the robot's sample's configurations nearest it
# (kinematics.starts: fewer iterations to a basin than uniform ones); more, uniform.
NEAR_STARTS = 8

# A target with one start (a batch's, by default) restarts after a stall from its sample's
# nearest configurations, up to NEAR_RESTARTS of them in order, then uniformly: the start that
# failed (q0 or mid-range) says nothing against them. Targets that began with near starts restart
# uniformly (their near starts, which failed together, lie near each other). Measured on 10,000
# Panda targets: restarts' row-iterations 63.9k -> 30.9k (NEAR_RESTARTS 1, 2, 3, 8: 39.8k, 33.5k,
# 31.6k, 32.1k). Soft tasks beside the hard ones change nothing here, so that the hard search
# visits the same starts with them as without (the soft phase then improves on its answers).
NEAR_RESTARTS = 4


def _near_goals(problem, targets, tol_r) -> list | None:
    """What the near-start lookup reads (`kinematics.starts.Goal`s), or None where it does not apply.

    A chain's end target is one goal; so is each hard task where every one is a Pose or a Position
    on a frame of its own (a tree's hands, a chain's frame with soft tasks beside it). Other hard
    tasks (Orientation, Axis, Relative, collision) keep uniform starts.
    """
    if problem is None:
        return [Goal("tool", targets, math.isfinite(tol_r))]
    frames = [task.frames[0] for task in problem.hard]
    if len(set(frames)) < len(frames) or any(type(task) not in (Pose, Position) for task in problem.hard):
        return None
    goals = []
    for task in problem.hard:  # targets: the loop's rows of the tasks' batch (an unbatched target, each row's)
        wanted = np.broadcast_to(_rows(task.target, targets), (len(targets),) + task.target.shape[1:])
        goals.append(Goal(task.frames[0], wanted, isinstance(task, Pose) and bool(np.any(task.weights[3:] > 0))))
    return goals


class _NearRestarts:
    """Restart configurations for targets with one start each: a target's first NEAR_RESTARTS
    restarts are its sample's nearest configurations, nearest first (looked up at its first
    restart, so targets that never restart cost nothing); later ones are uniform.

    Args:
        robot: the robot solved for.
        goals: the targets' `kinematics.starts.Goal`s (B targets each).
    """

    def __init__(self, robot, goals):
        self.robot, self.goals = robot, goals
        self.used = np.zeros(len(goals[0].targets), dtype=np.intp)  # near restarts taken, per target
        self.picks = None  # (B, NEAR_RESTARTS, n): a target's near configurations once looked up

    def take(self, ids, uniform):
        """Configurations (len(ids), n) for restarting rows of targets `ids` (grouped, in target
        order: several rows of one target take its next near configurations in row order)."""
        k = self.used[ids] + _ranks(ids)
        near = k < NEAR_RESTARTS
        new = ids[near & (k == 0)]  # targets restarting for the first time
        if new.size:
            _, box_lo, box_span = _starts_box(self.robot)
            if self.picks is None:
                self.picks = np.empty((len(self.used), NEAR_RESTARTS, self.robot.n))
            goals = [goal._replace(targets=goal.targets[new]) for goal in self.goals]
            self.picks[new] = nearest_starts(self.robot, goals, NEAR_RESTARTS, box_lo, box_span)
        q = np.empty((ids.size, self.robot.n))
        if near.any():
            q[near] = self.picks[ids[near], k[near]]
        if not near.all():
            q[~near] = uniform(ids.size - int(near.sum()))
        self.used += np.bincount(ids[near], minlength=len(self.used))
        return q


def _first_starts(robot, goals, q_first, starts, rng, evaluated=False):
    """The rows' first configurations (B · starts, n), grouped by target: q_first, then up to
    NEAR_STARTS of the sample's nearest to the target's goals (`kinematics.starts`), then uniform ones.

    Returns:
        (q, None), or with `evaluated` (a chain's end, q_first the default start) where no start
        is uniform, (q, (their end poses (B · starts, 4, 4), their Jacobians (B · starts, 6, n))).
    """
    B, n = q_first.shape
    _, box_lo, box_span = _starts_box(robot)
    near = min(starts - 1, NEAR_STARTS)
    q = np.empty((B, starts, n))
    q[:, 0] = q_first
    if evaluated and near == starts - 1:
        T, J = np.empty((B, starts, 4, 4)), np.empty((B, starts, 6, n))
        T[:, 0], J[:, 0] = _start_evaluation(robot)
        q[:, 1:], T[:, 1:], J[:, 1:] = nearest_starts(robot, goals, near, box_lo, box_span, evaluated=True)
        return q.reshape(B * starts, n), (T.reshape(B * starts, 4, 4), J.reshape(B * starts, 6, n))
    if near:
        q[:, 1:near + 1] = nearest_starts(robot, goals, near, box_lo, box_span)
    if starts > near + 1:
        q[:, near + 1:] = box_lo + box_span * rng.random((B, starts - near - 1, n))
    return q.reshape(B * starts, n), None


def _start_evaluation(chain: Chain) -> tuple:
    """The chain end's pose (4, 4) and Jacobian (6, n) at `default_start`, read-only, cached per
    chain and limits: every row of a batch without q0 begins there, and its first iteration reads them."""
    start = _starts_box(chain)[0]  # cached per limits: the same array while they stand
    found = _START_EVALUATIONS.get(chain)
    if found is None or found[0] is not start:
        T, J = _pose_and_jacobian_chunked(chain, start)
        T.flags.writeable = J.flags.writeable = False
        found = _START_EVALUATIONS[chain] = start, T, J
    return found[1:]


_START_EVALUATIONS = weakref.WeakKeyDictionary()  # chain -> (its default start, T, J)


def _end_task(robot: Robot, target, weights) -> Task:
    """A bare target on a tree: Pose or Position on its single end frame ("tool", or its one leaf link)."""
    if "tool" in robot.frames:
        frame = "tool"
    else:
        # the frames below which no other frame hangs (a link that carries an extra frame is not one)
        parents = {j.parent for j in robot.joints} | {link for link, _ in robot.offsets.values()}
        leaves = [link for link in robot.links if link not in parents] + list(robot.offsets)
        if len(leaves) != 1:
            raise ValueError(f"target: robot {robot.name!r} has {len(leaves)} end frames ({_short(leaves)}); "
                             "give tasks naming the frame, e.g. kinematics.Pose(frame, T)")
        frame = leaves[0]
    t = np.asarray(target.data if isinstance(target, ad.Tensor) else target, dtype=np.float64)
    if t.shape[-2:] == (4, 4):
        return Pose(frame, t, weights=weights)
    if weights is not None:
        _weights(weights, "position")
    return Position(frame, t)


def _check_count(name, value, least):
    """An integer argument (numpy integers too; bools and floats refused) of at least `least`."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < least:
        raise ValueError(f"{name} must be >= {least}, got {value}")
    return int(value)


def _check_number(name, value, positive):
    """A finite real argument: > 0 with `positive`, else >= 0."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise ValueError(f"{name} must be a finite {'positive' if positive else 'non-negative'} number, got {value!r}")


def _empty_result(n, record_history, problem):
    """The result for a batch of no targets: (0, n) and (0,) fields."""
    empty = np.zeros(0)
    tasks = problem.tasks if problem is not None else [None]
    errors = [{"cost": empty} if t is not None and not t.hard else
              {"distance": empty, "pair": np.zeros(0, dtype=str)} if t is not None and t.report is not None else
              {"position": empty, "angle": empty} for t in tasks]
    return IKResult(np.zeros((0, n)), np.zeros(0, dtype=bool), empty, empty, np.zeros(0, dtype=int),
                    np.zeros(0, dtype=int), [], [] if record_history else None, errors)


# The blas thread pool, limited to one thread while a solve runs: the solver's linear algebra is
# many tiny systems (n x n, n = joints), where OpenBLAS's threads cost far more than they save
# (a 100-joint arm, unreachable target: 55 s with two threads on two cores, 2.5 s with one).
# threadpoolctl finds the BLAS libraries once (it inspects the loaded libraries, ~260 µs); a
# solve then reads each one's thread count and sets it only where it is not 1, restoring it
# after (~3 µs; threadpoolctl's own `limit`, which gathers every library's info dict, ~25 µs a
# solve). None: not found yet; (): threadpoolctl is not installed, and BLAS runs as configured.
_BLAS_LIBRARIES = None


class _OneBlasThread:
    """A context manager that runs its block with one BLAS thread (a no-op without threadpoolctl)."""

    __slots__ = ("changed",)

    def __enter__(self):
        self.changed = []
        for library in _BLAS_LIBRARIES:
            count = library.num_threads
            if count != 1:
                library.set_num_threads(1)
                self.changed.append((library, count))
        return self

    def __exit__(self, *exc):
        for library, count in self.changed:
            library.set_num_threads(count)


def _one_blas_thread() -> _OneBlasThread:
    global _BLAS_LIBRARIES
    if _BLAS_LIBRARIES is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _BLAS_LIBRARIES = ()
        else:
            _BLAS_LIBRARIES = tuple(c for c in ThreadpoolController().lib_controllers if c.user_api == "blas")
    return _OneBlasThread()


def _reach(chain: Chain) -> float:
    """An upper bound on the end effector's distance from the base origin (m).

    The tip is base · Π origin_i Motion_i(q_i) · tool; rotations keep lengths, so by the triangle
    inequality it lies within Σ ‖t(origin_i)‖ + Σ max |q_i| (prismatic joints) + ‖t(tool)‖ of
    the base's origin (inf for a prismatic joint without limits).
    """
    reach = float(np.linalg.norm(chain.tool[:3, 3]))
    for joint in chain.joints:
        reach += float(np.linalg.norm(joint.origin[:3, 3]))
        if joint.type == PRISMATIC:
            reach += max(abs(joint.limits[0]), abs(joint.limits[1]))
    return reach


def _frame_reach(robot: Robot, frame: str) -> float:
    """An upper bound on a tree frame's distance from the root's origin (m), as `_reach` along its path.

    A mimic joint's travel is bounded by its own limits (they are intersected into its source's box).
    """
    link, reach = frame, 0.0
    if frame in robot.offsets:
        link, offset = robot.offsets[frame]
        reach += float(np.linalg.norm(offset[:3, 3]))
    while link != robot.root:
        joint = robot.parent_joint[link]
        reach += float(np.linalg.norm(joint.origin[:3, 3]))
        if joint.type == PRISMATIC:
            reach += max(abs(joint.limits[0]), abs(joint.limits[1]))
        link = joint.parent
    return reach


def _distances(chain: Chain, targets):
    """Distances (B,) of the targets' positions from the base origin."""
    p = targets[:, :3, 3] if targets.ndim == 3 else targets
    return np.linalg.norm(p - chain.base[:3, 3], axis=-1)


@dataclasses.dataclass
class _Far:
    """Targets out of reach for certain: mask (B,), and for each the task (index), distance and reach."""

    mask: np.ndarray
    task: np.ndarray
    distance: np.ndarray
    reach: np.ndarray


def _out_of_reach(robot, problem, targets, tol_position) -> _Far:
    """Which targets lie farther from the base (root) than their frame can ever be, beyond tolerance."""
    if problem is None:
        d = _distances(robot, targets)
        reach = np.full(len(d), _reach(robot))
        return _Far(d > reach + tol_position, np.zeros(len(d), dtype=int), d, reach)
    B = len(targets)
    far = _Far(np.zeros(B, dtype=bool), np.zeros(B, dtype=int), np.zeros(B), np.zeros(B))
    for k, task in enumerate(problem.hard):
        p = task.target[:, :3, 3] if isinstance(task, Pose) else task.target if isinstance(task, Position) else \
            getattr(task, "position", None)
        if p is None:
            continue
        d = np.linalg.norm(p, axis=-1)
        d = np.broadcast_to(d, (B,)) if len(d) == 1 else d[targets]  # a batched task: the rows `targets` names
        reach = _frame_reach(problem.robot, task.frames[0])
        new = (d > reach + problem.tol_p[k]) & ~far.mask
        far.mask |= new
        far.task[new], far.distance[new], far.reach[new] = k, d[new], reach
    return far


# The last resort for stragglers (targets that spent their restarts), before the polish: starts
# scattered about the best answer found, at a few scales (fractions of each joint's sampling
# range). Uniform restarts rarely land in a narrow basin that the best answer sits beside: a PUMA
# 560 target (near a singularity, two joints within 0.03 rad of their limits) took 73 uniform
# restarts, and the best answer, 3.4e-5 m off against a limit, was a dead end for LM; about half
# of the starts 0.03-0.3 rad about it solve it. They come out of the restart budget.
LOCAL_STARTS = 12
LOCAL_SCALES = (0.01, 0.03, 0.1)


def _local_restarts(loop, stepper, targets, result, rows, count, chain, rng, stall_window, tol_p, tol_r):
    """Solve `rows` of `result` again from `count` starts about their best q, keeping improvements."""
    if not rows.size:
        return
    _, box_lo, box_span = _starts_box(chain)
    scale = np.resize(np.array(LOCAL_SCALES), count)[None, :, None] * box_span
    q = result.q[rows][:, None, :] + scale * rng.standard_normal((rows.size, count, chain.n))
    q = np.clip(q, chain.lower, chain.upper).reshape(-1, chain.n)
    local = loop(stepper, targets[rows], result.q[rows], prefer_q0=False, max_restarts=0, starts=count,
                 stall_window=stall_window, start_q=q)
    result.restarts[rows] += count
    _merge(result, rows, local, tol_p, tol_r)


class _Stream:
    """The solver's random stream for `seed` (see _STREAM), its generator made on its first draw.

    A lone target that converges from its first starts (most do) draws nothing, and a fresh
    generator costs a one-target solve ~1 % of its time; the draws are those of the generator
    made at once. Int seeds reuse a cached SeedSequence (half that cost); None: fresh entropy from
    the operating system (numpy's convention), not reproducible.
    """

    __slots__ = ("seed", "generator")

    def __init__(self, seed):
        self.seed, self.generator = seed, None

    def _made(self) -> np.random.Generator:
        if self.generator is None:
            self.generator = np.random.default_rng(None if self.seed is None else _seed_sequence(self.seed))
        return self.generator

    def random(self, size):
        return self._made().random(size)

    def standard_normal(self, size):
        return self._made().standard_normal(size)


@functools.lru_cache(maxsize=64)
def _seed_sequence(seed: int):
    return np.random.SeedSequence([seed, _STREAM])


def _finish(result, robot, problem, targets, kind, single, max_iterations, far, W, tol_r, record_history):
    """The loop's result as `solve` returns it: errors per task, reasons in words, scalars for one target.

    For tasks the errors are measured again by FK at the answers, per task, in metres and
    radians (the loop may have worked in units of the tolerances).
    """
    B = len(result.q)
    if problem is None:
        label = ["Pose('tool')" if kind == "pose" else "Position('tool')"]
        angles = math.isfinite(tol_r)
        task_errors = [{"position": result.position_error, "angle": result.rotation_error} if angles else
                       {"position": result.position_error}]
        worst, P, A = np.zeros(B, dtype=int), result.position_error[:, None], result.rotation_error[:, None]
        measures_angle = [kind == "pose"]
    else:
        idx = targets  # the rows of the tasks' batches that `result` answers
        P, A = problem.task_errors(problem.residuals(result.q, idx))
        success = ((P <= problem.tol_p) & (A <= problem.tol_r)).all(axis=-1)
        result.reason = ["converged" if ok else ("stalled" if cause == "converged" else cause)
                         for ok, cause in zip(success, result.reason)]
        result.success = success
        result.position_error, result.rotation_error = (P * problem.positions).max(axis=-1), A.max(axis=-1)
        worst = np.maximum(P / problem.tol_p, A / problem.tol_r).argmax(axis=-1)
        label = [t.label for t in problem.hard]
        measures_angle = ["angle" in t.measures for t in problem.hard]
        reports = problem.reports(result.q, idx)  # a collision task's smallest distances, in place of its errors
        hard = iter(range(len(problem.hard)))
        soft = iter(problem.soft_costs(result.q, idx) if problem.soft else ())
        task_errors = []
        for task in problem.tasks:
            if task.hard:
                k = next(hard)
                task_errors.append(reports[k] if reports[k] is not None else
                                   {m: (P if m == "position" else A)[:, k] for m in task.measures})
            else:
                task_errors.append({"cost": next(soft)})
        if record_history and len(problem.hard) > 1:
            for b, h in enumerate(result.history):
                if len(h["q"]):
                    Ph, Ah = problem.task_errors(problem.residuals(h["q"], np.full(len(h["q"]), idx[b])))
                    h["position_error"], h["rotation_error"] = (Ph * problem.positions).max(axis=-1), Ah.max(axis=-1)
    blocked = _blocked_by_limits(result, robot, problem, targets, kind, W, far)

    def describe(i, k):  # the errors of hard task k at answer i, in words
        if problem is not None and reports[k] is not None:
            return problem.hard[k].violation({key: value[i] for key, value in reports[k].items()})
        return f"best position error {P[i, k]:.3g} m" + (f", rotation error {A[i, k]:.3g} rad"
                                                         if measures_angle[k] else "")

    reasons = []
    for i, cause in enumerate(result.reason):
        if cause == "converged":
            reasons.append(cause)
            continue
        k = int(far.task[i]) if far is not None and far.mask[i] else int(worst[i])
        errors = describe(i, k)
        if problem is not None:  # the other hard tasks it misses, named too
            unmet = np.flatnonzero((P[i] > problem.tol_p) | (A[i] > problem.tol_r))
            errors += "".join(f"; also unmet: {label[j]}: {describe(i, j)}" for j in unmet if j != k)
        tries = f"after {result.iterations[i]} iterations and {result.restarts[i]} restarts"
        if cause == "time budget":
            reasons.append(f"time budget: {label[k]} not met when it ran out, after {result.iterations[i]} "
                           f"iterations; {errors}")
        elif far is not None and far.mask[i]:
            reasons.append(f"out of reach: {label[k]}: the target lies {far.distance[i]:.3g} m from the base and the "
                           f"arm reaches at most {far.reach[i]:.3g} m; {errors} {tries}")
        elif blocked[i]:
            reasons.append(f"limits: {label[k]} stopped against the limits of joint(s) {blocked[i]} {tries}; "
                           f"{errors}")
        else:
            why = "stalled" if cause == "stalled" else f"{max_iterations} iterations per start"
            reasons.append(f"not converged: {label[k]} ({why}) {tries}; {errors}")
    result.reason, result.task_errors = reasons, task_errors
    if single:
        return IKResult(result.q[0], bool(result.success[0]), float(result.position_error[0]),
                        float(result.rotation_error[0]), int(result.iterations[0]), int(result.restarts[0]),
                        result.reason[0], result.history[0] if record_history else None,
                        [{key: value[0].item() for key, value in entry.items()} for entry in task_errors])
    return result


def _blocked_by_limits(result, robot, problem, targets, kind, W, far) -> list:
    """For each failed target, the joints whose limits stop the solver ('' where none do).

    At the best answer, the descent direction of ½eᵀWe is d = JᵀW e (∂e/∂q = −J). The limits
    are the cause when d pushes some joints out through the limits they sit on while its part
    along the free joints has (all but) vanished: a minimum of the error within the box, not of
    the error itself.
    """
    blocked = [""] * len(result.q)
    rows = np.array([i for i, c in enumerate(result.reason) if c in ("stalled", "iteration budget")
                     and not (far is not None and far.mask[i])], dtype=int)
    if not rows.size:
        return blocked
    q = result.q[rows]
    if problem is None:
        e, _, _, jacobian = _chain_evaluator(robot, kind)(q, targets[rows])
        J = jacobian()
    else:
        e, J = problem.evaluate(q, targets[rows])
    d = (np.swapaxes(J, -1, -2) @ ((W * W) * e)[..., None])[..., 0]
    out = ((q <= robot.lower) & (d < 0)) | ((q >= robot.upper) & (d > 0))
    pushed, free = np.linalg.norm(d * out, axis=-1), np.linalg.norm(d * ~out, axis=-1)
    names = robot.joint_names
    for k in np.flatnonzero((pushed > 0) & (free <= 1e-3 * pushed)):
        blocked[rows[k]] = ", ".join(repr(names[j]) for j in np.flatnonzero(out[k]))
    return blocked


def _merge(result, rows, polished, tol_p, tol_r):
    """Take the polished answers for `rows` of `result` where they are closer."""
    def cost(pe, re):
        return np.maximum(pe / tol_p, re / tol_r)

    better = cost(polished.position_error, polished.rotation_error) < cost(
        result.position_error[rows], result.rotation_error[rows])
    result.iterations[rows] += polished.iterations
    for k in np.flatnonzero(better):
        r = rows[k]
        result.q[r] = polished.q[k]
        result.success[r] = polished.success[k]
        result.position_error[r] = polished.position_error[k]
        result.rotation_error[r] = polished.rotation_error[k]
        if polished.success[k]:
            result.reason[r] = polished.reason[k]
        if result.history is not None:
            result.history[r] = polished.history[k]


_NO_ROWS = np.zeros(0, dtype=int)
_NO_ROWS.flags.writeable = False


def _solve_batch(stepper, targets, q_first, *, chain, prefer_q0, tol_p, tol_r, max_iterations, max_restarts,
                 starts, stall_window, deadline, rng, record_history, start_q=None, soft_rank=None,
                 near_restarts=None, known=None):
    """The solver loop over rows = targets × starts (see the module docstring).

    Each iteration: evaluate every active row (one forward and one backward pass for all),
    keep each target's best answer, retire targets that converged, restart rows that stalled,
    and let the stepper move the rest. Row state (target index, q, first iteration, progress reference and
    the stepper's own arrays) lives in one dict of arrays, filtered together.

    For one target the rows are few and every numpy call costs about a microsecond whatever
    their number, so the bookkeeping that rarely changes anything (regrouping the rows, the
    restart and retirement logic) runs only in the iterations where rows expire or leave.

    The rows start at q_first (B, n) and random configurations, `starts` per target, or at
    start_q (B · starts, n), grouped by target, when given. Restarts are random configurations,
    or `near_restarts.take`'s (`_NearRestarts`) when given. `known`, when given, evaluates the first
    iteration's rows in place of the stepper (`_known_evaluator`: their poses and Jacobians are known).
    """
    B, n = q_first.shape
    _, box_lo, box_span = _starts_box(chain)

    def random_q(count):  # the very numbers rng.uniform(box_lo, box_hi, ...) draws, with less call overhead
        return box_lo + box_span * rng.random((count, n))

    if start_q is None:
        q = random_q(B * starts)
        q[::starts] = q_first
    else:
        q = np.array(start_q, dtype=np.float64)
    # A row's age in iteration `step` is step + 1 − born: it starts at 1 in its first iteration.
    rows = {"tgt": np.repeat(np.arange(B), starts), "q": q, "born": np.zeros(len(q), dtype=int),
            "stall_ref": np.full(len(q), np.inf)}
    state = stepper.init_state(q)
    assert not rows.keys() & state.keys(), "a stepper's row state must not reuse the loop's keys"
    rows.update(state)
    traces = [[] for _ in range(len(q))] if record_history else None
    rotation = math.isfinite(tol_r)

    # Per target.
    done = np.zeros(B, dtype=bool)
    best_cost = np.full(B, np.inf)
    best_q = np.array(q_first, dtype=np.float64)
    best_pe, best_re = np.full(B, np.inf), np.full(B, np.inf)
    iterations = np.zeros(B, dtype=int)
    restarts = np.zeros(B, dtype=int)
    reasons = ["" for _ in range(B)]
    histories = [[] for _ in range(B)] if record_history else None

    def next_event(step):
        """The first iteration after `step` in which some row reaches a progress check or ages out."""
        age = step + 2 - rows["born"]  # in the next iteration (a row never outlives max_iterations)
        wait = max_iterations - age if not stall_window else np.minimum((-age) % stall_window, max_iterations - age)
        return step + 1 + int(wait.min())

    # event: the next iteration in which some row expires or is checked (none in the first, by default)
    regroup, step, event = True, 0, next_event(-1)
    while len(rows["q"]):
        tgt, q = rows["tgt"], rows["q"]
        if regroup:  # the set of rows changed
            # Rows stay grouped by target, in target order: `first` marks each group's first row.
            first = np.ones(len(tgt), dtype=bool)
            first[1:] = tgt[1:] != tgt[:-1]
            t_ids = tgt[first]
            row_targets = targets[tgt]
            regroup = False
        e, pe, re, extra = (stepper.evaluate if step or known is None else known)(q, row_targets)
        if record_history:
            for r in range(len(q)):
                traces[r].append((q[r].copy(), pe[r], re[r]))

        # Keep each target's best answer (cost 1 = at tolerance on the worse of both errors).
        cost = np.maximum(pe / tol_p, re / tol_r) if rotation else pe / tol_p
        # improved: (targets, rows) whose answer is better now, index arrays or (for a lone target,
        # where one-element arrays cost as much as many) two numbers; maybe_hit: a group's cheapest
        # row is within tolerance.
        if len(t_ids) == 1:  # one group: its cheapest row without a sort
            r = int(cost.argmin())
            improved = (t_ids[0], r) if cost[r] < best_cost[t_ids[0]] else None
            maybe_hit = cost[r] <= 1.0
        else:
            # the cheapest row of each group (with one row per target, every row)
            best_rows = np.arange(len(tgt)) if len(t_ids) == len(tgt) else np.lexsort((cost, tgt))[first]
            group_cost = cost[best_rows]
            better = group_cost < best_cost[t_ids]
            improved = None if not better.any() else (t_ids, best_rows) if better.all() else \
                (t_ids[better], best_rows[better])
            maybe_hit = (group_cost <= 1.0).any()
        if improved is not None:
            ids, best = improved
            best_cost[ids], best_q[ids], best_pe[ids], best_re[ids] = cost[best], q[best], pe[best], re[best]
            if record_history:
                for t_id, r in zip(np.atleast_1d(ids), np.atleast_1d(best)):
                    histories[t_id] = traces[r]

        leaving = False  # whether rows leave the batch after this iteration
        # Success, judged by FK at q (iterates are clipped to the limits, so q is inside them).
        # A hit has cost <= 1 (division is monotone), so the groups' cheapest rows rule most
        # iterations out in two ops.
        hit = np.flatnonzero((pe <= tol_p) & (re <= tol_r)) if maybe_hit else _NO_ROWS
        if hit.size:
            # Among a target's rows that succeed together, keep the one nearest q0.
            # (With soft tasks, `soft_rank` orders them by soft cost instead: the cheapest converged row.)
            if soft_rank is not None:
                dist = soft_rank(q[hit], targets[tgt[hit]])
            else:
                dist = np.linalg.norm(q[hit] - q_first[tgt[hit]], axis=-1) if prefer_q0 else np.zeros(hit.size)
            if len(t_ids) == 1:  # one group: its first row in that order without a sort (argmin: the first minimum)
                wins = hit[[int(dist.argmin())]] if not done[t_ids[0]] else _NO_ROWS
            else:
                order = hit[np.lexsort((dist, tgt[hit]))]
                first_hit = np.ones(order.size, dtype=bool)  # each target's first row in that order
                first_hit[1:] = tgt[order[1:]] != tgt[order[:-1]]
                wins = order[first_hit & ~done[tgt[order]]]
            if wins.size:
                ids = tgt[wins]
                done[ids], iterations[ids], leaving = True, step, True
                best_q[ids], best_pe[ids], best_re[ids], best_cost[ids] = q[wins], pe[wins], re[wins], cost[wins]
                for t_id, r in zip(ids.tolist(), wins.tolist()):
                    reasons[t_id] = "converged"
                    if record_history:
                        histories[t_id] = traces[r]

        # A row expires when it stalls (no halving of its error over a window) or ages out; in most
        # iterations no row does, which `event` (a Python int) tells without an op.
        again, retired, expired, stalled = _NO_ROWS, None, None, None
        if step >= event:
            age = step + 1 - rows["born"]
            expired = age >= max_iterations
            if stall_window:
                check = age % stall_window == 0
                stalled = check & (cost > 0.5 * rows["stall_ref"])
                expired |= stalled
                rows["stall_ref"] = np.where(check, cost, rows["stall_ref"])
        if expired is not None and expired.any():
            # An expired row restarts while its target has restarts left; several rows of one
            # target expiring together draw on the same budget, in row order.
            exp_rows = np.flatnonzero(expired & ~done[tgt])
            rank = _ranks(tgt[exp_rows])  # within each target
            again = exp_rows[restarts[tgt[exp_rows]] + rank < max_restarts]
            retired = expired
            retired[again] = False
            if retired.any():  # a target is abandoned once none of its rows can go on
                leaving = True
                alive = np.zeros(B, dtype=bool)
                alive[tgt[~retired]] = True
                for t_id in t_ids[~alive[t_ids] & ~done[t_ids]]:
                    done[t_id], iterations[t_id] = True, step
                    reasons[t_id] = "stalled" if stalled is not None and np.any(stalled[tgt == t_id]) \
                        else "iteration budget"
        if deadline is not None and time.perf_counter() > deadline:
            for t_id in t_ids[~done[t_ids]]:
                done[t_id] = leaving = True
                reasons[t_id], iterations[t_id] = "time budget", step

        if leaving:
            keep = ~done[tgt] if retired is None else ~done[tgt] & ~retired
            if not keep.any():  # every row leaves (a lone target's last iteration): no step, no restart
                break
            again = again[keep[again]]
        # The stepper's iterates stay inside the joint limits, hence every answer.
        rows["q"] = stepper.update(q, e, extra, rows)
        # Expired rows with restarts left start again from a random configuration (for targets with
        # one start, from their nearest samples first: `_NearRestarts`).
        if again.size:
            restarts += np.bincount(tgt[again], minlength=B)
            rows["q"][again] = random_q(again.size) if near_restarts is None else \
                near_restarts.take(tgt[again], random_q)
            rows["born"][again] = step + 1
            rows["stall_ref"][again] = np.inf
            stepper.reset(rows, again)
            if record_history:
                for r in again:
                    traces[r] = []
        if leaving and not keep.all():
            rows = {key: value[keep] for key, value in rows.items()}
            regroup = True
            if record_history:
                traces = [trace for trace, k in zip(traces, keep) if k]
        if again.size and len(rows["q"]) < SMALL_BATCH:
            # Few rows left: an iteration costs the same for a few more, so a restarting
            # target (a straggler) gets extra random starts at once rather than one at a time.
            stragglers = np.unique(tgt[again])
            extra = np.minimum(max_restarts - restarts[stragglers],
                               min(EXTRA_STARTS, (SMALL_BATCH - len(rows["q"])) // stragglers.size))
            new_tgt = np.repeat(stragglers, np.maximum(extra, 0))
            if new_tgt.size:
                restarts[stragglers] += np.maximum(extra, 0)
                q_new = random_q(new_tgt.size)
                new = {"tgt": new_tgt, "q": q_new, "born": np.full(new_tgt.size, step + 1),
                       "stall_ref": np.full(new_tgt.size, np.inf), **stepper.init_state(q_new)}
                order = np.argsort(np.concatenate([rows["tgt"], new_tgt]), kind="stable")  # keep targets grouped
                rows = {key: np.concatenate([rows[key], new[key]])[order] for key in rows}
                regroup = True
                if record_history:
                    traces = [(traces + [[] for _ in range(new_tgt.size)])[i] for i in order]
        if step >= event or leaving or again.size:  # the rows or their ages changed
            event = next_event(step) if len(rows["q"]) else 0
        step += 1

    # reasons: "converged", "stalled", "iteration budget" or "time budget"; `solve` words them.
    success = np.array([r == "converged" for r in reasons])
    history = [_history(h, n) for h in histories] if record_history else None
    return IKResult(best_q, success, best_pe, best_re, iterations, restarts,
                    reasons, history)


def _history(trace, n):
    if not trace:
        return {"q": np.zeros((0, n)), "position_error": np.zeros(0), "rotation_error": np.zeros(0)}
    qs, pes, res = zip(*trace)
    return {"q": np.array(qs), "position_error": np.array(pes), "rotation_error": np.array(res)}
