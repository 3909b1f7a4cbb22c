"""check_grads itself: it passes right VJPs and catches wrong ones, in both of its modes."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import GradientCheckError, check_grads
from autodiff.tensor import as_tensor, record


def square(x, factor=2.0):
    """x^2 with a VJP of factor * x * g: right for factor 2, wrong otherwise."""
    x = as_tensor(x)
    a = x.data
    return record(a * a, "square", (x,), (lambda g: factor * a * g,))


def swapped_mul(x, y):
    """x * y whose VJPs are exchanged: right only where x == y."""
    x, y = as_tensor(x), as_tensor(y)
    a, b = x.data, y.data
    return record(a * b, "swapped_mul", (x, y), (lambda g: g * a, lambda g: g * b))


def wrong_broadcast(x):
    """sum over axis 0 whose VJP forgets the factor: returns g / 2 instead of g for each row."""
    x = as_tensor(x)
    return record(np.sum(x.data, axis=0), "wrong_sum", (x,), (lambda g: np.broadcast_to(g / 2, x.shape),))


rng = np.random.default_rng(5)
SMALL = rng.standard_normal((2, 3))
LARGE = rng.standard_normal((20, 20))  # 400 inputs: checked along random projections


@pytest.mark.parametrize("x", [SMALL, LARGE], ids=["full-jacobian", "random-projections"])
def test_a_right_vjp_passes(x):
    check_grads(square, x)
    check_grads(lambda t: ad.sum(square(t)), x)


@pytest.mark.parametrize("f, args", [
    (lambda t: square(t, factor=2.001), [SMALL]),
    (lambda t: square(t, factor=2.001), [LARGE]),
    (lambda t: ad.sum(square(t, factor=1.0)), [LARGE]),
    (swapped_mul, [SMALL, SMALL + 1.0]),
    (swapped_mul, [LARGE, LARGE + 1.0]),
    (wrong_broadcast, [SMALL]),
    (wrong_broadcast, [LARGE]),
], ids=["small-factor", "large-factor", "large-scalar-out", "swapped-small", "swapped-large",
        "broadcast-small", "broadcast-large"])
def test_a_wrong_vjp_raises(f, args):
    with pytest.raises(GradientCheckError):
        check_grads(f, *args)


def test_the_error_names_the_argument_index_and_both_values():
    x = np.array([1.0, 2.0])
    with pytest.raises(GradientCheckError) as info:
        check_grads(lambda t: square(t, factor=3.0), x)
    message = str(info.value)
    assert "d out / d arg0" in message and "output index (1,), input index (1,)" in message
    assert "autodiff 6.0" in message and "finite differences 4.0000" in message


def test_the_error_names_the_second_argument():
    with pytest.raises(GradientCheckError, match="arg1"):
        check_grads(lambda a, b: a * square(b, factor=1.0), np.ones(2), np.full(2, 3.0))


def test_a_non_finite_gradient_is_reported():
    with pytest.raises(GradientCheckError, match="nan"):
        check_grads(lambda t: square(t, factor=np.nan), np.ones(2))


def test_a_function_undefined_at_the_point_is_reported():
    with np.errstate(all="ignore"), pytest.raises(GradientCheckError, match="finite differences nan"):
        check_grads(lambda t: ad.sqrt(t), np.array([0.0, 1.0]))  # sqrt(-1e-6) is NaN


def test_tolerances_are_honoured():
    x = np.array([1.0, 2.0])
    check_grads(lambda t: square(t, factor=2.0 + 1e-9), x, rtol=1e-6)
    with pytest.raises(GradientCheckError):
        check_grads(lambda t: square(t, factor=2.0 + 1e-4), x, rtol=1e-6)
    check_grads(lambda t: square(t, factor=2.0 + 1e-4), x, rtol=1e-3)


def test_gradient_check_error_is_an_assertion_error():
    assert issubclass(GradientCheckError, AssertionError)


def test_check_grads_rejects_functions_that_return_no_tensor():
    with pytest.raises(TypeError, match="must return a Tensor"):
        check_grads(lambda t: 1.0, np.ones(2))


def test_numerical_jacobian_of_a_linear_map_is_the_matrix():
    A = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)
    np.testing.assert_allclose(ad.numerical_jacobian(lambda t: ad.Tensor(A) @ t, [x], 0), A, rtol=1e-8)
