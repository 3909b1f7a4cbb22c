"""Convergence animations: the arm moving, iteration by iteration, onto its target.

Planar arms are drawn in 2-D, spatial arms in 3-D with equal axis scaling. Each frame shows
the links, joints, base, the end-effector frame (x red, y green, z blue), the target (with its
frame, dashed, for pose targets), the end effector's trail over the iterates so far, and a
panel of position and rotation error per iteration on a log scale with the current iteration
marked. Several runs (methods) from the same start are drawn side by side on one shared
iteration clock, so a method that needs 5 iterations is done while another still crawls.

With a scene (`render(..., obstacles=, geometry=)`, `armgrad animate --scene`) the obstacles are
drawn once, in grey: a half-space as a translucent patch of its plane within the view (in 2-D the
region itself, cut by the arm's plane), boxes with their faces and edges, spheres and capsules as
surfaces (2-D: their outlines seen along z), point clouds as small dots (at most
MAX_CLOUD_POINTS of those within the view). The arm's collision capsules are drawn at every
frame, translucent in the run's colour. Finite obstacles and the capsules widen the view. The
drawing order is the artists' (matplotlib has no depth buffer): the arm is drawn over obstacles.

Frames: a history of K iterations is shown at `frames` times t_f = expm1(linspace(0,
log1p(K))) — log-spaced, so the early, large moves get most of the frames and a 3000-iteration
gradient descent still fits a small GIF. Between two iterates the arm is drawn at the joint-space
interpolation (q_k + f (q_{k+1} - q_k)), so few-iteration methods such as Levenberg-Marquardt
move smoothly instead of jumping; the trail, the counters and the error panel's points are
the solver's real iterates.

Paths (`render_path`, `armgrad animate --path`): the arm moves along the waypoints of a
`kinematics.solve_path` answer, F frames evenly spaced over the waypoints (joint-space interpolation
between them), the waypoints' targets drawn as a dashed line and the tool's trail over it; beside it
the joints' velocities per segment, Δq/Δt from the path's times, with their speed limits dashed and
the current time marked; waypoints listed in `jumps` are marked on the time axis.

Only matplotlib's Agg canvas is used (no pyplot, no window). Artists are created once and
updated per frame. GIFs are written by Pillow, MP4 by piping raw frames to ffmpeg when it is
installed.

Glossary: q joint values; K a run's number of iterations; F frames; t fractional iteration.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import numpy as np

import kinematics as kin

__all__ = ["MAX_FRAMES", "FPS_RANGE", "DPI_RANGE", "HOLD_RANGE", "MAX_FRAME_BYTES", "METHOD_NAMES", "Run",
           "check_render_settings", "ffmpeg_path", "figure_size", "frame_times", "render", "snapshot_iterations",
           "capsule_surface", "stadium", "plane_patch", "render_path", "path_frames", "segment_velocities"]

# Bounds on what one render may ask for. Every frame is held in memory until the file is written
# (Pillow needs them all for a GIF) and costs about 25 ms to draw at 80 dpi, so 1000 frames is
# about half a minute and MAX_FRAME_BYTES keeps a large --dpi from filling the memory.
MAX_FRAMES = 1000
MAX_FRAME_BYTES = 2 * 2 ** 30  # the (H, W, 3) uint8 frames of one render, together
FPS_RANGE = (0.5, 60.0)  # GIF players round frame durations to 10 ms (and slow < 20 ms to 100 ms)
DPI_RANGE = (20, 400)
HOLD_RANGE = (0.0, 60.0)  # seconds on the last frame

METHOD_NAMES = {"lm": "Levenberg–Marquardt", "gd": "gradient descent", "momentum": "momentum",
                "adam": "Adam"}
COLORS = {"lm": "#d95f02", "gd": "#1b6ac9", "momentum": "#7b3fa0", "adam": "#1b9e77"}
FALLBACK_COLORS = ["#1b6ac9", "#d95f02", "#1b9e77", "#7b3fa0", "#e7298a", "#66a61e"]
AXIS_COLORS = ("#e41a1c", "#2ca02c", "#1f5fd6")  # frame axes x, y, z
TARGET_COLOR = "#c2185b"
OBSTACLE_COLOR = "#8c8c8c"
OBSTACLE_EDGE = "#4d4d4d"
PLANE_COLOR = "#8fa8bf"  # a half-space's plane
MAX_CLOUD_POINTS = 4000  # a point cloud's dots drawn (evenly thinned beyond that)
ERROR_FLOOR = 1e-16  # zeros drawn on a log scale


@dataclasses.dataclass
class Run:
    """One solver run to animate.

    Attributes:
        label: the method name ("gd", "lm", ...) or any label.
        history: the solver's history for one target: "q" (K+1, n), "position_error" (K+1,),
            "rotation_error" (K+1,).
        success: whether the run converged (None: unknown).
        restarts: random restarts before the start whose history this is.
    """

    label: str
    history: dict
    success: bool | None = None
    restarts: int = 0

    @property
    def iterations(self) -> int:
        return len(self.history["q"]) - 1


def frame_times(iterations: int, frames: int) -> np.ndarray:
    """The fractional iteration each frame shows: log-spaced from 0 to `iterations`.

    Args:
        iterations: K, the longest run's iteration count.
        frames: F, the frame budget.

    Returns:
        (F,) nondecreasing times, t_0 = 0 and t_{F-1} = K.

    Example:
        >>> frame_times(1000, 4).round(1)
        array([   0. ,    9. ,   99.1, 1000. ])
    """
    frames = max(int(frames), 1)
    if frames == 1:
        return np.array([float(iterations)])
    t = np.expm1(np.linspace(0.0, math.log1p(max(iterations, 0)), frames))
    t[0], t[-1] = 0.0, float(iterations)
    return t


def figure_size(n_runs: int) -> tuple[float, float]:
    """The animation figure's (width, height) in inches: one run beside its error panel, several above it."""
    return (10.0, 4.6) if n_runs == 1 else (3.5 * n_runs + 0.6, 7.0)


def add_render_arguments(parser, what: str = "frames") -> None:
    """--frames, --fps and --dpi with the bounds `check_render_settings` enforces (animate, demo)."""
    parser.add_argument("--frames", type=int, default=60, metavar="N",
                        help=f"{what}, at most {MAX_FRAMES} (default 60)")
    parser.add_argument("--fps", type=float, default=12.0,
                        help=f"frames per second, {FPS_RANGE[0]:g} to {FPS_RANGE[1]:g} (default 12)")
    parser.add_argument("--dpi", type=int, default=80,
                        help=f"resolution of the frames, {DPI_RANGE[0]} to {DPI_RANGE[1]} (default 80)")


def check_render_settings(frames, fps, dpi, hold=1.5, n_runs: int = 1, names=None) -> None:
    """Refuse render settings outside the documented bounds, before any work.

    Args:
        frames, fps, dpi, hold: as `render` takes them.
        n_runs: runs drawn side by side (the frame size grows with them).
        names: how messages name the settings, e.g. {"frames": "--frames"} (default: the keyword).

    Raises:
        ValueError: one line naming the setting, its value and the allowed range.
    """
    names = {"frames": "frames", "fps": "fps", "dpi": "dpi", "hold": "hold", **(names or {})}
    checks = [("frames", frames, 1, MAX_FRAMES), ("fps", fps, *FPS_RANGE), ("dpi", dpi, *DPI_RANGE),
              ("hold", hold, *HOLD_RANGE)]
    for key, value, lo, hi in checks:
        if not lo <= value <= hi:  # NaN fails too
            raise ValueError(f"{names[key]} must lie in [{lo:g}, {hi:g}], got {value}")
    if int(frames) != frames:
        raise ValueError(f"{names['frames']} must be a whole number, got {frames}")
    width, height = figure_size(n_runs)
    nbytes = frames * round(width * dpi) * round(height * dpi) * 3
    if nbytes > MAX_FRAME_BYTES:
        raise ValueError(f"{names['frames']} {frames} at {names['dpi']} {dpi} would hold {nbytes / 2 ** 30:.1f} GiB "
                         f"of frames in memory (at most {MAX_FRAME_BYTES / 2 ** 30:.0f} GiB): "
                         f"lower {names['frames']} or {names['dpi']}")


def ffmpeg_path() -> str | None:
    """The ffmpeg executable matplotlib would use, or None when it is not installed."""
    import matplotlib

    return shutil.which(matplotlib.rcParams["animation.ffmpeg_path"]) or shutil.which("ffmpeg")


class _Track:
    """A run sampled at the frame times: link origins, end-effector frames, trail, errors, and with
    `geometry` the collision capsules (`capsules`: ends (F, K, 3) twice and radii (K,), else None)."""

    def __init__(self, chain: kin.Chain, run: Run, times: np.ndarray, geometry=None):
        qs = np.asarray(run.history["q"], dtype=float)
        if qs.ndim != 2 or qs.shape[1] != chain.n or len(qs) == 0:
            raise ValueError(f"run {run.label!r}: history['q'] must be (K+1, {chain.n}), got {qs.shape}")
        K = len(qs) - 1
        t = np.minimum(times, K)
        k = np.minimum(np.floor(t).astype(int), max(K - 1, 0))
        frac = (t - k)[:, None]
        q = qs[k] + frac * (qs[np.minimum(k + 1, K)] - qs[k])
        poses = kin.link_poses(chain, q)  # (F, n+1, 4, 4)
        base = np.broadcast_to(chain.base[:3, 3], (len(q), 1, 3))
        self.points = np.concatenate([base, poses[:, :, :3, 3]], axis=1)  # base, joints 1..n, tip
        self.tip_rotation = poses[:, -1, :3, :3]
        self.iterates_tip = kin.forward_kinematics(chain, qs)[:, :3, 3]  # the real iterates
        self.shown = np.minimum(np.floor(t + 1e-9).astype(int), K)  # the last iterate reached
        self.t, self.K, self.run = t, K, run
        self.position_error = np.maximum(np.asarray(run.history["position_error"], dtype=float), ERROR_FLOOR)
        self.rotation_error = np.maximum(np.asarray(run.history["rotation_error"], dtype=float), ERROR_FLOOR)
        self.capsules = None if not geometry else _placed_capsules(chain, q, geometry)

    def error_at(self, f: int, errors: np.ndarray) -> float:
        """The error at frame f, interpolated geometrically between iterates (a straight line on a log axis)."""
        t = self.t[f]
        k = min(math.floor(t), max(self.K - 1, 0))
        frac = t - k
        a, b = errors[k], errors[min(k + 1, self.K)]
        return float(math.exp((1 - frac) * math.log(a) + frac * math.log(b)))


def _placed_capsules(chain, q, geometry):
    """World ends (F, K, 3) twice and radii (K,) of the geometry's shapes (spheres: a == b) at q (F, n)."""
    frames, a, b, r = [], [], [], []
    for frame, value in geometry.items():
        for shape in (value,) if isinstance(value, kin.Sphere | kin.Capsule) else value:
            ends = (shape.center, shape.center) if isinstance(shape, kin.Sphere) else (shape.a, shape.b)
            frames.append(frame)
            a.append(ends[0])
            b.append(ends[1])
            r.append(shape.radius)
    names = list(dict.fromkeys(frames))
    P = kin.frame_poses(kin.Robot.from_chain(chain), q, names)[:, [names.index(f) for f in frames]]  # (F, K, 4, 4)
    R, p = P[..., :3, :3], P[..., :3, 3]
    return (np.einsum("fkij,kj->fki", R, np.array(a)) + p, np.einsum("fkij,kj->fki", R, np.array(b)) + p,
            np.array(r, dtype=float))


# -- scene geometry as drawable polygons (pure numpy) ------------------------------------------------

def _perpendiculars(u):
    """Unit vectors e1, e2 (..., 3) completing the unit vectors u (..., 3) to right-handed frames."""
    helper = np.where(np.abs(u[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    return e1, np.cross(u, e1)


def capsule_surface(a, b, radius, around: int = 12, cap: int = 3) -> np.ndarray:
    """Quadrilaterals on the surfaces of capsules (spheres where a == b), for a 3-D polygon collection.

    Each capsule is `2 (cap + 1)` rings of `around` points: the hemisphere about a at latitudes
    α = −90°..0° (centre a + r sin α u, radius r cos α, u the unit axis), then the one about b at
    0°..90°; the quads join neighbouring rings. Every vertex lies at distance r from the segment.

    Args:
        a, b: (K, 3) or (3,) segment ends; radius: (K,) or a number.
        around, cap: points per ring, and rings per hemisphere beyond its equator.

    Returns:
        (K · (2 cap + 1) · around, 4, 3) quads.
    """
    a, b = np.atleast_2d(np.asarray(a, dtype=float)), np.atleast_2d(np.asarray(b, dtype=float))
    r = np.broadcast_to(np.asarray(radius, dtype=float), a.shape[:1])
    d = b - a
    length = np.linalg.norm(d, axis=-1, keepdims=True)
    u = np.where(length > 1e-12, d / np.maximum(length, 1e-300), [0.0, 0.0, 1.0])
    e1, e2 = _perpendiculars(u)
    alpha = np.concatenate([np.linspace(-np.pi / 2, 0.0, cap + 1), np.linspace(0.0, np.pi / 2, cap + 1)])
    ends = np.concatenate([np.repeat(a[:, None], cap + 1, 1), np.repeat(b[:, None], cap + 1, 1)], axis=1)  # (K, R, 3)
    centres = ends + (r[:, None] * np.sin(alpha))[..., None] * u[:, None]
    rho = r[:, None] * np.cos(alpha)  # (K, R)
    phi = np.linspace(0.0, 2 * np.pi, around, endpoint=False)
    spoke = np.cos(phi)[:, None] * e1[:, None] + np.sin(phi)[:, None] * e2[:, None]  # (K, around, 3)
    P = centres[:, :, None] + rho[..., None, None] * spoke[:, None]  # (K, R, around, 3)
    nxt = np.roll(P, -1, axis=2)
    quads = np.stack([P[:, :-1], nxt[:, :-1], nxt[:, 1:], P[:, 1:]], axis=-2)  # (K, R-1, around, 4, 3)
    return quads.reshape(-1, 4, 3)


def stadium(a, b, radius, points: int = 16) -> np.ndarray:
    """Outlines of capsules seen along z: the xy segment a–b widened by the radius (a disc where they meet).

    Args:
        a, b: (K, 3) or (K, 2) segment ends (z ignored); radius: (K,) or a number.
        points: points on each end's half circle.

    Returns:
        (K, 2 points, 2) polygons.
    """
    a2, b2 = np.atleast_2d(np.asarray(a, dtype=float))[:, :2], np.atleast_2d(np.asarray(b, dtype=float))[:, :2]
    r = np.broadcast_to(np.asarray(radius, dtype=float), a2.shape[:1])[:, None, None]
    d = b2 - a2
    length = np.linalg.norm(d, axis=-1, keepdims=True)
    u = np.where(length > 1e-12, d / np.maximum(length, 1e-300), [1.0, 0.0])
    n = np.stack([-u[:, 1], u[:, 0]], axis=-1)
    theta = np.linspace(-np.pi / 2, np.pi / 2, points)[None, :, None]
    half_b = b2[:, None] + r * (np.cos(theta) * u[:, None] + np.sin(theta) * n[:, None])
    half_a = a2[:, None] - r * (np.cos(theta) * u[:, None] + np.sin(theta) * n[:, None])
    return np.concatenate([half_b, half_a], axis=1)


def plane_patch(normal, offset, center, half):
    """The part of the plane n·x = offset inside the cube |x − center|∞ <= half: (M, 3) polygon corners
    in order around it, or None when the plane misses the cube (or only touches it).

    The corners are where the plane crosses the cube's 12 edges; sorted by angle about their mean
    in the plane, they are the convex polygon's boundary.
    """
    n = np.asarray(normal, dtype=float)
    corners = np.asarray(center, dtype=float) + half * np.array(np.meshgrid(*[[-1.0, 1.0]] * 3,
                                                                               indexing="ij")).reshape(3, -1).T
    side = corners @ n - offset  # (8,)
    points = []
    for i in range(8):
        for j in range(i + 1, 8):
            if np.count_nonzero(corners[i] != corners[j]) != 1:
                continue  # not an edge of the cube
            si, sj = side[i], side[j]
            if si == 0:
                points.append(corners[i])
            if si * sj < 0:
                points.append(corners[i] + si / (si - sj) * (corners[j] - corners[i]))
    if len(points) < 3:
        return None
    points = np.unique(np.round(np.array(points), 15), axis=0)
    if len(points) < 3:
        return None
    e1, e2 = _perpendiculars(n / np.linalg.norm(n))
    rel = points - points.mean(axis=0)
    return points[np.argsort(np.arctan2(rel @ e2, rel @ e1))]


def _box_corners(box) -> np.ndarray:
    """(8, 3) world corners of a kin.Box, index bits (x, y, z) = (i >> 2, i >> 1, i) & 1 for − / +."""
    signs = np.array([[(i >> 2) & 1, (i >> 1) & 1, i & 1] for i in range(8)], dtype=float) * 2 - 1
    return (signs * 0.5 * box.size) @ box.pose[:3, :3].T + box.pose[:3, 3]


_BOX_FACES = [[0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]]


def _clip_half_plane(polygon, n, c):
    """The part of a convex polygon (M, 2) with n·x <= c (Sutherland–Hodgman, one edge)."""
    out = []
    for p, q in zip(polygon, np.roll(polygon, -1, axis=0)):
        sp, sq = p @ n - c, q @ n - c
        if sp <= 0:
            out.append(p)
        if sp * sq < 0:
            out.append(p + sp / (sp - sq) * (q - p))
    return np.array(out) if len(out) >= 3 else None


def _scene_points(obstacles) -> list:
    """Points (m, 3) bounding the finite solid obstacles (spheres, capsules, boxes), for the view."""
    pts = []
    for shape in obstacles:
        if isinstance(shape, kin.Sphere | kin.Capsule):
            ends = np.array([shape.center] if isinstance(shape, kin.Sphere) else [shape.a, shape.b])
            pts.append(np.concatenate([ends - shape.radius, ends + shape.radius]))
        elif isinstance(shape, kin.Box):
            pts.append(_box_corners(shape))
    return pts


def _draw_obstacles(ax, obstacles, bounds, planar: bool, plane_z: float) -> None:
    """The obstacles as static artists (module docstring), clipped to the view where they are unbounded."""
    from matplotlib.colors import to_rgba

    c, h = bounds.center, bounds.half
    face, edge = to_rgba(OBSTACLE_COLOR, 0.35), to_rgba(OBSTACLE_EDGE, 0.6)
    if planar:
        from matplotlib.collections import PolyCollection
        from scipy.spatial import ConvexHull

        square = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) * 1.5 * h + c[:2]  # beyond the view
        polygons, regions = [], []
        for shape in obstacles:
            if isinstance(shape, kin.Sphere):
                polygons.append(stadium(shape.center, shape.center, shape.radius)[0])
            elif isinstance(shape, kin.Capsule):
                polygons.append(stadium(shape.a, shape.b, shape.radius)[0])
            elif isinstance(shape, kin.Box):
                xy = _box_corners(shape)[:, :2]
                polygons.append(xy[ConvexHull(xy).vertices])
            elif isinstance(shape, kin.HalfSpace):  # its cut by the arm's plane z = plane_z: a half-plane
                region = _clip_half_plane(square, shape.normal[:2], shape.offset - shape.normal[2] * plane_z)
                if region is not None:
                    regions.append(region)
            else:
                ax.plot(*_thinned(shape.points, c, 1.5 * h)[:, :2].T, ".", color=OBSTACLE_EDGE, markersize=1.5,
                        zorder=1)
        if regions:
            ax.add_collection(PolyCollection(regions, facecolors=[to_rgba(PLANE_COLOR, 0.3)], edgecolors="none",
                                             zorder=0))
        if polygons:
            ax.add_collection(PolyCollection(polygons, facecolors=[face], edgecolors=[edge], linewidths=0.8,
                                             zorder=1))
        return
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    for shape in obstacles:
        if isinstance(shape, kin.Sphere | kin.Capsule):
            a, b = (shape.center, shape.center) if isinstance(shape, kin.Sphere) else (shape.a, shape.b)
            ax.add_collection3d(Poly3DCollection(capsule_surface(a, b, shape.radius), facecolors=[face],
                                                 edgecolors=[to_rgba(OBSTACLE_EDGE, 0.15)], linewidths=0.3))
        elif isinstance(shape, kin.Box):
            corners = _box_corners(shape)
            ax.add_collection3d(Poly3DCollection([corners[f] for f in _BOX_FACES], facecolors=[to_rgba(
                OBSTACLE_COLOR, 0.25)], edgecolors=[edge], linewidths=0.8))
        elif isinstance(shape, kin.HalfSpace):
            patch = plane_patch(shape.normal, shape.offset, c, h)
            if patch is not None:
                ax.add_collection3d(Poly3DCollection([patch], facecolors=[to_rgba(PLANE_COLOR, 0.3)],
                                                     edgecolors=[to_rgba(PLANE_COLOR, 0.8)], linewidths=0.6))
        else:
            x = _thinned(shape.points, c, h)
            if len(x):
                ax.scatter(x[:, 0], x[:, 1], x[:, 2], s=1.5, color=OBSTACLE_EDGE, depthshade=False)


def _thinned(points, center, half) -> np.ndarray:
    """The points within the cube |x − center|∞ <= half, evenly thinned to at most MAX_CLOUD_POINTS."""
    inside = points[np.all(np.abs(points - center) <= half, axis=1)]
    step = max(1, math.ceil(len(inside) / MAX_CLOUD_POINTS))
    return inside[::step]


def _color(label: str, index: int) -> str:
    return COLORS.get(label, FALLBACK_COLORS[index % len(FALLBACK_COLORS)])


def _target_pose(target) -> tuple[np.ndarray, np.ndarray | None]:
    target = np.asarray(target, dtype=float)
    if target.shape == (4, 4):
        return target[:3, 3], target[:3, :3]
    if target.shape in ((2,), (3,)):
        return np.append(target, 0.0)[:3], None
    raise ValueError(f"target must be a position (2,) or (3,) or a pose (4, 4), got shape {target.shape}")


class _Bounds:
    """Shared view limits: every point any frame draws (the collision capsules too), the target, the
    finite obstacles, equal scaling on all axes."""

    def __init__(self, tracks, target_position, planar: bool, obstacles=(), points=None):
        extra = _scene_points(obstacles) + ([] if points is None else [np.asarray(points, dtype=float)])
        for t in tracks:
            if t.capsules is not None:
                A, B, r = t.capsules
                ends = np.concatenate([A, B], axis=1)  # (F, 2K, 3)
                rr = np.concatenate([r, r])[None, :, None]
                extra += [(ends - rr).reshape(-1, 3), (ends + rr).reshape(-1, 3)]
        pts = np.concatenate([t.points.reshape(-1, 3) for t in tracks] + [target_position[None]] + extra)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        self.center = 0.5 * (lo + hi)
        span = max(float(((hi - lo)[:2] if planar else hi - lo).max()), 1e-3)
        self.axis_length = (0.1 if planar else 0.12) * span  # end-effector and target frame axes
        # Half the widest extent, plus room for a frame's axes drawn at the edge of the motion
        # (less in 3-D, where lines are not clipped at the box and the box is seen obliquely).
        self.half = 0.5 * span + (1.35 if planar else 0.6) * self.axis_length


class _ArmView:
    """One arm drawing (2-D or 3-D) whose artists are updated per frame."""

    def __init__(self, ax, track: _Track, bounds: _Bounds, target_position, target_rotation, planar: bool,
                 color: str, title: str, obstacles=(), plane_z: float = 0.0):
        self.ax, self.track, self.planar, self.title = ax, track, planar, title
        self.counter, self.clock = "iteration", None  # a path's view counts waypoints and shows their times
        self.L = bounds.axis_length
        c, h = bounds.center, bounds.half
        dims = 2 if planar else 3
        self.dims = dims
        plot = ax.plot
        if planar:
            ax.set_xlim(c[0] - h, c[0] + h)
            ax.set_ylim(c[1] - h, c[1] + h)
            ax.set_aspect("equal", adjustable="box")
            ax.set_xlabel("x (m)")
            ax.set_ylabel("y (m)")
            ax.grid(True, alpha=0.25)
        else:
            ax.set_xlim(c[0] - h, c[0] + h)
            ax.set_ylim(c[1] - h, c[1] + h)
            ax.set_zlim(c[2] - h, c[2] + h)
            ax.set_box_aspect((1, 1, 1), zoom=1.1)  # with equal ranges: equal scaling
            ax.set_xlabel("x (m)", labelpad=-8)
            ax.set_ylabel("y (m)", labelpad=-8)
            ax.set_zlabel("z (m)", labelpad=-8)
            ax.tick_params(labelsize=6, pad=-2)
            # Look at the reach side-on: the camera sits ~75° around from the base→target direction.
            base = track.points[0, 0]
            heading = math.degrees(math.atan2(target_position[1] - base[1], target_position[0] - base[0]))
            ax.view_init(elev=20, azim=heading - 75)

        def P(points):  # (m, 3) -> the coordinate lists plot wants
            return [points[:, i] for i in range(dims)]

        self.P = P
        if obstacles:
            _draw_obstacles(ax, obstacles, bounds, planar, plane_z)
        self.hulls = None  # the collision capsules, redrawn per frame
        if track.capsules is not None:
            from matplotlib.colors import to_rgba

            if planar:
                from matplotlib.collections import PolyCollection

                self.hulls = PolyCollection([], facecolors=[to_rgba(color, 0.2)], edgecolors=[to_rgba(color, 0.6)],
                                            linewidths=0.6, zorder=2)
                ax.add_collection(self.hulls)
            else:
                from mpl_toolkits.mplot3d.art3d import Poly3DCollection

                self.hulls = Poly3DCollection([], facecolors=[to_rgba(color, 0.16)], edgecolors="none")
                ax.add_collection3d(self.hulls)
        pt = target_position[None]
        # Target: a star, and its frame (dashed) for pose targets.
        plot(*P(pt), marker="*", markersize=15 if target_rotation is None else 11, color=TARGET_COLOR,
             linestyle="none", zorder=5, label="target")
        if target_rotation is not None:
            for a in range(dims):
                seg = np.stack([target_position, target_position + 1.3 * self.L * target_rotation[:, a]])
                plot(*P(seg), linestyle="--", linewidth=1.8, color=AXIS_COLORS[a], alpha=0.9)
        # Base: a square at the chain's root.
        plot(*P(track.points[0, :1]), marker="s", markersize=10, color="#333333", linestyle="none", zorder=4)
        # Opaque: a blended trail colour would be mapped to some other hue by the GIF palette.
        self.trail, = plot(*P(track.iterates_tip[:1]), color=color, linewidth=1.0, linestyle=":")
        self.links, = plot(*P(track.points[0]), color=color, linewidth=3.2, solid_capstyle="round", zorder=3)
        self.joints, = plot(*P(track.points[0, 1:-1]), marker="o", markersize=5.5, markerfacecolor="white",
                            markeredgecolor="#222222", linestyle="none", zorder=4)
        self.tip, = plot(*P(track.points[0, -1:]), marker="o", markersize=4, color="#222222", linestyle="none")
        self.axes = [plot(*P(np.zeros((2, 3))), color=AXIS_COLORS[a], linewidth=2.0)[0] for a in range(dims)]
        box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1.5}  # readable over the arm
        self.text = (ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=8, family="monospace",
                             bbox=box)
                     if planar else ax.text2D(0.0, 1.0, "", transform=ax.transAxes, va="top", fontsize=8,
                                              family="monospace", bbox=box))
        ax.set_title(title, fontsize=10, color=color, fontweight="bold")
        self.dynamic = [self.trail, self.links, self.joints, self.tip, *self.axes, self.text]
        if self.hulls is not None:
            self.dynamic.insert(0, self.hulls)  # first: the skeleton is drawn over its capsules

    def _set(self, artist, points):
        if self.planar:
            artist.set_data(points[:, 0], points[:, 1])
        else:
            artist.set_data_3d(points[:, 0], points[:, 1], points[:, 2])

    def show(self, f: int) -> None:
        tr = self.track
        pts = tr.points[f]
        self._set(self.links, pts)
        self._set(self.joints, pts[1:-1])
        self._set(self.tip, pts[-1:])
        for a, line in enumerate(self.axes):
            self._set(line, np.stack([pts[-1], pts[-1] + self.L * tr.tip_rotation[f][:, a]]))
        if self.hulls is not None:
            A, B, r = tr.capsules
            if self.planar:
                self.hulls.set_verts(stadium(A[f], B[f], r))
            else:
                self.hulls.set_verts(capsule_surface(A[f], B[f], r))
                if self.ax.M is not None:  # drawn once (blitting): project now, as only Axes3D.draw would
                    self.hulls.do_3d_projection()
        k = tr.shown[f]
        self._set(self.trail, np.concatenate([tr.iterates_tip[: k + 1], pts[-1:]]))
        lines = [f"{self.counter} {k:>4d}/{tr.K}"]
        if self.clock is not None:
            lines.append(f"t {float(np.interp(tr.t[f], np.arange(len(self.clock)), self.clock)):.2f} s")
        lines.append(f"position {tr.position_error[k]:.1e} m")
        if tr.run.history.get("rotation_error") is not None and np.any(tr.run.history["rotation_error"]):
            lines.append(f"rotation {tr.rotation_error[k]:.1e} rad")
        if k == tr.K and tr.run.success is not None:
            lines.append("converged" if tr.run.success else "not converged")
        self.text.set_text("\n".join(lines))


class _ErrorPanel:
    """Position (solid) and rotation (dashed) error per iteration, log scale, current iteration marked."""

    def __init__(self, ax, tracks, colors, tol_position, tol_rotation, pose_target: bool, K: int):
        self.ax, self.tracks, self.pose_target = ax, tracks, pose_target
        ax.set_yscale("log")
        if K > 30:
            ax.set_xscale("symlog", linthresh=1.0)  # linear to 1, then log: 0 stays on the axis
            ax.set_xlabel("iteration (log scale past 1)")
        else:
            ax.set_xlabel("iteration")
        ax.set_xlim(0, max(K, 1) * (1.15 if K > 30 else 1.03))
        ax.set_ylabel("error (m, rad)" if pose_target else "position error (m)")
        ax.grid(True, which="major", alpha=0.3)
        lows, highs = [tol_position], [tol_position]
        self.markers = []
        for tr, color in zip(tracks, colors):
            x = np.arange(tr.K + 1)
            name = tr.run.label
            ax.plot(x, tr.position_error, color=color, linewidth=1.6, label=f"{name} position")
            lows.append(tr.position_error.min())
            highs.append(tr.position_error.max())
            marks = [ax.plot([0], [tr.position_error[0]], "o", color=color, markersize=6, zorder=5)[0]]
            if pose_target:
                ax.plot(x, tr.rotation_error, color=color, linewidth=1.4, linestyle="--", label=f"{name} rotation")
                lows.append(tr.rotation_error.min())
                highs.append(tr.rotation_error.max())
                marks.append(ax.plot([0], [tr.rotation_error[0]], "s", color=color, markersize=5, zorder=5)[0])
            self.markers.append(marks)
        ax.axhline(tol_position, color="#777777", linestyle=":", linewidth=1.0)
        if pose_target and not math.isclose(tol_rotation, tol_position):
            ax.axhline(tol_rotation, color="#777777", linestyle="-.", linewidth=1.0)
        # At the left, where the curves are still far above it.
        ax.text(0.01, tol_position, "tolerance", transform=ax.get_yaxis_transform(), fontsize=7, color="#555555",
                va="bottom", ha="left")
        ax.set_ylim(max(min(lows), ERROR_FLOOR) / 5, max(highs) * 5)
        self.now = ax.axvline(0, color="#444444", linewidth=1.0, alpha=0.7)
        ax.legend(fontsize=7, loc="lower left", ncol=2 if len(tracks) > 1 else 1, framealpha=0.85)
        ax.set_title("error per iteration" + (" (solid: position, dashed: rotation)" if pose_target else ""),
                     fontsize=9)
        self.dynamic = [self.now] + [line for marks in self.markers for line in marks]

    def show(self, f: int) -> None:
        t = None
        for tr, marks in zip(self.tracks, self.markers):
            t = tr.t[f] if t is None else max(t, tr.t[f])
            x = tr.t[f]
            marks[0].set_data([x], [tr.error_at(f, tr.position_error)])
            if self.pose_target:
                marks[1].set_data([x], [tr.error_at(f, tr.rotation_error)])
        self.now.set_xdata([t, t])


def _figure(figsize, dpi):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _layout(chain, runs, tracks, target, colors, tol_position, tol_rotation, dpi, title, obstacles=()):
    """The animation figure: one arm view per run and the error panel (beside one run, below several)."""
    planar = chain.planar
    position, rotation = _target_pose(target)
    bounds = _Bounds(tracks, position, planar, obstacles)
    projection = None if planar else "3d"
    n = len(runs)
    K = max(tr.K for tr in tracks)
    if n == 1:
        fig = _figure(figure_size(n), dpi)
        grid = fig.add_gridspec(1, 2, width_ratios=[1.15, 1.0], left=0.06, right=0.97, bottom=0.12, top=0.86,
                                wspace=0.22)
        arm_axes = [fig.add_subplot(grid[0, 0], projection=projection)]
        err_ax = fig.add_subplot(grid[0, 1])
    else:
        width = figure_size(n)[0]
        fig = _figure(figure_size(n), dpi)
        # A fixed 0.8 in on the left holds the error panel's tick labels and y label at any width.
        grid = fig.add_gridspec(2, n, height_ratios=[1.55, 1.0], left=0.8 / width, right=0.97, bottom=0.08,
                                top=0.9, hspace=0.28, wspace=0.15)
        arm_axes = [fig.add_subplot(grid[0, i], projection=projection) for i in range(n)]
        err_ax = fig.add_subplot(grid[1, :])
    views = [_ArmView(ax, tr, bounds, position, rotation, planar, color, METHOD_NAMES.get(run.label, run.label),
                      obstacles, chain.plane_z) for ax, tr, run, color in zip(arm_axes, tracks, runs, colors)]
    if planar:
        for ax in arm_axes[1:]:  # side by side the views share the first one's y label
            ax.set_ylabel("")
    panel = _ErrorPanel(err_ax, tracks, colors, tol_position, tol_rotation, rotation is not None, K)
    fig.suptitle(title, fontsize=11)
    return fig, views, panel


def snapshot_iterations(K: int, count: int) -> np.ndarray:
    """`count` distinct iterations from 0 to K, log-spaced (all of them when K < count).

    Example:
        >>> snapshot_iterations(1000, 4)
        array([   0,    9,   99, 1000])
    """
    if K + 1 <= count:
        return np.arange(K + 1)
    its = np.unique(np.round(frame_times(K, count)).astype(int))
    extra = count - len(its)  # rounding merged a few early ones: fill with the first unused
    if extra > 0:
        its = np.sort(np.concatenate([its, np.setdiff1d(np.arange(K + 1), its)[:extra]]))
    return its


def _filmstrip(chain, runs, target, colors, tol_position, tol_rotation, snapshots, dpi, title, obstacles=(),
               geometry=None):
    """A static figure: each run at a few real iterates (rows: runs), and the full error curves."""
    planar = chain.planar
    position, rotation = _target_pose(target)
    K = max(run.iterations for run in runs)
    its = snapshot_iterations(K, snapshots)
    tracks = [_Track(chain, run, its.astype(float), geometry) for run in runs]
    bounds = _Bounds(tracks, position, planar, obstacles)
    projection = None if planar else "3d"
    n, m = len(runs), len(its)
    cell = 2.4
    fig = _figure((cell * m + 4.4, cell * n + 0.9), dpi)
    grid = fig.add_gridspec(n, m + 1, width_ratios=[1.0] * m + [1.9], left=0.02, right=0.94,
                            bottom=0.14 if n == 1 else 0.07, top=0.84 if n == 1 else 0.91, wspace=0.06,
                            hspace=0.12)
    for r, (tr, run, color) in enumerate(zip(tracks, runs, colors)):
        for j in range(m):
            ax = fig.add_subplot(grid[r, j], projection=projection)
            label = METHOD_NAMES.get(run.label, run.label) if j == 0 else ""
            view = _ArmView(ax, tr, bounds, position, rotation, planar, color, label, obstacles, chain.plane_z)
            view.show(j)
            view.text.set_fontsize(6.5)
            ax.set_xlabel("")
            ax.set_ylabel("")
            if planar:
                ax.tick_params(labelsize=6)
                if j:
                    ax.tick_params(labelleft=False)
            else:  # numbers on tiny 3-D axes are unreadable: the grid alone gives the scale
                ax.set_zlabel("")
                ax.set_xticklabels([])
                ax.set_yticklabels([])
                ax.set_zticklabels([])
    err_ax = fig.add_subplot(grid[:, m])
    panel = _ErrorPanel(err_ax, tracks, colors, tol_position, tol_rotation, rotation is not None, K)
    panel.now.set_visible(False)
    for tr, marks, color in zip(tracks, panel.markers, colors):
        for line in marks:
            line.set_visible(False)
        shown = np.unique(tr.shown)
        err_ax.plot(shown, tr.position_error[shown], "o", color=color, markersize=5, markerfacecolor="white",
                    zorder=6)
    err_ax.yaxis.set_label_position("right")
    err_ax.yaxis.tick_right()
    fig.suptitle(f"{title}: iterations {', '.join(str(i) for i in its)} (circles on the error curves)",
                 fontsize=10)
    return fig


class _Blitter:
    """Draws the static parts of a figure once; each frame redraws only the moving artists.

    The moving artists are marked animated, so the first full draw leaves them out; that
    image is the background every frame starts from. This is several times faster than
    drawing the whole figure (axes, ticks, labels, error curves) per frame.
    """

    def __init__(self, fig, artists):
        self.fig, self.artists = fig, list(artists)
        for artist in self.artists:
            artist.set_animated(True)
        fig.canvas.draw()  # also fixes the 3-D projection the moving artists are drawn with
        self.background = fig.canvas.copy_from_bbox(fig.bbox)

    def frame(self) -> np.ndarray:
        """The current frame as an (H, W, 3) uint8 array."""
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        for artist in self.artists:
            self.fig.draw_artist(artist)
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    def render(self, count: int, show, write_video, out: Path, fps: float, hold: float, progress: bool) -> int:
        """Draw frames 0..count-1 (`show(f)` moves the artists) and write them with `write_video`.

        One bar over drawing and encoding (each frame counts twice): encoding a long GIF takes a
        while too, and a bar that sits at 100% looks like a hang. Returns the frames written.
        """
        from tqdm import tqdm

        images = []
        with tqdm(total=2 * count, desc=f"rendering {out.name}", unit="frame", disable=not progress,
                  leave=False) as bar:
            for f in range(count):
                show(f)
                images.append(self.frame())
                bar.update(1)
            write_video(images, fps, hold, lambda: bar.update(1))
        return len(images)


def _write_gif(frames, path: Path, fps: float, hold: float, tick) -> None:
    from matplotlib.colors import to_rgb
    from PIL import Image

    # One shared palette (from a mix of first, middle and last frames) keeps colours stable
    # across frames and the file small. The small, saturated details (frame axes, target) get
    # a swatch of their own, or the median cut would spend the palette on the large grey
    # areas and turn them grey.
    w = frames[0].shape[1]
    keys = list(COLORS.values()) + FALLBACK_COLORS + list(AXIS_COLORS) + [TARGET_COLOR]
    swatch = np.repeat((np.array([to_rgb(c) for c in keys]) * 255).astype(np.uint8), 12, axis=0)
    swatch = np.broadcast_to(np.resize(swatch, (w, 3))[None], (len(keys) * 12, w, 3))
    sample = np.concatenate([frames[0], frames[len(frames) // 2], frames[-1], swatch], axis=0)
    palette = Image.fromarray(sample).quantize(colors=160, method=Image.Quantize.MEDIANCUT)
    images = []
    for f in frames:
        images.append(Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE))
        tick()
    durations = [round(1000 / fps)] * len(images)
    durations[-1] = round(1000 * hold)  # pause on the answer before the loop restarts
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False,
                   disposal=1)


def _video(out):
    """(out as a Path, write(images, fps, hold, tick)) for a .gif (Pillow) or .mp4 (ffmpeg) path, checked
    before any work; write puts the file in place whole or not at all.

    Raises:
        ValueError: another file type, or MP4 without ffmpeg.
    """
    from autodiff.files import atomic_output

    out = Path(out)
    kind = out.suffix.lower()
    if kind not in (".gif", ".mp4"):
        raise ValueError(f"animation output must end in .gif or .mp4, got {out.name!r}")
    ffmpeg = ffmpeg_path() if kind == ".mp4" else None
    if kind == ".mp4" and ffmpeg is None:
        raise ValueError("writing MP4 needs ffmpeg, which is not installed (e.g. apt-get install ffmpeg); "
                         "write a .gif instead")

    def write(images, fps, hold, tick):
        with atomic_output(out) as tmp:
            if kind == ".gif":
                _write_gif(images, tmp, fps, hold, tick)
            else:
                _write_mp4(images, tmp, fps, hold, tick, ffmpeg)

    return out, write


def _write_mp4(frames, path: Path, fps: float, hold: float, tick, ffmpeg: str) -> None:
    h, w = frames[0].shape[:2]
    hold_frames = max(round(hold * fps) - 1, 0)
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
               "-r", f"{fps}", "-i", "-", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p",
               "-vcodec", "libx264", str(path)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            for k, f in enumerate(list(frames) + [frames[-1]] * hold_frames):
                proc.stdin.write(np.ascontiguousarray(f).tobytes())
                if k < len(frames):
                    tick()
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:  # the caller's message names the file (this one is a temporary name)
            raise OSError(f"ffmpeg failed: {err.splitlines()[-1] if err else 'no message'}")


def render(chain: kin.Chain, target, runs, out, *, frames: int = 60, fps: float = 12.0, hold: float = 1.5,
           dpi: int = 80, filmstrip: bool = True, snapshots: int = 5, progress: bool = True,
           tol_position: float = 1e-6, tol_rotation: float = 1e-6, title: str | None = None, obstacles=None,
           geometry=None) -> dict:
    """Write an animation of solver runs (GIF or MP4) and a PNG filmstrip next to it.

    Args:
        chain: the arm.
        target: the target of every run: a position (3,) ((2,) for planar arms) or a pose (4, 4).
        runs: one `Run` or a list of them (drawn side by side on a shared iteration clock).
        out: the animation's path; ".gif" (Pillow) or ".mp4" (ffmpeg).
        frames: the frame budget F (log-spaced over the longest run's iterations).
        fps: frames per second.
        hold: seconds the last frame stays on screen.
        dpi: pixels per inch of the frames (the figure is 10 × 4.6 in for one run).
        filmstrip: also write `<out stem>.png`, a strip of `snapshots` frames per run.
        progress: show a tqdm progress bar (stderr) while rendering.
        tol_position, tol_rotation: the tolerances drawn in the error panel.
        title: the figure's title (default: the arm's name).
        obstacles: kinematics.collision shapes to draw (a list, or {label: shape}), world frame.
        geometry: the arm's collision shapes {frame of kin.Robot.from_chain(chain): Sphere | Capsule |
            [shapes]}, drawn at every frame (None: not drawn).

    Returns:
        {"animation": Path, "filmstrip": Path or None, "frames": F}.

    The animation and the filmstrip each go to a temporary file beside their name and are
    renamed into place when complete, so a full disk or Ctrl-C leaves the previous files intact.

    Raises:
        ValueError: bad runs, an unknown file type, MP4 without ffmpeg, or settings outside the
            bounds `check_render_settings` documents.
        OSError: a file could not be written; the message names it.
    """
    from autodiff.files import atomic_output

    out, write_video = _video(out)
    runs = [runs] if isinstance(runs, Run) else list(runs)
    if not runs:
        raise ValueError("render: no runs to draw")
    check_render_settings(frames, fps, dpi, hold, len(runs))
    K = max(run.iterations for run in runs)
    times = frame_times(K, frames)
    obstacles = list(obstacles.values()) if isinstance(obstacles, Mapping) else list(obstacles or ())
    tracks = [_Track(chain, run, times, geometry) for run in runs]
    colors = [_color(run.label, i) for i, run in enumerate(runs)]
    title = title or chain.name
    fig, views, panel = _layout(chain, runs, tracks, target, colors, tol_position, tol_rotation, dpi, title,
                                obstacles)
    blitter = _Blitter(fig, [a for view in views for a in view.dynamic] + panel.dynamic)

    def show(f):
        for view in views:
            view.show(f)
        panel.show(f)

    frames = blitter.render(len(times), show, write_video, out, fps, hold, progress)
    strip = None
    if filmstrip:
        strip = out.with_suffix(".png")
        film = _filmstrip(chain, runs, target, colors, tol_position, tol_rotation, snapshots, max(dpi, 90),
                          title, obstacles, geometry)
        with atomic_output(strip) as tmp:
            film.savefig(tmp, dpi=max(dpi, 90))
    return {"animation": out, "filmstrip": strip, "frames": frames}


# ----------------------------------------------------------------------------- paths

JUMP_COLOR = "#d62728"


def path_frames(K: int, frames: int) -> np.ndarray:
    """The fractional waypoint index of each of min(frames, K) frames, evenly spaced from 0 to K − 1.

    Example:
        >>> path_frames(5, 3)
        array([0., 2., 4.])
    """
    count = max(min(int(frames), K), 1)
    return np.linspace(0.0, K - 1.0, count) if count > 1 else np.array([float(K - 1)])


def segment_velocities(q: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(K − 1, n) joint velocities Δq / Δt of each segment of q (K, n) timed by times (K,)."""
    return np.diff(q, axis=0) / np.diff(times)[:, None]


class _VelocityPanel:
    """Each joint's velocity per segment (steps) against time, limits dashed, jumps marked, the time now."""

    def __init__(self, ax, chain, q, times, velocity_limits, jumps):
        v = segment_velocities(q, times)
        colors = [f"C{j % 10}" for j in range(chain.n)]
        for j in range(chain.n):
            name = chain.joint_names[j]
            ax.step(times, np.append(v[:, j], v[-1, j]), where="post", color=colors[j], linewidth=1.3,
                    label=name if len(name) <= 14 else f"joint {j + 1}")
            if velocity_limits is not None and math.isfinite(velocity_limits[j]):
                for sign in (1, -1):
                    ax.axhline(sign * velocity_limits[j], color=colors[j], linestyle="--", linewidth=0.8, alpha=0.6)
        for k in jumps:
            ax.axvline(times[k], color=JUMP_COLOR, linewidth=1.0, alpha=0.5)
        prismatic = any(j.type == kin.PRISMATIC for j in chain.free_joints)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("joint velocity (rad/s" + (", m/s)" if prismatic else ")"))
        ax.set_xlim(times[0], times[-1] if times[-1] > times[0] else times[0] + 1.0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6, loc="best", ncol=2, framealpha=0.85)
        notes = (["dashed: speed limits"] if velocity_limits is not None and np.isfinite(velocity_limits).any()
                 else []) + (["red: jumps"] if jumps else [])
        ax.set_title("joint velocities" + (f" ({', '.join(notes)})" if notes else ""), fontsize=9)
        self.times = times
        self.now = ax.axvline(times[0], color="#444444", linewidth=1.0, alpha=0.7)
        self.dynamic = [self.now]

    def show(self, t: float) -> None:
        self.now.set_xdata([t, t])


def render_path(chain: kin.Chain, targets, path, out, *, frames: int = 60, fps: float = 12.0, hold: float = 1.5,
                dpi: int = 80, still: bool = True, progress: bool = True, title: str | None = None, obstacles=None,
                geometry=None) -> dict:
    """Write an animation of the arm moving along a solved path (GIF or MP4), with a still of its end.

    Args:
        chain: the arm.
        targets: the waypoints' targets, (K, 3) positions or (K, 4, 4) poses (what `solve_path` was given).
        path: `kinematics.solve_path`'s PathResult for them, with times (solved with dt), K >= 2.
        out: the animation's path; ".gif" (Pillow) or ".mp4" (ffmpeg).
        frames: the most frames, evenly spaced over the waypoints (min(frames, K) of them).
        fps, hold, dpi, progress, title, obstacles, geometry: as for `render`.
        still: also write `<out stem>.png`, the last frame (the whole trail and the velocity plot).

    Returns:
        {"animation": Path, "filmstrip": Path of the still or None, "frames": F}.

    Raises:
        ValueError: a path without times or with fewer than 2 waypoints, a bad file type, MP4
            without ffmpeg, settings outside `check_render_settings`' bounds.
        OSError: a file could not be written; the message names it.
    """
    from autodiff.files import atomic_output

    out, write_video = _video(out)
    check_render_settings(frames, fps, dpi, hold, 1)
    targets = np.asarray(targets, dtype=float)
    if targets.ndim == 2 and targets.shape[1] == 2 and chain.planar:
        targets = chain.lift(targets)  # (x, y) in the arm's plane
    K = len(path.q)
    if K < 2 or path.times is None or len(targets) != K:
        raise ValueError(f"render_path: needs a timed path (solve_path with dt) of >= 2 waypoints and one target "
                         f"per waypoint, got {K} answers, {len(targets)} targets, times "
                         f"{'None' if path.times is None else len(path.times)}")
    obstacles = list(obstacles.values()) if isinstance(obstacles, Mapping) else list(obstacles or ())
    t = path_frames(K, frames)
    run = Run("path", {"q": path.q, "position_error": path.position_error, "rotation_error": path.rotation_error},
              bool(np.all(path.success)))
    track = _Track(chain, run, t, geometry)
    positions = targets[:, :3, 3] if targets.ndim == 3 else targets
    fig = _figure(figure_size(1), dpi)
    grid = fig.add_gridspec(1, 2, width_ratios=[1.15, 1.0], left=0.06, right=0.97, bottom=0.12, top=0.86,
                            wspace=0.22)
    ax = fig.add_subplot(grid[0, 0], projection=None if chain.planar else "3d")
    end, rotation = _target_pose(targets[-1])
    bounds = _Bounds([track], end, chain.planar, obstacles, points=positions)
    color = COLORS["lm"]
    view = _ArmView(ax, track, bounds, end, rotation, chain.planar, color, "", obstacles, chain.plane_z)
    view.counter, view.clock = "waypoint", path.times
    line = positions[:, :2] if chain.planar else positions
    ax.plot(*[line[:, i] for i in range(line.shape[1])], linestyle="--", linewidth=1.0, color=TARGET_COLOR,
            alpha=0.8, zorder=2)
    panel = _VelocityPanel(fig.add_subplot(grid[0, 1]), chain, path.q, path.times, path.velocity_limits, path.jumps)
    jumps = f", jumps at waypoints {_short_list(path.jumps)}" if path.jumps else ""
    fig.suptitle(f"{title or chain.name}: {K} waypoints in {path.times[-1]:.2f} s, largest joint step "
                 f"{path.max_joint_step:.3g}{jumps}", fontsize=10)
    blitter = _Blitter(fig, view.dynamic + panel.dynamic)
    clock = np.interp(t, np.arange(K), path.times)

    def show(f):
        view.show(f)
        panel.show(clock[f])

    frames = blitter.render(len(t), show, write_video, out, fps, hold, progress)
    strip = None
    if still:
        strip = out.with_suffix(".png")
        for artist in blitter.artists:  # drawn in place: the last frame, as a plain figure
            artist.set_animated(False)
        with atomic_output(strip) as tmp:
            fig.savefig(tmp, dpi=max(dpi, 90))
    return {"animation": out, "filmstrip": strip, "frames": frames}


def _short_list(values, limit: int = 6) -> str:
    values = [str(v) for v in values]
    return ", ".join(values) if len(values) <= limit else ", ".join(values[:limit]) + f", ... ({len(values)} in all)"
