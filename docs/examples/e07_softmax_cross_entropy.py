"""7. Cross-entropy on probabilities, then softmax + cross-entropy: df/dx_i = a_i - y_i.

Cross-entropy of probabilities p against a one-hot (or any distribution) label y:

    f(p) = -sum_i y_i log p_i,        df/dp_i = -y_i / p_i

Softmax turns scores x into probabilities a_i = e^(x_i) / sum_k e^(x_k). Its Jacobian:

    da_i/dx_j = a_i (delta_ij - a_j):  a_i (1 - a_i) on the diagonal, -a_i a_j off it

Chaining the two, for f(a(x)):

    df/dx_j = sum_i (-y_i / a_i) a_i (delta_ij - a_j) = -y_j + a_j sum_i y_i = a_j - y_j

because the labels sum to 1. The difference between what the model says and the label: this
is why the fused `softmax_cross_entropy` is both cheaper and stabler than the composition.
The course losses are means over the N samples, so per-sample gradients arrive divided by N.

Run: python docs/examples/e07_softmax_cross_entropy.py   (after `pip install -e .`, or with PYTHONPATH=.)
"""

import numpy as np

import autodiff as ad
from checking import check  # prints engine and oracle values, raises on a mismatch


def main():
    rng = np.random.default_rng(7)
    N, C = 3, 4
    labels = np.array([2, 0, 3])
    y = np.eye(C)[labels]  # one-hot rows, (N, C)

    # -- 1. cross-entropy on probabilities ----------------------------------------------
    probs = rng.random((N, C)) + 0.1
    probs /= probs.sum(axis=1, keepdims=True)
    p = ad.Tensor(probs, requires_grad=True)
    loss = ad.losses.cross_entropy(p, labels)
    loss.backward()
    check("CE: engine vs mean of -sum y log p", loss.item(), np.mean(-np.sum(y * np.log(probs), axis=1)))
    check("dCE/dp times N: engine vs -y / p", p.grad * N, -y / probs)

    # -- 2. the softmax Jacobian ---------------------------------------------------------
    x = rng.standard_normal(C)
    a = np.exp(x) / np.sum(np.exp(x))
    J = ad.jacobian(ad.softmax)(x)  # (C, C), one backward pass per output
    check("softmax Jacobian: engine vs a_i (delta_ij - a_j)", J, np.diag(a) - np.outer(a, a))
    off = ~np.eye(C, dtype=bool)
    check("its off-diagonal entries: engine vs -a_i a_j", J[off], -np.outer(a, a)[off])
    check("softmax Jacobian: engine vs finite differences", J,
          ad.numerical_jacobian(ad.softmax, [x], 0), rtol=1e-6, atol=1e-9)

    # -- 3. softmax, then cross-entropy: the gradient is a - y ----------------------------
    logits = rng.standard_normal((N, C))
    A = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    composed = ad.Tensor(logits, requires_grad=True)
    ad.losses.cross_entropy(ad.softmax(composed, axis=1), labels).backward()
    check("df/dx times N for CE(softmax(x)), composed: engine vs a - y", composed.grad * N, A - y)
    # The chain rule of the derivation, row by row: (-y / a) times the softmax Jacobian.
    by_chain = np.stack([(-y[n] / A[n]) @ (np.diag(A[n]) - np.outer(A[n], A[n])) for n in range(N)])
    check("(-y/a) times the Jacobian a_i(delta_ij - a_j): vs a - y", by_chain, A - y)
    fused = ad.Tensor(logits, requires_grad=True)
    ad.losses.softmax_cross_entropy(fused, labels).backward()
    check("df/dx times N for the fused softmax_cross_entropy: engine vs a - y", fused.grad * N, A - y)
    ad.check_grads(lambda x: ad.losses.softmax_cross_entropy(x, labels), logits)
    print("ok: softmax + cross-entropy has the gradient a - y")


if __name__ == "__main__":
    main()
