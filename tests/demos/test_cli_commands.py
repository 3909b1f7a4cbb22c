"""The arm commands of `armgrad`: robots, fk, solve (in-process and as subprocesses), bad input."""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import kinematics as kin
import robots
from demos import cli, common

REPO = Path(__file__).resolve().parents[2]
PANDA_READY = ["0", "-0.785", "0", "-2.356", "0", "1.571", "0.785"]


def armgrad(capsys, *argv):
    """Run `armgrad ARGV` in-process: (exit status, stdout, stderr)."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_module(*argv, timeout=60):
    """Run `python -m ARGV` from the repository root, without a display."""
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", *argv], cwd=REPO, env=env, capture_output=True, text=True, check=False,
                          timeout=timeout)


# ----------------------------------------------------------------------------- robots

def test_robots_lists_every_builtin_arm_with_dof_and_kinds(capsys):
    status, out, _ = armgrad(capsys, "robots")
    assert status == 0
    for name in robots.available():
        line = next(line for line in out.splitlines() if line.split()[:1] == [name])
        chain = robots.get(name)
        assert line.split()[1] == str(chain.n)
        assert line.split()[2] == common.joint_kinds(chain)
    assert "CRCRCRC" in out  # gen3's continuous joints
    assert "±2.897" in out  # panda's first limit, radians


def test_robots_json_and_detail(capsys):
    status, out, _ = armgrad(capsys, "robots", "--json")
    data = json.loads(out)
    assert [d["name"] for d in data] == robots.available()
    gen3 = next(d for d in data if d["name"] == "gen3")
    assert gen3["joints"][0]["lower"] is None and gen3["joints"][0]["type"] == "continuous"
    assert [j["velocity"] for j in gen3["joints"]] == [1.3963] * 4 + [1.2218] * 3  # Kinova's URDF, rad/s
    assert all(j["velocity"] is None for j in data[0]["joints"])  # planar2: none given
    status, out, _ = armgrad(capsys, "robots", "panda", "--degrees")
    assert status == 0 and "panda_joint4" in out and "[-176, -3.999]" in out


# ----------------------------------------------------------------------------- fk

def test_fk_text_shows_pose_rpy_and_quaternion_order(capsys):
    status, out, _ = armgrad(capsys, "fk", "panda", *PANDA_READY)
    assert status == 0
    assert "position (m)  [0.307020, 0.000000, 0.590270]" in out
    assert "rpy (rad)     [3.141593, 0.000000, -0.785000]" in out
    assert "x, y, z, w" in out


def test_fk_json_matches_kinematics_and_scipy(capsys):
    q = np.array([0.3, -0.2, 0.1, -1.9, 0.4, 1.5, -0.6])
    status, out, _ = armgrad(capsys, "fk", "panda", *map(str, q), "--json")
    assert status == 0
    data = json.loads(out)
    T = kin.forward_kinematics(robots.get("panda"), q)
    np.testing.assert_allclose(data["pose"], T, atol=1e-12)
    R = np.asarray(data["rotation_matrix"])
    np.testing.assert_allclose(Rotation.from_quat(data["quaternion"]).as_matrix(), R, atol=1e-12)
    np.testing.assert_allclose(Rotation.from_euler("xyz", data["rpy"]).as_matrix(), R, atol=1e-12)
    # The stated roll-pitch-yaw convention is the library's: R = Rz(yaw) Ry(pitch) Rx(roll).
    np.testing.assert_allclose(kin.transforms.rpy_to_matrix(data["rpy"])[:3, :3], R, atol=1e-12)
    assert data["quaternion_order"] == "xyzw" and data["quaternion"][3] >= 0


def test_fk_degrees_and_limit_note(capsys):
    status, out, _ = armgrad(capsys, "fk", "ur5", "--degrees", "0", "-90", "90", "-90", "-90", "0", "--json")
    expected = kin.forward_kinematics(robots.get("ur5"), np.radians([0, -90, 90, -90, -90, 0]))
    np.testing.assert_allclose(json.loads(out)["position"], expected[:3, 3], atol=1e-12)
    status, out, err = armgrad(capsys, "fk", "panda", "0", "0", "0", "0", "0", "0", "0")
    assert status == 0 and "outside the joint limits: panda_joint4" in err


# ----------------------------------------------------------------------------- solve

@pytest.mark.parametrize("argv, kind", [
    (["planar3", "--target", "1.2", "0.9"], "position"),
    (["panda", "--target", "0.4", "0.2", "0.5", "--rpy", "3.1416", "0", "0"], "pose"),
    (["ur5", "--target", "0.3", "0.3", "0.4", "--quat", "1", "0", "0", "0"], "pose"),
    (["panda", "--target", "0.5", "0", "0.4", "--rpy", "180", "0", "0", "--degrees", "--method", "adam"], "pose"),
])
def test_solve_json_reaches_the_target(capsys, argv, kind):
    status, out, _ = armgrad(capsys, "solve", *argv, "--json")
    data = json.loads(out)
    assert status == 0 and data["success"] is True and data["target_kind"] == kind
    chain = robots.get(argv[0])
    T = kin.forward_kinematics(chain, np.array(data["q"]))
    target = np.asarray(data["target"])
    position = target[:3, 3] if kind == "pose" else target
    assert np.linalg.norm(T[:3, 3] - position) < 1e-5
    if kind == "pose":
        angle = np.linalg.norm(Rotation.from_matrix(target[:3, :3] @ T[:3, :3].T).as_rotvec())
        assert angle < 1e-5


def test_solve_text_output(capsys):
    status, out, _ = armgrad(capsys, "solve", "planar3", "--target", "1.2", "0.9", "--seed", "2")
    assert status == 0
    assert "success         true" in out and "position error" in out and "iterations" in out


def test_solve_unreachable_prints_success_false_and_exits_1(capsys):
    status, out, _ = armgrad(capsys, "solve", "planar2", "--target", "3", "0", "--max-restarts", "2")
    assert status == 1
    assert "success         false" in out and "reason" in out
    status, out, _ = armgrad(capsys, "solve", "planar2", "--target", "3", "0", "--max-restarts", "2", "--json")
    assert status == 1 and json.loads(out)["success"] is False


def _write_pose_csv(path, T, extra_column=False):
    rpy = Rotation.from_matrix(T[:, :3, :3]).as_euler("xyz")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "z", "roll", "pitch", "yaw"] + (["note"] if extra_column else []))
        for t, r in zip(T, rpy):
            writer.writerow([repr(float(v)) for v in [*t[:3, 3], *r]] + (["a note"] if extra_column else []))


def test_solve_targets_csv_round_trip(capsys, tmp_path):
    chain = robots.get("panda")
    rng = np.random.default_rng(7)
    T = kin.forward_kinematics(chain, rng.uniform(chain.lower, chain.upper, (12, chain.n)))
    _write_pose_csv(tmp_path / "targets.csv", T, extra_column=True)
    out_csv = tmp_path / "answers.csv"
    status, out, err = armgrad(capsys, "solve", "panda", "--targets", str(tmp_path / "targets.csv"),
                               "--out", str(out_csv), "--chunk-size", "5")
    assert status == 0, err
    assert "solved 12/12" in out and "ignoring columns note" in err and "solving" in err  # the progress bar
    with open(out_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12
    q = np.array([[float(r[f"q{k}"]) for k in range(1, 8)] for r in rows])
    assert all(r["success"] == "true" for r in rows)
    reached = kin.forward_kinematics(chain, q)
    np.testing.assert_allclose(reached[:, :3, 3], T[:, :3, 3], atol=1e-5)
    np.testing.assert_allclose(reached[:, :3, :3], T[:, :3, :3], atol=1e-5)
    # The answers file is itself a targets file (quaternion columns; the rest is ignored).
    status, out, err = armgrad(capsys, "solve", "panda", "--targets", str(out_csv), "--no-progress", "--json")
    data = json.loads(out)
    assert status == 0 and data["solved"] == 12
    np.testing.assert_allclose([a["target"] for a in data["answers"]], T, atol=1e-8)


def test_solve_targets_npy_positions_to_stdout(capsys, tmp_path):
    chain = robots.get("planar3")
    points = np.array([[1.0, 1.0], [0.5, -1.2], [-1.5, 0.3]])
    np.save(tmp_path / "points.npy", points)
    status, out, err = armgrad(capsys, "solve", "planar3", "--targets", str(tmp_path / "points.npy"),
                               "--no-progress")
    assert status == 0 and "solved 3/3" in err
    rows = list(csv.DictReader(out.splitlines()))
    q = np.array([[float(r[f"q{k}"]) for k in (1, 2, 3)] for r in rows])
    np.testing.assert_allclose(kin.forward_kinematics(chain, q)[:, :2, 3], points, atol=1e-5)


# ----------------------------------------------------------------------------- the interface, pinned

SINGLE_KEYS = {"robot", "method", "target", "target_kind", "success", "q", "joint_names", "position_error",
               "rotation_error", "iterations", "restarts", "reason", "seconds"}
BATCH_KEYS = {"robot", "method", "targets", "solved", "seconds", "joint_names", "answers"}
ANSWER_KEYS = {"target", "q", "success", "position_error", "rotation_error", "iterations", "restarts"}
RESULT_COLUMNS = ["success", "position_error", "rotation_error", "iterations", "restarts", "reason"]


@pytest.mark.parametrize("argv", [
    ["planar3", "--target", "1.2", "0.9"],
    ["panda", "--target", "0.4", "0.2", "0.5", "--rpy", "3.1416", "0", "0"],
])
def test_solve_json_key_set(capsys, argv):
    status, out, _ = armgrad(capsys, "solve", *argv, "--json")
    assert status == 0 and set(json.loads(out)) == SINGLE_KEYS


def test_solve_batch_json_key_set(capsys, tmp_path):
    np.save(tmp_path / "t.npy", np.array([[1.0, 1.0], [0.5, -1.2]]))
    argv = ["solve", "planar3", "--targets", str(tmp_path / "t.npy"), "--no-progress", "--json"]
    status, out, _ = armgrad(capsys, *argv)
    data = json.loads(out)
    assert status == 0 and set(data) == BATCH_KEYS and all(set(a) == ANSWER_KEYS for a in data["answers"])
    status, out, _ = armgrad(capsys, *argv, "--out", str(tmp_path / "a.csv"))
    assert status == 0 and set(json.loads(out)) == BATCH_KEYS | {"out"}
    assert json.loads(out)["solved"] == 2  # counted once, though the answers are both written and reported


@pytest.mark.parametrize("robot, targets, columns", [
    ("planar3", [[1.0, 1.0], [3.5, 0.0]], ["x", "y", "z"]),
    ("planar3", "x,y,roll,pitch,yaw\n1,1,0,0,0.5\n3.5,0,0,0,0\n", ["x", "y", "z", "qx", "qy", "qz", "qw"]),
    ("panda", [[0.4, 0.1, 0.5], [2.0, 0.0, 0.5]], ["x", "y", "z"]),
    ("panda", "x,y,z,roll,pitch,yaw\n0.4,0.2,0.5,3.1416,0,0\n2.0,0,0.5,0,0,0\n",
     ["x", "y", "z", "qx", "qy", "qz", "qw"]),
])
def test_solve_csv_header_and_columns(capsys, tmp_path, robot, targets, columns):
    """The exact header, and each column holding what its name says (the JSON of the same run)."""
    chain = robots.get(robot)
    if isinstance(targets, str):
        path = tmp_path / "t.csv"
        path.write_text(targets)
    else:
        path = tmp_path / "t.npy"
        np.save(path, np.array(targets))
    argv = ["solve", robot, "--targets", str(path), "--no-progress", "--max-restarts", "2"]
    status, out, _ = armgrad(capsys, *argv, "--out", str(tmp_path / "a.csv"))
    assert status == 1  # the second target is out of reach
    with open(tmp_path / "a.csv", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert header == columns + [f"q{k}" for k in range(1, chain.n + 1)] + RESULT_COLUMNS
    status, out, _ = armgrad(capsys, *argv, "--json")
    answers = json.loads(out)["answers"]
    for row, answer in zip(rows, answers):
        got = dict(zip(header, row))
        T = np.asarray(answer["target"])
        np.testing.assert_allclose([float(got[c]) for c in ("x", "y", "z")], T[:3, 3] if T.ndim == 2 else T,
                                   atol=1e-9)
        np.testing.assert_allclose([float(got[f"q{k}"]) for k in range(1, chain.n + 1)], answer["q"], atol=1e-11)
        assert got["success"] == str(answer["success"]).lower()
        for name in ("position_error", "rotation_error"):
            np.testing.assert_allclose(float(got[name]), answer[name], rtol=1e-3, atol=1e-300)
        assert int(got["iterations"]) == answer["iterations"] and int(got["restarts"]) == answer["restarts"]
        assert got["reason"] == answer.get("reason", "")  # empty where solved
    # The out-of-reach row tells the columns apart: a large position error, the main loop's
    # restarts used up (of --max-restarts 2, one is kept for starts about the best answer, which a
    # target certainly out of reach does not get).
    unreachable = dict(zip(header, rows[1]))
    assert float(unreachable["position_error"]) > 0.1 and unreachable["restarts"] == "1"
    assert int(unreachable["iterations"]) > 2


# ----------------------------------------------------------------------------- bad input

BAD_INPUT = [
    (["fk", "nosuch", "1"], "unknown robot 'nosuch'"),
    (["fk", "panda", "1", "2", "3"], "panda has 7 joints"),
    (["fk", "panda", "1", "2", "x", "4", "5", "6", "7"], "'x' is not a number"),
    (["fk", "planar2", "1", "inf"], "not a finite number"),
    (["fk", "missing.urdf", "1"], "robot file not found"),
    (["fk", "panda", "--tip", "tool0", *PANDA_READY], "--tip applies to URDF and xacro files, not to the built-in "
                                                       "arm 'panda'; use --frame"),
    (["fk", "panda", "--frame", "tol", *PANDA_READY], "has no frame 'tol'; nearest: 'tool'"),
    (["fk", "panda", "--frame", "tool", "--tip", "panda_joint7", *PANDA_READY], "disagree: give one of them"),
    (["fk", "panda", "--arg", "x:=1", *PANDA_READY], "--arg/--package apply to .xacro files only"),
    (["fk", "arm.xacro", "--arg", "x=1", "0"], "--arg 'x=1': expected NAME:=VALUE"),
    (["fk", "arm.obj", "0"], "unknown robot 'arm.obj': expected a built-in name or a description file "
                             "(.urdf, .xml, .xacro, .toml)"),
    (["robots", "--frame", "tool"], "need a ROBOT"),
    (["robots", "nosuch"], "unknown robot"),
    (["solve", "panda", "--target", "1", "2"], "--target: expected 3 values, got 2"),
    (["solve", "panda"], "give a target"),
    (["solve", "panda", "--target", "0.4", "0", "0.4", "--quat", "0", "0", "0", "0"], "must not be zero"),
    (["solve", "panda", "--target", "0.4", "0", "0.4", "--rpy", "1", "2"], "--rpy: expected 3 values"),
    (["solve", "panda", "--target", "0.4", "0", "0.4", "--q0", *["0"] * 7], "outside the joint limits"),
    (["solve", "panda", "--targets", "no-such-file.csv"], "file not found"),
    (["solve", "panda", "--target", "0.4", "0", "0.4", "--out", "a.csv"], "use it with --targets"),
    (["solve", "panda", "--targets", "t.csv", "--out", "answers.xlsx"],
     "--out: cannot write a .xlsx file (answers.xlsx); answers are written as .csv, .npy, .parquet"),
    (["solve", "panda", "--targets", "t.csv", "--out", "answers"], "cannot write a file without an extension"),
    (["solve", "panda", "--target", "0.4", "0", "0.4", "--workers", "2"], "--workers solves the chunks of a batch"),
    (["solve", "panda", "--targets", "no-such-file.csv", "--workers", "0"], "--workers must be at least 1"),
    (["solve", "panda", "--targets", "no-such-file.csv", "--chunk-size", "0"], "--chunk-size must be at least 1"),
    (["solve", "planar2", "--target", "3", "0", "--tol-position", "inf"], "--tol-position: must be a finite number"),
    (["solve", "planar2", "--target", "3", "0", "--tol-rotation", "nan"], "--tol-rotation: must be a finite number"),
    (["solve", "planar2", "--target", "3", "0", "--tol-position", "0"], "--tol-position: must be a finite number"),
    (["solve", "planar2", "--target", "3", "0", "--time-budget", "inf"], "--time-budget: must be a finite number"),
    (["solve", "planar2", "--target", "3", "0", "--time-budget", "-1"], "--time-budget: must be a finite number"),
    (["solve", "planar2", "--target", "-inf", "0"], "--target: '-inf' is not a finite number"),
    (["animate", "panda", "--target", "0.4", "0", "0.4", "--out", "x.png"], "must be a .gif or .mp4"),
    (["animate", "panda", "--target", "0.4", "0", "0.4", "--compare", "gd,newton", "--out", "x.gif"],
     "unknown method(s) newton"),
    (["animate", "panda", "--target", "0.4", "0", "0.4", "--frames", "0", "--out", "x.gif"], "--frames"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUT)
def test_bad_input_is_one_line_and_status_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, out, err = armgrad(capsys, *argv)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"armgrad {argv[0]}: error: ") and message in err
    assert "Traceback" not in err and out == ""


def test_time_budget_stops_the_search(capsys):
    argv = ["solve", "planar2", "--target", "3", "0", "--max-restarts", "100000", "--time-budget", "0.2", "--json"]
    started = time.perf_counter()
    status, out, _ = armgrad(capsys, *argv)
    assert status == 1 and time.perf_counter() - started < 10  # 100,000 restarts would take minutes
    assert "time budget" in json.loads(out)["reason"]


def test_negative_numbers_in_exponent_form_are_values(capsys):
    status, out, err = armgrad(capsys, "solve", "panda", "--target", "-2e-1", "0", "0.5", "--json")
    assert status == 0, err
    assert json.loads(out)["target"] == [-0.2, 0.0, 0.5]
    q = ["-1e-1", "-0.785", "0", "-2.356", "0", "1.571", "0.785"]
    status, out, err = armgrad(capsys, "fk", "panda", *q, "--json")
    assert status == 0, err
    assert json.loads(out)["q"][0] == -0.1
    status, out, _ = armgrad(capsys, "fk", "planar2", "-1E+0", "-.5e1", "--json")
    assert status == 0 and json.loads(out)["q"] == [-1.0, -5.0]


@pytest.mark.parametrize("text", ["-2e-1", "-1E+3", "-.5e1", "-3.", "-7", "-inf", "-NaN"])
def test_every_parser_reads_negative_numbers_as_values(text):
    parser = cli.build_parser()
    assert cli.NEGATIVE_NUMBER.match(text)
    assert parser.parse_args(["fk", "planar2", text, "0"]).q[0] == text
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert all(p._negative_number_matcher is cli.NEGATIVE_NUMBER for p in subparsers.choices.values())
    assert not cli.NEGATIVE_NUMBER.match("-e1") and not cli.NEGATIVE_NUMBER.match("--target")


def test_csv_with_a_byte_order_mark_as_excel_writes_it(capsys, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_bytes("x,y,z\r\n0.4,0.1,0.5\r\n".encode("utf-8-sig"))
    status, out, err = armgrad(capsys, "solve", "panda", "--targets", str(path), "--no-progress", "--json")
    assert status == 0, err
    assert json.loads(out)["answers"][0]["target"] == [0.4, 0.1, 0.5]


def test_csv_that_is_not_utf8_names_the_file(capsys, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_bytes("x,y,z,note\n0.4,0.1,0.5,caf\xe9\n".encode("latin-1"))
    status, _, err = armgrad(capsys, "solve", "panda", "--targets", str(path), "--no-progress")
    assert status == 2 and err.count("\n") == 1 and f"{path} is not UTF-8 text" in err


@pytest.mark.parametrize("text, message", [
    ("x,y\n0.4,0.1\n", "missing z"),
    ("x,y,z,roll,pitch\n0.4,0.1,0.3,0,0\n", "needs all of roll,pitch,yaw"),
    ("x,y,z,roll,pitch,yaw,qx,qy,qz,qw\n" + ",".join(["0"] * 10) + "\n", "not both"),
    ("x,y,z\n", "no targets"),
    ("", "is empty"),
])
def test_bad_targets_csv(capsys, tmp_path, text, message):
    path = tmp_path / "targets.csv"
    path.write_text(text)
    status, _, err = armgrad(capsys, "solve", "panda", "--targets", str(path), "--no-progress")
    assert status == 2 and message in err and err.count("\n") == 1


def test_bad_targets_npy(capsys, tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((4, 5)))
    status, _, err = armgrad(capsys, "solve", "panda", "--targets", str(tmp_path / "t.npy"))
    assert status == 2 and "(B, 3) positions or (B, 4, 4) poses" in err


@pytest.mark.parametrize("name", ["out.csv", "out.gif"])
def test_unwritable_output_fails_before_any_work(capsys, tmp_path, name):
    target = str(tmp_path / "no-such-dir" / name)
    if name.endswith(".csv"):
        chain = robots.get("planar2")
        np.save(tmp_path / "t.npy", np.array([[1.0, 0.5]]))
        argv = ["solve", chain.name, "--targets", str(tmp_path / "t.npy"), "--out", target]
    else:
        argv = ["animate", "planar2", "--target", "1", "0.5", "--out", target]
    status, out, err = armgrad(capsys, *argv)
    assert status == 2 and "cannot write" in err and "does not exist" in err and out == ""


def test_usage_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["solve", "panda", "--target", "0.4", "0", "0.4", "--method", "newton"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'newton'" in err and "armgrad solve --help" in err


@pytest.mark.parametrize("error, message", [
    (MemoryError("Unable to allocate 7.45 TiB for an array with shape (1000000000000,) and data type float64"),
     "armgrad solve: error: out of memory: the problem is too large for this machine (Unable to allocate 7.45 TiB"),
    (MemoryError(), "armgrad solve: error: out of memory: the problem is too large for this machine\n"),
    (RecursionError("maximum recursion depth exceeded"),
     "armgrad solve: error: out of recursion depth: the input is nested too deeply"),
])
def test_running_out_of_memory_or_recursion_is_one_line(capsys, monkeypatch, error, message):
    from demos import solve_cmd

    def run(args):
        raise error

    monkeypatch.setattr(solve_cmd, "run", run)
    status, out, err = armgrad(capsys, "solve", "panda", "--target", "0.4", "0", "0.4")
    assert status == 2 and out == "" and err.count("\n") == 1 and message in err
    with pytest.raises(type(error)):
        cli.main(["--debug", "solve", "panda", "--target", "0.4", "0", "0.4"])


def test_the_command_runs_with_one_blas_thread():
    pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed: the CLI runs without a limit")
    script = ("from demos import cli; import threadpoolctl; cli.main(['robots']);"
              "print([i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'])")
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout.splitlines()[-1])
    assert counts and set(counts) == {1}


def test_without_threadpoolctl_the_command_carries_on(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails as if not installed
    monkeypatch.setattr(cli, "_blas_limit", None)
    status, out, err = armgrad(capsys, "robots")
    assert status == 0 and "panda" in out and err == ""


def test_debug_shows_the_traceback():
    with pytest.raises(common.CommandError, match="unknown robot"):
        cli.main(["--debug", "fk", "nosuch", "1"])


# ----------------------------------------------------------------------------- robot files

URDF = """<robot name="two_link">
  <link name="base"/><link name="upper"/><link name="tool"/>
  <joint name="shoulder" type="revolute">
    <parent link="base"/><child link="upper"/><axis xyz="0 0 1"/>
    <limit lower="-3" upper="3" effort="1" velocity="1"/>
  </joint>
  <joint name="elbow" type="revolute">
    <origin xyz="1 0 0"/><parent link="upper"/><child link="tool"/><axis xyz="0 0 1"/>
    <limit lower="-3" upper="3" effort="1" velocity="1"/>
  </joint>
</robot>
"""


def test_urdf_robot_file(capsys, tmp_path):
    path = tmp_path / "two_link.urdf"
    path.write_text(URDF)
    status, out, _ = armgrad(capsys, "fk", str(path), "--tip", "tool", "0", "1.5707963267948966", "--json")
    assert status == 0
    np.testing.assert_allclose(json.loads(out)["position"], [1.0, 0.0, 0.0], atol=1e-12)


MIMIC_URDF = """<robot name="gripper">
  <link name="a"/><link name="b"/><link name="c"/><link name="f"/><link name="g"/><link name="tip"/>
  <joint name="j1" type="revolute"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/>
    <limit lower="-2" upper="2"/></joint>
  <joint name="j2" type="revolute"><parent link="b"/><child link="c"/><origin xyz="0.5 0 0"/><axis xyz="0 0 1"/>
    <limit lower="-2" upper="2"/></joint>
  <joint name="finger" type="prismatic"><parent link="c"/><child link="f"/><origin xyz="0.3 0 0"/>
    <axis xyz="0 1 0"/><limit lower="0" upper="0.04"/></joint>
  <joint name="other" type="prismatic"><parent link="c"/><child link="g"/><origin xyz="0.3 0 0"/>
    <axis xyz="0 1 0"/><limit lower="-0.03" upper="0"/><mimic joint="finger" multiplier="-1"/></joint>
  <joint name="pad" type="fixed"><parent link="g"/><child link="tip"/><origin xyz="0.05 0 0"/></joint>
</robot>
"""


def test_a_chain_with_a_mimic_joint_through_the_commands(capsys, tmp_path):
    path = tmp_path / "gripper.urdf"
    path.write_text(MIMIC_URDF)
    status, out, _ = armgrad(capsys, "robots", str(path), "--tip", "tip", "--json")
    described = json.loads(out)
    assert status == 0 and described["dof"] == 3 and described["joint_types"] == "RRP"
    # q's third column is the master "finger" (off the path); other = -finger in [-0.03, 0] caps it at 0.03
    assert [j["name"] for j in described["joints"]] == ["j1", "j2", "finger"]
    assert described["joints"][2]["upper"] == 0.03
    assert described["mimic"] == [{"name": "other", "master": "finger", "multiplier": -1.0, "offset": 0.0}]
    status, out, _ = armgrad(capsys, "fk", str(path), "--tip", "tip", "0", "0", "0.02", "--json")
    np.testing.assert_allclose(json.loads(out)["position"], [0.85, -0.02, 0.0], rtol=0, atol=1e-15)
    status, _, err = armgrad(capsys, "fk", str(path), "--tip", "tip", "0", "0", "0.035")
    assert status == 0 and "outside the joint limits: finger" in err
    status, out, _ = armgrad(capsys, "solve", str(path), "--tip", "tip", "--target", "0.5", "0.5", "0", "--json")
    report = json.loads(out)
    assert status == 0 and report["success"] and report["joint_names"] == ["j1", "j2", "finger"]
    assert 0.0 <= report["q"][2] <= 0.03


@pytest.mark.skipif(not hasattr(robots, "load"), reason="robots.load arrives with the robots branch")
def test_toml_arm_file(capsys, tmp_path):
    path = tmp_path / "arm.toml"
    path.write_text('name = "mine"\n[planar]\nlengths = [1.0, 1.0]\n')
    status, out, _ = armgrad(capsys, "solve", str(path), "--target", "1", "1", "--json")
    assert status == 0 and json.loads(out)["robot"] == "mine"


# ----------------------------------------------------------------------------- as subprocesses

@pytest.mark.parametrize("argv, expect", [
    (["demos", "robots"], "panda"),
    (["demos", "fk", "planar2", "0", "0", "--json"], '"position": [1.8, 0.0, 0.0]'),
    (["demos.solve_cmd", "planar3", "--target", "1.2", "0.9", "--json"], '"success": true'),
    (["demos", "solve", "--help"], "examples:"),
])
def test_commands_run_as_subprocesses(argv, expect):
    proc = run_module(*argv)
    assert proc.returncode == 0, proc.stderr
    assert expect in proc.stdout
    if "--json" in argv:
        json.loads(proc.stdout)


def test_subprocess_bad_input_status_and_one_line():
    proc = run_module("demos", "fk", "panda", "1", "2")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "panda has 7 joints" in proc.stderr


def test_closed_pipe_is_quiet(tmp_path, monkeypatch, capsys):
    """`armgrad robots | head -1`: when the reader goes away, stop with status 0 and no error."""

    class ClosedPipe:
        def __init__(self, path):
            self.file = open(path, "w")  # noqa: SIM115 - a real descriptor for the redirection

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def fileno(self):
            return self.file.fileno()

    pipe = ClosedPipe(tmp_path / "out")
    monkeypatch.setattr("sys.stdout", pipe)
    assert cli.main(["robots"]) == 0
    assert "error" not in capsys.readouterr().err
    pipe.file.close()


def test_robots_file_prints_the_whole_tree(capsys, tmp_path):
    path = tmp_path / "gripper.urdf"
    path.write_text(MIMIC_URDF)
    status, out, _ = armgrad(capsys, "robots", str(path))
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "gripper (urdf): 6 links, 3 movable joints, 1 mimic, 0 extra frames"
    assert lines[1:7] == ["a", "  b  <- j1: revolute ±2 axis [0, 0, 1]", "    c  <- j2: revolute ±2 axis [0, 0, 1]",
                          "      f  <- finger: prismatic [0, 0.04] axis [0, 1, 0]",
                          "      g  <- other: prismatic [-0.03, 0] axis [0, 1, 0] = -1 · finger + 0",
                          "        tip  <- pad: fixed"]
    assert "q (3): j1, j2, finger" in out and "end frames: f, tip" in out
    status, out, _ = armgrad(capsys, "robots", str(path), "--json")
    tree = json.loads(out)
    assert status == 0 and tree["links"] == ["a", "b", "c", "f", "g", "tip"] and tree["q"] == ["j1", "j2", "finger"]
    assert tree["joints"][3]["mimic"] == {"master": "finger", "multiplier": -1.0, "offset": 0.0}
    assert tree["end_frames"] == ["f", "tip"] and tree["frames"] == []


def test_an_xml_file_is_read_by_its_root_element(capsys, tmp_path):
    path = tmp_path / "two_link.xml"  # a URDF in an .xml file
    path.write_text(URDF)
    status, out, _ = armgrad(capsys, "fk", str(path), "--frame", "tool", "0", "1.5707963267948966", "--json")
    assert status == 0
    np.testing.assert_allclose(json.loads(out)["position"], [1.0, 0.0, 0.0], atol=1e-12)
    path.write_text("<sdf version='1.9'><model name='m'/></sdf>")
    status, _, err = armgrad(capsys, "fk", str(path), "0", "0")
    assert status == 2 and "must have a <robot> (URDF) or <mujoco> (MJCF) root element, got <sdf>" in err


def test_frame_and_base_pick_a_sub_chain_of_a_builtin(capsys):
    status, out, _ = armgrad(capsys, "fk", "panda", "--frame", "panda_joint4", *PANDA_READY[:4], "--json")
    assert status == 0  # the chain to joint 4's frame has 4 joints
    panda = robots.get("panda")
    q = np.array(PANDA_READY, dtype=float)
    expected = kin.link_poses(panda, q)[3]
    np.testing.assert_allclose(json.loads(out)["position"], expected[:3, 3], atol=1e-12)
    status, out, _ = armgrad(capsys, "robots", "planar3", "--frame", "joint2", "--json")
    assert status == 0 and json.loads(out)["dof"] == 2 and json.loads(out)["planar"] is True

