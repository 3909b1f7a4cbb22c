"""FK and the Jacobian by replayed traces (`fk.REPLAY`) against the engine and the closed form.

The IK loop's evaluation records FK once per chain, formulation and padded row count
(`ad.trace`) and replays it. Checked here: bit-equality with the engine on the same rows for
every built-in arm and every row count that picks another formulation or pads, the closed-form
Jacobian as the oracle, and IK answers that do not depend on whether the loop replays.
"""

import numpy as np
import pytest

import autodiff as ad
import kinematics as kin
import robots
from kinematics import fk, ik, tasks

ROWS = [1, 3, 8, 9, 20, 49, 50, 300, 1025]  # 4x4 products, padded, columns, chunked


@pytest.fixture(autouse=True)
def _trace_at_once(monkeypatch):
    """Every shape replayed from its first pass (by default the first TRACE_AFTER run on the engine)."""
    monkeypatch.setattr(fk, "TRACE_AFTER", 0)


def _configs(chain, m, seed=0):
    rng = np.random.default_rng(seed)
    lo, hi = np.maximum(chain.lower, -np.pi), np.minimum(chain.upper, np.pi)
    return rng.uniform(lo, hi, (m, chain.n))


@pytest.mark.parametrize("name", robots.available())
def test_replay_is_the_engine_bit_for_bit_and_matches_the_closed_form(name, monkeypatch):
    chain = robots.get(name)
    for m in ROWS:
        q = _configs(chain, m, seed=m)
        T, J = fk._pose_and_jacobian_chunked(chain, q)
        monkeypatch.setattr(fk, "REPLAY", False)
        T0, J0 = fk._pose_and_jacobian_chunked(chain, q)
        monkeypatch.setattr(fk, "REPLAY", True)
        np.testing.assert_array_equal(T, T0)
        np.testing.assert_array_equal(J, J0)
        np.testing.assert_allclose(T, kin.forward_kinematics(chain, q), rtol=0, atol=1e-13)
        np.testing.assert_allclose(J, kin.geometric_jacobian(chain, q), rtol=0, atol=1e-12)


def test_padding_does_not_change_real_rows():
    chain = robots.get("panda")
    q = _configs(chain, 20)
    T, J = fk._pose_and_jacobian(chain, q)  # padded to 32 rows
    for i in (0, 7, 19):
        Ti, Ji = fk._pose_and_jacobian(chain, np.repeat(q[i:i + 1], 20, axis=0))
        np.testing.assert_allclose(T[i], Ti[0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(J[i], Ji[0], rtol=0, atol=1e-15)


def test_rows_leaving_a_batch_reuse_a_few_traces():
    chain = robots.from_dh([robots.DHRow(d=0.1, a=0.5, alpha=0.3)] * 4)  # a fresh chain: no traces yet
    for m in range(1, 257):
        fk._pose_and_jacobian(chain, _configs(chain, m))
    # 1 to 32 rows of 4x4 products (padded to powers of two), then, above JACOBIAN_COLUMN_ROWS,
    # the column layout in multiples of 64: ten traces for 256 row counts.
    assert fk.JACOBIAN_COLUMN_ROWS == 32
    assert set(fk._replays(chain)) == ({(False, r) for r in (1, 2, 4, 8, 16, 32)}
                                       | {(True, 64), (True, 128), (True, 192), (True, 256)})
    assert [fk._bucket(m, True) for m in (50, 64, 65, 256, 257, 1000, 1024)] == [64, 64, 128, 256, 384, 1024, 1024]


def test_a_shape_is_traced_on_its_trace_after_th_pass(monkeypatch):
    monkeypatch.setattr(fk, "TRACE_AFTER", 3)
    chain = robots.from_dh([robots.DHRow(d=0.2, a=0.4, alpha=0.5)] * 3)
    q = _configs(chain, 5)
    answers = []
    for passes in range(1, 6):
        answers.append(fk._pose_and_jacobian(chain, q))
        recorded = fk._replays(chain)[(False, 8)]
        assert (recorded == passes) if passes <= 3 else isinstance(recorded, ad.Traced)
    for T, J in answers[1:]:  # the engine's passes and the replays: the same bits
        np.testing.assert_array_equal(T, answers[0][0])
        np.testing.assert_array_equal(J, answers[0][1])


@pytest.mark.parametrize("name, kind", [("panda", "pose"), ("ur5", "pose"), ("planar3", "position")])
def test_ik_answers_do_not_depend_on_replay(name, kind, monkeypatch):
    chain = robots.get(name)
    q = _configs(chain, 60, seed=5)
    targets = kin.forward_kinematics(chain, q)
    targets = targets[:, :2, 3] if kind == "position" else targets
    answers = []
    for replay in (True, False):
        monkeypatch.setattr(fk, "REPLAY", replay)
        batch = kin.solve(chain, targets, seed=3)
        single = [kin.solve(chain, t, seed=3).q for t in targets[:5]]
        answers.append((batch.q, np.array(single), batch.iterations))
    for got, want in zip(*answers):
        np.testing.assert_array_equal(got, want)


def test_a_deferred_jacobian_is_its_own_pass_or_refused():
    # The IK loop asks for J after the errors (`_pose_then_jacobian`): from the replay's buffers,
    # which the next pass over the chain overwrites.
    chain = robots.get("ur5")
    q1, q2 = _configs(chain, 4, seed=1), _configs(chain, 4, seed=2)
    T1, jacobian1 = fk._pose_then_jacobian(chain, q1)
    np.testing.assert_array_equal(jacobian1(), fk._pose_and_jacobian(chain, q1)[1])
    T1, jacobian1 = fk._pose_then_jacobian(chain, q1)
    T2, jacobian2 = fk._pose_then_jacobian(chain, q2)
    with pytest.raises(RuntimeError, match="after a later pass over the same chain"):
        jacobian1()
    np.testing.assert_array_equal(jacobian2(), kin.jacobian(chain, q2))
    np.testing.assert_array_equal(T1, kin.forward_kinematics(chain, q1))  # the poses are copies: still q1's


def test_a_lone_target_skips_the_jacobian_of_its_last_iteration(monkeypatch):
    evaluate, counts = fk._pose_then_jacobian, {"passes": 0, "jacobians": 0}

    def counting(chain, q):
        T, jacobian = evaluate(chain, q)
        counts["passes"] += 1

        def counted():
            counts["jacobians"] += 1
            return jacobian()
        return T, counted

    monkeypatch.setattr(ik, "_pose_then_jacobian", counting)
    chain = robots.get("panda")
    result = kin.solve(chain, kin.forward_kinematics(chain, _configs(chain, 1, seed=4))[0])
    # iterations + 1 evaluations, the first of them read (`ik._start_evaluation`, the sample's)
    assert result.success and counts["passes"] == result.iterations > 2
    assert counts["jacobians"] == counts["passes"] - 1  # every later step's, and none after the converged pass


# -- every task kind's residual, traced ---------------------------------------------------------

def _task_residuals():
    """(name, residual of poses) for each task kind with a residual written in engine ops."""
    rng = np.random.default_rng(2)
    target = kin.forward_kinematics(robots.get("panda"), _configs(robots.get("panda"), 1))[0]
    pose = tasks.Pose("tool", target)
    return [
        ("pose", pose, ("tool",)),
        ("position", tasks.Position("tool", target[:3, 3]), ("tool",)),
        ("orientation", tasks.Orientation("tool", target[:3, :3]), ("tool",)),
        ("axis", tasks.Axis("tool", [0.0, 0.0, 1.0], rng.standard_normal(3)), ("tool",)),
        ("relative", tasks.Relative("a", "b", target), ("a", "b")),
    ]


@pytest.mark.parametrize("name, task, frames", _task_residuals(), ids=[t[0] for t in _task_residuals()])
def test_every_task_residual_replays_as_the_engine(name, task, frames):
    chain = robots.get("panda")
    poses = {f: kin.forward_kinematics(chain, _configs(chain, 2, seed=k)) for k, f in enumerate(frames)}
    idx = np.array([0, 0])

    def residual(*arrays):
        return task.residual(dict(zip(frames, arrays)), None, idx)

    traced = ad.trace(residual, *poses.values())
    new = [kin.forward_kinematics(chain, _configs(chain, 2, seed=10 + k)) for k in range(len(frames))]
    leaves = [ad.Tensor(a, requires_grad=True) for a in new]
    want = residual(*leaves)
    g = np.random.default_rng(1).standard_normal(want.shape)
    want.backward(g)
    np.testing.assert_array_equal(traced(*new), want.data)
    got = traced.backward(g)
    for a, leaf in zip(got if len(frames) > 1 else [got], leaves):
        np.testing.assert_array_equal(a, leaf.grad)


def test_rotation_vector_recorded_far_from_convergence_replays_every_branch():
    """Recorded at ordinary angles, replayed at θ = 0, tiny, near π and at π: the engine's values
    and gradients, finite (the recorded graph holds every branch, chosen by traced comparisons)."""
    from kinematics.transforms import rot_x, rot_z

    def rotations(angles):
        return np.stack([(rot_z(0.3) @ rot_x(a) @ rot_z(-0.3))[:3, :3] for a in angles])

    traced = ad.trace(kin.rotation_vector, rotations([0.5, 1.0, 2.0, -1.5, 0.7, 2.5]))
    angles = [0.0, 1e-9, 1e-4, np.pi - 1e-4, np.pi - 1e-9, np.pi]
    M = rotations(angles)
    leaf = ad.Tensor(M, requires_grad=True)
    want = kin.rotation_vector(leaf)
    g = np.random.default_rng(0).standard_normal(want.shape)
    want.backward(g)
    got = traced(M)
    np.testing.assert_array_equal(got, want.data)
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), angles, rtol=1e-9, atol=1e-12)
    grad = traced.backward(g)
    np.testing.assert_array_equal(grad, leaf.grad)
    assert np.all(np.isfinite(grad))
