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
    q = ik._first_starts(chain, [Goal("tool", target)], q_first, ik.NEAR_STARTS + 4, rng)
    _, lo, span = ik._starts_box(chain)
    np.testing.assert_array_equal(q[0], q_first[0])
    np.testing.assert_array_equal(q[1:ik.NEAR_STARTS + 1],
                                  starts.nearest_starts(chain, [Goal("tool", target)], ik.NEAR_STARTS, lo, span)[0])
    np.testing.assert_array_equal(q[ik.NEAR_STARTS + 1:], lo + span * np.random.default_rng(9).random((3, chain.n)))


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
