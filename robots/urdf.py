"""URDF files to serial chains (`load_urdf`) and to whole trees (`load_robot_urdf`).

`load_urdf` reads a robot description (a file path or the XML text itself), finds the path from
a base link to a tip link in the tree of links and joints, and returns that path as a
`kinematics.Chain`:

- only direct `<robot>/<joint>` children are joints (a `<transmission>` nests `<joint>`
  elements that only name joints);
- `<origin>`, its `xyz` and `rpy`, and `<axis>` are optional (identity, zeros, (1, 0, 0));
- `rpy` is about fixed axes, R = Rz(yaw) Ry(pitch) Rx(roll), and a joint moves its child by
  Trans(xyz) Rot(rpy) Motion(q), with the axis in the joint frame; axes are normalised (scaled by
  their largest component first, so `1e200 0 0` is the x axis);
- fixed joints fold into the next joint's origin (or into the tool after the last one), so the
  zero axes some fixed joints carry never matter;
- continuous joints are revolute joints without limits; revolute and prismatic joints on the
  path need a `<limit>` element (as urdfdom requires) and take `lower` and `upper` from it (each
  defaults to 0, as in the URDF specification); those must be finite (an infinite revolute range
  is refused with a pointer to type="continuous") and at most `kinematics.chain.MAX_LIMIT` (1e6)
  in magnitude;
- a zero-width range (lower == upper; most often a `<limit>` without lower and upper, as
  centauro's wheels and the quadruped's knees in example-robot-data) locks the joint; `zero_range`
  chooses: "lock" (default: locked, and one `URDFWarning` per load naming every such joint with
  its line), "continuous" (revolute ones become continuous; prismatic ones stay locked and are
  still named, a URDF prismatic joint being always bounded) or "error" (a URDFError naming the
  joint and line). Only the joints that matter count: the path's and its masters' for
  `load_urdf`, every joint for `load_robot_urdf`;
- `<limit velocity>` is the joint's `velocity` (rad/s or m/s): absent, 0 (what exporters write
  when they know none: 44 joints of 7 files in example-robot-data and rtb-data) and inf are None;
  negative values are refused (for the joints that matter), non-numbers everywhere, like other
  numbers;
- `load_urdf` marks a chain `planar` (2-D targets and drawings) when, in the base link's frame at
  q = 0, every revolute axis is ±z, every prismatic axis horizontal, and every joint frame and the
  end effector sit at one height h, to `kinematics.chain.PLANAR_TOLERANCE`: the arm then stays in
  the plane z = h for all q (`kinematics.chain.plane_height` has the argument), `chain.plane_z`
  is h, and 2-D targets (x, y) mean (x, y, h);
- origins on the path must have |xyz| <= `kinematics.chain.MAX_LENGTH` (1e6 m), so FK and its
  gradients cannot overflow; at most `kinematics.chain.MAX_JOINTS` movable joints on the path;
- a mimic joint on the base→tip path (`<mimic joint= multiplier="1" offset="0">`) is a coupled
  joint of the chain, value = multiplier · master + offset (`kinematics.Chain`'s `mimic`): q holds
  the free joints only. A mimic of a mimic resolves to the free joint at the end of the couplings,
  which may lie off the path (a gripper's second finger mimics the first, a sibling): such a
  master becomes a free column of the chain (`Chain.masters`, after the path's free joints) that
  moves the path only through its mimic joints. Each mimic joint's own `<limit>` narrows its free
  master's limits to the values that keep it inside them; mimic joints off the path are ignored;
- a floating or planar joint on the path is refused (it is not one degree of freedom of a serial
  chain); elsewhere (a mobile base's floating joint off the path) it is ignored;
- numbers may carry any whitespace and exponents such as `1E-18`; meshes, inertia and
  everything else are ignored.

Errors are `URDFError` (a `ValueError`) naming the file (XML text: `source=`, default "<string>"),
the element and its line, in one short line (names are clipped, lists shortened); xacro files
expand to URDF text in `robots.xacro`. The standard library's expat parser reports lines,
which `xml.etree.ElementTree` does not keep. Elements nested more than `MAX_DEPTH` (100) deep
are refused.

Example:
    >>> from kinematics import forward_kinematics
    >>> arm = load_urdf('''<robot name="two">
    ...   <link name="a"/><link name="b"/><link name="c"/>
    ...   <joint name="j1" type="continuous"><parent link="a"/><child link="b"/>
    ...     <axis xyz="0 0 1"/></joint>
    ...   <joint name="j2" type="fixed"><parent link="b"/><child link="c"/>
    ...     <origin xyz="1 0 0"/></joint>
    ... </robot>''')
    >>> arm
    Chain('two', 1 joints R)
    >>> np.round(forward_kinematics(arm, [np.pi / 2])[:3, 3], 12)
    array([0., 1., 0.])
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from kinematics import FIXED, Chain, Joint, Robot, RobotJoint
from kinematics.chain import MAX_JOINTS, MAX_LENGTH, MAX_LIMIT, plane_height, resolve_mimic
from kinematics.transforms import rpy_to_matrix

# the generic XML pieces, shared with the MJCF reader
from .xmlfile import Element as _Element, XMLFileError, clip as _clip, names as _names, parse_xml, q as _q

__all__ = ["load_urdf", "load_robot_urdf", "URDFError", "URDFWarning", "ZERO_RANGE_MODES"]

_MOVABLE = {"revolute": "revolute", "continuous": "revolute", "prismatic": "prismatic"}
_JOINT_TYPES = ("revolute", "continuous", "prismatic", "fixed", "floating", "planar")
MAX_DEPTH = 100
"""Deepest element nesting accepted (a URDF uses about 6 levels: robot/link/visual/geometry/mesh)."""
ZERO_RANGE_MODES = ("lock", "continuous", "error")
"""What `zero_range=` may ask of revolute and prismatic joints whose `<limit>` range is zero-width."""


class URDFWarning(UserWarning):
    """A URDF that loads, but probably not as its author meant (joints locked by a zero range)."""


class URDFError(XMLFileError):
    """A URDF file that cannot become a chain; the message names the file, element and line.

    Attributes:
        source: the file name (or "<string>" for XML text).
        line: the 1-based line of the offending element (None when no element is at fault).
        element: the element's tag, e.g. "joint" (None when no element is at fault).
    """


def _parse_xml(data, source) -> _Element:
    """Parse XML text or bytes into an _Element tree, with the line of every element."""
    return parse_xml(data, source, URDFError, top="robot", max_depth=MAX_DEPTH,
                     need="a URDF needs at most a few levels")


def _read(path_or_xml):
    """(data, source label) from a path or XML text: an existing file wins, then text starting with '<'."""
    if not isinstance(path_or_xml, (str, os.PathLike)):
        raise TypeError(f"load_urdf: path_or_xml must be a path or XML text, got {type(path_or_xml).__name__}")
    if isinstance(path_or_xml, str) and not os.path.isfile(path_or_xml):
        # A folder name may hold '<' too, so only text that is not a file and starts like XML is XML.
        if path_or_xml.lstrip("\ufeff \t\r\n").startswith("<"):
            return path_or_xml, "<string>"
    path = os.fspath(path_or_xml)
    try:
        with open(path, "rb") as f:
            return f.read(), path
    except (OSError, ValueError) as err:  # ValueError: a NUL in the name
        reason = getattr(err, "strerror", None) or str(err)
        raise FileNotFoundError(f"load_urdf: cannot read URDF file {_clip(path, 200)!r}: {reason} "
                                "(XML text must start with '<')") from None


class _Reader:
    """Numbers and required attributes, with errors that point at the element; what one load asks
    of zero ranges (`zero_range`) and the joints it left locked by one (`locked`: {name: spec})."""

    def __init__(self, source, zero_range="lock"):
        self.source = source
        self.zero_range = zero_range
        self.locked = {}

    def error(self, element, message):
        return URDFError(self.source, message, element)

    def attr(self, element, key):
        value = element.attrs.get(key)
        if value is None or not value.strip():
            raise self.error(element, f"missing attribute {_q(key)}")
        return value.strip()

    def numbers(self, element, key, count, default, finite=True):
        """`count` floats from a whitespace-separated attribute, or `default` when absent."""
        text = element.attrs.get(key)
        if text is None:
            return np.array(default, dtype=float)
        parts = text.split()
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise self.error(element, f"attribute {key}={_q(text)}: expected {count} numbers") from None
        if len(values) != count:
            raise self.error(element, f"attribute {key}={_q(text)}: expected {count} numbers, got {len(values)}")
        # plain floats: a big file has five of these per joint, and numpy's checks cost more than parsing
        if any(math.isnan(v) or (finite and math.isinf(v)) for v in values):
            raise self.error(element, f"attribute {key}={_q(text)}: expected finite numbers")
        return np.array(values)

    def child_link(self, joint, tag):
        element = joint.find(tag)
        if element is None:
            raise self.error(joint, f"missing <{tag} link=...>")
        return self.attr(element, "link"), element


class _JointSpec:
    """A URDF joint as read: enough to build a chain or to report an error about it."""

    __slots__ = ("name", "type", "parent", "child", "axis", "limits", "has_limit", "velocity", "mimic", "element",
                 "axis_element", "origin_element", "xyz", "rpy")


def _read_joint(reader: _Reader, element) -> _JointSpec:
    spec = _JointSpec()
    spec.element = element
    spec.name = reader.attr(element, "name")
    spec.type = reader.attr(element, "type")
    if spec.type not in _JOINT_TYPES:
        raise reader.error(element, f"unknown joint type {_q(spec.type)}; expected one of {', '.join(_JOINT_TYPES)}")
    spec.parent, _ = reader.child_link(element, "parent")
    spec.child, _ = reader.child_link(element, "child")
    origin = spec.origin_element = element.find("origin")
    spec.xyz = spec.rpy = None  # the transform is built in _chain, for the joints on the path only
    if origin is not None:
        spec.xyz = reader.numbers(origin, "xyz", 3, [0.0, 0.0, 0.0])
        spec.rpy = reader.numbers(origin, "rpy", 3, [0.0, 0.0, 0.0])
    spec.axis_element = element.find("axis")
    spec.axis = (np.array([1.0, 0.0, 0.0]) if spec.axis_element is None
                 else reader.numbers(spec.axis_element, "xyz", 3, [1.0, 0.0, 0.0]))
    limit = element.find("limit")
    lower = upper = 0.0  # the URDF specification's defaults
    spec.velocity = None  # checked (positive) only for the joints that matter, in _velocity
    if limit is not None:
        lower = float(reader.numbers(limit, "lower", 1, [0.0], finite=False)[0])
        upper = float(reader.numbers(limit, "upper", 1, [0.0], finite=False)[0])
        if "velocity" in limit.attrs:
            spec.velocity = float(reader.numbers(limit, "velocity", 1, [0.0], finite=False)[0])
    spec.limits = (lower, upper)
    spec.has_limit = limit is not None
    mimic = element.find("mimic")
    spec.mimic = None if mimic is None else (mimic.attrs.get("joint"), mimic)
    return spec


def load_urdf(path_or_xml, base_link: str | None = None, tip_link: str | None = None, *,
              zero_range: str = "lock", source: str | None = None) -> Chain:
    """The serial chain from `base_link` to `tip_link` of a URDF robot.

    Args:
        path_or_xml: a path (str or os.PathLike) to a .urdf file, or the XML text itself. A
            string that names an existing file is that file (even with '<' in its name);
            otherwise a string starting with '<' (after whitespace) is XML text.
        base_link: the chain's first link (default: the tree's root).
        tip_link: the chain's last link; its frame is the end effector (default: the single
            leaf below `base_link`; with several leaves the error lists them).
        zero_range: what to do with a revolute or prismatic joint of the chain (or a master it
            mimics) whose `<limit>` range has zero width (lower == upper, e.g. a `<limit>` without
            lower and upper, both 0 by the specification): "lock" (default) keeps it locked at
            that value and warns once (`URDFWarning`) naming every such joint; "continuous" makes
            the revolute ones continuous (prismatic ones stay locked, with the warning: a URDF
            prismatic joint is always bounded); "error" refuses the file (`URDFError` naming the
            joint and its line).
        source: the label for messages when `path_or_xml` is XML text (default "<string>"), e.g.
            the file the text was expanded from; a path is always its own label.

    Returns:
        A `kinematics.Chain` named after the robot, with one joint per revolute, continuous or
        prismatic joint on the path, base identity (poses are in `base_link`'s frame), and the
        fixed joints after the last movable one as the tool. Mimic joints on the path are
        coupled (`chain.mimic`); q's columns are `chain.joint_names`: the path's free joints,
        base to tip, then the masters off the path. `chain.planar` is True when the arm lies
        and moves in `base_link`'s xy plane (module docstring); each joint's `velocity` is its
        `<limit velocity>` (None when absent or 0).

    Warns:
        URDFWarning: joints locked by a zero range (zero_range="lock", or prismatic ones with
            "continuous"), one warning per call listing them all.

    Raises:
        URDFError (a ValueError): malformed XML, a missing or duplicate link or joint, a bad
            number, an unknown joint type, a link with two parents, a cycle, an ambiguous tip,
            a floating or planar joint on the path, a bad `<mimic>` on the path or on the
            couplings it leads through (as `load_robot_urdf`), mimic limits that no value of
            the master meets, a limit or origin beyond the bounds above, nesting deeper than
            MAX_DEPTH, a negative or NaN `<limit velocity>`, a zero range with
            zero_range="error"; the message names the file, the element and its line (or both
            joints).
        ValueError: an unknown `zero_range`.
        FileNotFoundError: the path cannot be read (or a string is neither a file nor XML).
        TypeError: `path_or_xml` is neither text nor a path, or `source` is not text.
    """
    chain, reader = _load_chain(path_or_xml, base_link, tip_link, zero_range, source)
    warn_locked(reader)
    return chain


def _load_chain(path_or_xml, base_link, tip_link, zero_range="lock", source=None):
    """load_urdf's work: (chain, reader) without the warning (`warn_locked(reader)`), so that
    callers (robots.xacro) warn at their own caller's line."""
    reader, robot, name, links, joints, by_child, children = _parse(path_or_xml, source, zero_range)
    base_link, tip_link = _ends(reader, robot, links, by_child, children, base_link, tip_link)

    path = []  # joints from base_link to tip_link
    link = tip_link
    while link != base_link:
        spec = by_child.get(link)
        if spec is None:
            raise URDFError(reader.source,
                            f"tip_link {_q(tip_link)} is not below base_link {_q(base_link)} in the tree")
        path.append(spec)
        link = spec.parent
    path.reverse()
    movable = sum(spec.type not in ("fixed", "floating", "planar") for spec in path)
    if movable > MAX_JOINTS:
        raise URDFError(reader.source, f"the path from {_q(base_link)} to {_q(tip_link)} has {movable} movable joints, "
                                f"more than the {MAX_JOINTS} a chain supports (kinematics.chain.MAX_JOINTS)")
    return _chain(reader, path, name, base_link, tip_link, joints), reader


def _parse(path_or_xml, source=None, zero_range="lock"):
    """Read and check a URDF: (reader, <robot> element, robot name, links {name: element}, joints
    {name: _JointSpec}, by_child {link: its parent joint}, children {link: child links}); the links
    form a forest (no link with two parents, no cycle). `source` labels XML text in messages."""
    if zero_range not in ZERO_RANGE_MODES:
        raise ValueError(f"zero_range must be one of {', '.join(map(repr, ZERO_RANGE_MODES))}, got {zero_range!r}")
    if source is not None and not isinstance(source, str):
        raise TypeError(f"source must be a label (str) for XML text, got {type(source).__name__}")
    data, label = _read(path_or_xml)
    if source is not None and isinstance(data, str):  # XML text (a file is read as bytes)
        label = source
    reader = _Reader(label, zero_range)
    robot = _parse_xml(data, label)
    if robot.tag != "robot":
        raise reader.error(robot, f"the root element must be <robot>, got <{robot.tag}>")
    name = robot.attrs.get("name", "urdf").strip() or "urdf"

    links = {}
    for element in robot.children:
        if element.tag == "link":
            link = reader.attr(element, "name")
            if link in links:
                raise reader.error(element, f"link {_q(link)} is defined twice (first at line {links[link].line})")
            links[link] = element
    if not links:
        raise reader.error(robot, "the robot has no <link> elements")

    joints, by_child, children = {}, {}, {link: [] for link in links}
    for element in robot.children:  # direct children only: <transmission> nests <joint> too
        if element.tag != "joint":
            continue
        spec = _read_joint(reader, element)
        if spec.name in joints:
            raise reader.error(element, f"joint {_q(spec.name)} is defined twice "
                                        f"(first at line {joints[spec.name].element.line})")
        for role, link in (("parent", spec.parent), ("child", spec.child)):
            if link not in links:
                raise reader.error(element.find(role), f"joint {_q(spec.name)} names {role} link {_q(link)}, "
                                                       "which has no <link> element")
        if spec.child in by_child:
            first = by_child[spec.child]
            raise reader.error(element, f"link {_q(spec.child)} has two parents: joint {_q(first.name)} "
                                        f"(line {first.element.line}) and joint {_q(spec.name)}")
        joints[spec.name] = spec
        by_child[spec.child] = spec
        children[spec.parent].append(spec.child)

    _check_acyclic(reader, links, by_child)
    return reader, robot, name, links, joints, by_child, children


def _check_acyclic(reader, links, by_child):
    """Every link reaches a root by walking up parents; otherwise the joints form a cycle."""
    done = set()
    for start in links:
        seen, link = {}, start  # link -> position in the walk (a dict keeps the order and finds in O(1))
        while link not in done and link in by_child:
            if link in seen:
                loop = list(seen)[seen[link]:]
                steps = (f"{_clip(by_child[k].name, 30)} (line {by_child[k].element.line})" for k in loop)
                names = _names(steps, 6, 60)
                raise reader.error(by_child[link].element, f"the joints form a cycle: {names}")
            seen[link] = len(seen)
            link = by_child[link].parent
        done.update(seen)


def _ends(reader, robot, links, by_child, children, base_link, tip_link):
    """The base and tip links: the given ones (checked) or the root and the single leaf."""
    for arg, value in (("base_link", base_link), ("tip_link", tip_link)):
        if value is not None and value not in links:
            raise URDFError(reader.source, f"{arg} {_q(value)} is not a link of robot "
                                           f"{_q(robot.attrs.get('name', ''))}; links: {_names(links)}")
    if base_link is None:
        roots = [link for link in links if link not in by_child]
        if len(roots) != 1:
            raise URDFError(reader.source, f"the links form {len(roots)} trees (roots: {_names(roots)}); "
                                           "pass base_link to choose one (armgrad: --base LINK)")
        base_link = roots[0]
    if tip_link is None:
        leaves, stack = [], [base_link]
        while stack:  # depth-first, in document order
            link = stack.pop()
            if children[link]:
                stack.extend(reversed(children[link]))
            else:
                leaves.append(link)
        if len(leaves) != 1:
            raise URDFError(reader.source, f"the tree below {_q(base_link)} has {len(leaves)} leaves "
                                           f"({_names(leaves, 12)}); pass tip_link to choose the end effector "
                                           "(armgrad: --frame LINK)")
        tip_link = leaves[0]
    return base_link, tip_link


def _chain(reader, path, name, base_link, tip_link, specs) -> Chain:
    """Movable joints with the fixed transforms folded into their origins, the rest as the tool; the
    path's mimic joints coupled to their free masters (`specs`: every joint of the file)."""
    joints, pending = [], np.eye(4)  # `pending`: fixed transforms since the last movable joint
    for spec in path:
        origin = _origin(reader, spec)
        if spec.type == "fixed":
            pending = pending @ origin
            continue
        if spec.type in ("floating", "planar"):
            raise reader.error(spec.element, f"joint {_q(spec.name)} of type {_q(spec.type)} lies on the path "
                                             f"from {_q(base_link)} to {_q(tip_link)}; only revolute, continuous, "
                                             "prismatic and fixed joints can form a serial chain")
        joints.append(_joint(reader, spec, pending @ origin))
        pending = np.eye(4)
    if not joints:
        raise URDFError(reader.source, f"no revolute, continuous or prismatic joint between {_q(base_link)} "
                                       f"and {_q(tip_link)}")
    try:
        height = plane_height(joints, tool=pending)
        chain = Chain(joints, tool=pending, name=name, planar=height is not None, plane_z=height or 0.0)
    except ValueError as err:  # the fixed joints after the last movable one add up beyond MAX_LENGTH
        raise URDFError(reader.source, f"the tool (fixed joints up to {_q(tip_link)}): {err}") from None
    mimic = _path_mimics(reader, [spec for spec in path if spec.type in _MOVABLE], specs, name)
    if not mimic:
        return chain
    on_path = {joint.name for joint in joints}
    masters = dict.fromkeys(master for master, _, _ in mimic.values() if master not in on_path)
    masters = [_joint(reader, specs[master], _origin(reader, specs[master])) for master in masters]
    try:
        return chain.replace(mimic=mimic, masters=masters)
    except ValueError as err:  # mimic limits that no value of the master meets
        raise URDFError(reader.source, f"the chain from {_q(base_link)} to {_q(tip_link)}: {err}") from None


def _joint(reader, spec, origin) -> Joint:
    """The kinematics.Joint of a movable joint spec, at `origin` (its own, or with fixed joints folded in)."""
    limits = _movable_limits(reader, spec)
    velocity = _velocity(reader, spec)
    try:
        return Joint(spec.name, type=_MOVABLE[spec.type], axis=spec.axis, origin=origin, limits=limits,
                     velocity=velocity)
    except ValueError as err:  # e.g. fixed offsets before it that add up beyond MAX_LENGTH
        raise reader.error(spec.element, str(err)) from None


def _path_mimics(reader, movable, specs, name) -> dict:
    """{mimic joint of the path: (free master, multiplier, offset)}, each resolved through its chain of
    couplings, which may leave the path; only the `<mimic>` elements on those chains are read."""
    couplings, walks = {}, []
    for spec in movable:
        if spec.mimic is None:
            continue
        walks.append(spec.name)
        while spec.mimic is not None and spec.name not in couplings:  # read each coupling once
            couplings[spec.name] = _read_mimic(reader, spec, specs)
            spec = specs[couplings[spec.name][0]]
    resolved = {}
    for joint in walks:
        try:
            resolved[joint] = resolve_mimic(f"robot {_q(name)}", joint, couplings, specs)
        except ValueError as err:  # a cycle of mimics, or a combined map beyond MAX_LIMIT
            raise reader.error(specs[joint].mimic[1], str(err)) from None
    return resolved


def _movable_limits(reader, spec):
    """A movable joint's limits, after checking its axis is nonzero and it has the <limit> it needs."""
    if not np.any(spec.axis):
        raise reader.error(spec.axis_element or spec.element, f"joint {_q(spec.name)}: the axis of a "
                                                              f"{spec.type} joint must be nonzero")
    if spec.type != "continuous" and not spec.has_limit:
        # URDF requires <limit> on revolute and prismatic joints (urdfdom refuses such files);
        # reading it as [0, 0] would lock the joint without a word.
        raise reader.error(spec.element, f"joint {_q(spec.name)}: a {spec.type} joint needs "
                                         "<limit lower=... upper=...> (use type=\"continuous\" for an "
                                         "unbounded revolute joint)")
    if spec.type == "continuous":
        return (-math.inf, math.inf)
    lower, upper = _limits(reader, spec)
    if lower != upper:
        return (lower, upper)
    return _zero_range(reader, spec)


def _zero_range(reader, spec):
    """The limits of a revolute or prismatic joint whose range has zero width, as `reader.zero_range`
    asks: kept (and recorded in reader.locked, for one warning), continuous, or an error."""
    lower, upper = spec.limits
    element = spec.element.find("limit")
    missing = [key for key in ("lower", "upper") if key not in element.attrs]
    how = f"lower={lower:g} upper={upper:g}" + (f" ({' and '.join(missing)} missing: 0 by default)" if missing else "")
    if reader.zero_range == "error":
        raise reader.error(element, f"joint {_q(spec.name)}: <limit> with {how} locks this {spec.type} joint "
                                    "(zero_range='error'); give its range, or make it type=\"continuous\" or "
                                    "\"fixed\"")
    if reader.zero_range == "continuous" and spec.type == "revolute":
        return (-math.inf, math.inf)
    reader.locked[spec.name] = spec
    return (lower, upper)


def warn_locked(reader, stacklevel=3):
    """One URDFWarning naming every joint this load left locked by a zero range (none: no warning).

    stacklevel 3: the warning points at the line that called the public loader that calls this.
    """
    if not reader.locked:
        return
    specs = list(reader.locked.values())
    names = _names((f"{spec.name} (line {spec.element.line})" for spec in specs), 8, 60)
    prismatic = all(spec.type == "prismatic" for spec in specs)
    advice = ("a URDF prismatic joint is always bounded: give its <limit> a range, or pass zero_range='error' "
              "(armgrad: --zero-range error) to refuse such files" if prismatic or reader.zero_range == "continuous"
              else "pass zero_range='continuous' to make the revolute ones continuous, or zero_range='error' to "
              "refuse the file (armgrad: --zero-range continuous|error)")

    warnings.warn(f"{reader.source}: {len(specs)} joint{'s' if len(specs) > 1 else ''} locked by a zero-width "
                  f"<limit> range (lower = upper; a missing lower or upper is 0): {names}; {advice}",
                  URDFWarning, stacklevel=stacklevel)


def _velocity(reader, spec):
    """A movable joint's `<limit velocity>` as kinematics.Joint takes it: positive and finite, or None
    when absent, 0 (what exporters write when they know none: 44 joints of 7 files in
    example-robot-data and rtb-data) or infinite (no limit either)."""
    value = spec.velocity
    if value is None or value == 0.0 or value == math.inf:
        return None
    if not value > 0.0:  # negative, -inf or NaN
        raise reader.error(spec.element.find("limit"), f"joint {_q(spec.name)}: limit velocity={value:g} must be "
                                                       "positive (or 0 or absent for no velocity limit)")
    return value


def load_robot_urdf(path_or_xml, *, zero_range: str = "lock", source: str | None = None) -> Robot:
    """The whole tree of a URDF robot as a `kinematics.Robot` (no tip chosen).

    Every link is a frame (fixed joints are kept as fixed joints, so the links they carry keep
    their names); revolute, continuous and prismatic joints are the movable ones, in document
    order (q's columns) except mimic joints: a `<mimic joint= multiplier="1" offset="0">` joint
    is coupled to its master (value = multiplier · master + offset, `Robot.mimic_names`), not in
    q, and its own limits narrow its master's (`Robot.lower`, `Robot.upper`); the root link's frame
    is the world. The same checks and messages as `load_urdf` apply to every joint of the file,
    not just to one path.

    Args:
        path_or_xml: a .urdf path or the XML text (as for `load_urdf`).
        zero_range: "lock", "continuous" or "error", as for `load_urdf`, over every revolute and
            prismatic joint of the file.
        source: the label for messages when `path_or_xml` is XML text (as for `load_urdf`).

    Returns:
        A `kinematics.Robot` named after the robot; each movable joint's `velocity` is its
        `<limit velocity>` (None when absent or 0).

    Warns:
        URDFWarning: as `load_urdf`, once per call, naming every joint locked by a zero range.

    Raises:
        URDFError (a ValueError): as `load_urdf`, plus: several root links, a floating or planar
            joint, a bad `<mimic>` (no or an unknown or fixed master joint, a non-numeric or
            too large multiplier or offset, a cycle of mimics), mimic limits that no value of the
            master meets (naming both joints).
        ValueError, FileNotFoundError, TypeError: as `load_urdf`.
    """
    robot, reader = _load_robot(path_or_xml, zero_range, source)
    warn_locked(reader)
    return robot


def _load_robot(path_or_xml, zero_range="lock", source=None):
    """load_robot_urdf's work: (robot, reader) without the warning (see `_load_chain`)."""
    reader, robot, name, links, joints, by_child, children = _parse(path_or_xml, source, zero_range)
    roots = [link for link in links if link not in by_child]
    if len(roots) != 1:
        raise URDFError(reader.source, f"the links form {len(roots)} trees (roots: {_names(roots)}); "
                                       "a robot needs a single root link")
    if not joints:
        raise URDFError(reader.source, f"robot {_q(name)} has no joints")
    movable = sum(spec.type in _MOVABLE for spec in joints.values())
    if movable > MAX_JOINTS:
        raise URDFError(reader.source, f"the robot has {movable} movable joints, more than the {MAX_JOINTS} "
                                       "supported (kinematics.chain.MAX_JOINTS)")
    tree = []
    for spec in joints.values():
        if spec.type in ("floating", "planar"):
            raise reader.error(spec.element, f"joint {_q(spec.name)} of type {_q(spec.type)}: only revolute, "
                                             "continuous, prismatic and fixed joints are supported")
        origin = _origin(reader, spec)
        mimic = None if spec.mimic is None or spec.type == "fixed" else _read_mimic(reader, spec, joints)
        if spec.type != "fixed":  # outside the try: their URDFErrors already name the element
            limits, velocity = _movable_limits(reader, spec), _velocity(reader, spec)
        try:
            if spec.type == "fixed":  # a <mimic> on a fixed joint moves nothing: ignored
                tree.append(RobotJoint(spec.name, spec.parent, spec.child, FIXED, origin))
            else:
                tree.append(RobotJoint(spec.name, spec.parent, spec.child, _MOVABLE[spec.type], origin, spec.axis,
                                       limits, mimic, velocity))
        except ValueError as err:
            raise reader.error(spec.element, str(err)) from None
    try:
        return Robot(tree, name=name), reader
    except ValueError as err:  # what only the whole tree shows (a cycle of mimics): no single element
        raise URDFError(reader.source, str(err)) from None


def _read_mimic(reader, spec, joints):
    """A movable joint's `<mimic joint= multiplier= offset=>` as (master, multiplier, offset), checked."""
    element = spec.mimic[1]
    master = reader.attr(element, "joint")
    multiplier = float(reader.numbers(element, "multiplier", 1, [1.0])[0])
    offset = float(reader.numbers(element, "offset", 1, [0.0])[0])
    other = joints.get(master)
    if other is None or other.type not in _MOVABLE:
        kind = f"unknown joint {_q(master)}" if other is None else f"joint {_q(master)} of type {_q(other.type)}"
        raise reader.error(element, f"joint {_q(spec.name)} mimics {kind}; "
                                    "the master must be a revolute, continuous or prismatic joint of the robot")
    for label, value in (("multiplier", multiplier), ("offset", offset)):
        if abs(value) > MAX_LIMIT:
            raise reader.error(element, f"joint {_q(spec.name)}: mimic {label}={value:g} exceeds {MAX_LIMIT:g} in "
                                        "magnitude (kinematics.chain.MAX_LIMIT)")
    return (master, multiplier, offset)


def _origin(reader, spec):
    """The joint's (4, 4) origin Trans(xyz) Rot(rpy) (`_pose`)."""
    if spec.origin_element is None:
        return np.eye(4)
    return _pose(reader, spec.origin_element, spec.xyz, spec.rpy, f"joint {_q(spec.name)}")


def origin_pose(reader, element, who: str):
    """The (4, 4) pose of an `<origin xyz rpy>` element (identity for None), as `_pose`; `who` names
    its owner in messages (e.g. "link 'arm'")."""
    if element is None:
        return np.eye(4)
    xyz = reader.numbers(element, "xyz", 3, [0.0, 0.0, 0.0])
    return _pose(reader, element, xyz, reader.numbers(element, "rpy", 3, [0.0, 0.0, 0.0]), who)


def _pose(reader, element, xyz, rpy, who):
    """Trans(xyz) Rot(rpy) (fixed axes: Rz(yaw) Ry(pitch) Rx(roll)); an xyz beyond MAX_LENGTH is
    refused (FK and its gradients would overflow)."""
    if np.abs(xyz).max() > MAX_LENGTH:
        raise reader.error(element, f"{who}: origin xyz={_q(element.attrs.get('xyz'))} exceeds {MAX_LENGTH:g} m "
                                    "in magnitude (kinematics.chain.MAX_LENGTH)")
    T = rpy_to_matrix(rpy) if np.any(rpy) else np.eye(4)
    T[:3, 3] = xyz  # Trans(xyz) · Rot(rpy)
    return T


def _limits(reader, spec):
    """A revolute or prismatic joint's (lower, upper): finite, within MAX_LIMIT, lower <= upper."""
    lower, upper = spec.limits
    element = spec.element.find("limit")
    if not (math.isfinite(lower) and math.isfinite(upper)):
        advice = ("use type=\"continuous\" for an unbounded revolute joint" if spec.type == "revolute"
                  else "a URDF prismatic joint is always bounded")
        raise reader.error(element, f"joint {_q(spec.name)}: limit lower={lower} upper={upper}: a {spec.type} "
                                    f"joint needs finite limits; {advice}")
    if max(abs(lower), abs(upper)) > MAX_LIMIT:
        raise reader.error(element, f"joint {_q(spec.name)}: limit lower={lower} upper={upper} exceeds "
                                    f"{MAX_LIMIT:g} in magnitude (kinematics.chain.MAX_LIMIT)")
    if lower > upper:
        raise reader.error(element, f"joint {_q(spec.name)}: limit lower={lower} is above upper={upper}")
    return (lower, upper)
