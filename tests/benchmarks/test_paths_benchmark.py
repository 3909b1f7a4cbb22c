"""benchmarks.paths runs end to end in --quick mode (so it cannot rot) and prints its table."""

from benchmarks import paths as bench


def test_quick_run_prints_every_case_checked_by_fk(capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = {line[:16].strip(): line.split() for line in out.splitlines()
            if line.startswith(("panda ", "ur5 "))}
    assert list(rows) == ["panda poses", "panda positions", "ur5 poses", "ur5 positions"]
    assert all("yes/yes" in row for row in rows.values())
    assert rows["ur5 poses"][-1] == "isolated"
