"""Convergence animations and the `armgrad animate` / `armgrad demo` commands (Agg, tiny budgets)."""

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

import kinematics as kin
import robots
from demos import animate, animation, cli

matplotlib.use("Agg")  # no windows, whatever the environment says

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def gif_frames(path):
    """The frames of a GIF as RGB arrays."""
    with Image.open(path) as im:
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB")))
    return frames


@pytest.mark.parametrize("K, F", [(0, 5), (4, 60), (3000, 60), (1, 1), (10, 2)])
def test_frame_times_are_log_spaced_from_start_to_end(K, F):
    t = animation.frame_times(K, F)
    assert len(t) == F and t[-1] == K and np.all(np.diff(t) >= 0)
    if F > 1:
        assert t[0] == 0
    if K >= 100 and F >= 10:  # early iterations get most frames
        assert np.sum(t < K / 10) > F / 2


@pytest.mark.parametrize("K, count, expected", [
    (4, 5, [0, 1, 2, 3, 4]), (2, 5, [0, 1, 2]), (1000, 4, [0, 9, 99, 1000]),
])
def test_snapshot_iterations(K, count, expected):
    assert animation.snapshot_iterations(K, count).tolist() == expected


def test_snapshot_iterations_are_distinct_when_rounding_merges():
    its = animation.snapshot_iterations(12, 6)
    assert len(its) == 6 and len(set(its.tolist())) == 6 and its[0] == 0 and its[-1] == 12


def test_render_planar_gif_and_filmstrip(tmp_path):
    chain = robots.get("planar3")
    runs, results = animate.solve_runs(chain, [0.6, 1.3], ["gd"], kin.default_start(chain))
    assert results[0].success
    written = animation.render(chain, [0.6, 1.3], runs, tmp_path / "a.gif", frames=6, dpi=40, progress=False)
    frames = gif_frames(written["animation"])
    assert written["frames"] == 6 and len(frames) > 1
    assert any(np.any(a != b) for a, b in itertools.pairwise(frames))
    assert written["filmstrip"].read_bytes()[:8] == PNG_SIGNATURE


def test_render_compare_3d_pose_target(tmp_path):
    chain = robots.get("panda")
    target = kin.forward_kinematics(chain, [0.5, -0.3, 0.2, -2.0, 0.1, 1.8, 0.4])
    runs, _results = animate.solve_runs(chain, target, ["adam", "lm"], kin.default_start(chain))
    # Same start: every history begins at q0.
    np.testing.assert_allclose(runs[0].history["q"][0], runs[1].history["q"][0])
    written = animation.render(chain, target, runs, tmp_path / "c.gif", frames=4, dpi=30, progress=False,
                               filmstrip=False)
    assert written["filmstrip"] is None and len(gif_frames(written["animation"])) > 1


def test_render_mp4_without_ffmpeg_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(animation, "ffmpeg_path", lambda: None)
    chain = robots.get("planar2")
    run = animation.Run("lm", {"q": np.zeros((2, 2)), "position_error": np.ones(2), "rotation_error": np.zeros(2)})
    with pytest.raises(ValueError, match="needs ffmpeg"):
        animation.render(chain, [1.0, 0.5], run, tmp_path / "a.mp4")
    status = cli.main(["animate", "planar2", "--target", "1", "0.5", "--out", str(tmp_path / "a.mp4")])
    assert status == 2


def _ffprobe():
    ffmpeg = animation.ffmpeg_path()
    return shutil.which("ffprobe") or (ffmpeg and shutil.which(str(Path(ffmpeg).with_name("ffprobe"))))


@pytest.mark.skipif(animation.ffmpeg_path() is None or not _ffprobe(),
                    reason="MP4 needs ffmpeg and ffprobe, which are not installed here "
                           "(.ci/run installs them: apt-get install ffmpeg)")
def test_render_mp4_with_ffmpeg_decodes_to_the_frames_drawn(tmp_path):
    chain = robots.get("planar2")
    runs, _ = animate.solve_runs(chain, [1.0, 0.5], ["lm"], kin.default_start(chain))
    fps, hold, frames, dpi = 12.0, 1.5, 4, 40
    written = animation.render(chain, [1.0, 0.5], runs, tmp_path / "a.mp4", frames=frames, fps=fps, hold=hold,
                               dpi=dpi, progress=False, filmstrip=False)
    assert [p.name for p in tmp_path.iterdir()] == ["a.mp4"]  # the temporary file was renamed
    probe = subprocess.run([_ffprobe(), "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height,nb_read_frames,codec_name", "-of", "json", str(written["animation"])],
                           capture_output=True, text=True, check=True, timeout=60)
    stream = json.loads(probe.stdout)["streams"][0]
    width, height = (round(v * dpi) for v in animation.figure_size(1))
    expected = frames + round(hold * fps) - 1  # the last frame is repeated for `hold` seconds
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", width, height)
    assert int(stream["nb_read_frames"]) == expected
    raw = subprocess.run([animation.ffmpeg_path(), "-v", "error", "-i", str(written["animation"]), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=60).stdout
    decoded = np.frombuffer(raw, np.uint8).reshape(expected, height, width, 3).astype(int)
    # The arm moves: consecutive drawn frames differ by far more than the codec's noise; the hold does not.
    moves = [np.abs(a - b).mean() for a, b in itertools.pairwise(decoded[:frames])]
    assert min(moves) > 0.05, moves
    assert np.abs(decoded[frames] - decoded[-1]).mean() < min(moves)


def _disk_full_save(self, fp, *args, **kwargs):
    """PIL's Image.save on a full disk: the file is created, a header written, then a write fails."""
    with open(fp, "wb") as f:
        f.write(b"GIF89a")
        raise OSError(28, "No space left on device")


def test_full_disk_keeps_the_old_gif_and_names_the_file(tmp_path, capsys, monkeypatch):
    from PIL import Image as PILImage

    out = tmp_path / "a.gif"
    out.write_bytes(b"the previous animation")
    monkeypatch.setattr(PILImage.Image, "save", _disk_full_save)
    status = cli.main(["animate", "planar2", "--target", "1", "0.5", "--out", str(out), "--frames", "3",
                       "--dpi", "30", "--no-filmstrip", "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and str(out) in err and "No space left on device" in err, err
    assert out.read_bytes() == b"the previous animation"  # not a truncated GIF
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]  # no temporary left behind


@pytest.mark.parametrize("argv, message", [
    (["--frames", "100000"], r"--frames must lie in [1, 1000], got 100000"),
    (["--frames", "0"], r"--frames must lie in [1, 1000], got 0"),
    (["--fps", "inf"], r"--fps must lie in [0.5, 60], got inf"),
    (["--fps", "nan"], r"--fps must lie in [0.5, 60], got nan"),
    (["--fps", "0"], r"--fps must lie in [0.5, 60], got 0.0"),
    (["--dpi", "1000"], r"--dpi must lie in [20, 400], got 1000"),
    (["--frames", "500", "--dpi", "400"], "--frames 500 at --dpi 400 would hold"),
    (["--compare", "gd,adam,lm,momentum", "--frames", "1000", "--dpi", "100"], "lower --frames or --dpi"),
])
def test_render_options_are_bounded_before_solving(tmp_path, capsys, argv, message):
    status = cli.main(["animate", "planar3", "--target", "0.6", "1.3", "--out", str(tmp_path / "a.gif"), *argv])
    out, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and message in err, err
    assert "converged" not in out and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("settings, message", [
    ({"hold": -1.0}, r"hold must lie in \[0, 60\]"), ({"hold": float("nan")}, "hold must lie"),
    ({"frames": 2.5}, "frames must be a whole number"), ({"fps": float("inf")}, "fps must lie"),
])
def test_render_checks_its_settings(tmp_path, settings, message):
    run = animation.Run("lm", {"q": np.zeros((2, 2)), "position_error": np.ones(2), "rotation_error": np.zeros(2)})
    with pytest.raises(ValueError, match=message):
        animation.render(robots.get("planar2"), [1.0, 0.5], run, tmp_path / "a.gif", progress=False,
                         **{"frames": 3, **settings})
    assert list(tmp_path.iterdir()) == []


def test_demo_refuses_too_many_frames(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path / "d"), "--frames", "5000"]) == 2
    assert "--frames must lie in [1, 1000], got 5000" in capsys.readouterr().err


def test_animate_command_compare(capsys, tmp_path):
    out = tmp_path / "cmp.gif"
    status = cli.main(["animate", "planar3", "--target", "0.6", "1.3", "--compare", "gd,lm", "--out", str(out),
                       "--frames", "5", "--dpi", "40"])
    stdout, stderr = capsys.readouterr()
    assert status == 0
    assert "gd       converged" in stdout and "lm       converged" in stdout
    assert f"wrote {out}" in stdout and out.with_suffix(".png").exists()
    assert "rendering cmp.gif" in stderr and "/10 [" in stderr  # the progress bar: drawing and encoding 5 frames
    assert len(gif_frames(out)) > 1


def test_animate_not_converged_still_writes_and_says_so(capsys, tmp_path):
    out = tmp_path / "short.gif"
    status = cli.main(["animate", "planar3", "--target", "0.6", "1.3", "--method", "gd", "--max-iterations", "5",
                       "--out", str(out), "--frames", "3", "--dpi", "30", "--no-filmstrip", "--no-progress"])
    stdout, _ = capsys.readouterr()
    assert status == 0 and "NOT converged" in stdout and out.exists() and not out.with_suffix(".png").exists()


def test_demo_with_tiny_budgets(capsys, tmp_path):
    out_dir = tmp_path / "pictures"
    status = cli.main(["demo", "--out", str(out_dir), "--frames", "4", "--dpi", "40", "--no-progress"])
    stdout, _ = capsys.readouterr()
    assert status == 0
    for stem in ("planar3-gd", "panda-lm"):
        gif, png = out_dir / f"{stem}.gif", out_dir / f"{stem}.png"
        assert str(gif) in stdout and str(png) in stdout
        frames = gif_frames(gif)
        assert len(frames) > 1 and any(np.any(a != b) for a, b in itertools.pairwise(frames))
        assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert "converged" in stdout and "NOT" not in stdout


def test_demo_as_subprocess_with_no_window(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "demos.demo", "--frames", "3", "--dpi", "30", "--no-filmstrip"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "armgrad-out" / "planar3-gd.gif").exists()
    assert (tmp_path / "armgrad-out" / "panda-lm.gif").exists()
    assert "wrote:" in proc.stdout


def test_animate_as_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    out = tmp_path / "panda.gif"
    proc = subprocess.run([sys.executable, "-m", "demos", "animate", "panda", "--target", "0.3", "-0.45", "0.3",
                           "--rpy", "3.1416", "0", "0", "--out", str(out), "--frames", "3", "--dpi", "30"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "lm       converged" in proc.stdout and out.exists() and out.with_suffix(".png").exists()
