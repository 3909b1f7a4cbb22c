"""Forward kinematics, link poses and Jacobians: hand-computed poses, and every built-in arm
against the closed-form Jacobian, finite differences and the gradient checker."""

import numpy as np
import pytest

import autodiff as ad
import kinematics as kin
import robots
from kinematics import fk
from kinematics.transforms import dh_modified, dh_standard, rot_x, rot_z, translation
from robots import DHRow

ARMS = robots.available()


def random_q(chain, size, seed):
    """Configurations drawn uniformly within the limits; continuous joints in [-π, π]."""
    rng = np.random.default_rng(seed)
    lower = np.where(np.isfinite(chain.lower), chain.lower, -np.pi)
    upper = np.where(np.isfinite(chain.upper), chain.upper, np.pi)
    return rng.uniform(lower, upper, size=size + (chain.n,))


def pose(R, p):
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, p
    return T


# -- hand-computed poses -------------------------------------------------------------------

# Planar arm [1.0, 0.8]: the tip is at Σ l_k (cos, sin)(q_1 + ... + q_k), heading q_1 + q_2.
PLANAR = [
    ([0.0, 0.0], (1.8, 0.0), 0.0),
    ([np.pi / 2, 0.0], (0.0, 1.8), np.pi / 2),
    ([np.pi / 2, -np.pi / 2], (0.8, 1.0), 0.0),
    ([0.0, np.pi / 2], (1.0, 0.8), np.pi / 2),
    ([np.pi, 0.0], (-1.8, 0.0), np.pi),
    ([np.pi / 3, np.pi / 3], (0.5 - 0.4, np.sqrt(3) / 2 + 0.4 * np.sqrt(3)), 2 * np.pi / 3),
]


@pytest.mark.parametrize("q, xy, heading", PLANAR)
def test_planar_by_hand(q, xy, heading):
    T = kin.forward_kinematics(robots.get("planar2"), q)
    np.testing.assert_allclose(T, pose(rot_z(heading)[:3, :3], [xy[0], xy[1], 0.0]), atol=1e-15)


def test_planar3_by_hand():
    # [1.0, 0.8, 0.6] folded back on itself: 1.0 - 0.8 + 0.6 along x, facing +x again.
    T = kin.forward_kinematics(robots.get("planar3"), [0.0, np.pi, np.pi])
    np.testing.assert_allclose(T, pose(np.eye(3), [0.8, 0.0, 0.0]), atol=1e-15)


# Single DH rows at special angles, worked out on paper from the row formulas in DESIGN.md §4.
DH_ROWS = [
    # standard revolute, d=0.1, a=0.5, α=π/2 at q=0: Tz(d) Tx(a) Rx(π/2).
    (False, DHRow(d=0.1, a=0.5, alpha=np.pi / 2), 0.0,
     [[1, 0, 0, 0.5], [0, 0, -1, 0], [0, 1, 0, 0.1]]),
    # ... at q=π/2: Rz(π/2) Rx(π/2) has columns y, z, x; the position (a, 0, d) turns to (0, a, d).
    (False, DHRow(d=0.1, a=0.5, alpha=np.pi / 2), np.pi / 2,
     [[0, 0, 1, 0], [1, 0, 0, 0.5], [0, 1, 0, 0.1]]),
    # standard prismatic, angle offset π/2, q=0.3 adds to d: Rz(π/2) Tz(0.4) Tx(0.5).
    (False, DHRow(d=0.1, a=0.5, offset=np.pi / 2, joint="prismatic"), 0.3,
     [[0, -1, 0, 0], [1, 0, 0, 0.5], [0, 0, 1, 0.4]]),
    # modified revolute, α=π/2, a=0.5, d=0.1 at q=π/2: Rx(π/2) Tx(0.5) Rz(π/2) Tz(0.1);
    # Rx(π/2) Rz(π/2) has columns z, -x, -y (rows [0,-1,0], [0,0,-1], [1,0,0]);
    # the position is (0.5, 0, 0) + Rx(π/2)(0, 0, 0.1) = (0.5, -0.1, 0).
    (True, DHRow(alpha=np.pi / 2, a=0.5, d=0.1), np.pi / 2,
     [[0, -1, 0, 0.5], [0, 0, -1, -0.1], [1, 0, 0, 0]]),
    # modified revolute at q=0 with α=-π/2: Rx(-π/2) Tx(a) Tz(d); Tz(d) becomes +y d.
    (True, DHRow(alpha=-np.pi / 2, a=0.2, d=0.3), 0.0,
     [[1, 0, 0, 0.2], [0, 0, 1, 0.3], [0, -1, 0, 0]]),
    # modified prismatic, a=0.2, d=0.1, q=0.25: Tx(0.2) Tz(0.35).
    (True, DHRow(a=0.2, d=0.1, joint="prismatic"), 0.25,
     [[1, 0, 0, 0.2], [0, 1, 0, 0], [0, 0, 1, 0.35]]),
]


@pytest.mark.parametrize("modified, row, q, expected", DH_ROWS)
def test_single_dh_row_by_hand(modified, row, q, expected):
    arm = robots.from_dh([row], modified=modified)
    expected = np.vstack([expected, [0, 0, 0, 1]])
    np.testing.assert_allclose(kin.forward_kinematics(arm, [q]), expected, atol=1e-15)
    # and the transforms module's row functions agree
    theta, d = (row.offset, row.d + q) if row.joint == "prismatic" else (q + row.offset, row.d)
    direct = dh_modified(row.alpha, row.a, theta, d) if modified else dh_standard(theta, d, row.a, row.alpha)
    np.testing.assert_allclose(direct, expected, atol=1e-15)


def test_base_and_tool_wrap_the_chain():
    arm = robots.from_dh([DHRow(a=1.0)], base=translation([0, 0, 1]), tool=rot_x(np.pi / 2))
    T = kin.forward_kinematics(arm, [np.pi / 2])
    np.testing.assert_allclose(T, translation([0, 0, 1]) @ rot_z(np.pi / 2) @ translation([1, 0, 0])
                               @ rot_x(np.pi / 2), atol=1e-15)


# -- every built-in arm ----------------------------------------------------------------------

def fk_rotation_vector_difference(chain, q, h):
    """Central differences of FK: (6, n) with position rows (p+ - p-)/2h and angular rows
    rotvec(R+ R-ᵀ)/2h, the angular velocity in the base frame."""
    cols = []
    for i in range(chain.n):
        dq = np.zeros(chain.n)
        dq[i] = h
        Tp, Tm = kin.forward_kinematics(chain, q + dq), kin.forward_kinematics(chain, q - dq)
        v = (Tp[:3, 3] - Tm[:3, 3]) / (2 * h)
        w = kin.rotation_vector(Tp[:3, :3] @ Tm[:3, :3].T) / (2 * h)
        cols.append(np.concatenate([v, w]))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("name", ARMS)
def test_jacobians_agree(name):
    chain = robots.get(name)
    q = random_q(chain, (4,), seed=10)
    J = kin.jacobian(chain, q)
    assert J.shape == (4, 6, chain.n)
    np.testing.assert_allclose(J, kin.geometric_jacobian(chain, q), atol=1e-12)
    for qk, Jk in zip(q, J):
        np.testing.assert_allclose(Jk, fk_rotation_vector_difference(chain, qk, 1e-5), atol=1e-8)
        np.testing.assert_allclose(kin.jacobian(chain, qk), Jk, atol=1e-14)  # unbatched


@pytest.mark.parametrize("name", ARMS)
def test_batched_fk_and_link_poses(name):
    chain = robots.get(name)
    q = random_q(chain, (2, 3), seed=11)
    T = kin.forward_kinematics(chain, q)
    assert T.shape == (2, 3, 4, 4)
    for idx in np.ndindex(2, 3):
        np.testing.assert_allclose(T[idx], kin.forward_kinematics(chain, q[idx]), atol=1e-14)
    np.testing.assert_allclose(T[..., 3, :], np.broadcast_to([0, 0, 0, 1.0], (2, 3, 4)))
    R = T[..., :3, :3]
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-14)
    frames = kin.link_poses(chain, q)
    assert frames.shape == (2, 3, chain.n + 1, 4, 4)
    np.testing.assert_allclose(frames[..., -1, :, :], T, atol=1e-14)
    # every joint's origin sits on its axis: frame i maps the joint's axis to the base frame
    # and moving joint i does not move frame i's origin
    q0 = q[0, 0]
    for i, joint in enumerate(chain.joints):
        if joint.type != kin.REVOLUTE:
            continue
        dq = np.zeros(chain.n)
        dq[i] = 0.3
        np.testing.assert_allclose(kin.link_poses(chain, q0 + dq)[i, :3, 3], kin.link_poses(chain, q0)[i, :3, 3],
                                   atol=1e-14)


@pytest.mark.parametrize("name", ARMS)
def test_fk_of_tensor_q_check_grads(name):
    chain = robots.get(name)
    q = random_q(chain, (3,), seed=12)
    weights = np.random.default_rng(13).standard_normal((3, 4, 4))
    T = kin.forward_kinematics(chain, ad.Tensor(q))
    assert isinstance(T, ad.Tensor)
    np.testing.assert_allclose(T.data, kin.forward_kinematics(chain, q), atol=1e-15)
    ad.check_grads(lambda q: ad.sum(kin.forward_kinematics(chain, q) * weights), q)
    ad.check_grads(lambda q: ad.sum(kin.link_poses(chain, q)[..., :3, 3] ** 2), q[0])


def test_fk_is_plain_array_for_array_q():
    chain = robots.get("panda")
    out = kin.forward_kinematics(chain, np.zeros(7))
    assert type(out) is np.ndarray and out.dtype == np.float64


# -- bad inputs ------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, match", [
    (lambda: kin.forward_kinematics(robots.get("panda"), np.zeros(6)), ValueError, r"q must have shape \(\.\.\., 7\)"),
    (lambda: kin.forward_kinematics(robots.get("planar2"), 0.3), ValueError, "q must have shape"),
    (lambda: kin.link_poses(robots.get("ur5"), np.zeros((3, 5))), ValueError, "q must have shape"),
    (lambda: kin.jacobian(robots.get("ur5"), np.zeros(7)), ValueError, "q must have shape"),
    (lambda: kin.geometric_jacobian(robots.get("ur5"), np.zeros(2)), ValueError, "q must have shape"),
    (lambda: kin.forward_kinematics("panda", np.zeros(7)), TypeError, "kinematics.Chain"),
    (lambda: kin.Chain([]), ValueError, "at least one joint"),
    (lambda: kin.Chain([kin.Joint("j")], base=np.eye(3)), ValueError, "base"),
    (lambda: kin.Chain([kin.Joint("j")], tool=np.full((4, 4), np.nan)), ValueError, "tool"),
    (lambda: kin.Joint("j", type="spherical"), ValueError, "type"),
    (lambda: kin.Joint("j", axis=[0, 0, 0]), ValueError, "axis"),
    (lambda: kin.Joint("j", limits=(1.0, -1.0)), ValueError, "limits"),
    (lambda: robots.planar([1.0, -0.5]), ValueError, "lengths"),
    (lambda: robots.planar([1.0, 0.5], limits=[(-1, 1)] * 3), ValueError, "limit"),
    (lambda: robots.from_dh([{"d": 0.1, "theta": 0.2}]), ValueError, "unknown keys"),
    (lambda: robots.from_dh([(0.1, 0.2, 0.3)]), TypeError, "named fields"),
    (lambda: robots.from_dh([DHRow(joint="ball")]), ValueError, "joint"),
    (lambda: robots.from_dh([DHRow(d=float("nan"))]), ValueError, "finite"),
    (lambda: robots.get("no_such_arm"), ValueError, "built-in arms"),
])
def test_bad_inputs_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- small and large batches -----------------------------------------------------------------

LAYOUT_ARMS = ARMS + ["scara_dh.toml", "custom_joints.toml"]  # the examples add prismatic joints
BIG = 1000  # B·n >= 2000: large enough for forward_kinematics' large-batch layout on every arm
CHUNK = 20  # B·n <= 160: small enough for its small-batch layout


def layout_chain(name):
    if name.endswith(".toml"):
        import pathlib
        return robots.load(pathlib.Path(robots.__file__).parent / "examples" / name)
    return robots.get(name)


def fk_and_grad(chain, q, weights):
    qt = ad.Tensor(q, requires_grad=True)
    T = kin.forward_kinematics(chain, qt)
    ad.sum(T * weights).backward()
    return T.data, qt.grad


@pytest.mark.parametrize("name", LAYOUT_ARMS)
def test_large_and_small_batches_agree(name):
    """forward_kinematics may lay large batches out differently from small ones (for speed);
    poses and gradients must not depend on the batch size."""
    chain = layout_chain(name)
    q = random_q(chain, (BIG,), seed=14)
    weights = np.random.default_rng(15).standard_normal((BIG, 4, 4))
    T, g = fk_and_grad(chain, q, weights)
    parts = [fk_and_grad(chain, q[i:i + CHUNK], weights[i:i + CHUNK]) for i in range(0, BIG, CHUNK)]
    np.testing.assert_allclose(T, np.concatenate([p[0] for p in parts]), atol=1e-14)
    np.testing.assert_allclose(g, np.concatenate([p[1] for p in parts]), atol=1e-12)
    np.testing.assert_allclose(kin.forward_kinematics(chain, q), T, atol=1e-15)  # arrays in, same values


def test_array_fk_in_chunks_gives_the_same_poses(monkeypatch):
    # Arrays of more than FK_CHUNK configurations are computed a chunk at a time (bounded memory).
    chain = layout_chain("scara_dh.toml")  # a prismatic joint between revolute ones
    q = random_q(chain, (30, 40), seed=21)
    whole = kin.forward_kinematics(chain, q)
    monkeypatch.setattr(fk, "FK_CHUNK", 128)  # 1,200 configurations: 10 chunks, the last one short
    chunked = kin.forward_kinematics(chain, q)
    assert chunked.shape == (30, 40, 4, 4)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-14)  # a short last chunk may take the 4x4 layout
    np.testing.assert_allclose(chunked[3, 7], kin.forward_kinematics(chain, q[3, 7]), rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ["panda", "gen3", "scara_dh.toml"])
def test_engine_jacobian_on_large_batches(name):
    chain = layout_chain(name)
    q = random_q(chain, (BIG // 4,), seed=17)
    np.testing.assert_allclose(kin.jacobian(chain, q), kin.geometric_jacobian(chain, q), atol=1e-12)


# -- q is validated at the public entry points (issue 10) -------------------------------------

@pytest.mark.parametrize("function", [kin.forward_kinematics, kin.jacobian, kin.pose_and_jacobian, kin.link_poses,
                                      kin.geometric_jacobian])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_non_finite_q_is_refused_in_one_line(function, bad, as_tensor):
    chain = robots.get("panda")
    q = np.zeros((300, chain.n))  # a batch: the message must not print it
    q[17, 3] = bad
    if as_tensor:
        if function is kin.geometric_jacobian:
            pytest.skip("geometric_jacobian takes arrays")
        q = ad.Tensor(q, requires_grad=True)
    with pytest.raises(ValueError, match=r"q contains NaN or infinite values \(1 of 2100, first at index \(17, 3\)\)"):
        function(chain, q)


def test_complex_q_is_refused():
    with pytest.raises(TypeError, match="q must hold real numbers"):
        kin.forward_kinematics(robots.get("planar2"), np.array([1j, 0.0]))
