"""Validation at the library's boundary, in one place.

Public constructors, ``value_and_grad`` and ``fit`` call these; internal code
trusts its inputs. Every error is a ``ValueError`` (or ``TypeError`` for a wrong type) that
names the argument and the value received.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from typing import Any, Mapping

import numpy as np

FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}


class DataConversionWarning(UserWarning):
    """Input was converted to the form expected (as scikit-learn's warning of that name)."""


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` pointing at the first caller outside glassnet: the user's line that
    passed the input, however deep inside glassnet the check runs."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


class Registry(dict):
    """A registry: lower-case name -> class, looked up ignoring case and through aliases.

    ``ACTIVATIONS["ReLU"]`` and ``ACTIVATIONS["logistic"]`` (scikit-learn's name for the
    sigmoid) find their classes; iterating, ``len`` and ``keys()`` see each class once, under
    its own name, so tests parametrized over a registry run each entry once."""

    def __init__(self, entries: Mapping[str, Any], aliases: Mapping[str, str] | None = None
                 ) -> None:
        super().__init__(entries)
        self.aliases = dict(aliases or {})

    def canonical(self, name: str) -> str:
        """The registered name that ``name`` means: case folded, an alias followed."""
        key = name.lower()
        return self.aliases.get(key, key)

    def __getitem__(self, name: str) -> Any:
        if isinstance(name, str) and not dict.__contains__(self, name):
            name = self.canonical(name)
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, self.canonical(name))

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def __repr__(self) -> str:
        return f"Registry({dict.__repr__(self)}, aliases={self.aliases!r})"


def resolve(name: Any, registry: Mapping[str, Any], what: str) -> Any:
    """Look ``name`` up in ``registry``, ignoring case (``"Adam"``, ``"ReLU"``) and following
    a ``Registry``'s aliases; unknown names raise a ValueError listing the choices."""
    if isinstance(name, str):
        if dict.__contains__(registry, name):  # the exact name: the common, fast case
            return dict.__getitem__(registry, name)
        key = registry.canonical(name) if isinstance(registry, Registry) else name.lower()
        if dict.__contains__(registry, key):
            return dict.__getitem__(registry, key)
    choices = ", ".join(repr(k) for k in registry)
    aliases = getattr(registry, "aliases", None)
    if aliases:
        choices += " (aliases: " + ", ".join(f"{a!r} for {c!r}" for a, c in aliases.items()) + ")"
    raise ValueError(f"unknown {what} {name!r}; choose one of {choices} (any case)")


def check_dtype(dtype: Any) -> np.dtype:
    """Accept 'float32' / 'float64' (or the NumPy types); anything else is a ValueError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def check_layer_sizes(layer_sizes: Any, name: str = "layer_sizes") -> list[int]:
    """A list of at least two positive ints: ``[n_in, hidden..., n_out]``."""
    try:
        sizes = list(layer_sizes)
    except TypeError:
        raise ValueError(f"{name} must be a list of ints, got {layer_sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(
            f"{name} needs at least 2 entries (inputs and outputs), got {layer_sizes!r}"
        )
    for s in sizes:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s <= 0:
            raise ValueError(f"{name} entries must be positive ints, got {s!r} in {layer_sizes!r}")
    return [int(s) for s in sizes]


def check_probability(p: Any, name: str) -> float:
    """A float in [0, 1)."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), got {p!r}") from None
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {p!r}")
    return value


def check_nonnegative(x: Any, name: str) -> float:
    """A finite float >= 0."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0, got {x!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    return value


def _first_bad_row(a: np.ndarray) -> int:
    bad = ~np.isfinite(a.reshape(len(a), -1)).all(axis=1)
    return int(np.flatnonzero(bad)[0])


def is_sparse(X: Any) -> bool:
    """Whether ``X`` is a SciPy sparse matrix or array. SciPy is not a dependency: when
    ``scipy.sparse`` was never imported, nothing can be one."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def check_X(X: Any, n_features: int | None = None, dtype: Any = None, name: str = "X",
            finite: bool = True, sparse: bool = False) -> Any:
    """Return ``X`` as a finite 2-D float array of shape ``(n_samples, n_features)``.

    ``dtype`` (the model's) is kept: a float32 model gets float32 inputs, never an upcast.
    ``finite=False`` skips the NaN/inf scan, for callers that made it already.
    ``sparse=True`` takes a SciPy sparse ``X`` too and returns it as CSR (see
    ``_check_sparse_X``); otherwise a sparse ``X`` is refused with a message that says so.
    """
    if type(X) is not np.ndarray and is_sparse(X):
        if not sparse:
            raise ValueError(f"{name} is a SciPy sparse {type(X).__name__}, which only a model "
                             f"whose first layer is Dense takes; pass {name}.toarray()")
        return _check_sparse_X(X, n_features, dtype, name, finite)
    try:  # one conversion of a list or a DataFrame, then the cast to dtype
        a = X if type(X) is np.ndarray else np.asarray(X)
        if a.dtype.kind == "c":  # the cast would drop the imaginary part with a mere warning
            raise _complex_error(a, name)
        a = _cast(a, dtype, name)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, (OutOfRangeError, ComplexError)):
            raise
        raise ValueError(f"{name} must be numeric, could not convert it: {exc}") from None
    _check_shape(a, n_features, name)
    if a.dtype.kind != "f":
        a = a.astype(dtype if dtype is not None else np.float64)
    if finite:
        check_finite(a, name, source=None if a is X else X)
    return a


class OutOfRangeError(ValueError):
    """A finite value that the model's dtype cannot hold (1e300 in float32)."""


class ComplexError(ValueError):
    """A complex array where the network takes real numbers."""


def _complex_error(a: Any, name: str) -> ComplexError:
    """The error for a complex ``a``, as scikit-learn's estimators refuse one: the float cast
    would drop its imaginary part with no more than NumPy's ComplexWarning."""
    return ComplexError(f"Complex data not supported: {name} must be numeric and real, got "
                        f"complex values (dtype "
                        f"{a.dtype}): the network takes real numbers; pass {name}.real (or "
                        f"np.abs({name})) if that is what you mean")


def _cast(X: Any, dtype: Any, name: str) -> np.ndarray:
    """``np.asarray(X, dtype)``; a finite value beyond ``dtype``'s range (1e300 in float32,
    which the cast turns into inf) is an ``OutOfRangeError`` naming its row, whatever
    ``np.seterr`` says. No extra pass: NumPy's cast reports the overflow itself."""
    if type(X) is np.ndarray and (dtype is None or X.dtype == dtype):
        return X  # nothing to convert: the common case, kept free of np.errstate's cost
    try:  # a value too small for dtype becomes 0 (or a subnormal): harmless, never an error
        with np.errstate(over="raise", under="ignore"):
            a = np.asarray(X, dtype=dtype)
        if _CASTS_REPORT_OVERFLOW or _all_finite(a) or _first_overflowed(a, X) is None:
            return a
    except FloatingPointError:
        with np.errstate(over="ignore", under="ignore"):
            a = np.asarray(X, dtype=dtype)
    raise_out_of_range(name, _first_overflowed(a, X, lambda rows: rows), a.dtype)


# NumPy reports a cast's overflow (1e300 to float32 is inf) from 1.24 on; before, the result
# of a cast that made values infinite is searched for them (a pass, on old NumPy only)
_CASTS_REPORT_OVERFLOW = np.lib.NumpyVersion(np.__version__) >= "1.24.0"


def raise_out_of_range(name: str, row: int, dtype: Any) -> None:
    """The error for a finite value in row ``row`` of ``name`` that ``dtype`` cannot hold."""
    dt = np.dtype(dtype)
    raise OutOfRangeError(
        f"{name} exceeds {dt.name}'s range: a finite value becomes inf after conversion to "
        f"{dt.name}, whose largest value is {np.finfo(dt).max:.3g} (first at row {row}); use "
        f"dtype='float64' (the model's or the estimator's), or scale the data")


def _first_overflowed(a: np.ndarray, source: Any, row_of: Any = lambda rows: rows
                      ) -> int | None:
    """The first row where ``a`` (``source`` cast) holds inf but ``source`` a finite value,
    None if there is none (the error path: the copies are fine). ``row_of`` maps the flat
    positions' first axis to rows (the identity for dense arrays)."""
    with np.errstate(invalid="ignore", over="ignore"):
        wide = np.asarray(source, dtype=np.float64)
    bad = np.isinf(a) & np.isfinite(wide)
    flat = bad.reshape(len(bad), -1).any(axis=1) if bad.ndim > 1 else bad
    rows = np.flatnonzero(flat)
    return None if len(rows) == 0 else int(row_of(int(rows[0])))


def _check_shape(a: Any, n_features: int | None, name: str) -> None:
    """``a`` (dense or sparse) numeric, 2-D, with rows and ``n_features`` columns."""
    if a.dtype.kind == "c":
        raise _complex_error(a, name)
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got an array of dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} has no samples (shape {a.shape})")
    if n_features is not None and a.shape[1] != n_features:
        raise ValueError(
            f"{name} has {a.shape[1]} features (columns) but the model expects {n_features}"
        )


def _check_sparse_X(X: Any, n_features: int | None, dtype: Any, name: str, finite: bool
                    ) -> Any:
    """A SciPy sparse ``X`` as CSR in ``dtype``, never densified.

    CSR because a batch is a set of rows, and CSR slices rows without a pass over the whole
    matrix: CSC, COO and the other formats are converted once (``tocsr``, a copy of the
    stored entries). Another dtype than the model's converts the stored values only, once;
    the indices are shared with the caller's matrix. The class is kept (``csr_matrix`` or
    ``csr_array``); the caller's matrix itself is never changed.
    """
    _check_shape(X, n_features, name)
    a = X if X.format == "csr" else X.tocsr()
    if dtype is None:
        dtype = a.dtype if a.dtype.kind == "f" else np.float64
    if a.dtype != dtype:
        try:
            with np.errstate(over="raise", under="ignore"):  # NumPy's cast reports a value
                data = a.data.astype(dtype)                 # beyond dtype's range (>= 1.24)
            if not (_CASTS_REPORT_OVERFLOW or _all_finite(data)
                    or _first_overflowed(data, a.data) is None):
                raise FloatingPointError
        except FloatingPointError:
            with np.errstate(over="ignore", under="ignore"):
                data = a.data.astype(dtype)
            raise_out_of_range(name, _first_overflowed(
                data, a.data, lambda i: np.searchsorted(a.indptr, i, side="right") - 1), dtype)
        a = type(a)((data, a.indices, a.indptr), shape=a.shape, copy=False)  # as as_dtype
    if finite:
        check_finite(a, name, source=None if a is X else X)
    return a


def as_dtype(X: Any, dtype: Any) -> Any:
    """``X`` (dense, or SciPy CSR) with ``dtype``; ``X`` itself when it has it already. A
    CSR matrix gets new values (``data``, one per stored entry) and keeps its indices."""
    if X.dtype == dtype:
        return X
    with np.errstate(over="ignore"):  # a value beyond dtype's range: the finite check names it
        if not is_sparse(X):
            return X.astype(dtype)
        data = X.data.astype(dtype)
    return type(X)((data, X.indices, X.indptr), shape=X.shape, copy=False)


def check_finite(a: Any, name: str = "X", first_row: int = 0, source: Any = None
                 ) -> None:
    """Raise ValueError naming the first row with NaN or inf; ``a`` holds the rows from
    ``first_row`` on (a chunk that is checked while it is in cache). ``source``: the caller's
    data that ``a`` was converted from, where a finite value may have overflowed ``a``'s dtype
    (1e300 in a float32 array is inf): then the message says so.

    A SciPy sparse ``a`` is scanned through its stored values only (``a.data``): the zeros
    it does not store are finite.
    """
    if is_sparse(a):
        if _all_finite(a.data):
            return
        row = first_row + _first_bad_sparse_row(a)
    else:
        if _all_finite(a):
            return
        row = first_row + _first_bad_row(a)
    if source is not None and _row_is_finite(source, row):
        raise_out_of_range(name, row, a.dtype)
    raise ValueError(f"{name} contains NaN or inf (first at row {row})")


def _first_bad_sparse_row(a: Any) -> int:
    """The first row of a sparse ``a`` that stores a NaN or inf (the error path: a copy to
    CSR is fine here). CSR stores its rows in order, row ``r``'s values at
    ``data[indptr[r]:indptr[r + 1]]``: the first bad value's row is where its position falls
    in ``indptr``."""
    a = a.tocsr()
    first = int(np.flatnonzero(~np.isfinite(a.data))[0])
    return int(np.searchsorted(a.indptr, first, side="right")) - 1


def _row_is_finite(source: Any, row: int) -> bool:
    """Whether row ``row`` of the caller's data was finite before any cast (the error path)."""
    try:
        if is_sparse(source):
            values = source.tocsr()[[row]].data.astype(np.float64)
        else:
            values = np.asarray(np.asarray(source)[row], dtype=np.float64)
    except (TypeError, ValueError, IndexError):
        return False
    return bool(np.isfinite(values).all())


def _all_finite(a: np.ndarray) -> bool:
    """No NaN or inf in ``a``, exactly, silent under any ``np.seterr``.

    Small arrays: ``isfinite`` and an all-reduce (the boolean array is tiny). Large float
    arrays in one piece: one BLAS pass, ``sum(a * a)``, which is NaN or inf when any entry is;
    it can also overflow for finite entries above ~1e19 (float32), so a non-finite sum is
    settled by ``min`` and ``max``, which propagate NaN and expose inf, without the data-sized
    boolean array of ``np.isfinite(a).all()``.
    """
    if a.size <= 4096:  # here np.errstate would cost more than the whole check
        return bool(np.logical_and.reduce(np.isfinite(a), axis=None))
    if a.dtype in (np.float32, np.float64) and a.flags.c_contiguous:
        flat = a.reshape(-1)
        with np.errstate(all="ignore"):  # an overflow here only sends us to the exact check
            if np.isfinite(np.dot(flat, flat)):
                return True
    return bool(np.isfinite(np.minimum.reduce(a, axis=None))
                and np.isfinite(np.maximum.reduce(a, axis=None)))


def check_y(y: Any, n_samples: int, name: str = "y") -> np.ndarray:
    """Return ``y`` as a finite numeric array with ``n_samples`` rows."""
    try:
        a = np.asarray(y)
    except (TypeError, ValueError) as exc:  # pragma: no cover - numpy converts almost anything
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got an array of dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {a.shape}")
    if a.shape[0] != n_samples:
        raise ValueError(f"{name} has {a.shape[0]} rows but X has {n_samples}")
    if a.dtype.kind == "f" and not _all_finite(a):
        raise ValueError(f"{name} contains NaN or inf (first at row {_first_bad_row(a)})")
    return a


def check_y_range(y: Any, dtype: Any, name: str = "y", squared: bool = False) -> None:
    """Refuse a finite target that a model of ``dtype`` cannot hold: beyond ``dtype``'s range
    (1e40 in float32), or, for a loss that squares the residual (``squared``), beyond the
    square root of it (the square of 1e20 is inf in float32: the first batch's loss would be
    inf, and the run called divergent). Everything else (shapes, NaN, inf) is ``check_y``'s.
    Targets that cannot exceed the limit (float32 ones for a float32 model) skip the scan."""
    try:
        a = y if type(y) is np.ndarray else np.asarray(y)
    except (TypeError, ValueError):  # check_y names what is wrong
        return
    dt = np.dtype(dtype)
    largest = float(np.finfo(dt).max)
    limit = math.sqrt(largest) if squared else largest
    if a.dtype.kind != "f" or a.size == 0 or float(np.finfo(a.dtype).max) <= limit:
        return
    with np.errstate(invalid="ignore"):
        top = np.maximum(np.max(a), -np.min(a))  # max |y|; NaN when y holds one
    if not top > limit:  # within range, or a NaN: check_y names it
        return
    with np.errstate(invalid="ignore", over="ignore"):
        bad = np.isfinite(a) & (np.abs(a) > limit)
    rows = np.flatnonzero(bad.reshape(len(a), -1).any(axis=1))
    if not rows.size:  # only inf beyond the limit: check_y names it
        return
    row = int(rows[0])
    value = float(np.asarray(a[row]).reshape(-1)[np.asarray(bad[row]).reshape(-1)][0])
    what = ("whose square, which the loss computes, is beyond" if squared and abs(value) <= largest
            else "beyond")
    raise OutOfRangeError(
        f"{name} holds a value in row {row} ({value:.3g}) {what} {dt.name}'s range (largest "
        f"value {largest:.3g}); "
        + ("use dtype='float64' (the model's or the estimator's), or scale the targets"
           if dt.itemsize < 8 else "scale the targets"))


def refuse_complex(value: Any, name: str) -> None:
    """ComplexError naming ``name`` when ``value`` (an array, a list, a SciPy matrix) holds
    complex numbers: scikit-learn's own refusal names no argument, and a float cast would
    drop the imaginary part with a mere warning. A DataFrame is read by its columns' dtypes,
    not copied."""
    if value is None:
        return
    dtype = getattr(value, "dtype", None)
    if dtype is None and hasattr(value, "dtypes"):  # a DataFrame
        kinds = {getattr(d, "kind", "O") for d in value.dtypes}
    elif dtype is not None:
        kinds = {np.dtype(dtype).kind}
    else:  # a list, or an object with __array__: converted once, as the caller would
        try:
            value = np.asarray(value)
        except (TypeError, ValueError):  # ragged or not numbers: the caller's check says so
            return
        kinds = {value.dtype.kind}
    if "c" in kinds:
        raise _complex_error(value, name)


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray:
    """Finite, non-negative float64 weights of shape ``(n_samples,)`` that carry some weight."""
    refuse_complex(sample_weight, "sample_weight")
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"sample_weight must be numbers, got {sample_weight!r}") from None
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    if w.sum() <= 0:
        raise ValueError("sample_weight sums to zero: no sample carries any weight")
    return w


def as_rng(seed: Any) -> np.random.Generator | np.random.RandomState:
    """A random generator from ``None``, an int seed (any int >= 0, as NumPy's
    ``default_rng`` takes it), a Generator or a RandomState (used as given)."""
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer))
                        and not isinstance(seed, (bool, np.bool_))):
        if seed is not None and seed < 0:  # NumPy's own error would not name seed
            raise ValueError(f"seed must be None, an int or a numpy Generator, got {seed!r}: "
                             f"an int seed must be >= 0 (0 to 2**32 - 1, or any larger int); "
                             f"a numpy RandomState is taken too")
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be None, an int or a numpy Generator, got {seed!r} (an int "
                     f">= 0, of any size, or a numpy RandomState are taken too)")


_BOUNDS = {"gt": (">", lambda v, b: v > b), "ge": (">=", lambda v, b: v >= b),
           "lt": ("<", lambda v, b: v < b), "le": ("<=", lambda v, b: v <= b)}


def check_number(value: Any, name: str, integer: bool = False, **bounds: float) -> Any:
    """``value`` as a Python float (int) within ``bounds`` (gt=, ge=, lt=, le=), else ValueError."""
    kind = "an int" if integer else "a finite number"
    if type(value) is float and not integer and math.isfinite(value):
        v = value  # the common case first (a learning rate each step): no isinstance chain
    else:
        ok_type = isinstance(value, (int, np.integer) if integer else (int, float, np.integer,
                                                                      np.floating))
        if (not ok_type or isinstance(value, (bool, np.bool_))
                or not (isinstance(value, (int, np.integer)) or math.isfinite(value))):
            raise ValueError(f"{name} must be {kind}, got {value!r}")
        try:
            v = int(value) if integer else float(value)
        except OverflowError:  # an int beyond the float range (10**400)
            raise ValueError(f"{name} must be {kind}, got {value!r}") from None
    for key, bound in bounds.items():
        op, ok = _BOUNDS[key]
        if not ok(v, bound):
            raise ValueError(f"{name} must be {op} {bound}, got {value!r}")
    return v
