"""`armgrad animate ROBOT --path FILE`: a path of waypoints solved by kin.solve_path and animated (Agg, tiny sizes)."""

import itertools
import re
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import kinematics as kin
import robots
from demos import animation, cli
from tests.demos.test_cli_animation import PNG_SIGNATURE, REPO, gif_frames

matplotlib.use("Agg")

PLANAR_Q0 = np.array([0.4, 0.9, 0.6])
PANDA_Q0 = np.array([0.0, 0.0, 0.0, -1.6, 0.0, 1.6, 0.8])




def planar_csv(path, K=8):
    """K waypoints on a 0.4 m line from planar3's tip at PLANAR_Q0."""
    start = kin.forward_kinematics(robots.get("planar3"), PLANAR_Q0)[:2, 3]
    points = kin.interpolate_poses(start, start + np.array([-0.3, 0.25]), K)
    path.write_text("x,y\n" + "".join(f"{float(x)!r},{float(y)!r}\n" for x, y in points))
    return points


def panda_csv(path, K=5):
    """K poses (x,y,z,qx,qy,qz,qw) on a 0.1 m line from the Panda's tool at PANDA_Q0."""
    T0 = kin.forward_kinematics(robots.get("panda"), PANDA_Q0)
    poses = kin.interpolate_poses(T0, kin.transforms.translation([0.0, 0.1, 0.0]) @ T0, K)
    rows = ["x,y,z,qx,qy,qz,qw"] + [",".join(repr(float(v)) for v in [*T[:3, 3], *Rotation.from_matrix(T[:3, :3])
                                                                     .as_quat()]) for T in poses]
    path.write_text("\n".join(rows) + "\n")
    return poses


def test_animate_path_in_a_subprocess_writes_the_frames_and_the_still(tmp_path):
    planar_csv(tmp_path / "line.csv")
    out = tmp_path / "line.gif"
    proc = subprocess.run([sys.executable, "-m", "demos", "animate", "planar3", "--path", str(tmp_path / "line.csv"),
                           "--q0", *map(str, PLANAR_Q0), "--frames", "6", "--dpi", "30", "--no-progress",
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "path: all 8 waypoints converged" in proc.stdout and f"wrote {out} (6 frames)" in proc.stdout
    frames = gif_frames(out)
    assert len(frames) == 6 and all(np.any(a != b) for a, b in itertools.pairwise(frames))  # the arm moves
    assert out.with_suffix(".png").read_bytes()[:8] == PNG_SIGNATURE


def test_animate_a_panda_pose_path_frames_are_the_waypoints_when_fewer(tmp_path, capsys):
    panda_csv(tmp_path / "poses.csv")
    out = tmp_path / "p.gif"
    status = cli.main(["animate", "panda", "--path", str(tmp_path / "poses.csv"), "--q0", *map(str, PANDA_Q0),
                       "--dt", "0.01", "--dpi", "30", "--no-progress", "--no-filmstrip", "--out", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "path: all 5 waypoints converged" in printed
    # 0.01 s per waypoint is too fast: the fastest joint runs at its own (Franka's) speed limit
    speed, limit = re.search(r"at ([\d.]+)/s, limit ([\d.]+)\)", printed).groups()
    assert speed == limit and float(limit) in (2.175, 2.61)
    assert len(gif_frames(out)) == 5 and not out.with_suffix(".png").exists()


def test_render_path_velocities_are_the_path_segments(tmp_path):
    chain = robots.get("planar3")
    points = planar_csv(tmp_path / "line.csv", K=6)
    path = kin.solve_path(chain, points, PLANAR_Q0, dt=0.1, max_joint_step=0.2)
    v = animation.segment_velocities(path.q, path.times)
    np.testing.assert_allclose(v, np.diff(path.q, axis=0) / np.diff(path.times)[:, None])
    written = animation.render_path(chain, points, path, tmp_path / "r.gif", frames=3, dpi=30, progress=False)
    assert written["frames"] == 3 and len(gif_frames(written["animation"])) == 3
    np.testing.assert_array_equal(animation.path_frames(6, 3), [0.0, 2.5, 5.0])
    untimed = kin.solve_path(chain, points, PLANAR_Q0)
    with pytest.raises(ValueError, match="needs a timed path"):
        animation.render_path(chain, points, untimed, tmp_path / "u.gif", progress=False)


@pytest.mark.parametrize("extra, match", [
    (["--target", "1", "1"], "give either --target"),
    (["--compare", "gd,lm"], "--compare does not apply to --path"),
    (["--dt", "0"], "--dt: must be a finite number above 0"),
    (["--max-joint-step", "nan"], "--max-joint-step: must be a finite number"),
])
def test_animate_path_bad_options(tmp_path, capsys, extra, match):
    planar_csv(tmp_path / "line.csv")
    status = cli.main(["animate", "planar3", "--path", str(tmp_path / "line.csv"), *extra,
                       "--out", str(tmp_path / "x.gif")])
    assert status == 2 and match in capsys.readouterr().err


@pytest.mark.parametrize("text, match", [
    (None, "--path: file not found"),
    ("x,y\n1.0,1.0\n", "holds 1 waypoint; a path needs at least 2"),
    ("x,q\n1.0,1.0\n", "--path: .* the header must name x,y"),
    ("x,y\n1.0,oops\n", "--path: .* line 2, column y"),
])
def test_animate_path_bad_files_name_the_option(tmp_path, capsys, text, match):
    path = tmp_path / "p.csv"
    if text is not None:
        path.write_text(text)
    status = cli.main(["animate", "planar3", "--path", str(path), "--out", str(tmp_path / "x.gif")])
    assert status == 2
    assert re.search(match, capsys.readouterr().err)


def test_the_documented_path_command_prints_what_docs_cli_md_shows(tmp_path, capsys):
    doc = (REPO / "docs" / "cli.md").read_text()
    command = next(line for line in doc.splitlines() if line.startswith("$ armgrad animate panda --path"))
    argv = command.split()[2:]
    argv[argv.index("--out") + 1] = str(tmp_path / "p.gif")
    argv[argv.index("--path") + 1] = str(REPO / "docs" / "path-panda.csv")
    argv[argv.index("--frames") + 1] = "2"
    assert cli.main(argv + ["--no-progress", "--no-filmstrip"]) == 0
    printed = capsys.readouterr().out.splitlines()[0]
    assert printed.startswith("path: ") and printed in doc


def test_animate_needs_a_target_or_a_path(tmp_path, capsys):
    assert cli.main(["animate", "planar3", "--out", str(tmp_path / "x.gif")]) == 2
    assert "give either --target X Y Z (a solver converging) or --path FILE" in capsys.readouterr().err
