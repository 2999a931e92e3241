"""Silent for every finite input: the numerics, every activation and every loss on logits raise
no floating-point error under ``np.errstate(all="raise")``, return no NaN, keep the input's
dtype, and agree with the textbook formula evaluated in extended precision (``np.longdouble``)
and then rounded to the dtype.

The inputs are the ones that found bugs in practice: NumPy 2.4's ``log1p`` raises "underflow"
on subnormal inputs on some processors, and its float32 ``exp`` does on others, so the results
depended on the machine. Here every function sees +-0, the subnormals of both dtypes, +-1e-300,
the smallest normal, +-1e4 and the dtype's largest finite values, on every machine.
"""

import itertools

import numpy as np
import pytest

from glassnet import numerics
from glassnet.activations import ACTIVATIONS
from glassnet.losses import LOSSES

DTYPES = [np.float32, np.float64]


def special_values(dtype) -> np.ndarray:
    """The finite inputs that stress exp, log1p, expm1 and products, with both signs."""
    info = np.finfo(dtype)
    magnitudes = [0.0, 1.4e-45, 1e-40, 1.1754942e-38,  # float32: smallest and a subnormal,
                  5e-324, 1e-310, 2.2250738585072e-308,  # the largest; float64 likewise
                  1e-300, float(info.tiny), float(info.smallest_subnormal), 1e-20, 0.5, 1.0,
                  30.0, 100.0, 710.0, 1e4, 1e20, float(info.max) / 2, float(info.max)]
    with np.errstate(all="ignore"):  # float64 values round to 0 or subnormals in float32
        values = np.array(magnitudes + [-m for m in magnitudes], dtype=np.float64).astype(dtype)
    return np.unique(values)  # -0.0 and 0.0 compare equal: keep the negative zero too
    

def grid(dtype) -> np.ndarray:
    """Every pair of special values as a row: (n, 2) logits."""
    v = special_values(dtype)
    v = np.concatenate([v, np.array([-0.0], dtype=dtype)])
    return np.array(list(itertools.product(v, v)), dtype=dtype)


def rounded(ref: np.ndarray, dtype) -> np.ndarray:
    """The extended-precision reference rounded to ``dtype`` (inf beyond its range)."""
    with np.errstate(all="ignore"):
        return np.asarray(ref).astype(dtype)


def assert_matches(got, ref, dtype, what, rtol=None, atol=None):
    """``got`` has ``dtype``, no NaN, and equals the rounded reference: inf where it is inf,
    within a few units in the last place elsewhere (``atol``: ``tiny`` for subnormals)."""
    info = np.finfo(dtype)
    assert got.dtype == dtype, f"{what}: {np.dtype(dtype).name} became {got.dtype}"
    assert not np.isnan(got).any(), f"{what}: NaN at {np.argwhere(np.isnan(got))[:3].tolist()}"
    want = rounded(ref, dtype)
    rtol = 16 * float(info.eps) if rtol is None else rtol
    atol = float(info.tiny) if atol is None else atol  # a number, or one per element
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want), err_msg=f"{what}: inf")
        bad = ~(np.isinf(want) | (np.abs(got - want.astype(np.float64))
                                  <= rtol * np.abs(want.astype(np.float64)) + atol))
    assert not bad.any(), (f"{what}: {bad.sum()} entries off, e.g. at {np.argwhere(bad)[0]}: "
                           f"{got[bad][:3]} against {want[bad][:3]}")


def ld(z):
    return np.asarray(z, dtype=np.longdouble)


def shifted(z):
    """``t = z - max(z)`` and ``log(sum(exp(t)))`` over rows, in longdouble."""
    t = z - np.max(z, axis=1, keepdims=True)
    return t, np.log(np.sum(np.exp(t), axis=1, keepdims=True))


NUMERICS = {  # name -> (glassnet, reference on longdouble)
    "sigmoid": (numerics.sigmoid, lambda z: 1 / (1 + np.exp(-z))),
    "log_sigmoid": (numerics.log_sigmoid, lambda z: -np.logaddexp(ld(0), -z)),
    "softplus": (numerics.softplus, lambda z: np.logaddexp(ld(0), z)),
    "softmax": (numerics.softmax, lambda z: np.exp(np.subtract(*shifted(z)))),
    "log_softmax": (numerics.log_softmax, lambda z: np.subtract(*shifted(z))),
    "logsumexp": (numerics.logsumexp, lambda z: np.max(z, axis=1) + shifted(z)[1][:, 0]),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(NUMERICS))
def test_numerics_are_silent_and_exact_for_every_finite_input(name, dtype):
    ours, ref = NUMERICS[name]
    z = grid(dtype)
    with np.errstate(all="raise"):
        got = ours(z.copy())
    with np.errstate(all="ignore"):
        want = ref(ld(z))
    # A log-space result near 0 (log_softmax of the largest score, a logsumexp near 0) is
    # log(s) of a sum s near 1: its error is absolute, a few eps, not relative.
    atol = 4 * float(np.finfo(dtype).eps) if name in ("log_softmax", "logsumexp") else None
    assert_matches(got, want, dtype, f"{name}({np.dtype(dtype).name})", atol=atol)


def _gelu(z):
    c, k = np.sqrt(ld(2) / np.pi), ld(0.044715)
    t = np.tanh(c * (z + k * z ** 3))
    return 0.5 * z * (1 + t), 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * c * (1 + 3 * k * z * z)


def _sig(z):
    return 1 / (1 + np.exp(-z))


ACTIVATION_REFERENCES = {  # name -> z -> (f(z), f'(z)), on longdouble
    "identity": lambda z: (z, np.ones_like(z)),
    "relu": lambda z: (np.maximum(z, 0), (z > 0).astype(z.dtype)),
    "leaky_relu": lambda z: (np.where(z > 0, z, ld(0.01) * z), np.where(z > 0, ld(1), ld(0.01))),
    "elu": lambda z: (np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
                      np.where(z > 0, ld(1), np.exp(np.minimum(z, 0)))),
    "gelu": _gelu,
    "tanh": lambda z: (np.tanh(z), 1 - np.tanh(z) ** 2),
    "sigmoid": lambda z: (_sig(z), _sig(z) * (1 - _sig(z))),
    "softplus": lambda z: (np.logaddexp(ld(0), z), _sig(z)),
}


def test_every_activation_has_an_extended_precision_reference():
    assert sorted(ACTIVATION_REFERENCES) == sorted(ACTIVATIONS)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_are_silent_and_exact_for_every_finite_input(name, dtype):
    """``f``, ``f'`` and the layer's forward and backward, on every special value."""
    z = grid(dtype)
    act = ACTIVATIONS[name]()
    with np.errstate(all="raise"):
        a = act.f(z.copy())
        d = act.df(z.copy(), a)
        out = act.forward(z.copy()).copy()
        back = act.backward(np.ones_like(z))
    with np.errstate(all="ignore"):
        want_f, want_df = ACTIVATION_REFERENCES[name](ld(z))
    eps = float(np.finfo(dtype).eps)
    # GELU's tanh form takes a few more roundings (z^3, tanh, the sum) than one function
    rtol = 64 * eps if name == "gelu" else None
    # f' = 1 - a^2 (tanh), a (1 - a) (sigmoid), (1 + t) / 2 + ... (GELU) are differences of
    # numbers near 1, as in PyTorch's backward: exact to a few eps absolute, not relative
    atol = 4 * eps if name in ("tanh", "sigmoid", "gelu") else None
    assert_matches(a, want_f, dtype, f"{name}.f", rtol)
    assert_matches(d, want_df, dtype, f"{name}.df", rtol, atol)
    np.testing.assert_array_equal(out, a)
    np.testing.assert_array_equal(back, d)


# --------------------------------------------------------------------------------------
# Losses on logits. The documented order of operations is kept in the reference: each
# per-output term, each row's sum and the batch's sum is rounded to the dtype (so a sum beyond
# its range is inf, as in the library), then divided; everything else in extended precision.
# --------------------------------------------------------------------------------------

def _targets(name, n, dtype):
    rows = np.arange(n)
    if name == "cross_entropy-labels":
        return rows % 2
    if name == "cross_entropy-onehot":
        return np.eye(2, dtype=dtype)[rows % 2]
    if name.startswith("binary_cross_entropy"):
        return np.array([0.0, 1.0, 0.5], dtype=dtype)[rows % 3][:, None].repeat(2, 1)
    if name.startswith("poisson"):
        return np.array([[0.0, 1.0], [3.0, 0.0], [0.5, 2.0]], dtype=dtype)[rows % 3]
    return np.array([[0.0, 1.5], [-2.0, 0.0], [1e4, -1.0]], dtype=dtype)[rows % 3]


def _per_output(name, z, y, z_dtype):
    """Per-output loss terms and dl/dz (before the row's reduction), on longdouble."""
    t = z - np.max(z, axis=1, keepdims=True)
    log_p = t - np.log(np.sum(np.exp(t), axis=1, keepdims=True))
    if name.startswith("cross_entropy"):
        onehot = np.eye(2, dtype=np.longdouble)[y] if y.ndim == 1 else y
        return -onehot * log_p, np.exp(log_p) - onehot
    if name.startswith("binary_cross_entropy"):
        return np.logaddexp(ld(0), z) - y * z, _sig(z) - y
    if name.startswith("poisson"):
        y_log_y = y * np.log(np.where(y > 0, y, 1))
        mu = ld(rounded(np.exp(z), z_dtype))  # the prediction: inf beyond the dtype's range
        return np.exp(z) - y * z + y_log_y - y, mu - y
    r = z - y
    if name == "mse":
        return r * r, 2 * r
    if name == "squared_error":
        return r * r / 2, r
    if name == "mae":
        return np.abs(r), np.sign(r)
    if name == "huber":
        return np.where(np.abs(r) <= 1, r * r / 2, np.abs(r) - ld(0.5)), np.clip(r, -1, 1)
    pytest.fail(f"no reference for loss {name!r}: add one to _per_output")


def _loss_reference(name, z, y, dtype):
    """(batch value, gradient) of the mean loss, in the library's order of operations."""
    k, n = z.shape[1], len(z)
    with np.errstate(all="ignore"):
        terms, d = _per_output(name, ld(z), ld(y) if y.ndim == 2 else y, dtype)
        terms = ld(rounded(terms, dtype))
        row = ld(rounded(np.sum(terms, axis=1), dtype))
        summed = name.startswith("cross_entropy") or name.endswith("_sum")
        per_sample = row if summed else row / k
        per_sample = ld(rounded(per_sample, dtype))
        value = float(rounded(np.sum(per_sample), np.float64)) / n
        d = ld(rounded(d if summed else d / k, dtype))
        return value, d / n


LOSS_NAMES = sorted(["cross_entropy-labels", "cross_entropy-onehot"]
                    + [name for name in LOSSES if name != "cross_entropy"])


def test_every_loss_has_an_extended_precision_reference():
    assert {name.split("-")[0] for name in LOSS_NAMES} == set(LOSSES)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_on_logits_are_silent_and_exact_for_every_finite_input(name, dtype):
    """``value`` and ``value_and_grad`` on every pair of special logits."""
    z = grid(dtype)
    y = _targets(name, len(z), dtype)
    loss = LOSSES[name.split("-")[0]]()
    with np.errstate(all="raise"):
        value, grad = loss.value_and_grad(z.copy(), y)
        value_alone = loss.value(z.copy(), y)
    want_value, want_grad = _loss_reference(name.split("-")[0], z, y, dtype)
    assert not np.isnan(value), f"{name}: the loss is NaN"
    assert value_alone == pytest.approx(value, rel=1e-12), f"{name}: value and value_and_grad"
    assert value == pytest.approx(want_value, rel=1e-5 if dtype == np.float32 else 1e-12), name
    # Each gradient is p - y (or exp(z) - y, z - y) over n: exact to a few eps of |y| + 1,
    # absolute, where p and y nearly cancel (every library's gradient forms the difference)
    eps = float(np.finfo(dtype).eps)
    size = np.maximum(1.0, np.abs(y.astype(np.float64)))
    atol = 4 * eps * (size if size.ndim == 2 else size.max()) / len(z)
    assert_matches(grad, want_grad, dtype, f"{name} gradient", atol=atol)
