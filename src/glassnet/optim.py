"""Optimizers: ``step(params, grads)`` updates lists of NumPy arrays in place.

An optimizer knows nothing about layers. In glassnet it usually receives one flat buffer
each, ``opt.step([model.flat_params], [model.flat_grads])``. Per-parameter state (momentum
buffers, moment estimates) is kept by position in the list, created on the first step with the
parameter's dtype and shape. Each rule follows ``torch.optim`` exactly (its single-tensor path);
the class docstrings give the rule as code, with ``g`` the gradient and ``t`` the step count.

Every step does, in order: clip the gradients in place (``clip_norm``, then ``clip_value``),
add the L2 term ``weight_decay * p`` to a copy of the gradient (AdamW instead shrinks ``p``),
then update. ``lr`` is a plain attribute: a schedule may change it between steps.

Speed: the arithmetic runs in place on preallocated scratch arrays (``out=``, ``*=``); each such
line carries the plain equation in a comment. Scalars are Python floats, so float32 stays float32.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Sequence

import numpy as np

from ._checks import check_number, resolve
from .lbfgs import LBFGS

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS", "OPTIMIZERS",
           "get_optimizer", "clip_grad_norm", "clip_grad_value"]


def clip_grad_norm(grads: Sequence[np.ndarray], max_norm: float) -> float:
    """Scale all ``grads`` in place so their joint 2-norm is at most ``max_norm``.

    ``total = sqrt(sum_i ||g_i||^2)``; if ``max_norm / (total + 1e-6) < 1`` every array is
    multiplied by that factor (``torch.nn.utils.clip_grad_norm_``). Returns ``total``, the norm
    before clipping.
    """
    total = math.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for g in grads:
            g *= scale
    return total


def clip_grad_value(grads: Sequence[np.ndarray], clip_value: float) -> None:
    """Clamp every gradient entry in place to ``[-clip_value, clip_value]`` (``clip_grad_value_``)."""
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)


class Optimizer:
    """Base class: validation, clipping, weight decay, lazy per-parameter state, state dicts.

    Parameters
    ----------
    lr : float > 0
        Learning rate; a plain attribute that schedules may change between steps.
    weight_decay : float >= 0
        L2 coefficient: the step uses ``g + weight_decay * p`` (the gradients are not modified).
    clip_norm, clip_value : float > 0 or None
        Clip the gradients in place before the step (see ``clip_grad_norm``/``clip_grad_value``).

    Attributes
    ----------
    t : int
        Number of steps taken.
    state : dict
        ``{index: {slot: array}}`` with arrays shaped like ``params[index]``.
    """

    slots: tuple[str, ...] = ()  # names of the per-parameter state arrays

    def __init__(self, lr: float, weight_decay: float = 0.0, clip_norm: float | None = None,
                 clip_value: float | None = None) -> None:
        self.lr = check_number(lr, "lr", gt=0)
        self.weight_decay = check_number(weight_decay, "weight_decay", ge=0)
        self.clip_norm = None if clip_norm is None else check_number(clip_norm, "clip_norm", gt=0)
        self.clip_value = (None if clip_value is None
                           else check_number(clip_value, "clip_value", gt=0))
        self.reset()

    def reset(self) -> None:
        """Forget all state: the next step is a first step again."""
        self.t = 0
        self.state: dict[int, dict[str, np.ndarray]] = {}
        self._scratch: dict[tuple[int, int], np.ndarray] = {}  # work arrays, never saved

    #: True when ``step(..., lr_applied=True)`` is supported: the caller may fold ``lr`` into
    #: the gradients (``glassnet.fit`` does, via the loss gradient) to save a pass.
    folds_lr = False

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             lr_applied: bool = False) -> None:
        """Update every ``params[i]`` in place from ``grads[i]`` (same shapes, float arrays).

        ``lr_applied=True`` says the grads are already ``lr * g`` (only when ``folds_lr``).
        """
        if len(params) != len(grads):
            raise ValueError(f"got {len(params)} parameter arrays but {len(grads)} gradients")
        if lr_applied:
            if not self.folds_lr:
                raise ValueError(f"{type(self).__name__} cannot take gradients scaled by lr")
            self.t += 1
            for p, g in zip(params, grads):
                p -= g  # p = p - (lr * g), the whole update in one pass
            return
        if self.clip_norm is not None:
            clip_grad_norm(grads, self.clip_norm)
        if self.clip_value is not None:
            clip_grad_value(grads, self.clip_value)
        self.t += 1
        # Moments that decay towards zero may pass through subnormal numbers: harmless here.
        with np.errstate(under="ignore"):
            for i, (p, g) in enumerate(zip(params, grads)):
                self._update(p, g, self._state(i, p), i)

    def _state(self, i: int, p: np.ndarray) -> dict[str, np.ndarray]:
        state = self.state.get(i)
        if state is None:
            state = self.state[i] = self._init_state(p)
        for slot, a in state.items():
            if a.shape != p.shape or a.dtype != p.dtype:
                raise ValueError(f"optimizer state {i}.{slot} has shape {a.shape} and dtype "
                                 f"{a.dtype} but parameter {i} has shape {p.shape} and dtype "
                                 f"{p.dtype}; call reset() for new parameters")
        return state

    def _work(self, i: int, p: np.ndarray, k: int) -> np.ndarray:
        """Scratch array ``k`` for parameter ``i``, allocated on first use."""
        w = self._scratch.get((i, k))
        if w is None or w.shape != p.shape or w.dtype != p.dtype:
            w = self._scratch[i, k] = np.empty_like(p)
        return w

    def _l2(self, p: np.ndarray, g: np.ndarray, i: int) -> np.ndarray:
        """``g + weight_decay * p`` in scratch array 1 (just ``g`` when there is no decay)."""
        if self.weight_decay == 0:
            return g
        out = self._work(i, p, 1)
        np.multiply(p, self.weight_decay, out=out)  # out = weight_decay * p
        out += g  # out = g + weight_decay * p
        return out

    def _init_state(self, p: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], i: int) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """``{"t": int, "lr": float, "<index>.<slot>": array, ...}``: plain numbers and copies."""
        out: dict[str, Any] = {"t": self.t, "lr": self.lr}
        for i, state in sorted(self.state.items()):
            out.update({f"{i}.{slot}": a.copy() for slot, a in state.items()})
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned; unknown keys or non-finite arrays raise."""
        t = check_number(state.get("t"), "state['t']", ge=0, integer=True)
        arrays: dict[int, dict[str, np.ndarray]] = {}
        for key, value in state.items():
            if key in ("t", "lr"):
                continue
            index, _, slot = key.partition(".")
            if not index.isdigit() or slot not in self.slots:
                raise ValueError(f"unexpected key {key!r} in a {type(self).__name__} state dict; "
                                 f"expected '<index>.<slot>' with slot in {self.slots}")
            a = np.array(value)
            if a.dtype.kind != "f" or not np.isfinite(a).all():
                raise ValueError(f"state[{key!r}] must be a finite float array")
            arrays.setdefault(int(index), {})[slot] = a
        needed = set(self._init_state(np.empty(0)))
        for index, slots in arrays.items():
            if not needed <= set(slots):
                raise ValueError(f"state for parameter {index} lacks {sorted(needed - set(slots))}")
        self.reset()
        self.t, self.state = t, arrays
        if "lr" in state:
            self.lr = check_number(state["lr"], "state['lr']", ge=0)

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this optimizer."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``::

        g = g + weight_decay * p
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    """

    slots = ("momentum_buffer",)

    @property
    def folds_lr(self) -> bool:
        """Plain SGD's update ``p -= lr * g`` can take ``lr * g`` ready-made."""
        return (self.momentum == 0 and self.weight_decay == 0 and self.clip_norm is None
                and self.clip_value is None)

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
        g = self._l2(p, g, i)
        w = self._work(i, p, 0)
        if self.momentum != 0:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = g.astype(p.dtype, copy=True)  # b = g
            else:
                b *= self.momentum  # b = momentum * b + (1 - dampening) * g
                b += g if self.dampening == 0 else (1.0 - self.dampening) * g
            if self.nesterov:
                np.multiply(b, self.momentum, out=w)
                w += g  # w = g + momentum * b
                g = w
            else:
                g = b
        np.multiply(g, self.lr, out=w)
        p -= w  # p = p - lr * g


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
    ``exp_avg_sq_scaled``, ``max_exp_avg_sq_scaled``). Then ``M = beta1 * M + g`` and
    ``V = beta2 * V + g * g`` cost two and three passes, and the whole step ten; ``moments(i)``
    gives ``m``, ``v`` (and ``v_max``) as torch stores them.
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
        self._sync_betas()
        return super().state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._state_betas = self.betas  # the arrays are read as scaled by these betas

    def step(self, params, grads, lr_applied=False):
        self._sync_betas()
        super().step(params, grads, lr_applied)

    def _update(self, p, g, state, i):
        beta1, beta2 = self.betas
        w = self._work(i, p, 0)
        if not self.decoupled:
            g = self._l2(p, g, i)
        elif self.weight_decay != 0:
            p *= 1.0 - self.lr * self.weight_decay  # p = p * (1 - lr * weight_decay)
        M, V = state["exp_avg_scaled"], state["exp_avg_sq_scaled"]
        M *= beta1
        M += g  # M = beta1 * M + g, i.e. m = beta1 * m + (1 - beta1) * g with m = (1 - beta1) M
        np.multiply(g, g, out=w)
        V *= beta2
        V += w  # V = beta2 * V + g * g, i.e. v = beta2 * v + (1 - beta2) * g * g
        if self.amsgrad:
            V = np.maximum(state["max_exp_avg_sq_scaled"], V, out=state["max_exp_avg_sq_scaled"])
        # With bc = 1 - beta ** t and r = sqrt((1 - beta2) / bc2), so that sqrt(v / bc2) =
        # r * sqrt(V), the step  p -= lr / bc1 * m / (sqrt(v / bc2) + eps)  is the equal
        #   p -= (lr * (1 - beta1) / (bc1 * r)) * M / (sqrt(V) + eps / r)
        r = math.sqrt((1.0 - beta2) / (1.0 - beta2 ** self.t))
        np.sqrt(V, out=w)
        w += self.eps / r
        np.divide(M, w, out=w)
        w *= self.lr * (1.0 - beta1) / ((1.0 - beta1 ** self.t) * r)
        p -= w


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


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``); ``v``, ``g_avg`` and ``b`` start at zero::

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
        g = self._l2(p, g, i)
        w = self._work(i, p, 0)
        v = state["square_avg"]
        v *= self.alpha
        np.multiply(g, g, out=w)
        w *= 1.0 - self.alpha
        v += w  # v = alpha * v + (1 - alpha) * g * g
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
            b *= self.momentum
            b += w  # b = momentum * b + g / avg
            np.multiply(b, self.lr, out=w)
        else:
            w *= self.lr
        p -= w  # p = p - lr * b   or   p = p - lr * g / avg


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``); ``s`` starts at ``initial_accumulator_value``::

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
        g = self._l2(p, g, i)
        w = self._work(i, p, 0)
        clr = self.lr / (1.0 + (self.t - 1) * self.lr_decay)
        s = state["sum"]
        np.multiply(g, g, out=w)
        s += w  # s = s + g * g
        np.sqrt(s, out=w)
        w += self.eps  # w = sqrt(s) + eps
        np.divide(g, w, out=w)
        w *= clr
        p -= w  # p = p - clr * g / (sqrt(s) + eps)


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get_optimizer(name_or_instance: str | Optimizer | LBFGS, **kwargs: Any) -> Optimizer | LBFGS:
    """An optimizer from a registry name (built with ``kwargs``) or an existing instance.

    ``"lbfgs"`` gives an ``LBFGS``; unknown names raise a ValueError listing the choices.
    """
    if isinstance(name_or_instance, (Optimizer, LBFGS)):
        if kwargs:
            raise ValueError(f"got an optimizer instance and keyword arguments {sorted(kwargs)}; "
                             "pass a name with the arguments, or the instance alone")
        return name_or_instance
    return resolve(name_or_instance, {**OPTIMIZERS, "lbfgs": LBFGS}, "optimizer")(**kwargs)
