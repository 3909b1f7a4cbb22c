"""Panda forward kinematics + gradient through the engine, beside a hand-written numpy FK.

For each batch size B, one call is: q (B, 7) as a Tensor -> `kinematics.forward_kinematics` ->
loss = Σ |p - p_target|² over the batch -> `loss.backward()` -> q.grad (B, 7). The reference in
the same run is a plain-numpy FK of the same batch, written by hand for the Panda's modified DH
table with one (B,) array per matrix entry, and no gradient. Both are checked before timing: the
poses against each other, the gradient against 2 (p - p_target)ᵀ J_v with the closed-form
Jacobian.

Targets on one core (DESIGN.md §8 and issue 3): at least 250,000 configs/s at B = 10,000 (jax
jit 238k, torch eager 114k, HIPS autograd 137k measured on this kind of machine) and at most
150 µs per call at B = 1 (torch eager 397 µs).

Where the time goes at B = 10,000 (allocator warm, ~5 ms forward + ~5 ms backward): ~3 ms in sin
and cos (their values, then again inside their VJPs), ~2.5 ms in the VJPs of the whole-batch
products (mul, matmul), the rest in the forward products and the engine's accumulation of
cotangents over ~80 ops on (3, 2..4, B) arrays. On a VM whose page faults are
expensive, each fresh output array also costs the kernel's zero-filling of new pages whenever
glibc has handed the previous call's memory back to the system: that alone can double the
figure (measured ~11 ms allocator-warm against ~23-33 ms cold on this machine). `import autodiff`
keeps freed memory in the process (autodiff.memory), so the figures here are allocator-warm; to
see glibc's own behaviour, give it a malloc setting of its own, which autodiff.memory then leaves
alone, e.g. glibc's default tcache size:
    GLIBC_TUNABLES=glibc.malloc.tcache_count=7 python -m benchmarks.kinematics

Usage:
    python -m benchmarks.kinematics            # B = 1, 100, 10000
    python -m benchmarks.kinematics --quick    # B = 1, 10, 100, few repeats (a smoke run)
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import autodiff as ad
import kinematics as kin
import robots
from benchmarks import blas_threads

# Panda, modified DH (a, alpha, d) per joint, flange Tz(0.107): the table of DESIGN.md §4.
PANDA_MDH = [(0.0, 0.0, 0.333), (0.0, -math.pi / 2, 0.0), (0.0, math.pi / 2, 0.316), (0.0825, math.pi / 2, 0.0),
             (-0.0825, -math.pi / 2, 0.384), (0.0, math.pi / 2, 0.0), (0.088, math.pi / 2, 0.0)]
PANDA_FLANGE = 0.107


def numpy_fk(q):
    """Hand-written Panda FK: q (B, 7) -> positions (B, 3) and rotations (B, 3, 3), no gradient.

    The pose is kept as its three rotation columns r0, r1, r2 and position p, each a (3, B)
    array. A modified DH row Rx(α) Tx(a) Rz(q) Tz(d) has rotation columns (c, s cα, s sα),
    (-s, c cα, c sα), (0, -sα, cα) and translation (a, -sα d, cα d), so right-multiplying by
    it is a few multiply-adds of whole (B,) vectors.
    """
    B = q.shape[0]
    r0, r1, r2 = np.zeros((3, B)), np.zeros((3, B)), np.zeros((3, B))
    r0[0], r1[1], r2[2] = 1.0, 1.0, 1.0
    p = np.zeros((3, B))
    c_all, s_all = np.cos(q.T), np.sin(q.T)
    for (a, alpha, d), c, s in zip(PANDA_MDH, c_all, s_all):
        ca, sa = math.cos(alpha), math.sin(alpha)
        p = p + a * r0 + (-sa * d) * r1 + (ca * d) * r2
        u = ca * r1 + sa * r2  # the x-rotation's new y column, shared by both new columns
        r0, r1, r2 = c * r0 + s * u, c * u - s * r0, ca * r2 - sa * r1
    p = p + PANDA_FLANGE * r2
    return p.T, np.stack([r0, r1, r2], axis=-1).transpose(1, 0, 2)


def armgrad_step(chain, q0, target):
    """FK + gradient of Σ |p - target|² through the engine; returns (loss, q.grad)."""
    q = ad.Tensor(q0, requires_grad=True)
    T = kin.forward_kinematics(chain, q)
    r = T[..., :3, 3] - target
    loss = ad.sum(r * r)
    loss.backward()
    return loss.data, q.grad


def best_time(fn, repeats):
    """The fastest of `repeats` calls of fn(), in seconds (after one warm-up call)."""
    fn()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def check(chain, q0, target):
    """Fail loudly if the two FKs disagree or the engine's gradient is wrong."""
    T = kin.forward_kinematics(chain, q0)
    p, R = numpy_fk(q0)
    if not (np.allclose(p, T[:, :3, 3], atol=1e-12) and np.allclose(R, T[:, :3, :3], atol=1e-12)):
        raise AssertionError("hand-written numpy FK differs from kinematics.forward_kinematics")
    _, grad = armgrad_step(chain, q0, target)
    expected = 2.0 * np.einsum("bi,bij->bj", T[:, :3, 3] - target, kin.geometric_jacobian(chain, q0)[:, :3, :])
    if not np.allclose(grad, expected, rtol=1e-9, atol=1e-12):
        raise AssertionError("the engine's gradient differs from 2 (p - target)ᵀ J_v")


def measure(sizes, repeats, seed=0):
    """Rows (B, armgrad seconds per call, numpy seconds per call)."""
    chain = robots.get("panda")
    rng = np.random.default_rng(seed)
    rows = []
    for B in sizes:
        q0 = rng.uniform(chain.lower, chain.upper, size=(B, chain.n))
        target = rng.uniform(-0.5, 0.5, size=(B, 3))
        check(chain, q0[:min(B, 50)], target[:min(B, 50)])
        if B == 1:  # one configuration: q (7,), the IK solver's single-target case
            q0, target = q0[0], target[0]
        n = max(3, int(repeats * min(1.0, 100.0 / B) ** 0.5))
        engine = best_time(lambda q0=q0, target=target: armgrad_step(chain, q0, target), n)
        floor = best_time(lambda q0=q0: numpy_fk(np.atleast_2d(q0)), n)
        rows.append((B, engine, floor))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kinematics", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="B = 1, 10, 100, best of 3 (smoke run)")
    parser.add_argument("--repeats", type=int, default=None, help="best of N at B <= 100 (default 200, quick 3)")
    args = parser.parse_args(argv)
    sizes = (1, 10, 100) if args.quick else (1, 100, 10_000)
    repeats = args.repeats or (3 if args.quick else 200)

    print("Panda FK + gradient of sum |p - p_target|^2 w.r.t. q through the engine, float64, best of N;")
    print("reference in the same run: hand-written numpy FK of the same batch (no gradient)")
    print(blas_threads())
    rows = measure(sizes, repeats)
    header = (f"{'B':>7} {'armgrad us/call':>16} {'armgrad configs/s':>18} {'numpy FK us/call':>17} "
              f"{'numpy configs/s':>16} {'armgrad/numpy':>14}")
    print(header)
    print("-" * len(header))
    for B, engine, floor in rows:
        print(f"{B:>7} {engine * 1e6:16.1f} {B / engine:18,.0f} {floor * 1e6:17.1f} {B / floor:16,.0f} "
              f"{engine / floor:14.1f}")
    by_size = {B: engine for B, engine, _ in rows}
    if 1 in by_size:
        verdict = "met" if by_size[1] * 1e6 <= 150 else "not met"
        print(f"target B = 1: <= 150 us per call: {verdict} ({by_size[1] * 1e6:.0f} us; torch eager 397 us)")
    if 10_000 in by_size:
        rate = 10_000 / by_size[10_000]
        verdict = "met" if rate >= 250_000 else "not met"
        print(f"target B = 10,000: >= 250,000 configs/s: {verdict} ({rate:,.0f}; jax jit 238k, torch eager 114k, "
              "HIPS autograd 137k, hand-written numpy FK+grad 2.0M)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
