"""Every benchmark runs end to end at tiny sizes (`--quick`), so none of them rots."""

import importlib
import pathlib

import pytest

BENCHMARKS = sorted(p.stem for p in (pathlib.Path(__file__).parents[2] / "benchmarks").glob("*.py")
                    if not p.stem.startswith("_"))


def test_benchmarks_are_found():
    assert "ik" in BENCHMARKS


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_quick(name, capsys):
    module = importlib.import_module(f"benchmarks.{name}")
    module.main(["--quick"])
    out = capsys.readouterr().out
    assert out.strip(), f"benchmarks.{name} printed nothing"
