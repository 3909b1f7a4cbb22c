"""robots.load: the example arm files load and mean what they say; every mistake names the key."""

import math
import pathlib

import numpy as np
import pytest

import kinematics as kin
import robots
from kinematics.transforms import rot_axis, rot_z, rpy_to_matrix, translation
from robots import ArmFileError, DHRow

EXAMPLES = pathlib.Path(robots.__file__).parent / "examples"


@pytest.mark.parametrize("file, name, kinds", [
    ("planar4.toml", "planar4", "RRRR"),
    ("scara_dh.toml", "scara", "RRPR"),
    ("custom_joints.toml", "custom5", "RRRPR"),
])
def test_examples_load(file, name, kinds):
    arm = robots.load(EXAMPLES / file)
    assert isinstance(arm, kin.Chain) and arm.name == name
    assert "".join("R" if j.type == "revolute" else "P" for j in arm.joints) == kinds
    q = np.zeros(arm.n)
    assert np.all(np.isfinite(kin.forward_kinematics(arm, q)))


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.toml")) == ["custom_joints.toml", "planar4.toml", "scara_dh.toml"]


def test_planar4():
    arm = robots.load(EXAMPLES / "planar4.toml")
    assert arm.planar
    np.testing.assert_array_equal(arm.lower, [-2.8] * 4)
    T = kin.forward_kinematics(arm, [np.pi / 2, -np.pi / 2, np.pi / 2, -np.pi / 2])
    np.testing.assert_allclose(T[:3, 3], [0.8 + 0.4, 1.0 + 0.6, 0.0], atol=1e-15)


def test_scara_matches_from_dh_in_radians():
    arm = robots.load(EXAMPLES / "scara_dh.toml")
    deg = math.pi / 180
    expected = robots.from_dh([
        DHRow(d=0.4, a=0.325, limits=(-130 * deg, 130 * deg), name="shoulder"),
        DHRow(a=0.275, alpha=math.pi, limits=(-145 * deg, 145 * deg), name="elbow"),
        DHRow(joint="prismatic", limits=(0.0, 0.2), name="quill"),
        DHRow(d=0.05, name="wrist"),
    ], tool=translation([0, 0, 0.02]))
    assert arm.joint_names == expected.joint_names
    np.testing.assert_allclose(arm.lower, expected.lower, rtol=1e-15)
    np.testing.assert_allclose(arm.upper, expected.upper, rtol=1e-15)
    assert arm.joints[3].continuous and arm.upper[2] == 0.2  # prismatic limits stay in metres
    q = np.random.default_rng(0).uniform([-2, -2, 0, -3], [2, 2, 0.2, 3], size=(10, 4))
    np.testing.assert_allclose(kin.forward_kinematics(arm, q), kin.forward_kinematics(expected, q), atol=1e-15)


def test_custom_joints_by_hand():
    arm = robots.load(EXAMPLES / "custom_joints.toml")
    assert arm.joint_names == ["waist", "shoulder", "elbow", "forearm_slide", "wrist"]
    assert arm.joints[0].continuous
    q = np.array([0.3, -0.4, 0.9, 0.1, 1.2])
    expected = (translation([0, 0, 0.05])                                   # base
                @ translation([0, 0, 0.1]) @ rot_z(q[0])                    # waist
                @ translation([0, 0, 0.2]) @ rot_axis([0, 1, 0], q[1])      # shoulder
                @ translation([0, 0, 0.35])                                 # fixed mount, folded
                @ rot_axis([0, 1, 0], q[2])                                 # elbow
                @ translation([0.3, 0, 0]) @ translation([q[3], 0, 0])      # forearm slide along x
                @ translation([0.05, 0, 0]) @ rpy_to_matrix([0, np.pi / 2, 0]) @ rot_z(q[4])  # wrist
                @ translation([0, 0, 0.08]))                                # tool
    np.testing.assert_allclose(kin.forward_kinematics(arm, q), expected, atol=1e-15)


def write(tmp_path, text, name="my_arm.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_degrees_and_radians_agree_and_modified_dh(tmp_path):
    radians = write(tmp_path, """
convention = "modified"
base = { rpy = [0, 0, 1.5707963267948966] }
[[dh]]
d = 0.3
alpha = 0.0
limits = [-1.5707963267948966, 1.5707963267948966]
[[dh]]
a = 0.2
alpha = -1.5707963267948966
offset = 0.5235987755982988
""", "radians.toml")
    degrees = write(tmp_path, """
angles = "degrees"
convention = "modified"
base = { rpy = [0, 0, 90] }
[[dh]]
d = 0.3
limits = [-90, 90]
[[dh]]
a = 0.2
alpha = -90
offset = 30
""", "degrees.toml")
    a, b = robots.load(radians), robots.load(degrees)
    assert a.name == "radians"  # the file's stem when no name is given
    expected = robots.from_dh([DHRow(d=0.3, limits=(-np.pi / 2, np.pi / 2)),
                               DHRow(a=0.2, alpha=-np.pi / 2, offset=np.pi / 6)], modified=True, base=rot_z(np.pi / 2))
    q = np.random.default_rng(1).uniform(-1.5, 1.5, size=(5, 2))
    for arm in (a, b):
        np.testing.assert_allclose(arm.lower, expected.lower, rtol=1e-15)
        np.testing.assert_allclose(kin.forward_kinematics(arm, q), kin.forward_kinematics(expected, q), atol=1e-15)


def test_planar_per_joint_limits_and_tool(tmp_path):
    arm = robots.load(write(tmp_path, """
name = "two"
angles = "degrees"
[planar]
lengths = [1, 0.5]
limits = [[-90, 90], [-45, 45]]
[tool]
xyz = [0.1, 0, 0]
"""))
    np.testing.assert_allclose(arm.upper, [np.pi / 2, np.pi / 4])
    np.testing.assert_allclose(kin.forward_kinematics(arm, [0, 0])[:3, 3], [1.6, 0, 0])
    assert arm.planar


# (file text, the key the error must name, a fragment of what was expected)
ERRORS = {
    "unknown top key": ('nmae = "x"\n[planar]\nlengths = [1]', "nmae", "unknown key"),
    "no form": ('name = "x"', None, "exactly one of the keys planar, dh, joints"),
    "two forms": ('[planar]\nlengths = [1]\n[[dh]]\nd = 1', None, "found planar, dh"),
    "toml syntax": ('[planar]\nlengths = [1, 2', None, "invalid TOML"),
    "bad angles": ('angles = "grads"\n[planar]\nlengths = [1]', "angles", "'radians', 'degrees'"),
    "bad convention": ('convention = "craig"\n[[dh]]\nd = 1', "convention", "'standard', 'modified'"),
    "convention without dh": ('convention = "modified"\n[planar]\nlengths = [1]', "convention", "DH"),
    "missing lengths": ("[planar]\nlimits = [-1, 1]", "planar.lengths", "missing field"),
    "negative length": ("[planar]\nlengths = [1, -2]", "planar.lengths[1]", "positive"),
    "string length": ('[planar]\nlengths = [1, "2"]', "planar.lengths[1]", "finite number"),
    "wrong limits count": ("[planar]\nlengths = [1, 2]\nlimits = [[-1, 1]]", "planar.limits", "2 pairs"),
    "planar unknown key": ("[planar]\nlengths = [1]\nlength = 2", "planar.length", "expected some of"),
    "dh unknown key": ("[[dh]]\nd = 0.1\ntheta = 0.2", "dh[0].theta", "alpha, d, joint, limits, name, offset"),
    "dh bad number": ("[[dh]]\nd = 0.1\n[[dh]]\nalpha = \"pi\"", "dh[1].alpha", "finite number"),
    "dh bool": ("[[dh]]\nd = true", "dh[0].d", "finite number"),
    "dh nan": ("[[dh]]\nd = nan", "dh[0].d", "finite number"),
    "dh bad joint": ('[[dh]]\njoint = "ball"', "dh[0].joint", "'revolute', 'prismatic'"),
    "dh limits order": ("[[dh]]\nlimits = [1, -1]", "dh[0].limits", "lower <= upper"),
    "dh limits shape": ("[[dh]]\nlimits = [1, 2, 3]", "dh[0].limits", "list of 2 numbers"),
    "dh not a table": ("dh = [1, 2]", "dh[0]", "expected a table"),
    "joint missing axis": ('[[joints]]\ntype = "revolute"\nlimits = [-1, 1]', "joints[0].axis", "missing field"),
    "joint missing limits": ('[[joints]]\naxis = [0, 0, 1]', "joints[0].limits", "continuous"),
    "joint bad type": ('[[joints]]\ntype = "ball"\naxis = [0, 0, 1]', "joints[0].type", "'fixed'"),
    "joint zero axis": ('[[joints]]\ntype = "continuous"\naxis = [0, 0, 0]', "joints[0].axis", "nonzero"),
    "joint short axis": ('[[joints]]\ntype = "continuous"\naxis = [0, 1]', "joints[0].axis", "list of 3 numbers"),
    "joint origin key": ('[[joints]]\ntype = "continuous"\naxis = [0, 0, 1]\norigin = { xyz = [0, 0, 1], '
                         'ypr = [0, 0, 0] }', "joints[0].origin.ypr", "rpy, xyz"),
    "joint origin number": ('[[joints]]\ntype = "continuous"\naxis = [0, 0, 1]\norigin = { xyz = [0, "a", 1] }',
                            "joints[0].origin.xyz[1]", "finite number"),
    "continuous with limits": ('[[joints]]\ntype = "continuous"\naxis = [0, 0, 1]\nlimits = [-1, 1]',
                               "joints[0].limits", "unbounded"),
    "fixed with axis": ('[[joints]]\ntype = "fixed"\naxis = [0, 0, 1]\n[[joints]]\ntype = "continuous"\n'
                        'axis = [0, 0, 1]', "joints[0].axis", "fixed joint"),
    "only fixed": ('[[joints]]\ntype = "fixed"', "joints", "at least one revolute"),
    "tool key": ('[planar]\nlengths = [1]\n[tool]\nxyz = [0, 0, 0]\nquat = [1, 0, 0, 0]', "tool.quat", "rpy, xyz"),
    "base rpy": ('base = { rpy = [0, 0] }\n[planar]\nlengths = [1]', "base.rpy", "list of 3 numbers"),
    "name type": ('name = 3\n[planar]\nlengths = [1]', "name", "a string"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_name_the_key(case, tmp_path):
    text, key, fragment = ERRORS[case]
    path = write(tmp_path, text)
    with pytest.raises(ArmFileError) as info:
        robots.load(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(str(path)), message
    assert info.value.key == key, message
    if key is not None:
        assert f"key {key!r}" in message, message
    assert fragment in message, message


def test_missing_file_and_bad_argument(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.toml"):
        robots.load(tmp_path / "nothing.toml")
    with pytest.raises(TypeError, match="path"):
        robots.load(None)


@pytest.mark.parametrize("base, tool, height", [
    ("xyz = [0.3, -0.2, 0]\nrpy = [0, 0, 0.5]", "xyz = [0.1, 0, 0]", 0.0),  # a turn about z and a shift in x, y
    ("xyz = [0, 0, 0.4]", "xyz = [0.1, 0, 0]", 0.4),  # lifted: planar at z = 0.4
    ("rpy = [0.2, 0, 0]", "xyz = [0.1, 0, 0]", None),  # tilted
    ("xyz = [0, 0, 0]", "xyz = [0.1, 0, 0.05]", None),  # a tool off the links' plane
])
def test_a_planar_arm_stays_planar_only_in_a_horizontal_plane(tmp_path, base, tool, height):
    arm = robots.load(write(tmp_path, f'name = "two"\n[planar]\nlengths = [1, 0.5]\n[base]\n{base}\n[tool]\n{tool}\n'))
    assert arm.planar is (height is not None) and arm.plane_z == (height or 0.0)
    q = np.random.default_rng(2).uniform(-2, 2, size=(20, 2))
    heights = kin.link_poses(arm, q)[..., 2, 3]  # the oracle: FK of every frame, at 20 q
    assert bool(np.ptp(heights) < 1e-12) is arm.planar  # one height for all frames and all q
    heights = heights[:, -1]  # the end effector's
    if arm.planar:
        np.testing.assert_allclose(heights, height, atol=1e-12)
        result = kin.solve(arm, [0.9, 0.7])  # a 2-D target, reached in the arm's plane
        np.testing.assert_allclose(kin.forward_kinematics(arm, result.q)[:3, 3], [0.9, 0.7, height], atol=1e-6)
