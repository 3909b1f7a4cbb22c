"""3. Sigmoid, ReLU and tanh, and their derivatives.

    sigmoid(x) = 1 / (1 + e^-x)    sigmoid'(x) = e^-x / (1 + e^-x)^2 = sigmoid(x) (1 - sigmoid(x))
    relu(x) = max(x, 0)            relu'(x) = 1 for x > 0, 0 for x < 0 (0 is taken at x = 0)
    tanh(x) = (e^2x - 1)/(e^2x + 1)  tanh'(x) = 4 e^2x / (e^2x + 1)^2 = 1 - tanh(x)^2

The closed forms on the left of each derivative are the oracles here, on [-5, 5] where e^2x
is harmless; the engine computes the forms on the right (s (1 - s), 1 - tanh^2), which never
overflow -- 4 e^2x / (e^2x + 1)^2 is inf/inf = NaN for x above ~355.

The functions act elementwise, so their Jacobians are diagonal: one backward pass with a
cotangent of ones returns every f'(x_i) at once.

Run: python docs/examples/e03_activations.py   (after `pip install -e .`, or with PYTHONPATH=.)
"""

import numpy as np

import autodiff as ad
from checking import check  # prints engine and oracle values, raises on a mismatch


def derivative(f, x):
    """f'(x) elementwise, by one backward pass with a cotangent of ones. x: (K,) -> (K,)."""
    t = ad.Tensor(x, requires_grad=True)
    f(t).backward(np.ones_like(x))
    return t.grad


def main():
    x = np.linspace(-5.0, 5.0, 12)  # an even count: 0 (relu's kink) is not on the grid
    e, e2 = np.exp(-x), np.exp(2 * x)
    s = 1.0 / (1.0 + e)

    check("sigmoid(x): engine vs 1 / (1 + e^-x)", ad.sigmoid(x).data, s)
    check("sigmoid'(x): engine vs e^-x / (1 + e^-x)^2", derivative(ad.sigmoid, x), e / (1 + e) ** 2)
    check("relu'(x): engine vs the step x > 0", derivative(ad.relu, x), (x > 0).astype(float))
    check("tanh(x): engine vs (e^2x - 1) / (e^2x + 1)", ad.tanh(x).data, (e2 - 1) / (e2 + 1))
    check("tanh'(x): engine vs 4 e^2x / (e^2x + 1)^2", derivative(ad.tanh, x), 4 * e2 / (e2 + 1) ** 2)

    # Far out, the closed form breaks down and the engine's form does not.
    with np.errstate(over="ignore", invalid="ignore"):
        big = np.array([400.0])
        print(f"at x = 400: closed form {4 * np.exp(800) / (np.exp(800) + 1) ** 2}, "
              f"engine {derivative(ad.tanh, big)[0]}")
    if not np.all(np.isfinite(derivative(ad.tanh, np.array([-400.0, 400.0])))):
        raise AssertionError("tanh' overflowed in the engine")

    # Finite differences, the other oracle (the checker raises with both values on a mismatch).
    for f in (ad.sigmoid, ad.relu, ad.tanh):
        ad.check_grads(f, x)
    print("ok: the engine's activation derivatives match the closed forms and finite differences")


if __name__ == "__main__":
    main()
