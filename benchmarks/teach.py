"""`armgrad teach`'s drag updates: 1,000 small gizmo moves along a path, solved as the server does.

Each update is `demos.teach.Teacher.solve_to` (the code the teach view's worker runs): Panda full
pose IK warm-started from the previous answer, no random restarts. The path: a closed loop of
radius 0.12 m through the workspace in front of the arm with the tool turning slowly (about 1 mm
and 0.3 degrees per update, a hand's drag sampled at 60 Hz). The goal: p95 <= 10 ms per update.
The reference, in the same run: a cold single-target solve (`kin.solve(arm, T)`, default start and
restarts) of the same poses.

Every update is judged by FK at the answer (1e-6 m, 1e-6 rad), never by the solver's flag.

    python -m benchmarks.teach [--quick] [--updates 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import kinematics as kin
import robots
from benchmarks import blas_threads

TOL = 1e-6


def path(T0: np.ndarray, count: int) -> np.ndarray:
    """(count, 4, 4) poses on a loop of radius 0.12 m about T0's position, the tool turning ±0.3 rad."""
    s = np.linspace(0, 2 * np.pi, count, endpoint=False)
    T = np.repeat(T0[None], count, axis=0)
    T[:, :3, 3] += 0.12 * np.stack([np.cos(s) - 1, np.sin(s), 0.5 * np.sin(2 * s)], axis=1)
    for k, angle in enumerate(0.3 * np.sin(s)):
        T[k, :3, :3] = T0[:3, :3] @ kin.transforms.rot_x(angle)[:3, :3]
    return T


def main(argv=None) -> None:
    from demos.teach import Teacher

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (50 updates)")
    parser.add_argument("--updates", type=int, default=1000)
    args = parser.parse_args(argv)
    count = 50 if args.quick else args.updates
    arm = robots.get("panda")
    teacher = Teacher(arm)
    targets = path(teacher.pose(), count)
    with_threads = blas_threads()

    times, met, steps = [], 0, []
    for T in targets:
        q_before = teacher.q.copy()
        start = time.perf_counter()
        teacher.solve_to(T)
        times.append(time.perf_counter() - start)
        e = kin.pose_error(kin.forward_kinematics(arm, teacher.q), T)
        met += bool(np.linalg.norm(e[:3]) <= TOL and np.linalg.norm(e[3:]) <= TOL)
        steps.append(float(np.abs(teacher.q - q_before).max()))
    cold = []
    for T in targets[:: max(1, count // 100)]:
        start = time.perf_counter()
        kin.solve(arm, T)
        cold.append(time.perf_counter() - start)
    ms = np.array(times) * 1e3
    p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
    cold_ms = statistics.median(cold) * 1e3
    print(f"Panda drag updates: {count} moves along a loop, warm-started (demos.teach.Teacher.solve_to); "
          f"{with_threads}")
    print(f"  met at 1e-6 by FK: {met}/{count}; largest joint step between updates {max(steps):.3f} rad")
    print(f"  per update: median {p50:.2f} ms, p95 {p95:.2f} ms (goal <= 10 ms: {'met' if p95 <= 10 else 'MISSED'}), "
          f"max {ms.max():.1f} ms")
    print(f"  reference, same run: a cold solve of the same poses, median {cold_ms:.2f} ms; "
          f"median update / cold solve = {p50 / cold_ms:.2f}")


if __name__ == "__main__":
    main()
