"""rotation_vector is branch-free: one graph for every angle, the log map to ~1e-15 against scipy and
the rotation vector it came from, θ = 0 to θ = π, and derivatives against the closed-form Jacobian (in
40-digit arithmetic) and central differences, finite at θ = 0 and θ = π exactly.

pinocchio.log3 / Jlog3 are no 1e-15 oracle here: on the products below log3 is off by 6.5e-12 at
θ = π − 1e-2, and Jlog3 by 7e-11 at θ = 1e-3 (their series switch)."""

import mpmath
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import autodiff as ad
import kinematics as kin
from tests.helpers import graph_ops

# Each branch, each side of the switch at π/2, and around the old switches at 1e-3 and π − 1e-3.
THETAS = [0.0, 1e-300, 1e-12, 1e-8, 1e-4, 1e-3 - 1e-12, 1e-3, 1e-3 + 1e-12, 1.0, np.pi / 2 - 1e-12, np.pi / 2,
          np.pi / 2 + 1e-12, 2.5, 3.0, np.pi - 1e-2, np.pi - 1.01e-3, np.pi - 1e-3 - 1e-12, np.pi - 1e-3,
          np.pi - 1e-3 + 1e-12, np.pi - 1e-6, np.pi - 1e-9, np.pi]
SMOOTH = [t for t in THETAS if t < np.pi]  # the log map is not differentiable at θ = π


def unit_axes():
    """Coordinate axes both ways, ties of diagonal entries ((1, −1, 0), (1, 1, 1), ...) and random axes, (26, 3)."""
    ties = [[1, -1, 0], [1, 1, 0], [0, 1, -1], [1, 1, 1], [1, -1, 1], [-1, 0, 1]]
    axes = np.concatenate([np.eye(3), -np.eye(3), ties, np.random.default_rng(0).standard_normal((14, 3))])
    return axes / np.linalg.norm(axes, axis=1, keepdims=True)


AXES = unit_axes()


def rotations(theta, product=False):
    """(26, 3, 3): rotations by θ about AXES, or (product) the same as R_a R_bᵀ with R_a = R R_b, as
    pose_error makes them: then M − Mᵀ has rounding errors of its own (≈ 1e-16 in every entry)."""
    R = Rotation.from_rotvec(AXES * theta).as_matrix()
    if not product:
        return R
    Rb = Rotation.random(len(AXES), random_state=2).as_matrix()
    return (R @ Rb) @ np.swapaxes(Rb, -1, -2)


def same_up_to_sign_at_pi(got, expected, theta):
    """At θ = π, k and −k give the same rotation: flip the rows where the other sign is closer."""
    if theta < np.pi:
        return got
    flip = np.abs(got + expected).max(axis=-1) < np.abs(got - expected).max(axis=-1)
    return np.where(flip[:, None], -got, got)


def hat(w):
    return np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])


def engine_jacobians(R):
    """d log(R exp([δ]×)) / dδ at δ = 0, (N, 3, 3), from one stacked backward pass through rotation_vector."""
    M = ad.Tensor(R, requires_grad=True)
    out = kin.rotation_vector(M)
    seeds = np.zeros((3,) + out.shape)
    for i in range(3):
        seeds[i, :, i] = 1.0
    out.backward(seeds)
    G = M.grad  # (3, N, 3, 3): ∂r_i / ∂M; the tangent of R exp([δ]×) along e_j is R [e_j]×
    tangents = np.stack([R @ hat(e) for e in np.eye(3)], axis=1)  # (N, 3 (j), 3, 3)
    return np.einsum("inab,njab->nij", G, tangents)


def closed_form_jacobian(phi):
    """J_r⁻¹(φ) = I + ½[φ]× + (1/θ² − (1 + cos θ) / (2θ sin θ)) [φ]×², in 40-digit arithmetic, (3, 3)."""
    with mpmath.workdps(40):
        p = [mpmath.mpf(float(c)) for c in phi]
        theta = mpmath.sqrt(sum(c * c for c in p))
        if theta < mpmath.mpf("1e-15"):  # the series 1/12 + θ²/720: exact to 40 digits here
            coef = mpmath.mpf(1) / 12 + theta ** 2 / 720
        else:
            coef = 1 / theta ** 2 - (1 + mpmath.cos(theta)) / (2 * theta * mpmath.sin(theta))
        W = mpmath.matrix([[0, -p[2], p[1]], [p[2], 0, -p[0]], [-p[1], p[0], 0]])
        J = mpmath.eye(3) + W / 2 + coef * W * W
        return np.array(J.tolist(), dtype=float)


@pytest.mark.parametrize("product", [False, True])
@pytest.mark.parametrize("theta", THETAS)
def test_matches_scipy_and_the_rotation_vector_it_came_from(theta, product):
    R = rotations(theta, product)
    got = kin.rotation_vector(R)
    expected = Rotation.from_matrix(R).as_rotvec()
    np.testing.assert_allclose(same_up_to_sign_at_pi(got, expected, theta), expected, rtol=0, atol=2e-15)
    start = AXES * theta
    np.testing.assert_allclose(same_up_to_sign_at_pi(got, start, theta), start, rtol=0, atol=3e-15)
    if not product and theta <= 1e-3:  # relatively, too, for small angles: θ / sin θ needs no series
        np.testing.assert_allclose(got, start, rtol=1e-15, atol=0)


def test_exactly_pi_about_axes_whose_diagonal_entries_tie():
    # M = 2kkᵀ − I is exactly symmetric: v = 0 carries no sign, and two or three diagonal entries
    # are equal. Summing tied columns would cancel for k = (1, −1, 0)/√2; the cascade picks one.
    for k in AXES:
        M = 2.0 * np.outer(k, k) - np.eye(3)
        got = kin.rotation_vector(M)
        assert min(np.abs(got - np.pi * k).max(), np.abs(got + np.pi * k).max()) < 2e-15, (k, got)


@pytest.mark.parametrize("theta", SMOOTH)
def test_derivative_matches_closed_form_and_central_differences(theta):
    R = rotations(theta)
    J = engine_jacobians(R)
    expected = np.array([closed_form_jacobian(phi) for phi in AXES * theta])
    np.testing.assert_allclose(J, expected, rtol=0, atol=3e-15)
    # central differences along R exp(±h e_j); near π the step must not carry θ past π, and its
    # rounding error (≈ 1e-16 / h) then sets the tolerance
    h = 1e-6 if theta < np.pi - 1e-5 else 1e-11
    columns = []
    for e in np.eye(3):
        step = Rotation.from_rotvec(h * e).as_matrix()
        columns.append((kin.rotation_vector(R @ step) - kin.rotation_vector(R @ step.T)) / (2 * h))
    np.testing.assert_allclose(J, np.stack(columns, axis=-1), rtol=0, atol=1e-8 if h == 1e-6 else 1e-4)


def test_derivative_is_finite_at_zero_and_pi_exactly():
    # At θ = 0, r = vex(M − Mᵀ) / 2 to first order: ∂r_i/∂M is ½ ∂vex_i/∂M, exactly.
    M = ad.Tensor(np.eye(3), requires_grad=True)
    (kin.rotation_vector(M) @ np.array([1.0, 2.0, 3.0])).backward()
    np.testing.assert_array_equal(M.grad, 0.5 * np.array([[0, -3, 2], [3, 0, -1], [-2, 1, 0]]))
    # At θ = π (symmetric M, v = 0, and the noisy v of from_rotvec): finite, whatever the axis.
    R = np.concatenate([rotations(np.pi), 2.0 * AXES[:, :, None] * AXES[:, None, :] - np.eye(3)])
    M = ad.Tensor(R, requires_grad=True)
    ad.sum(kin.rotation_vector(M) ** 2).backward()
    assert np.all(np.isfinite(M.grad))
    assert np.all(np.isfinite(engine_jacobians(R)))


def test_one_graph_for_every_angle():
    # Branch-free: the recorded graph (ops and shapes) is the same for tiny, regular and near-π
    # rows, so a graph recorded at one angle replays at any other.
    graphs = []
    for theta in (0.0, 1e-9, 1.0, np.pi - 1e-9, np.pi):
        out = kin.rotation_vector(ad.Tensor(rotations(theta), requires_grad=True))
        graphs.append((graph_ops(out), out.shape))
    assert all(g == graphs[0] for g in graphs[1:])


def test_arrays_of_acute_rotations_skip_the_selection_with_the_same_bits():
    # With no rotation beyond π/2 an array takes x = v without the comparisons and wheres (a Tensor,
    # which a trace may record, never branches on values): the same bits either way.
    acute = [t for t in THETAS if t < np.pi / 2]
    for product in (False, True):
        R = np.stack([rotations(t, product) for t in acute]).reshape(-1, 3, 3)
        np.testing.assert_array_equal(kin.rotation_vector(R), kin.rotation_vector(ad.Tensor(R)).data)
    one_obtuse = np.concatenate([R, rotations(2.5)[:1]])  # one row past π/2: every row selects
    np.testing.assert_array_equal(kin.rotation_vector(one_obtuse)[:-1], kin.rotation_vector(R))


def test_batched_mixed_rows_in_any_leading_shape():
    # all the angles in one call, (2, 22, 26, 3, 3) with the rows shuffled: the same as row by row
    R = np.stack([rotations(t) for t in THETAS]).reshape(-1, 3, 3)
    order = np.random.default_rng(1).permutation(len(R))
    batch = kin.rotation_vector(np.stack([R[order], R]).reshape(2, len(THETAS), len(AXES), 3, 3))
    alone = np.array([kin.rotation_vector(r) for r in R])
    np.testing.assert_allclose(batch.reshape(2, -1, 3)[0], alone[order], rtol=0, atol=1e-15)
    np.testing.assert_allclose(batch.reshape(2, -1, 3)[1], alone, rtol=0, atol=1e-15)
    # Tensors: the same values, and finite derivatives in every row
    M = ad.Tensor(R, requires_grad=True)
    out = kin.rotation_vector(M)
    np.testing.assert_array_equal(out.data, kin.rotation_vector(R))
    ad.sum(out * np.arange(1.0, 4.0)).backward()
    assert np.all(np.isfinite(M.grad))
