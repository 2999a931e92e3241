"""``glassnet evaluate`` and ``glassnet predict``: a trained model on new rows."""

from __future__ import annotations

import argparse
import sys

from .. import trace
from ..tabular import Table, TabularModel, per_class
from ._common import UsageError, command
from ._data import (DATA_HELP, check_out_path, format_table, load_data, load_model,
                    metrics_row, print_metrics, warn_unseen)

__all__ = ["add_evaluate", "add_predict"]


def _read(model: TabularModel, data: str, with_target: bool) -> Table:
    """DATA, its categorical columns (and a target of text labels) read as text, its columns
    checked against the model's."""
    text = [f.name for f in model.encoder.features if f.kind == "categorical"]
    target = model.target
    if target.task == "classification" and not target.numeric_classes:
        text.append(target.name)
    table = load_data(data, text=tuple(text))
    names = [str(c) for c in table.frame.columns]
    if with_target and target.name not in names:
        raise UsageError(f"{table.name}: has no column {target.name!r}, the model's target: "
                         f"'glassnet predict' predicts it")
    model.encoder.check_columns(table, ignore=(target.name,))
    return table


def _inputs(model: TabularModel, table: Table):
    X, unseen = model.encoder.transform(table, model.model.dtype)
    warn_unseen(unseen)
    return X


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Measure a trained model on a table that has its target column.

    MODEL is a file written by 'glassnet train --out'. DATA must have the columns
    the model was trained on, and its target; they are encoded as in training
    (the stored means, scales and categories: a category not seen in training is
    all zeros, with one warning line for its column). Prints the rows and, for
    classification, the accuracy and the log-loss, then each class's precision,
    recall and support; for regression R^2, the mean absolute error and the root
    mean squared error, in the target's units.

    exit status: 0 on success; 2 when the model or the data cannot be used, with
    one 'error:' line naming the problem.
    """
    model = load_model(args.model)
    table = _read(model, args.data, with_target=True)
    X = _inputs(model, table)
    key = next(c for c in table.frame.columns if str(c) == model.target.name)
    y = model.target.encode(table, key)
    outputs = model.outputs(X)
    print_metrics({table.name: (len(y), metrics_row(model, outputs, y))})
    if model.task == "classification":
        rows = [["class", "precision", "recall", "support"]]
        for label, (p, r, s) in zip(model.target.classes, per_class(outputs, y)):
            rows.append([str(label), f"{p:.4f}", f"{r:.4f}", str(s)])
        trace.emit("")
        trace.table(format_table(rows))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict the target of each row of a table.

    MODEL is a file written by 'glassnet train --out'. DATA must have the columns
    the model was trained on (its target column, if there, is ignored). Writes a
    CSV file with one row an input row, in order: the target's column (the
    predicted class, or the predicted value) and, for classification, one column
    proba_<class> a class. --out - writes it to standard output. The file is
    written whole or not at all.

    exit status: 0 on success; 2 when the model or the data cannot be used, with
    one 'error:' line naming the problem, and no file written.
    """
    check_out_path(args.out, "--out")
    model = load_model(args.model)
    table = _read(model, args.data, with_target=False)
    frame = model.prediction_frame(model.outputs(_inputs(model, table)))
    if args.out == "-":
        frame.to_csv(sys.stdout, index=False)
    else:
        from ..io import atomic_write
        atomic_write(args.out, lambda f: frame.to_csv(f, index=False, encoding="utf-8"))
        trace.emit(f"{len(frame)} predictions written to {args.out}")
    return 0


def add_evaluate(sub, common) -> None:
    p = command(sub, cmd_evaluate, parents=[common], epilog="""\
examples:
  glassnet train iris --out iris.safetensors
  glassnet evaluate iris.safetensors iris""")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'glassnet train'")
    p.add_argument("data", metavar="DATA", help=DATA_HELP)


def add_predict(sub, common) -> None:
    p = command(sub, cmd_predict, parents=[common], epilog="""\
examples:
  glassnet train iris --out iris.safetensors
  glassnet predict iris.safetensors iris --out predictions.csv
  glassnet predict iris.safetensors iris --out - | head -3""")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'glassnet train'")
    p.add_argument("data", metavar="DATA", help=DATA_HELP)
    p.add_argument("--out", metavar="FILE.csv", required=True,
                   help="where to write the predictions (CSV); - for standard output")
