"""See the graph: the nodes and edges that produced a tensor, as Graphviz DOT text.

`to_dot(loss)` writes one DOT node per op, per leaf and per constant, labelled with the op's
name and the shape of its value (and, on request, the value and the gradient), and one edge
from each input to the op that consumed it. The text can be rendered with Graphviz
(`dot -Tpng graph.dot -o graph.png`); `demos/graph.py` draws the same graph with matplotlib
and a layout of its own, so no Graphviz is needed.

Glossary: node a Tensor in the graph; leaf a tensor the user made with requires_grad=True;
constant a tensor that requires no grad (a plain number, an array, or an op on constants);
root the tensor whose graph is drawn; slot the position of an input among an op's inputs.

`backward()` frees the graph it walks (each node forgets its parents) unless it is called with
`retain_graph=True`; a freed graph cannot be drawn, and `graph()` says so. Interior nodes keep
no gradient unless `retain_grad()` was called on them before `backward()`: `retain_grads(root)`
marks every interior node of a graph at once, so a drawing after backward shows all gradients.

Example:
    >>> import autodiff as ad
    >>> x = ad.Tensor([1.0, 2.0], requires_grad=True)
    >>> print(to_dot(ad.sum(x * 3.0)))  # doctest: +NORMALIZE_WHITESPACE
    digraph autodiff {
      rankdir=LR;
      node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];
      n0 [label="leaf\\nshape (2,)", fillcolor="#d9f2d9"];
      n1 [label="const\\nshape ()\\nvalue 3", fillcolor="#eeeeee"];
      n2 [label="mul\\nshape (2,)", fillcolor="#dde8f7"];
      n3 [label="sum\\nshape ()", fillcolor="#ffe0b3"];
      n0 -> n2;
      n1 -> n2;
      n2 -> n3;
    }
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .tensor import _FREED, Tensor

__all__ = ["Graph", "graph", "node_kind", "node_label", "format_array", "retain_grads", "to_dot"]

# Arrays with at most this many elements are printed in full; larger ones are summarised.
SMALL_ARRAY = 6

# Fill colours by node kind, shared with the matplotlib drawing in demos/graph.py.
COLORS = {"leaf": "#d9f2d9", "const": "#eeeeee", "op": "#dde8f7", "root": "#ffe0b3"}


class Graph(NamedTuple):
    """The graph that produced a tensor.

    Attributes:
        nodes: every Tensor reachable from the root through `_parents`, each once, inputs
            before the ops that use them (a topological order); the root is last.
        edges: (source, target) index pairs into `nodes`, one per input slot, so `x * x`
            gives two edges from x to the mul node, in slot order.
    """

    nodes: list
    edges: list


def graph(tensor: Tensor) -> Graph:
    """Collect the nodes and edges of the graph that produced `tensor`.

    Iterative depth-first search (a recursive one would overflow on 1000-op chains).

    Args:
        tensor: the root.

    Returns:
        A `Graph`.

    Raises:
        TypeError: if `tensor` is not a Tensor.
        RuntimeError: if a backward pass freed (part of) the graph.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph: expected a Tensor, got {type(tensor).__name__}")
    order, index = [], {}
    stack = [(tensor, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            index[id(node)] = len(order)
            order.append(node)
            continue
        if id(node) in index:
            continue
        if node._vjps is _FREED:
            raise RuntimeError(
                f"graph: the graph of this tensor (at a '{node._op}' node of shape {node.shape}) was freed "
                "by backward(); use retain_graph=True in backward() to draw it afterwards"
            )
        stack.append((node, True))
        # Parents pushed in reverse so the first input is visited (and numbered) first.
        stack.extend((parent, False) for parent in reversed(node._parents) if id(parent) not in index)
    edges = [(index[id(parent)], i) for i, node in enumerate(order) for parent in node._parents]
    return Graph(order, edges)


def node_kind(node: Tensor, root: Tensor | None = None) -> str:
    """'root', 'leaf' (user tensor with requires_grad), 'const' (no grad) or 'op' (interior)."""
    if node is root:
        return "root"
    if not node.requires_grad:
        return "const"
    return "op" if node._parents else "leaf"


def format_array(value, small: int = SMALL_ARRAY) -> str:
    """A short one-line text for an array: in full when small, else a summary.

    Args:
        value: an array of any shape (or a number).
        small: arrays with at most this many elements are printed in full.

    Returns:
        e.g. '0.5', '[1, -2.5]', '[[1, 2], [3, 4]]' or 'mean 0.12, range [-2.1, 3.4]'.

    Example:
        >>> format_array(np.arange(100.0))
        'mean 49.5, range [0, 99]'
    """
    a = np.asarray(value)
    if a.size == 1:
        return _number(a.item())
    if a.size == 0:
        return "[] (empty)"
    if a.size <= small:
        text = np.array2string(a, separator=", ", max_line_width=10**6,
                               formatter={"all": _number})
        return " ".join(text.split())  # rows of a 2-D array on one line
    if a.dtype.kind == "b":
        return f"{int(a.sum())} of {a.size} true"
    with np.errstate(all="ignore"):
        return f"mean {_number(np.mean(a))}, range [{_number(np.min(a))}, {_number(np.max(a))}]"


def _number(v) -> str:
    return f"{v:.3g}" if isinstance(v, (float, np.floating)) else str(v)


def node_label(node: Tensor, kind: str, name: str | None = None, show_values: bool = False,
               show_grads: bool = False) -> list:
    """The lines of text that describe one node.

    Args:
        node: the tensor.
        kind: its `node_kind`.
        name: a user-given name (e.g. "W1"), shown before the op.
        show_values: add a 'value ...' line. Scalar constants always show their value, since
            a constant's value is what tells it apart.
        show_grads: add a 'grad ...' line for nodes that require grad: the gradient, or
            'not kept' for an interior node that had no `retain_grad()` (or before backward).

    Returns:
        A list of strings: op (and name), shape, then optional value and gradient.
    """
    op = node._op if kind != "const" or node._op == "const" else f"{node._op} (const)"
    lines = [f"{name}: {op}" if name else op, f"shape {tuple(node.shape)}"]
    if show_values or (kind == "const" and node.size == 1):
        lines.append(f"value {format_array(node.data)}")
    if show_grads and node.requires_grad:
        lines.append("grad not kept" if node.grad is None else f"grad {format_array(node.grad)}")
    return lines


def retain_grads(tensor: Tensor) -> Graph:
    """Call `retain_grad()` on every interior node of the graph, so backward keeps all gradients.

    Args:
        tensor: the root, before its backward pass.

    Returns:
        The `Graph` (as `graph(tensor)`).
    """
    g = graph(tensor)
    for node in g.nodes:
        if node.requires_grad and node._parents:
            node.retain_grad()
    return g


def _quote(text: str) -> str:
    """A DOT double-quoted string; newlines become DOT's centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, show_values: bool = False, show_grads: bool = False,
           names: dict | None = None) -> str:
    """Graphviz DOT text of the graph that produced `tensor`.

    One node per op, leaf and constant (labelled with op, shape, and optionally value and
    gradient; coloured by kind: leaves green, constants grey, ops blue, the root orange), one
    edge per input slot from input to op. Node ids n0, n1, ... follow `graph(tensor).nodes`.

    Args:
        tensor: the root, usually a loss.
        show_values: print each node's value (small arrays in full, large ones summarised).
        show_grads: print each node's gradient (after backward; interior nodes need
            `retain_grad()`, see `retain_grads`).
        names: optional {name: tensor} so leaves read "W1: leaf" rather than "leaf".

    Returns:
        The DOT text, ending in a newline.

    Raises:
        RuntimeError: if backward() freed the graph (use retain_graph=True).
    """
    g = graph(tensor)
    by_id = {id(t): n for n, t in (names or {}).items()}
    lines = [
        "digraph autodiff {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];',
    ]
    for i, node in enumerate(g.nodes):
        kind = node_kind(node, tensor)
        label = "\n".join(node_label(node, kind, by_id.get(id(node)), show_values, show_grads))
        lines.append(f'  n{i} [label={_quote(label)}, fillcolor="{COLORS[kind]}"];')
    lines.extend(f"  n{a} -> n{b};" for a, b in g.edges)
    lines.append("}")
    return "\n".join(lines) + "\n"
