"""Training speed and accuracy of the engine's MLPs, against references measured in the same run.

    python -m benchmarks.training            # the full protocol (about 25 s)
    python -m benchmarks.training --quick    # tiny sizes, a couple of seconds

1. Digits 64-128-10 ReLU MLP, 30 epochs, minibatch 64, SGD momentum 0.9, lr 0.05, on the fixed
   split (seed-0 permutation, first 80% train, standardised on it): armgrad (`autodiff.nn` +
   `autodiff.optim`) next to a hand-written numpy backprop of the same network and torch eager
   (float64, one thread) where importable. All three start from the same weights and see the
   same batches, so their accuracies agree to rounding.
2. One epoch of a 784-256-10 ReLU MLP on 60,000 synthetic samples, minibatch 128, shuffled, with
   SGD momentum 0.9 and again with plain SGD: armgrad next to numpy doing only that epoch's five
   matrix products (two forward, two weight gradients, one hidden-layer gradient): the floor.
   What armgrad adds on top: gathering the shuffled batch, bias, ReLU, softmax cross-entropy, the
   engine's bookkeeping, and the parameter update (momentum reads and writes three 784x256 arrays
   per step, which is most of the difference between the two rows).

Every time is the best of `--repeats` runs, the implementations interleaved so that a busy
machine slows them alike. BLAS runs on one thread (threadpoolctl, when installed). Targets:
digits no slower than torch eager and test accuracy >= 0.975; the big epoch within 1.2x the floor.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks import blas_threads

DIGITS_SIZES = (64, 128, 10)
LR, MOMENTUM = 0.05, 0.9


def _limit_threads():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None, "threadpoolctl not installed: BLAS thread count left as it is"
    return threadpool_limits(1), "BLAS limited to 1 thread"


def _init_weights(sizes, seed):
    """He-normal weights, zero biases: the same numbers for every implementation."""
    import autodiff as ad
    model = ad.nn.MLP(list(sizes), activation="relu", seed=seed)
    return [(layer.weight.data.copy(), layer.bias.data.copy()) for layer in model.layers]


def _batch_orders(n, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    orders = []
    for _ in range(epochs):
        perm = rng.permutation(n)
        orders.append([perm[i:i + batch_size] for i in range(0, n, batch_size)])
    return orders


# -- the three implementations of one training run -------------------------------------------------

def train_armgrad(X, y, weights, orders, lr=LR, momentum=MOMENTUM):
    import autodiff as ad
    sizes = [weights[0][0].shape[0]] + [w.shape[1] for w, _ in weights]
    model = ad.nn.MLP(sizes, activation="relu", seed=0)
    model.load_state_dict({f"layers.{i}.{k}": v for i, (w, b) in enumerate(weights)
                           for k, v in (("weight", w), ("bias", b))})
    opt = ad.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss_fn = ad.losses.softmax_cross_entropy
    start = time.perf_counter()
    for epoch in orders:
        for idx in epoch:
            loss = loss_fn(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    elapsed = time.perf_counter() - start
    return elapsed, lambda Xt: _predict_armgrad(model, Xt)


def _predict_armgrad(model, X):
    import autodiff as ad
    with ad.no_grad():
        return model(X).data.argmax(axis=1)


def train_numpy(X, y, weights, orders, lr=LR, momentum=MOMENTUM):
    """Hand-written backprop: affine -> relu -> ... -> affine -> softmax cross-entropy."""
    params = [a.copy() for pair in weights for a in pair]
    velocity = [np.zeros_like(p) for p in params]
    n_layers = len(weights)
    start = time.perf_counter()
    for epoch in orders:
        for idx in epoch:
            xb, yb = X[idx], y[idx]
            acts = [xb]
            h = xb
            for i in range(n_layers):
                z = h @ params[2 * i] + params[2 * i + 1]
                h = np.maximum(z, 0.0) if i < n_layers - 1 else z
                acts.append(h)
            z = acts[-1]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            g = e / e.sum(axis=1, keepdims=True)
            g[np.arange(len(yb)), yb] -= 1.0
            g /= len(yb)
            grads = [None] * len(params)
            for i in reversed(range(n_layers)):
                grads[2 * i] = acts[i].T @ g
                grads[2 * i + 1] = g.sum(axis=0)
                if i:
                    g = (g @ params[2 * i].T) * (acts[i] > 0)
            for p, v, gr in zip(params, velocity, grads):
                v *= momentum
                v += gr
                p -= lr * v
    elapsed = time.perf_counter() - start

    def predict(Xt):
        h = Xt
        for i in range(n_layers):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < n_layers - 1:
                h = np.maximum(h, 0.0)
        return h.argmax(axis=1)

    return elapsed, predict


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def train_torch(X, y, weights, orders, lr=LR, momentum=MOMENTUM):
    torch = _torch()
    layers = []
    for i, (w, b) in enumerate(weights):
        lin = torch.nn.Linear(w.shape[0], w.shape[1], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    batches = [[torch.from_numpy(idx) for idx in epoch] for epoch in orders]
    loss_fn = torch.nn.functional.cross_entropy
    start = time.perf_counter()
    for epoch in batches:
        for idx in epoch:
            loss = loss_fn(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    elapsed = time.perf_counter() - start

    def predict(Xtest):
        with torch.no_grad():
            return model(torch.from_numpy(Xtest)).argmax(dim=1).numpy()

    return elapsed, predict


def matmul_floor(X, weights, orders):
    """Only the matrix products of the same epochs: h = x W1, z = h W2, dW2 = hᵀ g, dh = g W2ᵀ,
    dW1 = xᵀ dh (g stands in for the loss gradient). Contiguous slices: no gathering either."""
    (W1, _), (W2, _) = weights
    batch = len(orders[0][0])
    n = sum(len(idx) for idx in orders[0])
    start = time.perf_counter()
    for _ in orders:
        for s in range(0, n, batch):
            x = X[s:s + batch]
            h = x @ W1
            g = h @ W2
            dW2 = h.T @ g  # noqa: F841 - the work is the point
            dh = g @ W2.T
            dW1 = x.T @ dh  # noqa: F841
    return time.perf_counter() - start


# -- the protocol ----------------------------------------------------------------------------------

def _best(runs):
    return min(runs)


def bench_digits(quick, repeats, out):
    try:
        from demos.datasets import load_digits
        d = load_digits()
        name = "digits 64-128-10"
    except ImportError as err:
        out(f"digits: skipped: {err}")
        return None
    epochs = 3 if quick else 30
    weights = _init_weights(DIGITS_SIZES, seed=0)
    orders = _batch_orders(len(d.y_train), 64, epochs, seed=0)
    impls = [("armgrad", train_armgrad), ("numpy by hand", train_numpy)]
    torch = _torch()
    if torch is not None:
        impls.append(("torch eager", train_torch))
    times = {k: [] for k, _ in impls}
    acc = {}
    for _ in range(repeats):
        for label, fn in impls:
            elapsed, predict = fn(d.X_train, d.y_train, weights, orders)
            times[label].append(elapsed)
            acc[label] = float(np.mean(predict(d.X_test) == d.y_test))
    best = {k: _best(v) for k, v in times.items()}
    out(f"\n{name} ReLU MLP, {epochs} epochs, minibatch 64, SGD momentum {MOMENTUM} lr {LR}, "
        f"{len(d.y_train)} train / {len(d.y_test)} test (best of {repeats})")
    out(f"  {'implementation':<16}{'time s':>9}{'test acc':>10}{'armgrad / it':>14}")
    for label, _ in impls:
        ratio = best["armgrad"] / best[label]
        out(f"  {label:<16}{best[label]:>9.3f}{acc[label]:>10.4f}{ratio:>14.2f}")
    if torch is None:
        out("  torch eager: skipped: torch not installed")
    return {"time": best, "accuracy": acc, "epochs": epochs}


def bench_big_epoch(quick, repeats, out):
    n = 2_000 if quick else 60_000
    sizes = (784, 256, 10)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n)
    weights = _init_weights(sizes, seed=0)
    orders = _batch_orders(n, 128, 1, seed=0)
    times = {"armgrad": [], "armgrad, plain SGD": [], "numpy matmuls (floor)": []}
    for _ in range(repeats):
        times["armgrad"].append(train_armgrad(X, y, weights, orders, lr=0.01)[0])
        times["armgrad, plain SGD"].append(train_armgrad(X, y, weights, orders, lr=0.01, momentum=0.0)[0])
        times["numpy matmuls (floor)"].append(matmul_floor(X, weights, orders))
    best = {k: _best(v) for k, v in times.items()}
    out(f"\nMLP 784-256-10, 1 epoch of {n} synthetic samples, minibatch 128, shuffled, SGD momentum "
        f"{MOMENTUM} (plain SGD on the second row; best of {repeats})")
    out(f"  {'implementation':<24}{'time s':>9}{'/ floor':>9}")
    floor = best["numpy matmuls (floor)"]
    for label, t in best.items():
        out(f"  {label:<24}{t:>9.3f}{t / floor:>9.2f}")
    return {"time": best, "samples": n}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.training",
        description="MLP training speed and accuracy against hand-written numpy, torch eager and "
                    "numpy's bare matrix products, measured in the same run.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a couple of seconds")
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs per timing, best kept (default 5; 1 with --quick)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 5)
    if repeats < 1:
        parser.error("--repeats must be >= 1")
    limiter, note = _limit_threads()
    print(f"benchmarks.training{' --quick' if args.quick else ''}: float64, {note}")
    print(blas_threads())
    try:
        digits = bench_digits(args.quick, repeats, print)
        big = bench_big_epoch(args.quick, repeats, print)
    finally:
        if limiter is not None:
            limiter.unregister() if hasattr(limiter, "unregister") else limiter.restore_original_limits()
    print("\ntargets" + (" (quick sizes: indicative only)" if args.quick else ""))
    if digits is not None:
        t = digits["time"]
        if "torch eager" in t:
            ok = t["armgrad"] <= t["torch eager"]
            print(f"  digits no slower than torch eager: {'reached' if ok else 'MISSED'} "
                  f"({t['armgrad']:.3f} s vs {t['torch eager']:.3f} s, ratio {t['armgrad'] / t['torch eager']:.2f})")
        else:
            print("  digits no slower than torch eager: not measured (torch not installed)")
        a = digits["accuracy"]["armgrad"]
        print(f"  digits test accuracy >= 0.975: {'reached' if a >= 0.975 else 'MISSED'} ({a:.4f})")
    floor = big["time"]["numpy matmuls (floor)"]
    for label, what in (("armgrad", f"SGD momentum {MOMENTUM}"), ("armgrad, plain SGD", "plain SGD")):
        r = big["time"][label] / floor
        print(f"  big epoch within 1.2x of the bare matrix products, {what}: "
              f"{'reached' if r <= 1.2 else 'MISSED'} ({r:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
