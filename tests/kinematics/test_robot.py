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
from tests.helpers import graph_ops

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


def mimic_tree(free_mimics=False):
    """y_tree plus mimic joints (free joints instead with free_mimics=True, for the oracle):
    m1 (revolute, below the right hand) mimics l2 on the other branch by -2 q + 0.3, so the frame
    "m1_link" depends on l2 only through the coupling; m2 (prismatic) mimics m1 by 0.5 q - 0.1
    (a mimic of a mimic: -q + 0.05 of l2); m3 (revolute) mimics the prismatic r2 by 3 q."""
    extra = [
        ("m1", "right_hand", "m1_link", "revolute", [0, 1, 0], ("l2", -2.0, 0.3)),
        ("m2", "m1_link", "m2_link", "prismatic", [1, 0, 1], ("m1", 0.5, -0.1)),
        ("m3", "left2", "m3_link", "revolute", [1, 0, 0], ("r2", 3, 0)),
    ]
    joints = list(y_tree().joints) + [RJ(name, parent, child, kind, translation([0.1, 0.05, 0.02]) @ rot_x(0.2), axis,
                                         (-0.5, 0.5), None if free_mimics else mimic)
                                      for name, parent, child, kind, axis, mimic in extra]
    return kin.Robot(joints, frames={"grip": ("left_hand", rot_x(0.5) @ translation([0, 0, 0.1]))}, name="ym")


def _with_mimics(q):
    """mimic_tree's q (..., 6) as the free tree's q (..., 9): the couplings by hand."""
    l2, r2 = q[..., 3], q[..., 5]
    m1 = -2.0 * l2 + 0.3
    return np.concatenate([q, np.stack([m1, 0.5 * m1 - 0.1, 3.0 * r2], axis=-1)], axis=-1)


def test_mimic_joints_are_coupled_not_free():
    robot, free = mimic_tree(), mimic_tree(free_mimics=True)
    assert robot.n == 6 and robot.joint_names == y_tree().joint_names and free.n == 9
    assert robot.mimic_names == ["m1", "m2", "m3"] and robot.lower.shape == robot.upper.shape == (6,)
    assert repr(robot) == "Robot('ym', 11 links, 6 movable joints, 3 mimic)"
    np.testing.assert_allclose(robot.scale[6:], [-2.0, -1.0, 3.0])
    np.testing.assert_allclose(robot.shift[6:], [0.3, 0.05, 0.0])
    q = np.random.default_rng(5).uniform(-1, 1, (4, 2, robot.n))
    for frames in (robot.frames, ["m1_link"], ["m2_link", "grip"], ["m3_link"], ["left2"]):
        np.testing.assert_allclose(kin.frame_poses(robot, q, frames), kin.frame_poses(free, _with_mimics(q), frames),
                                   rtol=0, atol=1e-15)


def test_mimic_limits_narrow_their_sources_box():
    robot = mimic_tree()
    # m1 = -2 l2 + 0.3 in [-0.5, 0.5]: l2 in [-0.1, 0.4] (ends swapped); m2 = -l2 + 0.05 in [-0.5, 0.5]:
    # l2 in [-0.45, 0.55], no narrower; m3 = 3 r2 in [-0.5, 0.5]: r2 in [-1/6, 1/6], within r2's [-0.1, 0.2]
    np.testing.assert_allclose(robot.lower, [-2, -2, -2, -0.1, -2, -0.1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(robot.upper, [2, 2, 2, 0.4, 2, 1 / 6], rtol=0, atol=1e-15)
    q = np.stack(np.meshgrid(*zip(robot.lower, robot.upper)), axis=-1).reshape(-1, robot.n)  # the box's corners
    values = _with_mimics(q)[:, 6:]
    assert np.all(values >= -0.5 - 1e-15) and np.all(values <= 0.5 + 1e-15)


def test_gradients_flow_through_mimic_couplings():
    robot = mimic_tree()
    q = np.random.default_rng(6).uniform(-1, 1, (3, robot.n))  # a batch axis
    weights = np.random.default_rng(7).normal(size=(3, 3, 4, 4))
    ad.check_grads(lambda q: ad.sum(kin.frame_poses(robot, q, ["m2_link", "m3_link", "grip"]) * weights), q)
    ad.check_grads(lambda q: kin.frame_poses(robot, q, ["m1_link"]), q[0])  # l2 acts only through the mimic
    # the chain rule by hand: d/dq_l2 = -2 · d/dm1 of the free tree (columns 3 and 6)
    free, T = mimic_tree(free_mimics=True), ad.Tensor(_with_mimics(q[0]), requires_grad=True)
    ad.sum(kin.frame_poses(free, T, ["m1_link"]) * weights[0, :1]).backward()
    t = ad.Tensor(q[0], requires_grad=True)
    ad.sum(kin.frame_poses(robot, t, ["m1_link"]) * weights[0, :1]).backward()
    assert t.grad[3] != 0 and np.isclose(t.grad[3], T.grad[3] - 2.0 * T.grad[6], rtol=1e-12, atol=1e-15)


def test_a_robot_without_mimics_builds_the_same_graph():
    robot = y_tree()
    q = ad.Tensor(np.random.default_rng(0).uniform(-1, 1, (3, robot.n)), requires_grad=True)
    # the op counts of the graph with no coupling (no gather, mul or add for it): the local
    # transforms are cos_sin, a product and the constant's add, and the slider's q term (a
    # reshape, a mul and an add; only the walk to "grip" passes it)
    assert graph_ops(kin.frame_poses(robot, q, ["grip", "right_hand"])) == {
        "add": 2, "const": 4, "cos_sin": 1, "getitem": 6, "leaf": 1, "matmul": 7, "mul": 1, "reshape": 2, "stack": 1,
        "transpose": 1}
    assert graph_ops(kin.frame_poses(robot, q, ["left2"])) == {  # a part of the tree: one gather of q's columns
        "add": 1, "const": 2, "cos_sin": 1, "getitem": 5, "leaf": 1, "matmul": 4, "reshape": 1, "stack": 1,
        "transpose": 1}
    # a mimic with multiplier 1 and offset 0 adds the gather only
    joints = list(robot.joints) + [RJ("m", "left2", "m_link", "revolute", mimic=("l1", 1, 0))]
    ops = graph_ops(kin.frame_poses(kin.Robot(joints), q, ["m_link"]))
    assert ops["getitem"] == 6 and ops["add"] == 1 and "mul" not in ops  # the add: the local transforms' constant


@pytest.mark.parametrize("extra, message", [
    ([RJ("m", "left2", "x", "revolute", mimic=("l22", 1, 0))], "joint 'm' mimics unknown joint 'l22'; nearest: 'l2'"),
    ([RJ("m", "left_hand", "x", "revolute", mimic=("lf", 1, 0))], "joint 'm' mimics fixed joint 'lf'"),
    ([RJ("m", "left2", "x", "revolute", mimic=("m", 1, 0))], "mimic joints form a cycle: m -> m"),
    ([RJ("m", "left2", "x", "revolute", mimic=("n", 1, 0)), RJ("n", "x", "y", "revolute", mimic=("m", 2, 0))],
     "mimic joints form a cycle: m -> n -> m"),
    ([RJ("m", "left2", "x", "revolute", mimic=("n", 1e6, 0)), RJ("n", "x", "y", "revolute", mimic=("l1", 1e6, 0))],
     "mimic chain m -> n -> l1 has multiplier 1e\\+12"),
])
def test_bad_mimics(extra, message):
    with pytest.raises(ValueError, match=message):
        kin.Robot(list(y_tree().joints) + extra)


@pytest.mark.parametrize("kwargs, message", [
    (dict(mimic=("a", 1, 0)), "a fixed joint cannot mimic"),
    (dict(type="revolute", mimic=("a", np.nan, 0)), "mimic multiplier=nan must be finite"),
    (dict(type="revolute", mimic=("a", 1, 2e6)), "mimic offset=2000000.0 must be finite and at most 1e\\+06"),
    (dict(type="revolute", mimic=("a", 1)), r"mimic must be \(master joint name, multiplier, offset\)"),
    (dict(type="revolute", mimic=("a", "x", 0)), "with real numbers"),
    (dict(type="revolute", mimic=("", 1, 0)), "mimic master must be a joint name"),
])
def test_bad_mimic_joints(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RJ("j", "a", "b", **kwargs)


@pytest.mark.parametrize("velocity", [None, 2.5, "1.5"])
def test_velocity_limit_is_kept_from_joint_to_tree_and_back(velocity):
    joint = kin.RobotJoint("j", "a", "b", "revolute", velocity=velocity)
    expected = None if velocity is None else float(velocity)
    assert joint.velocity == joint.motion.velocity == expected
    chain = kin.Chain([kin.Joint("j", velocity=velocity)])
    assert kin.Robot.from_chain(chain).joints[0].velocity == expected


@pytest.mark.parametrize("velocity", [0.0, -1.0, float("inf"), float("nan"), "fast", [1.0]])
def test_velocity_limit_must_be_positive_finite_or_none(velocity):
    with pytest.raises(ValueError, match="'j': velocity must be"):
        kin.Joint("j", velocity=velocity)


def _chain_q(robot, chain, q):
    """The chain's q columns taken from the tree's q by joint name."""
    return q[..., [robot.index[name] for name in chain.joint_names]]


def test_chain_of_a_tree_frame_gives_the_trees_fk_for_every_frame():
    robot = robots.get("dual_panda")
    q = np.random.default_rng(3).uniform(robot.lower, robot.upper, (6, robot.n))
    for frame in robot.frames[1:]:  # every frame but the root (no joint between the root and itself)
        if frame in ("left_base", "right_base"):
            continue
        chain = robot.chain(frame)
        expected = kin.frame_poses(robot, q, [frame])[:, 0]
        np.testing.assert_allclose(kin.forward_kinematics(chain, _chain_q(robot, chain, q)), expected, atol=1e-14)
    chain = robot.chain("right_tool", base="right_base")  # the arm alone, in its mount's frame
    mount = kin.frame_poses(robot, q, ["right_base"])[:, 0]
    np.testing.assert_allclose(mount @ kin.forward_kinematics(chain, _chain_q(robot, chain, q)),
                               kin.frame_poses(robot, q, ["right_tool"])[:, 0], atol=1e-14)
    assert chain.joint_names == [f"right_panda_joint{k}" for k in range(1, 8)]


def test_chain_of_a_mimic_tree_keeps_couplings_masters_and_limits():
    from tests.kinematics.test_mimic_chain import mimic_chain, random_q

    original = mimic_chain()
    chain = kin.Robot.from_chain(original).chain("tool")
    assert chain.joint_names == original.joint_names and chain.mimic_names == original.mimic_names
    assert [j.name for j in chain.masters] == ["g"]
    np.testing.assert_array_equal(np.c_[chain.lower, chain.upper], np.c_[original.lower, original.upper])
    q = random_q(original, (7,), seed=4)
    np.testing.assert_allclose(kin.forward_kinematics(chain, q), kin.forward_kinematics(original, q), atol=1e-14)


@pytest.mark.parametrize("frame, base, message", [
    ("left_tol", None, "has no frame 'left_tol'; nearest: 'left_tool'"),
    ("left_tool", "right_base", "frame 'left_tool' is not below link 'right_base'"),
    ("left_tool", "right_tool", "base 'right_tool' must be a link, not an extra frame"),
    ("left_base", None, "no movable joint between 'torso' and 'left_base'"),
    ("left_tool", "nope", "has no frame 'nope'"),
])
def test_chain_of_a_tree_refuses_bad_frames_by_name(frame, base, message):
    with pytest.raises(ValueError, match=message):
        robots.get("dual_panda").chain(frame, base=base)


def _mounted(tree, mount):
    """`tree` hung from a new root link "stand" by a fixed joint at `mount`."""
    return kin.Robot([kin.RobotJoint("mount", "stand", "base", origin=mount)] + list(tree.joints),
                     frames={"tool": tree.offsets["tool"]})


def test_chain_of_a_tree_is_planar_when_it_moves_in_a_horizontal_plane():
    tree = kin.Robot.from_chain(robots.get("planar3"))
    assert tree.chain("tool").planar and tree.chain("joint2").planar and tree.chain("tool").plane_z == 0.0
    lifted = _mounted(tree, translation([0.1, 0, 0.2])).chain("tool")
    assert lifted.planar and lifted.plane_z == pytest.approx(0.2, abs=1e-15)
    np.testing.assert_allclose(kin.link_poses(lifted, np.random.default_rng(0).uniform(-2, 2, (9, 3)))[..., 2, 3],
                               0.2, atol=1e-15)  # every frame stays at 0.2
    assert not _mounted(tree, rot_x(1e-3)).chain("tool").planar
    assert not kin.Robot.from_chain(robots.get("panda")).chain("tool").planar


def test_plane_z_is_checked_and_lifts_2d_points():
    arm = robots.get("planar2").replace(plane_z=0.25)
    np.testing.assert_array_equal(arm.lift(np.zeros((3, 2))), np.tile([0.0, 0.0, 0.25], (3, 1)))
    assert arm.replace(name="again").plane_z == 0.25
    for bad in (float("nan"), float("inf"), 2e6):
        with pytest.raises(ValueError, match="plane_z must be finite"):
            robots.get("planar2").replace(plane_z=bad)
