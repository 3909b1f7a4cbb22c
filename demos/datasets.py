"""Datasets for the training demo: the 2-D toy sets, the 8×8 digits (scikit-learn), MNIST.

Every loader returns a `Dataset`: train and test arrays already standardised with a
`Standardizer` fitted on the training part only (kept as `scaler`, so plots can map raw
coordinates into the model's inputs).

The digits split is fixed: `np.random.default_rng(0).permutation(1797)`, the first 80%
(1437 images) for training, the remaining 360 for testing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autodiff import data

__all__ = ["Dataset", "DATASETS", "SYNTHETIC", "MissingDependencyError", "load_digits", "load_dataset"]

SYNTHETIC = ("spirals", "moons", "circles", "blobs")
DATASETS = SYNTHETIC + ("digits", "mnist")


class MissingDependencyError(ImportError):
    """An optional package that a dataset needs is not installed."""


@dataclass
class Dataset:
    """Standardised train/test arrays and what is known about them.

    Attributes:
        name: the dataset's name.
        X_train, y_train, X_test, y_test: features (N, D) float64 and labels (N,) int64.
        n_classes: number of classes.
        scaler: the Standardizer fitted on the raw training features.
        class_names: a label for each class.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    scaler: data.Standardizer
    class_names: list = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: {len(self.y_train)} train, {len(self.y_test)} test, "
                f"{self.n_features} features, {self.n_classes} classes)")


def _standardised(name, train, test, n_classes, class_names=None):
    (X_train, y_train), (X_test, y_test) = train, test
    scaler = data.Standardizer().fit(X_train)
    return Dataset(
        name=name,
        X_train=scaler.transform(X_train), y_train=np.asarray(y_train, dtype=np.int64),
        X_test=scaler.transform(X_test), y_test=np.asarray(y_test, dtype=np.int64),
        n_classes=int(n_classes), scaler=scaler,
        class_names=list(class_names) if class_names is not None else [str(c) for c in range(n_classes)],
    )


def load_digits(seed: int = 0, train_fraction: float = 0.8) -> Dataset:
    """The 8×8 digits set (1797 images, 64 features, 10 classes) from scikit-learn.

    Split: `np.random.default_rng(seed).permutation(N)`, the first floor(train_fraction N) rows
    for training; standardised with statistics of the training part only.

    Raises:
        MissingDependencyError: scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as err:
        raise MissingDependencyError(
            "the digits set needs scikit-learn: pip install scikit-learn (or armgrad[digits])"
        ) from err
    bunch = sklearn_digits()
    X = bunch.data.astype(np.float64)
    y = bunch.target.astype(np.int64)
    train, test = data.train_test_split(X, y, test_fraction=1.0 - train_fraction, seed=seed)
    return _standardised("digits", train, test, 10)


def load_dataset(name: str, *, data_dir=None, n_samples: int = 600, arms: int = 3, noise=None,
                 seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """Load a dataset by name.

    Args:
        name: one of "spirals", "moons", "circles", "blobs", "digits", "mnist".
        data_dir: the folder with MNIST's IDX files (needed for "mnist" only).
        n_samples: points of a 2-D set (train and test together).
        arms: arms of the spirals (classes); also the number of blobs.
        noise: noise of a 2-D set (None: the generator's default).
        seed: seed of a 2-D set and of its train/test permutation; digits use their fixed split.
        test_fraction: share of a 2-D set held out for testing.

    Raises:
        ValueError: unknown name, or "mnist" without data_dir.
        FileNotFoundError: MNIST files missing.
        MissingDependencyError: scikit-learn missing for "digits".
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name == "digits":
        return load_digits()
    if name == "mnist":
        if data_dir is None:
            raise ValueError("the mnist dataset needs --data-dir: a folder with the four MNIST IDX files")
        (X_train, y_train), (X_test, y_test) = data.load_mnist(data_dir)
        return _standardised("mnist", (X_train, y_train), (X_test, y_test), 10)
    kwargs = {} if noise is None else {"noise": noise}
    if name == "spirals":
        X, y = data.make_spirals(n_samples, arms=arms, seed=seed, **kwargs)
        k = arms
    elif name == "moons":
        X, y = data.make_moons(n_samples, seed=seed, **kwargs)
        k = 2
    elif name == "circles":
        X, y = data.make_circles(n_samples, seed=seed, **kwargs)
        k = 2
    else:
        X, y = data.make_blobs(n_samples, centers=arms, seed=seed, **({"std": noise} if noise is not None else {}))
        k = arms
    train, test = data.train_test_split(X, y, test_fraction=test_fraction, seed=seed)
    return _standardised(name, train, test, k)
