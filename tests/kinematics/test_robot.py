"""kinematics.Robot and frame_poses: chains as trees, gradients, shared products, bad input.

Oracles: a built-in chain's `forward_kinematics` and `link_poses` (the tree of a Chain must give
the same poses), central differences (`ad.check_grads`), and the engine's graph itself (the
number of matmul nodes shows each shared ancestor is multiplied once). Whole URDF trees are
checked against pinocchio in tests/robots/test_load_robot.py.
"""

import numpy as np
import pytest

import autodiff as ad
import kinematics as kin
import robots
from kinematics.transforms import rot_x, translation

RJ = kin.RobotJoint


def y_tree():
    """A trunk of two joints from "root", then two branches of two joints each, a fixed joint on
    the left branch and a prismatic joint on the right; extra frame "grip" on the left hand."""
    joints = [
        RJ("t1", "root", "torso1", "revolute", translation([0, 0, 0.3]), [0, 0, 1], (-2, 2)),
        RJ("t2", "torso1", "torso2", "revolute", translation([0, 0, 0.2]) @ rot_x(0.3), [0, 1, 0], (-2, 2)),
        RJ("l1", "torso2", "left1", "revolute", translation([0, 0.2, 0]), [1, 0, 0], (-2, 2)),
        RJ("l2", "left1", "left2", "revolute", translation([0, 0.3, 0]), [0, 0, 1], (-2, 2)),
        RJ("lf", "left2", "left_hand", "fixed", translation([0.1, 0, 0.05])),
        RJ("r1", "torso2", "right1", "revolute", translation([0, -0.2, 0]), [1, 1, 0], (-2, 2)),
        RJ("r2", "right1", "right_hand", "prismatic", translation([0, -0.3, 0]), [0, 0, 1], (-0.1, 0.2)),
    ]
    return kin.Robot(joints, frames={"grip": ("left_hand", rot_x(0.5) @ translation([0, 0, 0.1]))}, name="y")


def test_attributes():
    robot = y_tree()
    assert robot.root == "root" and robot.name == "y" and robot.n == 6
    assert robot.joint_names == ["t1", "t2", "l1", "l2", "r1", "r2"]
    assert robot.frames == ["root", "torso1", "torso2", "left1", "right1", "left2", "right_hand", "left_hand", "grip"]
    np.testing.assert_array_equal(robot.lower, [-2, -2, -2, -2, -2, -0.1])
    np.testing.assert_array_equal(robot.upper, [2, 2, 2, 2, 2, 0.2])


@pytest.mark.parametrize("name", robots.available())
def test_builtin_chain_as_tree_equals_chain_fk(name):
    chain = robots.get(name)
    robot = kin.Robot.from_chain(chain)
    assert robot.frames == ["base"] + chain.joint_names + ["tool"] and robot.n == chain.n
    assert kin.Robot.from_chain(chain) is robot  # cached on the chain
    q = np.random.default_rng(3).uniform(np.maximum(chain.lower, -np.pi), np.minimum(chain.upper, np.pi),
                                         (5, chain.n))
    tool = kin.frame_poses(robot, q, ["tool"])
    assert tool.shape == (5, 1, 4, 4)
    np.testing.assert_allclose(tool[:, 0], kin.forward_kinematics(chain, q), rtol=0, atol=1e-15)
    np.testing.assert_allclose(kin.frame_poses(chain, q, chain.joint_names + ["tool"]),  # a Chain is accepted
                               kin.link_poses(chain, q), rtol=0, atol=1e-15)


def test_frame_poses_of_a_hand_built_tree_match_explicit_products():
    robot = y_tree()
    q = np.array([0.3, -0.4, 0.5, 0.2, -0.7, 0.15])

    def motion(joint, value):
        M = np.eye(4)
        if joint.type == "prismatic":
            M[:3, 3] = value * joint.axis
        else:  # Rodrigues
            k = joint.axis
            K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
            M[:3, :3] = np.eye(3) + np.sin(value) * K + (1 - np.cos(value)) * K @ K
        return M

    J = {j.name: j for j in robot.joints}
    values = dict(zip(robot.joint_names, q))
    step = {name: J[name].origin @ motion(J[name], values[name]) for name in values}
    trunk = step["t1"] @ step["t2"]
    grip = trunk @ step["l1"] @ step["l2"] @ J["lf"].origin @ robot.offsets["grip"][1]
    right = trunk @ step["r1"] @ step["r2"]
    T = kin.frame_poses(robot, q, ["grip", "right_hand", "root", "torso2"])
    np.testing.assert_allclose(T, np.stack([grip, right, np.eye(4), trunk]), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(kin.frame_poses(robot, q, "grip"), T[:1])  # one name is one frame


def test_batched_and_tensor_results_agree():
    robot = y_tree()
    q = np.random.default_rng(1).uniform(-1, 1, (2, 3, robot.n))
    T = kin.frame_poses(robot, q, ["grip", "right_hand"])
    assert T.shape == (2, 3, 2, 4, 4)
    np.testing.assert_allclose(T[1, 2], kin.frame_poses(robot, q[1, 2], ["grip", "right_hand"]), rtol=0, atol=1e-15)
    Tt = kin.frame_poses(robot, ad.Tensor(q), ["grip", "right_hand"])
    assert isinstance(Tt, ad.Tensor)
    np.testing.assert_allclose(Tt.data, T, rtol=0, atol=1e-15)


def test_gradients_through_a_branching_tree():
    robot = y_tree()
    q = np.random.default_rng(2).uniform(-1, 1, (3, robot.n))  # a batch axis
    weights = np.random.default_rng(4).normal(size=(3, 3, 4, 4))
    ad.check_grads(lambda q: ad.sum(kin.frame_poses(robot, q, ["grip", "right_hand", "torso2"]) * weights), q)
    ad.check_grads(lambda q: kin.frame_poses(robot, q, ["left_hand", "right_hand"]), q[0])


def _count(out, op):
    """The nodes of the engine's graph behind `out` recorded by `op` (an iterative walk)."""
    seen, stack, count = set(), [out], 0
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            count += node._op == op
            stack.extend(node._parents)
    return count


def test_shared_ancestors_are_multiplied_once():
    robot = y_tree()
    q = ad.Tensor(np.zeros(robot.n), requires_grad=True)
    count = {frame: _count(kin.frame_poses(robot, q, [frame]), "matmul") for frame in ("left2", "right_hand")}
    both = _count(kin.frame_poses(robot, q, ["left2", "right_hand"]), "matmul")
    # one matmul makes every local transform (φ @ table); root→torso1 is a local itself (no
    # product); then one product per link: torso2, left1, left2 (or right1, right_hand)
    assert count == {"left2": 4, "right_hand": 4}
    # together: the locals and the torso2 product once, not twice
    assert both == 1 + 1 + 2 + 2 == count["left2"] + count["right_hand"] - 2
    # frames named twice, or lying on the paths already, cost no product
    assert _count(kin.frame_poses(robot, q, ["left2", "right_hand", "left2", "torso2", "torso1"]), "matmul") == 6


def test_unknown_frame_lists_the_nearest_names():
    with pytest.raises(ValueError, match=r"Robot 'y' has no frame 'left_hnd'; nearest: 'left_hand'"):
        kin.frame_poses(y_tree(), np.zeros(6), ["grip", "left_hnd"])
    with pytest.raises(ValueError, match="at least one frame"):
        kin.frame_poses(y_tree(), np.zeros(6), [])


@pytest.mark.parametrize("q, error, message", [
    (np.zeros(5), ValueError, r"q must have shape \(\.\.\., 6\) for 'y', got \(5,\)"),
    (np.zeros((2, 7)), ValueError, r"shape \(\.\.\., 6\)"),
    (np.array([0, 0, np.nan, 0, 0, 0]), ValueError, "NaN or infinite"),
    (np.array(["a"] * 6), TypeError, "real numbers"),
])
def test_bad_q(q, error, message):
    with pytest.raises(error, match=message):
        kin.frame_poses(y_tree(), q, ["grip"])


def test_not_a_robot():
    with pytest.raises(TypeError, match="expected a kinematics.Robot or Chain, got dict"):
        kin.frame_poses({}, np.zeros(1), ["tool"])
    with pytest.raises(TypeError, match="expected a kinematics.Chain, got Robot"):  # chain-only functions stay so
        kin.forward_kinematics(y_tree(), np.zeros(6))


@pytest.mark.parametrize("joints, message", [
    ([RJ("a", "r", "x"), RJ("a", "x", "y")], "two joints are named 'a'"),
    ([RJ("a", "r", "x"), RJ("b", "s", "y")], r"exactly one root link, found 2 \(roots 'r', 's'\)"),
    ([RJ("a", "r", "x"), RJ("b", "r", "x")], "link 'x' has two parents: joints 'a' and 'b'"),
    ([RJ("a", "r", "x"), RJ("b", "y", "z"), RJ("c", "z", "y")], r"cycle .*'b', 'c'"),
    ([RJ("a", "x", "y"), RJ("b", "y", "x")], "every link has a parent"),
    ([], "at least one joint"),
])
def test_bad_trees(joints, message):
    with pytest.raises(ValueError, match=message):
        kin.Robot(joints)


@pytest.mark.parametrize("kwargs, message", [
    (dict(type="ball"), "type must be 'revolute', 'prismatic' or 'fixed'"),
    (dict(type="revolute", axis=[0, 0, 0]), "axis must be a nonzero"),
    (dict(type="revolute", limits=(1, -1)), "lower <= upper"),
    (dict(origin=translation([2e6, 0, 0])), "exceeds"),
])
def test_bad_joints(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RJ("j", "a", "b", **kwargs)


def test_bad_extra_frames():
    joint = RJ("j", "a", "b", "revolute")
    with pytest.raises(ValueError, match="frame 'b' is also a link name"):
        kin.Robot([joint], frames={"b": ("a", np.eye(4))})
    with pytest.raises(ValueError, match="frame 'f' is on unknown link 'c'"):
        kin.Robot([joint], frames={"f": ("c", np.eye(4))})


def test_deep_tree_needs_no_recursion():
    depth = 1500  # beyond Python's default recursion limit (1000)
    joints = [RJ(f"j{i}", f"l{i}", f"l{i + 1}", "revolute", translation([1e-3, 0, 0])) for i in range(depth)]
    robot = kin.Robot(joints)
    T = kin.frame_poses(robot, np.zeros(depth), [f"l{depth}"])
    np.testing.assert_allclose(T[0, :3, 3], [depth * 1e-3, 0, 0], rtol=1e-12)
