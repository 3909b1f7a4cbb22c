"""kin.optimize_trajectory: the banded algebra, the smoothness terms, and whole paths judged by FK.

Oracles: dense numpy solves of the same systems (numpy.linalg.solve) for the banded Cholesky;
central finite differences in float64 for the smoothness residual's Jacobian and the objective's
gradient; polynomials (constant p-th differences) for the residual itself; FK round trips
(kin.forward_kinematics, kin.rotation_vector) at the returned q for every waypoint, never the
optimiser's own flags; coal for collision clearances.
"""

import numpy as np
import pytest

import kinematics as kin
import robots
from kinematics import trajectory as tj

TOL = 1e-6
DT = 0.01
UR5_START = np.array([0.3, -1.2, 1.5, -1.8, -1.5, 0.4])  # well away from the UR5's singularities
PANDA = robots.get("panda")
UR5 = robots.get("ur5")


def _dense_hessian(K, dt, costs):
    """H_s = Σ_p w_p D_pᵀ D_p / dt^{2p} from dense difference matrices (the oracle for hessian_bands)."""
    H = np.zeros((K, K))
    for name, w in costs.items():
        D = np.diff(np.eye(K), tj.COSTS[name], axis=0) / dt ** tj.COSTS[name]
        H += w * D.T @ D
    return H


def _bands_to_dense(bands):
    K = bands.shape[1]
    H = np.diag(bands[0])
    for d in range(1, min(4, K)):
        H += np.diag(bands[d, :K - d], d) + np.diag(bands[d, :K - d], -d)
    return H


def _block_diag(N):
    K, n, r = N.shape
    out = np.zeros((K * n, K * r))
    for k in range(K):
        out[k * n:(k + 1) * n, k * r:(k + 1) * r] = N[k]
    return out


def _line(arm, q0, shift, K=200):
    """K poses along a straight line from FK(q0), orientation held."""
    T = np.repeat(kin.forward_kinematics(arm, q0)[None], K, axis=0)
    T[:, :3, 3] += np.linspace(0.0, 1.0, K)[:, None] * np.asarray(shift)
    return T


def _fk_errors(arm, q, T):
    """(position (K,), rotation (K,)) errors of FK(q) against poses (K, 4, 4), or positions (K, 3)."""
    P = kin.forward_kinematics(arm, q)
    if T.shape[-1] == 3:
        return np.linalg.norm(P[:, :3, 3] - T, axis=-1), np.zeros(len(q))
    pe = np.linalg.norm(P[:, :3, 3] - T[:, :3, 3], axis=-1)
    re = np.linalg.norm(kin.rotation_vector(T[:, :3, :3] @ np.swapaxes(P[:, :3, :3], -1, -2)), axis=-1)
    return pe, re


def _check_path(arm, result, T):
    pe, re = _fk_errors(arm, result.q, T)
    assert pe.max() <= TOL and re.max() <= TOL, (pe.max(), re.max())
    assert np.all(result.q >= arm.lower) and np.all(result.q <= arm.upper)
    assert result.success.all()


# -- the banded algebra ------------------------------------------------------------------------

@pytest.mark.parametrize("K, n, r", [(9, 4, 2), (12, 7, 1), (5, 3, 3), (3, 2, 1)])
def test_banded_solve_equals_a_dense_solve(K, n, r):
    rng = np.random.default_rng([K, n, r])
    N = np.linalg.qr(rng.standard_normal((K, n, n)))[0][:, :, :r]  # orthonormal columns per waypoint
    costs = {"velocity": 0.3, "acceleration": 1.7, "jerk": 0.9}
    bands = tj.hessian_bands(K, 0.5, costs)
    extra = rng.standard_normal((K, r, r))
    extra = 0.1 * (extra + np.swapaxes(extra, -1, -2))
    rhs, mu = rng.standard_normal((K, r)), 0.7
    z = tj.reduced_solve(N, bands, rhs, mu, extra=extra)
    Nb = _block_diag(N)
    M = Nb.T @ np.kron(_dense_hessian(K, 0.5, costs), np.eye(n)) @ Nb + _block_diag(extra) + mu * np.eye(K * r)
    expected = np.linalg.solve(M, rhs.ravel())
    np.testing.assert_allclose(z.ravel(), expected, rtol=0, atol=1e-10 * np.abs(expected).max())


def test_zero_columns_of_the_null_basis_solve_to_zero_and_leave_the_rest_alone():
    rng = np.random.default_rng(4)
    K, n, r = 8, 5, 2
    N = np.linalg.qr(rng.standard_normal((K, n, n)))[0][:, :, :r]
    N[3, :, 1] = 0.0  # waypoint 3 has one free direction only
    bands = tj.hessian_bands(K, 1.0, {"acceleration": 1.0})
    rhs = rng.standard_normal((K, r))
    rhs[3, 1] = 0.0
    z = tj.reduced_solve(N, bands, rhs, 0.2)
    assert z[3, 1] == 0.0
    keep = np.ones(K * r, dtype=bool)
    keep[3 * r + 1] = False
    Nb = _block_diag(N)[:, keep]
    M = Nb.T @ np.kron(_dense_hessian(K, 1.0, {"acceleration": 1.0}), np.eye(n)) @ Nb + 0.2 * np.eye(keep.sum())
    np.testing.assert_allclose(z.ravel()[keep], np.linalg.solve(M, rhs.ravel()[keep]), atol=1e-12)


def test_hessian_bands_are_the_dense_difference_operators():
    for K in (1, 2, 4, 11):
        costs = {"velocity": 2.0, "acceleration": 0.5, "jerk": 3.0}
        np.testing.assert_allclose(_bands_to_dense(tj.hessian_bands(K, 0.3, costs)), _dense_hessian(K, 0.3, costs),
                                   rtol=1e-13, atol=0)


def test_null_basis_spans_the_tasks_null_space_with_held_joints_fixed():
    rng = np.random.default_rng(5)
    K, m, n = 6, 3, 5
    A = rng.standard_normal((K, m, n))
    A[2, 2] = 0.0  # an inactive row: one more free direction there
    held = np.zeros((K, n), dtype=bool)
    held[4, 1] = True
    N, freedom = tj.null_basis(A, held)
    assert list(freedom) == [2, 2, 3, 2, 1, 2] and N.shape == (K, n, 3)
    for k in range(K):
        cols = N[k][:, np.abs(N[k]).max(axis=0) > 0]
        assert cols.shape[1] == freedom[k]
        np.testing.assert_allclose(A[k] @ cols, 0.0, atol=1e-12)
        np.testing.assert_allclose(cols.T @ cols, np.eye(freedom[k]), atol=1e-12)
    np.testing.assert_allclose(N[4, 1], 0.0, atol=1e-15)


# -- the smoothness terms ----------------------------------------------------------------------

def test_smoothness_of_polynomials_is_their_constant_derivative():
    t = DT * np.arange(50)
    q = np.stack([3.0 * t, 0.5 * t ** 2, 2.0 * t ** 3], axis=-1)  # (50, 3)
    r = tj.smoothness_residuals(q, DT, {"jerk": 1.0}).reshape(-1, 3)
    np.testing.assert_allclose(r, np.broadcast_to([0.0, 0.0, 12.0], r.shape), atol=1e-4)  # q''' = 6 · 2
    s = tj.smoothness(q, DT)
    np.testing.assert_allclose(s["jerk"], 47 * 144.0, rtol=1e-6)
    np.testing.assert_allclose(tj.smoothness(t[:, None] * 3.0, DT)["velocity"], 49 * 9.0, rtol=1e-12)


def test_smoothness_residual_jacobian_matches_central_differences():
    rng = np.random.default_rng(6)
    K, n, dt = 7, 2, 0.5
    costs = {"velocity": 0.4, "acceleration": 1.3, "jerk": 2.0}
    Q = rng.standard_normal((K, n))

    def residual(x):
        return tj.smoothness_residuals(x.reshape(K, n), dt, costs)

    h = 1e-6
    J = np.stack([(residual(Q.ravel() + h * e) - residual(Q.ravel() - h * e)) / (2 * h) for e in np.eye(K * n)],
                 axis=1)
    # the banded Hessian the solver uses is JᵀJ of this residual (H_s ⊗ I_n)
    H = np.kron(_bands_to_dense(tj.hessian_bands(K, dt, costs)), np.eye(n))
    np.testing.assert_allclose(J.T @ J, H, rtol=0, atol=1e-7 * np.abs(H).max())
    # ‖r‖² is the objective, and its gradient (by differences) is 2 (H_s ⊗ I) Q
    np.testing.assert_allclose(residual(Q.ravel()) @ residual(Q.ravel()), tj._objective(Q, dt, costs), rtol=1e-12)
    grad = np.array([(tj._objective((Q.ravel() + h * e).reshape(K, n), dt, costs)
                      - tj._objective((Q.ravel() - h * e).reshape(K, n), dt, costs)) / (2 * h) for e in np.eye(K * n)])
    np.testing.assert_allclose(2 * tj._gradient(Q, dt, costs).ravel(), grad, rtol=1e-7, atol=1e-7)


# -- whole paths -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def panda_line():
    q0 = kin.default_start(PANDA)
    T = _line(PANDA, q0, [0.0, 0.3, -0.2])
    return T, kin.solve_path(PANDA, T, q0)


def test_panda_full_poses_jerk_drops_and_every_waypoint_still_meets_its_pose(panda_line, capsys):
    T, path = panda_line
    assert path.success.all()
    result = kin.optimize_trajectory(PANDA, T, path.q, dt=DT)
    _check_path(PANDA, result, T)
    before, after = tj.smoothness(path.q, DT)["jerk"], tj.smoothness(result.q, DT)["jerk"]
    assert result.before["jerk"] == before and result.after["jerk"] == after
    assert after < 0.7 * before, (before, after)
    assert np.all(result.freedom == 1)  # 7 joints, 6 pose rows
    assert result.reason.startswith("converged")
    assert result.max_joint_step < 2 * path.max_joint_step
    with capsys.disabled():
        print(f"\n  panda line, 200 waypoints: jerk {before:.4g} -> {after:.4g} rad²/s⁶ "
              f"({result.iterations} iterations), max FK error {_fk_errors(PANDA, result.q, T)[0].max():.2g} m")


def test_task_lists_give_the_same_path_as_the_targets(panda_line):
    T, path = panda_line
    K = 60
    lists = [[kin.Pose("tool", T[k])] for k in range(K)]
    a = kin.optimize_trajectory(PANDA, T[:K], path.q[:K], dt=DT)
    b = kin.optimize_trajectory(PANDA, lists, path.q[:K], dt=DT)
    _check_path(PANDA, b, T[:K])
    assert b.after["jerk"] < b.before["jerk"]
    np.testing.assert_allclose(b.after["jerk"], a.after["jerk"], rtol=1e-3)


def test_ur5_full_poses_are_isolated_and_claim_no_drop():
    T = _line(UR5, UR5_START, [0.1, 0.2, -0.1])
    path = kin.solve_path(UR5, T, UR5_START)
    assert path.success.all()
    result = kin.optimize_trajectory(UR5, T, path.q, dt=DT)
    assert result.reason.startswith("isolated")
    assert np.all(result.freedom == 0) and result.iterations == 0
    np.testing.assert_array_equal(result.q, path.q)
    assert result.after == result.before
    _check_path(UR5, result, T)


def test_ur5_position_targets_leave_room_and_jerk_drops(capsys):
    T = _line(UR5, UR5_START, [0.1, 0.2, -0.1])
    p = T[:, :3, 3]
    path = kin.solve_path(UR5, p, UR5_START)
    result = kin.optimize_trajectory(UR5, p, path.q, dt=DT)
    _check_path(UR5, result, p)
    assert np.all(result.freedom == 3)
    assert result.after["jerk"] < 0.5 * result.before["jerk"]
    with capsys.disabled():
        print(f"\n  ur5 position line: jerk {result.before['jerk']:.4g} -> {result.after['jerk']:.4g} rad²/s⁶")


def test_axis_tasks_on_the_ur5_lower_jerk():
    T = _line(UR5, UR5_START, [0.1, 0.2, -0.1], K=80)
    lists = [[kin.Axis("tool", [0, 0, 1], T[k, :3, 2], position=T[k, :3, 3])] for k in range(len(T))]
    path = kin.solve_path(UR5, T, UR5_START)
    result = kin.optimize_trajectory(UR5, lists, path.q, dt=DT)
    assert result.success.all() and np.all(result.freedom == 1)
    P = kin.forward_kinematics(UR5, result.q)
    assert np.linalg.norm(P[:, :3, 3] - T[:, :3, 3], axis=-1).max() <= TOL
    angle = np.arccos(np.clip(np.sum(P[:, :3, 2] * T[:, :3, 2], axis=-1), -1, 1))
    assert angle.max() <= TOL
    assert result.after["jerk"] < result.before["jerk"]


def test_joint_limits_hold_at_every_waypoint(panda_line):
    T, path = panda_line
    free = kin.optimize_trajectory(PANDA, T, path.q, dt=DT)
    j = int(np.argmax(np.abs(free.q - path.q).max(axis=0)))  # the joint the optimiser moves most
    lo, hi = path.q[:, j].min(), path.q[:, j].max()
    assert free.q[:, j].min() < lo - 1e-4 or free.q[:, j].max() > hi + 1e-4  # unconstrained it leaves [lo, hi]
    joints = list(PANDA.joints)
    joints[j] = type(joints[j])(**{**vars(joints[j]), "limits": (lo, hi)})
    tight = PANDA.replace(joints=joints)
    result = kin.optimize_trajectory(tight, T, path.q, dt=DT)
    assert np.all(result.q[:, j] >= lo) and np.all(result.q[:, j] <= hi)
    _check_path(tight, result, T)
    assert result.after["jerk"] < result.before["jerk"]


def test_an_obstacle_at_every_waypoint_is_kept_clear_by_coal(panda_line):
    from kinematics.robot import as_robot
    from tests.kinematics.test_collision_tasks import coal_clearances

    T, path = panda_line
    # a ball just off the elbow's path (joint 5's frame moves ~3 cm towards it when the jerk is lowered freely)
    avoid = kin.Avoid([kin.Sphere([0.17983727, 0.21063138, 0.64551237], 0.02)], 0.0)
    bound = kin.Avoid([kin.Sphere([0.17983727, 0.21063138, 0.64551237], 0.02)], 0.0).bind(
        as_robot(PANDA), PANDA.geometry)
    free = kin.optimize_trajectory(PANDA, T, path.q, dt=DT)
    assert coal_clearances(bound, path.q).min() > 0.005  # q_init clears it
    assert coal_clearances(bound, free.q).min() < 0  # the smoothest path without the task hits it
    result = kin.optimize_trajectory(PANDA, [[kin.Pose("tool", T[k]), avoid] for k in range(len(T))], path.q, dt=DT)
    _check_path(PANDA, result, T)
    assert coal_clearances(bound, result.q).min() >= -1e-9
    assert result.after["jerk"] < 0.7 * result.before["jerk"]


def test_a_waypoint_that_q_init_misses_is_held_and_reported(panda_line):
    T, path = panda_line
    T = T[:30].copy()
    T[12, :3, 3] += [0.0, 0.0, 3.0]  # out of reach
    q = path.q[:30]
    result = kin.optimize_trajectory(PANDA, T, q, dt=DT)
    assert not result.success[12] and result.success[np.arange(30) != 12].all()
    np.testing.assert_array_equal(result.q[12], q[12])
    assert "1 waypoint(s) miss their tasks: 12 (held fixed: q_init misses them)" in result.reason
    ok = np.arange(30) != 12
    pe, re = _fk_errors(PANDA, result.q[ok], T[ok])
    assert pe.max() <= TOL and re.max() <= TOL
    assert result.position_error[12] > 1.0


@pytest.mark.parametrize("options, message", [
    (dict(dt=0.0), "dt must be a finite positive number"),
    (dict(dt=-0.1), "dt must be a finite positive number"),
    (dict(dt=float("nan")), "dt must be a finite positive number"),
    (dict(dt=DT, costs={"snap": 1.0}), "costs: unknown term 'snap'"),
    (dict(dt=DT, costs={"jerk": 0.0}), "costs: at least one weight must be positive"),
    (dict(dt=DT, max_iterations=0), "max_iterations must be a positive integer"),
])
def test_bad_options_name_the_problem(panda_line, options, message):
    T, path = panda_line
    with pytest.raises(ValueError, match=message):
        kin.optimize_trajectory(PANDA, T[:10], path.q[:10], **options)


def test_bad_q_init_names_the_problem(panda_line):
    T, path = panda_line
    with pytest.raises(ValueError, match=r"q_init must have shape \(\.\.\., 7\)"):
        kin.optimize_trajectory(PANDA, T[:10], path.q[:10, :6], dt=DT)
    with pytest.raises(ValueError, match=r"q_init must be \(K, n\)"):
        kin.optimize_trajectory(PANDA, T[:10], path.q[0], dt=DT)
    with pytest.raises(ValueError, match="10 targets for 9 rows of q_init"):
        kin.optimize_trajectory(PANDA, T[:10], path.q[:9], dt=DT)
    q = path.q[:10].copy()
    q[4, 3] = 0.5  # panda_joint4 must stay below -0.0698
    with pytest.raises(ValueError, match="q_init: waypoint 4: joint 'panda_joint4'"):
        kin.optimize_trajectory(PANDA, T[:10], q, dt=DT)
    with pytest.raises(ValueError, match="3 task lists for 10 rows"):
        kin.optimize_trajectory(PANDA, [[kin.Pose("tool", T[k])] for k in range(3)], path.q[:10], dt=DT)
    with pytest.raises(ValueError, match="waypoint 1: Posture is a soft task"):
        kin.optimize_trajectory(PANDA, [[kin.Pose("tool", T[0])], [kin.Pose("tool", T[1]), kin.Posture(q[0])]],
                                path.q[:2], dt=DT)


# -- a fixed start ------------------------------------------------------------------------------

def test_a_fixed_start_is_the_augmented_path_without_its_first_row():
    """With q_start the objective is F([start; Q]); its bands, gradient and value against the dense oracle
    and central differences."""
    rng = np.random.default_rng(8)
    K, n, dt = 6, 3, 0.4
    costs = {"velocity": 0.7, "acceleration": 1.1, "jerk": 0.9}
    Q, start = rng.standard_normal((K, n)), rng.standard_normal(n)
    H = _dense_hessian(K + 1, dt, costs)[1:, 1:]
    np.testing.assert_allclose(_bands_to_dense(tj.hessian_bands(K + 1, dt, costs)[:, 1:]), H, rtol=1e-13, atol=0)
    assert tj._objective(Q, dt, costs, start) == pytest.approx(tj._objective(np.vstack([start, Q]), dt, costs))
    h = 1e-6
    grad = np.array([(tj._objective((Q.ravel() + h * e).reshape(K, n), dt, costs, start)
                      - tj._objective((Q.ravel() - h * e).reshape(K, n), dt, costs, start)) / (2 * h)
                     for e in np.eye(K * n)])
    np.testing.assert_allclose(2 * tj._gradient(Q, dt, costs, start).ravel(), grad, rtol=1e-7, atol=1e-7)


def test_a_fixed_start_keeps_the_path_where_the_arm_is(panda_line):
    """Free, the first waypoint may slide along its self-motion away from the arm's configuration; with
    q_start the move from it is part of the cost, and the path stays near it."""
    T, path = panda_line
    q0 = kin.default_start(PANDA)
    free = kin.optimize_trajectory(PANDA, T, path.q, dt=DT, costs={"velocity": 1.0})
    fixed = kin.optimize_trajectory(PANDA, T, path.q, dt=DT, costs={"velocity": 1.0}, q_start=q0)
    _check_path(PANDA, fixed, T)
    assert np.abs(path.q[0] - q0).max() == 0  # the line starts at FK(q0)
    assert np.abs(fixed.q[0] - q0).max() < 0.1 * np.abs(free.q[0] - q0).max(), (fixed.q[0] - q0, free.q[0] - q0)
    assert fixed.after["velocity"] <= fixed.before["velocity"]
    assert fixed.before["velocity"] == pytest.approx(tj.smoothness(np.vstack([q0, path.q]), DT)["velocity"])
    assert fixed.max_joint_step == pytest.approx(np.abs(np.diff(np.vstack([q0, fixed.q]), axis=0)).max())
    with pytest.raises(ValueError, match=r"q_start must have shape \(\.\.\., 7\)"):
        kin.optimize_trajectory(PANDA, T[:5], path.q[:5], dt=DT, q_start=q0[:6])
    with pytest.raises(ValueError, match=r"q_start must be \(n,\) = \(7,\)"):
        kin.optimize_trajectory(PANDA, T[:5], path.q[:5], dt=DT, q_start=path.q[:2])
