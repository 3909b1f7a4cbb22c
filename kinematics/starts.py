"""Starts near the target: a fixed sample of each robot's configurations, looked up by frame poses.

LM converges fast once it is in the basin of an answer, and most of a lone target's iterations
are spent getting there from a uniformly random start. So the solver's extra starts (those after
q0 or the default start) are the configurations, among SAMPLES drawn once per robot, whose end
poses lie nearest the target: an end pose is a point f = [p, s · vec R] (12 numbers; p in metres,
R's nine entries times a length s = ROTATION_SCALE · the sample's spread, the RMS distance of its
end positions from their mean: the arm's size, finite for any limits), and nearness is the squared
distance |f − f_t|² = |p − p_t|² + s² |R − R_t|²_F. For a position target it is |p − p_t|².

Measured (300 targets each, FK of uniform configurations, 4 starts): mean iterations per Panda
target 7.8 -> 4.9 and its 95th percentile 15 -> 7; UR5 9.1 -> 5.4; Puma 560 9.6 -> 5.3, with
every target solved. 16,384 samples gave 4.7 iterations for four times the lookup; s from 0.1 to
0.4 times the reach changed the mean by under 0.3. The lookup costs ~30 µs a target, a sixth of
an iteration. A chain's sample also keeps its end poses and Jacobians (made on first use), which
the IK loop's first iteration reads in place of a pass at those starts.

A target can name several frames (hard tasks that are each a Pose or a Position on a frame of
their own, as a tree's two hands): its point is then the frames' points side by side, each
frame's rotation scaled by its own spread, and nearness the sum of the frames' squared distances
(dual_panda's two hand poses: 12.8 -> 10.2 mean iterations over 60 targets; 4,096 samples cover
its 14 joints more thinly than an arm's 7).

The sample is drawn from its own random stream, not the solver's `seed`: the same robot always
gets the same sample, and results stay reproducible for a seed. A lone target's restarts after a
stall stay uniformly random (its near starts, which failed, are near each other); a target that
began with one start (a batch's) restarts from its nearest samples first (`ik.NEAR_RESTARTS`).

Glossary: S samples; B targets; n joints; k frames.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

import numpy as np

from .chain import Chain
from .fk import _forward_kinematics, _frame_poses, _pose_and_jacobian_chunked
from .robot import as_robot

__all__ = ["nearest_starts", "Goal", "SAMPLES", "ROTATION_SCALE"]

SAMPLES = 4096
ROTATION_SCALE = 0.6  # s / spread: a unit of |R − R_t|_F weighs like 0.6 of the arm's size (Panda: s ≈ 0.36 m)
# Two words, so that no caller's default_rng(integer) draws the same configurations (see ik._STREAM).
_SAMPLE_STREAM = (0x5EED5, 0x1C0DE)
# Targets per lookup: the (chunk, S) distances stay cache-sized (8 MB).
_CHUNK = 256


class Goal(NamedTuple):
    """What a target asks of one frame: its pose (B, 4, 4), or its position (B, 3).

    Attributes:
        frame: the frame's name ("tool" for a chain's end).
        targets: (B, 4, 4) poses or (B, 3) positions, in the robot's root frame.
        rotation: False for a pose whose rotation is not asked for (weighted zero): its position only.
    """

    frame: str
    targets: np.ndarray
    rotation: bool = True


class _Sample:
    """One robot's sample for some frames and one sampling box: q (S, n), the frames' top rows
    [R | p] (k, S, 3, 4) and each frame's rotation scale s (k,); lookup tables per choice of rotations.

    For one frame |f − f_t|² − |f_t|² = |p|² + s² |R|²_F − 2 (p·p_t + s² R·R_t) is, for the target's
    top rows flattened (12,), one product with a table (12, S) plus the sample's own norms (S,):
    the table holds −2 p and −2 s² R in the layout of those 12 entries (−2 p alone, (3, S), for a
    position). Several frames stack their tables' rows and add their norms.
    """

    __slots__ = ("box", "q", "tops", "scales", "tables", "evaluated")

    def __init__(self, robot, frames, box_lo, box_span):
        self.box = (box_lo.tobytes(), box_span.tobytes())
        rng = np.random.default_rng(_SAMPLE_STREAM)
        self.q = box_lo + box_span * rng.random((SAMPLES, robot.n))
        self.tops = _frames_top_rows(robot, frames, self.q)  # (k, S, 3, 4)
        p = self.tops[..., 3]
        self.scales = ROTATION_SCALE * np.sqrt(((p - p.mean(axis=1, keepdims=True)) ** 2).sum(axis=2).mean(axis=1))
        self.tables = {}
        self.evaluated = {}

    def evaluations(self, chain: Chain) -> tuple:
        """A chain end's poses (S, 4, 4) and Jacobians (S, 6, n) at the sample, by the IK loop's own
        pass (`fk._pose_and_jacobian_chunked`), made on a chain's first call (~10 ms for a Panda).

        Unlike the starts, which any robot that agrees with the sample's at its probes may share
        (a worse start is never a wrong answer), these are the loop's errors at the starts: they
        are shared only by chains whose FK is the very same computation (`_definition`).
        """
        key = _definition(chain)
        found = self.evaluated.get(key)
        if found is None:
            if len(self.evaluated) >= 4:  # (content-equal chains that compute differently: rare)
                self.evaluated.clear()
            found = self.evaluated[key] = _pose_and_jacobian_chunked(chain, self.q)
            for array in found:
                array.flags.writeable = False
        return found

    def table(self, rotations: tuple) -> tuple:
        """(table (F, S), norms (S,)) for the frames' goals, rotation or not per frame."""
        found = self.tables.get(rotations)
        if found is None:
            rows, norms = [], np.zeros(SAMPLES)
            for top, scale, rotation in zip(self.tops, self.scales, rotations):
                p = top[:, :, 3]
                norms += (p * p).sum(axis=1)
                if rotation:
                    weighted = top.copy()
                    weighted[:, :, :3] *= scale * scale
                    rows.append(-2.0 * weighted.reshape(SAMPLES, 12))
                    norms += scale * scale * (top[:, :, :3] ** 2).sum(axis=(1, 2))
                else:
                    rows.append(-2.0 * p)
            found = self.tables[rotations] = (np.concatenate(rows, axis=1).T.copy(), norms)
        return found


def _definition(chain: Chain) -> bytes:
    """What fixes a chain's FK and Jacobian passes: its folded tables and coupling, as bytes with
    their shapes and types (cached per chain; a chain's geometry does not change after it is built).
    Chains with equal bytes compute the very same numbers."""
    found = _DEFINITIONS.get(chain)
    if found is None:
        compiled = chain.compiled
        parts = [*compiled["terms"], *compiled["terms_fk"], compiled["frames"], compiled["constants"],
                 compiled["tip"], *(chain.coupling or (None,))]
        found = _DEFINITIONS[chain] = b"".join(b"-" if a is None else f"{a.dtype.str}{a.shape}".encode() + a.tobytes()
                                               for a in parts)
    return found


_DEFINITIONS = weakref.WeakKeyDictionary()  # chain -> _definition's bytes


def _frames_top_rows(robot, frames: tuple, q: np.ndarray) -> np.ndarray:
    """The frames' top rows [R | p] at configurations q (S, n): (k, S, 3, 4)."""
    if isinstance(robot, Chain) and frames == ("tool",):  # the chain's own FK (the IK loop's numbers)
        return _forward_kinematics(robot, q)[None, :, :3, :]
    return _frame_poses(as_robot(robot), q, list(frames)).swapaxes(0, 1)[:, :, :3, :]


# Samples per robot object (one weak lookup a solve), and by content: a robot made again
# (robots.get returns a new one per call) finds its sample there rather than paying its FK of
# SAMPLES configurations (~5 ms for a Panda, ~13 ms for dual_panda) anew. The content key is the
# frames' poses at two fixed configurations of the box, with the frames and the box (two robots
# that agreed there and nowhere else would share a sample: worse starts, never a wrong answer,
# since every answer is FK's).
_SAMPLES = weakref.WeakKeyDictionary()  # robot -> {frames: _Sample}
_BY_CONTENT: dict = {}
_PROBES = np.array([[0.31830988618379067], [0.7071067811865476]])  # 1/π and 1/√2 of the box's span


def nearest_starts(robot, goals, count: int, box_lo: np.ndarray, box_span: np.ndarray, evaluated: bool = False):
    """The `count` sampled configurations nearest each target, nearest first.

    Args:
        robot: a kinematics.Chain or Robot.
        goals: Goals (frame, targets, rotation), one per frame, each with B targets.
        count: starts per target, 1 <= count <= SAMPLES.
        box_lo, box_span: (n,) the box the solver samples starts from (finite).
        evaluated: (a Chain's "tool" goal only) also return the end's poses and Jacobians there.

    Returns:
        (B, count, n) configurations inside the box; with `evaluated`, (those, their poses
        (B, count, 4, 4), their Jacobians (B, count, 6, n)).
    """
    frames = tuple(goal.frame for goal in goals)
    samples = _SAMPLES.get(robot)
    if samples is None:
        samples = _SAMPLES[robot] = {}
    sample = samples.get(frames)
    if sample is None or sample.box != (box_lo.tobytes(), box_span.tobytes()):
        if len(samples) >= 16:  # bound the samples (~0.4 MB each) of a program that asks for many frame sets
            samples.clear()
        sample = samples[frames] = _sample_by_content(robot, frames, box_lo, box_span)
    rotations = tuple(goal.targets.ndim == 3 and goal.rotation for goal in goals)
    table, norms = sample.table(rotations)
    points = [_points(goal.targets, rotation) for goal, rotation in zip(goals, rotations)]
    points = points[0] if len(points) == 1 else np.concatenate(points, axis=1)
    B = len(points)
    picks = np.empty((B, count), dtype=np.intp)
    for lo in range(0, B, _CHUNK):
        d = points[lo:lo + _CHUNK] @ table + norms  # (chunk, S): |f − f_t|² − |f_t|²
        near = d.argpartition(count - 1, axis=1)[:, :count]
        rows = np.arange(len(d))[:, None]
        picks[lo:lo + _CHUNK] = near[rows, d[rows, near].argsort(axis=1, kind="stable")]  # nearest first
    if evaluated:
        T, J = sample.evaluations(robot)
        return sample.q[picks], T[picks], J[picks]
    return sample.q[picks]


def _sample_by_content(robot, frames, box_lo, box_span) -> _Sample:
    key = (frames, box_lo.tobytes(), box_span.tobytes(),
           _frames_top_rows(robot, frames, box_lo + _PROBES * box_span).tobytes())
    sample = _BY_CONTENT.get(key)
    if sample is None:
        if len(_BY_CONTENT) >= 32:
            _BY_CONTENT.clear()
        sample = _BY_CONTENT[key] = _Sample(robot, frames, box_lo, box_span)
    return sample


def _points(targets: np.ndarray, rotation: bool) -> np.ndarray:
    """One goal's targets as lookup points: the top rows [R | p] flattened (B, 12), or positions (B, 3)."""
    if rotation:
        return targets[:, :3, :].reshape(len(targets), 12)
    return targets[:, :3, 3] if targets.ndim == 3 else targets
