"""kinematics.frame_jacobian: the geometric Jacobian of a named frame as a forward expression of q.

Oracles: the closed-form `geometric_jacobian` and the engine's backward-pass `jacobian` on every
built-in chain and on the example arm files with prismatic joints; central differences of
`frame_poses` on hand-built trees with prismatic and mimic joints; pinocchio's frame Jacobians
(LOCAL_WORLD_ALIGNED: rows [v; ω] in the world frame) on whole URDF trees; and central differences
of logdet(J Jᵀ + εI) for the second-order path (a cost of J backpropagated through the engine).
"""

import doctest
import math
import pathlib

import numpy as np
import pytest

import autodiff as ad
import kinematics as kin
import robots
from kinematics import fk

from test_robot import RJ, mimic_tree, y_tree  # tests/kinematics is on sys.path (rootdir, no packages)

EXAMPLES = pathlib.Path(__file__).parents[2] / "robots" / "examples"


def random_q(robot, size, seed):
    """Configurations within the limits; unbounded joints in [-π, π]."""
    lower = np.where(np.isfinite(robot.lower), robot.lower, -np.pi)
    upper = np.where(np.isfinite(robot.upper), robot.upper, np.pi)
    return np.random.default_rng(seed).uniform(lower, upper, size + (robot.n,))


CHAINS = [(name, robots.get(name)) for name in robots.available()] + [
    (f"{file}.toml", robots.load(EXAMPLES / f"{file}.toml")) for file in ("scara_dh", "custom_joints")]


def test_the_example_arms_have_prismatic_joints():
    for name, chain in CHAINS[-2:]:
        assert "prismatic" in [j.type for j in chain.joints], name


@pytest.mark.parametrize("name, chain", CHAINS, ids=[c[0] for c in CHAINS])
def test_chain_tool_jacobian_equals_the_closed_form_and_the_engine_jacobian(name, chain):
    q = random_q(chain, (4,), seed=len(name))
    J = kin.frame_jacobian(chain, q, "tool")
    assert isinstance(J, np.ndarray) and J.shape == (4, 6, chain.n)
    np.testing.assert_allclose(J, kin.geometric_jacobian(chain, q), rtol=0, atol=1e-12)
    np.testing.assert_allclose(J, kin.jacobian(chain, q), rtol=0, atol=1e-12)
    tensor = kin.frame_jacobian(kin.Robot.from_chain(chain), ad.Tensor(q), "tool")  # a Robot too, q a Tensor
    assert isinstance(tensor, ad.Tensor)
    np.testing.assert_allclose(tensor.data, J, rtol=0, atol=1e-15)


def numerical_frame_jacobian(robot, q, frame, eps=1e-6):
    """[v; ω] by central differences of the frame's pose: v = dp/dq_i, ω = vex(dR/dq_i Rᵀ)."""
    R = kin.frame_poses(robot, q, [frame])[0, :3, :3]
    columns = []
    for i in range(robot.n):
        step = np.zeros(robot.n)
        step[i] = eps
        dT = (kin.frame_poses(robot, q + step, [frame])[0] - kin.frame_poses(robot, q - step, [frame])[0]) / (2 * eps)
        W = dT[:3, :3] @ R.T
        columns.append(np.concatenate([dT[:3, 3], [W[2, 1], W[0, 2], W[1, 0]]]))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("make", [y_tree, mimic_tree])
def test_every_frame_of_a_tree_matches_finite_differences(make):
    robot = make()
    for b, q in enumerate(random_q(robot, (3,), seed=5)):
        for frame in robot.frames:
            np.testing.assert_allclose(kin.frame_jacobian(robot, q, frame), numerical_frame_jacobian(robot, q, frame),
                                       rtol=0, atol=1e-9, err_msg=f"{robot.name}, frame {frame}, q #{b}")


def test_joints_off_the_path_give_zero_columns_and_mimics_add_into_their_source():
    robot = mimic_tree()  # m1 (below the right hand) mimics l2 (left branch) by -2 q + 0.3
    q = random_q(robot, (), seed=1)
    column = {name: i for i, name in enumerate(robot.joint_names)}
    grip = kin.frame_jacobian(robot, q, "grip")
    assert not grip[:, [column["r1"], column["r2"]]].any()
    m1 = kin.frame_jacobian(robot, q, "m1_link")
    assert np.abs(m1[:, column["l2"]]).max() > 0.1  # l2 moves m1_link only through the coupling
    assert not m1[:, column["l1"]].any()
    # m1 sits at m1_link's origin: its column there is -2 (0; z_m1), z_m1 = R_m1_link · axis
    R = kin.frame_poses(robot, q, ["m1_link"])[0, :3, :3]
    np.testing.assert_allclose(m1[:, column["l2"]], -2.0 * np.concatenate([np.zeros(3), R @ [0, 1, 0]]),
                               rtol=0, atol=1e-15)


def test_frames_that_nothing_moves_have_a_zero_jacobian():
    joints = [RJ("mount", "world", "plate", "fixed"), RJ("j", "plate", "arm", "revolute", axis=[0, 1, 0])]
    robot = kin.Robot(joints, frames={"marker": ("plate", np.eye(4))})
    for frame in ("world", "plate", "marker"):
        np.testing.assert_array_equal(kin.frame_jacobian(robot, np.zeros((2, 1)), frame), np.zeros((2, 6, 1)))
        tensor = kin.frame_jacobian(robot, ad.Tensor(np.zeros(1)), frame)
        assert isinstance(tensor, ad.Tensor) and tensor.shape == (6, 1) and not tensor.data.any()


def test_batched_and_single_configurations_agree():
    robot = mimic_tree()
    q = random_q(robot, (2, 3), seed=2)
    J = kin.frame_jacobian(robot, q, "m2_link")
    assert J.shape == (2, 3, 6, robot.n)
    np.testing.assert_allclose(J[1, 2], kin.frame_jacobian(robot, q[1, 2], "m2_link"), rtol=0, atol=1e-15)
    np.testing.assert_allclose(kin.frame_jacobian(robot, ad.Tensor(q), "m2_link").data, J, rtol=0, atol=1e-15)


# -- whole URDF trees against pinocchio ---------------------------------------------------------
TREES = [  # (file, a mimic joint or None)
    ("talos_data/robots/talos_reduced.urdf", None),  # humanoid: two arms and legs from one torso
    ("tiago_description/robots/tiago_dual.urdf", None),  # dual arm, continuous wheels
    ("baxter_description/urdf/baxter.urdf", "r_gripper_r_finger_joint"),  # dual arm, mimicking fingers
    ("panda_description/urdf/panda.urdf", "panda_finger_joint2"),
]


def _pinocchio_q(pin, model, robot, q):
    """armgrad's q as pinocchio's configuration, and the velocity column of each of q's joints."""
    configuration, columns = pin.neutral(model), []
    for name, value in zip(robot.joint_names, q):
        joint = model.joints[model.getJointId(name)]
        if joint.nq == 2:  # continuous: (cos, sin), one velocity
            configuration[joint.idx_q:joint.idx_q + 2] = math.cos(value), math.sin(value)
        else:
            configuration[joint.idx_q] = value
        columns.append(joint.idx_v)
    return configuration, columns


@pytest.mark.parametrize("relative, mimic", TREES, ids=[t[0].split("/")[-1] for t in TREES])
def test_every_link_jacobian_matches_pinocchio(relative, mimic):
    pin = pytest.importorskip("pinocchio", reason="pinocchio (pip install pin) is the oracle")
    folder = robots.example_robot_data()
    if folder is None or not (folder / relative).is_file():
        pytest.skip(f"example-robot-data with {relative} is not installed")
    path = folder / relative
    robot = robots.load_robot(path)
    model = pin.buildModelFromXML(path.read_text(), mimic=True)  # mimic joints: coupled, as armgrad's
    data = model.createData()
    links = [f.name for f in model.frames if f.type == pin.FrameType.BODY]
    assert sorted(links) == sorted(robot.links)
    for b, q in enumerate(random_q(robot, (2,), seed=13)):
        configuration, columns = _pinocchio_q(pin, model, robot, q)
        for link in links:
            frame_id = model.getFrameId(link, pin.FrameType.BODY)
            expected = pin.computeFrameJacobian(model, data, configuration, frame_id, pin.LOCAL_WORLD_ALIGNED)
            np.testing.assert_allclose(kin.frame_jacobian(robot, q, link), expected[:, columns], rtol=0, atol=1e-12,
                                       err_msg=f"{relative}, link {link}, q #{b}")
    if mimic:  # the mimicking finger moves with its master: that column comes through the coupling
        master = robot.source[robot.n + robot.mimic_names.index(mimic)]
        finger = next(j.child for j in robot.joints if j.name == mimic)
        assert np.abs(kin.frame_jacobian(robot, q, finger)[:3, master]).max() > 0.1


# -- second order: a cost of J backpropagated to q ------------------------------------------------

def log_manipulability(robot, frame, rows=slice(None)):
    """q -> log det(J Jᵀ + 1e-9 I) of the frame's Jacobian rows: Yoshikawa's measure, squared, in logs."""

    def f(q):
        J = kin.frame_jacobian(robot, q, frame)[..., rows, :]
        return ad.logdet(J @ J.mT + 1e-9 * np.eye(J.shape[-2]))

    return f


def test_log_manipulability_of_the_panda_equals_numpy_and_its_gradient_finite_differences():
    chain = robots.get("panda")
    q = random_q(chain, (3,), seed=7)
    f = log_manipulability(chain, "tool")
    J = kin.geometric_jacobian(chain, q)
    gram = J @ np.swapaxes(J, -1, -2) + 1e-9 * np.eye(6)
    np.testing.assert_allclose(f(ad.Tensor(q)).data, np.linalg.slogdet(gram)[1], rtol=1e-12)
    ad.check_grads(f, q, rtol=1e-6, atol=1e-8)  # second order: d/dq of a function of dFK/dq
    leaf = ad.Tensor(q, requires_grad=True)
    ad.sum(f(leaf)).backward()
    assert np.abs(leaf.grad).max() > 0.1  # not trivially zero


def test_position_manipulability_through_mimic_and_prismatic_joints_matches_finite_differences():
    robot = mimic_tree()  # m2_link: below a prismatic joint and two mimics (one of a mimic)
    ad.check_grads(log_manipulability(robot, "m2_link", rows=slice(0, 3)), random_q(robot, (2,), seed=3),
                   rtol=1e-6, atol=1e-8)


def test_stacked_cotangents_through_the_jacobian_match_separate_passes():
    """IK pulls several residual rows back at once (a lead axis on the cotangent): J's ops must carry it."""
    robot = mimic_tree()
    leaf = ad.Tensor(random_q(robot, (4,), seed=8), requires_grad=True)
    J = kin.frame_jacobian(robot, leaf, "m2_link")
    V = np.random.default_rng(9).standard_normal((3,) + J.shape)
    J.backward(V, retain_graph=True)
    stacked = leaf.grad
    for k in range(3):
        leaf.zero_grad()
        J.backward(V[k], retain_graph=True)
        np.testing.assert_allclose(stacked[k], leaf.grad, rtol=1e-12, atol=1e-12)


# -- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, error, message", [
    ((y_tree(), np.zeros(6), "left_hnd"), ValueError, r"Robot 'y' has no frame 'left_hnd'; nearest: 'left_hand'"),
    ((y_tree(), np.zeros(6), ["grip"]), TypeError, r"frame_jacobian: frame must be a frame name \(str\), got list"),
    ((y_tree(), np.zeros(5), "grip"), ValueError, r"q must have shape \(\.\.\., 6\) for 'y', got \(5,\)"),
    ((y_tree(), np.full(6, np.inf), "grip"), ValueError, "NaN or infinite"),
    (({}, np.zeros(1), "tool"), TypeError, "expected a kinematics.Robot or Chain, got dict"),
])
def test_bad_input_is_refused_naming_the_problem(args, error, message):
    with pytest.raises(error, match=message):
        kin.frame_jacobian(*args)


def test_docstring_example():
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(fk.frame_jacobian, "frame_jacobian", globs=vars(fk).copy()):
        runner.run(test)
    assert runner.failures == 0 and runner.tries == 2
