"""The solver's near starts: the nearest sampled configurations by end pose, and what they buy."""

import numpy as np
import pytest

import kinematics as kin
from kinematics import ik, starts
from kinematics.starts import Goal
from kinematics.tasks import Axis, Orientation, Pose, Position, Posture
import robots


def _sample(chain):
    _, lo, span = ik._starts_box(chain)
    starts.nearest_starts(chain, [Goal("tool", np.eye(4)[None])], 1, lo, span)  # builds the chain's sample
    return starts._SAMPLES[chain][("tool",)], lo, span


def _near_and_uniform(monkeypatch, solve_all, poses, targets):
    """Mean iterations of `solve_all()` with near starts, then with uniform ones (NEAR_STARTS = 0);
    every answer checked by FK (`poses(q)` against `targets`)."""
    def run():
        results = solve_all()
        e = kin.pose_error(poses(np.array([r.q for r in results])), targets)
        assert np.all(np.linalg.norm(e[..., :3], axis=-1) <= 1e-6)
        assert np.all(np.linalg.norm(e[..., 3:], axis=-1) <= 1e-6)
        return np.mean([r.iterations for r in results])

    near = run()
    monkeypatch.setattr(ik, "NEAR_STARTS", 0)
    return near, run()


def _distances(chain, sample, target, rotation):
    """|p − p_t|² + s² |R − R_t|²_F over the sample, from FK of its configurations (not its table)."""
    T = kin.forward_kinematics(chain, sample.q)
    d = ((T[:, :3, 3] - (target[:3, 3] if target.ndim == 2 else target)) ** 2).sum(axis=1)
    if rotation:
        d += sample.scales[0] ** 2 * ((T[:, :3, :3] - target[:3, :3]) ** 2).sum(axis=(1, 2))
    return d


@pytest.mark.parametrize("name", ["panda", "ur5", "planar3"])
def test_nearest_starts_are_the_nearest_by_end_pose(name):
    chain = robots.get(name)
    sample, lo, span = _sample(chain)
    rng = np.random.default_rng(3)
    poses = kin.forward_kinematics(chain, lo + span * rng.random((5, chain.n)))
    for targets, rotation in ((poses, True), (poses, False), (poses[:, :3, 3], True)):
        got = starts.nearest_starts(chain, [Goal("tool", targets, rotation)], 6, lo, span)
        assert got.shape == (5, 6, chain.n)
        for b, target in enumerate(targets):
            d = _distances(chain, sample, target, rotation and targets.ndim == 3)
            want = sample.q[np.argsort(d, kind="stable")[:6]]
            np.testing.assert_array_equal(got[b], want)


def test_the_sample_is_fixed_inside_the_box_and_apart_from_the_solvers_seed():
    chain = robots.get("panda")
    sample, lo, span = _sample(chain)
    assert sample.q.shape == (starts.SAMPLES, chain.n)
    assert np.all((sample.q >= chain.lower) & (sample.q <= chain.upper))
    again = starts._Sample(chain, ("tool",), lo, span)
    np.testing.assert_array_equal(again.q, sample.q)
    # no caller's default_rng(integer) draws it (the solver's own stream included)
    assert not np.allclose(lo + span * np.random.default_rng(0x5EED5).random((starts.SAMPLES, chain.n)), sample.q)


def test_a_target_at_a_sampled_configuration_is_met_by_its_start():
    # The nearest sampled configuration is the target's own: that row converges with no step.
    chain = robots.get("panda")
    sample, _, _ = _sample(chain)
    q_true = sample.q[1234]
    result = kin.solve(chain, kin.forward_kinematics(chain, q_true))
    assert result.success and result.iterations == 0
    np.testing.assert_array_equal(result.q, q_true)


def test_starts_after_the_near_ones_are_uniform_draws_of_the_seed():
    chain = robots.get("ur5")
    target = kin.forward_kinematics(chain, np.full(chain.n, 0.3))[None]
    rng = np.random.default_rng(9)
    q_first = ik._starts_box(chain)[0][None]
    q, known = ik._first_starts(chain, [Goal("tool", target)], q_first, ik.NEAR_STARTS + 4, rng)
    assert known is None  # (uniform starts: no poses known beforehand)
    _, lo, span = ik._starts_box(chain)
    np.testing.assert_array_equal(q[0], q_first[0])
    np.testing.assert_array_equal(q[1:ik.NEAR_STARTS + 1],
                                  starts.nearest_starts(chain, [Goal("tool", target)], ik.NEAR_STARTS, lo, span)[0])
    np.testing.assert_array_equal(q[ik.NEAR_STARTS + 1:], lo + span * np.random.default_rng(9).random((3, chain.n)))


def test_the_first_iterations_known_poses_and_jacobians_are_a_passs():
    # The loop's first iteration reads FK and J at the default start and at the sampled starts
    # instead of running a pass: they must be the pass's numbers at those configurations.
    chain = robots.get("panda")
    T, J = ik._start_evaluation(chain)
    T_pass, J_pass = kin.pose_and_jacobian(chain, ik.default_start(chain))
    np.testing.assert_array_equal(T, T_pass)
    np.testing.assert_array_equal(J, J_pass)
    assert not T.flags.writeable and not J.flags.writeable
    _, lo, span = ik._starts_box(chain)
    targets = kin.forward_kinematics(chain, lo + span * np.random.default_rng(5).random((6, chain.n)))
    q, T, J = starts.nearest_starts(chain, [Goal("tool", targets)], 3, lo, span, evaluated=True)
    np.testing.assert_array_equal(q, starts.nearest_starts(chain, [Goal("tool", targets)], 3, lo, span))
    T_pass, J_pass = kin.pose_and_jacobian(chain, q)  # (another row count: rounding may differ)
    np.testing.assert_allclose(T, T_pass, rtol=0, atol=1e-14)
    np.testing.assert_allclose(J, J_pass, rtol=0, atol=1e-14)
    J_closed = np.array([[kin.geometric_jacobian(chain, x) for x in row] for row in q])  # the oracle
    np.testing.assert_allclose(J, J_closed, rtol=0, atol=1e-12)


def test_known_first_iterations_solve_as_passes_do(monkeypatch):
    # Lone targets (4 starts: default and sampled) and a batch (every row at the default start):
    # the same answers, to rounding, as with the first iteration's pass run.
    chain = robots.get("panda")
    _, lo, span = ik._starts_box(chain)
    targets = kin.forward_kinematics(chain, lo + span * np.random.default_rng(6).random((60, chain.n)))
    lone = [kin.solve(chain, t) for t in targets[:20]]
    batch = kin.solve(chain, targets)
    monkeypatch.setattr(ik, "_known_evaluator", lambda T, J, kind: ik._chain_evaluator(chain, kind))
    lone_pass = [kin.solve(chain, t) for t in targets[:20]]
    batch_pass = kin.solve(chain, targets)
    assert all(r.success for r in lone) and batch.success.all()
    assert [r.iterations for r in lone] == [r.iterations for r in lone_pass]
    np.testing.assert_array_equal(batch.iterations, batch_pass.iterations)
    # (the Panda is redundant: rounding moves an answer along its null space, a little)
    np.testing.assert_allclose([r.q for r in lone], [r.q for r in lone_pass], rtol=0, atol=1e-6)
    np.testing.assert_allclose(batch.q, batch_pass.q, rtol=0, atol=1e-6)


def test_a_chain_whose_limits_change_gets_a_new_start_evaluation():
    chain = robots.get("ur5").replace()  # a private copy: its limits are changed in place below
    before = ik._start_evaluation(chain)
    chain.lower[:], chain.upper[:] = 0.0, 1.0  # (a new mid-range: a new default start)
    T, J = ik._start_evaluation(chain)
    T_pass, J_pass = kin.pose_and_jacobian(chain, ik.default_start(chain))
    assert not np.array_equal(T, before[0])
    np.testing.assert_array_equal(T, T_pass)
    np.testing.assert_array_equal(J, J_pass)


@pytest.mark.parametrize("name", ["panda", "ur5", "puma560"])
def test_near_starts_cut_a_lone_targets_iterations(name, monkeypatch):
    # The reason they exist: on the same targets, fewer iterations than uniform starts (measured
    # -30 to -45 %), every target still met by FK at the answer.
    chain = robots.get(name)
    _, lo, span = ik._starts_box(chain)
    targets = kin.forward_kinematics(chain, lo + span * np.random.default_rng(11).random((40, chain.n)))
    near, uniform = _near_and_uniform(monkeypatch, lambda: [kin.solve(chain, t) for t in targets],
                                      lambda q: kin.forward_kinematics(chain, q), targets)
    assert near < 0.8 * uniform, (near, uniform)


def test_a_chain_whose_limits_change_gets_a_new_sample_inside_them():
    chain = robots.get("panda").replace()  # a private copy: its limits are changed in place below
    first, _, _ = _sample(chain)
    middle = 0.5 * (chain.lower + chain.upper)
    chain.lower[:], chain.upper[:] = middle - 0.25, middle + 0.25
    target = kin.forward_kinematics(chain, middle + 0.1)
    sample, lo, span = _sample(chain)
    assert sample is not first
    assert np.all((sample.q >= chain.lower) & (sample.q <= chain.upper))
    near = starts.nearest_starts(chain, [Goal("tool", target[None])], 3, lo, span)[0]
    assert np.all((near >= chain.lower) & (near <= chain.upper))
    result = kin.solve(chain, target)
    assert result.success and np.all((result.q >= chain.lower) & (result.q <= chain.upper))


def test_a_trees_frames_are_looked_up_together():
    # Two hands' goals: nearness is the sum of each frame's distance, each frame's rotation scaled
    # by its own spread (checked against FK of the whole sample).
    robot = robots.get("dual_panda")
    _, lo, span = ik._starts_box(robot)
    rng = np.random.default_rng(5)
    T = kin.frame_poses(robot, lo + span * rng.random((3, robot.n)), ["left_tool", "right_tool"])
    goals = [Goal("left_tool", T[:, 0]), Goal("right_tool", T[:, 1, :3, 3])]  # a pose and a position
    got = starts.nearest_starts(robot, goals, 4, lo, span)
    sample = starts._SAMPLES[robot][("left_tool", "right_tool")]
    F = kin.frame_poses(robot, sample.q, ["left_tool", "right_tool"])
    for b in range(3):
        d = ((F[:, 0, :3, 3] - T[b, 0, :3, 3]) ** 2).sum(axis=1) \
            + sample.scales[0] ** 2 * ((F[:, 0, :3, :3] - T[b, 0, :3, :3]) ** 2).sum(axis=(1, 2)) \
            + ((F[:, 1, :3, 3] - T[b, 1, :3, 3]) ** 2).sum(axis=1)
        np.testing.assert_array_equal(got[b], sample.q[np.argsort(d, kind="stable")[:4]])


def test_near_starts_cut_a_trees_iterations(monkeypatch):
    # dual_panda's two hand poses: measured 12.8 -> 10.2 mean iterations over 60 targets.
    robot = robots.get("dual_panda")
    _, lo, span = ik._starts_box(robot)
    T = kin.frame_poses(robot, lo + span * np.random.default_rng(7).random((30, robot.n)), ["left_tool", "right_tool"])
    near, uniform = _near_and_uniform(
        monkeypatch, lambda: [kin.solve(robot, [Pose("left_tool", t[0]), Pose("right_tool", t[1])]) for t in T],
        lambda q: kin.frame_poses(robot, q, ["left_tool", "right_tool"]), T)
    assert near < 0.9 * uniform, (near, uniform)


def test_which_tasks_get_near_starts():
    chain = robots.get("panda")
    T = kin.forward_kinematics(chain, np.full(chain.n, 0.2))
    rows = np.arange(1)

    def goals(tasks):
        return ik._near_goals(kin.tasks.Problem(chain, tasks, 1e-6, 1e-6), rows, 1e-6)

    found = goals([Pose("panda_joint7", T), Posture(np.zeros(chain.n))])  # soft tasks beside: still the pose's
    assert [(g.frame, g.rotation, g.targets.shape) for g in found] == [("panda_joint7", True, (1, 4, 4))]
    assert goals([Pose("tool", T, weights=(1.0, 0.0)), Position("panda_joint4", [0.1, 0.2, 0.3])])[0].rotation is False
    assert goals([Axis("tool", [0, 0, 1], [0, 0, -1], [0.4, 0.0, 0.4])]) is None
    assert goals([Pose("tool", T), Orientation("panda_joint7", np.eye(3))]) is None
    assert goals([Pose("tool", T), Position("tool", [0.1, 0.2, 0.3])]) is None  # one frame twice


def test_a_robot_made_again_finds_its_sample():
    # robots.get makes a new robot per call: the sample is found by content, not built again.
    first, second, other = robots.get("panda"), robots.get("panda"), robots.get("ur5")
    assert _sample(first)[0] is _sample(second)[0]
    assert _sample(other)[0] is not _sample(first)[0]
    moved = robots.get("panda").replace()
    moved.upper[0] -= 0.5  # another box: another sample
    assert _sample(moved)[0] is not _sample(first)[0]


def test_a_samples_poses_and_jacobians_are_shared_only_by_the_same_fk():
    # A sample's starts may serve any robot that agrees with it at its probes, but its stored
    # poses and Jacobians are the loop's errors at those starts: they serve only a chain that
    # computes its FK the very same way, and any other gets its own.
    first, second = robots.get("panda"), robots.get("panda")
    sample = _sample(first)[0]
    assert sample.evaluations(first) is sample.evaluations(second)  # the same FK, made again
    other = first.replace(tool=first.tool @ kin.transforms.translation([0.0, 0.0, 0.05]))
    T, J = sample.evaluations(other)  # (asked of this sample directly, as a probe-agreeing robot would)
    T_pass, J_pass = kin.pose_and_jacobian(other, sample.q)
    np.testing.assert_array_equal(T, T_pass)
    np.testing.assert_array_equal(J, J_pass)
    assert not np.allclose(T, sample.evaluations(first)[0])


def _at_samples(robot, frames, count):
    """`count` of the robot's sampled configurations (those nearest a few random poses), (count, n)."""
    _, lo, span = ik._starts_box(robot)
    q = lo + span * np.random.default_rng(17).random((count, robot.n))
    poses = kin.frame_poses(robot, q, list(frames))
    goals = [Goal(frame, poses[:, k]) for k, frame in enumerate(frames)]
    return starts.nearest_starts(robot, goals, 1, lo, span)[:, 0]


@pytest.mark.parametrize("name, kind", [("panda", "pose"), ("planar3", "position"), ("dual_panda", "hands")])
def test_a_batchs_first_restart_is_its_nearest_sample(name, kind):
    # Targets at sampled configurations, one start each, one iteration per start: the mid-range
    # start ages out, and the first restart starts at the target's own configuration (its nearest
    # sample, at distance 0), met with no step. Uniform restarts would meet almost none of them so.
    robot = robots.get(name)
    frames = ["left_tool", "right_tool"] if kind == "hands" else ["tool"]
    q_true = _at_samples(robot, frames, 40)
    poses = kin.frame_poses(robot, q_true, frames)
    if kind == "hands":
        target = [Pose(frames[0], poses[:, 0]), Pose(frames[1], poses[:, 1])]
    else:
        target = poses[:, 0] if kind == "pose" else poses[:, 0, :2, 3]
    result = kin.solve(robot, target, max_iterations=1, starts=1)
    assert result.success.all()
    # the near restart, and beside it the extra uniform starts a small batch gives a straggler
    np.testing.assert_array_equal(result.restarts, 1 + ik.EXTRA_STARTS)
    np.testing.assert_array_equal(result.q, q_true)


def test_near_restarts_take_the_nearest_in_order_then_uniform_ones():
    chain = robots.get("ur5")
    _, lo, span = ik._starts_box(chain)
    targets = kin.forward_kinematics(chain, lo + span * np.random.default_rng(19).random((3, chain.n)))
    goals = [Goal("tool", targets)]
    near = starts.nearest_starts(chain, goals, ik.NEAR_RESTARTS, lo, span)  # (3, NEAR_RESTARTS, n)
    restarts = ik._NearRestarts(chain, goals)
    draws = []

    def uniform(count):
        draws.append(count)
        return np.full((count, chain.n), -7.0)

    # target 0 restarts alone, then targets 0 and 2 with two rows of 2 (grouped, in target order)
    np.testing.assert_array_equal(restarts.take(np.array([0]), uniform), near[0, :1])
    got = restarts.take(np.array([0, 2, 2]), uniform)
    np.testing.assert_array_equal(got, [near[0, 1], near[2, 0], near[2, 1]])
    for _ in range(ik.NEAR_RESTARTS - 2):
        restarts.take(np.array([0]), uniform)
    assert not draws  # every restart so far was a near one
    np.testing.assert_array_equal(restarts.take(np.array([0, 1]), uniform), [np.full(chain.n, -7.0), near[1, 0]])
    assert draws == [1]


def test_near_restarts_cut_a_batchs_iterations(monkeypatch):
    # Measured on 1,000 Puma 560 targets: mean iterations 22.0 -> 14.7, restarts 2.1 -> 1.0 a target.
    chain = robots.get("puma560")
    _, lo, span = ik._starts_box(chain)
    targets = kin.forward_kinematics(chain, lo + span * np.random.default_rng(13).random((1000, chain.n)))

    def run():
        result = kin.solve(chain, targets)
        e = kin.pose_error(kin.forward_kinematics(chain, result.q), targets)
        assert np.all(np.linalg.norm(e[:, :3], axis=-1) <= 1e-6)
        assert np.all(np.linalg.norm(e[:, 3:], axis=-1) <= 1e-6)
        return result.iterations.mean()

    near = run()
    monkeypatch.setattr(ik, "NEAR_RESTARTS", 0)
    assert near < 0.8 * run()



def test_soft_tasks_leave_a_batchs_near_restarts_alone():
    # The same targets at sampled configurations as above, with a soft task beside the pose: the
    # hard search takes the same near restarts, so one iteration per start still meets them all.
    chain = robots.get("panda")
    q_true = _at_samples(chain, ["tool"], 40)
    T = kin.forward_kinematics(chain, q_true)
    posture = Posture(ik.default_start(chain), weight=1e-3)
    result = kin.solve(chain, [Pose("tool", T), posture], max_iterations=1, starts=1, soft_iterations=0)
    assert result.success.all()
    np.testing.assert_array_equal(result.q, q_true)
