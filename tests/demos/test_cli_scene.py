"""`armgrad solve/animate --scene`: collision-aware answers, checked by distances computed here.

The oracle is `kinematics.collision.signed_distance` between the obstacles and the arm's collision
shapes placed by FK at the printed q (for a URDF arm: the file's own `<collision>` shapes on its
own links, not the chain's mapped copy), as subprocesses `python -m demos` from the repository root.
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import kinematics as kin
import robots
from demos import cli
from kinematics.collision import signed_distance

REPO = Path(__file__).resolve().parents[2]
# a Panda pose whose plain answer bends the elbow out to (0.26, 0.05, 0.59)
TARGET = ["--target", "0.617", "0.191", "0.326", "--quat", "0.97", "-0.25", "0", "0"]
TABLE = "[[halfspace]]\nnormal = [0, 0, 1]\noffset = 0.0\n"


def run_module(*argv, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "demos", *argv], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=timeout)


def armgrad(capsys, *argv):
    """`armgrad ARGV` in-process (for the quick checks): (exit status, stdout, stderr)."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def placed(tree, q, geometry):
    """[(label, a (3,), b (3,), radius)] of the shapes {frame: shapes} at q, on the frames that q moves."""
    frames = [f for f in geometry if f != tree.root]  # the root never moves: Avoid leaves it out
    poses = kin.frame_poses(tree, q, frames)
    out = []
    for frame, T in zip(frames, poses):
        shapes = geometry[frame]
        for s in (shapes,) if isinstance(shapes, kin.Sphere | kin.Capsule) else shapes:
            a, b = (s.center, s.center) if isinstance(s, kin.Sphere) else (s.a, s.b)
            out.append((frame, T[:3, :3] @ a + T[:3, 3], T[:3, :3] @ b + T[:3, 3], s.radius))
    return out


def distances(tree, q, geometry, obstacles):
    """{(frame, obstacle name): signed distance} of every shape on a moving frame to every obstacle."""
    d = {}
    for frame, a, b, r in placed(tree, q, geometry):
        for name, obstacle in obstacles.items():
            d[frame, name] = min(d.get((frame, name), np.inf), float(signed_distance(obstacle, a, b, r)))
    return d


def ball_scene(path, center, radius=0.05):
    """A table top at z = 0 and a ball, written to `path`: {name: shape}."""
    path.write_text(TABLE + f"[[sphere]]\nname = 'ball'\ncenter = {list(map(float, center))}\nradius = {radius}\n")
    return robots.load_scene(path, named=True)


def test_the_scene_answer_is_clear_where_the_plain_answer_collides(tmp_path, capsys):
    arm = robots.get("panda")
    tree = kin.Robot.from_chain(arm)
    status, out, _ = armgrad(capsys, "solve", "panda", *TARGET, "--json")
    assert status == 0
    q_plain = np.array(json.loads(out)["q"])
    # the obstacle: a ball on the middle of the plain answer's elbow capsule
    (elbow,) = [(a + b) / 2 for frame, a, b, _ in placed(tree, q_plain, arm.geometry) if frame == "panda_joint4"]
    obstacles = ball_scene(tmp_path / "scene.toml", elbow)
    assert min(distances(tree, q_plain, arm.geometry, obstacles).values()) < -0.05

    margin = 0.02
    done = run_module("solve", "panda", *TARGET, "--scene", str(tmp_path / "scene.toml"), "--margin", str(margin),
                      "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["success"] and report["margin"] == margin
    q = np.array(report["q"])
    np.testing.assert_allclose(kin.forward_kinematics(arm, q)[:3, 3], [0.617, 0.191, 0.326], atol=1e-6)
    found = distances(tree, q, arm.geometry, obstacles)
    assert min(found.values()) >= margin
    assert report["clearance"] >= margin  # the smallest over the obstacle and self pairs
    frame, _, other = report["clearance_pair"].partition(" – ")
    if other in obstacles:  # an obstacle pair: the very distance computed here
        assert abs(report["clearance"] - found[frame, other]) < 1e-9
    else:
        assert report["clearance"] <= min(found.values())


def test_a_batch_writes_each_rows_clearance(tmp_path):
    arm = robots.get("panda")
    tree = kin.Robot.from_chain(arm)
    (tmp_path / "scene.toml").write_text("[[sphere]]\nname = 'ball'\ncenter = [0.4, -0.3, 0.45]\nradius = 0.08\n")
    obstacles = robots.load_scene(tmp_path / "scene.toml", named=True)
    (tmp_path / "targets.csv").write_text("x,y,z,qx,qy,qz,qw\n0.617,0.191,0.326,0.97,-0.25,0,0\n"
                                          "0.5,0.0,0.4,1,0,0,0\n")
    done = run_module("solve", "panda", "--targets", str(tmp_path / "targets.csv"), "--out", str(tmp_path / "a.csv"),
                      "--scene", str(tmp_path / "scene.toml"), "--margin", "0.01", "--no-self-collision",
                      "--no-progress")
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "a.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and list(rows[0])[-2:] == ["clearance", "clearance_pair"]
    for row in rows:
        q = np.array([float(row[f"q{k}"]) for k in range(1, 8)])
        found = distances(tree, q, arm.geometry, obstacles)
        frame, _, other = row["clearance_pair"].partition(" – ")
        # without self-collision the clearance is the obstacles' alone: the smallest computed here
        assert row["success"] == "true" and min(found.values()) >= 0.01
        assert abs(float(row["clearance"]) - min(found.values())) < 1e-5  # written with 6 digits
        assert found[frame, other] == min(found.values())


def test_a_resumed_batch_must_have_the_same_scene_and_margin(tmp_path, capsys, monkeypatch):
    (tmp_path / "scene.toml").write_text("[[sphere]]\ncenter = [0.4, -0.3, 0.45]\nradius = 0.08\n")
    (tmp_path / "targets.csv").write_text("x,y,z,qx,qy,qz,qw\n0.617,0.191,0.326,0.97,-0.25,0,0\n0.5,0,0.4,1,0,0,0\n")
    out = tmp_path / "a.csv"
    plain = ["solve", "panda", "--targets", str(tmp_path / "targets.csv"), "--out", str(out), "--chunk-size", "1",
             "--no-progress"]
    argv = plain + ["--scene", str(tmp_path / "scene.toml"), "--no-self-collision"]
    real, calls = kin.solve, []

    def solve(*args, **kwargs):  # Ctrl-C while the second chunk is solved
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(kin, "solve", solve)
        patch.setattr(kin.scale, "solve", solve)  # the batch's in-process chunks call it there
        assert armgrad(capsys, *argv)[0] == 130
    for other in (argv + ["--margin", "0.01"], plain):  # another margin, or no scene at all
        status, _, err = armgrad(capsys, *other)
        assert status == 2 and "holds the finished chunks of a run with other options (collision: " in err, err
    (tmp_path / "scene.toml").write_text("[[sphere]]\ncenter = [0.4, -0.3, 0.46]\nradius = 0.08\n")  # moved
    assert armgrad(capsys, *argv)[0] == 2
    (tmp_path / "scene.toml").write_text("[[sphere]]\ncenter = [0.4, -0.3, 0.45]\nradius = 0.08\n")
    status, out_text, err = armgrad(capsys, *argv)
    assert status == 0 and "resuming: 1 of 2 targets" in err
    with open(out, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [row["clearance_pair"].split(" – ")[1] for row in rows] == ["sphere[0]"] * 2


@pytest.mark.parametrize("robot, scene", [
    ("panda", "[[sphere]]\ncenter = [0, 0, 0]\nradius = -1\n"),  # a bad scene file
    ("ur5e", TABLE),  # a built-in arm without a collision model
])
def test_bad_input_is_one_line_and_status_2_as_a_process(tmp_path, robot, scene):
    (tmp_path / "scene.toml").write_text(scene)
    done = run_module("solve", robot, "--target", "0.4", "0.2", "0.5", "--scene", str(tmp_path / "scene.toml"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("armgrad solve: error: "), done.stderr
    assert ("key 'sphere[0]'" if robot == "panda" else "ur5e has no collision geometry") in done.stderr


@pytest.mark.parametrize("robot, scene, argv, message", [
    ("panda", "[[sphere]]\ncenter = [0, 0, 0]\nradius = -1\n", [], "scene.toml: key 'sphere[0]': "),
    ("panda", "[[sphere]\n", [], "scene.toml: invalid TOML"),
    ("panda", None, [], "scene file"),  # the file is missing
    ("panda", TABLE, ["--margin", "-0.1"], "--margin: must be a finite number >= 0 (m), got -0.1"),
    ("panda", TABLE, ["--margin", "nan"], "--margin: must be a finite number >= 0 (m), got nan"),
    ("ur5e", TABLE, [], "ur5e has no collision geometry, which --scene needs (built-in arms with a model: panda, "
                        "panda_hand, ur5"),
    ("robots/examples/scara_dh.toml", TABLE, [], "no collision geometry for TOML arm files, which --scene needs"),
    ("dual_panda", TABLE, ["--frame", "left_tool"], "no collision geometry for the built-in tree 'dual_panda'"),
])
def test_bad_scenes_and_arms_without_geometry_are_one_line(tmp_path, capsys, robot, scene, argv, message):
    path = tmp_path / "scene.toml"
    if scene is not None:
        path.write_text(scene)
    status, out, err = armgrad(capsys, "solve", robot, "--target", "0.4", "0.2", "0.5", "--scene", str(path), *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("armgrad solve: error: "), err
    assert message in err


def test_scene_options_without_a_scene_are_refused(capsys):
    status, _, err = armgrad(capsys, "solve", "panda", *TARGET, "--margin", "0.1", "--no-self-collision")
    assert status == 2
    assert err == "armgrad solve: error: --margin and --no-self-collision apply with --scene FILE\n"
    status, _, err = armgrad(capsys, "fk", "panda", "--package", "x=y", *["0"] * 7)
    assert status == 2 and "--arg/--package apply to .xacro files only, not to the built-in arm 'panda'" in err


@pytest.mark.parametrize("relative", ["panda_collision.urdf", "panda.urdf"])
def test_a_urdf_arm_keeps_its_own_collision_shapes_clear(tmp_path, relative):
    """panda_collision.urdf: spheres and cylinders; panda.urdf: meshes found through --package (the
    built-in panda_hand's capsules are fitted to these very meshes, so only the first differs from them)."""
    data = robots.example_robot_data()
    if data is None:
        pytest.skip("example-robot-data is not installed (pip install example-robot-data, in the [test] extra)")
    if relative == "panda.urdf":
        pytest.importorskip("trimesh", reason="trimesh (the [collision] extra, in [test]) reads the Panda's meshes")
    path = data / "panda_description/urdf" / relative
    (tmp_path / "scene.toml").write_text("[[sphere]]\nname = 'ball'\ncenter = [0.35, 0.25, 0.45]\nradius = 0.06\n")
    obstacles = robots.load_scene(tmp_path / "scene.toml", named=True)
    done = run_module("solve", str(path), "--frame", "panda_hand_tcp", "--package", f"example-robot-data={data.parent}",
                      "--target", "0.5", "0.1", "0.3", "--rpy", "3.1416", "0", "0", "--scene",
                      str(tmp_path / "scene.toml"), "--margin", "0.01", "--no-self-collision")
    assert done.returncode == 0, done.stdout + done.stderr
    # the fingers move by a joint the chain lacks: said once, and left out
    assert done.stderr.count("\n") == 1 and "panda_leftfinger (moved by joint 'panda_finger_joint1'" in done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    q = np.array(json.loads(lines["q"].split(None, 2)[2]))  # "q (rad)  [...]", 6 decimals
    clearance = float(lines["clearance"].split()[1])  # 4 significant digits
    hand = robots.get("panda_hand")
    builtin = min(distances(kin.Robot.from_chain(hand), q, hand.geometry, obstacles).values())
    if relative == "panda.urdf":  # the built-in capsules ARE these meshes' fit (test_geometry checks it)
        found = builtin
    else:
        tree, model = robots.load_robot(path), robots.collision_model(path)
        carried = {link: shapes for link, shapes in model.items() if "finger" not in link}
        found = min(distances(tree, np.r_[q, 0.0], carried, obstacles).values())  # URDF q: the finger joint last
        assert abs(builtin - found) > 1e-3  # the file's spheres and cylinders, not the built-in's capsules
    assert found >= 0.01 - 1e-5  # q as printed, rounded to 1e-6 rad
    assert abs(clearance - found) < 5e-4 * clearance + 1e-5


def test_animate_with_a_scene_writes_the_gif(tmp_path):
    obstacles = tmp_path / "scene.toml"
    obstacles.write_text(TABLE + "[[box]]\npose = { xyz = [0.6, -0.3, 0.15] }\nsize = [0.2, 0.2, 0.3]\n"
                         "[[pointcloud]]\npoints = [[0.7, 0.3, 0.3], [0.7, 0.32, 0.3]]\nradius = 0.01\n")
    out = tmp_path / "a.gif"
    done = run_module("animate", "panda", *TARGET, "--scene", str(obstacles), "--margin", "0.01", "--out", str(out),
                      "--frames", "3", "--dpi", "30", "--no-filmstrip", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "converged" in done.stdout and "clearance" in done.stdout and "wrote" in done.stdout
    with Image.open(out) as im:
        assert im.n_frames == 3 and im.size == (300, 138)


# -- the drawing: polygons where the shapes are, and artists that show up ---------------------------

def segment_distance(points, a, b):
    """Distance of points (N, 3) from the segment a–b, by projection clamped to the segment."""
    d = b - a
    t = np.clip((points - a) @ d / max(d @ d, 1e-300), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[:, None] * d), axis=-1)


@pytest.mark.parametrize("a, b, r", [([0.1, -0.2, 0.3], [0.5, 0.4, -0.1], 0.07),
                                     ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 0.2),  # a sphere
                                     ([0, 0, 0], [0, 0, -1e-3], 1.5)])
def test_capsule_surfaces_lie_at_the_radius_from_the_segment(a, b, r):
    from demos.animation import capsule_surface, stadium

    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    quads = capsule_surface(a, b, r, around=10, cap=3)
    assert quads.shape == (7 * 10, 4, 3)
    np.testing.assert_allclose(segment_distance(quads.reshape(-1, 3), a, b), r, rtol=0, atol=1e-12)
    # the surface reaches the caps' poles and goes all the way round
    extent = quads.reshape(-1, 3) @ np.array([1.0, 0.0, 0.0])
    assert extent.max() >= max(a[0], b[0]) + r * np.cos(np.pi / 10) - 1e-12
    outline = stadium(a[None], b[None], r)[0]
    np.testing.assert_allclose(segment_distance(np.c_[outline, np.zeros(len(outline))], a * [1, 1, 0], b * [1, 1, 0]),
                               r, rtol=0, atol=1e-12)


@pytest.mark.parametrize("normal, offset, corners", [([0, 0, 1], 0.2, 4), ([1, 1, 1], 0.0, 6), ([1, 0, 0], 5.0, 0),
                                                     ([0.3, -0.2, 1.0], -0.4, None)])
def test_the_half_spaces_patch_is_its_plane_cut_by_the_view(normal, offset, corners):
    from demos.animation import plane_patch

    center, half = np.array([0.1, 0.0, -0.1]), 1.0
    n = np.array(normal, dtype=float) / np.linalg.norm(normal)
    patch = plane_patch(n, offset, center, half)
    if corners == 0:
        assert patch is None
        return
    assert corners is None or len(patch) == corners
    np.testing.assert_allclose(patch @ n, offset, atol=1e-12)  # on the plane
    assert np.all(np.abs(patch - center) <= half + 1e-12)  # inside the view
    # in order round a convex polygon: every turn has the same sense about n
    turns = np.cross(np.roll(patch, -1, 0) - patch, np.roll(patch, -2, 0) - np.roll(patch, -1, 0)) @ n
    assert np.all(turns > 0) or np.all(turns < 0)
    # and it is the whole cut: random points of the plane inside the cube lie inside the polygon
    e1 = np.cross(n, [1.0, 0, 0] if abs(n[0]) < 0.9 else [0, 1.0, 0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    uv = np.random.default_rng(0).uniform(-2, 2, (2000, 2))
    pts = offset * n + uv[:, :1] * e1 + uv[:, 1:] * e2
    inside = pts[np.all(np.abs(pts - center) <= half, axis=1)]
    edges = [(patch[i], patch[(i + 1) % len(patch)]) for i in range(len(patch))]
    side = np.sign(np.cross(edges[0][1] - edges[0][0], patch.mean(0) - edges[0][0]) @ n)
    for p, q in edges:
        assert np.all(side * (np.cross(q - p, inside - p) @ n) >= -1e-9)


@pytest.mark.parametrize("name, target", [("panda", [0.5, 0.1, 0.4]), ("planar3", [0.6, 1.3])])
def test_obstacles_and_capsules_are_drawn_and_the_capsules_move(tmp_path, name, target):
    from demos import animate, animation

    chain = robots.get(name)
    geometry = chain.geometry or {j: kin.Capsule([0.05, 0, 0], [0.5, 0, 0], 0.05) for j in chain.joint_names}
    obstacles = {"table": kin.HalfSpace([0, 1, 0.3] if chain.planar else [0, 0, 1], -0.1),
                 "ball": kin.Sphere([0.5, 0.3, 0.6], 0.05), "rod": kin.Capsule([0.3, -0.5, 0], [0.3, -0.5, 0.5], 0.03),
                 "box": kin.Box(np.eye(4), [0.1, 0.2, 0.3]),
                 "cloud": kin.PointCloud(np.random.default_rng(0).uniform(-0.6, 0.6, (5000, 3)) * [1, 1, 0.1], 0.0)}
    runs, _ = animate.solve_runs(chain, target, ["lm"], kin.default_start(chain))

    def frames(**scene):
        path = tmp_path / f"{len(scene)}-{'geometry' in scene}.gif"
        animation.render(chain, target, runs, path, frames=3, dpi=30, progress=False, filmstrip=False, **scene)
        with Image.open(path) as im:
            return [np.asarray((im.seek(k), im.convert("RGB"))[1], dtype=int) for k in range(im.n_frames)]

    plain, capsules, both = frames(), frames(geometry=geometry), frames(geometry=geometry, obstacles=obstacles)
    assert len(plain) == len(capsules) == len(both) == 3
    # capsules change every frame's drawing, and differently as the arm moves; obstacles add to that
    assert all(np.abs(p - c).sum(-1).astype(bool).mean() > 0.01 for p, c in zip(plain, capsules))
    assert np.abs(capsules[0] - capsules[-1]).sum(-1).astype(bool).mean() > 0.01
    assert all(np.abs(c - b).sum(-1).astype(bool).mean() > 0.01 for c, b in zip(capsules, both))
