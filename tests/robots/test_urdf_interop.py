"""Real-world URDFs: example-robot-data's Panda and UR5 against the built-in DH arms.

example-robot-data (pip install example-robot-data, in the [test] and [urdf-data] extras) is
data, not a Python module: its URDFs live under
<site-packages>/cmeel.prefix/share/example-robot-data/robots/. The tests skip, saying why, when it
is not installed.

Conventions checked here:
- Panda: panda_link8 is the DH flange of the built-in `panda` (modified DH), to 1e-9.
- UR5: tool0 = Rz(π) · (DH flange pose of the built-in `ur5`). The Rz(π) multiplies on the
  LEFT: the URDF's base_link frame is the DH base frame turned half a turn about z (x and y
  flipped); the flange frames themselves agree. The URDF writes π/2 as 1.57079632679, so
  the agreement is ~1e-11, well inside 1e-9.
"""


import numpy as np
import pytest

import kinematics as kin
import robots
from kinematics.transforms import rot_z

from robots import example_robot_data  # noqa: F401  (other test modules import it from here)

ROOT = example_robot_data()
needs_data = pytest.mark.skipif(
    ROOT is None, reason="example-robot-data is not installed (pip install example-robot-data, "
                         "or the [test] extra); its Panda and UR5 URDFs are the references")


def random_q(chain, count, seed):
    return np.random.default_rng(seed).uniform(chain.lower, chain.upper, size=(count, chain.n))


@needs_data
def test_panda_urdf_matches_builtin_panda():
    arm = robots.load_urdf(ROOT / "panda_description" / "urdf" / "panda.urdf",
                           base_link="panda_link0", tip_link="panda_link8")
    builtin = robots.get("panda")
    assert arm.name == "panda" and arm.n == 7
    assert arm.joint_names == [f"panda_joint{i}" for i in range(1, 8)]
    np.testing.assert_array_equal(arm.lower, builtin.lower)
    np.testing.assert_array_equal(arm.upper, builtin.upper)
    q = random_q(builtin, 50, seed=0)
    np.testing.assert_allclose(kin.forward_kinematics(arm, q), kin.forward_kinematics(builtin, q), atol=1e-9)


@needs_data
def test_panda_hand_tcp_matches_builtin_panda_hand():
    arm = robots.load_urdf(ROOT / "panda_description" / "urdf" / "panda.urdf",
                           base_link="panda_link0", tip_link="panda_hand_tcp")
    builtin = robots.get("panda_hand")
    q = random_q(builtin, 20, seed=1)
    np.testing.assert_allclose(kin.forward_kinematics(arm, q), kin.forward_kinematics(builtin, q), atol=1e-9)


@needs_data
def test_panda_default_tip_is_ambiguous():
    with pytest.raises(robots.URDFError, match="panda_hand_tcp, panda_leftfinger, panda_rightfinger"):
        robots.load_urdf(ROOT / "panda_description" / "urdf" / "panda.urdf")


@needs_data
def test_ur5_urdf_tool0_is_rz_pi_times_dh_flange():
    arm = robots.load_urdf(ROOT / "ur_description" / "urdf" / "ur5_robot.urdf", base_link="base_link",
                           tip_link="tool0")
    builtin = robots.get("ur5")
    assert arm.joint_names == builtin.joint_names
    np.testing.assert_allclose(arm.lower, builtin.lower, atol=1e-10)
    np.testing.assert_allclose(arm.upper, builtin.upper, atol=1e-10)
    q = random_q(builtin, 50, seed=2)
    urdf, dh = kin.forward_kinematics(arm, q), kin.forward_kinematics(builtin, q)
    np.testing.assert_allclose(urdf, rot_z(np.pi) @ dh, atol=1e-9)
    # and not on the right: the flange frames agree, only the base frames differ
    assert np.abs(urdf - dh @ rot_z(np.pi)).max() > 0.1
