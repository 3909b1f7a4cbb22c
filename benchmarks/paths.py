"""Paths: kin.solve_path against kin.optimize_trajectory on 200-waypoint straight lines, Panda and UR5.

For each case: milliseconds per path for solve_path (each waypoint warm-started from the last) and
for optimize_trajectory started from solve_path's answer, the largest joint step, and the summed
squared jerk Σ‖Δ³q/dt³‖² before and after (dt = 0.01 s). Every answer is judged by the same
independent check: FK at the returned q (kin.forward_kinematics) within 1e-6 m and 1e-6 rad of
every waypoint's target, joints within their limits; never the solver's own flag.

Cases: the Panda on full poses (7 joints, 6 constraints: one free direction per waypoint), the
Panda on positions (four), the UR5 on full poses (isolated answers: optimize_trajectory reports
"isolated" and the jerk stays), the UR5 on positions (three). Medians over --rounds runs.

    python -m benchmarks.paths [--quick] [--waypoints 200] [--rounds 3]
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
DT = 0.01
STARTS = {"panda": None, "ur5": np.array([0.3, -1.2, 1.5, -1.8, -1.5, 0.4])}  # None: kin.default_start
SHIFTS = {"panda": [0.0, 0.3, -0.2], "ur5": [0.1, 0.2, -0.1]}


def line(arm, q0, shift, K):
    """K poses (K, 4, 4) along a straight line from FK(q0), orientation held."""
    T = np.repeat(kin.forward_kinematics(arm, q0)[None], K, axis=0)
    T[:, :3, 3] += np.linspace(0.0, 1.0, K)[:, None] * np.asarray(shift)
    return T


def judge(arm, q, targets) -> bool:
    """Every waypoint within 1e-6 m / 1e-6 rad of its target by FK at q, and inside the limits."""
    P = kin.forward_kinematics(arm, q)
    if targets.shape[-1] == 3:
        pe, re = np.linalg.norm(P[:, :3, 3] - targets, axis=-1), np.zeros(len(q))
    else:
        pe = np.linalg.norm(P[:, :3, 3] - targets[:, :3, 3], axis=-1)
        re = np.linalg.norm(kin.rotation_vector(targets[:, :3, :3] @ np.swapaxes(P[:, :3, :3], -1, -2)), axis=-1)
    inside = np.all((q >= arm.lower) & (q <= arm.upper))
    return bool(inside and pe.max() <= TOL and re.max() <= TOL)


def jerk(q) -> float:
    return float(np.sum((np.diff(q, 3, axis=0) / DT ** 3) ** 2))


def run_case(name, kind, K, rounds):
    arm = robots.get(name)
    q0 = kin.default_start(arm) if STARTS[name] is None else STARTS[name]
    T = line(arm, q0, SHIFTS[name], K)
    targets = T if kind == "pose" else T[:, :3, 3]
    path_times, opt_times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        path = kin.solve_path(arm, targets, q0)
        path_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = kin.optimize_trajectory(arm, targets, path.q, dt=DT)
        opt_times.append(time.perf_counter() - start)
    return {
        "case": f"{name} {kind}s", "path_ms": 1e3 * statistics.median(path_times),
        "opt_ms": 1e3 * statistics.median(opt_times), "path_ok": judge(arm, path.q, targets),
        "opt_ok": judge(arm, result.q, targets), "path_step": path.max_joint_step, "opt_step": result.max_joint_step,
        "jerk_before": jerk(path.q), "jerk_after": jerk(result.q), "iterations": result.iterations,
        "reason": result.reason.split(":")[0], "freedom": int(result.freedom.max()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 waypoints, one round (a smoke test)")
    parser.add_argument("--waypoints", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    K, rounds = (30, 1) if args.quick else (args.waypoints, args.rounds)
    print(f"straight-line paths, {K} waypoints, dt = {DT} s; median of {rounds} run(s); "
          "checked by FK at every waypoint (1e-6 m, 1e-6 rad) and the limits")
    header = (f"{'case':<16}{'solve_path ms':>14}{'optimize ms':>13}{'FK ok':>11}{'max step (rad)':>22}"
              f"{'jerk (rad²/s⁶) before -> after':>34}{'free dirs':>11}{'iters':>7}  reason")
    print(header)
    print("-" * len(header))
    for name, kind in (("panda", "pose"), ("panda", "position"), ("ur5", "pose"), ("ur5", "position")):
        r = run_case(name, kind, K, rounds)
        ok = f"{'yes' if r['path_ok'] else 'NO'}/{'yes' if r['opt_ok'] else 'NO'}"
        steps = f"{r['path_step']:.4f} -> {r['opt_step']:.4f}"
        jerks = f"{r['jerk_before']:.4g} -> {r['jerk_after']:.4g}"
        print(f"{r['case']:<16}{r['path_ms']:>14.1f}{r['opt_ms']:>13.1f}{ok:>11}{steps:>22}{jerks:>34}"
              f"{r['freedom']:>11}{r['iterations']:>7}  {r['reason']}")
    print("FK ok: solve_path's answer / optimize_trajectory's. Free dirs: n minus the rank of a waypoint's task "
          "Jacobian (0: isolated answers, the jerk cannot drop).")
    print(blas_threads())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
