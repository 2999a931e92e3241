"""Adam (with AMSGrad) and AdamW, as ``torch.optim.Adam`` and ``torch.optim.AdamW``; and
``ScikitLearnAdam``, Adam as scikit-learn's MLP steps it (its ``eps`` sits elsewhere)."""

from __future__ import annotations

import math

import numpy as np

from .. import accelerate
from .._blas import axpby, axpy, scal
from .._checks import check_number
from .base import Optimizer

__all__ = ["Adam", "AdamW", "ScikitLearnAdam"]


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``); with ``amsgrad`` the running maximum of ``v`` is used::

        g = g + weight_decay * p                  # AdamW: p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = maximum(v_max, v)                 # amsgrad only; then v stands for v_max
        denom = sqrt(v) / sqrt(1 - beta2 ** t) + eps
        p = p - lr / (1 - beta1 ** t) * m / denom

    ``m``, ``v`` and ``v_max`` start at zero and are stored as torch stores them, in the slots
    ``exp_avg``, ``exp_avg_sq`` and ``max_exp_avg_sq``. ``betas`` is read afresh at every
    step, so it may change between steps, as a torch param group's may: nothing stored
    depends on them. For a large parameter array the step is seven passes over memory (twelve
    in NumPy alone, for small arrays or where NumPy's BLAS is not found: see
    ``glassnet._blas``).
    """

    slots = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
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

    def _init_state(self, p):
        names = self.slots if self.amsgrad else self.slots[:2]
        return {name: np.zeros_like(p) for name in names}

    def _update(self, p, g, state, i):
        beta1, beta2 = self.betas
        fast = accelerate.kernels(p, g, *state.values())
        if fast is not None:  # the same step in one loop on every core (glassnet._kernels)
            s = math.sqrt(1.0 - beta2 ** self.t)
            decay = self.lr * self.weight_decay if self.decoupled else 0.0
            v = state["exp_avg_sq"].reshape(-1)
            fast.adam(p.reshape(-1), g.reshape(-1), state["exp_avg"].reshape(-1), v,
                      state["max_exp_avg_sq"].reshape(-1) if self.amsgrad else v,
                      self.lr * s / (1.0 - beta1 ** self.t), float(beta1), float(beta2),
                      float(self._eps_term(s)),
                      0.0 if self.decoupled else float(self.weight_decay), 1.0 - decay,
                      self.amsgrad)
            return
        w = self._scratch_array(i, p, 0)
        if not self.decoupled:
            g = self._l2(p, g, i)
        elif self.weight_decay != 0:
            scal(1.0 - self.lr * self.weight_decay, p)  # p = p * (1 - lr * weight_decay)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        axpby(1.0 - beta1, g, beta1, m, scratch=w)  # m = beta1 * m + (1 - beta1) * g
        np.multiply(g, g, out=w)
        axpby(1.0 - beta2, w, beta2, v, scratch=w)  # v = beta2 * v + (1 - beta2) * g * g
        if self.amsgrad:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])  # v_max
        # With bc1 = 1 - beta1 ** t and s = sqrt(1 - beta2 ** t), multiplying the numerator
        # and the denominator by s turns the step  p -= lr / bc1 * m / (sqrt(v) / s + eps)
        # into  p -= (lr * s / bc1) * m / (sqrt(v) + eps * s),  whose denominator takes two
        # passes (sqrt, + eps * s) instead of three.
        s = math.sqrt(1.0 - beta2 ** self.t)
        np.sqrt(v, out=w)
        w += self._eps_term(s)  # w = sqrt(v) + eps * s
        np.divide(m, w, out=w)
        axpy(-self.lr * s / (1.0 - beta1 ** self.t), w, p, scratch=w)  # p -= (lr s / bc1) w

    def _eps_term(self, s: float) -> float:
        """What the rewritten denominator adds to ``sqrt(v)``: torch's ``eps``, times ``s``."""
        return self.eps * s


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


class ScikitLearnAdam(Adam):
    """Adam as scikit-learn's ``MLPClassifier(solver="adam")`` steps it: ``eps`` is added to
    ``sqrt(v)`` before the bias correction, where torch adds it after::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr * sqrt(1 - beta2 ** t) / (1 - beta1 ** t) * m / (sqrt(v) + eps)

    The two rules differ only while ``sqrt(v)`` is within a few ``eps`` of 0. glassnet's
    estimators step with this one for ``solver="adam"``, so that a seeded fit ends on
    scikit-learn's model; ``glassnet.fit`` uses torch's (``Adam``). It is not in the
    ``OPTIMIZERS`` registry: a solver name means torch's rule everywhere else.
    """

    def _eps_term(self, s: float) -> float:
        return self.eps
