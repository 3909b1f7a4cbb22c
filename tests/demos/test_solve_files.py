"""`armgrad solve --targets F --out FILE`: nothing lost, nothing half-written.

FILE appears only when the run is complete; finished chunks wait in FILE.parts/ so Ctrl-C (a real
SIGINT to a subprocess here) or a full disk keeps them, and the same command resumes to a
byte-identical answers file. Different options refuse to resume.
"""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kinematics as kin
import robots
from demos import chunks, cli

REPO = Path(__file__).resolve().parents[2]


def armgrad(capsys, *argv):
    """Run `armgrad ARGV` in-process: (exit status, stdout, stderr)."""
    try:
        status = cli.main([str(a) for a in argv])
    except KeyboardInterrupt:  # it would stop pytest itself
        pytest.fail("KeyboardInterrupt escaped from cli.main")
    out, err = capsys.readouterr()
    return status, out, err


def planar_targets(path, count, seed=1):
    """`count` reachable planar3 positions (count, 2) saved as .npy; returns the path."""
    chain = robots.get("planar3")
    q = np.random.default_rng(seed).uniform(chain.lower, chain.upper, (count, chain.n))
    np.save(path, kin.forward_kinematics(chain, q)[:, :2, 3])
    return path


def panda_pose_csv(path, count=12, seed=7):
    chain = robots.get("panda")
    T = kin.forward_kinematics(chain, np.random.default_rng(seed).uniform(chain.lower, chain.upper, (count, chain.n)))
    from scipy.spatial.transform import Rotation

    rpy = Rotation.from_matrix(T[:, :3, :3]).as_euler("xyz")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "z", "roll", "pitch", "yaw"])
        writer.writerows([[repr(float(v)) for v in [*t[:3, 3], *r]] for t, r in zip(T, rpy)])
    return path


def interrupt_after(monkeypatch, calls):
    """kin.solve raises KeyboardInterrupt (as Ctrl-C would) on call number `calls` + 1 (the batch
    CLI's in-process chunks call it as kinematics.scale.solve)."""
    from kinematics import scale

    real = kin.solve
    count = {"n": 0}

    def solve(*args, **kwargs):
        count["n"] += 1
        if count["n"] > calls:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(kin, "solve", solve)
    monkeypatch.setattr(scale, "solve", solve)


def listing(folder):
    """Every name in `folder` (temporary dot-files included)."""
    return sorted(p.name for p in Path(folder).iterdir())


# ----------------------------------------------------------------------------- Ctrl-C, a real one

def test_sigint_keeps_finished_chunks_and_the_same_command_resumes(capsys, tmp_path):
    targets = planar_targets(tmp_path / "t.npy", 160)  # 80 chunks: a second or so
    reference = tmp_path / "reference.csv"
    common = ["solve", "planar3", "--targets", targets, "--chunk-size", "2", "--no-progress"]
    assert armgrad(capsys, *common, "--out", reference)[0] == 0
    out = tmp_path / "answers.csv"
    out.write_text("the previous answers\n")
    parts = chunks.parts_folder(out)
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    # A shell that started pytest in the background ignores SIGINT, and children inherit that.
    proc = subprocess.Popen([sys.executable, "-m", "demos", *map(str, common), "--out", str(out)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not (parts.is_dir() and list(parts.glob("chunk-*.npz"))):
            assert proc.poll() is None and time.monotonic() < deadline, "no chunk was written"
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert stdout == "" and stderr.count("\n") == 1 and "Traceback" not in stderr
    kept = len(list(parts.glob("chunk-*.npz")))
    assert f"interrupted: {2 * kept} of 160 targets kept in {parts}/; re-run the same command to resume" in stderr
    assert 0 < kept < 80
    assert out.read_text() == "the previous answers\n"  # untouched until the run is complete

    status, stdout, stderr = armgrad(capsys, *common, "--out", out)
    assert status == 0, stderr
    assert f"resuming: {2 * kept} of 160 targets already solved" in stderr
    assert f"{2 * kept} of them resumed" in stdout
    assert out.read_bytes() == reference.read_bytes()
    assert not parts.exists()
    assert listing(tmp_path) == ["answers.csv", "reference.csv", "t.npy"]


def test_resumed_pose_batch_is_identical_and_the_bar_says_resumed(capsys, tmp_path, monkeypatch):
    targets = panda_pose_csv(tmp_path / "targets.csv")
    common = ["solve", "panda", "--targets", targets, "--chunk-size", "4"]
    assert armgrad(capsys, *common, "--out", tmp_path / "reference.csv")[0] == 0
    out = tmp_path / "answers.csv"
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1)
        status, stdout, stderr = armgrad(capsys, *common, "--out", out)
    assert status == 130 and stdout == ""
    assert stderr.splitlines()[-1] == (f"armgrad solve: interrupted: 4 of 12 targets kept in {out}.parts/; "
                                       f"re-run the same command to resume")
    assert not out.exists() and listing(f"{out}.parts") == ["chunk-000000.npz", "manifest.json"]
    status, stdout, stderr = armgrad(capsys, *common, "--out", out)
    assert status == 0
    assert "solving (resumed)" in stderr and " 4/12 " in stderr  # the bar starts at the finished count
    assert out.read_bytes() == (tmp_path / "reference.csv").read_bytes()


def test_interrupt_without_out_is_one_line_and_130(capsys, tmp_path, monkeypatch):
    targets = planar_targets(tmp_path / "t.npy", 6)
    interrupt_after(monkeypatch, 1)
    status, stdout, stderr = armgrad(capsys, "solve", "planar3", "--targets", targets, "--chunk-size", "2",
                                     "--no-progress")
    assert status == 130 and stdout == ""
    assert stderr == ("armgrad solve: interrupted after 2 of 6 targets; nothing written "
                      "(with --out FILE finished chunks are kept and a re-run resumes)\n")


def test_interrupt_in_any_command_is_one_line_and_130(capsys, monkeypatch):
    from demos import fk_cmd

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(fk_cmd, "run", interrupted)
    assert armgrad(capsys, "fk", "planar2", "0", "0") == (130, "", "armgrad fk: interrupted\n")
    with pytest.raises(KeyboardInterrupt):
        cli.main(["--debug", "fk", "planar2", "0", "0"])


# ----------------------------------------------------------------------------- resuming only the same run

@pytest.mark.parametrize("change, named", [
    (["--seed", "1"], "seed: 0 there, 1 now"),
    (["--chunk-size", "3"], "chunk_size: 2 there, 3 now"),
    (["--method", "adam"], 'method: "lm" there, "adam" now'),
    (["--tol-position", "1e-5"], "tol_position: 1e-06 there, 1e-05 now"),
    (["--max-restarts", "7"], "max_restarts: 100 there, 7 now"),
    (["--time-budget", "5"], "time_budget: none there, 5.0 now"),
    (["--q0", "0.1", "0.2", "0.3"], "q0: none there, [0.1, 0.2, 0.3] now"),
])
def test_other_options_refuse_to_resume_and_say_what_differs(capsys, tmp_path, monkeypatch, change, named):
    targets = planar_targets(tmp_path / "t.npy", 6)
    out = tmp_path / "answers.csv"
    common = ["solve", "planar3", "--targets", targets, "--out", out, "--chunk-size", "2", "--no-progress"]
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1)
        assert armgrad(capsys, *common)[0] == 130
    argv = common + change
    if "--chunk-size" in change:
        argv = [a for i, a in enumerate(common) if a != "--chunk-size" and common[i - 1] != "--chunk-size"] + change
    status, stdout, stderr = armgrad(capsys, *argv)
    assert status == 2 and stdout == "" and stderr.count("\n") == 1
    assert named in stderr and f"delete {out}.parts/ to start over" in stderr
    assert listing(f"{out}.parts") == ["chunk-000000.npz", "manifest.json"]  # nothing lost either


def test_a_changed_targets_file_or_robot_file_refuses_to_resume(capsys, tmp_path, monkeypatch):
    arm = tmp_path / "arm.toml"
    arm.write_text('name = "mine"\n[planar]\nlengths = [1.0, 1.0]\n')
    targets = tmp_path / "t.npy"
    np.save(targets, np.array([[1.0, 1.0], [0.5, 1.2], [1.5, 0.3], [-1.0, 0.4]]))
    out = tmp_path / "answers.csv"
    command = ["solve", arm, "--targets", targets, "--out", out, "--chunk-size", "2", "--no-progress"]
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1)
        assert armgrad(capsys, *command)[0] == 130
    arm.write_text('name = "mine"\n[planar]\nlengths = [1.0, 1.1]\n')  # same name, other arm
    status, _, stderr = armgrad(capsys, *command)
    assert status == 2 and "robot_fingerprint: (another value) there, (another value) now" in stderr
    arm.write_text('name = "mine"\n[planar]\nlengths = [1.0, 1.0]\n')
    np.save(targets, np.array([[1.0, 1.0], [0.5, 1.2], [1.5, 0.3], [-1.0, 0.5]]))
    status, _, stderr = armgrad(capsys, *command)
    assert status == 2 and "targets: (another value) there" in stderr and "robot" not in stderr.split("(")[1]
    np.save(targets, np.array([[1.0, 1.0], [0.5, 1.2], [1.5, 0.3], [-1.0, 0.4]]))
    assert armgrad(capsys, *command)[0] == 0 and not chunks.parts_folder(out).exists()


def test_a_parts_folder_without_manifest_is_refused_unless_empty(capsys, tmp_path):
    targets = planar_targets(tmp_path / "t.npy", 2)
    out = tmp_path / "answers.csv"
    command = ["solve", "planar3", "--targets", targets, "--out", out, "--no-progress"]
    parts = chunks.parts_folder(out)
    parts.mkdir()
    (parts / "chunk-000000.npz").write_bytes(b"from somewhere else")
    status, _, stderr = armgrad(capsys, *command)
    assert status == 2 and f"{out}.parts/ exists but has no readable manifest.json" in stderr
    (parts / "chunk-000000.npz").unlink()  # as Ctrl-C right after the folder was made leaves it
    assert armgrad(capsys, *command)[0] == 0 and out.exists() and not parts.exists()


def test_chunk_store_round_trip_ignores_temporary_files(tmp_path):
    store = chunks.ChunkStore.open(tmp_path / "a.csv.parts", {"seed": 0, "q0": (0.5, 1.0)})
    store.save(3, {"q": np.arange(6.0).reshape(2, 3), "success": np.array([True, False])})
    (store.folder / ".chunk-000004.abc.partial.npz").write_bytes(b"half")  # a write that was cut short
    again = chunks.ChunkStore.open(tmp_path / "a.csv.parts", {"seed": 0, "q0": (0.5, 1.0)})  # tuples read as lists
    assert again.done() == [3]
    part = again.load(3)
    np.testing.assert_array_equal(part["q"], np.arange(6.0).reshape(2, 3))
    assert part["success"].dtype == bool
    again.remove()
    assert not (tmp_path / "a.csv.parts").exists()


# ----------------------------------------------------------------------------- a full disk

class FullDiskWriter:
    """csv.writer on a disk that fills up mid-file: the header and half a row, then ENOSPC."""

    def __init__(self, f, **kwargs):
        self.f = f

    def writerow(self, row):
        self.f.write(",".join(row) + "\r\n")

    def writerows(self, rows):
        self.f.write("0.69,0.6")
        self.f.flush()
        raise OSError(28, "No space left on device")


def test_full_disk_leaves_the_old_answers_and_names_the_path(capsys, tmp_path, monkeypatch):
    targets = planar_targets(tmp_path / "t.npy", 4)
    out = tmp_path / "answers.csv"
    out.write_text("the previous answers\n")
    command = ["solve", "planar3", "--targets", targets, "--out", out, "--chunk-size", "2", "--no-progress"]
    with monkeypatch.context() as patch:
        patch.setattr(csv, "writer", FullDiskWriter)
        status, stdout, stderr = armgrad(capsys, *command)
    assert status == 2 and stdout == "" and stderr.count("\n") == 1
    assert f"cannot write {out}: No space left on device" in stderr
    assert f"4 of 4 targets kept in {out}.parts/" in stderr and "re-run the same command to resume" in stderr
    assert out.read_text() == "the previous answers\n"
    assert listing(tmp_path) == ["answers.csv", "answers.csv.parts", "t.npy"]  # no temporary file left
    status, stdout, stderr = armgrad(capsys, *command)
    assert status == 0 and "resuming: 4 of 4" in stderr and out.read_text().startswith("x,y,z,q1")


def test_full_disk_while_saving_a_chunk_names_the_part(capsys, tmp_path, monkeypatch):
    targets = planar_targets(tmp_path / "t.npy", 4)
    out = tmp_path / "answers.csv"

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    status, _, stderr = armgrad(capsys, "solve", "planar3", "--targets", targets, "--out", out, "--no-progress")
    assert status == 2 and stderr.count("\n") == 1
    assert f"cannot write {out}.parts/chunk-000000.npz: No space left on device; 0 of 4 targets kept" in stderr


def _mount_tmpfs(folder, size):
    folder.mkdir()
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                              capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "no mount command"
    return None if proc.returncode == 0 else f"mount -t tmpfs failed: {proc.stderr.strip() or proc.returncode}"


def test_full_tmpfs_leaves_the_old_answers_and_names_the_path(capsys, tmp_path):
    """The real thing where this machine lets us mount (root); the monkeypatched tests above always run."""
    disk = tmp_path / "small"
    why = _mount_tmpfs(disk, "64k")
    if why:
        pytest.skip(f"no small tmpfs here ({why}); the monkeypatched full-disk tests cover this")
    try:
        targets = planar_targets(tmp_path / "t.npy", 400)  # a part of ~24 KB fits, the ~44 KB CSV does not
        out = disk / "answers.csv"
        out.write_text("the previous answers\n")
        status, stdout, stderr = armgrad(capsys, "solve", "planar3", "--targets", targets, "--out", out,
                                         "--chunk-size", "400", "--no-progress")
        assert status == 2 and stdout == "" and stderr.count("\n") == 1
        assert f"cannot write {out}: No space left on device" in stderr
        assert out.read_text() == "the previous answers\n"
        assert listing(disk) == ["answers.csv", "answers.csv.parts"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)
