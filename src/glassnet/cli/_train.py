"""``glassnet train``: a network trained on a table, kept with its columns' encoding."""

from __future__ import annotations

import argparse

import numpy as np

from .. import trace
from ..activations import ACTIVATIONS
from ..callbacks import EarlyStopping
from ..data import split_rows
from ..model import MLP
from ..optim import OPTIMIZERS, get_optimizer
from ..schedules import CosineWarmup, Exponential, ReduceOnPlateau, StepDecay
from ..tabular import TabularEncoder, TabularModel, Target, infer_task
from ..train import fit
from ._common import UsageError, command, ints, name_option, positive_float, positive_int, seed
from ._data import (DATA_HELP, check_out_path, load_data, metrics_row, print_metrics,
                    warn_unseen)

__all__ = ["add_train"]

# --schedule NAME -> the schedule for a run of `epochs` epochs
_SCHEDULES = {"constant": lambda epochs: None,
              "step": lambda epochs: StepDecay(step_size=max(1, epochs // 3), gamma=0.1),
              "exponential": lambda epochs: Exponential(gamma=0.95),
              "cosine": lambda epochs: CosineWarmup(total_epochs=epochs),
              "plateau": lambda epochs: ReduceOnPlateau(factor=0.1, patience=5)}


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 to below 1, got {text!r}")
    return value


def _check_options(args: argparse.Namespace) -> None:
    if args.validation_fraction + args.test_fraction >= 1:
        raise UsageError(f"--validation-fraction {args.validation_fraction} and "
                         f"--test-fraction {args.test_fraction} leave no rows to train on")
    if args.early_stopping and args.validation_fraction == 0:
        raise UsageError("--early-stopping watches the validation loss: give a "
                         "--validation-fraction above 0")
    check_out_path(args.out, "--out")
    check_out_path(args.report, "--report")
    if args.report is not None:
        try:
            import matplotlib  # noqa: F401  (the report's figures)
        except ImportError:
            raise UsageError("--report needs matplotlib: pip install 'glassnet[cli]'") from None
    if not args.quiet:
        from ..progress import ProgressBar
        ProgressBar(args.epochs)  # ImportError without tqdm, before the work


def _split(n: int, fraction: float, labels, rng) -> tuple[np.ndarray, np.ndarray]:
    """(rest, held out): ``fraction`` of the ``n`` rows held out, stratified by class."""
    if fraction == 0:
        return np.arange(n), np.arange(0)
    try:
        return split_rows(n, fraction, labels, rng)
    except ValueError:
        raise UsageError(f"a fraction of {fraction} of {n} rows is too few to hold out "
                         f"(2 or more are needed, and 1 to train on)") from None


def cmd_train(args: argparse.Namespace) -> int:
    """Train a network on a table (CSV or Parquet) or a built-in data set.

    Reads DATA with pandas (a header row; comma-separated). The target is the
    --target column (default: the last one); the task is classification when the
    target holds text or at most 20 distinct integers, else regression (--task
    overrides; the choice is printed). --test-fraction of the rows is held out for
    the test, then --validation-fraction of the rest for validation, stratified by
    class. The other columns are the features: a numeric column is standardised
    with the training rows' mean and standard deviation, a column of text is one-hot
    encoded (a category seen only outside the training rows is all zeros); an empty
    cell, a NaN or inf, or a few words in a column of numbers are refused with the
    column, line and cell. The network is an MLP of --layers hidden layers, trained
    with softmax cross-entropy (classification) or the squared error of the
    standardised target (regression), with a progress bar of the loss and the
    validation metrics. Then a table of the train, validation and test metrics, and
    with --out the model file (the network with the columns' encoding, for
    'glassnet evaluate' and 'glassnet predict'), with --report an HTML report of the
    network on the test rows (else the validation or the training rows).

    exit status: 0 on success; 2 on bad usage or bad data (one 'error:' line,
    nothing written, an existing --out file untouched).
    """
    _check_options(args)
    table = load_data(args.data, rows=args.rows, noise=args.noise, seed=args.seed)
    columns = [str(c) for c in table.frame.columns]
    target = columns[-1] if args.target is None else args.target
    if target not in columns:
        raise UsageError(f"--target {target}: {table.name} has no such column; it has "
                         f"{', '.join(map(repr, columns[:20]))}{', ...' if len(columns) > 20 else ''}")
    if len(columns) < 2:
        raise UsageError(f"{table.name}: has one column, the target: no features to learn from")
    key = table.frame.columns[columns.index(target)]
    task, why = infer_task(table, key) if args.task is None else (args.task, "--task")
    trace.emit(f"task: {task} ({why}{'' if args.task else '; --task to choose'})")
    goal = Target.fit(table, key, task)
    y = goal.encode(table, key)
    rng = np.random.default_rng(args.seed)
    labels = y if task == "classification" else None
    rest, test = _split(len(y), args.test_fraction, labels, rng)
    share = args.validation_fraction / (1 - args.test_fraction)  # of the rows left
    train_at, val_at = _split(len(rest), share, None if labels is None else labels[rest], rng)
    train, val = rest[train_at], rest[val_at]
    features = [c for c in table.frame.columns if str(c) != target]
    encoder = TabularEncoder.fit(table.rows(train), features)
    splits = {}
    for name, rows in (("train", train), ("validation", val), ("test", test)):
        if len(rows):
            X, unseen = encoder.transform(table.rows(rows), args.dtype)
            warn_unseen(unseen, f" of the {name} rows")
            splits[name] = (X, y[rows])
    sizes = [encoder.width, *args.layers, goal.n_outputs]
    activation = args.activation if len(args.activation) > 1 else args.activation[0]
    model = MLP(sizes, activation=activation, dropout=args.dropout, dtype=args.dtype,
                seed=args.seed)
    trace.emit(f"{len(train)} training, {len(val)} validation and {len(test)} test rows; "
               f"network {'-'.join(map(str, sizes))}, {args.optimizer} at lr {args.lr}, "
               f"{args.epochs} epochs")
    history = fit(model, *splits["train"], loss="cross_entropy" if task == "classification"
                  else "mse", optimizer=get_optimizer(args.optimizer, lr=args.lr),
                  epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                  validation_data=splits.get("validation"), l2=args.l2,
                  schedule=_SCHEDULES[args.schedule](args.epochs),
                  callbacks=[EarlyStopping(patience=args.patience)] if args.early_stopping else [],
                  progress=not args.quiet)
    result = TabularModel(model, encoder, goal, history)
    print_metrics({name: (len(yy), metrics_row(result, result.outputs(X), yy))
                   for name, (X, yy) in splits.items()})
    if args.report is not None:
        from ..report import report
        shown = next(s for s in ("test", "validation", "train") if s in splits)
        report(model, args.report, *splits[shown], history=history,
               loss="cross_entropy" if task == "classification" else "mse",
               title=f"glassnet train {args.data}: {goal.name} ({shown} rows)")
        trace.emit(f"report written to {args.report}")
    if args.out is not None:
        from ..io import save
        save(result, args.out)
        trace.emit(f"model written to {args.out}")
    else:
        trace.emit("model not kept: --out model.safetensors keeps it")
    return 0


def _activations(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in ACTIVATIONS:
            raise argparse.ArgumentTypeError(
                f"unknown activation {name!r}; one of: {', '.join(sorted(ACTIVATIONS))}")
    return [ACTIVATIONS.canonical(name) for name in names]


def add_train(sub, common) -> None:
    p = command(sub, cmd_train, parents=[common], epilog="""\
examples:
  glassnet train iris --out iris.safetensors
  glassnet train moons --rows 1000 --noise 0.3 --layers 32,32 --report moons.html
  glassnet train diabetes --layers 32 --epochs 200 --early-stopping --out diabetes.safetensors
  glassnet train iris --schedule cosine --epochs 100 --dropout 0.1 --seed 3 --quiet""")
    p.add_argument("data", metavar="DATA", help=DATA_HELP)
    p.add_argument("--target", metavar="NAME", help="the column to predict (default: the last)")
    p.add_argument("--task", choices=["classification", "regression"], metavar="TASK",
                   help="classification or regression (default: inferred from the target)")
    p.add_argument("--layers", type=ints, default="64,32", metavar="SIZES",
                   help="hidden layer sizes, comma-separated (default: %(default)s)")
    p.add_argument("--activation", type=_activations, default="relu", metavar="NAMES",
                   help="hidden-layer activation, or one per hidden layer, comma-separated; "
                        f"one of: {', '.join(sorted(ACTIVATIONS))} (default: %(default)s)")
    name_option(p, "--optimizer", OPTIMIZERS, "adam", "optimizer")
    p.add_argument("--lr", type=positive_float, default=1e-3, metavar="X",
                   help="learning rate (default: %(default)s)")
    p.add_argument("--schedule", choices=sorted(_SCHEDULES), default="constant", metavar="NAME",
                   help="learning-rate schedule, one of: %(choices)s; step (x0.1 every third of the epochs), "
                        "exponential (x0.95 an epoch), cosine (to 0 at the last epoch), plateau "
                        "(x0.1 after 5 epochs without a better validation loss) "
                        "(default: %(default)s)")
    p.add_argument("--epochs", type=positive_int, default=50, metavar="N",
                   help="passes over the training rows (default: %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                   help="rows a step (default: %(default)s)")
    p.add_argument("--validation-fraction", type=_fraction, default=0.1, metavar="X",
                   help="fraction of the rows (after the test rows) held out to validate each "
                        "epoch; 0 for none (default: %(default)s)")
    p.add_argument("--test-fraction", type=_fraction, default=0.2, metavar="X",
                   help="fraction of the rows held out for the final test; 0 for none "
                        "(default: %(default)s)")
    p.add_argument("--early-stopping", action="store_true",
                   help="stop when the validation loss has not improved for --patience "
                        "epochs, and keep the best epoch's weights")
    p.add_argument("--patience", type=positive_int, default=10, metavar="N",
                   help="epochs without improvement before early stopping (default: "
                        "%(default)s)")
    p.add_argument("--dropout", type=_fraction, default=0.0, metavar="P",
                   help="dropout probability after each hidden layer (default: %(default)s)")
    p.add_argument("--l2", type=float, default=0.0, metavar="X",
                   help="L2 penalty on the weights, 0 or more (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=0, metavar="N",
                   help="seed of the split, the weights, the shuffling and the generated data "
                        "sets (default: %(default)s)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32", metavar="TYPE",
                   help="the network's float type, float32 or float64 (default: %(default)s)")
    p.add_argument("--rows", type=positive_int, metavar="N",
                   help="rows of a generated data set (xor, spirals, moons, circles)")
    p.add_argument("--noise", type=float, metavar="X",
                   help="noise of a generated data set")
    p.add_argument("--out", metavar="MODEL", help="where to save the model (.safetensors)")
    p.add_argument("--report", metavar="FILE.html", help="where to write an HTML report")
