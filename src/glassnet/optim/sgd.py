"""SGD with momentum, dampening and Nesterov, as ``torch.optim.SGD``."""

from __future__ import annotations

import numpy as np

from .. import accelerate
from .._blas import axpby, axpy
from .._checks import check_number
from .base import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``::

        g = g + weight_decay * p
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    """

    slots = ("momentum_buffer",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0,
                 clip_norm: float | None = None, clip_value: float | None = None) -> None:
        super().__init__(lr, weight_decay, clip_norm, clip_value)
        self.momentum = check_number(momentum, "momentum", ge=0)
        self.dampening = check_number(dampening, "dampening", ge=0, le=1)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening == 0, "
                             f"got momentum={momentum!r}, dampening={dampening!r}")

    def _update(self, p, g, state, i):
        fast = accelerate.kernels(p, g, *state.values())
        if fast is not None:  # the same step in one loop on every core (glassnet._kernels)
            first = self.momentum != 0 and "momentum_buffer" not in state
            if first:
                state["momentum_buffer"] = np.empty_like(p)
            b = state.get("momentum_buffer", g)
            fast.sgd(p.reshape(-1), g.reshape(-1), b.reshape(-1), float(self.lr),
                     float(self.weight_decay), float(self.momentum), float(self.dampening),
                     self.nesterov, first)
            return
        g = self._l2(p, g, i)
        w = self._scratch_array(i, p, 0)
        if self.momentum != 0:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = g.astype(p.dtype, copy=True)  # b = g
            else:  # b = momentum * b + (1 - dampening) * g
                axpby(1.0 - self.dampening, g, self.momentum, b, scratch=w)
            if self.nesterov:
                np.multiply(b, self.momentum, out=w)
                w += g  # w = g + momentum * b
                g = w
            else:
                g = b
        axpy(-self.lr, g, p, scratch=w)  # p = p - lr * g

    def set_lr(self, lr: float, *, rescale_momentum: bool = False) -> None:
        """Change the learning rate to ``lr``; with ``rescale_momentum``, as scikit-learn does.

        torch's rule (this class's) keeps the buffer ``b = momentum * b + g`` and steps
        ``p = p - lr * b``, so a new rate applies to the whole buffer, the past gradients in
        it included: that is all a plain ``optimizer.lr = lr`` does. scikit-learn keeps a
        velocity ``v = momentum * v - lr * g`` instead, where each gradient keeps the rate of
        its own step. The two agree while ``v = -lr * b``; to keep ``v`` across a change of
        rate from ``lr_old`` to ``lr``, the buffer is rescaled::

            b = b * lr_old / lr

        (Nesterov's step, ``p = p - lr * (g + momentum * b)``, agrees with scikit-learn's in
        the same way.) ``MLPClassifier`` and ``MLPRegressor`` change the rate so for
        ``learning_rate='invscaling'`` and ``'adaptive'``.
        """
        lr = check_number(lr, "lr", gt=0)
        if rescale_momentum and self.momentum != 0 and lr != self.lr:
            for slots in self.state.values():
                b = slots.get("momentum_buffer")
                if b is not None:
                    b *= self.lr / lr  # b = b * lr_old / lr
        self.lr = lr
