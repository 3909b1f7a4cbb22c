"""`armgrad solve ROBOT`: inverse kinematics for one target or a file of targets.

Exit status: 0 when every target is solved, 1 when any is not (the answer is still printed,
with success false and the solver's reason), 2 for bad input.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np

import kinematics as kin
from autodiff.files import atomic_output
from demos import chunks, common
from kinematics import scale

# The API's default, so a batch here and kin.solve_many give the same answers.
MAX_RESTARTS = kin.ik.solve.__kwdefaults__["max_restarts"]
# The answers file formats --out writes (by extension).
OUT_FORMATS = (".csv", ".npy", ".parquet")
# The least rows per row group of a Parquet answers file (parts are buffered up to it): readers
# pay per row group, and chunks of 2048 rows would make thousands.
ROW_GROUP = 65_536

EXAMPLES = f"""\
examples:
  armgrad solve planar3 --target 1.2 0.9
  armgrad solve panda --target 0.4 0.2 0.5 --rpy 3.1416 0 0
  armgrad solve ur5 --target 0.3 0.3 0.4 --quat 1 0 0 0 --json
  armgrad solve panda --target 0.5 0 0.4 --method adam --seed 3
  armgrad solve panda --targets targets.csv --out answers.csv
  armgrad solve planar3 --targets points.npy --out answers.csv
  armgrad solve panda --targets many.parquet --out answers.parquet --workers 8
  armgrad solve panda --targets many.csv --out answers.csv --scheduler tcp://10.0.0.5:8786
  armgrad solve panda --target 0.5 0 0.3 --rpy 3.1416 0 0 --scene table.toml --margin 0.02

target: --target X Y Z (metres; X Y for planar arms) alone is a position target; add --rpy R P Y
({common.RPY_CONVENTION}, rad) or --quat QX QY QZ QW (scalar last) for a full pose.

--targets FILE: a CSV or .parquet whose header names x,y,z (x,y for planar arms) and optionally
roll,pitch,yaw or qx,qy,qz,qw (other columns are ignored), or an .npy of positions (B, 3) or
poses (B, 4, 4). Targets are solved in chunks of --chunk-size (progress bar on stderr); the
answers go to --out (.csv, .parquet or .npy: the target columns, q1..qn, success,
position_error, rotation_error, iterations, restarts), or to stdout (CSV) without --out.
--workers N solves the chunks on N local processes, --scheduler ADDRESS on a running Dask
cluster (pip install 'armgrad[scale]'); the answers are the same as in this process.

--scene FILE: obstacles (TOML: [[halfspace]], [[sphere]], [[capsule]], [[box]], [[pointcloud]]; see
docs/collision.md) that every answer keeps --margin M clear of, with the arm's links kept apart too
(--no-self-collision leaves that out). The arm's collision shapes: a built-in model (panda,
panda_hand, ur5) or a URDF/xacro/MJCF file's <collision> shapes (--package PKG=DIR finds a URDF's
meshes). The smallest clearance and its pair are printed (batch: clearance, clearance_pair columns).

--out FILE is written only when every target is solved; until then finished chunks are kept in
FILE.parts/. After Ctrl-C (or a full disk) the same command resumes from them; other options
refuse to resume and say which differ.

exit status: 0 all targets solved; 1 some target not solved (success false is printed, with
the best answer found and the reason); 2 bad input; 130 interrupted (Ctrl-C).
"""


def register(subparsers) -> None:
    parser = common.command_parser(
        subparsers, "solve", help="inverse kinematics: joint values that reach a target",
        description="Solve inverse kinematics for ROBOT: one --target, or a batch from --targets FILE.",
        epilog=EXAMPLES)
    common.add_robot_arguments(parser)
    common.add_target_arguments(parser)
    parser.add_argument("--targets", metavar="FILE", help="a .csv, .parquet or .npy file of targets (see below)")
    parser.add_argument("--out", metavar="FILE",
                        help="with --targets: write the answers to this .csv, .parquet or .npy file, once complete")
    parser.add_argument("--method", choices=kin.METHODS, default="lm",
                        help="lm (Levenberg-Marquardt, default), gd, momentum or adam")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random restarts (default 0)")
    parser.add_argument("--q0", nargs="+", metavar="Q", help="start (and preferred answer): one value per joint")
    parser.add_argument("--tol-position", type=float, default=1e-6, metavar="M", help="position tolerance (m)")
    parser.add_argument("--tol-rotation", type=float, default=1e-6, metavar="RAD", help="rotation tolerance (rad)")
    parser.add_argument("--max-iterations", type=int, metavar="N", help="iterations per start (solver default)")
    parser.add_argument("--max-restarts", type=int, default=MAX_RESTARTS, metavar="N",
                        help="random restarts (default: kin.solve's, %(default)s)")
    parser.add_argument("--degrees", action="store_true",
                        help="angles (--rpy, --q0, rpy columns, printed q) in degrees; --json and CSV q stay rad")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="stop searching after this long: per target with --target, per chunk with --targets")
    # kin.solve_many's default (10,000), so that the command and the API with defaults give the
    # same answers. Measured (200k Panda poses, 2 local workers, quiet 2-core machine): chunks of
    # 2000 5.5k solves/s, 10,000 6.7k/s, 50,000 7.1k/s; a 10,000 chunk takes ~3 s in one process,
    # so the bar still moves and Ctrl-C or a lost worker costs seconds, not minutes.
    parser.add_argument("--chunk-size", type=int, default=scale.CHUNK_SIZE, metavar="K",
                        help=f"targets per chunk (one solver call, one task on a cluster; default {scale.CHUNK_SIZE})")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="solve the chunks on N local worker processes (Dask; pip install 'armgrad[scale]')")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="solve the chunks on a running Dask cluster (e.g. tcp://10.0.0.5:8786)")
    common.add_scene_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def _options(args, chain) -> dict:
    """kin.solve's keyword arguments from the command line, checked."""
    common.finite_positive(args.tol_position, "--tol-position")
    common.finite_positive(args.tol_rotation, "--tol-rotation")
    if args.time_budget is not None:
        common.finite_positive(args.time_budget, "--time-budget")
    if args.max_iterations is not None and args.max_iterations < 1:
        raise common.CommandError("--max-iterations must be at least 1")
    if args.max_restarts < 0:
        raise common.CommandError("--max-restarts must be >= 0")
    options = {"method": args.method, "seed": args.seed, "tol_position": args.tol_position,
               "tol_rotation": args.tol_rotation, "max_iterations": args.max_iterations,
               "max_restarts": args.max_restarts, "time_budget": args.time_budget}
    if args.q0 is not None:
        q0 = common.parse_q(chain, args.q0, args.degrees, "--q0")
        outside = common.outside_limits(chain, q0)
        if outside:
            raise common.CommandError(f"--q0: outside the joint limits: {', '.join(outside)}")
        options["q0"] = q0
    return options


def run(args) -> int:
    chain = common.robot_from_args(args)
    if args.targets is not None:
        if args.target is not None or args.rpy is not None or args.quat is not None:
            raise common.CommandError("give either --target (one target) or --targets FILE (a batch), not both")
        return _run_batch(args, chain)
    if args.out is not None:
        raise common.CommandError("--out writes the answers of a batch: use it with --targets FILE")
    if args.workers is not None or args.scheduler is not None:
        option = "--workers" if args.workers is not None else "--scheduler"
        raise common.CommandError(f"{option} solves the chunks of a batch: use it with --targets FILE")
    target = common.target_from_args(chain, args, args.degrees)
    options = _options(args, chain)
    collision = common.collision_from_args(args, chain)
    started = time.perf_counter()
    result = kin.solve(chain, target if collision is None else collision.goal(target), **options)
    seconds = time.perf_counter() - started
    report = {
        "robot": chain.name,
        "method": args.method,
        "target": target.tolist(),
        "target_kind": "pose" if target.shape == (4, 4) else "position",
        "success": bool(result.success),
        "q": np.asarray(result.q).tolist(),
        "joint_names": chain.joint_names,
        "position_error": float(result.position_error),
        "rotation_error": float(result.rotation_error),
        "iterations": int(result.iterations),
        "restarts": int(result.restarts),
        "reason": result.reason,
        "seconds": seconds,
    }
    if collision is not None:
        report["clearance"], report["clearance_pair"] = collision.clearance(result.task_errors)
        report["margin"] = collision.margin
    if args.json:
        print(common.dumps(report))
    else:
        _print_single(chain, target, report, args.degrees, args)
    return 0 if result.success else 1


def _print_single(chain, target, report, degrees, args):
    q = np.asarray(report["q"])
    revolute = np.array([j.type == kin.REVOLUTE for j in chain.free_joints])
    shown = np.where(revolute, np.degrees(q), q) if degrees else q
    if target.shape == (4, 4):
        # The orientation as the user gave it (a round trip through the matrix may wrap angles).
        if args.rpy is not None:
            orientation = f"rpy {common.fmt_vector([float(v) for v in args.rpy], 4)} {'deg' if degrees else 'rad'}"
        else:
            orientation = f"quaternion {common.fmt_vector([float(v) for v in args.quat], 4)} (x, y, z, w)"
        what = f"pose: position {common.fmt_vector(target[:3, 3], 4)} m, {orientation}"
    else:
        what = f"position {common.fmt_vector(target, 4)} m"
    rotation = f"{report['rotation_error']:.3g} rad" if target.shape == (4, 4) else "- (position target)"
    print(f"robot           {chain.name} ({chain.n} joints), method {report['method']}")
    print(f"target          {what}")
    print(f"success         {'true' if report['success'] else 'false'}")
    print(f"q ({'deg' if degrees else 'rad'})         {common.fmt_vector(shown, 6)}")
    print(f"position error  {report['position_error']:.3g} m")
    print(f"rotation error  {rotation}")
    if "clearance" in report:
        print(f"clearance       {report['clearance']:.4g} m ({report['clearance_pair']}), "
              f"margin {report['margin']:g} m")
    print(f"iterations      {report['iterations']} ({report['restarts']} restarts), {1000 * report['seconds']:.1f} ms")
    if not report["success"]:
        print(f"reason          {report['reason']}")


def _check_out(path: str) -> Path:
    """--out before any work: a format it writes, in a folder where it can write."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUT_FORMATS:
        got = f"a {suffix} file" if suffix else "a file without an extension"
        raise common.CommandError(f"--out: cannot write {got} ({path}); answers are written as "
                                  f"{', '.join(OUT_FORMATS)}")
    if suffix == ".parquet":
        common.need_pyarrow("--out", path)
    return common.check_writable(path)


def _manifest(args, chain, options: dict, count: int, collision=None) -> dict:
    """What determines a batch's answers: a resumed run must agree on all of it."""
    import autodiff

    structure = {"joints": [[j.name, j.type, j.axis.tolist(), j.origin.tolist(), list(j.limits)] for j in chain.joints],
                 "base": chain.base.tolist(), "tool": chain.tool.tolist(), "planar": chain.planar}
    if chain.mimic:  # only then: the fingerprints of chains without mimic joints stay as they were
        structure["mimic"] = {name: list(coupling) for name, coupling in chain.mimic.items()}
        structure["masters"] = [[j.name, j.type, list(j.limits)] for j in chain.masters]
    # chunk_seeds: chunk k's starts come from kinematics.scale.chunk_seed(seed, k) (earlier runs
    # gave every chunk `seed` itself); the key makes their parts folders refuse to resume.
    manifest = {"armgrad": autodiff.__version__, "robot": chain.name,
                "robot_fingerprint": chunks.fingerprint(structure), "targets": chunks.file_fingerprint(args.targets),
                "count": count, "degrees": args.degrees, "chunk_size": args.chunk_size,
                "chunk_seeds": "SeedSequence([seed, chunk])"}
    manifest.update({key: (value.tolist() if isinstance(value, np.ndarray) else value)
                     for key, value in options.items()})
    if collision is not None:  # only then: the manifests of runs without --scene stay as they were
        manifest["collision"] = collision.fingerprint()
    return manifest


def _part(chain, targets, result, problems: dict, lo: int, collision=None) -> dict:
    """A solved chunk's answers as its part file holds them: {column name: (k,) array}, in output order.

    Args:
        targets: the chunk's (k, 3) or (k, 4, 4) targets, NaN where a row is malformed.
        result: the chunk's batch IKResult.
        problems: {row: text} of the chunk's malformed rows, as the file reader named them
            (they replace the solver's plainer "malformed target: NaN or infinite values").
        lo: the chunk's first row.
    """
    part = _target_columns(targets)
    q = np.asarray(result.q, dtype=float).reshape(len(targets), chain.n)
    part.update({f"q{k + 1}": q[:, k] for k in range(chain.n)})
    part.update(success=np.asarray(result.success, dtype=bool),
                position_error=np.asarray(result.position_error, dtype=float),
                rotation_error=np.asarray(result.rotation_error, dtype=float),
                iterations=np.asarray(result.iterations, dtype=np.int64),
                restarts=np.asarray(result.restarts, dtype=np.int64))
    reason = np.array(["" if ok else str(why) for ok, why in zip(part["success"], result.reason)], dtype=object)
    for row, text in problems.items():
        reason[row - lo] = f"malformed target: {text}"
    part["reason"] = reason.astype(str)
    if collision is not None:
        part["clearance"], part["clearance_pair"] = collision.clearance(result.task_errors)
    return part


def _target_columns(targets) -> dict:
    """x, y, z (and qx, qy, qz, qw with w >= 0 for poses) of (k, 3) or (k, 4, 4) targets; NaN rows stay NaN."""
    pose = targets.ndim == 3
    position = targets[:, :3, 3] if pose else targets
    columns = {name: position[:, k].copy() for k, name in enumerate("xyz")}
    if pose:
        quaternion = np.full((len(targets), 4), np.nan)
        finite = np.isfinite(targets.reshape(len(targets), -1)).all(axis=1)
        if finite.any():
            quaternion[finite] = common._rotation().from_matrix(targets[finite, :3, :3]).as_quat()
        quaternion[quaternion[:, 3] < 0] *= -1  # q and -q are the same rotation: the one with w >= 0
        columns.update({name: quaternion[:, k] for k, name in enumerate(("qx", "qy", "qz", "qw"))})
    return columns


class _Handed:
    """The targets file as `iter_chunks` reads it: each chunk's targets and problems kept until its answers
    arrive (on a cluster, chunks are read when submitted, up to a window ahead)."""

    def __init__(self, file):
        self.file, self.kept = file, {}

    def __len__(self):
        return len(self.file)

    def __getitem__(self, rows: slice):
        targets = self.file[rows]
        self.kept[rows.start] = targets, self.file.problems
        return targets

    def take(self, lo: int):
        return self.kept.pop(lo)


def _run_batch(args, chain) -> int:
    from tqdm import tqdm

    from demos.targets import TargetFile

    out = _check_out(args.out) if args.out is not None else None
    if args.chunk_size < 1:
        raise common.CommandError("--chunk-size must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise common.CommandError("--workers must be at least 1")
    common.need_distributed(args)
    options = _options(args, chain)
    seed = options.pop("seed")
    if seed < 0:
        raise common.CommandError("--seed must be >= 0 with --targets (chunk k's starts derive from (seed, k))")
    collision = common.collision_from_args(args, chain)
    file = TargetFile(args.targets, chain, args.degrees)
    if file.ignored:
        print(f"armgrad solve: note: ignoring columns {', '.join(file.ignored)} in {args.targets}", file=sys.stderr)
    B = len(file)
    bounds = [(lo, min(B, lo + args.chunk_size)) for lo in range(0, B, args.chunk_size)]
    # With --out, finished chunks go to FILE.parts/ and FILE is written only once all are done,
    # so Ctrl-C or a full disk keeps them and the same command resumes. Chunk k's answers depend
    # only on its targets, the options and (seed, k), so they do not depend on the run being
    # resumed, nor on where the chunk was solved. Only chunks in flight are in memory.
    store = chunks.ChunkStore.open(chunks.parts_folder(out), _manifest(args, chain, dict(options, seed=seed), B,
                                                                       collision)) if out else None
    done = {i for i in store.done() if i < len(bounds)} if store else set()
    parts = {}  # without --out: the answers, printed at the end
    given = {}  # with --json: each chunk's targets

    def targets_in(indices) -> int:
        return sum(bounds[i][1] - bounds[i][0] for i in indices if i < len(bounds))

    def kept() -> int:
        # What is on disk counts: Ctrl-C may land between a part's rename and `done.add(i)`.
        return targets_in(store.done() if store else parts)

    resumed = targets_in(done)
    if args.time_budget is not None:
        print("armgrad solve: note: with --time-budget the answers depend on the machine's speed and load: "
              "another run (or a resumed one) may differ", file=sys.stderr)
    if resumed:
        print(f"armgrad solve: resuming: {resumed} of {B} targets already solved in {store.folder}/", file=sys.stderr)
    source = _Handed(file)
    try:
        with common.dask_client(args) as client:
            started = time.perf_counter()  # the summary's rate: solving, not starting workers
            # The bar moves a chunk at a time; its rate is solves (targets) per second.
            with tqdm(total=B, initial=resumed, desc="solving (resumed)" if resumed else "solving", unit="solve",
                      file=sys.stderr, disable=args.no_progress, dynamic_ncols=True) as bar:
                for i, (lo, hi), result in scale.iter_chunks(
                        chain, source, chunk_size=args.chunk_size, client=client, seed=seed, skip=done,
                        goal=None if collision is None else collision.goal, **options):
                    chunk_targets, problems = source.take(lo)
                    part = _part(chain, chunk_targets, result, problems, lo, collision)
                    if args.json:  # the targets as given (a pose from its quaternion differs in the last bits)
                        given[i] = chunk_targets
                    if store:  # the driver saves each part as it arrives, whole or not at all
                        store.save(i, part)
                        done.add(i)
                    else:
                        parts[i] = part
                    bar.update(hi - lo)
                    bar.set_postfix_str(f"chunk {len(done | set(parts))}/{len(bounds)}", refresh=False)
        seconds = time.perf_counter() - started
        load = store.load if store else parts.__getitem__
        if args.json and len(given) < len(bounds):  # a resumed run: the finished chunks' targets from the file
            given.update({i: file[lo:hi] for i, (lo, hi) in enumerate(bounds) if i not in given})
        def parts():  # each chunk's columns in order, read afresh on each call (from disk with --out)
            return (load(i) for i in range(len(bounds)))

        return _report(args, chain, parts, [given[i] for i in range(len(bounds))] if args.json else None, B, out,
                       store, seconds, resumed)
    except KeyboardInterrupt:
        if store and not store.folder.exists():  # stopped after the answers file was complete
            print(f"armgrad solve: interrupted; {out} was written", file=sys.stderr)
        elif store:
            print(f"armgrad solve: interrupted: {kept()} of {B} targets kept in {store.folder}/; "
                  f"re-run the same command to resume", file=sys.stderr)
        else:
            print(f"armgrad solve: interrupted after {kept()} of {B} targets; nothing written "
                  f"(with --out FILE finished chunks are kept and a re-run resumes)", file=sys.stderr)
        return 130
    except OSError as err:
        if not store:
            raise
        raise common.CommandError(f"{err}; {kept()} of {B} targets kept in {store.folder}/: "
                                  f"fix that and re-run the same command to resume") from err


def _csv_rows(columns: dict) -> list:
    """The CSV text of each answer row (targets and q at full precision, errors in 4 digits)."""
    formats = {"success": lambda v: str(bool(v)).lower(), "position_error": "{:.3e}".format,
               "rotation_error": "{:.3e}".format, "iterations": str, "restarts": str, "reason": str,
               "clearance": "{:.6g}".format, "clearance_pair": str}
    # `+ 0.0` turns -0.0 into 0.0, so no "-0" appears in the file.
    default = {name: (lambda v: f"{v + 0.0:.12g}") if name[0] == "q" and name[1:].isdigit()
               else (lambda v: f"{v + 0.0:.10g}") for name in columns}
    cells = [list(map(formats.get(name, default[name]), values.tolist())) for name, values in columns.items()]
    return [list(row) for row in zip(*cells)]


class _Summary:
    """What a batch's summary says, gathered part by part: solved, failed rows, failures by kind of reason."""

    def __init__(self):
        self.count, self.solved, self.failed, self.kinds = 0, 0, [], {}

    def add(self, part: dict) -> dict:
        success = part["success"]
        failed = np.flatnonzero(~success)
        self.failed += (self.count + failed[:max(0, 10 - len(self.failed))]).tolist()  # the first 10 rows
        for reason in part["reason"][failed]:
            kind = str(reason).split(":")[0]
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.count += len(success)
        self.solved += int(success.sum())
        return part

    def failures(self) -> str:
        """The failed targets by kind of reason, e.g. "2 out of reach, 1 not converged"."""
        return ", ".join(f"{n} {kind}" for kind, n in sorted(self.kinds.items(), key=lambda item: -item[1]))


def _write_answers(out: Path, parts, count: int, summary: _Summary) -> None:
    """--out by its extension, a part at a time: CSV (text as on stdout), .npy (a structured array),
    .parquet (pyarrow; row groups of at least ROW_GROUP rows).

    Args:
        parts: a callable returning an iterator over the chunks' columns, in order (called twice
            for .npy: once for the text columns' widths, once to write).
    """
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        with atomic_output(out) as tmp:
            writer, waiting = None, []
            for last, part in _with_last(parts()):
                waiting.append(pa.table({name: pa.array(values) for name, values in summary.add(part).items()}))
                if last or sum(t.num_rows for t in waiting) >= ROW_GROUP:  # one row group
                    writer = writer or pq.ParquetWriter(tmp, waiting[0].schema)
                    writer.write_table(pa.concat_tables(waiting), row_group_size=1 << 30)
                    waiting = []
            writer.close()
    elif suffix == ".npy":
        widths, first = {}, None  # the text columns' widths (a structured array's are fixed): a first pass
        for part in parts():
            first = first or part
            summary.add(part)
            for name, values in part.items():
                if values.dtype.kind == "U":
                    widths[name] = max(widths.get(name, 1), values.dtype.itemsize // 4)
        dtype = [(name, f"<U{widths[name]}" if name in widths else values.dtype) for name, values in first.items()]
        with atomic_output(out) as tmp:
            answers = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(count,))
            row = 0
            for part in parts():
                k = len(part["success"])
                for name, values in part.items():
                    answers[name][row:row + k] = values
                row += k
            answers.flush()
            del answers
    else:
        with atomic_output(out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            for k, part in enumerate(parts()):
                if k == 0:
                    writer.writerow(list(part))
                writer.writerows(_csv_rows(summary.add(part)))


def _with_last(iterable):
    """(is_last, item) pairs of an iterable."""
    items = iter(iterable)
    previous = next(items, _END)
    for item in items:
        yield False, previous
        previous = item
    if previous is not _END:
        yield True, previous


_END = object()


def _report(args, chain, parts, given, B, out, store, seconds, resumed) -> int:
    """Write or print the answers of a finished batch; the exit status.

    Args:
        parts: a callable returning an iterator over each chunk's columns, in order.
        given: with --json, each chunk's targets as read, in order.
    """
    summary, held = _Summary(), None
    if args.json or out is None:  # held in memory: printed, or in the JSON report
        held = [summary.add(part) for part in parts()]

        def parts():
            return iter(held)
    if args.json:
        answers = []
        for part, targets in zip(parts(), given):
            q = np.column_stack([part[f"q{k + 1}"] for k in range(chain.n)])
            for i in range(len(q)):
                answer = {"target": targets[i].tolist(), "q": q[i].tolist(),
                          "success": bool(part["success"][i]), "position_error": float(part["position_error"][i]),
                          "rotation_error": float(part["rotation_error"][i]),
                          "iterations": int(part["iterations"][i]), "restarts": int(part["restarts"][i])}
                if not answer["success"]:
                    answer["reason"] = str(part["reason"][i])
                if "clearance" in part:
                    answer["clearance"] = float(part["clearance"][i])
                    answer["clearance_pair"] = str(part["clearance_pair"][i])
                answers.append(answer)
    if out is not None:
        _write_answers(out, parts, B, summary if held is None else _Summary())  # counted once
        store.remove()
    elif not args.json:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        for k, part in enumerate(parts()):
            if k == 0:
                writer.writerow(list(part))
            writer.writerows(_csv_rows(part))
    solved_now = B - resumed
    text = (f"solved {summary.solved}/{B} targets on {chain.name} with {args.method} "
            f"in {seconds:.2f} s ({solved_now / max(seconds, 1e-9):.0f} targets/s)"
            + (f", {resumed} of them resumed from {store.folder}/" if resumed else ""))
    if args.json:
        report = {"robot": chain.name, "method": args.method, "targets": B, "solved": summary.solved,
                  "seconds": seconds, "joint_names": chain.joint_names, "answers": answers}
        if out is not None:
            report["out"] = str(out)
        print(common.dumps(report))
    elif out is not None:
        print(f"{text}; wrote {out}")
    else:
        print(text, file=sys.stderr)
    if summary.solved < B:
        failed = B - summary.solved
        listed = ", ".join(str(i + 1) for i in summary.failed) + (" ..." if failed > 10 else "")
        print(f"armgrad solve: {failed} target(s) not solved (rows {listed}): {summary.failures()}; "
              f"see the success and reason columns", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    common.run_as_script("solve")
