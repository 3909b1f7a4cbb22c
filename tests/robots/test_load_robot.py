"""robots.load_robot: whole URDF trees against pinocchio (the oracle), TOML arm files, bad files.

pinocchio (PyPI `pin`, in the [test] extra) builds its own model from the same URDF text; the
world pose of every link (pinocchio's BODY frames, `data.oMf` after `framesForwardKinematics`)
must equal `kin.frame_poses` to 1e-12 at random q within limits. q is mapped by joint name:
pinocchio orders joints depth-first and stores a continuous joint as (cos, sin) (nq = 2).
Mimic joints are not loaded yet (a later step of issue 11): files with a mimic joint are
compared with their <mimic> elements removed in both loaders (the finger becomes a free joint),
and the unmodified file must be refused with a message naming the mimic joint.
"""

import math
import pathlib
import re

import numpy as np
import pytest

import kinematics as kin
import robots
from robots import URDFError

from test_urdf_interop import example_robot_data  # tests/robots is on sys.path (rootdir, no packages)

EXAMPLES = pathlib.Path(__file__).parents[2] / "robots" / "examples"
TREES = [  # (file, mimic joint in the file or None)
    ("talos_data/robots/talos_reduced.urdf", None),  # humanoid: two arms and legs from one torso
    ("tiago_description/robots/tiago_dual.urdf", None),  # dual arm, continuous wheels
    ("baxter_description/urdf/baxter.urdf", "l_gripper_r_finger_joint"),  # dual arm
    ("panda_description/urdf/panda.urdf", "panda_finger_joint2"),
]


def _file(relative):
    folder = example_robot_data()
    if folder is None or not (folder / relative).is_file():
        pytest.skip(f"example-robot-data with {relative} is not installed")
    return folder / relative


def _pinocchio_q(pin, model, robot, q):
    """armgrad's q (n,) as pinocchio's configuration (nq,), by joint name."""
    out = pin.neutral(model)
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
    text = path.read_text()
    if mimic is not None:
        with pytest.raises(URDFError, match=f"joint '{mimic}' mimics joint .*not supported by load_robot yet"):
            robots.load_robot(path)
        text = re.sub(r"<mimic[^>]*/>", "", text)  # both loaders then see a free finger joint
    robot = robots.load_robot(path if mimic is None else text)
    model = pin.buildModelFromXML(text)
    data = model.createData()
    assert sorted(robot.joint_names) == sorted(model.names[1:])
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
    with pytest.raises(ValueError, match=r"unknown extension '.stl'; expected .urdf or .toml"):
        robots.load_robot("arm.stl")
