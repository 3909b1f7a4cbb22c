"""Stacked cotangents: `backward(V)` with V of shape lead + out.shape runs one reverse pass for
all cotangents, and each leaf's `.grad` (shape lead + its shape) must equal, row by row, the
gradients of separate `backward(V[k], retain_graph=True)` passes.

Every op of `autodiff.ops` is covered through the op table of `test_op_gradients.py` (loaded
by path: the rows and their inputs are the same), plus the losses, `nn.linear` and an MLP, a
few indexing cases the table lacks, and forward kinematics of the Panda on both FK layouts.
"""

import importlib.util
import pathlib

import numpy as np
import pytest

import autodiff as ad
from autodiff import losses, nn, ops
from autodiff.tensor import unbroadcast

_spec = importlib.util.spec_from_file_location(
    "_op_gradient_table", pathlib.Path(__file__).with_name("test_op_gradients.py"))
_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_table)
ROWS = _table.ROWS

LEADS = [(3,), (2, 3)]


def stacked_and_separate(f, args, lead, seed=0):
    """(stacked grads, per-row grads) of f's leaves for random cotangents of shape lead + out."""
    xs = [ad.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in args]
    out = f(*xs)
    V = np.random.default_rng(seed).standard_normal(lead + out.shape)
    out.backward(V, retain_graph=True)
    stacked = [x.grad for x in xs]
    separate = [np.zeros(lead + x.shape) for x in xs]
    for k in np.ndindex(lead):
        for x in xs:
            x.zero_grad()
        out.backward(V[k], retain_graph=True)
        for rows, x in zip(separate, xs):
            rows[k] = x.grad
    return stacked, separate


def assert_stacked_matches(f, args, lead):
    stacked, separate = stacked_and_separate(f, args, lead)
    for got, want in zip(stacked, separate):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lead", LEADS, ids=["K=3", "lead=2x3"])
@pytest.mark.parametrize("op, f, args", ROWS)
def test_every_op_row(op, f, args, lead):
    assert_stacked_matches(f, args, lead)


def test_table_covers_every_op():
    assert set(ops.__all__) <= {p.values[0] for p in ROWS}


_rng = np.random.default_rng(7)
CUBE = _rng.standard_normal((2, 3, 4))
EXTRA = [
    ("getitem-arrays-apart", lambda x: x[np.array([0, 1, 1]), :, np.array([2, 0, 2])], [CUBE]),
    ("getitem-int-and-array-apart", lambda x: x[1, :, np.array([0, 0, 3])], [CUBE]),
    ("getitem-2d-mask", lambda x: x[x.data > 0], [_rng.standard_normal((3, 4))]),
    ("getitem-ellipsis-arrays", lambda x: x[..., np.array([2, 0]), np.array([1, 1])], [CUBE]),
    ("getitem-used-twice", lambda x: x[0] * x[1:3].sum(axis=0) + x[np.array([2, 2])],
     [_rng.standard_normal((4, 3))]),
    ("matmul-flat-right-chain", lambda x, w: ops.tanh(x @ w) @ w.T, [_rng.standard_normal((4, 2, 3)),
                                                                       _rng.standard_normal((3, 3))]),
    ("sum-then-broadcast", lambda x, y: ops.sum(x, axis=0) * y, [_rng.standard_normal((2, 3)),
                                                                   _rng.standard_normal((4, 1))]),
    ("scalar-output", lambda x: ops.mean(ops.exp(x)), [_rng.standard_normal((2, 3))]),
    ("scalar-leaf", lambda x: x * np.arange(3.0), [np.array(0.7)]),
    ("leaf-is-output", lambda x: x, [_rng.standard_normal(3)]),
]


@pytest.mark.parametrize("lead", LEADS, ids=["K=3", "lead=2x3"])
@pytest.mark.parametrize("name, f, args", EXTRA, ids=[e[0] for e in EXTRA])
def test_more_cases(name, f, args, lead):
    assert_stacked_matches(f, args, lead)


# -- losses and networks ---------------------------------------------------------------------
LABELS = np.array([0, 2, 1, 2])
LOSSES = [
    ("logistic-1d", lambda x: losses.logistic_loss(x, [1, -1, 1, 1]), [_rng.standard_normal(4)]),
    ("logistic-column", lambda x: losses.logistic_loss(x, [1, -1, -1]), [_rng.standard_normal((3, 1))]),
    ("l2", lambda x, y: losses.l2_regularization([x, y], 0.3), [_rng.standard_normal((2, 3)), _rng.standard_normal(3)]),
    ("cross-entropy", lambda x: losses.cross_entropy(ops.softmax(x), LABELS), [_rng.standard_normal((4, 3))]),
    ("softmax-cross-entropy", lambda x: losses.softmax_cross_entropy(x, LABELS), [_rng.standard_normal((4, 3))]),
    ("softmax-cross-entropy-one-hot", lambda x: losses.softmax_cross_entropy(x, np.eye(3)[LABELS]),
     [_rng.standard_normal((4, 3))]),
]
LINEAR = [(x_shape, bias, relu) for x_shape in [(5, 3), (3,), (2, 4, 3)] for bias in (True, False)
          for relu in (False, True)]


@pytest.mark.parametrize("lead", LEADS, ids=["K=3", "lead=2x3"])
@pytest.mark.parametrize("name, f, args", LOSSES, ids=[e[0] for e in LOSSES])
def test_losses(name, f, args, lead):
    assert_stacked_matches(f, args, lead)


@pytest.mark.parametrize("lead", LEADS, ids=["K=3", "lead=2x3"])
@pytest.mark.parametrize("x_shape, bias, relu", LINEAR)
def test_linear(x_shape, bias, relu, lead):
    rng = np.random.default_rng(3)
    args = [rng.standard_normal(x_shape), rng.standard_normal((3, 2))] + ([rng.standard_normal(2)] if bias else [])
    assert_stacked_matches(lambda x, w, *b: nn.linear(x, w, b[0] if b else None, relu=relu), args, lead)


@pytest.mark.parametrize("lead", LEADS, ids=["K=3", "lead=2x3"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_parameters(activation, lead):
    model = nn.MLP([3, 5, 4, 2], activation=activation, seed=1)
    x = np.random.default_rng(4).standard_normal((6, 3))
    params = model.parameters()
    out = losses.softmax_cross_entropy(model(x), np.array([0, 1, 1, 0, 1, 0]))
    V = np.random.default_rng(5).standard_normal(lead)
    out.backward(V, retain_graph=True)
    stacked = [p.grad for p in params]
    for k in np.ndindex(lead):
        model.zero_grad()
        out.backward(V[k], retain_graph=True)
        for got, p in zip(stacked, params):
            np.testing.assert_allclose(got[k], p.grad, rtol=1e-12, atol=1e-12)


# -- the engine's bookkeeping ----------------------------------------------------------------

def test_interior_retain_grad_gets_the_lead_shape():
    x = ad.Tensor(np.arange(3.0), requires_grad=True)
    h = x * 2.0
    h.retain_grad()
    out = ops.sum(ops.sin(h))
    out.backward(np.array([1.0, -2.0]))
    assert h.grad.shape == (2, 3) and x.grad.shape == (2, 3)
    np.testing.assert_allclose(h.grad, np.array([[1.0], [-2.0]]) * np.cos(x.data * 2.0))
    np.testing.assert_allclose(x.grad, 2.0 * h.grad)


@pytest.mark.parametrize("grad_shape", [(3,), (3, 2), (2, 3, 1), (2, 2, 4), ()])
def test_a_wrong_shaped_grad_still_raises(grad_shape):
    out = ad.Tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"backward: grad has shape .* expected the tensor's shape \(2, 3\)"):
        out.backward(np.ones(grad_shape))


@pytest.mark.parametrize("first, second", [((4, 2), (2,)), ((2,), (4, 2)), ((4, 2), (5, 2)), ((3, 4, 2), (4, 2))])
def test_mixing_lead_shapes_in_one_grad_raises(first, second):
    x = ad.Tensor(np.ones(2), requires_grad=True)
    out = ops.exp(x)
    out.backward(np.ones(first), retain_graph=True)
    with pytest.raises(ValueError, match="cannot add a gradient of shape .* stored .grad"):
        out.backward(np.ones(second), retain_graph=True)
    x.zero_grad()
    out.backward(np.ones(second))  # after zero_grad the new shape is fine
    assert x.grad.shape == second


def test_stacked_grads_accumulate_like_plain_ones():
    x = ad.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    out = ops.tanh(x)
    V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    out.backward(V, retain_graph=True)
    out.backward(V)
    np.testing.assert_allclose(x.grad, 2 * V * (1 - np.tanh(x.data) ** 2))


def test_unbroadcast_keeps_the_lead_axes():
    g = np.arange(2 * 4 * 1 * 3, dtype=float).reshape(2, 4, 1, 3)
    np.testing.assert_array_equal(unbroadcast(g, (3,), (2,)), g.sum(axis=(1, 2)))
    np.testing.assert_array_equal(unbroadcast(g, (1, 3), (2,)), g.sum(axis=1))
    np.testing.assert_array_equal(unbroadcast(g, (1, 1), (2,)), g.sum(axis=(1, 3))[..., None])
    assert unbroadcast(g, (1, 3), (2, 4)) is g


# -- through the kinematics ------------------------------------------------------------------

@pytest.mark.parametrize("batch", [5, 1000])  # 1000 rows: the column-layout FK (_top_rows_columns)
def test_forward_kinematics_six_cotangents_in_one_pass(batch):
    import kinematics
    import robots

    chain = robots.get("panda")
    q = np.random.default_rng(batch).uniform(-1.5, 1.5, (batch, chain.n))
    leaf = ad.Tensor(q, requires_grad=True)
    T = kinematics.forward_kinematics(chain, leaf)
    V = np.random.default_rng(11).standard_normal((6,) + T.shape)
    T.backward(V, retain_graph=True)
    stacked = leaf.grad
    assert stacked.shape == (6, batch, chain.n)
    for k in range(6):
        leaf.zero_grad()
        T.backward(V[k], retain_graph=True)
        np.testing.assert_allclose(stacked[k], leaf.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch", [(), (8,), (9,), (3, 17), (600,)])  # products, columns
def test_pose_and_jacobian_one_stacked_pass_matches_the_closed_form(batch):
    import kinematics
    import robots

    chain = robots.get("panda")
    q = np.random.default_rng(len(batch)).uniform(-1.5, 1.5, batch + (chain.n,))
    T, J = kinematics.pose_and_jacobian(chain, q)
    np.testing.assert_allclose(T, kinematics.forward_kinematics(chain, q), atol=1e-12)
    np.testing.assert_allclose(J, kinematics.geometric_jacobian(chain, q), atol=1e-10)
