"""Forward kinematics, Jacobians and the pose error, built from the engine's primitives.

Glossary: q joint values (..., n); T pose (..., 4, 4); R rotation (..., 3, 3); p position
(..., 3); J Jacobian (..., 6, n) with rows [v; ω] in the base frame; e pose error (..., 6).

With q a Tensor every function here is differentiable through the engine; with q an array the
same code runs without recording a graph and returns arrays.
"""

from __future__ import annotations

import math

import numpy as np

import autodiff as ad

from .chain import REVOLUTE, Chain

__all__ = ["forward_kinematics", "link_poses", "jacobian", "geometric_jacobian", "pose_error", "rotation_vector"]


def _check_q(chain: Chain, q):
    if not isinstance(chain, Chain):
        raise TypeError(f"expected a kinematics.Chain, got {type(chain).__name__}")
    shape = np.shape(q.data if isinstance(q, ad.Tensor) else q)
    if len(shape) == 0 or shape[-1] != chain.n:
        raise ValueError(f"q must have shape (..., {chain.n}) for {chain.name!r}, got {shape}")


def _locals(chain: Chain, q: ad.Tensor, table: np.ndarray) -> ad.Tensor:
    """All local transforms C_{i-1} Mz(q_i) at once: (..., n, 4, 4).

    Each is linear in φ_i = (1, cos q_i, sin q_i, q_i), so one product with the constant
    (n, 4, 16) table gives them all; no Python loop over the batch.
    """
    ones = np.ones(q.shape)
    phi = ad.stack([ones, ad.cos(q), ad.sin(q), q], axis=-1)  # (..., n, 4)
    flat = ad.reshape(phi, phi.shape[:-1] + (1, 4)) @ table  # (..., n, 1, 16)
    return ad.reshape(flat, q.shape + (4, 4))


def _run(q, fn):
    """Call fn on q as a Tensor; arrays in, arrays out (and no graph)."""
    if isinstance(q, ad.Tensor):
        return fn(q)
    with ad.no_grad():
        return fn(ad.Tensor(np.asarray(q, dtype=np.float64))).data


def forward_kinematics(chain: Chain, q):
    """End-effector pose base · Π origin_i Motion_i(q_i) · tool.

    Two layouts compute the same product (to rounding): for a few configurations, the local
    4×4 transforms multiplied as stacks of matrices, which needs the fewest engine ops; for
    batches (B·n ≥ `COLUMN_WORK`), the pose's rows kept with the batch on the last axis,
    where each joint costs three constant matmuls and a rotation of two columns (see
    `_fk_columns`): Panda FK + gradient at B = 10,000 takes ~11 ms there against ~35 ms for
    the 4×4 stacks (one core, allocator warm; see benchmarks/kinematics.py).

    Args:
        chain: the arm.
        q: (..., n) joint values, array or Tensor.

    Returns:
        (..., 4, 4) poses, of q's kind.

    Example:
        >>> import robots
        >>> np.round(forward_kinematics(robots.planar([1.0, 1.0]), [0.0, np.pi / 2])[:3, 3], 12)
        array([1., 1., 0.])
    """
    _check_q(chain, q)
    batch = math.prod(np.shape(q.data if isinstance(q, ad.Tensor) else q)[:-1])
    fk = _fk_columns if batch * chain.n >= COLUMN_WORK else _fk_matrices
    return _run(q, lambda q: fk(chain, q))


# `_fk_columns` pays ~10 engine ops per joint whatever the batch; it overtakes the stacks of 4×4
# matmuls (FK + gradient, one core) from B ≈ 200 on the Panda (n = 7) and B ≈ 800 for a
# 2-link arm, i.e. from about B·n = 1600.
COLUMN_WORK = 1600


def _fk_matrices(chain: Chain, q: ad.Tensor) -> ad.Tensor:
    """Π_i L_i(q_i) from the local 4×4 transforms: (..., n) -> (..., 4, 4)."""
    L = _locals(chain, q, chain.compiled["table_fk"])
    T = L[..., 0, :, :]
    for i in range(1, chain.n):
        T = T @ L[..., i, :, :]
    return T


def _fk_columns(chain: Chain, q: ad.Tensor) -> ad.Tensor:
    """The same product for large batches, with the batch on the last axis.

    The pose's top three rows are kept as P (3, 4, M), P[r, k, b] = T_b[r, k], M = the batch
    size. Right-multiplying by a constant C is the matmul Cᵀ P (C's columns contract P's
    axis 1: one BLAS product per row, whatever M), and a turn about z changes only two
    columns: with W = P C, (W Rz(q))₀ = c W₀ + s W₁ and (W Rz(q))₁ = c W₁ − s W₀. So a
    revolute joint is c·(P [C₀ C₁]) + s·(P [C₁ −C₀]) next to P [C₂ C₃]: three constant
    matmuls and a few whole-batch products, with no slicing (a slice's VJP fills a zero array
    of the whole input). A slide along z adds q W₂ to W₃.
    """
    n = chain.n
    batch = q.shape[:-1]
    M = int(np.prod(batch))
    qT = ad.transpose(ad.reshape(q, (M, n)))  # (n, M): row i is joint i over the batch
    c, s = ad.cos(qT), ad.sin(qT)
    P = np.repeat(np.eye(4)[:3, :, None], M, axis=2)  # the identity's top rows, (3, 4, M)
    for i, joint in enumerate(chain.joints):
        C = chain.compiled["constants"][i]
        if joint.type == REVOLUTE:
            cos_part = np.stack([C[:, 0], C[:, 1]]) @ P  # (3, 2, M): W₀, W₁
            sin_part = np.stack([C[:, 1], -C[:, 0]]) @ P  # W₁, −W₀
            P = ad.concatenate([c[i] * cos_part + s[i] * sin_part, C[:, 2:].T @ P], axis=1)
        else:
            E = C.T @ P  # (3, 4, M)
            P = ad.concatenate([E[:, 0:3], E[:, 3:4] + qT[i] * E[:, 2:3]], axis=1)
    P = chain.compiled["tip"].T @ P
    rows = ad.transpose(P, (2, 0, 1))  # (M, 3, 4)
    bottom = np.broadcast_to(np.array([0.0, 0.0, 0.0, 1.0]), (M, 1, 4))
    return ad.reshape(ad.concatenate([rows, bottom], axis=1), batch + (4, 4))


def link_poses(chain: Chain, q):
    """Poses of every joint frame and of the end effector, base to tip.

    Entry i < n is the frame of joint i+1 after its motion (its origin lies on the joint's
    axis, so a drawing of the arm joins these origins); entry n is the end effector, equal to
    `forward_kinematics(chain, q)`.

    Args:
        q: (..., n) joint values, array or Tensor.

    Returns:
        (..., n + 1, 4, 4) poses.
    """
    _check_q(chain, q)
    table, frames = chain.compiled["table"], chain.compiled["frames"]

    def poses(q):
        L = _locals(chain, q, table)
        T = L[..., 0, :, :]
        out = [T]
        for i in range(1, chain.n):
            T = T @ L[..., i, :, :]
            out.append(T)
        stacked = ad.stack(out, axis=-3) @ frames  # z-form frames -> joint frames
        tip = ad.reshape(T @ (frames[-1] @ chain.tool), T.shape[:-2] + (1, 4, 4))
        return ad.concatenate([stacked, tip], axis=-3)

    return _run(q, poses)


def _angular_seed(R0: np.ndarray) -> np.ndarray:
    """Cotangents on R for the three angular-velocity rows.

    ω = vex(dR R0ᵀ) at R = R0, and vex(S) = ½ (S₂₁ − S₁₂, S₀₂ − S₂₀, S₁₀ − S₀₁) is linear in
    R, so row k of J_ω is one backward pass from R with these fixed coefficients.

    Args:
        R0: (..., 3, 3) current rotations.

    Returns:
        (3, ..., 3, 3) seeds.
    """
    seed = np.zeros((3,) + R0.shape)
    for k, (a, b) in enumerate(((2, 1), (0, 2), (1, 0))):
        seed[k, ..., a, :] = 0.5 * R0[..., b, :]
        seed[k, ..., b, :] = -0.5 * R0[..., a, :]
    return seed


def jacobian(chain: Chain, q) -> np.ndarray:
    """The geometric Jacobian from the engine's backward pass: J = d[p; θ]/dq.

    The six rows need six cotangents. Rather than six backward passes, q is stacked six times
    on a new leading axis and a single backward pass carries all six cotangents, one per copy
    (the VJPs broadcast over the extra axis like over any batch axis).

    Args:
        q: (..., n) joint values (array).

    Returns:
        (..., 6, n): rows [v; ω] in the base frame.
    """
    _check_q(chain, q)
    q = np.asarray(q.data if isinstance(q, ad.Tensor) else q, dtype=np.float64)
    q6 = ad.Tensor(np.broadcast_to(q, (6,) + q.shape).copy(), requires_grad=True)
    T = forward_kinematics(chain, q6)  # (6, ..., 4, 4)
    seed = np.zeros(T.shape)
    for k in range(3):
        seed[k, ..., k, 3] = 1.0
    seed[3:, ..., :3, :3] = _angular_seed(T.data[0, ..., :3, :3])
    T.backward(seed)
    return np.moveaxis(q6.grad, 0, -2)


def geometric_jacobian(chain: Chain, q) -> np.ndarray:
    """The geometric Jacobian in closed form, the oracle for `jacobian`.

    Column i: revolute (z_i × (p − o_i); z_i), prismatic (z_i; 0), where z_i is joint i's axis
    and o_i a point on it, both in the base frame.

    Args:
        q: (..., n) joint values (array).

    Returns:
        (..., 6, n).
    """
    _check_q(chain, q)
    frames = link_poses(chain, np.asarray(q, dtype=np.float64))
    axes = np.stack([j.axis for j in chain.joints])  # (n, 3) in joint frames
    z = np.einsum("...nij,nj->...ni", frames[..., :-1, :3, :3], axes)  # (..., n, 3)
    o = frames[..., :-1, :3, 3]
    p = frames[..., -1:, :3, 3]
    revolute = np.array([j.type == REVOLUTE for j in chain.joints])[:, None]
    v = np.where(revolute, np.cross(z, p - o), z)
    w = np.where(revolute, z, 0.0)
    return np.swapaxes(np.concatenate([v, w], axis=-1), -1, -2)


def rotation_vector(M):
    """The rotation vector (log map) of rotations M (..., 3, 3): θ k, with θ in [0, π].

    θ k = θ / (2 sin θ) · vex(M − Mᵀ). Near θ = 0 the factor θ / sin θ comes from its series
    in s = sin θ (arcsin(s)/s = 1 + s²/6 + 3s⁴/40 + ...), and the inputs of the regular branch
    are replaced there too, so neither value nor gradient sees 0/0. Near π, vex(M − Mᵀ)
    vanishes and carries no axis: k comes from the symmetric part, k kᵀ = (M + Mᵀ − 2 cos θ I) /
    (2 (1 − cos θ)), its sign from vex(M − Mᵀ).

    Args:
        M: (..., 3, 3) rotation matrices, array or Tensor.

    Returns:
        (..., 3), of M's kind.
    """

    def log_map(M):
        v = ad.stack([M[..., 2, 1] - M[..., 1, 2], M[..., 0, 2] - M[..., 2, 0], M[..., 1, 0] - M[..., 0, 1]], axis=-1)
        c = (M[..., 0, 0] + M[..., 1, 1] + M[..., 2, 2] - 1.0) * 0.5  # cos θ
        v2 = ad.sum(v * v, axis=-1)  # 4 sin² θ
        small = (v2.data < 4e-6) & (c.data > 0)  # θ < 1e-3
        near_pi = (v2.data < 4e-6) & (c.data <= 0)
        regular = ~(small | near_pi)
        s = ad.sqrt(ad.where(regular, v2, 1.0)) * 0.5
        theta = ad.arctan2(s, ad.where(regular, c, 0.0))
        s2 = v2 * 0.25
        factor = ad.where(regular, theta / s, 1.0 + s2 * (1.0 / 6.0) + s2 * s2 * (3.0 / 40.0))
        r = ad.reshape(factor, factor.shape + (1,)) * v * 0.5
        if not near_pi.any():
            return r
        return ad.where(near_pi[..., None], _near_pi(M, v, c, v2, near_pi), r)

    return _run(M, log_map)


def _near_pi(M, v, c, v2, mask):
    """θ k for rotations with θ close to π (rows outside `mask` get harmless placeholders)."""
    c_safe = ad.where(mask, c, -1.0)
    kk = (M + ad.swapaxes(M, -1, -2) - 2.0 * ad.reshape(c_safe, c_safe.shape + (1, 1)) * np.eye(3)) / (
        2.0 * ad.reshape(1.0 - c_safe, c_safe.shape + (1, 1)))
    diag = ad.stack([kk[..., 0, 0], kk[..., 1, 1], kk[..., 2, 2]], axis=-1)
    pick = np.eye(3)[np.argmax(diag.data, axis=-1)]  # the best-conditioned column of k kᵀ
    column = ad.sum(kk * pick[..., None, :], axis=-1)  # k_i k
    k_i = ad.sqrt(ad.maximum(ad.sum(diag * pick, axis=-1), 1e-300))
    k = column / ad.reshape(k_i, k_i.shape + (1,))
    sign = np.where(np.sum(k.data * v.data, axis=-1) < 0, -1.0, 1.0)[..., None]
    # |v| = 2 sin θ has the bounded gradient v / |v|, but sqrt's VJP divides by |v|: at exactly
    # θ = π, and in rows outside `mask` where v = 0 (θ = 0), that is 0 · inf = NaN even though
    # `where` zeroes their cotangent. The 1e-300 shift keeps it finite and changes no value.
    theta = ad.arctan2(ad.sqrt(v2 + 1e-300) * 0.5, c_safe)
    return k * sign * ad.reshape(theta, theta.shape + (1,))


def pose_error(T, target):
    """[p_t − p; rotation vector of R_t Rᵀ]: zero when T reaches the target.

    Its derivative at zero error is −J (see `jacobian`), and it is finite there.

    Args:
        T: (..., 4, 4) current poses, array or Tensor.
        target: (..., 4, 4) target poses (broadcast against T).

    Returns:
        (..., 6), of T's kind.

    Example:
        >>> from kinematics.transforms import rot_z, translation
        >>> np.round(pose_error(np.eye(4), translation([0.1, 0, 0]) @ rot_z(0.5)), 12)
        array([0.1, 0. , 0. , 0. , 0. , 0.5])
    """
    target = target if isinstance(target, ad.Tensor) else np.asarray(target, dtype=np.float64)

    def error(T):
        R = T[..., :3, :3]
        ep = target[..., :3, 3] - T[..., :3, 3]
        er = rotation_vector(target[..., :3, :3] @ ad.swapaxes(R, -1, -2))
        return ad.concatenate([ep, er], axis=-1)

    return _run(T, error)
