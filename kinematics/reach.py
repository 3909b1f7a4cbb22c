"""Reachability maps: for every voxel of the workspace, the fraction of a fixed set of tool
orientations that IK reaches there (`reachability`), the way capability maps are drawn.

The workspace is the cube of half side `reach` about the base's origin (reach: the triangle
inequality's bound on the tool's distance, `kinematics.ik._reach`), cut into voxels of side
`resolution`; a planar chain's is the square in its plane. Each voxel centre gets the
orientations of `so3_grid(count)` (a planar chain: `count` angles about z, evenly spaced), and
each (centre, orientation) pose is one IK query at `tol`, solved in chunks by `solve_many` (here
or on a Dask cluster). Voxels whose centre lies beyond the reach are not queried: fraction 0.

The early-out: most of a map's voxels inside the reach bound are still out of reach (the bound
ignores joint limits), and an unreachable pose query costs a whole restart budget. So first one
position-only query per voxel (`position_first`): a voxel whose centre no configuration reaches
cannot be reached in any orientation, and its O pose queries are skipped.

Honest numbers: a query that fails within `max_restarts` restarts may still be reachable, so each
fraction is a lower bound for that restart budget (the map records it). Per voxel the map also
keeps the best manipulability √det(J Jᵀ) (Yoshikawa; the product of J's singular values, so a
planar arm's rank-3 J counts too) among its reached orientations.

Glossary: V voxels, O orientations per voxel.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from .fk import geometric_jacobian
from .ik import _reach
from .scale import CHUNK_SIZE, chunk_seed, iter_chunks

__all__ = ["ReachMap", "reachability", "so3_grid", "planar_grid", "voxel_centres"]

# The super-Fibonacci spiral's constants (Alexa, "Super-Fibonacci Spirals", CVPR 2022): φ = √2 and
# ψ, the real root of ψ⁴ = ψ + 4.
_PHI, _PSI = np.sqrt(2.0), 1.533751168755204288118041


def so3_grid(count: int) -> np.ndarray:
    """(count, 3, 3) rotations spread near-uniformly over SO(3), deterministic (super-Fibonacci spiral).

    Sample i's unit quaternion is (r sin α, r cos α, R sin β, R cos β), s = i + ½, r = √(s/n),
    R = √(1 − s/n), α = 2π s/φ, β = 2π s/ψ; its rotation matrix is returned.
    """
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"orientations must be an integer >= 1, got {count!r}")
    s = np.arange(count) + 0.5
    r, R = np.sqrt(s / count), np.sqrt(1.0 - s / count)
    alpha, beta = 2 * np.pi * s / _PHI, 2 * np.pi * s / _PSI
    x, y, z, w = r * np.sin(alpha), r * np.cos(alpha), R * np.sin(beta), R * np.cos(beta)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1)], axis=-2)


def planar_grid(count: int) -> np.ndarray:
    """(count, 3, 3) rotations about z by the angles 2π k / count, k = 0..count − 1."""
    so3_grid(count)  # the same check of count
    angle = 2 * np.pi * np.arange(count) / count
    R = np.zeros((count, 3, 3))
    R[:, 0, 0], R[:, 0, 1], R[:, 1, 0], R[:, 1, 1], R[:, 2, 2] = np.cos(angle), -np.sin(angle), np.sin(angle), \
        np.cos(angle), 1.0
    return R


def voxel_centres(chain, resolution: float) -> np.ndarray:
    """(V, 3) centres of the voxels of side `resolution` tiling the workspace cube (square for a planar chain).

    The grid is symmetric about the base's origin (a centre on it when the count per side is odd).
    """
    if not (isinstance(resolution, int | float | np.floating) and np.isfinite(resolution) and resolution > 0):
        raise ValueError(f"resolution must be a finite positive length (m), got {resolution!r}")
    reach = _reach(chain)
    if not np.isfinite(reach):
        raise ValueError(f"{chain.name}: a prismatic joint without limits gives an unbounded workspace; map it "
                         "with limits")
    per_side = max(1, int(np.ceil(2 * reach / resolution)))
    if per_side ** (2 if chain.planar else 3) > 20_000_000:
        raise ValueError(f"resolution {resolution} m gives {per_side} voxels per side of the {2 * reach:.3g} m "
                         "workspace: too many; choose a coarser resolution")
    axis = (np.arange(per_side) - (per_side - 1) / 2) * resolution
    origin = chain.base[:3, 3]
    if chain.planar:
        x, y = np.meshgrid(axis, axis, indexing="ij")
        return np.stack([x.ravel() + origin[0], y.ravel() + origin[1], np.full(x.size, chain.plane_z)], axis=1)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1) + origin


@dataclasses.dataclass
class ReachMap:
    """A reachability map.

    Attributes:
        centres: (V, 3) voxel centres (world frame).
        fraction: (V,) the fraction of the orientations reached at `tol` (a lower bound: see module docstring).
        manipulability: (V,) the best √det(J Jᵀ) among the reached orientations (0 where none).
        queried: (V,) whether the voxel was queried (False: beyond the reach bound, fraction 0).
        position_reached: (V,) whether IK reached the voxel's centre as a position target (with
            position_first; else `queried`): the voxels whose orientations were queried.
        resolution, orientations, tol, max_restarts: how the map was made.
        solves: IK queries solved; seconds: their wall time.
    """

    centres: np.ndarray
    fraction: np.ndarray
    manipulability: np.ndarray
    queried: np.ndarray
    position_reached: np.ndarray
    resolution: float
    orientations: int
    tol: float
    max_restarts: int
    solves: int
    seconds: float


def reachability(chain, *, resolution: float = 0.05, orientations: int = 64, tol: float = 1e-6,
                 max_restarts: int = 20, chunk_size: int = CHUNK_SIZE, client=None, seed: int = 0,
                 position_first: bool = True, progress=None) -> ReachMap:
    """The reachability map of a chain's tool (module docstring).

    Args:
        chain: a kinematics.Chain (a planar one gets planar orientations: angles about z).
        resolution: voxel side (m).
        orientations: tool orientations per voxel.
        tol: success bound on the position (m) and rotation (rad) errors.
        max_restarts: random restarts per query (the fractions are lower bounds for this budget).
        chunk_size, client, seed: as for `solve_many` (answers do not depend on the workers).
        position_first: query each voxel's centre as a position first, and its orientations only
            where that is reached (the early-out of the module docstring).
        progress: None, or a callable progress(done, total) called as chunks complete (total:
            the pose queries, known once the positions are done).

    Returns:
        ReachMap.
    """
    centres = voxel_centres(chain, resolution)
    rotations = planar_grid(orientations) if chain.planar else so3_grid(orientations)
    queried = np.linalg.norm(centres - chain.base[:3, 3], axis=-1) <= _reach(chain) + tol
    V, O = len(centres), len(rotations)
    options = {"chunk_size": chunk_size, "client": client, "tol_position": tol, "tol_rotation": tol,
               "max_restarts": max_restarts}
    start = time.perf_counter()
    reached_position = queried.copy()
    solves = 0
    if position_first:
        where = np.flatnonzero(queried)
        for _, (lo, hi), result in iter_chunks(chain, centres[where], seed=chunk_seed(seed, _POSITION_STREAM),
                                               **options):
            reached_position[where[lo:hi]] = result.success
        solves += len(where)
    where = np.flatnonzero(reached_position)
    poses = _Poses(centres[where], rotations)
    reached, best = np.zeros(len(poses), dtype=bool), np.zeros(len(poses))
    done = 0
    for _, (lo, hi), result in iter_chunks(chain, poses, seed=seed, **options):
        reached[lo:hi] = result.success
        ok = np.flatnonzero(result.success)
        if ok.size:  # Yoshikawa's √det(J Jᵀ), as the product of J's singular values (a planar J has rank 3)
            best[lo + ok] = np.prod(np.linalg.svd(geometric_jacobian(chain, result.q[ok]), compute_uv=False), axis=-1)
        done += hi - lo
        if progress is not None:
            progress(done, len(poses))
    seconds = time.perf_counter() - start
    fraction, manipulability = np.zeros(V), np.zeros(V)
    fraction[where] = reached.reshape(-1, O).mean(axis=1)
    manipulability[where] = best.reshape(-1, O).max(axis=1, initial=0.0)
    return ReachMap(centres, fraction, manipulability, queried, reached_position, float(resolution), O, float(tol),
                    int(max_restarts), solves + len(poses), seconds)


# The position queries' chunks draw their starts from chunk_seed(seed, this) rather than from
# (seed, k), so that they never share a stream with the pose queries' chunk k.
_POSITION_STREAM = 0x905171


class _Poses:
    """The (centre, orientation) pose queries, built a chunk at a time: `poses[lo:hi]` is (hi - lo, 4, 4).

    Query i is centre i // O in orientation i % O (O = len(rotations))."""

    def __init__(self, centres: np.ndarray, rotations: np.ndarray):
        self.centres, self.rotations = centres, rotations

    def __len__(self) -> int:
        return len(self.centres) * len(self.rotations)

    def __getitem__(self, rows: slice) -> np.ndarray:
        lo, hi, _ = rows.indices(len(self))
        i = np.arange(lo, max(lo, hi))
        T = np.zeros((len(i), 4, 4))
        T[:, :3, :3], T[:, :3, 3], T[:, 3, 3] = self.rotations[i % len(self.rotations)], \
            self.centres[i // len(self.rotations)], 1.0
        return T
