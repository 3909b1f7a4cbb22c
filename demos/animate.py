"""`armgrad animate ROBOT --target ... --out FILE`: watch a solver converge (GIF/MP4 + PNG filmstrip).

`armgrad animate ROBOT --path FILE --out FILE`: the arm moving along a path of waypoints solved by
`kinematics.solve_path`, beside its joint velocities (GIF/MP4 + a PNG of the last frame).
"""

from __future__ import annotations

import sys
import time

import numpy as np

import kinematics as kin
from demos import common
from demos import animation  # the renderer's bounds and arguments (it loads matplotlib lazily)

EXAMPLES = f"""\
examples:
  armgrad animate planar3 --target 0.6 1.3 --method gd --out planar3-gd.gif
  armgrad animate planar3 --target 0.6 1.3 --compare gd,adam,lm --out planar3-compare.gif
  armgrad animate panda --target 0.45 0.25 0.35 --rpy 3.1416 0 0 --out panda-lm.gif
  armgrad animate panda --target 0.45 0.25 0.35 --rpy 3.1416 0 0 --compare gd,lm --out panda.gif
  armgrad animate ur5 --target 0.3 0.3 0.4 --out ur5.mp4          (MP4 needs ffmpeg)
  armgrad animate panda --target 0.5 0 0.3 --rpy 3.1416 0 0 --scene table.toml --out panda-scene.gif
  armgrad animate panda --path line.csv --q0 0 0 0 -1.6 0 1.6 0.8 --dt 0.02 --out panda-line.gif

Writes the animation (.gif by Pillow, or .mp4 by ffmpeg when it is installed) and a PNG
filmstrip with the same name (.png). Every method starts from the same q0 (default: the middle
of each joint's range plus a small fixed perturbation, the solver's own first start), with one
start and no random restarts unless --restarts N, so the picture is one solver's real path.
Exit status 0 once the files are written, converged or not (each run's outcome is printed).
Long runs are shown at --frames log-spaced iterations (at most {animation.MAX_FRAMES}; every frame is held in
memory until the file is written, so a large --dpi allows fewer). Orientation: --rpy
({common.RPY_CONVENTION}) or --quat QX QY QZ QW (scalar last).
With --scene FILE the solver keeps the arm --margin clear of the obstacles (and of itself, unless
--no-self-collision), and the animation draws the obstacles and the arm's collision capsules.

--path FILE (instead of --target): a CSV (or .parquet, .npy) of waypoints with the columns
`armgrad solve --targets` reads (x,y,z and optionally roll,pitch,yaw or qx,qy,qz,qw), solved in
order from --q0 by kinematics.solve_path (each waypoint from the previous answer; a joint step
above --max-joint-step repaired by bisecting the segment, or reported as a jump), timed at --dt
seconds per waypoint and slowed where a joint would pass its speed limit (the arm's own, or
--velocity-limit). The animation shows the arm at --frames frames evenly spaced along the path and
the joint velocities beside it; FILE.png is its last frame (--no-filmstrip: none).
"""


def register(subparsers) -> None:
    parser = common.command_parser(
        subparsers, "animate", help="animate a solver converging onto a target (GIF/MP4 and PNG filmstrip)",
        description="Solve IK for ROBOT and write an animation of the iterations, with a PNG filmstrip.",
        epilog=EXAMPLES)
    common.add_robot_arguments(parser)
    common.add_target_arguments(parser)
    parser.add_argument("--path", metavar="FILE", help="waypoints to follow (instead of --target): "
                        "CSV with x,y,z[,roll,pitch,yaw | qx,qy,qz,qw], .parquet or .npy")
    parser.add_argument("--out", metavar="FILE", required=True, help="the animation: FILE.gif or FILE.mp4")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--method", choices=kin.METHODS, default="lm", help="the solver (default lm)")
    group.add_argument("--compare", metavar="M1,M2,...",
                       help="several methods side by side from the same start, e.g. gd,adam,lm")
    parser.add_argument("--q0", nargs="+", metavar="Q", help="the start: one value per joint")
    parser.add_argument("--seed", type=int, default=0, help="seed of random restarts (default 0)")
    parser.add_argument("--restarts", type=int, default=0, metavar="N",
                        help="random restarts allowed (default 0: the path from q0 only)")
    parser.add_argument("--max-iterations", type=int, metavar="N", help="iterations per start (solver default)")
    parser.add_argument("--degrees", action="store_true", help="--rpy and --q0 in degrees")
    parser.add_argument("--dt", type=float, default=0.05, metavar="SECONDS",
                        help="with --path: seconds per waypoint before the speed limits slow it (default 0.05)")
    parser.add_argument("--max-joint-step", type=float, default=0.1, metavar="STEP",
                        help="with --path: the largest joint step between waypoints before a repair or a "
                             "reported jump (rad or m; default 0.1)")
    parser.add_argument("--velocity-limit", type=float, metavar="SPEED",
                        help="with --path: one speed limit for every joint (rad/s or m/s; default: the arm's own)")
    common.add_scene_arguments(parser)
    animation.add_render_arguments(parser, "frame budget")
    parser.add_argument("--no-filmstrip", action="store_true", help="skip the PNG filmstrip")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def parse_methods(text: str) -> list:
    """'gd,adam,lm' -> ['gd', 'adam', 'lm'], checked against the solver's methods."""
    methods = [m.strip().lower() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in kin.METHODS]
    if unknown or not methods:
        raise common.CommandError(f"--compare: unknown method(s) {', '.join(unknown) or '(none)'}; "
                                  f"choose from {', '.join(kin.METHODS)}, comma-separated")
    if len(set(methods)) != len(methods):
        raise common.CommandError(f"--compare: a method is listed twice in {text!r}")
    return methods


def solve_runs(chain: kin.Chain, target, methods, q0, *, seed: int = 0, restarts: int = 0,
               max_iterations: int | None = None, collision=None):
    """Solve `target` with each method from the same q0, recording the history.

    One start per method (`starts=1`) so the history begins at q0; `restarts` random restarts
    are allowed after it. With `collision` (a `demos.common.Collision`) its tasks join the target.

    Returns:
        (runs, results): a list of `demos.animation.Run` and the matching IKResults.
    """
    from demos.animation import Run

    runs, results = [], []
    for method in methods:
        goal = target if collision is None else collision.goal(target)
        result = kin.solve(chain, goal, q0=q0, method=method, seed=seed, starts=1, max_restarts=restarts,
                           max_iterations=max_iterations, record_history=True)
        runs.append(Run(method, result.history, bool(result.success), int(result.restarts)))
        results.append(result)
    return runs, results


def check_render_options(args, n_runs: int = 1) -> None:
    """--frames, --fps, --dpi within `demos.animation`'s bounds (checked before solving)."""

    try:
        animation.check_render_settings(args.frames, args.fps, args.dpi, n_runs=n_runs,
                                        names={"frames": "--frames", "fps": "--fps", "dpi": "--dpi"})
    except ValueError as err:
        raise common.CommandError(str(err)) from None


def run(args) -> int:

    chain = common.robot_from_args(args)
    out = common.check_writable(args.out)
    if out.suffix.lower() not in (".gif", ".mp4"):
        raise common.CommandError(f"--out: the animation must be a .gif or .mp4 file, got {out.name!r}")
    if out.suffix.lower() == ".mp4" and animation.ffmpeg_path() is None:
        raise common.CommandError("--out: writing MP4 needs ffmpeg, which is not installed "
                                  "(e.g. apt-get install ffmpeg); write a .gif instead")
    if not args.no_filmstrip:
        common.check_writable(out.with_suffix(".png"), "--out (the filmstrip next to it)")
    if (args.path is None) == (args.target is None):
        raise common.CommandError("give either --target X Y Z (a solver converging) or --path FILE "
                                  "(waypoints to follow)")
    if args.path is not None:
        return run_path(args, chain, out)
    methods = parse_methods(args.compare) if args.compare else [args.method]
    check_render_options(args, len(methods))
    if args.restarts < 0:
        raise common.CommandError("--restarts must be >= 0")
    if args.max_iterations is not None and args.max_iterations < 1:
        raise common.CommandError("--max-iterations must be at least 1")
    target = common.target_from_args(chain, args, args.degrees)
    if args.q0 is not None:
        q0 = common.parse_q(chain, args.q0, args.degrees, "--q0")
        outside = common.outside_limits(chain, q0)
        if outside:
            raise common.CommandError(f"--q0: outside the joint limits: {', '.join(outside)}")
    else:
        q0 = kin.default_start(chain)
    collision = common.collision_from_args(args, chain)
    started = time.perf_counter()
    runs, results = solve_runs(chain, target, methods, q0, seed=args.seed, restarts=args.restarts,
                               max_iterations=args.max_iterations, collision=collision)
    solved = time.perf_counter() - started
    for method, result in zip(methods, results):
        print(summary_line(method, result, collision))
    title = f"{chain.name}: " + (" vs ".join(methods) if len(methods) > 1 else animation.METHOD_NAMES[methods[0]])
    started = time.perf_counter()
    scene = {} if collision is None else {"obstacles": collision.obstacles, "geometry": collision.geometry}
    written = animation.render(chain, target, runs, out, frames=args.frames, fps=args.fps, dpi=args.dpi,
                               filmstrip=not args.no_filmstrip, progress=not args.no_progress, title=title, **scene)
    _say_written(written, solved, time.perf_counter() - started)
    # The files are the product: a run that does not converge is shown, not an error.
    return 0


def path_start(args, chain: kin.Chain):
    """--q0 checked against the limits, or the solver's default start."""
    if args.q0 is None:
        return kin.default_start(chain)
    q0 = common.parse_q(chain, args.q0, args.degrees, "--q0")
    outside = common.outside_limits(chain, q0)
    if outside:
        raise common.CommandError(f"--q0: outside the joint limits: {', '.join(outside)}")
    return q0


def run_path(args, chain: kin.Chain, out) -> int:
    """`armgrad animate ROBOT --path FILE`: solve the waypoints with kin.solve_path and animate the motion."""
    for option, value in (("--compare", args.compare), ("--rpy", args.rpy), ("--quat", args.quat)):
        if value is not None:
            raise common.CommandError(f"{option} does not apply to --path (the file's columns give the orientations)")
    if args.method != "lm":
        raise common.CommandError("--method does not apply to --path (waypoints are solved by Levenberg-Marquardt)")
    check_render_options(args)
    dt = common.finite_positive(args.dt, "--dt")
    step = common.finite_positive(args.max_joint_step, "--max-joint-step")
    speed = None if args.velocity_limit is None else common.finite_positive(args.velocity_limit, "--velocity-limit")
    if args.restarts < 0:
        raise common.CommandError("--restarts must be >= 0")
    if args.max_iterations is not None and args.max_iterations < 1:
        raise common.CommandError("--max-iterations must be at least 1")
    targets, ignored = common.read_targets(args.path, chain, args.degrees, option="--path")
    if len(targets) < 2:
        raise common.CommandError(f"--path: {args.path} holds {len(targets)} waypoint; a path needs at least 2")
    if ignored:
        print(f"--path: ignored columns {', '.join(ignored)}", file=sys.stderr)
    q0 = path_start(args, chain)
    collision = common.collision_from_args(args, chain)
    goals = targets if collision is None else [collision.goal(t) for t in targets]
    started = time.perf_counter()
    path = kin.solve_path(chain, goals, q0, dt=dt, max_joint_step=step, velocity_limits=speed, seed=args.seed,
                          max_restarts=args.restarts, max_iterations=args.max_iterations)
    solved = time.perf_counter() - started
    for line in path_summary(chain, path):
        print(line)
    scene = {} if collision is None else {"obstacles": collision.obstacles, "geometry": collision.geometry}
    started = time.perf_counter()
    written = animation.render_path(chain, targets, path, out, frames=args.frames, fps=args.fps, dpi=args.dpi,
                                    still=not args.no_filmstrip, progress=not args.no_progress, **scene)
    _say_written(written, solved, time.perf_counter() - started)
    return 0


def path_summary(chain: kin.Chain, path) -> list:
    """Lines describing a solved path: waypoints met, the largest step, its duration, every jump."""
    K = len(path.q)
    failed = np.flatnonzero(~path.success)
    met = f"all {K} waypoints converged" if not failed.size else \
        f"{K - failed.size} of {K} waypoints converged (not: {', '.join(map(str, failed[:10]))}" + \
        (", ...)" if failed.size > 10 else ")")
    speed = np.abs(animation.segment_velocities(path.q, path.times)).max(axis=0)
    fastest = int(np.argmax(speed / np.where(np.isfinite(path.velocity_limits), path.velocity_limits, np.inf))
                  if np.isfinite(path.velocity_limits).any() else np.argmax(speed))
    lines = [f"path: {met}; largest joint step {path.max_joint_step:.3g}; {path.times[-1]:.2f} s "
             f"(fastest: {chain.joint_names[fastest]} at {speed[fastest]:.4g}/s"
             + (f", limit {path.velocity_limits[fastest]:.4g}" if np.isfinite(path.velocity_limits[fastest]) else "")
             + ")"]
    lines += [f"  {path.reason[k]}" for k in path.jumps]
    lines += [f"  waypoint {k}: {path.reason[k]}" for k in failed if k not in path.jumps]
    return lines


def summary_line(method: str, result, collision=None) -> str:
    """One line per run: converged or not, iterations, errors (and the clearance with a scene)."""
    status = "converged" if result.success else "NOT converged"
    rot = f", rotation error {result.rotation_error:.2g} rad" if result.rotation_error else ""
    restarts = f" after {result.restarts} restarts" if result.restarts else ""
    clear = ""
    if collision is not None:
        distance, pair = collision.clearance(result.task_errors)
        clear = f", clearance {distance:.3g} m ({pair})"
    line = (f"{method:<8} {status} in {result.iterations} iterations{restarts}: "
            f"position error {result.position_error:.2g} m{rot}{clear}")
    return line if result.success else f"{line}\n         ({result.reason})"


def _say_written(written: dict, solved: float, rendered: float) -> None:
    """The files `render` / `render_path` wrote (stdout) and the time spent (stderr)."""
    print(f"wrote {written['animation']} ({written['frames']} frames)")
    if written["filmstrip"]:
        print(f"wrote {written['filmstrip']}")
    print(f"solve {solved:.2f} s, render {rendered:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    common.run_as_script("animate")
