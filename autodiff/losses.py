"""The course losses, each a mean over the batch (so per-sample gradients are divided by N).

Glossary: x scores or logits, y labels, a = softmax(x) probabilities, N batch size, C classes.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from . import ops
from .tensor import Tensor, as_tensor, constant, record

__all__ = ["logistic_loss", "l2_regularization", "cross_entropy", "softmax_cross_entropy"]


def logistic_loss(scores, labels):
    """mean log(1 + e^(-y x)) for labels y in {-1, +1}.

    Computed as logaddexp(0, -y x), finite for |x y| up to 1e4 and beyond. Per sample,
    d/dx = -y / (1 + e^(x y)) = -y sigmoid(-x y), divided by N for the mean.

    Args:
        scores: (N,) or (N, 1) real scores x.
        labels: (N,) or matching shape, entries -1 or +1.

    Returns:
        A scalar Tensor.
    """
    x, y = as_tensor(scores), _labels(labels)
    a = x.data
    return record(_logistic_loss(a, y.data), "logistic_loss", (x, y), (partial(_d_logistic_loss, a, y.data),),
                  _logistic_loss)


def _labels(labels):
    """Labels as a parent node without a gradient: a replay of a trace (`ad.trace`) reads them anew."""
    return labels if isinstance(labels, Tensor) else constant(np.asarray(labels))


def _logistic_loss(a, labels):
    return np.asarray(np.mean(np.logaddexp(0.0, -_binary_labels(labels, a.shape) * a)))


def _d_logistic_loss(a, labels, g):
    y = _binary_labels(labels, a.shape)
    margin = -y * a
    e = np.exp(-np.abs(margin))  # sigmoid(margin) without overflow: e^(-|m|) is at most 1
    sig = np.where(margin >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return _per_entry(g, a.ndim) * (-y * sig) / a.size


def _per_entry(g, ndim):
    """The cotangent g of a scalar loss, shaped to broadcast over the input's `ndim` axes.

    g is 0-d, or of shape lead in a stacked backward pass: lead + (1,) * ndim keeps each of its
    entries on its own row instead of aligning the lead axes with the input's last axes."""
    return g.reshape(g.shape + (1,) * ndim)


def _binary_labels(labels, shape):
    y = np.asarray(labels.data if isinstance(labels, Tensor) else labels, dtype=np.float64)
    if y.size != int(np.prod(shape)):
        raise ValueError(f"logistic_loss: {y.size} labels for scores of shape {shape}")
    y = y.reshape(shape)
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("logistic_loss: labels must be -1 or +1")
    return y


def l2_regularization(params, weight):
    """weight * sum of x² over every parameter (a sum, not a mean); gradient 2 weight x.

    Args:
        params: a Tensor or a list of Tensors.
        weight: the regularisation strength (y in the course's y·Σx²).
    """
    params = [params] if isinstance(params, Tensor) else list(params)
    if not params:
        return Tensor(0.0)
    total = ops.sum(params[0] * params[0])
    for p in params[1:]:
        total = total + ops.sum(p * p)
    return total * weight


def _one_hot(labels, n, classes, name):
    y = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if y.ndim == 1:
        if y.shape[0] != n or y.dtype.kind not in "iu" and not np.all(y == np.round(y)):
            raise ValueError(f"{name}: expected {n} integer class labels, got shape {y.shape} dtype {y.dtype}")
        y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= classes):
            raise ValueError(f"{name}: class labels must lie in [0, {classes}), got {y.min()}..{y.max()}")
        return np.eye(classes)[y]
    if y.shape != (n, classes):
        raise ValueError(f"{name}: one-hot labels must have shape {(n, classes)}, got {y.shape}")
    return y.astype(np.float64)


def _check_2d(x, name):
    if x.ndim != 2:
        raise ValueError(f"{name}: expected (N, C) inputs, got shape {x.shape}")


PROB_TOL = 1e-5  # how far from [0, 1] and from a unit row sum `cross_entropy` lets probabilities be


def _check_probabilities(p, name):
    """Refuse (N, C) values that are not rows of probabilities, naming the first bad entry or row."""
    hint = "(pass softmax outputs, or logits to softmax_cross_entropy)"
    outside = ~((p >= -PROB_TOL) & (p <= 1.0 + PROB_TOL))  # NaN is outside too
    if np.any(outside):
        i, j = (int(k) for k in np.unravel_index(np.argmax(outside), p.shape))
        raise ValueError(f"{name}: probs must lie in [0, 1], got {p[i, j]} at ({i}, {j}) {hint}")
    off = np.abs(p.sum(axis=1) - 1.0) > PROB_TOL
    if np.any(off):
        i = int(np.argmax(off))
        raise ValueError(f"{name}: each row of probs must sum to 1, row {i} sums to {p[i].sum():.6g} {hint}")


def cross_entropy(probs, labels, eps=1e-12):
    """mean over samples of -sum_c y_c log p_c, on probabilities p (e.g. a softmax output).

    Args:
        probs: (N, C) probabilities: entries in [0, 1], each row summing to 1 (within
            PROB_TOL, which leaves room for rounding and for `check_grads`' ±1e-6 steps).
        labels: (N,) integer classes or (N, C) one-hot rows.
        eps: floor on p inside the log so a zero probability gives a large, finite loss.

    Raises:
        ValueError: `probs` is not (N, C), or not probabilities (negative, above 1, NaN, or a row
            that does not sum to 1: logits belong in `softmax_cross_entropy`).
    """
    p = as_tensor(probs)
    _check_2d(p, "cross_entropy")
    _check_probabilities(p.data, "cross_entropy")
    y = _one_hot(labels, p.shape[0], p.shape[1], "cross_entropy")
    return ops.sum(y * ops.log(ops.maximum(p, eps))) * (-1.0 / p.shape[0])


def softmax_cross_entropy(logits, labels):
    """mean cross-entropy of softmax(logits), fused: gradient (a - y) / N.

    (Exactly (a * sum_c y_c - y) / N, which is (a - y) / N whenever each label row sums to 1.)

    Uses log softmax = x - logsumexp(x) with the max subtracted, so logits of 1e4 stay finite.

    Args:
        logits: (N, C) scores.
        labels: (N,) integer classes or (N, C) one-hot rows.
    """
    x, y = as_tensor(logits), _labels(labels)
    _check_2d(x, "softmax_cross_entropy")
    a = x.data
    return record(_softmax_cross_entropy(a, y.data), "softmax_cross_entropy", (x, y),
                  (partial(_d_softmax_cross_entropy, a, y.data),), _softmax_cross_entropy)


def _log_softmax_rows(a, labels):
    """(log softmax of the rows of a (N, C), one-hot labels (N, C))."""
    y = _one_hot(labels, a.shape[0], a.shape[1], "softmax_cross_entropy")
    shifted = a - np.max(a, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True)), y


def _softmax_cross_entropy(a, labels):
    log_a, y = _log_softmax_rows(a, labels)
    return np.asarray(-np.sum(y * log_a) / a.shape[0])


def _d_softmax_cross_entropy(a, labels, g):
    log_a, y = _log_softmax_rows(a, labels)
    return _per_entry(g, 2) * ((np.exp(log_a) * y.sum(axis=1, keepdims=True) - y) / a.shape[0])
