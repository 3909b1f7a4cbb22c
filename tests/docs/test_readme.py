"""The README's Python examples run as written, in order, and the solves they show succeed."""

import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).parents[2] / "README.md"


def test_readme_python_blocks_run_in_order(capsys, tmp_path, monkeypatch):
    # As from the repo root (a block reads tests/robots/data), but in a folder of its own: the
    # files the blocks write (spirals.npz) stay out of the checkout.
    (tmp_path / "tests").symlink_to(README.parent / "tests", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), re.S):
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["result"].success  # the first Panda pose
    assert namespace["reach"].success  # the MJCF Panda
    clear = namespace["clear"]  # collision-aware: met, and the reported clearances keep the margin
    assert clear.success and clear.task_errors[1]["distance"] >= 0.01 and clear.task_errors[2]["distance"] >= 0
    assert namespace["talos"].n == 32 and namespace["hands"].shape == (200, 2, 4, 4)  # the tasks block reuses it
    assert np.mean(namespace["both"].success) >= 0.99 and namespace["rest"].success
    assert capsys.readouterr().out.strip()
