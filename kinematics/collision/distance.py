"""Signed distances between robot primitives (spheres, capsules) and obstacle primitives, in engine ops.

Convention: d > 0 is the clearance (the length of the shortest segment joining the two shapes),
d = 0 touching, d < 0 penetration: −d is the penetration depth, the length of the shortest
translation that separates the two shapes. Equivalently, for convex A and B,
    d(A, B) = max over unit n of [min_{a ∈ A} n·a − max_{b ∈ B} n·b],
which is how the capsule–box depth is computed. Every shape is given in one frame (the robot's
world frame); a capsule is a segment a–b swept by a ball (a == b: a sphere); a box is given by its
pose (4, 4) (rigid: box frame → world, origin at the box's centre) and its FULL side lengths (3,);
a half-space obstacle is n·x ≤ offset with n unit (`shapes.HalfSpace` normalises it).

Arguments may be engine Tensors or numpy arrays (or lists, numbers). With any Tensor among them the
result is a Tensor whose gradients come from backprop through the engine's ops; with arrays only,
the same code runs on numpy (no graph, numpy's speed) and returns an array. Leading axes broadcast
(numpy's rules) between all arguments: points (..., 3), radii (...) or numbers, poses (..., 4, 4);
e.g. centres (M, 1, 3) against obstacle centres (N, 3) give (M, N).

Gradients, and where they are defined. Each distance is a minimum over the points of the shapes.
For a capsule the segment parameters of the closest points (t for a point–segment, (s, t) for two
segments, t* for a segment–box) are computed in numpy from the values and enter the graph as
constants: by the envelope theorem, d/dθ min_t f(θ, t) = ∂f/∂θ at t*, so dt*/dθ does not
contribute (and its possibly huge size for nearly parallel segments never meets rounding).
Hence these three functions (`sphere_capsule`, `capsule_capsule`, `capsule_box`, and so
`signed_distance` whenever a capsule is on either side) cannot be recorded by `ad.trace` (a replay
would reuse the recorded parameters): they raise TypeError while a trace records one of their
inputs. The others (spheres against spheres, boxes, half-spaces and point clouds; capsules against
half-spaces) are pure engine expressions and trace.

Where a distance is not differentiable (coincident centres, a sphere centre on a box edge or at a
box's centre, exactly parallel overlapping segments), the gradient returned is finite and one of
the one-sided gradients or a convex combination of them (a valid subgradient), never NaN:
- ‖v‖ at v = 0 is given the gradient e_x (a unit subgradient, so a solver pushes the shapes apart);
- |x| at x = 0 is given the gradient +1 (box coordinates, so the centre of a box has a nonzero one);
- max over box faces at ties splits equally (the engine's `max`), e.g. ½(n_1 + n_2) on an edge;
- every branch of a `where` gets safe inputs (`where` on inputs), so no 0/0 is evaluated even in
  the unused branch.

Glossary: c centre, r radius, a/b segment ends, d = b − a, t segment parameter, h half side lengths,
u a point in the box's frame, q = |u| − h, n a unit normal.
"""

from __future__ import annotations

import numpy as np

import autodiff as ad
from autodiff import tensor as _tensor

from .shapes import Box, Capsule, HalfSpace, PointCloud, Shape, Sphere

__all__ = [
    "sphere_sphere", "sphere_capsule", "capsule_capsule", "sphere_box", "capsule_box",
    "sphere_halfspace", "capsule_halfspace", "signed_distance", "closest_parameters",
    "segment_box_parameter",
]

SHORT_SQUARED = 1e-24    # |d|² below this (a segment under 1e-12 m): treated as its point a
PARALLEL_SIN2 = 1e-14    # sin² of the angle between two segments below this: treated as parallel
SLIVER_SIN2 = 1e-20      # sin² of the angle between a segment and a box edge below this: no cross face
BISECTIONS = 60          # halvings of [0, 1] for a segment–box parameter: below float64 resolution


# -- the shared vocabulary ---------------------------------------------------------------------

def _xp(*args):
    """The engine when any argument is a Tensor (gradients), else numpy (plain arrays, no graph)."""
    return ad if any(isinstance(x, ad.Tensor) for x in args) else np


def _in(x):
    """A Tensor as it is; anything else as a float64 array."""
    return x if isinstance(x, ad.Tensor) else np.asarray(x, dtype=np.float64)


def _val(x) -> np.ndarray:
    return x.data if isinstance(x, ad.Tensor) else x


def _refuse_trace(name, *args):
    """Parameters computed outside the graph would be frozen by `ad.trace`: say so instead."""
    tape = _tensor._tape
    if tape is not None and any(isinstance(x, ad.Tensor) and tape.traces(x) for x in args):
        raise TypeError(f"{name}: the closest points' segment parameters are computed outside the graph "
                        "(envelope theorem), so ad.trace cannot record it; call it without ad.trace")


def _dot(xp, u, v):
    """Σ u_i v_i over the last axis: (..., 3), (..., 3) -> (...) (numpy: einsum, ~8x np.sum's speed on (N, 3))."""
    return _inner(u, v) if xp is np else xp.sum(u * v, axis=-1)


def _inner(u, v):
    """Σ u_i v_i over the last axis of numpy arrays, broadcasting."""
    return np.einsum("...i,...i->...", u, v)


def _norm(xp, v, fallback=None):
    """‖v‖ over the last axis (..., 3) -> (...), with gradient v / ‖v‖; at v = 0 the value 0 and gradient `fallback`.

    sqrt's input is guarded (1 where v = 0), so its VJP 1 / (2 √s) is never 1/0 in either branch.
    At v = 0 the value is fallback·v (= 0), so the gradient there is the unit vector `fallback`
    ((..., 3) array; None: e_x), which the callers choose normal to the shapes' common directions:
    a subgradient of the distance, never zero.
    """
    s = _dot(xp, v, v)
    nonzero = s > 0
    at_zero = v[..., 0] if fallback is None else _dot(xp, v, fallback)
    return xp.where(nonzero, xp.sqrt(xp.where(nonzero, s, 1.0)), at_zero)


_NEXT, _AFTER = np.array([1, 2, 0]), np.array([2, 0, 1])


def cross(u, v):
    """u × v over the last axis of numpy arrays (..., 3), broadcasting: (u × v)_i = u_{i+1} v_{i+2} − u_{i+2} v_{i+1}.

    np.cross computes the same with several times the call overhead, which dominates for the few
    rows of one IK target.
    """
    return u[..., _NEXT] * v[..., _AFTER] - u[..., _AFTER] * v[..., _NEXT]


def _fallback(v, directions):
    """The gradient direction for ‖v‖ at v = 0 (`_norm`): where some v vanishes, a unit normal to the
    arrays that `directions()` returns, else None (then never used; it costs ~20 numpy calls)."""
    if not (_val(v) == 0).all(axis=-1).any():
        return None
    return _normal_to(*directions())


def _normal_to(d1, d2=None):
    """A unit vector (..., 3) normal to the directions d1 and d2 (numpy, no gradient).

    d1 × d2 when it is nonzero; else a vector normal to the longer of them (its cross product with
    the axis it is least aligned with); e_x when both vanish. At zero distance between a point (or
    a segment) and a segment, such a vector is a direction along which the distance grows at unit
    rate both ways, so it is a valid subgradient; e_x along a segment would not be.
    """
    d2 = np.zeros_like(d1) if d2 is None else d2
    d1, d2 = np.broadcast_arrays(d1, d2)
    c = cross(d1, d2)
    longer = np.where((np.sum(d1 * d1, -1) >= np.sum(d2 * d2, -1))[..., None], d1, d2)
    axis = np.eye(3)[np.argmin(np.abs(longer), axis=-1)]
    c = np.where((np.abs(c).max(-1) > 0)[..., None], c, cross(longer, axis))
    c = np.where((np.abs(c).max(-1) > 0)[..., None], c, np.array([1.0, 0.0, 0.0]))
    scale = np.abs(c).max(-1, keepdims=True)
    c = c / scale  # scaled first: tiny directions do not underflow
    return c / np.linalg.norm(c, axis=-1, keepdims=True)


def _abs(xp, x):
    """|x| with gradient +1 at x = 0 (a valid subgradient that is never zero)."""
    return xp.where(x >= 0, x, -x)


# -- spheres -----------------------------------------------------------------------------------

def sphere_sphere(center, radius, other_center, other_radius):
    """Signed distance between two spheres: |c₁ − c₂| − r₁ − r₂.

    Args:
        center: (..., 3) centres of the first spheres.
        radius: (...) or a number, their radii (>= 0).
        other_center: (..., 3) centres of the second spheres.
        other_radius: (...) or a number.

    Returns:
        (...) signed distances (the broadcast of all arguments' leading axes). Coincident centres:
        −(r₁ + r₂), with the centre gradient ±e_x.

    Example:
        >>> float(sphere_sphere([0, 0, 0], 0.5, [3, 4, 0], 1.0))
        3.5
    """
    c1, r1, c2, r2 = map(_in, (center, radius, other_center, other_radius))
    xp = _xp(c1, r1, c2, r2)
    return _norm(xp, c1 - c2) - r1 - r2


def _segment_point_parameter(a, d, p):
    """t in [0, 1] of the point of a + t d closest to p (numpy; 0 for a segment shorter than 1e-12).

    Args: a, d, p: (..., 3) arrays (broadcasting). Returns: (...) array.
    """
    dd = _inner(d, d)
    long = dd > SHORT_SQUARED
    t = _inner(p - a, d) / np.where(long, dd, 1.0)
    return np.where(long, np.clip(t, 0.0, 1.0), 0.0)


def sphere_capsule(center, radius, a, b, capsule_radius):
    """Signed distance between spheres and capsules: |c − (a + t*(b − a))| − r − r_c.

    t* = clip((c − a)·d / |d|², 0, 1), d = b − a, is computed outside the graph (envelope theorem,
    see the module docstring); a == b gives a sphere at a.

    Args:
        center: (..., 3) sphere centres.
        radius: (...) or a number, sphere radii.
        a, b: (..., 3) the capsules' segment ends.
        capsule_radius: (...) or a number.

    Returns:
        (...) signed distances.

    Example:
        >>> float(sphere_capsule([0, 2, 0], 0.5, [-1, 0, 0], [1, 0, 0], 0.5))
        1.0
    """
    c, r, a, b, rc = map(_in, (center, radius, a, b, capsule_radius))
    _refuse_trace("sphere_capsule", c, r, a, b, rc)
    xp = _xp(c, r, a, b, rc)
    d = b - a
    t = _segment_point_parameter(_val(a), _val(d), _val(c))[..., None]
    v = c - (a + t * d)
    return _norm(xp, v, _fallback(v, lambda: (_val(d),))) - r - rc


# -- two segments ------------------------------------------------------------------------------

def closest_parameters(a1, b1, a2, b2):
    """(s, t) in [0, 1]² of the closest points a1 + s d1 and a2 + t d2 of two segments (numpy).

    The squared distance f(s, t) = |r + s d1 − t d2|² (r = a1 − a2) is a convex quadratic on the
    square, so its minimum is the lines' closest pair when that lies inside, or else on an edge of
    the square, where it is a point–segment problem. Five candidates are formed: the clamp-based
    solution of the 2×2 normal equations (as in Ericson, Real-Time Collision Detection §5.1.9: s
    from the lines, clamped; t for it, clamped; s again for a clamped t) and the four edges s = 0,
    s = 1, t = 0, t = 1, each with the other parameter optimal and clamped; the one with the smallest
    f wins. So nearly parallel segments, whose normal equations are ill-conditioned, still get the
    best edge pair (to rounding), and exactly parallel ones (sin² of the angle below PARALLEL_SIN2:
    the lines' solution is skipped) get one pair of the continuum of closest pairs. A segment shorter
    than 1e-12 m is its point a. Every division has a guarded denominator: nothing is 0/0.

    Args:
        a1, b1, a2, b2: (..., 3) arrays (broadcasting).

    Returns:
        (s, t): two (...) arrays.
    """
    a1, b1, a2, b2 = np.broadcast_arrays(a1, b1, a2, b2)
    d1, d2, r = b1 - a1, b2 - a2, a1 - a2
    A, E, B = np.sum(d1 * d1, -1), np.sum(d2 * d2, -1), np.sum(d1 * d2, -1)
    C, F = np.sum(d1 * r, -1), np.sum(d2 * r, -1)
    long1, long2 = A > SHORT_SQUARED, E > SHORT_SQUARED
    A1, E1 = np.where(long1, A, 1.0), np.where(long2, E, 1.0)

    def s_for(t):  # the best s for a given t on segment 2: minimise |r + s d1 − t d2|²
        return np.clip((B * t - C) / A1, 0.0, 1.0)

    def t_for(s):
        return np.clip((B * s + F) / E1, 0.0, 1.0)

    denom = A * E - B * B  # = A E sin² >= 0 (up to rounding)
    crossing = denom > PARALLEL_SIN2 * A * E
    s = np.where(crossing, np.clip((B * F - C * E) / np.where(crossing, denom, 1.0), 0.0, 1.0), 0.0)
    t = (B * s + F) / E1
    s = np.where(t < 0, s_for(0.0), np.where(t > 1, s_for(1.0), s))
    t = np.clip(t, 0.0, 1.0)
    zeros, ones = np.zeros_like(A), np.ones_like(A)
    S = np.stack([s, zeros, ones, s_for(0.0), s_for(1.0)], axis=-1)  # (..., 5)
    T = np.stack([t, t_for(0.0), t_for(1.0), zeros, ones], axis=-1)
    S = np.where(long1[..., None], S, 0.0)  # a point: s = 0 (and t optimal for it: the t_for(0) column)
    T = np.where(long2[..., None], T, 0.0)
    gap = r[..., None, :] + S[..., None] * d1[..., None, :] - T[..., None] * d2[..., None, :]
    best = np.argmin(np.sum(gap * gap, axis=-1), axis=-1)[..., None]
    return np.take_along_axis(S, best, -1)[..., 0], np.take_along_axis(T, best, -1)[..., 0]


def capsule_capsule(a, b, radius, other_a, other_b, other_radius):
    """Signed distance between two capsules: the closest points of their segments, minus both radii.

    (s, t) come from `closest_parameters` outside the graph (envelope theorem): parallel and
    zero-length segments give finite values and gradients.

    Args:
        a, b: (..., 3) the first capsules' segment ends.
        radius: (...) or a number.
        other_a, other_b: (..., 3) the second capsules' segment ends.
        other_radius: (...) or a number.

    Returns:
        (...) signed distances.

    Example:
        >>> float(capsule_capsule([0, 0, 0], [1, 0, 0], 0.1, [0.5, -1, 1], [0.5, 1, 1], 0.2))
        0.7
    """
    a1, b1, r1, a2, b2, r2 = map(_in, (a, b, radius, other_a, other_b, other_radius))
    _refuse_trace("capsule_capsule", a1, b1, r1, a2, b2, r2)
    xp = _xp(a1, b1, r1, a2, b2, r2)
    s, t = closest_parameters(*(_val(x) for x in (a1, b1, a2, b2)))
    p1 = a1 + s[..., None] * (b1 - a1)
    p2 = a2 + t[..., None] * (b2 - a2)
    v = p1 - p2
    return _norm(xp, v, _fallback(v, lambda: (_val(b1) - _val(a1), _val(b2) - _val(a2)))) - r1 - r2


# -- boxes -------------------------------------------------------------------------------------

def _box_frame(xp, x, pose):
    """Points x (..., 3) in the box's frame: Rᵀ (x − p), with pose (..., 4, 4) = [R p; 0 1]."""
    R, p = pose[..., :3, :3], pose[..., :3, 3]
    return xp.sum((x - p)[..., :, None] * R, axis=-2)  # u_j = Σ_i (x − p)_i R_ij


def _box_sdf(xp, u, h):
    """Signed distance of points u (..., 3) in a box's frame to the box of half sides h (..., 3).

    With q = |u| − h and m = max_i q_i: outside (m > 0) it is ‖max(q, 0)‖, written m ‖max(q, 0) / m‖
    so that sqrt's argument is >= 1; inside or on the surface it is m (minus the depth: the distance
    to the nearest face plane), whose gradient is that face's normal.
    """
    q = _abs(xp, u) - h
    m = xp.max(q, axis=-1)
    outside = m > 0
    m1 = xp.where(outside, m, 1.0)
    v = xp.maximum(q, 0.0) / m1[..., None]
    outer = m1 * xp.sqrt(xp.where(outside, _dot(xp, v, v), 1.0))
    return xp.where(outside, outer, m)


def sphere_box(center, radius, pose, size):
    """Signed distance between spheres and boxes: the box's signed distance function at c, minus r.

    Inside the box it is minus the depth of c (the distance to the nearest face) minus r, with the
    gradient of that face's normal: never the zero gradient of an unsigned distance.

    Args:
        center: (..., 3) sphere centres.
        radius: (...) or a number.
        pose: (..., 4, 4) rigid box poses (box frame → world, origin at the centre).
        size: (..., 3) full side lengths (> 0).

    Returns:
        (...) signed distances.

    Example:
        >>> float(sphere_box([0, 0, 2], 0.5, np.eye(4), [2, 2, 2]))
        0.5
    """
    c, r, pose, size = map(_in, (center, radius, pose, size))
    xp = _xp(c, r, pose, size)
    return _box_sdf(xp, _box_frame(xp, c, pose), 0.5 * size) - r


def segment_box_parameter(a, b, h):
    """t* in [0, 1] minimising the box's outside distance along a segment, in the box's frame (numpy).

    φ(t) = ½ Σ_i max(|u_i(t)| − h_i, 0)², u(t) = a + t (b − a), is convex and C¹; its derivative
    φ'(t) = Σ_i max(|u_i| − h_i, 0) sign(u_i) d_i is nondecreasing, so t* is 0 where φ'(0) >= 0,
    1 where φ'(1) <= 0, and otherwise the root of φ' found by BISECTIONS halvings of [0, 1]
    (t* to float64 resolution). Only meaningful for a segment that misses the box (elsewhere φ = 0).

    Args:
        a, b: (..., 3) segment ends in the box's frame.
        h: (..., 3) half side lengths.

    Returns:
        (...) array.
    """
    d = b - a

    def slope(t):
        u = a + t[..., None] * d
        return np.sum(np.maximum(np.abs(u) - h, 0.0) * np.sign(u) * d, axis=-1)

    shape = np.broadcast_shapes(a.shape, b.shape, h.shape)[:-1]
    lo, hi = np.zeros(shape), np.ones(shape)
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        rising = slope(mid) > 0
        hi, lo = np.where(rising, mid, hi), np.where(rising, lo, mid)
    t = 0.5 * (lo + hi)
    return np.where(slope(np.zeros(shape)) >= 0, 0.0, np.where(slope(np.ones(shape)) <= 0, 1.0, t))


def _segment_box_gap(xp, ua, ub, h):
    """max over the separating-axis candidates n of [min over the segment of n·u − max over the box of n·u].

    The Minkowski difference of a box and a segment is a zonotope whose face normals are the box's
    axes e_k and the cross products e_k × d; the maximum over them is the signed distance when the
    two meet (−depth) and a lower bound of the clearance when they do not (so its sign decides).
    Along e_k × d every point of the segment has the same projection, so that gap is |n·a| − Σ|n_i| h_i.
    A cross product that (nearly) vanishes, d along e_k, is no face: it is left out (−inf).
    """
    # n = ±e_k: max(min(ua, ub) − h, −max(ua, ub) − h) = |m| − e − h, m the segment's midpoint and
    # e its half extent along e_k; written so, a segment centred on the box gets |m|'s gradient +1
    # (a nonzero subgradient) instead of the two faces' opposite normals cancelling.
    faces = _abs(xp, 0.5 * (ua + ub)) - _abs(xp, 0.5 * (ub - ua)) - h  # (..., 3)
    d = ub - ua
    d0, d1, d2 = d[..., 0], d[..., 1], d[..., 2]
    zero = d0 * 0.0
    crosses = xp.stack([xp.stack([zero, -d2, d1], axis=-1),   # e_x × d
                        xp.stack([d2, zero, -d0], axis=-1),   # e_y × d
                        xp.stack([-d1, d0, zero], axis=-1)],  # e_z × d
                       axis=-2)                               # (..., 3, 3): row k = e_k × d
    c2 = xp.sum(crosses * crosses, axis=-1)  # (..., 3) = |d|² sin² of d's angle to e_k
    face = c2 > SLIVER_SIN2 * _dot(xp, d, d)[..., None]
    face = face & (_dot(xp, d, d) > SHORT_SQUARED)[..., None]
    n = crosses / xp.sqrt(xp.where(face, c2, 1.0))[..., None]
    gaps = _abs(xp, xp.sum(n * ua[..., None, :], axis=-1)) - xp.sum(_abs(xp, n) * h[..., None, :], axis=-1)
    gaps = xp.where(face, gaps, -np.inf)
    return xp.max(xp.concatenate([faces, gaps], axis=-1), axis=-1)


def capsule_box(a, b, radius, pose, size):
    """Signed distance between capsules and boxes.

    Apart: min over t of the box's distance at a + t(b − a), minus r, with t* from
    `segment_box_parameter` (numpy; envelope theorem: dt*/dθ does not contribute). Meeting: minus
    the translational penetration depth, from the separating-axis gaps (`_segment_box_gap`), minus
    r. Both are exact; the two meet at 0 when the segment touches the box.

    Args:
        a, b: (..., 3) segment ends.
        radius: (...) or a number.
        pose: (..., 4, 4) rigid box poses.
        size: (..., 3) full side lengths.

    Returns:
        (...) signed distances.

    Example:
        >>> float(capsule_box([-5, 0, 2], [5, 0, 2], 0.25, np.eye(4), [2, 2, 2]))
        0.75
    """
    a, b, r, pose, size = map(_in, (a, b, radius, pose, size))
    _refuse_trace("capsule_box", a, b, r, pose, size)
    xp = _xp(a, b, r, pose, size)
    h = 0.5 * size
    ua, ub = _box_frame(xp, a, pose), _box_frame(xp, b, pose)
    t = segment_box_parameter(_val(ua), _val(ub), np.asarray(_val(h)))
    apart = _box_sdf(xp, ua + t[..., None] * (ub - ua), h)
    gap = _segment_box_gap(xp, ua, ub, h)
    return xp.where(gap > 0, apart, gap) - r


# -- half-spaces -------------------------------------------------------------------------------

def sphere_halfspace(center, radius, normal, offset):
    """Signed distance between spheres and the half-space obstacles n·x <= offset: n·c − offset − r.

    Args:
        center: (..., 3) sphere centres.
        radius: (...) or a number.
        normal: (..., 3) UNIT normals (pointing out of the obstacle).
        offset: (...) or a number.

    Returns:
        (...) signed distances.

    Example:
        >>> float(sphere_halfspace([0, 0, 1], 0.25, [0, 0, 1], 0.5))
        0.25
    """
    c, r, n, o = map(_in, (center, radius, normal, offset))
    xp = _xp(c, r, n, o)
    return _dot(xp, n, c) - o - r


def capsule_halfspace(a, b, radius, normal, offset):
    """Signed distance between capsules and half-spaces n·x <= offset: min(n·a, n·b) − offset − r.

    Args:
        a, b: (..., 3) segment ends.
        radius: (...) or a number.
        normal: (..., 3) UNIT normals.
        offset: (...) or a number.

    Returns:
        (...) signed distances (at n·a = n·b the min splits its gradient equally between a and b).

    Example:
        >>> float(capsule_halfspace([0, 0, 1], [0, 0, 3], 0.25, [0, 0, 1], 0.5))
        0.25
    """
    a, b, r, n, o = map(_in, (a, b, radius, normal, offset))
    xp = _xp(a, b, r, n, o)
    return xp.minimum(_dot(xp, n, a), _dot(xp, n, b)) - o - r


# -- dispatch ----------------------------------------------------------------------------------

def signed_distance(obstacle, a, b=None, radius=0.0):
    """Signed distance from robot spheres (b None: centres a) or capsules (segments a–b) to an obstacle.

    Args:
        obstacle: a `Sphere`, `Capsule`, `Box`, `HalfSpace` or `PointCloud` (world frame).
        a: (..., 3) sphere centres, or the capsules' first segment ends (Tensor or array).
        b: None for spheres, else (..., 3) the capsules' second ends.
        radius: (...) or a number, the robot primitives' radii.

    Returns:
        (...) signed distances for one obstacle; (..., N) for a PointCloud of N points (the point
        axis last), each point a ball of the cloud's radius.

    Raises:
        TypeError: the obstacle is not one of the shapes.
    """
    if not isinstance(obstacle, Shape):
        raise TypeError(f"signed_distance: obstacle must be a Sphere, Capsule, Box, HalfSpace or PointCloud, "
                        f"got {type(obstacle).__name__}")
    sphere = b is None
    if isinstance(obstacle, Sphere):
        if sphere:
            return sphere_sphere(a, radius, obstacle.center, obstacle.radius)
        return sphere_capsule(obstacle.center, obstacle.radius, a, b, radius)
    if isinstance(obstacle, Capsule):
        if sphere:
            return sphere_capsule(a, radius, obstacle.a, obstacle.b, obstacle.radius)
        return capsule_capsule(a, b, radius, obstacle.a, obstacle.b, obstacle.radius)
    if isinstance(obstacle, Box):
        if sphere:
            return sphere_box(a, radius, obstacle.pose, obstacle.size)
        return capsule_box(a, b, radius, obstacle.pose, obstacle.size)
    if isinstance(obstacle, HalfSpace):
        if sphere:
            return sphere_halfspace(a, radius, obstacle.normal, obstacle.offset)
        return capsule_halfspace(a, b, radius, obstacle.normal, obstacle.offset)
    assert isinstance(obstacle, PointCloud)  # the last Shape: the robot's leading axes, then the point axis
    a = _in(a)
    radius = _in(radius)
    r = radius[..., None] if radius.ndim else radius
    if sphere:
        return sphere_sphere(a[..., None, :], r, obstacle.points, obstacle.radius)
    b = _in(b)
    return sphere_capsule(obstacle.points, obstacle.radius, a[..., None, :], b[..., None, :], r)
