"""IK at scale: many targets in chunks, in this process or on a Dask cluster (`solve_many`, `iter_chunks`).

A batch is cut into chunks of `chunk_size` consecutive targets; chunk k is one `kinematics.solve`
whose random starts come from the seed `chunk_seed(seed, k)`. A chunk's answers therefore depend
only on its targets, the options and (seed, k): the same whether it is solved here, on one worker
or on many, first or last, in a fresh run or in a resumed one. Rows come back in the targets'
order. (Not with a `time_budget`: a chunk then stops when its clock runs out, so its answers
depend on the machine's speed and load, and such a run is not reproducible; `armgrad solve`
says so when it starts one.)

A row that `solve` would refuse (NaN or infinite values, a pose that is not a rigid transform,
a coordinate beyond any chain's reach) does not stop its chunk: it is answered with success
False, q NaN and the reason "malformed target: ..." (`malformed`), and the chunk's other rows
are solved as if it were not there.

With `client` (a `distributed.Client`: a `LocalCluster`'s, or a real scheduler's address) each
chunk is a task; Dask reruns a chunk whose worker died, so a run completes as long as some
worker is alive. `local_cluster(n)` starts the workers armgrad recommends: processes with one
thread each (the solver is numpy-bound), one BLAS thread, and glibc's malloc thresholds as
`autodiff.memory` sets them (MALLOC_TRIM_THRESHOLD_: Dask's nannies set 65536, which made the
solver 4.7x slower inside a task, as page faults of arrays freed and re-allocated every
iteration). Only a window of chunks is in flight at a time (by default twice the cluster's
threads), each read from `targets` when it is submitted, so a file of any length streams
through with bounded memory. A user's own cluster
should start its workers the same way: `--nthreads 1`, and the environment `WORKER_ENVIRONMENT`
holds (e.g. in the `distributed.nanny.pre-spawn-environ` config).

Dask is the optional extra `armgrad[scale]`; it is imported only when a client or cluster is used.
"""

from __future__ import annotations

import contextlib
import logging

import numpy as np

import autodiff as ad

from .ik import IKResult, _concatenate, solve
from .tasks import MAX_REACH, rigid_rows

__all__ = ["solve_many", "iter_chunks", "chunk_seed", "malformed", "local_cluster", "WORKER_ENVIRONMENT"]

INSTALL_HINT = "pip install 'armgrad[scale]'"
CHUNK_SIZE = 10_000  # targets per task: 10k-target chunks were best here (scheduler overhead 3.6 ms a task)
# glibc's malloc as `autodiff.memory` sets it in every armgrad process (Dask's nannies set
# MALLOC_TRIM_THRESHOLD_=65536, which also froze the mmap threshold at 128 KiB: 8,000 page faults
# per 2048-target Panda chunk in a worker, 56 with these), and one BLAS thread.
WORKER_ENVIRONMENT = {**ad.memory.ENVIRONMENT, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                      "MKL_NUM_THREADS": "1"}


def chunk_seed(seed: int, index: int) -> int:
    """The seed of chunk `index`'s random starts: a 63-bit integer from numpy's SeedSequence([seed, index])."""
    return int(np.random.SeedSequence([seed, index]).generate_state(2, np.uint32).astype(np.uint64)
               @ np.array([1 << 31, 1], dtype=np.uint64))


def _bounds(count: int, chunk_size: int) -> list:
    return [(lo, min(count, lo + chunk_size)) for lo in range(0, count, chunk_size)]


def malformed(targets) -> np.ndarray:
    """Why each row of a batch is not a target `solve` takes ("" where it is one).

    Args:
        targets: (B, 4, 4) poses, (B, 3) or (B, 2) positions; another shape is left to `solve`
            to refuse as a whole.

    Returns:
        (B,) object array of strings: "malformed target: NaN or infinite values", "... not a
        rigid transform ..." or "... beyond any chain's reach ...", or "".
    """
    t = np.asarray(targets, dtype=np.float64)
    reasons = np.full(len(t), "", dtype=object)
    pose = t.shape[1:] == (4, 4)
    if not (pose or t.shape[1:] in ((3,), (2,))):
        return reasons
    finite = np.isfinite(t.reshape(len(t), -1)).all(axis=1)
    p = np.where(finite[:, None], t[:, :3, 3] if pose else t, 0.0)
    reasons[~finite] = "malformed target: NaN or infinite values"
    reasons[finite & (np.abs(p).max(axis=1, initial=0.0) > MAX_REACH)] = \
        f"malformed target: a coordinate beyond any chain's reach ({MAX_REACH:.0e} m)"
    if pose:
        reasons[finite & ~rigid_rows(np.where(finite[:, None, None], t, np.eye(4)))] = \
            "malformed target: not a rigid transform (orthonormal rotation, det +1, last row 0 0 0 1)"
    return reasons


def _solve_chunk(robot, targets, seed, goal, options) -> IKResult:
    """One chunk: `solve(robot, goal(targets), seed=seed, **options)` (a task on a worker, or a call here),
    its malformed rows answered as such (`malformed`) and the others solved without them."""
    targets = np.asarray(targets, dtype=np.float64)
    reasons = malformed(targets)
    good = np.flatnonzero(reasons == "")
    if len(good) < len(targets):
        targets = targets[good]
    result = solve(robot, targets if goal is None else goal(targets), seed=seed, **options)
    return result if len(good) == len(reasons) else _spread(result, good, reasons)


def _spread(result: IKResult, good: np.ndarray, reasons: np.ndarray) -> IKResult:
    """A batch result for all B rows from the result of rows `good`: the others failed for `reasons`."""
    B = len(reasons)

    def full(values, fill):
        values = np.asarray(values)
        out = np.full((B,) + values.shape[1:], fill, dtype=values.dtype if values.dtype.kind in "biU" else float)
        out[good] = values
        return out

    reason = list(reasons)
    for i, text in zip(good, result.reason):
        reason[i] = text
    history = None
    if result.history is not None:
        history = [None] * B
        for i, h in zip(good, result.history):
            history[i] = h
    task_errors = [{key: full(values, "" if np.asarray(values).dtype.kind == "U" else np.nan)
                    for key, values in entry.items()} for entry in result.task_errors]
    return IKResult(full(result.q, np.nan), full(result.success, False), full(result.position_error, np.nan),
                    full(result.rotation_error, np.nan), full(result.iterations, 0), full(result.restarts, 0),
                    reason, history, task_errors)


def iter_chunks(robot, targets, *, chunk_size: int = CHUNK_SIZE, client=None, seed: int = 0, skip=(), goal=None,
                window: int | None = None, **solve_options):
    """Solve the chunks of `targets`, yielding (index, (lo, hi), IKResult) as each completes.

    Args:
        robot: a kinematics.Chain or Robot.
        targets: (B, 4, 4) poses or (B, 3) positions (anything `solve` takes with a leading batch
            axis; `goal` may turn them into tasks): an array, or any object with `len` whose
            slices `targets[lo:hi]` are such arrays (a memory map, a file reader), sliced once
            per chunk in ascending order. Malformed rows: see `malformed`.
        chunk_size: targets per chunk (>= 1).
        client: None (solve here, chunk after chunk, in order) or a distributed.Client (chunks are
            tasks; they complete in any order).
        seed: a non-negative integer; chunk k uses `chunk_seed(seed, k)`.
        skip: indices of chunks not to solve (finished in an earlier run).
        goal: None, or a picklable callable mapping a chunk's targets to what `solve` takes (a task
            list: e.g. [kin.Pose("tool", T), kin.Avoid(...)]).
        window: with a client, the most chunks in flight (read and submitted ahead of the
            answers): None for twice the cluster's threads (at least 4), asked again as chunks
            complete so that a growing cluster is used.
        **solve_options: passed to `solve` (not `seed`). A `time_budget` makes the answers depend
            on timing (module docstring).

    Raises:
        ValueError, TypeError: a bad chunk size, seed or option.
        ImportError: a client without Dask installed (one line naming the extra).
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (chunks' seeds derive from it), got {seed!r}")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1):
        raise ValueError(f"window must be an integer >= 1 or None, got {window!r}")
    if "seed" in solve_options:
        raise TypeError("iter_chunks: give seed once (chunk k's starts come from (seed, k))")
    skip = set(skip)
    bounds = _bounds(len(targets), int(chunk_size))
    todo = [(k, lo, hi) for k, (lo, hi) in enumerate(bounds) if k not in skip]
    if client is None:
        for k, lo, hi in todo:
            yield k, (lo, hi), _solve_chunk(robot, targets[lo:hi], chunk_seed(seed, k), goal, solve_options)
        return
    try:
        from distributed import as_completed
    except ImportError:
        raise ImportError(f"solving on a Dask cluster needs dask.distributed: {INSTALL_HINT}") from None
    robot_future = client.scatter(robot, broadcast=True, hash=False)  # its own key: not one an earlier call frees
    waiting, futures = iter(todo), {}

    def top_up(queue):
        """Submit chunks until `window` are in flight: every worker busy, the driver's memory bounded."""
        most = window or max(4, 2 * sum(client.nthreads().values()))  # asked each time: a cluster may grow
        while len(futures) < most and (chunk := next(waiting, None)) is not None:
            k, lo, hi = chunk
            future = client.submit(_solve_chunk, robot_future, targets[lo:hi], chunk_seed(seed, k), goal,
                                   solve_options, key=f"armgrad-chunk-{k}-{chunk_seed(seed, k)}-{lo}", pure=False)
            futures[future] = chunk
            queue.add(future)

    queue = as_completed()
    top_up(queue)
    try:
        for future in queue:
            k, lo, hi = futures.pop(future)
            result = future.result()
            future.release()
            top_up(queue)  # before handing the result on, so the workers never wait for the consumer
            yield k, (lo, hi), result
    finally:  # a consumer that stops early (Ctrl-C) cancels what is left
        client.cancel(list(futures))


def solve_many(robot, targets, *, chunk_size: int = CHUNK_SIZE, client=None, seed: int = 0, goal=None,
               **solve_options) -> IKResult:
    """`solve` for a large batch, in chunks, here or on a Dask cluster; the result in the targets' order.

    The answers do not depend on `client` or on the number of workers (module docstring); they
    do depend on `chunk_size`, as each chunk draws its own starts.

    Args: as `iter_chunks` (without `skip`).

    Returns:
        one batch IKResult for all targets (an empty batch: `solve`'s empty result).

    Example:
        >>> import robots
        >>> arm = robots.get("planar2")
        >>> result = solve_many(arm, [[1.0, 0.8], [0.5, 1.2], [1.6, 0.2]], chunk_size=2)
        >>> result.success.tolist()
        [True, True, True]
    """
    if not hasattr(targets, "__getitem__") or not hasattr(targets, "__len__") or isinstance(targets, list | tuple):
        targets = np.asarray(targets, dtype=np.float64)
    if not len(targets):
        empty = np.asarray(targets[0:0], dtype=np.float64)
        return solve(robot, empty if goal is None else goal(empty), **solve_options)
    parts = {k: result for k, _, result in iter_chunks(robot, targets, chunk_size=chunk_size, client=client,
                                                      seed=seed, goal=goal, **solve_options)}
    return _concatenate([parts[k] for k in sorted(parts)])


@contextlib.contextmanager
def local_cluster(workers: int, *, memory_limit="auto", quiet: bool = False):
    """A LocalCluster of `workers` processes (one thread each, WORKER_ENVIRONMENT) and its client; the
    cluster's own log lines below ERROR are not shown (with `quiet`, none are: a command that
    reports its chunks' outcomes itself, whose teardown after Ctrl-C makes workers log lost
    heartbeats).

    Yields:
        distributed.Client.

    Raises:
        ImportError: Dask is not installed (one line naming the extra).
        ValueError: workers < 1.
    """
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError(f"armgrad's workers need dask.distributed: {INSTALL_HINT}") from None
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_ENVIRONMENT)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        silence = logging.CRITICAL + 1 if quiet else logging.ERROR
        with LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=":0",
                          memory_limit=memory_limit, silence_logs=silence) as cluster, Client(cluster) as client:
            yield client
