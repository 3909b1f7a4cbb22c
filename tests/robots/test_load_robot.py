"""robots.load_robot: whole URDF trees against pinocchio (the oracle), TOML arm files, bad files.

pinocchio (PyPI `pin`, in the [test] extra) builds its own model from the same URDF text; the
world pose of every link (pinocchio's BODY frames, `data.oMf` after `framesForwardKinematics`)
must equal `kin.frame_poses` to 1e-12 at random q within limits. q is mapped by joint name:
pinocchio orders joints depth-first and stores a continuous joint as (cos, sin) (nq = 2).
Mimic joints are coupled joints: pinocchio builds them with `mimic=True` (a JointModelMimic with
nq = 0 that reads its master's q), so both models have the same free q and every link, the
mimicking fingers included, must agree.
"""

import math
import pathlib

import numpy as np
import pytest

import kinematics as kin
import robots
from robots import URDFError

from test_urdf_interop import example_robot_data  # tests/robots is on sys.path (rootdir, no packages)

EXAMPLES = pathlib.Path(__file__).parents[2] / "robots" / "examples"
TREES = [  # (file, its mimic joints)
    ("talos_data/robots/talos_reduced.urdf", []),  # humanoid: two arms and legs from one torso
    ("tiago_description/robots/tiago_dual.urdf", []),  # dual arm, continuous wheels
    ("baxter_description/urdf/baxter.urdf", ["l_gripper_r_finger_joint", "r_gripper_r_finger_joint"]),  # dual arm
    ("panda_description/urdf/panda.urdf", ["panda_finger_joint2"]),
]


def _file(relative):
    folder = example_robot_data()
    if folder is None or not (folder / relative).is_file():
        pytest.skip(f"example-robot-data with {relative} is not installed")
    return folder / relative


def _pinocchio_q(pin, model, robot, q):
    """armgrad's q (n,) as pinocchio's configuration (nq,), by joint name."""
    out = pin.neutral(model)
    assert model.nq == sum(model.joints[model.getJointId(name)].nq for name in robot.joint_names)  # mimics: nq 0
    for name, value in zip(robot.joint_names, q):
        joint = model.joints[model.getJointId(name)]
        if joint.nq == 2:  # continuous: (cos, sin)
            out[joint.idx_q:joint.idx_q + 2] = math.cos(value), math.sin(value)
        else:
            out[joint.idx_q] = value
    return out


@pytest.mark.parametrize("relative, mimic", TREES, ids=[t[0].split("/")[-1] for t in TREES])
def test_every_link_pose_matches_pinocchio(relative, mimic):
    pin = pytest.importorskip("pinocchio", reason="pinocchio (pip install pin) is the oracle")
    path = _file(relative)
    robot = robots.load_robot(path)
    model = pin.buildModelFromXML(path.read_text(), mimic=True)
    data = model.createData()
    assert robot.mimic_names == mimic
    assert sorted(robot.joint_names + robot.mimic_names) == sorted(model.names[1:])
    links = [f.name for f in model.frames if f.type == pin.FrameType.BODY]
    assert sorted(links) == sorted(robot.links)
    rng = np.random.default_rng(11)
    lower = np.where(np.isfinite(robot.lower), robot.lower, -np.pi)
    upper = np.where(np.isfinite(robot.upper), robot.upper, np.pi)
    q = rng.uniform(lower, upper, (3, robot.n))
    T = kin.frame_poses(robot, q, links)  # (3, k, 4, 4), one batched call
    for b in range(len(q)):
        pin.framesForwardKinematics(model, data, _pinocchio_q(pin, model, robot, q[b]))
        expected = np.stack([data.oMf[model.getFrameId(link, pin.FrameType.BODY)].homogeneous for link in links])
        np.testing.assert_allclose(T[b], expected, rtol=0, atol=1e-12)


def test_tree_limits_and_order_follow_the_file():
    robot = robots.load_robot(_file("tiago_description/robots/tiago_dual.urdf"))
    assert robot.root == "base_footprint" and robot.frames[0] == robot.root
    assert len(set(robot.frames)) == len(robot.frames)
    i = robot.joint_names.index("wheel_left_joint")  # continuous: unbounded
    assert robot.lower[i] == -np.inf and robot.upper[i] == np.inf
    assert robot.lower.shape == robot.upper.shape == (robot.n,)


def test_load_urdf_still_returns_the_same_chain():
    path = _file("panda_description/urdf/panda.urdf")
    chain = robots.load_urdf(path, "panda_link0", "panda_link8")
    assert isinstance(chain, kin.Chain) and chain.n == 7


def test_toml_arm_file_is_its_chain_as_a_tree():
    path = EXAMPLES / "planar4.toml"
    robot, chain = robots.load_robot(path), robots.load(path)
    assert isinstance(robot, kin.Robot) and robot.n == chain.n and robot.frames[-1] == "tool"
    q = np.random.default_rng(0).uniform(-1, 1, (4, chain.n))
    np.testing.assert_allclose(kin.frame_poses(robot, q, ["tool"])[:, 0], kin.forward_kinematics(chain, q),
                               rtol=0, atol=1e-15)


LINKS = '<link name="a"/><link name="b"/><link name="c"/>'


@pytest.mark.parametrize("body, message", [
    (LINKS + '<joint name="j" type="continuous"><parent link="a"/><child link="b"/></joint>',
     r"2 trees \(roots: a, c\)"),
    (LINKS + '<joint name="j" type="floating"><parent link="a"/><child link="b"/></joint>'
     '<joint name="k" type="fixed"><parent link="b"/><child link="c"/></joint>', "of type 'floating'"),
    (LINKS + '<joint name="j" type="revolute"><parent link="a"/><child link="b"/></joint>'
     '<joint name="k" type="fixed"><parent link="b"/><child link="c"/></joint>', "needs <limit"),
    (LINKS + '<joint name="j" type="continuous"><parent link="a"/><child link="b"/><axis xyz="0 0 0"/></joint>'
     '<joint name="k" type="fixed"><parent link="a"/><child link="c"/></joint>', "must be nonzero"),
])
def test_bad_trees_are_refused_naming_the_problem(body, message):
    with pytest.raises(URDFError, match=message):
        robots.load_robot(f'<robot name="r">{body}</robot>')


def test_unknown_extension():
    with pytest.raises(ValueError, match=r"unknown extension '.stl'; expected .urdf, .xacro, .toml or .xml"):
        robots.load_robot("arm.stl")


def _mimic_urdf(mimic='<mimic joint="j1" multiplier="-2" offset="0.3"/>', master_type="revolute"):
    limit = '<limit lower="-1" upper="1" effort="1" velocity="1"/>' if master_type != "fixed" else ""
    return f'''<robot name="m">{LINKS}<link name="d"/>
  <joint name="j1" type="{master_type}"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/>{limit}</joint>
  <joint name="j2" type="revolute"><parent link="b"/><child link="c"/><origin xyz="0.5 0 0" rpy="0.1 0.2 0"/>
    <axis xyz="0 1 0"/><limit lower="-0.2" upper="0.2" effort="1" velocity="1"/>
    {mimic}</joint>
  <joint name="j3" type="prismatic"><parent link="a"/><child link="d"/><axis xyz="1 0 0"/>
    <limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
</robot>'''


def test_mimic_multiplier_and_offset_match_pinocchio():
    pin = pytest.importorskip("pinocchio", reason="pinocchio (pip install pin) is the oracle")
    text = _mimic_urdf()
    robot = robots.load_robot(text)
    assert robot.joint_names == ["j1", "j3"] and robot.mimic_names == ["j2"]
    # j2 = -2 j1 + 0.3 stays in its limits [-0.2, 0.2] for j1 in [0.05, 0.25]: j1's box narrows to that
    np.testing.assert_allclose([robot.lower, robot.upper], [[0.05, -1.0], [0.25, 1.0]], rtol=0, atol=1e-15)
    model = pin.buildModelFromXML(text, mimic=True)
    data = model.createData()
    q = np.random.default_rng(12).uniform(-1, 1, (4, robot.n))
    T = kin.frame_poses(robot, q, ["c", "d"])
    for b in range(len(q)):
        pin.framesForwardKinematics(model, data, _pinocchio_q(pin, model, robot, q[b]))
        expected = np.stack([data.oMf[model.getFrameId(link, pin.FrameType.BODY)].homogeneous for link in "cd"])
        np.testing.assert_allclose(T[b], expected, rtol=0, atol=1e-12)
    defaults = robots.load_robot(_mimic_urdf('<mimic joint="j1"/>', "continuous"))  # pinocchio refuses this master
    assert defaults.scale.tolist() == [1.0, 1.0, 1.0] and defaults.shift.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("mimic, master_type, message", [
    ('<mimic joint="jx"/>', "continuous", "line 5, <mimic> in <joint name='j2'>: joint 'j2' mimics unknown joint 'jx'"),
    ('<mimic joint="j1"/>', "fixed", "joint 'j2' mimics joint 'j1' of type 'fixed'"),
    ('<mimic multiplier="2"/>', "continuous", "line 5, <mimic> .*missing attribute 'joint'"),
    ('<mimic joint="j1" multiplier="two"/>', "continuous", "multiplier='two': expected 1 numbers"),
    ('<mimic joint="j1" offset="nan"/>', "continuous", "offset='nan': expected finite numbers"),
    ('<mimic joint="j1" multiplier="1e7"/>', "continuous", "mimic multiplier=1e\\+07 exceeds 1e\\+06"),
    ('<mimic joint="j2"/>', "continuous", "mimic joints form a cycle: j2 -> j2"),
])
def test_bad_mimic_is_refused_naming_file_line_and_joint(mimic, master_type, message):
    with pytest.raises(URDFError, match=message):
        robots.load_robot(_mimic_urdf(mimic, master_type))
