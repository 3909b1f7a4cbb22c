"""`armgrad robots`: the built-in arms (DoF, joint types, limits), one arm's joints in detail, or the
whole tree (links, joints, frames) of a description file."""

from __future__ import annotations

import math

import robots
from demos import common

EXAMPLES = """\
examples:
  armgrad robots                      every built-in arm, one line each
  armgrad robots --degrees            limits of revolute joints in degrees
  armgrad robots panda                the Panda's joints: names, types, limits, axes
  armgrad robots my_arm.urdf          the file's whole tree: links, joints, extra frames (URDF, MJCF, xacro, TOML)
  armgrad robots my_arm.urdf --tip tool0      the chain to tool0: its joints (as for a built-in)
  armgrad robots panda.xml --frame attachment_site
  armgrad robots --json               machine-readable (limits in rad / m; null = unbounded)

joint types: R revolute, C continuous (revolute without limits), P prismatic.
"""


def register(subparsers) -> None:
    parser = common.command_parser(
        subparsers, "robots", help="list the built-in arms with DoF, joint types and limits",
        description="List the built-in arms, show one arm's joints, or the tree of a description file "
                    "(.urdf, .xml MJCF, .xacro, .toml).",
        epilog=EXAMPLES)
    parser.add_argument("robot", metavar="ROBOT", nargs="?",
                        help="show this arm's joints (a built-in name), or this file's tree (.urdf, .xml, .xacro, "
                             ".toml; with --frame/--tip: the chain to that frame)")
    common.add_frame_arguments(parser)
    parser.add_argument("--degrees", action="store_true", help="show revolute limits in degrees")
    parser.add_argument("--json", action="store_true", help="print JSON (limits always in rad / m)")
    parser.set_defaults(func=run)


def _axis_text(axis) -> str:
    """'[0, 0, 1]': an axis with 3 significant digits."""
    return "[" + ", ".join(f"{a:.3g}" for a in axis) + "]"


def _bound(v):
    """A limit for JSON: None for an unbounded side."""
    return None if math.isinf(v) else v


def describe(chain) -> dict:
    """A JSON-ready description of an arm: name, DoF, joint kinds, and each free joint (q's columns,
    with the limits their mimic joints imply); "mimic" lists the coupled joints, when there are any."""
    description = {
        "name": chain.name,
        "dof": chain.n,
        "joint_types": common.joint_kinds(chain),
        "planar": chain.planar,
        "joints": [{"name": j.name, "type": "continuous" if j.continuous else j.type,
                    "lower": _bound(j.limits[0]), "upper": _bound(j.limits[1]), "axis": j.axis.tolist(),
                    "velocity": j.velocity}
                   for j in chain.free_joints],
    }
    if chain.mimic:
        description["mimic"] = [{"name": name, "master": master, "multiplier": multiplier, "offset": offset}
                                for name, (master, multiplier, offset) in chain.mimic.items()]
    return description


def run(args) -> int:
    if args.robot is None:
        if args.base or args.tip or args.frame or args.xacro_args or args.packages or args.zero_range:
            raise common.CommandError("--frame/--base/--tip/--arg/--package/--zero-range need a ROBOT")
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
    if args.robot not in robots.available() and not (args.frame or args.tip or args.base):
        return show_tree(args)
    chain = common.robot_from_args(args)
    if args.json:
        print(common.dumps(describe(chain)))
        return 0
    print(f"{chain.name}: {chain.n} DoF, joints {common.joint_kinds(chain)}" + (", planar" if chain.planar else ""))
    unit = "deg" if args.degrees else "rad"
    width = max(len(n) for n in chain.joint_names)
    print(f"  {'#':>2} {'joint':<{width}} {'type':<11} {'limits (' + unit + ')':<22} axis (joint frame)")
    for k, j in enumerate(chain.free_joints, 1):
        kind = "continuous" if j.continuous else j.type
        axis = _axis_text(j.axis)
        print(f"  {k:>2} {j.name:<{width}} {kind:<11} {common.format_limits(j, args.degrees):<22} {axis}")
    for name, (master, multiplier, offset) in chain.mimic.items():  # coupled: not in q
        print(f"  mimic {name} = {multiplier:g} · {master} + {offset:g} (its limits narrow {master}'s)")
    return 0


def describe_tree(robot) -> dict:
    """A JSON-ready description of a whole tree: links (root first), joints, extra frames, q's columns."""
    joints = []
    for j in robot.joints:
        entry = {"name": j.name, "type": j.type, "parent": j.parent, "child": j.child}
        if j.motion is not None:
            entry.update(axis=j.axis.tolist(), lower=_bound(j.limits[0]), upper=_bound(j.limits[1]),
                         velocity=j.velocity)
        if j.mimic is not None:
            entry["mimic"] = {"master": j.mimic[0], "multiplier": j.mimic[1], "offset": j.mimic[2]}
        joints.append(entry)
    return {"name": robot.name, "dof": robot.n, "root": robot.root, "links": robot.links, "joints": joints,
            "frames": [{"name": frame, "link": link} for frame, (link, _) in robot.offsets.items()],
            "q": robot.joint_names, "end_frames": common.end_frames(robot)}


def show_tree(args) -> int:
    """`armgrad robots FILE`: the file's tree, one link per line, children indented under their parent."""
    robot = common.builtin_tree(args.robot)  # "dual_panda"
    if robot is not None:
        kind = "built-in tree"
    else:
        kind = common.robot_file_kind(args.robot)
        options = {}
        if kind == "xacro":
            options = dict(args=common.parse_assignments(args.xacro_args, ":=", "--arg", "NAME:=VALUE"),
                           package_paths=common.parse_assignments(args.packages, "=", "--package", "PKG=DIR"))
        if args.zero_range and kind in ("urdf", "xacro"):
            options["zero_range"] = args.zero_range
        robot = robots.load_robot(args.robot, **options)
    if (args.xacro_args or args.packages) and kind != "xacro":
        raise common.CommandError("--arg/--package apply to .xacro files only")
    if args.zero_range and kind not in ("urdf", "xacro"):
        raise common.CommandError("--zero-range applies to URDF and xacro files only")
    if args.json:
        print(common.dumps(describe_tree(robot)))
        return 0
    mimic = f", {len(robot.mimic_names)} mimic" if robot.mimic_names else ""
    print(f"{robot.name} ({kind}): {len(robot.links)} links, {robot.n} movable joints{mimic}, "
          f"{len(robot.offsets)} extra frame{'' if len(robot.offsets) == 1 else 's'}")
    frames_on = {}
    for frame, (link, _) in robot.offsets.items():
        frames_on.setdefault(link, []).append(frame)
    children = {}
    for joint in robot.joints:
        children.setdefault(joint.parent, []).append(joint)
    unit = "deg" if args.degrees else "rad"
    stack = [(robot.root, None, 0)]
    while stack:  # depth-first in the file's order, without recursion (trees can be deep)
        link, joint, depth = stack.pop()
        line = "  " * depth + link
        if joint is not None:
            line += f"  <- {joint.name}: {_joint_text(joint, args.degrees)}"
        if link in frames_on:
            line += f"  [frames: {', '.join(frames_on[link])}]"
        print(line)
        stack.extend((j.child, j, depth + 1) for j in reversed(children.get(link, ())))
    print(f"\nq ({robot.n}): {', '.join(robot.joint_names)}")
    print(f"end frames: {', '.join(common.end_frames(robot))} (the commands take --frame NAME; limits in {unit}, "
          "m for prismatic)")
    return 0


def _joint_text(joint, degrees: bool) -> str:
    """'revolute ±2.9 axis [0, 0, 1]', 'fixed', or with '= 1 · master + 0' for a mimic joint."""
    if joint.motion is None:
        return "fixed"
    kind = "continuous" if joint.motion.continuous else joint.type
    text = f"{kind} {common.format_limits(joint.motion, degrees)} axis {_axis_text(joint.axis)}"
    if joint.mimic is not None:
        master, multiplier, offset = joint.mimic
        text += f" = {multiplier:g} · {master} + {offset:g}"
    return text


if __name__ == "__main__":
    common.run_as_script("robots")
