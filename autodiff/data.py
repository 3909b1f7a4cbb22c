"""Data helpers in numpy only: seeded 2-D toy sets, MNIST IDX files, splits, scaling, minibatches.

Glossary: X features (N, D); y integer class labels (N,); N samples; D features; k classes.

Every generator takes a `seed` (or a numpy Generator as `rng`) and returns (X, y) with X float64
of shape (N, 2) and y int64 of shape (N,), classes 0..k-1.

Example:
    >>> import autodiff as ad
    >>> X, y = ad.data.make_spirals(300, arms=3, seed=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((300, 2), [0, 1, 2])
    >>> (X_train, y_train), (X_test, y_test) = ad.data.train_test_split(X, y, test_fraction=0.2, seed=0)
    >>> scaler = ad.data.Standardizer().fit(X_train)
    >>> len(list(ad.data.minibatches(X_train, y_train, batch_size=64, seed=0)))
    4
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

__all__ = [
    "make_spirals", "make_moons", "make_circles", "make_blobs", "read_idx", "load_mnist",
    "MNIST_FILES", "train_test_split", "Standardizer", "minibatches", "one_hot",
]


def _generator(seed, rng):
    if rng is not None:
        if seed is not None:
            raise TypeError("give seed or rng, not both")
        return rng
    return np.random.default_rng(seed)


def _check_count(n, name, minimum=1):
    if int(n) != n or n < minimum:
        raise ValueError(f"{name}: n_samples must be an integer >= {minimum}, got {n}")
    return int(n)


def _split_counts(n, k):
    """n samples over k classes as evenly as possible (the first n % k classes get one more)."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _shuffled(X, y, g):
    order = g.permutation(len(y))
    return X[order], y[order]


def make_spirals(n_samples: int = 300, arms: int = 3, noise: float = 0.2, *, turns: float = 0.65,
                 seed=None, rng=None):
    """Interleaved spiral arms, one class per arm (the CS231n set, generalised to k arms).

    Arm j has radius r from 0 to 1 and angle θ = 2π(j / arms + turns·r) + noise·N(0, 1) (in
    radians); the point is r (sin θ, cos θ).

    Args:
        n_samples: total points, split evenly among the arms.
        arms: number of arms (classes), >= 2.
        noise: standard deviation of the angle noise, radians.
        turns: how far each arm winds, in turns.
        seed, rng: the random source.
    """
    n = _check_count(n_samples, "make_spirals", minimum=arms)
    if int(arms) != arms or arms < 2:
        raise ValueError(f"make_spirals: arms must be an integer >= 2, got {arms}")
    g = _generator(seed, rng)
    Xs, ys = [], []
    for j, m in enumerate(_split_counts(n, int(arms))):
        r = np.linspace(0.0, 1.0, m)
        theta = 2 * np.pi * (j / arms + turns * r) + noise * g.standard_normal(m)
        Xs.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        ys.append(np.full(m, j, dtype=np.int64))
    return _shuffled(np.concatenate(Xs), np.concatenate(ys), g)


def make_moons(n_samples: int = 300, noise: float = 0.1, *, seed=None, rng=None):
    """Two interleaving half circles (class 0 upper, class 1 lower), Gaussian noise added.

    Args:
        n_samples: total points, split evenly.
        noise: standard deviation of the noise added to each coordinate.
    """
    n = _check_count(n_samples, "make_moons", minimum=2)
    g = _generator(seed, rng)
    n0, n1 = _split_counts(n, 2)
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n1)
    X = np.concatenate([np.column_stack([np.cos(t0), np.sin(t0)]),
                        np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])])
    X = X + noise * g.standard_normal(X.shape)
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    return _shuffled(X, y, g)


def make_circles(n_samples: int = 300, noise: float = 0.05, factor: float = 0.5, *, seed=None, rng=None):
    """Two concentric circles: class 0 the outer (radius 1), class 1 the inner (radius `factor`).

    Args:
        n_samples: total points, split evenly.
        noise: standard deviation of the noise added to each coordinate.
        factor: inner radius, in (0, 1).
    """
    n = _check_count(n_samples, "make_circles", minimum=2)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must lie in (0, 1), got {factor}")
    g = _generator(seed, rng)
    n0, n1 = _split_counts(n, 2)
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n1, endpoint=False)
    X = np.concatenate([np.column_stack([np.cos(t0), np.sin(t0)]),
                        factor * np.column_stack([np.cos(t1), np.sin(t1)])])
    X = X + noise * g.standard_normal(X.shape)
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    return _shuffled(X, y, g)


def make_blobs(n_samples: int = 300, centers: int = 3, std: float = 0.6, *, dim: int = 2,
               box: float = 4.0, seed=None, rng=None):
    """Gaussian blobs: `centers` centres drawn uniformly in [-box, box]^dim, one class each.

    Args:
        n_samples: total points, split evenly among the blobs.
        centers: number of blobs (classes).
        std: standard deviation of each blob.
        dim: number of features (2 for plotting).
        box: half-width of the square the centres are drawn from.
    """
    n = _check_count(n_samples, "make_blobs", minimum=centers)
    if int(centers) != centers or centers < 1:
        raise ValueError(f"make_blobs: centers must be an integer >= 1, got {centers}")
    g = _generator(seed, rng)
    mu = g.uniform(-box, box, size=(int(centers), int(dim)))
    counts = _split_counts(n, int(centers))
    X = np.concatenate([mu[j] + std * g.standard_normal((m, int(dim))) for j, m in enumerate(counts)])
    y = np.concatenate([np.full(m, j, dtype=np.int64) for j, m in enumerate(counts)])
    return _shuffled(X, y, g)


# -- MNIST IDX files -------------------------------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

# Names tried for each part, in order; each also with ".gz". The second spelling is how some
# mirrors rename the files.
MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped or not, into an array.

    The format: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), a byte with the number of axes d, d big-endian uint32 sizes,
    then the values, big-endian, row-major. Gzip is recognised by its magic bytes.

    Returns:
        An array of the stored shape, in native byte order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not IDX or is truncated (the message names the file).
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"read_idx: {path}: corrupt gzip data ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path}: truncated header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    count = int(np.prod(shape, dtype=np.int64))
    expected = header + count * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"read_idx: {path}: expected {expected} bytes for shape {shape}, found {len(raw)}")
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _find_mnist_file(directory, part):
    for stem in MNIST_FILES[part]:
        for name in (stem, stem + ".gz"):
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return candidate
    return None


def load_mnist(directory, *, flatten: bool = True, scale: bool = True):
    """Load MNIST (or Fashion-MNIST, same files) from the IDX files in `directory`.

    Looks for train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
    t10k-labels-idx1-ubyte, each plain or with ".gz" (also the "train-images.idx3-ubyte"
    spelling). Nothing is downloaded.

    Args:
        directory: the folder holding the four files.
        flatten: images as (N, 784) rows rather than (N, 28, 28).
        scale: pixels as float64 in [0, 1] rather than uint8.

    Returns:
        (X_train, y_train), (X_test, y_test), labels int64.

    Raises:
        FileNotFoundError: a file is missing; the message names the folder and the files looked for.
        ValueError: image and label counts disagree, or a file is not IDX.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"load_mnist: {directory!r} is not a directory")
    found, missing = {}, []
    for part, stems in MNIST_FILES.items():
        path = _find_mnist_file(directory, part)
        if path is None:
            missing.append(f"{stems[0]}[.gz]")
        found[part] = path
    if missing:
        raise FileNotFoundError(
            f"load_mnist: missing in {directory!r}: {', '.join(missing)} "
            "(download the four MNIST IDX files there; nothing is downloaded for you)"
        )
    out = []
    for split in ("train", "test"):
        images = read_idx(found[f"{split}_images"])
        labels = read_idx(found[f"{split}_labels"]).astype(np.int64)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"load_mnist: {split} images of shape {images.shape} do not match labels of shape {labels.shape}"
            )
        if flatten:
            images = images.reshape(len(images), -1)
        if scale:
            images = images.astype(np.float64) / 255.0
        out.append((images, labels))
    return tuple(out)


# -- splits, scaling, batches ----------------------------------------------------------------------

def train_test_split(X, y, test_fraction: float = 0.2, *, seed=0, shuffle: bool = True):
    """Split after a seeded permutation: the first floor((1 - test_fraction) N) rows train.

    The permutation is `np.random.default_rng(seed).permutation(N)`.

    Returns:
        (X_train, y_train), (X_test, y_test).
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} rows but y has {len(y)}")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"train_test_split: test_fraction must lie in [0, 1), got {test_fraction}")
    n = len(y)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    n_train = int(np.floor((1.0 - test_fraction) * n + 1e-9))
    tr, te = order[:n_train], order[n_train:]
    return (X[tr], y[tr]), (X[te], y[te])


class Standardizer:
    """Per-feature (x - mean) / std, fitted on the training split only.

    Features with zero spread (e.g. always-blank pixels) get std 1, so they map to 0, not NaN.

    Attributes:
        mean, std: (D,) arrays after `fit`.
    """

    def __init__(self):
        self.mean = None
        self.std = None

    def fit(self, X) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"Standardizer.fit: expected a non-empty (N, D) array, got shape {X.shape}")
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.std = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, X) -> np.ndarray:
        if self.mean is None:
            raise ValueError("Standardizer.transform: call fit() on the training data first")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[-1] != self.mean.shape[0]:
            raise ValueError(f"Standardizer.transform: fitted on {self.mean.shape[0]} features, got {X.shape[-1]}")
        return (X - self.mean) / self.std

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        return np.asarray(Z) * self.std + self.mean


def minibatches(X, y, batch_size: int, *, shuffle: bool = True, seed=None, rng=None, drop_last: bool = False):
    """Yield (X_batch, y_batch) pairs covering the data once (one epoch).

    Args:
        X, y: arrays with the same first axis.
        batch_size: rows per batch; the last batch may be smaller unless drop_last.
        shuffle: visit rows in a random order drawn from `rng` (or a Generator seeded with
            `seed`); pass the same Generator every epoch for a fresh, reproducible order.
    """
    if len(X) != len(y):
        raise ValueError(f"minibatches: X has {len(X)} rows but y has {len(y)}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"minibatches: batch_size must be a positive integer, got {batch_size}")
    batch_size = int(batch_size)
    n = len(y)
    if shuffle:
        order = _generator(seed, rng).permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if shuffle:
            idx = order[start:start + batch_size]
            yield X[idx], y[idx]
        else:
            yield X[start:start + batch_size], y[start:start + batch_size]


def one_hot(y, classes: int) -> np.ndarray:
    """(N,) integer labels -> (N, classes) float64 rows of 0 and 1."""
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() >= classes)):
        raise ValueError(f"one_hot: expected (N,) labels in [0, {classes}), got shape {y.shape}")
    return np.eye(classes)[y]
