"""Every command on every kind of description file: MJCF (.xml), xacro (.xacro), URDF corners.

The answers are checked by the library's own FK of the file (loaded independently of the CLI), so
a command that picked the wrong frame, chain or file reader fails.
"""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

import kinematics as kin
import robots
from tests.demos.test_cli_commands import armgrad

DATA = pathlib.Path(__file__).resolve().parents[1] / "robots" / "data" / "mjcf"
PANDA_XML = DATA / "panda.xml"  # the built-in panda as MJCF, tool frame "attachment_site"
READY = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785]


def _numbers(values):
    return [repr(float(v)) for v in values]


# ----------------------------------------------------------------------------- MJCF

def test_mjcf_file_through_robots_fk_and_solve(capsys):
    status, out, _ = armgrad(capsys, "robots", str(PANDA_XML))
    assert status == 0 and out.startswith("panda (mjcf): ") and "[frames: attachment_site]" in out
    robot = robots.load_mjcf(PANDA_XML)
    site = kin.frame_poses(robot, np.array(READY), ["attachment_site"])[0]
    status, out, _ = armgrad(capsys, "fk", str(PANDA_XML), *_numbers(READY), "--json")  # the one site by default
    assert status == 0
    np.testing.assert_allclose(json.loads(out)["position"], site[:3, 3], atol=1e-12)
    link5 = kin.frame_poses(robot, np.array(READY), ["link5"])[0]
    status, out, _ = armgrad(capsys, "fk", str(PANDA_XML), "--frame", "link5", *_numbers(READY[:5]), "--json")
    assert status == 0
    np.testing.assert_allclose(json.loads(out)["position"], link5[:3, 3], atol=1e-12)
    target = kin.frame_poses(robot, np.array([0.3, -0.2, 0.1, -2.0, 0.2, 1.8, 0.5]), ["attachment_site"])[0]
    rpy = _rpy(target[:3, :3])
    status, out, _ = armgrad(capsys, "solve", str(PANDA_XML), "--target", *_numbers(target[:3, 3]), "--rpy",
                             *_numbers(rpy), "--json")
    answer = json.loads(out)
    assert status == 0 and answer["success"]
    reached = kin.frame_poses(robot, np.array(answer["q"]), ["attachment_site"])[0]  # the FK round trip
    np.testing.assert_allclose(reached, target, atol=1e-6)


def _rpy(R):
    """Fixed-axes roll, pitch, yaw of R = Rz(yaw) Ry(pitch) Rx(roll) (away from pitch = ±π/2)."""
    return [np.arctan2(R[2, 1], R[2, 2]), -np.arcsin(R[2, 0]), np.arctan2(R[1, 0], R[0, 0])]


TWO_SITES = """<mujoco model="two"><worldbody><body name="a"><joint name="j" axis="0 0 1"/>
  <geom size="0.1"/><site name="s1" pos="1 0 0"/><site name="s2" pos="0 1 0"/></body></worldbody></mujoco>"""


@pytest.mark.parametrize("argv, message", [
    (["fk", "{path}", "0"], "2 candidate end frames (s1, s2); pass --frame NAME"),
    (["fk", "{path}", "--tip", "s1", "0"], "--tip applies to URDF and xacro files, not to MJCF files; use --frame"),
    (["fk", "{path}", "--frame", "s3", "0"], "has no frame 's3'; frames: 'world', 'a', 's1', 's2'"),
    (["fk", "{path}", "--zero-range", "error", "--frame", "s1", "0"], "--zero-range applies to URDF and xacro files"),
    (["robots", "{bad}"], "line 1"),
])
def test_mjcf_mistakes_are_one_line(capsys, tmp_path, argv, message):
    path, bad = tmp_path / "two.xml", tmp_path / "bad.xml"
    path.write_text(TWO_SITES)
    bad.write_text('<mujoco><worldbody><body name="a"><joint type="ball"/></body></worldbody></mujoco>')
    status, out, err = armgrad(capsys, *[a.format(path=path, bad=bad) for a in argv])
    assert status == 2 and out == "" and err.count("\n") == 1 and message in err, err


def test_mjcf_site_frame_by_name(capsys, tmp_path):
    path = tmp_path / "two.xml"
    path.write_text(TWO_SITES)
    status, out, _ = armgrad(capsys, "fk", str(path), "--frame", "s2", "0.5", "--json")
    assert status == 0
    np.testing.assert_allclose(json.loads(out)["position"], [-np.sin(0.5), np.cos(0.5), 0.0], atol=1e-15)


# ----------------------------------------------------------------------------- xacro

RTB = importlib.util.find_spec("rtbdata")
RTB = None if RTB is None or not RTB.origin else pathlib.Path(RTB.origin).parent
needs_xacro = pytest.mark.skipif(importlib.util.find_spec("xacro") is None or RTB is None,
                                 reason="needs the xacro package and rtb-data (both in the [test] extra)")


@needs_xacro
def test_xacro_file_with_a_package_through_the_commands(capsys):
    path = RTB / "xacro/abb_irb140_description/urdf/irb140.xacro"
    package = f"abb_irb140={RTB / 'xacro/abb_irb140_description'}"
    status, _, err = armgrad(capsys, "robots", str(path))
    assert status == 2 and "package 'abb_irb140' not found" in err and "--package abb_irb140=DIR" in err
    status, out, _ = armgrad(capsys, "robots", str(path), "--package", package)
    assert status == 0 and out.startswith("abb_irb140 (xacro): ") and "end frames: base, tool0" in out
    status, _, err = armgrad(capsys, "fk", str(path), "--package", package, *["0"] * 6)
    assert status == 2 and "2 leaves (tool0, base)" in err and "--frame LINK" in err
    expanded = robots.expand_xacro(path, package_paths={"abb_irb140": RTB / "xacro/abb_irb140_description"})
    arm = robots.load_urdf(expanded, tip_link="tool0")
    target = kin.forward_kinematics(arm, np.array([0.3, 0.4, -0.2, 0.5, 0.6, -0.3]))
    status, out, _ = armgrad(capsys, "solve", str(path), "--package", package, "--frame", "tool0", "--target",
                             *_numbers(target[:3, 3]), "--json")
    answer = json.loads(out)
    assert status == 0 and answer["success"]
    np.testing.assert_allclose(kin.forward_kinematics(arm, np.array(answer["q"]))[:3, 3], target[:3, 3], atol=1e-6)


@needs_xacro
def test_xacro_args_reach_the_file(capsys, tmp_path):
    path = tmp_path / "arm.urdf.xacro"
    path.write_text("""<robot name="arm" xmlns:xacro="http://www.ros.org/wiki/xacro">
  <xacro:arg name="length" default="1.0"/>
  <link name="a"/><link name="b"/><link name="tip"/>
  <joint name="j" type="continuous"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/></joint>
  <joint name="t" type="fixed"><parent link="b"/><child link="tip"/><origin xyz="$(arg length) 0 0"/></joint>
</robot>""")
    for argv, x in (([], 1.0), (["--arg", "length:=2.5"], 2.5)):
        status, out, _ = armgrad(capsys, "fk", str(path), *argv, "0", "--json")
        assert status == 0 and json.loads(out)["position"] == [x, 0.0, 0.0]


# ----------------------------------------------------------------------------- URDF corners

LOCKED = """<robot name="wheel">
  <link name="a"/><link name="b"/><link name="c"/>
  <joint name="j1" type="revolute"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/>
    <limit lower="-1" upper="1"/></joint>
  <joint name="wheel" type="revolute"><parent link="b"/><child link="c"/><origin xyz="1 0 0"/><axis xyz="0 0 1"/>
    <limit effort="1" velocity="2"/></joint>
</robot>"""


def test_a_zero_range_warns_in_one_line_and_zero_range_chooses(capsys, tmp_path):
    path = tmp_path / "wheel.urdf"
    path.write_text(LOCKED)
    status, out, err = armgrad(capsys, "fk", str(path), "0.5", "0", "--json")
    assert status == 0 and json.loads(out)["q"] == [0.5, 0.0]
    assert err.count("\n") == 1 and err.startswith("armgrad fk: warning: ") and "wheel (line 5)" in err
    assert "--zero-range continuous|error" in err
    status, out, err = armgrad(capsys, "robots", str(path), "--zero-range", "continuous")
    assert status == 0 and err == "" and "wheel: continuous unbounded" in out
    status, out, err = armgrad(capsys, "fk", str(path), "--zero-range", "error", "0.5", "0")
    assert status == 2 and out == "" and "locks this revolute joint (zero_range='error')" in err


def test_a_planar_urdf_takes_2d_targets(capsys, tmp_path):
    path = tmp_path / "wheel.urdf"
    path.write_text(LOCKED.replace('<limit effort="1" velocity="2"/>', '<limit lower="-2" upper="2"/>')
                    .replace('<link name="c"/>', '<link name="c"/><link name="tip"/>')
                    .replace("</robot>", '<joint name="t" type="fixed"><parent link="c"/><child link="tip"/>'
                                         '<origin xyz="0.5 0 0"/></joint></robot>'))
    status, out, _ = armgrad(capsys, "solve", str(path), "--target", "0.9", "0.8", "--json")
    answer = json.loads(out)
    assert status == 0 and answer["success"]
    arm = robots.load_urdf(path)
    assert arm.planar
    np.testing.assert_allclose(kin.forward_kinematics(arm, np.array(answer["q"]))[:3, 3], [0.9, 0.8, 0.0], atol=1e-6)


def test_a_missing_extra_is_one_line_naming_it(tmp_path):
    # a real run without the xacro package: a None in sys.modules makes `import xacro` raise ImportError
    import subprocess
    import sys

    path = tmp_path / "arm.urdf.xacro"
    path.write_text('<robot name="a"><link name="a"/><link name="b"/><joint name="j" type="continuous">'
                    '<parent link="a"/><child link="b"/></joint></robot>')
    code = ("import sys; sys.modules['xacro'] = None\nfrom demos.cli import main\n"
            f"sys.exit(main(['fk', {str(path)!r}, '0']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=pathlib.Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("armgrad fk: error: robots.expand_xacro needs the xacro package, which is not installed: "
                           "pip install 'armgrad[xacro]'\n")
