"""`armgrad reach ROBOT --out reach.parquet`: a reachability map (kinematics.reach) as a table and pictures."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from demos import common

EXAMPLES = """\
examples:
  armgrad reach planar3 --resolution 0.1 --orientations 16 --out planar3-reach.csv
  armgrad reach panda --resolution 0.1 --orientations 16 --workers 2 --out panda-reach.parquet
  armgrad reach ur5 --scheduler tcp://10.0.0.5:8786 --out ur5-reach.parquet

For every voxel centre of the workspace (a cube about the base, of half side the arm's reach
bound; a square for planar arms) IK is solved for a fixed, near-uniform set of tool orientations
(--orientations; planar arms: angles about z). The table has one row per voxel: x, y, z, the
fraction reached at --tol, the best manipulability √det(J Jᵀ) among the reached orientations,
whether the voxel was queried (centres beyond the reach bound are not: fraction 0), and whether
its centre was reached as a position (one query per voxel first: where it is not, no orientation
can be, and the voxel's orientations are skipped; --no-early-out queries them anyway). A
failed query may still be reachable with more restarts: each fraction is a lower bound for
--max-restarts. Beside the table, FILE.png shows a horizontal and a vertical slice through the
base and a 3-D scatter coloured by the fraction (planar arms: the map in their plane).
"""

COLUMNS = ("x", "y", "z", "fraction", "manipulability", "queried", "position_reached")


def register(subparsers) -> None:
    parser = common.command_parser(
        subparsers, "reach", help="a reachability map: the fraction of tool orientations IK reaches per voxel",
        description="Map where ROBOT's tool reaches, and in how many orientations.", epilog=EXAMPLES)
    common.add_robot_arguments(parser)
    parser.add_argument("--out", metavar="FILE", required=True, help="the map: FILE.parquet, FILE.csv or FILE.npy")
    parser.add_argument("--resolution", type=float, default=0.05, metavar="M", help="voxel side (m, default 0.05)")
    parser.add_argument("--orientations", type=int, default=64, metavar="N",
                        help="tool orientations per voxel (default 64)")
    parser.add_argument("--tol", type=float, default=1e-6, metavar="TOL",
                        help="position (m) and rotation (rad) tolerance (default 1e-6)")
    parser.add_argument("--max-restarts", type=int, default=20, metavar="N",
                        help="random restarts per query (default 20; the fractions are lower bounds for it)")
    workers = parser.add_mutually_exclusive_group()
    workers.add_argument("--workers", type=int, metavar="N", help="solve on N local Dask worker processes")
    workers.add_argument("--scheduler", metavar="ADDRESS", help="solve on the Dask cluster at ADDRESS")
    parser.add_argument("--chunk-size", type=int, default=10_000, metavar="K", help="queries per task (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random restarts (default 0)")
    parser.add_argument("--no-early-out", action="store_true",
                        help="query every orientation of every voxel within the reach bound, even where the "
                             "voxel's centre is not reached as a position")
    parser.add_argument("--no-pictures", action="store_true", help="skip FILE.png")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from kinematics import reach

    chain = common.robot_from_args(args)
    out = common.check_writable(args.out)
    if out.suffix not in (".parquet", ".csv", ".npy"):
        raise common.CommandError(f"--out {args.out}: expected a .parquet, .csv or .npy file")
    if out.suffix == ".parquet":
        common.need_pyarrow("--out", out)  # before any work
    common.finite_positive(args.resolution, "--resolution")
    common.finite_positive(args.tol, "--tol")
    for name, value, least in (("--orientations", args.orientations, 1), ("--max-restarts", args.max_restarts, 0),
                               ("--chunk-size", args.chunk_size, 1),
                               ("--workers", 1 if args.workers is None else args.workers, 1)):
        if value < least:
            raise common.CommandError(f"{name} must be at least {least}, got {value}")
    common.need_distributed(args)  # before any work
    with common.dask_client(args) as client, tqdm(total=0, desc="reach", unit="query", file=sys.stderr,
                                       disable=args.no_progress, dynamic_ncols=True) as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        started = time.perf_counter()
        m = reach.reachability(chain, resolution=args.resolution, orientations=args.orientations, tol=args.tol,
                               max_restarts=args.max_restarts, chunk_size=args.chunk_size, client=client,
                               seed=args.seed, position_first=not args.no_early_out, progress=progress)
    write_map(out, m)
    seconds = time.perf_counter() - started
    where = "here" if client is None else f"{args.workers} local workers" if args.workers else args.scheduler
    print(f"armgrad reach: {chain.name}: {len(m.centres)} voxels of {m.resolution:g} m, {int(m.queried.sum())} "
          f"within reach, {m.orientations} orientations: {m.solves} solves in {seconds:.1f} s "
          f"({m.solves / max(m.seconds, 1e-9):.0f}/s, {where})")
    skipped = int((m.queried & ~m.position_reached).sum())
    if skipped:
        print(f"  {skipped} voxels within the bound are not reached as a position: their orientations were skipped")
    print(f"  reached in some orientation: {int((m.fraction > 0).sum())} voxels; in all: "
          f"{int((m.fraction == 1).sum())}; fractions are lower bounds for --max-restarts {m.max_restarts}")
    print(f"  wrote {out}" + ("" if args.no_pictures else f" and {draw_map(out.with_suffix('.png'), m, chain)}"))
    return 0


def write_map(out: Path, m) -> None:
    """The map as a table (COLUMNS, one row per voxel), written whole or not at all."""
    from autodiff.files import atomic_output

    table = np.column_stack([m.centres, m.fraction, m.manipulability, m.queried, m.position_reached]).astype(float)
    with atomic_output(out) as tmp:
        if out.suffix == ".npy":
            np.save(tmp, table)
        elif out.suffix == ".csv":
            np.savetxt(tmp, table, delimiter=",", header=",".join(COLUMNS), comments="", fmt="%.17g")
        else:
            pq = common.need_pyarrow("--out", out)
            import pyarrow as pa

            columns = {name: table[:, k] for k, name in enumerate(COLUMNS)}
            columns["queried"], columns["position_reached"] = m.queried, m.position_reached
            pq.write_table(pa.table(columns), tmp)


def draw_map(path: Path, m, chain) -> Path:
    """FILE.png: slices through the base (horizontal, vertical) and a 3-D scatter, coloured by the fraction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autodiff.files import atomic_output

    base = chain.base[:3, 3]
    c, f = m.centres, m.fraction
    axes_values = [np.unique(np.round(c[:, k], 12)) for k in range(3)]
    nearest = [vals[np.argmin(np.abs(vals - base[k]))] for k, vals in enumerate(axes_values)]
    panels = [("horizontal slice z = %.3g m" % nearest[2], 2, (0, 1))] if chain.planar else [
        ("horizontal slice z = %.3g m" % nearest[2], 2, (0, 1)), ("vertical slice y = %.3g m" % nearest[1], 1, (0, 2))]
    fig = plt.figure(figsize=(5 * (len(panels) + (0 if chain.planar else 1)), 4.4))
    for i, (title, fixed, (u, v)) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels) + (0 if chain.planar else 1), i + 1)
        on = np.isclose(c[:, fixed], nearest[fixed])
        U, W = axes_values[u], axes_values[v]
        grid = np.full((len(W), len(U)), np.nan)
        grid[np.searchsorted(W, np.round(c[on, v], 12)), np.searchsorted(U, np.round(c[on, u], 12))] = f[on]
        image = ax.imshow(grid, origin="lower", extent=(U[0] - m.resolution / 2, U[-1] + m.resolution / 2,
                                                        W[0] - m.resolution / 2, W[-1] + m.resolution / 2),
                          cmap="viridis", vmin=0, vmax=1)
        ax.plot(base[u], base[v], "r+", markersize=12)
        ax.set(title=title, xlabel="xyz"[u] + " (m)", ylabel="xyz"[v] + " (m)")
        fig.colorbar(image, ax=ax, label="fraction reached")
    if not chain.planar:
        ax = fig.add_subplot(1, len(panels) + 1, len(panels) + 1, projection="3d")
        some = f > 0
        points = ax.scatter(*c[some].T, c=f[some], cmap="viridis", vmin=0, vmax=1, s=6, alpha=0.6)
        ax.set(title="voxels reached (3-D)", xlabel="x", ylabel="y", zlabel="z")
        fig.colorbar(points, ax=ax, label="fraction reached", shrink=0.7)
    fig.suptitle(f"{chain.name}: {m.orientations} orientations per voxel, {m.resolution:g} m voxels\n"
                 f"reached at tol {m.tol:g} within {m.max_restarts} restarts (a lower bound)")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":
    common.run_as_script("reach")
