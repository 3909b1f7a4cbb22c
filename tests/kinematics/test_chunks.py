"""A large batch is solved in chunks of TARGET_CHUNK targets (kinematics.ik): the answers are those
of solving every chunk alone with the same options, and the loop's memory does not grow with B.

The chunk size is made tiny here (monkeypatched) so that a few hundred targets span several chunks.
"""

import math
import tracemalloc

import numpy as np
import pytest

import kinematics as kin
import robots
from kinematics import ik

FIELDS = ("q", "success", "position_error", "rotation_error", "iterations", "restarts")


def sample_q(chain, count, seed):
    rng = np.random.default_rng(seed)
    lo = np.where(np.isfinite(chain.lower), chain.lower, -math.pi)
    hi = np.where(np.isfinite(chain.upper), chain.upper, math.pi)
    return rng.uniform(lo, hi, (count, chain.n))


def solve_chunks_alone(robot, make_target, count, chunk, **options):
    """Each chunk of `count` targets solved by its own `kin.solve` call (chunking off: a huge chunk)."""
    return [kin.solve(robot, make_target(slice(lo, lo + chunk)), **options) for lo in range(0, count, chunk)]


def assert_same_as_chunks(whole, parts):
    for name in FIELDS:
        joined = np.concatenate([getattr(p, name) for p in parts])
        assert joined.dtype == getattr(whole, name).dtype, name
        np.testing.assert_array_equal(getattr(whole, name), joined, err_msg=name)
    assert whole.reason == [r for p in parts for r in p.reason]
    assert len(whole.task_errors) == len(parts[0].task_errors)
    for k, entry in enumerate(whole.task_errors):
        assert entry.keys() == parts[0].task_errors[k].keys()
        for key, value in entry.items():
            np.testing.assert_array_equal(value, np.concatenate([p.task_errors[k][key] for p in parts]))


def test_panda_batch_equals_its_chunks_solved_alone(monkeypatch):
    chain = robots.get("panda")
    targets = kin.forward_kinematics(chain, sample_q(chain, 300, seed=5))
    targets[70, :3, 3] = [2.0, 0.5, 0.3]  # out of reach in the second chunk: restarts, the polish, its reason
    monkeypatch.setattr(ik, "TARGET_CHUNK", 10**9)
    parts = solve_chunks_alone(chain, lambda s: targets[s], 300, 64, seed=3)
    monkeypatch.setattr(ik, "TARGET_CHUNK", 64)
    whole = kin.solve(chain, targets, seed=3)
    assert_same_as_chunks(whole, parts)
    assert whole.success.sum() == 299 and whole.reason[70].startswith("out of reach")
    # The first chunk's answers are those of its targets solved alone: so are every chunk's, as
    # each draws its random starts from a fresh generator for the seed.
    unchunked = kin.solve(chain, targets[:64], seed=3)
    np.testing.assert_array_equal(whole.q[:64], unchunked.q)


def test_planar_positions_with_history_and_q0_equal_chunks_alone(monkeypatch):
    chain = robots.get("planar3")
    q_true = sample_q(chain, 150, seed=6)
    targets = kin.forward_kinematics(chain, q_true)[:, :2, 3]
    q0 = np.clip(q_true + 0.3, chain.lower, chain.upper)
    options = dict(seed=1, record_history=True, method="lm")
    monkeypatch.setattr(ik, "TARGET_CHUNK", 10**9)
    parts = [kin.solve(chain, targets[lo:lo + 40], q0=q0[lo:lo + 40], **options) for lo in range(0, 150, 40)]
    monkeypatch.setattr(ik, "TARGET_CHUNK", 40)
    whole = kin.solve(chain, targets, q0=q0, **options)
    assert_same_as_chunks(whole, parts)
    histories = [h for p in parts for h in p.history]
    assert len(whole.history) == 150
    for got, want in zip(whole.history, histories):
        for key in ("q", "position_error", "rotation_error"):
            np.testing.assert_array_equal(got[key], want[key])


def test_task_batch_with_a_soft_task_equals_its_chunks_solved_alone(monkeypatch):
    # Tasks: the loop's targets are rows of the tasks' batches, so the reach check, the soft phase
    # and the errors per task must read the chunk's rows, not the first ones.
    robot = robots.get("panda")
    T = kin.forward_kinematics(robot, sample_q(robot, 150, seed=7))
    T[100, :3, 3] = [0.0, 1.8, 0.2]  # out of reach, in the last chunk
    rest = np.zeros(robot.n)
    monkeypatch.setattr(ik, "TARGET_CHUNK", 10**9)
    # starts=1: by default a lone batch of <= 16 targets gets 4 starts, and the last chunk is 22.
    parts = solve_chunks_alone(robot, lambda s: [kin.Pose("tool", T[s]), kin.Posture(rest, 0.1)], 150, 64,
                               seed=2, starts=1)
    monkeypatch.setattr(ik, "TARGET_CHUNK", 64)
    whole = kin.solve(robot, [kin.Pose("tool", T), kin.Posture(rest, 0.1)], seed=2, starts=1)
    assert_same_as_chunks(whole, parts)
    assert whole.reason[100].startswith("out of reach") and whole.success.sum() == 149


def test_default_starts_follow_the_whole_batch(monkeypatch):
    # 20 Panda targets in chunks of 8 end in a chunk of 4: it keeps the batch's one start per
    # target (alone, a batch of 4 targets gets 4 starts each).
    chain = robots.get("panda")
    targets = kin.forward_kinematics(chain, sample_q(chain, 20, seed=8))
    monkeypatch.setattr(ik, "TARGET_CHUNK", 8)
    whole = kin.solve(chain, targets, seed=0)
    monkeypatch.setattr(ik, "TARGET_CHUNK", 10**9)
    last = kin.solve(chain, targets[16:], seed=0, starts=1)
    np.testing.assert_array_equal(whole.q[16:], last.q)
    assert whole.success.all() and whole.restarts.sum() > 0  # random starts were drawn


def _peak_bytes(chain, targets):
    tracemalloc.start()
    try:
        kin.solve(chain, targets, seed=0)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_loop_memory_does_not_grow_with_the_batch(monkeypatch):
    # numpy reports its allocations to tracemalloc. Unchunked, the loop holds ~2.7 kB of arrays per
    # Panda target (J, JᵀWJ, the damped system, a copy of the targets, ...); in chunks only the
    # answers grow with B (q, errors, counts, reasons: ~0.1 kB per target, plus their concatenation).
    chain = robots.get("panda")
    targets = kin.forward_kinematics(chain, sample_q(chain, 1600, seed=9))
    monkeypatch.setattr(ik, "TARGET_CHUNK", 200)
    kin.solve(chain, targets, seed=0)  # caches (compiled chain, BLAS controller, FK traces) outside the measurement
    one = _peak_bytes(chain, targets[:200])
    per_target = (_peak_bytes(chain, targets) - one) / 1400
    assert per_target < 500, f"{per_target:.0f} bytes more per target in chunks of 200"
    monkeypatch.setattr(ik, "TARGET_CHUNK", 10**9)
    unchunked = (_peak_bytes(chain, targets) - one) / 1400
    assert unchunked > 2000, f"unchunked: {unchunked:.0f} bytes per target"  # the check has teeth


@pytest.mark.parametrize("count", [63, 64, 65, 129])
def test_chunk_boundaries(monkeypatch, count):
    # 63 and 64 are one chunk; 65 ends in a chunk of one target (still a batch: arrays, not scalars).
    chain = robots.get("panda")
    targets = kin.forward_kinematics(chain, sample_q(chain, count, seed=10))
    monkeypatch.setattr(ik, "TARGET_CHUNK", 10**9)
    parts = solve_chunks_alone(chain, lambda s: targets[s], count, 64, seed=0, starts=1)
    monkeypatch.setattr(ik, "TARGET_CHUNK", 64)
    whole = kin.solve(chain, targets, seed=0)
    assert_same_as_chunks(whole, parts)
    assert whole.q.shape == (count, 7) and len(whole.reason) == count and whole.success.all()
