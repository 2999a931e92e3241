"""Adagrad (learning-rate decay, initial accumulator), as ``torch.optim.Adagrad``."""

from __future__ import annotations

import numpy as np

from .. import accelerate
from .._blas import axpy
from .._checks import check_number
from .base import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``); ``s`` starts at ``initial_accumulator_value`` and
    is stored as torch stores it, in the slot ``sum``::

        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (sqrt(s) + eps)
    """

    slots = ("sum",)

    def __init__(self, lr: float = 0.01, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 clip_norm: float | None = None, clip_value: float | None = None) -> None:
        super().__init__(lr, weight_decay, clip_norm, clip_value)
        self.lr_decay = check_number(lr_decay, "lr_decay", ge=0)
        self.initial_accumulator_value = check_number(
            initial_accumulator_value, "initial_accumulator_value", ge=0)
        self.eps = check_number(eps, "eps", ge=0)

    def _init_state(self, p):
        return {"sum": np.full_like(p, self.initial_accumulator_value)}

    def _update(self, p, g, state, i):
        clr = self.lr / (1.0 + (self.t - 1) * self.lr_decay)
        fast = accelerate.kernels(p, g, *state.values())
        if fast is not None:  # the same step in one loop on every core (glassnet._kernels)
            fast.adagrad(p.reshape(-1), g.reshape(-1), state["sum"].reshape(-1), float(clr),
                         float(self.eps), float(self.weight_decay))
            return
        g = self._l2(p, g, i)
        w = self._scratch_array(i, p, 0)
        s = state["sum"]
        np.multiply(g, g, out=w)
        s += w  # s = s + g * g
        np.sqrt(s, out=w)
        w += self.eps  # w = sqrt(s) + eps
        np.divide(g, w, out=w)
        axpy(-clr, w, p, scratch=w)  # p = p - clr * g / (sqrt(s) + eps)
