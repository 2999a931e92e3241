"""Activation functions, one small layer class each: ``a = f(z)`` beside its derivative ``f'(z)``.

``df(z, a)`` receives both the input ``z`` and the output ``a = f(z)`` so each derivative can
use whichever is cheaper (tanh and sigmoid are cheapest from the output). The layer's
backward pass is the chain rule, elementwise: ``delta_in = delta_out * f'(z)``.

``ACTIVATIONS`` maps each name to its class; ``glassnet.MLP`` and the tests use it, so a new
entry is picked up (and gradient-checked) everywhere.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import Registry
from .layers import Layer
from .numerics import sigmoid as _sigmoid
from .numerics import softplus as _softplus

__all__ = ["ACTIVATIONS", "Activation", "Identity", "ReLU", "LeakyReLU", "ELU", "GELU",
           "Tanh", "Sigmoid", "Softplus"]


class Activation(Layer):
    """Elementwise activation layer. Subclasses define ``f(z)`` and ``df(z, a)``."""

    name = ""

    def f(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def df(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``f'(z)``; ``a`` is ``f(z)``, already computed by the forward pass."""
        raise NotImplementedError

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.z = x  # the derivative needs z (or a)
        self.a = self.f(x)
        return self.a

    def backward(self, delta: np.ndarray, input_grad: bool = True) -> np.ndarray:
        delta *= self.df(self.z, self.a)  # chain rule: dL/dz = dL/da * f'(z), in place
        return delta

    def kink_pattern(self) -> list[np.ndarray]:
        return [self.z > k for k in self.kinks]


class Identity(Activation):
    """``f(z) = z``; ``f'(z) = 1``."""

    name = "identity"

    def f(self, z):
        return z

    def df(self, z, a):
        return np.ones_like(z)

    def backward(self, delta, input_grad=True):
        return delta  # multiplying by 1 is a pass we can skip


class ReLU(Activation):
    """``f(z) = max(z, 0)``; ``f'(z) = 1 if z > 0 else 0`` (0 at the kink, as PyTorch)."""

    name = "relu"
    kinks = (0.0,)

    # Both write into reused scratch arrays: ReLU runs in the training hot path.
    def f(self, z):
        # max(z, 0) against an array of zeros, not the scalar 0: NumPy's SIMD loop for two
        # arrays is about 3x faster than its loop for an array and a broadcast scalar.
        zeros = self.scratch("zeros", z.shape, z.dtype, fill=0.0)
        return np.maximum(z, zeros, out=self.scratch("a", z.shape, z.dtype))

    def df(self, z, a):
        return np.greater(z, 0, out=self.scratch("df", z.shape, z.dtype))  # [z > 0] as 1.0 / 0.0


class LeakyReLU(Activation):
    """``f(z) = z if z > 0 else alpha * z``; ``f'(z) = 1 if z > 0 else alpha``."""

    name = "leaky_relu"
    kinks = (0.0,)

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = float(alpha)

    def f(self, z):
        with np.errstate(under="ignore"):  # alpha * z of a subnormal z rounds toward 0
            return np.where(z > 0, z, z * self.alpha)

    def df(self, z, a):
        return np.where(z > 0, 1.0, self.alpha).astype(z.dtype)

    def config(self):
        return {"alpha": self.alpha}


class ELU(Activation):
    """``f(z) = z if z > 0 else alpha * (exp(z) - 1)``; ``f'(z) = 1 if z > 0 else alpha * exp(z)``.

    ``f'`` is ``f(z) + alpha`` for ``z <= 0``, but not computed so: ``a + alpha`` cancels to 0
    once ``exp(z)`` is below the dtype's eps (``z < -17`` in float32), where ``alpha * exp(z)``
    keeps every digit (as PyTorch's ELU backward, from the input). ``exp`` and ``expm1`` see
    only ``min(z, 0)``, so large positive inputs cannot overflow.
    """

    name = "elu"
    kinks = (0.0,)  # continuous derivative only when alpha == 1

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = float(alpha)

    def f(self, z):
        with np.errstate(under="ignore"):
            return np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0)))

    def df(self, z, a):
        with np.errstate(under="ignore"):
            return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0))).astype(z.dtype)

    def config(self):
        return {"alpha": self.alpha}


class GELU(Activation):
    """Gaussian error linear unit, tanh form (PyTorch's ``GELU(approximate='tanh')``).

    ``u = c * (z + k z^3)`` with ``c = sqrt(2 / pi)``, ``k = 0.044715``; ``t = tanh(u)``;
    ``f(z) = z / 2 * (1 + t)``;
    ``f'(z) = (1 + t) / 2 + z / 2 * (1 - t^2) * c * (1 + 3 k z^2)``.

    ``u`` and ``f'``'s second term take ``z`` clipped to [-10, 10]: beyond it ``|u| > 43``, so
    ``t`` is exactly +-1 and ``1 - t^2`` exactly 0 in float32 and float64, and nothing changes,
    but ``z^3`` can no longer overflow (``0 * inf`` made ``f'`` NaN above 1e19 in float32).
    """

    name = "gelu"
    c = math.sqrt(2.0 / math.pi)  # a Python float: keeps float32 arrays float32
    k = 0.044715

    def _t(self, zc):
        return np.tanh(self.c * (zc + self.k * zc**3))

    # Underflow is ignored: z^3 of a tiny z rounds toward 0, which is the right term.
    def f(self, z):
        with np.errstate(under="ignore"):
            return 0.5 * z * (1.0 + self._t(np.clip(z, -10.0, 10.0)))

    def df(self, z, a):
        zc = np.clip(z, -10.0, 10.0)
        with np.errstate(under="ignore"):
            t = self._t(zc)
            return (0.5 * (1.0 + t)
                    + 0.5 * zc * (1.0 - t * t) * self.c * (1.0 + 3.0 * self.k * zc * zc))


class Tanh(Activation):
    """``f(z) = tanh(z)``; ``f'(z) = 1 - tanh(z)^2 = 1 - a^2``: cheapest from the output."""

    name = "tanh"

    def f(self, z):
        with np.errstate(under="ignore"):  # tanh of a subnormal z is z, rounded
            return np.tanh(z)

    def df(self, z, a):
        with np.errstate(under="ignore"):  # a * a may round to 0 for a tiny a
            return 1.0 - a * a


class Sigmoid(Activation):
    """``f(z) = 1 / (1 + exp(-z))``; ``f'(z) = a * (1 - a)``: cheapest from the output."""

    name = "sigmoid"

    def f(self, z):
        return _sigmoid(z)

    def df(self, z, a):
        with np.errstate(under="ignore"):  # a * (1 - a) may round to 0 for |z| > 700
            return a * (1.0 - a)


class Softplus(Activation):
    """``f(z) = log(1 + exp(z))``, a smooth ReLU; ``f'(z) = sigmoid(z)``."""

    name = "softplus"

    def f(self, z):
        return _softplus(z)

    def df(self, z, a):
        return _sigmoid(z)


ACTIVATIONS: Registry = Registry(
    {cls.name: cls for cls in (Identity, ReLU, LeakyReLU, ELU, GELU, Tanh, Sigmoid, Softplus)},
    aliases={"logistic": "sigmoid"},  # scikit-learn's name
)
