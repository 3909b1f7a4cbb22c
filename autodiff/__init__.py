"""autodiff: a small reverse-mode automatic differentiation engine on numpy.

Glossary: x, y inputs; g the cotangent flowing backward (d loss / d output); VJP the
vector-Jacobian product g -> g J that each op defines next to its value; leaf a tensor the user
made; tape the graph of nodes an output records.

Example:
    >>> import numpy as np, autodiff as ad
    >>> w = ad.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    >>> loss = ad.sum(ad.tanh(w) ** 2)
    >>> loss.backward()
    >>> np.round(w.grad, 4)
    array([ 0.6397, -0.1362])
"""

from . import data, files, losses, memory, nn, optim, viz
from .checker import GradientCheckError, check_grads, numerical_jacobian
from .ops import (
    abs, add, arctan2, broadcast_to, concatenate, cos, cos_sin, cummatmul, div, exp, getitem, log, log_softmax, logdet,
    logsumexp, matmul, max, maximum, mean, minimum, mul, neg, power, relu, reshape, sigmoid, sin, softmax, sqrt,
    stack, sub, sum, swapaxes, tanh, transpose, where,
)
from .tensor import Tensor, as_tensor, enable_grad, is_grad_enabled, no_grad, unbroadcast
from .trace import Traced, trace
from .transforms import grad, jacobian, value_and_grad, vjp

__version__ = "0.1.0"

memory.configure()  # glibc keeps the arrays numpy frees: the one place that decides (autodiff.memory)

__all__ = [
    "Tensor", "as_tensor", "no_grad", "enable_grad", "is_grad_enabled", "unbroadcast",
    "add", "sub", "mul", "div", "neg", "power", "matmul", "exp", "log", "sqrt", "abs", "sin", "cos", "cos_sin",
    "arctan2", "tanh", "sigmoid", "relu", "maximum", "minimum", "where", "sum", "mean", "max", "reshape",
    "transpose", "swapaxes", "broadcast_to", "getitem", "stack", "concatenate", "softmax",
    "log_softmax", "logsumexp", "logdet", "cummatmul", "grad", "value_and_grad", "vjp", "jacobian", "check_grads",
    "numerical_jacobian", "GradientCheckError", "trace", "Traced", "losses", "nn", "optim", "data", "viz", "files",
    "memory",
]
