"""Obstacle shapes for collision-aware IK: small frozen dataclasses, validated on construction.

Conventions: every shape lives in the world (root) frame of the robot, lengths in metres, float64.
A shape is a closed convex set (a point cloud: a union of balls); `kinematics.collision.distance`
gives signed distances to it (negative = penetration depth).

- `Sphere(center, radius)`: the ball |x − center| ≤ radius (radius 0: a point).
- `Capsule(a, b, radius)`: the points within `radius` of the segment ab (a == b: a sphere).
- `Box(pose, size)`: the box of full side lengths `size` (3,), centred at pose[:3, 3], its edges
  along the columns of pose[:3, :3] (a rigid transform).
- `HalfSpace(normal, offset)`: the obstacle n·x ≤ offset, everything on the side opposite the normal
  (a table top at height h is HalfSpace((0, 0, 1), h)). The normal is made unit on construction and
  the offset divided by the same length, so the set is unchanged.
- `PointCloud(points, radius)`: N balls of one radius (radius 0: bare points), (N, 3).

Arrays are copied and made read-only, so a shape can be shared between tasks and threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Sphere", "Capsule", "Box", "HalfSpace", "PointCloud", "Shape"]

RIGID_TOLERANCE = 1e-9  # |RᵀR − I| and |det R − 1| beyond this: a Box pose is not a rotation


def _array(shape_name: str, field: str, value, shape: tuple) -> np.ndarray:
    """`value` as a finite read-only float64 array of `shape` (-1: any length), or ValueError naming the field."""
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{shape_name}: {field} must be an array of numbers, got {value!r:.80}") from None
    if a.ndim != len(shape) or any(want not in (-1, got) for want, got in zip(shape, a.shape)):
        want = "(" + ", ".join("N" if s == -1 else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{shape_name}: {field} must have shape {want}, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{shape_name}: {field} contains NaN or infinite values")
    a.flags.writeable = False
    return a


def _number(shape_name: str, field: str, value, *, positive=False) -> float:
    """A finite float >= 0 (> 0 with positive=True), or ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{shape_name}: {field} must be a number, got {value!r:.80}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{shape_name}: {field} must be finite, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{shape_name}: {field} must be {'positive' if positive else 'non-negative'}, got {value!r}")
    return value


class Shape:
    """Base of the obstacle shapes (for isinstance checks and the dispatcher)."""

    __slots__ = ()


@dataclass(frozen=True, eq=False)
class Sphere(Shape):
    """The ball |x − center| ≤ radius.

    Args:
        center: (3,) world position.
        radius: finite, >= 0.
    """

    center: np.ndarray
    radius: float

    def __post_init__(self):
        object.__setattr__(self, "center", _array("Sphere", "center", self.center, (3,)))
        object.__setattr__(self, "radius", _number("Sphere", "radius", self.radius))


@dataclass(frozen=True, eq=False)
class Capsule(Shape):
    """The points within `radius` of the segment from a to b (a == b allowed: a sphere).

    Args:
        a, b: (3,) world positions of the segment's ends.
        radius: finite, >= 0.
    """

    a: np.ndarray
    b: np.ndarray
    radius: float

    def __post_init__(self):
        object.__setattr__(self, "a", _array("Capsule", "a", self.a, (3,)))
        object.__setattr__(self, "b", _array("Capsule", "b", self.b, (3,)))
        object.__setattr__(self, "radius", _number("Capsule", "radius", self.radius))


@dataclass(frozen=True, eq=False)
class Box(Shape):
    """A box of full side lengths `size` at a rigid `pose`: {pose · u : |u_i| ≤ size_i / 2}.

    Args:
        pose: (4, 4) rigid transform (orthonormal rotation with det +1, last row 0 0 0 1) from the
            box's frame (origin at its centre, axes along its edges) to the world.
        size: (3,) full side lengths, each finite and > 0.
    """

    pose: np.ndarray
    size: np.ndarray

    def __post_init__(self):
        pose = _array("Box", "pose", self.pose, (4, 4))
        R = pose[:3, :3]
        if np.abs(R.T @ R - np.eye(3)).max() > RIGID_TOLERANCE or abs(np.linalg.det(R) - 1.0) > RIGID_TOLERANCE \
                or (pose[3] != (0.0, 0.0, 0.0, 1.0)).any():
            raise ValueError("Box: pose must be a rigid transform (orthonormal rotation, det +1, last row 0 0 0 1)")
        size = _array("Box", "size", self.size, (3,))
        if not (size > 0).all():
            raise ValueError(f"Box: size must be three positive side lengths, got {size.tolist()}")
        object.__setattr__(self, "pose", pose)
        object.__setattr__(self, "size", size)

    @property
    def half(self) -> np.ndarray:
        """(3,) half side lengths."""
        return self.size / 2


@dataclass(frozen=True, eq=False)
class HalfSpace(Shape):
    """The obstacle n·x ≤ offset (the side opposite the normal); n is made unit, offset scaled with it.

    Args:
        normal: (3,) nonzero; points out of the obstacle (a floor: (0, 0, 1)).
        offset: finite; the obstacle's boundary plane is n·x = offset.
    """

    normal: np.ndarray
    offset: float

    def __post_init__(self):
        n = _array("HalfSpace", "normal", self.normal, (3,))
        if isinstance(self.offset, bool) or not isinstance(self.offset, int | float | np.integer | np.floating) \
                or not math.isfinite(self.offset):
            raise ValueError(f"HalfSpace: offset must be a finite number, got {self.offset!r:.80}")
        scale = np.abs(n).max()
        if scale == 0:
            raise ValueError("HalfSpace: normal must be a nonzero vector, got (0, 0, 0)")
        length = np.linalg.norm(n / scale) * scale  # scaled first: 1e-200 and 1e200 normals work too
        unit = n / length
        unit.flags.writeable = False
        with np.errstate(over="ignore"):
            offset = float(self.offset / length)
        if not math.isfinite(offset):
            raise ValueError(f"HalfSpace: offset / |normal| overflows ({self.offset!r} / {length!r})")
        object.__setattr__(self, "normal", unit)
        object.__setattr__(self, "offset", offset)


@dataclass(frozen=True, eq=False)
class PointCloud(Shape):
    """N balls of one radius at `points` (radius 0: bare points).

    Args:
        points: (N, 3) world positions, N >= 1.
        radius: finite, >= 0.
    """

    points: np.ndarray
    radius: float

    def __post_init__(self):
        points = _array("PointCloud", "points", self.points, (-1, 3))
        if len(points) == 0:
            raise ValueError("PointCloud: points must hold at least one point, got shape (0, 3)")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "radius", _number("PointCloud", "radius", self.radius))
