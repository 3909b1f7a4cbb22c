"""The tape: `Tensor` nodes, gradient mode, and the reverse pass.

A `Tensor` wraps a numpy array. An op (see `ops.py`) computes its value with numpy and records,
on the new node, its parents and one vector-Jacobian product (VJP) per parent. `backward()` walks
the recorded graph in reverse topological order -- iteratively, so chains of 100,000 ops work --
calls each VJP, reduces every cotangent to its parent's shape with `unbroadcast`, and sums the
cotangents of nodes used more than once. A stacked pass (`backward(grad)` with grad of shape
lead + shape) carries several cotangents at once: every VJP broadcasts over the lead axes and
every cotangent has shape lead + its node's shape. The order comes from creation numbers: every node is
made after its parents, so the reachable nodes sorted by decreasing number are in order.

Speed: recording and the reverse pass are the engine's whole overhead on small arrays (about
1.5 us per op on top of numpy's own work, see benchmarks/engine.py), so `record` and `backward`
are kept free of per-node generators, wrappers and repeated lookups.

Memory: VJP closures capture input and output *arrays*, never nodes, so a graph holds no
reference cycles and is freed by reference counting alone (the cycle collector made training
6-8x slower when closures captured their own output node).
"""

from __future__ import annotations

import contextlib
import itertools
from functools import partial
from operator import attrgetter

import numpy as np

__all__ = ["Tensor", "no_grad", "enable_grad", "is_grad_enabled", "unbroadcast", "as_tensor"]


_grad_enabled = True  # False inside no_grad(): ops record nothing
_tape = None  # a trace.Tape while `ad.trace` records a function, else None


def is_grad_enabled() -> bool:
    """Whether ops record the graph (False inside `no_grad()`)."""
    return _grad_enabled


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = enabled
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager under which ops compute values and record nothing."""
    return _grad_mode(False)


def enable_grad():
    """Context manager that turns recording back on (e.g. inside `no_grad()`)."""
    return _grad_mode(True)


def unbroadcast(g: np.ndarray, shape: tuple, lead: tuple = ()) -> np.ndarray:
    """Sum a cotangent over the axes that broadcasting added or stretched.

    Args:
        g: cotangent of a broadcast result, shape lead + broadcast(shape, ...).
        shape: the shape of the input that was broadcast.
        lead: the leading axes of a stacked backward pass (one cotangent per entry, see
            `Tensor.backward`); they are kept, never summed.

    Returns:
        An array of lead + `shape`: the gradient(s) with respect to that input.
    """
    target = lead + shape if lead else shape
    if g.shape == target:
        return g
    n_lead = len(lead)
    extra = g.ndim - len(target)  # axes broadcasting added in front of the input's own axes
    if extra:
        g = g.sum(axis=tuple(range(n_lead, n_lead + extra)))
    stretched = tuple(n_lead + i for i, n in enumerate(shape) if n == 1 and g.shape[n_lead + i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g.reshape(target)


_FREED = "freed"  # sentinel in `_vjps` of a node whose graph a backward pass released

# Every node gets the next number when it is made. A node is always made after its parents, so
# sorting nodes by decreasing number is a reverse topological order (see `_reverse_topological`).
_next_seq = itertools.count().__next__
_creation_order = attrgetter("_seq")


def _as_array(data, requires_grad: bool, name: str = "Tensor") -> np.ndarray:
    """Convert user data to an ndarray: Python numbers and lists become float64.

    Raises:
        TypeError: naming `name` (the constructor or op) when the data is not real numbers, or
            when `requires_grad` is asked of integer or boolean data.
    """
    if isinstance(data, np.ndarray):
        array = data
    else:
        array = np.asarray(data)
        if array.dtype.kind in "iub":  # Python ints, bools and lists of them: float64 by default
            array = array.astype(np.float64)
    kind = array.dtype.kind
    if kind not in "fiub":
        raise TypeError(f"{name}: expected real numeric data, got dtype {array.dtype} ({type(data).__name__})")
    if requires_grad and kind != "f":
        raise TypeError(
            f"{name}: requires_grad needs floating-point data, got dtype {array.dtype}; "
            "convert it with .astype(float)"
        )
    return array


class Tensor:
    """An array node in the computation graph.

    Attributes:
        data: the value, a numpy array of any shape (float64 unless given another float type).
        grad: after `backward()`, the gradient of the output with respect to this leaf (or
            interior node marked with `retain_grad()`), same shape as `data` (lead + that
            after a stacked pass); None before.
            Gradients accumulate across calls until `zero_grad()`.
        requires_grad: whether gradients flow to this node.

    Internals (read by graph drawings): `_op` the op's name ("leaf", "const" for tensors the
    user made), `_parents` the Tensor inputs that were recorded, `_vjps` one VJP per parent
    (both emptied by a backward pass without retain_graph), `_seq` the creation number.

    Example:
        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([2., 4.])
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_vjps", "_op", "_g", "_seq", "_retains_grad",
                 "__weakref__")
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
        self._seq = _next_seq()
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

    def retain_grad(self) -> None:
        """Keep this node's gradient in `.grad` during backward, as for a leaf.

        Interior nodes (results of ops) normally pass their cotangent on to their parents and
        forget it; after `retain_grad()` the next `backward()` through this node also
        accumulates it into `.grad` (useful to inspect or draw interior gradients). Leaves
        always keep their gradient, so this is a no-op for them.

        Raises:
            RuntimeError: if this tensor does not require grad (no gradient will reach it).
        """
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so no gradient reaches it")
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        """True for an interior node on which `retain_grad()` was called."""
        return self._retains_grad

    # -- the reverse pass -------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`.

        Args:
            grad: the cotangent of this tensor, same shape as `data`; may be omitted for a
                one-element tensor (then 1). Or K cotangents stacked on extra leading axes,
                shape lead + `data.shape` (e.g. (6,) + shape): one reverse pass carries them
                all, and every leaf's `.grad` gets shape lead + its own shape (row k is the
                gradient for cotangent k). The VJPs broadcast over those axes.
            retain_graph: keep the graph so backward can be called on it again.

        Raises:
            RuntimeError: if this tensor does not require grad, or its graph was freed.
            ValueError: if `grad` has the wrong shape or is not finite, or a gradient already
                stored in `.grad` has another lead shape than this pass's.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad (no leaf with requires_grad=True produced it)")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: grad can be omitted only for a one-element tensor, this one has shape {self.shape}"
                )
            grad = np.ones(self.shape)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=np.float64)
            if grad.shape != self.shape and grad.shape[grad.ndim - self.ndim:] != self.shape:
                raise ValueError(
                    f"backward: grad has shape {grad.shape}, expected the tensor's shape {self.shape} "
                    f"(or stacked cotangents of shape lead + {self.shape})")
            if not np.all(np.isfinite(grad)):
                raise ValueError(f"backward: grad contains NaN or infinite values: {_nonfinite_summary(grad)}")

        lead = grad.shape[:grad.ndim - self.ndim]  # () for an ordinary pass
        nodes = _reverse_topological(self)  # raises before any gradient moves if the graph was freed
        self._g = grad
        owned = set()  # nodes whose cotangent buffer this pass allocated (safe to add into in place)
        try:
            for node in nodes:  # each node after every node that uses it: its cotangent is complete
                g = node._g
                node._g = None
                parents = node._parents
                if node._retains_grad or not parents:  # a leaf, or a node asked to keep its gradient
                    # The stored gradient is an array the user owns: never alias a cotangent. One
                    # this pass allocated (`owned`) nothing else holds, so it is handed over as is.
                    if node.grad is None:
                        node.grad = g if node in owned and g.dtype == np.float64 else np.array(g, dtype=np.float64)
                    elif node.grad.shape == g.shape:
                        node.grad = node.grad + g
                    else:  # adding would broadcast one into the other: stacked and plain mixed
                        raise ValueError(
                            f"backward: cannot add a gradient of shape {g.shape} to the stored .grad of shape "
                            f"{node.grad.shape} (stacked and unstacked passes mixed?); call zero_grad() first")
                for parent, vjp in zip(parents, node._vjps):
                    if parent.requires_grad:
                        if parent._g is None:  # the first cotangent to reach this parent
                            pg = vjp(g)
                            # In a stacked pass the shapes always differ here (lead axes), and
                            # unbroadcast returns pg at once when it is lead + parent's shape.
                            if pg.shape != parent.data.shape:
                                pg = unbroadcast(pg, parent.data.shape, lead)
                            parent._g = pg
                            if not parent._parents and _returns_new(vjp):  # (leaves only: asking costs ~0.6 µs)
                                owned.add(parent)  # its first cotangent is an array of its own
                        else:  # a node used several times gets the sum of its cotangents
                            _accumulate(parent, vjp, g, owned, lead)
                if not retain_graph and parents:
                    node._parents, node._vjps = (), _FREED
        except Exception as err:  # a VJP failed: leave no half-summed cotangent behind
            for pending in nodes:
                pending._g = None
            err.add_note(f"backward: raised while pulling back through op '{node._op}' of output shape {node.shape}")
            raise

    # Operators (+ - * / ** @, indexing, comparisons, .T, .mT) are attached in ops.py.


def _freed_error() -> RuntimeError:
    return RuntimeError(
        "backward: the graph of this tensor was freed by an earlier backward(); "
        "pass retain_graph=True to the first call to run backward twice"
    )


def returns_new(rule):
    """Mark a VJP rule whose result is always an array it allocates for the call (or a view of
    one): nothing else holds it, so a backward pass may store it as a leaf's `.grad` without
    the copy that any other cotangent gets (it could alias the incoming one, or another parent's).
    A 784-256-10 training epoch copied 1.6 MB a step that way: 5 % of its time.

    Returns:
        the rule itself, with `returns_new = True`.
    """
    rule.returns_new = True
    return rule


def _returns_new(vjp) -> bool:
    """Whether a VJP's rule is marked `returns_new` (a partial's rule; a bound method reads its function's)."""
    return getattr(vjp.func if type(vjp) is partial else vjp, "returns_new", False)


def _accumulate(parent: Tensor, vjp, g: np.ndarray, owned: set, lead: tuple = ()) -> None:
    """Add the cotangent that `vjp` pulls back from `g` into `parent._g`, which already holds one.

    A VJP with a `scatter_into(buffer, g)` method (indexing) adds its few entries into the
    parent's buffer in place, instead of materialising a mostly-zero array of the parent's
    shape: an array indexed k times then costs one or two buffers, not k full-size arrays and
    sums. (In a stacked pass the buffer has shape lead + the parent's; `scatter_into` finds the
    lead axes from g.) Otherwise the sum is a new array: the old cotangent may be a read-only broadcast view
    or alias another node's cotangent, so it is never written in place.
    """
    scatter = getattr(vjp, "scatter_into", None)
    if scatter is not None:
        buffer = parent._g
        if parent not in owned:  # may alias another node's cotangent: copy before writing
            buffer = np.array(buffer, dtype=np.result_type(buffer.dtype, g.dtype))
            owned.add(parent)
        scatter(buffer, g)
        parent._g = buffer
        return
    pg = vjp(g)
    if pg.shape != parent.data.shape:
        pg = unbroadcast(pg, parent.data.shape, lead)
    parent._g = parent._g + pg
    owned.add(parent)


def _reverse_topological(root: Tensor) -> list:
    """Nodes reachable from `root` through grad-requiring parents, root first, each after
    every node that uses it.

    Collects the nodes with an explicit stack (a recursive search overflows on long chains),
    then sorts them by decreasing creation number: every node was made after its parents.

    Raises:
        RuntimeError: if a node's graph was freed by an earlier backward pass.
    """
    nodes, seen, stack = [root], {root}, [root]
    while stack:
        node = stack.pop()
        parents = node._parents
        if parents:
            for parent in parents:
                # Sets hash Tensors by identity (object.__hash__ is injective on live objects),
                # so membership never calls Tensor.__eq__.
                if parent.requires_grad and parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
                    nodes.append(parent)
        elif node._vjps is _FREED:
            raise _freed_error()
    nodes.sort(key=_creation_order, reverse=True)
    return nodes


def as_tensor(x) -> Tensor:
    """`x` itself if it is a Tensor, else a constant Tensor holding it."""
    return x if isinstance(x, Tensor) else Tensor(x)


def constant(value, name: str = "Tensor") -> Tensor:
    """A constant node for an op's non-Tensor operand, such as the 0.5 in `x * 0.5`.

    Constants stay nodes of the graph (drawings show them), made at a fraction of `Tensor()`'s
    cost: Python numbers become read-only float64 0-d arrays once per value (numpy multiplies
    by a 0-d array faster than by a float), and the node skips the constructor's checks.

    Args:
        value: a number, list or array.
        name: the op, for the error message.

    Raises:
        TypeError: naming `name` when the value is not real numbers.
    """
    kind = type(value)
    if kind is float or kind is int:
        array = _number_arrays.get(value)
        if array is None:
            array = _number_array(value)
    else:
        array = _as_array(value, False, name)
    node = _new_tensor(Tensor)
    node.data = array
    node.grad = None
    node.requires_grad = False
    node._parents = node._vjps = ()
    node._op = "const"
    node._g = None
    node._seq = 0  # never sorted: a constant takes no part in a backward pass
    node._retains_grad = False
    return node


_number_arrays = {}  # Python number -> read-only 0-d float64 array


def _number_array(value) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    # Only nonzero, non-NaN keys: 0.0 == -0.0 would share one sign, and NaN never matches itself.
    if value and not np.isnan(value):
        array.flags.writeable = False
        if len(_number_arrays) >= 1024:  # a loop over many distinct constants: start afresh
            _number_arrays.clear()
        _number_arrays[value] = array
    return array


def record(value: np.ndarray, op: str, parents: tuple, vjps: tuple, forward=None) -> Tensor:
    """Make the node for an op's result and, when some parent requires grad, record its VJPs.

    Args:
        value: the op's result.
        op: the op's name (shown by graph drawings and error messages).
        parents: the op's Tensor inputs.
        vjps: one function per parent, mapping the output's cotangent (shape of `value`) to
            that parent's cotangent (its shape, or a shape that broadcasts to `value`). In a
            stacked pass g has extra leading axes, lead + `value.shape`, and so must the result.
            (A parent after the last VJP gets no gradient: `where`'s condition.) For `ad.trace`
            to replay them, each is a module-level rule with its arguments bound -- the parents'
            arrays, `value` and static parameters, g last -- by `functools.partial` or, for one
            argument, `types.MethodType(rule, a)` (cheaper to make and to call); or a function
            of g alone. A rule whose result is always an array of its own may be marked
            `returns_new`: a leaf then keeps that array as its `.grad`, without a copy.
        forward: the op's value as a function of the parents' arrays, `forward(*arrays)`:
            what a replay of a traced graph calls (`autodiff.trace`).

    Returns:
        A Tensor holding `value`; it requires grad when recording is on and a parent does.
    """
    out = _new_tensor(Tensor)
    if _tape is not None:  # ad.trace is recording: every node, with or without a gradient
        _tape.add(out, op, parents, vjps, forward)
    out.data = value
    out.grad = None
    out._g = None
    out._op = op
    out._seq = _next_seq()
    out._retains_grad = False
    if _grad_enabled:
        for parent in parents:
            if parent.requires_grad:
                out.requires_grad = True
                out._parents = parents
                out._vjps = vjps
                return out
    out.requires_grad = False
    out._parents = out._vjps = ()
    return out


_new_tensor = object.__new__


def _nonfinite_summary(a: np.ndarray) -> str:
    """Where an array is not finite, in one short line: shape, count, first index (never the values).

    Example:
        >>> _nonfinite_summary(np.array([[1.0, np.nan], [np.inf, 2.0]]))
        '2 of 4 entries of a (2, 2) array, the first nan at index (0, 1)'
    """
    bad = ~np.isfinite(a)
    first = tuple(int(i) for i in np.unravel_index(np.argmax(bad), a.shape))
    return (f"{int(bad.sum())} of {a.size} entries of a {a.shape} array, the first {a[first]} at index "
            f"{first if a.ndim != 1 else first[0]}")
