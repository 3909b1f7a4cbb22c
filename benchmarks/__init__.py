"""Benchmarks, each runnable as `python -m benchmarks.<name>`; shared reporting helpers."""

from __future__ import annotations

import os

# Environment variables that set BLAS / OpenMP thread counts: the benchmarks never set them
# (their figures are the ones a user gets), but report them when the caller did.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def blas_threads() -> str:
    """One line: the BLAS libraries loaded in this process and the threads each runs with.

    From threadpoolctl's `threadpool_info()` (numpy's BLAS is loaded by then); names any thread
    environment variable that is set, since it changes the figures.
    """
    import numpy  # noqa: F401  (loads numpy's BLAS, so that threadpool_info sees it)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        line = "BLAS threads: unknown (threadpoolctl not installed)"
    else:
        blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
        line = "BLAS threads: " + (", ".join(
            f"{info['internal_api']} {info['num_threads']}" for info in blas) if blas else "no BLAS library found")
    set_here = [f"{name}={os.environ[name]}" for name in THREAD_VARIABLES if name in os.environ]
    return line + (f" (set by {', '.join(set_here)})" if set_here else " (no thread environment variable set)")
