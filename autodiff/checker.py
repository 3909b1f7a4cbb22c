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


def _fail(name, index, analytic, numeric):
    raise GradientCheckError(
        f"check_grads: {name} disagrees at {index}: autodiff {analytic!r}, "
        f"finite differences {numeric!r} (difference {abs(analytic - numeric):.3e})"
    )


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
        for i, x in enumerate(arrays):
            numeric = numerical_jacobian(f, arrays, i, eps)
            analytic = np.stack(
                [_analytic_pullback(f, arrays, np.eye(out.size)[j])[i].ravel() for j in range(out.size)]
            ) if out.size else numeric
            _compare(f"d out / d arg{i}", analytic, numeric, rtol, atol,
                     lambda flat: (np.unravel_index(flat[0], out.shape), np.unravel_index(flat[1], x.shape)))
        return
    rng = np.random.default_rng(seed)
    for _ in range(directions):
        v = rng.standard_normal(out.shape)
        grads = _analytic_pullback(f, arrays, v)
        us = [rng.standard_normal(a.shape) for a in arrays]
        analytic = float(sum(np.sum(g * u) for g, u in zip(grads, us)))
        up = _evaluate(f, [a + eps * u for a, u in zip(arrays, us)])
        down = _evaluate(f, [a - eps * u for a, u in zip(arrays, us)])
        numeric = float(np.sum(v * (up - down)) / (2 * eps))
        _compare("a random projection v^T J u", np.array([analytic]), np.array([numeric]), rtol, atol,
                 lambda flat: "the projection")


def _compare(name, analytic, numeric, rtol, atol, where):
    if not np.all(np.isfinite(analytic)):
        bad = np.unravel_index(np.argmax(~np.isfinite(analytic)), analytic.shape)
        _fail(name, where(bad) if analytic.ndim == 2 else bad, analytic[bad], numeric[bad])
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if np.any(excess > 0):
        worst = np.unravel_index(np.argmax(excess), excess.shape)
        _fail(name, where(worst) if analytic.ndim == 2 else worst, analytic[worst], numeric[worst])
