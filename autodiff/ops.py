"""Differentiable ops: each computes its value with numpy and states its VJPs beside it.

Conventions: `g` is the cotangent of the op's output (same shape as the output); each VJP
returns the cotangent of one input, either in that input's shape or in the broadcast shape --
the engine's `unbroadcast` sums it back down, so no op handles broadcasting itself. Inputs may
be Tensors, numpy arrays or Python numbers; non-Tensors are constants.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor, as_tensor, record

__all__ = [
    "add", "sub", "mul", "div", "neg", "power", "matmul",
    "exp", "log", "sqrt", "abs", "sin", "cos", "arctan2", "tanh", "sigmoid", "relu",
    "maximum", "minimum", "where",
    "sum", "mean", "max", "reshape", "transpose", "swapaxes", "broadcast_to", "getitem",
    "stack", "concatenate", "softmax", "log_softmax", "logsumexp",
]


def _broadcast(name, f, a, b):
    """Apply a binary numpy ufunc, naming the op and the shapes when they do not broadcast."""
    try:
        return f(a, b)
    except ValueError as err:
        raise ValueError(f"{name}: shapes {np.shape(a)} and {np.shape(b)} do not broadcast") from err


# -- arithmetic ------------------------------------------------------------------------------

def add(x, y):
    """x + y, broadcasting."""
    x, y = as_tensor(x), as_tensor(y)
    return record(_broadcast("add", np.add, x.data, y.data), "add", (x, y), (_identity, _identity))


def sub(x, y):
    """x - y, broadcasting."""
    x, y = as_tensor(x), as_tensor(y)
    return record(_broadcast("sub", np.subtract, x.data, y.data), "sub", (x, y), (_identity, np.negative))


def mul(x, y):
    """x * y elementwise, broadcasting."""
    x, y = as_tensor(x), as_tensor(y)
    a, b = x.data, y.data
    return record(_broadcast("mul", np.multiply, a, b), "mul", (x, y), (lambda g: g * b, lambda g: g * a))


def div(x, y):
    """x / y elementwise, broadcasting. d/dy = -x / y^2 = -out / y."""
    x, y = as_tensor(x), as_tensor(y)
    a, b = x.data, y.data
    out = _broadcast("div", np.divide, a, b)
    return record(out, "div", (x, y), (lambda g: g / b, lambda g: -g * out / b))


def neg(x):
    """-x."""
    x = as_tensor(x)
    return record(-x.data, "neg", (x,), (np.negative,))


def power(x, y):
    """x ** y elementwise. d/dx = y x^(y-1); d/dy = x^y log x (defined for x > 0)."""
    x, y = as_tensor(x), as_tensor(y)
    a, b = x.data, y.data
    out = _broadcast("power", np.power, a, b)

    def vjp_y(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * out * np.where(a > 0, np.log(np.where(a > 0, a, 1.0)), np.nan)

    return record(out, "power", (x, y), (lambda g: g * b * np.power(a, b - 1), vjp_y))


def _identity(g):
    return g


# -- matrix product ----------------------------------------------------------------------------

def matmul(x, y):
    """x @ y with numpy's rules: vectors, matrices and broadcast stacks of matrices.

    For matrices, vjp(v, X) = v @ Y^T and vjp(v, Y) = X^T @ v. A 1-D operand is treated as a
    row (left) or column (right) matrix whose added axis is dropped from the result, so the
    same two products serve every case.
    """
    x, y = as_tensor(x), as_tensor(y)
    a, b = x.data, y.data
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one axis, got shapes {a.shape} and {b.shape}")
    try:
        out = a @ b
    except ValueError as err:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned") from err
    a2 = a[None, :] if a.ndim == 1 else a  # (..., m, k)
    b2 = b[:, None] if b.ndim == 1 else b  # (..., k, n)

    def as_2d(g):  # cotangent in the (..., m, n) layout of a2 @ b2
        if a.ndim == 1:
            g = g[..., None, :]
        if b.ndim == 1:
            g = g[..., None]
        return g

    def vjp_x(g):
        gx = as_2d(g) @ np.swapaxes(b2, -1, -2)
        return gx[..., 0, :] if a.ndim == 1 else gx

    def vjp_y(g):
        g2 = as_2d(g)
        if b2.ndim == 2 and a2.ndim > 2:  # constant-shaped right operand: one flat product
            gy = a2.reshape(-1, a2.shape[-1]).T @ g2.reshape(-1, g2.shape[-1])
        else:
            gy = np.swapaxes(a2, -1, -2) @ g2
        return gy[..., 0] if b.ndim == 1 else gy

    return record(out, "matmul", (x, y), (vjp_x, vjp_y))


# -- elementwise functions ---------------------------------------------------------------------

def exp(x):
    """e^x; its derivative is its value."""
    x = as_tensor(x)
    out = np.exp(x.data)
    return record(out, "exp", (x,), (lambda g: g * out,))


def log(x):
    """Natural log; d/dx = 1/x."""
    x = as_tensor(x)
    a = x.data
    return record(np.log(a), "log", (x,), (lambda g: g / a,))


def sqrt(x):
    """Square root; d/dx = 1 / (2 sqrt x)."""
    x = as_tensor(x)
    out = np.sqrt(x.data)
    return record(out, "sqrt", (x,), (lambda g: g * 0.5 / out,))


def abs(x):  # noqa: A001 - the public name mirrors numpy's
    """|x|; d/dx = sign(x) (0 at 0)."""
    x = as_tensor(x)
    a = x.data
    return record(np.abs(a), "abs", (x,), (lambda g: g * np.sign(a),))


def sin(x):
    """sin x; d/dx = cos x."""
    x = as_tensor(x)
    a = x.data
    return record(np.sin(a), "sin", (x,), (lambda g: g * np.cos(a),))


def cos(x):
    """cos x; d/dx = -sin x."""
    x = as_tensor(x)
    a = x.data
    return record(np.cos(a), "cos", (x,), (lambda g: -g * np.sin(a),))


def tanh(x):
    """tanh x; d/dx = 1 - tanh^2 x (the closed form 4e^(2x)/(e^(2x)+1)^2 overflows)."""
    x = as_tensor(x)
    out = np.tanh(x.data)
    return record(out, "tanh", (x,), (lambda g: g * (1.0 - out * out),))


def sigmoid(x):
    """1 / (1 + e^(-x)), evaluated without overflow; d/dx = s (1 - s)."""
    x = as_tensor(x)
    a = x.data
    e = np.exp(-np.abs(a))  # in (0, 1]: never overflows
    out = np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return record(out, "sigmoid", (x,), (lambda g: g * out * (1.0 - out),))


def arctan2(y, x):
    """Angle of the point (x, y), in (-pi, pi]; d/dy = x / r², d/dx = -y / r² with r² = x² + y²."""
    y, x = as_tensor(y), as_tensor(x)
    b, a = y.data, x.data
    out = _broadcast("arctan2", np.arctan2, b, a)
    r2 = a * a + b * b
    return record(out, "arctan2", (y, x), (lambda g: g * a / r2, lambda g: -g * b / r2))


def relu(x):
    """max(x, 0); d/dx = 1 where x > 0, else 0."""
    x = as_tensor(x)
    a = x.data
    return record(np.maximum(a, 0.0), "relu", (x,), (lambda g: g * (a > 0),))


def maximum(x, y):
    """Elementwise max; at ties the gradient is split equally."""
    x, y = as_tensor(x), as_tensor(y)
    a, b = x.data, y.data
    out = _broadcast("maximum", np.maximum, a, b)
    share = np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))
    return record(out, "maximum", (x, y), (lambda g: g * share, lambda g: g * (1.0 - share)))


def minimum(x, y):
    """Elementwise min; at ties the gradient is split equally."""
    x, y = as_tensor(x), as_tensor(y)
    a, b = x.data, y.data
    out = _broadcast("minimum", np.minimum, a, b)
    share = np.where(a < b, 1.0, np.where(a == b, 0.5, 0.0))
    return record(out, "minimum", (x, y), (lambda g: g * share, lambda g: g * (1.0 - share)))


def where(condition, x, y):
    """x where `condition` (a plain boolean array) holds, else y; gradients follow the choice."""
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    x, y = as_tensor(x), as_tensor(y)
    try:
        out = np.where(cond, x.data, y.data)
    except ValueError as err:
        raise ValueError(f"where: shapes {cond.shape}, {x.shape} and {y.shape} do not broadcast") from err
    return record(out, "where", (x, y), (lambda g: np.where(cond, g, 0.0), lambda g: np.where(cond, 0.0, g)))


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


def _expand(g, axes, keepdims):
    """Re-insert reduced axes into a cotangent so it broadcasts against the input."""
    return g if keepdims else np.expand_dims(g, axes)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over `axis` (None: all axes); the gradient is copied back over the summed axes."""
    x = as_tensor(x)
    axes = _axes(axis, x.ndim)
    shape = x.shape
    out = np.sum(x.data, axis=axes, keepdims=keepdims)
    return record(out, "sum", (x,), (lambda g: np.broadcast_to(_expand(g, axes, keepdims), shape),))


def mean(x, axis=None, keepdims=False):
    """Mean over `axis`; the gradient is spread evenly, 1/count each."""
    x = as_tensor(x)
    axes = _axes(axis, x.ndim)
    shape = x.shape
    count = int(np.prod([shape[a] for a in axes]))
    out = np.mean(x.data, axis=axes, keepdims=keepdims)
    return record(out, "mean", (x,), (lambda g: np.broadcast_to(_expand(g, axes, keepdims) / count, shape),))


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over `axis`; the gradient goes to the maximal entries, split equally at ties."""
    x = as_tensor(x)
    a = x.data
    axes = _axes(axis, x.ndim)
    out = np.max(a, axis=axes, keepdims=keepdims)
    hit = a == _expand(out, axes, keepdims)
    share = hit / np.sum(hit, axis=axes, keepdims=True)
    return record(out, "max", (x,), (lambda g: _expand(g, axes, keepdims) * share,))


# -- shape ops ---------------------------------------------------------------------------------

def reshape(x, shape):
    """The same values in a new shape (numpy's rules, -1 allowed)."""
    x = as_tensor(x)
    old = x.shape
    try:
        out = x.data.reshape(shape)
    except ValueError as err:
        raise ValueError(f"reshape: cannot reshape {old} into {shape}") from err
    return record(out, "reshape", (x,), (lambda g: g.reshape(old),))


def transpose(x, axes=None):
    """Permute axes (default: reverse them, as numpy does); the VJP applies the inverse."""
    x = as_tensor(x)
    out = np.transpose(x.data, axes)
    inverse = None if axes is None else np.argsort([a % x.ndim for a in axes])
    return record(out, "transpose", (x,), (lambda g: np.transpose(g, inverse),))


def swapaxes(x, axis1, axis2):
    """Exchange two axes (e.g. -1, -2 for a stack of matrix transposes)."""
    x = as_tensor(x)
    return record(np.swapaxes(x.data, axis1, axis2), "swapaxes", (x,), (lambda g: np.swapaxes(g, axis1, axis2),))


def broadcast_to(x, shape):
    """x repeated along broadcast axes; the engine sums the cotangent back."""
    x = as_tensor(x)
    try:
        out = np.broadcast_to(x.data, shape)
    except ValueError as err:
        raise ValueError(f"broadcast_to: cannot broadcast {x.shape} to {tuple(shape)}") from err
    return record(out, "broadcast_to", (x,), (_identity,))


def _is_basic(index):
    """True when an index uses only ints, slices, None and Ellipsis (no repeated elements)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def getitem(x, index):
    """x[index] for basic and integer-array indices; repeated indices accumulate in backward."""
    x = as_tensor(x)
    if isinstance(index, Tensor):
        index = index.data
    try:
        out = x.data[index]
    except IndexError as err:
        raise IndexError(f"getitem: index {index!r} is invalid for shape {x.shape}: {err}") from err
    return record(out, "getitem", (x,), (_Scatter(x.data, index),))


class _Scatter:
    """The VJP of x[index]: the cotangent goes back to the indexed entries, zeros elsewhere.

    The engine prefers `scatter_into`, which adds into the parent's gradient buffer in place.
    """

    __slots__ = ("shape", "dtype", "index", "basic")

    def __init__(self, x, index):
        self.shape, self.dtype, self.index, self.basic = x.shape, x.dtype, index, _is_basic(index)

    def __call__(self, g):
        full = np.zeros(self.shape, dtype=np.result_type(self.dtype, g.dtype))
        self.scatter_into(full, g)
        return full

    def scatter_into(self, buffer, g):
        if self.basic:
            buffer[self.index] += g
        else:
            np.add.at(buffer, self.index, g)  # repeated indices add up


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis; each gets its slice of the cotangent back."""
    tensors = tuple(as_tensor(t) for t in tensors)
    try:
        out = np.stack([t.data for t in tensors], axis=axis)
    except ValueError as err:
        raise ValueError(f"stack: shapes {[t.shape for t in tensors]} differ") from err
    axis = axis % out.ndim
    vjps = tuple((lambda g, i=i: np.take(g, i, axis=axis)) for i in range(len(tensors)))
    return record(out, "stack", tensors, vjps)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis; each gets its section of the cotangent back."""
    tensors = tuple(as_tensor(t) for t in tensors)
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError as err:
        raise ValueError(f"concatenate: shapes {[t.shape for t in tensors]} do not join on axis {axis}") from err
    axis = axis % out.ndim
    ends = np.cumsum([t.shape[axis] for t in tensors])
    starts = ends - [t.shape[axis] for t in tensors]
    index = lambda lo, hi: (slice(None),) * axis + (slice(lo, hi),)  # noqa: E731
    vjps = tuple((lambda g, s=index(lo, hi): g[s]) for lo, hi in zip(starts, ends))
    return record(out, "concatenate", tensors, vjps)


# -- softmax family --------------------------------------------------------------------------

def logsumexp(x, axis=-1, keepdims=False):
    """log sum exp x over `axis`, shifted by the max so logits of 1e4 stay finite.

    d/dx_i = softmax(x)_i.
    """
    x = as_tensor(x)
    a = x.data
    axes = _axes(axis, x.ndim)
    m = np.max(a, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(a - m)
    s = np.sum(e, axis=axes, keepdims=True)
    out_keep = m + np.log(s)
    out = out_keep if keepdims else np.squeeze(out_keep, axis=axes)
    probs = e / s
    return record(out, "logsumexp", (x,), (lambda g: _expand(g, axes, keepdims) * probs,))


def softmax(x, axis=-1):
    """e^x / sum e^x over `axis`, stable for large logits.

    Jacobian: d a_i / d x_j = a_i (delta_ij - a_j), so vjp(g) = a * (g - sum(g * a)).
    """
    x = as_tensor(x)
    a = x.data
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    out = e / np.sum(e, axis=axis, keepdims=True)
    return record(out, "softmax", (x,), (lambda g: out * (g - np.sum(g * out, axis=axis, keepdims=True)),))


def log_softmax(x, axis=-1):
    """x - logsumexp(x) over `axis`; vjp(g) = g - softmax(x) * sum(g)."""
    x = as_tensor(x)
    a = x.data
    shifted = a - np.max(a, axis=axis, keepdims=True)
    lse = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    out = shifted - lse
    probs = np.exp(out)
    return record(out, "log_softmax", (x,), (lambda g: g - probs * np.sum(g, axis=axis, keepdims=True),))


# -- Tensor operators ------------------------------------------------------------------------

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
    # Comparisons give plain boolean arrays: they have no gradient and build no graph.
    for name in ("lt", "le", "gt", "ge", "eq", "ne"):
        ufunc = getattr(np, {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
                             "eq": "equal", "ne": "not_equal"}[name])
        setattr(T, f"__{name}__", lambda self, other, f=ufunc: f(self.data, other.data if isinstance(other, T) else other))
    T.__hash__ = object.__hash__
    T.T = property(lambda self: transpose(self), doc="All axes reversed, as numpy's .T.")
    T.mT = property(lambda self: swapaxes(self, -1, -2), doc="The last two axes swapped (matrix transpose).")
    for name in ("sum", "mean", "max", "reshape", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu"):
        setattr(T, name, globals()[name])
    T.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape)
    T.transpose = lambda self, *axes: transpose(self, (axes[0] if len(axes) == 1 else axes) or None)


_install_operators()
