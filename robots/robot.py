"""Robot description files to whole trees (`kinematics.Robot`), whatever the format."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import pathlib
import site
import sys

from kinematics import Robot

from .armfile import load
from .urdf import load_robot_urdf

__all__ = ["load_robot", "example_robot_data"]


def load_robot(path) -> Robot:
    """The whole robot described by a file, as a `kinematics.Robot`.

    Args:
        path: a `.urdf` file (every link a frame, see `robots.urdf.load_robot_urdf`; URDF text
            starting with '<' works too) or a `.toml` arm file (`robots.load`, as
            `Robot.from_chain`: frames "base", one per joint, and "tool").

    Returns:
        A `kinematics.Robot`.

    Raises:
        ValueError: an unknown extension (the message lists the known ones), or the loader's
            own errors (URDFError, ArmFileError: both ValueErrors naming file and element).
        TypeError: path is neither text nor a path.
    """
    if isinstance(path, str) and path.lstrip("\ufeff \t\r\n").startswith("<") and not os.path.isfile(path):
        return load_robot_urdf(path)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_robot: path must be a file path, got {type(path).__name__}")
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension == ".urdf":
        return load_robot_urdf(path)
    if extension == ".toml":
        return Robot.from_chain(load(path))
    raise ValueError(f"load_robot: {os.fspath(path)[-200:]!r}: unknown extension {extension!r}; "
                     "expected .urdf or .toml")


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
