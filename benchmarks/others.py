"""Other IK libraries on the same Panda targets: pink (Pinocchio + a QP) and mink (MuJoCo + a QP).

Both are differential-IK libraries: each iteration solves a small QP for a joint displacement Δq
that lowers a weighted pose error ‖J Δq + e‖² + damping terms, subject to the joint limits, then
integrates q ← q ⊕ Δq. An IK solve repeats that from one start (the middle of the joint ranges
by default) until the pose is reached or an iteration cap. Neither restarts; neither is told
about armgrad. Every answer is judged by armgrad's FK (benchmarks.ik.judge: 1e-6 m, 1e-6 rad,
inside the limits), never by the library's own notion of success.

Kinematics, identical to `robots.get("panda")` (checked to 1e-12 for random q by
tests/benchmarks/test_others.py):
    - pink: pinocchio on example-robot-data's panda.urdf with the two finger joints locked
      (pinocchio.buildReducedModel, 7 DoF left); the tool frame is `panda_link8`, the flange,
      which is the chain's end (DH frame 7 · Tz(0.107)) to 1e-16 (DESIGN §4).
    - mink: an MJCF written from the chain itself (`chain_mjcf`): one body per joint at the
      joint's origin, a hinge about its axis with the chain's limits, a site "tool" at the end.

Settings (arguments of `pink_solve` and `mink_solve`; the same for both unless stated):
    - task: one FrameTask on the tool, position cost 1 /m and orientation cost 1 /rad, gain 1
      (dead-beat), and the task's Levenberg-Marquardt term μ = lm_damping · ‖weighted error‖²
      on the QP's diagonal (it vanishes at the solution, so the last digits still converge):
      lm_damping 1e-2 for pink, 1e-1 for mink, each the best of {0, 1e-3, 1e-2, 1e-1, 1} on 200
      targets of another seed (seed 1; the benchmark uses seed 0);
    - damping 1e-12 (both libraries' default Tikhonov term);
    - limits: the configuration limit alone, with each library's default gain (pink 0.5,
      mink 0.95: the fraction of the distance to a limit one step may cover). With the same
      gain and lm_damping the two take identical steps (same kinematics, same QP); the gain is
      what separates them. Velocity limits are left out: a solve wants the pose, not a
      trajectory, so dt (1 s) only scales the velocity the QP returns and cancels when it is
      integrated;
    - QP solver: quadprog when installed, else daqp (qpsolvers' names);
    - stop: the library's own FK within 1e-7 m and 1e-7 rad of the target (a tenth of the
      judged tolerance, so rounding cannot fail the judge), the QP finding no solution, or 100
      iterations (on the tuning targets every solved one needed at most 50, and a cap of 1000
      solved none more: the others are stuck at a limit or in a local minimum).

    python -m benchmarks.others [--quick] [--targets 1000] [--iterations 100]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import pathlib
import statistics
import time

import numpy as np

import kinematics as kin
import robots
from benchmarks.ik import TOL, armgrad_solver, judge, make_targets, one_at_a_time

DT = 1.0
DAMPING = 1e-12
PINK_LM_DAMPING, MINK_LM_DAMPING = 1e-2, 1e-1
PINK_LIMIT_GAIN, MINK_LIMIT_GAIN = 0.5, 0.95  # the libraries' defaults
MAX_ITERATIONS = 100
STOP_POSITION = STOP_ROTATION = 0.1 * TOL
PANDA_URDF = pathlib.Path("panda_description/urdf/panda.urdf")  # in robots.example_robot_data()
PANDA_FLANGE = "panda_link8"
FINGERS = ("panda_finger_joint1", "panda_finger_joint2")


# ----------------------------------------------------------------------------- shared

def _require(module: str, package: str, who: str):
    """The module, or an ImportError with one line naming the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{who} needs {package}, which is not installed (pip install {package})") from None


def qp_solver() -> str:
    """quadprog where installed (dense active set, the usual choice for these small QPs), else daqp."""
    import qpsolvers

    for name in ("quadprog", "daqp"):
        if name in qpsolvers.available_solvers:
            return name
    raise ImportError(f"no QP solver for pink/mink: install quadprog (qpsolvers has {qpsolvers.available_solvers})")


def _inputs(chain, targets, q_start):
    """targets (B, 4, 4) and starts (B, n) checked; the start defaults to mid-range."""
    T = np.asarray(targets, dtype=float)
    if T.shape == (4, 4):
        T = T[None]
    if T.ndim != 3 or T.shape[1:] != (4, 4) or not np.all(np.isfinite(T)):
        raise ValueError(f"targets must be finite (4, 4) or (B, 4, 4) poses, got shape {np.shape(targets)}")
    q0 = 0.5 * (chain.lower + chain.upper) if q_start is None else np.asarray(q_start, dtype=float)
    q0 = np.broadcast_to(q0, (len(T), chain.n)) if q0.shape in ((chain.n,), (1, chain.n)) else q0
    if q0.shape != (len(T), chain.n):
        raise ValueError(f"q_start must be ({chain.n},) or ({len(T)}, {chain.n}), got shape {q0.shape}")
    if not np.all((q0 >= chain.lower) & (q0 <= chain.upper)):  # NaN fails this too
        raise ValueError("q_start must be inside the Panda's joint limits (both libraries refuse a start outside)")
    return T, q0


def _solve_each(T, q0, setup, step, distance, max_iterations, return_info):
    """The loop both libraries share: per target, step until `distance` ≤ the stop tolerances.

    Args:
        T: (B, 4, 4) targets; q0: (B, n) starts.
        setup(target, q): prepares the library for one target from q.
        step(q) -> q: one QP step, or None when the QP has no solution.
        distance(q) -> (position error m, rotation angle rad) by the library's own FK.

    Returns:
        q (B, n), and with return_info {"seconds": (B,), "iterations": (B,)}.
    """
    answers, seconds, iterations = np.empty_like(q0), np.empty(len(T)), np.zeros(len(T), dtype=int)
    for b in range(len(T)):
        start = time.perf_counter()
        q = q0[b].copy()
        setup(T[b], q)
        for _ in range(max_iterations):
            position, angle = distance(q)
            if position <= STOP_POSITION and angle <= STOP_ROTATION:
                break
            q_next = step(q)
            if q_next is None:
                break
            q = q_next
            iterations[b] += 1
        answers[b], seconds[b] = q, time.perf_counter() - start
    return (answers, {"seconds": seconds, "iterations": iterations}) if return_info else answers


# ----------------------------------------------------------------------------- pink

def panda_urdf() -> pathlib.Path:
    """example-robot-data's panda.urdf, or ImportError when the package is not installed."""
    folder = robots.example_robot_data()
    if folder is None or not (folder / PANDA_URDF).is_file():
        raise ImportError("pink_solve needs example-robot-data's panda.urdf (pip install example-robot-data)")
    return folder / PANDA_URDF


def pink_model():
    """Pinocchio's 7-DoF Panda (fingers locked at 0) from example-robot-data: (model, tool frame name)."""
    pin = _require("pinocchio", "pin", "pink_solve")
    full = pin.buildModelFromUrdf(str(panda_urdf()))
    locked = [full.getJointId(name) for name in FINGERS]
    return pin.buildReducedModel(full, locked, pin.neutral(full)), PANDA_FLANGE


def pink_solve(targets, q_start=None, *, solver=None, max_iterations=MAX_ITERATIONS, dt=DT, damping=DAMPING,
               lm_damping=PINK_LM_DAMPING, limit_gain=PINK_LIMIT_GAIN, return_info=False):
    """Panda IK with pink: its QP step repeated from q_start until the tool reaches each target.

    Args:
        targets: (B, 4, 4) or (4, 4) tool poses of `robots.get("panda")` in its base frame.
        q_start: (7,) or (B, 7) starts inside the limits; default mid-range.
        solver: a qpsolvers name; default `qp_solver()`.
        max_iterations, dt, damping, lm_damping: the module docstring's settings.
        return_info: also return {"seconds": (B,), "iterations": (B,)} (time per target
            excludes building the model, once per call).

    Returns:
        q (B, 7), and the info dict with return_info.

    Raises:
        ImportError: pink, pinocchio or example-robot-data missing (one line naming it).
        ValueError: bad targets or starts.
    """
    pink = _require("pink", "pin-pink", "pink_solve")
    pin = _require("pinocchio", "pin", "pink_solve")
    from pink.limits import ConfigurationLimit

    chain = robots.get("panda")
    T, q0 = _inputs(chain, targets, q_start)
    model, frame = pink_model()
    data, solver = model.createData(), solver or qp_solver()
    task = pink.FrameTask(frame, position_cost=1.0, orientation_cost=1.0, lm_damping=lm_damping)
    limits = [ConfigurationLimit(model, config_limit_gain=limit_gain)]
    state = {}

    def setup(target, q):
        task.set_target(pin.SE3(target[:3, :3].copy(), target[:3, 3].copy()))
        state["target"] = target
        state["configuration"] = pink.Configuration(model, data, q, copy_data=False)

    def distance(q):
        configuration = state["configuration"]
        configuration.update(q)
        pose = configuration.get_transform_frame_to_world(frame)
        target = state["target"]
        rotation = pin.log3(target[:3, :3].T @ pose.rotation)
        return np.linalg.norm(pose.translation - target[:3, 3]), np.linalg.norm(rotation)

    def step(q):
        configuration = state["configuration"]
        try:
            v = pink.solve_ik(configuration, [task], dt, solver=solver, damping=damping, limits=limits)
        except (pink.exceptions.NoSolutionFound, pink.exceptions.NotWithinConfigurationLimits):
            return None
        return configuration.integrate(v, dt)

    return _solve_each(T, q0, setup, step, distance, max_iterations, return_info)


# ----------------------------------------------------------------------------- mink

def chain_mjcf(chain, site: str = "tool") -> str:
    """An MJCF of a serial chain, from its own joints (no mesh, no URDF): kinematics only.

    Body k sits at joint k's origin (`Robot.from_chain`: the chain's base folds into the first
    origin) with a hinge (revolute) or slide (prismatic) about the joint's axis; the site `site`
    is the chain's end frame. Each body carries a small inertia only because MuJoCo refuses
    massless moving bodies; mink's IK never reads it.

    Args:
        chain: a kinematics.Chain.
        site: the end frame's site name.

    Returns:
        MJCF text (angles in radians).
    """
    mujoco = _require("mujoco", "mujoco", "chain_mjcf")
    tree = kin.Robot.from_chain(chain)

    def place(T):
        quat = np.empty(4)
        mujoco.mju_mat2Quat(quat, np.ascontiguousarray(T[:3, :3]).ravel())
        return f'pos="{_numbers(T[:3, 3])}" quat="{_numbers(quat)}"'

    opened, parts = 0, [f'<mujoco model="{chain.name}"><compiler angle="radian" autolimits="true"/><worldbody>']
    for joint in tree.joints:
        lo, hi = joint.limits
        kind = "hinge" if joint.type == kin.REVOLUTE else "slide"
        limited = f' range="{lo!r} {hi!r}"' if np.isfinite(lo) and np.isfinite(hi) else ' limited="false"'
        parts.append(f'<body name="{joint.name}" {place(joint.origin)}>'
                     '<inertial pos="0 0 0" mass="1" diaginertia="0.01 0.01 0.01"/>'
                     f'<joint name="{joint.name}" type="{kind}" axis="{_numbers(joint.axis)}"{limited}/>')
        opened += 1
    parts.append(f'<site name="{site}" {place(tree.offsets["tool"][1])}/>')
    return "".join(parts) + "</body>" * opened + "</worldbody></mujoco>"


def _numbers(values):
    return " ".join(repr(float(v)) for v in values)


def mink_solve(targets, q_start=None, *, solver=None, max_iterations=MAX_ITERATIONS, dt=DT, damping=DAMPING,
               lm_damping=MINK_LM_DAMPING, limit_gain=MINK_LIMIT_GAIN, return_info=False):
    """Panda IK with mink: its QP step repeated from q_start until the tool site reaches each target.

    Args, Returns: as `pink_solve` (the model is `chain_mjcf(robots.get("panda"))`).

    Raises:
        ImportError: mink or mujoco missing (one line naming it).
        ValueError: bad targets or starts.
    """
    mink = _require("mink", "mink", "mink_solve")
    mujoco = _require("mujoco", "mujoco", "mink_solve")
    chain = robots.get("panda")
    T, q0 = _inputs(chain, targets, q_start)
    model = mujoco.MjModel.from_xml_string(chain_mjcf(chain))
    solver = solver or qp_solver()
    configuration = mink.Configuration(model)
    task = mink.FrameTask("tool", "site", position_cost=1.0, orientation_cost=1.0, lm_damping=lm_damping)
    limits = [mink.ConfigurationLimit(model, gain=limit_gain)]
    state = {}

    def setup(target, q):
        task.set_target(mink.SE3.from_matrix(target))
        state["target"] = target

    def distance(q):
        configuration.update(q)
        pose = configuration.get_transform_frame_to_world("tool", "site").as_matrix()
        target = state["target"]
        rotation = mink.SO3.from_matrix(target[:3, :3].T @ pose[:3, :3]).log()
        return np.linalg.norm(pose[:3, 3] - target[:3, 3]), np.linalg.norm(rotation)

    def step(q):
        try:
            v = mink.solve_ik(configuration, [task], dt, solver=solver, damping=damping, limits=limits)
        except mink.NoSolutionFound:
            return None
        return configuration.integrate(v, dt)

    return _solve_each(T, q0, setup, step, distance, max_iterations, return_info)


# ----------------------------------------------------------------------------- benchmark

SOLVERS = (("pink", pink_solve), ("mink", mink_solve))


def row(name, chain, targets, q, seconds, iterations=None, cap=None):
    """Prints one table row; returns solves per second (targets over the summed per-target times)."""
    solved, violations = judge(chain, q, targets)
    ms, rate = 1e3 * seconds, len(targets) / seconds.sum()
    line = (f"  {name:<8} {100 * solved.mean():7.2f}% {violations:5d} {statistics.median(ms):8.3f} {ms.mean():8.3f} "
            f"{rate:9.0f}")
    if iterations is not None:
        line += f" {iterations.mean():7.1f} {np.mean(iterations >= cap) * 100:6.1f}%"
    print(line)
    return rate


def run(name, solve, chain, targets, max_iterations):
    """One library on the targets: prints a row (or a skip line); returns its solves/s or None."""
    try:
        q, info = solve(targets, max_iterations=max_iterations, return_info=True)
    except ImportError as error:
        print(f"  {name:<8} skipped: {error}")
        return None
    return row(name, chain, targets, q, info["seconds"], info["iterations"], max_iterations)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=MAX_ITERATIONS, help="iteration cap per target")
    args = parser.parse_args(argv)
    if args.quick:
        args.targets, args.iterations = 5, 50
    chain = robots.get("panda")
    targets = make_targets(chain, args.targets, seed=0)
    print(f"Panda full-pose IK, {args.targets} targets (benchmarks.ik.make_targets, seed 0), one at a time from "
          f"mid-range; success = armgrad's FK within {TOL} m and {TOL} rad and inside the limits")
    try:
        solver = qp_solver()
    except ImportError as error:
        solver = f"none ({error})"
    print(f"settings: FrameTask costs 1/1, gain 1, lm_damping pink {PINK_LM_DAMPING:g} / mink {MINK_LM_DAMPING:g}, "
          f"damping {DAMPING:g}, configuration limit only (gain pink {PINK_LIMIT_GAIN:g} / mink {MINK_LIMIT_GAIN:g}), "
          f"QP {solver}, stop at {STOP_POSITION:g} m / {STOP_ROTATION:g} rad or {args.iterations} iterations")
    print(f"  {'library':<8} {'success':>8} {'viol':>5} {'med ms':>8} {'mean ms':>8} {'solves/s':>9} {'iters':>7} "
          f"{'at cap':>7}")
    q, seconds = one_at_a_time(armgrad_solver(chain), targets)  # the reference: kin.solve's defaults (restarts)
    ours = row("armgrad", chain, targets, q, seconds)
    for name, solve in SOLVERS:
        rate = run(name, solve, chain, targets, args.iterations)
        if rate:
            print(f"  {'':<8} armgrad / {name}: {ours / rate:.2f}x solves/s")


if __name__ == "__main__":
    main()
