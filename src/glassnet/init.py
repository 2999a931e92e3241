"""Weight initialisers: ``W = init(n_in, n_out, rng)``, a float64 array of shape ``(n_in, n_out)``.

Each draws from an explicit ``rng`` (a ``numpy.random.Generator``, or the notebook's
``RandomState`` where its exact numbers are wanted) and never from NumPy's global state.
Both generator types offer ``standard_normal(size)`` and ``uniform(low, high, size)``.

The scale of each rule keeps the variance of activations (fan_in) or of both activations and
gradients (fan_in + fan_out) roughly constant from layer to layer.
"""

from __future__ import annotations

import numpy as np

from ._checks import Registry

__all__ = ["INITIALISERS", "xavier", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "zeros"]


def xavier(n_in: int, n_out: int, rng) -> np.ndarray:
    """The notebook's rule: ``W ~ N(0, 2 / (n_in + n_out))`` (Glorot normal)."""
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / (n_in + n_out))


def glorot_uniform(n_in: int, n_out: int, rng) -> np.ndarray:
    """``W ~ U(-a, a)`` with ``a = sqrt(6 / (n_in + n_out))``, variance ``2 / (n_in + n_out)``."""
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, (n_in, n_out))


def he_normal(n_in: int, n_out: int, rng) -> np.ndarray:
    """``W ~ N(0, 2 / n_in)``: keeps the variance through ReLU, which zeroes half the inputs."""
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)


def he_uniform(n_in: int, n_out: int, rng) -> np.ndarray:
    """``W ~ U(-a, a)`` with ``a = sqrt(6 / n_in)``, variance ``2 / n_in``."""
    a = np.sqrt(6.0 / n_in)
    return rng.uniform(-a, a, (n_in, n_out))


def lecun_normal(n_in: int, n_out: int, rng) -> np.ndarray:
    """``W ~ N(0, 1 / n_in)``: unit variance for roughly linear activations (tanh, SELU)."""
    return rng.standard_normal((n_in, n_out)) * np.sqrt(1.0 / n_in)


def zeros(n_in: int, n_out: int, rng) -> np.ndarray:
    """``W = 0``. Every hidden unit then stays identical: useful only for tests and output layers."""
    return np.zeros((n_in, n_out))


INITIALISERS = Registry({
    "xavier": xavier,
    "glorot_uniform": glorot_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "lecun_normal": lecun_normal,
    "zeros": zeros,
})
