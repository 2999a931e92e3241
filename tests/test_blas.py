"""glassnet._blas: axpy, axpby, scal and the gemm products from NumPy's own OpenBLAS, and
their NumPy stand-ins."""

import ctypes
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

from glassnet import _blas


def test_the_openblas_of_numpys_wheels_is_found():
    """pip's NumPy wheels carry scipy-openblas: there the fast path must be on, or every
    optimizer silently falls back to NumPy's two-pass updates."""
    if _blas._numpy_blas() != "scipy-openblas" or sys.platform not in ("linux", "darwin"):
        pytest.skip(f"NumPy here uses {_blas._numpy_blas()!r} on {sys.platform}: only the NumPy "
                    "update path applies")
    assert _blas.AVAILABLE


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_only_numpys_own_openblas_is_used_and_nothing_new_is_loaded():
    """In a fresh interpreter with NumPy and SciPy (whose wheels carry another OpenBLAS, with
    its own thread pool) loaded: importing glassnet._blas maps no new OpenBLAS, and the one
    it uses lies in NumPy's own library folder."""
    script = """
import os, numpy
try:
    import scipy.linalg  # brings SciPy's own OpenBLAS, when SciPy is installed
except ImportError:
    pass
def mapped():
    with open("/proc/self/maps") as maps:
        return {line.split(maxsplit=5)[5].strip() for line in maps
                if "openblas" in line and len(line.split(maxsplit=5)) == 6}
before = mapped()
from glassnet import _blas
print(sorted(mapped() - before))
print(_blas._candidate_paths())
print(os.path.dirname(os.path.dirname(os.path.abspath(numpy.__file__))))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    new, used, site = eval(out[0]), eval(out[1]), out[2]
    assert new == []
    assert all(os.path.dirname(path) in (os.path.join(site, "numpy.libs"),
                                         os.path.join(site, "numpy", ".dylibs"))
               for path in used), used


def test_the_blas_path_keeps_no_array_alive(monkeypatch):
    """Arrays passed through the BLAS path (a new gradient every step, models thrown away)
    must be freed when their owner lets go of them, and stay resizable."""
    monkeypatch.setattr(_blas, "MIN_SIZE", 0)
    p = np.zeros(5000)
    refs = []
    for _ in range(5):
        g = np.ones(5000)
        _blas.axpy(-0.5, g, p)
        refs.append(weakref.ref(g))
        del g
    assert all(ref() is None for ref in refs)
    np.testing.assert_array_equal(p, -2.5)
    p.resize(6000, refcheck=True)  # nothing else refers to p


@pytest.mark.parametrize("call", ["axpy", "axpby x", "axpby y", "scal"])
def test_a_zero_coefficient_keeps_nan_visible(call, update_path):
    """0 * nan is nan in NumPy; BLAS may skip reading a vector whose coefficient is 0. A NaN
    must stay visible either way (the divergence guard looks for it)."""
    x, y = np.ones(8), np.ones(8)
    (x if call in ("axpy", "axpby x") else y)[3] = np.nan
    with np.errstate(invalid="ignore"):
        {"axpy": lambda: _blas.axpy(0.0, x, y), "axpby x": lambda: _blas.axpby(0.0, x, 1.0, y),
         "axpby y": lambda: _blas.axpby(1.0, x, 0.0, y), "scal": lambda: _blas.scal(0.0, y)}[call]()
    assert np.isnan(y[3])


LAYOUTS = {
    "vector": lambda a: a,
    "matrix": lambda a: a.reshape(30, 40),
    "strided view": lambda a: a[::2],  # not contiguous: NumPy's path
    "empty": lambda a: a[:0],
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_and_axpby_equal_their_equations(dtype, layout, update_path):
    """y = a x + y, y = a x + b y and y = b y, in place, against the same sums in float64: to the
    last bit or two of the dtype (a BLAS kernel may round a x + y once, NumPy twice)."""
    rng = np.random.default_rng(0)
    shape_of = LAYOUTS[layout]
    x = shape_of(rng.standard_normal(1200).astype(dtype))
    y0 = shape_of(rng.standard_normal(1200).astype(dtype))
    tol = dict(rtol=4 * np.finfo(dtype).eps, atol=4 * np.finfo(dtype).eps)
    for a, b in [(-1.0, 0.9), (0.37, 1.0), (1.0, 0.999), (-2.5e-3, 0.5)]:
        y = y0.copy()
        _blas.axpy(a, x, y)
        np.testing.assert_allclose(y, a * x.astype(np.float64) + y0, **tol)
        y = y0.copy()
        _blas.axpby(a, x, b, y, scratch=np.empty_like(y))
        np.testing.assert_allclose(y, a * x.astype(np.float64) + b * y0.astype(np.float64),
                                   **tol)
        assert y.dtype == dtype
        y = y0.copy()
        _blas.scal(b, y)
        np.testing.assert_allclose(y, b * y0.astype(np.float64), **tol)


def test_axpby_as_scal_then_axpy_for_long_vectors(update_path, monkeypatch):
    """From AXPBY_MAX_SIZE entries y = a x + b y runs as y = b y, then y = a x + y: the same
    equation, NaN in y kept visible."""
    monkeypatch.setattr(_blas, "AXPBY_MAX_SIZE", 100)
    rng = np.random.default_rng(1)
    x, y0 = rng.standard_normal(1200), rng.standard_normal(1200)
    y = y0.copy()
    _blas.axpby(-0.3, x, 0.9, y)
    np.testing.assert_allclose(y, -0.3 * x + 0.9 * y0, rtol=4e-16, atol=4e-16)
    y[7] = np.nan
    with np.errstate(invalid="ignore"):
        _blas.axpby(1.0, x, 0.0, y)
    assert np.isnan(y[7]) and np.isfinite(np.delete(y, 7)).all()


def test_axpby_routine_only_below_axpby_max_size(monkeypatch):
    """At AXPBY_MAX_SIZE entries and more, OpenBLAS's axpby (one thread) is not called: its
    scal and axpy split the vector over the cores. A sentinel stands in for axpby."""
    if not _blas._ROUTINES:
        pytest.skip("NumPy's own OpenBLAS was not found: there is no BLAS axpby to avoid")

    def sentinel(*args):
        raise AssertionError("BLAS axpby called")

    routines = dict(_blas._ROUTINES)
    routines["axpby", np.dtype(np.float64)] = sentinel
    monkeypatch.setattr(_blas, "_ROUTINES", routines)
    monkeypatch.setattr(_blas, "MIN_SIZE", 0)
    monkeypatch.setattr(_blas, "AXPBY_MAX_SIZE", 1000)
    x, y = np.arange(1000.0), np.ones(1000)
    _blas.axpby(2.0, x, 0.5, y)  # at the limit: scal, then axpy
    np.testing.assert_array_equal(y, 2.0 * np.arange(1000.0) + 0.5)
    with pytest.raises(AssertionError, match="BLAS axpby called"):
        _blas.axpby(2.0, x[:999], 0.5, np.ones(999))  # below it: axpby itself


def test_a_strided_view_is_updated_where_it_points_and_nowhere_else(update_path):
    """The BLAS path takes only contiguous arrays; a view with a step falls back to NumPy,
    which must write through the view and leave the entries between untouched."""
    base = np.arange(10, dtype=np.float32)
    view = base[::2]
    _blas.axpy(2.0, np.ones(5, np.float32), view)
    np.testing.assert_array_equal(base, [2, 1, 4, 3, 6, 5, 8, 7, 10, 9])


def test_mixed_dtypes_fall_back_to_numpy(update_path):
    """A float64 x into a float32 y: NumPy's casting rules apply, no BLAS type confusion."""
    y = np.ones(4, np.float32)
    _blas.axpby(0.5, np.arange(4, dtype=np.float64), 2.0, y)
    np.testing.assert_array_equal(y, [2.0, 2.5, 3.0, 3.5])
    assert y.dtype == np.float32


def test_small_arrays_stay_with_numpy(monkeypatch):
    """Under MIN_SIZE entries the foreign call would cost more than NumPy's pass: the BLAS
    routine must not be reached (a sentinel stands in for it and would raise)."""
    def sentinel(*args):
        raise AssertionError("BLAS called for a small array")

    monkeypatch.setattr(_blas, "_ROUTINES", {key: sentinel for key in _blas._ROUTINES})
    monkeypatch.setattr(_blas, "AVAILABLE", True)
    small = np.ones(_blas.MIN_SIZE - 1, np.float32)
    _blas.axpy(2.0, small, small.copy())
    _blas.axpby(2.0, small, 0.5, small.copy())
    _blas.scal(0.5, small)
    np.testing.assert_array_equal(small, 0.5)
    below_scal = np.ones(_blas.SCAL_MIN_SIZE - 1, np.float32)
    _blas.scal(0.5, below_scal)  # NumPy's multiply is faster than BLAS's scal up to here
    np.testing.assert_array_equal(below_scal, 0.5)
    if _blas._ROUTINES:  # the library was found: a large array must reach it
        with pytest.raises(AssertionError, match="BLAS called"):
            _blas.axpy(0.5, np.ones(_blas.MIN_SIZE, np.float32),
                       np.ones(_blas.MIN_SIZE, np.float32))
        with pytest.raises(AssertionError, match="BLAS called"):
            _blas.scal(0.5, np.ones(_blas.SCAL_MIN_SIZE, np.float32))


def test_nothing_is_loaded_when_numpy_uses_another_blas(monkeypatch):
    """A NumPy built with Accelerate, MKL or a system BLAS may still sit beside an OpenBLAS
    file; loading it would start a second thread pool, so nothing is looked for at all."""
    monkeypatch.setattr(_blas, "_numpy_blas", lambda: "accelerate")
    assert _blas._candidate_paths() == []
    assert _blas._load() == {}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a, b", [(-1.0, 1.0), (-0.25, 0.97), (2.0, -0.5)])
def test_gemm_tn_adds_the_product_into_c(update_path, dtype, a, b):
    """c = a * x^T @ d + b * c against the same equation in float64 NumPy, for both paths
    (BLAS, and NumPy's matmul into scratch then axpby)."""
    rng = np.random.default_rng(0)
    x, d, c = (rng.standard_normal(shape).astype(dtype) for shape in ((7, 5), (7, 3), (5, 3)))
    expected = a * (x.astype(np.float64).T @ d.astype(np.float64)) + b * c.astype(np.float64)
    _blas.gemm_tn(a, x, d, b, c, scratch=np.empty_like(c))
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(c, expected, rtol=tolerance, atol=tolerance)
    assert c.dtype == dtype


def test_gemm_tn_calls_blas_only_for_contiguous_operands_and_keeps_nan(monkeypatch):
    """The BLAS routine is reached for C-contiguous operands (a sentinel stands in for it);
    a transposed x or a coefficient 0 go to NumPy, which still computes the equation, and
    0 * NaN in c stays NaN there, visible to the divergence checks."""
    if not _blas._ROUTINES:
        pytest.skip("NumPy's own OpenBLAS was not found: there is no BLAS gemm to route to")
    calls = []
    routines = dict(_blas._ROUTINES)
    routines["gemm", np.dtype(np.float64)] = lambda *args: calls.append(args[:6])
    monkeypatch.setattr(_blas, "_ROUTINES", routines)
    monkeypatch.setattr(_blas, "MIN_SIZE", 0)
    x, d, c = np.ones((4, 2)), np.ones((4, 3)), np.zeros((2, 3))
    _blas.gemm_tn(-1.0, x, d, 0.5, c, scratch=np.empty_like(c))
    assert calls == [(101, 112, 111, 2, 3, 4)]  # row-major, x transposed, m, n, k
    x_view = np.ones((2, 4)).T  # (4, 2), not C-contiguous
    _blas.gemm_tn(-1.0, x_view, d, 1.0, c, scratch=np.empty_like(c))
    assert len(calls) == 1
    np.testing.assert_array_equal(c, -4.0)
    c[0, 0] = np.nan
    _blas.gemm_tn(-1.0, x, d, 0.0, c, scratch=np.empty_like(c))
    assert len(calls) == 1 and np.isnan(c[0, 0])
    np.testing.assert_array_equal(c.ravel()[1:], -4.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_add_adds_the_bias_to_every_row_of_the_product(update_path, dtype):
    """out = x @ w + bias against float64 NumPy, both paths; out's old contents (NaN here)
    must not leak into the result."""
    rng = np.random.default_rng(1)
    x, w, bias = (rng.standard_normal(shape).astype(dtype) for shape in ((6, 4), (4, 5), (5,)))
    out = np.full((6, 5), np.nan, dtype)
    expected = x.astype(np.float64) @ w.astype(np.float64) + bias
    assert _blas.matmul_add(x, w, bias, out=out) is out
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)


def test_matmul_add_calls_blas_from_add_min_size_only(monkeypatch):
    """The BLAS gemm (a sentinel records its sizes) from ADD_MIN_SIZE outputs, with the
    bias already in out; NumPy's product and += below that."""
    if not _blas._ROUTINES:
        pytest.skip("NumPy's own OpenBLAS was not found: there is no BLAS gemm to route to")
    calls = []

    def sentinel(*args):
        calls.append(args[:6])
        out = np.ctypeslib.as_array(ctypes.cast(args[12], ctypes.POINTER(ctypes.c_double)),
                                    shape=(args[3], args[4]))
        calls.append(out.copy())  # what gemm found in out: the bias in every row

    routines = dict(_blas._ROUTINES)
    routines["gemm", np.dtype(np.float64)] = sentinel
    monkeypatch.setattr(_blas, "_ROUTINES", routines)
    monkeypatch.setattr(_blas, "MIN_SIZE", 0)
    monkeypatch.setattr(_blas, "ADD_MIN_SIZE", 6)
    x, w, bias = np.ones((2, 4)), np.ones((4, 3)), np.array([1.0, 2.0, 3.0])
    _blas.matmul_add(x, w, bias, out=np.empty((2, 3)))
    assert calls[0] == (101, 111, 111, 2, 3, 4)  # row-major, no transposes, m, n, k
    np.testing.assert_array_equal(calls[1], [[1, 2, 3], [1, 2, 3]])
    out = _blas.matmul_add(x[:1], w, bias, out=np.empty((1, 3)))  # 3 outputs: NumPy
    assert len(calls) == 2
    np.testing.assert_array_equal(out, [[5, 6, 7]])


def test_read_only_operands_take_the_blas_path_too(update_path):
    """A read-only x or d (a user's X that cannot be written) is read through NumPy's own
    address attribute: gemm_tn, matmul_add and axpy give the same numbers as NumPy."""
    rng = np.random.default_rng(2)
    x, d, w = rng.standard_normal((6, 4)), rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    bias = rng.standard_normal(3)
    for a in (x, d, w, bias):
        a.flags.writeable = False
    c = rng.standard_normal((4, 3))
    expected = -0.5 * x.T @ d + 0.9 * c
    _blas.gemm_tn(-0.5, x, d, 0.9, c, scratch=np.empty_like(c))
    np.testing.assert_allclose(c, expected, rtol=1e-13)
    out = _blas.matmul_add(x, w, bias, out=np.empty((6, 3)))
    np.testing.assert_allclose(out, x @ w + bias, rtol=1e-13)
    y = np.ones(24)
    _blas.axpy(2.0, x.reshape(-1), y)
    np.testing.assert_allclose(y, 1.0 + 2.0 * x.reshape(-1), rtol=1e-15)


def test_dense_forward_through_matmul_add_equals_x_w_plus_b(update_path):
    """Dense.forward (matmul_add from ADD_MIN_SIZE outputs, 0 here) against x @ W + b in
    float64 NumPy, on a view with an offset into a larger array and on a read-only x."""
    from glassnet.layers import Dense
    rng = np.random.default_rng(3)
    layer = Dense(5, 7, seed=0, dtype="float64")
    layer.b[...] = rng.standard_normal(7)
    big = rng.standard_normal((20, 5))
    for x in (big[3:11], np.frombuffer(big[:6].tobytes()).reshape(6, 5)):
        np.testing.assert_allclose(layer.forward(x), x @ layer.W + layer.b, rtol=1e-13)


def _operand(rng, shape, dtype, layout):
    """A float array of ``shape`` laid out as named: C order, Fortran order, a transpose
    (C underneath), or every other column of a wider array (no BLAS layout at all)."""
    if layout == "C":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "F":
        return np.asfortranarray(rng.standard_normal(shape).astype(dtype))
    if layout == "transposed":
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    wide = rng.standard_normal((shape[0], 2 * shape[1])).astype(dtype)
    return wide[:, ::2]


@pytest.fixture
def dot_calls(monkeypatch) -> list:
    """The np.dot calls made while the test runs, one entry each (np.dot itself still runs)."""
    calls = []
    dot = np.dot

    def counting_dot(*args, **kwargs):
        calls.append(args)
        return dot(*args, **kwargs)
    monkeypatch.setattr(np, "dot", counting_dot)
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "transposed", "strided"])
@pytest.mark.parametrize("shapes", [((4, 2), (2, 4)), ((128, 33), (33, 7)), ((5,), (5, 3)),
                                    ((6, 4), (4, 1)), ((1, 4), (4, 6)), ((0, 3), (3, 2)),
                                    ((0,), (0, 3))])
def test_product_gives_np_matmuls_values(dtype, layout, shapes):
    """``product`` against np.matmul's result, for both operands in each layout (one-column,
    one-row and empty shapes included), into a C-ordered output of their dtype: bit for bit
    where BLAS takes the operands as they are; a strided operand, which np.dot and np.matmul
    may copy differently, within the rounding error of a dot product."""
    rng = np.random.default_rng(0)
    a_shape, b_shape = shapes
    a = (rng.standard_normal(a_shape).astype(dtype) if len(a_shape) == 1
         else _operand(rng, a_shape, dtype, layout))
    b = _operand(rng, b_shape, dtype, layout)
    expected = np.matmul(a, b)
    out = np.full(expected.shape, np.nan, dtype)
    assert _blas.product(a, b, out) is out
    if layout == "strided":  # the error bound of a dot product, summed in any order
        bound = 8 * np.finfo(dtype).eps * np.matmul(np.abs(a), np.abs(b))
        assert np.all(np.abs(out - expected) <= bound)
    else:
        np.testing.assert_array_equal(out, expected)


def test_product_takes_np_matmul_for_what_np_dot_refuses():
    """np.dot takes only operands of one dtype, in native byte order, into a C-ordered output
    of that dtype: a Fortran-ordered or strided output, a float64 product into float32 (cast
    as np.matmul casts), mixed float32 and float64 operands and byte-swapped float64 arrays
    still get np.matmul's values, written into the same kind of output."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4))
    swapped = np.dtype(np.float64).newbyteorder()  # float64, not in this machine's byte order
    outputs = [lambda: np.full((6, 4), np.nan, order="F"),
               lambda: np.full((6, 4), np.nan, np.float32),
               lambda: np.full((6, 8), np.nan)[:, ::2],
               lambda: np.full((6, 4), np.nan),
               lambda: np.full((6, 4), np.nan, np.float32),
               lambda: np.full((6, 4), np.nan, swapped)]
    pairs = [(a, b), (a, b), (a, b), (a.astype(np.float32), b),
             (a.astype(np.float32), b),  # b's dtype alone differs from out's
             (a.astype(swapped), b.astype(swapped))]
    for (x, y), make_out in zip(pairs, outputs):
        out, expected = make_out(), make_out()
        _blas.product(x, y, out)
        np.testing.assert_array_equal(out, np.matmul(x, y, out=expected))


@pytest.mark.skipif(not _blas._DOT_SEES_SETERR,
                    reason="np.dot reports floating-point errors from NumPy 2.3: before that "
                           "product always takes np.matmul")
def test_product_takes_np_dot_for_one_dtype_into_a_c_ordered_output(dot_calls):
    """The fast path is taken where it can be: operands of one dtype into a C-contiguous
    output of that dtype, and only there."""
    a, b = np.ones((3, 2), np.float32), np.ones((2, 4), np.float32)
    _blas.product(a, b, np.empty((3, 4), np.float32))
    _blas.product(np.ones(3, np.float32), a, np.empty(2, np.float32))
    assert len(dot_calls) == 2
    _blas.product(a, b, np.empty((3, 4), np.float64))
    _blas.product(a, b, np.empty((3, 4), np.float32, order="F"))
    _blas.product(a, b.astype(np.float64), np.empty((3, 4), np.float64))
    assert len(dot_calls) == 2


def test_an_overflowing_product_raises_under_seterr_raise():
    """Small products leave np.seterr in charge (BLAS calls through ctypes do not): a
    product that overflows raises FloatingPointError under "raise", whichever function
    computes it, and through a Dense layer's forward pass."""
    from glassnet.layers import Dense
    a, b = np.full((2, 2), 1e308), np.full((2, 2), 10.0)
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            _blas.product(a, b, np.empty((2, 2)))
        layer = Dense.from_arrays(b, np.zeros(2))
        with pytest.raises(FloatingPointError):
            layer.forward(a)


def test_product_with_mismatched_shapes_names_them():
    with pytest.raises(ValueError, match=r"4.*5|5.*4"):
        _blas.product(np.ones((3, 4)), np.ones((5, 2)), np.empty((3, 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_out", [3, 200])  # 40 x 3 outputs take np.dot, 40 x 200 np.matmul
def test_product_tn_gives_x_transposed_times_d(monkeypatch, dot_calls, dtype, n_out):
    """``product_tn(x, d, out)`` is ``x^T @ d`` against np.matmul, bit for bit, on either
    side of ``PRODUCT_TN_MAX_SIZE`` (lowered here so that both sides stay small), and np.dot
    is called only below it."""
    monkeypatch.setattr(_blas, "PRODUCT_TN_MAX_SIZE", 1000)
    rng = np.random.default_rng(2)
    x, d = rng.standard_normal((50, 40)).astype(dtype), rng.standard_normal((50, n_out))
    d = d.astype(dtype)
    out = np.full((40, n_out), np.nan, dtype)
    assert _blas.product_tn(x, d, out) is out
    np.testing.assert_array_equal(out, np.matmul(x.T, d))
    assert len(dot_calls) == (1 if out.size < 1000 and _blas._DOT_SEES_SETERR else 0)


def test_product_tn_takes_np_matmul_from_product_tn_max_size_on(monkeypatch, dot_calls):
    """At exactly ``PRODUCT_TN_MAX_SIZE`` outputs np.matmul is taken, one below np.dot."""
    monkeypatch.setattr(_blas, "PRODUCT_TN_MAX_SIZE", 12)
    x, d = np.ones((5, 3)), np.ones((5, 4))
    _blas.product_tn(x, d, np.empty((3, 4)))  # 12 outputs
    assert dot_calls == []
    monkeypatch.setattr(_blas, "PRODUCT_TN_MAX_SIZE", 13)
    _blas.product_tn(x, d, np.empty((3, 4)))
    assert len(dot_calls) == (1 if _blas._DOT_SEES_SETERR else 0)
