"""grad, value_and_grad, vjp and jacobian against central differences (numerical_jacobian)."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import Tensor, numerical_jacobian

rng = np.random.default_rng(3)


def scalar_f(x, y):
    return ad.sum(ad.sin(x) * y) + ad.sum(x * x) * 0.5


def vector_f(x):
    return ad.tanh(ad.concatenate([x * 2.0, ad.exp(x[:2])]))  # (n,) -> (n + 2,)


def test_grad_matches_numerical_jacobian():
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    for i, arg in enumerate((x, y)):
        expected = numerical_jacobian(scalar_f, [x, y], i).reshape(arg.shape)
        np.testing.assert_allclose(ad.grad(scalar_f, argnums=i)(x, y), expected, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("argnums", [0, 1, -1, (0,), (0, 1), (1, 0)])
def test_value_and_grad_int_and_tuple_argnums(argnums):
    x, y = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    value, grads = ad.value_and_grad(scalar_f, argnums)(x, y)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, scalar_f(Tensor(x), Tensor(y)).data, rtol=1e-15)
    nums = (argnums,) if isinstance(argnums, int) else argnums
    expected = [numerical_jacobian(scalar_f, [x, y], i % 2).reshape(2, 2) for i in nums]
    if isinstance(argnums, int):
        assert isinstance(grads, np.ndarray)
        grads = (grads,)
    assert isinstance(grads, tuple) and len(grads) == len(nums)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-7, atol=1e-9)


def test_grad_leaves_caller_arrays_untouched_and_calls_independent():
    x = np.array([1.0, 2.0])
    g = ad.grad(lambda t: ad.sum(t * t))
    first = g(x)
    second = g(x)  # no gradient leaks from the first call
    np.testing.assert_array_equal(first, [2.0, 4.0])
    np.testing.assert_array_equal(second, first)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_grad_of_an_argument_the_function_ignores_is_zero():
    g = ad.grad(lambda x, y: ad.sum(x * 2.0), argnums=1)(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(g, np.zeros(3))


def test_grad_accepts_int_arrays_and_tensors_as_arguments():
    f = lambda x: ad.sum(x ** 2)  # noqa: E731
    np.testing.assert_array_equal(ad.grad(f)(np.arange(3)), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(ad.grad(f)(Tensor([1.0, 2.0])), [2.0, 4.0])


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: ad.grad(lambda x: x * 2.0)(np.ones(3)), TypeError, r"one-element Tensor, got \(3,\)"),
    (lambda: ad.grad(lambda x: 1.0)(np.ones(3)), TypeError, r"one-element Tensor, got float"),
    (lambda: ad.grad(scalar_f, argnums=2)(np.ones(2), np.ones(2)), ValueError, r"argnums 2 is out of range"),
    (lambda: ad.jacobian(vector_f, argnums=(0,))(np.ones(3)), TypeError, r"argnums must be an int"),
    (lambda: ad.jacobian(lambda x: ad.sum(x), batched=True)(np.ones((2, 3))), ValueError, r"must share axis 0"),
    (lambda: ad.vjp(lambda x: 3.0, np.ones(2)), TypeError, r"must return a Tensor"),
])
def test_transform_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize("shape", [(3,), (2, 3), ()])
def test_vjp_pullback_is_v_times_jacobian_and_reusable(shape):
    f = lambda x, y: ad.sin(x) * y + x  # noqa: E731
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    value, pullback = ad.vjp(f, x, y)
    np.testing.assert_allclose(value, np.sin(x) * y + x, rtol=1e-15)
    n = int(np.prod(shape))
    jx, jy = numerical_jacobian(f, [x, y], 0), numerical_jacobian(f, [x, y], 1)
    for _ in range(2):  # the pullback may be called many times
        v = rng.standard_normal(shape)
        gx, gy = pullback(v)
        np.testing.assert_allclose(gx.ravel(), v.reshape(n) @ jx, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(gy.ravel(), v.reshape(n) @ jy, rtol=1e-7, atol=1e-9)


def test_vjp_rejects_a_wrong_shape_cotangent():
    _, pullback = ad.vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(ValueError, match=r"grad has shape \(2,\)"):
        pullback(np.ones(2))


@pytest.mark.parametrize("f, arg", [
    (vector_f, rng.standard_normal(3)),
    (lambda x: x @ x.T, rng.standard_normal((2, 3))),
    (lambda x: ad.softmax(x), rng.standard_normal(4)),
    (lambda x: ad.sum(x * x), rng.standard_normal((2, 2))),
])
def test_jacobian_matches_numerical_jacobian(f, arg):
    jac = ad.jacobian(f)(arg)
    out_shape = f(Tensor(arg)).shape
    assert jac.shape == out_shape + arg.shape
    expected = numerical_jacobian(f, [arg], 0).reshape(jac.shape)
    np.testing.assert_allclose(jac, expected, rtol=1e-7, atol=1e-9)


def test_jacobian_with_argnums_and_of_a_constant_function():
    f = lambda x, y: x * y  # noqa: E731
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(ad.jacobian(f, argnums=1)(x, y), np.diag(x), rtol=1e-15)
    np.testing.assert_array_equal(ad.jacobian(lambda x: Tensor(np.ones(2)))(x), np.zeros((2, 3)))


def batched_f(q):
    """Row b depends only on row b: (B, 3) -> (B, 2)."""
    return ad.stack([ad.sin(q[:, 0]) * q[:, 1], ad.cos(q[:, 1] + q[:, 2]) * q[:, 0]], axis=1)


@pytest.mark.parametrize("batch", [1, 4])
def test_batched_jacobian_equals_per_row_jacobians(batch):
    q = rng.standard_normal((batch, 3))
    jac = ad.jacobian(batched_f, batched=True)(q)
    assert jac.shape == (batch, 2, 3)
    for b in range(batch):
        row = lambda x: batched_f(ad.reshape(x, (1, 3)))[0]  # noqa: E731
        expected = numerical_jacobian(row, [q[b]], 0)
        np.testing.assert_allclose(jac[b], expected, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(jac[b], ad.jacobian(row)(q[b]), rtol=1e-14)


def test_batched_jacobian_takes_m_backward_passes_not_b_times_m(monkeypatch):
    calls = []
    original = Tensor.backward
    monkeypatch.setattr(Tensor, "backward", lambda self, *a, **k: (calls.append(1), original(self, *a, **k))[1])
    ad.jacobian(batched_f, batched=True)(rng.standard_normal((50, 3)))
    assert len(calls) == 2  # one per output column, whatever the batch size


def test_batched_jacobian_with_matrix_shaped_rows():
    q = rng.standard_normal((3, 2, 2))
    jac = ad.jacobian(lambda x: x @ x, batched=True)(q)
    assert jac.shape == (3, 2, 2, 2, 2)
    for b in range(3):
        np.testing.assert_allclose(jac[b], ad.jacobian(lambda x: x @ x)(q[b]), rtol=1e-14)
