"""benchmarks.kinematics runs end to end in --quick mode (so it cannot rot)."""

import numpy as np

import kinematics as kin
import robots
from benchmarks import kinematics as bench


def test_quick_run_prints_the_table(capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "armgrad/numpy" in out and "target B = 1" in out
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0] in ("1", "10", "100")]
    assert [r[0] for r in rows] == ["1", "10", "100"]


def test_hand_written_numpy_fk_matches_the_panda():
    chain = robots.get("panda")
    q = np.random.default_rng(0).uniform(chain.lower, chain.upper, size=(20, 7))
    p, R = bench.numpy_fk(q)
    T = kin.forward_kinematics(chain, q)
    np.testing.assert_allclose(p, T[:, :3, 3], atol=1e-14)
    np.testing.assert_allclose(R, T[:, :3, :3], atol=1e-14)
