"""Engine overhead: microseconds per op on a long chain of small ops, forward plus backward.

The chain repeats `y + 0.5`, `y * 0.9`, `sin(y)`, `tanh(y)` (1000 ops by default) on an input
of shape (1,) and (3, 3), then sums and backpropagates to the input. Three implementations run
in the same process, timed best-of-N with `time.perf_counter` in alternating blocks:

- armgrad: the `autodiff` engine;
- traced: the same function recorded once by `ad.trace` and replayed (forward + backward), as
  the IK loop uses it;
- numpy by hand: the same forward values and a hand-written backward pass -- the floor that
  any numpy engine pays for the arithmetic alone;
- torch eager (float64, one thread), where torch is installed: the reference.

All three gradients are compared before timing, so a fast but wrong engine fails loudly.

Usage:
    python -m benchmarks.engine            # 1000-op chains, best of 30
    python -m benchmarks.engine --quick    # a 40-op chain, best of 3 (a smoke run)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import autodiff as ad
from benchmarks import blas_threads

SHAPES = [(1,), (3, 3)]
ADD, MUL = 0.5, 0.9  # the chain's constants: values stay in [-1, 1], gradients stay normal


def armgrad_chain(shape, n_ops):
    """Forward and backward through the engine; returns the input's gradient."""
    x = ad.Tensor(np.full(shape, 0.3), requires_grad=True)
    y = x
    for _ in range(n_ops // 4):
        y = y + ADD
        y = y * MUL
        y = ad.sin(y)
        y = ad.tanh(y)
    ad.sum(y).backward()
    return x.grad


def _chain(x, n_ops):
    y = x
    for _ in range(n_ops // 4):
        y = ad.tanh(ad.sin((y + ADD) * MUL))
    return ad.sum(y)


def traced_chain(shape, n_ops):
    """A replay of the recorded chain: returns a function of no arguments giving the gradient."""
    replay = ad.trace(lambda x: _chain(x, n_ops), np.full(shape, 0.3))
    x = np.full(shape, 0.3)

    def run():
        replay(x)
        return replay.backward(1.0)

    return run


def numpy_chain(shape, n_ops):
    """The same arithmetic with the backward pass written by hand (no graph, no closures)."""
    y = np.full(shape, 0.3)
    saved = []
    for _ in range(n_ops // 4):
        y = y + ADD
        y = y * MUL
        saved.append(y)  # sin's input
        y = np.sin(y)
        y = np.tanh(y)
        saved.append(y)  # tanh's output
    g = np.ones(shape)
    for i in range(n_ops // 4 - 1, -1, -1):
        t = saved[2 * i + 1]
        g = g - g * t * t  # tanh' = 1 - tanh^2, as the engine computes it
        g = g * np.cos(saved[2 * i])  # sin' = cos
        g = g * MUL
        # d(y + c)/dy = 1: nothing to do
    return g


def torch_chain(torch, shape, n_ops):
    """The same chain in torch eager (float64)."""
    x = torch.full(shape, 0.3, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(n_ops // 4):
        y = y + ADD
        y = y * MUL
        y = torch.sin(y)
        y = torch.tanh(y)
    y.sum().backward()
    return x.grad.numpy()


def best_times(fns, repeats, rounds=3):
    """The fastest of `repeats` calls of each fn(), in seconds.

    Each fn runs in blocks of repeats // rounds calls (warmed up by one call first), and the
    blocks of the implementations alternate for `rounds` rounds: a slow spell of the machine
    then affects all of them alike, while each block still runs with its own caches warm.
    """
    best = [float("inf")] * len(fns)
    per_block = max(1, repeats // rounds)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            fn()
            for _ in range(per_block):
                start = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - start)
    return best


def _import_torch():
    try:
        import torch
    except (ImportError, OSError):  # not installed, or installed without its shared libraries
        return None
    torch.set_num_threads(1)
    return torch


def measure(n_ops, repeats, torch=None):
    """Rows of (shape, armgrad, numpy, traced, torch or None) in microseconds per op."""
    rows = []
    for shape in SHAPES:
        expected = numpy_chain(shape, n_ops)
        got = armgrad_chain(shape, n_ops)
        if not np.allclose(got, expected, rtol=1e-10, atol=1e-300):
            raise AssertionError(f"armgrad's gradient on shape {shape} differs from the hand-written one")
        replay = traced_chain(shape, n_ops)
        if not np.array_equal(replay(), got):
            raise AssertionError(f"the traced chain's gradient on shape {shape} differs from the engine's")
        fns = [lambda shape=shape: armgrad_chain(shape, n_ops), lambda shape=shape: numpy_chain(shape, n_ops), replay]
        if torch is not None:
            if not np.allclose(torch_chain(torch, shape, n_ops), expected, rtol=1e-10, atol=1e-300):
                raise AssertionError(f"torch's gradient on shape {shape} differs from the hand-written one")
            fns.append(lambda shape=shape: torch_chain(torch, shape, n_ops))
        per_op = [t * 1e6 / n_ops for t in best_times(fns, repeats)]
        engine, floor, traced = per_op[:3]
        reference = per_op[3] if torch is not None else None
        rows.append((shape, engine, floor, traced, reference))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 40-op chain, best of 3 (smoke run)")
    parser.add_argument("--ops", type=int, default=None, help="chain length (default 1000, quick 40)")
    parser.add_argument("--repeats", type=int, default=None, help="best of N (default 30, quick 3)")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch reference")
    args = parser.parse_args(argv)
    n_ops = args.ops or (40 if args.quick else 1000)
    if n_ops < 4 or n_ops % 4:
        parser.error(f"--ops must be a positive multiple of 4, got {n_ops}")
    repeats = args.repeats or (3 if args.quick else 30)

    torch = None if args.no_torch else _import_torch()
    print(f"engine overhead: {n_ops}-op chain of add/mul/sin/tanh, forward + backward, "
          f"float64, best of {repeats}, microseconds per op")
    print(blas_threads())
    if torch is None:
        print("torch not installed: skipped" if not args.no_torch else "torch: skipped (--no-torch)")
    else:
        print(f"reference: torch {torch.__version__} eager, {torch.get_num_threads()} thread")
    rows = measure(n_ops, repeats, torch)
    header = (f"{'shape':>8} {'armgrad':>9} {'traced':>8} {'numpy by hand':>14} {'torch eager':>12} "
              f"{'armgrad/torch':>14} {'traced/torch':>13} {'armgrad/numpy':>14}")
    print(header)
    print("-" * len(header))
    for shape, engine, floor, traced, reference in rows:
        ref = f"{reference:12.2f}" if reference is not None else f"{'-':>12}"
        ratio = f"{engine / reference:14.2f}" if reference is not None else f"{'-':>14}"
        traced_ratio = f"{traced / reference:13.2f}" if reference is not None else f"{'-':>13}"
        print(f"{shape!s:>8} {engine:9.2f} {traced:8.2f} {floor:14.2f} {ref} {ratio} {traced_ratio} "
              f"{engine / floor:14.2f}")
    if torch is not None:
        for label, column, limit in (("armgrad", 1, 0.5), ("traced", 3, 0.25)):
            worst = max(row[column] / row[4] for row in rows)
            verdict = "met" if worst <= limit else "not met"
            print(f"target {label}/torch <= {limit:.2f}: {verdict} (worst {worst:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
