"""Numerically stable building blocks: sigmoid, log-sigmoid, softplus, logsumexp, softmax,
log-softmax.

Every function here is silent for every finite input, in float32 and float64: it raises no
floating-point error even under ``np.seterr(all="raise")``, never returns NaN, and returns the
correctly rounded limit where the exact result is not a normal float. Two tricks keep the
results finite:

* shift by the row maximum before ``exp`` (``softmax(z) = softmax(z - max z)``), so ``exp``
  never sees a positive argument and cannot overflow;
* evaluate ``exp`` only on ``-|z|`` (sigmoid, log-sigmoid, softplus), for the same reason.

What remains is underflow, and underflow is never an error here: ``exp`` of a very negative
number rounds to 0, and ``sigmoid`` of a very negative number to a subnormal, which are the
right answers. Whether NumPy *reports* such an underflow depends on its version and on the
processor's SIMD loops (NumPy 2.4's ``log1p`` flags it for a subnormal input on some
machines, its float32 ``exp`` for a subnormal input on others), so every function runs under
``np.errstate(under="ignore")``: the same results and the same silence on every machine.
``tests/test_silent.py`` checks each against the textbook formula in extended precision on
+-0, subnormals, +-1e-300, +-1e4 and the largest floats.

Shapes: ``z`` is ``(n_samples, n_outputs)``; reductions run over the last axis.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "log_sigmoid", "softplus", "logsumexp", "softmax", "log_softmax"]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, elementwise, without overflow.

    With ``e = exp(-|z|)`` (always in (0, 1]):
    ``sigmoid(z) = 1 / (1 + e)`` for ``z >= 0`` and ``e / (1 + e)`` for ``z < 0``.
    """
    z = np.asarray(z)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0, e) / (1.0 + e)


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log(sigmoid(z)) = -softplus(-z)``, elementwise: ``min(z, 0) - log1p(exp(-|z|))``.

    Exact where ``log(sigmoid(z))`` would round ``sigmoid(z)`` to 0 first (``z < -745``)."""
    z = np.asarray(z)
    with np.errstate(under="ignore"):
        return np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))


def softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(z))``, elementwise: ``max(z, 0) + log1p(exp(-|z|))``."""
    z = np.asarray(z)
    with np.errstate(under="ignore"):
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def logsumexp(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(z)))`` over ``axis``: ``m + log(sum(exp(z - m)))`` with ``m = max(z)``.

    ``z - m`` overflows to -inf only for scores a float cannot span (1e308 and -1e308 in one
    row), and ``exp(-inf) = 0`` is then the right term: not an error."""
    z = np.asarray(z)
    m = np.max(z, axis=axis, keepdims=True)
    with np.errstate(under="ignore", over="ignore"):
        out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(z) / sum(exp(z))`` over ``axis``, computed as ``exp(z - max z) / sum(...)``.

    ``z - max z`` can overflow to -inf only for scores a float cannot span (see
    ``logsumexp``), and ``exp(-inf) = 0`` is then the right probability."""
    z = np.asarray(z)
    with np.errstate(under="ignore", over="ignore"):
        e = np.exp(z - np.maximum.reduce(z, axis=axis, keepdims=True))
        e /= np.add.reduce(e, axis=axis, keepdims=True)
        return e


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``z - logsumexp(z)`` over ``axis``, computed as ``t - log(sum(exp(t)))``, ``t = z - max z``.

    Subtracting the max first keeps full relative precision for the largest entries, whose
    log-probabilities are close to 0. A ``t`` of -inf (see ``softmax``) is the right
    log-probability of a score a float cannot span.
    """
    z = np.asarray(z)
    with np.errstate(under="ignore", over="ignore"):
        t = z - np.max(z, axis=axis, keepdims=True)
        return t - np.log(np.sum(np.exp(t), axis=axis, keepdims=True))
