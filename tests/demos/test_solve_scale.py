"""IK at scale: `kin.solve_many` and `armgrad solve --targets` in this process, on 1 and on 2 Dask workers.

Chunk k's starts come from (seed, k), so the answers are bit-identical wherever a chunk is solved;
a resumed run solves only the chunks its parts folder lacks; a worker that dies mid-run costs
nothing but time. The clusters are real LocalClusters of process workers (one shared by the module).
Answers files in CSV, .npy and Parquet hold the same columns and read back as targets files.
"""

import csv
import json
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
from kinematics import scale

distributed = pytest.importorskip("distributed")
pq = pytest.importorskip("pyarrow.parquet")

REPO = Path(__file__).resolve().parents[2]
INTERRUPT_AFTER = 2  # chunks an interrupted run keeps


@pytest.fixture(scope="module")
def client():
    with scale.local_cluster(2) as c:
        c.wait_for_workers(2)
        yield c


def armgrad(capsys, *argv):
    """`armgrad ARGV` in this process: (exit status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def panda_poses(count, seed=5):
    chain = robots.get("panda")
    q = np.random.default_rng(seed).uniform(chain.lower, chain.upper, (count, chain.n))
    return chain, kin.forward_kinematics(chain, q)


def interrupted(capsys, monkeypatch, argv):
    """Run `argv` with Ctrl-C arriving as chunk INTERRUPT_AFTER + 1 starts (in this process)."""
    real, calls = scale.solve, []

    def solve(*args, **kwargs):
        calls.append(1)
        if len(calls) > INTERRUPT_AFTER:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(scale, "solve", solve)
        assert armgrad(capsys, *argv)[0] == 130


# ----------------------------------------------------------------------------- the same answers anywhere

def test_solve_many_gives_the_same_q_here_on_one_and_on_two_workers(client, capsys, tmp_path):
    chain, T = panda_poses(24)
    T[5, :3, 3] = [2.0, 0.0, 0.5]  # out of reach: restarts run (and its failure is the same everywhere)
    options = dict(chunk_size=5, seed=3, max_restarts=4)
    here = kin.solve_many(chain, T, **options)
    alone = [kin.solve(chain, T[lo:lo + 5], seed=scale.chunk_seed(3, k), max_restarts=4)
             for k, lo in enumerate(range(0, 24, 5))]  # the oracle: each chunk solved by itself
    assert np.array_equal(here.q, np.concatenate([r.q for r in alone]))
    assert here.success.sum() == 23 and not here.success[5]
    on_two = kin.solve_many(chain, T, client=client, **options)
    np.save(tmp_path / "t.npy", T)
    cli_argv = ["solve", "panda", "--targets", tmp_path / "t.npy", "--chunk-size", 5, "--seed", 3,
                "--max-restarts", 4, "--no-progress"]
    assert armgrad(capsys, *cli_argv, "--out", tmp_path / "here.npy")[0] == 1
    with scale.local_cluster(1) as one:
        on_one = kin.solve_many(chain, T, client=one, **options)
        status, _, stderr = armgrad(capsys, *cli_argv, "--out", tmp_path / "one.npy",
                                    "--scheduler", one.scheduler.address)
    assert status == 1 and "1 target(s) not solved (rows 6): 1 out of reach" in stderr
    for other in (on_one, on_two):
        for name in ("q", "success", "position_error", "rotation_error", "iterations", "restarts"):
            assert np.array_equal(getattr(other, name), getattr(here, name)), name
        assert other.reason == here.reason
    cli_here, cli_one = np.load(tmp_path / "here.npy"), np.load(tmp_path / "one.npy")
    assert np.array_equal(np.column_stack([cli_here[f"q{k}"] for k in range(1, 8)]), here.q)
    assert cli_here.tobytes() == cli_one.tobytes()


def test_a_cli_run_resumed_on_two_workers_is_byte_identical(capsys, monkeypatch, tmp_path):
    chain, T = panda_poses(20, seed=8)
    np.save(tmp_path / "t.npy", T)
    argv = ["solve", "panda", "--targets", tmp_path / "t.npy", "--chunk-size", 4, "--no-progress"]
    assert armgrad(capsys, *argv, "--out", tmp_path / "reference.csv")[0] == 0
    out = tmp_path / "answers.csv"
    interrupted(capsys, monkeypatch, [*argv, "--out", out])
    assert chunks.ChunkStore(chunks.parts_folder(out), {}).done() == list(range(INTERRUPT_AFTER))
    status, stdout, stderr = armgrad(capsys, *argv, "--out", out, "--workers", 2)
    assert status == 0, stderr
    assert f"resuming: {4 * INTERRUPT_AFTER} of 20 targets already solved" in stderr
    assert out.read_bytes() == (tmp_path / "reference.csv").read_bytes()
    assert not chunks.parts_folder(out).exists()


def test_a_resumed_cluster_run_solves_only_the_missing_chunks(client, capsys, monkeypatch, tmp_path):
    _, T = panda_poses(18, seed=9)
    np.save(tmp_path / "t.npy", T)
    argv = ["solve", "panda", "--targets", tmp_path / "t.npy", "--chunk-size", 3, "--no-progress"]
    assert armgrad(capsys, *argv, "--out", tmp_path / "reference.csv")[0] == 0
    out = tmp_path / "answers.csv"
    interrupted(capsys, monkeypatch, [*argv, "--out", out])
    with distributed.get_task_stream(client) as stream:
        status, _, stderr = armgrad(capsys, *argv, "--out", out, "--scheduler", client.scheduler.address)
    assert status == 0, stderr
    solved = sorted(int(t["key"].split("-")[2]) for t in stream.data if str(t["key"]).startswith("armgrad-chunk-"))
    assert solved == list(range(INTERRUPT_AFTER, 6))  # 6 chunks, the first INTERRUPT_AFTER kept
    assert out.read_bytes() == (tmp_path / "reference.csv").read_bytes()


def test_ctrl_c_on_a_terminal_stops_a_run_on_workers_in_one_line(tmp_path):
    _, T = panda_poses(200, seed=6)
    np.save(tmp_path / "t.npy", T)
    out = tmp_path / "answers.csv"
    argv = ["solve", "panda", "--targets", tmp_path / "t.npy", "--out", out, "--chunk-size", 4, "--workers", 2,
            "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "demos", *map(str, argv)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)),
                            start_new_session=True,  # its own process group, as a terminal's job
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    parts = chunks.parts_folder(out)
    try:
        deadline = time.monotonic() + 60
        while not list(parts.glob("chunk-*.npz")):
            assert proc.poll() is None and time.monotonic() < deadline, "no chunk was written"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGINT)  # the whole group, as Ctrl-C: the driver, its workers
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    kept = len(list(parts.glob("chunk-*.npz")))
    assert proc.returncode == 130 and stdout == "" and "Traceback" not in stderr, stderr
    assert stderr.splitlines()[-1] == (f"armgrad solve: interrupted: {4 * kept} of 200 targets kept in {parts}/; "
                                       f"re-run the same command to resume")
    assert 0 < kept < 50 and not out.exists()


# ----------------------------------------------------------------------------- files

@pytest.mark.parametrize("source", ["csv", "npy", "parquet"])
def test_answers_files_hold_the_same_columns_and_read_back_as_targets(capsys, tmp_path, source):
    chain, T = panda_poses(6, seed=2)
    from scipy.spatial.transform import Rotation

    xyzw = Rotation.from_matrix(T[:, :3, :3]).as_quat()  # scalar last, as the columns
    columns = {"x": T[:, 0, 3], "y": T[:, 1, 3], "z": T[:, 2, 3], "qx": xyzw[:, 0], "qy": xyzw[:, 1],
               "qz": xyzw[:, 2], "qw": xyzw[:, 3], "label": np.array(list("abcdef"))}
    targets = tmp_path / f"targets.{source}"
    if source == "csv":
        with open(targets, "w", newline="") as f:
            csv.writer(f).writerows([list(columns), *zip(*[[repr(v) if isinstance(v, float) else v
                                                            for v in c.tolist()] for c in columns.values()])])
    elif source == "npy":
        table = np.empty(6, dtype=[(n, c.dtype) for n, c in columns.items()])
        for n, c in columns.items():
            table[n] = c
        np.save(targets, table)
    else:
        import pyarrow as pa

        pq.write_table(pa.table(columns), targets)
    answers = {}
    for kind in ("csv", "npy", "parquet"):
        status, _, stderr = armgrad(capsys, "solve", "panda", "--targets", targets, "--out", tmp_path / f"a.{kind}",
                                    "--chunk-size", 4, "--no-progress")
        assert status == 0 and "ignoring columns label" in stderr
    with open(tmp_path / "a.csv", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    answers["npy"] = np.load(tmp_path / "a.npy")
    answers["parquet"] = pq.read_table(tmp_path / "a.parquet")
    assert list(answers["npy"].dtype.names) == header == answers["parquet"].column_names
    q = np.column_stack([answers["npy"][f"q{k}"] for k in range(1, 8)])
    assert np.array_equal(q, np.column_stack([answers["parquet"].column(f"q{k}").to_numpy() for k in range(1, 8)]))
    np.testing.assert_allclose(q, np.array([r[7:14] for r in rows[1:]], dtype=float), rtol=0, atol=1e-11)
    np.testing.assert_allclose(kin.forward_kinematics(chain, q), T, atol=1e-5)  # the oracle: FK of the answers
    assert answers["parquet"].column("success").type == "bool" and answers["npy"]["success"].dtype == bool
    for kind in ("csv", "npy", "parquet"):  # an answers file is a targets file
        again = tmp_path / f"again.{kind}"
        status, _, stderr = armgrad(capsys, "solve", "panda", "--targets", tmp_path / f"a.{kind}", "--out", again,
                                    "--chunk-size", 4, "--no-progress")
        assert status == 0, stderr
        again = np.load(again) if kind == "npy" else pq.read_table(again) if kind == "parquet" else None
        for name in header[:7] if again is not None else ():  # the same targets (q may differ in the last digits)
            np.testing.assert_allclose(np.asarray(again[name]), np.asarray(answers[kind][name]), rtol=0, atol=1e-12)
    with open(tmp_path / "again.csv", newline="") as f:
        assert [r[:7] for r in csv.reader(f)] == [r[:7] for r in rows]


MALFORMED_CSV = """x,y,z,qx,qy,qz,qw
0.4,0.1,0.5,1,0,0,0
0.4,0.1,zero,1,0,0,0
0.4,0.1
0.4,0.1,0.5,0,0,0,0
0.4,inf,0.5,1,0,0,0
0.3,0.2,0.6,1,0,0,0
"""
MALFORMED_REASONS = ["", "malformed target: line 3, column z: 'zero' is not a number",
                     "malformed target: line 4, column z: '' is not a number",
                     "malformed target: line 5: the quaternion (qx, qy, qz, qw) must not be zero",
                     "malformed target: line 6, column y: 'inf' is not finite", ""]


@pytest.mark.parametrize("where", ["here", "workers"])
def test_malformed_rows_are_answered_as_such_and_never_stop_the_run(capsys, tmp_path, where, client):
    path = tmp_path / "t.csv"
    path.write_text(MALFORMED_CSV)
    out = tmp_path / "a.parquet"
    argv = ["solve", "panda", "--targets", path, "--out", out, "--chunk-size", 2, "--no-progress"]
    status, _, err = armgrad(capsys, *argv, *(["--scheduler", client.scheduler.address] if where == "workers" else []))
    assert status == 1 and "4 target(s) not solved (rows 2, 3, 4, 5): 4 malformed target" in err
    table = pq.read_table(out)
    assert table.column("reason").to_pylist() == MALFORMED_REASONS
    assert table.column("success").to_pylist() == [True, False, False, False, False, True]
    q = np.column_stack([table.column(f"q{k}").to_numpy() for k in range(1, 8)])
    assert np.isnan(q[1:5]).all() and np.isfinite(q[[0, 5]]).all()
    T = np.stack([np.eye(4)] * 2)
    T[:, :3, :3] = np.diag([1.0, -1.0, -1.0])  # qx = 1: a half turn about x
    T[:, :3, 3] = [[0.4, 0.1, 0.5], [0.3, 0.2, 0.6]]
    e = kin.pose_error(kin.forward_kinematics(robots.get("panda"), q[[0, 5]]), T)  # the oracle: FK of the answers
    assert np.abs(e).max() < 1e-6
    assert np.isnan(table.column("z").to_numpy()[[1, 2]]).all() and table.column("z").to_numpy()[3] == 0.5


def test_a_malformed_parquet_row_and_npy_rows_name_their_row(capsys, tmp_path):
    import pyarrow as pa

    pq.write_table(pa.table({"x": [0.4, None], "y": [0.1, 0.2], "z": [0.5, 0.5]}), tmp_path / "t.parquet")
    status, out, err = armgrad(capsys, "solve", "panda", "--targets", tmp_path / "t.parquet", "--no-progress")
    assert status == 1
    rows = list(csv.DictReader(out.splitlines()))
    assert rows[0]["success"] == "true"
    assert rows[1]["reason"] == "malformed target: row 2, column x: None is not a number"
    _, T = panda_poses(4)
    T[1, 0, 3] = np.nan
    T[2, :3, :3] *= 1.5  # not a rotation
    np.save(tmp_path / "t.npy", T)
    status, out, _ = armgrad(capsys, "solve", "panda", "--targets", tmp_path / "t.npy", "--no-progress")
    rows = list(csv.DictReader(out.splitlines()))
    assert status == 1 and [r["success"] for r in rows] == ["true", "false", "false", "true"]
    assert rows[1]["reason"] == "malformed target: row 2: NaN or infinite values"
    assert rows[2]["reason"].startswith("malformed target: not a rigid transform")


def test_a_path_reader_still_refuses_a_file_with_a_malformed_row(tmp_path):
    from demos import common

    path = tmp_path / "t.csv"
    path.write_text(MALFORMED_CSV)
    with pytest.raises(cli.CommandError, match=f"--targets: {path} line 3, column z: 'zero' is not a number"):
        common.read_targets(path, robots.get("panda"))


def test_a_targets_file_streams_a_chunk_at_a_time(tmp_path):
    """Reading 150k rows in chunks of 1000 holds a chunk, not the file: the peak is a fraction of a whole read."""
    import tracemalloc

    import pyarrow as pa

    from demos.targets import TargetFile

    count = 150_000
    rng = np.random.default_rng(0)
    columns = {name: rng.uniform(-0.5, 0.5, count) for name in ("x", "y", "z")}
    columns.update(roll=rng.uniform(-3, 3, count), pitch=rng.uniform(-1.5, 1.5, count), yaw=rng.uniform(-3, 3, count))
    pq.write_table(pa.table(columns), tmp_path / "t.parquet", row_group_size=50_000)
    np.save(tmp_path / "t.npy", np.column_stack([columns[n] for n in "xyz"]))
    for name in ("t.parquet", "t.npy"):
        whole = TargetFile(tmp_path / name, robots.get("panda"))
        tracemalloc.start()
        everything = whole[0:count]
        peak_whole = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        file = TargetFile(tmp_path / name, robots.get("panda"))
        tracemalloc.start()
        agree = all(np.array_equal(file[lo:lo + 1000], everything[lo:lo + 1000]) for lo in range(0, count, 1000))
        peak_chunks = tracemalloc.get_traced_memory()[1] - everything.nbytes  # `everything` is not the reader's
        tracemalloc.stop()
        assert agree and file.problems == {}
        assert peak_chunks < peak_whole / 4, (name, peak_chunks, peak_whole)
    assert everything.shape == (count, 3)
    rows = np.column_stack(list(columns.values()))[:140_000].tolist()  # over two of the reader's blocks
    text = "x,y,z,roll,pitch,yaw\n" + "".join(",".join(map(repr, r)) + "\n" for r in rows)  # repr: exact
    (tmp_path / "t.csv").write_text(text)
    whole = TargetFile(tmp_path / "t.parquet", robots.get("panda"))[0:140_000]
    file = TargetFile(tmp_path / "t.csv", robots.get("panda"))
    assert len(file) == 140_000
    # skipped rows, a restart from an earlier row, the end of the file
    for lo, hi in [(0, 10), (70_000, 70_010), (100_000, 140_000), (100, 110), (139_990, 140_500)]:
        assert np.array_equal(file[lo:hi], whole[lo:min(hi, 140_000)])


def test_a_parts_folder_from_before_chunk_seeds_is_refused(capsys, monkeypatch, tmp_path):
    _, T = panda_poses(6)
    np.save(tmp_path / "t.npy", T)
    out = tmp_path / "a.csv"
    argv = ["solve", "panda", "--targets", tmp_path / "t.npy", "--out", out, "--chunk-size", 2, "--no-progress"]
    interrupted(capsys, monkeypatch, argv)
    manifest_path = chunks.parts_folder(out) / chunks.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    assert manifest["chunk_seeds"] and manifest["max_restarts"] == 100 == kin.solve.__kwdefaults__["max_restarts"]
    del manifest["chunk_seeds"]  # as the CLI wrote it when every chunk used `seed` itself
    manifest["chunk"] = manifest.pop("chunk_size")
    manifest_path.write_text(json.dumps(manifest))
    status, _, err = armgrad(capsys, *argv)
    assert status == 2 and "chunk_seeds: none there" in err and "delete" in err


def test_missing_extras_are_one_line_naming_the_extra(tmp_path):
    np.save(tmp_path / "t.npy", np.array([[1.0, 1.0]]))
    script = """
import sys, contextlib, io
sys.modules[sys.argv[1]] = None
from demos.cli import main
err = io.StringIO()
with contextlib.redirect_stderr(err):
    status = main(sys.argv[2:])
print(status, repr(err.getvalue()))
"""
    cases = {"distributed": ["--out", tmp_path / "a.csv", "--workers", "2"],
             "pyarrow": ["--out", tmp_path / "a.parquet"]}
    for module, extra in cases.items():
        proc = subprocess.run([sys.executable, "-c", script, module, "solve", "planar2", "--targets",
                               tmp_path / "t.npy", "--no-progress", *map(str, extra)], cwd=REPO, capture_output=True,
                              text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
        status, message = proc.stdout.strip().split(" ", 1)
        assert status == "2" and message.count("\\n") == 1, (module, proc.stdout, proc.stderr)
        assert "pip install 'armgrad[scale]'" in message and not (tmp_path / "a.csv.parts").exists()
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    proc = subprocess.run([sys.executable, "-c", script, "pyarrow", "solve", "planar2", "--targets",
                           str(tmp_path / "t.parquet")], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert proc.stdout.startswith("2 ") and "Parquet files need pyarrow: pip install 'armgrad[scale]'" in proc.stdout


# ----------------------------------------------------------------------------- a worker dies (last: it costs a worker)

def test_a_cluster_run_reads_chunks_only_as_workers_take_them(client):
    """At most the window (twice the threads, at least 4) of chunks is read ahead of the answers."""
    chain, T = panda_poses(40)
    reads, seen = [], []

    class Recorded:
        def __len__(self):
            return len(T)

        def __getitem__(self, rows):
            reads.append(rows.start)
            return T[rows]

    for k, _, _ in scale.iter_chunks(chain, Recorded(), chunk_size=2, client=client, max_restarts=5):
        seen.append((k, len(reads)))
    window = max(4, 2 * sum(client.nthreads().values()))
    assert sorted(k for k, _ in seen) == list(range(20)) and reads == list(range(0, 40, 2))
    assert all(read <= done + window for done, (_, read) in enumerate(seen, start=1))
    assert seen[0][1] <= window + 1 < 20
    reads.clear()
    for k, _, _ in scale.iter_chunks(chain, Recorded(), chunk_size=2, client=client, max_restarts=5, window=1):
        assert len(reads) <= k + 2  # one in flight, and the next submitted as it completes
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        next(scale.iter_chunks(chain, T, client=client, window=0))


def test_a_worker_killed_mid_run_still_gives_every_answer(client):
    chain, T = panda_poses(60, seed=4)
    # 30 chunks of ~30 ms whatever the solver's speed on reachable targets (~1 ms for two): targets
    # three times as far, out of reach, whose answers each take a polish of max_iterations steps.
    T = T.copy()
    T[:, :3, 3] *= 3.0
    options = dict(chunk_size=2, seed=1, max_restarts=3, max_iterations=200)
    reference = kin.solve_many(chain, T, **options)
    options["window"] = 30  # all submitted at once: workers still hold chunks when the first answer is in
    before = set(client.scheduler_info()["workers"])
    results, killed = {}, None
    for k, _, result in scale.iter_chunks(chain, T, client=client, **options):
        results[k] = result
        if killed is None:  # the first chunk is in: kill a worker that is solving another one
            busy = [w for w, keys in client.processing().items() if keys]
            assert busy, "no worker holds a chunk: make the chunks slower"
            killed = busy[0]
            try:
                client.run(os._exit, 1, workers=[killed])
            except Exception:  # noqa: BLE001 - the worker drops the connection as it dies
                pass
            done_when_killed = len(results)
    assert killed in before and done_when_killed < 30 and len(results) == 30
    deadline = time.monotonic() + 10
    while killed in client.scheduler_info()["workers"]:  # it really went (its nanny starts another)
        assert time.monotonic() < deadline, f"{killed} is still there"
        time.sleep(0.05)
    q = np.concatenate([results[k].q for k in range(30)])
    assert np.array_equal(q, reference.q)
    assert np.array_equal(np.concatenate([results[k].success for k in range(30)]), reference.success)
