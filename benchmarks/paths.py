"""Paths: kin.solve_path against kin.optimize_trajectory on 200-waypoint straight lines, Panda and UR5.

For each case: milliseconds per path for solve_path (each waypoint warm-started from the last) and
for optimize_trajectory started from solve_path's answer, the largest joint step, and the summed
squared jerk Σ‖Δ³q/dt³‖² before and after (dt = 0.01 s). Every answer is judged by the same
independent check: FK at the returned q (kin.forward_kinematics) within 1e-6 m and 1e-6 rad of
every waypoint's target, joints within their limits; never the solver's own flag.

Cases: the Panda on full poses (7 joints, 6 constraints: one free direction per waypoint), the
Panda on positions (four), the UR5 on full poses (isolated answers: optimize_trajectory reports
"isolated" and the jerk stays), the UR5 on positions (three). Medians over --rounds runs.

With --lengths: the joint-space length Σ‖Δq‖ of solve_path's answer from a mid-range start,
against the shortest of 20 paths started from random configurations solved at the first
waypoint (the issue's "within 5 %" check), on Panda lines from three starts along four
directions; and the length after optimize_trajectory(costs={"velocity": 1}, q_start=q0).

    python -m benchmarks.paths [--quick] [--waypoints 200] [--rounds 3] [--lengths]
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
    parser.add_argument("--lengths", action="store_true", help="only the joint-length comparison")
    args = parser.parse_args(argv)
    if args.lengths:
        return lengths()
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


LENGTH_STARTS = ([0.0, 0.0, 0.0, -1.6, 0.0, 1.6, 0.8], None, [0.5, -0.3, 0.2, -2.0, 0.3, 2.0, 0.0])
LENGTH_SHIFTS = ([0.15, 0.2, -0.15], [0.0, -0.3, 0.1], [-0.2, 0.1, 0.2], [0.25, 0.0, 0.0])


def joint_length(q0, q) -> float:
    """Σ_k ‖q_k − q_{k−1}‖ over the path q (K, n) that departs from q0 (n,)."""
    return float(np.linalg.norm(np.diff(np.vstack([q0, q]), axis=0), axis=1).sum())


def lengths(K: int = 200, step: float = 0.05, tries: int = 20) -> int:
    arm = robots.get("panda")
    print(f"Panda lines of {K} waypoints, orientation held; solve_path(max_joint_step={step}) from q0 against the "
          f"shortest of {tries} paths from random starts at the first waypoint")
    for q0 in LENGTH_STARTS:
        q0 = kin.default_start(arm) if q0 is None else np.asarray(q0)
        for shift in LENGTH_SHIFTS:
            T = line(arm, q0, shift, K)
            path = kin.solve_path(arm, T, q0, max_joint_step=step)
            if not path.success.all() or path.jumps:
                print(f"  q0 {np.round(q0, 2)}, shift {shift}: solve_path reports jumps {path.jumps[:3]}: left out")
                continue
            rng, found = np.random.default_rng(17), []
            for i in range(tries):
                start = kin.solve(arm, T[0], q0=rng.uniform(arm.lower, arm.upper), seed=i)
                other = kin.solve_path(arm, T, start.q, max_joint_step=step)
                if start.success and other.success.all() and not other.jumps:
                    found.append(joint_length(start.q, other.q))
            smooth = kin.optimize_trajectory(arm, T, path.q, dt=DT, costs={"velocity": 1.0}, q_start=q0)
            best = min(found)
            print(f"  q0 {np.round(q0, 2)}, shift {shift}: {joint_length(q0, path.q):.3f} rad, shortest of "
                  f"{len(found)} {best:.3f} ({joint_length(q0, path.q) / best - 1:+.1%}); velocity-optimised "
                  f"{joint_length(q0, smooth.q) / best - 1:+.1%} (FK ok: {judge(arm, smooth.q, T)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
