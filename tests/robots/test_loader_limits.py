"""Issue 10 at the loaders' boundary: deep nesting, huge files, numbers whose use overflows, axes
whose norm overflows, paths that look like XML -- each a one-line error naming the file and the
element (URDF) or key (TOML), or a chain that works; never RecursionError, MemoryError or a NaN
dump from the solver later.

The bounds are kinematics.chain.MAX_LENGTH (1e6 m for offsets), MAX_LIMIT (1e6 rad or m for
limits) and MAX_JOINTS (10,000 joints); robots.urdf.MAX_DEPTH (100) for XML nesting.
"""

import math

import numpy as np
import pytest

import kinematics as kin
import robots
from kinematics.chain import MAX_JOINTS, MAX_LENGTH, MAX_LIMIT
from kinematics.transforms import rot_axis, translation
from robots import ArmFileError, URDFError, load, load_urdf

SHORT = 300  # every message here is one line shorter than this

ONE_JOINT = ('<robot name="r"><link name="a"/><link name="b"/><joint name="j" type="revolute">'
             '<parent link="a"/><child link="b"/><axis xyz="0 0 1"/><limit lower="-1" upper="1"/></joint>')


def one_line(err):
    message = str(err.value)
    assert "\n" not in message and len(message) < SHORT, message
    return message


# -- deep nesting ----------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [101, 900, 1000, 5000])
@pytest.mark.parametrize("closed", [True, False])
def test_deeply_nested_urdf_is_one_short_line(depth, closed, tmp_path):
    # 900 deep unclosed used to give a 6,000-character message, 5,000 deep a RecursionError.
    path = tmp_path / "deep.urdf"
    path.write_text(ONE_JOINT + "<x>" * depth + ("</x>" * depth if closed else "") + "</robot>")
    with pytest.raises(URDFError) as err:
        load_urdf(path)
    message = one_line(err)
    assert message.startswith(str(path)) and "nested more than 100 deep" in message, message


def test_nesting_up_to_the_limit_loads():
    depth = robots.urdf.MAX_DEPTH - 1  # <robot> is the first level
    arm = load_urdf(ONE_JOINT + "<x>" * depth + "</x>" * depth + "</robot>")
    assert arm.n == 1


def test_malformed_xml_deep_inside_names_few_levels():
    # unclosed elements 50 deep: the context shows the innermost levels, not all 50
    with pytest.raises(URDFError) as err:
        load_urdf(ONE_JOINT + "<x>" * 50 + "</robot>")
    message = one_line(err)
    assert "mismatched tag" in message and "more levels" in message, message


@pytest.mark.parametrize("text", ["a = " + "[" * 5000 + "]" * 5000, "a = " + "{b = " * 5000 + "1" + "}" * 5000,
                                  "[planar]\nlengths = " + "[" * 5000 + "]" * 5000])
def test_deeply_nested_toml_is_one_short_line(text, tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text(text + "\n")
    with pytest.raises(ArmFileError) as err:
        load(path)
    message = one_line(err)
    assert message.startswith(str(path)) and "nested too deeply" in message, message


def test_nested_values_the_parser_accepts_are_shown_short(tmp_path):
    # 100 levels parse fine; the message shows the value cut short (reprlib), not 200 brackets
    path = tmp_path / "nested.toml"
    path.write_text("[planar]\nlengths = [" + "[" * 100 + "]" * 100 + "]\n")
    with pytest.raises(ArmFileError, match=r"planar.lengths\[0\]") as err:
        load(path)
    one_line(err)


# -- too many joints -------------------------------------------------------------------------

def test_100k_joint_arm_file_says_what_is_too_big(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text("[planar]\nlengths = [" + ", ".join(["0.01"] * 100_000) + "]\n")
    with pytest.raises(ArmFileError) as err:
        load(path)
    message = one_line(err)
    assert "planar.lengths" in message and "100000 joints" in message and str(MAX_JOINTS) in message


def test_dh_and_joints_forms_count_joints_before_building(tmp_path):
    path = tmp_path / "huge_dh.toml"
    path.write_text("[[dh]]\na = 0.01\n" * (MAX_JOINTS + 1))
    with pytest.raises(ArmFileError, match=f"'dh': {MAX_JOINTS + 1} joints"):
        load(path)
    path = tmp_path / "huge_joints.toml"  # fixed joints fold away and do not count
    path.write_text('[[joints]]\ntype = "fixed"\n' * (MAX_JOINTS + 1)
                    + '[[joints]]\naxis = [0, 0, 1]\nlimits = [-1, 1]\n')
    assert load(path).n == 1


def test_urdf_path_with_too_many_joints(monkeypatch):
    # the real bound (10,000) takes seconds of XML parsing; the check is the same at 20
    monkeypatch.setattr(robots.urdf, "MAX_JOINTS", 20)
    links = "".join(f'<link name="l{i}"/>' for i in range(22))
    joints = "".join(f'<joint name="j{i}" type="continuous"><parent link="l{i}"/><child link="l{i + 1}"/></joint>'
                     for i in range(21))
    with pytest.raises(URDFError, match="from 'l0' to 'l21' has 21 movable joints, more than the 20"):
        load_urdf(f'<robot name="r">{links}{joints}</robot>')


def test_chain_refuses_more_than_max_joints():
    with pytest.raises(ValueError, match=f"{MAX_JOINTS + 1} joints is more than the {MAX_JOINTS}"):
        kin.Chain([kin.Joint("j")] * (MAX_JOINTS + 1))
    assert kin.Chain([kin.Joint("j")] * MAX_JOINTS).n == MAX_JOINTS


# -- numbers at the boundary: the API -------------------------------------------------------

@pytest.mark.parametrize("kwargs, fragment", [
    (dict(limits=(math.inf, math.inf)), "limit lower=inf"),  # was taken as "continuous"
    (dict(limits=(-math.inf, -math.inf)), "limit lower=-inf"),
    (dict(limits=(-math.inf, 1.0)), "or limits (-inf, inf)"),
    (dict(limits=(-1e308, 1e308)), "magnitude <= 1e+06"),
    (dict(limits=(0.0, math.nan)), "upper=nan"),
    (dict(type="prismatic", limits=(0.0, 2e6)), "upper=2000000.0"),
    (dict(origin=translation([1e308, 0, 0])), "origin: translation [1.e+308, 0.e+000, 0.e+000] exceeds 1e+06 m"),
    (dict(origin=np.diag([2.0, 2.0, 2.0, 1.0])), "rigid transform"),
    (dict(origin=np.eye(4)[[1, 0, 2, 3]] * [1, 1, 1, 2]), "rigid transform"),
    (dict(axis=[0.0, 0.0, 0.0]), "got [0., 0., 0.]"),
    (dict(axis=[1e308, np.inf, 0]), "nonzero finite"),
    (dict(axis=np.zeros(1000)), "an array of shape (1000,)"),  # never a whole array
])
def test_joint_refuses_values_whose_use_overflows(kwargs, fragment):
    with pytest.raises(ValueError) as err:
        kin.Joint("j", **kwargs)
    message = one_line(err)
    assert message.startswith("Joint 'j'") and fragment in message, message


def test_joint_bounds_are_inclusive_and_unbounded_joints_stay():
    assert kin.Joint("j", limits=(-math.inf, math.inf)).continuous
    assert not kin.Joint("j", type="prismatic", limits=(-math.inf, math.inf)).continuous  # an unbounded slider
    assert kin.Joint("j", limits=(-MAX_LIMIT, MAX_LIMIT)).limits == (-MAX_LIMIT, MAX_LIMIT)
    kin.Joint("j", origin=translation([MAX_LENGTH, -MAX_LENGTH, MAX_LENGTH]))


@pytest.mark.parametrize("axis, unit", [
    ([1e200, 0, 0], [1, 0, 0]), ([0, -1.7e308, 1.7e308], [0, -(0.5 ** 0.5), 0.5 ** 0.5]),
    ([1e-200, 1e-200, 0], [0.5 ** 0.5, 0.5 ** 0.5, 0]), ([5e-324, 0, 0], [1, 0, 0]),
])
def test_axes_normalise_without_overflow(axis, unit):
    # |(1e200, 0, 0)|^2 overflows: the axis used to be refused as "got [0, 0, 0]"
    np.testing.assert_allclose(kin.Joint("j", axis=axis).axis, unit, atol=1e-15)
    np.testing.assert_allclose(rot_axis(axis, 0.3), rot_axis(unit, 0.3), atol=1e-15)


def test_chain_base_and_tool_are_bounded():
    with pytest.raises(ValueError, match="Chain: base: translation .* exceeds 1e"):
        kin.Chain([kin.Joint("j")], base=translation([0, 0, 2e6]))
    with pytest.raises(ValueError, match="Chain: tool must be a rigid transform"):
        kin.Chain([kin.Joint("j")], tool=np.diag([1e300, 1e300, 1e300, 1.0]))


def test_builders_refuse_huge_lengths():
    with pytest.raises(ValueError, match="row 0 \\(joint1\\) d=1e\\+308, a=0: lengths must be at most 1e\\+06"):
        robots.from_dh([robots.DHRow(d=1e308)])
    with pytest.raises(ValueError, match="up to 1e\\+06 m"):
        robots.planar([1.0, 1e308])
    with pytest.raises(ValueError, match="Joint 'joint1': limit lower=-inf"):
        robots.from_dh([robots.DHRow(a=1.0, limits=(-math.inf, 1.0))])


def test_a_chain_at_the_bounds_stays_finite_through_fk_jacobian_and_solve():
    B = MAX_LIMIT
    joints = [kin.Joint("a", limits=(-B, B), origin=translation([MAX_LENGTH, 0, 0])),
              kin.Joint("b", type="prismatic", axis=[1, 0, 0], limits=(-B, B), origin=translation([0, -MAX_LENGTH, 0])),
              kin.Joint("c", axis=[0, 1, 0], limits=(-B, B))]
    chain = kin.Chain(joints, base=translation([-MAX_LENGTH, 0, 0]), tool=translation([0, 0, MAX_LENGTH]))
    q = np.array([[B, B, -B], [-B, -B, B], [0.3, 0.2, 0.1]])
    assert np.all(np.isfinite(kin.forward_kinematics(chain, q)))
    assert np.all(np.isfinite(kin.jacobian(chain, q)))
    result = kin.solve(chain, kin.forward_kinematics(chain, q[2]))
    assert result.success, result.reason


# -- numbers at the boundary: arm files ------------------------------------------------------

JOINT_ROW = '[[joints]]\nname = "j"\ntype = "{kind}"\naxis = {axis}\n{extra}\n'


@pytest.mark.parametrize("text, key, fragment", [
    ('[planar]\nlengths = [1.0, 1e308]', "planar.lengths[1]", "1e+308 exceeds 1e+06 m"),
    ('[planar]\nlengths = [1.0]\nlimits = [-1e308, 1e308]', "planar.limits[0]", "exceeds 1e+06 rad"),
    ('angles = "degrees"\n[planar]\nlengths = [1.0]\nlimits = [-1e8, 1e8]', "planar.limits[0]",
     "exceeds 5.72958e+07 degrees"),
    ('[[dh]]\nd = 1e308', "dh[0].d", "exceeds 1e+06 m"),
    ('[[dh]]\na = -2e6', "dh[0].a", "exceeds 1e+06 m"),
    ('[[dh]]\njoint = "prismatic"\nlimits = [0, 1e300]', "dh[0].limits[1]", "exceeds 1e+06 m"),
    ('[[dh]]\na = 1\n[tool]\nxyz = [0, 0, 1e308]', "tool.xyz[2]", "exceeds 1e+06 m"),
    ('[[dh]]\na = 1\n[base]\nxyz = [1e7, 0, 0]', "base.xyz[0]", "exceeds 1e+06 m"),
    ('[[dh]]\na = ' + "9" * 400, "dh[0].a", "expected a finite number"),  # a TOML integer no float holds
    (JOINT_ROW.format(kind="revolute", axis="[0, 0, 1]", extra="limits = [-1e308, 1e308]"), "joints[0].limits[0]",
     "exceeds 1e+06 rad"),
    (JOINT_ROW.format(kind="prismatic", axis="[0, 0, 1]", extra="limits = [0, 1e7]"), "joints[0].limits[1]",
     "exceeds 1e+06 m"),
    (JOINT_ROW.format(kind="revolute", axis="[0, 0, 1]", extra="limits = [-1, 1]\norigin = { xyz = [1e308, 0, 0] }"),
     "joints[0].origin.xyz[0]", "exceeds 1e+06 m"),
    (JOINT_ROW.format(kind="revolute", axis="[0, 0, 0]", extra="limits = [-1, 1]"), "joints[0].axis", "nonzero"),
    ('[[joints]]\ntype = "fixed"\norigin = { xyz = [9e5, 0, 0] }\n' * 2
     + JOINT_ROW.format(kind="continuous", axis="[0, 0, 1]", extra=""), "joints[2].origin", "exceeds 1e+06 m"),
    (JOINT_ROW.format(kind="continuous", axis="[0, 0, 1]", extra="") + '[[joints]]\ntype = "fixed"\n'
     'origin = { xyz = [9e5, 0, 0] }\n[tool]\nxyz = [9e5, 0, 0]', "tool", "exceeds 1e+06 m"),
])
def test_arm_file_numbers_whose_use_overflows(text, key, fragment, tmp_path):
    path = tmp_path / "arm.toml"
    path.write_text(text + "\n")
    with pytest.raises(ArmFileError) as err:
        load(path)
    message = one_line(err)
    assert err.value.key == key and message.startswith(f"{path}: key {key!r}") and fragment in message, message


def test_arm_file_huge_axis_is_legal(tmp_path):
    path = tmp_path / "arm.toml"
    path.write_text(JOINT_ROW.format(kind="revolute", axis="[1e200, 0, 1e200]", extra="limits = [-1, 1]"))
    np.testing.assert_allclose(load(path).joints[0].axis, [0.5 ** 0.5, 0, 0.5 ** 0.5], atol=1e-15)


# -- path or XML text ------------------------------------------------------------------------

def test_an_existing_path_wins_over_xml_text(tmp_path):
    folder = tmp_path / "odd<name>"
    folder.mkdir()
    path = folder / "<arm>.urdf"
    path.write_text(ONE_JOINT + "</robot>")
    for given in (str(path), path):
        assert load_urdf(given).n == 1
    with pytest.raises(URDFError, match="^" + str(path).replace("<", ".")):  # errors name the file
        path.write_text(ONE_JOINT)
        load_urdf(str(path))


@pytest.mark.parametrize("given", ["missing.urdf", "robots<1>.urdf", str("no/such/<robot>.urdf"), "robot\0.urdf"])
def test_neither_a_file_nor_xml_is_file_not_found(given):
    with pytest.raises(FileNotFoundError) as err:
        load_urdf(given)
    message = one_line(err)
    assert "cannot read URDF file" in message and "XML text must start with '<'" in message, message


def test_xml_text_may_start_with_whitespace_or_a_bom():
    assert load_urdf("\ufeff\n  " + ONE_JOINT + "</robot>").n == 1
