"""2. The gradient of a broadcast: an (N, D) + (D,) bias, and what its gradient sums over.

Y = X + b with X of shape (N, D) and b of shape (D,) adds the same bias row to each of the N
rows: numpy broadcasts b to (N, D) as if it were copied N times. Each copy of b_j touches one
output Y_nj, so by the chain rule b_j collects the gradient of every output it touched:

    dL/db_j = sum_n dL/dY_nj      -- the gradient *sums over the broadcast axis* (axis 0)
    dL/dX_nj = dL/dY_nj           -- X was not broadcast: its gradient passes through

A bias of shape (N, 1) is stretched along axis 1 instead, so its gradient sums over axis 1
and keeps that axis. The engine's ops never handle this themselves: one helper, `unbroadcast`,
sums every cotangent back to its input's shape.

Run: python docs/examples/e02_broadcasting.py   (after `pip install -e .`, or with PYTHONPATH=.)
"""

import numpy as np

import autodiff as ad
from checking import check  # prints engine and oracle values, raises on a mismatch


def main():
    rng = np.random.default_rng(2)
    N, D = 4, 3
    X = ad.Tensor(rng.standard_normal((N, D)), requires_grad=True)
    b = ad.Tensor(rng.standard_normal(D), requires_grad=True)
    c = ad.Tensor(rng.standard_normal((N, 1)), requires_grad=True)
    # An arbitrary upstream gradient G = dL/dY: L = sum(Y * G) has exactly that gradient.
    G = rng.standard_normal((N, D))

    Y = X + b
    print(f"X {X.shape} + b {b.shape} -> Y {Y.shape}")
    ad.sum(Y * G).backward()
    check("dL/db (shape (D,)): engine vs G summed over the N rows", b.grad, G.sum(axis=0))
    check("dL/dX (shape (N, D)): engine vs G itself", X.grad, G)

    Z = X.detach() + c
    print(f"X {X.shape} + c {c.shape} -> Z {Z.shape}")
    ad.sum(Z * G).backward()
    check("dL/dc (shape (N, 1)): engine vs G summed over the D columns", c.grad, G.sum(axis=1, keepdims=True))

    # Finite differences agree (the checker raises with both values on a mismatch).
    ad.check_grads(lambda X, b: (X + b) * G, X.data, b.data)
    numeric = ad.numerical_jacobian(lambda X, b: ad.sum((X + b) * G), [X.data, b.data], 1)[0]
    check("dL/db: engine vs central finite differences", b.grad, numeric, rtol=1e-6)
    print("ok: a broadcast input's gradient is the upstream gradient summed over the broadcast axes")


if __name__ == "__main__":
    main()
