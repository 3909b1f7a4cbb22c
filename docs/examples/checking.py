"""The one check every course example uses: print both sides, stop on a mismatch."""

import numpy as np


def check(what, engine, oracle, rtol=1e-9, atol=1e-12):
    """Print the engine's value and the oracle's; raise AssertionError when they differ."""
    engine, oracle = np.asarray(engine, dtype=float), np.asarray(oracle, dtype=float)
    print(f"{what}\n  engine: {np.array2string(engine, precision=6)}\n  oracle: {np.array2string(oracle, precision=6)}")
    if engine.shape != oracle.shape or not np.allclose(engine, oracle, rtol=rtol, atol=atol):
        raise AssertionError(f"{what}: engine {engine} differs from oracle {oracle}")
