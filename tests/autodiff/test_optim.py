"""autodiff.optim: each update rule against hand-computed steps; schedules; argument checks."""

import math

import numpy as np
import pytest

import autodiff as ad

P0 = np.array([1.0, -2.0, 0.5])
GRADS = [np.array([0.3, -0.1, 2.0]), np.array([-0.5, 0.4, 1.0]), np.array([0.2, 0.2, -0.7])]


def _run(make, grads=GRADS):
    p = ad.Tensor(P0.copy(), requires_grad=True)
    opt = make([p])
    trace = []
    for g in grads:
        p.grad = g.copy()
        opt.step()
        trace.append(p.data.copy())
    return trace


def _sgd_by_hand(lr, mu=0.0, nesterov=False, wd=0.0):
    p, v, trace = P0.copy(), np.zeros(3), []
    for g in GRADS:
        d = g + wd * p
        v = mu * v + d
        p = p - lr * ((d + mu * v) if nesterov else (v if mu else d))
        trace.append(p)
    return trace


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, momentum=0.5, weight_decay=0.01),
    dict(lr=0.1, weight_decay=0.1),
])
def test_sgd_matches_hand_computed_updates(kwargs):
    got = _run(lambda ps: ad.optim.SGD(ps, **kwargs))
    want = _sgd_by_hand(kwargs["lr"], kwargs.get("momentum", 0.0), kwargs.get("nesterov", False),
                        kwargs.get("weight_decay", 0.0))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-14, atol=1e-15)


def test_sgd_first_steps_written_out():
    # momentum 0.9, lr 0.1: v1 = g1, p1 = p0 - 0.1 g1; v2 = 0.9 g1 + g2, p2 = p1 - 0.1 v2.
    got = _run(lambda ps: ad.optim.SGD(ps, lr=0.1, momentum=0.9), GRADS[:2])
    p1 = P0 - 0.1 * GRADS[0]
    np.testing.assert_allclose(got[0], p1, rtol=1e-15)
    np.testing.assert_allclose(got[1], p1 - 0.1 * (0.9 * GRADS[0] + GRADS[1]), rtol=1e-15)
    # Nesterov: p1 = p0 - lr (g1 + mu g1)
    got = _run(lambda ps: ad.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True), GRADS[:1])
    np.testing.assert_allclose(got[0], P0 - 0.1 * 1.9 * GRADS[0], rtol=1e-15)


@pytest.mark.parametrize("lr, betas, eps", [(1e-3, (0.9, 0.999), 1e-8), (0.1, (0.5, 0.9), 1e-3)])
def test_adam_matches_textbook_bias_corrected_updates(lr, betas, eps):
    got = _run(lambda ps: ad.optim.Adam(ps, lr=lr, betas=betas, eps=eps))
    b1, b2 = betas
    p, m, v = P0.copy(), np.zeros(3), np.zeros(3)
    for t, (g, q) in enumerate(zip(GRADS, got), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(q, p, rtol=1e-13, atol=1e-15)


def test_adam_first_step_moves_each_coordinate_by_about_lr():
    # t = 1: m̂ = g, v̂ = g², so the step is lr g / (|g| + eps) ≈ lr sign(g).
    got = _run(lambda ps: ad.optim.Adam(ps, lr=0.01), GRADS[:1])
    np.testing.assert_allclose(got[0], P0 - 0.01 * np.sign(GRADS[0]), rtol=1e-7)


def test_parameters_without_gradient_are_left_alone_and_zero_grad_clears():
    a = ad.Tensor(np.ones(2), requires_grad=True)
    b = ad.Tensor(np.ones(2), requires_grad=True)
    for opt in (ad.optim.SGD([a, b], lr=0.1, momentum=0.9), ad.optim.Adam([a, b])):
        a.grad = np.ones(2)
        opt.step()
        assert np.all(b.data == 1.0) and np.all(a.data < 1.0)
        opt.zero_grad()
        assert a.grad is None and b.grad is None


def test_optimisers_accept_a_module():
    model = ad.nn.MLP([2, 3, 1], seed=0)
    opt = ad.optim.SGD(model, lr=0.1)
    assert len(opt.params) == 4


@pytest.mark.parametrize("make, match", [
    (lambda p: ad.optim.SGD(p, lr=0.0), "lr"),
    (lambda p: ad.optim.SGD(p, lr=0.1, momentum=1.0), "momentum"),
    (lambda p: ad.optim.SGD(p, lr=0.1, nesterov=True), "nesterov"),
    (lambda p: ad.optim.Adam(p, betas=(0.9, 1.0)), "betas"),
    (lambda p: ad.optim.SGD([], lr=0.1), "empty"),
])
def test_bad_arguments(make, match):
    p = [ad.Tensor(np.ones(2), requires_grad=True)]
    with pytest.raises(ValueError, match=match):
        make(p)


def test_constants_are_refused():
    with pytest.raises(TypeError, match="requires_grad"):
        ad.optim.SGD([ad.Tensor(np.ones(2))], lr=0.1)


def test_step_and_cosine_schedules():
    assert [ad.optim.step_lr(1.0, e, 10, 0.5) for e in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    assert ad.optim.cosine_lr(0.1, 0, 100) == pytest.approx(0.1)
    assert ad.optim.cosine_lr(0.1, 50, 100, min_lr=0.02) == pytest.approx(0.06)
    assert ad.optim.cosine_lr(0.1, 100, 100) == pytest.approx(0.0, abs=1e-15)
    assert ad.optim.cosine_lr(0.1, 150, 100) == pytest.approx(0.0, abs=1e-15)
    p = [ad.Tensor(np.ones(2), requires_grad=True)]
    opt = ad.optim.SGD(p, lr=0.2)
    sched = ad.optim.StepLR(opt, step_size=2, gamma=0.1)
    lrs = [sched.step() for _ in range(4)]
    np.testing.assert_allclose(lrs, [0.2, 0.02, 0.02, 0.002])
    assert opt.lr == pytest.approx(0.002)
    opt = ad.optim.Adam(p, lr=1.0)
    sched = ad.optim.CosineLR(opt, total=4)
    np.testing.assert_allclose([sched.step() for _ in range(4)],
                               [0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(1, 5)], atol=1e-15)


OPTIMISERS = [
    lambda ps: ad.optim.SGD(ps, lr=0.1),
    lambda ps: ad.optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: ad.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
    lambda ps: ad.optim.Adam(ps, lr=0.01, weight_decay=0.1),
]


def _steps(make, p0, grads):
    """Parameters after each step, and the state arrays' final values."""
    p = ad.Tensor(p0.copy(), requires_grad=True)
    opt = make([p])
    out = []
    for g in grads:
        p.grad = g
        opt.step()
        out.append(p.data.copy())
    return out, [a.copy() for a in opt._state(0)]


@pytest.mark.parametrize("make", OPTIMISERS)
@pytest.mark.parametrize("layout", ["C", "transposed gradient", "F parameter"])
def test_a_large_parameter_updated_in_pieces_gets_the_whole_updates_bits(make, layout, monkeypatch):
    rng = np.random.default_rng(3)
    shape = (3, ad.optim.PIECE + 17)  # pieces that do not divide it, and a short last one
    p0 = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) for _ in range(3)]
    if layout == "transposed gradient":  # read through a copy: p's shape, not contiguous
        grads = [np.ascontiguousarray(g.T).T for g in grads]
    if layout == "F parameter":  # written arrays not C-contiguous: updated whole
        p0 = np.asfortranarray(p0)
    pieces = _steps(make, p0, grads)
    monkeypatch.setattr(ad.optim, "PIECE", p0.size)  # one piece: the whole arrays
    whole = _steps(make, p0, grads)
    for a, b in zip(pieces[0] + pieces[1], whole[0] + whole[1]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(pieces[0][-1], p0)


def test_a_gradient_of_another_shape_is_refused_not_paired_up_by_position():
    p = ad.Tensor(np.zeros((2, ad.optim.PIECE)), requires_grad=True)
    opt = ad.optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones((ad.optim.PIECE, 2))  # the same size, transposed
    with pytest.raises(ValueError):
        opt.step()
