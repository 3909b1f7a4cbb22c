"""Property tests: random expression graphs, checked against finite differences.

A program is a list of steps; each step applies one smooth op to nodes picked (by index) from a
growing pool that starts with two inputs of shapes (2, 3) and (3,). Nodes are reused, shapes
broadcast, and every op is smooth on the whole real line, so central differences are exact to
about 1e-9 wherever hypothesis looks. Runs are derandomized (seeded) and kept small.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import autodiff as ad

MASK = np.array([[True, False, True], [False, False, True]])
W = np.array([[0.5, -1.0, 0.2], [0.3, 0.8, -0.4], [-0.6, 0.1, 0.9]])

UNARY = {
    "sin": ad.sin,
    "cos": ad.cos,
    "tanh": ad.tanh,
    "sigmoid": ad.sigmoid,
    "neg": ad.neg,
    "exp_tanh": lambda a: ad.exp(ad.tanh(a)),
    "log1p_sq": lambda a: ad.log(1.0 + a * a),
    "sqrt1p_sq": lambda a: ad.sqrt(1.0 + a * a),
    "softmax": lambda a: ad.softmax(a, axis=-1),
    "log_softmax": lambda a: ad.log_softmax(a, axis=-1),
    "reverse": lambda a: a[..., ::-1],
    "center": lambda a: a - ad.mean(a, axis=-1, keepdims=True),
    "lse_shift": lambda a: a - ad.logsumexp(a, axis=-1, keepdims=True),
    "times_sum": lambda a: a * ad.tanh(ad.sum(a)),
    "matmul_W": lambda a: a @ W,
    "reshape_back": lambda a: ad.reshape(ad.reshape(a, (-1,)), a.shape),
    "square": lambda a: a ** 2,
}
BINARY = {
    "add": ad.add,
    "sub": ad.sub,
    "mul": ad.mul,
    "div_safe": lambda a, b: a / (1.0 + b * b),
    "where": lambda a, b: ad.where(MASK, a, b),
    "stack_sum": lambda a, b: ad.sum(ad.stack([a + 0 * b, b + 0 * a]), axis=0),
    "pow_safe": lambda a, b: (1.0 + a * a) ** ad.tanh(b),
}

OPS = sorted(UNARY) + sorted(BINARY)


@st.composite
def programs(draw, max_steps=6):
    """2 to `max_steps` (op, i, j) steps. The op is a large integer modulo the number of ops, so
    every op turns up often (a plain sampled_from favours the first few names in short runs)."""
    n = draw(st.integers(2, max_steps))
    return [(OPS[draw(st.integers(0, 2**16)) % len(OPS)], draw(st.integers(0, 50)), draw(st.integers(0, 50)))
            for _ in range(n)]


steps = programs()
values = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


def run(program, x, y):
    """Evaluate a program on Tensors x (2, 3) and y (3,); returns the last node."""
    pool = [x, y]
    for name, i, j in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        pool.append(UNARY[name](a) if name in UNARY else BINARY[name](a, b))
    return pool[-1]


@settings(max_examples=80, deadline=None, derandomize=True)
@given(steps, arrays(np.float64, (2, 3), elements=values), arrays(np.float64, (3,), elements=values))
def test_random_graphs_match_finite_differences(program, x, y):
    ad.check_grads(lambda a, b: run(program, a, b), x, y, rtol=1e-5, atol=1e-6)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(steps, arrays(np.float64, (2, 3), elements=values), arrays(np.float64, (3,), elements=values))
def test_random_graphs_backward_twice_with_retain_graph_doubles(program, x, y):
    a, b = ad.Tensor(x, requires_grad=True), ad.Tensor(y, requires_grad=True)
    out = ad.sum(run(program, a, b))
    if not out.requires_grad:  # the program ignored both inputs: nothing to check
        return
    out.backward(retain_graph=True)
    first = [t.grad.copy() if t.grad is not None else None for t in (a, b)]
    out.backward()
    for t, g in zip((a, b), first):
        if g is not None:
            np.testing.assert_allclose(t.grad, 2 * g, rtol=1e-14, atol=1e-300)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(steps, arrays(np.float64, (2, 3), elements=values), arrays(np.float64, (3,), elements=values),
       arrays(np.float64, (2, 3), elements=values))
def test_random_graphs_vjp_is_v_times_jacobian(program, x, y, v):
    # jacobian passes the argument it does not differentiate as a plain array: adding 0 * b
    # keeps the output a Tensor (of shape (2, 3)) whichever argument is differentiated
    f = lambda a, b: run(program, a, b) + 0 * a + 0 * b  # noqa: E731
    _, pullback = ad.vjp(f, x, y)
    gx, gy = pullback(v)
    jx = ad.jacobian(f, argnums=0)(x, y)
    jy = ad.jacobian(f, argnums=1)(x, y)
    np.testing.assert_allclose(gx, np.tensordot(v, jx, axes=2), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gy, np.tensordot(v, jy, axes=2), rtol=1e-10, atol=1e-10)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=3).flatmap(
    lambda shape: st.tuples(st.just(tuple(shape)), st.lists(st.sampled_from([True, False]), min_size=len(shape),
                                                              max_size=len(shape)), st.integers(0, 2))))
def test_unbroadcast_sums_exactly_the_broadcast_entries(case):
    shape, squash, lead = case
    small = tuple(1 if s else n for n, s in zip(shape, squash))  # some axes size 1
    big = (2,) * lead + tuple(shape)
    g = np.arange(float(np.prod(big))).reshape(big)
    reduced = ad.unbroadcast(g, small)
    assert reduced.shape == small
    # the reduced cotangent is the VJP of broadcasting: <reduced, u> == <g, broadcast(u)>
    u = np.random.default_rng(0).standard_normal(small)
    assert np.isclose(np.sum(reduced * u), np.sum(g * np.broadcast_to(u, big)))


@pytest.mark.parametrize("name", sorted(UNARY) + sorted(BINARY))
def test_every_program_op_is_checked_on_its_own(name):
    rng = np.random.default_rng(1)
    program = [(name, 0, 1)]
    ad.check_grads(lambda a, b: run(program, a, b), rng.standard_normal((2, 3)), rng.standard_normal(3),
                   rtol=1e-5, atol=1e-6)
