"""URDF corners found in real files: zero-width limit ranges (zero_range=), planar chains detected,
<limit velocity>, and the source= label for XML text.

Real files (example-robot-data): centauro's four wheels are revolute joints whose <limit> has no
lower and upper (the file's comment: "actually continuous"), the quadruped's four knees too, and
the double pendulum writes lower="0" upper="0"; 44 joints of 7 files in example-robot-data and
rtb-data write velocity="0" (romeo, iris, the double pendulums, rtb-data's puma560 and al5d).
"""

import math
import pathlib
import re
import warnings

import numpy as np
import pytest

import kinematics as kin
import robots
from robots import URDFError, URDFWarning, load_urdf
from robots.urdf import load_robot_urdf

from test_urdf_interop import example_robot_data


def _file(relative):
    folder = example_robot_data()
    if folder is None or not (folder / relative).is_file():
        pytest.skip(f"example-robot-data with {relative} is not installed")
    return folder / relative


def robot(body, name="r"):
    return f'<robot name="{name}">\n{body}\n</robot>'


def links(*names):
    return "".join(f'<link name="{n}"/>' for n in names)


def joint(name, parent, child, kind="revolute", limit='<limit lower="-1" upper="1"/>', axis="0 0 1",
          xyz="0 0 0", rpy="0 0 0"):
    return (f'<joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{child}"/>'
            f'<origin xyz="{xyz}" rpy="{rpy}"/><axis xyz="{axis}"/>{limit}</joint>')


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --- zero-width ranges ------------------------------------------------------------------------

CENTAURO = "centauro_description/urdf/centauro.urdf"
WHEELS = [f"j_wheel_{i}" for i in range(1, 5)]


def test_centauro_wheels_lock_with_one_warning_naming_them():
    path = _file(CENTAURO)
    with pytest.warns(URDFWarning) as record:
        tree = load_robot_urdf(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"{path}: 4 joints locked by a zero-width <limit> range")
    assert "j_wheel_1 (line 823), j_wheel_2 (line " in message and "j_wheel_4 (line" in message
    assert "zero_range='continuous'" in message and "zero_range='error'" in message
    assert record[0].filename == __file__
    columns = [tree.joint_names.index(w) for w in WHEELS]
    assert np.all(tree.lower[columns] == 0.0) and np.all(tree.upper[columns] == 0.0)


def test_centauro_wheels_continuous_on_request(no_warnings):
    tree = load_robot_urdf(_file(CENTAURO), zero_range="continuous")
    columns = [tree.joint_names.index(w) for w in WHEELS]
    assert np.all(tree.lower[columns] == -math.inf) and np.all(tree.upper[columns] == math.inf)
    others = [i for i in range(tree.n) if i not in columns]
    assert np.all(np.isfinite(tree.lower[others]))  # only the zero-range joints changed
    chain = load_urdf(_file(CENTAURO), "pelvis", "wheel_1", zero_range="continuous")
    assert chain.joints[-1].name == "j_wheel_1" and chain.joints[-1].continuous


def test_centauro_error_on_request_names_joint_and_line():
    with pytest.raises(URDFError) as info:
        load_robot_urdf(_file(CENTAURO), zero_range="error")
    message = str(info.value)
    assert "<limit> in <joint name='j_wheel_1'>" in message and "joint 'j_wheel_1'" in message
    assert "lower=0 upper=0 (lower and upper missing: 0 by default)" in message and "zero_range='error'" in message
    assert info.value.line > 823 and info.value.element == "limit"


def test_only_the_path_warns():
    path = _file("quadruped_description/urdf/quadruped.urdf")
    with pytest.warns(URDFWarning) as record:
        leg = load_urdf(path, "base_link", "FL_shank")
    message = str(record[0].message)
    assert len(record) == 1 and "1 joint locked" in message and "FL_KFE (line 62)" in message
    assert leg.joint_names[-1] == "FL_KFE" and (leg.lower[-1], leg.upper[-1]) == (0.0, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_urdf(path, "base_link", "FL_upperleg")  # stops above the knee: nothing locked on the path
    with pytest.warns(URDFWarning, match="4 joints locked"):
        load_robot_urdf(path)  # the whole tree: all four knees


def test_explicit_zero_limits_warn_too():
    path = _file("double_pendulum_description/urdf/double_pendulum.urdf")
    with pytest.warns(URDFWarning, match=r"2 joints locked .*joint1 \(line \d+\), joint2"):
        arm = load_urdf(path)
    assert np.all(arm.lower == 0.0) and np.all(arm.upper == 0.0)
    arm = load_urdf(path, zero_range="continuous")
    assert all(j.continuous for j in arm.joints) and [j.velocity for j in arm.joints] == [None, None]  # velocity="0"


def test_zero_range_modes_on_small_files(no_warnings):
    text = robot(links("a", "b", "c", "d") + joint("r1", "a", "b", limit='<limit lower="0.5" upper="0.5"/>')
                 + joint("p1", "b", "c", "prismatic", '<limit effort="1" velocity="1"/>')
                 + joint("r2", "c", "d", limit='<limit lower="-1" upper="1"/>'))
    with pytest.warns(URDFWarning, match=r"<string>: 2 joints locked .*: r1 \(line 2\), p1 \(line 2\)") as record:
        arm = load_urdf(text)
    assert len(record) == 1
    np.testing.assert_array_equal(arm.lower, [0.5, 0.0, -1.0])
    # continuous: the revolute one becomes unbounded, the prismatic one stays locked (a URDF prismatic
    # joint is always bounded) and is still reported
    with pytest.warns(URDFWarning, match=r"1 joint locked .*: p1 \(line 2\); a URDF prismatic joint is always bounded"):
        arm = load_urdf(text, zero_range="continuous")
    assert arm.joints[0].continuous and (arm.lower[1], arm.upper[1]) == (0.0, 0.0)
    with pytest.raises(URDFError, match=r"line 2, <limit> in <joint name='r1'>: joint 'r1': <limit> with lower=0.5 "
                                        r"upper=0.5 locks this revolute joint \(zero_range='error'\)"):
        load_urdf(text, zero_range="error")
    with pytest.raises(ValueError, match="zero_range must be one of 'lock', 'continuous', 'error', got 'free'"):
        load_urdf(text, zero_range="free")


def test_a_missing_limit_is_still_refused():
    text = robot(links("a", "b") + joint("j1", "a", "b", limit=""))
    for mode in ("lock", "continuous", "error"):
        with pytest.raises(URDFError, match=r"joint 'j1': a revolute joint needs <limit lower=\.\.\. upper=\.\.\.>"):
            load_urdf(text, zero_range=mode)


# --- planar chains ----------------------------------------------------------------------------

def planar_urdf(lengths, height=0.0, flip_second=False, tool_z=0.0, extra=""):
    """robots.planar(lengths) as a URDF: joints about z, links along x; `flip_second` writes the
    second joint upside down (rpy roll π, axis -z: the same motion)."""
    n = len(lengths)
    body = links(*[f"l{i}" for i in range(n + 1)], "tool")
    for i in range(n):
        xyz = f"0 0 {height}" if i == 0 else f"{lengths[i - 1]} 0 0"
        rpy, axis = ("3.141592653589793 0 0", "0 0 -1") if flip_second and i == 1 else ("0 0 0", "0 0 1")
        if flip_second and i == 2:
            rpy = "3.141592653589793 0 0"  # back upright
        body += joint(f"joint{i + 1}", f"l{i}", f"l{i + 1}", limit='<limit lower="-3.14159" upper="3.14159"/>',
                      axis=axis, xyz=xyz, rpy=rpy)
    body += (f'<joint name="tool_joint" type="fixed"><parent link="l{n}"/><child link="tool"/>'
             f'<origin xyz="{lengths[-1]} 0 {tool_z}"/></joint>' + extra)
    return robot(body, "planar_urdf")


def test_planar3_urdf_is_planar_with_the_builtin_fk():
    lengths = [1.0, 0.8, 0.6]
    for flip in (False, True):
        arm = load_urdf(planar_urdf(lengths, flip_second=flip))
        builtin = robots.planar(lengths)
        assert arm.planar and builtin.planar
        q = np.random.default_rng(0).uniform(-3, 3, (50, 3))
        np.testing.assert_allclose(kin.forward_kinematics(arm, q), kin.forward_kinematics(builtin, q), atol=1e-15)
    result = kin.solve(arm, [1.2, 0.9])  # a 2-D target: needs planar
    assert result.success
    np.testing.assert_allclose(kin.forward_kinematics(arm, result.q)[:2, 3], [1.2, 0.9], atol=1e-6)


@pytest.mark.parametrize("change, planar", [
    ({}, True),
    ({"height": 0.3}, True),  # the arm lies at z = 0.3 (on a column): planar there, plane_z = 0.3
    ({"tool_z": 0.1}, False),  # the end effector leaves the links' plane
    ({"height": 0.3, "tool_z": -0.3}, False),
])
def test_planar_needs_every_frame_at_one_height(change, planar):
    arm = load_urdf(planar_urdf([1.0, 0.5], **change))
    assert arm.planar is planar and arm.plane_z == (change.get("height", 0.0) if planar else 0.0)
    if planar:  # a 2-D target is reached in the arm's plane
        result = kin.solve(arm, [0.8, 0.9])
        np.testing.assert_allclose(kin.forward_kinematics(arm, result.q)[:3, 3], [0.8, 0.9, arm.plane_z], atol=1e-6)


@pytest.mark.parametrize("axis, kind, planar", [
    ("1 0 0", "prismatic", True),  # slides within the plane
    ("0.6 0.8 0", "prismatic", True),
    ("0 0 1", "prismatic", False),  # slides out of it
    ("0 1e-3 1", "revolute", False),  # a tilted axis
    ("0 0 -1", "revolute", True),
])
def test_planar_axes(axis, kind, planar):
    limit = '<limit lower="-1" upper="1"/>'
    text = robot(links("a", "b", "c", "d") + joint("j1", "a", "b", limit=limit)
                 + joint("j2", "b", "c", kind, limit=limit, axis=axis, xyz="1 0 0")
                 + '<joint name="t" type="fixed"><parent link="c"/><child link="d"/><origin xyz="0.5 0 0"/></joint>')
    arm = load_urdf(text)
    assert arm.planar is planar
    if planar:  # every q keeps the end effector at z = 0
        q = np.random.default_rng(1).uniform(-1, 1, (20, 2))
        np.testing.assert_allclose(kin.forward_kinematics(arm, q)[:, 2, 3], 0.0, atol=1e-15)


def test_real_arms_are_not_planar():
    panda = load_urdf(_file("panda_description/urdf/panda.urdf"), "panda_link0", "panda_link8")
    ur5 = load_urdf(_file("ur_description/urdf/ur5_robot.urdf"), "base_link", "tool0")
    assert not panda.planar and not ur5.planar
    assert not load_urdf(pathlib.Path(__file__).parent / "data" / "checklist.urdf", tip_link="tool").planar


# --- velocity ---------------------------------------------------------------------------------

def test_velocity_limits_are_read(no_warnings):
    text = robot(links("a", "b", "c", "d", "e")
                 + joint("v", "a", "b", limit='<limit lower="-1" upper="1" velocity=" 2.5E0 "/>')
                 + joint("none", "b", "c", limit='<limit lower="-1" upper="1"/>')
                 + joint("zero", "c", "d", "prismatic", '<limit lower="0" upper="1" velocity="0"/>')
                 + joint("cont", "d", "e", "continuous", '<limit velocity="inf"/>'))
    arm = load_urdf(text)
    assert [j.velocity for j in arm.joints] == [2.5, None, None, None]
    tree = load_robot_urdf(text)
    assert [j.velocity for j in tree.joints] == [2.5, None, None, None]
    panda = load_urdf(_file("panda_description/urdf/panda.urdf"), "panda_link0", "panda_link8")
    assert [j.velocity for j in panda.joints] == [2.175] * 4 + [2.61] * 3  # the file's values


@pytest.mark.parametrize("value, message", [
    ("-1", "joint 'j': limit velocity=-1 must be positive (or 0 or absent for no velocity limit)"),
    ("nan", "attribute velocity='nan': expected finite numbers"),
    ("fast", "attribute velocity='fast': expected 1 numbers"),
])
def test_bad_velocity_names_the_line(value, message):
    limit = f'<limit lower="-1" upper="1" velocity="{value}"/>'
    text = robot(links("a", "b") + "\n" + joint("j", "a", "b", limit=limit))
    for load in (load_urdf, load_robot_urdf):
        with pytest.raises(URDFError, match=rf"^<string>, line 3, <limit> in <joint name='j'>: .*{re.escape(message)}"):
            load(text)


def test_bad_velocity_off_the_path_does_not_matter(no_warnings):
    text = robot(links("a", "b", "c") + joint("j", "a", "b")
                 + joint("side", "a", "c", limit='<limit lower="-1" upper="1" velocity="-3"/>'))
    assert load_urdf(text, "a", "b").joint_names == ["j"]


# --- source= ----------------------------------------------------------------------------------

def test_source_labels_xml_text():
    text = robot(links("a", "b") + "\n" + joint("j", "a", "b", limit='<limit lower="1" upper="-1"/>'))
    for load in (load_urdf, load_robot_urdf):
        with pytest.raises(URDFError, match=r"^arm\.urdf\.xacro \(expanded\), line 3, <limit>") as info:
            load(text, source="arm.urdf.xacro (expanded)")
        assert info.value.source == "arm.urdf.xacro (expanded)"
    with pytest.raises(TypeError, match="source must be a label"):
        load_urdf(text, source=3)
