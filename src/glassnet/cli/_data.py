"""What ``train``, ``evaluate`` and ``predict`` share: DATA read as a table (a file or a
built-in name), the output paths checked before any work, and the metrics table."""

from __future__ import annotations

import os
import sys

import numpy as np

from .. import trace
from ..datasets import GENERATED, NAMES, builtin
from ..tabular import (Table, TabularModel, classification_metrics, read_table,
                       regression_metrics)
from ..tabular._read import pandas
from ._common import UsageError

__all__ = ["load_data", "check_out_path", "load_model", "metrics_row", "print_metrics",
           "warn_unseen", "format_table", "DATA_HELP"]

DATA_HELP = (f"a CSV file (a header row, comma-separated), a Parquet file (.parquet), or a "
             f"built-in data set: {', '.join(NAMES)}")


def load_data(data: str, *, rows: int | None = None, noise: float | None = None,
              seed: int = 0, text: tuple[str, ...] = ()) -> Table:
    """The table DATA names: a file when one is there, else a built-in data set."""
    if os.path.exists(data) or data not in NAMES:
        if not os.path.exists(data) and os.sep not in data and "." not in data:
            raise UsageError(f"{data}: no such file, nor a built-in data set (they are "
                             f"{', '.join(NAMES)})")
        if rows is not None or noise is not None:
            raise UsageError(f"--rows and --noise are for the generated data sets "
                             f"({', '.join(GENERATED)}), not a file")
        return read_table(data, text)
    X, y, features, target = builtin(data, rows=rows, noise=noise, seed=seed)
    frame = pandas().DataFrame(np.asarray(X, dtype=np.float64), columns=features)
    frame[target] = y
    return Table(frame, data)


def check_out_path(path: str | None, option: str) -> None:
    """Refuse an output path whose folder does not exist, or that is a folder, before any
    work is done."""
    if path is None or path == "-":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path}: the folder {os.path.dirname(path) or folder} "
                         f"does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a folder; give a file name")


def load_model(path: str) -> TabularModel:
    """The TabularModel in ``path``: a file ``glassnet train`` wrote."""
    from ..io import load
    try:
        obj = load(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such model file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not isinstance(obj, TabularModel):
        raise UsageError(f"{path}: holds a {type(obj).__name__}, not a model trained on a "
                         f"table by 'glassnet train' (one that knows its columns)")
    return obj


def metrics_row(model: TabularModel, outputs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The metrics of the network's ``outputs`` for the encoded targets ``y``, in the target's
    own units (regression values are scaled back)."""
    if model.task == "classification":
        return classification_metrics(outputs, y)
    return regression_metrics(model.target.decode(outputs), model.target.decode(y))


_HEADINGS = {"accuracy": "accuracy", "log_loss": "log-loss", "r2": "R^2", "mae": "MAE",
             "rmse": "RMSE"}


def format_table(rows: list[list[str]]) -> str:
    """Rows of cells as aligned text: the first column to the left, the others to the right."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                               for c, (cell, w) in enumerate(zip(row, widths)))
                     for row in rows)


def print_metrics(rows: dict[str, tuple[int, dict[str, float]]]) -> None:
    """A table: one line a split (``{name: (n_rows, metrics)}``), one column a metric."""
    names = list(next(iter(rows.values()))[1])
    table = [["", "rows", *(_HEADINGS[n] for n in names)]]
    for split, (n, values) in rows.items():
        table.append([split, str(n), *(f"{values[name]:.4f}" for name in names)])
    trace.table(format_table(table))


def warn_unseen(unseen: dict[str, int], where: str = "") -> None:
    """One warning line on stderr a column whose categories were not seen in training."""
    for column, count in unseen.items():
        print(f"warning: column {column!r}: {count} cell(s){where} hold a category not seen "
              f"in training, encoded as all zeros", file=sys.stderr)
