"""autodiff.nn: gradients of whole networks, initialisation, modules, state dicts, learning."""

import numpy as np
import pytest

import autodiff as ad
from autodiff.nn import linear

LOSSES = {
    "softmax-ce": (lambda out, y: ad.losses.softmax_cross_entropy(out, y), 3),
    "ce": (lambda out, y: ad.losses.cross_entropy(ad.softmax(out, axis=1), y), 3),
    "logistic": (lambda out, y: ad.losses.logistic_loss(out, 2.0 * y - 1.0), 1),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_whole_mlp_and_loss_gradients_match_finite_differences(activation, loss):
    rng = np.random.default_rng(0)
    loss_fn, n_out = LOSSES[loss]
    X = rng.standard_normal((7, 3))
    y = rng.integers(0, 2 if loss == "logistic" else n_out, size=7)
    model = ad.nn.MLP([3, 5, 4, n_out], activation=activation, seed=1)
    start = [p.data.copy() for p in model.parameters()]

    def f(*params):
        for layer, w, b in zip(model.layers, params[::2], params[1::2]):
            layer.weight, layer.bias = w, b
        weights = list(params[::2])
        return loss_fn(model(X), y) + ad.losses.l2_regularization(weights, 0.01)

    ad.check_grads(f, *start, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("x_shape", [(5, 4), (4,), (2, 3, 4)])
def test_fused_linear_gradients(relu, x_shape):
    rng = np.random.default_rng(2)
    args = rng.standard_normal(x_shape), rng.standard_normal((4, 3)), rng.standard_normal(3)
    ad.check_grads(lambda x, w, b: linear(x, w, b, relu=relu), *args)
    ad.check_grads(lambda x, w: linear(x, w, relu=relu), *args[:2])


def test_fused_linear_equals_matmul_plus_bias_and_handles_a_layer_used_twice():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((6, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    np.testing.assert_allclose(linear(x, w, b, relu=True).data, np.maximum(x @ w + b, 0))
    ad.check_grads(lambda x, w, b: ad.sum(linear(linear(x, w, b, relu=True), w, b) ** 2), x, w, b)


def test_linear_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="linear"):
        linear(np.ones((2, 3)), np.ones((4, 5)))


@pytest.mark.parametrize("init, check", [
    ("he", lambda w, n_in, n_out: abs(w.std() - np.sqrt(2 / n_in)) < 0.03 * np.sqrt(2 / n_in)),
    ("xavier", lambda w, n_in, n_out: np.abs(w).max() <= np.sqrt(6 / (n_in + n_out))
     and abs(w.std() - np.sqrt(2 / (n_in + n_out))) < 0.03 * np.sqrt(2 / (n_in + n_out))),
])
def test_initialisation_scales(init, check):
    layer = ad.nn.Linear(400, 300, init=init, seed=0)
    assert check(layer.weight.data, 400, 300)
    assert np.all(layer.bias.data == 0)


def test_mlp_uses_he_for_relu_layers_and_xavier_elsewhere():
    relu = ad.nn.MLP([500, 400, 10], activation="relu", seed=0)
    assert abs(relu.layers[0].weight.data.std() - np.sqrt(2 / 500)) < 0.02 * np.sqrt(2 / 500)
    assert np.abs(relu.layers[1].weight.data).max() <= np.sqrt(6 / 410)
    tanh = ad.nn.MLP([500, 400, 10], activation="tanh", seed=0)
    assert np.abs(tanh.layers[0].weight.data).max() <= np.sqrt(6 / 900)


def test_seeds_fix_the_weights():
    a, b, c = (ad.nn.MLP([4, 8, 2], seed=s) for s in (0, 0, 1))
    for pa, pb, _pc in zip(a.parameters(), b.parameters(), c.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    assert not np.array_equal(a.layers[0].weight.data, c.layers[0].weight.data)
    rng = np.random.default_rng(5)
    assert ad.nn.Linear(3, 2, rng=rng).weight.shape == (3, 2)
    with pytest.raises(TypeError):
        ad.nn.Linear(3, 2, rng=rng, seed=1)


@pytest.mark.parametrize("bad", [dict(sizes=[3]), dict(sizes=[3, 2], activation="softplus")])
def test_mlp_rejects_bad_arguments(bad):
    with pytest.raises(ValueError, match="MLP"):
        ad.nn.MLP(**bad)


def test_parameters_names_modes_and_sequential():
    model = ad.nn.Sequential(ad.nn.Linear(2, 4, seed=0), ad.nn.Tanh(), ad.nn.Linear(4, 1, seed=1), ad.nn.Sigmoid())
    names = [n for n, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert model.num_parameters() == 2 * 4 + 4 + 4 + 1
    out = model(np.zeros((3, 2)))
    assert out.shape == (3, 1) and np.allclose(out.data, 0.5)
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert len(model) == 4 and isinstance(model[1], ad.nn.Tanh)
    ad.sum(model(np.ones((3, 2)))).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_through_npz(tmp_path):
    a = ad.nn.MLP([3, 6, 2], activation="tanh", seed=0)
    b = ad.nn.MLP([3, 6, 2], activation="tanh", seed=9)
    x = np.random.default_rng(0).standard_normal((4, 3))
    path = a.save(tmp_path / "params")
    assert path.endswith(".npz")
    b.load(path)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    state = a.state_dict()
    state["layers.0.weight"][:] = 0.0  # a copy: the model is untouched
    assert np.any(a.layers[0].weight.data != 0)


def test_load_state_dict_errors():
    model = ad.nn.MLP([3, 4, 2], seed=0)
    state = model.state_dict()
    with pytest.raises(KeyError, match="missing"):
        model.load_state_dict({k: v for k, v in state.items() if k != "layers.1.bias"})
    with pytest.raises(ValueError, match="shape"):
        model.load_state_dict({**state, "layers.1.bias": np.zeros(5)})
    model.load_state_dict({"layers.1.bias": np.ones(2)}, strict=False)
    assert np.all(model.layers[1].bias.data == 1)
    with pytest.raises(FileNotFoundError):
        model.load("/nonexistent/params.npz")


def test_logistic_loss_and_two_class_softmax_ce_agree():
    # softmax over logits [0, s] gives p(class 1) = sigmoid(s): the logistic loss of s with
    # y = +1 for class 1 and -1 for class 0.
    rng = np.random.default_rng(4)
    s = rng.standard_normal(9) * 3
    c = rng.integers(0, 2, size=9)
    s_t = ad.Tensor(s, requires_grad=True)
    logits = ad.stack([ad.Tensor(np.zeros(9)), s_t], axis=1)
    ce = ad.losses.softmax_cross_entropy(logits, c)
    ce.backward()
    grad_ce = s_t.grad.copy()
    s_t.zero_grad()
    lg = ad.losses.logistic_loss(s_t, 2.0 * c - 1.0)
    lg.backward()
    np.testing.assert_allclose(ce.data, lg.data, rtol=1e-12)
    np.testing.assert_allclose(grad_ce, s_t.grad, rtol=1e-10, atol=1e-15)


def _train(X, y, sizes, epochs, seed, lr=0.01, batch=32):
    model = ad.nn.MLP(sizes, activation="relu", seed=seed)
    opt = ad.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for xb, yb in ad.data.minibatches(X, y, batch, rng=rng):
            loss = ad.losses.softmax_cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def test_spirals_three_arms_reach_97_percent_training_accuracy():
    X, y = ad.data.make_spirals(300, arms=3, seed=0)
    X = ad.data.Standardizer().fit_transform(X)
    model = _train(X, y, [2, 64, 64, 3], epochs=150, seed=0)
    with ad.no_grad():
        accuracy = np.mean(model(X).data.argmax(axis=1) == y)
    assert accuracy >= 0.97, accuracy


def test_a_seeded_run_reproduces_exactly():
    X, y = ad.data.make_moons(120, seed=3)
    a = _train(X, y, [2, 16, 2], epochs=5, seed=7)
    b = _train(X, y, [2, 16, 2], epochs=5, seed=7)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
