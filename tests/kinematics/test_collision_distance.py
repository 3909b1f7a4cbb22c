"""Collision shapes and signed distances (kinematics.collision): values, gradients, edge cases, bad input.

Oracles: coal (the maintained FCL fork: GJK/EPA and its specialised primitive routines, an
independent implementation) for the signed distance of every primitive pair, penetrating cases
included, to 1e-9; central finite differences in float64 (`ad.check_grads`) for every gradient with
respect to every continuous input; and, at the points where a distance is not differentiable,
convexity: the signed distance between convex shapes is a convex function of the translation of
one of them, so a valid subgradient g must satisfy d(x + δ) >= d(x) + g·δ for every δ.

coal settings: its GJK / EPA tolerances are tightened to 1e-14 (defaults ~1e-6 and 1e-6) with 1000
iterations, as the issue asks; on these primitive pairs coal 3.0.3 agreed to ~1e-15 with its
defaults too (measured while writing this test).
"""

import doctest

import coal
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import autodiff as ad
import kinematics as kin
from kinematics import collision
from kinematics.collision import distance as D
from kinematics.collision import shapes

TOL = 1e-9
COAL_TOLERANCE = 1e-14


# -- coal, the oracle --------------------------------------------------------------------------

def _coal_distance(g1, T1, g2, T2):
    request = coal.DistanceRequest()
    request.gjk_tolerance = request.epa_tolerance = COAL_TOLERANCE
    request.gjk_max_iterations = request.epa_max_iterations = 1000
    request.enable_signed_distance = True
    return coal.distance(g1, T1, g2, T2, request, coal.DistanceResult())


def _rotation_z_to(u):
    """A rotation taking e_z to the unit vector u (Rodrigues), for coal's z-aligned capsules."""
    z = np.array([0.0, 0.0, 1.0])
    v, c = np.cross(z, u), float(z @ u)
    s = np.linalg.norm(v)
    if s < 1e-15:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + K + K @ K * ((1 - c) / s**2)


def coal_sphere(c, r):
    return coal.Sphere(float(r)), coal.Transform3s(np.eye(3), np.asarray(c, float))


def coal_capsule(a, b, r):
    a, b = np.asarray(a, float), np.asarray(b, float)
    length = np.linalg.norm(b - a)
    R = _rotation_z_to((b - a) / length) if length > 0 else np.eye(3)
    return coal.Capsule(float(r), float(length)), coal.Transform3s(R, (a + b) / 2)


def coal_box(pose, size):
    return coal.Box(*map(float, size)), coal.Transform3s(pose[:3, :3].copy(), pose[:3, 3].copy())


def coal_halfspace(n, offset):
    return coal.Halfspace(np.asarray(n, float), float(offset)), coal.Transform3s()


# -- the pair table: sampler, our function, coal's geometries ---------------------------------------

def _poses(rng, n):
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, :3] = Rotation.random(n, random_state=int(rng.integers(2**31))).as_matrix()
    T[:, :3, 3] = rng.normal(size=(n, 3)) * 0.3
    return T


def _units(rng, n):
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _points(rng, n):
    return rng.normal(size=(n, 3)) * 0.4


def _sizes(rng, n):
    return rng.uniform(0.2, 1.5, (n, 3))


def _radii(rng, n):
    return rng.uniform(0.05, 0.45, n)


# name: (sampler rng, n -> params with leading axis n; function; params_i -> the two coal geometries;
#        how many of the params are the robot primitive's points: 1 sphere centre, 2 capsule ends)
PAIRS = {
    "sphere-sphere": (lambda g, n: (_points(g, n), _radii(g, n), _points(g, n), _radii(g, n)),
                      D.sphere_sphere, lambda c, r, c2, r2: coal_sphere(c, r) + coal_sphere(c2, r2), 1),
    "sphere-capsule": (lambda g, n: (_points(g, n), _radii(g, n), _points(g, n), _points(g, n), _radii(g, n)),
                       D.sphere_capsule, lambda c, r, a, b, rc: coal_sphere(c, r) + coal_capsule(a, b, rc), 1),
    "capsule-capsule": (lambda g, n: (_points(g, n), _points(g, n), _radii(g, n), _points(g, n), _points(g, n),
                                      _radii(g, n)),
                        D.capsule_capsule, lambda a, b, r, a2, b2, r2: coal_capsule(a, b, r) + coal_capsule(a2, b2, r2),
                        2),
    "sphere-box": (lambda g, n: (_points(g, n), _radii(g, n), _poses(g, n), _sizes(g, n)),
                   D.sphere_box, lambda c, r, T, size: coal_sphere(c, r) + coal_box(T, size), 1),
    "capsule-box": (lambda g, n: (_points(g, n), _points(g, n), _radii(g, n), _poses(g, n), _sizes(g, n)),
                    D.capsule_box, lambda a, b, r, T, size: coal_capsule(a, b, r) + coal_box(T, size), 2),
    "sphere-halfspace": (lambda g, n: (_points(g, n), _radii(g, n), _units(g, n), g.normal(size=n) * 0.3),
                         D.sphere_halfspace, lambda c, r, n, o: coal_sphere(c, r) + coal_halfspace(n, o), 1),
    "capsule-halfspace": (lambda g, n: (_points(g, n), _points(g, n), _radii(g, n), _units(g, n),
                                        g.normal(size=n) * 0.3),
                          D.capsule_halfspace, lambda a, b, r, n, o: coal_capsule(a, b, r) + coal_halfspace(n, o), 2),
}


def coal_values(pair, params):
    """coal's signed distance for each row of the batched params."""
    to_coal = PAIRS[pair][2]
    return np.array([_coal_distance(*to_coal(*(p[i] for p in params))) for i in range(len(params[0]))])


@pytest.mark.parametrize("pair", PAIRS)
def test_agrees_with_coal_on_random_poses_penetrating_or_not(pair):
    sample, f, _, _ = PAIRS[pair]
    params = sample(np.random.default_rng(sum(map(ord, pair))), 300)
    mine = f(*params)  # one batched call
    ref = coal_values(pair, params)
    assert isinstance(mine, np.ndarray) and mine.shape == (300,)
    assert (ref < 0).sum() > 30 and (ref > 0).sum() > 30  # both penetrating and separated cases
    np.testing.assert_allclose(mine, ref, rtol=0, atol=TOL)


def test_capsule_deep_in_a_box_is_the_translational_depth_not_the_deepest_point():
    """A capsule lying diagonally inside a tall box: the depth is the shortest separating
    translation (√2 + r here, past the box's vertical edge), not the depth of its deepest
    point (1 + r), which the minimum of the box's distance over the segment would give."""
    a, b, r, size = np.array([-0.9, -0.9, 0.0]), np.array([0.9, 0.9, 0.0]), 0.05, np.array([2.0, 2.0, 10.0])
    d = D.capsule_box(a, b, r, np.eye(4), size)
    assert d == pytest.approx(-(np.sqrt(2) + r), abs=1e-12)
    assert d == pytest.approx(_coal_distance(*coal_capsule(a, b, r), *coal_box(np.eye(4), size)), abs=TOL)


# -- gradients ---------------------------------------------------------------------------------

@pytest.mark.parametrize("pair", PAIRS)
def test_gradients_match_central_differences_on_random_configurations(pair):
    sample, f, _, _ = PAIRS[pair]
    params = sample(np.random.default_rng(7 + len(pair)), 10)
    d = f(*params)
    assert (d < 0).any() and (d > 0).any()  # both branches: penetrating and apart
    ad.check_grads(f, *params, directions=6)
    for i in range(10):  # and each configuration alone: the whole Jacobian, entry by entry
        ad.check_grads(f, *(p[i] for p in params))


@pytest.mark.parametrize("pair", PAIRS)
def test_broadcasting_one_robot_primitive_and_a_batch_against_many_obstacles(pair):
    sample, f, _, k = PAIRS[pair]
    rng = np.random.default_rng(11)
    robot_count = k + 1  # the robot's points, then its radius
    robot = sample(rng, 2)[:robot_count]
    obstacles = sample(rng, 5)[robot_count:]
    one = f(*(p[0] for p in robot), *obstacles)  # (3,) against (5, 3): (5,)
    assert one.shape == (5,)
    batch = f(*(p[:, None] for p in robot), *obstacles)  # (2, 1, 3) against (5, 3): (2, 5)
    assert batch.shape == (2, 5)
    loop = np.array([[f(*(p[i] for p in robot), *(o[j] for o in obstacles)) for j in range(5)] for i in range(2)])
    np.testing.assert_allclose(batch, loop, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(one, batch[0])
    # Gradients accumulate over the broadcast axes: one primitive's gradient is the sum over obstacles.
    ad.check_grads(lambda *x: f(*x), *(p[0] for p in robot), *obstacles)
    ad.check_grads(lambda *x: f(*x), *(p[:, None] for p in robot), *obstacles, directions=6)


# -- edge cases: touching, parallel, degenerate, on a face / edge / corner, at a box's centre ---------

CUBE, SLAB, EYE = np.array([2.0, 2.0, 2.0]), np.array([2.0, 4.0, 6.0]), np.eye(4)
_TILTED = np.eye(4)
_TILTED[:3, :3] = Rotation.from_rotvec([0.3, -0.5, 0.7]).as_matrix()
_TILTED[:3, 3] = [0.2, -0.1, 0.4]
_UP = np.array([0.0, 0.0, 1.0])
X, Y, Z = np.eye(3)

EDGES = [
    # (name, pair, params)
    ("coincident centres", "sphere-sphere", (X, 0.3, X, 0.2)),
    ("touching spheres", "sphere-sphere", (X, 0.3, X + [0.5, 0, 0], 0.2)),
    ("centre on the segment", "sphere-capsule", (X * 0.5, 0.1, 0 * X, X, 0.2)),
    ("centre at the segment's end", "sphere-capsule", (X, 0.1, 0 * X, X, 0.2)),
    ("degenerate capsule", "sphere-capsule", (Y, 0.1, X, X, 0.2)),
    ("degenerate capsule at the centre", "sphere-capsule", (X, 0.1, X, X, 0.2)),
    ("touching sphere and capsule", "sphere-capsule", (0.5 * X + 0.3 * Y, 0.1, 0 * X, X, 0.2)),
    ("parallel overlapping", "capsule-capsule", (0 * X, X, 0.1, Y, Y + X, 0.2)),
    ("parallel, shifted", "capsule-capsule", (0 * X, X, 0.1, Y + 0.5 * X, Y + 1.5 * X, 0.2)),
    ("antiparallel", "capsule-capsule", (0 * X, X, 0.1, Y + X, Y + 0.2 * X, 0.2)),
    ("collinear apart", "capsule-capsule", (0 * X, X, 0.1, 2 * X, 3 * X, 0.2)),
    ("identical segments", "capsule-capsule", (0 * X, X, 0.1, 0 * X, X, 0.2)),
    ("crossing segments", "capsule-capsule", (0 * X, X, 0.1, 0.5 * X - Y, 0.5 * X + Y, 0.2)),
    ("touching capsules", "capsule-capsule", (0 * X, X, 0.1, 0.5 * X + 0.3 * Z - Y, 0.5 * X + 0.3 * Z + Y, 0.2)),
    ("one degenerate", "capsule-capsule", (Y, Y, 0.1, 0 * X, X, 0.2)),
    ("both degenerate", "capsule-capsule", (Y, Y, 0.1, X, X, 0.2)),
    ("both degenerate, coincident", "capsule-capsule", (X, X, 0.1, X, X, 0.2)),
    ("centre on a face", "sphere-box", (X, 0.1, EYE, CUBE)),
    ("centre on an edge", "sphere-box", (X + Y, 0.1, EYE, CUBE)),
    ("centre on a corner", "sphere-box", (X + Y + Z, 0.1, EYE, CUBE)),
    ("centre at a cube's centre", "sphere-box", (0 * X, 0.1, EYE, CUBE)),
    ("centre at a slab's centre", "sphere-box", (0 * X, 0.1, EYE, SLAB)),
    ("centre at a tilted box's centre", "sphere-box", (_TILTED[:3, 3], 0.1, _TILTED, SLAB)),
    ("touching a face", "sphere-box", (1.1 * X, 0.1, EYE, CUBE)),
    ("segment along an axis through the centre", "capsule-box", (-0.5 * X, 0.5 * X, 0.1, EYE, SLAB)),
    ("segment parallel to a face, outside", "capsule-box", (2 * Z - 0.5 * X, 2 * Z + 0.5 * X, 0.1, EYE, CUBE)),
    ("segment on a face", "capsule-box", (Z - 0.5 * X, Z + 0.5 * X, 0.1, EYE, CUBE)),
    ("segment along an edge", "capsule-box", (Z + Y - 0.5 * X, Z + Y + 0.5 * X, 0.1, EYE, CUBE)),
    ("segment ends on two faces", "capsule-box", (-X, X, 0.1, EYE, CUBE)),
    ("segment end on a corner", "capsule-box", (X + Y + Z, 2 * (X + Y + Z), 0.1, EYE, CUBE)),
    ("degenerate capsule at the centre", "capsule-box", (0 * X, 0 * X, 0.1, EYE, CUBE)),
    ("degenerate capsule outside", "capsule-box", (2 * X + Y, 2 * X + Y, 0.1, EYE, CUBE)),
    ("capsule touching a face", "capsule-box", (1.1 * Z - X, 1.1 * Z + X + Y, 0.1, EYE, CUBE)),
    ("diagonal through a tilted box", "capsule-box", (_TILTED[:3, 3] - (X + Y) / 2, _TILTED[:3, 3] + (X + Y) / 2,
                                                      0.1, _TILTED, SLAB)),
    ("centre on the plane", "sphere-halfspace", (X, 0.1, _UP, 0.0)),
    ("capsule parallel to the plane", "capsule-halfspace", (Z, Z + X, 0.1, _UP, 0.5)),
    ("degenerate capsule on the plane", "capsule-halfspace", (X, X, 0.1, _UP, 0.0)),
]
EDGE_IDS = [f"{pair}: {name}" for name, pair, _ in EDGES]


def _value_and_gradients(f, params):
    leaves = [ad.Tensor(np.array(p, dtype=np.float64), requires_grad=True) for p in params]
    out = f(*leaves)
    out.backward()
    return float(out.data), [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("name, pair, params", EDGES, ids=EDGE_IDS)
def test_edge_case_values_and_gradients_are_finite_and_agree_with_coal(name, pair, params):
    f = PAIRS[pair][1]
    value, grads = _value_and_gradients(f, params)
    assert np.isfinite(value)
    for g in grads:
        assert g is not None and np.isfinite(g).all()
    ref = _coal_distance(*PAIRS[pair][2](*params))
    assert value == pytest.approx(ref, abs=TOL)


@pytest.mark.parametrize("name, pair, params", EDGES, ids=EDGE_IDS)
def test_edge_case_gradient_is_a_valid_subgradient_of_the_translation(name, pair, params):
    """d is convex in a translation δ of the robot primitive: d(x + δ) >= d(x) + g·δ for every δ."""
    f, k = PAIRS[pair][1], PAIRS[pair][3]
    value, grads = _value_and_gradients(f, params)
    g = sum(grads[:k])  # the translation moves every robot point alike
    assert np.linalg.norm(g) > 0.1  # never the zero gradient of an unsigned distance (nor a halved one)
    rng = np.random.default_rng(3)
    steps = np.concatenate([np.eye(3), -np.eye(3), rng.normal(size=(40, 3))]) * 1e-3
    for delta in steps:
        moved = [p + delta if i < k else p for i, p in enumerate(params)]
        assert f(*moved) >= value + g @ delta - 1e-12, (delta, g)


@pytest.mark.parametrize("name, pair, params", EDGES, ids=EDGE_IDS)
def test_edge_case_gradient_matches_differences_a_small_offset_away(name, pair, params):
    """Off the kink by a random 1e-3 offset of every point (and normal), the gradient is the derivative.

    (At the kink itself it is not: e.g. a degenerate capsule's end moved towards the sphere brings
    the closest point along, moved away it does not, and central differences average the two.)"""
    f = PAIRS[pair][1]
    rng = np.random.default_rng(5)
    moved = [np.asarray(p, float) + rng.normal(size=3) * 1e-3 if np.shape(p) == (3,) else p for p in params]
    ad.check_grads(f, *moved, eps=1e-7)


def test_exact_gradients_at_a_face_an_edge_and_the_centre():
    """On a face the gradient is the face's normal (not half of it: the inside and outside branches
    meet there), on an edge the mean of the two normals, at a slab's centre ±e of its thinnest side."""
    _, grads = _value_and_gradients(D.sphere_box, (X, 0.1, EYE, CUBE))
    np.testing.assert_array_equal(grads[0], X)
    _, grads = _value_and_gradients(D.sphere_box, (X + Y, 0.1, EYE, CUBE))
    np.testing.assert_allclose(grads[0], (X + Y) / 2, atol=1e-15)
    _, grads = _value_and_gradients(D.sphere_box, (0 * X, 0.1, EYE, SLAB))
    np.testing.assert_array_equal(grads[0], X)  # |u| at u = 0 takes +1: a subgradient, never zero
    _, grads = _value_and_gradients(D.sphere_sphere, (X, 0.3, X, 0.2))
    np.testing.assert_array_equal(grads[0], X)


def test_no_nan_in_a_batch_of_every_edge_case_at_once():
    """The same edge cases through the dispatcher, each pair batched: values and gradients finite."""
    by_pair = {}
    for _, pair, params in EDGES:
        by_pair.setdefault(pair, []).append(params)
    for pair, rows in by_pair.items():
        f = PAIRS[pair][1]
        columns = [np.stack([np.asarray(r[i], float) for r in rows]) for i in range(len(rows[0]))]
        leaves = [ad.Tensor(c, requires_grad=True) for c in columns]
        out = f(*leaves)
        ad.sum(out).backward()
        assert np.isfinite(out.data).all(), pair
        for leaf in leaves:
            assert np.isfinite(leaf.grad).all(), pair


def _point_segment(p, a, b):
    """Distance from p to the segment ab (the test's own closed form)."""
    d = b - a
    t = np.clip((p - a) @ d / (d @ d), 0.0, 1.0)
    return np.linalg.norm(p - a - t * d)


@pytest.mark.parametrize("tilt", [1.0, -1.0], ids=["diverging", "converging"])
def test_closest_parameters_of_nearly_parallel_segments_are_the_best_pair(tilt):
    """Angles down to 1e-12 rad: the ill-conditioned normal equations never cost accuracy.

    Oracle: these lines' closest pair lies far outside both segments, so the segments' closest
    pair has an end on the boundary: the minimum of the four end-to-segment distances. Converging
    segments are closest at their far ends, which a solver that treats them as parallel and starts
    from s = 0 misses by about 0.48 × the angle here. coal's capsule–capsule routine does that for
    angles of about 1e-7 and below (measured: 4.8e-8 too far at 1e-7, 4.8e-9 at 1e-8), so coal is
    the oracle only down to 1e-6 rad."""
    for angle in (1e-3, 1e-6, 1e-7, 1e-8, 1e-10, 1e-12, 0.0):
        a, b = np.zeros(3), np.array([1.0, 0.0, 0.0])
        a2 = np.array([0.2, 0.5, 0.0])
        b2 = a2 + np.array([np.cos(angle), tilt * np.sin(angle) * 0.6, np.sin(angle) * 0.8])
        d = D.capsule_capsule(a, b, 0.1, a2, b2, 0.1)
        ends = min(_point_segment(a, a2, b2), _point_segment(b, a2, b2), _point_segment(a2, a, b),
                   _point_segment(b2, a, b))
        assert d == pytest.approx(ends - 0.2, abs=1e-15), angle
        if angle >= 1e-6 or angle == 0.0:
            ref = _coal_distance(*coal_capsule(a, b, 0.1), *coal_capsule(a2, b2, 0.1))
            assert d == pytest.approx(ref, abs=TOL), angle


# -- the dispatcher, point clouds, engine and numpy paths -----------------------------------------

def test_signed_distance_dispatches_on_every_obstacle():
    rng = np.random.default_rng(2)
    c, a, b, r = _points(rng, 4), _points(rng, 4), _points(rng, 4), _radii(rng, 4)
    T = _poses(rng, 1)[0]
    obstacles = [kin.Sphere([0.1, 0.2, 0.3], 0.2), kin.Capsule([0, 0, 0], [0.5, 0.1, 0], 0.1),
                 kin.Box(T, [0.4, 0.5, 0.6]), kin.HalfSpace([0, 0, 2.0], 0.4)]
    expected = [
        (D.sphere_sphere(c, r, obstacles[0].center, 0.2), D.sphere_capsule(obstacles[0].center, 0.2, a, b, r)),
        (D.sphere_capsule(c, r, obstacles[1].a, obstacles[1].b, 0.1),
         D.capsule_capsule(a, b, r, obstacles[1].a, obstacles[1].b, 0.1)),
        (D.sphere_box(c, r, T, [0.4, 0.5, 0.6]), D.capsule_box(a, b, r, T, [0.4, 0.5, 0.6])),
        (D.sphere_halfspace(c, r, _UP, 0.2), D.capsule_halfspace(a, b, r, _UP, 0.2)),
    ]
    for obstacle, (sphere, capsule) in zip(obstacles, expected):
        np.testing.assert_array_equal(collision.signed_distance(obstacle, c, radius=r), sphere)
        np.testing.assert_array_equal(collision.signed_distance(obstacle, a, b, r), capsule)
    with pytest.raises(TypeError, match="obstacle must be a Sphere"):
        collision.signed_distance("table", c)


def test_point_cloud_against_capsules_agrees_with_coal_and_puts_the_point_axis_last():
    rng = np.random.default_rng(4)
    cloud = kin.PointCloud(_points(rng, 30), 0.02)
    a, b, r = _points(rng, 6), _points(rng, 6), _radii(rng, 6)
    d = collision.signed_distance(cloud, a, b, r)
    assert d.shape == (6, 30)
    ref = np.array([[_coal_distance(*coal_capsule(a[i], b[i], r[i]), *coal_sphere(p, 0.02)) for p in cloud.points]
                    for i in range(6)])
    assert (ref < 0).any() and (ref > 0).any()
    np.testing.assert_allclose(d, ref, rtol=0, atol=TOL)
    spheres = collision.signed_distance(cloud, a, radius=r)
    np.testing.assert_allclose(spheres, np.linalg.norm(a[:, None] - cloud.points, axis=-1) - r[:, None] - 0.02,
                               rtol=0, atol=1e-15)
    ad.check_grads(lambda a, b, r: collision.signed_distance(cloud, a, b, r), a[:2], b[:2], r[:2])
    ad.check_grads(lambda c, r: collision.signed_distance(cloud, c, radius=r), a[:2], r[:2])


@pytest.mark.parametrize("pair", PAIRS)
def test_tensors_and_arrays_give_the_same_numbers(pair):
    sample, f, _, _ = PAIRS[pair]
    params = sample(np.random.default_rng(9), 8)
    as_arrays = f(*params)
    as_tensors = f(*(ad.Tensor(p, requires_grad=True) for p in params))
    assert isinstance(as_arrays, np.ndarray) and isinstance(as_tensors, ad.Tensor)
    np.testing.assert_allclose(as_arrays, as_tensors.data, rtol=0, atol=1e-15)  # numpy sums with einsum


def test_trace_replays_the_closed_forms_and_refuses_the_segment_searches():
    rng = np.random.default_rng(6)
    T, size = _poses(rng, 1)[0], np.array([0.4, 0.5, 0.6])
    c0, c1 = _points(rng, 5), _points(rng, 5)
    traced = ad.trace(lambda c: ad.sum(D.sphere_box(c, 0.1, T, size)), c0)
    assert float(traced(c1)) == pytest.approx(float(np.sum(D.sphere_box(c1, 0.1, T, size))), abs=1e-14)
    leaf = ad.Tensor(c1, requires_grad=True)
    ad.sum(D.sphere_box(leaf, 0.1, T, size)).backward()
    np.testing.assert_allclose(traced.backward(1.0), leaf.grad, rtol=0, atol=1e-15)
    with pytest.raises(TypeError, match="capsule_box: .* ad.trace"):
        ad.trace(lambda a: ad.sum(D.capsule_box(a, a + 0.1, 0.1, T, size)), c0)
    with pytest.raises(TypeError, match="capsule_capsule"):
        ad.trace(lambda a: ad.sum(D.capsule_capsule(a, a + 0.1, 0.1, c1, c1 + 0.1, 0.1)), c0)


def test_docstring_examples_run():
    for module in (D, shapes):
        failures, _ = doctest.testmod(module, extraglobs={"np": np})
        assert failures == 0


# -- shapes: validation and conventions -----------------------------------------------------------

_SKEW = np.eye(4)
_SKEW[0, 1] = 0.1
_MIRROR = np.diag([1.0, 1.0, -1.0, 1.0])
_BOTTOM = np.eye(4)
_BOTTOM[3, 0] = 0.5

BAD = [
    (kin.Sphere, ([0, 0], 1.0), "Sphere: center must have shape \\(3,\\)"),
    (kin.Sphere, ([0, 0, np.nan], 1.0), "Sphere: center contains NaN"),
    (kin.Sphere, ([0, 0, 0], -1.0), "Sphere: radius must be non-negative"),
    (kin.Sphere, ([0, 0, 0], np.inf), "Sphere: radius must be finite"),
    (kin.Sphere, ([0, 0, 0], "big"), "Sphere: radius must be a number"),
    (kin.Capsule, ([0, 0, 0], [1, 1], 0.1), "Capsule: b must have shape"),
    (kin.Capsule, ([0, 0, np.inf], [1, 1, 1], 0.1), "Capsule: a contains NaN or infinite"),
    (kin.Capsule, ([0, 0, 0], [1, 1, 1], -0.1), "Capsule: radius must be non-negative"),
    (kin.Box, (np.eye(3), [1, 1, 1]), "Box: pose must have shape \\(4, 4\\)"),
    (kin.Box, (_SKEW, [1, 1, 1]), "Box: pose must be a rigid transform"),
    (kin.Box, (_MIRROR, [1, 1, 1]), "Box: pose must be a rigid transform"),
    (kin.Box, (_BOTTOM, [1, 1, 1]), "Box: pose must be a rigid transform"),
    (kin.Box, (np.eye(4), [1, 0, 1]), "Box: size must be three positive"),
    (kin.Box, (np.eye(4), [1, -1, 1]), "Box: size must be three positive"),
    (kin.Box, (np.eye(4), [1, 1]), "Box: size must have shape"),
    (kin.HalfSpace, ([0, 0, 0], 1.0), "HalfSpace: normal must be a nonzero"),
    (kin.HalfSpace, ([0, 0, 1], np.nan), "HalfSpace: offset must be a finite"),
    (kin.HalfSpace, ([0, 0, 1e-300], 1e300), "HalfSpace: offset / \\|normal\\| overflows"),
    (kin.PointCloud, (np.zeros((0, 3)), 0.1), "PointCloud: points must hold at least one"),
    (kin.PointCloud, (np.zeros((4, 2)), 0.1), "PointCloud: points must have shape \\(N, 3\\)"),
    (kin.PointCloud, (np.zeros((4, 3)), -0.1), "PointCloud: radius must be non-negative"),
]


@pytest.mark.parametrize("cls, args, message", BAD, ids=[m.split(":")[0] + " " + str(i) for i, (_, _, m) in
                                                          enumerate(BAD)])
def test_bad_shapes_raise_naming_the_field(cls, args, message):
    with pytest.raises(ValueError, match=message):
        cls(*args)


def test_shapes_are_frozen_read_only_and_exported():
    s = kin.Sphere([1, 2, 3], 0.5)
    with pytest.raises(AttributeError):
        s.radius = 1.0
    with pytest.raises(ValueError):
        s.center[0] = 5.0
    assert kin.Sphere is collision.Sphere is shapes.Sphere
    for name in ("Sphere", "Capsule", "Box", "HalfSpace", "PointCloud"):
        assert name in kin.__all__ and name in collision.__all__
    capsule = kin.Capsule([0, 0, 0], [0, 0, 0], 0.0)  # a == b and radius 0: a point, allowed
    assert capsule.radius == 0.0
    np.testing.assert_array_equal(kin.Box(_TILTED, [1, 2, 3]).half, [0.5, 1.0, 1.5])


def test_half_space_normal_is_made_unit_and_the_set_unchanged():
    h = kin.HalfSpace([0, 0, 2.0], 1.0)  # 2z <= 1: z <= 0.5
    np.testing.assert_array_equal(h.normal, [0, 0, 1])
    assert h.offset == 0.5
    tiny = kin.HalfSpace([3e-200, 4e-200, 0], 1e-200)
    np.testing.assert_allclose(tiny.normal, [0.6, 0.8, 0], rtol=1e-15)
    assert tiny.offset == pytest.approx(0.2, rel=1e-15)
    assert collision.signed_distance(h, [0, 0, 2.0], radius=0.5) == pytest.approx(1.0, abs=1e-15)
