"""Forward kinematics, Jacobians and the pose error, built from the engine's primitives.

Glossary: q joint values (..., n); T pose (..., 4, 4); R rotation (..., 3, 3); p position
(..., 3); J Jacobian (..., 6, n) with rows [v; ω] in the base frame; e pose error (..., 6).

With q a Tensor every function here is differentiable through the engine; with q an array the
same code runs without recording a graph and returns arrays.
"""

from __future__ import annotations

import functools
import math
import weakref

import numpy as np

import autodiff as ad

from .chain import REVOLUTE, Chain
from .robot import as_robot

__all__ = [
    "frame_poses", "forward_kinematics", "link_poses", "jacobian", "pose_and_jacobian", "geometric_jacobian",
    "frame_jacobian", "pose_error", "rotation_vector",
]


def _check_q(chain: Chain, q, name: str = "q"):
    """Validate q at a public entry point: its shape (..., n) and finite values.

    A NaN or infinite q would otherwise surface deep in the engine (a backward pass refusing
    non-finite gradients); the IK loop calls the unchecked internals, so the finiteness test
    (about a microsecond) is paid once per call of a public function, not per iteration.
    """
    if not isinstance(chain, Chain):
        raise TypeError(f"expected a kinematics.Chain, got {type(chain).__name__}")
    _check_values(chain, q, name)


def _check_values(chain, q, name: str = "q"):
    """q's shape (..., chain.n), real dtype and finite values (chain: a Chain or a Robot)."""
    values = np.asarray(q.data if isinstance(q, ad.Tensor) else q)
    if values.ndim == 0 or values.shape[-1] != chain.n:
        raise ValueError(f"{name} must have shape (..., {chain.n}) for {chain.name!r}, got {values.shape}")
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {values.dtype}")
    if not np.isfinite(values).all():
        bad = np.argwhere(~np.isfinite(values))
        raise ValueError(f"{name} contains NaN or infinite values ({len(bad)} of {values.size}, "
                         f"first at index {tuple(int(i) for i in bad[0])})")


def _namespace(x):
    """The module whose functions apply to x: the engine for Tensors, numpy for arrays.

    Every function here is written once against this shared vocabulary (stack, sin, cos,
    reshape, where, ...), so arrays are computed at numpy speed with no graph at all.
    """
    return ad if isinstance(x, ad.Tensor) else np


def _value(x) -> np.ndarray:
    return x.data if isinstance(x, ad.Tensor) else x


def _locals(q, terms: tuple):
    """The local transforms C_{i-1} Mz(q_i) of all joints, (n, ..., 4, 4).

    Each is affine in (cos q_i, sin q_i, q_i): flattened, constant_i + (cos q_i, sin q_i) @
    turn_i + q_i slide_i (`affine_terms`; the last only where a joint slides), so all of them
    come from one batched product with a constant, after one `cos_sin` (both values in one op
    whose VJP needs no trigonometry; the same bits as the product of (1, cos, sin, q) with the
    whole table). The joint axis goes first, so that each joint's slice is contiguous and each
    product of the chain one matrix multiplication over the batch.

    Args:
        q: (..., n) the motions' values, array or Tensor.
        terms: `affine_terms` of the (n, 4, 16) table.
    """
    xp = _namespace(q)
    constant, turn, slide = terms
    n, batch = q.shape[-1], q.shape[:-1]
    if q.ndim <= 2:  # (n,) or (M, n): one op to (n, M)
        qt = xp.reshape(q, (n, 1)) if q.ndim == 1 else xp.transpose(q)
    else:
        qt = xp.reshape(xp.transpose(q, (q.ndim - 1,) + tuple(range(q.ndim - 1))), (n, -1))
    flat = _cos_sin(qt, axis=-1) @ turn + constant  # (n, M, 16)
    if slide is not None:
        flat = flat + xp.reshape(qt, qt.shape + (1,)) * slide
    return xp.reshape(flat, (n,) + batch + (4, 4))


def _motion_values(chain: Chain, q):
    """The values of the chain's m motions, (..., m), from q (..., n): q itself without mimic joints.

    With mimic joints motion k is q[..., source[k]] · scale[k] + shift[k] (`Chain.coupling`): a
    gather, a product and a sum, in the engine for a Tensor q, so derivatives reach q's columns
    by the chain rule (the gather's VJP adds up the columns that several motions share).
    """
    coupling = chain.coupling
    if coupling is None:  # no op at all: the serial chain's graph is unchanged
        return q
    source, scale, shift = coupling
    values = q[..., source]
    if scale is not None:
        values = values * scale
    if shift is not None:
        values = values + shift
    return values


def _run(x, fn):
    """Call fn on a Tensor as it is, or on anything else as a float64 array."""
    return fn(x if isinstance(x, ad.Tensor) else np.asarray(x, dtype=np.float64))


def forward_kinematics(chain: Chain, q):
    """End-effector pose base · Π origin_i Motion_i(q_i) · tool.

    Args:
        chain: the arm.
        q: (..., n) values of its free joints (`chain.joint_names`), array or Tensor; mimic
            joints take multiplier · q[master] + offset.

    Returns:
        (..., 4, 4) poses, of q's kind.

    Example:
        >>> import robots
        >>> np.round(forward_kinematics(robots.planar([1.0, 1.0]), [0.0, np.pi / 2])[:3, 3], 12)
        array([1., 1., 0.])
    """
    _check_q(chain, q)
    return _forward_kinematics(chain, q)


def _forward_kinematics(chain: Chain, q):
    """`forward_kinematics` without input validation (the IK loop's entry)."""

    def fk(q):
        B = math.prod(q.shape[:-1])
        if B * len(chain.joints) < COLUMN_WORK:
            return _product(chain, q)  # few ops: the whole pose, no slicing
        if B > FK_CHUNK and isinstance(q, np.ndarray):  # no graph: chunks of rows, cache-sized temporaries
            return _in_chunks(fk, q.reshape(B, q.shape[-1]), FK_CHUNK)[0].reshape(q.shape[:-1] + (4, 4))
        top = _top_rows_columns(chain, q)
        bottom = np.broadcast_to([0.0, 0.0, 0.0, 1.0], top.shape[:-2] + (1, 4))
        return _namespace(q).concatenate([top, bottom], axis=-2)

    return _run(q, fk)


def _in_chunks(fn, rows: np.ndarray, size: int) -> tuple:
    """fn's output arrays (one, or a tuple) for rows (B, n), computed `size` rows at a time into
    arrays of B rows: no list of parts to join, so the peak is the outputs and one chunk's work."""
    outputs = None
    for i in range(0, len(rows), size):
        part = fn(rows[i:i + size])
        part = part if isinstance(part, tuple) else (part,)
        if outputs is None:
            outputs = tuple(np.empty((len(rows),) + p.shape[1:], dtype=p.dtype) for p in part)
        for out, p in zip(outputs, part):
            out[i:i + size] = p
    return outputs


# Configurations per pass of array FK on large batches: the column layout's temporaries, (3, 6, B)
# each, would otherwise reach ~1 GB for a million configurations (making the scaling benchmark's
# targets peaked at 1,068 MiB); 16,384 keeps them ~2.4 MB.
FK_CHUNK = 16_384


def _product(chain: Chain, q):
    """Π_i C_{i-1} Mz(q_i) from the local 4×4 transforms (n, ..., 4, 4): one cummatmul, whose
    last prefix is the pose (no per-joint slices, k − 1 products each way; for arrays the same
    products in the same order, so the same bits)."""
    P = _prefixes(chain, q)  # for arrays a constant Tensor: no graph
    return P[-1] if isinstance(q, ad.Tensor) else P.data[-1]


# `_top_rows_columns` pays ~4 engine ops per revolute joint whatever the batch; it overtakes the
# cummatmul of 4×4 products (FK + gradient, untraced, callgrind instruction counts) between
# B = 50 and 100 on the Panda (n = 7) and near B = 200 for a 2-link arm: from about B·n = 500.
COLUMN_WORK = 500


def _top_rows_columns(chain: Chain, q):
    """The top rows [R | p] of the pose for large batches, with the batch on the last axis: (..., n) -> (..., 3, 4)."""
    xp = _namespace(q)
    batch = q.shape[:-1]
    P = _columns(chain, xp.reshape(q, (1, math.prod(batch), q.shape[-1])))
    return xp.reshape(xp.transpose(P, (2, 0, 1)), batch + (3, 4))


def _top_rows_by_row(chain: Chain, q):
    """The Jacobian's column layout: row r of the top rows from its own copy of q, (3, M, n) -> (M, 3, 4).

    Right-multiplication keeps the pose's rows apart, so with a copy of q per row the backward
    pass keeps each row's share of the gradient apart too: q's gradient (3, M, n) holds row r's
    in entry r. The Jacobian needs only nine such shares, and three stacked cotangents carry
    them (`_row_seeds`): half the arithmetic of six cotangents on a shared q, whose eighteen
    row shares are half zeros. (The price, the trigonometry of three copies of q, is the
    smaller: a batch of 10,000 Panda targets −15 % CPU time, FK + J of 1,024 rows −29 %
    instructions.)
    """
    return ad.transpose(_columns(chain, q), (2, 0, 1))


def _columns(chain: Chain, q):
    """The pose's top three rows as P (3, 4, M) with the batch last, P[r, k, b] = T_b[r, k], from q (R, M, n).

    R = 1: one q for all rows; R = 3: row r computed from q[r] alone (`_top_rows_by_row`).

    Right-multiplying by a constant C is the matmul Cᵀ P (C's columns contract P's axis 1: one
    BLAS product per row, whatever M), and a turn about z changes only two columns: with
    W = P C, (W Rz(q))₀ = c W₀ + s W₁ and (W Rz(q))₁ = c W₁ − s W₀.

    So a revolute joint is one constant product and one whole-batch product, with no slicing
    (a slice's VJP fills a zero array of the whole input): X = K P with K = [C₀ C₁ C₁ −C₀ C₂ C₃]ᵀ
    (6, 4) gives the rows W₀ W₁ W₁ −W₀ W₂ W₃, Y = (c, s, c, s, 1, 1) ⊙ X weights them (the first
    four are `cos_sin` twice: one op whose VJP needs no trigonometry), and P' = Σ Y, with Σ (4, 6)
    adding rows 0 + 1 and 2 + 3 and keeping 4 and 5. Σ is folded into the next joint's constant
    (K' Σ) Y, so that each joint's backward pass has one product with the stacked cotangents
    instead of three, and a third of the memory traffic (measured: a batch of 10,000 Panda
    targets −22 % CPU time, 1,000 −10 % instructions).

    A slide along z adds q W₂ to W₃ (P itself first: Σ Y). With mimic joints the motions'
    values come first (`_motion_values`), and the joints below are the m motions.
    """
    xp = _namespace(q)
    q = _motion_values(chain, q)
    R, M = q.shape[:2]
    qT = xp.transpose(q, (2, 0, 1))  # (m, R, M): entry i is motion i over the batch
    ones = np.ones((R, 2, M))
    C = chain.compiled["constants"]  # (m, 4, 4)
    K = C[:, :, _TURN_COLUMNS].mT * _TURN_SIGNS  # (m, 6, 4): K_i above
    P = np.repeat(np.eye(4)[:3, :, None], M, axis=2)  # the identity's top rows, (3, 4, M)
    Y = None  # (3, 6, M): the last revolute joint's weighted rows, P = Σ Y
    for i, joint in enumerate(chain.joints):
        if joint.type == REVOLUTE:
            X = K[i] @ P if Y is None else (K[i] @ _SUM_ROWS) @ Y
            cs = _cos_sin(qT[i], axis=1)  # (R, 2, M)
            Y = xp.concatenate([cs, cs, ones], axis=1) * X
        else:
            if Y is not None:
                P, Y = _SUM_ROWS @ Y, None
            E = C[i].T @ P  # (3, 4, M)
            P = xp.concatenate([E[:, 0:3], E[:, 3:4] + xp.reshape(qT[i], (R, 1, M)) * E[:, 2:3]], axis=1)
    tip = chain.compiled["tip"].T
    return tip @ P if Y is None else (tip @ _SUM_ROWS) @ Y


def _cos_sin(x, axis: int):
    """[cos x, sin x] stacked on `axis`: the engine's op for a Tensor, numpy's functions for an array."""
    return ad.cos_sin(x, axis=axis) if isinstance(x, ad.Tensor) else np.stack([np.cos(x), np.sin(x)], axis=axis)


# A revolute joint's rows in the column layout (`_columns`): K = [C₀ C₁ C₁ −C₀ C₂ C₃]ᵀ, and Σ,
# which adds the weighted rows into P's four.
_TURN_COLUMNS = [0, 1, 1, 0, 2, 3]
_TURN_SIGNS = np.array([1.0, 1.0, 1.0, -1.0, 1.0, 1.0])[:, None]
_SUM_ROWS = np.array([[1.0, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1]])


def frame_poses(robot, q, frames):
    """World poses of named frames of a tree (a Robot, or a Chain as `Robot.from_chain`).

    The links on the union of the frames' paths from the root are multiplied once each, parents
    first, so frames that share ancestors (a humanoid's two hands) share their products.

    Args:
        robot: a `kinematics.Robot` or `kinematics.Chain`.
        q: (..., n) values of the free movable joints in `robot.joint_names` order, array or
            Tensor; mimic joints take multiplier · q[master] + offset (`kinematics.Robot`).
        frames: names from `robot.frames` (a single name is one frame).

    Returns:
        (..., k, 4, 4) poses of the k frames, of q's kind (differentiable for a Tensor q).

    Raises:
        TypeError: robot is neither a Robot nor a Chain; q does not hold real numbers.
        ValueError: an unknown frame (the message lists the nearest names), q not of shape
            (..., n) or not finite.

    Example:
        >>> import robots
        >>> T = frame_poses(robots.planar([1.0, 1.0]), [0.0, np.pi / 2], ["joint2", "tool"])
        >>> np.round(T[:, :3, 3], 12)
        array([[1., 0., 0.],
               [1., 1., 0.]])
    """
    robot = as_robot(robot)
    _check_values(robot, q)
    return _frame_poses(robot, q, [frames] if isinstance(frames, str) else frames)


def _frame_poses(robot, q, frames):
    """`frame_poses` without input validation (the IK loop's entry): robot a Robot, frames a list."""
    columns, scale, shift, terms, steps, outputs = robot.plan(frames)

    def poses(q):
        batch = q.shape[:-1]
        L = None
        if steps:  # (m, ..., 4, 4): the motions on the walk, in one op
            values = q if columns is None else q[..., columns]  # mimic joints: their source's column
            if scale is not None:
                values = values * scale
            if shift is not None:
                values = values + shift
            L = _locals(values, terms)
        pose = {robot.root: None}  # None: the identity (the root's pose), never multiplied
        for link, anchor, i in steps:
            pose[link] = L[i] if pose[anchor] is None else pose[anchor] @ L[i]
        out = []
        for anchor, C in outputs:
            T = pose[anchor]
            if T is None:  # only fixed joints from the root: a constant
                T = np.broadcast_to(np.eye(4) if C is None else C, batch + (4, 4))
            elif C is not None:
                T = T @ C
            out.append(T)
        return _namespace(q).stack(out, axis=-3)

    return _run(q, poses)


def link_poses(chain: Chain, q):
    """Poses of every joint frame and of the end effector, base to tip.

    Entry i < m is the frame of `chain.joints[i]` after its motion (its origin lies on the
    joint's axis, so a drawing of the arm joins these origins); entry m is the end effector,
    equal to `forward_kinematics(chain, q)`. m = len(chain.joints) counts the path's mimic joints
    too (m = n without them).

    Args:
        q: (..., n) values of the free joints, array or Tensor.

    Returns:
        (..., m + 1, 4, 4) poses.
    """
    _check_q(chain, q)
    terms, frames = chain.compiled["terms"], chain.compiled["frames"]

    def poses(q):
        L = _locals(_motion_values(chain, q), terms)
        out = [L[0]]
        for i in range(1, len(chain.joints)):
            out.append(out[-1] @ L[i])
        out.append(out[-1] @ (frames[-1] @ chain.tool))
        # z-form frames -> joint frames; the tip is already the end-effector pose.
        return _namespace(q).stack(out, axis=-3) @ np.concatenate([frames, np.eye(4)[None]])

    return _run(q, poses)


# vex(S) = ½ (S₂₁ − S₁₂, S₀₂ − S₂₀, S₁₀ − S₀₁): the seed of ω_k puts ±½ R0's rows b, a into rows a, b.
_SEED_ROWS = np.array([3, 3, 4, 4, 5, 5])  # the seed of ω_k is cotangent 3 + k
_SEED_INTO = np.array([2, 1, 0, 2, 1, 0])  # (a, b) = (2, 1), (0, 2), (1, 0)
_SEED_FROM = np.array([1, 2, 2, 0, 0, 1])
_SEED_SIGN = np.array([0.5, -0.5, 0.5, -0.5, 0.5, -0.5])[:, None, None]


def _seeds(value: np.ndarray, seeds: np.ndarray | None = None) -> np.ndarray:
    """The six cotangents on the pose (rows, r, 4) (r = 4, or 3 for [R | p]) for the rows of J.

    e_k on the position for v. For ω: ω = vex(dR R0ᵀ) at R = R0 is linear in dR, and its entry k,
    ½ ((dR R0ᵀ)_ab − (dR R0ᵀ)_ba) with (a, b) = (2, 1), (0, 2), (1, 0), has the cotangent ½ R0's
    row b in row a and −½ R0's row a in row b; so row k of J_ω is one backward pass with these
    fixed coefficients. Written as one gather and one scatter (per-call overhead, not
    arithmetic, is the cost for a few rows).

    Args:
        value: (rows, r, 4) the pose's top rows.
        seeds: None, or a (6, rows, r, 4) array this function filled before for the same shape:
            only the ω entries depend on the pose, so only they are written again.

    Returns:
        (6, rows, r, 4) seeds (`seeds` itself when given).
    """
    if seeds is None:
        seeds = np.zeros((6,) + value.shape)
        seeds[[0, 1, 2], :, [0, 1, 2], 3] = 1.0
    seeds[_SEED_ROWS, :, _SEED_INTO, :3] = _SEED_SIGN * value[:, _SEED_FROM, :3].transpose(1, 0, 2)
    return seeds


def _prefix_seeds(prefixes: np.ndarray, seeds: np.ndarray | None = None) -> np.ndarray:
    """`_seeds` on the last of the prefix products (k, rows, 4, 4), the pose: (6, k, rows, 4, 4),
    zero on the other prefixes (`seeds`, when given, is this function's array for the same shape)."""
    if seeds is None:
        seeds = np.zeros((6,) + prefixes.shape)
        seeds[:, -1] = _seeds(prefixes[-1])
    else:
        _seeds(prefixes[-1], seeds[:, -1])
    return seeds


# Row by row, the seeds above: ω_k's rows are a = k + 2 and b = k + 1 (mod 3), so row r carries
# ½ R0[r + 2] (in ω_{r+1}'s seed) and −½ R0[r + 1] (in ω_{r+2}'s), and e_3 (in v_r's); row r + 1
# and row r + 2 are R0[_NEXT] and R0[_AFTER] (defined with `geometric_jacobian`).


def _row_seeds(value: np.ndarray, seeds: np.ndarray | None = None) -> np.ndarray:
    """The column layout's three cotangents on the top rows (rows, 3, 4), one share of `_seeds` per pose row.

    With a copy of q per pose row (`_top_rows_by_row`), cotangent j puts in row r its share of
    one Jacobian row: j = 0 e_3 (v_r), j = 1 ½ R0[r + 2] (ω_{r+1}), j = 2 −½ R0[r + 1] (ω_{r+2});
    `_row_jacobian` adds the shares up.

    Args:
        value: (rows, 3, 4) the pose's top rows.
        seeds: None, or a (3, rows, 3, 4) array this function filled before for the same shape
            (only the ω entries are written again).

    Returns:
        (3, rows, 3, 4) seeds (`seeds` itself when given).
    """
    if seeds is None:
        seeds = np.zeros((3,) + value.shape)
        seeds[0, :, :, 3] = 1.0
    R0 = value[:, :, :3]
    np.multiply(R0[:, _AFTER], 0.5, out=seeds[1, :, :, :3])
    np.multiply(R0[:, _NEXT], -0.5, out=seeds[2, :, :, :3])
    return seeds


def _row_jacobian(grad: np.ndarray, m: int) -> np.ndarray:
    """J (m, 6, n) from the shares (3, 3, rows, n) that `_row_seeds`' cotangents pull back:
    grad[j, r] is row r's share for cotangent j; v_r = grad[0, r], ω_k = grad[1, k + 2] + grad[2, k + 1]."""
    J = np.empty((m, 6, grad.shape[-1]))
    J[:, :3] = grad[0, :, :m].transpose(1, 0, 2)
    J[:, 3:] = (grad[1, _AFTER, :m] + grad[2, _NEXT, :m]).transpose(1, 0, 2)
    return J


def jacobian(chain: Chain, q) -> np.ndarray:
    """The geometric Jacobian from the engine's backward passes: J = d[p; θ]/dq.

    Row k of J is the gradient of output k, so six cotangents give all of J; the batch rides
    along in each pass because configurations are independent (see `pose_and_jacobian`).

    Args:
        q: (..., n) joint values (array).

    Returns:
        (..., 6, n): rows [v; ω] in the base frame.
    """
    return pose_and_jacobian(chain, q)[1]


# How the cotangents travel (measured on the Panda): one forward pass on q and one backward pass
# with the cotangents stacked on a leading axis, six on the pose for the 4x4 products, three on
# the rows for the column layout (`_top_rows_by_row`). (Six copies of q in one ordinary pass did as
# well for up to 8 rows while the 4x4 products were separate matmuls; with one cummatmul the
# stacked pass runs 8 % fewer instructions per single-target solve, callgrind.) Replayed, the
# column layout (padded to 64 rows) overtakes the 4x4 products (padded to powers of two) above
# 32 rows, whatever the chain's length (callgrind, per pass: the Panda's 32 rows 2.81 M
# instructions in 4x4 products against 3.15 M in columns, 48 rows 5.04 M against 3.17 M; a 2-link
# arm's 32 rows 1.01 M against 1.12 M, 48 rows 1.61 M against 1.13 M): the column pass costs per
# op up to 64 rows, the products per row. Not COLUMN_WORK, which is tuned for one gradient.
# Passes of 1024 rows keep the stacked arrays cache-sized.
JACOBIAN_COLUMN_ROWS = 32
JACOBIAN_CHUNK = 1024  # configurations per pass in larger batches: measured fastest on this machine (replayed)


def pose_and_jacobian(chain: Chain, q):
    """FK and the engine Jacobian J = d[p; θ]/dq from the engine's backward passes.

    The six rows need six cotangents on the pose: e_k on the position for v, and for ω the
    coefficients of ω = vex(dR R0ᵀ) (see `_seeds`). They go back together in one
    backward pass, stacked on a leading axis (the engine's VJPs broadcast over it); for many
    rows, as three cotangents that carry each pose row's share apart (`_top_rows_by_row`). With mimic
    joints the pass runs through the coupling too, so J's columns are the free joints' (a
    master's column sums the columns of the joints that follow it, each times its multiplier).

    Args:
        q: (..., n) joint values (array).

    Returns:
        (T, J): poses (..., 4, 4) and Jacobians (..., 6, n).
    """
    _check_q(chain, q)
    return _pose_and_jacobian_chunked(chain, np.asarray(q.data if isinstance(q, ad.Tensor) else q, dtype=np.float64))


def _pose_and_jacobian_chunked(chain: Chain, q: np.ndarray):
    """`pose_and_jacobian` without input validation: q (..., n) float64."""
    T, jacobian = _pose_then_jacobian(chain, q)
    return T, jacobian()


def _pose_then_jacobian(chain: Chain, q: np.ndarray):
    """The IK loop's entry: the poses now, the Jacobians on demand.

    The backward pass waits until `jacobian()` is called, so an iteration after which no row
    takes a step (a lone target's last) skips it. Call it before the next pass over this chain:
    the replay's buffers hold the forward pass it pulls back (a stale call raises).

    Args:
        q: (..., n) float64 joint values.

    Returns:
        (T (..., 4, 4), jacobian: a function of no arguments that returns J (..., 6, n)).
    """
    rows = q.reshape(-1, chain.n)
    if len(rows) > JACOBIAN_CHUNK:  # keep each pass's arrays cache-sized (both passes per chunk)
        T, J = _in_chunks(functools.partial(_pose_and_jacobian, chain), rows, JACOBIAN_CHUNK)
        J = J.reshape(q.shape[:-1] + (6, chain.n))
        return T.reshape(q.shape[:-1] + (4, 4)), lambda: J
    return _pose_then_jacobian_pass(chain, q)


# FK and its backward pass are replayed from traces (`ad.trace`): recorded once per chain,
# formulation and padded row count, then run as straight-line numpy with no engine op. For few
# rows that removes the per-op overhead that is the whole cost; for the column layout (many
# rows) the engine's bookkeeping per pass (the walk, the accumulation, the unbroadcasting
# decided anew each time) is what it saves. REPLAY = False runs the engine on the same padded
# rows, with the same numbers bit for bit.
REPLAY = True
# A shape is traced on its TRACE_AFTER-th pass: recording one costs a few passes (5-60 ms), and a
# replay saves a fraction of a pass, so a shape a batch meets only a few times stays on the engine
# (a single-target loop meets its shape every iteration, and a batch of 10,000 every chunk).
TRACE_AFTER = 16


def _bucket(m: int, columns: bool) -> int:
    """Rows a pass of m configurations is padded to (rows leaving an IK batch would otherwise
    record a trace per count): the next power of two for the 4x4 products (few rows, whose cost is
    per op); for the column layout (whose cost is per row) the next multiple of 64 rows up to 256
    and of 128 above, so at most a quarter is padding and a chain has at most ten column
    traces (the Panda's keep ~15 MB together; 1024 rows: 3.1 MB) and a few product traces."""
    if not columns:
        return 1 << (m - 1).bit_length()
    step = 64 if m <= 256 else 128
    return -(-m // step) * step


def _pose_and_jacobian(chain: Chain, q: np.ndarray):
    T, jacobian = _pose_then_jacobian_pass(chain, q)
    return T, jacobian()


def _pose_then_jacobian_pass(chain: Chain, q: np.ndarray):
    """One pass of `_pose_then_jacobian` (at most JACOBIAN_CHUNK rows)."""
    n = chain.n
    m = q.size // n
    # The formulation is chosen by the true row count, so padding never changes it.
    columns = m > JACOBIAN_COLUMN_ROWS
    rows = _bucket(m, columns)
    x = q.reshape(m, n)
    if rows > m:  # padded with copies of the last row: finite, and never read back
        x = np.concatenate([x, np.broadcast_to(x[-1], (rows - m, n))])
    if columns:  # a copy of q per pose row (`_top_rows_by_row`)
        x = np.broadcast_to(x, (3, rows, n))
    passes, key = _passes(chain), (columns, rows)
    replays = passes.replays
    replay = replays.get(key, 0)
    if REPLAY and type(replay) is int and replay >= TRACE_AFTER:
        replay = replays[key] = ad.trace(_fk_top(chain, columns), x)
    if REPLAY and type(replay) is not int:
        top = replay(x)
        stamp = passes.latest[key] = object()  # this pass, for the staleness check

        def pull_back():
            if passes.latest[key] is not stamp:
                raise RuntimeError("pose_and_jacobian: the Jacobian of a pass asked for after a later pass "
                                   "over the same chain (whose replay overwrote its values)")
            seeds = passes.seeds  # kept with the replay, whose buffers live as long
            seeds[key] = (_row_seeds if columns else _prefix_seeds)(top, seeds.get(key))
            return replay.backward(seeds[key])
    else:
        if type(replay) is int:
            replays[key] = replay + 1  # passes of this shape so far
        leaf = ad.Tensor(x, requires_grad=True)
        node = _fk_top(chain, columns)(leaf)
        top = node.data

        def pull_back():  # once: the graph is let go, as it was before the deferral (the loop keeps this
            nonlocal node  # closure while its next pass builds another)
            node.backward((_row_seeds if columns else _prefix_seeds)(top))
            node = None
            return leaf.grad
    if columns:  # [R | p]: the bottom row added
        T = np.zeros((m, 4, 4))
        T[:, :3, :] = top[:m]
        T[:, 3, 3] = 1.0
    else:  # the 4×4 products' bottom row is exactly 0 0 0 1 (each factor's is); a copy outlives the replay
        T = top[-1, :m].copy()

    def jacobian():
        grad = pull_back()
        J = _row_jacobian(grad, m) if columns else grad.reshape(6, rows, n)[:, :m].transpose(1, 0, 2)
        return J.reshape(q.shape[:-1] + (6, n))
    return T.reshape(q.shape[:-1] + (4, 4)), jacobian


def _fk_top(chain: Chain, columns: bool):
    """What a Jacobian pass records, as a function of q: the column layout's top rows, or the
    4×4 products' prefixes (`_prefixes`)."""
    return functools.partial(_top_rows_by_row, chain) if columns else functools.partial(_prefixes, chain)


def _prefixes(chain: Chain, q):
    """The prefix products of the local transforms, (m, rows, 4, 4); the last is the pose.

    The Jacobian's cotangents go on them directly (`_prefix_seeds`: the pose's six, zero on the
    others, in a buffer kept with the replay), so its backward pass starts at the cummatmul with
    no getitem to scatter them into a zero array of all the prefixes each pass.
    """
    return ad.cummatmul(_locals(_motion_values(chain, q), chain.compiled["terms_fk"]))


class _Passes:
    """A chain's Jacobian passes, per key (columns, padded rows): `replays` its ad.Traced, or the
    count of passes run before it is recorded; `seeds` the cotangent buffer kept with the replay
    (refilled per pass); `latest` a token of the replay's latest forward pass (staleness check)."""

    __slots__ = ("replays", "seeds", "latest")

    def __init__(self):
        self.replays, self.seeds, self.latest = {}, {}, {}


_PASSES = weakref.WeakKeyDictionary()  # chain -> _Passes: one lookup per pass


def _passes(chain: Chain) -> _Passes:
    passes = _PASSES.get(chain)
    if passes is None:
        passes = _PASSES[chain] = _Passes()
    return passes


def _replays(chain: Chain) -> dict:
    return _passes(chain).replays


def geometric_jacobian(chain: Chain, q) -> np.ndarray:
    """The geometric Jacobian in closed form, the oracle for `jacobian`.

    Column i of the motions' Jacobian: revolute (z_i × (p − o_i); z_i), prismatic (z_i; 0),
    where z_i is motion i's axis and o_i a point on it, both in the base frame. With mimic
    joints the motions' values are affine in q, so J = J_motions @ `chain.coupling_matrix`
    (m, n) by the chain rule.

    Args:
        q: (..., n) values of the free joints (array).

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
    J = np.swapaxes(np.concatenate([v, w], axis=-1), -1, -2)
    return J if chain.coupling is None else J @ chain.coupling_matrix


def frame_jacobian(robot, q, frame: str):
    """The geometric Jacobian of a named frame of a tree, as a forward expression of q.

    For each motion joint on the frame's path from the root, with z its axis in the world frame,
    o its child link's origin and p the frame's position, the column is revolute (z × (p − o); z),
    prismatic (z; 0). The child link's frame is origin · Motion(q), and a motion about (or along)
    the axis leaves the axis fixed, so z = R_child · axis with the axis as the joint gives it. A
    mimic joint, value q[s] · scale + shift, adds scale · its column into column s (the chain
    rule); joints off the path give zero columns.

    Unlike `jacobian` (backward passes, arrays out), J is built from engine ops when q is a
    Tensor, so a cost of J -- logdet(J Jᵀ + εI), a manipulability measure -- can itself be
    backpropagated to q.

    Args:
        robot: a `kinematics.Robot`, or a `kinematics.Chain` (as `Robot.from_chain`, end frame "tool").
        q: (..., n) free joint values in `robot.joint_names` order, array or Tensor.
        frame: a name from `robot.frames`.

    Returns:
        (..., 6, n), of q's kind: rows [v; ω] in the root (world) frame.

    Raises:
        TypeError: robot is neither a Robot nor a Chain; frame is not a string; q not real numbers.
        ValueError: an unknown frame (the message lists the nearest names); q not (..., n) or not finite.

    Example:
        >>> import robots
        >>> np.round(frame_jacobian(robots.planar([1.0, 1.0]), [0.0, np.pi / 2], "tool")[[0, 1, 5]], 12)
        array([[-1., -1.],
               [ 1.,  0.],
               [ 1.,  1.]])
    """
    robot = as_robot(robot)
    if not isinstance(frame, str):
        raise TypeError(f"frame_jacobian: frame must be a frame name (str), got {type(frame).__name__}")
    _check_values(robot, q)
    return _run(q, lambda q: _frame_jacobians(robot, q, [frame])[1][..., 0, :, :])


def _frame_jacobians(robot, q, frames):
    """Poses (..., k, 4, 4) and geometric Jacobians (..., k, 6, n) of k frames from one frame_poses walk.

    The walk visits the frames and the child links of every motion joint on their paths, each
    once; `frame_jacobian` documents the columns. Unchecked: robot a Robot, q an array or Tensor.
    """
    plans = [_jacobian_plan(robot, frame) for frame in frames]
    links = list(dict.fromkeys(link for plan in plans for link in plan[0]))
    T = _frame_poses(robot, q, list(frames) + links)  # (..., k + L, 4, 4)
    xp, k, batch = _namespace(q), len(frames), q.shape[:-1]
    at = {link: k + i for i, link in enumerate(links)}
    J = []
    for i, (plan_links, axes, revolute, gather) in enumerate(plans):
        if not plan_links:  # only fixed joints from the root: nothing moves the frame
            J.append(np.zeros(batch + (6, robot.n)))
            continue
        L = T[..., [at[link] for link in plan_links], :, :]  # (..., m, 4, 4) the child links
        z = (L[..., :3, :3] @ axes)[..., 0]  # (..., m, 3) world axes
        r = T[..., i:i + 1, :3, 3] - L[..., :3, 3]  # p − o, (..., m, 3)
        z_cross_r = z[..., _NEXT] * r[..., _AFTER] - z[..., _AFTER] * r[..., _NEXT]
        columns = xp.concatenate([xp.where(revolute, z_cross_r, z), z * revolute], axis=-1)  # (..., m, 6)
        J.append(xp.swapaxes(columns, -1, -2) @ gather)  # motions -> q's columns, mimic scales summed
    if xp is ad and not any(isinstance(j, ad.Tensor) for j in J):
        J[0] = ad.Tensor(J[0])
    return T[..., :k, :, :], xp.stack(J, axis=-3)


# (a × b)_i = a_{i+1} b_{i+2} − a_{i+2} b_{i+1}, indices mod 3
_NEXT, _AFTER = np.array([1, 2, 0]), np.array([2, 0, 1])
_JACOBIAN_PLANS = weakref.WeakKeyDictionary()  # Robot -> {frame: _jacobian_plan's tuple}


def _jacobian_plan(robot, frame: str) -> tuple:
    """The constants of `frame_jacobian` for one frame (cached per robot and frame).

    Returns:
        links: the child links of the m motion joints on the frame's root path.
        axes: (m, 3, 1) their axes in their child links' frames.
        revolute: (m, 1) True for a revolute joint, False for a prismatic one.
        gather: (m, n) motion i feeds q column source with weight scale (`Robot.source`, `Robot.scale`).

    Raises:
        ValueError: an unknown frame (from `Robot.plan`, listing the nearest names).
    """
    plans = _JACOBIAN_PLANS.setdefault(robot, {})
    if frame not in plans:
        robot.plan([frame])  # validates the name
        link = robot.offsets[frame][0] if frame in robot.offsets else frame
        joints = []
        while link != robot.root:
            joint = robot.parent_joint[link]
            if joint.motion is not None:
                joints.append(joint)
            link = joint.parent
        gather = np.zeros((len(joints), robot.n))
        for i, joint in enumerate(joints):
            k = robot._motion[joint.name]
            gather[i, robot.source[k]] += robot.scale[k]
        plans[frame] = ([j.child for j in joints], np.array([j.axis for j in joints]).reshape(-1, 3, 1),
                        np.array([j.type == REVOLUTE for j in joints], dtype=bool).reshape(-1, 1), gather)
    return plans[frame]


# vex(M − Mᵀ) = (M₂₁ − M₁₂, M₀₂ − M₂₀, M₁₀ − M₀₁) as fancy indices (the frame Jacobians use them too).
_VEX_PLUS = (np.array([2, 0, 1]), np.array([1, 2, 0]))
_VEX_MINUS = (np.array([1, 2, 0]), np.array([2, 0, 1]))


def _log_map_matrix() -> tuple[np.ndarray, np.ndarray]:
    """(L (13, 9), offset (13, 1)): the log map's linear quantities, z = L m + offset for a column m of M's entries.

    m is M row-major (M₀₀, M₀₁, ..., M₂₂). The rows of z: v = vex(M − Mᵀ) (0:3), 2 cos θ = tr M − 1
    (3), then the rows of the symmetric M + Mᵀ − (tr M − 1) I = 2 (1 − cos θ) k kᵀ (4:7, 7:10,
    10:13). One product replaces three gathers and two sums.
    """
    rows = []
    for E in np.eye(9).reshape(9, 3, 3):  # E: the matrix of the one entry m[i] = 1
        S = E + E.T - np.trace(E) * np.eye(3)  # the linear part; the + I is in the offset
        rows.append(np.concatenate([E[_VEX_PLUS] - E[_VEX_MINUS], [np.trace(E)], S.ravel()]))
    offset = np.concatenate([np.zeros(3), [-1.0], np.eye(3).ravel()])
    return np.array(rows).T.copy(), offset[:, None]


_LOG_MAP, _LOG_OFFSET = _log_map_matrix()
_COLUMN_SUM = np.ones((1, 3))  # _COLUMN_SUM @ x sums x's three rows: one call, fewer than sum(axis=0, keepdims=True)
# Added to |x|² and to v·x below, it keeps θ = 0 regular; it changes no bit once |v|² ≥ 1e-284 (θ ≥ 1e-142).
_SHIFT = 1e-300


def rotation_vector(M):
    """The rotation vector (log map) of rotations M (..., 3, 3): θ k, with θ in [0, π].

    With v = vex(M − Mᵀ) = 2 sin θ k, 2 cos θ = tr M − 1 and any vector x = ±|x| k along the axis,

        θ k = θ± x / |x|,   θ± = atan2(v·x / |x|, 2 cos θ) = ±θ,

    the sign of θ± following x's. Two choices of x, both computed for every rotation, one selected:
    - θ ≤ π/2: x = v, so that θ± / |x| = θ / (2 sin θ). With ε = 1e-300 added to |x|² and to v·x,
      v·x / |x| = |x| = sqrt(|v|² + ε) exactly, and atan2(|x|, 2 cos θ) / |x| is smooth down to
      v = 0, where it is 1 / (2 cos θ) = ½: values and derivatives with no 0/0 and no series (and
      no bit changed above θ = 1e-142).
    - θ > π/2: v loses its relative accuracy as sin θ → 0 and vanishes at π. The axis comes from
      M + Mᵀ − 2 cos θ I = 2 (1 − cos θ) k kᵀ instead: its row j is 2 (1 − cos θ) k_j k, and the
      row of the largest diagonal entry (that of M, |k_j| ≥ 1/√3) is ±k scaled by ≥ 2/√3; the
      sign is v's business in θ±. At θ = π exactly, where v = 0, θ± = π: either sign is right.
    For Tensors no Python branch depends on a value, so a recorded graph is right for any angle:
    `_log_map_conditions` compares, `where` selects per rotation. Arrays, which nothing records,
    skip the selection when no rotation is obtuse (the IK loop's usual case; x = v, the same bits).

    Args:
        M: (..., 3, 3) rotation matrices (orthonormal to rounding: then (v·x / |x|)² + (2 cos θ)² = 4
            keeps atan2's derivative finite), array or Tensor.

    Returns:
        (..., 3), of M's kind. Its derivative is finite everywhere, θ = 0 and θ = π included (at π,
        where the log map is not differentiable, it is one of the one-sided derivatives).
    """
    return _run(M, _log_map)


def _log_map(M):
    """`rotation_vector` of M, an array or Tensor already (no conversion: `pose_error` calls it so)."""
    xp = _namespace(M)
    lead = M.shape[:-2]
    # (13, N): one column per rotation, so that each quantity is a contiguous block of rows
    z = _LOG_MAP @ M.reshape((-1, 9)).T + _LOG_OFFSET
    v, c2 = z[0:3], z[3:4]  # 2 sin θ k, 2 cos θ
    if xp is np and (c2 > 0.0).all():  # x = v everywhere: x·x and v·x are one sum
        squares = _COLUMN_SUM @ (v * v) + _SHIFT
        norm, x = np.sqrt(squares), v
        theta = np.arctan2(squares / norm, c2)
    else:
        obtuse, first, second = _log_map_conditions(z)
        row = xp.where(first, z[4:7], xp.where(second, z[7:10], z[10:13]))  # ±k · (≥ 2/√3 where obtuse)
        x = xp.where(obtuse, row, v)
        norm = xp.sqrt(_COLUMN_SUM @ (x * x) + _SHIFT)
        theta = xp.arctan2((_COLUMN_SUM @ (v * x) + _SHIFT) / norm, c2)  # ±θ, with x's sign
    r = (theta / norm * x).T
    return r if r.shape[:-1] == lead else r.reshape(lead + (3,))


def _log_map_conditions(z):
    """`rotation_vector`'s choices per rotation, from the current values of z at every call.

    The log map's only comparisons, in one place: boolean arrays (no gradient flows through them),
    functions of z alone, that `where` then applies; while `ad.trace` records, boolean Tensors
    that a replay recomputes. Nothing else in the log map reads values.

    Args:
        z: (13, N) the linear quantities of `_log_map_matrix` (array or Tensor).

    Returns:
        obtuse: (1, N) θ ≥ π/2 (2 cos θ ≤ 0): the axis comes from the symmetric part.
        first, second: (1, N) the largest diagonal entry of M is M₀₀ (first), else M₁₁ (second),
        else M₂₂, compared as row j's entry j, 2 M_jj − 2 cos θ.
    """
    c2, d0, d1, d2 = z[3:4], z[4:5], z[8:9], z[12:13]
    # Comparisons of Tensors are arrays, or boolean Tensors that a replay recomputes while
    # ad.trace records (so a recorded graph picks per rotation from the new values).
    return c2 <= 0.0, (d0 >= d1) & (d0 >= d2), d1 >= d2


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
        xp = _namespace(T)
        ep = target[..., :3, 3] - T[..., :3, 3]
        er = _log_map(target[..., :3, :3] @ T[..., :3, :3].mT)
        return xp.concatenate([ep, er], axis=-1)

    return _run(T, error)
