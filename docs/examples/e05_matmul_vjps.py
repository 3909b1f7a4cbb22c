"""5. Matrix multiplication and its vector-Jacobian products: v Y^T and X^T v.

Z = X Y with X (m, k), Y (k, n), Z (m, n): Z_ij = sum_k X_ik Y_kj. Given the upstream gradient
v = dL/dZ (shape (m, n)), the chain rule sums over every Z_ij an input entry touches:

    dL/dX_ik = sum_j v_ij Y_kj  = (v Y^T)_ik     shape (m, n)(n, k) = (m, k), as X
    dL/dY_kj = sum_i X_ik v_ij  = (X^T v)_kj     shape (k, m)(m, n) = (k, n), as Y

The full Jacobian dZ/dX has m*n*m*k entries, mostly zeros; the VJP never builds it -- one
matrix product gives the whole gradient. Checking the shapes is the quickest way to remember
which side the transpose goes on.

Run: python docs/examples/e05_matmul_vjps.py   (after `pip install -e .`, or with PYTHONPATH=.)
"""

import numpy as np

import autodiff as ad
from checking import check  # prints engine and oracle values, raises on a mismatch


def main():
    rng = np.random.default_rng(5)
    m, k, n = 2, 3, 4
    X = ad.Tensor(rng.standard_normal((m, k)), requires_grad=True)
    Y = ad.Tensor(rng.standard_normal((k, n)), requires_grad=True)
    v = rng.standard_normal((m, n))  # the upstream gradient dL/dZ

    Z = X @ Y
    Z.backward(v)  # backward with a cotangent: exactly one VJP through the product
    check("dL/dX: engine vs v Y^T", X.grad, v @ Y.data.T)
    check("dL/dY: engine vs X^T v", Y.grad, X.data.T @ v)
    # Entry by entry, the sum the products stand for.
    by_sum = np.array([[sum(v[i, j] * Y.data[p, j] for j in range(n)) for p in range(k)] for i in range(m)])
    check("dL/dX: engine vs the sum over j of v_ij Y_kj", X.grad, by_sum)

    # The full Jacobian from finite differences, contracted with v, gives the same VJP.
    J = ad.numerical_jacobian(lambda X, Y: X @ Y, [X.data, Y.data], 0)  # (m*n, m*k)
    print(f"the full Jacobian dZ/dX has shape {J.shape} and {np.sum(np.abs(J) > 1e-9)} nonzero entries")
    check("dL/dX: engine vs v^T J from finite differences", X.grad, (v.ravel() @ J).reshape(m, k), rtol=1e-6)

    # A vector on the left is a row: (k,) @ (k, n) -> (n,); its gradient is Y v, shape (k,).
    x = ad.Tensor(rng.standard_normal(k), requires_grad=True)
    u = rng.standard_normal(n)
    (x @ Y.detach()).backward(u)
    check("vector @ matrix: dL/dx engine vs Y u", x.grad, Y.data @ u)
    print("ok: the matmul VJPs are v Y^T and X^T v")


if __name__ == "__main__":
    main()
