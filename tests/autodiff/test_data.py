"""autodiff.data: toy sets, IDX files, splits, standardisation, minibatches; numpy-only imports."""

import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import autodiff as ad
from autodiff import data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GENERATORS = [
    ("spirals3", lambda **kw: data.make_spirals(301, arms=3, **kw), 3),
    ("spirals5", lambda **kw: data.make_spirals(250, arms=5, **kw), 5),
    ("moons", lambda **kw: data.make_moons(101, **kw), 2),
    ("circles", lambda **kw: data.make_circles(100, **kw), 2),
    ("blobs", lambda **kw: data.make_blobs(90, centers=4, **kw), 4),
]


@pytest.mark.parametrize("name, make, k", GENERATORS, ids=[g[0] for g in GENERATORS])
def test_generators_shapes_classes_and_seeds(name, make, k):
    X, y = make(seed=0)
    n = len(y)
    assert X.shape == (n, 2) and X.dtype == np.float64 and y.dtype == np.int64
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.max() - counts.min() <= 1
    X2, y2 = make(seed=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(seed=1)
    assert not np.array_equal(X, X3)
    X4, _ = make(rng=np.random.default_rng(0))
    np.testing.assert_array_equal(X, X4)


def test_circles_are_concentric_and_spirals_bounded():
    X, y = data.make_circles(400, noise=0.0, factor=0.4, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.4)
    X, _ = data.make_spirals(300, arms=3, seed=0)
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0 + 1e-12)


@pytest.mark.parametrize("bad", [lambda: data.make_spirals(10, arms=1), lambda: data.make_moons(0),
                                 lambda: data.make_circles(10, factor=1.5)])
def test_generators_refuse_bad_arguments(bad):
    with pytest.raises(ValueError):
        bad()


def _write_idx(path, array, code, gz):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    raw = header + array.astype(dtype).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(raw)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("code, array", [
    (0x08, np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)),
    (0x08, np.array([7, 2, 1, 0, 4], dtype=np.uint8)),
    (0x09, np.array([-3, 4], dtype=np.int8)),
    (0x0B, np.array([[-300, 2], [5, 7]], dtype=np.int16)),
    (0x0C, np.array([70000, -1], dtype=np.int32)),
    (0x0D, np.array([1.5, -2.25], dtype=np.float32)),
    (0x0E, np.array([[np.pi]], dtype=np.float64)),
])
def test_read_idx_round_trips(tmp_path, code, array, gz):
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    _write_idx(path, array, code, gz)
    got = data.read_idx(path)
    assert got.shape == array.shape and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_read_idx_errors(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(bad)
    short = tmp_path / "short"
    _write_idx(short, np.zeros((3, 4), np.uint8), 0x08, False)
    short.write_bytes(short.read_bytes()[:-2])
    with pytest.raises(ValueError, match="expected"):
        data.read_idx(short)
    with pytest.raises(FileNotFoundError):
        data.read_idx(tmp_path / "missing")


def write_tiny_mnist(directory, n_train=30, n_test=12, seed=0, gz=(True, False, True, False)):
    """Four small IDX files in MNIST's layout; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for (name, array), zipped in zip(arrays.items(), gz):
        _write_idx(os.path.join(directory, name + (".gz" if zipped else "")), array, 0x08, zipped)
    return arrays


def test_load_mnist_from_a_folder(tmp_path):
    arrays = write_tiny_mnist(tmp_path)
    (X_train, y_train), (X_test, y_test) = data.load_mnist(tmp_path)
    assert X_train.shape == (30, 784) and X_test.shape == (12, 784)
    np.testing.assert_allclose(X_train * 255, arrays["train-images-idx3-ubyte"].reshape(30, -1))
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])
    assert y_train.dtype == np.int64
    (raw, _), _ = data.load_mnist(tmp_path, flatten=False, scale=False)
    assert raw.shape == (30, 28, 28) and raw.dtype == np.uint8


def test_load_mnist_names_missing_files(tmp_path):
    write_tiny_mnist(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte") as err:
        data.load_mnist(tmp_path)
    assert str(tmp_path) in str(err.value) and "train-images" not in str(err.value)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        data.load_mnist(tmp_path / "nowhere")


def test_train_test_split_is_a_seeded_permutation():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    (Xa, ya), (Xb, yb) = data.train_test_split(X, y, test_fraction=0.2, seed=0)
    order = np.random.default_rng(0).permutation(10)
    np.testing.assert_array_equal(ya, order[:8])
    np.testing.assert_array_equal(yb, order[8:])
    np.testing.assert_array_equal(Xa[:, 0], 2 * ya)
    (_, y_train), (_, y_test) = data.train_test_split(np.zeros((1797, 1)), np.arange(1797), 0.2, seed=0)
    assert (len(y_train), len(y_test)) == (1437, 360)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(1797))


def test_standardizer_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 2.0, (200, 3))
    train[:, 2] = 7.0  # a constant feature
    test = rng.normal(5.0, 2.0, (50, 3)) + 1.0
    s = data.Standardizer().fit(train)
    z = s.transform(train)
    np.testing.assert_allclose(z[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[:, :2].std(axis=0), 1.0)
    assert np.all(z[:, 2] == 0.0)
    zt = s.transform(test)
    np.testing.assert_allclose(zt, (test - train.mean(axis=0)) / s.std)
    np.testing.assert_allclose(s.inverse_transform(zt), test)
    with pytest.raises(ValueError, match="fit"):
        data.Standardizer().transform(test)


def test_minibatches_cover_each_row_once_in_a_seeded_order():
    X = np.arange(23)[:, None] * np.ones((1, 2))
    y = np.arange(23)
    batches = list(data.minibatches(X, y, 5, seed=1))
    assert [len(b) for _, b in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b for _, b in batches])
    assert sorted(seen.tolist()) == list(range(23)) and not np.array_equal(seen, y)
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb)
    again = np.concatenate([b for _, b in data.minibatches(X, y, 5, seed=1)])
    np.testing.assert_array_equal(seen, again)
    assert [len(b) for _, b in data.minibatches(X, y, 5, shuffle=False, drop_last=True)] == [5] * 4
    np.testing.assert_array_equal(next(data.minibatches(X, y, 4, shuffle=False))[1], [0, 1, 2, 3])
    with pytest.raises(ValueError, match="batch_size"):
        next(data.minibatches(X, y, 0))


def test_one_hot():
    np.testing.assert_array_equal(data.one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])


def test_autodiff_imports_numpy_only():
    code = ("import sys, autodiff; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'scipy', 'matplotlib', 'sklearn', 'torch', 'tqdm', 'PIL', 'demos', 'kinematics', 'robots'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT}, check=True)
    assert out.stdout.strip() == "[]"
    assert hasattr(ad, "nn") and hasattr(ad, "optim") and hasattr(ad, "data")
