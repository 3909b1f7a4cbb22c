"""`armgrad robots`: the built-in arms (DoF, joint types, limits), or one arm's joints in detail."""

from __future__ import annotations

import math

import robots
from demos import common

EXAMPLES = """\
examples:
  armgrad robots                      every built-in arm, one line each
  armgrad robots --degrees            limits of revolute joints in degrees
  armgrad robots panda                the Panda's joints: names, types, limits, axes
  armgrad robots my_arm.urdf --tip tool0
  armgrad robots --json               machine-readable (limits in rad / m; null = unbounded)

joint types: R revolute, C continuous (revolute without limits), P prismatic.
"""


def register(subparsers) -> None:
    parser = common.command_parser(
        subparsers, "robots", help="list the built-in arms with DoF, joint types and limits",
        description="List the built-in arms, or show one arm's joints (a built-in name, a URDF or TOML file).",
        epilog=EXAMPLES)
    parser.add_argument("robot", metavar="ROBOT", nargs="?",
                        help="show this arm's joints (built-in name, .urdf or .toml file)")
    parser.add_argument("--base", metavar="LINK", help="URDF only: the chain's base link")
    parser.add_argument("--tip", metavar="LINK", help="URDF only: the chain's tip link")
    parser.add_argument("--degrees", action="store_true", help="show revolute limits in degrees")
    parser.add_argument("--json", action="store_true", help="print JSON (limits always in rad / m)")
    parser.set_defaults(func=run)


def describe(chain) -> dict:
    """A JSON-ready description of an arm: name, DoF, joint kinds, and each free joint (q's columns,
    with the limits their mimic joints imply); "mimic" lists the coupled joints, when there are any."""
    def bound(v):
        return None if math.isinf(v) else v

    description = {
        "name": chain.name,
        "dof": chain.n,
        "joint_types": common.joint_kinds(chain),
        "planar": chain.planar,
        "joints": [{"name": j.name, "type": "continuous" if j.continuous else j.type,
                    "lower": bound(j.limits[0]), "upper": bound(j.limits[1]), "axis": j.axis.tolist()}
                   for j in chain.free_joints],
    }
    if chain.mimic:
        description["mimic"] = [{"name": name, "master": master, "multiplier": multiplier, "offset": offset}
                                for name, (master, multiplier, offset) in chain.mimic.items()]
    return description


def run(args) -> int:
    if args.robot is None:
        if args.base or args.tip:
            raise common.CommandError("--base/--tip need a URDF file as ROBOT")
        chains = [robots.get(name) for name in robots.available()]
        if args.json:
            print(common.dumps([describe(c) for c in chains]))
            return 0
        unit = "deg" if args.degrees else "rad"
        print(f"{'name':<11} {'DoF':>3}  {'joints':<8} limits ({unit}; m for prismatic)")
        for c in chains:
            limits = " ".join(common.format_limits(j, args.degrees) for j in c.joints)
            print(f"{c.name:<11} {c.n:>3}  {common.joint_kinds(c):<8} {limits}")
        print("\njoint types: R revolute, C continuous, P prismatic. Details: armgrad robots NAME")
        return 0
    chain = common.resolve_robot(args.robot, args.base, args.tip)
    if args.json:
        print(common.dumps(describe(chain)))
        return 0
    print(f"{chain.name}: {chain.n} DoF, joints {common.joint_kinds(chain)}" + (", planar" if chain.planar else ""))
    unit = "deg" if args.degrees else "rad"
    width = max(len(n) for n in chain.joint_names)
    print(f"  {'#':>2} {'joint':<{width}} {'type':<11} {'limits (' + unit + ')':<22} axis (joint frame)")
    for k, j in enumerate(chain.free_joints, 1):
        kind = "continuous" if j.continuous else j.type
        axis = "[" + ", ".join(f"{a:.3g}" for a in j.axis) + "]"
        print(f"  {k:>2} {j.name:<{width}} {kind:<11} {common.format_limits(j, args.degrees):<22} {axis}")
    for name, (master, multiplier, offset) in chain.mimic.items():  # coupled: not in q
        print(f"  mimic {name} = {multiplier:g} · {master} + {offset:g} (its limits narrow {master}'s)")
    return 0


if __name__ == "__main__":
    common.run_as_script("robots")
