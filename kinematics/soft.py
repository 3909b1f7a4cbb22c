"""The soft phase: null-space steps that lower the soft tasks' cost while every hard task stays met.

After the batch loop, a target whose hard tasks are met sits on the set e(q) ≈ 0. Each step:

1. the limit active set: a joint at a limit that the descent direction d = −∇c pushes outward is
   held (its column leaves the system);
2. a step along N d over the free joints, N = I − A_f⁺ A_f with A_f the hard Jacobian
   (A = −∂e/∂q) with held columns zeroed and a pseudo-inverse (`_min_norm`), so N is a projector: to
   first order the step leaves every hard residual unchanged (a damped (I − J⁺_λ J) leaks into
   them). Its length is the row's radius, not ‖N d‖: a cost of any scale descends as fast;
3. Gauss-Newton corrections Δq = A_f⁺ e remove the step's second-order drift, until the hard
   errors are within a tenth of their tolerances (or CORRECTIONS of them were taken);
4. the step is kept when every hard task is within tolerance and the soft cost fell: the
   radius doubles (up to MAX_RADIUS); otherwise it is undone and the radius halves, so near a
   minimum the steps shrink geometrically onto it.

A target stops when its projected step N d is below SOFT_TOL, its radius below MIN_RADIUS, the
time budget runs out, or after the given number of steps. Accepted steps only ever lower the
cost, so the answer is the lowest-cost point found that meets every hard task.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["soft_phase", "SOFT_TOL"]

SOFT_TOL = 1e-6  # ‖N d‖ below which the soft cost is stationary on the hard tasks' solutions
RADIUS, MAX_RADIUS, MIN_RADIUS = 0.1, 1.0, 1e-6  # the step's trust radius (rad or m in q)
CORRECTIONS = 3  # Gauss-Newton corrections per step


def soft_phase(problem, result, targets, evaluate, tol_p, tol_r, iterations, deadline):
    """Lower the soft cost of every solved target of `result` in place (q and iterations).

    Args:
        problem: the `kinematics.tasks.Problem` (its soft tasks give the cost and gradient).
        result: the batch IKResult of the loop; rows with success move.
        targets: (B,) the rows of the tasks' batches that result's rows answer (a chunk of them).
        evaluate: (q (R, n), target rows (R,)) -> (e, position error, rotation error, A), the
            loop's evaluation, errors in the loop's units.
        tol_p, tol_r: the loop's tolerances for those errors.
        iterations: the most steps per target.
        deadline: time.perf_counter() value to stop at, or None.
    """
    rows = np.flatnonzero(result.success)
    if not rows.size or not iterations:
        return
    ids = targets[rows]  # the same rows, as indices into the tasks' batches
    lower, upper = problem.robot.lower, problem.robot.upper
    # Snug the start: the hard errors well inside tolerance, so that a step's own correction (and
    # not the leftover error's) decides whether it pays.
    q, met, A = _correct(evaluate, result.q[rows].copy(), ids, np.ones(result.q[rows].shape, dtype=bool),
                         lower, upper, tol_p, tol_r)
    if not met.all():  # a correction that broke a task (it never should): that row keeps its answer
        q[~met] = result.q[rows[~met]]
        A[~met] = evaluate(q[~met], ids[~met])[3]
    c, g = problem.soft_cost(q, ids, grad=True)
    radius = np.full(len(rows), RADIUS)
    steps = np.zeros(len(rows), dtype=int)
    active = np.arange(len(rows))
    for _ in range(iterations):
        if not active.size or (deadline is not None and time.perf_counter() > deadline):
            break
        step, free = _step(A[active], -g[active], q[active], lower, upper)
        norm = np.linalg.norm(step, axis=-1)
        moving = norm >= SOFT_TOL
        step *= (radius[active] / np.maximum(norm, 1e-300))[:, None]  # length: the radius, whatever the cost's scale
        trial = np.clip(q[active] + step, lower, upper)
        trial, met, A_trial = _correct(evaluate, trial, ids[active], free, lower, upper, tol_p, tol_r)
        c_trial, g_trial = problem.soft_cost(trial, ids[active], grad=True)
        keep = moving & met & (c_trial < c[active])
        taken = active[keep]
        q[taken], A[taken], c[taken], g[taken] = trial[keep], A_trial[keep], c_trial[keep], g_trial[keep]
        radius[taken] = np.minimum(2.0 * radius[taken], MAX_RADIUS)
        radius[active[~keep]] *= 0.5
        steps[active[moving]] += 1
        active = active[moving & (radius[active] >= MIN_RADIUS)]
    result.q[rows] = q
    result.iterations[rows] += steps


def _step(A, d, q, lower, upper):
    """The projected step N d (S, n) and the free joints (S, n): the limit active set fixed first.

    A joint sitting on a limit that the step would push through is held (its column and entry
    zeroed) and the step recomputed; a projection can turn a joint outward that d itself did not
    push, so this repeats (each pass only adds held joints, so at most n passes).
    """
    free = np.ones(q.shape, dtype=bool)
    at_lower, at_upper = q <= lower, q >= upper
    for _ in range(q.shape[-1] + 1):
        step = _project(A * free[:, None, :], d * free)
        out = free & ((at_lower & (step < 0)) | (at_upper & (step > 0)))
        if not out.any():
            return step, free
        free &= ~out
    return step * free, free


def _project(A, d):
    """N d = d − A⁺ (A d) for A (S, m, n), d (S, n): d's part in A's null space."""
    return d - _min_norm(A, (A @ d[..., None])[..., 0])


def _min_norm(A, b):
    """A⁺ b = Aᵀ (A Aᵀ + δI)⁻¹ b for A (S, m, n), b (S, m): the least-norm x with A x = b.

    δ = 1e-14 · tr(A Aᵀ)/m only keeps a rank-deficient A (held joints, a Position on a planar
    arm) solvable: it changes x by a relative 1e-14 where A is well conditioned, far below any
    tolerance (LM's damping is 1e-1 · ½eᵀWe), and a (m, m) solve costs a fraction of an SVD.
    """
    AAt = A @ np.swapaxes(A, -1, -2)
    m = AAt.shape[-1]
    delta = 1e-14 * np.trace(AAt, axis1=-2, axis2=-1) / m + 1e-300
    y = np.linalg.solve(AAt + delta[:, None, None] * np.eye(m), b[..., None])
    return (np.swapaxes(A, -1, -2) @ y)[..., 0]


def _correct(evaluate, q, rows, free, lower, upper, tol_p, tol_r):
    """Gauss-Newton steps A_f⁺ e on the hard residuals until their errors are within a tenth of tolerance.

    Returns:
        q (S, n) corrected, met (S,) every hard task within tolerance, A (S, m, n) at q.
    """
    for k in range(CORRECTIONS + 1):
        e, pe, re, A = evaluate(q, rows)
        snug = (pe <= 0.1 * tol_p) & (re <= 0.1 * tol_r)
        if snug.all() or k == CORRECTIONS:
            break
        fix = ~snug
        q[fix] = np.clip(q[fix] + _min_norm(A[fix] * free[fix][:, None, :], e[fix]), lower, upper)
    return q, (pe <= tol_p) & (re <= tol_r), A
