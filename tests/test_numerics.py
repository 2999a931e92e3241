"""Numerical stability and accuracy of numerics.py, the losses and the activations.

Every test runs under ``np.seterr(all="raise")`` (see conftest.py), so an overflow, an
underflow, an invalid operation or a division by zero anywhere is a failure, not a warning.
"""

import numpy as np
import pytest
from scipy import special

from glassnet import numerics
from glassnet.activations import ACTIVATIONS
from glassnet.losses import LOSSES

# (dtype, extreme magnitude): the ranges numerics.py promises to handle.
EXTREMES = [pytest.param(np.float64, 1000.0, id="float64-1000"),
            pytest.param(np.float32, 100.0, id="float32-100")]


def assert_close(actual, desired, **kw):
    """``np.testing.assert_allclose`` with underflow ignored: its own ``rtol * |desired|`` underflows
    on subnormal references, and the comparison is not what is under test."""
    with np.errstate(under="ignore"):
        np.testing.assert_allclose(actual, desired, **kw)


def _reference(fn, z):
    """Evaluate a SciPy/NumPy reference with FP errors ignored (it is the oracle, not under test)."""
    with np.errstate(all="ignore"):
        return fn(z)


# name -> (glassnet function, independent reference)
REFERENCES = {
    "softmax": (numerics.softmax, lambda z: special.softmax(z, axis=-1)),
    "log_softmax": (numerics.log_softmax, lambda z: special.log_softmax(z, axis=-1)),
    "logsumexp": (numerics.logsumexp, lambda z: special.logsumexp(z, axis=-1)),
    "sigmoid": (numerics.sigmoid, special.expit),
    "softplus": (numerics.softplus, lambda z: np.logaddexp(0.0, z)),
}


def _logits(kind, seed=0, shape=(40, 6), dtype=np.float64):
    """Random logits (float64 unless ``dtype``): Gaussian of a given scale, exact +-v signs, or uniform in [-v, v]."""
    rng = np.random.default_rng(seed)
    if kind.startswith("normal"):
        z = rng.standard_normal(shape) * float(kind.split("-")[1])
    elif kind.startswith("signs"):
        z = rng.choice([-1.0, 1.0], size=shape) * float(kind.split("-")[1])
    elif kind.startswith("uniform"):
        v = float(kind.split("-")[1])
        z = rng.uniform(-v, v, size=shape)
    else:  # pragma: no cover - a typo in a parametrization
        raise ValueError(kind)
    return z.astype(dtype)


SCALES = ["normal-0.001", "normal-1", "normal-10", "normal-100", "normal-1000",
          "signs-1000", "uniform-1000"]


@pytest.mark.parametrize("kind", SCALES)
@pytest.mark.parametrize("name", list(REFERENCES))
def test_numerics_match_scipy_float64(name, kind):
    """Each stable function agrees with SciPy to rtol 1e-12 (atol 1e-300 for exact zeros)."""
    ours, ref = REFERENCES[name]
    for seed in range(3):
        z = _logits(kind, seed)
        got = ours(z)
        want = _reference(ref, z)
        assert got.shape == want.shape
        assert got.dtype == np.float64
        assert_close(got, want, rtol=1e-12, atol=1e-300,
                     err_msg=f"{name} on {kind} logits, seed {seed}")


def test_numerics_exact_values_at_extremes():
    """Hand-checked limits at +-1000: sigmoid -> 0/1, softplus -> 0/z, softmax picks the max."""
    z = np.array([[-1000.0, 1000.0, 0.0]])
    np.testing.assert_array_equal(numerics.sigmoid(z), [[0.0, 1.0, 0.5]])
    assert_close(numerics.softplus(z), [[0.0, 1000.0, np.log(2.0)]], rtol=1e-15)
    np.testing.assert_array_equal(numerics.softmax(z), [[0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(numerics.log_softmax(z), [[-2000.0, 0.0, -1000.0]])
    np.testing.assert_array_equal(numerics.logsumexp(z), [1000.0])


@pytest.mark.parametrize("pattern", ["signs", "uniform"])
@pytest.mark.parametrize("dtype, v", EXTREMES)
@pytest.mark.parametrize("name", list(REFERENCES))
def test_numerics_extreme_logits_finite_and_dtype_preserving(name, dtype, v, pattern):
    """At +-1000 (float64) / +-100 (float32): finite, no FP error, input dtype kept."""
    ours, _ = REFERENCES[name]
    z = _logits(f"{pattern}-{v}", seed=1, dtype=dtype)
    z[0] = v  # a row of ties at +v
    z[1] = -v  # a row of ties at -v
    got = ours(z)  # any FP error raises here (strict np.seterr)
    assert got.dtype == dtype, f"{name} turned {np.dtype(dtype).name} into {got.dtype}"
    assert np.isfinite(got).all()
    if dtype == np.float32:
        # agrees with the float64 computation of the same inputs, up to float32 rounding of
        # quantities of size v (logsumexp and log_softmax carry absolute errors ~ eps * v)
        assert_close(got, ours(z.astype(np.float64)),
                     rtol=1e-5, atol=8 * np.finfo(np.float32).eps * v)


@pytest.mark.parametrize("pattern", ["signs", "uniform"])
@pytest.mark.parametrize("dtype, v", EXTREMES)
def test_softmax_rows_sum_to_one_at_extremes(dtype, v, pattern):
    """softmax rows are probability vectors and exp(log_softmax) = softmax, even at +-v."""
    z = _logits(f"{pattern}-{v}", seed=2, dtype=dtype)
    z[0] = v
    p = numerics.softmax(z)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    assert_close(p.sum(axis=-1), 1.0, rtol=tol)
    assert (p >= 0).all() and (p <= 1).all()
    assert_close(p[0], np.full(z.shape[1], 1.0 / z.shape[1], dtype=dtype), rtol=tol)
    with np.errstate(under="ignore"):  # exp of -2v underflows to the correct 0
        back = np.exp(numerics.log_softmax(z))
    assert_close(back, p, rtol=10 * tol, atol=1e-30)


# --------------------------------------------------------------------------------------
# Losses on extreme logits
# --------------------------------------------------------------------------------------

def _targets(name, target, n, k, dtype, rng):
    """Valid targets for loss ``name``: int labels or one-hot rows for cross-entropy,
    targets in [0, 1] for everything else (valid for BCE and the regression losses): hard 0/1
    labels in the first half of the rows, soft probabilities in the rest."""
    if target == "labels":
        return rng.integers(0, k, size=n)
    if target == "onehot":
        return np.eye(k, dtype=dtype)[rng.integers(0, k, size=n)]
    y = rng.random((n, k))
    y[: n // 2] = np.round(y[: n // 2])
    return y.astype(dtype)


def _loss_cases():
    cases = []
    for name in LOSSES:
        targets = ["labels", "onehot"] if name == "cross_entropy" else ["unit"]
        cases += [pytest.param(name, t, id=f"{name}-{t}") for t in targets]
    return cases


LOSS_CASES = _loss_cases()


@pytest.mark.parametrize("weighted", [False, True], ids=["mean", "weighted"])
@pytest.mark.parametrize("pattern", ["signs", "uniform"])
@pytest.mark.parametrize("dtype, v", EXTREMES)
@pytest.mark.parametrize("name, target", LOSS_CASES)
def test_loss_value_and_grad_finite_at_extreme_logits(name, target, dtype, v, pattern, weighted):
    """Loss.value_and_grad at +-1000 (float64) / +-100 (float32): finite value and gradient,
    gradient in the logits' dtype, and no FP error (underflow included) under strict seterr."""
    rng = np.random.default_rng(3)
    n, k = 8, 3
    if name.startswith("poisson"):  # its value is e^z: beyond log(max float) no float holds it
        v = int(0.9 * np.log(np.finfo(dtype).max))  # 638 (float64), 79 (float32)
    for seed in range(5):
        z = _logits(f"{pattern}-{v}", seed=seed, shape=(n, k), dtype=dtype)
        y = _targets(name, target, n, k, dtype, rng)
        w = rng.uniform(0.5, 2.0, size=n) if weighted else None
        value, grad = LOSSES[name]().value_and_grad(z.copy(), y, w)
        assert np.isfinite(value), f"{name}: loss value {value}"
        assert grad.shape == z.shape
        assert grad.dtype == dtype
        assert np.isfinite(grad).all()


def _reference_per_sample(name, target, z, y):
    """Per-sample losses by independent formulas (SciPy / np.logaddexp / textbook)."""
    if name == "cross_entropy" and target == "labels":
        return special.logsumexp(z, axis=1) - z[np.arange(len(z)), y]
    if name == "cross_entropy":
        return -np.sum(y * special.log_softmax(z, axis=1), axis=1)
    if name.startswith("binary_cross_entropy"):  # -y log s(z) - (1 - y) log(s(-z)) per output
        per_output = -y * np.log(special.expit(z)) - (1 - y) * np.log(special.expit(-z))
        return per_output.sum(axis=1) if name.endswith("_sum") else per_output.mean(axis=1)
    if name.startswith("poisson"):  # half the Poisson deviance of mu = e^z, per output:
        per_output = np.exp(z) - y * z + special.xlogy(y, y) - y  # mu - y log mu + xlogy(y, y) - y
        return per_output.sum(axis=1) if name.endswith("_sum") else per_output.mean(axis=1)
    r = z - y
    if name == "mse":
        return np.mean(r ** 2, axis=1)
    if name == "squared_error":
        return 0.5 * np.mean(r ** 2, axis=1)
    if name == "mae":
        return np.mean(np.abs(r), axis=1)
    if name == "huber":
        return np.mean(np.where(np.abs(r) <= 1.0, 0.5 * r ** 2, np.abs(r) - 0.5), axis=1)
    pytest.fail(f"no reference formula for loss {name!r}: add one to _reference_per_sample")


def _reference_grad_per_sample(name, target, z, y):
    """d l_i / d z_i by hand: softmax - y, (sigmoid - y)/K, 2r/K, sign(r)/K, clip(r)/K."""
    k = z.shape[1]
    if name == "cross_entropy":
        onehot = np.eye(k)[y] if target == "labels" else y
        return special.softmax(z, axis=1) - onehot
    if name == "binary_cross_entropy":
        return (special.expit(z) - y) / k
    if name == "binary_cross_entropy_sum":
        return special.expit(z) - y
    if name == "poisson":
        return (np.exp(z) - y) / k
    if name == "poisson_sum":
        return np.exp(z) - y
    r = z - y
    if name == "mse":
        return 2 * r / k
    if name == "squared_error":
        return r / k
    if name == "mae":
        return np.sign(r) / k
    if name == "huber":
        return np.clip(r, -1.0, 1.0) / k
    pytest.fail(f"no reference gradient for loss {name!r}: add one to _reference_grad_per_sample")


@pytest.mark.parametrize("weighted", [False, True], ids=["mean", "weighted"])
@pytest.mark.parametrize("name, target", LOSS_CASES)
def test_loss_matches_independent_formula(name, target, weighted):
    """At moderate logits (scale 3) the loss value and dL/dz equal the textbook formulas,
    including the weighted mean sum(w l) / sum(w) and its gradient w_i / sum(w) * dl_i."""
    rng = np.random.default_rng(4)
    n, k = 11, 4
    z = rng.standard_normal((n, k)) * 3.0
    y = _targets(name, target, n, k, np.float64, rng)
    if name in ("mse", "squared_error", "mae", "huber"):
        y = rng.standard_normal((n, k)) * 2.0  # residuals on both sides of every kink
    w = rng.uniform(0.0, 3.0, size=n) if weighted else np.ones(n)
    value, grad = LOSSES[name]().value_and_grad(z.copy(), y, w if weighted else None)
    per_sample = _reference_per_sample(name, target, z, y)
    assert_close(value, np.sum(w * per_sample) / np.sum(w), rtol=1e-12)
    want = _reference_grad_per_sample(name, target, z, y) * (w / np.sum(w))[:, None]
    assert_close(grad, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("per_sample", [False, True], ids=["number", "per-sample"])
@pytest.mark.parametrize("name, target", LOSS_CASES)
def test_loss_forward_backward_scales_the_gradient(name, target, per_sample, dtype):
    """``forward_backward(z, y, scale)`` is ``(l_i, c_i * dl_i/dz_i)``, with ``c`` one number
    (a folded-in learning rate) or one factor per sample (sample weights), against the
    textbook formulas; the losses themselves are not scaled, and the dtype is kept."""
    rng = np.random.default_rng(6)
    n, k = 9, 4
    z = (rng.standard_normal((n, k)) * 3.0).astype(dtype)
    y = _targets(name, target, n, k, dtype, rng)
    if name in ("mse", "squared_error", "mae", "huber"):
        y = (rng.standard_normal((n, k)) * 2.0).astype(dtype)
    c = rng.uniform(0.1, 3.0, size=n).astype(dtype) if per_sample else 0.37
    with np.errstate(under="ignore"):
        losses, grad = LOSSES[name]().forward_backward(z.copy(), y, c)
    z64, y64 = z.astype(np.float64), (y if target == "labels" else y.astype(np.float64))
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    assert_close(losses, _reference_per_sample(name, target, z64, y64), rtol=rtol, atol=rtol)
    want = _reference_grad_per_sample(name, target, z64, y64) * np.reshape(c, (-1, 1))
    assert grad.shape == z.shape and grad.dtype == dtype
    assert_close(grad, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32])
def test_cross_entropy_takes_labels_of_any_integer_type(dtype):
    """The label entries are found through a flat index label * n + i, computed in intp:
    in the labels' own type 2 * 300 would wrap (int8, uint8) or overflow (int16 at n=40000)."""
    rng = np.random.default_rng(8)
    for n in (300, 40_000):
        if np.iinfo(dtype).max < 3:
            continue
        z = rng.standard_normal((n, 3))
        y = rng.integers(0, 3, n).astype(dtype)
        losses, grad = LOSSES["cross_entropy"]().forward_backward(z.copy(), y)
        assert_close(losses, _reference_per_sample("cross_entropy", "labels", z, y), rtol=1e-12)
        assert_close(grad, _reference_grad_per_sample("cross_entropy", "labels", z, y),
                     rtol=1e-12, atol=1e-15)


def test_value_and_grad_returns_a_c_ordered_array_it_owns():
    """Internally cross-entropy's gradient is a transposed view; the public value_and_grad
    hands back an ordinary C-ordered array, usable as an out= buffer or reshaped in place."""
    rng = np.random.default_rng(9)
    for name in LOSSES:
        z = rng.standard_normal((6, 3))
        y = rng.integers(0, 3, 6) if name == "cross_entropy" else rng.random((6, 3))
        _, grad = LOSSES[name]().value_and_grad(z, y)
        assert grad.flags.c_contiguous and grad.flags.owndata, name
        grad.shape = (-1,)


@pytest.mark.parametrize("layout", ["fortran", "transposed view", "strided view"])
@pytest.mark.parametrize("name, target", LOSS_CASES)
def test_loss_gradient_does_not_depend_on_the_memory_layout_of_z(name, target, layout):
    """Logits in Fortran order or as a view (e.g. ``(W.T @ X.T).T``) give the same value and
    gradient as C-ordered ones: the label entries of dL/dz are reached through a flat view."""
    rng = np.random.default_rng(5)
    n, k = 7, 3
    z = rng.standard_normal((n, k)) * 3.0
    y = _targets(name, target, n, k, np.float64, rng)
    if name in ("mse", "squared_error", "mae", "huber"):
        y = rng.standard_normal((n, k)) * 2.0
    laid_out = {"fortran": lambda: np.asfortranarray(z),
                "transposed view": lambda: np.ascontiguousarray(z.T).T,
                "strided view": lambda: np.repeat(z, 2, axis=1)[:, ::2]}[layout]()
    assert np.array_equal(laid_out, z) and not laid_out.flags.c_contiguous
    value, grad = LOSSES[name]().value_and_grad(laid_out, y)
    want_value, want_grad = LOSSES[name]().value_and_grad(z.copy(), y)
    assert_close(value, want_value, rtol=1e-14)
    assert_close(grad, want_grad, rtol=1e-14, atol=1e-16)


# --------------------------------------------------------------------------------------
# Activations on extreme inputs
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, v", EXTREMES)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_extreme_inputs_finite_and_dtype_preserving(name, dtype, v):
    """f and f' (and the layer's forward/backward) stay finite and keep float32 float32
    for inputs spanning [-v, v]; the float32 results agree with float64 on the same inputs."""
    z = np.concatenate([[-v, v, -v / 2, v / 2], np.linspace(-v, v, 97),
                        np.linspace(-30.0, 30.0, 61)]).astype(dtype).reshape(-1, 2)
    act = ACTIVATIONS[name]()
    a = act.f(z)
    d = act.df(z, a)
    for label, arr in (("f", a), ("df", d)):
        assert arr.shape == z.shape, f"{name}.{label} shape"
        assert arr.dtype == dtype, f"{name}.{label} turned {np.dtype(dtype).name} into {arr.dtype}"
        assert np.isfinite(arr).all(), f"{name}.{label} not finite at extreme inputs"

    out = act.forward(z)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, a)
    back = act.backward(np.ones_like(z))
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, d)

    ref = ACTIVATIONS[name]()
    z64 = z.astype(np.float64)
    a64 = ref.f(z64)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=0, atol=0)
    assert_close(a, a64, **tol)
    assert_close(d, ref.df(z64, a64), **tol)


@pytest.mark.parametrize("dtype, big", [(np.float32, [1e13, 1e20, 3e38]),
                                        (np.float64, [1e103, 1e155, 1e300])])
def test_gelu_at_huge_inputs_takes_its_limits_without_overflow(dtype, big):
    """f(z) -> z and f'(z) -> 1 as z -> +inf, f -> 0 and f' -> 0 as z -> -inf; z^3 used to
    overflow (an error under seterr(all='raise'), and f' = 0 * inf = NaN)."""
    from glassnet.activations import GELU
    z = np.array([big + [-b for b in big]], dtype=dtype)
    with np.errstate(all="raise"):
        g = GELU()
        a = g.forward(z.copy()).copy()
        d = g.backward(np.ones_like(z))
    n = len(big)
    np.testing.assert_array_equal(a[0, :n], z[0, :n])
    np.testing.assert_array_equal(a[0, n:], 0.0)
    np.testing.assert_array_equal(d[0], [1.0] * n + [0.0] * n)


def test_logsumexp_of_scores_that_span_the_float_range_is_exact_and_silent():
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(numerics.logsumexp(np.array([[1e308, -1e308]])), [1e308])
