"""Scene files: obstacles for collision-aware IK in TOML (`load_scene`; `armgrad ... --scene FILE`).

One array of tables per kind, all in the world frame (metres; `angles = "degrees"` reads rpy in
degrees):

    [[halfspace]]                 # a table top or floor: the obstacle is n·x <= offset
    normal = [0, 0, 1]
    offset = 0.0
    [[sphere]]
    center = [0.5, 0.0, 0.3]
    radius = 0.05
    [[capsule]]                   # the points within radius of the segment a–b
    a = [0.4, -0.2, 0.1]
    b = [0.4, 0.2, 0.1]
    radius = 0.02
    [[box]]                       # any pose, full side lengths
    pose = { xyz = [0.6, 0, 0.2], rpy = [0, 0, 0.3] }
    size = [0.2, 0.4, 0.1]
    [[pointcloud]]                # many small spheres at once
    points = "cloud.npy"          # a (N, 3) .npy file beside the scene file, or a list of [x, y, z]
    radius = 0.01

An optional `name` in each table labels the obstacle in messages. Every mistake (TOML syntax, an
unknown key, a missing field, a bad number, a shape the shapes refuse such as a negative radius)
raises `SceneError` (a ValueError) naming the file and the key, e.g. `sphere[1].radius`.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "table.toml"
    >>> _ = path.write_text("[[halfspace]]\\nnormal = [0, 0, 1]\\noffset = 0.0\\n")
    >>> load_scene(path)
    [HalfSpace(normal=array([0., 0., 1.]), offset=0.0)]
"""

from __future__ import annotations

import os

import numpy as np

from kinematics.chain import MAX_LENGTH
from kinematics.collision import Box, Capsule, HalfSpace, PointCloud, Sphere

from .armfile import read_toml

__all__ = ["load_scene", "SceneError"]

_KINDS = {
    "sphere": ({"center", "radius"}, Sphere),
    "capsule": ({"a", "b", "radius"}, Capsule),
    "box": ({"pose", "size"}, Box),
    "halfspace": ({"normal", "offset"}, HalfSpace),
    "pointcloud": ({"points", "radius"}, PointCloud),
}


class SceneError(ValueError):
    """A mistake in a scene file; the message names the file and the key.

    Attributes:
        path: the file.
        key: the offending key, e.g. "box[0].size" (None for the whole file).
    """

    def __init__(self, path, key, message):
        self.path, self.key = path, key
        super().__init__(f"{path}: {message}" if key is None else f"{path}: key {key!r}: {message}")


def load_scene(path, named: bool = False) -> list | dict:
    """The obstacles of a scene file, as `kinematics.collision` shapes, in the file's order by kind
    (halfspace, sphere, capsule, box, pointcloud; within a kind, as written).

    Args:
        path: the TOML file (str or os.PathLike).
        named: return {label: shape} instead, the label being the table's `name` or else
            "kind[i]" (the i-th table of that kind), as `kinematics.Avoid` takes them to label
            its pairs.

    Returns:
        A list of Sphere, Capsule, Box, HalfSpace and PointCloud (a dict with `named`).

    Raises:
        SceneError (a ValueError): invalid TOML, an unknown kind or key, a missing field, a bad
            value; the message names the file and the key.
        FileNotFoundError: the file, or a point cloud's .npy file, cannot be read.
        With `named`, SceneError also for two obstacles with one label.
    """
    path, data, reader = read_toml(path, "load_scene", "scene file", SceneError)
    reader.keys(data, set(_KINDS) | {"angles"}, "")
    reader.read_angles(data)
    shapes = {}
    for kind in ("halfspace", "sphere", "capsule", "box", "pointcloud"):
        tables = data.get(kind, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise reader.error(kind, f"expected an array of tables ([[{kind}]]), got {type(tables).__name__}")
        for i, table in enumerate(tables):
            key = f"{kind}[{i}]"
            shape = _shape(reader, kind, table, key, os.path.dirname(os.path.abspath(path)))
            label = table.get("name", key) if named else key
            if label in shapes:
                raise reader.error(f"{key}.name", f"{label!r} also names another obstacle")
            shapes[label] = shape
    return shapes if named else list(shapes.values())


def _shape(reader, kind, table, key, folder):
    fields, cls = _KINDS[kind]
    reader.keys(table, fields | {"name"}, key)
    if "name" in table:
        reader.string(table["name"], f"{key}.name")
    values = {field: reader.required(table, field, key) for field in sorted(fields)}
    args = {}
    for field, value in values.items():
        where = f"{key}.{field}"
        if field in ("center", "a", "b"):
            args[field] = reader.vector(value, where, 3, MAX_LENGTH)
        elif field == "normal":
            args[field] = reader.vector(value, where, 3)
        elif field == "size":
            args[field] = reader.vector(value, where, 3, MAX_LENGTH)
        elif field == "pose":
            args[field] = reader.pose(value, where)
        elif field == "points":
            args[field] = _points(reader, value, where, folder)
        else:  # radius, offset
            args[field] = reader.number(value, where, MAX_LENGTH)
    try:
        return cls(**args)
    except ValueError as err:  # what the shape itself refuses (a negative radius, a zero normal, ...)
        raise reader.error(key, str(err)) from None


def _points(reader, value, key, folder):
    """(N, 3) points from a list of [x, y, z] or a .npy file (relative to the scene file)."""
    if isinstance(value, str):
        path = value if os.path.isabs(value) else os.path.join(folder, value)
        if not value.endswith(".npy"):
            raise reader.error(key, f"expected a .npy file of (N, 3) points, got {value!r}")
        try:
            points = np.load(path, allow_pickle=False)
        except OSError as err:
            raise FileNotFoundError(f"{reader.path}: key {key!r}: cannot read {path!r}: {err}") from None
        except ValueError as err:
            raise reader.error(key, f"cannot read {path!r} as .npy: {err}") from None
        if not np.issubdtype(points.dtype, np.number) or points.ndim != 2 or points.shape[1] != 3 or not len(points):
            raise reader.error(key, f"{value!r} must hold (N, 3) numbers with N >= 1, got {points.dtype} "
                                    f"{points.shape}")
        if not np.all(np.isfinite(points)) or np.abs(points).max() > MAX_LENGTH:
            raise reader.error(key, f"{value!r} must hold finite points within {MAX_LENGTH:g} m")
        return points.astype(float)
    if not isinstance(value, list) or not value:
        raise reader.error(key, "expected a .npy file name or a non-empty list of [x, y, z]")
    return np.stack([reader.vector(p, f"{key}[{i}]", 3, MAX_LENGTH) for i, p in enumerate(value)])
