"""Adam (with AMSGrad) and AdamW, as ``torch.optim.Adam`` and ``torch.optim.AdamW``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._blas import axpby, axpy, scal
from .._checks import check_number
from .base import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``); with ``amsgrad`` the running maximum of ``v`` is used::

        g = g + weight_decay * p                  # AdamW: p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = maximum(v_max, v)                 # amsgrad only; then v stands for v_max
        denom = sqrt(v) / sqrt(1 - beta2 ** t) + eps
        p = p - lr / (1 - beta1 ** t) * m / denom

    ``m``, ``v`` and ``v_max`` start at zero. For speed the state keeps them divided by
    ``1 - beta``: ``M = m / (1 - beta1)``, ``V = v / (1 - beta2)`` (slots ``exp_avg_scaled``,
    ``exp_avg_sq_scaled``, ``max_exp_avg_sq_scaled``). Then, for a large parameter array,
    ``M = beta1 * M + g`` is one BLAS ``axpby`` pass and ``V = beta2 * V + g * g`` two, and
    the whole step seven passes (ten in NumPy alone, for small arrays or where NumPy's BLAS
    is not found: see ``glassnet._blas``); ``moments(i)``
    gives ``m``, ``v`` (and ``v_max``) as torch stores them. (``V`` is ``1 / (1 - beta2)`` times
    ``v``, so in float32 it overflows from ``|g| ~ 6e17`` with the default betas, where torch's
    ``v`` would at ``~2e19``: only a run that has diverged gets there.)
    """

    slots = ("exp_avg_scaled", "exp_avg_sq_scaled", "max_exp_avg_sq_scaled")
    decoupled = False  # AdamW decays the weights directly instead of adding to the gradient

    def __init__(self, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 clip_norm: float | None = None, clip_value: float | None = None) -> None:
        super().__init__(lr, weight_decay, clip_norm, clip_value)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (check_number(betas[0], "betas[0]", ge=0, lt=1),
                      check_number(betas[1], "betas[1]", ge=0, lt=1))
        self.eps = check_number(eps, "eps", ge=0)
        self.amsgrad = bool(amsgrad)
        self._state_betas = self.betas  # the betas the stored M and V are divided by

    def _init_state(self, p):
        names = self.slots if self.amsgrad else self.slots[:2]
        return {name: np.zeros_like(p) for name in names}

    def _sync_betas(self) -> None:
        """``betas`` changed since the state was stored: rescale M and V to the new ones."""
        (old1, old2), (beta1, beta2) = self._state_betas, self.betas
        if (old1, old2) == (beta1, beta2):
            return
        for state in self.state.values():
            for slot, a in state.items():  # m = (1 - old1) M_old = (1 - beta1) M_new
                a *= (1.0 - old1) / (1.0 - beta1) if slot == "exp_avg_scaled" else (
                    (1.0 - old2) / (1.0 - beta2))
        self._state_betas = (beta1, beta2)

    def moments(self, i: int = 0) -> dict[str, np.ndarray]:
        """Copies of ``m`` (``exp_avg``), ``v`` (``exp_avg_sq``) and, with amsgrad,
        ``v_max`` (``max_exp_avg_sq``) for parameter ``i``, in torch's scale."""
        self._sync_betas()
        beta1, beta2 = self.betas
        return {slot[:-len("_scaled")]: a * (1.0 - (beta1 if slot == "exp_avg_scaled" else beta2))
                for slot, a in self.state[i].items()}

    def state_dict(self) -> dict[str, Any]:
        """As ``Optimizer.state_dict``, plus ``"betas"``: the arrays are M and V, divided by
        ``1 - beta`` for these betas."""
        self._sync_betas()
        return {**super().state_dict(), "betas": np.array(self.betas)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """The arrays are read as divided by the saved ``"betas"`` (this Adam's own betas when
        the key is absent) and rescaled to this Adam's betas, which stay as they are."""
        state = dict(state)
        saved = state.pop("betas", self.betas)
        try:
            betas = np.asarray(saved, dtype=float)
        except (TypeError, ValueError):
            betas = np.empty(0)
        if betas.shape != (2,) or not np.all((betas >= 0) & (betas < 1)):
            raise ValueError(f"state['betas'] must be a pair (beta1, beta2) in [0, 1), "
                             f"got {saved!r}")
        super().load_state_dict(state)
        # M = m / (1 - saved beta1), V = v / (1 - saved beta2): _sync_betas rescales them
        self._state_betas = (float(betas[0]), float(betas[1]))

    def step(self, params, grads):
        self._sync_betas()
        super().step(params, grads)

    def _update(self, p, g, state, i):
        beta1, beta2 = self.betas
        w = self._work(i, p, 0)
        if not self.decoupled:
            g = self._l2(p, g, i)
        elif self.weight_decay != 0:
            scal(1.0 - self.lr * self.weight_decay, p)  # p = p * (1 - lr * weight_decay)
        M, V = state["exp_avg_scaled"], state["exp_avg_sq_scaled"]
        # M = beta1 * M + g, i.e. m = beta1 * m + (1 - beta1) * g with m = (1 - beta1) M
        axpby(1.0, g, beta1, M, scratch=w)
        np.multiply(g, g, out=w)
        axpby(1.0, w, beta2, V)  # V = beta2 * V + g * g, i.e. v = beta2 v + (1 - beta2) g g
        if self.amsgrad:
            V = np.maximum(state["max_exp_avg_sq_scaled"], V, out=state["max_exp_avg_sq_scaled"])
        # With bc = 1 - beta ** t and r = sqrt((1 - beta2) / bc2), so that sqrt(v / bc2) =
        # r * sqrt(V), the step  p -= lr / bc1 * m / (sqrt(v / bc2) + eps)  is the equal
        #   p -= (lr * (1 - beta1) / (bc1 * r)) * M / (sqrt(V) + eps / r)
        r = math.sqrt((1.0 - beta2) / (1.0 - beta2 ** self.t))
        np.sqrt(V, out=w)
        w += self.eps / r
        np.divide(M, w, out=w)
        axpy(-self.lr * (1.0 - beta1) / ((1.0 - beta1 ** self.t) * r), w, p, scratch=w)


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``)::

        p = p * (1 - lr * weight_decay)
        ...then Adam's update with the raw gradient g (see ``Adam``).
    """

    decoupled = True

    def __init__(self, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01, amsgrad: bool = False,
                 clip_norm: float | None = None, clip_value: float | None = None) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad, clip_norm, clip_value)
