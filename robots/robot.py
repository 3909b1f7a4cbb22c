"""Robot description files to whole trees (`kinematics.Robot`), whatever the format."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import pathlib
import site
import sys
from xml.parsers import expat

from kinematics import Robot

from .armfile import load
from .urdf import load_robot_urdf

__all__ = ["load_robot", "description_kind", "example_robot_data"]


def load_robot(path, package_paths=None, *, args=None, **options) -> Robot:
    """The whole robot described by a file, as a `kinematics.Robot`.

    The reader is chosen by `description_kind`: `.urdf` (and `.xml` with a `<robot>` root) by
    `robots.urdf.load_robot_urdf` (every link a frame), `.xml` with a `<mujoco>` root by
    `robots.load_mjcf` (bodies and sites), `.xacro` by `robots.load_xacro` (expanded with the
    `xacro` package, the `armgrad[xacro]` extra), `.toml` by `robots.load` as
    `Robot.from_chain` (frames "base", one per joint, and "tool"). URDF text starting with '<'
    works too.

    Args:
        path: the description file (str or os.PathLike), or URDF text.
        package_paths: xacro only: {package: folder} for `$(find pkg)` and `package://pkg/`
            (searched before ROS_PACKAGE_PATH).
        args: xacro only: {name: value}, the file's xacro arguments.
        **options: passed to the URDF reader (URDF and xacro files), e.g. zero_range=...

    Returns:
        A `kinematics.Robot`.

    Raises:
        ValueError: an unknown extension or `.xml` root element (the message lists the known
            ones), options that do not apply to the file's kind, or the reader's own errors
            (URDFError, MJCFError, XacroError, ArmFileError: ValueErrors naming file and element).
        FileNotFoundError: the file cannot be read.
        TypeError: path is neither text nor a path.
    """
    if isinstance(path, str) and path.lstrip("\ufeff \t\r\n").startswith("<") and not os.path.isfile(path):
        kind = "urdf"
    else:
        kind = description_kind(path)
    given = [name for name, value in (("package_paths", package_paths), ("args", args)) if value]
    if given and kind != "xacro":
        raise ValueError(f"load_robot: {', '.join(given)} apply to .xacro files only, not to a {kind} description")
    if options and kind not in ("urdf", "xacro"):
        raise ValueError(f"load_robot: {', '.join(options)} apply to URDF and xacro files only, "
                         f"not to a {kind} description")
    if kind == "urdf":
        return load_robot_urdf(path, **options)
    if kind == "mjcf":
        from .mjcf import load_mjcf
        return load_mjcf(path)
    if kind == "xacro":
        from .xacro import load_xacro
        return load_xacro(path, args=args, package_paths=package_paths, **options)
    return Robot.from_chain(load(path))


KINDS = {".urdf": "urdf", ".xacro": "xacro", ".toml": "toml"}
"""Description files by extension; `.xml` is "urdf" or "mjcf" by its root element."""


def description_kind(path) -> str:
    """"urdf", "mjcf", "xacro" or "toml": the kind of a description file, by its extension, and for
    `.xml` by its root element (`<robot>`: URDF, `<mujoco>`: MJCF; the file is read up to it).

    Raises:
        ValueError: an unknown extension or root element (the message lists the known ones).
        FileNotFoundError: an `.xml` file that cannot be read.
        TypeError: path is neither text nor a path.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_robot: path must be a file path, got {type(path).__name__}")
    name = os.fspath(path)
    extension = os.path.splitext(name)[1].lower()
    if extension in KINDS:
        return KINDS[extension]
    if extension != ".xml":
        raise ValueError(f"load_robot: {name[-200:]!r}: unknown extension {extension!r}; expected "
                         f"{', '.join(KINDS)} or .xml (URDF or MJCF)")
    root = _root_element(name)
    if root not in ("robot", "mujoco"):
        raise ValueError(f"load_robot: {name[-200:]!r}: an .xml description must have a <robot> (URDF) or "
                         f"<mujoco> (MJCF) root element, got {'no element' if root is None else f'<{root[:40]}>'}")
    return "urdf" if root == "robot" else "mjcf"


class _Found(Exception):
    """Stops the parser at the first element."""


def _root_element(path: str):
    """The tag of a file's first element (None when it has none), parsing no further than it."""
    try:
        with open(path, "rb") as f:
            return root_tag(f)
    except (OSError, ValueError) as err:  # ValueError: a NUL in the name
        reason = getattr(err, "strerror", None) or str(err)
        raise FileNotFoundError(f"load_robot: cannot read {path[-200:]!r}: {reason}") from None


def root_tag(source):
    """The tag of the first element of XML text, bytes or a binary file (None when there is none or
    the XML breaks before it), parsing no further than it."""
    parser = expat.ParserCreate()

    def start(tag, attrs):
        raise _Found(tag)

    parser.StartElementHandler = start
    try:
        if isinstance(source, (str, bytes)):
            parser.Parse(source, True)
        else:
            parser.ParseFile(source)
    except _Found as found:
        return found.args[0]
    except expat.ExpatError:
        return None
    return None


# example-robot-data is data, not a module: its descriptions sit under this folder of a prefix.
_EXAMPLE_ROBOT_DATA = pathlib.Path("cmeel.prefix", "share", "example-robot-data", "robots")


def example_robot_data() -> pathlib.Path | None:
    """The robots/ folder of example-robot-data (pip install example-robot-data), or None when it is not installed.

    Example: ``robots.load_robot(robots.example_robot_data() / "talos_data/robots/talos_reduced.urdf")``.
    """
    candidates = []
    try:
        candidates.append(pathlib.Path(importlib.metadata.distribution("example-robot-data").locate_file(
            _EXAMPLE_ROBOT_DATA)))
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("cmeel")  # cmeel's data prefix sits beside its module
    if spec is not None and spec.origin:
        candidates.append(pathlib.Path(spec.origin).parent.parent / _EXAMPLE_ROBOT_DATA)
    folders = list(site.getsitepackages()) + [site.getusersitepackages()] + sys.path
    candidates += [pathlib.Path(folder) / _EXAMPLE_ROBOT_DATA for folder in folders if folder]
    return next((c for c in candidates if c.is_dir()), None)
