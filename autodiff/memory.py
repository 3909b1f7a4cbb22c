"""glibc's malloc, told once at `import autodiff` to keep the memory that numpy frees.

Why: numpy takes every array from malloc. glibc serves a request above its mmap threshold with
a fresh mmap that goes back to the system when the array is freed, and returns free memory at
the top of its heap to the system once it exceeds the trim threshold. The solver's iterations
and a training step allocate and free the same arrays of a megabyte or more again and again, so
with thresholds that are too low each iteration faults its memory in anew, the kernel
zero-filling every page (DESIGN.md §1: page faults were half of Panda FK + gradient time at
B = 10,000, and doubled a 784-256-10 training epoch).

glibc starts at 128 KiB for both and raises them itself (its "dynamic thresholds"): freeing an
mmapped block lifts the mmap threshold to that block's size, at most 32 MiB, and the trim
threshold to twice that. It gets there only after the first large free of each size, and a
working set larger than twice the largest array (an IK batch's: 10,000 Panda rows hold about 28
MB of arrays of at most 4 MB) is still trimmed and faulted back in every iteration. So at
import this module sets both with `mallopt`:

    MMAP_THRESHOLD = 32 MiB   glibc's own ceiling for the dynamic mmap threshold: every array
                              of a solver chunk or a training step comes from the heap; larger
                              ones (a whole dataset, a million targets) still get their own
                              mapping, so they go back to the system when freed and never
                              fragment the heap.
    TRIM_THRESHOLD = 128 MiB  above an iteration's working set with room to spare (the IK
                              chunks of kinematics.ik.TARGET_CHUNK need ~28 MB, a training step
                              a few MB): what the heap keeps beyond that goes back.

Measured (2 shared cores, interleaved fresh processes, medians; glibc 2.36): 10,000 Panda
targets in one kin.solve: 30,600 page faults and 0.116 s of kernel time under glibc's dynamic
thresholds, 6,300 and 0.022 s with these (wall 2.52 -> 2.45 s, 16 rounds: within this machine's
noise, ~4 % of the run is the kernel's part). The 784-256-10 training epoch of
benchmarks.training (8 rounds): 5.85 s and 768,000 page faults with no setting at all, 3.24 s and
2,000 with these, 3.14 s with the 16 MB block autodiff.optim used to allocate and free at its
first optimiser to the same end (dynamic thresholds raised to 16 and 32 MiB; paired ratio
0.97); the digits MLP 0.30-0.32 s in all three. A larger trim threshold (512 MiB) or a smaller
one (64 MiB) left the faults at B = 10,000 as they are (6,400-6,700) and the time within noise.

Setting either threshold turns glibc's dynamic adjustment off for the rest of the process: the
values above then hold whatever the program allocates.

Who decides: an explicit choice in the environment wins. When MALLOC_MMAP_THRESHOLD_,
MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ or MALLOC_MMAP_MAX_ is set, or GLIBC_TUNABLES names a
glibc.malloc tunable, glibc was configured on purpose and this module leaves it alone. Off
glibc (macOS, Windows, musl) it does nothing, and it never makes the import fail.

Dask: its nanny starts every worker with MALLOC_TRIM_THRESHOLD_=65536 (the
`distributed.nanny.pre-spawn-environ` setting), which also freezes the mmap threshold at 128
KiB; the solver then runs several times slower inside a task (4.7x measured, DESIGN.md §1). A
cluster that runs armgrad should give its workers this module's values instead, before the
workers start:

    import dask, autodiff as ad
    dask.config.set({f"distributed.nanny.pre-spawn-environ.{name}": value
                     for name, value in ad.memory.ENVIRONMENT.items()})

(or the same two entries under distributed: nanny: pre-spawn-environ: in the cluster's YAML).
Workers then keep up to TRIM_THRESHOLD of freed memory each, which Dask counts as unmanaged.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "ENVIRONMENT", "configure", "status"]

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20

# The same settings as environment variables, for processes that start before any Python runs
# (a Dask nanny's workers): glibc reads them at startup.
ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}

# mallopt's parameter numbers (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_OWN_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")

_status = "not configured yet"


def _glibc():
    """The C library as a ctypes handle when it is glibc, else None."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return None
    except (AttributeError, ValueError, OSError):  # no confstr (Windows) or no such name (musl, macOS)
        return None
    return ctypes.CDLL("libc.so.6")


def _set_by_environment(environ) -> str | None:
    """The variable through which the environment configured glibc's malloc, or None."""
    for name in _OWN_VARIABLES:
        if name in environ:
            return name
    if "glibc.malloc." in environ.get("GLIBC_TUNABLES", ""):
        return "GLIBC_TUNABLES"
    return None


def configure(environ=None) -> str:
    """Set glibc's mmap and trim thresholds (see the module docstring) unless the environment did.

    Idempotent: calling it again sets the same values. Never raises.

    Args:
        environ: the environment to consult (default os.environ).

    Returns:
        What happened, in one line (also kept for `status()`).
    """
    global _status
    try:
        variable = _set_by_environment(os.environ if environ is None else environ)
        libc = None if variable else _glibc()
        if variable:
            _status = f"left as configured by {variable}"
        elif libc is None:
            _status = "not glibc: nothing to do"
        elif libc.mallopt(_M_MMAP_THRESHOLD, ctypes.c_int(MMAP_THRESHOLD)) != 1 or \
                libc.mallopt(_M_TRIM_THRESHOLD, ctypes.c_int(TRIM_THRESHOLD)) != 1:
            _status = "mallopt refused the thresholds: glibc's defaults stay"
        else:
            _status = f"glibc mmap threshold {MMAP_THRESHOLD >> 20} MiB, trim threshold {TRIM_THRESHOLD >> 20} MiB"
    except Exception as error:  # a C library that is not what it says: never fail `import autodiff`
        _status = f"not configured ({type(error).__name__}: {error})"
    return _status


def status() -> str:
    """One line: what `configure` did in this process."""
    return _status
