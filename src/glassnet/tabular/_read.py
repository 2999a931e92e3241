"""Reading a table: a CSV file with a header row, or a Parquet file, into a pandas DataFrame,
with each problem named by the file and, where there is one, the line.

pandas parses; this module only asks it to keep every cell as written (no "NA" or "nan"
turned into a missing value: an empty cell is the only missing one), to keep blank lines as
rows (so that row ``i`` is line ``i + 2``: the header is line 1), and turns its errors into
one-line messages.
"""

from __future__ import annotations

import csv
import os
import re
import stat
import warnings
from dataclasses import dataclass
from typing import Any

__all__ = ["DataError", "Table", "read_table", "pandas"]


class DataError(ValueError):
    """Bad tabular input: the message names the file and, where it can, the column, the line
    and the cell."""


def pandas() -> Any:
    """The pandas module, or an ImportError that names the extra to install."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("reading tables needs pandas: pip install 'glassnet[cli]'") from None
    return pd


@dataclass(frozen=True)
class Table:
    """A table read from ``path`` (or built in): its frame, and how to name a row.

    Attributes
    ----------
    frame : pandas.DataFrame
    name : str
        The file's path, or the built-in data set's name.
    lines : bool
        Rows are named by their line in a CSV file (row 0 is line 2); else counted from 1.
    """

    frame: Any
    name: str
    lines: bool = False

    def where(self, row: int) -> str:
        """``'line 7'`` (a CSV file) or ``'row 6'``: where the frame's row ``row`` (from 0)
        is. A frame of some of the rows (``frame.iloc[rows]``) keeps each row's position in
        its index, and is named by it."""
        position = int(self.frame.index[row])
        return f"line {position + 2}" if self.lines else f"row {position + 1}"

    def rows(self, rows: Any) -> "Table":
        """The table of some of the rows, named as in this one."""
        return Table(self.frame.iloc[rows], self.name, self.lines)


_PARQUET = (".parquet", ".pq")
_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def read_table(path: str | os.PathLike, text: tuple[str, ...] = ()) -> Table:
    """Read a CSV file (comma-separated, a header row, UTF-8) or a Parquet file (by its
    suffix, ``.parquet`` or ``.pq``). The CSV columns named in ``text`` are kept as text
    (categories such as "3" stay "3"), the others parsed by pandas.

    Raises
    ------
    DataError
        No such file, a folder, an empty file, a header with no rows, a row with more fields
        than the header, a file that is not UTF-8 text or not Parquet; the message names the
        file (and the line).
    ImportError
        pandas (or, for Parquet, pyarrow) is not installed; the message names the extra.
    """
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read it ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise DataError(f"{name}: is a folder, not a data file")
    if name.lower().endswith(_PARQUET):
        frame, lines = _read_parquet(name), False
    else:
        frame, lines = _read_csv(name, text), True
    if len(frame.columns) == 0:
        raise DataError(f"{name}: has no columns")
    if len(frame) == 0:
        raise DataError(f"{name}: has a header but no rows")
    return Table(frame, name, lines)


def _read_csv(name: str, text: tuple[str, ...]) -> Any:
    pd = pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)  # fields beyond the header
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)  # mixed columns: checked later
        try:
            frame = pd.read_csv(name, keep_default_na=False, na_values=[""],
                                skip_blank_lines=False, index_col=False,
                                dtype={column: str for column in text} or None)
        except pd.errors.EmptyDataError:
            raise DataError(f"{name}: is empty (no header row)") from None
        except pd.errors.ParserError as exc:
            match = _FIELDS.search(str(exc))
            if match:
                header, line, saw = match.groups()
                raise DataError(f"{name}: line {line} has {saw} fields, the header has "
                                f"{header}") from None
            raise DataError(f"{name}: not a CSV file pandas can read "
                            f"({str(exc).strip().splitlines()[-1]})") from None
        except pd.errors.ParserWarning:  # every row longer than the header: find the first
            raise DataError(_first_long_row(name)) from None
        except UnicodeDecodeError:
            raise DataError(_first_bad_byte(name)) from None
    blank = frame.isna().all(axis=1).to_numpy()
    end = len(frame)
    while end > 0 and blank[end - 1]:  # blank lines at the end of the file: not rows
        end -= 1
    return frame.iloc[:end] if end < len(frame) else frame


def _first_long_row(name: str) -> str:
    """The message for a file whose rows are longer than its header, naming the first one
    (Python's csv module counts the fields, and the lines, as pandas does)."""
    with open(name, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        for row in reader:
            if len(row) > len(header):
                return (f"{name}: line {reader.line_num} has {len(row)} fields, the header "
                        f"has {len(header)}")
    return f"{name}: the rows have more fields than the header"


def _first_bad_byte(name: str) -> str:
    """The message for a file that is not UTF-8, naming the line and the byte (pandas reads
    in chunks, and its error counts from the chunk's start)."""
    with open(name, "rb") as f:
        data = f.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return (f"{name}: not UTF-8 text: line {line}, byte {exc.start} is "
                f"{data[exc.start:exc.start + 1]!r}")
    return f"{name}: not UTF-8 text"


def _read_parquet(name: str) -> Any:
    pd = pandas()
    try:
        import pyarrow  # noqa: F401  (pandas' Parquet engine)
    except ImportError:
        raise ImportError("reading Parquet needs pyarrow: pip install 'glassnet[parquet]'") from None
    try:
        return pd.read_parquet(name).reset_index(drop=True)  # rows are counted from 1
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{name}: not a Parquet file pandas can read "
                        f"({str(exc).strip().splitlines()[0][:200]})") from None
