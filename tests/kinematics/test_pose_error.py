"""pose_error and rotation_vector: zero at the target, finite gradients at zero error, the log
map against scipy near 0, in the middle and near π, and d e/dq = -J at the solution."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import autodiff as ad
import kinematics as kin
import robots
from kinematics.transforms import rot_axis, translation

ARMS = ["planar3", "panda", "ur5", "gen3"]


def random_q(chain, seed):
    rng = np.random.default_rng(seed)
    lower = np.where(np.isfinite(chain.lower), chain.lower, -np.pi)
    upper = np.where(np.isfinite(chain.upper), chain.upper, np.pi)
    return rng.uniform(lower, upper)


@pytest.mark.parametrize("name", ARMS)
def test_zero_at_target_with_finite_gradient(name):
    chain = robots.get(name)
    q = random_q(chain, 0)
    target = kin.forward_kinematics(chain, q)
    np.testing.assert_allclose(kin.pose_error(target, target), np.zeros(6), atol=1e-15)
    qt = ad.Tensor(q, requires_grad=True)
    e = kin.pose_error(kin.forward_kinematics(chain, qt), target)
    ad.sum(e * np.arange(1.0, 7.0)).backward()  # a generic linear functional of e
    assert np.all(np.isfinite(qt.grad))
    np.testing.assert_allclose(qt.grad, -np.arange(1.0, 7.0) @ kin.jacobian(chain, q), atol=1e-10)


@pytest.mark.parametrize("name", ARMS)
def test_error_jacobian_is_minus_J_at_the_solution(name):
    chain = robots.get(name)
    q = random_q(chain, 1)
    target = kin.forward_kinematics(chain, q)
    de_dq = ad.jacobian(lambda q: kin.pose_error(kin.forward_kinematics(chain, q), target), 0)(q)
    np.testing.assert_allclose(de_dq, -kin.jacobian(chain, q), atol=1e-10)


def test_pose_error_by_hand():
    target = translation([0.1, -0.2, 0.3]) @ rot_axis([0, 0, 1], 0.5)
    np.testing.assert_allclose(kin.pose_error(np.eye(4), target), [0.1, -0.2, 0.3, 0, 0, 0.5], atol=1e-15)
    # the error is measured from T to the target: swapping them flips the rotation part
    np.testing.assert_allclose(kin.pose_error(rot_axis([0, 0, 1], 0.5), np.eye(4))[3:], [0, 0, -0.5], atol=1e-15)


@pytest.mark.parametrize("theta", [1e-7, 1e-4, 1.3, np.pi - 1e-4, np.pi - 1e-8])
def test_pose_error_matches_scipy(theta):
    # e = [p_t - p; rotvec(R_t Rᵀ)] for random poses whose relative rotation has angle θ
    rng = np.random.default_rng(5)
    R = Rotation.random(6, random_state=6).as_matrix()
    k = rng.standard_normal((6, 3))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    Rt = Rotation.from_rotvec(k * theta).as_matrix() @ R
    T, target = np.tile(np.eye(4), (6, 1, 1)), np.tile(np.eye(4), (6, 1, 1))
    T[:, :3, :3], target[:, :3, :3] = R, Rt
    T[:, :3, 3], target[:, :3, 3] = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    e = kin.pose_error(T, target)
    np.testing.assert_allclose(e[:, :3], target[:, :3, 3] - T[:, :3, 3], atol=1e-15)
    np.testing.assert_allclose(e[:, 3:], Rotation.from_matrix(Rt @ np.swapaxes(R, 1, 2)).as_rotvec(), atol=1e-8)
    np.testing.assert_allclose(e[:, 3:], k * theta, atol=1e-8)


THETAS = [0.0, 1e-12, 1e-8, 1e-5, 9.9e-4, 1e-3, 1.01e-3, 0.3, 1.0, 2.0, 3.0,
          np.pi - 1e-3, np.pi - 1e-5, np.pi - 1e-7, np.pi - 1e-9]


@pytest.mark.parametrize("theta", THETAS)
def test_rotation_vector_matches_scipy(theta):
    rng = np.random.default_rng(2)
    axes = rng.standard_normal((8, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    R = Rotation.from_rotvec(axes * theta).as_matrix()
    got = kin.rotation_vector(R)
    expected = Rotation.from_matrix(R).as_rotvec()
    np.testing.assert_allclose(got, expected, atol=1e-9, rtol=0)
    np.testing.assert_allclose(got, axes * theta, atol=1e-9)  # the rotation vector we started from


def test_rotation_vector_at_exactly_pi_up_to_sign():
    # At θ = π, k and -k give the same rotation: only ±θk is determined.
    axes = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0],
                     [1 / np.sqrt(2), 1 / np.sqrt(2), 0], [1 / 3, -2 / 3, 2 / 3]])
    R = Rotation.from_rotvec(axes * np.pi).as_matrix()
    got = kin.rotation_vector(R)
    for g, k in zip(got, axes):
        assert min(np.abs(g - np.pi * k).max(), np.abs(g + np.pi * k).max()) < 1e-9
        np.testing.assert_allclose(Rotation.from_rotvec(g).as_matrix(), Rotation.from_rotvec(np.pi * k).as_matrix(),
                                   atol=1e-12)


@pytest.mark.parametrize("theta", [1e-9, 1e-4, 0.5, 2.5, np.pi - 1e-4])
def test_rotation_vector_check_grads(theta):
    # The log map as a function of three rotation-vector components, through rot_axis's matrix:
    # rotation_vector(exp(v)) = v, so its gradient is the identity composed with exp's.
    rng = np.random.default_rng(3)
    k = rng.standard_normal(3)
    k /= np.linalg.norm(k)

    def f(v):
        angle = ad.sqrt(ad.sum(v * v))
        return kin.rotation_vector(rot_axis(k, angle)[..., :3, :3])

    v = k * theta
    ad.check_grads(f, v, eps=min(1e-6, theta * 1e-3), rtol=1e-5, atol=1e-7)


def test_batched_rotation_vector_mixes_branches():
    thetas = np.array([0.0, 1e-6, 1.0, np.pi - 1e-6, np.pi - 1e-2])
    axes = np.random.default_rng(4).standard_normal((5, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    R = Rotation.from_rotvec(axes * thetas[:, None]).as_matrix()
    np.testing.assert_allclose(kin.rotation_vector(R), axes * thetas[:, None], atol=1e-9)
    # Tensor input: same values, and a finite gradient in every branch
    Rt = ad.Tensor(R, requires_grad=True)
    out = kin.rotation_vector(Rt)
    np.testing.assert_allclose(out.data, axes * thetas[:, None], atol=1e-9)
    ad.sum(out).backward()
    assert np.all(np.isfinite(Rt.grad))


def test_finite_gradient_at_exactly_pi_beside_the_identity():
    # Regression: the near-π branch took sqrt(|v|²) of every row, and sqrt's VJP at 0 turned the
    # zero cotangents of the identity row (and of the θ = π row itself) into NaN.
    R = np.stack([np.eye(3), Rotation.from_rotvec([0.0, 0.0, np.pi]).as_matrix()])
    Rt = ad.Tensor(R, requires_grad=True)
    ad.sum(kin.rotation_vector(Rt) ** 2).backward()
    assert np.all(np.isfinite(Rt.grad))
