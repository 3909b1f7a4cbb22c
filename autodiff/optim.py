"""Optimisers that update parameters in place from their `.grad`, and learning-rate schedules.

Glossary: p a parameter, g its gradient, lr the learning rate, mu the momentum, v the velocity
(SGD) or the second-moment estimate (Adam), m Adam's first-moment estimate, t the step count.

Every optimiser has `.step()` (apply one update to every parameter whose `.grad` is not None)
and `.zero_grad()` (set every `.grad` to None), and an `lr` attribute that schedules change.
Updates are written into the parameters' arrays in place, using preallocated buffers.

Memory note: a training step allocates and frees a few arrays of a megabyte or more (gradients,
activations). With glibc's default thresholds the freed blocks are handed back to the operating
system at every step and faulted back in at the next (about 400,000 page faults in one epoch of
a 784-256-10 MLP on 60,000 samples, which doubled its time). `import autodiff` sets glibc's
thresholds once for the whole process, for training and IK alike: see `autodiff.memory`.

Example:
    >>> import numpy as np, autodiff as ad
    >>> w = ad.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    >>> opt = ad.optim.SGD([w], lr=0.1)
    >>> ad.sum(w * w).backward()
    >>> opt.step()
    >>> w.data
    array([ 0.8, -1.6])
"""

from __future__ import annotations

import math

import numpy as np

from .tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "StepLR", "CosineLR", "step_lr", "cosine_lr"]


class Optimizer:
    """Base class: holds the parameter list and the learning rate."""

    def __init__(self, params, lr: float):
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()
        if isinstance(params, Tensor):
            params = [params]
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: params is empty")
        for p in self.params:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: params must be Tensors with requires_grad=True, got {p!r:.60}")
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"{type(self).__name__}: lr must be a positive number, got {lr}")
        self.lr = float(lr)
        self._buffers = [np.empty_like(p.data) for p in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to None."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Apply one update to every parameter whose `.grad` is not None (`_update`, piece by piece)."""
        extra = self._begin_step()
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            arrays = (p.data, p.grad, self._buffers[i], *self._state(i))
            if p.data.size > PIECE and _in_pieces(arrays):
                for piece in _pieces(arrays):
                    self._update(*piece, *extra)
            else:
                self._update(*arrays, *extra)

    def _begin_step(self) -> tuple:
        """This step's scalars, the same for every parameter (Adam's bias corrections)."""
        return ()

    def _state(self, i: int) -> tuple:
        """Parameter i's state arrays (the velocity, the moments), of its shape."""
        return ()

    def _update(self, p, g, buf, *state_and_scalars) -> None:
        """Update the array p in place from its gradient g, with buf as scratch (arrays of one shape)."""
        raise NotImplementedError


# An update makes several passes over each parameter's arrays (SGD with momentum four: v *= mu,
# v += g, buf = lr v, p -= buf; Adam eleven). Over a large parameter each pass streams its arrays
# through the cache again; in pieces of PIECE elements (128 kB per array: the four or five arrays
# of a piece fit a core's L2 cache) every pass after a piece's first reads it from the cache, with
# the same operations per element, so the same bits. Measured on a 784x256 weight: the momentum
# update 370 -> 260 µs; benchmarks.training's 784-256-10 epoch 5 % faster.
PIECE = 16384


def _in_pieces(arrays: tuple) -> bool:
    """Whether (p, g, buf, *state) can be updated piece by piece: all of one shape, and every
    array written (all but g) C-contiguous, so that its flat pieces are views of it."""
    p, g, *written = arrays
    return g.shape == p.shape and p.flags.c_contiguous and all(a.flags.c_contiguous for a in written)


def _pieces(arrays: tuple):
    """Aligned flat pieces of PIECE elements of (p, g, buf, *state) (`_in_pieces`): views, but
    for a gradient that is not contiguous, flattened into a copy that is only read."""
    flat = [a.reshape(-1) for a in arrays]
    for lo in range(0, flat[0].size, PIECE):
        yield tuple(a[lo:lo + PIECE] for a in flat)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and weight decay.

    With d = g + weight_decay * p (PyTorch's convention, velocity v starting at 0):
        plain:     p <- p - lr d
        momentum:  v <- mu v + d;  p <- p - lr v
        Nesterov:  v <- mu v + d;  p <- p - lr (d + mu v)

    Args:
        params: Tensors (or a Module, whose parameters are taken).
        lr: learning rate.
        momentum: mu in [0, 1).
        nesterov: use the Nesterov form (needs momentum > 0).
        weight_decay: L2 coefficient added to the gradient (the gradient of (wd/2) |p|²).
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must lie in [0, 1), got {momentum}")
        if nesterov and momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {weight_decay}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.velocity = [np.zeros_like(p.data) for p in self.params] if momentum else None

    def _state(self, i: int) -> tuple:
        return (self.velocity[i],) if self.momentum else ()

    def _update(self, p, g, buf, v=None) -> None:
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        if wd:
            g = g + wd * p
        if not mu:
            np.multiply(g, lr, out=buf)
            p -= buf
            return
        v *= mu
        v += g
        if self.nesterov:
            np.multiply(v, mu, out=buf)
            buf += g
            buf *= lr
        else:
            np.multiply(v, lr, out=buf)
        p -= buf


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction.

        m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g²
        p <- p - lr m̂ / (sqrt(v̂) + eps),   m̂ = m / (1 - b1^t),  v̂ = v / (1 - b2^t)

    Args:
        params: Tensors (or a Module).
        lr: learning rate (1e-3 by default).
        betas: (b1, b2).
        eps: added to sqrt(v̂).
        weight_decay: L2 coefficient added to the gradient (not AdamW's decoupled decay).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.t = 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def _begin_step(self) -> tuple:
        self.t += 1
        c1 = 1.0 - self.betas[0] ** self.t
        c2 = 1.0 - self.betas[1] ** self.t
        return self.lr / c1, math.sqrt(c2)  # the step's scale and sqrt of the second bias correction

    def _state(self, i: int) -> tuple:
        return self.m[i], self.v[i]

    def _update(self, p, g, buf, m, v, scale, root_c2) -> None:
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p
        m *= b1
        np.multiply(g, 1.0 - b1, out=buf)
        m += buf
        v *= b2
        np.multiply(g, g, out=buf)
        buf *= 1.0 - b2
        v += buf
        np.sqrt(v, out=buf)           # sqrt(v̂) + eps = sqrt(v) / sqrt(c2) + eps
        buf /= root_c2
        buf += self.eps
        np.divide(m, buf, out=buf)
        buf *= scale
        p -= buf


# -- learning-rate schedules ---------------------------------------------------------------------

def step_lr(base_lr: float, epoch: int, step_size: int, gamma: float = 0.1) -> float:
    """base_lr * gamma ** (epoch // step_size)."""
    if step_size < 1:
        raise ValueError(f"step_lr: step_size must be >= 1, got {step_size}")
    return base_lr * gamma ** (epoch // step_size)


def cosine_lr(base_lr: float, epoch: int, total: int, min_lr: float = 0.0) -> float:
    """min_lr + (base_lr - min_lr) (1 + cos(pi epoch / total)) / 2, held at min_lr after `total`."""
    if total < 1:
        raise ValueError(f"cosine_lr: total must be >= 1, got {total}")
    e = min(epoch, total)
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * e / total))


class _Schedule:
    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> float:
        """Advance one epoch (or whatever unit you step in) and set the optimiser's lr; returns it."""
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr


class StepLR(_Schedule):
    """Multiply the learning rate by `gamma` every `step_size` calls to `.step()`."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer)
        step_lr(1.0, 0, step_size)  # validates
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr_at(self, epoch: int) -> float:
        return step_lr(self.base_lr, epoch, self.step_size, self.gamma)


class CosineLR(_Schedule):
    """Cosine decay from the optimiser's lr to `min_lr` over `total` calls to `.step()`."""

    def __init__(self, optimizer: Optimizer, total: int, min_lr: float = 0.0):
        super().__init__(optimizer)
        cosine_lr(1.0, 0, total)  # validates
        self.total, self.min_lr = int(total), float(min_lr)

    def lr_at(self, epoch: int) -> float:
        return cosine_lr(self.base_lr, epoch, self.total, self.min_lr)
