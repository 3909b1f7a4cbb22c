"""MuJoCo XML (MJCF) files to whole trees (`load_mjcf`), with the geoms kept as records (`read_mjcf`).

`load_mjcf` reads a MuJoCo model (a file path or the XML text itself) and returns its bodies
and hinge and slide joints as a `kinematics.Robot`, whose link poses equal MuJoCo's body poses
(`mj_kinematics`' xpos / xmat) at every qpos; `read_mjcf` also returns the geoms and the mesh
assets as records (`Geom`, `MeshAsset`: for collision shapes, ignored by the kinematics). What is
read (MuJoCo's XML reference; each rule checked against the `mujoco` package in
tests/robots/test_mjcf.py and, for meshes, tests/robots/test_geometry.py):

- links: the world body is link "world"; every `<body>` is a link of its name, and an unnamed
  body is "body<id>", id being MuJoCo's body id (depth-first document order, world = 0). Bodies
  in several `<worldbody>` sections all hang from "world";
- a body's frame is parent · Trans(pos) · Rot(orientation), the orientation given by at most one
  of `quat` (w x y z, normalised), `euler` (`<compiler eulerseq>`, default "xyz": a lowercase
  letter turns about the rotating (intrinsic) axis, an uppercase one about the fixed axis),
  `axisangle`, `xyaxes` (y made orthogonal to x) or `zaxis` (the smallest rotation taking z
  there); `<compiler angle>` ("degree", MuJoCo's default, or "radian") applies to euler,
  axisangle, hinge `range` and hinge `ref`. `<frame>` elements (pos, orientation, childclass)
  move what they hold;
- joints: `type` "hinge" (default) or "slide", `axis` (default 0 0 1, normalised), `pos` (a hinge
  turns about the line through pos, in the body frame; a slide ignores it), `ref` (the body's
  pose in the file is the pose at q = ref: the motion is by q − ref, so the constant Rot(axis,
  −ref) or Trans(−ref · axis) folds into the joint's origin and q is MuJoCo's qpos), `range`
  (hinge ranges in `angle` units, stored in rad) and `limited` ("true", "false" or "auto":
  limited when a range is given, with `<compiler autolimits="true">`, the default; as in MuJoCo
  a range with lower == upper then means no range, and with autolimits="false" a range needs
  `limited`). Unlimited joints, hinge or slide, get limits (-inf, inf) (the solver samples them
  in [−π, π] rad or m). MJCF joints carry no velocity limit (velocity None). q's columns are
  the joints in MuJoCo's order (by body id, then document order), named as in the file; an
  unnamed joint is "joint<id>" (MuJoCo's joint id);
- a body with several joints applies them in document order, each in the frame the previous
  ones moved (as MuJoCo): joint J of body B moves an intermediate link "B/J" (B's frame as moved
  by the joints up to J, placed at J's anchor: MuJoCo's xanchor), the next joint hangs from it,
  and the last joint moves B itself, through a fixed joint "B/anchor" when that joint is a hinge
  with a nonzero pos (its motion frame sits at the anchor, not at B's origin).
  A body without joints hangs from its parent by a fixed joint "B/weld";
- `<freejoint>` and free or ball joints are refused (only hinge and slide joints form a
  kinematic tree), as are the elements that make bodies at compile time (`<replicate>`,
  `<attach>`, `<composite>`, `<flexcomp>`); tendons, actuators, inertia and everything else
  are ignored (`<compiler fusestatic>` too: a jointless body stays a link);
- `<equality><joint joint1="a" joint2="b" polycoef="c0 c1 0 0 0">` (MuJoCo's coupling
  a − a₀ = c0 + c1 (b − b₀), a₀ and b₀ the joints' refs, in qpos units: polycoef is not
  scaled by `<compiler angle>`) makes joint a a mimic of b: value = c1 · b + (a₀ + c0 − c1 b₀),
  not a column of q, its own range narrowing b's (as a URDF `<mimic>`). Equalities that are not
  linear joint couplings (a nonzero c2..c4, no joint2; connect, weld, tendon, flex, distance)
  are ignored with one `MJCFWarning` naming them: the tree does not enforce them. Inactive ones
  (`active="false"`) are ignored silently;
- `<site>`s are extra frames (`Robot.frames`) on their body (an unnamed site is "site<id>",
  MuJoCo's site id); sites and geoms take their pose from pos/orientation or from `fromto`
  (capsule, cylinder, box, ellipsoid: the centre is the midpoint and z points from `to` to
  `from`, as MuJoCo). Geom records keep type, size and fromto as written and the mesh name (a
  mesh geom's pose is the file's: MuJoCo re-centres the mesh and moves the geom to match, so this
  pose places the vertices as the file gives them, `MeshAsset.place`). A geom's `mesh` must name
  a mesh asset, and a mesh geom needs one (MuJoCo's rules);
- `<asset><mesh>` elements (`MJCFModel.meshes`, `MeshAsset`): name (default: the file's base name
  without its extension), `file`, `scale` (3 numbers, default 1 1 1), a `vertex` list, legacy
  `refpos`/`refquat` (the frame the vertices are written in) and `builtin` (recorded, not made),
  through their `class` (mesh defaults; a childclass does not reach assets). The file is found
  as MuJoCo 4 finds it: under `<compiler meshdir>` (`assetdir` sets meshdir too; in document
  order, a meshdir on the same element wins), relative dirs and names from the main model file's
  folder; for a mesh in an included file, next beside that file (without meshdir); absolute
  names as they are; `strippath="true"` keeps the base name only. Mesh files are not opened
  here (`robots.geometry` reads their vertices); a mesh name defined twice is refused;
- `<default>` classes: the top `<default>` is class "main" (several top-level ones merge), a
  nested `<default class=...>` inherits its parent's attributes, an element's `class` or else
  the nearest enclosing body's or frame's `childclass` chooses its class (the body's own joints,
  sites and geoms included), and attributes written on the element win (an orientation written
  there replaces the class's, in any form). Joint, site, geom and mesh defaults are read;
- `<include file=...>` elements are replaced by the children of the included file's root
  element, anywhere in the tree. As MuJoCo 4 does, a relative file name is looked up first in
  the main model file's folder (the working directory for XML text), then in the including
  file's folder; a file included twice, or including itself through others, is refused;
- `<compiler>` elements, wherever they are, set angle, eulerseq, autolimits, meshdir (and
  assetdir) and strippath for the whole model (the last setting wins, as in MuJoCo);
  coordinate="global" is refused (MuJoCo dropped it).

Errors are `MJCFError` (a `ValueError`) naming the file (the included file, for its elements),
the element and its line, in one short line: malformed XML, a root other than `<mujoco>`, bad
numbers (count, non-numeric, non-finite), unknown joint or geom types and keywords, a zero axis
or quaternion, unknown classes, duplicate names, bad ranges, a missing or cyclic include, a geom
naming no mesh asset.
Elements nested more than `MAX_DEPTH` (500) deep in one file are refused (MuJoCo stops there too).

Example:
    >>> from kinematics import frame_poses
    >>> robot = load_mjcf('''<mujoco model="two"><worldbody>
    ...   <body name="upper"><joint name="shoulder" range="-90 90"/><geom size="0.05"/>
    ...     <body name="lower" pos="1 0 0"><joint name="elbow"/><site name="tip" pos="0.8 0 0"/></body>
    ...   </body></worldbody></mujoco>''')
    >>> robot.joint_names, robot.upper  # the range is in degrees (MJCF's default), stored in rad
    (['shoulder', 'elbow'], array([1.57079633,        inf]))
    >>> np.round(frame_poses(robot, [np.pi / 2, 0.0], ["tip"])[0, :3, 3], 12)
    array([0. , 1.8, 0. ])
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import warnings

import numpy as np

from kinematics import FIXED, PRISMATIC, REVOLUTE, Robot, RobotJoint
from kinematics.chain import MAX_JOINTS
from kinematics.transforms import unit_vector

from .xmlfile import XMLFileError, parse_xml
from .xmlfile import clip as _clip
from .xmlfile import names as _names
from .xmlfile import q as _q

__all__ = ["load_mjcf", "read_mjcf", "MJCFError", "MJCFWarning", "MJCFModel", "Geom", "MeshAsset"]

MAX_DEPTH = 500
"""Deepest element nesting accepted in one file: bodies nest, one level each (MuJoCo's own XML parser,
tinyxml2, stops just below 500 levels)."""

_JOINT_TYPES = {"hinge": REVOLUTE, "slide": PRISMATIC}
_REFUSED_JOINTS = ("free", "ball")
_GEOM_TYPES = ("plane", "hfield", "sphere", "capsule", "ellipsoid", "cylinder", "box", "mesh", "sdf")
_FROMTO_TYPES = ("capsule", "cylinder", "box", "ellipsoid")
_SITE_TYPES = ("sphere", "capsule", "ellipsoid", "cylinder", "box")
_ORIENTATIONS = ("quat", "euler", "axisangle", "xyaxes", "zaxis")
_DEFAULT_KINDS = ("joint", "site", "geom", "mesh")
# Elements that make bodies or joints when MuJoCo compiles the model: reading around them would
# give a different tree than MuJoCo's, so they are refused rather than skipped.
_UNSUPPORTED = ("replicate", "attach", "composite", "flexcomp")


class MJCFWarning(UserWarning):
    """An MJCF model that loads, but with constraints the tree does not enforce (module docstring)."""


class MJCFError(XMLFileError):
    """An MJCF file that cannot become a robot; the message names the file, element and line.

    Attributes:
        source: the file name ("<string>" for XML text; the included file for its elements).
        line: the 1-based line of the offending element (None when no element is at fault).
        element: the element's tag, e.g. "joint" (None when no element is at fault).
    """


@dataclasses.dataclass(frozen=True, eq=False)
class Geom:
    """A geom as written in the file (for collision shapes; the kinematics ignore it).

    Attributes:
        name: the geom's name, or None.
        link: the body (link name) it is attached to ("world" for the world body).
        type: MuJoCo's geom type ("sphere", the default, "capsule", "box", "mesh", ...).
        size: the numbers of `size` as written (1 to 3 of them), or () when not given.
        pose: (4, 4) the geom's frame in its body's frame (from pos/orientation or fromto).
        fromto: (6,) the two end points when given, else None.
        mesh: the `mesh` attribute (a mesh asset's name), or None.
        collides: whether MuJoCo may collide it: `contype` or `conaffinity` (after defaults; both
            1 by default) nonzero. Menagerie's visual geoms set both to 0.
    """

    name: str | None
    link: str
    type: str
    size: tuple
    pose: np.ndarray
    fromto: tuple | None = None
    mesh: str | None = None
    collides: bool = True


@dataclasses.dataclass(frozen=True, eq=False)
class MeshAsset:
    """An `<asset><mesh>` as written, its file found as MuJoCo finds it (module docstring).

    Attributes:
        name: the asset's name (default: the file's base name without its extension).
        file: the path of its file: the first of `tried` that exists, else the first of `tried`;
            None when the mesh gives no file.
        scale: (3,) the per-axis scale (after defaults).
        vertices: (N, 3) the `vertex` list as written, or None.
        refpos: (3,) and refrot: (3, 3) the frame the vertices are written in (MuJoCo's legacy
            refpos and refquat, the latter as a rotation matrix; zero and identity by default).
        builtin: the `builtin` keyword of a procedural mesh (not read here), or None.
        tried: the paths MuJoCo looks for the file at, in order (empty without a file).
        source, line: the file and line of the `<mesh>` element.
    """

    name: str
    file: str | None
    scale: np.ndarray
    vertices: np.ndarray | None = None
    refpos: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))
    refrot: np.ndarray = dataclasses.field(default_factory=lambda: np.eye(3))
    builtin: str | None = None
    tried: tuple = ()
    source: str = "<string>"
    line: int | None = None

    def place(self, vertices):
        """(N, 3) the points a mesh geom of this asset has, in the GEOM's frame as written.

        MuJoCo moves a mesh's vertices to its inertial frame when it compiles the model, and
        moves the geom by the same offset (mesh_pos, mesh_quat), so the geom's pos/orientation
        place the vertices as the file gives them: scale ⊙ (R_refᵀ (v − refpos)), checked against
        mj_kinematics in tests/robots/test_geometry.py.

        Args:
            vertices: (N, 3) the mesh's vertices as its file (or `vertex` list) gives them.
        """
        v = np.asarray(vertices, dtype=float).reshape(-1, 3)
        return ((v - self.refpos) @ self.refrot) * self.scale  # row form of R_refᵀ (v − refpos)


@dataclasses.dataclass(frozen=True, eq=False)
class MJCFModel:
    """What `read_mjcf` reads: the kinematic tree, the geoms and the mesh assets.

    Attributes:
        robot: the `kinematics.Robot` (bodies, joints, sites as frames).
        geoms: tuple of `Geom` records, in MuJoCo's order (by body, then document order).
        meshes: {name: MeshAsset} of the `<asset><mesh>` elements, in document order.
    """

    robot: Robot
    geoms: tuple
    meshes: dict = dataclasses.field(default_factory=dict)


def load_mjcf(path_or_xml) -> Robot:
    """The whole tree of a MuJoCo model as a `kinematics.Robot` (module docstring for the rules).

    Args:
        path_or_xml: a path (str or os.PathLike) to an MJCF .xml file, or the XML text itself. A
            string that names an existing file is that file; otherwise a string starting with
            '<' (after whitespace) is XML text (its includes are looked up from the working
            directory).

    Returns:
        A `kinematics.Robot` named after the model (`<mujoco model=...>`, else the file's stem,
        else "mjcf"): links "world", one per body (plus "B/J" between the joints of a body with
        several), the hinge and slide joints as q's columns, and every site as a frame.

    Warns:
        MJCFWarning: equality constraints the tree does not enforce (one warning naming them).

    Raises:
        MJCFError (a ValueError): bad input (module docstring); the message names the file, the
            element and its line.
        FileNotFoundError: the path cannot be read (or a string is neither a file nor XML).
        TypeError: `path_or_xml` is neither text nor a path.
    """
    model, warning = _read_mjcf(path_or_xml)
    if warning:
        warnings.warn(warning, MJCFWarning, stacklevel=2)
    return model.robot


def read_mjcf(path_or_xml) -> MJCFModel:
    """The robot, the geom records and the mesh assets of a MuJoCo model (arguments, warnings and
    errors as `load_mjcf`)."""
    model, warning = _read_mjcf(path_or_xml)
    if warning:
        warnings.warn(warning, MJCFWarning, stacklevel=2)
    return model


def _read_mjcf(path_or_xml):
    """(MJCFModel, the warning to give or None)."""
    data, source, folder = _read(path_or_xml)
    root = _parse_xml(data, source)
    if root.tag != "mujoco":
        raise _error(root, f"the root element must be <mujoco>, got <{_clip(root.tag)}>")
    _expand_includes(root, folder)
    name = root.attrs.get("model", "").strip()
    if not name:
        name = "mjcf" if source == "<string>" else os.path.splitext(os.path.basename(source))[0] or "mjcf"
    builder = _Builder(_compiler(root), _defaults(root), name, source)
    builder.read_meshes([element for section in root.children if section.tag == "asset"
                         for element in section.children if element.tag == "mesh"], folder)
    worlds = [element for element in root.children if element.tag == "worldbody"]
    if not worlds:
        raise MJCFError(source, "the model has no <worldbody>")
    equalities = [element for section in root.children if section.tag == "equality" for element in section.children]
    return builder.build(worlds, equalities), builder.warning


def _read(path_or_xml):
    """(data, source label, folder for includes) from a path or XML text (as `robots.urdf._read`)."""
    if not isinstance(path_or_xml, (str, os.PathLike)):
        raise TypeError(f"load_mjcf: path_or_xml must be a path or XML text, got {type(path_or_xml).__name__}")
    if isinstance(path_or_xml, str) and not os.path.isfile(path_or_xml):
        if path_or_xml.lstrip("\ufeff \t\r\n").startswith("<"):
            return path_or_xml, "<string>", os.getcwd()
    path = os.fspath(path_or_xml)
    try:
        with open(path, "rb") as f:
            return f.read(), path, os.path.dirname(os.path.abspath(path))
    except (OSError, ValueError) as err:  # ValueError: a NUL in the name
        reason = getattr(err, "strerror", None) or str(err)
        raise FileNotFoundError(f"load_mjcf: cannot read MJCF file {_clip(path, 200)!r}: {reason} "
                                "(XML text must start with '<')") from None


def _parse_xml(data, source):
    return parse_xml(data, source, MJCFError, top="mujoco", max_depth=MAX_DEPTH,
                     need="MuJoCo itself reads fewer")


def _error(element, message):
    """An MJCFError at `element`, in the file the element came from."""
    return MJCFError(element.source, message, element)


# -- includes -----------------------------------------------------------------------------------

def _expand_includes(root, folder):
    """Replace every <include file=...> (anywhere, in included files too) by the children of the
    included file's root element, in place; `folder` is the main file's folder."""
    first = {}  # real path -> the <include> that read it
    main = None if root.source == "<string>" else os.path.realpath(root.source)
    stack = [(root, (main,))]  # (element, the files it sits in: main file first)
    while stack:
        element, files = stack.pop()
        queue, children = collections.deque((child, files) for child in element.children), []
        while queue:
            child, inside = queue.popleft()
            if child.tag != "include":
                children.append(child)
                stack.append((child, inside))
                continue
            real, sub = _include(child, folder, inside, first)
            for grandchild in sub.children:
                grandchild.parent = element
            # the included elements take the <include>'s place, and may hold includes themselves
            queue.extendleft((grandchild, inside + (real,)) for grandchild in reversed(sub.children))
        element.children = children


def _include(element, folder, inside, first):
    """(real path, root element) of the file an <include> names, read and parsed."""
    name = element.attrs.get("file", "").strip()
    if not name:
        raise _error(element, "missing attribute 'file'")
    here = folder if element.source == "<string>" else os.path.dirname(os.path.abspath(element.source))
    # MuJoCo 4 looks in the main model's folder first, then beside the including file.
    tried = [name] if os.path.isabs(name) else list(dict.fromkeys([os.path.join(folder, name),
                                                                  os.path.join(here, name)]))
    path = next((p for p in tried if os.path.isfile(p)), None)
    if path is None:
        raise _error(element, f"include file {_q(name)} not found (looked for {_names(tried, 2, 100)})")
    real = os.path.realpath(path)
    if real in inside:
        loop = [os.path.basename(f) for f in inside[inside.index(real):] if f is not None]
        raise _error(element, f"include cycle: {' -> '.join(_clip(f) for f in loop + [os.path.basename(real)])}")
    if real in first:
        other = first[real]
        raise _error(element, f"file {_q(name)} is already included ({_clip(other.source, 80)}, line {other.line}); "
                              "MuJoCo includes each file once")
    first[real] = element
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise _error(element, f"cannot read include file {_q(name)}: {err.strerror}") from None
    return real, _parse_xml(data, path)


# -- numbers, compiler and defaults -------------------------------------------------------------

def _numbers(element, key, text, counts):
    """The floats of attribute `key` (text as written on `element`), whose count must be in `counts`."""
    parts = text.split()
    try:
        # float() takes '1_0' too; MuJoCo does not, so neither does this reader
        values = [float(p) for p in parts if "_" not in p]
    except ValueError:
        values = None
    want = " or ".join(str(c) for c in counts) if len(counts) < 3 else f"{counts[0]} to {counts[-1]}"
    if values is None or len(values) < len(parts):
        raise _error(element, f"attribute {key}={_q(text)}: expected {want} numbers")
    if len(values) not in counts:
        raise _error(element, f"attribute {key}={_q(text)}: expected {want} numbers, got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise _error(element, f"attribute {key}={_q(text)}: expected finite numbers")
    return np.array(values)


def _keyword(element, key, text, allowed):
    """`text`, one of `allowed` (exactly: MuJoCo's keywords are case-sensitive)."""
    if text not in allowed:
        raise _error(element, f"attribute {key}={_q(text)}: expected one of {', '.join(allowed)}")
    return text


@dataclasses.dataclass
class _Compiler:
    degree: bool = True
    eulerseq: tuple = ("xyz", None)  # (sequence, the <compiler> element that set it)
    autolimits: bool = True
    meshdir: str = ""  # where mesh files are looked for (assetdir sets it too)
    strippath: bool = False


def _compiler(root) -> _Compiler:
    """The <compiler> settings that shape the kinematics and find mesh files; the last setting of
    each wins (MuJoCo)."""
    compiler = _Compiler()
    for element in root.children:
        if element.tag != "compiler":
            continue
        attrs = element.attrs
        if "angle" in attrs:
            compiler.degree = _keyword(element, "angle", attrs["angle"], ("degree", "radian")) == "degree"
        if "autolimits" in attrs:
            compiler.autolimits = _keyword(element, "autolimits", attrs["autolimits"], ("true", "false")) == "true"
        if "eulerseq" in attrs:
            compiler.eulerseq = (attrs["eulerseq"], element)  # checked where an euler uses it, as MuJoCo
        # assetdir sets meshdir too; a meshdir on the same element wins (MuJoCo 4, in document order)
        for key in ("assetdir", "meshdir"):
            if key in attrs:
                compiler.meshdir = attrs[key].strip()
        if "strippath" in attrs:
            compiler.strippath = _keyword(element, "strippath", attrs["strippath"], ("true", "false")) == "true"
        if "coordinate" in attrs and _keyword(element, "coordinate", attrs["coordinate"],
                                              ("local", "global")) == "global":
            raise _error(element, "coordinate=\"global\" is not supported (MuJoCo dropped it in 2.3.3); "
                                  "positions and orientations are relative to the parent body")
    return compiler


def _merge(attrs, element):
    """Class attributes {key: (text, element)} updated by `element`'s own attributes; an orientation
    written on the element replaces the inherited one, whatever form either takes."""
    own = {key: (text, element) for key, text in element.attrs.items() if key not in ("class", "name")}
    if any(key in own for key in _ORIENTATIONS):
        attrs = {key: value for key, value in attrs.items() if key not in _ORIENTATIONS}
    return {**attrs, **own}


def _defaults(root) -> dict:
    """{class name: {element kind: {attribute: (text, element where written)}}}; "main" is the top class."""
    classes = {"main": {kind: {} for kind in _DEFAULT_KINDS}}
    where = {"main": None}
    for top in root.children:  # several top-level <default>s all add to "main", in document order
        if top.tag != "default":
            continue
        name = top.attrs.get("class", "main")
        if name != "main":
            raise _error(top, f"the top-level <default> is class 'main' and cannot be renamed (got {_q(name)})")
        _read_classes(top, classes, where)
    return classes


def _read_classes(top, classes, where):
    """Add the classes of one top-level <default> (class "main") to `classes` ({name: {kind: attrs}},
    `where` {name: its <default> element}); a nested class starts from its parent's attributes."""
    stack = [(top, "main")]
    while stack:
        element, name = stack.pop()
        nested = []
        for child in element.children:  # the class's own elements first, then the nested classes
            if child.tag in _DEFAULT_KINDS:
                classes[name][child.tag] = _merge(classes[name][child.tag], child)
            elif child.tag == "default":
                nested.append(child)
        for child in nested:
            sub = child.attrs.get("class", "").strip()
            if not sub:
                raise _error(child, "a nested <default> needs a class attribute")
            if sub in classes:
                first = where[sub]
                at = "is the top-level class" if first is None else f"is defined at line {first.line}"
                raise _error(child, f"default class {_q(sub)} {at}")
            classes[sub] = {kind: dict(attrs) for kind, attrs in classes[name].items()}
            where[sub] = child
            stack.append((child, sub))


# -- rotations ----------------------------------------------------------------------------------

def _quat_matrix(w, x, y, z):
    """(3, 3) rotation of the unit quaternion (w, x, y, z)."""
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def _axis_angle(axis, angle):
    """(3, 3) rotation by `angle` about the unit vector `axis`: I + sin(a) K + (1 − cos(a)) K² (Rodrigues).

    Plain numpy on floats: `kinematics.transforms.rot_axis` also takes Tensors and batches, which
    costs 50 times more per call, and a long chain needs a few per body.
    """
    x, y, z = axis
    K = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + math.sin(angle) * K + (1.0 - math.cos(angle)) * (K @ K)


def _rigid(R=None, p=None):
    """(4, 4) [R p; 0 1] (identity parts where None)."""
    T = np.eye(4)
    if R is not None:
        T[:3, :3] = R
    if p is not None:
        T[:3, 3] = p
    return T


def _z_to(v):
    """(3, 3) the smallest rotation taking z to the unit vector v (MuJoCo's z2quat: about x when v = ±z)."""
    axis = np.cross([0.0, 0.0, 1.0], v)
    s = np.linalg.norm(axis)
    axis = np.array([1.0, 0.0, 0.0]) if s < 1e-10 else axis / s
    return _axis_angle(axis, math.atan2(s, v[2]))


_BASIS = {"x": [1.0, 0.0, 0.0], "y": [0.0, 1.0, 0.0], "z": [0.0, 0.0, 1.0]}


class _Builder:
    """Walks the bodies once, in MuJoCo's order, and makes the joints, frames and geoms."""

    def __init__(self, compiler, classes, name, source):
        self.compiler, self.classes, self.name, self.source = compiler, classes, name, source
        self.to_rad = math.pi / 180.0 if compiler.degree else 1.0
        self.bodies = {"world": None}  # body name -> its element (None: the world)
        self.joint_elements = {}  # MJCF joint name -> element
        self.sites = {}  # site name -> element
        self.geom_names = {}
        self.meshes = {}  # mesh asset name -> MeshAsset
        self.joints, self.frames, self.geoms = [], {}, []
        self.joint_sources = []  # the element each RobotJoint comes from
        self.refs = {}  # MJCF joint name -> ref (rad or m): its qpos0
        self.warning = None  # what `couple` could not enforce, for the caller to warn about
        self.movable = 0

    # ---- attributes through classes

    def attributes(self, element, childclass):
        """{key: (text, element where written)} of a joint, site or geom after its class."""
        name = element.attrs.get("class")
        if name is None:
            name = childclass or "main"
        if name not in self.classes:
            raise _error(element, f"unknown default class {_q(name)}; classes: {_names(self.classes)}")
        return _merge(self.classes[name][element.tag], element)

    def numbers(self, attrs, key, counts, default=None):
        if key not in attrs:
            return None if default is None else np.array(default, dtype=float)
        text, element = attrs[key]
        return _numbers(element, key, text, counts)

    # ---- poses

    def rotation(self, attrs, owner):
        """(3, 3) rotation from at most one orientation attribute of `attrs` (identity for none)."""
        given = [key for key in _ORIENTATIONS if key in attrs]
        if len(given) > 1:
            raise _error(owner, f"several orientations given ({', '.join(given)}); MuJoCo allows one")
        if not given:
            return np.eye(3)
        key = given[0]
        text, element = attrs[key]
        if key == "quat":
            quat = _numbers(element, key, text, (4,))
            scale = np.abs(quat).max()
            if scale == 0.0:
                raise _error(element, f"attribute quat={_q(text)}: a zero quaternion is no rotation")
            quat = quat / scale
            return _quat_matrix(*(quat / np.linalg.norm(quat)))
        if key == "euler":
            angles = _numbers(element, key, text, (3,)) * self.to_rad
            sequence, where = self.compiler.eulerseq
            if len(sequence) != 3 or any(c not in "xyzXYZ" for c in sequence):
                raise _error(where or element, f"eulerseq={_q(sequence)} (used by {element.describe()}, line "
                                               f"{element.line}): expected 3 letters of x, y, z, X, Y, Z")
            R = np.eye(3)
            for letter, angle in zip(sequence, angles):
                step = _axis_angle(_BASIS[letter.lower()], angle)
                # lowercase: about the axis as already turned (intrinsic); uppercase: the fixed axis
                R = R @ step if letter.islower() else step @ R
            return R
        if key == "axisangle":
            values = _numbers(element, key, text, (4,))
            axis = unit_vector(values[:3])
            if axis is None:
                raise _error(element, f"attribute axisangle={_q(text)}: the axis must be nonzero")
            return _axis_angle(axis, values[3] * self.to_rad)
        if key == "xyaxes":
            values = _numbers(element, key, text, (6,))
            x = unit_vector(values[:3])
            y = None if x is None else unit_vector(values[3:] - (values[3:] @ x) * x)
            if x is None or y is None:
                raise _error(element, f"attribute xyaxes={_q(text)}: x must be nonzero and y not parallel to it")
            return np.column_stack([x, y, np.cross(x, y)])
        z = unit_vector(_numbers(element, key, text, (3,)))
        if z is None:
            raise _error(element, f"attribute zaxis={_q(text)}: the z axis must be nonzero")
        return _z_to(z)

    def pose(self, attrs, owner, fromto_types=None):
        """(4, 4) Trans(pos) · Rot(orientation), or the fromto frame for the types that allow it."""
        T = np.eye(4)
        if fromto_types is not None and "fromto" in attrs:
            text, element = attrs["fromto"]
            kind = attrs.get("type", ("sphere", None))[0]
            if kind not in fromto_types:
                raise _error(element, f"fromto needs type {', '.join(fromto_types)}, not {_q(kind)}")
            if "pos" in attrs:
                raise _error(owner, "both pos and fromto are given; MuJoCo allows one")
            ends = _numbers(element, "fromto", text, (6,))
            z = unit_vector(ends[:3] - ends[3:])  # z points from `to` to `from`, as in MuJoCo
            if z is None:
                raise _error(element, f"attribute fromto={_q(text)}: the two points coincide")
            T[:3, :3] = _z_to(z)
            T[:3, 3] = 0.5 * (ends[:3] + ends[3:])
            return T
        T[:3, :3] = self.rotation(attrs, owner)
        T[:3, 3] = self.numbers(attrs, "pos", (3,), [0.0, 0.0, 0.0])
        return T

    # ---- the walk

    def contents(self, body, childclass):
        """(element, (4, 4) frame offset in the body, childclass) for what `body` holds, in document
        order, looking through <frame>s (which move and may re-class what they hold)."""
        stack = [(child, np.eye(4), childclass) for child in reversed(body.children)]
        while stack:
            element, F, cls = stack.pop()
            if element.tag == "frame":
                own = self.childclass(element, cls)
                offset = F @ self.pose({k: (v, element) for k, v in element.attrs.items()}, element)
                stack.extend((child, offset, own) for child in reversed(element.children))
            elif element.tag in _UNSUPPORTED:
                raise _error(element, f"<{element.tag}> is not supported (it makes bodies when MuJoCo "
                                      "compiles the model); expand it into <body> elements")
            else:
                yield element, F, cls

    def childclass(self, element, inherited):
        name = element.attrs.get("childclass")
        if name is None:
            return inherited
        if name not in self.classes:
            raise _error(element, f"unknown childclass {_q(name)}; classes: {_names(self.classes)}")
        return name

    def register(self, table, kind, name, element):
        if name in table:
            first = table[name]
            where = ("the world body" if first is None else f"line {first.line}" if first.attrs.get("name")
                     else f"the unnamed {first.tag} at line {first.line}, called after its MuJoCo id")
            raise _error(element, f"{kind} {_q(name)} is defined twice (first: {where})")
        table[name] = element

    def build(self, worlds, equalities=()) -> MJCFModel:
        world_items = [item for world in worlds for item in self.contents(world, None)]
        pending = []  # (body element, parent link, offset in the parent, childclass), next first
        for element, F, cls in world_items:
            if element.tag in ("joint", "freejoint"):
                raise _error(element, "the world body cannot have joints")
            self.item(element, F, cls, "world", pending)
        pending.reverse()
        body_id = 0
        while pending:
            element, parent, F, cls = pending.pop()
            body_id += 1
            name = element.attrs.get("name") or f"body{body_id}"
            self.register(self.bodies, "body", name, element)
            cls = self.childclass(element, cls)
            offset = F @ self.pose({k: (v, element) for k, v in element.attrs.items()}, element)
            children, joints = [], []
            for item, G, item_cls in self.contents(element, cls):
                if item.tag in ("joint", "freejoint"):
                    joints.append((item, G, item_cls))
                else:
                    self.item(item, G, item_cls, name, children)
            self.attach(element, name, parent, offset, joints)
            pending.extend(reversed(children))
        self.check_names()
        self.couple(equalities)
        if not self.joints:
            raise MJCFError(self.source, "the model has no bodies (a robot needs at least one joint)")
        if self.movable > MAX_JOINTS:
            raise MJCFError(self.source, f"the model has {self.movable} joints, more than the {MAX_JOINTS} "
                                         "supported (kinematics.chain.MAX_JOINTS)")
        try:
            robot = Robot(self.joints, frames=self.frames, name=self.name)
        except ValueError as err:  # what only the whole tree shows (more than MAX_JOINTS joints in all)
            raise MJCFError(self.source, str(err)) from None
        return MJCFModel(robot, tuple(self.geoms), dict(self.meshes))

    def item(self, element, F, cls, link, children):
        """A body's (or the world's) direct item other than a joint: a child body, site or geom."""
        if element.tag == "body":
            children.append((element, link, F, cls))
        elif element.tag == "site":
            attrs = self.attributes(element, cls)
            name = element.attrs.get("name") or f"site{len(self.sites)}"
            self.register(self.sites, "site", name, element)
            if "type" in attrs:
                _keyword(attrs["type"][1], "type", attrs["type"][0], _SITE_TYPES)
            self.frames[name] = (link, F @ self.pose(attrs, element, _FROMTO_TYPES))
        elif element.tag == "geom":
            self.geom(element, F, cls, link)

    def geom(self, element, F, cls, link):
        attrs = self.attributes(element, cls)
        name = element.attrs.get("name")
        if name:
            self.register(self.geom_names, "geom", name, element)
        kind = attrs["type"][0] if "type" in attrs else "sphere"
        _keyword(attrs["type"][1] if "type" in attrs else element, "type", kind, _GEOM_TYPES)
        size = self.numbers(attrs, "size", (1, 2, 3))
        fromto = self.numbers(attrs, "fromto", (6,))
        pose = F @ self.pose(attrs, element, _FROMTO_TYPES)
        mesh = attrs["mesh"][0] if "mesh" in attrs else None
        if (mesh is not None or kind == "mesh") and mesh not in self.meshes:  # MuJoCo refuses both
            label = f"geom {_q(name)}" if name else f"the {kind} geom"
            raise _error(element, f"{label}: no mesh asset named {_q(mesh)}; meshes: {_names(self.meshes)}"
                         if mesh is not None else f"{label} needs a mesh attribute (a mesh asset's name)")
        contype, conaffinity = (self.numbers(attrs, key, (1,), [1.0])[0] for key in ("contype", "conaffinity"))
        self.geoms.append(Geom(name or None, link, kind, () if size is None else tuple(size), pose,
                               None if fromto is None else tuple(fromto), mesh, bool(contype or conaffinity)))

    # ---- mesh assets

    def read_meshes(self, elements, folder):
        """Fill self.meshes from the <asset><mesh> elements; `folder` is the main file's folder."""
        first = {}
        for element in elements:
            attrs = self.attributes(element, None)  # a mesh takes its class, never a childclass
            file = attrs["file"][0].strip() if "file" in attrs else None
            name = element.attrs.get("name", "").strip()
            if not name and file:
                name = os.path.splitext(os.path.basename(file.replace("\\", "/")))[0]
            if not name:
                continue  # MuJoCo refuses a mesh without a name; no geom could name it here
            if name in first:
                raise _error(element, f"mesh {_q(name)} is defined twice (first: {_clip(first[name].source, 80)}, "
                                      f"line {first[name].line})")
            first[name] = element
            vertices = None
            if "vertex" in attrs:
                text, where = attrs["vertex"]
                vertices = _numbers(where, "vertex", text, (len(text.split()),))
                if len(vertices) == 0 or len(vertices) % 3:
                    raise _error(where, f"attribute vertex: expected a multiple of 3 numbers, got {len(vertices)}")
                vertices = vertices.reshape(-1, 3)
            refquat = self.numbers(attrs, "refquat", (4,), [1.0, 0.0, 0.0, 0.0])
            if not np.any(refquat):
                raise _error(attrs["refquat"][1], "attribute refquat: a zero quaternion is no rotation")
            refquat = refquat / np.abs(refquat).max()  # as for quat: no overflow in the norm
            tried = () if file is None else self.mesh_paths(file, element, folder)
            self.meshes[name] = MeshAsset(
                name, next((p for p in tried if os.path.isfile(p)), tried[0]) if tried else None,
                self.numbers(attrs, "scale", (3,), [1.0, 1.0, 1.0]), vertices,
                self.numbers(attrs, "refpos", (3,), [0.0, 0.0, 0.0]),
                _quat_matrix(*(refquat / np.linalg.norm(refquat))),
                attrs["builtin"][0].strip() if "builtin" in attrs else None, tried, element.source, element.line)

    def mesh_paths(self, file, element, folder):
        """The paths MuJoCo 4 tries for a mesh file, in order (checked with the mujoco package): the
        name under meshdir (relative ones from the main file's folder), then, for a mesh in an
        included file, the name beside that file; strippath keeps only the base name (and makes
        no second try)."""
        if self.compiler.strippath:
            file = os.path.basename(file.replace("\\", "/"))
        if os.path.isabs(file):
            return (file,)
        meshdir = os.path.join(folder, self.compiler.meshdir)  # an absolute meshdir stays as it is
        tried = [os.path.normpath(os.path.join(meshdir, file))]
        if element.source not in (self.source, "<string>") and not self.compiler.strippath:
            tried.append(os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(element.source)), file)))
        return tuple(dict.fromkeys(tried))

    # ---- joints

    def attach(self, body, name, parent, offset, joints):
        """The RobotJoints that hang body `name` from link `parent` (module docstring)."""
        if not joints:
            self.add(body, f"{name}/weld", parent, name, FIXED, offset)
            return
        pending, link = offset, parent  # `pending`: constant transform since the last motion
        for k, (element, G, cls) in enumerate(joints):
            joint, kind, axis, anchor, ref, limits = self.joint(element, G, cls, name)
            last = k == len(joints) - 1
            # Trans(p) · M(q − ref) · Trans(−p), with M(q − ref) = M(−ref) · M(q); a slide ignores p
            origin = pending @ _rigid(p=anchor) @ (_rigid(R=_axis_angle(axis, -ref)) if kind == REVOLUTE
                                                   else _rigid(p=-ref * axis))
            child = name if last and not anchor.any() else f"{name}/{joint}"
            self.add(element, joint, link, child, kind, origin, axis, limits)
            self.movable += 1
            pending, link = _rigid(p=-anchor), child
        if link != name:
            self.add(body, f"{name}/anchor", link, name, FIXED, pending)

    def add(self, element, *args):
        try:
            self.joints.append(RobotJoint(*args))
        except ValueError as err:  # e.g. an offset beyond MAX_LENGTH, a range beyond MAX_LIMIT
            raise _error(element, str(err)) from None
        self.joint_sources.append(element)

    def joint(self, element, G, cls, body):
        """(name, type, unit axis, anchor, ref, limits) of a hinge or slide joint, in the body frame."""
        if element.tag == "freejoint":
            raise _error(element, f"a free joint (in body {_q(body)}): only hinge and slide joints form a "
                                  "kinematic tree")
        attrs = self.attributes(element, cls)
        kind = attrs["type"][0] if "type" in attrs else "hinge"
        if kind in _REFUSED_JOINTS:  # the joint itself is at fault, even when its class says type="ball"
            raise _error(element, f"a {kind} joint (in body {_q(body)}): only hinge and slide joints form a "
                                  "kinematic tree")
        _keyword(attrs["type"][1] if "type" in attrs else element, "type", kind, ("hinge", "slide", "ball", "free"))
        name = element.attrs.get("name") or f"joint{len(self.joint_elements)}"
        self.register(self.joint_elements, "joint", name, element)
        axis = unit_vector(G[:3, :3] @ self.numbers(attrs, "axis", (3,), [0.0, 0.0, 1.0]))
        if axis is None:
            raise _error(attrs["axis"][1], f"joint {_q(name)}: the axis of a {kind} joint must be nonzero")
        anchor = G[:3, :3] @ self.numbers(attrs, "pos", (3,), [0.0, 0.0, 0.0]) + G[:3, 3]
        if kind == "slide":
            anchor = np.zeros(3)  # a slide moves the body the same wherever its anchor is
        scale = self.to_rad if kind == "hinge" else 1.0
        ref = float(self.numbers(attrs, "ref", (1,), [0.0])[0]) * scale
        self.refs[name] = ref
        return name, _JOINT_TYPES[kind], axis, anchor, ref, self.limits(attrs, element, name, scale)

    def limits(self, attrs, element, name, scale):
        """(lower, upper) in rad or m: MuJoCo's range when the joint is limited, else (-inf, inf)."""
        limited = _keyword(attrs["limited"][1], "limited", attrs["limited"][0],
                           ("true", "false", "auto")) if "limited" in attrs else "auto"
        if "range" not in attrs:
            if limited == "true":
                raise _error(attrs["limited"][1], f"joint {_q(name)}: limited=\"true\" needs a range")
            return (-math.inf, math.inf)
        text, where = attrs["range"]
        lower, upper = _numbers(where, "range", text, (2,)) * scale
        if lower > upper:
            raise _error(where, f"joint {_q(name)}: range lower {lower:g} is above upper {upper:g}")
        if limited == "auto" and not self.compiler.autolimits:
            raise _error(element, f"joint {_q(name)} has a range but no limited attribute, and "
                                  "<compiler autolimits=\"false\">; say limited=\"true\" or \"false\"")
        if limited == "false" or (limited == "auto" and lower == upper):
            return (-math.inf, math.inf)  # MuJoCo: an empty range with limited auto is no range
        if lower == upper:
            raise _error(where, f"joint {_q(name)}: limited=\"true\" needs range lower < upper (MuJoCo's rule)")
        return (lower, upper)

    def couple(self, equalities):
        """Linear joint equalities as mimic couplings of self.joints (module docstring); one warning
        for the equalities the tree cannot enforce."""
        ignored, coupled = [], {}
        for element in equalities:
            if element.attrs.get("active", "true").strip() == "false":
                continue
            label = f"{element.tag} {_q(element.attrs['name'])}" if element.attrs.get("name") else f"<{element.tag}>"
            where = f"{label} (line {element.line})"
            if element.tag != "joint":
                ignored.append(where)
                continue
            follower = element.attrs.get("joint1", "").strip()
            leader = element.attrs.get("joint2", "").strip()
            for key, joint in (("joint1", follower), ("joint2", leader)):
                if joint and joint not in self.refs:
                    raise _error(element, f"{key}={_q(joint)} is not a hinge or slide joint of the model")
            if not follower:
                raise _error(element, "a joint equality needs joint1")
            c = _numbers(element, "polycoef", element.attrs.get("polycoef", "0 1 0 0 0"), (5,))
            if not leader or np.any(c[2:]):
                ignored.append(where + (": no joint2" if not leader else ": not linear"))
                continue
            if follower == leader:
                raise _error(element, f"joint {_q(follower)} is coupled to itself")
            if follower in coupled:
                raise _error(element, f"joint {_q(follower)} is coupled twice (first at line {coupled[follower].line})")
            coupled[follower] = element
            mimic = (leader, float(c[1]), self.refs[follower] + float(c[0]) - float(c[1]) * self.refs[leader])
            k = next(i for i, j in enumerate(self.joints) if j.name == follower)
            try:
                self.joints[k] = dataclasses.replace(self.joints[k], mimic=mimic)
            except ValueError as err:  # e.g. a multiplier beyond MAX_LIMIT
                raise _error(element, str(err)) from None
        if ignored:
            self.warning = (f"{self.source}: {len(ignored)} equality constraint{'s' if len(ignored) > 1 else ''} "
                            f"ignored (the tree enforces only linear joint couplings, as mimic joints): "
                            f"{_names(ignored, 6, 80)}")

    def check_names(self):
        """Links, joints and frames share armgrad's namespaces: the names made here must not clash."""
        links, joints = {"world": None}, {}
        for joint, element in zip(self.joints, self.joint_sources):
            for table, key, kind in ((links, joint.child, "link"), (joints, joint.name, "joint")):
                if key in table:
                    first = table[key]
                    at = "" if first is None else f" (also made at line {first.line})"
                    raise _error(element, f"{kind} name {_q(key)} is made twice{at}: a generated name ('B/J', "
                                          "'B/weld', 'B/anchor', 'body<id>', ...) clashes with a name of the file; "
                                          "rename one")
                table[key] = element
        for site, element in self.sites.items():
            if site in links:
                # MuJoCo keeps bodies and sites apart; a Robot's frames are one namespace, and
                # renaming the site would leave frame_poses(name) silently meaning the body.
                what = "body" if site in self.bodies else "link"
                raise _error(element, f"site {_q(site)} has the name of {what} {_q(site)}; MuJoCo allows that, "
                                      "but armgrad's frames share one namespace with the links: rename the site")
