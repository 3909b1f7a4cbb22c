"""The built-in arms pinned by references independent of robots.from_dh and robots.catalog.

- iiwa14: rtb-data's lbr_iiwa_14_r820.urdf (pip install rtb-data, in the [test] extra), read by
  robots.load_urdf. Its joint_a2 and joint_a4 origins carry x offsets of -0.43624 mm and
  +0.43624 mm that KUKA's DH table (DESIGN.md §4) does not have; with those two numbers set to 0
  the URDF's base_link -> tool0 pose equals the built-in's with no base or tool offset
  (T_urdf = A · T_builtin · B with A = B = I) to 1e-12; as shipped, the orientations agree and
  the positions differ by at most 2 × 0.43624 mm.
- ur5e, puma560, irb120: FK at a few configurations written out here as the standard DH
  product of the tables cited in DESIGN.md §4 (numpy, one matrix per row), to 1e-12.
- gen3: pinocchio's FK of Kinova's own URDF (kortex_description's GEN3-7DOF-NOVISION_FOR_URDF_ARM_V12,
  its joint origins written out below with 1.5708 and 3.1416 as π/2 and π) to 1e-12, and the
  Gen3 user guide's DH table (DESIGN.md §4) within 0.5 mm (its lengths are rounded to 0.1 mm and
  it omits a 0.175 mm wrist offset) with the same orientations to 1e-12.
  rtb-data's puma560_robot.urdf is not a reference: its lengths are rounded (0.4331 for d4 =
  0.4318, 0.1501 for 0.15005, 0.6718 for 0.67183) and its joint frames differ, so that no
  constant base/tool transform, joint signs and zero offsets bring it closer than ~2 cm.
  rtb-data has no ur5e, irb120 or gen3 URDF.

Each pin fails when any one d or a of its table is changed by 1 mm (checked by hand when this
file was written: every entry of every table, one at a time).
"""

import importlib.util
import pathlib

import numpy as np
import pytest

import kinematics as kin
import robots

pi = np.pi
deg = pi / 180


def rtb_data():
    """rtb-data's package folder (it ships URDFs under xacro/), or None when not installed."""
    spec = importlib.util.find_spec("rtbdata")
    return None if spec is None or not spec.origin else pathlib.Path(spec.origin).parent


RTB = rtb_data()
IIWA_URDF = None if RTB is None else RTB / "xacro/kuka_description/kuka_lbr_iiwa/urdf/lbr_iiwa_14_r820.urdf"
needs_rtb = pytest.mark.skipif(RTB is None, reason="rtb-data is not installed (pip install rtb-data, or the [test] "
                                                   "extra); its iiwa14 URDF is the reference")

IIWA_OFFSETS = ('xyz="-0.00043624 0 0.36"', 'xyz="0.00043624 0 0.42"')  # joint_a2, joint_a4


def random_q(chain, count, seed):
    lower = np.maximum(chain.lower, -pi)  # continuous joints: one turn
    upper = np.minimum(chain.upper, pi)
    return np.random.default_rng(seed).uniform(lower, upper, size=(count, chain.n))


@needs_rtb
def test_iiwa14_matches_rtb_data_urdf_without_its_sub_millimetre_offsets():
    text = IIWA_URDF.read_text()
    for offset in IIWA_OFFSETS:
        assert text.count(offset) == 1, offset  # the file as this test knows it
    zeroed = text.replace(IIWA_OFFSETS[0], 'xyz="0 0 0.36"').replace(IIWA_OFFSETS[1], 'xyz="0 0 0.42"')
    urdf = robots.load_urdf(zeroed, base_link="base_link", tip_link="tool0")
    builtin = robots.get("iiwa14")
    np.testing.assert_array_equal(urdf.lower, builtin.lower)
    np.testing.assert_array_equal(urdf.upper, builtin.upper)
    q = random_q(builtin, 50, seed=3)
    np.testing.assert_allclose(kin.forward_kinematics(urdf, q), kin.forward_kinematics(builtin, q), atol=1e-12)


@needs_rtb
def test_iiwa14_against_the_urdf_as_shipped():
    urdf = robots.load_urdf(IIWA_URDF, base_link="base_link", tip_link="tool0")
    builtin = robots.get("iiwa14")
    q = random_q(builtin, 200, seed=4)
    T_urdf, T_builtin = kin.forward_kinematics(urdf, q), kin.forward_kinematics(builtin, q)
    np.testing.assert_allclose(T_urdf[:, :3, :3], T_builtin[:, :3, :3], atol=1e-12)  # offsets only shift
    gap = np.linalg.norm(T_urdf[:, :3, 3] - T_builtin[:, :3, 3], axis=-1)
    assert gap.max() <= 2 * 0.00043624 + 1e-12
    assert gap.max() > 0.0004  # the offsets are there, and visible


# -- hand-written standard DH products ----------------------------------------------------

def dh_standard(theta, d, a, alpha):
    """Rz(theta) Tz(d) Tx(a) Rx(alpha), written out."""
    ct, st, ca, sa = np.cos(theta), np.sin(theta), np.cos(alpha), np.sin(alpha)
    return np.array([[ct, -st * ca, st * sa, a * ct],
                     [st, ct * ca, -ct * sa, a * st],
                     [0.0, sa, ca, d],
                     [0.0, 0.0, 0.0, 1.0]])


def dh_fk(table, q, base):
    """base · Π_i DH(q_i + offset_i, d_i, a_i, alpha_i); table rows (d, a, alpha, offset)."""
    T = base
    for (d, a, alpha, offset), qi in zip(table, q):
        T = T @ dh_standard(qi + offset, d, a, alpha)
    return T


# DESIGN.md §4, row by row: (d, a, alpha, offset)
TABLES = {
    "ur5e": [(0.1625, 0, pi / 2, 0), (0, -0.425, 0, 0), (0, -0.3922, 0, 0), (0.1333, 0, pi / 2, 0),
             (0.0997, 0, -pi / 2, 0), (0.0996, 0, 0, 0)],
    "puma560": [(0.67183, 0, pi / 2, 0), (0, 0.4318, 0, 0), (0.15005, 0.0203, -pi / 2, 0), (0.4318, 0, pi / 2, 0),
                (0, 0, -pi / 2, 0), (0, 0, 0, 0)],
    "irb120": [(0.290, 0, -pi / 2, 0), (0, 0.270, 0, -pi / 2), (0, 0.070, -pi / 2, 0), (0.302, 0, pi / 2, 0),
               (0, 0, -pi / 2, 0), (0.072, 0, 0, pi)],
}
GEN3_USER_GUIDE = {  # Kinova Gen3 user guide: rows (d, a, alpha, offset), base Rx(pi)
    "gen3": [(-0.2848, 0, pi / 2, 0), (-0.0118, 0, pi / 2, pi), (-0.4208, 0, pi / 2, pi), (-0.0128, 0, pi / 2, pi),
             (-0.3143, 0, pi / 2, pi), (0, 0, pi / 2, pi), (-0.1674, 0, pi, pi)],
}
BASES = {"gen3": np.diag([1.0, -1.0, -1.0, 1.0])}  # Rx(pi)
LIMITS = {  # DESIGN.md §4 (radians)
    "ur5e": [(-2 * pi, 2 * pi)] * 2 + [(-pi, pi)] + [(-2 * pi, 2 * pi)] * 3,
    "puma560": [(-lim * deg, lim * deg) for lim in (160, 110, 135, 266, 100, 266)],
    "irb120": [(lo * deg, hi * deg) for lo, hi in ((-165, 165), (-110, 110), (-110, 70), (-160, 160), (-120, 120),
                                                   (-400, 400))],
}


@pytest.mark.parametrize("name", list(TABLES))
def test_builtin_matches_its_cited_dh_table_by_hand(name):
    arm = robots.get(name)
    np.testing.assert_allclose(np.c_[arm.lower, arm.upper], LIMITS[name], rtol=1e-15)
    configurations = np.vstack([np.zeros(arm.n), random_q(arm, 6, seed=5)])
    base = BASES.get(name, np.eye(4))
    for q in configurations:
        np.testing.assert_allclose(kin.forward_kinematics(arm, q), dh_fk(TABLES[name], q, base), atol=1e-12)


def test_ur5e_zero_pose_by_the_published_formula():
    # UR's standard DH at q = 0: flange at (a2 + a3, -(d4 + d6), d1 - d5), z axis along -y.
    T = kin.forward_kinematics(robots.get("ur5e"), np.zeros(6))
    np.testing.assert_allclose(T[:3, 3], [-0.425 - 0.3922, -(0.1333 + 0.0996), 0.1625 - 0.0997], atol=1e-15)
    np.testing.assert_allclose(T[:3, 2], [0, -1, 0], atol=1e-15)


# Kinova's URDF (ros_kortex, kortex_description/arms/gen3/7dof/urdf/GEN3-7DOF-NOVISION_FOR_URDF_ARM_V12.urdf):
# joint origins (xyz, roll) with rpy = (roll, 0, 0), limits, and the end_effector fixed joint.
GEN3_URDF_JOINTS = [
    ("joint_1", "continuous", "0 0 0.15643", pi, None), ("joint_2", "revolute", "0 0.005375 -0.12838", pi / 2, 2.24),
    ("joint_3", "continuous", "0 -0.21038 -0.006375", -pi / 2, None),
    ("joint_4", "revolute", "0 0.006375 -0.21038", pi / 2, 2.57),
    ("joint_5", "continuous", "0 -0.20843 -0.006375", -pi / 2, None),
    ("joint_6", "revolute", "0 0.00017505 -0.10593", pi / 2, 2.09),
    ("joint_7", "continuous", "0 -0.10593 -0.00017505", -pi / 2, None),
    ("end_effector", "fixed", "0 0 -0.061525", pi, None),
]


def gen3_urdf() -> str:
    links = ["base_link", "shoulder_link", "half_arm_1_link", "half_arm_2_link", "forearm_link",
             "spherical_wrist_1_link", "spherical_wrist_2_link", "bracelet_link", "end_effector_link"]
    joints = []
    for (name, kind, xyz, roll, limit), parent, child in zip(GEN3_URDF_JOINTS, links, links[1:]):
        bound = "" if limit is None else f'lower="{-limit}" upper="{limit}" '
        joints.append(f'<joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{child}"/>'
                      f'<origin xyz="{xyz}" rpy="{roll!r} 0 0"/><axis xyz="0 0 1"/>'
                      f'<limit {bound}effort="39" velocity="1"/></joint>')
    return ('<robot name="gen3">' + "".join(f'<link name="{link}"/>' for link in links) + "".join(joints)
            + "</robot>")


def test_gen3_matches_kinovas_urdf_by_pinocchio_and_the_user_guide_within_its_rounding():
    pinocchio = pytest.importorskip("pinocchio", reason="pinocchio (pip install pin; [test] extra) is the oracle")
    model = pinocchio.buildModelFromXML(gen3_urdf())
    data = model.createData()
    frame = model.getFrameId("end_effector_link")
    arm = robots.get("gen3")
    np.testing.assert_array_equal(np.c_[arm.lower, arm.upper][1::2], [[-2.24, 2.24], [-2.57, 2.57], [-2.09, 2.09]])
    assert np.all(np.isinf(np.c_[arm.lower, arm.upper][0::2]))
    for q in np.vstack([np.zeros(7), random_q(arm, 6, seed=5)]):
        # continuous joints are (cos, sin) pairs in pinocchio's configuration: integrate from neutral
        pinocchio.framesForwardKinematics(model, data, pinocchio.integrate(model, pinocchio.neutral(model), q))
        T = kin.forward_kinematics(arm, q)
        np.testing.assert_allclose(T, data.oMf[frame].homogeneous, atol=1e-12)
        guide = dh_fk(GEN3_USER_GUIDE["gen3"], q, np.diag([1.0, -1.0, -1.0, 1.0]))  # base Rx(pi)
        np.testing.assert_allclose(T[:3, :3], guide[:3, :3], atol=1e-12)
        assert np.linalg.norm(T[:3, 3] - guide[:3, 3]) < 5e-4  # 0.47 mm at most over 2,000 random q
