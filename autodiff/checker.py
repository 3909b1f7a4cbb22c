"""Gradient checking against central finite differences, shipped with the library.

For a function with few inputs and outputs the whole Jacobian is compared entry by entry; for
larger ones, random projections vᵀ J u are compared instead (one backward pass against two
function evaluations per direction), which catches any wrong entry with probability one.
Central differences have error O(eps²) from truncation and O(machine eps / eps) from rounding:
about 1e-10 relative at eps = 1e-6 in float64.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor, no_grad

__all__ = ["check_grads", "GradientCheckError", "numerical_jacobian"]

FULL_JACOBIAN_LIMIT = 200  # compare entry by entry when inputs x outputs is at most this


class GradientCheckError(AssertionError):
    """The engine's gradient disagrees with finite differences."""


def _evaluate(f, arrays):
    with no_grad():
        out = f(*[Tensor(a) for a in arrays])
    return np.array(out.data if isinstance(out, Tensor) else out, dtype=np.float64)


def numerical_jacobian(f, arrays, index, eps=1e-6):
    """Central-difference Jacobian of f with respect to `arrays[index]`.

    Returns:
        An array of shape (out.size, arrays[index].size).
    """
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    x = arrays[index]
    columns = []
    for k in range(x.size):
        flat = x.reshape(-1)
        saved = flat[k]
        flat[k] = saved + eps
        up = _evaluate(f, arrays)
        flat[k] = saved - eps
        down = _evaluate(f, arrays)
        flat[k] = saved
        columns.append(((up - down) / (2 * eps)).ravel())
    return np.stack(columns, axis=1)


def _analytic_pullback(f, arrays, seed):
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = f(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"check_grads: the function must return a Tensor, got {type(out).__name__}")
    if out.requires_grad:
        out.backward(seed.reshape(out.shape))
    return [np.zeros_like(a) if leaf.grad is None else leaf.grad for a, leaf in zip(arrays, leaves)]


def _fail(name, where, analytic, numeric):
    analytic, numeric = float(analytic), float(numeric)
    raise GradientCheckError(
        f"check_grads: {name} disagrees at {where}: autodiff {analytic!r}, "
        f"finite differences {numeric!r} (difference {abs(analytic - numeric):.3e})"
    )


def _entry(out_shape, in_shape):
    """Describe entry (i, j) of a flattened Jacobian as output and input indices."""

    def where(flat):
        out_index = tuple(int(k) for k in np.unravel_index(flat[0], out_shape))
        in_index = tuple(int(k) for k in np.unravel_index(flat[1], in_shape))
        return f"output index {out_index}, input index {in_index}"

    return where


def check_grads(f, *args, eps=1e-6, rtol=1e-6, atol=1e-8, directions=3, seed=0):
    """Check the engine's gradients of `f` against central differences.

    Args:
        f: maps Tensors (one per argument) to a Tensor of any shape.
        *args: the point, as arrays (converted to float64).
        eps: finite-difference step.
        rtol, atol: tolerance |autodiff - numeric| <= atol + rtol * |numeric|.
        directions: random projections to try when the Jacobian is too big to compare whole.
        seed: seed of those random projections.

    Raises:
        GradientCheckError: naming the argument, the worst index and both values.
    """
    arrays = [np.array(a.data if isinstance(a, Tensor) else a, dtype=np.float64) for a in args]
    out = _evaluate(f, arrays)
    inputs = sum(a.size for a in arrays)
    if inputs * max(out.size, 1) <= FULL_JACOBIAN_LIMIT:
        # row j of every argument's Jacobian: one backward pass seeded with the j-th unit vector
        rows = [_analytic_pullback(f, arrays, seed_j) for seed_j in np.eye(out.size)]
        for i, x in enumerate(arrays):
            numeric = numerical_jacobian(f, arrays, i, eps)
            analytic = np.stack([r[i].ravel() for r in rows]) if out.size else numeric
            _compare(f"d out / d arg{i}", analytic, numeric, rtol, atol, _entry(out.shape, x.shape))
        return
    rng = np.random.default_rng(seed)
    for k in range(directions):
        v = rng.standard_normal(out.shape)
        grads = _analytic_pullback(f, arrays, v)
        us = [rng.standard_normal(a.shape) for a in arrays]
        analytic = float(sum(np.sum(g * u) for g, u in zip(grads, us)))
        up = _evaluate(f, [a + eps * u for a, u in zip(arrays, us)])
        down = _evaluate(f, [a - eps * u for a, u in zip(arrays, us)])
        numeric = float(np.sum(v * (up - down)) / (2 * eps))
        _compare("a random projection v^T J u", np.array([analytic]), np.array([numeric]), rtol, atol,
                 lambda _, k=k: f"direction {k} (seed {seed})")


def _compare(name, analytic, numeric, rtol, atol, where):
    """Raise on the worst entry outside atol + rtol |numeric|, or on any non-finite entry."""
    not_finite = ~(np.isfinite(analytic) & np.isfinite(numeric))
    if np.any(not_finite):  # NaN compares false: without this check it would pass silently
        bad = np.unravel_index(np.argmax(not_finite), analytic.shape)
        _fail(name, where(bad), analytic[bad], numeric[bad])
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if np.any(excess > 0):
        worst = np.unravel_index(np.argmax(excess), excess.shape)
        _fail(name, where(worst), analytic[worst], numeric[worst])
