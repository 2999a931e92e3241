"""The target column: class labels (classification) or a number to predict (regression).

Classification: the classes are the column's distinct labels, sorted (text, or numbers when
the column holds numbers); the network's output ``j`` scores class ``j``. Regression: the
network predicts the standardised value ``(y - mu) / sigma``; a prediction is
``mu + sigma * output``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._columns import is_numeric, kind_of, numbers, texts
from ._encoder import _standardise
from ._read import DataError, Table

__all__ = ["Target", "infer_task", "MAX_CLASSES_INFERRED"]

MAX_CLASSES_INFERRED = 20  # a column of integers with at most this many values: classes


def infer_task(table: Table, column: str) -> tuple[str, str]:
    """``(task, why)``: 'classification' for a text column or one of at most
    ``MAX_CLASSES_INFERRED`` distinct integers, else 'regression'."""
    if kind_of(table, column) == "categorical":
        return "classification", f"the target {column!r} holds text"
    values = numbers(table, column)
    distinct = np.unique(values)
    if np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_CLASSES_INFERRED:
        return "classification", (f"the target {column!r} holds {len(distinct)} distinct "
                                  f"integers")
    return "regression", (f"the target {column!r} holds numbers, {len(distinct)} distinct"
                          if len(distinct) <= MAX_CLASSES_INFERRED else
                          f"the target {column!r} holds {len(distinct)} distinct numbers")


def _json_label(value: Any) -> Any:
    """A class label JSON holds as it is: a str, an int (3.0 is 3), or a float."""
    if isinstance(value, str):
        return value
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


@dataclass(frozen=True)
class Target:
    """What the network predicts: the column ``name``, the ``task``, and the ``classes``
    (classification) or the ``mean`` and ``scale`` (regression)."""

    name: str
    task: str
    classes: tuple[Any, ...] = ()
    mean: float = 0.0
    scale: float = 1.0

    @classmethod
    def fit(cls, table: Table, column: str, task: str) -> "Target":
        """Learn the classes, or the mean and scale, from ``table``'s column.

        Raises
        ------
        DataError
            An empty cell; a cell that is not a finite number (regression); a single class.
        """
        if task == "regression":
            if kind_of(table, column) == "categorical":
                raise DataError(f"{table.name}: the target {str(column)!r} holds text, and "
                                f"regression predicts numbers: choose classification")
            mean, scale = _standardise(numbers(table, column))
            return cls(str(column), task, mean=mean, scale=scale)
        labels = cls._labels(table, column, numeric=is_numeric(table.frame[column]))
        classes = tuple(_json_label(c) for c in np.unique(labels))
        if len(classes) < 2:
            raise DataError(f"{table.name}: the target {str(column)!r} has one class, "
                            f"{classes[0]!r}: classification needs two or more")
        return cls(str(column), task, classes=classes)

    @staticmethod
    def _labels(table: Table, column: Any, numeric: bool) -> np.ndarray:
        return numbers(table, column) if numeric else texts(table, column)

    @property
    def numeric_classes(self) -> bool:
        return self.task == "classification" and not isinstance(self.classes[0], str)

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.task == "classification" else 1

    def encode(self, table: Table, column: Any) -> np.ndarray:
        """The column as the network's targets: class indices (int64), or the standardised
        values as a column (float64).

        Raises
        ------
        DataError
            An empty or non-numeric cell, or a label that is not one of the classes.
        """
        if self.task == "regression":
            return ((numbers(table, column) - self.mean) / self.scale)[:, None]
        numeric = self.numeric_classes
        if numeric and not is_numeric(table.frame[column]):
            numbers(table, column)  # names the first cell that is not a number
        labels = self._labels(table, column, numeric)
        classes = np.array(self.classes, dtype=np.float64 if numeric else object)
        order = np.argsort(classes, kind="stable")
        at = np.searchsorted(classes[order], labels)
        at = np.minimum(at, len(classes) - 1)
        codes = order[at]
        unknown = classes[codes] != labels
        if np.any(unknown):
            i = int(np.flatnonzero(unknown)[0])
            raise DataError(f"{table.name}: column {self.name!r}, {table.where(i)}: "
                            f"{_json_label(labels[i])!r} is not one of the classes the model "
                            f"was trained on ({', '.join(map(repr, self.classes[:10]))}"
                            f"{', ...' if len(self.classes) > 10 else ''})")
        return codes.astype(np.int64)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """The network's outputs as labels (the arg-max class) or values."""
        if self.task == "regression":
            return self.mean + self.scale * np.asarray(outputs, dtype=np.float64)[:, 0]
        return np.array(self.classes, dtype=object)[np.argmax(outputs, axis=1)]

    def to_json(self) -> dict[str, Any]:
        if self.task == "regression":
            return {"name": self.name, "task": self.task, "mean": self.mean,
                    "scale": self.scale}
        return {"name": self.name, "task": self.task, "classes": list(self.classes)}
