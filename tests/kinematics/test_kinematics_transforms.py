"""kinematics.transforms: elementary rotations, rpy order, DH rows, inverses; arrays and Tensors."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import autodiff as ad
from kinematics import transforms as tf

ANGLES = [0.0, np.pi / 6, np.pi / 2, -np.pi / 3, np.pi, 2.5]


@pytest.mark.parametrize("angle", ANGLES)
@pytest.mark.parametrize("axis, rot", [((1, 0, 0), tf.rot_x), ((0, 1, 0), tf.rot_y), ((0, 0, 1), tf.rot_z)])
def test_rot_axis_matches_elementary_rotations(axis, rot, angle):
    np.testing.assert_allclose(tf.rot_axis(axis, angle), rot(angle), atol=1e-15)


@pytest.mark.parametrize("angle, expected", [
    # rot_z(π/2) takes x to y and y to -x (columns are the images of the axes).
    (np.pi / 2, [[0, -1, 0], [1, 0, 0], [0, 0, 1]]),
    (np.pi, [[-1, 0, 0], [0, -1, 0], [0, 0, 1]]),
])
def test_rot_z_by_hand(angle, expected):
    np.testing.assert_allclose(tf.rot_z(angle)[:3, :3], expected, atol=1e-15)


def test_rot_axis_is_rodrigues():
    rng = np.random.default_rng(0)
    for _ in range(10):
        axis = rng.standard_normal(3)
        angle = rng.uniform(-np.pi, np.pi)
        expected = Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle).as_matrix()
        R = tf.rot_axis(axis, angle)  # the axis need not be a unit vector
        np.testing.assert_allclose(R[:3, :3], expected, atol=1e-14)
        np.testing.assert_allclose(R[3], [0, 0, 0, 1])


def test_rpy_is_fixed_axis_z_y_x():
    # R = Rz(yaw) Ry(pitch) Rx(roll): roll about the fixed x first, then pitch, then yaw.
    rng = np.random.default_rng(1)
    for roll, pitch, yaw in rng.uniform(-np.pi, np.pi, size=(10, 3)):
        R = tf.rpy_to_matrix([roll, pitch, yaw])
        np.testing.assert_allclose(R, tf.rot_z(yaw) @ tf.rot_y(pitch) @ tf.rot_x(roll), atol=1e-15)
        scipy_R = Rotation.from_euler("xyz", [roll, pitch, yaw]).as_matrix()  # lowercase: extrinsic
        np.testing.assert_allclose(R[:3, :3], scipy_R, atol=1e-14)


def test_rpy_by_hand():
    # Roll π/2 then yaw π/2: Rz(π/2) Rx(π/2) sends x to y, y to z and z to x, so its columns
    # (the images of the axes) are y, z, x.
    np.testing.assert_allclose(tf.rpy_to_matrix([np.pi / 2, 0, np.pi / 2])[:3, :3],
                               [[0, 0, 1], [1, 0, 0], [0, 1, 0]], atol=1e-15)


def _random_poses(rng, batch):
    R = Rotation.random(int(np.prod(batch)), random_state=rng.integers(1 << 31)).as_matrix()
    T = np.zeros((int(np.prod(batch)), 4, 4))
    T[:, :3, :3] = R
    T[:, :3, 3] = rng.standard_normal((T.shape[0], 3))
    T[:, 3, 3] = 1.0
    return T.reshape(batch + (4, 4))


@pytest.mark.parametrize("batch", [(1,), (5,), (2, 3)])
def test_inverse_pose(batch):
    T = _random_poses(np.random.default_rng(2), batch)
    inv = tf.inverse_pose(T)
    np.testing.assert_allclose(inv @ T, np.broadcast_to(np.eye(4), T.shape), atol=1e-14)
    np.testing.assert_allclose(inv, np.linalg.inv(T), atol=1e-13)


def test_translation_and_dh_compositions():
    rng = np.random.default_rng(3)
    for theta, d, a, alpha in rng.uniform(-2, 2, size=(8, 4)):
        standard = tf.rot_z(theta) @ tf.translation([0, 0, d]) @ tf.translation([a, 0, 0]) @ tf.rot_x(alpha)
        modified = tf.rot_x(alpha) @ tf.translation([a, 0, 0]) @ tf.rot_z(theta) @ tf.translation([0, 0, d])
        np.testing.assert_allclose(tf.dh_standard(theta, d, a, alpha), standard, atol=1e-15)
        np.testing.assert_allclose(tf.dh_modified(alpha, a, theta, d), modified, atol=1e-15)
    np.testing.assert_allclose(tf.translation([1, 2, 3])[:3, 3], [1, 2, 3])


# Each case: a function of one Tensor/array argument, and the argument's shape (with batch axes).
CASES = {
    "rot_x": (tf.rot_x, (2, 3)),
    "rot_y": (tf.rot_y, (4,)),
    "rot_z": (tf.rot_z, (2, 3)),
    "rot_axis": (lambda q: tf.rot_axis([1.0, -2.0, 0.5], q), (3,)),
    "translation": (tf.translation, (2, 3)),
    "rpy_to_matrix": (tf.rpy_to_matrix, (2, 3)),
    "dh_standard": (lambda x: tf.dh_standard(x[..., 0], x[..., 1], x[..., 2], x[..., 3]), (3, 4)),
    "dh_modified": (lambda x: tf.dh_modified(x[..., 0], x[..., 1], x[..., 2], x[..., 3]), (3, 4)),
    "inverse_pose": (lambda x: tf.inverse_pose(tf.rpy_to_matrix(x) @ tf.translation(x * 2.0)), (2, 3)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_tensor_inputs_match_arrays_and_check_grads(name):
    f, shape = CASES[name]
    x = np.random.default_rng(4).uniform(-2, 2, size=shape)
    as_array = f(x)
    as_tensor = f(ad.Tensor(x))
    assert isinstance(as_tensor, ad.Tensor) and not isinstance(as_array, ad.Tensor)
    np.testing.assert_allclose(as_tensor.data, as_array, atol=1e-15)
    ad.check_grads(f, x)


@pytest.mark.parametrize("call, match", [
    (lambda: tf.translation([1.0, 2.0]), "translation"),
    (lambda: tf.rpy_to_matrix([1.0, 2.0]), "rpy_to_matrix"),
    (lambda: tf.rot_axis([0.0, 0.0, 0.0], 1.0), "axis"),
    (lambda: tf.rot_axis([1.0, 0.0], 1.0), "axis"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
