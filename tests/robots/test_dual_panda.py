"""The built-in tree dual_panda (robots.get) and robots.builders.mount_arms, which builds it.

Oracles: the serial Panda's own FK (`kinematics.forward_kinematics`, `link_poses`: the chain
code path, not the tree walk of `frame_poses`) composed with the documented mounts, written out
here; pinocchio on example-robot-data's panda.urdf (panda_link8, the flange) for the same
composition, independent of armgrad's DH tables; and the CLI's refusal, run as a subprocess.
"""

import doctest
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kinematics as kin
import robots
from kinematics.transforms import rot_z, translation
from robots import builders

REPO = Path(__file__).resolve().parents[2]
MOUNTS = {"left": translation([0.0, 0.3, 0.5]), "right": translation([0.0, -0.3, 0.5])}  # the documented layout


def random_q(count, seed):
    """(count, 14) uniform within the limits: left arm's 7 values, then the right arm's."""
    panda = robots.get("panda")
    rng = np.random.default_rng(seed)
    return rng.uniform(np.tile(panda.lower, 2), np.tile(panda.upper, 2), size=(count, 14))


def test_names_limits_and_layout():
    robot, panda = robots.get("dual_panda"), robots.get("panda")
    assert isinstance(robot, kin.Robot) and robot.name == "dual_panda" and robot.n == 14
    assert robot.root == "torso"
    assert robot.joint_names == [f"{side}_panda_joint{k}" for side in ("left", "right") for k in range(1, 8)]
    assert [robot.index[f"right_panda_joint{k}"] for k in range(1, 8)] == list(range(7, 14))
    np.testing.assert_array_equal(robot.lower, np.concatenate([panda.lower, panda.lower]))
    np.testing.assert_array_equal(robot.upper, np.concatenate([panda.upper, panda.upper]))
    assert {"left_tool", "right_tool", "left_base", "right_base"} <= set(robot.frames)
    fixed = {j.name: j for j in robot.joints if j.type == kin.FIXED}
    assert set(fixed) == {"left_mount", "right_mount"}
    for side, mount in MOUNTS.items():
        assert (fixed[f"{side}_mount"].parent, fixed[f"{side}_mount"].child) == ("torso", f"{side}_base")
        np.testing.assert_array_equal(fixed[f"{side}_mount"].origin, mount)
    assert robots.get("dual_panda") is not robot  # a new object each call, as for the arms


def test_tool_frames_equal_the_mounted_panda_chain():
    robot, panda = robots.get("dual_panda"), robots.get("panda")
    q = random_q(64, seed=3)
    T = kin.frame_poses(robot, q, ["left_tool", "right_tool"])
    assert T.shape == (64, 2, 4, 4)
    np.testing.assert_allclose(T[:, 0], MOUNTS["left"] @ kin.forward_kinematics(panda, q[:, :7]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(T[:, 1], MOUNTS["right"] @ kin.forward_kinematics(panda, q[:, 7:]), rtol=0, atol=1e-12)


def test_each_arm_moves_only_its_own_frames():
    robot, panda = robots.get("dual_panda"), robots.get("panda")
    q = random_q(8, seed=4)
    links = [f"{side}_panda_joint{k}" for side in ("left", "right") for k in range(1, 8)]
    T = kin.frame_poses(robot, q, links)
    for s, side in enumerate(MOUNTS):  # every link: mount · the chain's frame of that joint (after its motion)
        expected = MOUNTS[side] @ kin.link_poses(panda, q[:, 7 * s:7 * s + 7])[:, :7]
        np.testing.assert_allclose(T[:, 7 * s:7 * s + 7], expected, rtol=0, atol=1e-12)
    moved = q.copy()
    moved[:, 7:] = random_q(8, seed=5)[:, 7:]  # the right arm only
    left = kin.frame_poses(robot, moved, ["left_tool"])
    np.testing.assert_array_equal(left, kin.frame_poses(robot, q, ["left_tool"]))


def test_tool_frames_equal_pinocchio_panda_flange_mounted():
    pin = pytest.importorskip("pinocchio", reason="pinocchio (pip install pin, in the [test] extra) is the oracle")
    from test_urdf_interop import ROOT  # tests/robots is on sys.path (rootdir, no packages)

    if ROOT is None:
        pytest.skip("example-robot-data is not installed (pip install example-robot-data, or the [test] extra)")
    full = pin.buildModelFromUrdf(str(ROOT / "panda_description/urdf/panda.urdf"))
    fingers = [full.getJointId(name) for name in ("panda_finger_joint1", "panda_finger_joint2")]
    model = pin.buildReducedModel(full, fingers, pin.neutral(full))
    data, flange = model.createData(), model.getFrameId("panda_link8")
    q = random_q(16, seed=6)
    T = kin.frame_poses(robots.get("dual_panda"), q, ["left_tool", "right_tool"])
    for row, pair in zip(q, T):
        for s, side in enumerate(MOUNTS):
            pin.framesForwardKinematics(model, data, row[7 * s:7 * s + 7])
            np.testing.assert_allclose(pair[s], MOUNTS[side] @ data.oMf[flange].homogeneous, rtol=0, atol=1e-12)


def test_not_in_available_and_every_available_arm_is_a_chain():
    names = robots.available()
    assert "dual_panda" not in names
    assert all(isinstance(robots.get(name), kin.Chain) for name in names)  # what their iterators rely on


def test_unknown_name_lists_arms_and_trees():
    with pytest.raises(ValueError, match=r"unknown robot 'dual'; built-in arms: planar2.*; built-in trees: dual_panda"):
        robots.get("dual")
    with pytest.raises(ValueError, match="unknown robot"):
        robots.get(["dual_panda"])


@pytest.mark.parametrize("argv", [
    ["fk", "dual_panda", *["0"] * 7],
    ["solve", "dual_panda", "--target", "0.4", "0.3", "0.9"],
])
def test_cli_asks_which_arm_of_the_tree_in_one_line(argv):
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-m", "demos", *argv], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"armgrad {argv[0]}: error: dual_panda: 2 candidate end frames (left_tool, right_tool); "
                           "pass --frame NAME\n")


def test_cli_solves_for_one_hand_of_the_tree():
    robot = robots.get("dual_panda")
    q = np.zeros(robot.n)
    q[7:] = 0.5 * (robot.lower[7:] + robot.upper[7:])
    hand = kin.frame_poses(robot, q, ["right_tool"])[0]
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    argv = ["solve", "dual_panda", "--frame", "right_tool", "--target", *map(repr, hand[:3, 3].tolist()), "--json"]
    done = subprocess.run([sys.executable, "-m", "demos", *argv], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    answer = json.loads(done.stdout)
    assert done.returncode == 0 and answer["success"]
    q[7:] = answer["q"]  # the chain's columns: right_panda_joint1..7
    np.testing.assert_allclose(kin.frame_poses(robot, q, ["right_tool"])[0, :3, 3], hand[:3, 3], atol=1e-6)


# ----------------------------------------------------------------------------- mount_arms

MIMIC_URDF = """<robot name="gripper">
  <link name="palm"/><link name="a"/><link name="b"/>
  <joint name="slide" type="prismatic"><parent link="palm"/><child link="a"/><origin xyz="0 0.1 0"/>
    <axis xyz="0 1 0"/><limit lower="0" upper="0.04" effort="1" velocity="1"/></joint>
  <joint name="follow" type="prismatic"><parent link="palm"/><child link="b"/><origin xyz="0 -0.1 0"/>
    <axis xyz="0 -1 0"/><limit lower="0" upper="0.04" effort="1" velocity="1"/>
    <mimic joint="slide" multiplier="1"/></joint>
</robot>"""


def test_mount_arms_renames_a_tree_with_mimic_joints_and_composes_the_mount():
    gripper = robots.load_robot(MIMIC_URDF)
    mount = translation([0.2, 0, 0.1]) @ rot_z(0.7)
    both = builders.mount_arms([("l_", gripper, mount), ("r_", robots.get("planar2"), np.eye(4))], root="base")
    assert both.joint_names == ["l_slide", "r_joint1", "r_joint2"] and both.mimic_names == ["l_follow"]
    q = np.array([[0.03, 0.4, -1.1], [0.01, 2.0, 0.5]])
    T = kin.frame_poses(both, q, ["l_a", "l_b", "r_tool"])
    np.testing.assert_allclose(T[:, :2], mount @ kin.frame_poses(gripper, q[:, :1], ["a", "b"]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(T[:, 2], kin.forward_kinematics(robots.get("planar2"), q[:, 1:]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(T[:, 1, 1, 3], -(0.1 + q[:, 0]) * np.cos(0.7), atol=1e-15)  # follows l_slide


@pytest.mark.parametrize("arms, error, message", [
    ([], ValueError, "needs at least one"),
    ([("l_", robots.get("planar2"))], ValueError, "arm 0 must be a \\(prefix, arm, mount\\) triple"),
    ([("", robots.get("planar2"), np.eye(4))], ValueError, "arm 0's prefix must be a non-empty string"),
    ([("l_", robots.get("planar2"), np.eye(4)), ("l_", robots.get("planar2"), np.eye(4))], ValueError,
     "two joints are named 'l_mount'"),
    ([("l_", "planar2", np.eye(4))], TypeError, "expected a kinematics.Robot or Chain, got str"),
    ([("l_", robots.get("planar2"), np.ones((4, 4)))], ValueError, "l_mount"),
])
def test_mount_arms_bad_input(arms, error, message):
    with pytest.raises(error, match=message):
        builders.mount_arms(arms, name="pair")


def test_builders_doctests():
    failures, tried = doctest.testmod(builders, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0


def test_robots_command_shows_the_builtin_tree():
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-m", "demos", "robots", "dual_panda"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "dual_panda (built-in tree): 17 links, 14 movable joints, 2 extra frames"
    assert lines[1:3] == ["torso", "  left_base  <- left_mount: fixed"]
    assert "end frames: left_tool, right_tool" in done.stdout
