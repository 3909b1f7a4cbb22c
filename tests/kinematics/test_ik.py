"""IK: FK round trips on every built-in arm, the gradient methods, limits, paths, bad input.

Every success is re-checked here by FK at the returned q (the solver's flag is not trusted).
"""

import math

import numpy as np
import pytest

import kinematics as kin
from kinematics import ik
import robots

TOL = 1e-6


def sample_q(chain, count, seed):
    """Configurations drawn uniformly within the limits (continuous joints in [-pi, pi])."""
    rng = np.random.default_rng(seed)
    lo = np.where(np.isfinite(chain.lower), chain.lower, -math.pi)
    hi = np.where(np.isfinite(chain.upper), chain.upper, math.pi)
    return rng.uniform(lo, hi, (count, chain.n))


def fk_errors(chain, q, target):
    """Position and rotation errors of FK(q) against pose targets, by an independent formula."""
    T = kin.forward_kinematics(chain, q)
    pe = np.linalg.norm(T[..., :3, 3] - target[..., :3, 3], axis=-1)
    R = target[..., :3, :3] @ np.swapaxes(T[..., :3, :3], -1, -2)
    cos = np.clip((np.trace(R, axis1=-2, axis2=-1) - 1) / 2, -1, 1)
    return pe, np.arccos(cos)


def inside(chain, q):
    return np.all((q >= chain.lower) & (q <= chain.upper), axis=-1)


@pytest.mark.parametrize("name", robots.available())
def test_full_pose_round_trip(name):
    chain = robots.get(name)
    q_true = sample_q(chain, 200, seed=1)
    targets = kin.forward_kinematics(chain, q_true)
    result = kin.solve(chain, targets, seed=0)
    pe, re = fk_errors(chain, result.q, targets)
    # arccos loses precision near 0 (it resolves angles down to ~1e-8), so allow a hair above 1e-6.
    solved = (pe <= TOL) & (re <= TOL + 1e-7) & inside(chain, result.q)
    assert solved.mean() >= 0.995, f"{name}: {solved.mean():.3f} solved"
    assert np.all(inside(chain, result.q)), f"{name}: an answer violates the joint limits"
    # The success flag never claims more than FK confirms.
    assert not np.any(result.success & ~solved)
    assert np.all(result.position_error[result.success] <= TOL)


@pytest.mark.parametrize("method", kin.METHODS)
@pytest.mark.parametrize("name", ["planar2", "planar3"])
def test_planar_position_targets_every_method(name, method):
    chain = robots.get(name)
    q_true = sample_q(chain, 8, seed=2)
    targets = kin.forward_kinematics(chain, q_true)[:, :2, 3]
    result = kin.solve(chain, targets, method=method, seed=0)
    T = kin.forward_kinematics(chain, result.q)
    assert np.all(result.success), result.reason
    assert np.all(np.linalg.norm(T[:, :2, 3] - targets, axis=-1) <= TOL)
    assert np.all(result.rotation_error == 0.0)


def test_out_of_reach_returns_stretched_arm():
    chain = robots.get("planar3")  # reach 2.4 m
    result = kin.solve(chain, [3.0, 0.0], max_restarts=5)
    assert not result.success
    assert result.reason.startswith("out of reach: Position('tool')")
    # The closest point of the workspace is the stretched arm, 0.6 m short.
    assert result.position_error == pytest.approx(0.6, abs=0.01)
    tip = kin.forward_kinematics(chain, result.q)[:3, 3]
    assert tip[0] > 2.35 and abs(tip[1]) < 0.05


def test_gradient_methods_report_failure_honestly_on_tiny_budgets():
    chain = robots.get("panda")
    target = kin.forward_kinematics(chain, sample_q(chain, 1, seed=3)[0])
    result = kin.solve(chain, target, method="gd", max_iterations=3, max_restarts=0)
    assert not result.success and result.position_error > TOL


def test_seed_makes_results_reproducible():
    chain = robots.get("ur5")
    targets = kin.forward_kinematics(chain, sample_q(chain, 30, seed=4))
    a = kin.solve(chain, targets, seed=7)
    b = kin.solve(chain, targets, seed=7)
    np.testing.assert_array_equal(a.q, b.q)
    np.testing.assert_array_equal(a.restarts, b.restarts)


def test_history_shapes_and_monotone_endpoint():
    chain = robots.get("planar3")
    result = kin.solve(chain, [1.2, 0.9], method="gd", record_history=True, starts=1)
    history = result.history
    k = len(history["q"])
    assert history["q"].shape == (k, 3)
    assert history["position_error"].shape == history["rotation_error"].shape == (k,)
    np.testing.assert_allclose(history["q"][-1], result.q)
    assert history["position_error"][-1] == pytest.approx(result.position_error)
    assert history["position_error"][0] > history["position_error"][-1]
    batch = kin.solve(chain, np.array([[1.2, 0.9], [0.5, 1.0]]), record_history=True)
    assert isinstance(batch.history, list) and len(batch.history) == 2


@pytest.mark.parametrize("name", ["ur5", "panda"])
def test_answer_nearest_q0_is_preferred(name):
    chain = robots.get(name)  # UR5 has up to 8 isolated solutions; the Panda a self-motion family
    q_true = np.array([0.3, 0.2, -0.4, -1.8, 0.3, 1.6, 0.5])[: chain.n]
    target = kin.forward_kinematics(chain, q_true)
    result = kin.solve(chain, target, q0=q_true + 0.05)
    assert result.success
    np.testing.assert_allclose(result.q, q_true, atol=1e-5 if name == "ur5" else 2e-3)


def test_solve_path_stays_on_one_branch():
    chain = robots.get("panda")
    q_start = np.array([0.0, -0.3, 0.0, -2.0, 0.0, 1.8, 0.8])
    # A straight 10 cm line of waypoints at a fixed orientation.
    T0 = kin.forward_kinematics(chain, q_start)
    waypoints = np.repeat(T0[None], 11, axis=0)
    waypoints[:, 0, 3] += np.linspace(0.0, 0.1, 11)
    path = kin.solve_path(chain, waypoints, q_start)
    assert path.q.shape == (11, 7) and np.all(path.success)
    assert path.max_joint_step < 0.1  # 1 cm steps need small joint steps on one branch
    steps = np.abs(np.diff(np.concatenate([q_start[None], path.q]), axis=0)).max()
    assert path.max_joint_step == pytest.approx(steps)


@pytest.mark.parametrize("damping", kin.DAMPING)
def test_damping_rules(damping):
    chain = robots.get("ur5")
    targets = kin.forward_kinematics(chain, sample_q(chain, 20, seed=5))
    result = kin.solve(chain, targets, damping=damping)
    assert result.success.mean() >= 0.95
    pe, _ = fk_errors(chain, result.q, targets)
    assert np.all(pe[result.success] <= TOL)


def test_weights_zero_rotation_gives_position_only():
    chain = robots.get("panda")
    target = kin.forward_kinematics(chain, sample_q(chain, 1, seed=6)[0])
    result = kin.solve(chain, target[:3, 3])
    assert result.success and result.rotation_error == 0.0
    weighted = kin.solve(chain, target, weights=(1.0, 0.5))
    assert weighted.success and weighted.rotation_error <= TOL


def test_continuous_joints_are_sampled_finitely():
    chain = robots.get("gen3")
    assert np.isinf(chain.lower[0])
    targets = kin.forward_kinematics(chain, sample_q(chain, 20, seed=8))
    result = kin.solve(chain, targets)
    assert np.all(np.isfinite(result.q)) and result.success.mean() >= 0.95


def test_time_budget_stops_the_solver():
    chain = robots.get("planar3")
    result = kin.solve(chain, [5.0, 0.0], time_budget=1e-9)
    assert not result.success and "time budget" in result.reason


@pytest.mark.parametrize(
    "target, q0, message",
    [
        (np.array([np.nan, 0.0, 0.0]), None, "NaN"),
        (np.array([np.inf, 0.0, 0.0]), None, "NaN or infinite"),
        (np.zeros(5), None, "shape"),
        (np.zeros((3, 3)), None, None),  # three 3-D positions: valid
        (np.eye(4) * 2, None, "rigid"),
        (np.array([0.3, 0.2, 0.5]), np.zeros(3), r"\(\.\.\., 7\)"),
        (np.array([0.3, 0.2, 0.5]), np.full(7, 10.0), "outside its limits"),
        (np.array([0.3, 0.2]), None, "planar"),
        (np.array([1e300, 0.0, 0.0]), None, "beyond any chain's reach"),  # e² would overflow
        (np.array([[0.3, 0.2, 0.5], [0.0, -3e10, 0.0]]), None, "3e[+]10 m lies beyond"),
    ],
)
def test_bad_input_is_named(target, q0, message):
    chain = robots.get("panda")
    if message is None:
        kin.solve(chain, target, max_restarts=0, max_iterations=2)
        return
    with pytest.raises(ValueError, match=message):
        kin.solve(chain, target, q0=q0)


@pytest.mark.parametrize("option, value", [("method", "newton"), ("damping", "big"), ("tol_position", 0.0),
                                           ("starts", 0)])
def test_bad_options_are_named(option, value):
    with pytest.raises(ValueError, match=option):
        kin.solve(robots.get("planar2"), [1.0, 0.5], **{option: value})


@pytest.mark.parametrize("starts", [1, 4])
def test_restarts_stay_within_budget(starts):
    chain = robots.get("planar2")  # reach 1.8 m: unreachable, so every start fails
    result = kin.solve(chain, [3.0, 0.0], max_restarts=2, starts=starts)
    assert not result.success
    assert result.restarts <= 2
    assert "2 restarts" in result.reason or f"{result.restarts} restarts" in result.reason


def test_iterations_count_steps_and_q0_starts_the_history():
    chain = robots.get("panda")
    q0 = kin.default_start(chain)
    target = kin.forward_kinematics(chain, q0 + 0.2)
    result = kin.solve(chain, target, q0=q0, record_history=True)
    assert result.success and result.restarts == 0
    np.testing.assert_array_equal(result.history["q"][0], q0)
    assert result.iterations == len(result.history["q"]) - 1  # k steps, k + 1 iterates
    at_target = kin.solve(chain, kin.forward_kinematics(chain, q0), q0=q0)
    assert at_target.success and at_target.iterations == 0


@pytest.mark.parametrize("method", kin.METHODS)
def test_a_start_ages_one_iteration_per_step_whatever_the_method(method):
    # The loop's row ages once shared a key with Adam's step counter, so Adam's rows aged twice
    # per step: half the iteration budget, and a wrong bias correction.
    chain = robots.get("planar2")  # reach 1.8 m: unreachable
    targets, kind, _ = ik._parse_target(chain, [3.0, 0.0])
    W, budget = np.ones(3), 20
    if method == "lm":
        stepper = ik._LevenbergMarquardt(ik._chain_evaluator(chain, kind), chain, W, "chan-lawrence", 0.1)
    else:
        stepper = ik._GradientMethod(method, ik._chain_gradient(chain, kind, W), chain, 0.02, 0.9)
    result = ik._solve_batch(stepper, targets, np.zeros((1, 2)), chain=chain, prefer_q0=False, tol_p=1e-6,
                             tol_r=math.inf, max_iterations=budget, max_restarts=0, starts=1, stall_window=None,
                             deadline=None, rng=np.random.default_rng(0), record_history=True)
    assert result.iterations[0] == budget - 1  # budget evaluations, the last one judged, not stepped
    assert len(result.history[0]["q"]) == budget


def test_adams_first_step_is_bias_corrected():
    # With both moments bias-corrected, Adam's first step is step_size · sign(gradient) in every joint.
    chain = robots.get("planar2")
    q0 = np.array([0.3, 0.4])
    result = kin.solve(chain, [3.0, 0.0], q0=q0, method="adam", step_size=0.02, starts=1, max_iterations=3,
                       max_restarts=0, record_history=True)
    step = result.history["q"][1] - result.history["q"][0]
    np.testing.assert_allclose(np.abs(step), 0.02, rtol=1e-9)


def test_default_start_is_inside_the_limits():
    for name in robots.available():
        chain = robots.get(name)
        q = kin.default_start(chain)
        assert q.shape == (chain.n,) and np.all((q >= chain.lower) & (q <= chain.upper))


def test_random_starts_do_not_replay_the_callers_stream():
    # Targets drawn from default_rng(0) must not be handed to a seed-0 solver as its starts.
    chain = robots.get("panda")
    q_true = np.random.default_rng(0).uniform(chain.lower, chain.upper, (4, chain.n))
    for target in kin.forward_kinematics(chain, q_true):
        assert kin.solve(chain, target, seed=0).iterations > 0


def test_zero_rotation_weight_solves_the_position_of_a_pose():
    chain = robots.get("ur5")
    target = kin.forward_kinematics(chain, sample_q(chain, 1, seed=9)[0])
    target[:3, :3] = kin.transforms.rot_x(2.0)[:3, :3] @ target[:3, :3]  # an orientation it need not reach
    result = kin.solve(chain, target, weights=(1.0, 0.0))
    assert result.success and result.position_error <= TOL
    assert result.rotation_error > 0.1  # reported, though not asked for


# -- options and inputs are checked at the boundary (issue 10) --------------------------------

@pytest.mark.parametrize("option, value, error", [
    ("max_iterations", 0, ValueError), ("max_iterations", -1, ValueError), ("max_iterations", 2.5, TypeError),
    ("max_restarts", -1, ValueError), ("starts", True, TypeError),
    ("seed", -1, ValueError), ("seed", 1.5, TypeError),
    ("time_budget", math.nan, ValueError), ("time_budget", -1.0, ValueError), ("time_budget", math.inf, ValueError),
    ("time_budget", 0.0, ValueError),
    ("lam", math.nan, ValueError), ("lam", math.inf, ValueError), ("lam", -0.1, ValueError),
    ("step_size", math.nan, ValueError), ("step_size", 0.0, ValueError), ("step_size", math.inf, ValueError),
    ("momentum", math.nan, ValueError), ("momentum", 1.0, ValueError), ("momentum", -0.5, ValueError),
    ("tol_position", math.nan, ValueError), ("tol_rotation", math.inf, ValueError),
    ("weights", (math.nan, 1.0), ValueError), ("weights", (1.0, -1.0), ValueError), ("weights", (0.0, 0.0), ValueError),
    ("weights", np.ones(1000), ValueError),
])
def test_bad_option_values_are_named_in_one_short_line(option, value, error):
    method = "momentum" if option in ("step_size", "momentum") else "lm"
    with pytest.raises(error, match=option) as info:
        kin.solve(robots.get("planar2"), [1.0, 0.5], method=method, **{option: value})
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_seed_none_draws_fresh_entropy():
    chain = robots.get("planar3")
    # A position for a redundant arm, as two tasks on one frame: no near starts apply (those come
    # from the chain's fixed sample, kinematics.starts), so 15 of the 16 starts are drawn from the
    # fresh stream, and the first to converge (on the arm's curve of answers) wins. (The default
    # start's own answer won 19 of 400 solves: eight alike would happen about once in 10^10.)
    p = chain.lift(np.array([0.9, 0.6]))
    tasks = [kin.Position("tool", p), kin.Position("tool", p)]
    answers = [kin.solve(chain, tasks, seed=None, starts=16, max_restarts=0) for _ in range(8)]
    assert all(r.success for r in answers) and len({tuple(r.q) for r in answers}) > 1
    assert len({tuple(kin.solve(chain, tasks, seed=0, starts=16, max_restarts=0).q) for _ in range(2)}) == 1
    assert kin.solve(robots.get("planar2"), [1.0, 0.5], seed=None).success


@pytest.mark.parametrize("name, shape", [("panda", (0, 4, 4)), ("panda", (0, 3)), ("planar2", (0, 2))])
@pytest.mark.parametrize("record_history", [False, True])
def test_empty_batch_gives_an_empty_result(name, shape, record_history):
    chain = robots.get(name)
    result = kin.solve(chain, np.zeros(shape), record_history=record_history)
    assert result.q.shape == (0, chain.n)
    for field in (result.success, result.position_error, result.rotation_error, result.iterations, result.restarts):
        assert field.shape == (0,)
    assert result.success.dtype == bool and result.iterations.dtype.kind == "i"
    assert result.reason == [] and result.history == ([] if record_history else None)
    path = kin.solve_path(chain, np.zeros(shape), kin.default_start(chain))
    assert path.q.shape == (0, chain.n) and path.max_joint_step == 0.0


@pytest.mark.parametrize("scale", [1e-300, 1e-3, 1e300])
def test_weights_are_relative_even_huge_ones(scale):
    chain = robots.get("panda")
    target = kin.forward_kinematics(chain, sample_q(chain, 1, seed=13)[0])
    plain = kin.solve(chain, target, weights=(1.0, 0.5))
    scaled = kin.solve(chain, target, weights=(scale, 0.5 * scale))
    assert scaled.success
    np.testing.assert_allclose(scaled.q, plain.q, rtol=0, atol=1e-12)


# -- reasons: "out of reach" only where it is certain -----------------------------------------

def test_reason_says_out_of_reach_only_when_certain():
    far = kin.solve(robots.get("planar3"), [3.0, 0.0], max_restarts=5)  # reach 2.4 m
    assert far.reason.startswith("out of reach: Position('tool'): the target lies 3 m from the base")
    assert "at most 2.4 m" in far.reason
    chain = robots.get("panda")
    reachable = kin.forward_kinematics(chain, sample_q(chain, 1, seed=14)[0])
    failed = kin.solve(chain, reachable, max_iterations=1, max_restarts=0, starts=1)
    assert not failed.success
    assert failed.reason.startswith("not converged: Pose('tool') (1 iterations per start)")
    assert "reach" not in failed.reason and "may be" not in failed.reason


def test_out_of_reach_counts_from_the_base_and_includes_the_tool():
    arm = robots.planar([1.0, 1.0])
    moved = arm.replace(base=kin.transforms.translation([5.0, 0.0, 0.0]),
                        tool=arm.tool @ kin.transforms.translation([0.5, 0.0, 0.0]))  # reach 2.5 m about (5, 0)
    near = kin.solve(moved, [7.45, 0.0], max_iterations=1, max_restarts=0, starts=1)  # 2.45 m: reachable
    assert "out of reach" not in near.reason
    far = kin.solve(moved, [7.6, 0.0], max_restarts=2)
    assert "out of reach" in far.reason and "2.5 m" in far.reason
    origin = kin.solve(moved, [0.0, 0.0], max_restarts=2)  # 5 m from the base
    assert "out of reach" in origin.reason


@pytest.mark.parametrize("name", robots.available())
def test_reach_bounds_every_configuration(name):
    # The bound behind "out of reach" must hold for every q, or a reachable target could be called unreachable.
    from kinematics.ik import _distances, _reach
    chain = robots.get(name)
    T = kin.forward_kinematics(chain, sample_q(chain, 2000, seed=15))
    assert _distances(chain, T).max() <= _reach(chain)


# -- mutation-catching tests (issue 10's hand mutation list) ----------------------------------

def test_large_unreachable_batch_terminates_within_the_restart_budget():
    # 600 rows: above SMALL_BATCH, where only the main loop counts restarts; if it stopped
    # counting, this batch would restart forever (the time budget then ends it, and the test fails).
    from kinematics.ik import SMALL_BATCH
    chain = robots.get("panda")
    directions = np.random.default_rng(11).normal(size=(600, 3))
    targets = 2.0 * directions / np.linalg.norm(directions, axis=1, keepdims=True) + [0.0, 0.0, 0.333]
    assert len(targets) > SMALL_BATCH
    result = kin.solve(chain, targets, max_restarts=3, max_iterations=10, time_budget=20.0)
    assert not result.success.any()
    assert not any("time budget" in reason for reason in result.reason)
    assert np.all(result.restarts <= 3)


def test_blocked_joints_are_re_solved_at_the_limits():
    # Targets whose solution has three joints exactly at a limit, from nearby starts, one start
    # each: with the blocked-joint re-solve LM reaches 1.00 of them; clipping alone 0.5.
    chain = robots.get("panda")
    rng = np.random.default_rng(12)
    q_true = sample_q(chain, 100, seed=12)
    for row in q_true:
        joints = rng.choice(chain.n, size=3, replace=False)
        row[joints] = np.where(rng.random(3) < 0.5, chain.lower[joints], chain.upper[joints])
    q0 = np.clip(q_true + 0.2 * rng.standard_normal(q_true.shape), chain.lower, chain.upper)
    result = kin.solve(chain, kin.forward_kinematics(chain, q_true), q0=q0, max_restarts=0)
    assert result.success.mean() >= 0.95


@pytest.mark.parametrize("q_true, q0", [((0.93, 0.75), (0.94, -0.56)), ((0.84, 2.29), (2.13, 1.24)),
                                        ((2.08, -1.86), (-2.13, -2.15)), ((1.27, -0.3), (0.44, -1.86)),
                                        ((0.39, 0.51), (2.31, -2.14))])
def test_rows_converging_together_return_the_answer_nearest_q0(q_true, q0):
    # planar2 has two answers (elbow up, elbow down: the arm mirrored about the base-target
    # line); with eight starts several rows converge in the same iteration, on both branches.
    chain = robots.get("planar2")
    q_true, q0 = np.array(q_true), np.array(q0)
    xy = kin.forward_kinematics(chain, q_true)[:2, 3]
    heading = math.atan2(xy[1], xy[0])
    mirrored = (np.array([2 * heading - q_true[0], -q_true[1]]) + math.pi) % (2 * math.pi) - math.pi
    nearest = min(q_true, mirrored, key=lambda q: np.linalg.norm(q - q0))
    result = kin.solve(chain, xy, q0=q0, starts=8, max_restarts=0, seed=0)
    assert result.success
    np.testing.assert_allclose(result.q, nearest, atol=1e-4)


def test_puma560_urdf_straggler_is_solved():
    # rtb-data's PUMA 560 (wrist limits ±π/2): target 142 of these 200 lies near a singularity
    # with two joints within 0.03 rad of their limits; uniform restarts alone left it 3.4e-5 m off.
    rtbdata = pytest.importorskip("rtbdata", reason="rtb-data (pip install rtb-data) provides puma560_robot.urdf")
    import pathlib
    path = pathlib.Path(rtbdata.__file__).parent / "xacro/unimation_puma560_description/urdf/puma560_robot.urdf"
    chain = robots.load_urdf(str(path))
    q_true = np.random.default_rng(7).uniform(chain.lower, chain.upper, (200, chain.n))
    targets = kin.forward_kinematics(chain, q_true)
    result = kin.solve(chain, targets, seed=0)
    pe, re = fk_errors(chain, result.q, targets)
    assert np.all(result.success), [result.reason[i] for i in np.flatnonzero(~result.success)]
    assert np.all(pe <= TOL) and np.all(re <= TOL + 1e-7) and np.all(inside(chain, result.q))


def test_solve_runs_blas_on_one_thread_and_restores_it(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl limits the solver's BLAS threads")
    from kinematics import ik

    def blas_threads():
        return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]

    seen = []
    evaluate = ik._pose_then_jacobian

    def spy(chain, q):  # records the BLAS threads in force while the solver's loop runs
        seen.append(blas_threads())
        return evaluate(chain, q)

    monkeypatch.setattr(ik, "_pose_then_jacobian", spy)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        if not before or max(before) < 2:
            pytest.skip("no BLAS library here runs more than one thread")
        kin.solve(robots.get("panda"), [0.3, 0.2, 0.5])
        assert blas_threads() == before
    assert seen and all(threads == [1] * len(before) for threads in seen)
