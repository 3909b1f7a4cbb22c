"""The tape: `Tensor` nodes, gradient mode, and the reverse pass.

A `Tensor` wraps a numpy array. An op (see `ops.py`) computes its value with numpy and records,
on the new node, its parents and one vector-Jacobian product (VJP) per parent. `backward()` walks
the recorded graph in reverse topological order -- iteratively, so chains of 100,000 ops work --
calls each VJP, reduces every cotangent to its parent's shape with `unbroadcast`, and sums the
cotangents of nodes used more than once.

Memory: VJP closures capture input and output *arrays*, never nodes, so a graph holds no
reference cycles and is freed by reference counting alone (the cycle collector made training
6-8x slower when closures captured their own output node).
"""

from __future__ import annotations

import contextlib

import numpy as np

__all__ = ["Tensor", "no_grad", "enable_grad", "is_grad_enabled", "unbroadcast", "as_tensor"]


class _Mode:
    grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether ops record the graph (False inside `no_grad()`)."""
    return _Mode.grad_enabled


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    previous = _Mode.grad_enabled
    _Mode.grad_enabled = enabled
    try:
        yield
    finally:
        _Mode.grad_enabled = previous


def no_grad():
    """Context manager under which ops compute values and record nothing."""
    return _grad_mode(False)


def enable_grad():
    """Context manager that turns recording back on (e.g. inside `no_grad()`)."""
    return _grad_mode(True)


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a cotangent over the axes that broadcasting added or stretched.

    Args:
        g: cotangent of a broadcast result, shape broadcast(shape, ...).
        shape: the shape of the input that was broadcast.

    Returns:
        An array of `shape`: the gradient with respect to that input.
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g.reshape(shape)


_FREED = "freed"  # sentinel in `_vjps` of a node whose graph a backward pass released


def _as_array(data, requires_grad: bool) -> np.ndarray:
    """Convert user data to an ndarray: Python numbers and lists become float64."""
    if isinstance(data, np.ndarray):
        array = data
    else:
        array = np.asarray(data)
        if array.dtype.kind in "iub":  # Python ints, bools and lists of them: float64 by default
            array = array.astype(np.float64)
    kind = array.dtype.kind
    if kind not in "fiub":
        raise TypeError(f"Tensor: expected numeric data, got dtype {array.dtype} ({type(data).__name__})")
    if requires_grad and kind != "f":
        raise TypeError(
            f"Tensor: requires_grad needs floating-point data, got dtype {array.dtype}; "
            "convert it with .astype(float)"
        )
    return array


class Tensor:
    """An array node in the computation graph.

    Attributes:
        data: the value, a numpy array of any shape (float64 unless given another float type).
        grad: after `backward()`, the gradient of the output with respect to this leaf, same
            shape as `data`; None before. Gradients accumulate across calls until `zero_grad()`.
        requires_grad: whether gradients flow to this node.

    Example:
        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([2., 4.])
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_vjps", "_op", "_g", "_retains_grad")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _as_array(data, requires_grad)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._vjps = ()
        self._op = "leaf" if requires_grad else "const"
        self._g = None
        self._retains_grad = False

    # -- properties -------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="Shape of the value.")
    ndim = property(lambda self: self.data.ndim, doc="Number of axes.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="numpy dtype of the value.")

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by an op."""
        return not self._parents and self._vjps is not _FREED

    def numpy(self) -> np.ndarray:
        """The value as a numpy array (not a copy)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        return self.data.item()

    def detach(self) -> Tensor:
        """A new constant tensor sharing this value, outside any graph."""
        return Tensor(self.data)

    def retain_grad(self) -> None:
        """Keep this interior node's gradient in `.grad` during backward (leaves always do).

        Minimal stand-in on the viz branch; the engine branch's version replaces it on merge.
        """
        self._retains_grad = True

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        return f"Tensor({body}{flag})"

    __hash__ = object.__hash__  # comparisons return arrays, so identity hashing is kept explicit

    # -- the reverse pass -------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`.

        Args:
            grad: the cotangent of this tensor, same shape as `data`; may be omitted for a
                one-element tensor (then 1).
            retain_graph: keep the graph so backward can be called on it again.

        Raises:
            RuntimeError: if this tensor does not require grad, or its graph was freed.
            ValueError: if `grad` has the wrong shape or is not finite.
        """
        if self._vjps is _FREED:
            raise RuntimeError(
                "backward: the graph of this tensor was freed by an earlier backward(); "
                "pass retain_graph=True to the first call to run backward twice"
            )
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no leaf with requires_grad=True produced it)")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: grad can be omitted only for a one-element tensor, this one has shape {self.shape}"
                )
            grad = np.ones_like(self.data, dtype=np.float64)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=np.float64)
            if grad.shape != self.shape:
                raise ValueError(f"backward: grad has shape {grad.shape}, expected the tensor's shape {self.shape}")
            if not np.all(np.isfinite(grad)):
                raise ValueError("backward: grad contains NaN or infinite values")

        self._g = grad
        owned = set()  # ids of nodes whose cotangent buffer this pass allocated (safe to add into)
        for node in _reverse_topological(self):
            g, node._g = node._g, None
            if g is None:  # no path from the output reaches this node's value
                continue
            if not node._parents:  # a leaf: its gradient is an array the user owns
                node.grad = np.array(g, dtype=np.float64) if node.grad is None else node.grad + g
                continue
            if node._retains_grad:
                node.grad = np.array(g, dtype=np.float64) if node.grad is None else node.grad + g
            for parent, vjp in zip(node._parents, node._vjps):
                if parent.requires_grad:
                    _accumulate(parent, vjp, g, owned)
            if not retain_graph:
                node._parents, node._vjps = (), _FREED

    # Operators (+ - * / ** @, indexing, comparisons, .T, .mT) are attached in ops.py.


def _accumulate(parent: Tensor, vjp, g: np.ndarray, owned: set) -> None:
    """Add the cotangent that `vjp` pulls back from `g` into `parent._g`.

    A VJP with a `scatter_into(buffer, g)` method (indexing) adds its few entries into the
    parent's buffer in place, instead of materialising a mostly-zero array of the parent's
    shape: an array indexed k times then costs one buffer, not k full-size arrays and sums.
    """
    scatter = getattr(vjp, "scatter_into", None)
    if scatter is not None:
        buffer = parent._g
        if buffer is None:
            buffer = np.zeros(parent.data.shape, dtype=np.result_type(parent.data.dtype, g.dtype))
        elif id(parent) not in owned:  # may alias another node's cotangent: copy before writing
            buffer = np.array(buffer, dtype=np.result_type(buffer.dtype, g.dtype))
        scatter(buffer, g)
        parent._g = buffer
        owned.add(id(parent))
        return
    pg = vjp(g)
    if pg.shape != parent.data.shape:
        pg = unbroadcast(pg, parent.data.shape)
    if parent._g is None:
        parent._g = pg
    else:
        parent._g = parent._g + pg
        owned.add(id(parent))


def _reverse_topological(root: Tensor) -> list:
    """Nodes reachable from `root` through grad-requiring parents, root first.

    Iterative depth-first search: a recursive one overflows the stack on long chains.
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node._vjps is _FREED:
            raise RuntimeError(
                "backward: part of this graph was freed by an earlier backward(); "
                "pass retain_graph=True to the first call to run backward twice"
            )
        stack.append((node, True))
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in seen:
                stack.append((parent, False))
    order.reverse()
    return order


def as_tensor(x) -> Tensor:
    """`x` itself if it is a Tensor, else a constant Tensor holding it."""
    return x if isinstance(x, Tensor) else Tensor(x)


def record(value: np.ndarray, op: str, parents: tuple, vjps: tuple) -> Tensor:
    """Make the node for an op's result and, when some parent requires grad, record its VJPs.

    Args:
        value: the op's result.
        op: the op's name (shown by graph drawings and error messages).
        parents: the op's Tensor inputs.
        vjps: one function per parent, mapping the output's cotangent (shape of `value`) to
            that parent's cotangent (its shape, or a shape that broadcasts to `value`).
    """
    out = Tensor.__new__(Tensor)
    out.data = value
    out.grad = None
    out._g = None
    out._retains_grad = False
    out._op = op
    if _Mode.grad_enabled and any(p.requires_grad for p in parents):
        out.requires_grad = True
        out._parents = parents
        out._vjps = vjps
    else:
        out.requires_grad = False
        out._parents = ()
        out._vjps = ()
    return out
