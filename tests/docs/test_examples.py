"""Every docs/examples script runs, checks itself and passes; each one's check can fail."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "docs" / "examples").glob("e[0-9][0-9]_*.py"))


def load(path):
    if str(path.parent) not in sys.path:  # the examples import their shared `checking` module
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(f"docs_example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_is_one_example_per_course_topic():
    assert [p.name[:3] for p in EXAMPLES] == [f"e0{i}" for i in range(1, 9)]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_and_passes_its_checks(path, capsys):
    load(path).main()
    out = capsys.readouterr().out
    assert "engine:" in out and "oracle:" in out  # prints both sides of each check
    assert out.rstrip().splitlines()[-1].startswith("ok:")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_check_raises_on_a_mismatch(path, capsys):
    check = load(path).check
    check("equal", np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match="differs"):
        check("different", np.array([1.0, 2.0]), np.array([1.0, 2.1]))
    with pytest.raises(AssertionError, match="differs"):
        check("different shapes", np.array([1.0, 2.0]), np.array([[1.0, 2.0]]))


@pytest.mark.parametrize("name", ["e06_regularization.py"])
def test_example_as_a_script(name):
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(REPO / "docs" / "examples" / name)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("ok:")


def test_a_failing_check_exits_non_zero(tmp_path):
    # The same script with its oracle broken must stop with a non-zero status.
    source = (REPO / "docs" / "examples" / "e06_regularization.py").read_text()
    broken = source.replace("2 * y * W.data", "3 * y * W.data")
    assert broken != source
    script = tmp_path / "broken.py"
    script.write_text(broken)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "docs" / "examples")]))
    result = subprocess.run([sys.executable, str(script)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "AssertionError" in result.stderr


def test_index_lists_every_example():
    index = (REPO / "docs" / "index.md").read_text()
    for path in EXAMPLES:
        assert f"(examples/{path.name})" in index
