"""robots.load_urdf on paths with mimic joints: example-robot-data's grippers against pinocchio.

The oracle is pinocchio's own model of the whole file. Where pinocchio builds mimic joints itself
(`mimic=True`: baxter, panda, pr2, tiago_pro) the tip's pose and frame Jacobian come straight from
it; where it refuses them ("the parent joint of the mimic joint is not in the kinematic tree":
romeo, talos_full_v2) every joint is free there and this file sets each mimic joint's value by
hand from the `<mimic>` elements (read here with ElementTree, chains of mimics followed here), and
the Jacobian columns are combined by hand (a master's column is Σ multiplier · its followers').
The engine Jacobian is also checked against central finite differences, every answer's mimic
joints against their own `<limit>`, and IK round trips within the intersected limits.
"""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import kinematics as kin
import robots

from test_urdf_interop import example_robot_data  # tests/robots is on sys.path (rootdir, no packages)

from tests.helpers import central_differences  # the repository root is on pythonpath

CASES = [  # (file, tip link, pinocchio builds its mimic joints)
    ("baxter_description/urdf/baxter.urdf", "l_gripper_r_finger_tip", True),  # master off the path, multiplier -1
    ("panda_description/urdf/panda.urdf", "panda_rightfinger", True),  # a copy of the other finger: no coupling op
    ("pr2_description/urdf/pr2.urdf", "r_gripper_l_finger_tip_frame", True),  # two mimics of one off-path master
    ("tiago_pro_description/robots/tiago_pro.urdf", "gripper_left_fingertip_left_link", True),  # -1 and +1 mimics
    ("romeo_description/urdf/romeo.urdf", "LFinger13Link", False),  # the master (LHand) is on the path
    ("romeo_description/urdf/romeo.urdf", "LThumb3Link", False),  # three mimics of an off-path master, one -1
    ("talos_data/robots/talos_full_v2.urdf", "gripper_left_fingertip_3_link", False),
]
IDS = [f"{file.split('/')[0]}-{tip}" for file, tip, _ in CASES]


def _file(relative):
    folder = example_robot_data()
    if folder is None or not (folder / relative).is_file():
        pytest.skip(f"example-robot-data with {relative} is not installed")
    return folder / relative


def couplings(text):
    """{joint: (free master, multiplier, offset)} for every mimic joint of a URDF, chains followed,
    and {joint: (lower, upper)} of every joint with a <limit>: read independently of robots.urdf."""
    root = ET.fromstring(text)
    direct, limits = {}, {}
    for joint in root.findall("joint"):
        mimic, limit = joint.find("mimic"), joint.find("limit")
        if mimic is not None and joint.get("type") != "fixed":
            direct[joint.get("name")] = (mimic.get("joint"), float(mimic.get("multiplier", 1)),
                                         float(mimic.get("offset", 0)))
        if limit is not None and joint.get("type") != "continuous":
            limits[joint.get("name")] = (float(limit.get("lower", 0)), float(limit.get("upper", 0)))
    resolved = {}
    for name in direct:
        master, a, b = direct[name]
        while master in direct:  # value = a (m x + o) + b
            master, m, o = direct[master]
            a, b = a * m, a * o + b
        resolved[name] = (master, a, b)
    return resolved, limits


def random_q(chain, count, seed):
    rng = np.random.default_rng(seed)
    lower = np.where(np.isfinite(chain.lower), chain.lower, -np.pi)
    upper = np.where(np.isfinite(chain.upper), chain.upper, np.pi)
    return rng.uniform(lower, upper, (count, chain.n))


def pinocchio_tip(pin, text, tip, chain, q, mimic):
    """pinocchio's tip pose (4, 4) and [v; ω] Jacobian (6, n) in q's columns (chain.joint_names)."""
    model = pin.buildModelFromXML(text, mimic=mimic)
    data = model.createData()
    values = dict(zip(chain.joint_names, q))
    coupled, _ = couplings(text)
    if not mimic:  # every joint free in pinocchio: the couplings by hand
        values.update({name: a * values[master] + b for name, (master, a, b) in coupled.items() if master in values})
    config = pin.neutral(model)
    for name, value in values.items():
        joint = model.joints[model.getJointId(name)]
        if joint.nq == 2:  # continuous: (cos, sin)
            config[joint.idx_q:joint.idx_q + 2] = math.cos(value), math.sin(value)
        else:
            config[joint.idx_q] = value
    pin.framesForwardKinematics(model, data, config)
    frame = model.getFrameId(tip)
    Jp = pin.computeFrameJacobian(model, data, config, frame, pin.LOCAL_WORLD_ALIGNED)

    def column(name):
        return Jp[:, model.joints[model.getJointId(name)].idx_v]

    J = np.stack([column(name) for name in chain.joint_names], axis=1)
    if not mimic:  # the chain rule by hand: each follower's column, times its multiplier, on its master's
        for name, (master, a, _) in coupled.items():
            if master in chain.joint_names:
                J[:, chain.joint_names.index(master)] += a * column(name)
    return data.oMf[frame].homogeneous, J


@pytest.mark.parametrize("relative, tip, mimic", CASES, ids=IDS)
def test_fk_and_jacobians_match_pinocchio(relative, tip, mimic):
    pin = pytest.importorskip("pinocchio", reason="pinocchio (pip install pin) is the oracle")
    path = _file(relative)
    text = path.read_text()
    chain = robots.load_urdf(path, tip_link=tip)
    coupled, _ = couplings(text)
    assert chain.mimic_names and set(chain.mimic_names) <= set(coupled)
    assert chain.mimic == {name: coupled[name] for name in chain.mimic_names}  # resolved to free masters
    q = random_q(chain, 3, seed=31)
    T, J = kin.pose_and_jacobian(chain, q)
    np.testing.assert_allclose(J, kin.geometric_jacobian(chain, q), rtol=0, atol=1e-12)
    for k in range(len(q)):
        T_pin, J_pin = pinocchio_tip(pin, text, tip, chain, q[k], mimic)
        np.testing.assert_allclose(T[k], T_pin, rtol=0, atol=1e-12)
        np.testing.assert_allclose(J[k], J_pin, rtol=0, atol=1e-12)


@pytest.mark.parametrize("relative, tip, mimic", CASES[:1] + CASES[4:6], ids=IDS[:1] + IDS[4:6])
def test_engine_jacobian_matches_central_differences(relative, tip, mimic):
    chain = robots.load_urdf(_file(relative), tip_link=tip)
    q = random_q(chain, 1, seed=32)[0]
    np.testing.assert_allclose(kin.jacobian(chain, q), central_differences(chain, q), rtol=0, atol=1e-8)


def mimic_values(chain, coupled, q):
    """{mimic joint of the chain: its value} at q (n,), from the file's couplings."""
    values = dict(zip(chain.joint_names, q))
    return {name: coupled[name][1] * values[coupled[name][0]] + coupled[name][2] for name in chain.mimic_names}


@pytest.mark.parametrize("relative, tip, mimic", CASES, ids=IDS)
def test_the_box_keeps_every_mimic_joint_inside_its_own_limits(relative, tip, mimic):
    path = _file(relative)
    chain = robots.load_urdf(path, tip_link=tip)
    coupled, limits = couplings(path.read_text())
    for j, (lo, hi) in zip(chain.free_joints, zip(chain.lower, chain.upper)):  # never wider than its own
        if j.name in limits:
            assert limits[j.name][0] <= lo <= hi <= limits[j.name][1]
    corners = np.stack([np.where(np.isfinite(chain.lower), chain.lower, -np.pi),
                        np.where(np.isfinite(chain.upper), chain.upper, np.pi)])
    for q in list(corners) + list(random_q(chain, 20, seed=33)):
        for name, value in mimic_values(chain, coupled, q).items():
            if name in limits:
                assert limits[name][0] - 1e-12 <= value <= limits[name][1] + 1e-12, (name, value, limits[name])


@pytest.mark.parametrize("relative, tip, mimic", [CASES[0], CASES[4]], ids=[IDS[0], IDS[4]])
def test_ik_round_trip_on_a_gripper_chain(relative, tip, mimic):
    path = _file(relative)
    chain = robots.load_urdf(path, tip_link=tip)
    coupled, limits = couplings(path.read_text())
    targets = kin.forward_kinematics(chain, random_q(chain, 4, seed=34))
    result = kin.solve(chain, targets, seed=0)
    assert result.success.all(), result.reason
    assert np.all(result.q >= chain.lower) and np.all(result.q <= chain.upper)
    T = kin.forward_kinematics(chain, result.q)
    assert np.abs(T[:, :3, 3] - targets[:, :3, 3]).max() <= 1e-6
    for q in result.q:
        for name, value in mimic_values(chain, coupled, q).items():
            assert limits[name][0] - 1e-12 <= value <= limits[name][1] + 1e-12


# -- small files: the couplings the loader resolves -----------------------------------------------

LINKS = "".join(f'<link name="{name}"/>' for name in "abcdx")


def _revolute(name, parent, child, limits="-1 1", mimic="", xyz="0.1 0.2 0.3", axis="0 0 1"):
    lower, upper = limits.split()
    return (f'<joint name="{name}" type="revolute"><parent link="{parent}"/><child link="{child}"/>'
            f'<origin xyz="{xyz}" rpy="0.1 -0.2 0.3"/><axis xyz="{axis}"/>'
            f'<limit lower="{lower}" upper="{upper}" effort="1" velocity="1"/>{mimic}</joint>')


def test_a_mimic_of_a_mimic_off_the_path_resolves_to_the_free_master():
    pin = pytest.importorskip("pinocchio", reason="pinocchio (pip install pin) is the oracle")
    # j2 (on the path) mimics x (off the path), which mimics j1: j2 = -0.5 (2 j1 + 0.1) + 0.2 = -j1 + 0.15
    text = (f'<robot name="r">{LINKS}' + _revolute("j1", "a", "b", "-2 2")
            + _revolute("x", "a", "x", "-3 3", '<mimic joint="j1" multiplier="2" offset="0.1"/>')
            + _revolute("j2", "b", "c", "-0.5 0.4", '<mimic joint="x" multiplier="-0.5" offset="0.2"/>', axis="0 1 0")
            + _revolute("j3", "c", "d", "-1 1", axis="1 0 0") + "</robot>")
    chain = robots.load_urdf(text, tip_link="d")
    assert chain.joint_names == ["j1", "j3"] and chain.mimic_names == ["j2"] and chain.masters == ()
    master, multiplier, offset = chain.mimic["j2"]
    assert master == "j1" and multiplier == -1.0 and offset == pytest.approx(0.15, abs=1e-15)
    # j1's box: its own [-2, 2]; x = 2 j1 + 0.1 is off the path (ignored); j2 in [-0.5, 0.4]: j1 in [-0.25, 0.65]
    np.testing.assert_allclose([chain.lower, chain.upper], [[-0.25, -1], [0.65, 1]], rtol=0, atol=1e-15)
    q = random_q(chain, 3, seed=35)
    T, J = kin.pose_and_jacobian(chain, q)
    for k in range(len(q)):
        T_pin, J_pin = pinocchio_tip(pin, text, "d", chain, q[k], mimic=False)
        np.testing.assert_allclose(T[k], T_pin, rtol=0, atol=1e-14)
        np.testing.assert_allclose(J[k], J_pin, rtol=0, atol=1e-14)


def test_bad_mimics_off_the_path_are_still_ignored():
    text = (f'<robot name="r">{LINKS}' + _revolute("j1", "a", "b") + _revolute("j2", "b", "c")
            + _revolute("j3", "c", "d") + _revolute("x", "a", "x", mimic='<mimic joint="nowhere"/>') + "</robot>")
    assert robots.load_urdf(text, tip_link="d").mimic == {}
