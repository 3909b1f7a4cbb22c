"""Homogeneous transforms: elementary rotations and translations, DH rows, roll-pitch-yaw.

Every function accepts plain arrays (returns arrays) or Tensors (returns Tensors, differentiable
through the engine), with any leading batch axes: an angle of shape (...) gives (..., 4, 4).
Built from the engine's sin, cos and stack only.

Example:
    >>> import numpy as np
    >>> np.round(rot_z(np.pi / 2) @ np.array([1.0, 0.0, 0.0, 1.0]), 12)
    array([0., 1., 0., 1.])
"""

from __future__ import annotations

import numpy as np

import autodiff as ad

__all__ = [
    "rot_x", "rot_y", "rot_z", "rot_axis", "translation", "dh_standard", "dh_modified",
    "rpy_to_matrix", "inverse_pose", "axis_to_z", "unit_vector",
]


def _is_tensor(*xs):
    return any(isinstance(x, ad.Tensor) for x in xs)


def _matrix(entries, like):
    """Assemble a (..., 4, 4) matrix from 16 row-major entries (numbers, arrays or Tensors).

    Args:
        entries: 16 entries, each broadcastable to the batch shape of `like`.
        like: an angle or vector fixing the batch shape (...).
    """
    if _is_tensor(*entries):
        batch = like.shape
        full = [e if isinstance(e, ad.Tensor) else ad.Tensor(np.broadcast_to(np.asarray(e, dtype=float), batch))
                for e in entries]
        full = [ad.broadcast_to(e, batch) if e.shape != batch else e for e in full]
        return ad.reshape(ad.stack(full, axis=-1), batch + (4, 4))
    batch = np.shape(like)
    out = np.stack([np.broadcast_to(np.asarray(e, dtype=float), batch) for e in entries], axis=-1)
    return out.reshape(batch + (4, 4))


def _sin_cos(angle):
    if isinstance(angle, ad.Tensor):
        return ad.sin(angle), ad.cos(angle)
    angle = np.asarray(angle, dtype=float)
    return np.sin(angle), np.cos(angle)


def rot_x(angle):
    """Rotation by `angle` (...) about x, as (..., 4, 4)."""
    s, c = _sin_cos(angle)
    return _matrix([1, 0, 0, 0, 0, c, -s, 0, 0, s, c, 0, 0, 0, 0, 1], c)


def rot_y(angle):
    """Rotation by `angle` (...) about y, as (..., 4, 4)."""
    s, c = _sin_cos(angle)
    return _matrix([c, 0, s, 0, 0, 1, 0, 0, -s, 0, c, 0, 0, 0, 0, 1], c)


def rot_z(angle):
    """Rotation by `angle` (...) about z, as (..., 4, 4).

    Example:
        >>> rot_z(0.0)[:3, :3]
        array([[ 1., -0.,  0.],
               [ 0.,  1.,  0.],
               [ 0.,  0.,  1.]])
    """
    s, c = _sin_cos(angle)
    return _matrix([c, -s, 0, 0, s, c, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], c)


def rot_axis(axis, angle):
    """Rotation by `angle` (...) about the unit vector `axis` (3,) (Rodrigues' formula).

    R = I + sin(q) K + (1 - cos(q)) K², with K the cross-product matrix of the axis.
    """
    k = unit_vector(axis)
    if k is None:
        raise ValueError(f"rot_axis: axis must be a nonzero finite 3-vector, got {axis!r}")
    x, y, z = k
    s, c = _sin_cos(angle)
    v = 1 - c
    return _matrix([
        c + x * x * v, x * y * v - z * s, x * z * v + y * s, 0,
        y * x * v + z * s, c + y * y * v, y * z * v - x * s, 0,
        z * x * v - y * s, z * y * v + x * s, c + z * z * v, 0,
        0, 0, 0, 1,
    ], c)


def unit_vector(v):
    """`v` (3,) scaled to unit length, or None when it is not a nonzero finite 3-vector.

    Divides by the largest |component| before the norm, so legal axes such as (1e200, 0, 0)
    (whose squared norm overflows) or (1e-200, 0, 0) (whose squared norm underflows) work.
    """
    v = np.asarray(v, dtype=float)
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        return None
    scale = np.abs(v).max()
    if scale == 0.0:
        return None
    v = v / scale
    return v / np.linalg.norm(v)


def translation(xyz):
    """Translation by `xyz` (..., 3), as (..., 4, 4)."""
    if isinstance(xyz, ad.Tensor):
        x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    else:
        xyz = np.asarray(xyz, dtype=float)
        if xyz.shape[-1:] != (3,):
            raise ValueError(f"translation: expected (..., 3), got shape {xyz.shape}")
        x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    return _matrix([1, 0, 0, x, 0, 1, 0, y, 0, 0, 1, z, 0, 0, 0, 1], x)


def dh_standard(theta, d, a, alpha):
    """Standard DH link transform Rz(theta) Tz(d) Tx(a) Rx(alpha), as (..., 4, 4).

    Example:
        >>> np.round(dh_standard(np.pi / 2, 0.1, 0.5, 0.0)[:3, 3], 12)
        array([0. , 0.5, 0.1])
    """
    st, ct = _sin_cos(theta)
    sa, ca = _sin_cos(alpha)
    return _matrix([
        ct, -st * ca, st * sa, a * ct,
        st, ct * ca, -ct * sa, a * st,
        0, sa, ca, d,
        0, 0, 0, 1,
    ], ct * ca * a * d)


def dh_modified(alpha, a, theta, d):
    """Modified (Craig) DH link transform Rx(alpha) Tx(a) Rz(theta) Tz(d), as (..., 4, 4)."""
    st, ct = _sin_cos(theta)
    sa, ca = _sin_cos(alpha)
    return _matrix([
        ct, -st, 0, a,
        st * ca, ct * ca, -sa, -sa * d,
        st * sa, ct * sa, ca, ca * d,
        0, 0, 0, 1,
    ], ct * ca * a * d)


def rpy_to_matrix(rpy):
    """Roll-pitch-yaw (..., 3) about fixed axes to (..., 4, 4): R = Rz(yaw) Ry(pitch) Rx(roll)."""
    rpy = rpy if isinstance(rpy, ad.Tensor) else np.asarray(rpy, dtype=float)
    if rpy.shape[-1:] != (3,):
        raise ValueError(f"rpy_to_matrix: expected (..., 3), got shape {rpy.shape}")
    return rot_z(rpy[..., 2]) @ rot_y(rpy[..., 1]) @ rot_x(rpy[..., 0])


def inverse_pose(T):
    """Inverse of rigid transforms (..., 4, 4): [Rᵀ, -Rᵀ p]."""
    if isinstance(T, ad.Tensor):
        Rt = ad.swapaxes(T[..., :3, :3], -1, -2)
        p = -(Rt @ T[..., :3, 3:])
        bottom = ad.Tensor(np.broadcast_to([0.0, 0.0, 0.0, 1.0], T.shape[:-2] + (1, 4)))
        return ad.concatenate([ad.concatenate([Rt, p], axis=-1), bottom], axis=-2)
    T = np.asarray(T, dtype=float)
    out = np.zeros(T.shape)
    Rt = np.swapaxes(T[..., :3, :3], -1, -2)
    out[..., :3, :3] = Rt
    out[..., :3, 3] = -(Rt @ T[..., :3, 3:])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def axis_to_z(axis) -> np.ndarray:
    """A constant rotation (4, 4) whose z column is the unit vector `axis` (3,).

    Motion about any axis k is then A Rz(q) Aᵀ (or A Tz(q) Aᵀ), which lets a chain keep every
    joint about its local z and fold A, Aᵀ into the neighbouring constant transforms.
    """
    k = np.asarray(axis, dtype=float)
    k = k / np.linalg.norm(k)
    # Rotate z onto k about z × k; the antiparallel case is a half turn about x.
    c = k[2]
    if c < -1 + 1e-12:
        return rot_x(np.pi)
    v = np.cross([0.0, 0.0, 1.0], k)
    K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    R = np.eye(3) + K + K @ K / (1 + c)
    out = np.eye(4)
    out[:3, :3] = R
    return out
