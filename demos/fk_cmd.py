"""`armgrad fk ROBOT Q...`: the end-effector pose for given joint values."""

from __future__ import annotations

import sys

import numpy as np

import kinematics as kin
from demos import common

EXAMPLES = f"""\
examples:
  armgrad fk planar3 0.3 0.4 0.2
  armgrad fk panda 0 -0.785 0 -2.356 0 1.571 0.785
  armgrad fk ur5 --degrees 0 -90 90 -90 -90 0
  armgrad fk panda 0 -0.785 0 -2.356 0 1.571 0.785 --json
  armgrad fk my_arm.urdf --tip tool0 0.1 0.2 0.3 0.4 0.5 0.6

output: position (m), rotation matrix, roll-pitch-yaw ({common.RPY_CONVENTION}) and a unit
quaternion in the order {common.QUAT_ORDER}, w >= 0. Angles are in radians
(--degrees: input joint angles and printed roll-pitch-yaw in degrees; --json is always radians).
--json is strict JSON: a number that overflowed (NaN, inf) is null.
"""


def register(subparsers) -> None:
    parser = common.command_parser(
        subparsers, "fk", help="forward kinematics: the end-effector pose for joint values",
        description="Print the end-effector pose of ROBOT at joint values Q (one per joint).",
        epilog=EXAMPLES)
    common.add_robot_arguments(parser)
    parser.add_argument("q", metavar="Q", nargs="+", help="joint values: rad for revolute joints, m for prismatic")
    parser.add_argument("--degrees", action="store_true", help="revolute joint values (and printed rpy) in degrees")
    parser.add_argument("--json", action="store_true", help="print JSON (radians, metres)")
    parser.set_defaults(func=run)


def fk_report(chain: kin.Chain, q) -> dict:
    """The end-effector pose of `chain` at `q` (n,) as a JSON-ready dict."""
    T = kin.forward_kinematics(chain, q)
    rotation = common.rotation_summary(T[:3, :3])
    return {
        "robot": chain.name,
        "q": q.tolist(),
        "position": T[:3, 3].tolist(),
        "rotation_matrix": T[:3, :3].tolist(),
        "rpy": rotation["rpy"].tolist(),
        "rpy_convention": common.RPY_CONVENTION,
        "quaternion": rotation["quaternion"].tolist(),
        "quaternion_order": "xyzw",
        "pose": T.tolist(),
    }


def run(args) -> int:
    chain = common.robot_from_args(args)
    q = common.parse_q(chain, args.q, args.degrees)
    outside = common.outside_limits(chain, q)
    if outside:
        # FK is defined anywhere; say so, but still answer.
        print(f"armgrad fk: note: outside the joint limits: {', '.join(outside)}", file=sys.stderr)
    # Chains bound their lengths and joint counts (kinematics.chain.MAX_LENGTH, MAX_JOINTS) and q
    # is finite, so the pose is finite: an arm of 1e308 m links is refused when it is loaded.
    report = fk_report(chain, q)
    if args.json:
        report["outside_limits"] = outside
        print(common.dumps(report))
        return 0
    rpy = np.degrees(report["rpy"]) if args.degrees else np.asarray(report["rpy"])
    unit = "deg" if args.degrees else "rad"
    R = np.asarray(report["rotation_matrix"])
    print(f"robot         {chain.name} ({chain.n} joints)")
    print(f"q ({'deg' if args.degrees else 'rad'})       {common.fmt_vector(np.degrees(q) if args.degrees else q, 4)}")
    print(f"position (m)  {common.fmt_vector(report['position'])}")
    print("rotation      " + "\n              ".join(common.fmt_vector(row) for row in R))
    print(f"rpy ({unit})     {common.fmt_vector(rpy)}   fixed axes: R = Rz(yaw) Ry(pitch) Rx(roll)")
    print(f"quaternion    {common.fmt_vector(report['quaternion'])}   order x, y, z, w (scalar last)")
    return 0


if __name__ == "__main__":
    common.run_as_script("fk")
