"""Serial chains with mimic joints: FK, link poses, the engine and closed-form Jacobians, IK, limits.

Oracles: the same chain with every joint free (`free_twin`), evaluated at the motion values the
couplings give by hand (`motion_values`); central finite differences of FK in float64; the
chain rule written out by hand (a master's Jacobian column is the sum of its followers' columns
times their multipliers); the limits of the coupled joints checked one by one on IK answers.
URDF chains are checked against pinocchio in tests/robots/test_urdf_mimic.py.
"""

import math

import numpy as np
import pytest

import autodiff as ad
import kinematics as kin
import robots
from kinematics.transforms import rot_x, rot_z, translation

from tests.helpers import central_differences, graph_ops  # the repository root is on pythonpath

J = kin.Joint


def _origin(k):
    return translation([0.05 * k, 0.3, 0.1]) @ rot_x(0.4 + 0.1 * k) @ rot_z(0.2 * k)


# j1 free; j2 = -2 j1 + 0.3 (negative multiplier, offset); j3 free prismatic; j4 mimics j2
# (a mimic of a mimic: 0.5 (-2 j1 + 0.3) - 0.1 = -j1 + 0.05); j5 free; j6 = 3 g + 0.1, where g
# is a master off the path (its column moves the path only through j6).
MIMIC = {"j2": ("j1", -2.0, 0.3), "j4": ("j2", 0.5, -0.1), "j6": ("g", 3.0, 0.1)}
KINDS = ["revolute", "revolute", "prismatic", "revolute", "revolute", "revolute"]
AXES = [[0, 0, 1], [0, 1, 0], [1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 0, 1]]
LIMITS = [(-2.0, 2.0), (-0.5, 0.7), (-0.1, 0.3), (-3.0, 3.0), (-math.inf, math.inf), (-1.0, 1.0)]


def path_joints():
    return [J(f"j{k + 1}", kind, axis, _origin(k), limits)
            for k, (kind, axis, limits) in enumerate(zip(KINDS, AXES, LIMITS))]


def mimic_chain():
    master = J("g", "revolute", [1, 0, 0], np.eye(4), (-math.inf, math.inf))
    return kin.Chain(path_joints(), base=translation([0.1, 0, 0.2]), tool=translation([0, 0, 0.15]) @ rot_x(0.3),
                     name="mimicked", mimic=MIMIC, masters=[master])


def free_twin():
    """The same path with every joint free: the oracle's chain (q = the six motion values)."""
    chain = mimic_chain()
    return kin.Chain(chain.joints, base=chain.base, tool=chain.tool, name="free")


def motion_values(q):
    """mimic_chain's q (..., 4) = (j1, j3, j5, g) as the six motion values, by hand."""
    j1, j3, j5, g = np.moveaxis(np.asarray(q), -1, 0)
    j2 = -2.0 * j1 + 0.3
    return np.stack([j1, j2, j3, 0.5 * j2 - 0.1, j5, 3.0 * g + 0.1], axis=-1)


def random_q(chain, size, seed):
    rng = np.random.default_rng(seed)
    lower = np.where(np.isfinite(chain.lower), chain.lower, -np.pi)
    upper = np.where(np.isfinite(chain.upper), chain.upper, np.pi)
    return rng.uniform(lower, upper, size=size + (chain.n,))


def test_q_holds_the_free_joints():
    chain = mimic_chain()
    assert chain.n == 4 and chain.joint_names == ["j1", "j3", "j5", "g"]
    assert chain.mimic_names == ["j2", "j4", "j6"] and len(chain.joints) == 6
    assert repr(chain) == "Chain('mimicked', 4 joints RPRR, 3 mimic)"
    source, scale, shift = chain.coupling
    np.testing.assert_array_equal(source, [0, 0, 1, 0, 2, 3])
    np.testing.assert_allclose(scale, [1, -2, 1, -1, 1, 3])
    np.testing.assert_allclose(shift, [0, 0.3, 0, 0.05, 0, 0.1])
    assert [j.name for j in chain.free_joints] == chain.joint_names
    assert all(j.limits == (lo, hi) for j, lo, hi in zip(chain.free_joints, chain.lower, chain.upper))


@pytest.mark.parametrize("size", [(), (3,), (2, 5), (1000,)])  # (1000,): the large-batch column layout of FK
def test_fk_and_link_poses_equal_the_free_chain_at_the_coupled_values(size):
    chain, free = mimic_chain(), free_twin()
    q = random_q(chain, size, seed=1)
    np.testing.assert_allclose(kin.forward_kinematics(chain, q), kin.forward_kinematics(free, motion_values(q)),
                               rtol=0, atol=1e-14)
    poses = kin.link_poses(chain, q)
    assert poses.shape == size + (7, 4, 4)  # every motion of the path (mimic joints too), then the tool
    np.testing.assert_allclose(poses, kin.link_poses(free, motion_values(q)), rtol=0, atol=1e-14)
    tensor = kin.forward_kinematics(chain, ad.Tensor(q))
    np.testing.assert_allclose(tensor.data, kin.forward_kinematics(chain, q), rtol=0, atol=1e-15)


# 1, 5 and 40 rows: the 4x4 products (padded to 1, 8, 64 rows); 300: the column layout
@pytest.mark.parametrize("rows", [1, 5, 40, 300])
def test_engine_jacobian_equals_closed_form_and_finite_differences(rows):
    chain = mimic_chain()
    q = random_q(chain, (rows,), seed=2)
    T, Jq = kin.pose_and_jacobian(chain, q)
    assert Jq.shape == (rows, 6, 4)
    np.testing.assert_allclose(T, kin.forward_kinematics(chain, q), rtol=0, atol=1e-14)
    np.testing.assert_allclose(Jq, kin.geometric_jacobian(chain, q), rtol=0, atol=1e-12)
    np.testing.assert_allclose(kin.jacobian(chain, q), Jq, rtol=0, atol=0)
    for k in range(min(rows, 5)):
        np.testing.assert_allclose(Jq[k], central_differences(chain, q[k]), rtol=0, atol=1e-8)


def test_closed_form_jacobian_is_the_chain_rule_by_hand():
    chain, free = mimic_chain(), free_twin()
    q = random_q(chain, (3,), seed=3)
    Jm = kin.geometric_jacobian(free, motion_values(q))  # (3, 6, 6): one column per motion
    # d(motions)/dq: j1 drives j1 (1), j2 (-2) and j4 (-1); j3 -> j3; j5 -> j5; g drives j6 (3)
    expected = np.stack([Jm[..., 0] - 2 * Jm[..., 1] - Jm[..., 3], Jm[..., 2], Jm[..., 4], 3 * Jm[..., 5]], axis=-1)
    np.testing.assert_allclose(kin.geometric_jacobian(chain, q), expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(kin.jacobian(chain, q), expected, rtol=0, atol=1e-12)


def test_gradients_of_a_tensor_q_pass_the_coupling():
    chain = mimic_chain()
    q = random_q(chain, (2,), seed=4)
    weights = np.random.default_rng(5).normal(size=(2, 4, 4))
    ad.check_grads(lambda q: ad.sum(kin.forward_kinematics(chain, q) * weights), q)


@pytest.mark.parametrize("rows", [1, 1000])  # both FK layouts
def test_the_coupling_costs_three_ops_and_a_plain_chain_none(rows):
    chain, free = mimic_chain(), free_twin()
    q = ad.Tensor(random_q(chain, (rows,), seed=6), requires_grad=True)
    plain = graph_ops(kin.forward_kinematics(free, ad.Tensor(motion_values(q.data), requires_grad=True)))
    coupled = graph_ops(kin.forward_kinematics(chain, q))
    extra = {op: coupled.get(op, 0) - plain.get(op, 0) for op in set(coupled) | set(plain)}
    assert {op: k for op, k in extra.items() if k} == {"getitem": 1, "mul": 1, "add": 1, "const": 2}
    # a chain without mimic joints carries no coupling: its graph has not one op more than before
    assert free.coupling is None and free.free_joints is free.joints
    panda = graph_ops(kin.forward_kinematics(robots.get("panda"), ad.Tensor(np.zeros((rows, 7)), requires_grad=True)))
    # the plain chain's ops (the 4x4 products are one cummatmul, whose end pose is one getitem)
    assert panda == ({"add": 1, "const": 2, "cos_sin": 1, "cummatmul": 1, "getitem": 1, "leaf": 1, "matmul": 1,
                      "reshape": 1, "transpose": 1} if rows == 1 else
                     {"concatenate": 8, "const": 16, "cos_sin": 7, "getitem": 7, "leaf": 1, "matmul": 7, "mul": 7,
                      "reshape": 2, "transpose": 2})


def test_a_copying_mimic_at_the_tip_needs_no_coupling():
    """A Panda finger's chain: the last joint copies a master off the path, q drives the motions as
    it is (no gather), and the master's column is the mimic's."""
    joints = path_joints()[:3]
    chain = kin.Chain(joints, mimic={"j3": ("g", 1.0, 0.0)}, masters=[J("g", "prismatic", limits=(0.0, 0.2))])
    assert chain.coupling is None and chain.joint_names == ["j1", "j2", "g"]
    np.testing.assert_allclose([chain.lower, chain.upper], [[-2, -0.5, 0.0], [2, 0.7, 0.2]])  # j3: [-0.1, 0.3]
    q = random_q(chain, (4,), seed=7)
    np.testing.assert_array_equal(kin.forward_kinematics(chain, q), kin.forward_kinematics(kin.Chain(joints), q))


# -- limits: each mimic joint's interval pulled back to its source, intersected into its box ---------

def test_mimic_limits_narrow_the_free_joints_box():
    chain = mimic_chain()
    # j1 in [-2, 2]; j2 = -2 j1 + 0.3 in [-0.5, 0.7] needs j1 in [-0.2, 0.4] (ends swapped: multiplier < 0);
    # j4 = -j1 + 0.05 in [-3, 3] needs j1 in [-2.95, 3.05]: no narrower. j5 unbounded and free: stays.
    # g unbounded: j6 = 3 g + 0.1 in [-1, 1] needs g in [-11/30, 0.3].
    np.testing.assert_allclose(chain.lower, [-0.2, -0.1, -np.inf, -1.1 / 3], rtol=0, atol=1e-15)
    np.testing.assert_allclose(chain.upper, [0.4, 0.3, np.inf, 0.3], rtol=0, atol=1e-15)
    assert chain.free_joints[3].limits == (chain.lower[3], chain.upper[3]) and not chain.free_joints[3].continuous
    # the box keeps every motion inside its own limits, at its corners too
    corners = np.array(np.meshgrid(*[[lo, hi] if np.isfinite(lo) else [-5.0, 5.0]
                                     for lo, hi in zip(chain.lower, chain.upper)])).reshape(4, -1).T
    values = motion_values(corners)
    lower, upper = np.array(LIMITS).T
    assert np.all(values >= lower - 1e-12) and np.all(values <= upper + 1e-12)
    # the tree of the chain intersects the same box
    robot = kin.Robot.from_chain(chain)
    np.testing.assert_array_equal([robot.lower, robot.upper], [chain.lower, chain.upper])


@pytest.mark.parametrize("multiplier, offset, expected", [
    (2.0, 0.0, (-0.25, 0.35)),       # [-0.5, 0.7] / 2
    (-4.0, 0.1, (-0.15, 0.15)),      # ((0.7 - 0.1) / -4, (-0.5 - 0.1) / -4), swapped; j1's [-2, 2] is wider
    (0.5, 0.0, (-1.0, 1.4)),         # [-1, 1.4] from [-0.5, 0.7] / 0.5
    (0.0, 0.2, (-2.0, 2.0)),         # a constant 0.2 inside [-0.5, 0.7]: nothing to narrow
    (1e-9, 0.0, (-2.0, 2.0)),        # a tiny multiplier: j1's own limits are the narrower
])
def test_limit_intersection_table(multiplier, offset, expected):
    joints = path_joints()[:2]
    chain = kin.Chain(joints, mimic={"j2": ("j1", multiplier, offset)})
    np.testing.assert_allclose([chain.lower[0], chain.upper[0]], expected, rtol=0, atol=1e-15)


def test_an_unbounded_source_is_cut_at_max_limit_and_an_unbounded_mimic_narrows_nothing():
    free = J("a", limits=(-math.inf, math.inf))
    tiny = kin.Chain([free, J("b", limits=(0.0, 1.0))], mimic={"b": ("a", 1e-9, 0.0)})  # a in [0, 1e9]
    assert (tiny.lower[0], tiny.upper[0]) == (0.0, kin.chain.MAX_LIMIT)
    wide = kin.Chain([free, J("b", limits=(-1.0, 1.0))], mimic={"b": ("a", 1e-13, 0.0)})  # ±1e13 covers ±MAX_LIMIT
    assert wide.free_joints[0].continuous
    loose = kin.Chain([J("a", limits=(-1.0, 1.0)), J("b")], mimic={"b": ("a", 5.0, 0.0)})  # b continuous
    assert (loose.lower[0], loose.upper[0]) == (-1.0, 1.0)


@pytest.mark.parametrize("mimic, message", [
    # j2 = j1 + 1.5 first narrows j1 to [-2, -0.8]; then j4 = j1 in [-0.2, 0.4] cannot be met
    ({"j2": ("j1", 1.0, 1.5), "j4": ("j1", 1.0, 0.0)},
     r"mimic joint 'j4' \(limits \[-0.2, 0.4\], value 1 · 'j1' \+ 0\) needs 'j1' in \[-0.2, 0.4\], which misses "
     r"'j1''s limits \[-2, -0.8\] \(narrowed by mimic joint 'j2'\)"),
    ({"j2": ("j1", -1.0, 5.0)}, r"'j2' .* needs 'j1' in \[4.3, 5.5\], which misses 'j1''s limits \[-2, 2\]"),
    ({"j2": ("j1", 0.0, 0.9)}, r"mimic joint 'j2' = 0 · 'j1' \+ 0.9 is always 0.9, outside its limits \[-0.5, 0.7\]"),
])
def test_an_empty_intersection_names_both_joints(mimic, message):
    joints = path_joints()[:4]
    joints[3] = J("j4", limits=(-0.2, 0.4))
    with pytest.raises(ValueError, match=message):
        kin.Chain(joints, name="c", mimic=mimic)
    tree = [kin.RobotJoint(j.name, f"l{k}", f"l{k + 1}", j.type, j.origin, j.axis, j.limits, mimic.get(j.name))
            for k, j in enumerate(joints)]
    with pytest.raises(ValueError, match=message):
        kin.Robot(tree, name="r")


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(mimic={"x": ("j1", 1, 0)}), ValueError, r"mimic joint 'x' is not one of its joints \('j1', 'j2', 'j3'\)"),
    (dict(mimic={"j2": ("j9", 1, 0)}), ValueError, "joint 'j2' mimics unknown joint 'j9'"),
    (dict(mimic={"j2": ("j3", 1, 0), "j3": ("j2", 1, 0)}), ValueError, "mimic joints form a cycle: j2 -> j3 -> j2"),
    (dict(mimic={"j2": ("j1", np.inf, 0)}), ValueError, "mimic multiplier=inf must be finite"),
    (dict(mimic={"j2": ("j1", 1, 0)}, masters=[J("g")]), ValueError, "master 'g' drives no joint of the path"),
    (dict(mimic={"j2": ("j1", 1, 0)}, masters=[J("j1")]), ValueError, "master 'j1' is also a joint of the path"),
    (dict(mimic={"j2": ("g", 1, 0)}, masters=["g"]), TypeError, "masters must be kinematics.Joint, got str"),
])
def test_bad_couplings_are_refused_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        kin.Chain(path_joints()[:3], name="c", **kwargs)


# -- the chain as a tree, IK --------------------------------------------------------------------

def test_the_tree_of_a_mimic_chain_keeps_its_couplings():
    chain = mimic_chain()
    robot = kin.Robot.from_chain(chain)
    assert robot.joint_names == chain.joint_names and robot.mimic_names == chain.mimic_names
    q = random_q(chain, (5,), seed=8)
    frames = [j.name for j in chain.joints] + ["tool"]
    np.testing.assert_allclose(kin.frame_poses(chain, q, frames), kin.link_poses(chain, q), rtol=0, atol=1e-14)
    assert chain.replace(name="again").mimic == chain.mimic


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ik_reaches_fk_targets_inside_every_joints_limits(seed):
    chain = mimic_chain()
    targets = kin.forward_kinematics(chain, random_q(chain, (6,), seed=20 + seed))
    result = kin.solve(chain, targets, seed=seed)
    assert result.success.all(), result.reason
    assert np.all(result.q >= chain.lower) and np.all(result.q <= chain.upper)
    lower, upper = np.array(LIMITS).T
    values = motion_values(result.q)  # the coupled joints' values: inside their own limits too
    assert np.all(values >= lower - 1e-12) and np.all(values <= upper + 1e-12)
    T = kin.forward_kinematics(chain, result.q)
    assert np.abs(T[:, :3, 3] - targets[:, :3, 3]).max() < 1e-6
    one = kin.solve(chain, targets[0], seed=seed)  # the single-target path
    assert one.success and one.q.shape == (4,)


def test_q0_outside_the_narrowed_box_names_the_free_joint():
    chain = mimic_chain()
    q0 = np.array([0.45, 0.0, 0.0, 0.0])  # j1 inside its own [-2, 2], outside [-0.2, 0.4] that j2 implies
    with pytest.raises(ValueError, match=r"q0: joint 'j1' is outside its limits \[-0.2, 0.4\]"):
        kin.solve(chain, np.eye(4), q0=q0)
    q0 = np.array([0.0, 0.0, 0.0, 0.5])  # column 3 is the master g (chain.joints[3] is the mimic j4)
    with pytest.raises(ValueError, match=r"q0: joint 'g' is outside its limits \[-0.3667, 0.3\]"):
        kin.solve(chain, np.eye(4), q0=q0)
