"""The features of a table as the network's input: numeric columns standardised, categorical
columns one-hot encoded.

For a numeric column with training mean ``mu`` and standard deviation ``sigma`` (``1`` when
every value is the same), a cell ``v`` becomes ``(v - mu) / sigma``. A categorical column with
categories ``c_1 < ... < c_k`` (sorted as text) becomes ``k`` columns, 1 where the cell is
``c_j`` and 0 elsewhere; a category unseen in training is all zeros, and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._columns import kind_of, numbers, texts
from ._read import DataError, Table, pandas

__all__ = ["Feature", "TabularEncoder"]


@dataclass(frozen=True)
class Feature:
    """One column of the table: ``kind`` 'numeric' (with ``mean`` and ``scale``) or
    'categorical' (with ``categories``)."""

    name: str
    kind: str
    mean: float = 0.0
    scale: float = 1.0
    categories: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        """How many input columns of the network it takes."""
        return len(self.categories) if self.kind == "categorical" else 1

    def to_json(self) -> dict[str, Any]:
        if self.kind == "numeric":
            return {"name": self.name, "type": "numeric", "mean": self.mean, "scale": self.scale}
        return {"name": self.name, "type": "categorical", "categories": list(self.categories)}


def _standardise(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation (``1.0`` for a constant column), computed on the values
    divided by their largest magnitude, so that no sum overflows."""
    top = float(np.max(np.abs(values)))
    top = top if top > 0 else 1.0
    unit = values / top
    mean, std = float(np.mean(unit)), float(np.std(unit))
    return mean * top, (std * top if std * top > 0 else 1.0)


class TabularEncoder:
    """The transformation from a table's feature columns to the network's input.

    Parameters
    ----------
    features : list of Feature
        In the order of the network's input columns.
    """

    def __init__(self, features: list[Feature]) -> None:
        self.features = list(features)

    @classmethod
    def fit(cls, table: Table, columns: list[str]) -> "TabularEncoder":
        """Learn each column's kind, and its mean and scale or its categories, from ``table``.

        Raises
        ------
        DataError
            A cell that is empty, or not a finite number in a column of numbers.
        """
        features = []
        for column in columns:
            if kind_of(table, column) == "numeric":
                mean, scale = _standardise(numbers(table, column))
                features.append(Feature(str(column), "numeric", mean, scale))
            else:
                categories = tuple(sorted(set(texts(table, column))))
                features.append(Feature(str(column), "categorical", categories=categories))
        return cls(features)

    @property
    def names(self) -> list[str]:
        """The columns of the table it reads, in order."""
        return [feature.name for feature in self.features]

    @property
    def width(self) -> int:
        """The network's input width."""
        return sum(feature.width for feature in self.features)

    def check_columns(self, table: Table, ignore: tuple[str, ...] = ()) -> None:
        """DataError unless ``table`` has every feature column and no other (``ignore``
        aside), naming the missing and the unexpected ones."""
        have = [str(c) for c in table.frame.columns]
        missing = [n for n in self.names if n not in have]
        extra = [c for c in have if c not in self.names and c not in ignore]
        if missing or extra:
            parts = ([f"lacks the feature column(s) {', '.join(map(repr, missing))}"]
                     if missing else []) + ([f"has column(s) {', '.join(map(repr, extra))} "
                                             f"that the model was not trained on"]
                                            if extra else [])
            raise DataError(f"{table.name}: {' and '.join(parts)}; the model reads "
                            f"{', '.join(map(repr, self.names))}")

    def transform(self, table: Table, dtype: Any = np.float64) -> tuple[np.ndarray, dict[str, int]]:
        """The network's input for ``table``, and ``{column: count}`` of the cells whose
        category was not seen in training (encoded as zeros).

        Raises
        ------
        DataError
            A missing or extra column, an empty cell, a cell that is not a finite number in a
            numeric column, or a standardised value beyond ``dtype``'s range.
        """
        dtype = np.dtype(dtype)
        self.check_columns(table, ignore=tuple(str(c) for c in table.frame.columns
                                               if str(c) not in self.names))
        X = np.zeros((len(table.frame), self.width), dtype=dtype)
        unseen: dict[str, int] = {}
        at = 0
        for feature in self.features:
            column = _column_key(table, feature.name)
            if feature.kind == "numeric":
                X[:, at] = self._scaled(table, column, feature, dtype)
            else:
                codes = pandas().Index(list(feature.categories)).get_indexer(
                    texts(table, column))  # -1 for a category not seen in training
                seen = codes >= 0
                X[np.flatnonzero(seen), at + codes[seen]] = 1
                if not seen.all():
                    unseen[feature.name] = int(np.count_nonzero(~seen))
            at += feature.width
        return X, unseen

    @staticmethod
    def _scaled(table: Table, column: Any, feature: Feature, dtype: np.dtype) -> np.ndarray:
        values = numbers(table, column)
        with np.errstate(over="ignore"):
            scaled = (values - feature.mean) / feature.scale
        bad = ~(np.abs(scaled) <= np.finfo(dtype).max)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{table.name}: column {feature.name!r}, {table.where(i)}: "
                            f"{values[i]!r} is too far outside the training data's range "
                            f"(mean {feature.mean:.6g}, scale {feature.scale:.6g}) for "
                            f"{dtype.name}")
        return scaled

    def output_names(self) -> list[str]:
        """The network's input columns: ``age`` or ``colour=red``."""
        return [name for feature in self.features for name in
                ([feature.name] if feature.kind == "numeric" else
                 [f"{feature.name}={c}" for c in feature.categories])]


def _column_key(table: Table, name: str) -> Any:
    """The frame's own label of the column named ``name`` (a Parquet column may be an int)."""
    for column in table.frame.columns:
        if str(column) == name:
            return column
    raise DataError(f"{table.name}: has no column {name!r}")  # check_columns ran: unreachable
