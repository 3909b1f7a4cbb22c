"""Every op's VJP against central differences, over a table of shapes.

Each row is (op name, function of Tensors, input arrays). The inputs are drawn from one seeded
generator and kept away from the points where an op is not differentiable (|x| = 0 for abs and
relu, ties for max/maximum/minimum, x <= 0 for log/sqrt/power's base, y = 0 for div, matrices
that are not symmetric positive definite for logdet).
`test_table_covers_every_op` fails when an op is added to `autodiff.ops.__all__` without rows.
"""

import numpy as np
import pytest

import autodiff as ad
from autodiff import ops

_rng = np.random.default_rng(20261127)


def normal(*shape):
    return _rng.standard_normal(shape)


def positive(*shape):
    return _rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    """|x| in [0.3, 2] with random signs: safe for abs, relu and as a divisor."""
    return _rng.uniform(0.3, 2.0, shape) * _rng.choice([-1.0, 1.0], shape)


def distinct(*shape):
    """Values at least 0.05 apart (no ties for max), in random order."""
    n = int(np.prod(shape))
    return (_rng.permutation(n) * 0.05 - 0.05 * n / 2).reshape(shape)


ROWS = []


def row(op, f, *args, rid=None):
    shapes = "_".join("x".join(map(str, np.shape(a))) or "scalar" for a in args)
    ROWS.append(pytest.param(op, f, args, id=f"{op}-{rid or shapes}"))


# -- binary elementwise ops over broadcasting pairs ------------------------------------------
BROADCAST_PAIRS = [
    ((), ()), ((), (3,)), ((3,), ()), ((3,), (3,)), ((1,), (3,)), ((3,), (1,)),
    ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)), ((1, 3), (2, 1)), ((2, 3), (2, 1)),
    ((2, 1), (2, 3)), ((4, 2, 3), (2, 3)), ((2, 3), (4, 2, 3)), ((4, 1, 3), (2, 1)),
    ((1, 2, 1), (3, 1, 4)), ((2, 3, 4), (2, 3, 4)), ((5, 2, 3), (1, 1, 1)),
]
for sx, sy in BROADCAST_PAIRS:
    row("add", ops.add, normal(*sx), normal(*sy))
    row("sub", ops.sub, normal(*sx), normal(*sy))
    row("mul", ops.mul, normal(*sx), normal(*sy))
    row("div", ops.div, normal(*sx), away_from_zero(*sy))
    row("power", ops.power, positive(*sx), normal(*sy))
    # maximum/minimum: independent continuous draws never tie (a tie within eps would be
    # needed to confuse the finite differences); the ties themselves are tested below
    row("maximum", ops.maximum, normal(*sx), normal(*sy) + 0.01)
    row("minimum", ops.minimum, normal(*sx), normal(*sy) - 0.01)

# arctan2(y, x): keep (x, y) away from the origin, where the angle has no derivative
for sy, sx in BROADCAST_PAIRS[:12]:
    row("arctan2", ops.arctan2, away_from_zero(*sy), away_from_zero(*sx))
row("arctan2", lambda y: ops.arctan2(y, -1.0), normal(3), rid="tensor-vs-float-at-the-branch-cut-side")
row("arctan2", lambda x: ops.arctan2(np.array([1.0, -2.0, 0.5]), x), normal(2, 3), rid="ndarray-vs-tensor")

# operators and constant operands (numbers, arrays, reflected)
row("add", lambda x: x + 2.5, normal(2, 3), rid="tensor+float")
row("add", lambda x: 2 + x, normal(3), rid="int+tensor")
row("sub", lambda x: 1.5 - x, normal(2, 3), rid="float-tensor")
row("sub", lambda x: np.ones((4, 1, 3)) - x, normal(2, 1), rid="ndarray-tensor")
row("mul", lambda x: x * np.arange(3.0), normal(2, 3), rid="tensor*ndarray")
row("mul", lambda x: np.arange(3.0) * x, normal(2, 3), rid="ndarray*tensor")
row("mul", lambda x: x * x * x, normal(2, 3), rid="reuse-x*x*x")
row("div", lambda x: 1.0 / x, away_from_zero(2, 3), rid="float/tensor")
row("div", lambda x: x / 4, normal(3), rid="tensor/int")
row("power", lambda x: x ** 2, normal(2, 3), rid="tensor**2-negative-base")
row("power", lambda x: x ** 3.5, positive(3), rid="tensor**float")
row("power", lambda x: 2.0 ** x, normal(2, 3), rid="float**tensor")
row("power", lambda x: x ** x, positive(2, 2), rid="tensor**itself")
row("neg", lambda x: -x, normal(2, 3), rid="unary-minus")
row("maximum", lambda x: ops.maximum(x, 0.1), away_from_zero(2, 3), rid="tensor-vs-float")
row("minimum", lambda x: ops.minimum(np.zeros(3), x), away_from_zero(2, 3), rid="ndarray-vs-tensor")

# -- unary elementwise ops ---------------------------------------------------------------------
UNARY_SHAPES = [(), (1,), (3,), (2, 3), (2, 1, 3), (3, 1)]
UNARY = [
    ("neg", ops.neg, normal), ("exp", ops.exp, normal), ("log", ops.log, positive),
    ("sqrt", ops.sqrt, positive), ("abs", ops.abs, away_from_zero), ("sin", ops.sin, normal),
    ("cos", ops.cos, normal), ("tanh", ops.tanh, normal), ("sigmoid", ops.sigmoid, normal),
    ("relu", ops.relu, away_from_zero),
]
for name, f, draw in UNARY:
    for shape in UNARY_SHAPES:
        row(name, f, draw(*shape))
row("sigmoid", ops.sigmoid, np.array([-30.0, -5.0, 0.0, 5.0, 30.0]), rid="wide-range")
# cos_sin: both values stacked on a new axis, anywhere (its VJP reads them back from the output)
for shape, axis in [((), 0), ((3,), 0), ((3,), -1), ((2, 3), 1), ((2, 1, 3), 0), ((2, 1, 3), 2), ((2, 3), -1)]:
    row("cos_sin", lambda x, axis=axis: ops.cos_sin(x, axis=axis), normal(*shape), rid=f"{shape}-axis={axis}")
row("cos_sin", lambda x: ops.cos_sin(x)[1] * ops.cos_sin(x)[0], normal(2, 3), rid="sin-times-cos")
row("tanh", ops.tanh, np.array([-8.0, -1.0, 0.0, 1.0, 8.0]), rid="wide-range")

# where: the condition broadcasts against both branches
row("where", lambda x, y: ops.where(np.array([True, False, True]), x, y), normal(2, 3), normal(3))
row("where", lambda x, y: ops.where(np.array([[True], [False]]), x, y), normal(3), normal(2, 1))
row("where", lambda x, y: ops.where(x > 0, x, y), away_from_zero(2, 3), normal(2, 3))
row("where", lambda x: ops.where(x > 0, x, 0.0), away_from_zero(4), rid="constant-branch")
row("where", lambda x: ops.where(True, x, x * 2), normal(2, 2), rid="scalar-condition")

# -- reductions ------------------------------------------------------------------------------
REDUCTION_AXES = [None, 0, 1, -1, (0, 2), (2, 0), (1,), (0, 1, 2), ()]
for name, f in [("sum", ops.sum), ("mean", ops.mean), ("max", ops.max)]:
    for axis in REDUCTION_AXES:
        for keepdims in (False, True):
            if name == "max" and axis == ():
                continue
            row(name, lambda x, f=f, axis=axis, keepdims=keepdims: f(x, axis=axis, keepdims=keepdims),
                distinct(2, 3, 4), rid=f"axis={axis}-keepdims={keepdims}")
    row(name, f, normal(), rid="scalar")
    row(name, lambda x, f=f: f(x, axis=1), distinct(3, 1, 2), rid="size-1-axis")
    row(name, lambda x, f=f: f(x, axis=0, keepdims=True), distinct(1), rid="one-element")
row("max", lambda x: ops.max(x, axis=1), np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), rid="tie-split")
row("sum", lambda x: x.sum(axis=0) * x.mean(), normal(3, 2), rid="method")

# -- shape ops -------------------------------------------------------------------------------
row("reshape", lambda x: ops.reshape(x, (3, 2)), normal(2, 3))
row("reshape", lambda x: ops.reshape(x, (1, 2, 3)), normal(6))
row("reshape", lambda x: ops.reshape(x, -1), normal(2, 3, 2), rid="flatten")
row("reshape", lambda x: ops.reshape(x, ()), normal(1, 1), rid="to-scalar")
row("reshape", lambda x: x.reshape(2, -1) * np.arange(3.0), normal(3, 2), rid="method")
row("transpose", ops.transpose, normal(2, 3), rid="default-2d")
row("transpose", ops.transpose, normal(2, 3, 4), rid="default-3d")
row("transpose", lambda x: ops.transpose(x, (1, 0, 2)), normal(2, 3, 4), rid="1-0-2")
row("transpose", lambda x: ops.transpose(x, (2, 0, 1)), normal(2, 3, 4), rid="2-0-1")
row("transpose", lambda x: ops.transpose(x, (-1, 0, -2)), normal(2, 3, 4), rid="negative-axes")
row("transpose", lambda x: x.T * np.arange(2.0), normal(2, 3), rid=".T")
row("swapaxes", lambda x: ops.swapaxes(x, 0, 2), normal(2, 3, 4))
row("swapaxes", lambda x: x.mT, normal(4, 2, 3), rid=".mT")
row("broadcast_to", lambda x: ops.broadcast_to(x, (2, 3)), normal(3))
row("broadcast_to", lambda x: ops.broadcast_to(x, (4, 2, 3)), normal(2, 1))
row("broadcast_to", lambda x: ops.broadcast_to(x, (3,)), normal(), rid="from-scalar")

# getitem: basic and integer-array indices; repeated indices accumulate
GETITEM = [
    ("int", 1), ("negative-int", -1), ("slice", slice(1, None)), ("step", slice(None, None, 2)),
    ("reverse", slice(None, None, -1)), ("tuple", (1, slice(0, 2))), ("ellipsis", (Ellipsis, 0)),
    ("newaxis", (None, slice(None), 1)), ("int-array", np.array([0, 2, 3])),
    ("repeated", np.array([1, 1, 1, 0])), ("list-repeated", [2, 2, 0]),
    ("2d-int-arrays", (np.array([0, 0, 3]), np.array([1, 1, 2]))),
    ("mixed-slice-array", (slice(None), np.array([2, 0, 2]))), ("bool-mask", np.array([True, False, True, True])),
    ("int-array-2d", np.array([[0, 1], [1, 1]])),
]
for rid, index in GETITEM:
    row("getitem", lambda x, index=index: x[index], normal(4, 3), rid=rid)
row("getitem", lambda x: ops.getitem(x, ad.Tensor(np.array([0, 0]))), normal(3), rid="tensor-index")

# stack and concatenate along several axes
for axis in (0, 1, -1, 2):
    row("stack", lambda x, y, z, axis=axis: ops.stack([x, y, z], axis=axis), normal(2, 3), normal(2, 3),
        normal(2, 3), rid=f"axis={axis}")
row("stack", lambda x, y: ops.stack([x, y, x]), normal(3), normal(3), rid="reuse")
row("stack", lambda x: ops.stack([x, np.ones(2)]), normal(2), rid="with-constant")
row("stack", lambda x, y: ops.stack([x, y]), normal(), normal(), rid="scalars")
for axis, shapes in [(0, [(1, 3), (2, 3), (3, 3)]), (1, [(2, 1), (2, 4)]), (-1, [(2, 2, 1), (2, 2, 3)]),
                     (2, [(2, 1, 2), (2, 1, 1), (2, 1, 3)])]:
    row("concatenate", lambda *xs, axis=axis: ops.concatenate(xs, axis=axis), *[normal(*s) for s in shapes],
        rid=f"axis={axis}")
row("concatenate", lambda x: ops.concatenate([x, x, np.zeros(2)]), normal(2), rid="reuse-with-constant")

# -- softmax family --------------------------------------------------------------------------
for axis in (-1, 0, 1):
    row("softmax", lambda x, axis=axis: ops.softmax(x, axis=axis), normal(3, 4), rid=f"axis={axis}")
    row("log_softmax", lambda x, axis=axis: ops.log_softmax(x, axis=axis), normal(3, 4), rid=f"axis={axis}")
for axis, keepdims in [(-1, False), (0, True), ((0, 1), False), (None, False), (1, True)]:
    row("logsumexp", lambda x, axis=axis, keepdims=keepdims: ops.logsumexp(x, axis=axis, keepdims=keepdims),
        normal(2, 3, 2), rid=f"axis={axis}-keepdims={keepdims}")
row("softmax", ops.softmax, normal(4), rid="vector")
row("softmax", ops.softmax, normal(2, 2, 3), rid="batched")
row("log_softmax", ops.log_softmax, normal(5) * 10, rid="vector-wide")
row("logsumexp", ops.logsumexp, normal(1), rid="one-element")

# -- matmul ----------------------------------------------------------------------------------
MATMUL = [
    ((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((1, 3), (3, 1)),
    ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)),
    ((3,), (5, 3, 4)), ((5, 2, 3), (3,)), ((1, 2, 3), (4, 3, 2)), ((6, 3), (3, 2)),
]
for sx, sy in MATMUL:
    row("matmul", ops.matmul, normal(*sx), normal(*sy))
row("matmul", lambda x: x @ np.eye(3)[:, :2], normal(4, 3), rid="tensor@ndarray")
row("matmul", lambda x: np.arange(6.0).reshape(2, 3) @ x, normal(3, 2), rid="ndarray@tensor")
row("matmul", lambda x: x @ x.T, normal(3, 2), rid="x@x.T")

# -- logdet: symmetric positive-definite inputs ------------------------------------------------
# A Gram matrix of a free x, as a manipulability cost builds it (every entry of x is free), and
# SPD matrices given directly, symmetrised first: a finite-difference step on one entry of A
# alone would make it asymmetric, which logdet refuses.


def spd(*shape, rng=_rng):
    """Symmetric positive-definite matrices (..., k, k), (shape[:-1], shape[-1]) Gram matrices + I/2."""
    x = rng.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) / shape[-1] + 0.5 * np.eye(shape[-1])


for shape in [(1, 1), (3, 3), (3, 5), (4, 3, 3), (2, 3, 2, 4), (6, 7)]:
    row("logdet", lambda x: ops.logdet(x @ x.mT + 0.5 * np.eye(x.shape[-2])), normal(*shape), rid=f"gram-{shape}")
for shape in [(1, 1), (2, 2), (4, 4), (3, 2, 2), (2, 2, 3, 3)]:
    row("logdet", lambda a: ops.logdet((a + a.mT) * 0.5), spd(*shape), rid=f"spd-{shape}")
row("logdet", lambda a, b: ops.logdet(a @ (b + b.mT) @ a.mT) * ops.logdet(b + b.mT), normal(2, 3, 3) + 2 * np.eye(3),
    spd(3, 3), rid="broadcast-and-reuse")

# -- cummatmul: prefix products of a stack of square matrices ---------------------------------
for shape in [(1, 3, 3), (2, 2, 2), (4, 3, 3), (3, 5, 4, 4), (5, 2, 3, 1, 1)]:
    row("cummatmul", ops.cummatmul, normal(*shape))
row("cummatmul", lambda x: ops.cummatmul(x)[-1], normal(6, 2, 3, 3), rid="last-only")  # a chain's end pose
row("cummatmul", lambda x, y: ops.cummatmul(ops.stack([x, y @ x, x]))[1:] * y, normal(3, 3), normal(3, 3),
    rid="shared-factors")


@pytest.mark.parametrize("op, f, args", ROWS)
def test_gradient_matches_finite_differences(op, f, args):
    ad.check_grads(f, *args, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("op, f, args", ROWS)
def test_constant_inputs_give_a_finite_constant_tensor(op, f, args):
    out = f(*[ad.Tensor(a) for a in args])
    assert isinstance(out, ad.Tensor)
    assert np.all(np.isfinite(out.data))
    assert not out.requires_grad  # constants in, constant out


def test_table_covers_every_op():
    covered = {p.values[0] for p in ROWS}
    missing = set(ops.__all__) - covered
    assert not missing, f"ops without gradient rows: {sorted(missing)}"


@pytest.mark.parametrize("f, args, expected", [
    (lambda x: ops.sum(x), [np.arange(6.0).reshape(2, 3)], 15.0),
    (lambda x: ops.mean(x, axis=0), [np.arange(6.0).reshape(2, 3)], [1.5, 2.5, 3.5]),
    (lambda x: ops.max(x, axis=-1, keepdims=True), [np.array([[1.0, 5.0], [7.0, 2.0]])], [[5.0], [7.0]]),
    (lambda x: ops.logsumexp(x), [np.log([1.0, 2.0, 5.0])], np.log(8.0)),
    (lambda x: ops.softmax(x), [np.log([1.0, 3.0])], [0.25, 0.75]),
    (lambda x: ops.log_softmax(x), [np.log([1.0, 3.0])], np.log([0.25, 0.75])),
    (lambda x, y: x @ y, [np.array([1.0, 2.0]), np.array([3.0, 4.0])], 11.0),
    (lambda x: x[np.array([0, 0])], [np.array([4.0, 5.0])], [4.0, 4.0]),
    (lambda x: ops.sigmoid(x), [np.array([0.0, -1000.0, 1000.0])], [0.5, 0.0, 1.0]),
    (lambda x, y: ops.concatenate([x, y]), [np.ones(1), np.zeros(2)], [1.0, 0.0, 0.0]),
    (lambda x: ops.logdet(x), [np.array([[4.0, 2.0], [2.0, 3.0]])], np.log(8.0)),
    (lambda x: ops.logdet(x), [np.array([[[2.0, 0.0], [0.0, 3.0]], [[1e-300, 0.0], [0.0, 1e-300]]])],
     [np.log(6.0), 2 * np.log(1e-300)]),  # det = 1e-600 underflows; its log does not
    (lambda x: ops.cummatmul(x), [np.array([[[1.0, 1.0], [0.0, 1.0]]] * 3)],
     [[[1.0, 1.0], [0.0, 1.0]], [[1.0, 2.0], [0.0, 1.0]], [[1.0, 3.0], [0.0, 1.0]]]),  # shears add up
])
def test_values(f, args, expected):
    np.testing.assert_allclose(f(*[ad.Tensor(a) for a in args]).data, expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("index, expected", [
    (np.array([1, 1, 1, 0]), [1.0, 3.0, 0.0]),
    ([2, 2], [0.0, 0.0, 2.0]),
    ((np.array([0, 0]),), [2.0, 0.0, 0.0]),
    (slice(None, None, -1), [1.0, 1.0, 1.0]),
])
def test_repeated_indices_accumulate(index, expected):
    x = ad.Tensor(np.zeros(3), requires_grad=True)
    ops.sum(x[index]).backward()
    np.testing.assert_array_equal(x.grad, expected)


def test_max_splits_gradient_at_ties():
    x = ad.Tensor([2.0, 2.0, 1.0], requires_grad=True)
    ops.max(x).backward()
    np.testing.assert_array_equal(x.grad, [0.5, 0.5, 0.0])
    a, b = ad.Tensor([1.0, 2.0], requires_grad=True), ad.Tensor([1.0, 3.0], requires_grad=True)
    ops.sum(ops.maximum(a, b)).backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0])


@pytest.mark.parametrize("name, f, x, expected", [
    ("abs at 0", ops.abs, 0.0, 0.0),
    ("relu at 0", ops.relu, 0.0, 0.0),
    ("relu negative", ops.relu, -1.0, 0.0),
    ("sqrt at 4", ops.sqrt, 4.0, 0.25),
])
def test_derivatives_at_special_points(name, f, x, expected):
    t = ad.Tensor(x, requires_grad=True)
    f(t).backward()
    assert t.grad == expected, name


@pytest.mark.parametrize("x, y, grad_x, grad_y", [
    (0.0, 0.0, 0.0, 0.0),  # d/dx x^0 = 0 even at x = 0; d/dy 0^y = 0 for y >= 0
    (0.0, 2.0, 0.0, 0.0),
    (0.0, 1.0, 1.0, 0.0),
    (-2.0, 2.0, -4.0, np.nan),  # the real power of a negative base has no exponent derivative
    (2.0, 3.0, 12.0, 8.0 * np.log(2.0)),
])
def test_power_derivatives_at_edge_points(x, y, grad_x, grad_y):
    tx, ty = ad.Tensor(x, requires_grad=True), ad.Tensor(y, requires_grad=True)
    (tx ** ty).backward()
    np.testing.assert_allclose([tx.grad, ty.grad], [grad_x, grad_y], rtol=1e-14)


def test_power_of_integer_constants_passes_numpys_complaint_on():
    with pytest.raises(ValueError, match="power: cannot apply to shapes \\(3,\\) and \\(\\): Integers"):
        ad.power(ad.Tensor(np.arange(3)), np.array(-1))


def test_logdet_values_and_gradients_match_numpys_closed_forms():
    """log det against numpy's slogdet, and its gradient against Jacobi's formula A⁻¹ (one batch)."""
    a = spd(5, 2, 6, 6, rng=np.random.default_rng(1))
    x = ad.Tensor(a, requires_grad=True)
    out = ops.logdet(x)
    sign, expected = np.linalg.slogdet(a)
    assert out.shape == (5, 2) and np.all(sign == 1)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13)
    ops.sum(out * np.arange(10.0).reshape(5, 2)).backward()
    np.testing.assert_allclose(x.grad, np.arange(10.0).reshape(5, 2, 1, 1) * np.linalg.inv(a), rtol=1e-10, atol=1e-12)


def test_logdet_takes_the_symmetric_part_of_a_rounding_asymmetry():
    a = spd(4, 6, 6, rng=np.random.default_rng(2))
    noisy = a.copy()
    noisy[..., 0, 1] += 1e-12  # below SYMMETRY_RTOL: rounding, as (J W) Jᵀ may leave it
    x = ad.Tensor(noisy, requires_grad=True)
    symmetric = (noisy + np.swapaxes(noisy, -1, -2)) / 2
    np.testing.assert_allclose(ops.logdet(x).data, np.linalg.slogdet(symmetric)[1], rtol=1e-14)
    ops.sum(ops.logdet(x)).backward()
    np.testing.assert_allclose(x.grad, np.linalg.inv(symmetric), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("a, message", [
    (np.diag([1.0, -2.0]), r"logdet: matrix is not positive definite \(smallest eigenvalue -2\); "),
    (np.stack([np.eye(3), np.eye(3), np.diag([1.0, 1.0, 0.0])]),
     r"not positive definite \(smallest eigenvalue 0 at batch index \(2,\)\)"),
    (np.zeros((2, 2)), "not positive definite"),
    (np.array([[1.0, 0.5], [0.0, 1.0]]), r"logdet: matrix is not symmetric \(max \|A - Aᵀ\| = 0.5\)"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "logdet: matrix contains NaN or infinite values: 2 of 4"),
    (np.ones((2, 3)), r"logdet: expected square matrices of shape \(\.\.\., k, k\), got shape \(2, 3\)"),
    (np.ones(3), r"got shape \(3,\)"),
])
def test_logdet_refuses_matrices_that_are_not_symmetric_positive_definite(a, message):
    with pytest.raises(ValueError, match=message):
        ops.logdet(ad.Tensor(a, requires_grad=True))


def test_cummatmul_is_the_running_product_and_refuses_what_is_not_a_stack_of_square_matrices():
    x = _rng.standard_normal((5, 2, 3, 3))
    out = ops.cummatmul(x).data
    running = x[0]
    for i in range(5):
        running = running if i == 0 else running @ x[i]
        np.testing.assert_array_equal(out[i], running)  # the same products in the same order: the same bits
    for shape in [(3, 3), (2, 3, 4), (0, 2, 2)]:
        with pytest.raises(ValueError, match=r"cummatmul: expected \(k, \.\.\., m, m\)"):
            ops.cummatmul(np.zeros(shape))


def test_cos_sin_holds_the_bits_of_cos_and_sin_and_its_gradient_theirs():
    x = _rng.uniform(-10, 10, (4, 5))
    for axis in (0, 1, 2, -1):
        t = ad.Tensor(x, requires_grad=True)
        out = ops.cos_sin(t, axis=axis)
        np.testing.assert_array_equal(np.moveaxis(out.data, axis, 0), [np.cos(x), np.sin(x)])
        g = _rng.standard_normal(out.shape)
        out.backward(g)
        g_cos, g_sin = np.moveaxis(g, axis, 0)
        u = ad.Tensor(x, requires_grad=True)
        (ops.sum(ops.cos(u) * g_cos) + ops.sum(ops.sin(u) * g_sin)).backward()
        np.testing.assert_array_equal(t.grad, u.grad)  # −g_cos sin x + g_sin cos x, the same roundings


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (4, 1, 5), (0, 3)])
def test_cos_sin_is_numpys_stack_of_cos_and_sin_for_every_axis(shape):
    x = np.asarray(_rng.uniform(-10, 10, shape))
    for axis in range(-x.ndim - 1, x.ndim + 1):
        out = ops.cos_sin(x, axis=axis).data
        want = np.stack([np.cos(x), np.sin(x)], axis=axis)
        assert out.shape == want.shape and out.dtype == want.dtype
        np.testing.assert_array_equal(out, want)


def test_cos_sin_of_a_broadcast_view_gives_the_same_bits_and_gradients():
    x = _rng.uniform(-10, 10, (4, 5))
    for view in (np.broadcast_to(x, (3, 4, 5)), np.broadcast_to(x[:, :1], (4, 5)),
                 np.broadcast_to(x, (3, 4, 5)).transpose(2, 0, 1)):
        for axis in (0, 1, -1):
            got, want = ad.Tensor(view, requires_grad=True), ad.Tensor(view.copy(), requires_grad=True)
            out = ops.cos_sin(got, axis=axis)
            np.testing.assert_array_equal(out.data, ops.cos_sin(want, axis=axis).data)
            g = _rng.standard_normal(out.shape)
            out.backward(g)
            ops.cos_sin(want, axis=axis).backward(g)
            np.testing.assert_array_equal(got.grad, want.grad)
