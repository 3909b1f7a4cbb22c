"""IK as a list of tasks: residuals, Jacobians, solves on chains and trees, soft tasks, bad input.

Oracles: central finite differences of every residual (the generic tasks' Jacobians) and of the
frame poses (the geometric rows), the closed-form geometric Jacobian of a chain, an independent FK
round trip of every answer (kinematics.frame_poses / forward_kinematics at the returned q), and
the same solve without the soft task.
"""

import numpy as np
import pytest

import autodiff as ad
import kinematics as kin
import robots
from kinematics.tasks import Problem
from kinematics.transforms import rot_x, rot_z, translation

PANDA = robots.get("panda")
TOL = 1e-6


def sample_q(robot, count, seed):
    lo, hi = np.maximum(robot.lower, -np.pi), np.minimum(robot.upper, np.pi)
    return np.random.default_rng(seed).uniform(lo, hi, (count, robot.n))


def two_pandas():
    """The built-in dual arm: two Pandas on a fixed torso, frames left_tool and right_tool."""
    return robots.get("dual_panda")


def fd_jacobian(fn, q, h=1e-6):
    """Central differences of fn (R, n) -> (R, m): (R, m, n)."""
    cols = []
    for j in range(q.shape[-1]):
        dq = np.zeros_like(q)
        dq[:, j] = h
        cols.append((fn(q + dq) - fn(q - dq)) / (2 * h))
    return np.stack(cols, axis=-1)


def all_tasks(robot, q_goal, frame="tool", other="panda_joint5"):
    """One task of every hard kind, with targets from FK at q_goal (R, n)."""
    T = kin.frame_poses(robot, q_goal, [frame, other])
    Tf, To = T[:, 0], T[:, 1]
    return [
        kin.Pose(frame, Tf),
        kin.Position(frame, Tf[:, :3, 3]),
        kin.Orientation(frame, Tf[:, :3, :3]),
        kin.Axis(frame, [0, 0, 1], Tf[:, :3, 2]),
        kin.Axis(frame, [1, 1, 0], Tf[:, :3, :3] @ (np.array([1, 1, 0]) / np.sqrt(2)), position=Tf[:, :3, 3]),
        kin.Relative(other, frame, np.linalg.inv(To) @ Tf),
    ]


# -- residuals and Jacobians ---------------------------------------------------------------------

@pytest.mark.parametrize("k", range(6))
def test_each_residual_vanishes_at_its_goal_and_its_jacobian_matches_differences(k):
    q_goal, q = sample_q(PANDA, 4, seed=1), sample_q(PANDA, 4, seed=2)
    task = all_tasks(PANDA, q_goal)[k]
    problem = Problem(PANDA, [task], TOL, TOL)
    idx = np.arange(4)
    np.testing.assert_allclose(problem.residuals(q_goal, idx), 0.0, atol=1e-12)
    e, A = problem.evaluate(q, idx)
    np.testing.assert_allclose(e, problem.residuals(q, idx), rtol=0, atol=1e-13)
    if task.geometric is None:  # backpropagated: exactly −∂e/∂q
        np.testing.assert_allclose(A, -fd_jacobian(lambda x: problem.residuals(x, idx), q), rtol=0, atol=1e-7)
    else:  # the frame's geometric Jacobian rows, as the closed form
        J = kin.geometric_jacobian(PANDA, q)[:, task.geometric]
        np.testing.assert_allclose(A, J, rtol=0, atol=1e-12)


def test_geometric_rows_of_tree_frames_match_differences_of_their_poses():
    robot = two_pandas()
    q = sample_q(robot, 3, seed=4)
    problem = Problem(robot, [kin.Pose("left_tool", np.eye(4)), kin.Position("right_tool", [0, 0, 0])], TOL, TOL)
    _, A = problem.evaluate(q, np.zeros(3, dtype=int))

    def frame(x, name):
        return kin.frame_poses(robot, x, [name])[:, 0]

    for name, rows in (("left_tool", A[:, :6]), ("right_tool", A[:, 6:])):
        def position(x, name=name):
            return frame(x, name)[:, :3, 3]

        def rotation(x, name=name):
            return frame(x, name)[:, :3, :3].reshape(-1, 9)

        np.testing.assert_allclose(rows[:, :3], fd_jacobian(position, q), atol=1e-8)
        if name == "left_tool":  # ω = vex(dR Rᵀ)
            R = frame(q, name)[:, :3, :3]
            dR = fd_jacobian(rotation, q).reshape(3, 3, 3, -1)
            W = np.einsum("bijn,bkj->bikn", dR, R)
            omega = np.stack([W[:, 2, 1], W[:, 0, 2], W[:, 1, 0]], axis=1)
            np.testing.assert_allclose(rows[:, 3:], omega, atol=1e-8)
    # Each arm moves only its own hand.
    assert np.all(A[:, :6, 7:] == 0) and np.all(A[:, 6:, :7] == 0)


def test_axis_residual_is_smooth_and_nonzero_when_flipped():
    task = kin.Axis("tool", [0, 0, 1], [0, 0, -1])
    T = {"tool": np.eye(4)[None]}
    assert np.linalg.norm(task.residual(T, None, np.zeros(1, dtype=int))) == pytest.approx(2.0)  # a × d would be 0
    _, angle = task.errors(task.residual(T, None, np.zeros(1, dtype=int)))
    assert angle[0] == pytest.approx(np.pi)


# -- solves: FK round trips ----------------------------------------------------------------------

@pytest.mark.parametrize("k", range(6))
def test_every_hard_task_kind_solves_by_an_fk_round_trip(k):
    q_goal = sample_q(PANDA, 40, seed=10 + k)
    task = all_tasks(PANDA, q_goal)[k]
    result = kin.solve(PANDA, [task])
    assert result.success.mean() == 1.0, result.reason
    assert np.all((result.q >= PANDA.lower) & (result.q <= PANDA.upper))
    # Independent check: the residual from FK at the answer, measured the task's way.
    e = Problem(PANDA, [task], TOL, TOL).residuals(result.q, np.arange(40))
    position, angle = task.errors(e)
    assert position.max() <= TOL and angle.max() <= TOL
    errors = result.task_errors[0]
    assert set(errors) == set(task.measures)
    for measure, value in (("position", position), ("angle", angle)):
        if measure in errors:
            np.testing.assert_allclose(errors[measure], value, atol=1e-15)


def test_a_bare_target_is_the_one_task_case_bit_for_bit():
    T = kin.forward_kinematics(PANDA, sample_q(PANDA, 20, seed=5))
    bare, task = kin.solve(PANDA, T), kin.solve(PANDA, [kin.Pose("tool", T)])
    np.testing.assert_array_equal(bare.q, task.q)
    np.testing.assert_array_equal(bare.iterations, task.iterations)
    one = kin.solve(PANDA, T[0])
    assert one.task_errors == [{"position": one.position_error, "angle": one.rotation_error}]
    tree = kin.solve(kin.Robot.from_chain(PANDA), [kin.Pose("tool", T)])  # the tree's own evaluation
    assert tree.success.all()
    np.testing.assert_allclose(kin.forward_kinematics(PANDA, tree.q), T, atol=2e-6)


def test_two_hands_reach_two_sampled_poses_at_once():
    robot = two_pandas()
    q_goal = sample_q(robot, 200, seed=21)
    T = kin.frame_poses(robot, q_goal, ["left_tool", "right_tool"])
    result = kin.solve(robot, [kin.Pose("left_tool", T[:, 0]), kin.Pose("right_tool", T[:, 1])])
    assert result.success.mean() >= 0.995
    got = kin.frame_poses(robot, result.q, ["left_tool", "right_tool"])
    ok = result.success
    errors = np.linalg.norm(got[ok, :, :3, 3] - T[ok, :, :3, 3], axis=-1)
    assert errors.max() <= TOL
    assert [set(e) for e in result.task_errors] == [{"position", "angle"}] * 2
    np.testing.assert_allclose(result.position_error, np.maximum(result.task_errors[0]["position"],
                                                                 result.task_errors[1]["position"]))


@pytest.mark.parametrize("relative, hands", [
    ("baxter_description/urdf/baxter.urdf", ["left_gripper", "right_gripper"]),  # 17 joints, 2 mimic fingers
    ("talos_data/robots/talos_reduced.urdf", ["gripper_left_base_link", "gripper_right_base_link"]),  # 32 joints
])
def test_real_dual_arm_urdfs_reach_two_sampled_hand_poses(relative, hands):
    folder = robots.example_robot_data()
    if folder is None or not (folder / relative).is_file():
        pytest.skip(f"example-robot-data with {relative} is not installed (pip install example-robot-data)")
    robot = robots.load_robot(folder / relative)
    T = kin.frame_poses(robot, sample_q(robot, 300, seed=23), hands)
    result = kin.solve(robot, [kin.Pose(hands[0], T[:, 0]), kin.Pose(hands[1], T[:, 1])])
    got = kin.frame_poses(robot, result.q, hands)  # the FK round trip
    pe = np.linalg.norm(got[..., :3, 3] - T[..., :3, 3], axis=-1).max(axis=-1)
    re = np.linalg.norm(kin.rotation_vector(T[..., :3, :3] @ np.swapaxes(got[..., :3, :3], -1, -2)), axis=-1)
    solved = (pe <= TOL) & (re.max(axis=-1) <= TOL) & np.all((result.q >= robot.lower) & (result.q <= robot.upper), -1)
    assert solved.mean() >= 0.995
    np.testing.assert_array_equal(solved, result.success)  # the flag says what FK says


def test_relative_task_holds_a_box_between_the_hands():
    robot = two_pandas()
    q_goal = sample_q(robot, 30, seed=22)
    T = kin.frame_poses(robot, q_goal, ["left_tool", "right_tool"])
    grip = np.linalg.inv(T[:, 0]) @ T[:, 1]
    tasks = [kin.Position("left_tool", T[:, 0, :3, 3]), kin.Relative("left_tool", "right_tool", grip)]
    result = kin.solve(robot, tasks)
    assert result.success.all(), result.reason
    got = kin.frame_poses(robot, result.q, ["left_tool", "right_tool"])
    rel = np.linalg.inv(got[:, 0]) @ got[:, 1]
    np.testing.assert_allclose(rel, grip, atol=5e-6)


def test_axis_leaves_the_spin_free_and_returns_the_answer_nearest_q0():
    q_goal = sample_q(PANDA, 1, seed=30)[0]
    T = kin.forward_kinematics(PANDA, q_goal)
    task = kin.Axis("tool", [0, 0, 1], T[:3, 2], position=T[:3, 3])
    answers = []
    for spin in (-1.0, 0.0, 1.0):  # joint 7 turns about the tool's own z: every value meets the task
        q0 = q_goal.copy()
        q0[6] = np.clip(q0[6] + spin, PANDA.lower[6], PANDA.upper[6])
        result = kin.solve(PANDA, task, q0=q0)
        assert result.success
        answers.append(result.q)
        assert np.linalg.norm(result.q - q0) < 1e-6 + np.linalg.norm(q_goal - q0) * 1e-3  # q0 already meets it
    assert np.ptp(np.array(answers)[:, 6]) > 1.0  # distinct answers
    # The spin really was free: the answers' tool x axes differ, and a Pose from one of them must turn it.
    x_axes = kin.forward_kinematics(PANDA, np.array(answers))[:, :3, 0]
    assert np.linalg.norm(x_axes[0] - x_axes[2]) > 0.5
    pose = kin.solve(PANDA, kin.Pose("tool", T), q0=answers[0])
    assert pose.success
    np.testing.assert_allclose(kin.forward_kinematics(PANDA, pose.q)[:3, 0], T[:3, 0], atol=2e-6)


def test_axis_from_a_distant_start_meets_the_direction_and_frees_the_spin():
    q_goal = sample_q(PANDA, 50, seed=31)
    T = kin.forward_kinematics(PANDA, q_goal)
    down = kin.solve(PANDA, kin.Axis("tool", [0, 0, 1], T[:, :3, 2], position=T[:, :3, 3]))
    assert down.success.all()
    # The spins of the answers differ from the goals': the task did not ask for them.
    z = kin.forward_kinematics(PANDA, down.q)[:, :3, 2]
    np.testing.assert_allclose(z, T[:, :3, 2], atol=2e-6)
    x_angle = np.arccos(np.clip(np.sum(kin.forward_kinematics(PANDA, down.q)[:, :3, 0] * T[:, :3, 0], axis=-1), -1, 1))
    assert np.max(x_angle) > 1e-3


def test_position_and_orientation_tasks_together_equal_a_pose():
    q_goal = sample_q(PANDA, 30, seed=32)
    T = kin.forward_kinematics(PANDA, q_goal)
    result = kin.solve(PANDA, [kin.Position("tool", T[:, :3, 3]), kin.Orientation("tool", T[:, :3, :3])])
    assert result.success.all()
    np.testing.assert_allclose(kin.forward_kinematics(PANDA, result.q), T, atol=3e-6)


def test_unbatched_tasks_broadcast_against_batched_ones():
    robot = two_pandas()
    q_goal = sample_q(robot, 10, seed=33)
    T = kin.frame_poses(robot, q_goal, ["left_tool", "right_tool"])
    fixed_left = T[0, 0]
    result = kin.solve(robot, [kin.Pose("left_tool", fixed_left), kin.Position("right_tool", T[:, 1, :3, 3])])
    assert result.q.shape == (10, 14) and result.success.all()
    got = kin.frame_poses(robot, result.q, ["left_tool"])[:, 0]
    np.testing.assert_allclose(got, np.broadcast_to(fixed_left, got.shape), atol=3e-6)


@pytest.mark.parametrize("method", ["gd", "adam"])
def test_gradient_methods_take_tasks(method):
    chain = robots.get("planar3")
    target = kin.frame_poses(chain, [0.3, 0.5, -0.4], ["joint3"])[0, :3, 3]
    result = kin.solve(chain, [kin.Position("joint3", target)], method=method, tol_position=1e-4)
    assert result.success, result.reason
    tip = kin.frame_poses(chain, result.q, ["joint3"])[0, :3, 3]
    assert np.linalg.norm(tip - target) <= 1e-4


def test_each_task_has_its_own_tolerance():
    q_goal = sample_q(PANDA, 1, seed=34)[0]
    T = kin.forward_kinematics(PANDA, q_goal)
    loose = kin.solve(PANDA, [kin.Position("tool", T[:3, 3], tol_position=1e-2)], q0=q_goal * 0.9)
    tight = kin.solve(PANDA, [kin.Position("tool", T[:3, 3], tol_position=1e-12)], q0=q_goal * 0.9)
    assert loose.success and tight.success and tight.position_error <= 1e-12 < loose.position_error <= 1e-2
    assert loose.iterations < tight.iterations


# -- soft tasks ----------------------------------------------------------------------------------

def test_posture_lowers_the_distance_to_rest_while_the_pose_holds_1e6():
    q_goal = sample_q(PANDA, 100, seed=40)
    T = kin.forward_kinematics(PANDA, q_goal)
    rest = 0.5 * (PANDA.lower + PANDA.upper)
    plain = kin.solve(PANDA, kin.Pose("tool", T))
    soft = kin.solve(PANDA, [kin.Pose("tool", T), kin.Posture(rest, weight=1.0)])
    assert soft.success.all() and plain.success.all()
    d_plain, d_soft = (np.linalg.norm(r.q - rest, axis=-1) for r in (plain, soft))
    assert np.all(d_soft <= d_plain + 1e-12) and d_soft.mean() < d_plain.mean() - 0.05
    pe = np.linalg.norm(kin.forward_kinematics(PANDA, soft.q)[:, :3, 3] - T[:, :3, 3], axis=-1)
    assert pe.max() <= TOL
    np.testing.assert_allclose(soft.task_errors[1]["cost"], 0.5 * d_soft ** 2, rtol=1e-12)
    assert np.all((soft.q >= PANDA.lower) & (soft.q <= PANDA.upper))


def test_a_user_cost_is_lowered_through_backprop():
    chain = robots.get("planar3")
    target = np.array([1.2, 0.9])

    def elbow_height(T, q):  # keep joint 3's origin at y = 0.5 (it can lie anywhere from 0.3 to 1.5)
        return (T["joint3"][..., 1, 3] - 0.5) ** 2

    tasks = [kin.Position("tool", np.append(target, 0)), kin.Cost(elbow_height, 1.0, frames="joint3")]
    result = kin.solve(chain, tasks)
    assert result.success
    elbow = kin.frame_poses(chain, result.q, ["joint3"])[0, :3, 3]
    assert abs(elbow[1] - 0.5) < 1e-4
    assert result.task_errors[1]["cost"] == pytest.approx((elbow[1] - 0.5) ** 2)


def test_soft_tasks_never_cost_a_hard_task_its_tolerance():
    q_goal = sample_q(PANDA, 50, seed=41)
    T = kin.forward_kinematics(PANDA, q_goal)

    def pull(T_, q):  # a cost that would drag the tool far away if it could
        return ad.sum((T_["tool"][..., :3, 3] - 5.0) ** 2, axis=-1)

    result = kin.solve(PANDA, [kin.Pose("tool", T), kin.Cost(pull, 100.0, frames=["tool"])])
    assert result.success.all()
    got = kin.forward_kinematics(PANDA, result.q)
    assert np.linalg.norm(got[:, :3, 3] - T[:, :3, 3], axis=-1).max() <= TOL


# -- reasons -------------------------------------------------------------------------------------

def test_reasons_name_the_task_and_start_with_the_cause():
    robot = two_pandas()
    q_goal = sample_q(robot, 1, seed=50)
    T = kin.frame_poses(robot, q_goal, ["left_tool"])[0, 0]
    far = translation([5.0, 0.0, 0.5])
    result = kin.solve(robot, [kin.Pose("left_tool", T), kin.Position("right_tool", far[:3, 3])], max_restarts=4)
    assert not result.success
    assert result.reason.startswith("out of reach: Position('right_tool'): the target lies")
    budget = kin.solve(robot, [kin.Pose("left_tool", T), kin.Position("right_tool", far[:3, 3])], time_budget=1e-9)
    assert budget.reason.startswith("time budget: ")


def test_limits_are_named_when_they_stop_the_solver():
    arm = robots.planar([1.0, 1.0], limits=[(-np.pi, np.pi), (0.0, 0.5)])
    target = kin.forward_kinematics(robots.planar([1.0, 1.0]), [0.0, 1.5])[:3, 3]  # needs joint 2 at 1.5 rad
    result = kin.solve(arm, kin.Position("tool", target), max_restarts=4)
    assert not result.success
    assert result.reason.startswith("limits: Position('tool') stopped against the limits of joint(s) 'joint2'")


# -- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, message", [
    (lambda: kin.Pose("tol", np.eye(4)), ValueError,
     r"Pose\('tol'\): Robot 'panda' has no frame 'tol'; nearest: 'tool'"),
    (lambda: kin.Position("base", [0, 0, 1]), ValueError,
     r"Position\('base'\): no joint of 'panda' moves frame 'base'"),
    (lambda: kin.Axis("tool", [0, 0, 0], [0, 0, 1]), ValueError, r"Axis\('tool'\): axis must be a nonzero vector"),
    (lambda: kin.Axis("tool", [0, 0, 1], [0, 0, 0]), ValueError, r"direction must be a nonzero vector"),
    (lambda: [kin.Position("tool", np.zeros((3, 3))), kin.Orientation("tool", np.tile(np.eye(3), (2, 1, 1)))],
     ValueError, r"batched tasks must share one batch size, got Position\('tool'\): 3, Orientation\('tool'\): 2"),
    (lambda: kin.Pose("tool", np.ones((4, 4))), ValueError, r"Pose\('tool'\): T: poses must be rigid transforms"),
    (lambda: kin.Position("tool", [np.nan, 0, 0]), ValueError, r"Position\('tool'\): p contains NaN"),
    (lambda: kin.Relative("tool", "tool", np.eye(4)), ValueError, r"the two frames must differ"),
    (lambda: [kin.Pose("tool", np.eye(4)), np.eye(4)], TypeError, r"every entry must be a kinematics task"),
    (lambda: [kin.Posture(np.zeros(7))], ValueError, r"at least one hard task"),
    (lambda: [kin.Pose("tool", np.eye(4)), kin.Posture(np.zeros(6))], ValueError, r"Posture: q_rest has 6 values"),
    (lambda: [kin.Position("tool", [0.3, 0, 0.5]), kin.Cost(lambda T, q: q, frames=())], ValueError,
     r"Cost\(<lambda>\): fn must return one cost per row, shape \(1,\), got \(1, 7\)"),
    (lambda: [kin.Position("tool", [0.3, 0, 0.5]), kin.Cost(lambda T, q: q[..., 0] * np.nan)], ValueError,
     r"Cost\(<lambda>\): fn returned NaN"),
    (lambda: kin.Pose("tool", np.eye(4), tol_position=0), ValueError, r"tol_position must be a finite positive"),
    (lambda: kin.Posture(np.zeros(7), weight=-1), ValueError, r"weight must be a finite non-negative"),
])
def test_bad_tasks_raise_clear_errors_naming_the_task(make, error, message):
    with pytest.raises(error, match=message):
        kin.solve(PANDA, make())


def test_weights_belong_to_tasks_and_bare_targets_on_trees_need_one_end():
    with pytest.raises(ValueError, match=r"weights apply to a bare target"):
        kin.solve(PANDA, kin.Pose("tool", np.eye(4)), weights=(1, 0))
    with pytest.raises(ValueError, match=r"robot 'dual_panda' has 2 end frames \('left_tool', 'right_tool'\)"):
        kin.solve(two_pandas(), np.eye(4))
    tree = kin.Robot.from_chain(PANDA)  # one end frame: "tool"
    T = kin.forward_kinematics(PANDA, sample_q(PANDA, 1, seed=60)[0])
    assert kin.solve(tree, T).success


def test_chain_base_with_rotation_and_a_task_on_a_middle_link():
    arm = PANDA.replace(base=translation([0.2, 0.1, 0.3]) @ rot_z(0.4) @ rot_x(0.1))
    q_goal = sample_q(arm, 20, seed=61)
    T = kin.frame_poses(arm, q_goal, ["panda_joint6"])[:, 0]
    result = kin.solve(arm, kin.Pose("panda_joint6", T))
    assert result.success.all()
    np.testing.assert_allclose(kin.frame_poses(arm, result.q, ["panda_joint6"])[:, 0], T, atol=3e-6)


def test_history_of_a_task_solve_holds_the_worst_task_errors_in_metres_and_radians():
    robot = two_pandas()
    q_goal = sample_q(robot, 2, seed=70)
    T = kin.frame_poses(robot, q_goal, ["left_tool", "right_tool"])
    tasks = [kin.Pose("left_tool", T[:, 0]), kin.Position("right_tool", T[:, 1, :3, 3], tol_position=1e-7)]
    result = kin.solve(robot, tasks, record_history=True)
    assert result.success.all()
    for b, h in enumerate(result.history):
        assert len(h["q"]) == len(h["position_error"]) >= 2
        P = kin.frame_poses(robot, h["q"], ["left_tool", "right_tool"])[:, :, :3, 3]
        worst = np.linalg.norm(P - T[b, :, :3, 3], axis=-1).max(axis=-1)
        np.testing.assert_allclose(h["position_error"], worst, rtol=1e-9, atol=1e-15)
        np.testing.assert_array_equal(h["q"][-1], result.q[b])


def yoshikawa(robot, q, frame):
    J = kin.frame_jacobian(robot, q, frame)
    return np.sqrt(np.linalg.det(J @ np.swapaxes(J, -1, -2)))


def test_manipulability_cost_gradient_matches_differences():
    q = sample_q(PANDA, 3, seed=80)
    problem = Problem(PANDA, [kin.Position("tool", [0.4, 0, 0.5]), kin.Manipulability("tool", 2.0)], TOL, TOL)
    idx = np.zeros(3, dtype=int)
    c, g = problem.soft_cost(q, idx, grad=True)
    # −w log √det(J Jᵀ): the ε = 1e-9 in the task shifts it by about ε·tr((J Jᵀ)⁻¹)
    np.testing.assert_allclose(c, -2.0 * np.log(yoshikawa(PANDA, q, "tool")), rtol=1e-5)
    # h = 1e-5: row 1 is near a singularity, where log det J Jᵀ magnifies the cost's rounding
    # (~5e-13 here) and differences over 1e-6 carry ~1e-7 of noise (measured: 2.8e-7 at 1e-6,
    # 4.6e-8 at 1e-5, 4.6e-7 at 3e-5, where the truncation error takes over)
    fd = fd_jacobian(lambda x: problem.soft_cost(x, idx, grad=False)[0][:, None], q, h=1e-5)[:, 0]
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


def test_manipulability_moves_the_arm_away_from_singularities_while_the_position_holds():
    q_goal = sample_q(PANDA, 40, seed=81)
    p = kin.forward_kinematics(PANDA, q_goal)[:, :3, 3]
    plain = kin.solve(PANDA, kin.Position("tool", p))
    soft = kin.solve(PANDA, [kin.Position("tool", p), kin.Manipulability("tool", 1.0)])
    assert plain.success.all() and soft.success.all()
    before, after = yoshikawa(PANDA, plain.q, "tool"), yoshikawa(PANDA, soft.q, "tool")
    assert np.all(after >= before * (1 - 1e-9)) and np.median(after / before) > 1.2
    got = kin.forward_kinematics(PANDA, soft.q)[:, :3, 3]
    assert np.linalg.norm(got - p, axis=-1).max() <= TOL


def test_solve_path_takes_trees_and_task_lists():
    # solve_path took Chains only; a tree follows task lists now (tests/kinematics/test_paths.py).
    robot = two_pandas()
    q0 = kin.default_start(robot)
    left = kin.frame_poses(robot, q0, "left_tool")[0]
    path = kin.solve_path(robot, [[kin.Pose("left_tool", left @ translation([0, 0, 0.01 * k]))] for k in range(3)], q0)
    assert path.success.all() and path.q.shape == (3, robot.n)

