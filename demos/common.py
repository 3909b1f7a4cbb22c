"""Shared pieces of the arm commands: ROBOT resolution, numbers, targets, rotations, output paths.

ROBOT on the command line is a built-in name (`robots.available()`) or a description file: URDF
(`.urdf`), MJCF (`.xml`; an `.xml` whose root is `<robot>` is URDF), xacro (`.xacro`, with
`--arg NAME:=VALUE` and `--package PKG=DIR`) or a TOML arm file (`.toml`). The command works on
the serial chain from `--base` (default: the root) to `--frame` (a link or an MJCF site; for URDF
`--tip` says the same; default: the single end frame, else the error lists the candidates).

Orientation conventions used by every command (conversions go through scipy's `Rotation`,
outside the autodiff graph):
    - roll, pitch, yaw are angles about the fixed x, y, z axes: R = Rz(yaw) Ry(pitch) Rx(roll),
      the URDF convention and `kinematics.transforms.rpy_to_matrix` (scipy: `"xyz"`, lowercase);
    - quaternions are written (x, y, z, w): scalar last, scipy's order.

Glossary: q joint values (n,); T pose (4, 4); R rotation (3, 3); p position (3,).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import re
import signal
import sys
import warnings
from pathlib import Path

import numpy as np

import kinematics as kin
import robots
from demos.cli import CommandError, accept_negative_numbers

RPY_COLUMNS = ("roll", "pitch", "yaw")
QUAT_COLUMNS = ("qx", "qy", "qz", "qw")
QUAT_ORDER = "x, y, z, w (scalar last)"
RPY_CONVENTION = "fixed axes x-y-z: R = Rz(yaw) Ry(pitch) Rx(roll)"


class ExamplesFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-formatted examples in a command's epilog as written."""


def command_parser(subparsers, name: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand's parser whose usage errors are one line, like the command's own errors.

    argparse's default prints the whole usage block before the message; with a dozen options
    that buries the one line that matters. Negative numbers in any form ("-2e-1") are values.
    """
    parser = accept_negative_numbers(subparsers.add_parser(name, formatter_class=ExamplesFormatter, **kwargs))

    def error(message):
        parser.exit(2, f"{parser.prog}: error: {message} (see {parser.prog} --help)\n")

    parser.error = error
    return parser


def run_as_script(command: str) -> None:
    """`python -m demos.<module> ARGS` runs as `armgrad <command> ARGS`."""
    from demos.cli import main

    sys.exit(main([command, *sys.argv[1:]]))


# ----------------------------------------------------------------------------- robots

ROBOT_FILES = (".urdf", ".xml", ".xacro", ".toml")


def add_robot_arguments(parser: argparse.ArgumentParser) -> None:
    """ROBOT plus the options that pick its chain and expand its description, for every arm command."""
    parser.add_argument("robot", metavar="ROBOT",
                        help="a built-in arm (see `armgrad robots`) or a description file: URDF (.urdf), "
                             "MJCF (.xml), xacro (.xacro) or a TOML arm file (.toml)")
    add_frame_arguments(parser)


def add_frame_arguments(parser: argparse.ArgumentParser) -> None:
    """--frame/--base/--tip, --zero-range and the xacro options (the arm commands and `armgrad robots FILE`)."""
    parser.add_argument("--frame", metavar="NAME",
                        help="the task frame: a link, or an MJCF site (default: the description's single end "
                             "frame; for URDF the same as --tip)")
    parser.add_argument("--base", metavar="LINK", help="the chain's base link (default: the root)")
    parser.add_argument("--tip", metavar="LINK", help="URDF/xacro: the chain's tip link (default: the single leaf)")
    parser.add_argument("--arg", metavar="NAME:=VALUE", action="append", default=[], dest="xacro_args",
                        help="xacro only: a xacro argument (repeatable)")
    parser.add_argument("--zero-range", choices=robots.urdf.ZERO_RANGE_MODES, default=None,
                        help="URDF/xacro: a revolute or prismatic joint whose <limit> range is zero (lower = upper, "
                             "e.g. both missing): lock it and warn (the default), make it continuous, or refuse "
                             "the file (error)")
    parser.add_argument("--package", metavar="PKG=DIR", action="append", default=[], dest="packages",
                        help="xacro (and URDF with --scene, for its collision meshes): where package PKG lives, "
                             "for $(find PKG) and package://PKG/ (repeatable; ROS_PACKAGE_PATH is searched after "
                             "these for xacro)")


def robot_from_args(args) -> kin.Chain:
    """The chain the ROBOT argument and the options of `add_frame_arguments` name (with `--scene`,
    `--package` also names the packages of a URDF file's collision meshes)."""
    return resolve_robot(args.robot, args.base, args.tip, frame=args.frame, zero_range=args.zero_range,
                         xacro_args=parse_assignments(args.xacro_args, ":=", "--arg", "NAME:=VALUE"),
                         package_paths=parse_assignments(args.packages, "=", "--package", "PKG=DIR"),
                         mesh_packages=getattr(args, "scene", None) is not None or getattr(args, "meshes", False))


def parse_assignments(items, sign: str, what: str, form: str) -> dict:
    """{name: value} from "name<sign>value" strings; CommandError naming `what` on a malformed one."""
    out = {}
    for item in items:
        name, found, value = item.partition(sign)
        if not found or not name.strip():
            raise CommandError(f"{what} {item!r}: expected {form}")
        out[name.strip()] = value
    return out


def resolve_robot(spec: str, base: str | None = None, tip: str | None = None, *, frame: str | None = None,
                  zero_range: str | None = None, xacro_args=None, package_paths=None,
                  mesh_packages: bool = False) -> kin.Chain:
    """The arm a ROBOT argument names, as a serial chain to its task frame.

    Args:
        spec: a built-in arm or tree ("dual_panda": then `frame` picks the arm) or a path to a
            .urdf, .xml (URDF or MJCF, by the root element), .xacro or .toml file.
        base: the chain's base link (default: the root).
        tip, frame: the chain's end: a link (URDF, xacro: `tip` or `frame`; both must agree), an
            MJCF site or body, or a frame of a built-in's or arm file's tree ("tool" by default).
        xacro_args: {name: value} for a .xacro file.
        package_paths: {package: folder} for a .xacro file's $(find ...) and package:// paths.
        zero_range: URDF and xacro: "lock", "continuous" or "error" (`robots.load_urdf`; None: lock).
        mesh_packages: package_paths may also come with a URDF file (they locate its collision
            meshes for `arm_geometry`; the chain itself does not need them).

    Returns:
        kinematics.Chain.

    Raises:
        CommandError: unknown name, missing file, unsupported file type, options that do not
            apply to this kind of ROBOT; the loaders' own errors (ValueError) pass through.
    """
    if tip and frame and tip != frame:
        raise CommandError(f"--tip {tip!r} and --frame {frame!r} disagree: give one of them")
    end = frame or tip
    builtin = spec in robots.available()
    tree = builtin_tree(spec)
    path = Path(spec)
    kind = robot_kind(spec)
    packages_apply = kind == "xacro" or (mesh_packages and kind == "urdf")  # a URDF's collision meshes
    if (xacro_args and kind != "xacro") or (package_paths and not packages_apply):
        also = " (with --scene, --package to URDF files too)" if mesh_packages else ""
        raise CommandError(f"--arg/--package apply to .xacro files only{also}, not to {_kind_label(kind, spec)}")
    for option, given in (("--tip", tip), ("--zero-range", zero_range)):
        if given and kind not in ("urdf", "xacro"):
            raise CommandError(f"{option} applies to URDF and xacro files, not to {_kind_label(kind, spec)}"
                               + ("; use --frame" if option == "--tip" else ""))
    zero_range = zero_range or "lock"
    if kind == "urdf":
        return robots.load_urdf(str(path), base_link=base, tip_link=end, zero_range=zero_range)
    if kind == "xacro":
        from robots.xacro import load_xacro_chain  # expands through the xacro package (armgrad[xacro])
        return load_xacro_chain(str(path), base_link=base, tip_link=end, args=xacro_args, package_paths=package_paths,
                                zero_range=zero_range)
    if kind == "mjcf":
        from robots.mjcf import load_mjcf
        return _chain_to_frame(load_mjcf(str(path)), end, base, spec)
    if kind == "built-in tree":
        return _chain_to_frame(tree, end, base, spec)
    chain = robots.get(spec) if builtin else robots.load(str(path))
    if end is None and base is None:
        return chain
    return _chain_to_frame(kin.Robot.from_chain(chain), end or "tool", base, spec)


def builtin_tree(spec: str):
    """The built-in tree `spec` names ("dual_panda": `robots.get` gives a kinematics.Robot), or None."""
    try:
        robot = robots.get(spec)
    except ValueError:
        return None
    return robot if isinstance(robot, kin.Robot) else None


def robot_kind(spec: str) -> str:
    """What ROBOT names: "built-in", "built-in tree" (e.g. dual_panda) or its file's kind (`robot_file_kind`)."""
    if spec in robots.available():
        return "built-in"
    return "built-in tree" if builtin_tree(spec) is not None else robot_file_kind(spec)


def robot_file_kind(spec: str) -> str:
    """The kind of a description file named on the command line (`robots.description_kind`), after
    checking the extension and that the file exists (CommandError otherwise)."""
    path = Path(spec)
    if path.suffix.lower() not in ROBOT_FILES:
        hint = "" if path.exists() else f"; built-in arms: {', '.join(robots.available())}"
        raise CommandError(f"unknown robot {spec!r}: expected a built-in name or a description file "
                           f"({', '.join(ROBOT_FILES)}){hint}")
    if not path.is_file():
        raise CommandError(f"robot file not found: {spec}")
    return robots.description_kind(path)


def _kind_label(kind: str, spec: str) -> str:
    return {"built-in": f"the built-in arm {spec!r}", "built-in tree": f"the built-in tree {spec!r}",
            "mjcf": "MJCF files", "toml": "TOML arm files", "urdf": "URDF files"}[kind]


def _chain_to_frame(robot: kin.Robot, frame, base, spec) -> kin.Chain:
    """robot.chain(frame, base), with the end frame chosen when there is one candidate."""
    if frame is None:
        candidates = end_frames(robot)
        if len(candidates) != 1:
            raise CommandError(f"{spec}: {len(candidates)} candidate end frames ({', '.join(candidates[:12])}"
                               f"{', ...' if len(candidates) > 12 else ''}); pass --frame NAME")
        frame = candidates[0]
    return robot.chain(frame, base=base)


def end_frames(robot: kin.Robot) -> list:
    """A tree's candidate task frames: its extra frames (sites, "tool") when it has any, else its leaf links."""
    if robot.offsets:
        return list(robot.offsets)
    parents = {joint.parent for joint in robot.joints}
    return [link for link in robot.links if link not in parents]


def joint_kinds(chain: kin.Chain) -> str:
    """One letter per free joint (q's columns): R revolute, C continuous (unbounded revolute), P prismatic."""
    return "".join("P" if j.type == kin.PRISMATIC else "C" if j.continuous else "R" for j in chain.free_joints)


def format_limits(joint, degrees: bool = False) -> str:
    """A joint's range as text: '±2.9', '[-3.07, -0.07]' or 'unbounded'."""
    lo, hi = joint.limits
    if math.isinf(lo) and math.isinf(hi):
        return "unbounded"
    scale = 180.0 / math.pi if degrees and joint.type == kin.REVOLUTE else 1.0
    lo, hi = lo * scale, hi * scale
    if math.isfinite(lo) and abs(lo + hi) < 1e-9:
        return f"±{hi:.4g}"
    return f"[{lo:.4g}, {hi:.4g}]"


# ----------------------------------------------------------------------------- numbers

def parse_numbers(values, what: str, count=None) -> np.ndarray:
    """Floats from command-line strings, with a message naming `what` on any mistake.

    Args:
        values: the strings.
        what: the argument's name, for messages (e.g. "Q", "--target").
        count: the allowed count, or a tuple of allowed counts, or None for any.

    Returns:
        (k,) float array.
    """
    out = []
    for text in values:
        try:
            x = float(text)
        except ValueError:
            raise CommandError(f"{what}: {text!r} is not a number") from None
        if not math.isfinite(x):
            raise CommandError(f"{what}: {text!r} is not a finite number")
        out.append(x)
    if count is not None:
        allowed = (count,) if isinstance(count, int) else tuple(count)
        if len(out) not in allowed:
            expected = " or ".join(str(c) for c in allowed)
            raise CommandError(f"{what}: expected {expected} values, got {len(out)}")
    return np.array(out, dtype=float)


def finite_positive(value: float, what: str) -> float:
    """`value` itself when it is a finite number above zero, else a CommandError naming `what`.

    argparse's `type=float` takes "inf" and "nan"; a tolerance of inf would call anything a
    success, and NaN compares false with every bound.
    """
    if not (math.isfinite(value) and value > 0):
        raise CommandError(f"{what}: must be a finite number above 0, got {value!r}")
    return value


def parse_q(chain: kin.Chain, values, degrees: bool = False, what: str = "Q") -> np.ndarray:
    """Joint values for `chain` from strings: one per joint; revolute ones in degrees if asked."""
    q = parse_numbers(values, what)
    if len(q) != chain.n:
        raise CommandError(f"{what}: {chain.name} has {chain.n} joints ({', '.join(chain.joint_names)}), "
                           f"got {len(q)} value{'s' if len(q) != 1 else ''}")
    if degrees:
        q = np.where([j.type == kin.REVOLUTE for j in chain.free_joints], np.radians(q), q)
    return q


def outside_limits(chain: kin.Chain, q) -> list:
    """Names of the free joints whose value lies outside their limits (mimic joints' limits included:
    `chain.free_joints` carry the intersected box)."""
    return [j.name for j, v in zip(chain.free_joints, q) if not j.limits[0] - 1e-12 <= v <= j.limits[1] + 1e-12]


# ----------------------------------------------------------------------------- rotations

def _rotation():
    # Imported on use: scipy.spatial costs ~0.3 s, and every `armgrad` command (the other
    # branches' too) imports this module when the parser is built.
    from scipy.spatial.transform import Rotation

    return Rotation


def rpy_to_rotation(rpy) -> np.ndarray:
    """(..., 3) roll-pitch-yaw (rad, fixed axes) to (..., 3, 3) rotations."""
    return _rotation().from_euler("xyz", np.asarray(rpy, dtype=float)).as_matrix()


def quat_to_rotation(quat, what: str = "quaternion") -> np.ndarray:
    """(..., 4) quaternions (x, y, z, w), normalised here, to (..., 3, 3) rotations."""
    quat = np.asarray(quat, dtype=float)
    norm = np.linalg.norm(quat, axis=-1)
    if np.any(norm < 1e-9):
        raise CommandError(f"{what}: a quaternion (x, y, z, w) must not be zero")
    return _rotation().from_quat(quat / norm[..., None]).as_matrix()


def rotation_summary(R) -> dict:
    """Roll-pitch-yaw (rad) and quaternion (x, y, z, w) of a rotation matrix (3, 3)."""
    rotation = _rotation().from_matrix(np.asarray(R, dtype=float))
    rpy = rotation.as_euler("xyz")
    rpy[np.abs(rpy + math.pi) < 1e-9] = math.pi  # ±π are the same angle: print the positive one
    quat = rotation.as_quat()
    if quat[3] < 0:  # q and -q are the same rotation: print the one with w >= 0
        quat = -quat
    return {"rpy": rpy, "quaternion": quat}


def pose(position, R=None) -> np.ndarray:
    """A (4, 4) pose from a position (3,) and a rotation (3, 3) (identity when None)."""
    T = np.eye(4)
    T[:3, 3] = position
    if R is not None:
        T[:3, :3] = R
    return T


# ----------------------------------------------------------------------------- targets

def add_target_arguments(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """--target X Y Z with an optional --rpy or --quat orientation."""
    parser.add_argument("--target", nargs="+", metavar="X", required=required,
                        help="target position X Y Z in metres (X Y for planar arms)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--rpy", nargs="+", metavar="ANGLE",
                       help="target orientation as roll pitch yaw (rad; fixed axes, R = Rz(yaw) Ry(pitch) Rx(roll))")
    group.add_argument("--quat", nargs="+", metavar="Q",
                       help="target orientation as a quaternion QX QY QZ QW (scalar last; normalised)")


def target_from_args(chain: kin.Chain, args, degrees: bool = False) -> np.ndarray:
    """The solver target from --target/--rpy/--quat: a position (3,) or a pose (4, 4).

    Planar arms take X Y (z = the arm's plane, `chain.plane_z`) or X Y Z; with an orientation the
    target is a full pose.
    """
    if args.target is None:
        raise CommandError("give a target: --target X Y Z (X Y for planar arms)")
    position = parse_numbers(args.target, "--target", (2, 3) if chain.planar else 3)
    if len(position) == 2:
        position = chain.lift(position)
    if args.rpy is not None:
        rpy = parse_numbers(args.rpy, "--rpy", 3)
        return pose(position, rpy_to_rotation(np.radians(rpy) if degrees else rpy))
    if args.quat is not None:
        return pose(position, quat_to_rotation(parse_numbers(args.quat, "--quat", 4), "--quat"))
    return position


def read_targets(path: str | os.PathLike, chain: kin.Chain, degrees: bool = False, option: str = "--targets"):
    """All targets of a CSV, .parquet or .npy file, refused at the first malformed row (`demos.targets`;
    messages name `option`, the command-line option the file came from).

    Returns:
        (targets, ignored): targets (B, 3) positions or (B, 4, 4) poses; ignored column names.
    """
    from demos import targets  # it builds on this module

    return targets.read_targets(path, chain, degrees, option)


def need_pyarrow(option: str, path):
    """pyarrow.parquet, or a CommandError naming the extra that installs it."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CommandError(f"{option}: {path}: Parquet files need pyarrow: pip install 'armgrad[scale]'") from None
    return pq


# ----------------------------------------------------------------------------- output

def check_writable(path: str | os.PathLike, what: str = "--out") -> Path:
    """Fail early, before any work, when `path` cannot be written.

    The file is really opened for appending (and removed again if it did not exist):
    permission bits say nothing to root or about read-only and virtual file systems.

    Returns:
        The path as a Path.
    """
    path = Path(path)
    if path.is_dir():
        raise CommandError(f"{what}: {path} is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise CommandError(f"{what}: cannot write {path}: directory {parent} does not exist")
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as err:
        raise CommandError(f"{what}: cannot write {path}: {err.strerror or err}") from None
    if not existed:
        path.unlink()
    return path


def make_output_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """Create the output directory (and its parents) or fail with one line."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CommandError(f"{what}: cannot create directory {path}: {err.strerror or err}") from None
    check_writable(path / ".armgrad-write-test", what)
    return path


def fmt_vector(values, digits: int = 6) -> str:
    """Numbers as '[a, b, c]' with a fixed number of decimals; -0 prints as 0, NaN as nan, ±inf as ±inf."""
    # `abs(nan) >= tiny` is False: test for "tiny" instead, so NaN keeps its value and prints as nan.
    return "[" + ", ".join(f"{(0.0 if abs(v) < 0.5 * 10 ** -digits else v):.{digits}f}" for v in values) + "]"


_NUMBER_LIST = re.compile(r"\[\s*((?:-?[\d.eE+-]+|null)(?:,\s*(?:-?[\d.eE+-]+|null))*)\s*\]")


def _finite_or_null(data):
    """`data` with every NaN or infinite float replaced by None (JSON null), in dicts, lists and arrays."""
    if isinstance(data, dict):
        return {key: _finite_or_null(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite_or_null(value) for value in data]
    if isinstance(data, np.ndarray):
        return _finite_or_null(data.tolist())
    if isinstance(data, (float, np.floating)):
        return float(data) if math.isfinite(data) else None
    return data


def dumps(data) -> str:
    """Strict JSON with two-space indents, but every list of numbers on one line (rows of a matrix too).

    NaN and infinities become null: `Infinity` and `NaN` are not JSON, and strict parsers
    (JavaScript's, jq, Go's) reject the whole document.
    """
    text = json.dumps(_finite_or_null(data), indent=2, allow_nan=False)
    return _NUMBER_LIST.sub(lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)


# ----------------------------------------------------------------------------- scenes

def add_scene_arguments(parser: argparse.ArgumentParser) -> None:
    """--scene, --margin and --no-self-collision (solve, animate)."""
    parser.add_argument("--scene", metavar="FILE",
                        help="obstacles (a TOML scene file, see docs/collision.md): the answer keeps the arm's "
                             "collision shapes clear of them and of each other")
    parser.add_argument("--margin", type=float, metavar="M",
                        help="with --scene: the clearance to keep (m, finite, >= 0; default 0)")
    parser.add_argument("--no-self-collision", action="store_true",
                        help="with --scene: do not keep the arm's links apart from each other")


@dataclasses.dataclass
class Collision:
    """What --scene asks of the solver.

    Attributes:
        scene: the scene file.
        obstacles: its shapes {label: shape} (`robots.load_scene(..., named=True)`), world frame.
        geometry: the arm's collision shapes {frame of kin.Robot.from_chain(chain): shapes} (`arm_geometry`).
        margin: the clearance to keep (m).
        tasks: kin.Avoid, then kin.AvoidSelf unless --no-self-collision.
    """

    scene: Path
    obstacles: list
    geometry: dict
    margin: float
    tasks: list

    def goal(self, target) -> list:
        """The tasks for a target (3,) | (4, 4) or a batch (B, 3) | (B, 4, 4) of the chain's "tool"."""
        target = np.asarray(target, dtype=float)
        end = kin.Pose("tool", target) if target.shape[-2:] == (4, 4) else kin.Position("tool", target)
        return [end, *self.tasks]

    def clearance(self, task_errors):
        """(the smallest signed distance (m), its pair's label) over the collision tasks of a result
        solved for `goal`: a float and a str for one target, (B,) arrays for a batch."""
        reports = task_errors[1:]
        d = np.array([np.asarray(r["distance"], dtype=float) for r in reports])  # (tasks,) or (tasks, B)
        pairs = np.array([np.asarray(r["pair"], dtype=str) for r in reports])
        k = d.argmin(axis=0)[None]
        d, pairs = np.take_along_axis(d, k, 0)[0], np.take_along_axis(pairs, k, 0)[0]
        return (float(d), str(pairs)) if d.ndim == 0 else (d, pairs)

    def fingerprint(self) -> dict:
        """What the answers depend on, for a resumed batch's manifest: the scene file, geometry, options."""
        from demos import chunks

        shapes = [[frame, *(np.r_[s.center, s.center] if isinstance(s, kin.Sphere) else np.r_[s.a, s.b]).tolist(),
                   float(s.radius)] for frame, value in self.geometry.items() for s in _shapes(value)]
        return {"scene": chunks.file_fingerprint(self.scene), "margin": self.margin,
                "self_collision": len(self.tasks) > 1, "geometry": chunks.fingerprint(shapes)}


def _shapes(value) -> tuple:
    """A geometry entry (a shape or a sequence of them) as a tuple."""
    return (value,) if isinstance(value, kin.Sphere | kin.Capsule) else tuple(value)


def collision_from_args(args, chain: kin.Chain) -> Collision | None:
    """The --scene options read and checked (None without --scene; its options alone are refused).

    Raises:
        CommandError: --margin or --no-self-collision without --scene, a bad margin, an arm with
            no collision geometry (`arm_geometry`). robots.SceneError (a ValueError) names the
            scene file's mistake.
    """
    if args.scene is None:
        given = [name for name, value in (("--margin", args.margin), ("--no-self-collision", args.no_self_collision))
                 if value not in (None, False)]
        if given:
            raise CommandError(f"{' and '.join(given)} appl{'y' if len(given) > 1 else 'ies'} with --scene FILE")
        return None
    margin = 0.0 if args.margin is None else args.margin
    if not (math.isfinite(margin) and margin >= 0):
        raise CommandError(f"--margin: must be a finite number >= 0 (m), got {margin!r}")
    obstacles = robots.load_scene(args.scene, named=True)  # {label: shape}: names label the pairs
    if not obstacles:
        raise CommandError(f"--scene: {args.scene} holds no obstacles")
    geometry = arm_geometry(args, chain)
    tasks = [kin.Avoid(obstacles, margin, geometry=geometry)]
    if not args.no_self_collision:
        tasks.append(kin.AvoidSelf(margin, geometry=geometry))
    return Collision(Path(args.scene), obstacles, geometry, margin, tasks)


def arm_geometry(args, chain: kin.Chain) -> dict:
    """The collision shapes of the arm ROBOT names, on the frames of `kin.Robot.from_chain(chain)`.

    A built-in arm's stored model (`chain.geometry`); a URDF, xacro or MJCF file's
    `robots.collision_model` (meshes found through --package), mapped from the file's links onto
    the chain by `robots.geometry.chain_geometry` (links the chain does not carry are named in a
    warning).

    Raises:
        CommandError: the arm has no collision shapes (one line naming it and what has some).
    """
    from robots.geometry import builtin_names, chain_geometry

    spec = args.robot
    if chain.geometry is not None:
        return chain.geometry
    if spec in robots.available():
        builtin = robots.get(spec)
        if builtin.geometry is None:
            raise CommandError(f"{spec} has no collision geometry, which --scene needs (built-in arms with a model: "
                               f"{', '.join(builtin_names())}; or give a URDF or MJCF file with collision shapes)")
        return chain_geometry(kin.Robot.from_chain(builtin), chain, builtin.geometry, args.base)
    kind = robot_kind(spec)
    if kind not in ("urdf", "xacro", "mjcf"):
        raise CommandError(f"no collision geometry for {_kind_label(kind, spec)}, which --scene needs (give a "
                           "URDF, xacro or MJCF file with collision shapes, or a built-in arm with a model: "
                           f"{', '.join(builtin_names())})")
    tree, packages, xacro_args = description_tree(args, kind)
    model = robots.collision_model(spec, packages, args=xacro_args)
    geometry = chain_geometry(tree, chain, model, args.base) if model else {}
    if not geometry:
        where = f"the chain from {args.base or tree.root!r}" if model else "the file"
        raise CommandError(f"{spec}: no link of {where} has collision shapes, which --scene needs "
                           "(URDF <collision>, MJCF geoms that collide)")
    return geometry


def description_tree(args, kind: str):
    """(the whole tree of the ROBOT file, its --package folders, its xacro --arg values or None), for
    the shapes a description adds to its chain (collision shapes, visual meshes)."""
    xacro_args = parse_assignments(args.xacro_args, ":=", "--arg", "NAME:=VALUE")
    packages = parse_assignments(args.packages, "=", "--package", "PKG=DIR")
    with warnings.catch_warnings():  # loading the chain has said these already
        warnings.simplefilter("ignore", robots.URDFWarning)
        warnings.simplefilter("ignore", robots.MJCFWarning)
        options = {"zero_range": args.zero_range or "lock"} if kind != "mjcf" else {}
        tree = robots.load_robot(args.robot, packages if kind == "xacro" else None,
                                 args=xacro_args if kind == "xacro" else None, **options)
    return tree, packages, xacro_args if kind == "xacro" else None


# ----------------------------------------------------------------------------- workers

def need_distributed(args):
    """dask.distributed when --workers or --scheduler asks for it (before any work), else None."""
    if args.workers is None and args.scheduler is None:
        return None
    try:
        import distributed
    except ImportError:
        option = "--workers" if args.workers is not None else "--scheduler"
        raise CommandError(f"{option} needs dask.distributed: {kin.scale.INSTALL_HINT}") from None
    return distributed


@contextlib.contextmanager
def dask_client(args):
    """None (solve here), or the distributed.Client of --workers N / --scheduler ADDRESS."""
    if args.workers is None and args.scheduler is None:
        yield None
        return
    distributed = need_distributed(args)
    if args.workers is not None:
        with contextlib.ExitStack() as stack:
            # The local scheduler runs in this process; closed mid-run (Ctrl-C) it logs every
            # connection it loses, CRITICAL and with tracebacks. The command reports what matters
            # itself (a chunk's error is its task's exception; a dead worker's chunk is rerun),
            # so its log stays quiet until the cluster is closed (the callback runs last).
            # (tornado.application too: a Ctrl-C inside distributed's `sync` can make its cancel
            # callback raise NameError, logged there, in distributed 2026.8.)
            logs = [logging.getLogger(name) for name in ("distributed", "tornado.application")]
            for log in logs:
                stack.callback(log.setLevel, log.level)
            # The workers start with SIGINT ignored (a terminal's Ctrl-C reaches the whole
            # process group): the driver alone stops, saves nothing half-done, and closes them.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                client = stack.enter_context(kin.scale.local_cluster(args.workers, quiet=True))
            finally:
                signal.signal(signal.SIGINT, previous)
            for log in logs:  # after the cluster set its own level (local_cluster: ERROR)
                log.setLevel(logging.CRITICAL + 1)
            yield client
        return
    try:
        client = distributed.Client(args.scheduler, timeout="5s")
    except (OSError, ValueError, TimeoutError) as err:
        raise CommandError(f"--scheduler: cannot connect to {args.scheduler}: {err}") from None
    with client:
        yield client
