"""`armgrad demo`: the whole idea in one command, no arguments needed.

Solves and animates two arms and writes the pictures to ./armgrad-out/:
- a planar 3-link arm reaching a point by plain gradient descent on ½‖e‖² (the gradient from
  one backward pass of the autodiff engine per iteration): a slow, steady crawl;
- the Franka Panda reaching a full pose (position and orientation) by Levenberg–Marquardt,
  whose Jacobian comes from the engine's backward passes: a few long steps.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

import kinematics as kin
import robots
from demos import common
from demos import animation

EXAMPLES = """\
examples:
  armgrad demo                        writes ./armgrad-out/{planar3-gd,panda-lm}.{gif,png}
  armgrad demo --out /tmp/pictures
  armgrad demo --frames 8 --dpi 50    a quick, small version
  armgrad demo --format mp4           MP4 instead of GIF (needs ffmpeg)
"""

# (arm, method, target, title); targets chosen so both arms make a visible move from their start.
PLANAR_TARGET = np.array([0.6, 1.3, 0.0])
PANDA_POSITION = np.array([0.3, -0.45, 0.3])
PANDA_RPY = np.array([math.pi, 0.0, 0.0])  # gripper pointing straight down


def register(subparsers) -> None:
    parser = common.command_parser(
        subparsers, "demo", help="solve and animate two arms: planar3 by gradient descent, the Panda by LM",
        description="Solve and animate a planar 3-link arm (gradient descent, position target) and the "
                    "Franka Panda (Levenberg–Marquardt, full pose target); write GIFs and PNG filmstrips.",
        epilog=EXAMPLES)
    parser.add_argument("--out", metavar="DIR", default="armgrad-out", help="output directory (default ./armgrad-out)")
    animation.add_render_arguments(parser, "frames per animation")
    parser.add_argument("--format", choices=("gif", "mp4"), default="gif", help="animation format (default gif)")
    parser.add_argument("--no-filmstrip", action="store_true", help="skip the PNG filmstrips")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def scenes():
    """The demo's runs: (file stem, arm, method, target, sentence)."""
    return [
        ("planar3-gd", robots.get("planar3"), "gd", PLANAR_TARGET[:2],
         "planar 3-link arm, position target, gradient descent"),
        ("panda-lm", robots.get("panda"), "lm", common.pose(PANDA_POSITION, common.rpy_to_rotation(PANDA_RPY)),
         "Franka Panda, full pose target, Levenberg–Marquardt"),
    ]


def run(args) -> int:
    from demos.animate import check_render_options, solve_runs, summary_line

    check_render_options(args)
    if args.format == "mp4" and animation.ffmpeg_path() is None:
        raise common.CommandError("--format mp4 needs ffmpeg, which is not installed "
                                  "(e.g. apt-get install ffmpeg); the default --format gif needs only Pillow")
    out_dir = common.make_output_dir(args.out)
    started = time.perf_counter()
    written = []
    for stem, chain, method, target, sentence in scenes():
        print(f"{chain.name}: {sentence}")
        t0 = time.perf_counter()
        runs, results = solve_runs(chain, target, [method], kin.default_start(chain))
        solved = time.perf_counter() - t0
        print("  " + summary_line(method, results[0]) + f" ({1000 * solved:.0f} ms)")
        t0 = time.perf_counter()
        files = animation.render(chain, target, runs, out_dir / f"{stem}.{args.format}", frames=args.frames,
                                 fps=args.fps, dpi=args.dpi, filmstrip=not args.no_filmstrip,
                                 progress=not args.no_progress,
                                 title=f"{chain.name}: {animation.METHOD_NAMES[method]}")
        print(f"  rendered {files['frames']} frames in {time.perf_counter() - t0:.1f} s")
        written += [files["animation"]] + ([files["filmstrip"]] if files["filmstrip"] else [])
    print("wrote:")
    for path in written:
        print(f"  {path}  ({Path(path).stat().st_size / 1024:.0f} KiB)")
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    common.run_as_script("demo")
