"""IK as tasks: the one-task chain solve against the code before tasks, and the new task kinds.

Every answer is judged by the same independent check: FK at the returned q (kinematics.frame_poses),
errors within 1e-6 m and 1e-6 rad, joints within the limits; never the solver's own flag.

1. `solve(chain, T)` on the Panda, one target at a time (median) and a batch of 10,000, against
   the same code at a git revision before the tasks work (`--baseline`, checked out to a temporary
   folder and run in subprocesses interleaved with the current tree, so both see the same machine).
2. Dual Panda (robots.get("dual_panda")): two hand poses at once, a batch of 1,000.
3. Panda Axis target (tool z along a direction, tool origin at a point, spin free), batch of 1,000.
4. Panda pose + Posture(mid-range): success and the mean posture cost ½‖q − q_rest‖² with and
   without the soft task, on the same targets.
5. pink and mink on the same Panda pose targets, where installed (benchmarks.others).

   With --instructions, valgrind's callgrind also counts the instructions each solve executes in
   both trees: a figure that a loaded machine does not move.

    python -m benchmarks.tasks [--quick] [--targets 1000] [--baseline c1a70b0] [--rounds 6] [--instructions]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import kinematics as kin
import robots
from benchmarks import blas_threads

TOL = 1e-6
ROOT = pathlib.Path(__file__).resolve().parents[1]
BASELINE = "c1a70b0"  # main before the tasks work (issue 11's solver change)

# The timing run, the same source for both trees (only solve(chain, T) and robots.get, which both have).
_TIMING = """
import json, statistics, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import kinematics as kin, robots
arm = robots.get("panda")
rng = np.random.default_rng([7, 0xBE7C])
def targets(count):
    return kin.forward_kinematics(arm, rng.uniform(arm.lower, arm.upper, (count, arm.n)))
single, large = targets(int(sys.argv[2])), targets(int(sys.argv[3]))
kin.solve(arm, single[0])
times = []
for T in single:
    start = time.perf_counter(); kin.solve(arm, T); times.append(time.perf_counter() - start)
start = time.perf_counter(); result = kin.solve(arm, large) if len(large) else None
batch = time.perf_counter() - start
print(json.dumps({"single": statistics.median(times), "batch": batch,
                  "solved": float(result.success.mean()) if result is not None else None}))
"""


def judge(robot, q, tasks_frames, targets):
    """Success (B,) by FK at q: every frame within 1e-6 m / 1e-6 rad of its (B, 4, 4) target, inside the limits."""
    T = kin.frame_poses(robot, q, tasks_frames)
    ok = np.all((q >= robot.lower - 1e-12) & (q <= robot.upper + 1e-12), axis=-1)
    for k in range(len(tasks_frames)):
        pe = np.linalg.norm(T[:, k, :3, 3] - targets[:, k, :3, 3], axis=-1)
        re = np.linalg.norm(kin.rotation_vector(targets[:, k, :3, :3] @ np.swapaxes(T[:, k, :3, :3], -1, -2)), axis=-1)
        ok &= (pe <= TOL) & (re <= TOL)
    return ok


def sample(robot, count, seed):
    rng = np.random.default_rng([seed, 0xBE7C])
    lo, hi = np.maximum(robot.lower, -np.pi), np.minimum(robot.upper, np.pi)
    return rng.uniform(lo, hi, (count, robot.n))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


@contextlib.contextmanager
def _checkout(revision, what):
    """A temporary git worktree of `revision` (its path), or None after printing why `what` is skipped."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        print(f"  {what} skipped: needs git and the repository's history")
        yield None
        return
    with tempfile.TemporaryDirectory() as tmp:
        old = pathlib.Path(tmp) / "baseline"
        made = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), revision],
                              capture_output=True, text=True)
        if made.returncode:
            print(f"  {what} skipped: git could not check out {revision}: {made.stderr.strip()[:200]}")
            yield None
            return
        try:
            yield old
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)


def baseline_comparison(revision, n_single, n_large, rounds):
    """Interleaved subprocess runs of `_TIMING` in the current tree and at `revision`: ratios of medians."""
    with _checkout(revision, "baseline comparison") as old:
        if old is None:
            return
        figures = {"baseline": [], "current": []}
        for k in range(rounds):
            pair = (("baseline", old), ("current", ROOT))
            for label, tree in (pair if k % 2 == 0 else pair[::-1]):  # alternate who goes first
                run = subprocess.run([sys.executable, "-c", _TIMING, str(tree), str(n_single), str(n_large)],
                                     capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tree)})
                if run.returncode:
                    print(f"  baseline comparison failed in the {label} tree: {run.stderr.strip()[-300:]}")
                    return
                figures[label].append(json.loads(run.stdout))
    for key, what in (("single", "one target at a time, median"), ("batch", f"batch of {n_large}")):
        if key == "batch" and not n_large:
            continue
        base = statistics.median(f[key] for f in figures["baseline"])
        now = statistics.median(f[key] for f in figures["current"])
        unit = (1e3, "ms") if key == "single" else (1.0, "s")
        print(f"  Panda solve(chain, T), {what}: {now * unit[0]:.3f} {unit[1]} now vs {base * unit[0]:.3f} "
              f"{unit[1]} at {revision}: {now / base:.3f}x ({'within' if now <= 1.05 * base else 'NOT within'} 5 %; "
              f"medians of {rounds} interleaved rounds)")


# Instructions executed by a solve (valgrind's callgrind), which a loaded machine does not change:
# the same script with one more batch or k more single targets, minus its run without them.
_COUNTED = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import kinematics as kin, robots
arm = robots.get("panda")
rng = np.random.default_rng([7, 0xBE7C])
T = kin.forward_kinematics(arm, rng.uniform(arm.lower, arm.upper, (int(sys.argv[3]), arm.n)))
if sys.argv[2] == "single":
    for t in T:
        kin.solve(arm, t)
else:
    kin.solve(arm, T)
"""


# String hashing (set and dict orders) and BLAS's thread pool otherwise vary the count by ~2 %
# between runs of the same tree.
_STEADY = {"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _instructions(tree, mode, count):
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
                          _COUNTED, str(tree), mode, str(count)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(tree), **_STEADY})
    found = [line for line in run.stderr.splitlines() if "Collected :" in line]
    if run.returncode or not found:
        raise RuntimeError(run.stderr.strip()[-300:])
    return int(found[-1].split(":")[-1])


def instruction_comparison(revision, n_single, n_large):
    """Instructions per solve (callgrind) in the current tree and at `revision`: a noise-free regression check."""
    if shutil.which("valgrind") is None:
        print("  instruction counts skipped: needs valgrind")
        return
    with _checkout(revision, "instruction counts") as old:
        if old is None:
            return
        counts = {}
        for label, tree in (("baseline", old), ("current", ROOT)):
            single = (_instructions(tree, "single", n_single + 1) - _instructions(tree, "single", 1)) / n_single
            batch = _instructions(tree, "batch", n_large) - _instructions(tree, "batch", 1)
            counts[label] = (single, batch)
    for k, what in ((0, f"one target at a time (mean of {n_single})"), (1, f"batch of {n_large}")):
        base, now = counts["baseline"][k], counts["current"][k]
        print(f"  Panda solve(chain, T), {what}: {now / 1e6:,.1f} M instructions now vs {base / 1e6:,.1f} M at "
              f"{revision}: {now / base:.4f}x (callgrind; {'within' if now <= 1.05 * base else 'NOT within'} 5 %)")


def dual_arm(count):
    robot = robots.get("dual_panda")
    q_goal = sample(robot, count, seed=1)
    frames = ["left_tool", "right_tool"]
    T = kin.frame_poses(robot, q_goal, frames)
    result, seconds = timed(lambda: kin.solve(robot, [kin.Pose("left_tool", T[:, 0]), kin.Pose("right_tool", T[:, 1])]))
    ok = judge(robot, result.q, frames, T)
    print(f"  dual_panda, two hand poses, batch of {count}: {100 * ok.mean():.1f} % solved "
          f"({count / seconds:,.0f} solves/s, {seconds:.2f} s)")


def axis(count):
    arm = robots.get("panda")
    T = kin.forward_kinematics(arm, sample(arm, count, seed=2))
    task = kin.Axis("tool", [0, 0, 1], T[:, :3, 2], position=T[:, :3, 3])
    result, seconds = timed(lambda: kin.solve(arm, task))
    got = kin.forward_kinematics(arm, result.q)
    angle = np.arccos(np.clip(np.sum(got[:, :3, 2] * T[:, :3, 2], axis=-1), -1.0, 1.0))
    ok = (np.linalg.norm(got[:, :3, 3] - T[:, :3, 3], axis=-1) <= TOL) & (angle <= TOL)
    ok &= np.all((result.q >= arm.lower) & (result.q <= arm.upper), axis=-1)
    print(f"  Panda Axis (5-DoF) target, batch of {count}: {100 * ok.mean():.1f} % solved "
          f"({count / seconds:,.0f} solves/s)")


def posture(count):
    arm = robots.get("panda")
    T = kin.forward_kinematics(arm, sample(arm, count, seed=3))
    rest = 0.5 * (arm.lower + arm.upper)
    plain, t_plain = timed(lambda: kin.solve(arm, kin.Pose("tool", T)))
    soft, t_soft = timed(lambda: kin.solve(arm, [kin.Pose("tool", T), kin.Posture(rest)]))
    for label, result, seconds in (("without Posture", plain, t_plain), ("with Posture", soft, t_soft)):
        ok = judge(arm, result.q, ["tool"], T[:, None])
        cost = 0.5 * np.sum((result.q - rest) ** 2, axis=-1)
        print(f"  Panda pose {label:<16} batch of {count}: {100 * ok.mean():.1f} % solved, mean posture cost "
              f"{cost.mean():.4f} (median {np.median(cost):.4f}), {count / seconds:,.0f} solves/s")


def others(count):
    from benchmarks import others as other_solvers

    arm = robots.get("panda")
    T = kin.forward_kinematics(arm, sample(arm, count, seed=4))
    mid = 0.5 * (arm.lower + arm.upper)
    for name, solver in (("pink", other_solvers.pink_solve), ("mink", other_solvers.mink_solve)):
        try:
            q, seconds = timed(lambda solver=solver: solver(T, mid))
        except ImportError as missing:
            print(f"  {name}: skipped ({missing})")
            continue
        ok = judge(arm, q, ["tool"], T[:, None])
        print(f"  {name} on the same {count} Panda poses from mid-range: {100 * ok.mean():.1f} % solved "
              f"({count / seconds:,.0f} solves/s; settings in benchmarks/others.py)")
    ours = kin.solve(arm, T)
    print(f"  armgrad on them: {100 * judge(arm, ours.q, ['tool'], T[:, None]).mean():.1f} % solved")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, no baseline checkout (a smoke run)")
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--single", type=int, default=200, help="targets solved one at a time for the baseline")
    parser.add_argument("--large", type=int, default=10000, help="batch size for the baseline comparison")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare solve(chain, T) with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--instructions", action="store_true",
                        help="also count the solves' instructions with valgrind (noise-free, a few minutes)")
    args = parser.parse_args(argv)
    print(f"IK tasks benchmark: success = FK within {TOL} m and {TOL} rad and inside the limits; {blas_threads()}")
    if args.quick:
        args.targets = 8
        print("  baseline comparison skipped in --quick (it checks out and runs another revision)")
    else:
        baseline_comparison(args.baseline, args.single, args.large, args.rounds)
        if args.instructions:
            instruction_comparison(args.baseline, 40, 1000)
    dual_arm(args.targets)
    axis(args.targets)
    posture(args.targets)
    others(min(args.targets, 1000))


if __name__ == "__main__":
    main()
