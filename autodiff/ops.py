"""Differentiable ops: each computes its value with numpy and states its VJPs beside it.

Conventions: `g` is the cotangent of the op's output (same shape as the output); each VJP
returns the cotangent of one input, either in that input's shape or in the broadcast shape --
the engine's `unbroadcast` sums it back down, so no op handles broadcasting itself.

Stacked passes: g may carry extra leading axes, lead + the output's shape (several cotangents
at once, see `Tensor.backward`), and each VJP must return lead + its input's (or the broadcast)
shape. Elementwise VJPs get this free from numpy's right-aligned broadcasting. VJPs that name
axes use negative ones (counted from the end, so the lead axes never shift them), and those that
reshape or transpose find the lead axes as g.ndim - the output's ndim. Inputs may
be Tensors, numpy arrays or Python numbers; non-Tensors are constants. Binary ops wrap a
constant operand in a light constant node (`tensor.constant`: graph drawings show it).

Glossary: a, b the input arrays; out the result; g the output's cotangent.
"""

from __future__ import annotations

from functools import lru_cache, partial
from types import MethodType as _bind  # _bind(rule, a)(g) = rule(a, g): the cheapest one-argument binding

import math

import numpy as np

from . import tensor as _tensor
from .tensor import Tensor, _nonfinite_summary, as_tensor, constant, record, returns_new

__all__ = [
    "add", "sub", "mul", "div", "neg", "power", "matmul", "logdet",
    "exp", "log", "sqrt", "abs", "sin", "cos", "arctan2", "tanh", "sigmoid", "relu",
    "maximum", "minimum", "where",
    "sum", "mean", "max", "reshape", "transpose", "swapaxes", "broadcast_to", "getitem",
    "stack", "concatenate", "softmax", "log_softmax", "logsumexp", "cummatmul",
]


def _shape_error(name, a, b, err):
    """The ValueError for a binary op whose numpy call failed: a broadcasting failure names both
    shapes; any other numpy complaint (e.g. integers to negative integer powers) is passed on."""
    try:
        np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        return ValueError(f"{name}: shapes {np.shape(a)} and {np.shape(b)} do not broadcast")
    return ValueError(f"{name}: cannot apply to shapes {np.shape(a)} and {np.shape(b)}: {err}")


# -- arithmetic ------------------------------------------------------------------------------
# Each binary op evaluates numpy's operator inside `try` so that a broadcasting failure names
# the op and both shapes.

def add(x, y):
    """x + y elementwise, with numpy broadcasting.

    Args:
        x, y: Tensors, arrays or numbers; shapes that broadcast together.

    Returns:
        A Tensor of the broadcast shape. VJPs: d/dx = d/dy = 1, so both get g (the engine sums
        it over broadcast axes).
    """
    if not isinstance(x, Tensor):
        x = constant(x, "add")
    if not isinstance(y, Tensor):
        y = constant(y, "add")
    a, b = x.data, y.data
    try:
        out = a + b
    except ValueError as err:
        raise _shape_error("add", a, b, err) from err
    return record(out, "add", (x, y), _ADD_VJPS, np.add)


def sub(x, y):
    """x - y elementwise, with numpy broadcasting.

    Args:
        x, y: Tensors, arrays or numbers; shapes that broadcast together.

    Returns:
        A Tensor of the broadcast shape. VJPs: d/dx = 1 gives g; d/dy = -1 gives -g.
    """
    if not isinstance(x, Tensor):
        x = constant(x, "sub")
    if not isinstance(y, Tensor):
        y = constant(y, "sub")
    a, b = x.data, y.data
    try:
        out = a - b
    except ValueError as err:
        raise _shape_error("sub", a, b, err) from err
    return record(out, "sub", (x, y), _SUB_VJPS, np.subtract)


def mul(x, y):
    """x * y elementwise, with numpy broadcasting.

    Args:
        x, y: Tensors, arrays or numbers; shapes that broadcast together.

    Returns:
        A Tensor of the broadcast shape. VJPs: d/dx = y gives g y; d/dy = x gives g x.
    """
    if not isinstance(x, Tensor):
        x = constant(x, "mul")
    if not isinstance(y, Tensor):
        y = constant(y, "mul")
    a, b = x.data, y.data
    try:
        out = a * b
    except ValueError as err:
        raise _shape_error("mul", a, b, err) from err
    # A closure only for an operand that needs a gradient: `x * 0.5` makes one, not two.
    vjp_x = _bind(np.multiply, b) if x.requires_grad else _no_vjp  # b g = g b, bit for bit
    vjp_y = _bind(np.multiply, a) if y.requires_grad else _no_vjp
    return record(out, "mul", (x, y), (vjp_x, vjp_y), np.multiply)


def div(x, y):
    """x / y elementwise, with numpy broadcasting.

    Args:
        x, y: Tensors, arrays or numbers; shapes that broadcast together.

    Returns:
        A Tensor of the broadcast shape. VJPs: d/dx = 1/y gives g / y;
        d/dy = -x / y^2 = -out / y gives -g out / y.
    """
    if not isinstance(x, Tensor):
        x = constant(x, "div")
    if not isinstance(y, Tensor):
        y = constant(y, "div")
    a, b = x.data, y.data
    try:
        out = a / b
    except ValueError as err:
        raise _shape_error("div", a, b, err) from err
    vjp_x = _bind(_d_div_x, b) if x.requires_grad else _no_vjp
    vjp_y = partial(_d_div_y, b, out) if y.requires_grad else _no_vjp
    return record(out, "div", (x, y), (vjp_x, vjp_y), np.true_divide)


def _d_div_x(b, g):
    return g / b


def _d_div_y(b, out, g):
    return -g * out / b


def neg(x):
    """-x elementwise.

    Args:
        x: a Tensor, array or number of any shape.

    Returns:
        A Tensor of x's shape. VJP: -g.
    """
    x = as_tensor(x)
    return record(-x.data, "neg", (x,), (np.negative,), np.negative)


def power(x, y):
    """x ** y elementwise, with numpy broadcasting.

    Args:
        x, y: Tensors, arrays or numbers; shapes that broadcast together.

    Returns:
        A Tensor of the broadcast shape. VJPs: d/dx = y x^(y-1) (0 where y = 0);
        d/dy = x^y log x for x > 0, 0 where x = 0 and y >= 0, NaN for x < 0 (the real power
        of a negative base is not differentiable in its exponent).
    """
    if not isinstance(x, Tensor):
        x = constant(x, "power")
    if not isinstance(y, Tensor):
        y = constant(y, "power")
    a, b = x.data, y.data
    try:
        out = np.power(a, b)
    except ValueError as err:
        raise _shape_error("power", a, b, err) from err

    return record(out, "power", (x, y), (partial(_d_power_x, a, b), partial(_d_power_y, a, b, out)), np.power)


def _d_power_x(a, b, g):  # g y x^(y-1); y = 0 gives 0 even at x = 0 (where x^(y-1) is inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * np.where(b == 0, 0.0, b * np.power(a, b - 1))


def _d_power_y(a, b, out, g):  # g x^y log x, guarded where log x is -inf (x = 0) or undefined (x < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a = np.log(np.where(a > 0, a, 1.0))
        return g * np.where(a > 0, out * log_a, np.where((a == 0) & (b >= 0), 0.0, np.nan))


def _identity(g):
    return g


_ADD_VJPS = (_identity, _identity)  # shared by every add node: no tuple to allocate per op
_SUB_VJPS = (_identity, np.negative)


def _no_vjp(g):
    """The VJP recorded for an operand that required no gradient when the op ran."""
    raise RuntimeError(
        "backward: a tensor's requires_grad was switched on after an op had used it, so the op "
        "recorded no VJP for it; set requires_grad=True before using the tensor"
    )


# -- matrix product ----------------------------------------------------------------------------

def matmul(x, y):
    """x @ y with numpy's rules: vectors, matrices and broadcast stacks of matrices.

    For matrices X (m, k) and Y (k, n) and a cotangent V (m, n): vjp_X(V) = V Y^T and
    vjp_Y(V) = X^T V. A 1-D operand is treated as a row (left) or column (right) matrix whose
    added axis is dropped from the result, so the same two products serve every case;
    stacked leading axes broadcast and the engine sums them back.

    Args:
        x: (..., m, k) or (k,).
        y: (..., k, n) or (k,).

    Returns:
        A Tensor of shape (..., m, n), with the m axis dropped for a 1-D x and the n axis
        dropped for a 1-D y (vector @ vector is a scalar).

    Raises:
        ValueError: naming both shapes when an operand is 0-d or the inner sizes differ.
    """
    x, y = as_tensor(x), as_tensor(y)
    a, b = x.data, y.data
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one axis, got shapes {a.shape} and {b.shape}")
    try:
        out = a @ b
    except ValueError as err:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned") from err
    if a.ndim == b.ndim >= 2:  # matrices, or stacks of equal rank: the two products as they stand
        return record(out, "matmul", (x, y), (_bind(_d_matmul_x, b), _bind(_d_matmul_y, a)), np.matmul)
    shape2 = out.shape  # the shape of a2 @ b2 (`_as_matrices`): the axes dropped for 1-D operands restored
    if b.ndim == 1:
        shape2 = shape2 + (1,)
    if a.ndim == 1:
        shape2 = shape2[:-1] + (1,) + shape2[-1:]
    out_ndim = out.ndim  # an ndarray, or a numpy scalar for vector @ vector
    return record(out, "matmul", (x, y), (partial(_d_matmul_vector_x, a, b, shape2, out_ndim),
                                          partial(_d_matmul_vector_y, a, b, shape2, out_ndim)), np.matmul)


@returns_new
def _d_matmul_x(b, g):  # .mT: the transpose of the last two axes, without np.swapaxes' Python layer
    return g @ b.mT


@returns_new
def _d_matmul_y(a, g):
    return a.mT @ g


def _as_matrices(a, b, g, shape2, out_ndim):
    """A 1-D operand as a row (left) or column (right) matrix, a2 (..., m, k) and b2 (..., k, n), and
    the cotangent in the (..., m, n) layout of a2 @ b2 (vector @ vector: (1, 1)), after a stacked
    pass's lead axes."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = np.reshape(g, shape2 if g.ndim == out_ndim else g.shape[:g.ndim - out_ndim] + shape2)
    return a2, b2, g2


@returns_new
def _d_matmul_vector_x(a, b, shape2, out_ndim, g):
    _, b2, g2 = _as_matrices(a, b, g, shape2, out_ndim)
    gx = g2 @ np.swapaxes(b2, -1, -2)
    return gx[..., 0, :] if a.ndim == 1 else gx


@returns_new
def _d_matmul_vector_y(a, b, shape2, out_ndim, g):
    a2, b2, g2 = _as_matrices(a, b, g, shape2, out_ndim)
    if b2.ndim == 2 and a2.ndim > 2:  # constant-shaped right operand: one flat product
        # over all rows of the stack -- but not over a stacked pass's lead axes (g2's first
        # g2.ndim - a2.ndim), which each keep their own product: (k, rows) @ (..., rows, n).
        rows = g2.shape[:g2.ndim - a2.ndim] + (-1, g2.shape[-1])
        gy = a2.reshape(-1, a2.shape[-1]).T @ g2.reshape(rows)
    else:
        gy = np.swapaxes(a2, -1, -2) @ g2
    return gy[..., 0] if b.ndim == 1 else gy


def cummatmul(x):
    """Prefix products along the first axis: out[i] = x[0] @ x[1] @ ... @ x[i].

    A serial chain's link poses in one op (its local transforms stacked on the first axis),
    so a chain of k factors costs k − 1 products and no slicing, forward and backward. With
    P_i = out[i] and a cotangent G_i on each, the cotangent that reaches P_i through all later
    products is Ḡ_{k−1} = G_{k−1}, Ḡ_i = G_i + Ḡ_{i+1} x_{i+1}ᵀ, and then
    vjp(G)_0 = Ḡ_0, vjp(G)_i = P_{i−1}ᵀ Ḡ_i: k − 1 products back and one for all factors.

    Args:
        x: (k, ..., m, m) square matrices, k >= 1, the batch axes in between broadcast-free.

    Returns:
        A Tensor (k, ..., m, m).

    Raises:
        ValueError: x is not a stack of square matrices with a leading factor axis.
    """
    x = as_tensor(x)
    a = x.data
    if a.ndim < 3 or a.shape[-1] != a.shape[-2] or not a.shape[0]:
        raise ValueError(f"cummatmul: expected (k, ..., m, m) square matrices with k >= 1, got shape {a.shape}")
    out = _cummatmul(a)
    return record(out, "cummatmul", (x,), (partial(_d_cummatmul, a, out),), _cummatmul)


def _cummatmul(a):
    out = np.empty(a.shape, dtype=np.result_type(a.dtype, np.float64))
    out[0] = a[0]
    for i in range(1, len(a)):
        np.matmul(out[i - 1], a[i], out=out[i])
    return out


def _d_cummatmul(a, out, g):
    # Tiny matrices (a chain's 4x4 poses) cost a BLAS call each, so the stacked pass's lead axis
    # rides inside the matrices: the L cotangents Ḡ¹, Ḡ², ... of a factor are kept as one block
    # column [Ḡ¹ Ḡ² ...] (m, L·m), whose memory read as rows (m·L, m) holds every block's rows,
    # so the recursion right-multiplies it by x_{i+1}ᵀ block by block, and the last product
    # left-multiplies the block column: one call per factor and batch entry instead of L, and
    # no copy between the two.
    k = out.shape[0]
    into, rows_shape, columns_shape, back, grad_shape = _cummatmul_layout(out.shape, g.shape[:g.ndim - out.ndim])
    g = g.reshape(into[0]).transpose(into[1])  # (k, ..., m, L, m), a view
    bar = np.empty(g.shape, dtype=np.result_type(g.dtype, out.dtype))
    rows, columns = bar.reshape(rows_shape), bar.reshape(columns_shape)
    bar[-1] = g[-1]
    inner = _any(g[:-1], axis=None)  # cotangents on the end product alone (a chain's end pose) skip the adds
    at = a.mT
    for i in range(k - 2, -1, -1):
        np.matmul(rows[i + 1], at[i + 1], out=rows[i])
        if inner:
            bar[i] += g[i]
    grad = np.empty_like(columns)
    grad[0] = columns[0]
    np.matmul(out[:-1].mT, columns[1:], out=grad[1:])
    return grad.reshape(back[0]).transpose(back[1]).reshape(grad_shape)


_any = np.logical_or.reduce  # (ndarray.any's Python layer costs more than the scan of a few hundred zeros)


@lru_cache(maxsize=256)
def _cummatmul_layout(shape: tuple, lead: tuple) -> tuple:
    """`_d_cummatmul`'s shapes and permutations for an output (k, ..., m, m) and cotangent lead axes."""
    k, batch, m = shape[0], shape[1:-2], shape[-1]
    L, d = math.prod(lead), len(shape)
    into = ((L,) + shape, tuple(range(1, d - 1)) + (d - 1, 0, d))
    back = ((k,) + batch + (m, L, m), (d - 1,) + tuple(range(d - 1)) + (d,))
    return into, (k,) + batch + (m * L, m), (k,) + batch + (m, L * m), back, lead + shape


# -- log-determinant ---------------------------------------------------------------------------

SYMMETRY_RTOL = 1e-8  # logdet: |A - Aᵀ| beyond this times max |A| is a caller's mistake, not rounding


def logdet(x):
    """log det A of symmetric positive-definite matrices, batched, from a Cholesky factorisation.

    With A = L Lᵀ (L lower triangular), det A = Π L_ii², so log det A = 2 Σ log L_ii. The
    symmetric part S = (A + Aᵀ)/2 is factorised, so rounding asymmetry (as in J Jᵀ from a
    matmul) is harmless and the VJP is exact for every entry: d log det S / dA = S⁻¹ (Jacobi's
    formula; symmetric), so vjp(g) = g S⁻¹ per matrix, with S⁻¹ = L⁻ᵀ L⁻¹.

    Args:
        x: (..., k, k) symmetric positive-definite matrices (a Tensor or array).

    Returns:
        A Tensor of shape (...).

    Raises:
        ValueError: x is not a stack of square matrices, holds NaN or infinite values, is not
            symmetric (beyond SYMMETRY_RTOL), or a matrix is not positive definite (the message
            gives its smallest eigenvalue and batch index).
    """
    x = as_tensor(x)
    a = x.data
    return record(_logdet(a), "logdet", (x,), (_bind(_d_logdet, a),), _logdet)


def _logdet(a):
    """2 Σ log L_ii of the Cholesky factor of (A + Aᵀ)/2, after the checks `logdet` documents."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"logdet: expected square matrices of shape (..., k, k), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"logdet: matrix contains NaN or infinite values: {_nonfinite_summary(a)}")
    at = np.swapaxes(a, -1, -2)
    asymmetry = np.max(np.abs(a - at), initial=0.0)
    if asymmetry > SYMMETRY_RTOL * np.max(np.abs(a), initial=0.0):
        raise ValueError(f"logdet: matrix is not symmetric (max |A - Aᵀ| = {asymmetry:.3g}); "
                         "expected a symmetric positive-definite matrix such as J Jᵀ + εI")
    s = 0.5 * (a + at)
    try:
        L = np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        smallest = np.linalg.eigvalsh(s)[..., 0]
        worst = np.unravel_index(np.argmin(smallest), smallest.shape)
        where = f" at batch index {tuple(int(i) for i in worst)}" if a.ndim > 2 else ""
        raise ValueError(f"logdet: matrix is not positive definite (smallest eigenvalue {smallest[worst]:.3g}{where}); "
                         "a Gram matrix J Jᵀ needs a positive ε I added") from None
    return 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)


def _d_logdet(a, g):  # g (lead + batch) times S⁻¹ (batch + (k, k)): right-aligned, so lead axes pass through
    inv_L = np.linalg.inv(np.linalg.cholesky(0.5 * (a + np.swapaxes(a, -1, -2))))
    return g[..., None, None] * (np.swapaxes(inv_L, -1, -2) @ inv_L)


# -- elementwise functions ---------------------------------------------------------------------

def exp(x):
    """e^x elementwise.

    Args:
        x: a Tensor, array or number of any shape.

    Returns:
        A Tensor of x's shape. VJP: d/dx e^x = e^x, so g * out.
    """
    x = as_tensor(x)
    out = np.exp(x.data)
    return record(out, "exp", (x,), (_bind(np.multiply, out),), np.exp)


def log(x):
    """Natural logarithm elementwise (for x > 0).

    Args:
        x: a Tensor, array or number of any shape.

    Returns:
        A Tensor of x's shape. VJP: d/dx log x = 1/x, so g / x.
    """
    x = as_tensor(x)
    a = x.data
    return record(np.log(a), "log", (x,), (_bind(_d_div_x, a),), np.log)


def sqrt(x):
    """Square root elementwise (for x >= 0).

    Args:
        x: a Tensor, array or number of any shape.

    Returns:
        A Tensor of x's shape. VJP: d/dx sqrt x = 1 / (2 sqrt x), so g * 0.5 / out.
    """
    x = as_tensor(x)
    out = np.sqrt(x.data)
    return record(out, "sqrt", (x,), (_bind(_d_sqrt, out),), np.sqrt)


def _d_sqrt(out, g):
    return g * 0.5 / out


def abs(x):  # noqa: A001 - the public name mirrors numpy's
    """|x| elementwise.

    Args:
        x: a Tensor, array or number of any shape.

    Returns:
        A Tensor of x's shape. VJP: d/dx |x| = sign(x), taken as 0 at x = 0.
    """
    x = as_tensor(x)
    a = x.data
    return record(np.abs(a), "abs", (x,), (_bind(_d_abs, a),), np.abs)


def _d_abs(a, g):
    return g * np.sign(a)


def sin(x):
    """sin x elementwise.

    Args:
        x: a Tensor, array or number of any shape (radians).

    Returns:
        A Tensor of x's shape. VJP: d/dx sin x = cos x.
    """
    x = as_tensor(x)
    a = x.data
    return record(np.sin(a), "sin", (x,), (_bind(_d_sin, a),), np.sin)


def _d_sin(a, g):
    return g * np.cos(a)


def cos(x):
    """cos x elementwise.

    Args:
        x: a Tensor, array or number of any shape (radians).

    Returns:
        A Tensor of x's shape. VJP: d/dx cos x = -sin x.
    """
    x = as_tensor(x)
    a = x.data
    return record(np.cos(a), "cos", (x,), (_bind(_d_cos, a),), np.cos)


def _d_cos(a, g):
    return -g * np.sin(a)


def cos_sin(x, axis=0):
    """cos x and sin x in one op, stacked: a rotation's two coordinates.

    Worth an op of its own where both are needed: the VJP takes the derivatives (cos' = −sin,
    sin' = cos) from the two values it already holds, where separate cos and sin VJPs would
    evaluate both functions again (a libm sine costs ~10 ns, thirty multiplications). For the
    same reason an x that repeats along an axis as a broadcast view (stride 0: copies of one
    value, as the Jacobian's column layout passes q, once per pose row) is computed once per
    distinct value; the result is then a read-only broadcast view too.

    Args:
        x: a Tensor, array or number of any shape s (radians).
        axis: where the new axis of size 2 goes in the result (as `stack`).

    Returns:
        A Tensor of shape s with 2 inserted at `axis`: entry 0 is cos x, entry 1 sin x (the
        very values of `cos` and `sin`). VJP: g_sin · cos x − g_cos · sin x.
    """
    x = as_tensor(x)
    out = _cos_sin(axis, x.data)
    negative = axis % out.ndim - out.ndim  # the same axis of g with or without lead axes
    after = (slice(None),) * (-negative - 1)
    return record(out, "cos_sin", (x,), (partial(_d_cos_sin, out, (Ellipsis, 0) + after, (Ellipsis, 1) + after),),
                  _bind(_cos_sin, axis))


def _cos_sin(axis, a):
    if 0 not in a.strides or a.size <= 1:
        return _stacked(np.cos(a), np.sin(a), axis)
    # A broadcast view: each distinct value once (one entry along each repeating axis), then broadcast.
    one = a[tuple(slice(0, 1) if step == 0 and size > 1 else slice(None) for step, size in zip(a.strides, a.shape))]
    out = _stacked(np.cos(one), np.sin(one), axis)
    k = axis % out.ndim
    return np.broadcast_to(out, a.shape[:k] + (2,) + a.shape[k:])


def _stacked(c, s, axis):
    """np.stack([c, s], axis) without its Python layers (the same array): a new axis on each, joined."""
    k = axis % (c.ndim + 1)
    at = (slice(None),) * k + (None,)
    return np.concatenate((c[at], s[at]), axis=k)


def _d_cos_sin(out, at_cos, at_sin, g):
    return g[at_sin] * out[at_cos] - g[at_cos] * out[at_sin]


def tanh(x):
    """tanh x elementwise.

    Args:
        x: a Tensor, array or number of any shape.

    Returns:
        A Tensor of x's shape. VJP: d/dx tanh x = 1 - tanh^2 x, computed from the output
        (the closed form 4e^(2x)/(e^(2x)+1)^2 overflows for large x).
    """
    x = as_tensor(x)
    out = np.tanh(x.data)
    return record(out, "tanh", (x,), (_bind(_d_tanh, out),), np.tanh)


def _d_tanh(out, g):  # g (1 - tanh^2), written as g - g tanh tanh: three array ops and no Python float
    return g - g * out * out


def sigmoid(x):
    """The logistic function 1 / (1 + e^(-x)) elementwise, without overflow.

    Args:
        x: a Tensor, array or number of any shape.

    Returns:
        A Tensor of x's shape, in [0, 1]. VJP: d/dx s(x) = s (1 - s) (= e^(-x)/(1+e^(-x))^2).
    """
    x = as_tensor(x)
    out = _sigmoid(x.data)
    return record(out, "sigmoid", (x,), (_bind(_d_sigmoid, out),), _sigmoid)


def _sigmoid(a):
    e = np.exp(-np.abs(a))  # in (0, 1]: never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _d_sigmoid(out, g):
    return g * out * (1.0 - out)


def arctan2(y, x):
    """The angle of the point (x, y), elementwise, with numpy broadcasting (numpy.arctan2).

    Args:
        y, x: Tensors, arrays or numbers; shapes that broadcast together. Note the order: y first.

    Returns:
        A Tensor of the broadcast shape, in (-pi, pi]. VJPs, with r^2 = x^2 + y^2:
        d/dy = x / r^2, d/dx = -y / r^2 (undefined at the origin).
    """
    if not isinstance(y, Tensor):
        y = constant(y, "arctan2")
    if not isinstance(x, Tensor):
        x = constant(x, "arctan2")
    b, a = y.data, x.data
    try:
        out = np.arctan2(b, a)
    except ValueError as err:
        raise _shape_error("arctan2", b, a, err) from err
    return record(out, "arctan2", (y, x), (partial(_d_arctan2_y, b, a), partial(_d_arctan2_x, b, a)), np.arctan2)


def _d_arctan2_y(b, a, g):  # b = y, a = x
    return g * a / (a * a + b * b)


def _d_arctan2_x(b, a, g):
    return -g * b / (a * a + b * b)


def relu(x):
    """max(x, 0) elementwise.

    Args:
        x: a Tensor, array or number of any shape.

    Returns:
        A Tensor of x's shape. VJP: g where x > 0, else 0 (0 at x = 0).
    """
    x = as_tensor(x)
    a = x.data
    return record(_relu(a), "relu", (x,), (_bind(_d_relu, a),), _relu)


def _relu(a):
    return np.maximum(a, 0.0)


def _d_relu(a, g):
    return g * (a > 0)


def maximum(x, y):
    """Elementwise maximum of x and y, with numpy broadcasting.

    Args:
        x, y: Tensors, arrays or numbers; shapes that broadcast together.

    Returns:
        A Tensor of the broadcast shape. VJPs: g goes to the larger operand; at ties each
        operand gets g / 2 (the mean of the one-sided derivatives).
    """
    if not isinstance(x, Tensor):
        x = constant(x, "maximum")
    if not isinstance(y, Tensor):
        y = constant(y, "maximum")
    a, b = x.data, y.data
    try:
        out = np.maximum(a, b)
    except ValueError as err:
        raise _shape_error("maximum", a, b, err) from err
    return record(out, "maximum", (x, y), (partial(_d_wins, a, b), partial(_d_loses, a, b)), np.maximum)


def _winner_share(u, w):
    """The share of g that goes to u, the operand that wins where u > w: 1 there, ½ at ties, else 0."""
    return np.where(u > w, 1.0, np.where(u == w, 0.5, 0.0))


def _d_wins(u, w, g):  # g where u > w (½ at ties): maximum's VJP for x = u; minimum's for y (u = x)
    return g * _winner_share(u, w)


def _d_loses(u, w, g):  # g where u < w (½ at ties): maximum's VJP for y; minimum's for x = u
    return g * (1.0 - _winner_share(u, w))


def minimum(x, y):
    """Elementwise minimum of x and y, with numpy broadcasting.

    Args:
        x, y: Tensors, arrays or numbers; shapes that broadcast together.

    Returns:
        A Tensor of the broadcast shape. VJPs: g goes to the smaller operand; at ties each
        operand gets g / 2.
    """
    if not isinstance(x, Tensor):
        x = constant(x, "minimum")
    if not isinstance(y, Tensor):
        y = constant(y, "minimum")
    a, b = x.data, y.data
    try:
        out = np.minimum(a, b)
    except ValueError as err:
        raise _shape_error("minimum", a, b, err) from err
    return record(out, "minimum", (x, y), (partial(_d_loses, a, b), partial(_d_wins, a, b)), np.minimum)


def where(condition, x, y):
    """x where `condition` holds, else y (numpy.where), with broadcasting.

    Args:
        condition: a boolean array (or Tensor; comparisons of Tensors give arrays). It is a
            constant: no gradient flows to it.
        x, y: Tensors, arrays or numbers; shapes that broadcast with `condition`.

    Returns:
        A Tensor of the broadcast shape. VJPs: g where the condition picked that operand,
        else 0. To keep NaN out of gradients, guard the inputs of an unsafe branch with
        `where` too (the unpicked branch's VJP is 0, but 0 * NaN is NaN upstream).
    """
    x, y = as_tensor(x), as_tensor(y)
    # The condition is a third parent without a VJP (it gets no gradient): a constant, or a
    # comparison that `ad.trace` recorded, which a replay recomputes. np.where reads any
    # nonzero entry as true.
    c = condition if isinstance(condition, Tensor) else constant(np.asarray(condition, dtype=bool), "where")
    cond = c.data
    try:
        out = np.where(cond, x.data, y.data)
    except ValueError as err:
        raise ValueError(f"where: shapes {np.shape(cond)}, {x.shape} and {y.shape} do not broadcast") from err
    return record(out, "where", (x, y, c), (_bind(_d_where_x, cond), _bind(_d_where_y, cond)), _where)


def _where(a, b, cond):  # the replay's forward: the condition is the last parent
    return np.where(cond, a, b)


def _d_where_x(cond, g):
    return np.where(cond, g, 0.0)


def _d_where_y(cond, g):
    return np.where(cond, 0.0, g)


# -- reductions --------------------------------------------------------------------------------

def _axes(axis, ndim):
    """Normalise `axis` (None, int or tuple) to a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    try:
        return tuple(sorted(a % ndim if -ndim <= a < ndim else _bad_axis(a, ndim) for a in map(int, axes)))
    except ZeroDivisionError:
        raise ValueError(f"axis {axis} is out of range for a 0-d tensor") from None


def _bad_axis(a, ndim):
    raise ValueError(f"axis {a} is out of range for a tensor with {ndim} axes")


def _negative(axes, ndim):
    """Axes counted from the end: they name the same axes of a cotangent with lead axes."""
    return tuple(a - ndim for a in axes)


def _expand(g, axes, keepdims):
    """Re-insert reduced axes into a cotangent so it broadcasts against the input.

    `axes` are negative (`_negative`): numpy counts them from the end of the expanded result,
    so they land in the right place whether or not g has a stacked pass's lead axes."""
    return g if keepdims else np.expand_dims(g, axes)


def _lead_shape(g, out_ndim):
    """The lead axes of a stacked pass's cotangent g ((): an ordinary pass)."""
    return g.shape[:g.ndim - out_ndim]


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over `axis`.

    Args:
        x: a Tensor, array or number of shape (d_0, ..., d_{n-1}).
        axis: None (all axes), an int or a tuple of ints (negative counts from the end).
        keepdims: keep the summed axes with size 1.

    Returns:
        A Tensor with the summed axes removed (or of size 1 with keepdims). VJP: g copied
        back over the summed axes (d sum / d x_i = 1).
    """
    x = as_tensor(x)
    axes = _axes(axis, x.ndim)
    shape = x.shape
    out = np.sum(x.data, axis=axes, keepdims=keepdims)
    return record(out, "sum", (x,), (partial(_d_sum, shape, _negative(axes, x.ndim), keepdims, 1),),
                  partial(np.sum, axis=axes, keepdims=keepdims))


def _d_sum(shape, back, keepdims, count, g):
    """g copied back over the summed axes (divided by `count`, for a mean); broadcast_to needs the
    whole shape: a stacked pass's lead axes too."""
    g = _expand(g, back, keepdims)
    return np.broadcast_to(g / count if count != 1 else g,
                           shape if g.ndim == len(shape) else _lead_shape(g, len(shape)) + shape)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis`.

    Args:
        x: a Tensor, array or number of shape (d_0, ..., d_{n-1}).
        axis: None (all axes), an int or a tuple of ints.
        keepdims: keep the averaged axes with size 1.

    Returns:
        A Tensor with the averaged axes removed (or of size 1 with keepdims). VJP: g / count
        spread over the averaged axes, count = the number of entries averaged.
    """
    x = as_tensor(x)
    axes = _axes(axis, x.ndim)
    shape = x.shape
    count = int(np.prod([shape[a] for a in axes]))
    out = np.mean(x.data, axis=axes, keepdims=keepdims)
    return record(out, "mean", (x,), (partial(_d_sum, shape, _negative(axes, x.ndim), keepdims, count),),
                  partial(np.mean, axis=axes, keepdims=keepdims))


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over `axis`.

    Args:
        x: a Tensor, array or number of shape (d_0, ..., d_{n-1}).
        axis: None (all axes), an int or a tuple of ints.
        keepdims: keep the reduced axes with size 1.

    Returns:
        A Tensor with the reduced axes removed (or of size 1 with keepdims). VJP: g goes to
        the maximal entries, split equally between ties.
    """
    x = as_tensor(x)
    a = x.data
    axes = _axes(axis, x.ndim)
    out = np.max(a, axis=axes, keepdims=keepdims)
    return record(out, "max", (x,), (partial(_d_max, a, out, axes, keepdims),),
                  partial(np.max, axis=axes, keepdims=keepdims))


def _d_max(a, out, axes, keepdims, g):  # g to the maximal entries, split equally between ties
    hit = a == _expand(out, axes, keepdims)
    return _expand(g, _negative(axes, a.ndim), keepdims) * (hit / np.sum(hit, axis=axes, keepdims=True))


# -- shape ops ---------------------------------------------------------------------------------

def reshape(x, shape):
    """The same values in a new shape (numpy's rules, one -1 allowed).

    Args:
        x: a Tensor, array or number.
        shape: the new shape, with as many entries in all as x.

    Returns:
        A Tensor of `shape`. VJP: g reshaped back to x's shape.
    """
    x = as_tensor(x)
    old = x.shape
    try:
        out = x.data.reshape(shape)
    except ValueError as err:
        raise ValueError(f"reshape: cannot reshape {old} into {shape}") from err
    # ndarray.reshape, not np.reshape: the same view without its Python layer (a replay calls it)
    return record(out, "reshape", (x,), (partial(_d_reshape, old, out.ndim),), _bind(_reshaped, out.shape))


def _d_reshape(old, n, g):
    return g.reshape(old if g.ndim == n else _lead_shape(g, n) + old)


def transpose(x, axes=None):
    """Permute axes, as numpy.transpose.

    Args:
        x: a Tensor of any shape.
        axes: a permutation of range(x.ndim) (negative entries allowed), or None to reverse
            the axes.

    Returns:
        A Tensor with out.shape[i] = x.shape[axes[i]]. VJP: g transposed by the inverse
        permutation.
    """
    x = as_tensor(x)
    out = np.transpose(x.data, axes)
    n = x.ndim
    forward = tuple(range(n))[::-1] if axes is None else tuple(a % n for a in axes)
    inverse = tuple(np.argsort(forward).tolist())
    # ndarray.transpose, not np.transpose: the same view without its Python layer (a replay calls it)
    return record(out, "transpose", (x,), (_bind(_d_transpose, inverse),), _bind(_permute, forward))


def _reshaped(shape, a):
    return a.reshape(shape)


def _permute(axes, a):
    return a.transpose(axes)


def _d_transpose(inverse, g):  # a stacked pass's lead axes stay in front, unpermuted
    k = g.ndim - len(inverse)
    return g.transpose(inverse if not k else _behind(inverse, k))


@lru_cache(maxsize=256)
def _behind(axes: tuple, k: int) -> tuple:
    """A permutation of the last len(axes) axes, after k lead axes that stay in front."""
    return tuple(range(k)) + tuple(i + k for i in axes)


def swapaxes(x, axis1, axis2):
    """Exchange two axes (e.g. -1 and -2: a stack of matrix transposes).

    Args:
        x: a Tensor of any shape.
        axis1, axis2: the axes to exchange.

    Returns:
        A Tensor with those two axes exchanged. VJP: g with the same two axes exchanged back.
    """
    x = as_tensor(x)
    out = np.swapaxes(x.data, axis1, axis2)
    n = x.ndim
    i, j = axis1 % n - n, axis2 % n - n  # negative: the same axes of g with or without lead axes
    return record(out, "swapaxes", (x,), (partial(_d_swapaxes, i, j),), partial(np.swapaxes, axis1=axis1, axis2=axis2))


def _d_swapaxes(i, j, g):
    return np.swapaxes(g, i, j)


def broadcast_to(x, shape):
    """x repeated along broadcast axes, as numpy.broadcast_to.

    Args:
        x: a Tensor of a shape that broadcasts to `shape`.
        shape: the target shape.

    Returns:
        A Tensor of `shape` (a read-only view). VJP: g itself; the engine's `unbroadcast`
        sums it back to x's shape.
    """
    x = as_tensor(x)
    try:
        out = np.broadcast_to(x.data, shape)
    except ValueError as err:
        raise ValueError(f"broadcast_to: cannot broadcast {x.shape} to {tuple(shape)}") from err
    return record(out, "broadcast_to", (x,), (_identity,), partial(np.broadcast_to, shape=shape))


def _is_basic(index):
    """True when an index uses only ints, slices, None and Ellipsis (no repeated elements)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def getitem(x, index):
    """x[index]: basic indexing (ints, slices, None, Ellipsis) and integer or boolean arrays.

    Args:
        x: a Tensor of any shape.
        index: anything numpy accepts as an index; a Tensor index is used by value.

    Returns:
        A Tensor of numpy's result shape. VJP: g scattered into zeros of x's shape; entries
        picked several times by an integer-array index accumulate (numpy.add.at). When x
        already holds a cotangent, the engine scatters into it in place (`_Scatter`).

    Raises:
        IndexError: naming the index and x's shape.
    """
    x = as_tensor(x)
    if isinstance(index, Tensor):
        if _tensor._tape is not None and _tensor._tape.traces(index):
            raise TypeError("getitem: indexing by a Tensor while ad.trace records would freeze the index's value "
                            "into the replay; index by a constant array (or use ad.where)")
        index = index.data
    try:
        out = x.data[index]
    except IndexError as err:
        raise IndexError(f"getitem: index {index!r} is invalid for shape {x.shape}: {err}") from err
    # (partial, not _bind: an index may be None, which a method cannot be bound to)
    return record(out, "getitem", (x,), (_Scatter(x.data, index, out.ndim),), partial(_index, index))


def _index(index, a):
    return a[index]


class _Scatter:
    """The VJP of x[index]: the cotangent goes back to the indexed entries, zeros elsewhere.

    The engine prefers `scatter_into`, which adds into the parent's gradient buffer in place.
    In a stacked pass g and the buffer have lead axes in front: the index gets one `slice(None)`
    per lead axis. That is exact unless the index has array parts separated by a slice (then
    numpy moves the indexed axes first, in front of the lead axes too): those go row by row.
    """

    __slots__ = ("shape", "dtype", "index", "basic", "out_ndim")
    returns_new = True  # (`__call__` fills an array of its own: a leaf's later picks add into it)

    def __init__(self, x, index, out_ndim):
        self.shape, self.dtype, self.index, self.basic = x.shape, x.dtype, index, _is_basic(index)
        self.out_ndim = out_ndim

    def __call__(self, g):
        shape = self.shape if g.ndim == self.out_ndim else g.shape[:g.ndim - self.out_ndim] + self.shape
        full = np.zeros(shape, dtype=np.result_type(self.dtype, g.dtype))
        self.scatter_into(full, g)
        return full

    def scatter_into(self, buffer, g):
        k = g.ndim - self.out_ndim  # lead axes of a stacked pass
        if self.basic:
            buffer[(slice(None),) * k + _as_tuple(self.index) if k else self.index] += g
        elif not k:
            np.add.at(buffer, self.index, g)  # repeated indices add up
        elif _adjacent_arrays(self.index):
            np.add.at(buffer, (slice(None),) * k + _as_tuple(self.index), g)
        else:
            for row in np.ndindex(g.shape[:k]):
                np.add.at(buffer[row], self.index, g[row])


def _as_tuple(index):
    return index if isinstance(index, tuple) else (index,)


def _adjacent_arrays(index):
    """True when the index's array (and int) parts are next to each other, so numpy keeps the
    indexed axes in place (and slices put in front stay in front)."""
    parts = _as_tuple(index)
    fancy = [i for i, p in enumerate(parts) if not (p is None or p is Ellipsis or isinstance(p, slice))]
    return not fancy or fancy[-1] - fancy[0] == len(fancy) - 1


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis.

    Args:
        tensors: a sequence of k Tensors (or arrays, numbers), each of shape s.
        axis: where the new axis of size k goes in the result.

    Returns:
        A Tensor of shape s with k inserted at `axis`. VJPs: tensor i gets slice i of g
        along that axis.
    """
    tensors = tuple(as_tensor(t) for t in tensors)
    try:
        out = np.stack([t.data for t in tensors], axis=axis)
    except ValueError as err:
        raise ValueError(f"stack: shapes {[t.shape for t in tensors]} differ") from err
    negative = axis % out.ndim - out.ndim  # the same axis of g with or without lead axes
    # Slice i along that axis, indexed from the end (Ellipsis first) so lead axes pass through.
    after = (slice(None),) * (-negative - 1)
    vjps = tuple(partial(_index, (Ellipsis, i) + after) for i in range(len(tensors)))
    return record(out, "stack", tensors, vjps, _bind(_stack, axis))


def _stack(axis, *arrays):
    return np.stack(arrays, axis=axis)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis.

    Args:
        tensors: a sequence of Tensors (or arrays) whose shapes agree except along `axis`.
        axis: the axis to join along.

    Returns:
        A Tensor whose `axis` is the sum of the inputs' sizes there. VJPs: each input gets
        its own section of g along `axis`.
    """
    tensors = tuple(as_tensor(t) for t in tensors)
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError as err:
        raise ValueError(f"concatenate: shapes {[t.shape for t in tensors]} do not join on axis {axis}") from err
    axis = axis % out.ndim
    ends = np.cumsum([t.shape[axis] for t in tensors])
    starts = ends - [t.shape[axis] for t in tensors]
    # Sections indexed from the end (Ellipsis first), so a stacked pass's lead axes pass through.
    after = (slice(None),) * (out.ndim - 1 - axis)
    sections = [(Ellipsis, slice(lo, hi)) + after for lo, hi in zip(starts, ends)]
    return record(out, "concatenate", tensors, tuple(_bind(_index, s) for s in sections), _bind(_concatenate, axis))


def _concatenate(axis, *arrays):
    return np.concatenate(arrays, axis=axis)


# -- softmax family --------------------------------------------------------------------------

def logsumexp(x, axis=-1, keepdims=False):
    """log(sum(exp(x))) over `axis`, stable for large |x|.

    The max is subtracted before exponentiating, so logits of 1e4 give 1e4 + log(...),
    not inf.

    Args:
        x: a Tensor of any shape.
        axis: an int, a tuple of ints or None (all axes); default the last axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        A Tensor with the reduced axes removed (or of size 1 with keepdims). VJP:
        d/dx_i = softmax(x)_i, so g (broadcast back) * softmax(x).
    """
    x = as_tensor(x)
    a = x.data
    axes = _axes(axis, x.ndim)
    forward = partial(_logsumexp, axes, keepdims)
    out = forward(a)
    return record(out, "logsumexp", (x,), (partial(_d_logsumexp, a, out, axes, keepdims),), forward)


def _logsumexp(axes, keepdims, a):
    m = np.max(a, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out_keep = m + np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True))
    return out_keep if keepdims else np.squeeze(out_keep, axis=axes)


def _d_logsumexp(a, out, axes, keepdims, g):  # softmax(a) = e^(a - logsumexp a), from the output
    probs = np.exp(a - _expand(out, axes, keepdims))
    return _expand(g, _negative(axes, a.ndim), keepdims) * probs


def softmax(x, axis=-1):
    """e^x / sum(e^x) over `axis`, stable for large logits.

    Args:
        x: a Tensor of any shape.
        axis: the axis (or axes) normalised over; default the last.

    Returns:
        A Tensor a of x's shape, positive, summing to 1 over `axis`. VJP: the Jacobian is
        d a_i / d x_j = a_i (delta_ij - a_j), so vjp(g) = a * (g - sum(g * a)).
    """
    x = as_tensor(x)
    a = x.data
    out = _softmax(axis, a)
    back = _negative(_axes(axis, a.ndim), a.ndim)  # negative axes: g may have lead axes
    return record(out, "softmax", (x,), (partial(_d_softmax, out, back),), partial(_softmax, axis))


def _softmax(axis, a):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _d_softmax(out, back, g):
    return out * (g - np.sum(g * out, axis=back, keepdims=True))


def log_softmax(x, axis=-1):
    """x - logsumexp(x) over `axis`: the log of softmax, without its underflow.

    Args:
        x: a Tensor of any shape.
        axis: the axis (or axes) normalised over; default the last.

    Returns:
        A Tensor of x's shape. VJP: d out_i / d x_j = delta_ij - softmax(x)_j, so
        vjp(g) = g - softmax(x) * sum(g).
    """
    x = as_tensor(x)
    a = x.data
    out = _log_softmax(axis, a)
    back = _negative(_axes(axis, a.ndim), a.ndim)  # negative axes: g may have lead axes
    return record(out, "log_softmax", (x,), (partial(_d_log_softmax, out, back),), partial(_log_softmax, axis))


def _log_softmax(axis, a):
    shifted = a - np.max(a, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _d_log_softmax(out, back, g):  # probabilities = e^out
    return g - np.exp(out) * np.sum(g, axis=back, keepdims=True)


# -- Tensor operators ------------------------------------------------------------------------

def _comparison(ufunc):
    def compare(self, other):
        if _tensor._tape is None:
            return ufunc(self.data, other.data if isinstance(other, Tensor) else other)
        other = other if isinstance(other, Tensor) else constant(other, ufunc.__name__)
        return record(ufunc(self.data, other.data), ufunc.__name__, (self, other), (), ufunc)
    return compare


def _logical(ufunc):
    def logic(self, other):
        other = other if isinstance(other, Tensor) else constant(np.asarray(other, dtype=bool), ufunc.__name__)
        return record(ufunc(self.data, other.data), ufunc.__name__, (self, other), (), ufunc)
    return logic


def _truth(self):
    """bool(t), as numpy's bool of the value; refused while `ad.trace` records, where a Python
    branch on a value would be frozen into the replay."""
    if _tensor._tape is not None and _tensor._tape.traces(self):
        raise TypeError("bool() of a Tensor while ad.trace records: a Python branch on a value would be "
                        "replayed as recorded; use ad.where(condition, a, b) instead")
    return bool(self.data)


def _reflected(op):
    return lambda self, other: op(other, self)


def _install_operators():
    T = Tensor
    T.__add__, T.__radd__ = add, _reflected(add)
    T.__sub__, T.__rsub__ = sub, _reflected(sub)
    T.__mul__, T.__rmul__ = mul, _reflected(mul)
    T.__truediv__, T.__rtruediv__ = div, _reflected(div)
    T.__pow__, T.__rpow__ = power, _reflected(power)
    T.__matmul__, T.__rmatmul__ = matmul, _reflected(matmul)
    T.__neg__ = neg
    T.__pos__ = lambda self: self
    T.__abs__ = abs
    T.__getitem__ = getitem
    # Comparisons give plain boolean arrays: they have no gradient and build no graph -- except
    # while `ad.trace` records, when they are boolean Tensors, so that a replay recomputes them.
    for name in ("lt", "le", "gt", "ge", "eq", "ne"):
        ufunc = getattr(np, {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
                             "eq": "equal", "ne": "not_equal"}[name])
        setattr(T, f"__{name}__", _comparison(ufunc))
    # Logic on boolean Tensors (traced comparisons): and, or, xor, not, without gradients.
    T.__and__, T.__or__, T.__xor__ = (_logical(f) for f in (np.logical_and, np.logical_or, np.logical_xor))
    T.__rand__, T.__ror__, T.__rxor__ = T.__and__, T.__or__, T.__xor__
    T.__invert__ = lambda self: record(np.logical_not(self.data), "logical_not", (self,), (), np.logical_not)
    T.__bool__ = _truth
    T.__hash__ = object.__hash__
    T.T = property(lambda self: transpose(self), doc="All axes reversed, as numpy's .T.")
    T.mT = property(lambda self: swapaxes(self, -1, -2), doc="The last two axes swapped (matrix transpose).")
    for name in ("sum", "mean", "max", "reshape", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu"):
        setattr(T, name, globals()[name])
    T.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape)
    T.transpose = lambda self, *axes: transpose(self, (axes[0] if len(axes) == 1 else axes) or None)


_install_operators()
