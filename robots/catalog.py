"""Built-in arms, from published DH tables or makers' URDFs (sources beside each; verified against URDFs where noted).

Besides the serial arms (`available()`, each a `kinematics.Chain`), `get` knows built-in trees
(`kinematics.Robot`), such as "dual_panda". A tree joins `available()` only once every CLI
command works on it: the commands and tests that iterate `available()` take Chains.
"""

from __future__ import annotations

import dataclasses
import math

from kinematics import Chain, Joint
from kinematics.transforms import rot_x, rot_z, translation

from .builders import DHRow, from_dh, mount_arms, planar

__all__ = ["available", "get"]

pi = math.pi
deg = pi / 180.0


def _panda():
    # Franka Emika Panda, modified DH (Franka's documentation); limits from the Franka
    # datasheet. The flange equals panda_link8 of example-robot-data's panda.urdf to 1e-16.
    rows = [  # (a, alpha, d)
        (0.0, 0.0, 0.333), (0.0, -pi / 2, 0.0), (0.0, pi / 2, 0.316), (0.0825, pi / 2, 0.0),
        (-0.0825, -pi / 2, 0.384), (0.0, pi / 2, 0.0), (0.088, pi / 2, 0.0),
    ]
    limits = [(-2.8973, 2.8973), (-1.7628, 1.7628), (-2.8973, 2.8973), (-3.0718, -0.0698),
              (-2.8973, 2.8973), (-0.0175, 3.7525), (-2.8973, 2.8973)]
    dh = [DHRow(a=a, alpha=al, d=d, limits=lim, name=f"panda_joint{i + 1}")
          for i, ((a, al, d), lim) in enumerate(zip(rows, limits))]
    arm = from_dh(dh, modified=True, tool=translation([0, 0, 0.107]), name="panda")
    # Speed limits (rad/s): Franka's "Robot and interface specifications" (q̇_max), as in
    # example-robot-data's panda.urdf <limit velocity>.
    velocity = [2.1750] * 4 + [2.6100] * 3
    return arm.replace(joints=[dataclasses.replace(j, velocity=v) for j, v in zip(arm.joints, velocity)])


def _panda_hand():
    # Hand TCP = link8 · Rz(−π/4) · Tz(0.1034): panda_hand_joint and panda_hand_tcp_joint in
    # example-robot-data's panda.urdf.
    arm = _panda()
    return arm.replace(tool=arm.tool @ rot_z(-pi / 4) @ translation([0, 0, 0.1034]), name="panda_hand")


def _ur(name, d, a):
    # Universal Robots standard DH parameters (UR's published kinematics page). In the
    # ur_description URDF, tool0 = Rz(π) · (DH flange pose) to 2e-11.
    alpha = [pi / 2, 0, 0, pi / 2, -pi / 2, 0]
    limits = [(-2 * pi, 2 * pi), (-2 * pi, 2 * pi), (-pi, pi), (-2 * pi, 2 * pi), (-2 * pi, 2 * pi), (-2 * pi, 2 * pi)]
    names = ["shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
             "wrist_1_joint", "wrist_2_joint", "wrist_3_joint"]
    return from_dh([DHRow(d=di, a=ai, alpha=al, limits=lim, name=nm)
                    for di, ai, al, lim, nm in zip(d, a, alpha, limits, names)], name=name)


def _ur5():
    return _ur("ur5", [0.089159, 0, 0, 0.10915, 0.09465, 0.0823], [0, -0.425, -0.39225, 0, 0, 0])


def _ur5e():
    return _ur("ur5e", [0.1625, 0, 0, 0.1333, 0.0997, 0.0996], [0, -0.425, -0.3922, 0, 0, 0])


def _iiwa14():
    # KUKA LBR iiwa 14 R820, standard DH; limits as in rtb-data's lbr_iiwa_14_r820.urdf
    # (KUKA's datasheet: ±170°, ±120°, ±175°).
    d = [0.36, 0, 0.42, 0, 0.40, 0, 0.126]
    alpha = [-pi / 2, pi / 2, pi / 2, -pi / 2, -pi / 2, pi / 2, 0]
    lim = [2.9668, 2.0942, 2.9668, 2.0942, 2.9668, 2.0942, 3.0541]
    return from_dh([DHRow(d=di, alpha=al, limits=(-l, l), name=f"iiwa_joint_{i + 1}")
                    for i, (di, al, l) in enumerate(zip(d, alpha, lim))], name="iiwa14")


def _puma560():
    # PUMA 560, standard DH (Corke, Robotics Toolbox's Puma560 with the 0.67183 m base height).
    d = [0.67183, 0, 0.15005, 0.4318, 0, 0]
    a = [0, 0.4318, 0.0203, 0, 0, 0]
    alpha = [pi / 2, 0, -pi / 2, pi / 2, -pi / 2, 0]
    lim = [160, 110, 135, 266, 100, 266]
    return from_dh([DHRow(d=di, a=ai, alpha=al, limits=(-l * deg, l * deg))
                    for di, ai, al, l in zip(d, a, alpha, lim)], name="puma560")


def _irb120():
    # ABB IRB 120, standard DH (ABB product specification dimensions).
    offset = [0, -pi / 2, 0, 0, 0, pi]
    d = [0.290, 0, 0, 0.302, 0, 0.072]
    a = [0, 0.270, 0.070, 0, 0, 0]
    alpha = [-pi / 2, 0, -pi / 2, pi / 2, -pi / 2, 0]
    lim = [(-165, 165), (-110, 110), (-110, 70), (-160, 160), (-120, 120), (-400, 400)]
    return from_dh([DHRow(d=di, a=ai, alpha=al, offset=o, limits=(lo * deg, hi * deg))
                    for o, di, ai, al, (lo, hi) in zip(offset, d, a, alpha, lim)], name="irb120")


def _gen3():
    # Kinova Gen3 7-DoF (no vision module), from Kinova's own description: kortex_description's
    # arms/gen3/7dof/urdf/GEN3-7DOF-NOVISION_FOR_URDF_ARM_V12.urdf (github.com/Kinovarobotics/
    # ros_kortex; MuJoCo Menagerie's gen3.xml is derived from it). Origins as there, with the
    # file's 1.5708 and 3.1416 read as π/2 and π (their 1e-16 tails dropped); tool =
    # end_effector_link. Limits j2 ±2.24, j4 ±2.57, j6 ±2.09 rad (the user guide's ±128.9°,
    # ±147.8°, ±120.3°, rounded inward); joints 1, 3, 5, 7 continuous; speed limits 1.3963 rad/s
    # (80°/s) on joints 1–4, 1.2218 rad/s (70°/s) on 5–7. The user guide's DH table (d rounded to
    # 0.1 mm, no 0.175 mm wrist offset) gives the same tool orientation and its position within 0.5 mm.
    origins = [((0, 0, 0.15643), pi), ((0, 0.005375, -0.12838), pi / 2), ((0, -0.21038, -0.006375), -pi / 2),
               ((0, 0.006375, -0.21038), pi / 2), ((0, -0.20843, -0.006375), -pi / 2),
               ((0, 0.00017505, -0.10593), pi / 2), ((0, -0.10593, -0.00017505), -pi / 2)]
    limits = [None, 2.24, None, 2.57, None, 2.09, None]
    velocity = [1.3963] * 4 + [1.2218] * 3
    joints = [Joint(f"joint_{i + 1}", origin=translation(xyz) @ rot_x(roll), velocity=v,
                    limits=(-math.inf, math.inf) if limit is None else (-limit, limit))
              for i, ((xyz, roll), limit, v) in enumerate(zip(origins, limits, velocity))]
    return Chain(joints, tool=translation([0, 0, -0.061525]) @ rot_x(pi), name="gen3")


# dual_panda's layout: the torso's frame is the world frame (x forward, z up); each Panda stands
# upright on it, 0.5 m up and 0.3 m to either side. No rotation is needed for the arms to face
# forward: a Panda's base x axis is its front (its ready pose reaches along +x).
DUAL_PANDA_MOUNTS = {"left": translation([0.0, 0.3, 0.5]), "right": translation([0.0, -0.3, 0.5])}


def _dual_panda():
    # Two built-in Pandas (joints, limits and 0.107 m flange tool as `_panda`) on a fixed torso:
    # root link "torso", fixed joints left_mount / right_mount to links left_base / right_base,
    # joints left_panda_joint1..7 then right_panda_joint1..7 (q = left 7, right 7), end
    # frames left_tool and right_tool.
    arm = _panda()
    return mount_arms([(f"{side}_", arm, mount) for side, mount in DUAL_PANDA_MOUNTS.items()],
                      root="torso", name="dual_panda")


_TREES = {"dual_panda": _dual_panda}

_BUILDERS = {
    "planar2": lambda: planar([1.0, 0.8], name="planar2"),
    "planar3": lambda: planar([1.0, 0.8, 0.6], name="planar3"),
    "panda": _panda,
    "panda_hand": _panda_hand,
    "ur5": _ur5,
    "ur5e": _ur5e,
    "iiwa14": _iiwa14,
    "puma560": _puma560,
    "irb120": _irb120,
    "gen3": _gen3,
}


def available() -> list:
    """Names of the built-in serial arms (not the trees: module docstring)."""
    return list(_BUILDERS)


def get(name: str):
    """The built-in arm `name` as a kinematics.Chain, or the built-in tree `name` (e.g.
    "dual_panda") as a kinematics.Robot; a new object each call. Arms with a built-in collision
    model (`robots.geometry.builtin_model`: panda, panda_hand, ur5) carry it as `.geometry`, which
    kinematics.Avoid and AvoidSelf use.

    Raises:
        ValueError: an unknown name (the message lists the arms and the trees).
    """
    builder = (_BUILDERS.get(name) or _TREES.get(name)) if isinstance(name, str) else None
    if builder is None:
        raise ValueError(f"unknown robot {name!r}; built-in arms: {', '.join(_BUILDERS)}; "
                         f"built-in trees: {', '.join(_TREES)}")
    arm = builder()
    from .geometry import builtin_names, builtin_model

    if name in builtin_names():
        arm.geometry = builtin_model(name)
    return arm


