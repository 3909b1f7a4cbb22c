"""demos.train and demos.datasets: learning on digits, the command in-process, reproducibility."""

import argparse
import os
import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import autodiff as ad  # noqa: E402
from demos import cli, datasets, train  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "autodiff"))
from test_data import write_tiny_mnist  # noqa: E402


def _has_sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


needs_sklearn = pytest.mark.skipif(not _has_sklearn(),
                                   reason="scikit-learn is not installed (it provides the digits set)")


@needs_sklearn
def test_digits_fixed_split():
    d = datasets.load_digits()
    assert (d.X_train.shape, d.X_test.shape, d.n_classes) == ((1437, 64), (360, 64), 10)
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    from sklearn.datasets import load_digits
    raw = load_digits()
    order = np.random.default_rng(0).permutation(1797)
    np.testing.assert_array_equal(d.y_test, raw.target[order[1437:]])
    np.testing.assert_allclose(d.scaler.inverse_transform(d.X_test), raw.data[order[1437:]], atol=1e-9)


@needs_sklearn
def test_digits_reach_97_percent_test_accuracy():
    d = datasets.load_digits()
    model = ad.nn.MLP([64, 128, 10], activation="relu", seed=0)
    opt = ad.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = train.fit(model, opt, d.X_train, d.y_train, epochs=30, batch_size=64, seed=0)
    ev = train.evaluate(model, d.X_test, d.y_test, "softmax-ce", 10)
    assert ev.accuracy >= 0.97, ev.accuracy
    assert history.train_accuracy[-1] > 0.99
    assert ev.confusion.sum() == 360 and np.trace(ev.confusion) == round(ev.accuracy * 360)


def test_fit_reproduces_exactly_and_stops_early():
    d = datasets.load_dataset("moons", n_samples=200, seed=1)
    runs = []
    for _ in range(2):
        model = train.build_model(2, 2, [16], "tanh", "logistic", seed=3)
        opt = ad.optim.Adam(model.parameters(), lr=0.05)
        h = train.fit(model, opt, d.X_train[:120], d.y_train[:120], loss="logistic", n_classes=2, epochs=40,
                      batch_size=16, l2=1e-3, X_val=d.X_train[120:], y_val=d.y_train[120:], patience=3, seed=5)
        runs.append((model.state_dict(), h))
    (s1, h1), (s2, h2) = runs
    assert h1 == h2
    for k in s1:
        np.testing.assert_array_equal(s1[k], s2[k])
    assert h1.stopped_early and h1.epochs < 40
    assert h1.best_epoch == h1.epochs - 3 and h1.val_loss[h1.best_epoch - 1] == min(h1.val_loss)


def test_confusion_matrix_rows_are_true_classes():
    cm = train.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [0, 1, 0]])


def _args(**overrides):
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    args = parser.parse_args([])
    args.no_progress = True
    for k, v in overrides.items():
        setattr(args, k, v)
    return args


@pytest.mark.parametrize("dataset, loss, picture", [
    ("spirals", "softmax-ce", "regions.png"),
    ("moons", "logistic", "regions.png"),
    ("blobs", "ce", "regions.png"),
    pytest.param("digits", "softmax-ce", "confusion.png", marks=needs_sklearn),
])
def test_train_command_writes_its_files(tmp_path, capsys, dataset, loss, picture):
    out = tmp_path / "run"
    args = _args(dataset=dataset, loss=loss, samples=60, hidden="8", epochs=3, out=str(out), schedule="cosine")
    assert train.run(args) == 0
    text = capsys.readouterr().out
    for name in ("curves.png", picture, "params.npz", "run.json"):
        assert (out / name).is_file()
        assert f"wrote {out / name}" in text
    assert "epoch 3/3" in text and "test accuracy" in text
    classes = 10 if dataset == "digits" else (2 if loss == "logistic" else 3)
    model = train.build_model(64 if dataset == "digits" else 2, classes, [8], "relu", loss)
    model.load(out / "params.npz")


def test_train_command_on_mnist_files(tmp_path, capsys):
    write_tiny_mnist(tmp_path)
    out = tmp_path / "run"
    code = cli.main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--hidden", "4", "--epochs", "1",
                     "--optimizer", "sgd", "--no-progress", "--out", str(out)])
    assert code == 0
    assert (out / "confusion.png").is_file() and (out / "params.npz").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--loss", "logistic"], "two classes"),
    (["--hidden", "8,zero"], "--hidden"),
    (["--lr", "-1"], "--lr"),
    (["--dataset", "mnist"], "--data-dir"),
    (["--val-fraction", "1.5"], "--val-fraction"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    code = cli.main(["train", "--epochs", "1", "--no-progress", "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err and err.startswith("armgrad train: error:")


def test_missing_mnist_files_are_named(tmp_path, capsys):
    assert cli.main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--no-progress"]) == 2
    assert "train-images-idx3-ubyte" in capsys.readouterr().err


def test_help_as_a_subprocess():
    out = subprocess.run([sys.executable, "-m", "demos.train", "--help"], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "examples:" in out.stdout and "--dataset" in out.stdout


def test_digits_without_scikit_learn_is_a_clear_message(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(datasets.MissingDependencyError, match="scikit-learn"):
        datasets.load_digits()
    assert cli.main(["train", "--dataset", "digits", "--no-progress", "--out", str(tmp_path)]) == 2
    assert "needs scikit-learn" in capsys.readouterr().err


# -- nothing lost, nothing cryptic (issue 10) -----------------------------------------------------

TINY = ["train", "--samples", "60", "--hidden", "4", "--epochs", "2", "--no-progress"]


def _one_line_error(capsys, code):
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("armgrad train: error:"), err
    return out, err


def _disk_full_savefig(self, fname, *args, **kwargs):
    """Figure.savefig on a full disk: the file is created, then the first write fails."""
    with open(fname, "wb"):
        raise OSError(28, "No space left on device")


def test_full_disk_keeps_the_old_curves_and_names_the_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    (out / "curves.png").write_bytes(b"the previous run's picture")
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _disk_full_savefig)
    _, err = _one_line_error(capsys, cli.main([*TINY, "--out", str(out)]))
    assert str(out / "curves.png") in err and "No space left on device" in err
    assert (out / "curves.png").read_bytes() == b"the previous run's picture"  # not a 0-byte file
    assert sorted(p.name for p in out.iterdir()) == ["curves.png", "params.npz", "run.json"]  # no temporaries
    train.build_model(2, 3, [4]).load(out / "params.npz")  # the training is kept


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_out_is_checked_before_the_first_epoch(tmp_path, capsys, where):
    blocker = tmp_path / "occupied"
    blocker.write_text("not a folder")
    out = blocker if where == "a file" else blocker / "run"
    stdout, err = _one_line_error(capsys, cli.main([*TINY, "--out", str(out)]))
    assert "--out" in err and str(out) in err
    assert "epoch" not in stdout


def test_out_folder_and_its_parents_are_created_up_front(tmp_path, capsys):
    out = tmp_path / "new" / "deeper" / "run"
    assert cli.main([*TINY, "--out", str(out)]) == 0
    assert (out / "params.npz").is_file()


@pytest.mark.parametrize("argv, flag", [
    (["--l2", "nan"], "--l2"), (["--l2", "inf"], "--l2"), (["--lr", "inf"], "--lr"), (["--lr", "nan"], "--lr"),
    (["--optimizer", "sgd", "--momentum", "nan"], "--momentum"),
])
def test_non_finite_hyperparameters_are_refused_before_training(tmp_path, capsys, argv, flag):
    stdout, err = _one_line_error(capsys, cli.main([*TINY, "--out", str(tmp_path / "run"), *argv]))
    assert f"{flag} must be a finite number" in err
    assert "epoch" not in stdout and not (tmp_path / "run").exists()


def test_diverging_training_stops_with_one_line_and_saves_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    _, err = _one_line_error(capsys, cli.main([*TINY, "--optimizer", "sgd", "--lr", "1e300", "--out", str(out)]))
    assert re.search(r"diverged in epoch [12]: ", err) and "lr 1e+300" in err and "l2 0" in err
    assert "Warning" not in err  # numpy's overflow warnings are not shown
    assert list(out.iterdir()) == []  # no all-NaN params.npz


def test_fit_stops_on_a_non_finite_objective_before_the_step():
    d = datasets.load_dataset("blobs", n_samples=60, seed=0)
    model = train.build_model(2, 3, [4], seed=0)
    before = model.state_dict()
    opt = ad.optim.Adam(model.parameters(), lr=0.01)
    with pytest.raises(train.TrainingDiverged, match=r"epoch 1: the loss \(nan\).*lr 0.01, l2 nan"):
        train.fit(model, opt, d.X_train, d.y_train, epochs=3, l2=float("nan"))
    for name, value in model.state_dict().items():  # stopped before a NaN step reached the weights
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("argv, flag, what", [
    (["--hidden", "100000000"], "--hidden", "parameters"),
    (["--hidden", "64,3000000,64"], "--hidden", "parameters"),
    (["--samples", str(10 ** 12)], "--samples", "1,000,000,000,000 points"),
])
def test_huge_sizes_are_refused_before_allocating(tmp_path, capsys, monkeypatch, argv, flag, what):
    monkeypatch.setattr(train, "available_memory", lambda: 8 * 2 ** 30)  # the same answer on any machine
    stdout, err = _one_line_error(capsys, cli.main([*TINY, "--out", str(tmp_path / "run"), *argv]))
    assert err.startswith(f"armgrad train: error: {flag}:") and what in err and "8.0 GiB available" in err
    assert "epoch" not in stdout


def test_model_memory_estimate():
    n_params, nbytes = train.model_memory([2, 64, 64, 3], 64)
    assert n_params == 2 * 64 + 64 + 64 * 64 + 64 + 64 * 3 + 3 == 4547
    assert nbytes == 8.0 * (4 * 4547 + 3 * train.EVAL_BATCH * (64 + 64 + 3))
