"""6. The regularization loss y * sum_i x_i^2 and its gradient 2 y x_i.

L2 regularization adds y * sum_i x_i^2 to a loss: it grows with every weight's square, so
gradient descent also pulls each weight towards 0. Each x_i appears in exactly one term, so

    d/dx_i (y * sum_j x_j^2) = y * 2 x_i

and a gradient step x <- x - lr * 2 y x = (1 - 2 lr y) x shrinks the weights by a constant
factor: "weight decay". `ad.losses.l2_regularization(params, y)` sums over every parameter
tensor it is given (a sum, not a mean).

Run: python docs/examples/e06_regularization.py   (after `pip install -e .`, or with PYTHONPATH=.)
"""

import numpy as np

import autodiff as ad
from checking import check  # prints engine and oracle values, raises on a mismatch


def main():
    rng = np.random.default_rng(6)
    y = 0.05
    W = ad.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = ad.Tensor(rng.standard_normal(2), requires_grad=True)

    loss = ad.losses.l2_regularization([W, b], y)
    loss.backward()
    check("loss: engine vs y * sum of squares", loss.item(), y * (np.sum(W.data**2) + np.sum(b.data**2)))
    check("dL/dW: engine vs 2 y W", W.grad, 2 * y * W.data)
    check("dL/db: engine vs 2 y b", b.grad, 2 * y * b.data)

    # Written out with plain ops, the same graph: y * sum(x * x).
    x = ad.Tensor(rng.standard_normal(5), requires_grad=True)
    (y * ad.sum(x * x)).backward()
    check("y * sum(x * x) by plain ops: engine vs 2 y x", x.grad, 2 * y * x.data)
    ad.check_grads(lambda x: ad.losses.l2_regularization(x, y), x.data)

    # One gradient step is a decay by the factor (1 - 2 lr y).
    lr = 0.5
    check("one step x - lr * grad: engine vs (1 - 2 lr y) x", x.data - lr * x.grad, (1 - 2 * lr * y) * x.data)
    print("ok: the gradient of y * sum x_i^2 is 2 y x_i")


if __name__ == "__main__":
    main()
