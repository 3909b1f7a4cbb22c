"""autodiff.viz: the graph walker and the DOT text of a tensor's graph."""

import doctest
import re

import numpy as np
import pytest

import autodiff as ad
from autodiff import viz

NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)", fillcolor="(#[0-9a-f]{6})"\];$', re.M)
EDGE = re.compile(r"^  (n\d+) -> (n\d+);$", re.M)


def parse(dot):
    """{node id: list of label lines}, {node id: colour}, [(source id, target id)]."""
    labels = {n: label.split("\\n") for n, label, _ in NODE.findall(dot)}
    colors = {n: color for n, _, color in NODE.findall(dot)}
    return labels, colors, EDGE.findall(dot)


def known_expression():
    """f = sum((a * b + 2) * sin(a)): 8 nodes (2 leaves, 1 constant, 5 ops) and 8 edges."""
    a = ad.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    b = ad.Tensor(np.array([1.5, 0.25, -3.0]), requires_grad=True)
    f = ad.sum((a * b + 2.0) * ad.sin(a))
    return a, b, f


def test_known_expression_has_one_node_per_op_leaf_and_constant():
    a, b, f = known_expression()
    labels, colors, edges = parse(viz.to_dot(f))
    assert len(labels) == 8
    assert len(edges) == 8
    ops = sorted(lines[0] for lines in labels.values())
    assert ops == ["add", "const", "leaf", "leaf", "mul", "mul", "sin", "sum"]
    # Every edge, by the op names at its ends.
    named = sorted((labels[s][0], labels[t][0]) for s, t in edges)
    assert named == sorted([
        ("leaf", "mul"), ("leaf", "mul"), ("mul", "add"), ("const", "add"),
        ("leaf", "sin"), ("add", "mul"), ("sin", "mul"), ("mul", "sum"),
    ])
    root = [n for n, lines in labels.items() if lines[0] == "sum"]
    assert colors[root[0]] == viz.COLORS["root"]


def test_labels_state_shapes_and_scalar_constant_values():
    _, _, f = known_expression()
    labels, _, _ = parse(viz.to_dot(f))
    by_op = {lines[0]: lines for lines in labels.values()}
    assert by_op["sin"] == ["sin", "shape (3,)"]
    assert by_op["sum"] == ["sum", "shape ()"]
    assert by_op["const"] == ["const", "shape ()", "value 2"]


def test_graph_is_topological_and_edges_follow_slots():
    a, b, f = known_expression()
    g = viz.graph(f)
    assert g.nodes[-1] is f
    assert all(s < t for s, t in g.edges)
    first_mul = g.nodes[g.edges[0][1]]
    assert [g.nodes[s] for s, t in g.edges if g.nodes[t] is first_mul] == [a, b]


def test_an_input_used_twice_gives_two_edges():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    labels, _, edges = parse(viz.to_dot(x * x))
    assert len(labels) == 2
    assert edges == [("n0", "n1"), ("n0", "n1")]


def test_values_shown_small_in_full_large_summarised():
    x = ad.Tensor(np.arange(100.0).reshape(10, 10), requires_grad=True)
    w = ad.Tensor(np.array([[1.0, -2.5], [0.125, 4.0]]), requires_grad=True)
    dot = viz.to_dot(ad.sum(x) * ad.sum(w), show_values=True)
    assert "value mean 49.5, range [0, 99]" in dot
    assert "value [[1, -2.5], [0.125, 4]]" in dot
    assert "value 4.95e+03" in dot
    assert "value" not in viz.to_dot(ad.sum(x) * ad.sum(w))


def test_grads_shown_after_backward_with_retained_graph():
    a, b, f = known_expression()
    viz.retain_grads(f)
    f.backward(retain_graph=True)
    labels, _, _ = parse(viz.to_dot(f, show_grads=True, names={"a": a, "b": b}))
    by_op = {lines[0]: lines for lines in labels.values()}
    # d f / d b = a sin(a)
    expected_b = viz.format_array(a.data * np.sin(a.data))
    assert by_op["b: leaf"][-1] == f"grad {expected_b}"
    assert by_op["sum"][-1] == "grad 1"
    # d f / d sin = a * b + 2
    assert by_op["sin"][-1] == f"grad {viz.format_array(a.data * b.data + 2.0)}"
    assert not any(line.startswith("grad") for line in by_op["const"])


def test_interior_grads_not_kept_without_retain_grad():
    a, b, f = known_expression()
    f.backward(retain_graph=True)
    labels, _, _ = parse(viz.to_dot(f, show_grads=True))
    by_op = {lines[0]: lines for lines in labels.values()}
    assert by_op["sin"][-1] == "grad not kept"
    assert by_op["leaf"][-1].startswith("grad [")


def test_freed_graph_is_a_clear_error():
    _, _, f = known_expression()
    f.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        viz.to_dot(f)


def test_partly_freed_graph_is_a_clear_error():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = ad.sum(x * x)
    z = y * 3.0
    y.backward()
    with pytest.raises(RuntimeError, match="'sum' node.*retain_graph=True"):
        viz.to_dot(z)


def test_not_a_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.to_dot(np.ones(3))


def test_names_are_quoted_for_dot():
    x = ad.Tensor([1.0], requires_grad=True)
    dot = viz.to_dot(x * 2.0, names={'say "hi" \\': x})
    assert r'label="say \"hi\" \\: leaf\nshape (1,)"' in dot


def test_long_chain_needs_no_recursion():
    x = ad.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    labels, _, edges = parse(viz.to_dot(y))
    assert len(labels) == 3001 + 3000  # each mul also has its own constant
    assert len(edges) == 6000


@pytest.mark.parametrize("value, text", [
    (np.float64(0.5), "0.5"),
    (np.array([1.0, -2.0]), "[1, -2]"),
    (np.array([[1.0, 2.0], [3.0, 4.0]]), "[[1, 2], [3, 4]]"),
    (np.arange(7.0), "mean 3, range [0, 6]"),
    (np.array([True, False] * 5), "5 of 10 true"),
    (np.zeros((0, 3)), "[] (empty)"),
    (np.array(3), "3"),
])
def test_format_array(value, text):
    assert viz.format_array(value) == text


def test_module_doctests():
    failures, tried = doctest.testmod(viz, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0
