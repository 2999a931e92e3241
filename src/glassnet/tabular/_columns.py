"""A table's columns as numbers or as categories, each cell checked.

A column is *numeric* when pandas read it as numbers, or when most of its cells are numbers
(then each cell that is not is refused by name); it is *categorical* when most of its cells are
text. Every cell of a numeric column must be a finite number; no cell may be empty.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._read import DataError, Table, pandas

__all__ = ["is_numeric", "numbers", "texts", "kind_of"]


def is_numeric(series: Any) -> bool:
    """Whether pandas holds the column as numbers (bools included)."""
    types = pandas().api.types
    return bool(types.is_numeric_dtype(series.dtype) or types.is_bool_dtype(series.dtype))


def _parsed(series: Any) -> np.ndarray:
    """A text column's cells as float64: NaN where a cell is empty or not a number."""
    pd = pandas()
    values = pd.to_numeric(series.astype(object), errors="coerce")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def kind_of(table: Table, column: str) -> str:
    """'numeric' or 'categorical' (see the module's docstring)."""
    series = table.frame[column]
    if is_numeric(series):
        return "numeric"
    n_numbers = int(np.count_nonzero(~np.isnan(_parsed(series))))
    n_present = int(series.notna().sum())
    return "numeric" if 2 * n_numbers > n_present else "categorical"


def _refuse(table: Table, column: str, bad: np.ndarray, describe) -> DataError:
    """The error naming the first of the ``bad`` rows of ``column`` and how many there are."""
    rows = np.flatnonzero(bad)
    first = int(rows[0])
    more = f" ({len(rows) - 1} more cells like it)" if len(rows) > 1 else ""
    return DataError(f"{table.name}: column {column!r}, {table.where(first)}: "
                     f"{describe(first)}{more}")


def numbers(table: Table, column: str) -> np.ndarray:
    """The column as finite float64 numbers; DataError naming the first cell that is empty,
    not a number, NaN or infinite."""
    series = table.frame[column]
    if is_numeric(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            raise _refuse(table, column, bad, lambda i: (
                "empty cell (or a row shorter than the header)" if np.isnan(values[i])
                else f"{str(float(values[i]))!r} is not a finite number"))
        return values
    values = _parsed(series)
    bad = ~np.isfinite(values)
    if bad.any():
        cells = series.to_numpy(dtype=object)

        def describe(i: int) -> str:
            if _missing(cells[i]):
                return "empty cell (or a row shorter than the header)"
            if np.isinf(values[i]):
                return f"{cells[i]!r} is not a finite number"
            return f"{str(cells[i])[:60]!r} is not a number, in a column of numbers"
        raise _refuse(table, column, bad, describe)
    return values


def texts(table: Table, column: str) -> np.ndarray:
    """The column's cells as strings (an object array); DataError naming the first empty
    cell."""
    series = table.frame[column]
    missing = series.isna().to_numpy()
    if missing.any():
        raise _refuse(table, column, missing,
                      lambda i: "empty cell (or a row shorter than the header)")
    if is_numeric(series):  # a Parquet column of ints named as categories: "3", not "3.0"
        return np.array([_label(v) for v in series.to_numpy(dtype=object)], dtype=object)
    return series.astype(str).to_numpy(dtype=object)


def _label(value: Any) -> str:
    """A number as the text a CSV file would hold: 3 for 3 and 3.0, 2.5 for 2.5."""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _missing(cell: Any) -> bool:
    return cell is None or (isinstance(cell, float) and np.isnan(cell)) or \
        cell is pandas().NA
