"""robots.load_urdf: every item of the URDF checklist (DESIGN.md §4) on small files written for
these tests, the same arm as a DH table, and errors that name the file, element and line."""

import math
import pathlib

import numpy as np
import pytest

import kinematics as kin
import robots
from kinematics.transforms import rot_axis, rot_x, rot_z, rpy_to_matrix, translation
from robots import DHRow, URDFError, load_urdf

DATA = pathlib.Path(__file__).parent / "data"
CHECKLIST = DATA / "checklist.urdf"


def origin(xyz=(0, 0, 0), rpy=(0, 0, 0)):
    """URDF's joint origin Trans(xyz) Rot(rpy), written out independently of the loader."""
    return translation(xyz) @ rpy_to_matrix(rpy)


def checklist_fk(q):
    """checklist.urdf's base -> tool pose composed by hand, joint by joint."""
    q1, q2, q3, q4 = q
    return (rot_z(q1)                                                  # j1: no origin, axis z
            @ origin(xyz=(0, 0, 0.3)) @ rot_x(q2)                      # j2: default axis x
            @ origin(rpy=(0, np.pi / 2, 0))                            # mount: fixed
            @ origin((0.1, 0, 0), (0.1, 0.2, 0.3)) @ translation([0, 0, q3])  # j3: axis 0 0 2 -> z
            @ origin((0, 0, 0.05), (-0.3, 0.4, 1.2)) @ rot_axis([1, 1, 0], q4)  # j4: oblique axis
            @ origin((0, 0, 0.1), (0, 0, 0.5)))                        # tool_joint: fixed


def test_checklist_robot():
    arm = load_urdf(CHECKLIST, tip_link="tool")
    assert arm.name == "checklist"
    assert arm.joint_names == ["j1", "j2", "j3", "j4"]  # fixed joints folded, side branches left out
    assert [j.type for j in arm.joints] == ["revolute", "revolute", "prismatic", "revolute"]
    assert arm.joints[0].continuous and arm.lower[0] == -math.inf and arm.upper[0] == math.inf
    np.testing.assert_array_equal(arm.lower[1:], [-1.5, 0.0, -2.0])
    np.testing.assert_array_equal(arm.upper[1:], [1.5, 0.5, 2.0])
    np.testing.assert_allclose(arm.joints[1].axis, [1, 0, 0])  # the default axis
    np.testing.assert_allclose(arm.joints[2].axis, [0, 0, 1])  # "0 0 2" normalised
    np.testing.assert_allclose(arm.joints[3].axis, [2 ** -0.5, 2 ** -0.5, 0])
    rng = np.random.default_rng(0)
    for q in rng.uniform([-3, -1.5, 0, -2], [3, 1.5, 0.5, 2], size=(10, 4)):
        np.testing.assert_allclose(kin.forward_kinematics(arm, q), checklist_fk(q), atol=1e-14)


def test_prismatic_axis_is_normalised():
    # "0 0 2" must move 0.3 m for q = 0.3, not 0.6 m.
    arm = load_urdf(CHECKLIST, base_link="l2_mount", tip_link="l3")
    T0, T1 = kin.forward_kinematics(arm, [0.0]), kin.forward_kinematics(arm, [0.3])
    assert np.linalg.norm(T1[:3, 3] - T0[:3, 3]) == pytest.approx(0.3, abs=1e-15)


def test_rpy_is_fixed_axis_z_y_x():
    xml = """<robot name="r"><link name="a"/><link name="b"/><link name="c"/>
      <joint name="j" type="revolute"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/>
        <limit lower="-1" upper="1"/></joint>
      <joint name="f" type="fixed"><parent link="b"/><child link="c"/><origin rpy="0.3 -0.7 1.1"/></joint>
    </robot>"""
    T = kin.forward_kinematics(load_urdf(xml), [0.0])
    np.testing.assert_allclose(T, rpy_to_matrix([0.3, -0.7, 1.1]), atol=1e-15)
    np.testing.assert_allclose(T[:3, :3], (rot_z(1.1) @ rot_axis([0, 1, 0], -0.7) @ rot_x(0.3))[:3, :3], atol=1e-15)


def test_sub_chains_and_path_selection():
    whole = load_urdf(CHECKLIST, tip_link="tool")
    middle = load_urdf(CHECKLIST, base_link="l1", tip_link="l4")
    assert middle.joint_names == ["j2", "j3", "j4"]
    q = np.array([0.4, -0.3, 0.2, 0.9])
    # base -> l1 is j1 alone (no origin), l4 -> tool is the fixed tool joint
    expected = rot_z(q[0]) @ kin.forward_kinematics(middle, q[1:]) @ origin((0, 0, 0.1), (0, 0, 0.5))
    np.testing.assert_allclose(kin.forward_kinematics(whole, q), expected, atol=1e-14)
    # a side branch: off-path mimic, floating and planar joints do not matter, on-path ones do
    finger = load_urdf(CHECKLIST, tip_link="finger_left")
    assert finger.joint_names == ["j1", "j2", "j3", "j4", "finger_left_joint"]


def test_default_tip_is_the_single_leaf_and_path_or_text_both_work():
    from_path = load_urdf(DATA / "dh_elbow.urdf")
    from_str_path = load_urdf(str(DATA / "dh_elbow.urdf"))
    from_text = load_urdf((DATA / "dh_elbow.urdf").read_text())
    q = np.array([0.1, 0.2, 0.3, 0.4])
    for arm in (from_str_path, from_text):
        assert arm.joint_names == from_path.joint_names
        np.testing.assert_array_equal(kin.forward_kinematics(arm, q), kin.forward_kinematics(from_path, q))


DH_ELBOW = [
    DHRow(d=0.3, a=0.0, alpha=np.pi / 2, limits=(-3, 3)),
    DHRow(d=0.0, a=0.4, alpha=0.0, limits=(-2, 2)),
    DHRow(d=0.05, a=0.35, alpha=-np.pi / 2, limits=(-2.5, 2.5)),
    DHRow(d=0.2, a=0.0, alpha=0.0),  # continuous
]


def test_urdf_of_a_dh_table_gives_the_same_fk():
    urdf = load_urdf(DATA / "dh_elbow.urdf")
    dh = robots.from_dh(DH_ELBOW)
    np.testing.assert_array_equal(urdf.lower, dh.lower)
    np.testing.assert_array_equal(urdf.upper, dh.upper)
    lower = np.where(np.isfinite(dh.lower), dh.lower, -np.pi)
    upper = np.where(np.isfinite(dh.upper), dh.upper, np.pi)
    q = np.random.default_rng(1).uniform(lower, upper, size=(20, 4))
    np.testing.assert_allclose(kin.forward_kinematics(urdf, q), kin.forward_kinematics(dh, q), atol=1e-14)
    np.testing.assert_allclose(kin.jacobian(urdf, q), kin.jacobian(dh, q), atol=1e-13)


# -- errors ----------------------------------------------------------------------------------

def robot(body, name="r"):
    return f'<?xml version="1.0"?>\n<robot name="{name}">\n{body}\n</robot>\n'


LINKS_ABC = '<link name="a"/>\n<link name="b"/>\n<link name="c"/>'


def joint(name, parent, child, kind="revolute", extra='<axis xyz="0 0 1"/><limit lower="-1" upper="1"/>'):
    return (f'<joint name="{name}" type="{kind}">\n<parent link="{parent}"/><child link="{child}"/>\n'
            f'{extra}\n</joint>')


# (file body, load_urdf keyword arguments, expected line or None, substrings of the message)
ERRORS = {
    "malformed": (robot('<link name="a">\n<link name="b"/>\n</robot>'), {}, 5,
                  ["malformed XML", "mismatched tag", "<link name='a'>"]),
    "not a robot": ('<model name="m"><link name="a"/></model>', {}, 1, ["root element must be <robot>"]),
    "no links": (robot(""), {}, 2, ["no <link>"]),
    "missing link": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n" + joint("j2", "b", "d")), {}, 11,
                     ["<child> in <joint name='j2'>", "child link 'd'", "no <link> element"]),
    "bad number": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<origin xyz="0 0 0.1O"/>')), {}, 8,
                   ["<origin> in <joint name='j1'>", "xyz='0 0 0.1O'", "expected 3 numbers"]),
    "too few numbers": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<axis xyz="0 1"/>')), {}, 8,
                        ["<axis> in <joint name='j1'>", "expected 3 numbers, got 2"]),
    "bad limit": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<limit lower="-1" upper="one"/>')), {}, 8,
                  ["<limit> in <joint name='j1'>", "upper='one'"]),
    "unknown type": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", kind="revolut")), {}, 6,
                     ["<joint name='j1'>", "unknown joint type 'revolut'", "continuous"]),
    "missing type": (robot(LINKS_ABC + '\n<joint name="j1"><parent link="a"/><child link="b"/></joint>'), {}, 6,
                     ["<joint name='j1'>", "missing attribute 'type'"]),
    "missing parent": (robot(LINKS_ABC + '\n<joint name="j1" type="fixed"><child link="b"/></joint>'), {}, 6,
                       ["<joint name='j1'>", "missing <parent"]),
    "two parents": (robot(LINKS_ABC + "\n" + joint("j1", "a", "c") + "\n" + joint("j2", "b", "c")), {}, 10,
                    ["<joint name='j2'>", "link 'c' has two parents", "'j1' (line 6)"]),
    "cycle": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n" + joint("j2", "b", "c") + "\n"
                    + joint("j3", "c", "b")), {}, None, ["two parents"]),
    "pure cycle": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n" + joint("j2", "b", "a")), {}, None,
                   ["cycle", "j1 (line 6)", "j2 (line 10)"]),
    "duplicate link": (robot(LINKS_ABC + '\n<link name="b"/>'), {}, 6, ["link 'b' is defined twice", "line 4"]),
    "duplicate joint": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n" + joint("j1", "b", "c")), {}, 10,
                        ["joint 'j1' is defined twice"]),
    "several leaves": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n" + joint("j2", "a", "c")), {}, None,
                       ["2 leaves", "b, c", "pass tip_link"]),
    "several roots": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b")), {}, None, ["2 trees", "a, c", "base_link"]),
    "unknown tip": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b")), {"base_link": "a", "tip_link": "x"}, None,
                    ["tip_link 'x' is not a link", "a, b, c"]),
    "unknown base": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b")), {"base_link": "z"}, None,
                     ["base_link 'z' is not a link"]),
    "tip not below base": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n" + joint("j2", "a", "c")),
                           {"base_link": "b", "tip_link": "c"}, None, ["'c' is not below base_link 'b'"]),
    # mimic joints on the path are coupled (tests/robots/test_urdf_mimic.py); bad ones name their <mimic>
    "mimic of an unknown joint on path": (
        robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n"
              + joint("j2", "b", "c", extra='<axis xyz="0 0 1"/><limit lower="-1" upper="1"/>\n<mimic joint="jx"/>')),
        {}, 13, ["<mimic> in <joint name='j2'>", "mimics unknown joint 'jx'"]),
    "mimic joints in a cycle on path": (
        robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<limit lower="-1" upper="1"/><mimic joint="j2"/>') + "\n"
              + joint("j2", "b", "c", extra='<limit lower="-1" upper="1"/><mimic joint="j1"/>')), {}, 8,
        ["<mimic> in <joint name='j1'>", "mimic joints form a cycle: j1 -> j2 -> j1"]),
    "mimic limits that the master cannot meet": (
        robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n"
              + joint("j2", "b", "c", extra='<limit lower="-1" upper="1"/><mimic joint="j1" offset="5"/>')), {}, None,
        ["the chain from 'a' to 'c'", "mimic joint 'j2'", "needs 'j1' in [-6, -4]", "misses 'j1''s limits [-1, 1]"]),
    "floating on path": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", kind="floating", extra="") + "\n"
                               + joint("j2", "b", "c")), {}, 6, ["<joint name='j1'>", "'floating'", "serial chain"]),
    "planar on path": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n"
                             + joint("j2", "b", "c", kind="planar", extra="")), {}, 10, ["'planar'"]),
    "zero axis on a revolute joint": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<axis xyz="0 0 0"/>')),
                                      {"tip_link": "b", "base_link": "a"}, 8, ["axis", "nonzero"]),
    "lower above upper": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<limit lower="1" upper="-1"/>')),
                          {"tip_link": "b", "base_link": "a"}, 8, ["lower=1.0 is above upper=-1.0"]),
    "revolute without limit": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<axis xyz="0 0 1"/>')),
                               {"base_link": "a", "tip_link": "b"}, 6, ["<joint name='j1'>", "needs <limit"]),
    "only fixed joints": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", kind="fixed", extra="")),
                          {"base_link": "a", "tip_link": "b"}, None, ["no revolute, continuous or prismatic"]),
    # issue 10: infinite or huge numbers end in an overflow inside the solver unless refused here
    "revolute with infinite limits": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<axis xyz="0 0 1"/>\n'
                                                                  '<limit lower="-inf" upper="inf"/>')),
                                      {"base_link": "a", "tip_link": "b"}, 9,
                                      ["<limit> in <joint name='j1'>", "lower=-inf upper=inf", 'type="continuous"']),
    "revolute with limits inf inf": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<axis xyz="0 0 1"/>\n'
                                                                 '<limit lower="inf" upper="inf"/>')),
                                     {"base_link": "a", "tip_link": "b"}, 9, ['type="continuous"']),
    "prismatic with infinite limit": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", kind="prismatic",
                                                                  extra='<limit lower="0" upper="Infinity"/>')),
                                      {"base_link": "a", "tip_link": "b"}, 8, ["prismatic joint needs finite limits"]),
    "limits of 1e308": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<limit lower="-1e308" upper="1e308"/>')),
                        {"base_link": "a", "tip_link": "b"}, 8, ["<limit> in <joint name='j1'>", "lower=-1e+308",
                                                                 "exceeds 1e+06", "MAX_LIMIT"]),
    "huge prismatic range": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", kind="prismatic",
                                                         extra='<limit lower="0" upper="2e6"/>')),
                             {"base_link": "a", "tip_link": "b"}, 8, ["upper=2000000.0", "exceeds 1e+06"]),
    "origin of 1e308": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n"
                              + joint("j2", "b", "c", extra='<origin xyz="1e308 0 0"/><axis xyz="0 0 1"/>'
                                                            '<limit lower="-1" upper="1"/>')), {}, 12,
                        ["<origin> in <joint name='j2'>", "xyz='1e308 0 0'", "exceeds 1e+06 m", "MAX_LENGTH"]),
    "fixed origin of 1e308 folded into the tool": (
        robot(LINKS_ABC + "\n" + joint("j1", "a", "b") + "\n"
              + joint("j2", "b", "c", kind="fixed", extra='<origin xyz="0 -1e308 0"/>')), {}, 12,
        ["<origin> in <joint name='j2'>", "exceeds 1e+06 m"]),
    "fixed offsets that add up beyond the bound": (
        robot(LINKS_ABC + '\n<link name="d"/>\n' + joint("f1", "a", "b", kind="fixed", extra='<origin xyz="9e5 0 0"/>')
              + "\n" + joint("f2", "b", "c", kind="fixed", extra='<origin xyz="9e5 0 0"/>') + "\n"
              + joint("j3", "c", "d")), {}, 15, ["<joint name='j3'>", "translation", "exceeds 1e+06 m"]),
    "zero axis names the element": (robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra='<axis xyz="0 0 0"/>'
                                                                '<limit lower="-1" upper="1"/>')),
                                    {"base_link": "a", "tip_link": "b"}, 8, ["<axis> in <joint name='j1'>", "nonzero"]),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_name_file_element_and_line(case, tmp_path):
    text, kwargs, line, fragments = ERRORS[case]
    path = tmp_path / "broken_arm.urdf"
    path.write_text(text)
    with pytest.raises(URDFError) as info:
        load_urdf(path, **kwargs)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(str(path)), message
    if line is not None:
        assert info.value.line == line, message
        assert f"line {line}" in message, message
    for fragment in fragments:
        assert fragment in message, message
    # the same text given directly is labelled "<string>"
    with pytest.raises(URDFError, match="^<string>"):
        load_urdf(text, **kwargs)


def test_missing_file_and_bad_argument():
    with pytest.raises(FileNotFoundError, match="no_such.urdf"):
        load_urdf(DATA / "no_such.urdf")
    with pytest.raises(TypeError, match="path_or_xml"):
        load_urdf(42)


def test_axes_are_normalised_robustly():
    # |(1e200, 0, 0)|^2 overflows and |(1e-200, 1e-200, 0)|^2 underflows: both are legal axes.
    for text, unit in (("1e200 0 0", [1, 0, 0]), ("1e-200 1e-200 0", [2 ** -0.5, 2 ** -0.5, 0]),
                       ("0 -1.7e308 1.7e308", [0, -(2 ** -0.5), 2 ** -0.5])):
        extra = f'<axis xyz="{text}"/><limit lower="-1" upper="1"/>'
        xml = robot(LINKS_ABC + "\n" + joint("j1", "a", "b", extra=extra))
        arm = load_urdf(xml, base_link="a", tip_link="b")
        np.testing.assert_allclose(arm.joints[0].axis, unit, atol=1e-15)
        assert np.all(np.isfinite(kin.forward_kinematics(arm, [0.5])))


def test_limit_attributes_default_to_zero():
    # <limit> present but without lower: the URDF specification's default 0
    xml = """<robot name="r"><link name="a"/><link name="b"/>
      <joint name="slide" type="prismatic"><parent link="a"/><child link="b"/><axis xyz="1 0 0"/>
        <limit upper="0.1" effort="1" velocity="1"/></joint></robot>"""
    arm = load_urdf(xml)
    assert (arm.lower[0], arm.upper[0]) == (0.0, 0.1)
    assert arm.joints[0].type == "prismatic"
