"""BLAS routines from the OpenBLAS that NumPy itself loaded, for what NumPy cannot fuse:

    axpy(a, x, y)           y = a * x + y
    axpby(a, x, b, y)       y = a * x + b * y
    scal(a, y)              y = a * y
    gemm_tn(a, x, d, b, c)  c = a * x^T @ d + b * c
    matmul_add(x, w, b, c)  c = x @ w + b      (the bias b added to every row)
    product(a, b, out)      out = a @ b        (np.dot where it applies: a cheaper call)
    product_tn(x, d, out)   out = x^T @ d      (product when small, else np.matmul)

and the same products with a SciPy CSR matrix ``x``, the first layer's input on sparse data
(``sparse_matmul_add``, ``sparse_product_tn``, ``sparse_gemm_tn``; see their section below).

NumPy has no fused multiply-add: ``y += a * x`` is two passes over memory (a temporary, then
the add), ``y = a * x + b * y`` three, and every ufunc runs on one core. OpenBLAS does each in
one pass, and ``axpy`` and ``scal`` split a long vector over its threads (Adam's update: seven
passes instead of ten). Nor can ``np.matmul`` add its product to an existing matrix, which
BLAS's ``gemm`` does as it writes it: plain SGD takes its whole step ``W = (1 - lr * l2) W -
x^T (lr * delta)`` in the product that would have made the gradient
(``glassnet.step.SGDInBackward``), and a large layer's product adds itself to its bias
(``Dense.forward``). The other products go
through ``product`` (``np.dot`` where it takes the operands, for its cheaper call) and
``product_tn``, which keeps ``np.matmul`` for a weight gradient from ``PRODUCT_TN_MAX_SIZE``
entries.

Found for NumPy's own wheels, which ship OpenBLAS as "scipy-openblas" (symbols
``scipy_cblas_saxpy64_``, 64-bit integers; ``..._saxpy`` with 32-bit ones). On Linux only a
library NumPy has already loaded is used (read from ``/proc/self/maps``), never a second copy
with its own thread pool. Anywhere else -- another BLAS, NumPy built from source, arrays that
are not C-contiguous, of one shape and one float dtype -- the same equations run in NumPy.
Arrays under ``MIN_SIZE`` entries stay with NumPy too, and so does ``scal`` under
``SCAL_MIN_SIZE``, and ``matmul_add`` under ``ADD_MIN_SIZE``; from ``AXPBY_MAX_SIZE``
entries ``axpby`` is ``scal`` then ``axpy``.
``AVAILABLE`` says whether the library was found; tests switch the BLAS path off with
``ENABLED = False`` (and on for small arrays with ``MIN_SIZE = 0``, ``SCAL_MIN_SIZE = 0``,
``ADD_MIN_SIZE = 0``).

Every size threshold below was tuned by measurement; the figures, the machine and the command
that gives them are in ``benchmarks/README.md`` ("The tuned thresholds of _blas.py").

The results can differ from NumPy's in the last bit: a BLAS kernel may round ``a * x + y``
once (a fused multiply-add) where NumPy rounds the product and then the sum. And BLAS knows
nothing of ``np.seterr``: an update or a product that overflows writes inf without a warning
or a FloatingPointError. Training notices it in the loss, the same batch's or the next
(``glassnet.fit``'s divergence guard then restores the weights of the epoch's start).
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys

import numpy as np

__all__ = ["AVAILABLE", "ENABLED", "axpy", "axpby", "scal", "gemm_tn", "matmul_add",
           "product", "product_tn", "sparse_matmul_add", "sparse_product_tn", "sparse_gemm_tn"]


def _numpy_blas() -> str:
    """The BLAS NumPy was built with, as its build configuration names it."""
    try:
        return str(np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"])
    except Exception:  # pragma: no cover - an older or unusual NumPy: take no chances
        return "unknown"


def _candidate_paths() -> list[str]:
    """NumPy's own OpenBLAS: only when NumPy was built with it, in the wheel's library folder
    (not SciPy's, which has its own copy and thread pool), and on Linux only if it is already
    mapped into this process (elsewhere there is no map to read)."""
    if _numpy_blas() != "scipy-openblas":
        return []
    here = os.path.dirname(os.path.abspath(np.__file__))
    folders = {os.path.join(here, ".dylibs"), os.path.normpath(os.path.join(here, os.pardir,
                                                                           "numpy.libs"))}
    paths = [path for folder in folders
             for path in glob.glob(os.path.join(folder, "libscipy_openblas*"))]
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/maps") as maps:  # address perms offset dev inode path
                mapped = {line.split(maxsplit=5)[5].rstrip("\n").removesuffix(" (deleted)")
                          for line in maps
                          if "libscipy_openblas" in line and len(line.split(maxsplit=5)) == 6}
        except OSError:
            return []
        paths = [path for path in paths if os.path.realpath(path) in mapped or path in mapped]
    return sorted(paths)


def _load() -> dict:
    """``{(routine, dtype): C function}``, empty when no usable library is found."""
    for path in _candidate_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix, int_t in (("64_", ctypes.c_int64), ("", ctypes.c_int32)):
            try:
                found = {}
                for prefix, dtype, real in (("s", np.float32, ctypes.c_float),
                                            ("d", np.float64, ctypes.c_double)):
                    vec = [ctypes.c_void_p, int_t]  # pointer, increment
                    axpy_ = getattr(lib, f"scipy_cblas_{prefix}axpy{suffix}")
                    axpy_.argtypes, axpy_.restype = [int_t, real, *vec, *vec], None
                    axpby_ = getattr(lib, f"scipy_cblas_{prefix}axpby{suffix}")
                    axpby_.argtypes, axpby_.restype = [int_t, real, *vec, real, *vec], None
                    scal_ = getattr(lib, f"scipy_cblas_{prefix}scal{suffix}")
                    scal_.argtypes, scal_.restype = [int_t, real, *vec], None
                    gemm_ = getattr(lib, f"scipy_cblas_{prefix}gemm{suffix}")
                    mat = [ctypes.c_void_p, int_t]  # pointer, leading dimension
                    gemm_.argtypes = [ctypes.c_int] * 3 + [int_t] * 3 + [real, *mat, *mat,
                                                                         real, *mat]
                    gemm_.restype = None
                    found["max_size"] = 2 ** (8 * ctypes.sizeof(int_t) - 1) - 1
                    found["axpy", np.dtype(dtype)] = axpy_
                    found["axpby", np.dtype(dtype)] = axpby_
                    found["scal", np.dtype(dtype)] = scal_
                    found["gemm", np.dtype(dtype)] = gemm_
                return found
            except AttributeError:
                continue
    return {}


_ROUTINES = _load()
_MAX_SIZE = _ROUTINES.pop("max_size", 0)  # the largest n the library's integers can pass
AVAILABLE = bool(_ROUTINES)
ENABLED = True
# The tuned thresholds (their measurements: benchmarks/README.md, "The tuned thresholds of
# _blas.py"). Below MIN_SIZE entries the foreign call costs as much as NumPy's passes.
MIN_SIZE = 16384
SCAL_MIN_SIZE = 1 << 20  # scal goes to BLAS from this many entries (it splits over the cores)
AXPBY_MAX_SIZE = 1 << 20  # from this many entries axpby is scal and then axpy


def _address(a: np.ndarray) -> int:
    """Where ``a``'s data starts: through the buffer protocol for a writeable, non-empty array
    (the cheaper call), else NumPy's ``ctypes`` attribute (it builds an object each time)."""
    if a.flags.writeable and a.size:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    return a.ctypes.data


def _routine(name: str, x: np.ndarray, y: np.ndarray, *coefficients: float):
    """The BLAS routine for ``x`` and ``y``, or None when NumPy must do it. A coefficient of 0
    goes to NumPy too: BLAS may then skip reading the vector it multiplies, where NumPy's
    ``0 * nan`` keeps a NaN (or inf) visible to the divergence checks."""
    if (not (ENABLED and AVAILABLE) or y.size < MIN_SIZE or x.dtype != y.dtype
            or x.shape != y.shape or y.size > _MAX_SIZE or 0.0 in coefficients):
        return None
    if not (x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable):
        return None
    return _ROUTINES.get((name, y.dtype))


def axpy(a: float, x: np.ndarray, y: np.ndarray, scratch: np.ndarray | None = None) -> None:
    """``y = a * x + y`` in place; ``scratch`` (like ``y``) spares NumPy's fallback a temporary."""
    routine = _routine("axpy", x, y, a)
    if routine is not None:
        routine(y.size, a, _address(x), 1, _address(y), 1)
    elif a == 1.0:
        y += x
    elif a == -1.0:
        y -= x
    else:
        y += np.multiply(x, a, out=scratch)


def axpby(a: float, x: np.ndarray, b: float, y: np.ndarray,
          scratch: np.ndarray | None = None) -> None:
    """``y = a * x + b * y`` in place; ``scratch`` (like ``y``) spares NumPy's fallback a
    temporary."""
    routine = _routine("axpby", x, y, a, b)
    if routine is not None and y.size < AXPBY_MAX_SIZE:
        routine(y.size, a, _address(x), 1, b, _address(y), 1)
        return
    if b != 1.0:
        scal(b, y)  # y = b * y
    axpy(a, x, y, scratch)  # y = a * x + y


def scal(a: float, y: np.ndarray) -> None:
    """``y = a * y`` in place."""
    routine = _routine("scal", y, y, a)
    if routine is not None and y.size >= SCAL_MIN_SIZE:
        routine(y.size, a, _address(y), 1)
    else:
        y *= a


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS's enums
# From this many outputs ``matmul_add`` writes the bias first and lets the product add to it;
# below it NumPy's product then ``+=`` is as fast (tuned: see MIN_SIZE).
ADD_MIN_SIZE = 1 << 17


def _gemm(c: np.ndarray, x: np.ndarray, y: np.ndarray):
    """The BLAS gemm for ``c`` from ``x`` and ``y``, or None when NumPy must do it: all three
    2-D, C-contiguous and of one float dtype, ``c`` writeable and of a size worth the call."""
    if not (ENABLED and AVAILABLE) or not MIN_SIZE <= c.size <= _MAX_SIZE:
        return None
    if not (c.ndim == x.ndim == y.ndim == 2 and c.dtype == x.dtype == y.dtype
            and c.flags.c_contiguous and x.flags.c_contiguous and y.flags.c_contiguous
            and c.flags.writeable):
        return None
    return _ROUTINES.get(("gemm", c.dtype))


def gemm_tn(a: float, x: np.ndarray, d: np.ndarray, b: float, c: np.ndarray,
            scratch: np.ndarray) -> None:
    """``c = a * x^T @ d + b * c`` in place, for ``x`` (k, m), ``d`` (k, n), ``c`` (m, n).

    One BLAS call, which reads and writes ``c`` once; with ``b = 1`` it is even a little
    faster than ``np.matmul(x.T, d, out=c)``, since OpenBLAS first zeroes an output it is
    told to overwrite. NumPy's path writes the product into ``scratch`` (shaped like ``c``)
    and then updates ``c`` with ``axpby``; so does a coefficient 0 (see ``_routine``).
    """
    routine = _gemm(c, x, d) if a != 0.0 and b != 0.0 else None
    if (routine is not None and x.shape[0] == d.shape[0]
            and c.shape == (x.shape[1], d.shape[1])):
        (k, m), n = x.shape, d.shape[1]
        routine(_ROW_MAJOR, _TRANS, _NO_TRANS, m, n, k, a, _address(x), m, _address(d), n,
                b, _address(c), n)
        return
    product_tn(x, d, scratch)  # scratch = x^T @ d
    axpby(a, scratch, b, c)  # c = a * scratch + b * c


def matmul_add(x: np.ndarray, w: np.ndarray, bias: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = x @ w + bias``, the bias added to every row, for ``x`` (m, k), ``w`` (k, n);
    ``out`` must not overlap ``x`` or ``w``.

    From ``ADD_MIN_SIZE`` outputs: ``out = bias`` in every row, then one BLAS call adds the
    product to it, a pass fewer than NumPy's product and ``+=``. Like every BLAS path here it
    knows nothing of ``np.seterr``: a product that overflows gives inf without a warning.
    """
    routine = _gemm(out, x, w) if out.size >= ADD_MIN_SIZE else None
    if (routine is not None and x.shape[1] == w.shape[0] and bias.dtype == out.dtype
            and out.shape == (x.shape[0], w.shape[1]) and bias.shape == (w.shape[1],)):
        np.copyto(out, bias)  # out = bias, in every row
        (m, k), n = x.shape, w.shape[1]
        routine(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, m, n, k, 1.0, _address(x), k,
                _address(w), n, 1.0, _address(out), n)  # out = x @ w + out
        return out
    product(x, w, out)  # out = x @ w
    out += bias
    return out


# np.dot reports floating-point errors to np.seterr from NumPy 2.3 on (np.matmul always has):
# on an older NumPy every product stays with np.matmul, so that none overflows unseen
_DOT_SEES_SETERR = np.lib.NumpyVersion(np.__version__) >= "2.3.0"


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = a @ b`` for a 2-D ``b`` and a 1-D or 2-D ``a``, into ``out``.

    Not a ctypes call, but here with the other products: ``np.dot`` and ``np.matmul`` call
    the same BLAS routine, and for C- or Fortran-ordered operands (the engine's own buffers
    and their transposes) they give the same bits, but a call to ``np.dot`` costs about half
    of ``np.matmul``'s. At XOR's size a training step makes seven such products, each costing
    little more than the call.
    ``np.dot`` is taken from NumPy 2.3 (see ``_DOT_SEES_SETERR``), for operands of one
    dtype, in native byte order, into a C-contiguous ``out`` of that dtype: the only ``out``
    it accepts. Anything else goes to ``np.matmul``, which casts as NumPy does. (For a
    strided operand the two may copy it differently and round differently in the last
    place.)
    """
    if (_DOT_SEES_SETERR and a.dtype == b.dtype == out.dtype and out.dtype.isnative
            and out.flags.c_contiguous):
        return np.dot(a, b, out=out)  # out = a @ b
    return np.matmul(a, b, out=out)  # out = a @ b


# From this many outputs ``product_tn`` takes np.matmul: with a transposed first operand np.dot
# is a few percent slower at a network's sizes, where its cheaper call no longer matters;
# below it, at XOR's size, the call is most of the product (tuned: see MIN_SIZE).
PRODUCT_TN_MAX_SIZE = 1 << 14


def product_tn(x: np.ndarray, d: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = x^T @ d`` for ``x`` (k, m), ``d`` (k, n), ``out`` (m, n): a weight gradient."""
    if out.size < PRODUCT_TN_MAX_SIZE:
        return product(x.T, d, out)  # out = x^T @ d
    return np.matmul(x.T, d, out=out)  # out = x^T @ d


# -- a SciPy CSR first operand: the first layer's products on sparse data -----------------
# SciPy's public product ``x @ w`` allocates its result and has no ``out=``: the weight
# gradient ``x^T @ d`` would be a new (n_in, n_out) array every batch, zeroed, then copied
# into ``dW`` (three passes over a matrix as large as ``W``, plus the page faults of a fresh
# allocation). SciPy's own kernels under that product, ``csr_matvecs`` and ``csc_matvecs``
# (``y += A @ x`` for CSR and CSC ``A``), add into an existing array: one zeroing pass for
# the gradient, and none at all for plain SGD's step ``W = W - x^T @ d``, which then touches
# only the rows of ``W`` whose columns the batch stores. They live in SciPy's private
# ``scipy.sparse._sparsetools``; where it is missing or changed, and for operands they do
# not take (another format or dtype, a non-contiguous array), the same equations run with
# SciPy's public product. Tests switch the kernels off with ``SPARSE_ENABLED = False``.
SPARSE_ENABLED = True
_SPARSE_KERNELS: dict = {}  # name -> SciPy's kernel (None: not found), looked up once


def _sparse_kernel(name: str, x, dense: np.ndarray, out: np.ndarray):
    """SciPy's kernel ``name`` for CSR ``x``, ``dense`` and ``out``, or None when the public
    product must do it: ``x`` CSR, all three of one dtype, ``dense`` and ``out`` C-contiguous
    (``out`` writeable), ``x``'s two index arrays of one integer type."""
    if not SPARSE_ENABLED or getattr(x, "format", None) != "csr":
        return None
    if not (x.dtype == dense.dtype == out.dtype and x.indptr.dtype == x.indices.dtype
            and dense.flags.c_contiguous and out.flags.c_contiguous and out.flags.writeable):
        return None
    if name not in _SPARSE_KERNELS:
        try:
            from scipy.sparse import _sparsetools
            _SPARSE_KERNELS[name] = getattr(_sparsetools, name)
        except (ImportError, AttributeError):
            _SPARSE_KERNELS[name] = None
    return _SPARSE_KERNELS[name]


def sparse_matmul_add(x, w: np.ndarray, bias: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = x @ w + bias`` for a SciPy CSR ``x`` (m, k) and ``w`` (k, n): ``out = bias``
    in every row, then SciPy's CSR kernel adds ``x @ w`` to it (``nnz * n`` multiply-adds,
    each stored entry of ``x`` scaling one row of ``w``)."""
    kernel = _sparse_kernel("csr_matvecs", x, w, out)
    if kernel is None:
        return np.add(x @ w, bias, out=out)  # out = x @ w + bias, SciPy's product
    np.copyto(out, bias)  # out = bias, in every row
    (m, k), n = x.shape, w.shape[1]
    kernel(m, k, n, x.indptr, x.indices, x.data, w.reshape(-1), out.reshape(-1))  # out += x @ w
    return out


def sparse_product_tn(x, d: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = x^T @ d`` for a SciPy CSR ``x`` (k, m) and ``d`` (k, n): a weight gradient.

    A CSR matrix's three arrays, read as CSC, are its transpose: SciPy's CSC kernel adds
    ``x^T @ d`` into the zeroed ``out``, each stored entry ``x[i, j]`` adding ``x[i, j] *
    d[i]`` to row ``j``."""
    kernel = _sparse_kernel("csc_matvecs", x, d, out)
    if kernel is None:
        np.copyto(out, x.T @ d)  # out = x^T @ d, SciPy's product
        return out
    out.fill(0.0)
    (k, m), n = x.shape, d.shape[1]
    kernel(m, k, n, x.indptr, x.indices, x.data, d.reshape(-1), out.reshape(-1))  # out += x^T d
    return out


def sparse_gemm_tn(a: float, x, d: np.ndarray, b: float, c: np.ndarray) -> None:
    """``c = a * x^T @ d + b * c`` in place, for a SciPy CSR ``x`` (k, m), ``d`` (k, n), ``c``
    (m, n); ``d`` is overwritten (``d = a * d``).

    ``c = b * c`` (nothing to do when ``b = 1``), then SciPy's CSC kernel adds ``x^T @ (a *
    d)``: only the rows of ``c`` whose columns ``x`` stores are read and written.
    """
    kernel = _sparse_kernel("csc_matvecs", x, d, c)
    if kernel is None:
        axpby(a, x.T @ d, b, c)  # c = a * (x^T @ d) + b * c, SciPy's product
        return
    if b != 1.0:
        scal(b, c)  # c = b * c
    if a != 1.0:
        d *= a  # d = a * d
    (k, m), n = x.shape, d.shape[1]
    kernel(m, k, n, x.indptr, x.indices, x.data, d.reshape(-1), c.reshape(-1))  # c += x^T d
