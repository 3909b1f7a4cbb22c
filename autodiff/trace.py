"""Record once, replay: `trace` turns a function of Tensors into straight-line numpy.

`trace(fn, *example_args)` runs fn once with the engine while `record` appends every node it
makes to a tape, and compiles the tape into two Python functions written out as source (see
`Traced.source`):

    forward(x0, x1)   one line per op, its forward as recorded:   v7 = f7(v5, c2)
    backward(g)       one line per VJP, the very rules the engine calls:   g5 = r7_0(v5, g7)

so a replay creates no Tensor, no closure and no graph: per op it costs numpy's own call. The
backward pass is written for the shapes seen: the sums that undo broadcasting, the order in
which cotangents of a node used several times add up, and the copies before an in-place
scatter are decided once, as the engine decides them at run time, so a replay gives the
engine's numbers bit for bit. A backward pass with stacked cotangents (lead + the output's
shape, as `Tensor.backward(grad)`) is compiled once per lead shape.

What a replay is valid for:
- the shapes and dtypes it was recorded with: a call with other shapes records and compiles
  the function again (kept per shape signature, `Traced.signatures`);
- the control flow it was recorded with. A Python `if` on a value inside fn is frozen as it
  went when recording: the replay takes the same branch whatever the new values. While
  recording, `bool(tensor)` raises, comparisons of Tensors give boolean Tensors, and
  `ad.where(condition, a, b)` with such a condition is the traced alternative (both branches
  computed, the condition recomputed). Values read out of the engine (`t.data`, `.item()`,
  numpy calls on them) and Tensors fn closes over are constants of the trace.

Lifetime: the arrays a replay returns are its own buffers and are overwritten by the next call
of the same trace; copy what must outlive it. Once a backward pass is compiled, the recorded
graph is let go (it is about half of a trace's memory): a new lead shape, or `Traced.graph`,
runs fn again on a copy of the example arguments, so fn must build the same graph each time
(a different one is refused).

Glossary: tape the recorded nodes in creation order; x an input, v a node's value, c a constant,
f an op's forward, r a VJP rule, g a cotangent.
"""

from __future__ import annotations

import functools
import types

import numpy as np

from . import tensor as _tensor
from .ops import _identity
from .tensor import Tensor, unbroadcast

__all__ = ["trace", "Traced"]


def trace(fn, *example_args):
    """Record fn once on example arguments and return a replay of it (a `Traced`).

    Args:
        fn: maps Tensors (one per argument) to a Tensor or a tuple of Tensors, with engine ops.
        *example_args: arrays, numbers or Tensors. Floating-point arguments get gradients;
            integer and boolean ones are inputs without.

    Returns:
        A `Traced`: call it with arrays of the same shapes for the outputs (arrays), then
        `.backward(cotangent)` for the gradients of the float arguments.

    Example:
        >>> import autodiff as ad
        >>> f = ad.trace(lambda x: ad.sum(ad.sin(x) * x), np.zeros(3))
        >>> print(np.round(f(np.array([0.0, 1.0, 2.0])), 4))
        2.6601
        >>> np.round(f.backward(1.0), 4)
        array([0.    , 1.3818, 0.0770])
    """
    traced = Traced(fn)
    traced._program(_as_arrays(example_args))
    return traced


def _as_arrays(args) -> tuple:
    out = []
    for a in args:
        a = a.data if isinstance(a, Tensor) else a
        out.append(a if type(a) is np.ndarray else _tensor._as_array(a, False, "trace"))
    return tuple(out)


class Traced:
    """A function recorded by `trace`, replayed without the engine.

    Attributes:
        fn: the function.
        signatures: the argument shapes and dtypes recorded so far (each one compiled once).
    """

    def __init__(self, fn):
        functools.update_wrapper(self, fn, updated=())
        self.fn = fn
        self._programs = {}
        self._last = None

    @property
    def signatures(self) -> list:
        return list(self._programs)

    def _program(self, arrays) -> _Program:
        if len(arrays) == 1:  # (the usual case: no generator to run per call)
            key = ((arrays[0].shape, arrays[0].dtype.char),)
        else:
            key = tuple((a.shape, a.dtype.char) for a in arrays)
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = _Program(self.fn, arrays)
        self._last = program
        return program

    def __call__(self, *args):
        """Replay the forward pass: the outputs (arrays, valid until the next call) for new arguments."""
        arrays = args if len(args) == 1 and type(args[0]) is np.ndarray else _as_arrays(args)
        return self._program(arrays).forward(*arrays)

    def backward(self, cotangent):
        """Replay the backward pass of the last call.

        Args:
            cotangent: the output's cotangent, of its shape, or K of them stacked on leading
                axes, lead + its shape (as `Tensor.backward(grad)`); for a tuple of outputs, a
                tuple with one entry (or None) per output.

        Returns:
            The gradient of each float argument (lead + its shape), one array for one such
            argument, else a tuple.
        """
        if self._last is None:
            raise RuntimeError("backward: call the traced function first")
        return self._last.backward(cotangent)

    @property
    def graph(self):
        """The output Tensor(s) of the latest program's graph, for `ad.viz.to_dot` (recorded
        again once a backward pass has been compiled: a trace keeps only what its replay needs)."""
        return self._last.graph() if self._last is not None else None

    @property
    def source(self) -> str:
        """The generated code of the latest program: forward, and every backward compiled so far."""
        return self._last.source() if self._last is not None else ""


class Tape:
    """What `record` appends to while `trace` records: every node made, and which of them the
    inputs reach (those a replay recomputes; the others are constants)."""

    def __init__(self, leaves):
        self.entries = []
        self.traced = {id(leaf) for leaf in leaves}

    def add(self, node, op, parents, vjps, forward):
        self.entries.append((node, op, parents, vjps, forward))
        for p in parents:
            if id(p) in self.traced:
                self.traced.add(id(node))
                return

    def traces(self, node) -> bool:
        return id(node) in self.traced


class _Program:
    """One recording of fn for one signature: its forward function and backward functions per lead."""

    def __init__(self, fn, arrays):
        self.fn, self.arrays = fn, tuple(np.array(a) for a in arrays)  # the example, to record again
        self.consts = {"np": np, "unbroadcast": unbroadcast}
        self._record()
        self.out_shapes = [t.shape for t in self.out_nodes]
        self.forward_source = self._compile_forward()
        self.forward = self._define(self.forward_source, "forward")
        self.backwards = {}  # (lead shape, which outputs have cotangents) -> (source, function)

    def _record(self):
        """Run fn on the example with the engine, every node on the tape; name the traced nodes
        (inputs x, then v in creation order: the same names at every recording)."""
        fn = self.fn
        leaves = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in self.arrays]
        tape = Tape(leaves)
        previous, _tensor._tape = _tensor._tape, tape
        try:
            result = fn(*leaves)
        finally:
            _tensor._tape = previous
        tape = tape.entries
        self.single = isinstance(result, Tensor)
        self.outputs = result
        outputs = (result,) if self.single else tuple(result)
        if not outputs or not all(isinstance(t, Tensor) for t in outputs):
            raise TypeError(f"trace: {getattr(fn, '__name__', 'fn')} must return a Tensor or a tuple of Tensors, "
                            f"got {type(result).__name__}")
        self.leaves, self.tape, self.out_nodes = leaves, tape, outputs
        self.grad_leaves = [leaf for leaf in leaves if leaf.requires_grad]
        self.names = {id(leaf): f"x{i}" for i, leaf in enumerate(leaves)}  # traced node -> variable
        self.entries = {}  # id(node) -> its tape entry (traced nodes only)
        for entry in tape:
            node, op, parents, _, forward = entry
            if any(id(p) in self.names for p in parents):
                if forward is None:
                    raise TypeError(f"trace: op {op!r} was recorded without a forward function: it cannot be replayed")
                self.names[id(node)] = f"v{len(self.entries)}"
                self.entries[id(node)] = entry
        self.live = self._live()
        self.ops = tuple(entry[1] for entry in self.live)

    def _recorded(self):
        """The tape, recorded again if it was released; the same graph, or an error."""
        if self.tape is None:
            ops = self.ops
            self._record()
            if self.ops != ops or self._saved_names() != self.saved:
                raise RuntimeError(f"trace: {getattr(self.fn, '__name__', 'fn')} recorded another graph on the "
                                   "same example arrays: a traced function must be deterministic")

    def _release(self):
        """Let the recorded graph go (its arrays are about half of a trace's memory); a new lead
        shape or `graph` records it again."""
        self.tape = self.outputs = self.leaves = self.out_nodes = self.grad_leaves = None
        self.names = self.entries = self.live = None

    def graph(self):
        """The output Tensor(s) of a recording (made again where it was let go), for drawings."""
        self._recorded()
        outputs = self.outputs
        self._release()
        return outputs

    # -- code generation ---------------------------------------------------------------------
    def _const(self, value, prefix="c") -> str:
        name = f"{prefix}{len(self.consts)}"
        self.consts[name] = value
        return name

    def _ref(self, node) -> str:
        """The variable of a traced node, or a constant holding an untraced node's value."""
        return self.names.get(id(node)) or self._const(node.data)

    def _define(self, source: str, name: str):
        namespace = dict(self.consts)
        exec(compile(source, f"<trace of {name}>", "exec"), namespace)  # noqa: S102 - code written here
        return namespace[name]

    def _live(self) -> list:
        """The traced nodes the outputs depend on, in creation order."""
        live, stack = set(), [t for t in self.out_nodes if id(t) in self.entries]
        while stack:
            node = stack.pop()
            if id(node) not in live:
                live.add(id(node))
                stack.extend(p for p in self.entries[id(node)][2] if id(p) in self.entries)
        return [e for e in self.tape if id(e[0]) in live]

    def _compile_forward(self) -> str:
        args = ", ".join(self.names[id(leaf)] for leaf in self.leaves)
        lines = [f"def forward({args}):"]
        for node, op, parents, vjps, forward in self.live:
            for vjp in vjps:
                if getattr(vjp, "__closure__", None):
                    raise TypeError(f"trace: op '{op}' records its VJP as a closure, which a replay cannot feed "
                                    "new values; write it as functools.partial(rule, *arrays) (see tensor.record)")
            call = ", ".join(self._ref(p) for p in parents)
            if isinstance(forward, np.ufunc) and isinstance(node.data, np.ndarray) and node.data.ndim:
                call += f", out={self._const(np.empty_like(node.data), 'b')}"  # a buffer of its own
            lines.append(f"    {self.names[id(node)]} = {self._const(forward, 'f')}({call})  # {op}")
        self.saved = self._saved_names()
        self.saved_name = self._const([None], "saved")
        lines.append(f"    {self.saved_name}[0] = ({', '.join(self.saved)}{',' if self.saved else ''})")
        lines.append(f"    return {', '.join(self._ref(t) for t in self.out_nodes)}")
        return "\n".join(lines) + "\n"

    def _saved_names(self) -> list:
        """The traced values that the VJPs read: the forward hands them to the backward pass."""
        names = set()
        for node, _, parents, vjps, _ in self.live:
            for vjp in vjps:
                if isinstance(vjp, _BOUND):
                    for arg in _bound(vjp)[1]:
                        names.update(self.names[id(t)] for t in (node, *parents)
                                     if t.data is arg and id(t) in self.names)
        return sorted(names, key=lambda n: (n[0], int(n[1:])))

    def _rule_call(self, node, op, parents, vjp, g: str) -> str:
        """Source of one VJP applied to cotangent `g`: a rule's bound arguments become variables."""
        if vjp is _identity:
            return g
        if isinstance(vjp, _BOUND):
            func, bound, keywords = _bound(vjp)
            args = []
            for arg in bound:
                source = next((t for t in (node, *parents) if t.data is arg), None)
                if source is not None:
                    args.append(self._ref(source))
                elif isinstance(arg, np.ndarray) and arg.dtype.kind in "fc":
                    raise TypeError(f"trace: op '{op}' saved an array that is neither an input nor its output, "
                                    "so a replay would use a stale value; compute it inside the VJP rule")
                else:
                    args.append(self._const(arg))  # a static parameter: axes, a shape, an index
            args += [f"{k}={self._const(v)}" for k, v in keywords.items()]
            return f"{self._const(func, 'r')}({', '.join(args + [g])})"
        return f"{self._const(vjp, 'r')}({g})"

    def _compile_backward(self, lead: tuple, given: tuple) -> str:
        """The backward function for cotangents with lead axes `lead`, for the outputs in `given`.

        Walks the nodes as the engine does (decreasing creation order, parents in order) on the
        recorded values, evaluating every VJP once to learn the shapes that decide each step.
        Every write goes to a new variable, so two nodes that share one cotangent array (an
        identity VJP hands its node's array on) never see each other's sums."""
        w = _Writer(lead)
        if self.saved:
            w.lines.append(f"    {', '.join(self.saved)}{',' if len(self.saved) == 1 else ''} = {self.saved_name}[0]")
        for k, t in enumerate(self.out_nodes):
            if given[k] and t.requires_grad and id(t) in self.names:
                probe = np.ones(lead + t.shape)
                if id(t) in w.names:  # the same node returned twice: the cotangents add up
                    w.assign(t, f"{w.names[id(t)]} + cotangents[{k}]", w.values[id(t)] + probe, owned=True)
                else:
                    w.assign(t, f"cotangents[{k}]", probe, owned=False)
        with np.errstate(all="ignore"):
            for node, op, parents, vjps, _ in reversed(self.tape):
                g = w.names.get(id(node))
                if g is None or id(node) not in self.entries:
                    continue
                for parent, vjp in zip(parents, vjps):
                    if parent.requires_grad and id(parent) in self.names:  # untraced: a constant
                        self._pull_back(w, node, op, parents, parent, vjp, g)
        results = []
        for leaf in self.grad_leaves:
            name = w.names.get(id(leaf))
            if name is None:
                results.append(self._const(np.zeros(lead + leaf.shape)) + ".copy()")
            else:  # the engine stores a copy in .grad; a cotangent this pass made is already one
                results.append(name if id(leaf) in w.owned else f"np.array({name}, dtype=np.float64)")
        w.lines.append(f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})")
        return "def backward(cotangents):\n" + "\n".join(w.lines) + "\n"

    def _pull_back(self, w, node, op, parents, parent, vjp, g):
        """Emit one parent's share of a node's cotangent, as `Tensor.backward` and `_accumulate` do."""
        expr = self._rule_call(node, op, parents, vjp, g)
        g_value = w.values[id(node)]
        probe = _probe(vjp, g_value)
        target, lead = parent.data.shape, w.lead
        scatter = getattr(vjp, "scatter_into", None)
        if id(parent) in w.names and scatter is not None:  # add the few picked entries in place
            buffer = w.values[id(parent)]
            if id(parent) not in w.owned:  # it may alias another node's cotangent: copy first
                dtype = np.result_type(buffer.dtype, g_value.dtype)
                w.assign(parent, f"np.array({w.names[id(parent)]}, dtype=np.{dtype.name})",
                         np.array(buffer, dtype=dtype), owned=True)
            w.lines.append(f"    {self._const(vjp, 'r')}.scatter_into({w.names[id(parent)]}, {g})")
            scatter(w.values[id(parent)], g_value)
            return
        if probe.shape != lead + target:
            expr = _summed(expr, probe.shape, target, lead)
            probe = unbroadcast(probe, target, lead)
        if id(parent) not in w.names:  # the first cotangent to reach this parent
            if expr == g:  # an identity VJP: the node's own array, no new variable
                w.names[id(parent)], w.values[id(parent)] = g, probe
            else:
                w.assign(parent, expr, probe, owned=scatter is not None)
        else:  # a node used several times gets the sum of its cotangents
            w.assign(parent, f"{w.names[id(parent)]} + {expr}", w.values[id(parent)] + probe, owned=True)

    def backward(self, cotangent):
        cotangents = (cotangent,) if self.single else tuple(cotangent)
        if len(cotangents) != len(self.out_shapes):
            raise ValueError(f"backward: {len(cotangents)} cotangents for {len(self.out_shapes)} outputs")
        arrays, lead = [], None
        for g, shape in zip(cotangents, self.out_shapes):
            if g is None:
                arrays.append(None)
                continue
            g = g if type(g) is np.ndarray and g.dtype == np.float64 else np.asarray(g, dtype=np.float64)
            k = g.ndim - len(shape)
            if k < 0 or g.shape[k:] != shape or (lead is not None and g.shape[:k] != lead):
                raise ValueError(f"backward: cotangent of shape {g.shape} for an output of shape {shape} "
                                 "(expected its shape, or lead + its shape, the same lead for every output)")
            lead = g.shape[:k]
            arrays.append(g)
        key = (lead or (), (arrays[0] is not None,) if self.single else tuple(g is not None for g in arrays))
        compiled = self.backwards.get(key)
        if compiled is None:
            self._recorded()
            source = self._compile_backward(*key)
            compiled = self.backwards[key] = (source, self._define(source, "backward"))
            self._release()
        grads = compiled[1](arrays)
        return grads[0] if len(grads) == 1 else grads

    def source(self) -> str:
        return "\n".join([self.forward_source] + [s for s, _ in self.backwards.values()])


def _summed(expr: str, shape: tuple, target: tuple, lead: tuple) -> str:
    """Source of `unbroadcast(expr, target, lead)` for a cotangent of `shape`, its sums decided
    here: the very reductions unbroadcast makes, in its order, so the same bits."""
    n_lead = len(lead)
    extra = len(shape) - n_lead - len(target)
    if extra:
        expr = f"{expr}.sum(axis={tuple(range(n_lead, n_lead + extra))!r})"
        shape = shape[:n_lead] + shape[n_lead + extra:]
    stretched = tuple(n_lead + i for i, n in enumerate(target) if n == 1 and shape[n_lead + i] != 1)
    if stretched:
        expr = f"{expr}.sum(axis={stretched!r}, keepdims=True)"
        shape = tuple(1 if i in stretched else n for i, n in enumerate(shape))
    return expr if shape == lead + target else f"{expr}.reshape({lead + target!r})"


# A VJP rule with its saved arguments bound: functools.partial, or a method object (ops bind one
# argument as types.MethodType(rule, a), which is cheaper to make and to call).
_BOUND = (functools.partial, types.MethodType)


def _bound(vjp) -> tuple:
    """(rule, bound arguments, keywords) of a bound VJP."""
    if isinstance(vjp, types.MethodType):
        return vjp.__func__, (vjp.__self__,), {}
    return vjp.func, vjp.args, vjp.keywords


class _Writer:
    """The backward function being written: its lines, each node's cotangent variable and the
    value the probe pass gave it, and the nodes whose cotangent this pass allocated (`owned`:
    safe to write in place)."""

    def __init__(self, lead):
        self.lead, self.lines, self.names, self.values, self.owned = lead, [], {}, {}, set()

    def assign(self, node, expr, value, owned):
        name = f"g{len(self.lines)}"
        self.lines.append(f"    {name} = {expr}")
        self.names[id(node)], self.values[id(node)] = name, value
        if owned:
            self.owned.add(id(node))
        else:
            self.owned.discard(id(node))


def _probe(vjp, g):
    """The VJP on the recorded values and a probe cotangent: the shape and dtype it gives."""
    return np.asarray(vjp(g))
