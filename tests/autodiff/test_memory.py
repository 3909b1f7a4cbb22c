"""autodiff.memory: `import autodiff` sets glibc's mmap and trim thresholds once, unless the
environment set them; checked in fresh processes against glibc's own accounting (mallinfo2)."""

import os
import pathlib
import subprocess
import sys

import pytest

import autodiff as ad

GLIBC = os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc") if hasattr(os, "confstr") else False
MALLOC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_",
                    "GLIBC_TUNABLES")

# A fresh process: imports, then reports (a) whether a 20 MiB array got its own mmap (glibc's
# count of mmapped blocks, hblks) and (b) how much of 80 MiB of freed 2 MiB arrays the heap kept
# (fordblks: free bytes held in the heap) -- glibc's own figures, not ours.
PROBE = """
import ctypes, sys
import numpy as np
{imports}
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
before = libc.mallinfo2().hblks
big = np.ones(20 << 17)  # 20 MiB
mapped = libc.mallinfo2().hblks - before
del big
arrays = [np.ones(1 << 18) for _ in range(40)]  # 40 x 2 MiB
del arrays
print(mapped, libc.mallinfo2().fordblks >> 20, {status})
"""


def probe(imports, status="''", **environment):
    env = {k: v for k, v in os.environ.items() if k not in MALLOC_VARIABLES}
    env.update(environment)
    code = PROBE.format(imports=imports, status=status)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=pathlib.Path(__file__).parents[2])  # the repository's autodiff
    mapped, kept, *status = out.stdout.split(maxsplit=2)
    return int(mapped), int(kept), (status[0].strip() if status else "")


pytestmark = pytest.mark.skipif(not GLIBC, reason="glibc's malloc only (elsewhere autodiff.memory does nothing)")


def test_import_sets_both_thresholds():
    mapped, kept, status = probe("import autodiff as ad", "ad.memory.status()")
    assert status == "glibc mmap threshold 32 MiB, trim threshold 128 MiB"
    assert mapped == 0  # 20 MiB < the 32 MiB mmap threshold: from the heap, reused once freed
    assert kept >= 64  # the freed 80 MiB stay in the heap (below the 128 MiB trim threshold)


def test_without_it_glibc_maps_and_trims():
    # The oracle's other side: plain numpy under glibc's defaults (128 KiB thresholds at start).
    mapped, kept, _ = probe("")
    assert mapped == 1 and kept < 64


def test_an_explicit_environment_wins():
    # Dask's workers start with MALLOC_TRIM_THRESHOLD_=65536: glibc then also keeps its 128 KiB mmap
    # threshold, and the import leaves that choice alone (a cluster sets ENVIRONMENT instead).
    mapped, kept, status = probe("import autodiff as ad", "ad.memory.status()", MALLOC_TRIM_THRESHOLD_="65536")
    assert status == "left as configured by MALLOC_TRIM_THRESHOLD_"
    assert mapped == 1 and kept < 64
    *_, status = probe("import autodiff as ad", "ad.memory.status()", GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
    assert status == "left as configured by GLIBC_TUNABLES"


def test_the_environment_variables_give_the_same_thresholds():
    # ENVIRONMENT is what a Dask nanny's pre-spawn-environ should carry: glibc reads it at startup.
    mapped, kept, status = probe("", "''", **ad.memory.ENVIRONMENT)
    assert mapped == 0 and kept >= 64
    assert ad.memory.ENVIRONMENT == {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(128 << 20)}


def test_configure_is_idempotent():
    mapped, kept, status = probe("import autodiff as ad\nfirst = ad.memory.configure()",
                                 "first == ad.memory.configure() == ad.memory.status()")
    assert status == "True" and mapped == 0 and kept >= 64


def test_configure_reads_the_environment_it_is_given():
    assert ad.memory.configure({"MALLOC_MMAP_THRESHOLD_": "1"}) == "left as configured by MALLOC_MMAP_THRESHOLD_"
    assert ad.memory.configure({"GLIBC_TUNABLES": "glibc.rtld.nns=2"}) == \
        "glibc mmap threshold 32 MiB, trim threshold 128 MiB"  # no malloc tunable: ours apply
    assert ad.memory.status() == "glibc mmap threshold 32 MiB, trim threshold 128 MiB"
