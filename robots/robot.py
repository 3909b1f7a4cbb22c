"""Robot description files to whole trees (`kinematics.Robot`), whatever the format."""

from __future__ import annotations

import os

from kinematics import Robot

from .armfile import load
from .urdf import load_robot_urdf

__all__ = ["load_robot"]


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
