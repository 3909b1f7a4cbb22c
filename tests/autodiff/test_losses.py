"""The course losses and activations against their closed forms, per sample, and their stability.

Closed forms such as tanh' = 4e^(2x)/(e^(2x)+1)^2 overflow for large x: they are used here only
as oracles at moderate x; the engine computes 1 - tanh^2 inside.
"""

import numpy as np
import pytest

import autodiff as ad
from autodiff import losses

rng = np.random.default_rng(7)
MODERATE = np.linspace(-6.0, 6.0, 25)


def grad_of(f, x):
    t = ad.Tensor(np.array(x, dtype=float), requires_grad=True)
    out = f(t)
    out.backward(np.ones(out.shape))
    return t.grad


@pytest.mark.parametrize("name, f, closed_form", [
    ("sigmoid' = e^-x / (1 + e^-x)^2", ad.sigmoid, lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    ("tanh' = 4 e^2x / (e^2x + 1)^2", ad.tanh, lambda x: 4 * np.exp(2 * x) / (np.exp(2 * x) + 1) ** 2),
    ("relu' = step", ad.relu, lambda x: (x > 0).astype(float)),
    ("exp' = exp", ad.exp, np.exp),
    ("sin' = cos", ad.sin, np.cos),
    ("cos' = -sin", ad.cos, lambda x: -np.sin(x)),
])
def test_activation_derivatives_match_closed_forms(name, f, closed_form):
    x = MODERATE + 0.01  # relu: avoid x = 0 exactly
    np.testing.assert_allclose(grad_of(f, x), closed_form(x), rtol=1e-12, atol=1e-15, err_msg=name)


LOGISTIC_CASES = [
    pytest.param(rng.standard_normal(6), rng.choice([-1.0, 1.0], 6), id="N=6"),
    pytest.param(rng.standard_normal((5, 1)), rng.choice([-1.0, 1.0], 5), id="column-scores-flat-labels"),
    pytest.param(np.array([0.0]), np.array([1.0]), id="N=1-at-zero"),
    pytest.param(np.array([3.0, -2.0, 0.5, 8.0]), np.array([1, -1, -1, 1]), id="int-labels"),
]


@pytest.mark.parametrize("x, y", LOGISTIC_CASES)
def test_logistic_loss_value_and_closed_form_gradient(x, y):
    n = x.size
    xy = x.ravel() * y
    loss = losses.logistic_loss(ad.Tensor(x), y)
    np.testing.assert_allclose(loss.data, np.mean(np.log(1 + np.exp(-xy))), rtol=1e-12)
    expected = (-y / (1 + np.exp(xy)) / n).reshape(x.shape)  # d/dx_i = -y_i / (1 + e^(x_i y_i)), / N
    np.testing.assert_allclose(grad_of(lambda t: losses.logistic_loss(t, y), x), expected, rtol=1e-12, atol=1e-300)
    ad.check_grads(lambda t: losses.logistic_loss(t, y), x)


@pytest.mark.parametrize("score, label", [(1e4, 1.0), (-1e4, -1.0), (1e4, -1.0), (-1e4, 1.0), (1e300, -1.0)])
def test_logistic_loss_is_stable_at_large_margins(score, label):
    x = np.array([score, 0.5])
    y = np.array([label, 1.0])
    loss = losses.logistic_loss(ad.Tensor(x), y)
    g = grad_of(lambda t: losses.logistic_loss(t, y), x)
    assert np.isfinite(loss.data) and np.all(np.isfinite(g))
    margin = -label * score
    np.testing.assert_allclose(loss.data, (max(margin, 0.0) + np.log1p(np.exp(-0.5))) / 2, rtol=1e-12)
    # per-sample gradient -y sigmoid(-x y) / N: -y / N when the margin is hugely positive, else 0
    np.testing.assert_allclose(g[0], -label / 2 if margin > 0 else 0.0, atol=1e-300)


@pytest.mark.parametrize("labels", [np.array([0, 2, 1, 2]), np.eye(3)[[0, 2, 1, 2]]], ids=["int", "one-hot"])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_softmax_cross_entropy_gradient_is_a_minus_y_over_n(labels, scale):
    x = rng.standard_normal((4, 3)) * scale
    y = np.eye(3)[[0, 2, 1, 2]]
    a = np.exp(x - x.max(axis=1, keepdims=True))
    a /= a.sum(axis=1, keepdims=True)
    loss = losses.softmax_cross_entropy(ad.Tensor(x), labels)
    np.testing.assert_allclose(loss.data, -np.mean(np.log(np.sum(a * y, axis=1))), rtol=1e-10)
    g = grad_of(lambda t: losses.softmax_cross_entropy(t, labels), x)
    np.testing.assert_allclose(g, (a - y) / 4, rtol=1e-10, atol=1e-15)
    if scale == 1.0:
        ad.check_grads(lambda t: losses.softmax_cross_entropy(t, labels), x)


@pytest.mark.parametrize("labels", [np.array([1, 0]), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])],
                         ids=["int", "one-hot"])
def test_cross_entropy_on_probabilities(labels):
    p = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    loss = losses.cross_entropy(ad.Tensor(p), labels)
    np.testing.assert_allclose(loss.data, -(np.log(0.5) + np.log(0.6)) / 2, rtol=1e-12)
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(grad_of(lambda t: losses.cross_entropy(t, labels), p), -y / p / 2, rtol=1e-12)
    ad.check_grads(lambda t: losses.cross_entropy(t, labels), p)


def test_cross_entropy_of_a_zero_probability_is_finite():
    loss = losses.cross_entropy(ad.Tensor([[0.0, 1.0]]), np.array([0]))
    assert np.isfinite(loss.data) and loss.data > 20


def test_softmax_then_cross_entropy_equals_the_fused_loss():
    x = rng.standard_normal((3, 4))
    labels = np.array([3, 0, 1])
    fused = grad_of(lambda t: losses.softmax_cross_entropy(t, labels), x)
    composed = grad_of(lambda t: losses.cross_entropy(ad.softmax(t), labels), x)
    np.testing.assert_allclose(composed, fused, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("weight", [0.0, 0.1, 3.0])
def test_l2_regularization_gradient_is_2_w_x(weight):
    params = [ad.Tensor(rng.standard_normal(s), requires_grad=True) for s in [(3,), (2, 2), ()]]
    loss = losses.l2_regularization(params, weight)
    np.testing.assert_allclose(loss.data, weight * sum(np.sum(p.data ** 2) for p in params), rtol=1e-12)
    loss.backward()
    for p in params:
        np.testing.assert_allclose(p.grad, 2 * weight * p.data, rtol=1e-12)


def test_l2_regularization_of_one_tensor_and_of_none():
    x = ad.Tensor([1.0, -2.0], requires_grad=True)
    losses.l2_regularization(x, 0.5).backward()
    np.testing.assert_allclose(x.grad, [1.0, -2.0])
    assert losses.l2_regularization([], 0.5).data == 0.0


LOGITS_1E4 = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4 - 1.0]])


@pytest.mark.parametrize("name, f", [
    ("softmax", ad.softmax),
    ("log_softmax", ad.log_softmax),
    ("logsumexp", ad.logsumexp),
    ("softmax_cross_entropy", lambda t: losses.softmax_cross_entropy(t, np.array([2, 0]))),
    ("cross_entropy(softmax)", lambda t: losses.cross_entropy(ad.softmax(t), np.array([2, 0]))),
])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_softmax_family_is_finite_at_logits_1e4(name, f, sign):
    x = sign * LOGITS_1E4
    out = f(ad.Tensor(x))
    assert np.all(np.isfinite(out.data)), name
    g = grad_of(f, x)
    assert np.all(np.isfinite(g)), name


def test_softmax_and_logsumexp_values_at_1e4():
    x = ad.Tensor(LOGITS_1E4)
    np.testing.assert_allclose(ad.softmax(x).data[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(ad.logsumexp(x).data, [1e4, 1e4 + np.log(2 + np.exp(-1.0))], rtol=1e-15)
    np.testing.assert_allclose(losses.softmax_cross_entropy(x, np.array([0, 2])).data,
                               (0.0 + 1.0 + np.log(2 + np.exp(-1.0))) / 2, rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: losses.logistic_loss(ad.Tensor([1.0, 2.0]), [1.0, 0.0]), "-1 or \\+1"),
    (lambda: losses.logistic_loss(ad.Tensor([1.0, 2.0]), [1.0]), "1 labels for scores of shape \\(2,\\)"),
    (lambda: losses.softmax_cross_entropy(ad.Tensor(np.zeros((2, 3))), [0, 3]), "\\[0, 3\\)"),
    (lambda: losses.softmax_cross_entropy(ad.Tensor(np.zeros((2, 3))), np.zeros((2, 2))), "\\(2, 3\\)"),
    (lambda: losses.softmax_cross_entropy(ad.Tensor(np.zeros(3)), [0]), "\\(N, C\\)"),
    (lambda: losses.cross_entropy(ad.Tensor(np.full((2, 2), 0.5)), [0]), "2 integer class labels"),
    (lambda: losses.cross_entropy(ad.Tensor(np.full((2, 2), 0.5)), [0.5, 1.0]), "integer class labels"),
])
def test_loss_errors_name_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("probs, message", [
    ([[5.0, 0.0]], r"probs must lie in \[0, 1\], got 5.0 at \(0, 0\)"),  # returned -log 5 = -1.609 before
    ([[0.5, 0.5], [-0.2, 1.2]], r"probs must lie in \[0, 1\], got -0.2 at \(1, 0\)"),
    ([[0.2, 0.3]], r"row 0 sums to 0.5"),
    ([[0.5, 0.5], [0.5, 0.5 + 1e-4]], r"row 1 sums to 1.0001"),
    ([[np.nan, 1.0]], r"got nan at \(0, 0\)"),
], ids=["above-one", "negative", "unnormalised", "slightly-off", "nan"])
def test_cross_entropy_refuses_what_is_not_probabilities(probs, message):
    with pytest.raises(ValueError, match=message) as info:
        losses.cross_entropy(ad.Tensor(probs), [0] * len(probs))
    assert str(info.value).startswith("cross_entropy: ")


def test_cross_entropy_accepts_rounded_softmax_rows():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((50, 7)) * 5
    probs = ad.softmax(ad.Tensor(logits)).data
    probs32 = probs.astype(np.float32)  # rows off 1 by float32 rounding (~1e-7)
    labels = rng.integers(0, 7, 50)
    expected = losses.softmax_cross_entropy(ad.Tensor(logits), labels).data
    np.testing.assert_allclose(losses.cross_entropy(ad.Tensor(probs), labels).data, expected, rtol=1e-6)
    assert np.isfinite(losses.cross_entropy(ad.Tensor(probs32.astype(np.float64)), labels).data)
