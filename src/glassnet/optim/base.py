"""The ``Optimizer`` base class (validation, clipping, weight decay, state) and gradient clipping."""

from __future__ import annotations

import inspect
import math
from typing import Any, Sequence

import numpy as np

from .. import _version
from .._checks import _all_finite, check_number

__all__ = ["Optimizer", "clip_grad_norm", "clip_grad_value"]


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
        ``{index: {slot: array}}`` with arrays shaped like ``params[index]``. The slots and
        their values are those of ``torch.optim``'s ``state[p]`` (``exp_avg``, ``sum``, ...),
        the step count aside (``t``, one for all parameters).

    Pickles carry glassnet's version; unpickling one made by another version warns with an
    ``InconsistentVersionWarning``.
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
        self._n_params: int | None = None  # how many arrays step() takes (its first call's)
        self.state: dict[int, dict[str, np.ndarray]] = {}
        self._scratch: dict[tuple[int, int], np.ndarray] = {}  # work arrays, never saved

    def non_finite_state(self) -> tuple[int, str] | None:
        """``(index, slot)`` of the first state array holding a NaN or inf, None if all are
        finite. A moment that overflowed stays inf (``beta * inf``) and silences its
        parameter for good (``m / sqrt(inf) = 0``): the divergence guard asks this once per
        epoch."""
        for i, state in sorted(self.state.items()):
            for slot, a in state.items():
                if not _all_finite(a):
                    return i, slot
        return None

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Update every ``params[i]`` in place from ``grads[i]`` (same shapes, float arrays)."""
        if len(params) != len(grads):
            raise ValueError(f"got {len(params)} parameter arrays but {len(grads)} gradients")
        try:  # every shape before any update
            for p, g in zip(params, grads):
                if g.shape != p.shape:
                    raise AttributeError
        except AttributeError:  # a shape that differs, or no array
            i, p, g = next((i, p, g) for i, (p, g) in enumerate(zip(params, grads))
                           if not (isinstance(p, np.ndarray) and isinstance(g, np.ndarray)
                                   and g.shape == p.shape))
            raise ValueError(f"params[{i}] and grads[{i}] must be arrays of one shape, got "
                             f"{type(p).__name__} of shape {np.shape(p)} and "
                             f"{type(g).__name__} of shape {np.shape(g)}") from None
        states = self.check_params(params)  # and the state of each, before any update
        self._n_params = len(params)
        if self.clip_norm is not None:
            clip_grad_norm(grads, self.clip_norm)
        if self.clip_value is not None:
            clip_grad_value(grads, self.clip_value)
        self.t += 1
        # Moments that decay towards zero may pass through subnormal numbers: harmless here.
        with np.errstate(under="ignore"):
            for i, (p, g, state) in enumerate(zip(params, grads, states)):
                self._update(p, g, state, i)

    def check_params(self, params: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """The state of every ``params[i]`` (made on first use), checked against it: the same
        number of arrays as the steps so far took, and state of each one's shape. State of
        another float dtype (loaded from a float64 model's optimizer, or from JSON) is cast to
        the parameter's, as ``torch.optim`` does when it loads state. ``glassnet.fit`` calls
        this before training, so an optimizer of another model is refused before any step."""
        if self._n_params is not None and len(params) != self._n_params:
            # t (the bias corrections, the lr decay) counts the optimizer's steps
            raise ValueError(f"{type(self).__name__} has stepped {self._n_params} parameter "
                             f"arrays and now got {len(params)}: pass the same list at every "
                             f"step, or call reset() for new parameters")
        states = []
        for i, p in enumerate(params):
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = self._init_state(p)
            else:
                for a in state.values():
                    if a.shape != p.shape or a.dtype != p.dtype:
                        state = self._state_for(i, p)
                        break
            states.append(state)
        return states

    def _state_for(self, i: int, p: np.ndarray) -> dict[str, np.ndarray]:
        """Parameter ``i``'s state, cast to ``p``'s dtype; a shape of another is refused."""
        for slot, a in self.state[i].items():
            if a.shape != p.shape:
                raise ValueError(f"optimizer state {i}.{slot} has shape {a.shape} but parameter "
                                 f"{i} has shape {p.shape}; call reset() for new parameters")
        self.state[i] = {slot: a.astype(p.dtype) for slot, a in self.state[i].items()}
        return self.state[i]

    def _scratch_array(self, i: int, p: np.ndarray, k: int) -> np.ndarray:
        """Scratch array ``k`` for parameter ``i``, allocated on first use."""
        w = self._scratch.get((i, k))
        if w is None or w.shape != p.shape or w.dtype != p.dtype:
            w = self._scratch[i, k] = np.empty_like(p)
        return w

    def _l2(self, p: np.ndarray, g: np.ndarray, i: int) -> np.ndarray:
        """``g + weight_decay * p`` in scratch array 1 (just ``g`` when there is no decay)."""
        if self.weight_decay == 0:
            return g
        out = self._scratch_array(i, p, 1)
        np.multiply(p, self.weight_decay, out=out)  # out = weight_decay * p
        out += g  # out = g + weight_decay * p
        return out

    def _init_state(self, p: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], i: int) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """``{"t": int, "lr": float, "<index>.<slot>": array, ...}``: plain numbers and copies.

        ``"<index>.<slot>"`` holds what torch's ``optimizer.state_dict()["state"][index][slot]``
        holds after the same steps (for ``params[index]``); ``"t"`` is torch's ``"step"``.
        """
        out: dict[str, Any] = {"t": self.t, "lr": self.lr}
        for i, state in sorted(self.state.items()):
            out.update({f"{i}.{slot}": a.copy() for slot, a in state.items()})
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned; unknown keys, a bad ``t`` or ``lr`` or
        non-finite arrays raise, before anything is replaced."""
        t = check_number(state.get("t"), "state['t']", ge=0, integer=True)
        # >= 0, not > 0: a schedule may take the rate to 0 (CosineWarmup's min_lr), and a state
        # saved then must load again (torch.optim accepts lr = 0 too)
        lr = check_number(state["lr"], "state['lr']", ge=0) if "lr" in state else self.lr
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
        self.t, self.state, self.lr = t, arrays, lr

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles leave out the work arrays, and carry glassnet's version."""
        return _version.stamp({k: v for k, v in self.__dict__.items() if k != "_scratch"})

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Warns when the pickle was written by another glassnet (or carries no version)."""
        state = dict(state)
        _version.check(state, type(self).__name__)
        self.__dict__.update(state)
        self._scratch = {}

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this optimizer."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"
