"""Function transforms on top of the tape: grad, value_and_grad, vjp, jacobian.

Each takes a function of Tensors and returns numpy results. Arguments are wrapped as fresh
float64 leaves, so the caller's arrays are never modified and no gradient leaks between calls.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor

__all__ = ["grad", "value_and_grad", "vjp", "jacobian"]


def _leaves(args, argnums):
    """Wrap the arguments picked by `argnums` as float64 leaves that require grad."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -len(args) <= i < len(args):
            raise ValueError(f"argnums {argnums} is out of range for {len(args)} positional arguments")
    nums = tuple(i % len(args) for i in nums)
    wrapped = list(args)
    for i in nums:
        value = args[i].data if isinstance(args[i], Tensor) else args[i]
        wrapped[i] = Tensor(np.array(value, dtype=np.float64), requires_grad=True)
    return wrapped, nums


def _scalar(out, name):
    if not isinstance(out, Tensor) or out.size != 1:
        shape = out.shape if isinstance(out, Tensor) else type(out).__name__
        raise TypeError(f"{name}: the function must return a one-element Tensor, got {shape}")
    return out


def value_and_grad(f, argnums=0):
    """Make a function returning (f(*args), df/dargs) for a scalar-valued f.

    Args:
        f: maps Tensors to a one-element Tensor.
        argnums: index, or tuple of indices, of the arguments to differentiate.

    Returns:
        A function of the same arguments giving (value as float, gradient). The gradient has
        the argument's shape; with a tuple `argnums` it is a tuple of gradients.

    Example:
        >>> import autodiff as ad
        >>> ad.value_and_grad(lambda x: (x * x).sum())(np.array([1.0, 3.0]))
        (10.0, array([2., 6.]))
    """

    def wrapped(*args):
        leaves, nums = _leaves(args, argnums)
        out = _scalar(f(*leaves), "value_and_grad")
        if out.requires_grad:
            out.backward()
        grads = tuple(_grad_of(leaves[i]) for i in nums)
        return out.data.item(), grads[0] if isinstance(argnums, int) else grads

    return wrapped


def grad(f, argnums=0):
    """Make a function returning the gradient of scalar-valued `f` (see `value_and_grad`)."""
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]


def _grad_of(leaf):
    return np.zeros_like(leaf.data) if leaf.grad is None else leaf.grad


def vjp(f, *args):
    """Evaluate f(*args) and return its value with a function pulling cotangents back.

    Args:
        f: maps Tensors to a Tensor.
        *args: the inputs (arrays or Tensors); gradients are taken with respect to all of them.

    Returns:
        (value, pullback): `value` is f's output as an array; `pullback(v)` takes a cotangent of
        that shape and returns a tuple with one array per argument. It may be called many times.
    """
    leaves, nums = _leaves(args, tuple(range(len(args))))
    out = f(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"vjp: the function must return a Tensor, got {type(out).__name__}")

    def pullback(v):
        for leaf in leaves:
            leaf.grad = None
        if out.requires_grad:
            out.backward(v, retain_graph=True)
        elif np.shape(v) != out.shape:
            raise ValueError(f"vjp: cotangent has shape {np.shape(v)}, expected {out.shape}")
        return tuple(_grad_of(leaf) for leaf in leaves)

    return out.data, pullback


def jacobian(f, argnums=0, batched=False):
    """Make a function returning the Jacobian of `f` by one backward pass per output element.

    Args:
        f: maps Tensors to a Tensor.
        argnums: which argument to differentiate (an int).
        batched: when True, axis 0 of the argument and of the output indexes independent
            problems (row b of the output depends only on row b of the input). The cotangent
            of output element j is then set in every row at once, so an output of shape
            (B, m) costs m backward passes rather than B*m.

    Returns:
        A function giving an array of shape out.shape + arg.shape, or, batched,
        (B,) + out.shape[1:] + arg.shape[1:].
    """
    if not isinstance(argnums, int):
        raise TypeError(f"jacobian: argnums must be an int, got {argnums!r}")

    def wrapped(*args):
        leaves, (i,) = _leaves(args, argnums)
        x = leaves[i]
        out = f(*leaves)
        if not isinstance(out, Tensor):
            raise TypeError(f"jacobian: the function must return a Tensor, got {type(out).__name__}")
        if batched:
            if out.ndim == 0 or x.ndim == 0 or out.shape[0] != x.shape[0]:
                raise ValueError(
                    f"jacobian(batched=True): output {out.shape} and argument {x.shape} must share axis 0"
                )
            rows, out_tail, in_tail = out.shape[0], out.shape[1:], x.shape[1:]
            jac = np.zeros((rows, int(np.prod(out_tail)), int(np.prod(in_tail))))
            for j in range(jac.shape[1]):
                seed = np.zeros((rows, jac.shape[1]))
                seed[:, j] = 1.0
                jac[:, j] = _pull(out, x, seed.reshape(out.shape)).reshape(rows, -1)
            return jac.reshape((rows,) + out_tail + in_tail)
        jac = np.zeros((out.size, x.size))
        for j in range(out.size):
            seed = np.zeros(out.size)
            seed[j] = 1.0
            jac[j] = _pull(out, x, seed.reshape(out.shape)).ravel()
        return jac.reshape(out.shape + x.shape)

    return wrapped


def _pull(out, x, seed):
    """Cotangent of `x` for the output cotangent `seed`, keeping the graph for the next pass."""
    x.grad = None
    if out.requires_grad:
        out.backward(seed, retain_graph=True)
    return _grad_of(x)
