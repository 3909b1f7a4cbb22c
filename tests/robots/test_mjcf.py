"""robots.load_mjcf / read_mjcf: MuJoCo's own kinematics (the `mujoco` package, mj_kinematics) is
the oracle for every feature, for random trees and for MJCF versions of the built-in arms; errors
name the file, the element and its line."""

import doctest
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import kinematics as kin
import robots
from kinematics.transforms import rot_z, translation
from robots import MJCFError, load_mjcf
from robots.mjcf import Geom, MJCFModel, read_mjcf

try:
    import mujoco  # the oracle (the [test] extra); the loader itself never imports it
except ImportError:
    mujoco = None

DATA = pathlib.Path(__file__).parent / "data" / "mjcf"
ROOT = pathlib.Path(__file__).resolve().parents[2]
G = '<geom size="0.02"/>'  # MuJoCo needs mass on every body that a joint moves


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    # MuJoCo appends warnings (a nearly singular mass matrix, in a random tree whose joints share an
    # axis) to MUJOCO_LOG.TXT in the working directory: keep that out of the repository.
    monkeypatch.chdir(tmp_path)


def mujoco_model(source):
    if mujoco is None:
        pytest.skip("mujoco is not installed (pip install mujoco, in the [test] extra): it is the oracle")
    if isinstance(source, pathlib.Path):
        return mujoco.MjModel.from_xml_path(str(source))
    return mujoco.MjModel.from_xml_string(source)


def body_names(model):
    """armgrad's link names of MuJoCo's bodies: the world, the names, "body<id>" for unnamed ones."""
    return ["world"] + [model.body(i).name or f"body{i}" for i in range(1, model.nbody)]


def sample_q(robot, rng, count):
    lo = np.where(np.isfinite(robot.lower), robot.lower, -math.pi)
    hi = np.where(np.isfinite(robot.upper), robot.upper, math.pi)
    return rng.uniform(lo, hi, size=(count, robot.n))


def qpos_of(model, robot, q):
    """MuJoCo's qpos for armgrad's q: columns mapped by joint name through jnt_qposadr."""
    qpos = model.qpos0.copy()
    for column, name in enumerate(robot.joint_names):
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
        if jid < 0:  # an unnamed joint: armgrad calls it joint<id>
            assert name.startswith("joint"), name
            jid = int(name[5:])
            assert model.joint(jid).name == ""
        qpos[model.jnt_qposadr[jid]] = q[column]
    return qpos


def check_against_mujoco(source, robot=None, samples=6, seed=0, atol=1e-12):
    """Every body's and site's pose from armgrad equals MuJoCo's xpos/xmat at random q."""
    model, robot = mujoco_model(source), robot or load_mjcf(source)
    data = mujoco.MjData(model)
    assert robot.n == model.njnt
    bodies = body_names(model)
    sites = [model.site(i).name or f"site{i}" for i in range(model.nsite)]
    for name in robot.joint_names:  # the limits are MuJoCo's range, for the limited joints only
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
        jid = jid if jid >= 0 else int(name[5:])
        i = robot.index[name]
        if model.jnt_limited[jid]:
            np.testing.assert_allclose([robot.lower[i], robot.upper[i]], model.jnt_range[jid], rtol=0, atol=1e-15)
        else:
            assert (robot.lower[i], robot.upper[i]) == (-math.inf, math.inf), name
    rng = np.random.default_rng(seed)
    for q in sample_q(robot, rng, samples):
        data.qpos[:] = qpos_of(model, robot, q)
        mujoco.mj_kinematics(model, data)
        poses = kin.frame_poses(robot, q, bodies + sites)
        expected_p = np.concatenate([data.xpos, data.site_xpos])
        expected_R = np.concatenate([data.xmat, data.site_xmat]).reshape(-1, 3, 3)
        np.testing.assert_allclose(poses[:, :3, 3], expected_p, rtol=0, atol=atol)
        np.testing.assert_allclose(poses[:, :3, :3], expected_R, rtol=0, atol=atol)
    return model, robot


# -- each feature once -----------------------------------------------------------------------------

FEATURES = f"""<mujoco model="features">
  <default>
    <joint damping="1"/>
    <site size="0.01" euler="0 0 30"/>
    <default class="arm">
      <joint axis="0 1 0" range="-45 60"/>
      <default class="wrist">
        <joint axis="1 0 0" pos="0 0 0.05"/>
      </default>
    </default>
    <default class="slider">
      <joint type="slide" axis="1 1 0" range="-0.1 0.2"/>
    </default>
  </default>
  <worldbody>
    <site name="world_site" pos="0.1 0.2 0.3"/>
    <body name="base" pos="0.1 0 0.2" quat="2 0 0 1">{G}
      <joint name="yaw"/>
      <body name="shoulder" pos="0 0.1 0.3" euler="10 -20 30" childclass="arm">{G}
        <joint name="pitch" ref="15" pos="0.02 0 0.03"/>
        <joint name="roll" class="wrist" ref="-5"/>
        <site name="elbow_site" pos="0 0 0.1" axisangle="1 1 0 40"/>
        <site name="rod" type="box" size="0.01 0.01 0.01" fromto="0 0 0 0.1 0.2 0.3"/>
        <body name="forearm" pos="0.3 0 0" xyaxes="0 1 0 -1 0.2 0">{G}
          <joint name="slide" class="slider" ref="0.05" pos="1 2 3"/>
          <joint name="twist" class="main" axis="0 0 -2" pos="0.01 0.02 0"/>
          <frame pos="0.1 0 0" euler="0 90 0">
            <site name="framed_site" pos="0 0 0.1" zaxis="1 1 1"/>
            <body name="hand" pos="0 0.05 0" zaxis="0 -1 0">{G}
              <joint name="flex" limited="false" range="-1 1"/>
              <frame pos="0 0.1 0" euler="0 0 90"><joint name="framed" axis="1 0 0.5" pos="0 0 0.1"/></frame>
              <site name="attachment_site" pos="0 0 0.1" quat="0 0 0 1"/>
            </body>
          </frame>
          <body pos="0 0 -0.1">{G}
            <joint axis="0 1 1"/>
            <site pos="0 0 0.01"/>
          </body>
        </body>
      </body>
      <body name="fixed_cap" pos="0 0 0.5" euler="45 0 0">{G}<site name="cap_site"/></body>
    </body>
  </worldbody>
  <worldbody>
    <body name="second_root" pos="1 0 0" axisangle="0 0 1 90">{G}
      <joint name="lift" type="slide" axis="0 0 1"/>
    </body>
  </worldbody>
</mujoco>
"""


def test_features_match_mujoco():
    model, robot = check_against_mujoco(FEATURES, samples=10)
    assert robot.name == "features"
    assert robot.joint_names == ["yaw", "pitch", "roll", "slide", "twist", "flex", "framed", "joint7",
                                 "lift"]
    # several joints in one body: intermediate links; a hinge off its body's origin: an anchor joint
    assert {"shoulder/pitch", "forearm/slide", "forearm/twist"} <= set(robot.links)
    assert robot.parent_joint["shoulder"].name == "shoulder/anchor"
    assert robot.parent_joint["fixed_cap"].name == "fixed_cap/weld"
    assert robot.parent_joint["fixed_cap"].type == "fixed"
    # an unnamed body and site are named after MuJoCo's ids
    assert "body5" in robot.links and model.body(5).name == ""
    assert "site5" in robot.frames and model.site(5).name == ""
    # classes: "arm" range in degrees; "slider" inherits nothing from "arm"; unlimited hinge and slide
    i = robot.index
    assert robot.lower[i["pitch"]] == pytest.approx(-math.pi / 4) and robot.upper[i["roll"]] == pytest.approx(
        math.pi / 3)
    assert (robot.lower[i["slide"]], robot.upper[i["slide"]]) == (-0.1, 0.2)
    assert robot.upper[i["joint7"]] == pytest.approx(math.pi / 3)  # an unnamed joint inside childclass "arm"
    for name in ("yaw", "twist", "flex", "lift"):
        assert (robot.lower[i[name]], robot.upper[i[name]]) == (-math.inf, math.inf)
    assert all(j.velocity is None for j in robot.joints)
    assert robot.parent_joint["second_root"].parent == "world"


def test_joint_links_sit_on_mujocos_joint_anchors_and_axes():
    # link "B/J" is B's frame moved by the joints up to J, at J's anchor: MuJoCo's xanchor and xaxis
    model = mujoco_model(FEATURES)
    data, robot = mujoco.MjData(model), load_mjcf(FEATURES)
    q = sample_q(robot, np.random.default_rng(5), 1)[0]
    data.qpos[:] = qpos_of(model, robot, q)
    mujoco.mj_kinematics(model, data)
    joint_links = [j.child for j in robot.joints if j.type == "revolute" and "/" in j.child]
    assert len(joint_links) >= 5
    poses = kin.frame_poses(robot, q, joint_links)
    for link, T in zip(joint_links, poses):
        joint = robot.parent_joint[link]
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint.name)
        np.testing.assert_allclose(T[:3, 3], data.xanchor[jid], atol=1e-12)
        np.testing.assert_allclose(T[:3, :3] @ joint.axis, data.xaxis[jid], atol=1e-12)


@pytest.mark.parametrize("sequence", ["xyz", "XYZ", "zyx", "ZYX", "xYz", "zxz", "ZxZ", "yzy"])
@pytest.mark.parametrize("angle", ["degree", "radian"])
def test_euler_sequences_and_angle_units_match_mujoco(sequence, angle):
    e = "30 -50 70" if angle == "degree" else "0.4 -1.1 2.5"
    xml = f"""<mujoco><compiler angle="{angle}" eulerseq="{sequence}"/><worldbody>
      <body name="a" euler="{e}">{G}<joint name="j" axis="1 2 3" ref="{e.split()[0]}" range="{e.split()[1]} 80"/>
        <site name="s" euler="{e}"/><body name="b" pos="0.1 0.2 0.3" euler="{e}" axisangle="" >{G}</body></body>
    </worldbody></mujoco>""".replace(' axisangle=""', "")
    check_against_mujoco(xml)


def test_compiler_set_after_the_bodies_still_applies():
    # MuJoCo reads every <compiler> before the bodies: the last setting holds for the whole model.
    xml = f"""<mujoco><compiler angle="degree"/><worldbody><body name="a" euler="0.5 0 0">{G}
      <joint name="j" range="-1 1"/></body></worldbody><compiler angle="radian"/></mujoco>"""
    _, robot = check_against_mujoco(xml)
    assert robot.upper[0] == 1.0


@pytest.mark.parametrize("limits, expected", [
    ('range="-30 30"', (-math.pi / 6, math.pi / 6)),
    ('range="10 10"', (-math.inf, math.inf)),           # MuJoCo: an empty range with limited auto is none
    ('range="-30 30" limited="false"', (-math.inf, math.inf)),
    ('', (-math.inf, math.inf)),
    ('type="slide" range="-0.5 0.25" limited="true"', (-0.5, 0.25)),
    ('type="slide"', (-math.inf, math.inf)),
])
def test_limits_follow_mujoco(limits, expected):
    xml = f'<mujoco><worldbody><body name="a">{G}<joint name="j" {limits}/></body></worldbody></mujoco>'
    _, robot = check_against_mujoco(xml)
    np.testing.assert_allclose([robot.lower[0], robot.upper[0]], expected, rtol=1e-15)


def test_autolimits_false_needs_limited():
    xml = f"""<mujoco><compiler autolimits="false"/><worldbody><body name="a">{G}
      <joint name="j" range="-30 30" limited="true"/><joint name="k" axis="0 1 0"/></body></worldbody></mujoco>"""
    _, robot = check_against_mujoco(xml)
    assert robot.upper[0] == pytest.approx(math.pi / 6) and robot.upper[1] == math.inf


def test_childclass_reaches_descendants_until_another_childclass():
    xml = f"""<mujoco><default><default class="x"><joint axis="1 0 0"/></default>
        <default class="y"><joint axis="0 1 0"/><site pos="0 0 1"/></default></default><worldbody>
      <body name="a" childclass="x">{G}<joint name="ja"/>
        <body name="b">{G}<joint name="jb"/>
          <body name="c" childclass="y">{G}<joint name="jc"/><joint name="jd" class="x"/><site name="s"/>
            <frame childclass="x"><body name="d">{G}<joint name="je"/></body></frame>
          </body></body></body></worldbody></mujoco>"""
    _, robot = check_against_mujoco(xml)
    axes = {j.name: tuple(j.axis) for j in robot.joints if j.type != "fixed"}
    assert axes == {"ja": (1, 0, 0), "jb": (1, 0, 0), "jc": (0, 1, 0), "jd": (1, 0, 0), "je": (1, 0, 0)}
    np.testing.assert_array_equal(robot.offsets["s"][1][:3, 3], [0, 0, 1])


def test_several_top_level_defaults_add_to_main_in_order():
    xml = f"""<mujoco><default><joint axis="1 0 0" range="-10 10"/></default>
      <default><joint axis="0 1 0"/><default class="c"><joint ref="5"/></default></default><worldbody>
      <body name="a">{G}<joint name="j"/><body name="b" pos="0 0 0.1">{G}<joint name="k" class="c"/></body>
      </body></worldbody></mujoco>"""
    _, robot = check_against_mujoco(xml)
    np.testing.assert_array_equal(robot.joints[0].axis, [0, 1, 0])  # the later default wins, as in MuJoCo
    assert robot.upper[1] == pytest.approx(math.pi / 18)  # and what it does not set stays


def test_element_orientation_replaces_the_class_orientation():
    xml = f"""<mujoco><default><site quat="0 1 0 0" pos="1 2 3"/></default><worldbody>
      <body name="a">{G}<joint name="j"/><site name="s1"/><site name="s2" euler="0 0 90"/>
      <site name="s3" pos="0 0 0"/></body></worldbody></mujoco>"""
    check_against_mujoco(xml)


def test_sites_are_frames_and_joints_are_mujocos_qpos():
    model, robot = check_against_mujoco(DATA / "panda.xml")
    assert "attachment_site" in robot.frames and robot.offsets["attachment_site"][0] == "link7"
    # q is MuJoCo's qpos itself (one hinge per body, in body order)
    assert [model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n)] for n in robot.joint_names] \
        == list(range(7))


# -- random trees ----------------------------------------------------------------------------------

def _random_orientation(rng, degree):
    unit = 180 / math.pi if degree else 1.0
    form = rng.integers(7)
    if form == 0:
        return ""
    if form == 1:
        return ' quat="{:.6f} {:.6f} {:.6f} {:.6f}"'.format(*rng.normal(size=4))
    if form == 2:
        return ' euler="{:.6f} {:.6f} {:.6f}"'.format(*(rng.uniform(-math.pi, math.pi, 3) * unit))
    if form == 3:
        return ' axisangle="{:.5f} {:.5f} {:.5f} {:.6f}"'.format(*rng.normal(size=3), rng.uniform(-3, 3) * unit)
    if form == 4:
        return ' xyaxes="{:.5f} {:.5f} {:.5f} {:.5f} {:.5f} {:.5f}"'.format(*rng.normal(size=6))
    if form == 5:
        return ' zaxis="{:.5f} {:.5f} {:.5f}"'.format(*rng.normal(size=3))
    return ' zaxis="0 0 -1"' if rng.random() < 0.5 else ' euler="0 0 0"'


def random_mjcf(seed):
    """A random tree of 1 to 12 bodies with every orientation form, 0 to 3 hinge or slide joints per
    body (anchors, refs, ranges; some only from a default class, or from a body's childclass),
    frames and sites, in degrees or radians, with a random eulerseq."""
    rng = np.random.default_rng(seed)
    degree = rng.random() < 0.5
    unit = 180 / math.pi if degree else 1.0
    sequence = "".join(rng.choice(list("xyzXYZ"), 3))
    v = lambda scale=1.0: "{:.4f} {:.4f} {:.4f}".format(*rng.normal(size=3) * scale)
    lines = [f'<mujoco model="random{seed}"><compiler angle="{"degree" if degree else "radian"}" '
             f'eulerseq="{sequence}"/>',
             f'<default><joint axis="{v()}"/><default class="k"><joint type="slide" axis="{v()}" range="-0.3 0.4"/>'
             f'</default><default class="h"><joint pos="{v(0.1)}" ref="{0.3 * unit:.5f}" range="{-unit:.5f} '
             f'{2 * unit:.5f}"/></default></default>', '<worldbody>']
    count, depth = int(rng.integers(1, 13)), 0
    for b in range(count):
        close = int(rng.integers(0, depth + 1)) if b else 0
        lines += ["</body>"] * close
        depth -= close
        pos = "{:.4f} {:.4f} {:.4f}".format(*rng.uniform(-0.5, 0.5, 3))
        framed = rng.random() < 0.15
        if framed:
            lines.append(f'<frame pos="0 0.1 0"{_random_orientation(rng, degree)}>')
        childclass = ' childclass="h"' if rng.random() < 0.2 else ""
        lines.append(f'<body name="b{b}" pos="{pos}"{_random_orientation(rng, degree)}{childclass}>{G}')
        classed = set()
        for j in range(int(rng.integers(0 if b else 1, 4))):
            kind = "slide" if rng.random() < 0.3 else "hinge"
            axis = "{:.4f} {:.4f} {:.4f}".format(*rng.normal(size=3))
            anchor = ' pos="{:.4f} {:.4f} {:.4f}"'.format(*rng.uniform(-0.2, 0.2, 3)) if rng.random() < 0.6 else ""
            scale = unit if kind == "hinge" else 0.3
            ref = f' ref="{rng.uniform(-1, 1) * scale:.5f}"' if rng.random() < 0.5 else ""
            lo, hi = sorted(rng.uniform(-2, 2, 2) * scale)
            limit = f' range="{lo:.5f} {hi:.5f}"' if rng.random() < 0.6 else ""
            if rng.random() < 0.3:  # everything from a class (or the childclass, or "main")
                cls = rng.choice(["", ' class="k"', ' class="h"'])
                if cls not in classed:  # two joints of one class in a body would share their axis
                    classed.add(cls)
                    lines.append(f'<joint name="b{b}j{j}"{cls}/>')
            else:
                lines.append(f'<joint name="b{b}j{j}" type="{kind}" axis="{axis}"{anchor}{ref}{limit}/>')
        if rng.random() < 0.5:
            site_pos = "{:.4f} {:.4f} {:.4f}".format(*rng.uniform(-0.2, 0.2, 3))
            lines.append(f'<site name="s{b}" pos="{site_pos}"{_random_orientation(rng, degree)}/>')
        if framed:
            lines.append("</body></frame>")  # a framed body stays a leaf: simpler nesting
        else:
            depth += 1
    lines += ["</body>"] * depth + ["</worldbody></mujoco>"]
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(40))
def test_random_trees_match_mujoco(seed):
    xml = random_mjcf(seed)
    robot = load_mjcf(xml)
    check_against_mujoco(xml, robot, samples=4, seed=seed)


# -- includes ---------------------------------------------------------------------------------------

def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_include_inlines_children_where_mujoco_finds_them(tmp_path):
    main = write(tmp_path / "scene.xml", f"""<mujoco model="scene">
  <include file="parts/defaults.xml"/>
  <worldbody><body name="stand">{G}<include file="parts/arm.xml"/></body></worldbody>
</mujoco>""")
    write(tmp_path / "parts" / "defaults.xml", '<mujoco><default><joint axis="1 0 0"/></default></mujoco>')
    # arm.xml includes hand.xml: MuJoCo looks beside the main file first (tmp_path/hand.xml), then
    # beside the including file (parts/hand.xml): the second is the one here.
    write(tmp_path / "parts" / "arm.xml", f"""<anything>
  <body name="arm" pos="0 0 1">{G}<joint name="j1"/><include file="hand.xml"/></body>
</anything>""")
    write(tmp_path / "parts" / "hand.xml", f'<mujoco><body name="hand" pos="0.5 0 0">{G}<joint name="j2"/>'
                                           '<site name="attachment_site"/></body></mujoco>')
    _, robot = check_against_mujoco(main)
    assert robot.joint_names == ["j1", "j2"] and robot.name == "scene"
    # with a hand.xml beside the main file too, both MuJoCo and armgrad take that one
    write(tmp_path / "hand.xml", f'<mujoco><body name="main_hand">{G}<joint name="j3" axis="0 1 0"/></body></mujoco>')
    _, robot = check_against_mujoco(main)
    assert robot.joint_names == ["j1", "j3"]


def test_include_from_text_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    write(tmp_path / "arm.xml", f'<mujoco><worldbody><body name="a">{G}<joint name="j"/></body></worldbody></mujoco>')
    monkeypatch.chdir(tmp_path)
    check_against_mujoco('<mujoco><include file="arm.xml"/></mujoco>')


def test_errors_in_included_files_name_that_file_and_line(tmp_path):
    main = write(tmp_path / "main.xml", '<mujoco>\n<worldbody>\n<include file="sub/arm.xml"/>\n</worldbody>\n</mujoco>')
    sub = write(tmp_path / "sub" / "arm.xml", f'<mujoco>\n<body name="a">{G}\n\n<joint name="j" axis="0 0 0"/>\n'
                                              '</body>\n</mujoco>')
    with pytest.raises(MJCFError) as err:
        load_mjcf(main)
    assert str(err.value).startswith(f"{sub}, line 4, <joint name='j'>") and "nonzero" in str(err.value)
    assert err.value.source == str(sub) and err.value.line == 4


@pytest.mark.parametrize("layout, message", [
    ({"main.xml": '<mujoco><include file="missing.xml"/></mujoco>'}, "include file 'missing.xml' not found"),
    ({"main.xml": '<mujoco><include file="a.xml"/></mujoco>', "a.xml": '<m><include file="b.xml"/></m>',
      "b.xml": '<m><include file="a.xml"/></m>'}, "include cycle: a.xml -> b.xml -> a.xml"),
    ({"main.xml": '<mujoco><include file="main.xml"/></mujoco>'}, "include cycle: main.xml -> main.xml"),
    ({"main.xml": '<mujoco><include file="a.xml"/><include file="a.xml"/></mujoco>', "a.xml": "<m/>"},
     "is already included"),
    ({"main.xml": '<mujoco><include/></mujoco>'}, "missing attribute 'file'"),
    ({"main.xml": '<mujoco><include file="a.xml"/></mujoco>', "a.xml": "<m><oops></m>"}, "malformed XML"),
])
def test_bad_includes(tmp_path, layout, message):
    for name, text in layout.items():
        write(tmp_path / name, text)
    with pytest.raises(MJCFError, match=message.replace("(", r"\(")) as err:
        load_mjcf(tmp_path / "main.xml")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError):  # MuJoCo refuses these files too
        mujoco_model(tmp_path / "main.xml")


# -- geoms ------------------------------------------------------------------------------------------

def test_geom_records_match_mujocos_geom_poses():
    xml = """<mujoco><default><geom type="capsule" size="0.02 0.1"/></default>
      <asset><mesh name="blob" vertex="0 0 0 1 0 0 0 1 0 0 0 1"/></asset><worldbody>
      <geom name="floor" type="plane" size="1 1 0.1"/>
      <body name="a" pos="0.1 0.2 0.3" euler="10 20 30"><joint name="j"/>
        <geom name="c1" fromto="0 0 0 0.3 0.1 -0.2"/>
        <geom name="c2" fromto="0 0 0 0 0 -0.3"/>
        <geom name="c3" type="cylinder" fromto="0.1 0 0 0.1 0 0.3" size="0.01"/>
        <geom name="box" type="box" size="0.1 0.2 0.3" pos="0 0 0.1" axisangle="1 0 0 30"/>
        <frame pos="0 1 0"><geom name="ball" type="sphere" size="0.05" pos="0.1 0 0"/></frame>
        <geom name="mesh" type="mesh" mesh="blob" pos="1 0 0"/>
      </body></worldbody></mujoco>"""
    model_ = read_mjcf(xml)
    assert isinstance(model_, MJCFModel) and all(isinstance(g, Geom) for g in model_.geoms)
    names = [g.name for g in model_.geoms]
    assert names == ["floor", "c1", "c2", "c3", "box", "ball", "mesh"]
    by_name = {g.name: g for g in model_.geoms}
    assert by_name["c1"].type == "capsule" and by_name["c1"].size == (0.02, 0.1)
    assert by_name["c1"].fromto == (0, 0, 0, 0.3, 0.1, -0.2) and by_name["box"].fromto is None
    assert by_name["mesh"].mesh == "blob" and by_name["floor"].link == "world" and by_name["ball"].link == "a"
    model = mujoco_model(xml)
    data = mujoco.MjData(model)
    q = np.array([0.7])
    data.qpos[:] = q
    mujoco.mj_kinematics(model, data)
    for k, geom in enumerate(model_.geoms):
        T = kin.frame_poses(model_.robot, q, [geom.link])[0] @ geom.pose
        # MuJoCo re-centres a mesh on its inertial frame (mesh_pos, mesh_quat) and moves the geom to
        # match: the geom's pose as written is MuJoCo's geom pose times the inverse of that frame
        G = geom_pose(data, k) @ (np.linalg.inv(mesh_frame(model, model.geom_dataid[k])) if geom.mesh else np.eye(4))
        np.testing.assert_allclose(T, G, atol=1e-12)
    assert model.geom_type[-1] == mujoco.mjtGeom.mjGEOM_MESH and model.mesh_pos[0].any()  # it was re-centred


def geom_pose(data, k):
    """(4, 4) MuJoCo's world pose of geom k (geom_xpos, geom_xmat)."""
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = data.geom_xmat[k].reshape(3, 3), data.geom_xpos[k]
    return T


def mesh_frame(model, mesh_id):
    """(4, 4) the frame MuJoCo moved mesh `mesh_id`'s vertices to (mesh_pos, mesh_quat), in the frame
    of a geom that uses it as written: a vertex of mesh_vert = frame⁻¹ · that vertex in the geom."""
    R = np.zeros(9)
    mujoco.mju_quat2Mat(R, model.mesh_quat[mesh_id])
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R.reshape(3, 3), model.mesh_pos[mesh_id]
    return T


def test_geom_records_say_which_geoms_collide_as_mujoco_does():
    xml = """<mujoco><default><default class="visual"><geom contype="0" conaffinity="0"/></default></default>
      <worldbody><body name="a"><joint name="j"/>
        <geom name="v" class="visual" size="0.1"/><geom name="c" size="0.1"/>
        <geom name="half" size="0.1" contype="0"/><geom name="off" size="0.1" conaffinity="0" contype="0"/>
      </body></worldbody></mujoco>"""
    records = {g.name: g.collides for g in read_mjcf(xml).geoms}
    model = mujoco_model(xml)
    expected = {model.geom(k).name: bool(model.geom_contype[k] or model.geom_conaffinity[k])
                for k in range(model.ngeom)}
    assert records == expected == {"v": False, "c": True, "half": True, "off": False}


# -- the built-in arms as MJCF files --------------------------------------------------------------

# (file, built-in, base: the world pose of the arm's DH base, tool: flange -> attachment_site)
# -- mesh assets --------------------------------------------------------------------------------------

TETRA = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.2, 0], [0, 0, 0.3]])
OBJ = "".join(f"v {x} {y} {z}\n" for x, y, z in TETRA) + "f 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
VERTEX = " ".join(str(x) for x in TETRA.ravel())


def mesh_vertices(model, mesh_id):
    """(N, 3) MuJoCo's vertices of a mesh in the frame of a geom using it as written (float32 data)."""
    start, count = model.mesh_vertadr[mesh_id], model.mesh_vertnum[mesh_id]
    T = mesh_frame(model, mesh_id)
    return model.mesh_vert[start:start + count].astype(float) @ T[:3, :3].T + T[:3, 3]


def test_mesh_assets_place_their_vertices_as_mujoco_does():
    # scale through mesh classes (main, nested, an own scale winning; a body's childclass does not
    # reach assets), and the legacy refpos/refquat: MuJoCo's re-centred vertices are the reference
    xml = f"""<mujoco><default><mesh scale="2 1 1"/>
        <default class="big"><mesh scale="3 0.5 1"/><default class="inner"/></default></default>
      <asset><mesh name="main" vertex="{VERTEX}"/><mesh name="big" class="big" vertex="{VERTEX}"/>
        <mesh name="inner" class="inner" vertex="{VERTEX}"/>
        <mesh name="own" class="big" scale="1 1 5" vertex="{VERTEX}"/>
        <mesh name="ref" vertex="{VERTEX}" scale="1 2 0.5" refpos="0.1 0.02 0.03" refquat="0.9 0.3 0.1 0.2"/>
      </asset><worldbody><body name="a" childclass="big"><joint name="j"/>
        <geom type="mesh" mesh="main"/><geom type="mesh" mesh="big"/><geom type="mesh" mesh="inner"/>
        <geom type="mesh" mesh="own"/><geom type="mesh" mesh="ref"/></body></worldbody></mujoco>"""
    meshes = read_mjcf(xml).meshes
    assert list(meshes) == ["main", "big", "inner", "own", "ref"]
    scales = {name: mesh.scale.tolist() for name, mesh in meshes.items()}
    assert scales == {"main": [2, 1, 1], "big": [3, 0.5, 1], "inner": [3, 0.5, 1], "own": [1, 1, 5], "ref": [1, 2, 0.5]}
    model = mujoco_model(xml)
    for k in range(model.nmesh):
        theirs, ours = mesh_vertices(model, k), meshes[model.mesh(k).name].place(TETRA)
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-7)  # mesh_vert is float32


def mesh_layout(tmp_path, compilers, file, where, include):
    """A model in tmp_path/model/ with compilers (attribute strings, one element each) and a mesh
    asset (in sub/inc.xml when `include`), whose OBJ file is put at `where` (under tmp_path)."""
    folder = tmp_path / "model"
    asset = f'<asset><mesh name="t" file="{file}"/></asset>'
    write(folder / "sub" / "inc.xml", f"<mujoco>{asset}</mujoco>")
    main = write(folder / "main.xml", "<mujoco>" + "".join(f"<compiler {c}/>" for c in compilers)
                 + ('<include file="sub/inc.xml"/>' if include else asset)
                 + '<worldbody><body name="a"><joint name="j"/><geom type="mesh" mesh="t"/></body></worldbody>'
                 '</mujoco>')
    write(tmp_path / where, OBJ)
    return main


@pytest.mark.parametrize("compilers, file, where, include, found", [
    (['meshdir="m" assetdir="a"'], "t.obj", "model/m/t.obj", False, True),  # meshdir wins on one element
    (['meshdir="m" assetdir="a"'], "t.obj", "model/a/t.obj", False, False),
    (['meshdir="m"', 'assetdir="a"'], "t.obj", "model/a/t.obj", False, True),  # a later assetdir sets meshdir
    (['assetdir="a"', 'meshdir="m"'], "t.obj", "model/m/t.obj", False, True),
    (['meshdir="m"', 'meshdir=""'], "t.obj", "model/t.obj", False, True),
    (['meshdir="m"'], "t.obj", "model/t.obj", False, False),  # no second try for the main file
    (['meshdir="../shared"'], "t.obj", "shared/t.obj", False, True),  # from the main file's folder, not cwd
    (['meshdir="{tmp}/elsewhere"'], "t.obj", "elsewhere/t.obj", False, True),
    (['meshdir="m"'], "{tmp}/abs/t.obj", "abs/t.obj", False, True),  # an absolute name ignores meshdir
    (['meshdir="m"'], "d/t.obj", "model/m/d/t.obj", False, True),
    (['strippath="true" meshdir="m"'], "d/t.obj", "model/m/t.obj", False, True),
    ([], "t.obj", "model/t.obj", True, True),  # an included file's mesh: the main folder first,
    ([], "t.obj", "model/sub/t.obj", True, True),  # then beside the included file
    (['meshdir="m"'], "t.obj", "model/m/t.obj", True, True),
    (['meshdir="m"'], "t.obj", "model/sub/t.obj", True, True),  # (without meshdir)
    (['meshdir="m"'], "t.obj", "model/sub/m/t.obj", True, False),
    (['strippath="true"'], "d/t.obj", "model/sub/t.obj", True, False),  # strippath: no second try
])
def test_mesh_files_are_found_where_mujoco_finds_them(tmp_path, compilers, file, where, include, found):
    main = mesh_layout(tmp_path, [c.format(tmp=tmp_path) for c in compilers], file.format(tmp=tmp_path), where,
                       include)
    asset = read_mjcf(main).meshes["t"]
    assert os.path.isfile(asset.file) == found, asset.tried
    if found:
        assert os.path.samefile(asset.file, tmp_path / where)
        mujoco_model(main)  # MuJoCo loads it (it reads that file: a wrong one would not be there)
    else:
        with pytest.raises(ValueError, match="Error opening file"):
            mujoco_model(main)


def test_a_mesh_is_named_after_its_file_by_default(tmp_path):
    write(tmp_path / "m" / "link.v2.obj", OBJ)
    main = write(tmp_path / "main.xml", '<mujoco><asset><mesh file="m/link.v2.obj"/></asset><worldbody><body>'
                                        '<joint/><geom type="mesh" mesh="link.v2"/></body></worldbody></mujoco>')
    assert list(read_mjcf(main).meshes) == [mujoco_model(main).mesh(0).name] == ["link.v2"]


MESH_BAD = [
    ('<geom name="g" type="mesh" mesh="nope"/>', 4, "geom 'g': no mesh asset named 'nope'; meshes: t"),
    ('<geom mesh="nope" size="0.1"/>', 4, "the sphere geom: no mesh asset named 'nope'"),
    ('<geom type="mesh"/>', 4, "the mesh geom needs a mesh attribute"),
    ('<geom type="mesh" mesh="t"/>', 2, "mesh 't' is defined twice (first: "),  # (the asset has two)
]


@pytest.mark.parametrize("geom, line, message", MESH_BAD, ids=[m[:40] for _, _, m in MESH_BAD])
def test_geoms_must_name_a_mesh_asset(tmp_path, geom, line, message):
    xml = (f'<mujoco>\n<asset><mesh name="t" vertex="{VERTEX}"/><mesh name="t" vertex="{VERTEX}"/></asset>\n'
           if "twice" in message else f'<mujoco>\n<asset><mesh name="t" vertex="{VERTEX}"/></asset>\n')
    xml += f'<worldbody><body name="b"><joint/>\n{geom}</body></worldbody>\n</mujoco>'
    path = write(tmp_path / "bad.xml", xml)
    with pytest.raises(MJCFError) as err:
        load_mjcf(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"{path}, line {line}"), str(err.value)
    assert message in str(err.value), str(err.value)
    with pytest.raises(ValueError):  # MuJoCo refuses these files too
        mujoco_model(path)


@pytest.mark.parametrize("mesh, message", [
    ('scale="1 2"', "attribute scale='1 2': expected 3 numbers, got 2"),
    ('vertex="0 0 0 1"', "attribute vertex: expected a multiple of 3 numbers, got 4"),
    ('refquat="0 0 0 0"', "attribute refquat: a zero quaternion is no rotation"),
    ('class="nope"', "unknown default class 'nope'"),
])
def test_bad_mesh_assets_are_one_line(tmp_path, mesh, message):
    vertex = "" if "vertex" in mesh else f'vertex="{VERTEX}"'
    path = write(tmp_path / "bad.xml", f'<mujoco>\n<asset>\n<mesh name="t" {vertex} {mesh}/></asset>\n<worldbody>'
                                      '<body><joint/><geom type="mesh" mesh="t"/></body></worldbody></mujoco>')
    with pytest.raises(MJCFError) as err:
        load_mjcf(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"{path}, line 3"), str(err.value)
    assert message in str(err.value), str(err.value)
    with pytest.raises(ValueError):  # MuJoCo refuses these files too
        mujoco_model(path)


ARMS = [
    ("panda.xml", "panda", translation([0.5, 0.0, 0.0]), rot_z(-math.pi / 4)),
    ("iiwa14.xml", "iiwa14", np.eye(4), translation([0.0, 0.0, 0.045])),
    ("ur5e.xml", "ur5e", translation([0.0, 0.0, 0.8]) @ rot_z(math.pi), np.eye(4)),
]


@pytest.mark.parametrize("file, name, base, tool", ARMS)
def test_builtin_arms_written_as_mjcf(file, name, base, tool):
    robot, chain = load_mjcf(DATA / file), robots.get(name)
    assert robot.joint_names == chain.joint_names
    np.testing.assert_allclose(robot.lower, chain.lower, rtol=0, atol=1e-11)
    np.testing.assert_allclose(robot.upper, chain.upper, rtol=0, atol=1e-11)
    q = sample_q(robot, np.random.default_rng(1), 50)
    site = kin.frame_poses(robot, q, ["attachment_site"])[:, 0]
    flange = kin.frame_poses(kin.Robot.from_chain(chain), q, ["tool"])[:, 0]
    np.testing.assert_allclose(site, base @ flange @ tool, rtol=0, atol=1e-12)
    check_against_mujoco(DATA / file)


@pytest.mark.parametrize("file", ["panda.xml", "ur5e.xml"])
def test_ik_solves_on_a_loaded_mjcf_robot(file):
    robot = load_mjcf(DATA / file)
    goals = sample_q(robot, np.random.default_rng(2), 8)
    targets = kin.frame_poses(robot, goals, ["attachment_site"])[:, 0]
    result = kin.solve(robot, [kin.Pose("attachment_site", targets)])
    assert result.success.all(), result.reason
    reached = kin.frame_poses(robot, result.q, ["attachment_site"])[:, 0]
    np.testing.assert_allclose(reached[:, :3, 3], targets[:, :3, 3], atol=1e-6)
    assert np.all(kin.pose_error(reached, targets)[:, 3:] ** 2 < 1e-12)
    assert np.all((result.q >= robot.lower) & (result.q <= robot.upper))


# -- API ----------------------------------------------------------------------------------------

def test_api():
    assert robots.load_mjcf is load_mjcf and robots.MJCFError is MJCFError
    assert {"load_mjcf", "MJCFError"} <= set(robots.__all__)
    assert issubclass(MJCFError, ValueError) and not issubclass(MJCFError, robots.URDFError)
    robot = load_mjcf(str(DATA / "iiwa14.xml"))
    assert isinstance(robot, kin.Robot) and robot.name == "iiwa14"
    unnamed = load_mjcf(f'<mujoco><worldbody><body name="a">{G}<joint/></body></worldbody></mujoco>')
    assert unnamed.name == "mjcf" and unnamed.joint_names == ["joint0"]
    with pytest.raises(TypeError, match="load_mjcf"):
        load_mjcf(3)
    with pytest.raises(FileNotFoundError, match="cannot read MJCF file"):
        load_mjcf("no/such/file.xml")


def test_module_docstring_example_runs():
    import robots.mjcf

    result = doctest.testmod(robots.mjcf, globs={"np": np, "load_mjcf": load_mjcf})
    assert result.attempted >= 3 and result.failed == 0


def test_the_loader_does_not_import_mujoco():
    code = ("import sys, robots; robots.load_mjcf('tests/robots/data/mjcf/panda.xml'); "
            "assert 'mujoco' not in sys.modules, 'mujoco imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


# -- bad input ------------------------------------------------------------------------------------

def body(inner, attrs=""):
    return f'<mujoco>\n<worldbody>\n<body name="b" {attrs}>{G}\n{inner}\n</body>\n</worldbody>\n</mujoco>'


BAD = [
    ("<mujoco><worldbody>", 1, "malformed XML"),
    ('<robot name="r"/>', 1, "the root element must be <mujoco>, got <robot>"),
    ("<mujoco/>", None, "has no <worldbody>"),
    ("<mujoco><worldbody/></mujoco>", None, "has no bodies"),
    (body('<joint name="j" type="spin"/>'), 4, "attribute type='spin': expected one of hinge, slide, ball, free"),
    (body('<joint name="j" axis="0 0"/>'), 4, "axis='0 0': expected 3 numbers, got 2"),
    (body('<joint name="j" axis="0 0 x"/>'), 4, "axis='0 0 x': expected 3 numbers"),
    (body('<joint name="j" axis="0 0 nan"/>'), 4, "expected finite numbers"),
    (body('<joint name="j" pos="0 0 inf"/>'), 4, "expected finite numbers"),
    (body('<joint name="j" range="1_0 20"/>'), 4, "expected 2 numbers"),
    (body('<joint name="j" axis="0 0 0"/>'), 4, "joint 'j': the axis of a hinge joint must be nonzero"),
    (body('<joint name="j" class="nope"/>'), 4, "unknown default class 'nope'"),
    (body('', 'childclass="nope"'), 3, "unknown childclass 'nope'"),
    (body('', 'quat="0 0 0 0"'), 3, "a zero quaternion"),
    (body('', 'quat="1 0 0 0" euler="0 0 1"'), 3, "several orientations given (quat, euler)"),
    (body('', 'xyaxes="1 0 0 2 0 0"'), 3, "y not parallel"),
    (body('', 'zaxis="0 0 0"'), 3, "the z axis must be nonzero"),
    (body('<body name="b">' + G + '<joint/></body>'), 4, "body 'b' is defined twice (first: line 3)"),
    ('<mujoco><worldbody><body name="world"/></worldbody></mujoco>', 1, "body 'world' is defined twice"),
    (body('<site name="s"/><body name="c">' + G + '<site name="s"/></body>'), 4, "site 's' is defined twice"),
    (body('<joint name="j" range="20 10"/>'), 4, "joint 'j': range lower 0.349066 is above upper 0.174533"),
    (body('<joint name="j" type="slide" range="2 1" limited="true"/>'), 4, "range lower 2 is above upper 1"),
    (body('<joint name="j" limited="true"/>'), 4, "limited=\"true\" needs a range"),
    (body('<joint name="j" limited="true" range="1 1"/>'), 4, "needs range lower < upper"),
    (body('<joint name="j" limited="yes" range="1 2"/>'), 4, "limited='yes': expected one of true, false, auto"),
    (body('<freejoint name="f"/>'), 4, "a free joint (in body 'b'): only hinge and slide joints form a kinematic"),
    (body('<joint name="f" type="free"/>'), 4, "a free joint (in body 'b'): only hinge and slide"),
    (body('<joint name="f" type="ball"/>'), 4, "a ball joint (in body 'b'): only hinge and slide"),
    ('<mujoco>\n<default>\n<joint type="ball"/>\n</default>\n<worldbody>\n<body name="b">\n<joint name="f"/>\n'
     '</body>\n</worldbody>\n</mujoco>', 7, "a ball joint (in body 'b')"),
    ('<mujoco><default><default class="a"><default class="a"/></default></default><worldbody/></mujoco>', 1,
     "default class 'a' is defined at line 1"),
    ('<mujoco><default class="top"/><worldbody/></mujoco>', 1, "cannot be renamed"),
    ('<mujoco><worldbody><joint name="j"/></worldbody></mujoco>', 1, "the world body cannot have joints"),
    ('<mujoco><compiler angle="grad"/><worldbody/></mujoco>', 1, "angle='grad': expected one of degree, radian"),
    ('<mujoco><compiler coordinate="global"/><worldbody/></mujoco>', 1, "coordinate=\"global\" is not supported"),
    ('<mujoco><compiler eulerseq="xyw"/><worldbody><body euler="1 2 3"/></worldbody></mujoco>', 1,
     "eulerseq='xyw'"),
    ('<mujoco><compiler autolimits="false"/><worldbody><body name="b">' + G + '<joint name="j" range="0 1"/>'
     '</body></worldbody></mujoco>', 1, "has a range but no limited attribute"),
    (body('<geom type="blob"/>'), 4, "attribute type='blob'"),
    (body('<site type="mesh"/>'), 4, "attribute type='mesh': expected one of sphere, capsule"),
    (body('<site fromto="0 0 0 1 0 0"/>'), 4, "fromto needs type capsule, cylinder, box, ellipsoid, not 'sphere'"),
    (body('<geom type="sphere" fromto="0 0 0 1 0 0" size="1"/>'), 4, "fromto needs type capsule"),
    (body('<geom type="capsule" fromto="0 0 0 0 0 0" size="1"/>'), 4, "the two points coincide"),
    (body('<geom type="capsule" size="1 2 3 4"/>'), 4, "expected 1 to 3 numbers, got 4"),
    (body('<replicate count="2"/>'), 4, "<replicate> is not supported"),
    (body('', 'pos="2e6 0 0"'), 3, "exceeds 1e+06 m"),
    (body('<site name="b"/>'), 4, "site 'b' has the name of body 'b'; MuJoCo allows that"),
    (body('<body name="c">' + G + '<joint name="b/weld"/></body>'), 4, "joint name 'b/weld' is made twice"),
    (body('<joint name="j1"/><joint name="j2"/><body name="b/j1">' + G + '</body>'), 4,
     "link name 'b/j1' is made twice"),
    ('<mujoco><worldbody><body>' + G + '<joint/></body><body name="body1">' + G + '<joint/></body>'
     '</worldbody></mujoco>', 1,
     "body 'body1' is defined twice (first: the unnamed body at line 1, called after its MuJoCo id)"),
]


@pytest.mark.parametrize("xml, line, message", BAD, ids=[m[:40] for _, _, m in BAD])
def test_bad_input_is_one_line_naming_file_element_and_line(xml, line, message, tmp_path):
    path = write(tmp_path / "bad.xml", xml)
    with pytest.raises(MJCFError) as err:
        load_mjcf(path)
    text = str(err.value)
    assert "\n" not in text and len(text) < 400, text
    assert message in text, text
    assert text.startswith(f"{path}, line {line}" if line else f"{path}: "), text
    assert err.value.line == line


def test_deep_nesting_is_refused_in_one_short_line():
    xml = "<mujoco><worldbody>" + "<body>" * 600 + "</body>" * 600 + "</worldbody></mujoco>"
    with pytest.raises(MJCFError, match="nested more than 500 deep") as err:
        load_mjcf(xml)
    assert len(str(err.value)) < 300


def test_a_long_chain_of_bodies_loads():
    depth = 400  # MuJoCo's parser refuses about 500 levels
    xml = ("<mujoco><worldbody>" + f'<body pos="0 0 0.01">{G}<joint axis="1 0 0"/>' * depth
           + "</body>" * depth + "</worldbody></mujoco>")
    robot = load_mjcf(xml)
    assert robot.n == depth
    check_against_mujoco(xml, robot, samples=2)


# -- joint equalities as mimic joints --------------------------------------------------------------

COUPLED = f"""<mujoco model="coupled"><compiler angle="{{angle}}"/><worldbody>
<body name="a">{G}<joint name="j1" axis="0 0 1" ref="{{ref}}" range="-90 90"/>
  <body name="b" pos="1 0 0">{G}<joint name="j2" axis="0 1 0" ref="20" range="-60 60"/>
    <body name="c" pos="0.5 0 0">{G}<joint name="s" type="slide" axis="1 0 0" ref="0.05" range="-0.2 0.3"/>
      <site name="tip" pos="0.2 0 0.1"/></body></body></body></worldbody>
<equality><joint joint1="j2" joint2="j1" polycoef="0.1 -0.5 0 0 0"/>
  <joint name="chained" joint1="s" joint2="j2" polycoef="-0.02 0.25 0 0 0"/>
  <joint joint1="j1" joint2="s" active="false"/></equality></mujoco>"""


@pytest.mark.parametrize("angle, ref", [("degree", 10), ("radian", 0.3)])
def test_linear_joint_equalities_are_mimic_joints_that_mujoco_accepts(angle, ref):
    xml = COUPLED.format(angle=angle, ref=ref)
    robot = load_mjcf(xml)
    assert robot.joint_names == ["j1"] and robot.mimic_names == ["j2", "s"]  # the inactive one changes nothing
    model = mujoco_model(xml)
    data = mujoco.MjData(model)
    rows = model.neq  # the joint equalities: MuJoCo's constraint residuals are the oracle of the coupling
    for q in sample_q(robot, np.random.default_rng(1), 8):
        values = kin.frame_poses(robot, q, ["a", "b", "c", "tip"])
        # MuJoCo's own coupling, by hand: y - y0 = c0 + c1 (x - x0), y0 and x0 the refs (qpos0)
        j1 = q[0]
        j2 = -0.5 * (j1 - model.qpos0[0]) + 0.1 + model.qpos0[1]
        s = 0.25 * (j2 - model.qpos0[1]) - 0.02 + model.qpos0[2]
        data.qpos[:] = [j1, j2, s]
        mujoco.mj_forward(model, data)
        active = data.efc_type[:data.nefc] == mujoco.mjtConstraint.mjCNSTR_EQUALITY
        assert active.sum() == rows - 1  # two active joint equalities, each one row
        np.testing.assert_allclose(data.efc_pos[:data.nefc][active], 0.0, atol=1e-14)  # both satisfied
        np.testing.assert_allclose(values[:3, :3, 3], data.xpos[1:], atol=1e-12)  # so the poses agree
        np.testing.assert_allclose(values[3, :3, 3], data.site_xpos[0], atol=1e-12)
        np.testing.assert_allclose(values[:3, :3, :3], data.xmat[1:].reshape(-1, 3, 3), atol=1e-12)
    # the couplings' ranges narrow j1's: every q inside robot.lower..upper keeps j2 and s in theirs
    for q in np.linspace(robot.lower, robot.upper, 50):
        j2 = -0.5 * (q[0] - model.qpos0[0]) + 0.1 + model.qpos0[1]
        s = 0.25 * (j2 - model.qpos0[1]) - 0.02 + model.qpos0[2]
        assert model.jnt_range[1, 0] - 1e-12 <= j2 <= model.jnt_range[1, 1] + 1e-12
        assert model.jnt_range[2, 0] - 1e-12 <= s <= model.jnt_range[2, 1] + 1e-12


def test_equalities_the_tree_cannot_enforce_warn_once_naming_them():
    xml = COUPLED.format(angle="degree", ref=0).replace(
        "</equality>", '<joint name="curved" joint1="j1" joint2="s" polycoef="0 1 0.5 0 0"/>'
                       '<connect body1="a" body2="c" anchor="0 0 0"/><weld name="w" body1="b"/></equality>')
    with pytest.warns(robots.MJCFWarning) as record:
        robot = load_mjcf(xml)
    assert len(record) == 1 and record[0].filename == __file__
    message = str(record[0].message)
    assert message.startswith("<string>: 3 equality constraints ignored")
    assert "joint 'curved' (line 8): not linear" in message and "<connect> (line 8)" in message
    assert "weld 'w' (line 8)" in message
    assert robot.mimic_names == ["j2", "s"]


@pytest.mark.parametrize("equality, message", [
    ('<joint joint1="nope" joint2="j1"/>', "joint1='nope' is not a hinge or slide joint of the model"),
    ('<joint joint1="j1" joint2="nope"/>', "joint2='nope' is not a hinge or slide joint"),
    ('<joint joint2="j1"/>', "a joint equality needs joint1"),
    ('<joint joint1="j1" joint2="j1"/>', "joint 'j1' is coupled to itself"),
    ('<joint joint1="j1" joint2="s"/><joint joint1="j1" joint2="j2"/>', "joint 'j1' is coupled twice (first at line"),
    ('<joint joint1="j1" joint2="s" polycoef="0 1 0"/>', "polycoef='0 1 0': expected 5 numbers, got 3"),
    ('<joint joint1="j1" joint2="j2"/><joint joint1="j2" joint2="j1"/>', "cycle"),
])
def test_bad_joint_equalities_are_one_line(equality, message):
    xml = COUPLED.format(angle="degree", ref=0)
    xml = xml[:xml.index("<equality>")] + f"<equality>{equality}</equality></mujoco>"
    with pytest.raises(MJCFError, match=message.replace("(", r"\(")) as err:
        load_mjcf(xml)
    assert "\n" not in str(err.value)
