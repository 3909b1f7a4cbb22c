"""`armgrad train`: train an MLP classifier with the engine, with a progress bar and pictures.

    armgrad train --dataset spirals --hidden 64,64 --epochs 200 --out runs/spirals
    python -m demos.train --dataset digits --hidden 128 --optimizer sgd --lr 0.05 --epochs 30

The pieces are importable: `build_model`, `make_objective`, `fit` (minibatch training with early
stopping on a validation split), `evaluate` (loss, accuracy, confusion matrix) and the three
plots. Everything random (initial weights, validation split, batch order) derives from one seed,
so a run reproduces exactly.

Glossary: X features (N, D); y integer labels (N,); k classes; logits the network's (N, k)
outputs (or (N, 1) scores for the logistic loss).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field

import numpy as np

import autodiff as ad
from autodiff.files import atomic_output
from demos import common, datasets
from demos.cli import CommandError

LOSSES = ("softmax-ce", "logistic", "ce")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("none", "step", "cosine")
DEFAULT_EPOCHS = {"spirals": 200, "moons": 100, "circles": 100, "blobs": 50, "digits": 30, "mnist": 5}
DEFAULT_LR = {"sgd": 0.05, "adam": 0.01}
EVAL_BATCH = 4096  # rows per forward pass when evaluating or drawing decision regions
MAX_MEMORY = 8 * 2 ** 30  # the memory bound where the available memory cannot be read

EXAMPLES = """\
examples:
  armgrad train --dataset spirals --hidden 64,64 --epochs 200 --out runs/spirals
  armgrad train --dataset moons --loss logistic --activation tanh --out runs/moons
  armgrad train --dataset digits --hidden 128 --optimizer sgd --lr 0.05 --epochs 30 --out runs/digits
  armgrad train --dataset mnist --data-dir ~/data/mnist --hidden 256 --batch-size 128 --epochs 5

It writes into --out: curves.png (loss and accuracy per epoch), regions.png (decision regions,
2-D sets) or confusion.png (digits, MNIST), params.npz (the trained parameters) and run.json
(the settings and final figures). mnist reads the four IDX files (plain or .gz) from --data-dir;
nothing is downloaded.
"""


# -- model, loss, training --------------------------------------------------------------------------

def parse_hidden(text: str) -> list:
    """'64,64' -> [64, 64]; '' or 'none' -> [] (a linear model)."""
    text = text.strip()
    if text.lower() in ("", "none"):
        return []
    try:
        widths = [int(part) for part in text.split(",")]
    except ValueError:
        widths = None
    if not widths or any(w < 1 for w in widths):
        raise CommandError(f"--hidden expects comma-separated positive widths such as 64,64, got {text!r}")
    return widths


def build_model(n_features: int, n_classes: int, hidden, activation: str = "relu", loss: str = "softmax-ce",
                seed: int = 0) -> ad.nn.MLP:
    """An MLP [n_features, *hidden, k] (k = 1 score for the logistic loss, else n_classes)."""
    n_out = 1 if loss == "logistic" else n_classes
    return ad.nn.MLP([n_features, *hidden, n_out], activation=activation, seed=seed)


def make_objective(loss: str, n_classes: int):
    """The data loss and the prediction rule for a loss name.

    Returns:
        (loss_fn, predict): loss_fn(outputs Tensor, y int labels) -> scalar Tensor (a batch
        mean); predict(outputs array) -> int labels.

    Raises:
        CommandError: unknown loss, or the logistic loss with other than two classes.
    """
    if loss == "softmax-ce":
        return ad.losses.softmax_cross_entropy, lambda out: out.argmax(axis=1)
    if loss == "ce":
        return (lambda out, y: ad.losses.cross_entropy(ad.softmax(out, axis=1), y)), lambda out: out.argmax(axis=1)
    if loss == "logistic":
        if n_classes != 2:
            raise CommandError(
                f"--loss logistic needs two classes, this dataset has {n_classes} "
                "(use moons or circles, --arms 2, or --loss softmax-ce)"
            )
        return (lambda out, y: ad.losses.logistic_loss(out, 2.0 * np.asarray(y) - 1.0)), \
            lambda out: (out[:, 0] > 0).astype(np.int64)
    raise CommandError(f"--loss must be one of {', '.join(LOSSES)}, got {loss!r}")


def make_optimizer(name: str, params, lr: float, momentum: float = 0.9, nesterov: bool = False):
    if name == "sgd":
        return ad.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov)
    if name == "adam":
        return ad.optim.Adam(params, lr=lr)
    raise CommandError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(k, k) counts: row = true class, column = predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    confusion: np.ndarray


def evaluate(model, X, y, loss: str, n_classes: int, batch_size: int = EVAL_BATCH) -> Evaluation:
    """Data loss, accuracy and confusion matrix of `model` on (X, y), without recording a graph."""
    loss_fn, predict = make_objective(loss, n_classes)
    total, preds = 0.0, []
    was_training = model.training
    model.eval()
    with ad.no_grad():
        for start in range(0, len(y), batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            out = model(xb)
            total += float(loss_fn(out, yb).data) * len(yb)
            preds.append(predict(out.data))
    model.train(was_training)
    pred = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    return Evaluation(total / max(len(y), 1), float(np.mean(pred == y)) if len(y) else float("nan"),
                      confusion_matrix(y, pred, n_classes))


class TrainingDiverged(ValueError):
    """The loss (or the network's output) stopped being finite: training cannot go on.

    A ValueError, so the command prints it as one line; nothing is saved.
    """


@dataclass
class History:
    """Per-epoch figures of a `fit` run (validation lists empty without a validation split)."""

    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


# Overflow in a diverging run is detected in the loop and reported as one line; numpy's warnings
# would only add noise before it.
@np.errstate(over="ignore", invalid="ignore")
def fit(model, optimizer, X, y, *, loss: str = "softmax-ce", n_classes=None, epochs: int = 10,
        batch_size: int = 64, l2: float = 0.0, X_val=None, y_val=None, patience: int = 0,
        schedule=None, seed: int = 0, progress: bool = False, log=None) -> History:
    """Minibatch training with optional early stopping on a validation split.

    Each step minimises the batch's data loss plus l2 · Σ W² over the weight matrices (biases
    are not penalised). The train figures of an epoch are means over its batches, taken while
    the weights change. With a validation split and patience > 0, training stops after
    `patience` epochs without a lower validation loss, and the weights of the best epoch are
    restored.

    Args:
        model: an `ad.nn.Module` mapping (N, D) inputs to outputs.
        optimizer: an `ad.optim` optimiser over the model's parameters.
        X, y: training features and int labels.
        loss: "softmax-ce", "ce" or "logistic".
        n_classes: number of classes (default: max label + 1).
        schedule: an `ad.optim` schedule stepped once per epoch, or None.
        seed: seeds the batch order.
        progress: show a tqdm progress bar (on stderr).
        log: called with one line of figures per epoch (e.g. print), or None.

    Raises:
        TrainingDiverged: the outputs or the objective of a batch are NaN or infinite (a learning
            rate so large that training diverges, a NaN l2); raised before that batch's step, so
            the weights are those of the last finite step.
    """
    n_classes = int(n_classes if n_classes is not None else int(np.max(y)) + 1)
    loss_fn, predict = make_objective(loss, n_classes)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    rng = np.random.default_rng(seed)
    history = History()
    use_val = X_val is not None and len(X_val) > 0
    best_loss, best_state, waited = np.inf, None, 0
    n_batches = -(-len(y) // batch_size)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=epochs * n_batches, unit="batch", desc="train", file=sys.stderr, leave=False,
                   dynamic_ncols=True)
    try:
        for epoch in range(1, epochs + 1):
            total_loss, correct = 0.0, 0
            for xb, yb in ad.data.minibatches(X, y, batch_size, rng=rng):
                out = model(xb)
                # Outputs first: NaN logits would otherwise reach the loss (and `ce` refuses NaN
                # probabilities with a message about probabilities, not about training).
                if not np.all(np.isfinite(out.data)):
                    raise _diverged(epoch, "the network's outputs", optimizer, l2)
                data_loss = loss_fn(out, yb)
                objective = data_loss + ad.losses.l2_regularization(weights, l2) if l2 else data_loss
                if not np.isfinite(objective.data):
                    raise _diverged(epoch, f"the loss ({float(objective.data)})", optimizer, l2)
                optimizer.zero_grad()
                objective.backward()
                optimizer.step()
                total_loss += float(data_loss.data) * len(yb)
                correct += int(np.sum(predict(out.data) == yb))
                if bar is not None:
                    bar.update(1)
            history.train_loss.append(total_loss / len(y))
            history.train_accuracy.append(correct / len(y))
            history.lr.append(optimizer.lr)
            line = (f"epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {history.train_loss[-1]:.4f}  "
                    f"acc {history.train_accuracy[-1]:.4f}")
            if use_val:
                ev = evaluate(model, X_val, y_val, loss, n_classes)
                history.val_loss.append(ev.loss)
                history.val_accuracy.append(ev.accuracy)
                line += f"  val_loss {ev.loss:.4f}  val_acc {ev.accuracy:.4f}"
                if ev.loss < best_loss - 1e-12:
                    best_loss, best_state, waited = ev.loss, model.state_dict(), 0
                    history.best_epoch = epoch
                else:
                    waited += 1
            else:
                history.best_epoch = epoch
            line += f"  lr {optimizer.lr:.3g}"
            if bar is not None:
                bar.set_postfix_str(
                    f"epoch {epoch} loss {history.train_loss[-1]:.4f} acc {history.train_accuracy[-1]:.3f}")
            if log is not None:
                if bar is not None:
                    bar.clear()
                log(line)
                if bar is not None:
                    bar.refresh()
            if schedule is not None:
                schedule.step()
            if use_val and patience and waited >= patience:
                history.stopped_early = True
                if log is not None:
                    log(f"early stop: no lower validation loss for {patience} epochs; "
                        f"keeping epoch {history.best_epoch}")
                break
    finally:
        if bar is not None:
            bar.close()
    if use_val and best_state is not None:
        model.load_state_dict(best_state)
    return history


def _diverged(epoch: int, what: str, optimizer, l2: float) -> TrainingDiverged:
    return TrainingDiverged(
        f"training diverged in epoch {epoch}: {what} became NaN or infinite with lr {optimizer.lr:g}, "
        f"l2 {l2:g} (try a smaller learning rate or l2)")


# -- pictures ---------------------------------------------------------------------------------------

def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save_figure(fig, path: str) -> str:
    """Write a figure to `path` through a temporary file (a full disk keeps the old picture), close it."""
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        _pyplot().close(fig)
    return path


def plot_curves(history: History, path: str, title: str = "") -> str:
    """Loss and accuracy per epoch (train, and validation when present) into one PNG."""
    plt = _pyplot()
    epochs = np.arange(1, history.epochs + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history.train_loss, label="train")
    ax_acc.plot(epochs, history.train_accuracy, label="train")
    if history.val_loss:
        ax_loss.plot(epochs, history.val_loss, label="validation")
        ax_acc.plot(epochs, history.val_accuracy, label="validation")
        for ax in (ax_loss, ax_acc):
            ax.axvline(history.best_epoch, color="grey", linestyle=":", label=f"best epoch {history.best_epoch}")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    if min(history.train_loss) > 0:
        ax_loss.set_yscale("log")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save_figure(fig, path)


def plot_decision_regions(model, dataset, loss: str, path: str, resolution: int = 300) -> str:
    """Predicted class over the plane (raw coordinates), with train (o) and test (x) points."""
    plt = _pyplot()
    _, predict = make_objective(loss, dataset.n_classes)
    raw_train = dataset.scaler.inverse_transform(dataset.X_train)
    raw_test = dataset.scaler.inverse_transform(dataset.X_test)
    everything = np.concatenate([raw_train, raw_test])
    lo, hi = everything.min(axis=0), everything.max(axis=0)
    pad = 0.1 * (hi - lo)
    gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution))
    grid = dataset.scaler.transform(np.column_stack([gx.ravel(), gy.ravel()]))
    with ad.no_grad():  # in chunks, like `evaluate`: a wide model times 90,000 rows is a lot of memory
        regions = np.concatenate([predict(model(grid[i:i + EVAL_BATCH]).data)
                                  for i in range(0, len(grid), EVAL_BATCH)]).reshape(gx.shape)
    k = dataset.n_classes
    cmap = plt.get_cmap("tab10")
    colors = [cmap(i % 10) for i in range(k)]
    from matplotlib.colors import ListedColormap
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.contourf(gx, gy, regions, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.3)
    for c in range(k):
        tr, te = dataset.y_train == c, dataset.y_test == c
        ax.scatter(raw_train[tr, 0], raw_train[tr, 1], s=12, color=colors[c], edgecolor="k", linewidth=0.3,
                   label=f"class {c}")
        ax.scatter(raw_test[te, 0], raw_test[te, 1], s=20, color=colors[c], marker="x")
    ax.set(title=f"{dataset.name}: decision regions (o train, x test)", xlabel="x1", ylabel="x2")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return _save_figure(fig, path)


def plot_confusion(cm: np.ndarray, class_names, path: str, title: str = "confusion matrix") -> str:
    """Counts with true classes as rows and predicted classes as columns."""
    plt = _pyplot()
    k = cm.shape[0]
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 1.0 + 0.5 * k))
    ax.imshow(cm, cmap="Blues")
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > threshold else "black")
    ax.set(xticks=range(k), yticks=range(k), xticklabels=class_names, yticklabels=class_names,
           xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return _save_figure(fig, path)


# -- the command ------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="spirals", choices=datasets.DATASETS, help="default: spirals")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files (for --dataset mnist)")
    parser.add_argument("--samples", type=int, default=600, help="points of a 2-D set, train and test (default 600)")
    parser.add_argument("--arms", type=int, default=3, help="spiral arms / blobs, i.e. classes (default 3)")
    parser.add_argument("--hidden", default="64,64",
                        help="hidden widths, comma-separated; 'none' for a linear model (default 64,64)")
    parser.add_argument("--activation", default="relu", choices=sorted(ad.nn.ACTIVATIONS), help="default: relu")
    parser.add_argument("--loss", default="softmax-ce", choices=LOSSES,
                        help="softmax-ce (fused), ce (cross-entropy on softmax probabilities) or logistic "
                             "(two classes, one score); default softmax-ce")
    parser.add_argument("--optimizer", default="adam", choices=OPTIMIZERS, help="default: adam")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default 0.01 for adam, 0.05 for sgd)")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    parser.add_argument("--nesterov", action="store_true", help="Nesterov momentum for SGD")
    parser.add_argument("--schedule", default="none", choices=SCHEDULES,
                        help="learning-rate schedule per epoch: step (x0.1 every third of the epochs) or cosine; "
                             "default none")
    parser.add_argument("--epochs", type=int, default=None,
                        help="maximum epochs (default: "
                             + ", ".join(f"{k} {v}" for k, v in DEFAULT_EPOCHS.items()) + ")")
    parser.add_argument("--batch-size", type=int, default=64, help="default 64")
    parser.add_argument("--l2", type=float, default=0.0, help="L2 penalty weight on the weight matrices (default 0)")
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="share of the training part held out for early stopping (default 0.1; 0 for none)")
    parser.add_argument("--patience", type=int, default=20,
                        help="epochs without a lower validation loss before stopping (default 20; 0 never stops)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the data (2-D sets), weights, validation split and batch order (default 0)")
    parser.add_argument("--out", default=None, help="folder for the pictures and parameters (default runs/<dataset>)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an MLP classifier with the engine (spirals, moons, circles, blobs, digits, MNIST)",
        description="Train an MLP classifier by backpropagation through the autodiff engine; print "
                    "per-epoch figures, then write curves, decision regions or a confusion matrix, "
                    "and the trained parameters.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def _check(args) -> None:
    # Non-finite hyperparameters would train NaN every epoch (and `nan < 0` is False): refuse them here.
    for flag, value in (("--lr", args.lr), ("--l2", args.l2), ("--momentum", args.momentum),
                        ("--val-fraction", args.val_fraction)):
        if value is not None and not math.isfinite(value):
            raise CommandError(f"{flag} must be a finite number, got {value}")
    if args.lr is not None and not args.lr > 0:
        raise CommandError(f"--lr must be positive, got {args.lr}")
    if args.epochs is not None and args.epochs < 1:
        raise CommandError(f"--epochs must be >= 1, got {args.epochs}")
    if args.batch_size < 1:
        raise CommandError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.l2 < 0:
        raise CommandError(f"--l2 must be >= 0, got {args.l2}")
    if not 0 <= args.val_fraction < 1:
        raise CommandError(f"--val-fraction must lie in [0, 1), got {args.val_fraction}")
    if args.patience < 0:
        raise CommandError(f"--patience must be >= 0, got {args.patience}")
    if not 0 <= args.momentum < 1:
        raise CommandError(f"--momentum must lie in [0, 1), got {args.momentum}")
    if args.nesterov and (args.optimizer != "sgd" or args.momentum == 0):
        raise CommandError("--nesterov needs --optimizer sgd and --momentum > 0")
    if args.samples < 10:
        raise CommandError(f"--samples must be >= 10, got {args.samples}")
    if args.arms < 2:
        raise CommandError(f"--arms must be >= 2, got {args.arms}")
    if args.dataset == "mnist" and not args.data_dir:
        raise CommandError("--dataset mnist needs --data-dir: a folder with the four MNIST IDX files (plain or .gz)")
    if args.dataset in datasets.SYNTHETIC:
        # A 2-D set: the generator, the split and the standardised copies hold about 12 floats a point.
        _check_memory("--samples", f"{args.samples:,} points", 12 * 8 * args.samples, "fewer --samples")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_memory(flag: str, what: str, nbytes: float, hint: str) -> None:
    """Refuse, before allocating, a run whose estimated memory exceeds what is available.

    Unknown available memory falls back to MAX_MEMORY, so a typo such as --hidden 100000000
    is still caught where /proc is missing.
    """
    limit = available_memory() or MAX_MEMORY
    if nbytes > limit:
        raise CommandError(f"{flag}: {what} would need about {_gib(nbytes)} of memory, more than the "
                           f"{_gib(limit)} available; use {hint}")


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2 ** 30:,.1f} GiB"


def model_memory(sizes, batch_size: int) -> tuple[int, float]:
    """(parameters, estimated bytes) of training an MLP with layer sizes `sizes`.

    Each parameter is held four times (value, gradient and two optimiser buffers); each hidden
    or output unit of a forward pass keeps about three floats per row (pre-activation,
    activation, cotangent), for the larger of a training batch and an evaluation chunk.
    """
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    rows = max(batch_size, EVAL_BATCH)
    return n_params, 8.0 * (4 * n_params + 3 * rows * sum(sizes[1:]))


def run(args) -> int:
    _check(args)
    hidden = parse_hidden(args.hidden)
    try:
        ds = datasets.load_dataset(args.dataset, data_dir=args.data_dir, n_samples=args.samples, arms=args.arms,
                                   seed=args.seed)
    except datasets.MissingDependencyError as err:
        raise CommandError(str(err)) from err
    make_objective(args.loss, ds.n_classes)  # refuses the logistic loss for k != 2 before any work
    n_out = 1 if args.loss == "logistic" else ds.n_classes
    n_params, nbytes = model_memory([ds.n_features, *hidden, n_out], min(args.batch_size, len(ds.y_train)))
    _check_memory("--hidden", f"an MLP {[ds.n_features, *hidden, n_out]} with {n_params:,} parameters", nbytes,
                  "narrower layers")
    epochs = args.epochs or DEFAULT_EPOCHS[args.dataset]
    lr = args.lr or DEFAULT_LR[args.optimizer]
    # The folder is created and tested now: a wrong --out must not cost the whole training.
    out_dir = str(common.make_output_dir(args.out or os.path.join("runs", args.dataset)))

    # Validation rows: a seeded permutation of the training part, the last val_fraction of it.
    X, y = ds.X_train, ds.y_train
    n_val = int(round(args.val_fraction * len(y)))
    if n_val and len(y) - n_val < 1:
        raise CommandError(f"--val-fraction {args.val_fraction} leaves no training rows")
    order = np.random.default_rng(args.seed + 1).permutation(len(y))
    tr, va = order[:len(y) - n_val], order[len(y) - n_val:]
    X_fit, y_fit, X_val, y_val = X[tr], y[tr], X[va], y[va]

    model = build_model(ds.n_features, ds.n_classes, hidden, args.activation, args.loss, seed=args.seed)
    optimizer = make_optimizer(args.optimizer, model.parameters(), lr, args.momentum, args.nesterov)
    schedule = None
    if args.schedule == "step":
        schedule = ad.optim.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    elif args.schedule == "cosine":
        schedule = ad.optim.CosineLR(optimizer, total=epochs)

    print(f"train: {ds!r}; validation {n_val} rows")
    print(f"model: MLP {model.sizes}, {args.activation}, {model.num_parameters()} parameters; loss {args.loss}; "
          f"{args.optimizer} lr {lr:g}{f' momentum {args.momentum:g}' if args.optimizer == 'sgd' else ''}"
          f"{' nesterov' if args.nesterov else ''}; batch {args.batch_size}; l2 {args.l2:g}; seed {args.seed}")
    history = fit(model, optimizer, X_fit, y_fit, loss=args.loss, n_classes=ds.n_classes, epochs=epochs,
                  batch_size=args.batch_size, l2=args.l2, X_val=X_val, y_val=y_val, patience=args.patience,
                  schedule=schedule, seed=args.seed, progress=not args.no_progress,
                  log=lambda line: print(line, flush=True))

    train_ev = evaluate(model, X_fit, y_fit, args.loss, ds.n_classes)
    test_ev = evaluate(model, ds.X_test, ds.y_test, args.loss, ds.n_classes)
    correct = int(np.trace(test_ev.confusion))
    print(f"final (epoch {history.best_epoch}): train accuracy {train_ev.accuracy:.4f}, "
          f"test accuracy {test_ev.accuracy:.4f} ({correct}/{len(ds.y_test)}), test loss {test_ev.loss:.4f}")
    if ds.n_classes <= 12:
        print("test confusion matrix (rows true, columns predicted):")
        width = max(3, len(str(test_ev.confusion.max())) + 1)
        print("     " + "".join(f"{c:>{width}}" for c in range(ds.n_classes)))
        for c, row in enumerate(test_ev.confusion):
            print(f"  {c:>2} " + "".join(f"{v:>{width}}" for v in row))

    # The parameters and the summary first, each announced once written: if a picture then fails
    # (a full disk), the training is kept and the user knows which files are new.
    print(f"wrote {model.save(os.path.join(out_dir, 'params.npz'))}")
    summary = {
        "dataset": ds.name, "sizes": model.sizes, "activation": args.activation, "loss": args.loss,
        "optimizer": args.optimizer, "lr": lr, "momentum": args.momentum, "nesterov": args.nesterov,
        "schedule": args.schedule, "batch_size": args.batch_size, "l2": args.l2, "seed": args.seed,
        "epochs_run": history.epochs, "best_epoch": history.best_epoch, "stopped_early": history.stopped_early,
        "train_accuracy": train_ev.accuracy, "test_accuracy": test_ev.accuracy, "test_loss": test_ev.loss,
        "scaler_mean": ds.scaler.mean.tolist(), "scaler_std": ds.scaler.std.tolist(),
        "history": {k: v for k, v in asdict(history).items() if isinstance(v, list)},
    }
    path = os.path.join(out_dir, "run.json")
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    print(f"wrote {path}")
    print(f"wrote {plot_curves(history, os.path.join(out_dir, 'curves.png'), title=f'{ds.name}: MLP {model.sizes}')}")
    if ds.n_features == 2:
        print(f"wrote {plot_decision_regions(model, ds, args.loss, os.path.join(out_dir, 'regions.png'))}")
    else:
        path = plot_confusion(test_ev.confusion, ds.class_names, os.path.join(out_dir, "confusion.png"),
                              title=f"{ds.name}: test confusion matrix (accuracy {test_ev.accuracy:.4f})")
        print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    """`python -m demos.train ...`: the same as `armgrad train ...`."""
    from demos.cli import main as cli_main
    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
