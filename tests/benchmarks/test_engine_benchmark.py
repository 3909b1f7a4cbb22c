"""The engine benchmark runs end to end in --quick mode (so it cannot rot) and prints its table."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "benchmarks.engine", *args], cwd=ROOT, env=env, check=False,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("args", [("--quick",), ("--quick", "--no-torch")])
def test_engine_benchmark_quick(args):
    out = run_benchmark(*args)
    rows = re.findall(r"^\s+\((1,|3, 3)\)\s+([\d.]+)\s+([\d.]+)\s+(\S+)", out, flags=re.MULTILINE)
    assert [r[0] for r in rows] == ["1,", "3, 3"], out
    for _, engine, floor, reference in rows:
        assert float(engine) > 0 and float(floor) > 0
        assert reference == "-" or float(reference) > 0
    if "--no-torch" in args:
        assert "torch: skipped" in out
    else:
        assert "torch not installed: skipped" in out or "armgrad/torch <= 0.50" in out


def test_engine_benchmark_without_torch_says_skipped(monkeypatch, capsys):
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import engine
    finally:
        sys.path.remove(str(ROOT))
    monkeypatch.setattr(engine, "_import_torch", lambda: None)
    assert engine.main(["--quick", "--repeats", "1"]) == 0
    assert "torch not installed: skipped" in capsys.readouterr().out


def test_engine_benchmark_rejects_bad_chain_lengths():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "benchmarks.engine", "--ops", "6"], cwd=ROOT, env=env, check=False,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "multiple of 4" in result.stderr
