"""kin.solve_many in this process: chunks, their seeds, order, tasks, bad input (the Dask side: test_scale*)."""

import doctest

import numpy as np
import pytest

import kinematics as kin
import robots
from kinematics import scale

ARM = robots.get("panda")


def _targets(count, seed=0):
    return kin.forward_kinematics(ARM, np.random.default_rng(seed).uniform(ARM.lower, ARM.upper, (count, ARM.n)))


def test_each_chunk_is_a_solve_seeded_by_its_index_and_rows_keep_their_order():
    T = _targets(25)
    result = kin.solve_many(ARM, T, chunk_size=10, seed=3, max_restarts=20)
    for k, (lo, hi) in enumerate([(0, 10), (10, 20), (20, 25)]):
        alone = kin.solve(ARM, T[lo:hi], seed=scale.chunk_seed(3, k), max_restarts=20)
        assert np.array_equal(result.q[lo:hi], alone.q)
        assert result.reason[lo:hi] == alone.reason
    assert result.success.all()
    e = kin.pose_error(kin.forward_kinematics(ARM, result.q), T)
    assert np.abs(e).max() < 1e-6


def test_chunk_seeds_differ_by_index_and_seed_and_are_reproducible():
    seeds = {scale.chunk_seed(s, k) for s in range(5) for k in range(50)}
    assert len(seeds) == 250 and all(0 <= x < 2**63 for x in seeds)
    assert scale.chunk_seed(7, 3) == scale.chunk_seed(7, 3)


def test_skip_leaves_chunks_out_and_chunks_come_in_order_here():
    T = _targets(9, seed=1)
    got = [(k, bounds) for k, bounds, _ in scale.iter_chunks(ARM, T, chunk_size=4, skip={1})]
    assert got == [(0, (0, 4)), (2, (8, 9))]


def test_a_goal_turns_targets_into_tasks():
    T = _targets(6, seed=2)
    scene = [kin.HalfSpace((0, 0, 1), 0.0)]

    result = kin.solve_many(ARM, T, chunk_size=4, goal=_ToolPoseAvoiding(scene))
    assert result.success.all() and set(result.task_errors[1]) == {"distance", "pair"}
    assert np.all(result.task_errors[1]["distance"] >= 0)


class _ToolPoseAvoiding:  # picklable (a Dask worker would receive it)
    def __init__(self, scene):
        self.scene = scene

    def __call__(self, T):
        return [kin.Pose("tool", T), kin.Avoid(self.scene)]


def test_the_empty_batch_and_bad_arguments():
    empty = kin.solve_many(ARM, np.zeros((0, 4, 4)))
    assert empty.q.shape == (0, 7)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="chunk_size"):
            kin.solve_many(ARM, _targets(2), chunk_size=bad)
    with pytest.raises(ValueError, match="seed"):
        kin.solve_many(ARM, _targets(2), seed=-1)
    with pytest.raises(ValueError, match="workers"):
        with scale.local_cluster(0):
            pass


def test_docstring_example_runs():
    failures, _ = doctest.testmod(scale, verbose=False)
    assert failures == 0


def test_malformed_rows_are_answered_as_such_and_the_others_solved_as_without_them():
    T = _targets(6, seed=4)
    bad = T.copy()
    bad[1, 2, 3] = np.nan
    bad[3, :3, :3] = bad[3, :3, :3] @ np.diag([1.0, 1.0, -1.0])  # a reflection: det -1
    bad[4, 0, 3] = 1e12
    result = kin.solve_many(ARM, bad, chunk_size=6, seed=2)
    assert result.success.tolist() == [True, False, True, False, False, True]
    assert result.reason[1] == "malformed target: NaN or infinite values"
    assert result.reason[3].startswith("malformed target: not a rigid transform")
    assert result.reason[4].startswith("malformed target: a coordinate beyond any chain's reach")
    assert np.isnan(result.q[[1, 3, 4]]).all() and (result.iterations[[1, 3, 4]] == 0).all()
    alone = kin.solve(ARM, T[[0, 2, 5]], seed=scale.chunk_seed(2, 0))  # the good rows, as one chunk without the rest
    assert np.array_equal(result.q[[0, 2, 5]], alone.q)
    assert np.isnan(result.task_errors[0]["position"][[1, 3, 4]]).all()
    assert scale.malformed(T).tolist() == [""] * 6
    planar = robots.get("planar2")
    assert scale.malformed(np.array([[1.0, 0.5], [np.inf, 0.0]])).tolist() == ["", "malformed target: NaN or "
                                                                                 "infinite values"]
    assert kin.solve_many(planar, [[1.0, 0.5], [np.nan, 0.0]]).success.tolist() == [True, False]
