"""benchmarks.training runs in --quick mode (so it does not rot)."""

from benchmarks import training


def test_quick_benchmark_runs(capsys):
    assert training.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "numpy matmuls (floor)" in out and "targets" in out
