"""`armgrad teach ROBOT`: drag the target in a browser and watch the arm follow (a viser server).

Three layers, so that the solver side is tested and benchmarked without a browser:
- `Teacher` (no viser): the arm, its current q, the solve options and the last answer. A target
  is solved warm-started from the current q (q0 = q: LM's first start, and the preferred answer
  among successes), with no random restarts, so the arm stays on its branch while dragged; an
  unreachable target leaves the closest answer, flagged. Joint moves are FK; "solve from
  scratch" uses the solver's full restarts.
- `Latest`: one worker thread that solves the newest target only (updates that arrive while a
  solve runs replace each other), so the view never lags behind the hand.
- `TeachView`: the viser scene (link capsules from the kinematics, the collision capsules and
  obstacles with --scene, the target gizmo) and the panel (method, tolerance, target kind,
  posture weight, errors and time, a slider per joint, buttons), wired to the Teacher. viser
  is the optional extra `armgrad[teach]`.

Setting a gizmo's pose from the server does not fire its `on_update` (only the client's drags
do), so the view moves the gizmo itself after joint moves, and tests call `TeachView.on_target`,
the handler the callback calls.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import socket
import sys
import threading
import time

import numpy as np

import kinematics as kin
from demos import animation, common

INSTALL_HINT = "pip install 'armgrad[teach]'"
MODES = ("full pose", "position only", "tool axis")
LINK_COLOR = (240, 110, 30)  # the arm's links (the browser test looks for it)
DRAG_BUDGET = 0.25  # s: a drag update's solve stops here (the next update is waiting)

EXAMPLES = """\
examples:
  armgrad teach panda                          then open http://127.0.0.1:8080
  armgrad teach ur5 --port 8081
  armgrad teach panda --scene scene.toml       obstacles drawn, collision tasks on
  armgrad teach robot.urdf --tip tool0 --host 0.0.0.0   (reachable from other machines)

Drag the gizmo: every update solves IK warm-started from the arm's current configuration (it
stays on its branch); an unreachable pose shows the closest answer and the panel turns red.
Ctrl-C stops the server.
"""


def register(subparsers) -> None:
    parser = common.command_parser(
        subparsers, "teach", help="drag a target in the browser and watch the arm follow (viser)",
        description="Serve a live view of ROBOT: drag the target gizmo and IK follows it.", epilog=EXAMPLES)
    common.add_robot_arguments(parser)
    common.add_scene_arguments(parser)
    parser.set_defaults(meshes=True)  # --package also finds a URDF's visual meshes
    parser.add_argument("--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1: this machine "
                                                             "only; 0.0.0.0 serves every network)")
    parser.add_argument("--port", type=int, default=8080, help="the port (default 8080)")
    parser.set_defaults(func=run)


def import_viser():
    """viser, or ImportError with one line naming the extra."""
    try:
        import viser
    except ImportError:
        raise ImportError(f"armgrad teach needs viser: {INSTALL_HINT}") from None
    return viser


# -- the solver side ----------------------------------------------------------------------------

@dataclasses.dataclass
class Update:
    """One solve's outcome, as the panel shows it.

    Attributes:
        q: (n,) the answer (the closest one found when not reached).
        success: whether every task is met.
        position_error, rotation_error: the worst pose errors (m, rad).
        iterations: solver iterations.
        seconds: wall time of the solve.
        reason: the solver's reason.
        history: (k, n) the iterates of the answer's start (for "replay convergence").
        clearance: the smallest signed distance to the obstacles and the arm itself (m), or None.
    """

    q: np.ndarray
    success: bool
    position_error: float
    rotation_error: float
    iterations: int
    seconds: float
    reason: str
    history: np.ndarray
    clearance: float | None = None


class Teacher:
    """The arm, its current configuration and the solve options; every method is plain numpy.

    Args:
        chain: the arm (a kinematics.Chain; the target frame is its "tool").
        obstacles: None, or obstacles for kin.Avoid (a list or {name: shape}).
        margin: the clearance the collision tasks keep (m).
        geometry: the arm's collision shapes on the frames of kin.Robot.from_chain(chain) (None:
            `chain.geometry`, which the built-in models carry); needed with obstacles.
        self_collision: with obstacles, keep the links apart too (kin.AvoidSelf).

    Attributes:
        q: (n,) the arm's configuration.
        method, tol, mode, posture: the options (mode one of MODES; posture the weight of a
            Posture task toward mid-range, 0 for none).
        last: the last Update, or None.
    """

    def __init__(self, chain: kin.Chain, obstacles=None, margin: float = 0.0, geometry=None,
                 self_collision: bool = True):
        self.chain = chain
        self.q = kin.default_start(chain)
        self.method, self.tol, self.mode, self.posture = "lm", 1e-6, MODES[0], 0.0
        self.obstacles, self.margin, self.self_collision = obstacles, margin, self_collision
        self.geometry = chain.geometry if geometry is None else geometry
        if obstacles is not None and self.geometry is None:
            raise ValueError(f"--scene: robot {chain.name!r} has no collision model (built-in models: "
                             "panda, panda_hand, ur5; or a URDF or MJCF file with collision shapes)")
        self.rest = 0.5 * (np.maximum(chain.lower, -np.pi) + np.minimum(chain.upper, np.pi))
        self.last = None
        self._lock = threading.Lock()  # the worker solves while the panel may move joints
        self.solve_to(self.pose())  # the first solve builds the solver's caches: not during the first drag

    def pose(self, q=None) -> np.ndarray:
        """(4, 4) the tool's pose at q (default: the current q)."""
        return kin.forward_kinematics(self.chain, self.q if q is None else q)

    def tasks(self, T: np.ndarray) -> list:
        """The task list for a target pose T (4, 4): the target kind, the posture, the collision tasks."""
        if self.mode == "position only":
            tasks = [kin.Position("tool", T[:3, 3])]
        elif self.mode == "tool axis":
            tasks = [kin.Axis("tool", (0.0, 0.0, 1.0), T[:3, 2], position=T[:3, 3])]
        else:
            tasks = [kin.Pose("tool", T)]
        if self.posture > 0:
            tasks.append(kin.Posture(self.rest, self.posture))
        return tasks + self.collision_tasks()

    def collision_tasks(self) -> list:
        """kin.Avoid (and kin.AvoidSelf) with the obstacles; [] without them."""
        if self.obstacles is None:
            return []
        tasks = [kin.Avoid(self.obstacles, self.margin, geometry=self.geometry)]
        return tasks + [kin.AvoidSelf(self.margin, geometry=self.geometry)] if self.self_collision else tasks

    def solve_to(self, T: np.ndarray, *, restarts: bool = False) -> Update:
        """Solve for target T (4, 4) and make the answer the arm's q.

        Warm-started: q0 is the current q and no random restarts are drawn (the answer stays on
        the arm's branch), within DRAG_BUDGET seconds. restarts=True is "solve from scratch":
        the solver's default start and its full restarts.
        """
        T = np.asarray(T, dtype=np.float64)
        options = dict(method=self.method, tol_position=self.tol, tol_rotation=self.tol, record_history=True)
        if self.posture > 0 and self.method != "lm":
            options["soft_iterations"] = 0  # the soft phase is LM's
        with self._lock:
            start = time.perf_counter()
            if restarts:
                result = kin.solve(self.chain, self.tasks(T), **options)
            else:
                result = kin.solve(self.chain, self.tasks(T), q0=self.q, max_restarts=0, time_budget=DRAG_BUDGET,
                                   **options)
            seconds = time.perf_counter() - start
            self.q = np.array(result.q)
            clearance = None
            if self.obstacles is not None:
                clearance = min(e["distance"] for e in result.task_errors[-len(self.collision_tasks()):])
            self.last = Update(self.q.copy(), bool(result.success), float(result.position_error),
                               float(result.rotation_error), int(result.iterations), seconds, result.reason,
                               np.array(result.history["q"]), clearance)
            return self.last

    def set_joint(self, index: int, value: float) -> np.ndarray:
        """Move joint `index` to `value` (clipped to its limits); returns the tool's new pose (4, 4)."""
        with self._lock:
            q = self.q.copy()
            q[index] = min(max(float(value), self.chain.lower[index]), self.chain.upper[index])
            self.q = q
            return self.pose()

    def random_target(self, rng: np.random.Generator, draws: int = 1000) -> np.ndarray:
        """A reachable pose (4, 4): FK of a random configuration within the limits (with obstacles,
        the first of `draws` that keeps the margin from them and between the links)."""
        lo, hi = np.maximum(self.chain.lower, -np.pi), np.minimum(self.chain.upper, np.pi)
        q = rng.uniform(lo, hi, (draws if self.obstacles is not None else 1, self.chain.n))
        clear = np.flatnonzero(self._clear(q))
        if not clear.size:
            raise ValueError(f"no collision-free configuration in {draws} random draws: the scene fills the workspace")
        return self.pose(q[clear[0]])

    def _clear(self, q) -> np.ndarray:
        """(R,) whether each configuration of q (R, n) keeps the margin from the obstacles and between the links."""
        if self.obstacles is None:
            return np.ones(len(q), dtype=bool)
        robot = kin.Robot.from_chain(self.chain)
        tasks = [task.bind(robot) for task in self.collision_tasks()]
        frames = list(dict.fromkeys(f for task in tasks for f in task.frames))
        P = kin.frame_poses(robot, q, frames)
        T = {f: P[:, k] for k, f in enumerate(frames)}
        return np.all([task.report(T)["distance"] >= self.margin for task in tasks], axis=0)


class Latest:
    """Runs `fn(value)` on a worker thread for the newest value submitted, one call at a time.

    Values submitted while a call runs replace each other: only the newest is used next (a drag
    sends tens of updates a second; solving each in turn would fall behind the hand).
    """

    def __init__(self, fn):
        self._fn = fn
        self._wake = threading.Condition()
        self._pending, self._has, self._busy, self._closed = None, False, False, False
        self.errors = []  # exceptions fn raised (the view reports them; tests check there are none)
        self._thread = threading.Thread(target=self._run, name="armgrad-teach-solver", daemon=True)
        self._thread.start()

    def submit(self, value) -> None:
        with self._wake:
            self._pending, self._has = value, True
            self._wake.notify()

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or running (True), or `timeout` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._has or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not self._wake.wait(left):
                    return not (self._has or self._busy)
        return True

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        self._thread.join(timeout=5)

    def _run(self):
        while True:
            with self._wake:
                while not self._has and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                value, self._has, self._busy = self._pending, False, True
            try:
                self._fn(value)
            except Exception as error:  # noqa: BLE001 (a bad update must not kill the worker)
                self.errors.append(error)
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()


# -- the view -----------------------------------------------------------------------------------

def capsule_mesh(a, b, radius: float):
    """A triangle mesh of the capsule around segment a-b (3,): (vertices (V, 3), faces (F, 3)).

    The quads of `demos.animation.capsule_surface` (the animations' capsules), two triangles each.
    """
    quads = animation.capsule_surface(a, b, radius, around=16, cap=4)
    first = 4 * np.arange(len(quads))[:, None]
    faces = np.concatenate([first + [0, 1, 2], first + [0, 2, 3]])
    return quads.reshape(-1, 3), faces.astype(np.int32)


def _wxyz(R: np.ndarray) -> np.ndarray:
    """A rotation (3, 3) as a unit quaternion (w, x, y, z), w >= 0 (Shepperd's method)."""
    from scipy.spatial.transform import Rotation

    x, y, z, w = Rotation.from_matrix(R).as_quat()
    return np.array([w, x, y, z]) * (1.0 if w >= 0 else -1.0)


def _matrix(wxyz) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    w, x, y, z = wxyz
    return Rotation.from_quat([x, y, z, w]).as_matrix()


def gizmo_pose(position, wxyz) -> np.ndarray:
    """The (4, 4) pose of a gizmo's position (3,) and quaternion (w, x, y, z)."""
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = _matrix(np.asarray(wxyz, dtype=float)), np.asarray(position, dtype=float)
    return T


class TeachView:
    """The viser scene and panel over a Teacher.

    Args:
        server: a viser.ViserServer.
        teacher: the Teacher.
        seed: seeds "random reachable target".
        meshes: {frame of kin.Robot.from_chain(chain): [(vertices (N, 3), faces (M, 3))]} in frame
            coordinates (`chain_meshes`): drawn instead of the link capsules (a checkbox shows them).

    Attributes:
        gizmo: the target's transform controls; status: the panel's markdown (errors, time, and
            whether the target is reached); sliders: one per joint; solver: the `Latest` worker.
    """

    def __init__(self, server, teacher: Teacher, seed: int = 0, meshes=None):
        self.server, self.teacher, self.rng = server, teacher, np.random.default_rng(seed)
        self.meshes = meshes or {}
        chain = teacher.chain
        self.frames = ["base", *(j.name for j in chain.joints), "tool"]
        lengths = [np.linalg.norm(j.origin[:3, 3]) for j in chain.joints] + [np.linalg.norm(chain.tool[:3, 3])]
        self.size = max(float(sum(lengths)), 0.1)
        self._syncing = False  # the view sets sliders itself: their callbacks must not move the arm again
        self._draw_arm()
        if teacher.obstacles is not None:
            self._draw_obstacles(teacher.obstacles)
        T = teacher.pose()
        self.gizmo = server.scene.add_transform_controls("/target", scale=0.25 * self.size, position=T[:3, 3],
                                                         wxyz=_wxyz(T[:3, :3]))
        self.gizmo.on_update(lambda event: self.on_target(gizmo_pose(event.target.position, event.target.wxyz)))
        self._build_panel()
        self.solver = Latest(self._solve)
        self._show(teacher.q)
        server.initial_camera.position = (0.9 * self.size, -1.1 * self.size, 0.8 * self.size)
        server.initial_camera.look_at = (0.1 * self.size, 0.25 * self.size, 0.3 * self.size)

    # scene

    def _draw_arm(self):
        chain, scene = self.teacher.chain, self.server.scene
        scene.set_up_direction("+z")
        scene.configure_environment_map(None)  # viser's HDRI images come from the network: lights only (offline)
        scene.add_light_hemisphere("/light", intensity=2.5)
        radius = max(self.size / 30, 0.005)
        scene.add_grid("/ground", width=3 * self.size, height=3 * self.size, cell_size=self.size / 10,
                       section_size=self.size / 2)
        self.links = [scene.add_frame(f"/arm/{name}", show_axes=False, axes_length=self.size / 12,
                                      axes_radius=self.size / 400) for name in self.frames]
        # Segment k joins frame k-1's origin to joint k's origin: fixed in frame k-1 whatever q is.
        ends = [(chain.base @ chain.joints[0].origin)[:3, 3]] + [j.origin[:3, 3] for j in chain.joints[1:]] + \
            [chain.tool[:3, 3]]
        self.capsules = []  # the links as capsules: hidden when the description's meshes are drawn
        for k, end in enumerate(ends):
            if np.linalg.norm(end) > 1e-9:
                V, F = capsule_mesh(np.zeros(3), end, radius)
                self.capsules.append(scene.add_mesh_simple(f"/arm/{self.frames[k]}/link", V, F, color=LINK_COLOR,
                                                             side="double"))
            self.capsules.append(scene.add_icosphere(f"/arm/{self.frames[k]}/joint", radius=1.3 * radius,
                                                     color=(70, 70, 80)))
        for frame, meshes in self.meshes.items():
            for i, (V, F) in enumerate(meshes):
                scene.add_mesh_simple(f"/arm/{frame}/visual{i}", V.astype(np.float32), F.astype(np.uint32),
                                      color=(220, 220, 225), side="double")  # (a mirroring scale flips faces)
        for handle in self.capsules if self.meshes else ():
            handle.visible = False
        for frame, shapes in (self.teacher.geometry or {}).items() if self.teacher.obstacles is not None else ():
            for i, shape in enumerate((shapes,) if isinstance(shapes, kin.collision.Shape) else shapes):
                a, b = (shape.center, shape.center) if isinstance(shape, kin.Sphere) else (shape.a, shape.b)
                V, F = capsule_mesh(a, b, shape.radius)
                scene.add_mesh_simple(f"/arm/{frame}/collision{i}", V, F, color=(90, 160, 255), opacity=0.3,
                                      side="double")

    def _draw_obstacles(self, obstacles):
        scene = self.server.scene
        items = obstacles.items() if isinstance(obstacles, dict) else ((f"o{i}", o) for i, o in enumerate(obstacles))
        grey = (150, 150, 160)
        for name, shape in items:
            path = f"/obstacles/{name}"
            if isinstance(shape, kin.Sphere):
                scene.add_icosphere(path, radius=shape.radius, color=grey, position=shape.center)
            elif isinstance(shape, kin.Capsule):
                V, F = capsule_mesh(shape.a, shape.b, shape.radius)
                scene.add_mesh_simple(path, V, F, color=grey, side="double")
            elif isinstance(shape, kin.Box):
                scene.add_box(path, color=grey, dimensions=shape.size, position=shape.pose[:3, 3],
                              wxyz=_wxyz(shape.pose[:3, :3]))
            elif isinstance(shape, kin.HalfSpace):  # a thin slab of the plane under the arm
                n = shape.normal
                R = np.linalg.svd(np.eye(3) - np.outer(n, n))[0]
                R = np.column_stack([R[:, 0], np.cross(n, R[:, 0]), n])
                centre = shape.offset * n - 0.005 * n
                scene.add_box(path, color=(200, 190, 170), dimensions=(2 * self.size, 2 * self.size, 0.01),
                              position=centre, wxyz=_wxyz(R), opacity=0.6)
            else:
                scene.add_point_cloud(path, shape.points.astype(np.float32), colors=grey,
                                      point_size=max(2 * shape.radius, 0.005))

    def _show(self, q):
        """Move the arm's frames to q (n,) and the sliders with them."""
        P = kin.link_poses(self.teacher.chain, q)
        with self.server.atomic():
            for handle, T in zip(self.links[1:], P):
                handle.position, handle.wxyz = T[:3, 3], _wxyz(T[:3, :3])
        self._syncing = True
        try:
            for slider, value in zip(self.sliders, q):
                slider.value = float(value)
        finally:
            self._syncing = False

    # panel

    def _build_panel(self):
        gui, chain, t = self.server.gui, self.teacher.chain, self.teacher
        self.method = gui.add_dropdown("method", kin.METHODS, initial_value=t.method)
        self.tolerance = gui.add_number("tolerance", t.tol, min=1e-12, max=1.0, step=1e-6)
        self.mode = gui.add_dropdown("target", MODES, initial_value=t.mode)
        self.posture = gui.add_slider("posture weight", 0.0, 1.0, 0.01, t.posture)
        self.show_frames = gui.add_checkbox("joint frames", False)
        self.show_capsules = gui.add_checkbox("link capsules", not self.meshes)
        self.show_capsules.on_update(lambda _: [setattr(h, "visible", self.show_capsules.value) for h in self.capsules])
        self.status = gui.add_markdown("drag the target (the gizmo at the tool) and the arm follows")
        with gui.add_folder("joints"):
            self.sliders = []
            for i, joint in enumerate(chain.free_joints):
                lo, hi = max(chain.lower[i], -np.pi), min(chain.upper[i], np.pi)
                slider = gui.add_slider(joint.name, float(lo), float(hi), (hi - lo) / 1000, float(t.q[i]))
                slider.on_update(lambda event, i=i: self.on_joint(i, event.target.value))
                self.sliders.append(slider)
        self.random = gui.add_button("random reachable target")
        self.scratch = gui.add_button("solve from scratch with restarts")
        self.replay = gui.add_button("replay convergence")
        self.method.on_update(lambda _: setattr(t, "method", self.method.value))
        self.tolerance.on_update(lambda _: setattr(t, "tol", float(self.tolerance.value)))
        self.mode.on_update(lambda _: setattr(t, "mode", self.mode.value))
        self.posture.on_update(lambda _: setattr(t, "posture", float(self.posture.value)))
        self.show_frames.on_update(lambda _: self._frames_visible(self.show_frames.value))
        self.random.on_click(lambda _: self.on_random())
        self.scratch.on_click(lambda _: self.solver.submit(("scratch", self.target())))
        self.replay.on_click(lambda _: self.on_replay())

    def _frames_visible(self, visible: bool):
        for handle in self.links:
            handle.show_axes = visible

    def target(self) -> np.ndarray:
        """The gizmo's pose (4, 4)."""
        return gizmo_pose(self.gizmo.position, self.gizmo.wxyz)

    def _move_gizmo(self, T):
        self.gizmo.position, self.gizmo.wxyz = T[:3, 3], _wxyz(T[:3, :3])

    # events

    def on_target(self, T) -> None:
        """A new gizmo pose (4, 4): solved by the worker, newest first (the gizmo's on_update calls this)."""
        self.solver.submit(("drag", np.asarray(T, dtype=float)))

    def on_joint(self, index: int, value: float) -> None:
        """A joint slider moved: FK, and the gizmo follows the tool."""
        if self._syncing:
            return
        T = self.teacher.set_joint(index, value)
        self._show(self.teacher.q)
        self._move_gizmo(T)
        self.status.content = "moved by joint sliders (FK)"

    def on_random(self) -> None:
        T = self.teacher.random_target(self.rng)
        self._move_gizmo(T)
        self.solver.submit(("scratch", T))

    def on_replay(self, seconds: float = 1.5) -> None:
        """Play the last solve's iterates in the scene, then come back to its answer."""
        last = self.teacher.last
        if last is None or not len(last.history):
            self.status.content = "nothing to replay yet: drag the target first"
            return
        for q in last.history:
            self._show(q)
            time.sleep(seconds / len(last.history))
        self._show(last.q)

    def _solve(self, job):
        kind, T = job
        update = self.teacher.solve_to(T, restarts=kind == "scratch")
        self._show(update.q)
        self.status.content = status_text(update, self.teacher)

    def close(self):
        self.solver.close()


def status_text(update: Update, teacher: Teacher) -> str:
    """The panel's markdown for one solve: reached (green) or not (red), the errors and the cost."""
    color, word = ("green", "reached") if update.success else ("red", "NOT reached: closest answer shown")
    lines = [f"<span style='color:{color}'>**{word}**</span>",
             f"position error {update.position_error:.2e} m, rotation error {update.rotation_error:.2e} rad",
             f"{update.iterations} iterations, {1e3 * update.seconds:.1f} ms ({teacher.method}, tol {teacher.tol:g})"]
    if update.clearance is not None:
        lines.append(f"smallest clearance {update.clearance:.3g} m")
    if not update.success:
        lines.append(update.reason)
    return "\n\n".join(lines)


def port_free(host: str, port: int) -> bool:
    """Whether (host, port) can be bound now (viser itself would move to another port)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def serve(chain, obstacles=None, margin: float = 0.0, host: str = "127.0.0.1", port: int = 8080, *,
          geometry=None, self_collision: bool = True, meshes=None):
    """(server, view) for `chain`, served at http://host:port (a clear error when the port is taken);
    obstacles, margin, geometry and self_collision as for `Teacher`, meshes as for `TeachView`."""
    viser = import_viser()
    if not 0 < port < 65536:
        raise common.CommandError(f"--port must be in 1..65535, got {port}")
    if not port_free(host, port):
        raise common.CommandError(f"port {port} on {host} is in use (another armgrad teach?); pick another with "
                                  "--port")
    with contextlib.redirect_stdout(io.StringIO()):  # viser's own banner: `run` prints the address itself
        server = viser.ViserServer(host=host, port=port, verbose=False)
    if server.get_port() != port:  # taken between the check and the bind: viser moved on
        stop(server)
        raise common.CommandError(f"port {port} on {host} is in use; pick another with --port")
    try:
        view = TeachView(server, Teacher(chain, obstacles, margin, geometry, self_collision), meshes=meshes)
    except BaseException:
        stop(server)
        raise
    return server, view


def stop(server) -> None:
    """Stop a viser server without its own message."""
    with contextlib.redirect_stdout(io.StringIO()):
        server.stop()


def chain_meshes(args, chain) -> dict:
    """The visual meshes of a URDF, xacro or MJCF ROBOT on the chain's frames: {frame: [(V (N, 3), F (M, 3))]}
    in frame coordinates ({} for other arms, or without trimesh: the links are drawn as capsules)."""
    kind = common.robot_kind(args.robot)
    if kind not in ("urdf", "xacro", "mjcf"):
        return {}
    from robots.geometry import chain_frames
    from robots.visuals import visual_meshes

    tree, packages, xacro_args = common.description_tree(args, kind)
    meshes = visual_meshes(args.robot, packages, xacro_args)
    placed = {}
    for link, (frame, C, _) in chain_frames(tree, chain, list(meshes), args.base, what="visual meshes").items():
        placed.setdefault(frame, []).extend((V @ C[:3, :3].T + C[:3, 3], F) for V, F in meshes[link])
    return placed


def run(args) -> int:
    chain = common.robot_from_args(args)
    scene = common.collision_from_args(args, chain)
    meshes = chain_meshes(args, chain)
    if scene is None:
        server, view = serve(chain, host=args.host, port=args.port, meshes=meshes)
    else:
        server, view = serve(chain, scene.obstacles, scene.margin, args.host, args.port, geometry=scene.geometry,
                             self_collision=not args.no_self_collision, meshes=meshes)
    shown = "localhost" if args.host in ("127.0.0.1", "localhost") else args.host
    print(f"armgrad teach: {chain.name} at http://{shown}:{args.port}  (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(0.5)
            for error in view.solver.errors[:]:
                print(f"armgrad teach: a solve failed: {error}", file=sys.stderr, flush=True)
                view.solver.errors.remove(error)
    except KeyboardInterrupt:
        print("armgrad teach: stopped", flush=True)
        return 130
    finally:
        view.close()
        stop(server)


if __name__ == "__main__":
    common.run_as_script("teach")
