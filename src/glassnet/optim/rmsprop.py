"""RMSprop (momentum, centered), as ``torch.optim.RMSprop``."""

from __future__ import annotations

import numpy as np

from .. import accelerate
from .._blas import axpby, axpy
from .._checks import check_number
from .base import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``); ``v``, ``g_avg`` and ``b`` start at zero and are
    stored as torch stores them, in the slots ``square_avg``, ``grad_avg`` (centered only) and
    ``momentum_buffer`` (momentum only)::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            avg = sqrt(v - g_avg * g_avg) + eps
        else:
            avg = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / avg
            p = p - lr * b
        else:
            p = p - lr * g / avg
    """

    slots = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 clip_norm: float | None = None, clip_value: float | None = None) -> None:
        super().__init__(lr, weight_decay, clip_norm, clip_value)
        self.alpha = check_number(alpha, "alpha", ge=0, le=1)
        self.eps = check_number(eps, "eps", ge=0)
        self.momentum = check_number(momentum, "momentum", ge=0)
        self.centered = bool(centered)

    def _init_state(self, p):
        state = {"square_avg": np.zeros_like(p)}
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(p)
        if self.centered:
            state["grad_avg"] = np.zeros_like(p)
        return state

    def _update(self, p, g, state, i):
        fast = accelerate.kernels(p, g, *state.values())
        if fast is not None:  # the same step in one loop on every core (glassnet._kernels)
            v = state["square_avg"].reshape(-1)
            fast.rmsprop(p.reshape(-1), g.reshape(-1), v,
                         state["grad_avg"].reshape(-1) if self.centered else v,
                         state["momentum_buffer"].reshape(-1) if self.momentum > 0 else v,
                         float(self.lr), float(self.alpha), float(self.eps),
                         float(self.weight_decay), float(self.momentum), self.centered)
            return
        g = self._l2(p, g, i)
        w = self._scratch_array(i, p, 0)
        v = state["square_avg"]
        np.multiply(g, g, out=w)
        axpby(1.0 - self.alpha, w, self.alpha, v)  # v = alpha * v + (1 - alpha) * g * g
        if self.centered:
            g_avg = state["grad_avg"]
            np.subtract(g, g_avg, out=w)
            w *= 1.0 - self.alpha
            g_avg += w  # g_avg = alpha * g_avg + (1 - alpha) * g
            np.multiply(g_avg, g_avg, out=w)
            np.subtract(v, w, out=w)
            np.sqrt(w, out=w)  # w = sqrt(v - g_avg * g_avg)
        else:
            np.sqrt(v, out=w)  # w = sqrt(v)
        w += self.eps  # w = avg
        np.divide(g, w, out=w)  # w = g / avg
        if self.momentum > 0:
            b = state["momentum_buffer"]
            axpby(1.0, w, self.momentum, b)  # b = momentum * b + g / avg
            axpy(-self.lr, b, p, scratch=w)  # p = p - lr * b
        else:
            axpy(-self.lr, w, p, scratch=w)  # p = p - lr * g / avg
