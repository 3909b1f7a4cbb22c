"""4. The logistic loss log(1 + e^(-x y)), its derivative, and training a linear classifier.

For a score x and a label y in {-1, +1}, the logistic loss is L = log(1 + e^(-x y)):
about 0 when x has the label's sign by a wide margin, about -x y when it has the wrong sign.
Its derivative, by the chain rule through log and exp:

    dL/dx = (1 / (1 + e^(-x y))) * e^(-x y) * (-y) = -y / (e^(x y) + 1)

`ad.losses.logistic_loss` is the *mean* over N samples, so each per-sample derivative arrives
divided by N. With scores x = X w + b, the gradients are dL/dw = X^T (dL/dx) and dL/db =
sum(dL/dx): gradient descent on them trains a linear classifier.

Run: python docs/examples/e04_logistic_regression.py   (after `pip install -e .`, or with PYTHONPATH=.)
"""

import numpy as np

import autodiff as ad
from checking import check  # prints engine and oracle values, raises on a mismatch


def main():
    # -- the loss and its derivative on a few scores --------------------------------------
    x = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    y = np.array([1.0, -1.0, 1.0, 1.0, -1.0])
    scores = ad.Tensor(x, requires_grad=True)
    loss = ad.losses.logistic_loss(scores, y)
    loss.backward()
    n = len(x)
    check("loss: engine vs mean of log(1 + e^(-x y))", loss.item(), np.mean(np.log1p(np.exp(-x * y))))
    check("dL/dx times N: engine vs -y / (1 + e^(x y))", scores.grad * n, -y / (1 + np.exp(x * y)))

    # -- training: two Gaussian blobs in 2-D, labels -1 and +1 --------------------------------
    rng = np.random.default_rng(4)
    m = 100
    X = np.vstack([rng.normal([-1.5, -1.0], 0.8, (m, 2)), rng.normal([1.5, 1.0], 0.8, (m, 2))])
    labels = np.concatenate([-np.ones(m), np.ones(m)])
    w = ad.Tensor(np.zeros(2), requires_grad=True)
    b = ad.Tensor(0.0, requires_grad=True)

    def accuracy_of(w, b):  # predict +1 where the score is positive, else -1
        return np.mean(np.where(X @ w.data + b.data > 0, 1.0, -1.0) == labels)

    def objective(w, b):
        return ad.losses.logistic_loss(ad.Tensor(X) @ w + b, labels)

    # The gradient the engine gives at the start, against the closed form and finite differences.
    start = objective(w, b)
    start.backward()
    dx = -labels / (1 + np.exp(labels * (X @ w.data + b.data))) / len(labels)
    check("dL/dw at the start: engine vs X^T (-y / (1 + e^(x y))) / N", w.grad, X.T @ dx)
    ad.check_grads(objective, np.array([0.3, -0.2]), np.array(0.1))

    lr = 0.5
    for step in range(201):
        w.zero_grad()
        b.zero_grad()
        loss = objective(w, b)
        loss.backward()
        if step % 50 == 0:
            print(f"step {step:3d}: loss {loss.item():.4f}, accuracy {accuracy_of(w, b):.3f}")
        w.data = w.data - lr * w.grad
        b.data = b.data - lr * b.grad
    accuracy = accuracy_of(w, b)
    if not (loss.item() < 0.5 * start.item() and accuracy >= 0.95):
        raise AssertionError(f"training failed: loss {start.item():.4f} -> {loss.item():.4f}, accuracy {accuracy}")
    print(f"ok: trained w = {np.round(w.data, 3)}, b = {b.item():.3f}, accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
