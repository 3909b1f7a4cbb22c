"""1. A computational graph and its backward pass, by hand and by `backward()`.

The function is one sigmoid neuron written out gate by gate:

    f(w, x) = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))

Forward, each gate computes its output from its inputs. Backward, each gate multiplies the
gradient arriving from above (d f / d output) by its *local* derivative (d output / d input)
and passes the product down: that is the chain rule, one gate at a time. Where a value feeds
two gates its gradients add up. The engine does exactly this, in reverse topological order.

Run: python docs/examples/e01_graph_by_hand.py   (after `pip install -e .`, or with PYTHONPATH=.)
"""

import math

import numpy as np

import autodiff as ad
from checking import check  # prints engine and oracle values, raises on a mismatch
from autodiff import viz


def main():
    w0, x0, w1, x1, w2 = 2.0, -1.0, -3.0, -2.0, -3.0

    # -- forward, by hand: one line per gate ----------------------------------------------
    a = w0 * x0          # mul
    b = w1 * x1          # mul
    s1 = a + b           # add
    s = s1 + w2          # add
    n = -s               # neg
    e = math.exp(n)      # exp
    d = 1.0 + e          # add a constant
    f = 1.0 / d          # div: 1/d

    # -- backward, by hand: start from df/df = 1 and walk the gates in reverse -----------
    df = 1.0
    dd = df * (-1.0 / d**2)   # d(1/d)/dd = -1/d^2
    de = dd * 1.0             # d(1 + e)/de = 1
    dn = de * e               # d exp(n)/dn = exp(n)
    ds = dn * -1.0            # d(-s)/ds = -1
    ds1, dw2 = ds * 1.0, ds * 1.0   # an add passes the gradient to both inputs unchanged
    da, db = ds1 * 1.0, ds1 * 1.0
    dw0, dx0 = da * x0, da * w0     # a mul sends each input the *other* input times the gradient
    dw1, dx1 = db * x1, db * w1

    # -- the same graph built with the engine ---------------------------------------------
    leaves = [ad.Tensor(v, requires_grad=True) for v in (w0, x0, w1, x1, w2)]
    tw0, tx0, tw1, tx1, tw2 = leaves
    ts = tw0 * tx0 + tw1 * tx1 + tw2
    ts.retain_grad()  # an interior node: ask backward() to keep its gradient too
    tf = 1.0 / (1.0 + ad.exp(-ts))
    g = viz.graph(tf)
    print("the engine's graph, inputs first:", " -> ".join(node._op for node in g.nodes))
    tf.backward()

    check("forward value f", tf.item(), f)
    check("gradients [w0, x0, w1, x1, w2]: backward() vs by hand",
          [t.grad for t in leaves], [dw0, dx0, dw1, dx1, dw2])
    check("df/ds: backward() vs by hand", ts.grad, ds)
    # The gates from s to f form a sigmoid, so the chain collapses to sigmoid' = f (1 - f).
    check("df/ds: backward() vs the closed form f (1 - f)", ts.grad, f * (1 - f))
    # And both against central finite differences of the plain-Python function.
    def plain(v):
        return 1.0 / (1.0 + math.exp(-(v[0] * v[1] + v[2] * v[3] + v[4])))
    point, eps = np.array([w0, x0, w1, x1, w2]), 1e-6
    numeric = [(plain(point + eps * u) - plain(point - eps * u)) / (2 * eps) for u in np.eye(5)]
    check("gradients: backward() vs finite differences", [t.grad for t in leaves], numeric, rtol=1e-6)
    print("ok: the backward pass by hand and backward() agree")


if __name__ == "__main__":
    main()
