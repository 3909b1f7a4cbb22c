"""Draw a tensor's computational graph as a PNG, with a layout of our own (no Graphviz).

`draw(loss, "loss.png")` lays the graph out in layers, left to right, and renders it with
matplotlib's Agg backend. The layout is the classic layered (Sugiyama) recipe, small enough to
read in one sitting:

1. Layering. Longest path from the sources: a node with no inputs is in layer 0, any other node
   in 1 + the largest layer of its inputs, so every edge points right. Sources are then moved
   right to just before their first consumer, so a constant such as the 0.5 in 0.5 * loss sits
   next to the op that uses it instead of in the far-left column.
2. Dummy nodes. An edge that spans k > 1 layers is split by k - 1 invisible nodes, one per
   layer it crosses, so the ordering step can route it between real nodes.
3. Ordering. Barycenter sweeps: going right, each layer is sorted by the mean position of each
   node's neighbours in the previous layer; going left, by its neighbours in the next layer.
   Each sweep keeps the order if it lowers the number of crossings between adjacent layers
   (edges (u1, v1) and (u2, v2) cross when u1 is above u2 but v1 below v2), else stops; then
   neighbours are swapped greedily wherever a swap removes crossings.
4. Coordinates. Layers are columns as wide as their widest box; within a column boxes are
   stacked in order, then nudged towards the mean height of their neighbours while keeping
   their order and a minimum gap (a few relaxation passes).

Edges are drawn as smooth curves through their dummy nodes. Where argument order matters (sub,
div, matmul, ...) an op's inputs enter its box top to bottom in argument order, so for `a - b`
the upper edge is `a`; for add, mul, maximum and minimum they enter in the order they arrive.

Command: `armgrad graph [--example expr|arm|mlp|all] [--out DIR]`, also `python -m demos.graph`,
draws three graphs before and after backward and writes a PNG and a DOT file of each.

Glossary: layer a column of the drawing; order a node's rank within its layer; crossings the
number of pairs of edges between adjacent layers that cross; port where an edge meets a box.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import autodiff as ad
from autodiff import viz
from autodiff.files import atomic_output

__all__ = [
    "layers", "count_crossings", "order_layers", "layout", "draw", "EXAMPLES", "register", "run", "main",
]

FONT_SIZE = 8.0  # points
CHAR_WIDTH = 0.602 * FONT_SIZE / 72  # inches per character of DejaVu Sans Mono
LINE_HEIGHT = 1.3 * FONT_SIZE / 72  # inches per text line
PAD = 0.06  # inches between text and box edge
LAYER_GAP = 0.55  # inches between columns
NODE_GAP = 0.18  # inches between boxes in a column
MAX_PIXELS = 12000  # the longer side of a PNG is kept under this by lowering the dpi
COMMUTATIVE = {"add", "mul", "maximum", "minimum"}  # ops whose input ports may be reordered


# -- layout ------------------------------------------------------------------------------------

def layers(n: int, edges: list) -> list:
    """Layer of each node: longest path from the sources, then sources moved next to their users.

    Args:
        n: number of nodes, numbered in a topological order (inputs before users).
        edges: (source, target) pairs with source < target.

    Returns:
        A list of n ints; for every edge, layer[target] > layer[source].
    """
    parents = [[] for _ in range(n)]
    children = [[] for _ in range(n)]
    for s, t in edges:
        parents[t].append(s)
        children[s].append(t)
    layer = [0] * n
    for i in range(n):  # topological order: parents already placed
        if parents[i]:
            layer[i] = 1 + max(layer[p] for p in parents[i])
    for i in range(n):
        if not parents[i] and children[i]:
            layer[i] = min(layer[c] for c in children[i]) - 1
    return layer


def count_crossings(order: list, edges_between: list) -> int:
    """Number of crossing edge pairs between each pair of adjacent layers.

    Args:
        order: order[k] is the list of node ids in layer k, top to bottom.
        edges_between: edges_between[k] is the list of (u, v) edges from layer k to k + 1.

    Returns:
        The total count over all adjacent layer pairs.
    """
    return sum(_crossings_at(order, edges_between, k) for k in range(len(edges_between)))


def _crossings_at(order: list, edges_between: list, k: int) -> int:
    """Crossings between layer k and layer k + 1 (0 when k is out of range)."""
    if not 0 <= k < len(edges_between) or len(edges_between[k]) < 2:
        return 0
    pos_u = {u: i for i, u in enumerate(order[k])}
    pos_v = {v: i for i, v in enumerate(order[k + 1])}
    a = np.array([pos_u[u] for u, _ in edges_between[k]])
    b = np.array([pos_v[v] for _, v in edges_between[k]])
    # A pair crosses when its sources and its targets are in opposite orders.
    return int(np.sum(np.triu((a[:, None] - a[None, :]) * (b[:, None] - b[None, :]) < 0, 1)))


def order_layers(order: list, edges_between: list, sweeps: int = 8) -> list:
    """Reorder layers by barycenter sweeps to reduce crossings.

    Args:
        order: initial order, order[k] the node ids of layer k (top to bottom).
        edges_between: edges_between[k] the (u, v) edges from layer k to layer k + 1.
        sweeps: the most right-then-left sweep pairs to try.

    Returns:
        A new order with no more crossings than the initial one.
    """
    preds, succs = {}, {}
    for edges in edges_between:
        for u, v in edges:
            preds.setdefault(v, []).append(u)
            succs.setdefault(u, []).append(v)
    best = [list(layer) for layer in order]
    best_crossings = count_crossings(best, edges_between)
    current = [list(layer) for layer in best]
    for _ in range(sweeps):
        for k in range(1, len(current)):  # rightward: sort by the mean position of inputs
            current[k] = _by_barycenter(current[k], current[k - 1], preds)
        for k in range(len(current) - 2, -1, -1):  # leftward: by the mean position of users
            current[k] = _by_barycenter(current[k], current[k + 1], succs)
        crossings = count_crossings(current, edges_between)
        if crossings >= best_crossings:
            break
        best, best_crossings = [list(layer) for layer in current], crossings
    _transpose(best, edges_between)
    return best


def _transpose(order: list, edges_between: list, passes: int = 4) -> None:
    """Swap neighbours within a layer wherever that lowers the crossings (in place).

    Barycenters settle into local optima; this greedy clean-up (Gansner et al. 1993) removes
    most of what they leave. A swap in layer k changes only the crossings on its two sides.
    """
    for _ in range(passes):
        improved = False
        for k, layer in enumerate(order):
            before = _crossings_at(order, edges_between, k - 1) + _crossings_at(order, edges_between, k)
            for i in range(len(layer) - 1):
                if before == 0:  # nothing left to gain in this layer
                    break
                layer[i], layer[i + 1] = layer[i + 1], layer[i]
                after = _crossings_at(order, edges_between, k - 1) + _crossings_at(order, edges_between, k)
                if after < before:
                    before, improved = after, True
                else:
                    layer[i], layer[i + 1] = layer[i + 1], layer[i]
        if not improved:
            return


def _by_barycenter(layer: list, neighbour_layer: list, neighbours: dict) -> list:
    """Sort `layer` by the mean position of each node's neighbours in `neighbour_layer`.

    A node without neighbours there keeps its own position as its key; the sort is stable.
    """
    pos = {u: i for i, u in enumerate(neighbour_layer)}
    scale = len(neighbour_layer) / max(len(layer), 1)  # compare positions on the same scale

    def key(item):
        i, v = item
        near = [pos[u] for u in neighbours.get(v, ()) if u in pos]
        return sum(near) / len(near) if near else i * scale

    return [v for _, v in sorted(enumerate(layer), key=key)]


def _box_size(lines: list) -> tuple:
    """Width and height in inches of a box holding `lines` of monospace text."""
    return (max(len(s) for s in lines) * CHAR_WIDTH + 2 * PAD, len(lines) * LINE_HEIGHT + 2 * PAD)


def layout(g: viz.Graph, labels: list) -> dict:
    """Compute the layered layout of a graph.

    Args:
        g: the graph (`autodiff.viz.graph`).
        labels: labels[i] is the list of text lines of node i.

    Returns:
        A dict with
          "xy": (n, 2) box centres in inches (y grows downwards),
          "size": (n, 2) box widths and heights in inches,
          "routes": one list of (x, y) points per edge of g.edges, through its dummy nodes,
          "layer": the layer of each node,
          "order": the node ids of each layer, top to bottom (dummies have ids >= n),
          "crossings": crossings of the final order,
          "extent": (width, height) of the drawing in inches.
    """
    n = len(g.nodes)
    layer = layers(n, g.edges)
    size = np.array([_box_size(lines) for lines in labels]).reshape(n, 2)
    depth = max(layer) + 1 if n else 0
    # Split long edges by dummy nodes; every chain is a list of node ids, one per layer.
    chains, next_id, dummy_layer = [], n, {}
    for s, t in g.edges:
        chain = [s]
        for k in range(layer[s] + 1, layer[t]):
            dummy_layer[next_id] = k
            chain.append(next_id)
            next_id += 1
        chains.append(chain + [t])
    all_layers = layer + [dummy_layer[d] for d in range(n, next_id)]
    order = [[] for _ in range(depth)]
    for v, k in enumerate(all_layers):  # initial order: topological order (inputs first)
        order[k].append(v)
    edges_between = [[] for _ in range(max(depth - 1, 0))]
    for chain in chains:
        for u, v in zip(chain, chain[1:]):
            edges_between[all_layers[u]].append((u, v))
    order = order_layers(order, edges_between)

    # Sizes of dummies: a thin slot so a long edge passes between real boxes.
    sizes = np.vstack([size, np.tile([0.0, NODE_GAP], (next_id - n, 1))])
    widths = [max((sizes[v, 0] for v in col), default=0.0) for col in order]
    # Each column's x is its left edge plus half its width.
    lefts = np.cumsum([0.0] + [w + LAYER_GAP for w in widths[:-1]]) if depth else []
    xs = np.zeros(next_id)
    for k, col in enumerate(order):
        for v in col:
            xs[v] = lefts[k] + widths[k] / 2
    ys = _place_vertically(order, sizes[:, 1], chains)
    ys -= min((ys[v] - sizes[v, 1] / 2 for v in range(next_id)), default=0.0)
    routes = [[(xs[v], ys[v]) for v in chain] for chain in chains]
    width = lefts[-1] + widths[-1] if depth else 0.0
    height = max((ys[v] + sizes[v, 1] / 2 for v in range(next_id)), default=0.0)
    return {
        "xy": np.column_stack([xs[:n], ys[:n]]), "size": size, "routes": routes, "layer": layer,
        "order": order, "crossings": count_crossings(order, edges_between), "extent": (width, height),
    }


def _place_vertically(order: list, heights: np.ndarray, chains: list, passes: int = 6) -> np.ndarray:
    """Heights of box centres: stacked per column, then pulled towards their neighbours.

    Each pass sets a node's wish to the mean y of its neighbours in adjacent columns, then
    places the column top to bottom at max(wish, previous bottom + gap) -- the order is kept
    and no boxes overlap -- and shifts the column so it is centred on its wishes on average.
    """
    ys = np.zeros(len(heights))
    for col in order:
        top = 0.0
        for v in col:
            ys[v] = top + heights[v] / 2
            top += heights[v] + NODE_GAP
    neighbours = [[] for _ in range(len(heights))]
    for chain in chains:
        for u, v in zip(chain, chain[1:]):
            neighbours[u].append(v)
            neighbours[v].append(u)
    for _ in range(passes):
        for col in order:
            wish = np.array([sum(ys[u] for u in neighbours[v]) / len(neighbours[v]) if neighbours[v] else ys[v]
                             for v in col])
            placed = np.empty(len(col))
            for i, v in enumerate(col):
                placed[i] = wish[i] if i == 0 else max(
                    wish[i], placed[i - 1] + (heights[col[i - 1]] + heights[v]) / 2 + NODE_GAP)
            placed += np.mean(wish - placed)
            ys[col] = placed
    return ys


# -- drawing -----------------------------------------------------------------------------------

def draw(tensor, path, show_values: bool = False, show_grads: bool = False, names: dict | None = None,
         title: str | None = None, dpi: int = 110) -> Path:
    """Draw the graph that produced `tensor` into a PNG, with no Graphviz needed.

    Args:
        tensor: the root (usually a loss); after backward, its graph must have been kept
            with `retain_graph=True`.
        path: where to write the PNG.
        show_values: print each node's value (small arrays in full, large ones summarised).
        show_grads: print gradients (see `autodiff.viz.retain_grads` for interior nodes).
        names: optional {name: tensor} to label leaves and constants.
        title: a line printed above the graph.
        dpi: resolution; lowered automatically for very large graphs.

    Returns:
        The path written.

    Raises:
        RuntimeError: if backward() freed the graph.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
    from matplotlib.path import Path as MplPath

    g = viz.graph(tensor)
    by_id = {id(t): name for name, t in (names or {}).items()}
    kinds = [viz.node_kind(node, tensor) for node in g.nodes]
    labels = [viz.node_label(node, kind, by_id.get(id(node)), show_values, show_grads)
              for node, kind in zip(g.nodes, kinds)]
    lay = layout(g, labels)
    width, height = lay["extent"]
    margin, header = 0.25, 0.55
    fig_w, fig_h = max(width + 2 * margin, 4.0), height + 2 * margin + header
    dpi = min(dpi, MAX_PIXELS / max(fig_w, fig_h))
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-margin, fig_w - margin)
    ax.set_ylim(height + margin, height + margin - fig_h)  # y grows downwards, in inches
    ax.axis("off")

    xy, size = lay["xy"], lay["size"]
    commutative = [node._op in COMMUTATIVE for node in g.nodes]
    in_ports = _ports(g.edges, lay, side=1, by_position=commutative)
    out_ports = _ports(g.edges, lay, side=0, by_position=[True] * len(g.nodes))
    for e, route in enumerate(lay["routes"]):
        s, t = g.edges[e]
        points = [(xy[s, 0] + size[s, 0] / 2, out_ports[e])] + route[1:-1] + [(xy[t, 0] - size[t, 0] / 2, in_ports[e])]
        vertices, codes = [points[0]], [MplPath.MOVETO]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            dx = (x1 - x0) / 2  # horizontal tangents at both ends: an S-shaped cubic Bezier
            vertices += [(x0 + dx, y0), (x1 - dx, y1), (x1, y1)]
            codes += [MplPath.CURVE4] * 3
        ax.add_patch(FancyArrowPatch(path=MplPath(vertices, codes), arrowstyle="-|>", mutation_scale=8,
                                     color="#444444", linewidth=0.8, shrinkA=0, shrinkB=0))
    for i, lines in enumerate(labels):
        (x, y), (w, h) = xy[i], size[i]
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.05",
                                    facecolor=viz.COLORS[kinds[i]], edgecolor="#555555", linewidth=0.8))
        ax.text(x, y, "\n".join(lines), ha="center", va="center", family="DejaVu Sans Mono",
                fontsize=FONT_SIZE, linespacing=1.15)
    if title:
        ax.text(0, -header + 0.05, title, ha="left", va="top", fontsize=10, weight="bold")
    legend = [Patch(facecolor=viz.COLORS[k], edgecolor="#555555", label=text) for k, text in
              (("leaf", "leaf (requires grad)"), ("const", "constant"), ("op", "op"), ("root", "output"))]
    fig.legend(handles=legend, loc="upper right", ncol=4, fontsize=7, frameon=False)
    path = Path(path)
    with atomic_output(path) as tmp:  # a full disk keeps the old picture, never half a new one
        fig.savefig(tmp, dpi=dpi, facecolor="white")
    return path


def write_dot(tensor, path, **options) -> Path:
    """Write `autodiff.viz.to_dot(tensor, **options)` to `path` (through a temporary file); returns the path."""
    path = Path(path)
    with atomic_output(path) as tmp:
        tmp.write_text(viz.to_dot(tensor, **options))
    return path


def _ports(edges: list, lay: dict, side: int, by_position: list) -> list:
    """y of each edge where it meets a box: spread over the box's side, in a readable order.

    Args:
        edges: the graph's (source, target) pairs.
        lay: the `layout` result.
        side: 1 for inputs (left side of the target), 0 for outputs (right side of the source).
        by_position: per node, whether its edges are ordered by where they come from or go to
            (fewest crossings) rather than by argument order (first argument on top), which
            only matters for inputs of ops whose inputs do not commute, such as sub or matmul.

    Returns:
        One y per edge.
    """
    xy, size, routes = lay["xy"], lay["size"], lay["routes"]
    groups = {}
    for e, edge in enumerate(edges):
        groups.setdefault(edge[side], []).append(e)
    ports = [0.0] * len(edges)
    for v, es in groups.items():
        if by_position[v]:  # the far end's neighbour on the route: next point out, last point in
            es = sorted(es, key=lambda e: routes[e][1 if side == 0 else -2][1])
        step = min(size[v, 1] / (len(es) + 1), 0.1)
        for k, e in enumerate(es):
            ports[e] = xy[v, 1] + (k - (len(es) - 1) / 2) * step
    return ports


# -- the three examples ------------------------------------------------------------------------

def example_expr():
    """A sigmoid neuron written out gate by gate: f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))."""
    leaf = lambda v: ad.Tensor(v, requires_grad=True)  # noqa: E731
    w0, x0, w1, x1, w2 = leaf(2.0), leaf(-1.0), leaf(-3.0), leaf(-2.0), leaf(-3.0)
    f = 1.0 / (1.0 + ad.exp(-(w0 * x0 + w1 * x1 + w2)))
    return f, {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2}


def example_arm():
    """A 2-link planar arm's FK loss: 1/2 |p(q) - target|^2 with p from sin and cos."""
    q = ad.Tensor(np.array([0.3, 0.9]), requires_grad=True)
    target = ad.Tensor(np.array([0.6, 1.2]))
    l1, l2 = 1.0, 0.8
    q0, q1 = q[0], q[1]
    q01 = q0 + q1  # absolute angle of link 2
    px = l1 * ad.cos(q0) + l2 * ad.cos(q01)
    py = l1 * ad.sin(q0) + l2 * ad.sin(q01)
    p = ad.stack([px, py])
    loss = 0.5 * ad.sum((p - target) ** 2)
    return loss, {"q": q, "target": target}


def example_mlp():
    """A one-hidden-layer MLP's loss: softmax_cross_entropy(relu(X W1 + b1) W2 + b2, y)."""
    rng = np.random.default_rng(0)
    X = ad.Tensor(rng.standard_normal((4, 3)))
    y = np.array([0, 2, 1, 2])
    W1 = ad.Tensor(rng.standard_normal((3, 5)) * 0.5, requires_grad=True)
    b1 = ad.Tensor(np.zeros(5), requires_grad=True)
    W2 = ad.Tensor(rng.standard_normal((5, 3)) * 0.5, requires_grad=True)
    b2 = ad.Tensor(np.zeros(3), requires_grad=True)
    h = ad.relu(X @ W1 + b1)
    loss = ad.losses.softmax_cross_entropy(h @ W2 + b2, y)
    return loss, {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2}


EXAMPLES = {"expr": example_expr, "arm": example_arm, "mlp": example_mlp}


def write_example(name: str, out_dir) -> list:
    """Draw one example before and after backward; write a PNG and a DOT file of each.

    Returns:
        The paths written, in order.
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; expected one of {', '.join(EXAMPLES)}")
    out_dir = Path(out_dir)
    root, names = EXAMPLES[name]()
    written = []
    dot = write_dot(root, out_dir / f"graph_{name}_forward.dot", show_values=True, names=names)
    png = draw(root, out_dir / f"graph_{name}_forward.png", show_values=True, names=names,
               title=f"{name}: forward pass (values)")
    written += [png, dot]
    viz.retain_grads(root)  # keep every interior gradient, so the drawing shows them all
    root.backward(retain_graph=True)  # keep the graph, so it can still be drawn
    dot = write_dot(root, out_dir / f"graph_{name}_backward.dot", show_grads=True, names=names)
    png = draw(root, out_dir / f"graph_{name}_backward.png", show_grads=True, names=names,
               title=f"{name}: after backward (gradient of the output w.r.t. each node)")
    written += [png, dot]
    return written


# -- the command -------------------------------------------------------------------------------

HELP_EXAMPLES = """\
examples:
  armgrad graph                              all three examples into ./armgrad-graphs
  armgrad graph --example arm --out /tmp/g   the 2-link arm's FK loss only
  python -m demos.graph --example mlp        the same command without the console script
  dot -Tsvg armgrad-graphs/graph_mlp_backward.dot -o mlp.svg   (if Graphviz is installed)

Each example is drawn before backward (values) and after (gradients), as
graph_<example>_forward.{png,dot} and graph_<example>_backward.{png,dot}.
"""


def register(subparsers) -> None:
    """Add the `graph` command to the `armgrad` parser."""
    parser = subparsers.add_parser(
        "graph", help="draw computational graphs before and after backward",
        description="Draw the computational graph of a small expression, of a 2-link planar arm's\n"
                    "FK loss and of a one-hidden-layer MLP's loss, before and after backward, as\n"
                    "PNG (laid out by armgrad, no Graphviz needed) and DOT files.",
        epilog=HELP_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--example", default="all", choices=[*EXAMPLES, "all"],
                        help="which graph to draw (default: all)")
    parser.add_argument("--out", default="armgrad-graphs", metavar="DIR",
                        help="directory for the files, created if missing (default: armgrad-graphs)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Write the requested drawings and print their paths; returns the exit status."""
    from demos.cli import CommandError

    example = getattr(args, "example", "all")
    if example != "all" and example not in EXAMPLES:
        raise CommandError(f"unknown example {example!r}; expected one of {', '.join(EXAMPLES)}, all")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    for name in EXAMPLES if example == "all" else [example]:
        for path in write_example(name, out):
            print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    """`python -m demos.graph ...`: the same as `armgrad graph ...`."""
    from demos.cli import main as cli_main

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = ["--debug"] if "--debug" in argv else []  # a top-level flag of `armgrad`
    return cli_main([*debug, "graph", *(a for a in argv if a != "--debug")])


if __name__ == "__main__":
    sys.exit(main())
