"""xacro files to URDF text (`expand_xacro`), whole trees (`load_xacro`) and chains (`load_xacro_chain`).

xacro (the ROS macro language for XML; PyPI package `xacro`, the optional extra
`pip install 'armgrad[xacro]'`) expands `<xacro:property>`, `<xacro:macro>`, `<xacro:include>`,
`${expressions}` and `$(arg name)` into plain URDF. It is imported only when a file is expanded.

Packages without ROS: `$(find pkg)` (anywhere xacro resolves substitution args: attributes,
text, include filenames) and a `package://pkg/...` include or `xacro.load_yaml` filename resolve
to a folder through, in this order,

1. `package_paths`, {package name: its folder};
2. the `ROS_PACKAGE_PATH` environment variable when set: folders separated by os.pathsep,
   earlier ones first. Each is searched as ROS 1 (rospkg) does: recursively for `package.xml`
   files, a package being the folder holding one, named by the file's `<name>` (not the folder's),
   without descending into a package, a hidden folder or a folder with `CATKIN_IGNORE` or
   `rospack_nosubdirs`. Failing that, a folder named `pkg` directly inside the entry (without a
   package.xml of another name) is the package: shipped trees such as rtb-data's carry no
   package.xml.

No ROS installation, ament index or network is used. A package found nowhere is one `XacroError`
line naming it, the file that asked for it, and what was searched. `package://` URLs in the
expanded URDF (mesh filenames) are left as they are: the loaders ignore meshes.

The hook: xacro 2.x resolves `$(find pkg)` by calling `xacro.substitution_args._eval_find(pkg)`,
a module global that `_find` looks up at each call, which imports ROS 2's `ament_index_python`.
`expand_xacro` swaps it for its own resolver, and `xacro.abs_filename_spec` (which makes include
and yaml filenames absolute, also a global looked up at each call) for one that first turns
`package://pkg/rest` into the package folder's `rest`; it restores both afterwards, even on
errors. (`substitution_args._eval_dict['find']`, the `find` of roslaunch's `$(eval find('pkg'))`,
is left alone: xacro's lexer ends `$(...)` at the first ')', so a xacro file cannot write that
call.) Nothing is hooked at import time, and no other module sees a change. xacro keeps its
state (file stack, arguments) in module globals, so expansions take one lock: they are
thread-safe but one at a time. A xacro whose module lacks these names is refused with a message
naming its version (tested with xacro 2.1.1).

Errors: xacro's own (an undefined property or argument, a bad macro call, a missing include,
malformed XML) become one `XacroError` line naming the file xacro was reading (for a missing
include, the file that includes it), the innermost macro being expanded, and the top file.
URDF errors in the expanded text are `URDFError`s labelled "<file> (expanded by xacro)": their
line numbers are the expanded text's.

Example:
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "arm.urdf.xacro").write_text('''<robot name="arm" xmlns:xacro="http://www.ros.org/wiki/xacro">
    ...   <xacro:arg name="reach" default="1.0"/>
    ...   <link name="a"/><link name="b"/><link name="c"/>
    ...   <joint name="j1" type="continuous"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/></joint>
    ...   <joint name="tip" type="fixed"><parent link="b"/><child link="c"/>
    ...     <origin xyz="$(arg reach) 0 0"/></joint>
    ... </robot>''')
    >>> arm = load_xacro_chain(folder / "arm.urdf.xacro", args={"reach": 0.5})
    >>> arm.tool[:3, 3].tolist(), arm.planar
    ([0.5, 0.0, 0.0], True)
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from xml.etree import ElementTree
from xml.parsers import expat

from kinematics import Chain, Robot

from .urdf import _load_chain, _load_robot, warn_locked

__all__ = ["expand_xacro", "load_xacro", "load_xacro_chain", "find_package", "XacroError"]

INSTALL_HINT = "pip install 'armgrad[xacro]'"
_LOCK = threading.RLock()  # xacro's state lives in module globals: one expansion at a time
_PACKAGE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")  # no separators: a name cannot climb out of a folder


class XacroError(ValueError):
    """A xacro file that cannot be expanded: one line naming the file at fault and the problem.

    Attributes:
        source: the file xacro was reading (or that asked for a package), else the top file.
        package: the package that could not be found (None for other errors).
    """

    def __init__(self, source, message, package=None):
        self.source, self.package = source, package
        super().__init__(f"{source}: {message}")


class _PackageNotFound(LookupError):
    """Raised inside xacro's call to the find hook; expand_xacro turns it into a XacroError."""

    def __init__(self, asker, message, package):
        self.asker, self.package = asker, package
        super().__init__(message)


def _import_xacro():
    """The xacro module and its substitution_args, or one ImportError line naming the extra."""
    try:
        import xacro
        from xacro import substitution_args
    except ImportError:
        raise ImportError(f"robots.expand_xacro needs the xacro package, which is not installed: {INSTALL_HINT}") \
            from None
    missing = [f"xacro.{name}" for name in ("process_file", "abs_filename_spec", "XacroException")
               if not hasattr(xacro, name)]
    if not callable(getattr(substitution_args, "_eval_find", None)):
        missing.append("xacro.substitution_args._eval_find")
    if missing:
        version = getattr(xacro, "__version__", None) or _version()
        raise ImportError(f"robots.expand_xacro: xacro {version} lacks {', '.join(missing)}, which it hooks to "
                          f"resolve $(find) without ROS (tested with xacro 2.1.1): {INSTALL_HINT}")
    return xacro, substitution_args


def _version():
    import importlib.metadata

    try:
        return importlib.metadata.version("xacro")
    except importlib.metadata.PackageNotFoundError:
        return "(unknown version)"


class _Packages:
    """Package name -> folder through package_paths, then ROS_PACKAGE_PATH (module docstring)."""

    def __init__(self, package_paths, ros_package_path):
        self.paths = _check_package_paths(package_paths)
        self.ros_package_path = ros_package_path
        self.entries = [entry for entry in (ros_package_path or "").split(os.pathsep) if entry]
        self.crawled = {}  # entry -> {package name: folder}, filled on first need

    def find(self, name, asker) -> str:
        if not isinstance(name, str) or not _PACKAGE_NAME.fullmatch(name) or name in (".", ".."):
            raise _PackageNotFound(asker, f"{name!r} is not a package name (letters, digits, _ . - only)", name)
        if name in self.paths:
            return self.paths[name]
        for entry in self.entries:
            if os.path.exists(os.path.join(entry, "CATKIN_IGNORE")):
                continue
            folder = self._crawl(entry).get(name)
            if folder is None and os.path.isdir(os.path.join(entry, name)) \
                    and _package_name(os.path.join(entry, name)) in (None, name):
                folder = os.path.join(entry, name)
            if folder is not None:
                return os.path.abspath(folder)
        keys = ", ".join(sorted(self.paths)) or "none given"
        ros = repr(self.ros_package_path) if self.ros_package_path is not None else "not set"
        raise _PackageNotFound(asker, f"package {name!r} not found: searched package_paths ({keys}) and "
                                      f"ROS_PACKAGE_PATH ({ros}); pass package_paths={{{name!r}: folder}} "
                                      f"(armgrad: --package {name}=DIR)", name)

    def _crawl(self, entry) -> dict:
        """{package name: folder} of the package.xml files under `entry`, as rospkg crawls (module docstring)."""
        if entry in self.crawled:
            return self.crawled[entry]
        found = {}
        for folder, dirs, files in os.walk(entry, followlinks=True):
            dirs.sort()  # a fixed order: the first of two same-named packages wins, on every machine
            if "CATKIN_IGNORE" in files or "rospack_nosubdirs" in files:
                dirs.clear()
                continue
            if "package.xml" in files:
                found.setdefault(_package_name(folder) or os.path.basename(folder), folder)
                dirs.clear()  # packages do not nest
                continue
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        self.crawled[entry] = found
        return found

    def resolve_url(self, spec, asker) -> str:
        """'package://pkg/rest' -> '<pkg folder>/rest'."""
        name, _, rest = spec[len("package://"):].partition("/")
        return os.path.join(self.find(name, asker), rest)


def _package_name(folder):
    """The <name> in folder/package.xml, or None without a readable one."""
    try:
        name = ElementTree.parse(os.path.join(folder, "package.xml")).getroot().findtext("name")
    except (OSError, ElementTree.ParseError):
        return None
    return name.strip() if name and name.strip() else None


def _check_package_paths(package_paths) -> dict:
    if package_paths is None:
        return {}
    if not hasattr(package_paths, "items"):
        raise TypeError(f"package_paths must be a mapping {{package name: folder}}, got {type(package_paths).__name__}")
    checked = {}
    for name, folder in package_paths.items():
        if not isinstance(name, str) or not isinstance(folder, (str, os.PathLike)):
            raise TypeError(f"package_paths: expected {{str: folder path}}, got {name!r}: {folder!r}")
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"package_paths[{name!r}]: {os.fspath(folder)!r} is not a folder")
        checked[name] = os.path.abspath(folder)
    return checked


def find_package(name: str, package_paths=None) -> str:
    """The folder of ROS package `name`, as `$(find name)` resolves it in `expand_xacro`.

    Args:
        name: a package name.
        package_paths: {package name: folder}, searched first; then ROS_PACKAGE_PATH.

    Returns:
        The package's folder (absolute).

    Raises:
        XacroError: not found (the message says what was searched).
    """
    try:
        return _Packages(package_paths, os.environ.get("ROS_PACKAGE_PATH")).find(name, "find_package")
    except _PackageNotFound as err:
        raise XacroError(err.asker, str(err), err.package) from None


def _check_args(args) -> dict:
    """xacro's `name:=value` mappings as {str: str}."""
    if args is None:
        return {}
    if not hasattr(args, "items"):
        raise TypeError(f"args must be a mapping {{name: value}} (xacro's name:=value), got {type(args).__name__}")
    checked = {}
    for name, value in args.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"args: names must be non-empty strings, got {name!r}")
        if not isinstance(value, (str, int, float, bool)):
            raise TypeError(f"args[{name!r}]: expected a string or number, got {type(value).__name__}")
        checked[name] = str(value)
    return checked


@contextlib.contextmanager
def _hooked(xacro, substitution_args, packages):
    """xacro with $(find) and package:// include filenames resolved by `packages` (module docstring)."""
    eval_find, abs_filename_spec = substitution_args._eval_find, xacro.abs_filename_spec

    def asker():  # the file being read when xacro asks: the innermost of its file stack
        stack = getattr(xacro, "filestack", None) or [None]
        return stack[-1] or "<string>"

    def find(name):
        return packages.find(name, asker())

    def absolute(spec):
        if isinstance(spec, str) and spec.startswith("package://"):
            spec = packages.resolve_url(spec, asker())
        return abs_filename_spec(spec)

    substitution_args._eval_find, xacro.abs_filename_spec = find, absolute
    try:
        yield
    finally:
        substitution_args._eval_find, xacro.abs_filename_spec = eval_find, abs_filename_spec


def expand_xacro(path, args=None, package_paths=None) -> str:
    """The URDF text a xacro file expands to.

    Args:
        path: the .xacro file (str or os.PathLike).
        args: {name: value} for the file's `<xacro:arg>`s (xacro's `name:=value`); values are
            strings or numbers (written with str()). Arguments not given take their defaults.
        package_paths: {package name: folder} for `$(find pkg)` and `package://pkg/...`; then
            ROS_PACKAGE_PATH is searched (module docstring).

    Returns:
        The expanded XML text (xacro's pretty-printed output, banner comment included).

    Raises:
        XacroError (a ValueError): xacro's errors and packages not found, in one line naming the
            file at fault.
        ImportError: the xacro package is not installed (the message names the extra).
        FileNotFoundError: `path` or a package_paths folder does not exist.
        TypeError: bad `args` or `package_paths`.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"expand_xacro: path must be a file path, got {type(path).__name__}")
    path = os.path.abspath(os.fspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"expand_xacro: no xacro file {path!r}")
    mappings = _check_args(args)
    packages = _Packages(package_paths, os.environ.get("ROS_PACKAGE_PATH"))
    xacro, substitution_args = _import_xacro()
    with _LOCK, _hooked(xacro, substitution_args, packages):
        try:
            document = xacro.process_file(path, mappings=mappings)
        except _PackageNotFound as err:  # from a package:// include filename (not wrapped by xacro)
            raise XacroError(err.asker, str(err), err.package) from None
        except Exception as err:  # xacro's command line, too, reports any exception as the file's error
            raise _xacro_error(xacro, path, err) from (None if isinstance(err, (xacro.XacroException,
                                                                                 expat.ExpatError)) else err)
        return document.toprettyxml(indent="  ")


def _xacro_error(xacro, top, err) -> XacroError:
    """One XacroError line for an exception out of xacro.process_file, read from xacro's stacks."""
    cause = err
    while cause is not None and not isinstance(cause, _PackageNotFound):  # $(find) errors come wrapped
        cause = getattr(cause, "exc", None) or cause.__cause__ or cause.__context__
    if cause is not None:
        return XacroError(cause.asker, str(cause), cause.package)
    files = [f for f in (getattr(xacro, "filestack", None) or []) if f]
    where = files[-1] if files else top
    message = " ".join(line.strip() for line in str(err).splitlines() if line.strip()) or type(err).__name__
    unread = getattr(err, "exc", None)
    if isinstance(unread, OSError) and unread.filename:  # xacro repeats the OSError's text after its own
        message = f"cannot read {unread.filename}: {unread.strerror}"
    elif isinstance(err, expat.ExpatError):
        message = f"malformed XML: {message}"
    elif not isinstance(err, xacro.XacroException):
        message = f"{type(err).__name__}: {message}"
    macros = getattr(xacro, "macrostack", None) or []
    if macros and getattr(macros[-1], "body", None) is not None:
        message += f" (in macro {macros[-1].body.getAttribute('name')!r})"
    if where != top:
        message += f" (expanding {top})"
    return XacroError(where, message)


def load_xacro(path, args=None, package_paths=None, **urdf_options) -> Robot:
    """The whole robot a xacro file describes: `expand_xacro`, then `robots.urdf.load_robot_urdf`.

    Args:
        path, args, package_paths: as for `expand_xacro`.
        **urdf_options: passed to load_robot_urdf (today `zero_range`).

    Returns:
        A `kinematics.Robot`.

    Raises:
        XacroError, ImportError, FileNotFoundError, TypeError: as `expand_xacro`.
        URDFError: the expanded URDF's errors, labelled "<path> (expanded by xacro)".

    Warns:
        URDFWarning: joints locked by a zero range (as load_robot_urdf).
    """
    text = expand_xacro(path, args, package_paths)
    robot, reader = _load_robot(text, source=_label(path), **urdf_options)
    warn_locked(reader)
    return robot


def load_xacro_chain(path, base_link: str | None = None, tip_link: str | None = None, args=None,
                     package_paths=None, *, zero_range: str = "lock") -> Chain:
    """The serial chain of a xacro robot: `expand_xacro`, then `robots.load_urdf`.

    Args:
        path, args, package_paths: as for `expand_xacro`.
        base_link, tip_link, zero_range: as for `robots.load_urdf`.

    Returns:
        A `kinematics.Chain` (planar detection, velocities and mimic joints as load_urdf).

    Raises:
        As `load_xacro`.

    Warns:
        URDFWarning: as `robots.load_urdf`.
    """
    text = expand_xacro(path, args, package_paths)
    chain, reader = _load_chain(text, base_link, tip_link, zero_range, source=_label(path))
    warn_locked(reader)
    return chain


def _label(path) -> str:
    return f"{os.fspath(path)} (expanded by xacro)"
