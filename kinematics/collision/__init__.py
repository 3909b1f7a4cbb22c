"""Collision geometry for IK: obstacle shapes and signed distances written in the engine's ops.

- `shapes`: `Sphere`, `Capsule`, `Box`, `HalfSpace`, `PointCloud` (validated, world frame).
- `avoid`: the IK tasks `Avoid` (obstacles) and `AvoidSelf` (the robot's own links), hard hinge
  residuals with pruning (see its docstring).
- `distance`: signed distances (negative = penetration depth) from robot spheres and capsules to
  every obstacle shape, batched and broadcasting, differentiable by backprop; `signed_distance`
  dispatches on the obstacle.

Glossary: c centre, r radius, a/b a capsule's segment ends, d signed distance.
"""

from . import avoid, distance, shapes
from .avoid import Avoid, AvoidSelf
from .distance import (
    capsule_box, capsule_capsule, capsule_halfspace, signed_distance, sphere_box, sphere_capsule, sphere_halfspace,
    sphere_sphere,
)
from .shapes import Box, Capsule, HalfSpace, PointCloud, Shape, Sphere

__all__ = [
    "shapes", "distance", "avoid", "Avoid", "AvoidSelf", "Shape", "Sphere", "Capsule", "Box", "HalfSpace",
    "PointCloud", "signed_distance",
    "sphere_sphere", "sphere_capsule", "capsule_capsule", "sphere_box", "capsule_box", "sphere_halfspace",
    "capsule_halfspace",
]
