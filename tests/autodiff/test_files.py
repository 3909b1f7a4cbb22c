"""atomic_output: a file appears whole or not at all, and the old one survives a failed write."""

import os
import stat

import numpy as np
import pytest

from autodiff.files import atomic_output


def test_writes_and_keeps_the_extension(tmp_path):
    target = tmp_path / "answers.csv"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".csv" and tmp != target
        tmp.write_text("a,b\n")
    assert target.read_text() == "a,b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "answers.csv"
    target.write_text("old content\n")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half a ne")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv"]


def test_os_errors_name_the_path(tmp_path):
    target = tmp_path / "curves.png"
    with pytest.raises(OSError, match=r"cannot write .*curves\.png: No space left on device"):
        with atomic_output(target):
            raise OSError(28, "No space left on device")
    assert not target.exists() and not list(tmp_path.iterdir())


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(OSError, match=r"cannot write .*nowhere.*x\.npz"):
        with atomic_output(tmp_path / "nowhere" / "x.npz"):
            pass


def test_permissions_are_the_usual_ones(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "new.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644
    existing = tmp_path / "existing.txt"
    existing.write_text("x")
    existing.chmod(0o640)
    with atomic_output(existing) as tmp:
        tmp.write_text("y")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640


def test_module_save_is_atomic(tmp_path, monkeypatch):
    import autodiff as ad

    model = ad.nn.MLP([2, 3, 2], seed=0)
    path = model.save(tmp_path / "params.npz")
    before = (tmp_path / "params.npz").read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match="params.npz: No space left on device"):
        ad.nn.MLP([2, 3, 2], seed=1).save(path)
    assert (tmp_path / "params.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.npz"]
