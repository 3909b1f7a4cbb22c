"""IK at scale: Panda targets in chunks, in this process and on 2 local Dask workers (kin.solve_many).

1. N Panda pose targets (FK of random configurations; default 200,000): in-process solves/s, then
   2 local worker processes (`kinematics.scale.local_cluster`), the ratio in the same run (the goal:
   >= 1.8x on a quiet machine; the 1-minute load average is printed with it), and a chunk-size sweep
   on the workers. Every run's q must be identical (the chunks' seeds derive from their index).
2. A reachability map (`kinematics.reach.reachability`) of the Panda at a coarse resolution, and
   from its queries/s the projected time of the 5 cm, 64-orientation map (an estimate, said so).
3. From the measured per-chunk cost and the scheduler's per-task overhead, the projected time of
   1 B solves on a 100-node cluster of such machines (an estimate, said so).
4. With --stream N1,N2,...: `armgrad solve ROBOT --targets FILE.parquet --out answers.parquet
   --workers 2` on files of N FK-sampled targets (written a million rows at a time), in a
   subprocess whose process tree is sampled for memory: the peak resident memory of each worker
   and of the driver, and the throughput, which should stay flat in N (the file is read, solved
   and written a chunk at a time).

    python -m benchmarks.scale [--quick] [--targets 200000] [--chunks 2000,10000,50000]
    python -m benchmarks.scale --stream 1000000,10000000 --stream-robot planar3 [--skip-main]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import kinematics as kin
import robots
from benchmarks import blas_threads


def _targets(arm, count, seed=0):
    rng = np.random.default_rng(seed)
    return kin.forward_kinematics(arm, rng.uniform(arm.lower, arm.upper, (count, arm.n)))


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None) -> None:
    from kinematics import reach, scale

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--targets", type=int, default=200_000)
    parser.add_argument("--chunks", default="2000,10000,50000", help="chunk sizes for the sweep on the workers")
    parser.add_argument("--stream", default="", help="comma-separated target counts for the streaming runs")
    parser.add_argument("--stream-robot", default="panda", help="the arm of the streaming runs (default panda)")
    parser.add_argument("--skip-main", action="store_true", help="only the streaming runs")
    args = parser.parse_args(argv)
    if args.stream:
        for count in (int(float(c)) for c in args.stream.split(",")):
            stream(args.stream_robot, count)
    if args.skip_main:
        return
    count = 400 if args.quick else args.targets
    sweep = [100, 200] if args.quick else [int(c) for c in args.chunks.split(",")]
    chunk = sweep[len(sweep) // 2] if args.quick else scale.CHUNK_SIZE
    arm = robots.get("panda")
    T = _targets(arm, count)
    print(f"Panda, {count} pose targets at 1e-6; {blas_threads()}; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores")
    here, t_here = _timed(lambda: kin.solve_many(arm, T, chunk_size=chunk))
    print(f"  in-process, chunks of {chunk}: {count / t_here:8.0f} solves/s ({100 * here.success.mean():.2f} % solved)")
    try:
        cluster = scale.local_cluster(2)
        client = cluster.__enter__()
    except ImportError as err:
        print(f"  2 workers: skipped: {err}")
        return
    try:
        (warm, _) = _timed(lambda: kin.solve_many(arm, T[: 2 * chunk], chunk_size=chunk, client=client))
        two, t_two = _timed(lambda: kin.solve_many(arm, T, chunk_size=chunk, client=client))
        same = np.array_equal(two.q, here.q)
        print(f"  2 local workers, chunks of {chunk}: {count / t_two:8.0f} solves/s = {t_here / t_two:.2f}x in-process "
              f"(goal >= 1.8x on a quiet machine; load average now {os.getloadavg()[0]:.2f}); "
              f"q identical to in-process: {same}")
        per_chunk = {}
        for size in sweep:
            _, seconds = _timed(lambda size=size: kin.solve_many(arm, T, chunk_size=size, client=client))
            per_chunk[size] = seconds
            print(f"    chunk size {size:6d}: {count / seconds:8.0f} solves/s on 2 workers")
        # the scheduler's cost per task: tiny chunks of no work
        _, overhead = _timed(lambda: client.gather(client.map(lambda i: i, range(200), pure=False)))
        overhead /= 200
    finally:
        cluster.__exit__(None, None, None)

    resolution = 0.4 if args.quick else 0.2
    m = reach.reachability(arm, resolution=resolution, orientations=8 if args.quick else 16, chunk_size=chunk)
    rate = m.solves / m.seconds
    queries = len(reach.voxel_centres(arm, 0.05))
    within = int(np.mean(m.queried) * queries)
    print(f"  Panda reachability map at {resolution} m, {m.orientations} orientations: {m.solves} queries in "
          f"{m.seconds:.1f} s ({rate:.0f}/s, in-process, {m.max_restarts} restarts); the 5 cm, 64-orientation map "
          f"(~{within} voxels within reach x 64 = {within * 64 / 1e6:.1f} M queries) would take about "
          f"{within * 64 / rate / 3600:.1f} h here and {within * 64 / rate / 3600 / (t_here / t_two):.1f} h on 2 "
          f"workers (estimates from this rate)")
    per_solve = t_two * 2 / count  # core-seconds per solve on the workers
    nodes, cores = 100, os.cpu_count() or 2
    tasks = 1e9 / scale.CHUNK_SIZE
    projected = 1e9 * per_solve / (nodes * cores) + tasks * overhead / 1  # the scheduler hands tasks out one by one
    print(f"  projected, 1 B solves on {nodes} nodes x {cores} cores like this one: {per_solve * 1e3:.3f} core-ms per "
          f"solve, {overhead * 1e3:.1f} ms scheduler overhead per task, {tasks:.0f} tasks of {scale.CHUNK_SIZE}: "
          f"about {projected / 3600:.1f} h (an estimate, not a measurement)")


def _write_targets(arm, path: Path, count: int, block: int = 1_000_000) -> None:
    """A Parquet file of `count` FK-sampled targets (positions for planar arms, else rpy poses), a block at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(7)
    with pq.ParquetWriter(path, pa.schema([(c, pa.float64()) for c in (
            ("x", "y") if arm.planar else ("x", "y", "z", "roll", "pitch", "yaw"))])) as writer:
        for lo in range(0, count, block):
            T = kin.forward_kinematics(arm, rng.uniform(arm.lower, arm.upper, (min(block, count - lo), arm.n)))
            columns = {"x": T[:, 0, 3], "y": T[:, 1, 3]}
            if not arm.planar:
                rpy = Rotation.from_matrix(T[:, :3, :3]).as_euler("xyz")
                columns.update(z=T[:, 2, 3], roll=rpy[:, 0], pitch=rpy[:, 1], yaw=rpy[:, 2])
            writer.write_table(pa.table(columns), row_group_size=block)


def _peak_memory(process, peaks: dict, stop: threading.Event) -> None:
    """Sample the resident memory of `process` and its descendants every 0.2 s: peaks[pid] = (name, max bytes)."""
    import psutil

    root = psutil.Process(process.pid)
    while not stop.is_set():
        try:
            tree = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for p in tree:
            try:
                rss, cmd = p.memory_info().rss, " ".join(p.cmdline()[1:4])
            except psutil.Error:
                continue
            name = "driver" if p.pid == root.pid else "worker" if "spawn" in cmd or "multiprocessing" in cmd else cmd
            old = peaks.get(p.pid, (name, 0))[1]
            peaks[p.pid] = (name, max(old, rss))
        stop.wait(0.2)


def stream(robot: str, count: int, workers: int = 2) -> None:
    """Solve a Parquet file of `count` targets with `armgrad solve --workers`; print rate and peak memories."""
    arm = robots.get(robot)
    with tempfile.TemporaryDirectory() as folder:
        source, out = Path(folder) / "targets.parquet", Path(folder) / "answers.parquet"
        _write_targets(arm, source, count)
        command = [sys.executable, "-m", "demos", "solve", robot, "--targets", str(source), "--out", str(out),
                   "--workers", str(workers), "--no-progress"]
        peaks, stop = {}, threading.Event()
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sampler = threading.Thread(target=_peak_memory, args=(process, peaks, stop), daemon=True)
        sampler.start()
        stdout, stderr = process.communicate()
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        if process.returncode not in (0, 1):
            print(f"  streaming {count} {robot} targets: failed ({process.returncode}): {stderr.strip()[-300:]}")
            return
        import pyarrow.parquet as pq

        answers = pq.ParquetFile(out).metadata.num_rows
        mib = {name: [] for name, _ in peaks.values()}
        for name, rss in peaks.values():
            mib[name].append(rss / 2**20)
        workers_mib = max(mib.get("worker", [0]))
        others = ", ".join(f"{name} {max(v):.0f}" for name, v in mib.items() if name not in ("driver", "worker"))
        print(f"  streaming {count:>10,} {robot} targets from Parquet on {workers} workers: {stdout.strip()}")
        print(f"    {count / seconds:8.0f} targets/s wall (starting workers and writing included, {seconds:.0f} s); "
              f"{answers:,} answers written; peak memory: driver {max(mib['driver']):.0f} MiB, each worker "
              f"<= {workers_mib:.0f} MiB" + (f" ({others} MiB)" if others else "")
              + f"; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
