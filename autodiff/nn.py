"""Neural-network building blocks on the engine: `Module`, `Linear`, `MLP`, `Sequential`.

Glossary: x inputs (N, n_in); W weights (n_in, n_out); b bias (n_out,); y = x @ W + b outputs
(N, n_out); g the cotangent of y.

A `Module` owns parameters (leaf Tensors with requires_grad=True) and sub-modules, found by
looking at its attributes in the order they were set (lists and tuples of modules count too).
`state_dict()` maps dotted names such as ``"layers.0.weight"`` to copies of the arrays; `save`
and `load` write and read them as one ``.npz`` file.

Initialisation (`Linear(..., init=...)`; biases start at zero):
    "he"      normal with std sqrt(2 / n_in) (He et al. 2015): keeps the variance of activations
              constant through ReLU layers, which zero half their inputs.
    "xavier"  uniform on [-a, a], a = sqrt(6 / (n_in + n_out)) (Glorot & Bengio 2010): for
              tanh, sigmoid and linear layers.
`MLP` uses "he" for layers followed by ReLU and "xavier" for the others (tanh, sigmoid, and the
output layer); a bare `Linear` defaults to "xavier".

Example:
    >>> import numpy as np, autodiff as ad
    >>> model = ad.nn.MLP([2, 16, 3], activation="relu", seed=0)
    >>> logits = model(np.zeros((5, 2)))
    >>> logits.shape
    (5, 3)
    >>> [name for name, _ in model.named_parameters()]
    ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']
"""

from __future__ import annotations

import os
from functools import partial

import numpy as np

from . import ops
from .files import atomic_output
from .tensor import Tensor, as_tensor, record, returns_new

__all__ = [
    "Module", "Linear", "MLP", "Sequential", "ReLU", "Tanh", "Sigmoid", "Identity",
    "linear", "ACTIVATIONS", "load_state",
]


class Module:
    """Base class: parameters, sub-modules, train/eval mode, state dicts and .npz files.

    Subclasses set their parameters and sub-modules as attributes in `__init__` (after calling
    `super().__init__()`) and define `forward`; calling the module calls `forward`.
    """

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- structure ---------------------------------------------------------------------------
    def _children(self):
        """(name, value) for every parameter and sub-module attribute, in definition order."""
        for name, value in vars(self).items():
            if isinstance(value, (Module, Tensor)):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, (Module, Tensor)) for v in value):
                for i, item in enumerate(value):
                    yield f"{name}.{i}", item

    def named_parameters(self, prefix: str = ""):
        """Yield (dotted name, Tensor) for every parameter, depth first, in definition order."""
        seen = set()
        for name, value in self._children():
            full = f"{prefix}{name}"
            if isinstance(value, Module):
                for sub_name, p in value.named_parameters(prefix=f"{full}."):
                    if id(p) not in seen:
                        seen.add(id(p))
                        yield sub_name, p
            elif value.requires_grad and id(value) not in seen:
                seen.add(id(value))
                yield full, value

    def parameters(self) -> list:
        """The parameters (leaf Tensors with requires_grad=True) as a list."""
        return [p for _, p in self.named_parameters()]

    def modules(self):
        """Yield this module and every sub-module, depth first."""
        yield self
        for _, value in self._children():
            if isinstance(value, Module):
                yield from value.modules()

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and its sub-modules; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (`train(False)`); returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's accumulated gradient."""
        for p in self.parameters():
            p.grad = None

    def num_parameters(self) -> int:
        """Total number of scalar parameters."""
        return int(sum(p.data.size for p in self.parameters()))

    # -- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Dotted parameter name -> a copy of its array."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state, strict: bool = True) -> None:
        """Copy arrays into the parameters, in place.

        Args:
            state: mapping from dotted names (as `state_dict()` gives) to arrays.
            strict: require exactly the same names; otherwise copy the names both have.

        Raises:
            KeyError: strict and the names differ (the message lists missing and unexpected).
            ValueError: an array has the wrong shape.
        """
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict: parameter names differ: missing {missing or 'none'}, "
                f"unexpected {unexpected or 'none'}"
            )
        for name, p in own.items():
            if name not in state:
                continue
            value = np.asarray(state[name])
            if value.shape != p.data.shape:
                raise ValueError(
                    f"load_state_dict: {name} has shape {value.shape}, the model expects {p.data.shape}"
                )
            np.copyto(p.data, value, casting="same_kind")

    def save(self, path) -> str:
        """Write `state_dict()` to an .npz file (the suffix is added if missing); returns the path."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        with atomic_output(path) as tmp:  # a full disk leaves the old file, never half a new one
            np.savez(tmp, **self.state_dict())
        return path

    def load(self, path, strict: bool = True) -> Module:
        """Load parameters saved by `save` into this module (same architecture); returns self."""
        self.load_state_dict(load_state(path), strict=strict)
        return self

    def __repr__(self) -> str:
        inner = [f"  ({name}): {value!r}".replace("\n", "\n  ")
                 for name, value in self._children() if isinstance(value, Module)]
        if not inner:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(inner) + "\n)"

    def extra_repr(self) -> str:
        return ""


def load_state(path) -> dict:
    """Read an .npz file written by `Module.save` into a dict of arrays.

    Raises:
        FileNotFoundError: naming the path.
    """
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path += ".npz"
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_state: no parameter file at {path}")
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


# -- the fused affine op -------------------------------------------------------------------------

def linear(x, weight, bias=None, relu: bool = False):
    """y = x @ W + b in one graph node; with relu=True, y = max(x @ W + b, 0), still one node.

    One node instead of matmul + add (+ relu): less bookkeeping, no broadcast reduction for b,
    the bias and the ReLU applied in place. VJPs, with g the output's cotangent (masked by
    y > 0 first when relu=True): g @ Wᵀ for x, xᵀ @ g for W, the column sums of g for b.

    Args:
        x: (N, n_in) or (n_in,) inputs; extra leading axes are allowed, (..., n_in).
        weight: (n_in, n_out).
        bias: (n_out,) or None.
        relu: apply max(., 0) to the result.

    Returns:
        (..., n_out) Tensor.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    a, w = x.data, weight.data
    if w.ndim != 2 or a.ndim == 0 or a.shape[-1] != w.shape[0]:
        raise ValueError(f"linear: inputs of shape {a.shape} do not fit weights of shape {w.shape}")
    out = a @ w
    if bias is None:
        parents = (x, weight)
    else:
        bias = as_tensor(bias)
        out += bias.data
        parents = (x, weight, bias)
    if relu:
        np.maximum(out, 0.0, out=out)
    vjps = tuple(partial(rule, a, w, out, relu) for rule in (_d_linear_x, _d_linear_w, _d_linear_b)[:len(parents)])
    return record(out, "linear_relu" if relu else "linear", parents, vjps, partial(_linear, relu))


def _linear(relu, a, w, b=None):
    """The replay's forward of `linear`: the same numpy calls, in the same order."""
    out = a @ w
    if b is not None:
        out += b
    if relu:
        np.maximum(out, 0.0, out=out)
    return out


# The VJPs. g is masked by y > 0 first when relu=True. A stacked backward pass gives g lead axes
# in front, lead + out.shape: the products keep them apart, (n_in, N) @ (..., N, n_out), and the
# bias sums only over the rows.

@returns_new
def _d_linear_x(a, w, out, relu, g):
    return (g * (out > 0) if relu else g) @ w.T


@returns_new
def _d_linear_w(a, w, out, relu, g):
    g = g * (out > 0) if relu else g
    if a.ndim == 2 and g.ndim == 2:  # (N, n_in) inputs, an ordinary pass
        return a.T @ g
    return a.reshape(-1, a.shape[-1]).T @ g.reshape(g.shape[:g.ndim - out.ndim] + (-1, w.shape[1]))


@returns_new
def _d_linear_b(a, w, out, relu, g):
    g = g * (out > 0) if relu else g
    if a.ndim == 2 and g.ndim == 2:
        return g.sum(axis=0)
    return g.reshape(g.shape[:g.ndim - out.ndim] + (-1, w.shape[1])).sum(axis=-2)


def _init_weight(init, n_in, n_out, rng):
    if init == "he":
        return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
    if init == "xavier":
        limit = np.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-limit, limit, size=(n_in, n_out))
    raise ValueError(f"Linear: init must be 'he' or 'xavier', got {init!r}")


def _rng(rng, seed):
    if rng is not None and seed is not None:
        raise TypeError("give rng or seed, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
        return rng
    return np.random.default_rng(seed)


class Linear(Module):
    """Affine layer y = x @ W + b, with W of shape (n_in, n_out).

    Args:
        n_in, n_out: input and output widths.
        bias: whether to add b (zeros at start).
        init: "xavier" (default; Glorot uniform) or "he" (normal, std sqrt(2 / n_in), for ReLU).
        rng: a numpy Generator to draw the weights from; or
        seed: a seed for a new Generator (neither: fresh entropy, not reproducible).
    """

    def __init__(self, n_in: int, n_out: int, *, bias: bool = True, init: str = "xavier", rng=None, seed=None):
        super().__init__()
        if int(n_in) != n_in or int(n_out) != n_out or n_in < 1 or n_out < 1:
            raise ValueError(f"Linear: n_in and n_out must be positive integers, got {n_in} and {n_out}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        generator = _rng(rng, seed)
        self.weight = Tensor(_init_weight(init, self.n_in, self.n_out, generator), requires_grad=True)
        self.bias = Tensor(np.zeros(self.n_out), requires_grad=True) if bias else None

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.n_in}, {self.n_out}, bias={self.bias is not None}"


class _Activation(Module):
    fn = None

    def forward(self, x):
        return type(self).fn(x)


class ReLU(_Activation):
    """max(x, 0) elementwise."""
    fn = staticmethod(ops.relu)


class Tanh(_Activation):
    """tanh(x) elementwise."""
    fn = staticmethod(ops.tanh)


class Sigmoid(_Activation):
    """1 / (1 + e^-x) elementwise."""
    fn = staticmethod(ops.sigmoid)


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, x):
        return x


ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class Sequential(Module):
    """Modules applied in order: Sequential(Linear(2, 8), ReLU(), Linear(8, 1)).

    Indexing and len() work as on a list of the modules.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        for m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: expected Modules, got {type(m).__name__}")
        self.layers = list(modules)

    def forward(self, x):
        for m in self.layers:
            x = m(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)


class MLP(Module):
    """Multi-layer perceptron: Linear layers with an activation between them (none after the last).

    Args:
        sizes: [n_in, h1, ..., n_out], at least two widths.
        activation: "relu" (default), "tanh" or "sigmoid", applied after every layer but the last.
        rng, seed: as for `Linear`; the layers draw from one Generator in order, so a seed fixes
            the whole network.

    Attributes:
        layers: the Linear layers.
    """

    def __init__(self, sizes, activation: str = "relu", *, rng=None, seed=None):
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output width, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        generator = _rng(rng, seed)
        self.sizes = sizes
        self.activation = activation
        hidden_init = "he" if activation == "relu" else "xavier"
        last = len(sizes) - 2
        self.layers = [
            Linear(n_in, n_out, init=hidden_init if i < last else "xavier", rng=generator)
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))
        ]
        self._act = ACTIVATIONS[activation].fn

    def forward(self, x):
        act = self._act
        layers = self.layers
        fuse = self.activation == "relu"
        for layer in layers[:-1]:
            x = linear(x, layer.weight, layer.bias, relu=True) if fuse else act(linear(x, layer.weight, layer.bias))
        last = layers[-1]
        return linear(x, last.weight, last.bias)

    def extra_repr(self) -> str:
        return f"{self.sizes}, activation={self.activation!r}"

    def __repr__(self) -> str:
        return f"MLP({self.extra_repr()})"
