"""`armgrad teach`: the solver side, a real viser server, and a real headless Chromium.

Server-side checks drive the view through the handlers viser's callbacks call (setting a gizmo's
pose from Python does not fire its on_update; a client's drag does), and judge every answer by
FK at the arm's q. The browser test opens the page in Debian's Chromium (playwright with
/usr/bin/chromium, no browser download) and compares the screenshot with an empty scene's.
"""

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest

import kinematics as kin
import robots
from demos import teach

pytest.importorskip("viser", reason="viser (armgrad[teach], in the test extra) is not installed")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    server, view = teach.serve(robots.get("panda"), port=_free_port())
    yield server, view
    view.close()
    teach.stop(server)


def _drag(view, T):
    """What a client's drag does: the gizmo moves, then its on_update calls the handler."""
    view.gizmo.position, view.gizmo.wxyz = T[:3, 3], teach._wxyz(T[:3, :3])
    view.on_target(teach.gizmo_pose(view.gizmo.position, view.gizmo.wxyz))


def _pose_error(chain, q, T):
    e = kin.pose_error(kin.forward_kinematics(chain, q), T)
    return np.linalg.norm(e[:3]), np.linalg.norm(e[3:])


# -- the solver side ----------------------------------------------------------------------------

def test_small_moves_stay_on_the_branch_and_meet_the_target():
    t = teach.Teacher(robots.get("panda"))
    T0, q_prev = t.pose(), t.q.copy()
    steps = []
    for k in range(1, 41):  # a 12 cm arc, 3 mm per update, with a slow turn of the tool
        T = T0.copy()
        T[:3, 3] += 0.1 * np.array([np.sin(0.03 * k), 1 - np.cos(0.03 * k), 0.01 * k])
        T[:3, :3] = T0[:3, :3] @ kin.transforms.rot_z(0.005 * k)[:3, :3]
        update = t.solve_to(T)
        assert update.success
        p, r = _pose_error(t.chain, t.q, T)
        assert p <= 1e-6 and r <= 1e-6
        steps.append(np.abs(t.q - q_prev).max())
        q_prev = t.q.copy()
    assert max(steps) < 0.1  # no jump to another branch


def test_an_unreachable_target_keeps_the_closest_answer_flagged():
    t = teach.Teacher(robots.get("panda"))
    T = t.pose()
    T[:3, 3] = [1.5, 0.0, 0.5]
    update = t.solve_to(T)
    assert not update.success and update.position_error > 0.3 and "out of reach" in update.reason
    assert np.all(t.q >= t.chain.lower) and np.all(t.q <= t.chain.upper)
    assert "NOT reached" in teach.status_text(update, t)


@pytest.mark.parametrize("mode", teach.MODES)
@pytest.mark.parametrize("method", ["lm", "adam"])
def test_every_target_kind_and_method_meets_its_target(mode, method):
    t = teach.Teacher(robots.get("panda"))
    t.mode, t.method, t.posture = mode, method, 0.1
    T = t.pose(kin.default_start(t.chain) + 0.05)
    update = t.solve_to(T, restarts=True)
    assert update.success, update.reason
    P = t.pose()
    assert np.linalg.norm(P[:3, 3] - T[:3, 3]) <= 1e-6
    if mode == "full pose":
        assert _pose_error(t.chain, t.q, T)[1] <= 1e-6
    if mode == "tool axis":
        assert np.arccos(np.clip(P[:3, 2] @ T[:3, 2], -1, 1)) <= 1e-5


def test_joint_moves_are_fk_and_clipped():
    t = teach.Teacher(robots.get("ur5"))
    T = t.set_joint(1, 99.0)
    assert t.q[1] == t.chain.upper[1]
    np.testing.assert_allclose(T, kin.forward_kinematics(t.chain, t.q), atol=1e-15)


def test_a_scene_turns_the_collision_tasks_on():
    scene = {"table": kin.HalfSpace((0, 0, 1), 0.1), "ball": kin.Sphere((0.3, 0.35, 0.35), 0.17)}
    t = teach.Teacher(robots.get("panda"), scene, margin=0.01)
    T = t.random_target(np.random.default_rng(0))
    update = t.solve_to(T, restarts=True)
    assert update.success and update.clearance >= 0.01
    with pytest.raises(ValueError, match="no collision model"):
        teach.Teacher(robots.get("puma560"), scene)


def test_latest_runs_the_newest_value_only():
    release, seen = threading.Event(), []

    def slow(value):
        seen.append(value)
        release.wait(5)

    latest = teach.Latest(slow)
    latest.submit(0)
    time.sleep(0.1)  # 0 is running now
    for value in range(1, 10):
        latest.submit(value)
    release.set()
    assert latest.idle(5)
    latest.close()
    assert seen == [0, 9] and latest.errors == []


def test_capsule_mesh_lies_on_the_capsule_and_covers_it():
    a, b, r = np.array([0.1, 0.2, 0.3]), np.array([0.4, -0.1, 0.5]), 0.05
    V, F = teach.capsule_mesh(a, b, r)
    np.testing.assert_allclose(kin.collision.sphere_capsule(V, 0.0, a, b, r), 0.0, atol=1e-12)
    cross = np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]])
    area = 0.5 * np.linalg.norm(cross, axis=1).sum()
    exact = 2 * np.pi * r * np.linalg.norm(b - a) + 4 * np.pi * r * r
    assert 0.95 * exact < area <= exact  # inscribed polygons: a little less than the surface


# -- a real viser server --------------------------------------------------------------------------

def test_dragging_the_gizmo_moves_the_arm_within_200_ms(served):
    _, view = served
    chain = view.teacher.chain
    T = view.teacher.pose()
    T[:3, 3] += [0.03, -0.02, 0.02]
    q_before = view.teacher.q.copy()
    start = time.perf_counter()
    _drag(view, T)
    assert view.solver.idle(0.2), "the solve took more than 200 ms"
    assert time.perf_counter() - start <= 0.2
    assert not np.array_equal(view.teacher.q, q_before)
    p, r = _pose_error(chain, view.teacher.q, view.target())
    assert p <= 1e-6 and r <= 1e-6  # FK at the new q equals the gizmo's pose
    assert "**reached**" in view.status.content
    # the sliders show the new q
    np.testing.assert_allclose([s.value for s in view.sliders], view.teacher.q, atol=1e-12)


def test_an_unreachable_gizmo_pose_is_flagged_in_the_panel(served):
    _, view = served
    T = view.teacher.pose()
    T[:3, 3] = [1.8, 0.3, 0.4]
    _drag(view, T)
    assert view.solver.idle(2)
    assert view.teacher.last.success is False
    assert "NOT reached" in view.status.content and "red" in view.status.content


def test_a_joint_slider_moves_the_gizmo(served):
    _, view = served
    view.sliders[3].value = -1.0  # as a client's slider change: its on_update runs
    assert view.teacher.q[3] == -1.0
    T = kin.forward_kinematics(view.teacher.chain, view.teacher.q)
    np.testing.assert_allclose(view.gizmo.position, T[:3, 3], atol=1e-9)
    np.testing.assert_allclose(teach._matrix(view.gizmo.wxyz), T[:3, :3], atol=1e-9)


def test_buttons_random_target_scratch_and_replay(served):
    _, view = served
    view.on_random()
    assert view.solver.idle(10)
    assert view.teacher.last.success
    assert _pose_error(view.teacher.chain, view.teacher.q, view.target())[0] <= 1e-6
    view.on_replay(seconds=0.05)
    np.testing.assert_allclose([s.value for s in view.sliders], view.teacher.q, atol=1e-12)
    assert view.solver.errors == []


# -- the command --------------------------------------------------------------------------------

def _armgrad(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "demos", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_a_port_in_use_is_one_clear_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = _armgrad("teach", "planar2", "--port", str(port))
    assert out.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_without_viser_one_line_names_the_extra():
    code = ("import sys; sys.modules['viser'] = None; from demos.cli import main; "
            "sys.exit(main(['teach', 'planar2']))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "pip install 'armgrad[teach]'" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_ctrl_c_stops_the_server_cleanly():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "demos", "teach", "planar3", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://localhost:{port}" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=10) as page:  # it serves viser's client
            assert page.status == 200 and b"<html" in page.read().lower()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "stopped" in out and "Traceback" not in err


# -- a real browser -------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = ["--no-sandbox", "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"]


def screenshot(url, wait_ms=4000) -> np.ndarray:
    """(H, W, 3) RGB of the page at url in headless Chromium, after `wait_ms` for WebGL to draw."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 650})
            page.goto(url)
            page.wait_for_timeout(wait_ms)
            png = page.screenshot()
        finally:
            browser.close()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt install chromium): the browser test cannot run; "
                                               "the server-side tests above still do")
def test_the_page_shows_the_robot_not_a_blank_canvas(served):
    pytest.importorskip("playwright", reason="playwright (in the test extra) is not installed")
    import viser

    server, view = served
    view.teacher.solve_to(view.teacher.pose())
    robot = screenshot(f"http://127.0.0.1:{server.get_port()}")
    with contextlib.redirect_stdout(io.StringIO()):
        empty_server = viser.ViserServer(host="127.0.0.1", port=_free_port(), verbose=False)
    try:
        empty = screenshot(f"http://127.0.0.1:{empty_server.get_port()}")
    finally:
        teach.stop(empty_server)

    def arm_pixels(img):  # pixels near the links' colour
        return (np.abs(img - np.array(teach.LINK_COLOR)).sum(-1) < 90).mean()

    # (the software-WebGL notice has an orange stripe, in both pages)
    assert arm_pixels(robot) > arm_pixels(empty) + 0.002, f"arm-coloured: {arm_pixels(robot):.4f} of the page, " \
                                                          f"{arm_pixels(empty):.4f} in an empty scene"
    assert np.abs(robot - empty).mean() > 2.0  # the scene differs from an empty one


def test_a_scene_for_an_arm_without_collision_shapes_is_one_line(tmp_path):
    scene = tmp_path / "scene.toml"
    scene.write_text("[[sphere]]\ncenter = [0.5, 0, 0.3]\nradius = 0.1\n")
    out = _armgrad("teach", "puma560", "--scene", str(scene), "--port", str(_free_port()))
    assert out.returncode == 2 and "no collision geometry" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_given_geometry_and_no_self_collision():
    arm = robots.get("panda")
    geometry = {"panda_joint4": kin.Sphere((0.0, 0.0, 0.0), 0.08)}  # one ball at the elbow
    t = teach.Teacher(arm, {"ball": kin.Sphere((0.3, 0.0, 0.2), 0.05)},
                      geometry=geometry, self_collision=False)
    assert [type(task).__name__ for task in t.collision_tasks()] == ["Avoid"]
    update = t.solve_to(t.pose())
    assert update.success and update.clearance > 0


def test_a_urdf_arm_is_drawn_with_its_visual_meshes(tmp_path):
    pytest.importorskip("trimesh", reason="trimesh (armgrad[collision], in the test extra) builds the visuals")
    import argparse

    urdf = tmp_path / "arm.urdf"
    urdf.write_text("""<robot name="arm">
      <link name="base"><visual><geometry><box size="0.2 0.2 0.1"/></geometry></visual></link>
      <link name="upper"><visual><origin xyz="0 0 0.25"/><geometry><cylinder radius="0.04" length="0.5"/></geometry>
        </visual></link>
      <link name="lower"/>
      <joint name="shoulder" type="revolute"><parent link="base"/><child link="upper"/><origin xyz="0 0 0.1"/>
        <axis xyz="0 1 0"/><limit lower="-2" upper="2" effort="1" velocity="1"/></joint>
      <joint name="elbow" type="revolute"><parent link="upper"/><child link="lower"/><origin xyz="0 0 0.5"/>
        <axis xyz="0 1 0"/><limit lower="-2" upper="2" effort="1" velocity="1"/></joint>
    </robot>""")
    args = argparse.Namespace(robot=str(urdf), base=None, tip=None, frame=None, zero_range=None, xacro_args=[],
                              packages=[], meshes=True, scene=None)
    chain = teach.common.robot_from_args(args)
    meshes = teach.chain_meshes(args, chain)
    assert set(meshes) == {"base", "shoulder"}
    server, view = teach.serve(chain, port=_free_port(), meshes=meshes)
    try:
        assert view.capsules and not any(h.visible for h in view.capsules)  # the meshes replace the capsules
        assert server.scene.get_handle_by_name("/arm/shoulder/visual0") is not None
        view.show_capsules.value = True
        assert all(h.visible for h in view.capsules)
    finally:
        view.close()
        teach.stop(server)
