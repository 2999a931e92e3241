"""Numerically stable building blocks: sigmoid, softplus, logsumexp, softmax, log-softmax.

Every function here stays finite and raises no floating-point error for any finite input,
including logits of +-1000 in float64 and +-100 in float32, even under
``np.seterr(all="raise")``. Two tricks do all the work:

* shift by the row maximum before ``exp`` (``softmax(z) = softmax(z - max z)``), so ``exp``
  never sees a positive argument and cannot overflow;
* evaluate ``exp`` only on ``-|z|`` (sigmoid, softplus), for the same reason.

``exp`` of a very negative number underflows to 0, which is the correct answer; underflow
is silenced just around those ``exp`` calls so that a strict ``np.seterr`` does not turn
a correct 0 into an exception.

Shapes: ``z`` is ``(n_samples, n_outputs)``; reductions run over the last axis.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "softplus", "logsumexp", "softmax", "log_softmax"]


def _exp_nonpositive(x: np.ndarray) -> np.ndarray:
    """``exp(x)`` for ``x <= 0``: cannot overflow; underflow to 0 is the right answer."""
    with np.errstate(under="ignore"):
        return np.exp(x)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, elementwise, without overflow.

    With ``e = exp(-|z|)`` (always in (0, 1]):
    ``sigmoid(z) = 1 / (1 + e)`` for ``z >= 0`` and ``e / (1 + e)`` for ``z < 0``.
    """
    z = np.asarray(z)
    e = _exp_nonpositive(-np.abs(z))
    with np.errstate(under="ignore"):
        return np.where(z >= 0, 1.0, e) / (1.0 + e)


def softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(z))``, elementwise: ``max(z, 0) + log1p(exp(-|z|))``."""
    z = np.asarray(z)
    return np.maximum(z, 0) + np.log1p(_exp_nonpositive(-np.abs(z)))


def logsumexp(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(z)))`` over ``axis``: ``m + log(sum(exp(z - m)))`` with ``m = max(z)``."""
    z = np.asarray(z)
    m = np.max(z, axis=axis, keepdims=True)
    with np.errstate(over="ignore"):  # to -inf only for scores a float cannot span: exp gives 0
        t = z - m
    out = m + np.log(np.sum(_exp_nonpositive(t), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(z) / sum(exp(z))`` over ``axis``, computed as ``exp(z - max z) / sum(...)``.

    ``z - max z`` can overflow to -inf only for scores a float cannot span (1e308 and -1e308
    in one row), and ``exp(-inf) = 0`` is then the right probability: not an error."""
    z = np.asarray(z)
    with np.errstate(under="ignore", over="ignore"):
        e = np.exp(z - np.maximum.reduce(z, axis=axis, keepdims=True))
        e /= np.add.reduce(e, axis=axis, keepdims=True)
        return e


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``z - logsumexp(z)`` over ``axis``, computed as ``t - log(sum(exp(t)))``, ``t = z - max z``.

    Subtracting the max first keeps full relative precision for the largest entries, whose
    log-probabilities are close to 0.
    """
    z = np.asarray(z)
    with np.errstate(over="ignore"):  # to -inf, the right log-probability (see softmax)
        t = z - np.max(z, axis=axis, keepdims=True)
    return t - np.log(np.sum(_exp_nonpositive(t), axis=axis, keepdims=True))
