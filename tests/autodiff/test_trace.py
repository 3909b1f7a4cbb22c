"""`ad.trace`: a replay gives the engine's numbers, bit for bit, on values it was not recorded with.

Every row of the op table (`test_op_gradients.py`), the extra graphs, losses and `nn.linear` of
`test_stacked_backward.py` (both loaded by path), and random graphs: each is recorded on its
inputs, then replayed on perturbed inputs (signs and orderings kept, so the domains of log,
sqrt, max's ties stay valid) and compared with the engine run on those same perturbed inputs,
forward value and gradients, for an ordinary and a stacked cotangent.
"""

import importlib.util
import pathlib

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, ops


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_trace_{name}", pathlib.Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_table, _stacked = _load("test_op_gradients"), _load("test_stacked_backward")


def engine(f, args, cotangent):
    """(value, gradients) of f on args from the engine, for one cotangent (ordinary or stacked)."""
    xs = [ad.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in args]
    out = f(*xs)
    out.backward(cotangent)
    return out.data, [x.grad if x.grad is not None else np.zeros(np.shape(cotangent)[:np.ndim(cotangent) - out.ndim]
                                                                   + x.shape) for x in xs]


def perturbed(args, seed):
    rng = np.random.default_rng(seed)
    return [np.asarray(a, dtype=np.float64) * (1.0 + 1e-3 * rng.uniform(0.0, 1.0, np.shape(a))) for a in args]


def assert_replay_is_engine(f, args, lead=()):
    traced = ad.trace(f, *[np.array(a, dtype=np.float64) for a in args])
    for seed in (1, 2):  # twice: the second call must not see the first one's buffers
        new = perturbed(args, seed)
        out_shape = np.shape(f(*[ad.Tensor(a) for a in new]).data)
        cotangent = np.random.default_rng(seed).standard_normal(lead + out_shape)
        want_value, want_grads = engine(f, new, cotangent)
        got_value = traced(*new)
        np.testing.assert_array_equal(got_value, want_value)
        got = traced.backward(cotangent)
        got = [got] if len(args) == 1 else list(got)
        for g, w in zip(got, want_grads):
            assert g.shape == w.shape
            np.testing.assert_array_equal(g, w)


LEADS = [(), (3,)]
CASES = ([(p.values[0], p.values[1], p.values[2]) for p in _table.ROWS]
         + [(name, f, args) for name, f, args in _stacked.EXTRA + _stacked.LOSSES])
IDS = [p.id for p in _table.ROWS] + [e[0] for e in _stacked.EXTRA + _stacked.LOSSES]


@pytest.mark.parametrize("lead", LEADS, ids=["plain", "stacked"])
@pytest.mark.parametrize("op, f, args", CASES, ids=IDS)
def test_every_op_and_graph(op, f, args, lead):
    assert_replay_is_engine(f, args, lead)


def test_table_covers_every_op():
    assert set(ops.__all__) <= {p.values[0] for p in _table.ROWS}


@pytest.mark.parametrize("lead", LEADS, ids=["plain", "stacked"])
@pytest.mark.parametrize("x_shape, bias, relu", _stacked.LINEAR)
def test_linear(x_shape, bias, relu, lead):
    rng = np.random.default_rng(3)
    args = [rng.standard_normal(x_shape), rng.standard_normal((3, 2))] + ([rng.standard_normal(2)] if bias else [])
    assert_replay_is_engine(lambda x, w, *b: nn.linear(x, w, b[0] if b else None, relu=relu), args, lead)


UNARY = [ops.sin, ops.cos, ops.tanh, ops.sigmoid, ops.exp, lambda x: x * 0.5, lambda x: -x, lambda x: x * x]
BINARY = [ops.add, ops.sub, ops.mul, ops.maximum, ops.minimum, lambda x, y: x / (1.5 + y * y)]


def random_graph(seed, n_ops=25):
    """A random function of two (3, 4) inputs: unary and binary ops, broadcast rows and columns,
    indexing, reductions and reuse of earlier nodes (fan-out, so cotangents accumulate)."""
    rng = np.random.default_rng(seed)
    plan = [(rng.integers(4), rng.integers(1 << 30, size=3)) for _ in range(n_ops)]

    def f(x, y):
        nodes = [x, y]
        for kind, (i, j, k) in plan:
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            if kind == 0:
                nodes.append(UNARY[k % len(UNARY)](a))
            elif kind == 1:
                nodes.append(BINARY[k % len(BINARY)](a, b))
            elif kind == 2:  # a broadcast row or column of a, reduced then spread again
                nodes.append(a * ops.mean(b, axis=k % 2, keepdims=True))
            else:
                nodes.append(ops.concatenate([a[:, :2], ops.stack([b[:, 3], a[:, k % 4]], axis=-1)], axis=1))
        return ops.sum(ops.tanh(nodes[-1]) * nodes[len(nodes) // 2])

    return f


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs(seed):
    rng = np.random.default_rng(100 + seed)
    args = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]
    assert_replay_is_engine(random_graph(seed), args)
    assert_replay_is_engine(random_graph(seed), args, lead=(2,))


# -- what a replay is valid for ----------------------------------------------------------------

def test_new_shapes_record_again():
    traced = ad.trace(lambda x: ops.sum(ops.sin(x) * x), np.zeros(3))
    np.testing.assert_array_equal(traced(np.ones(5)), np.sum(np.sin(np.ones(5))))
    assert traced.backward(1.0).shape == (5,)
    assert [s[0][0] for s in traced.signatures] == [(3,), (5,)]
    traced(np.ones(3))  # the first recording is kept, not recorded again
    assert len(traced.signatures) == 2


def test_python_branch_on_a_value_is_refused_while_recording():
    def f(x):
        if ops.sum(x) > 0:  # a branch on a value: frozen into a replay, so refused
            return x * 2.0
        return x

    with pytest.raises(TypeError, match="ad.where"):
        ad.trace(f, np.ones(3))


def test_branch_on_a_value_read_out_of_the_engine_is_frozen():
    """What the docs warn about: x.data leaves the engine, so the branch is the recorded one."""
    def f(x):
        return x * 2.0 if np.sum(x.data) > 0 else x * -1.0

    traced = ad.trace(f, np.ones(3))
    np.testing.assert_array_equal(traced(-np.ones(3)), -2.0 * np.ones(3))  # not what f gives now: +1


def test_where_on_a_traced_comparison_follows_the_new_values():
    def f(x):
        return ops.where((x > 0) & (x < 2.0), ops.sqrt(ops.where(x > 0, x, 1.0)), -x)

    traced = ad.trace(f, np.array([1.0, -1.0, 3.0]))
    x = np.array([-1.0, 1.0, 4.0, 0.25])
    traced = ad.trace(f, x * 0.5)
    np.testing.assert_array_equal(traced(x), [1.0, 1.0, -4.0, 0.5])
    np.testing.assert_array_equal(traced.backward(np.ones(4)), [-1.0, 0.5, -1.0, 1.0])


def test_untraced_tensors_are_constants_and_integer_inputs_get_no_gradient():
    w = ad.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    traced = ad.trace(lambda x, k: ops.sum(x * w * k), np.ones(3), np.array([1, 2, 3]))
    assert traced(np.array([5.0, 6.0, 7.0]), np.array([1, 1, 0])) == 17.0
    np.testing.assert_array_equal(traced.backward(1.0), [1.0, 2.0, 0.0])
    assert w.grad is None


def test_indexing_by_a_traced_tensor_is_refused():
    with pytest.raises(TypeError, match="freeze the index"):
        ad.trace(lambda x, i: x[i], np.ones(3), np.array([0, 2]))


def test_outputs_are_buffers_until_the_next_call():
    traced = ad.trace(lambda x: ops.sin(x), np.zeros(2))
    first = traced(np.zeros(2))
    kept = first.copy()
    traced(np.ones(2))
    np.testing.assert_array_equal(kept, [0.0, 0.0])
    np.testing.assert_array_equal(first, np.sin(np.ones(2)))  # overwritten, as documented


def test_tuple_outputs_and_their_cotangents():
    traced = ad.trace(lambda x: (ops.sin(x), ops.sum(x * x)), np.zeros(3))
    s, q = traced(np.array([0.0, 1.0, 2.0]))
    assert q == 5.0
    np.testing.assert_array_equal(traced.backward((None, 1.0)), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(traced.backward((np.ones(3), None)), np.cos([0.0, 1.0, 2.0]))


def test_bad_cotangent_and_bad_functions_are_named():
    traced = ad.trace(lambda x: ops.sin(x), np.zeros(3))
    traced(np.zeros(3))
    with pytest.raises(ValueError, match=r"cotangent of shape \(2,\) for an output of shape \(3,\)"):
        traced.backward(np.ones(2))
    with pytest.raises(TypeError, match="must return a Tensor"):
        ad.trace(lambda x: x.data, np.zeros(3))
    with pytest.raises(RuntimeError, match="call the traced function first"):
        ad.Traced(ops.sin).backward(1.0)


def test_an_op_with_a_closure_vjp_is_refused():
    from autodiff.tensor import record

    def square(x):
        a = x.data
        return record(a * a, "square", (x,), (lambda g: 2.0 * g * a,), lambda a: a * a)  # a replay can't renew a

    with pytest.raises(TypeError, match="op 'square' records its VJP as a closure"):
        ad.trace(lambda x: ops.sum(square(x)), np.ones(2))


def test_graph_drawing_of_a_traced_function():
    traced = ad.trace(lambda x: ops.sum(ops.sin(x) * x), np.zeros(3))
    dot = ad.viz.to_dot(traced.graph)
    assert "sin" in dot and "mul" in dot and "sum" in dot


def test_source_is_straight_line_numpy():
    traced = ad.trace(lambda x: ops.sum(ops.tanh(x * 0.9 + 0.5)), np.zeros(3))
    traced(np.zeros(3))
    traced.backward(1.0)
    source = traced.source
    assert "def forward(x0):" in source and "def backward(cotangents):" in source
    assert "Tensor" not in source and "lambda" not in source


def test_stacked_backward_compiles_once_per_lead():
    traced = ad.trace(lambda x: ops.sin(x) * x, np.zeros(3))
    traced(np.array([0.1, 0.2, 0.3]))
    rows = traced.backward(np.eye(3))
    np.testing.assert_array_equal(np.diag(rows), np.cos([0.1, 0.2, 0.3]) * [0.1, 0.2, 0.3] + np.sin([0.1, 0.2, 0.3]))
    traced.backward(np.ones(3))
    assert len(traced._last.backwards) == 2


def test_a_compiled_backward_releases_the_recording_and_a_new_lead_records_it_again():
    """After its first backward pass a trace keeps only what its replay needs (the recorded graph
    is about half of its memory); another lead shape, or `graph`, records fn again on the example."""
    traced = ad.trace(lambda x: ops.sum(ops.sin(x) * x, axis=-1), np.zeros((4, 3)))
    x = np.random.default_rng(3).standard_normal((4, 3))
    traced(x)
    one = traced.backward(np.ones(4))
    assert traced._last.tape is None
    stacked = traced.backward(np.arange(8.0).reshape(2, 4))
    leaf = ad.Tensor(x, requires_grad=True)
    ops.sum(ops.sin(leaf) * leaf, axis=-1).backward(np.arange(8.0).reshape(2, 4))
    np.testing.assert_array_equal(stacked, leaf.grad)
    np.testing.assert_array_equal(one, np.cos(x) * x + np.sin(x))
    assert "sin" in ad.viz.to_dot(traced.graph) and traced._last.tape is None


def test_a_function_that_records_another_graph_on_the_same_example_is_refused():
    calls = []

    def moody(x):  # a different graph at its second recording: not a function of its inputs alone
        calls.append(1)
        return x * 2.0 if len(calls) == 1 else ops.sin(x)

    traced = ad.trace(moody, np.zeros(3))
    traced(np.ones(3))
    traced.backward(np.ones(3))
    with pytest.raises(RuntimeError, match="recorded another graph on the same example arrays"):
        traced.backward(np.ones((2, 3)))
