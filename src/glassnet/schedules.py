"""Learning-rate schedules, epoch by epoch, with torch's protocol.

    lr = schedule.start(base_lr)        # the learning rate for epoch 0
    for epoch in range(epochs):
        ...train one epoch with lr...
        lr = schedule.step(metric)      # the learning rate for the next epoch

After ``e`` calls to ``step`` the rate equals that of the matching ``torch.optim.lr_scheduler``
after ``e`` calls to ``scheduler.step()``. A schedule knows nothing about optimizers: the
caller copies ``lr`` into ``optimizer.lr``. Only the plateau rules read ``metric`` (the epoch's
loss or validation score).
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from ._checks import Registry, check_number, resolve

__all__ = ["Schedule", "Constant", "StepDecay", "Exponential", "CosineWarmup", "InverseScaling",
           "ReduceOnPlateau", "Adaptive", "SCHEDULES", "get_schedule"]


class Schedule:
    """Base class. Closed-form schedules define ``lr_at(epoch)``; others override ``step``.

    Attributes
    ----------
    base_lr : float
        The rate given to ``start``.
    lr : float
        The current rate.
    epoch : int
        Number of ``step`` calls since ``start``.
    """

    def start(self, base_lr: float) -> float:
        """Begin at ``base_lr``; return the rate for epoch 0."""
        self.base_lr = self.lr = check_number(base_lr, "base_lr", gt=0)
        self.epoch = 0
        self._reset()
        self.lr = self.lr_at(0)
        return self.lr

    def step(self, metric: float | None = None) -> float:
        """End an epoch; return the rate for the next one."""
        self._check_started()
        self.epoch += 1
        self.lr = self.lr_at(self.epoch)
        return self.lr

    def lr_at(self, epoch: int) -> float:
        return self.base_lr

    def _reset(self) -> None:
        """Clear any state kept between epochs."""

    def _check_started(self) -> None:
        if not hasattr(self, "base_lr"):
            raise RuntimeError(f"call {type(self).__name__}.start(base_lr) before step()")

    def state_dict(self) -> dict[str, Any]:
        """The schedule's numbers (settings and progress): a plain dict."""
        return {k: v for k, v in vars(self).items() if isinstance(v, (int, float, str, bool))}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned, checked before anything changes: the settings
        as the constructor checks them (a ``gamma`` of -1 is refused here too), the rates
        ``base_lr`` and ``lr`` > 0, and no key a started schedule of this kind lacks."""
        merged = {**self.state_dict(), **state}
        probe = type(self)(**{name: merged[name] for name in self.config()})  # the settings
        probe.start(1.0)
        unknown = sorted(set(state) - set(probe.state_dict()) - set(self.state_dict()))
        if unknown:
            raise ValueError(f"unexpected keys {unknown} in a {type(self).__name__} state dict")
        for key in ("base_lr", "lr"):
            if state.get(key) is not None:
                # the rate reached may be 0 (CosineWarmup's min_lr); the base rate may not
                check_number(state[key], f"state[{key!r}]", **({"gt": 0} if key == "base_lr"
                                                                 else {"ge": 0}))
        vars(self).update(state)

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this schedule."""
        params = inspect.signature(type(self).__init__).parameters.values()
        return {p.name: getattr(self, p.name) for p in params
                if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """``lr = base_lr`` for every epoch."""


class StepDecay(Schedule):
    """``lr = base_lr * gamma ** (epoch // step_size)`` (``torch.optim.lr_scheduler.StepLR``)."""

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_number(step_size, "step_size", integer=True, ge=1)
        self.gamma = check_number(gamma, "gamma", gt=0)

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class Exponential(Schedule):
    """``lr = base_lr * gamma ** epoch`` (``torch.optim.lr_scheduler.ExponentialLR``)."""

    def __init__(self, gamma: float) -> None:
        self.gamma = check_number(gamma, "gamma", gt=0)

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** epoch


class CosineWarmup(Schedule):
    """Linear warmup, then a half cosine from ``base_lr`` down to ``min_lr``::

        if epoch < warmup_epochs:              # base_lr/(W+1), 2*base_lr/(W+1), ... then base_lr
            lr = base_lr * (epoch + 1) / (warmup_epochs + 1)
        elif epoch <= total_epochs:
            progress = (epoch - warmup_epochs) / (total_epochs - warmup_epochs)
            lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * progress)) / 2
        else:
            lr = min_lr

    With ``warmup_epochs=0`` this is ``CosineAnnealingLR(T_max=total_epochs, eta_min=min_lr)``
    up to ``total_epochs``; torch's would then rise again, this one stays at ``min_lr``.
    """

    def __init__(self, total_epochs: int, warmup_epochs: int = 0, min_lr: float = 0.0) -> None:
        self.total_epochs = check_number(total_epochs, "total_epochs", integer=True, ge=1)
        self.warmup_epochs = check_number(warmup_epochs, "warmup_epochs", integer=True, ge=0,
                                           lt=self.total_epochs)
        self.min_lr = check_number(min_lr, "min_lr", ge=0)

    def lr_at(self, epoch):
        warmup, total = self.warmup_epochs, self.total_epochs
        if epoch < warmup:
            return self.base_lr * (epoch + 1) / (warmup + 1)
        if epoch >= total:
            return self.min_lr
        progress = (epoch - warmup) / (total - warmup)
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


class InverseScaling(Schedule):
    """scikit-learn's ``learning_rate="invscaling"``: ``lr = base_lr / (t + 1) ** power_t``.

    ``t`` is a counter the caller advances: ``step(t=...)`` sets it, a plain ``step()`` adds 1
    (so ``t`` counts epochs). scikit-learn counts *samples seen*, ``t = epoch * n_samples``, and
    updates the rate once per epoch; pass ``step(t=samples_seen)`` to reproduce it.
    """

    def __init__(self, power_t: float = 0.5) -> None:
        self.power_t = check_number(power_t, "power_t", ge=0)

    def _reset(self):
        self.t = 0

    def step(self, metric: float | None = None, t: int | None = None) -> float:
        self._check_started()
        self.epoch += 1
        self.t = self.t + 1 if t is None else check_number(t, "t", integer=True, ge=0)
        self.lr = self.base_lr / (self.t + 1) ** self.power_t
        return self.lr


class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when ``metric`` stops improving (``ReduceLROnPlateau``).

    Each ``step(metric)``, as torch does it::

        better = metric < best * (1 - threshold)    # mode="min", threshold_mode="rel"
               # metric < best - threshold           # "min", "abs"
               # metric > best * (1 + threshold)     # "max", "rel"
               # metric > best + threshold           # "max", "abs"
        best, bad_epochs = (metric, 0) if better else (best, bad_epochs + 1)
        if cooldown_left > 0: cooldown_left -= 1; bad_epochs = 0
        if bad_epochs > patience:
            new_lr = max(lr * factor, min_lr)
            if lr - new_lr > eps: lr = new_lr      # ignore changes smaller than eps
            cooldown_left, bad_epochs = cooldown, 0
    """

    def __init__(self, factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                 threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0,
                 mode: str = "min", eps: float = 1e-8) -> None:
        self.factor = check_number(factor, "factor", gt=0, lt=1)
        self.patience = check_number(patience, "patience", integer=True, ge=0)
        self.threshold = check_number(threshold, "threshold", ge=0)
        self.threshold_mode = resolve(threshold_mode, {"rel": "rel", "abs": "abs"},
                                      "threshold_mode")
        self.cooldown = check_number(cooldown, "cooldown", integer=True, ge=0)
        self.min_lr = check_number(min_lr, "min_lr", ge=0)
        self.mode = resolve(mode, {"min": "min", "max": "max"}, "mode")
        self.eps = check_number(eps, "eps", ge=0)

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0

    def is_better(self, metric: float) -> bool:
        """Whether ``metric`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return metric < self.best * (1.0 - self.threshold)
            return metric < self.best - self.threshold
        if self.threshold_mode == "rel":
            return metric > self.best * (1.0 + self.threshold)
        return metric > self.best + self.threshold

    def step(self, metric: float | None = None) -> float:
        self._check_started()
        if metric is None:
            raise ValueError(f"{type(self).__name__}.step needs the epoch's metric, "
                             "e.g. the training or validation loss")
        metric = float(metric)
        self.epoch += 1
        if self.is_better(metric):
            self.best, self.bad_epochs = metric, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.bad_epochs > self.patience:
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self.eps:
                self.lr = new_lr
            self.cooldown_left, self.bad_epochs = self.cooldown, 0
        return self.lr


class Adaptive(Schedule):
    """scikit-learn's ``learning_rate="adaptive"``: divide by ``divisor`` after a plateau.

    Each ``step(metric)``, as ``MLPClassifier._fit_stochastic`` does it (mode="min" reads the
    training loss, mode="max" the validation score when ``early_stopping=True``)::

        bad = metric > best - tol                  # mode="max": metric < best + tol
        no_improvement = no_improvement + 1 if bad else 0
        best = min(best, metric)                    # mode="max": max(best, metric)
        if no_improvement > n_iter_no_change:
            if lr <= min_lr: stop = True            # scikit-learn ends training here
            else: lr = lr / divisor; no_improvement = 0

    This is *not* ``ReduceOnPlateau(factor=1/divisor, patience=n_iter_no_change, threshold=tol,
    threshold_mode="abs")``: scikit-learn moves ``best`` on every improvement, even one
    smaller than ``tol``, and it stops at ``min_lr`` rather than clamping to it.

    The same count is scikit-learn's stopping rule for every other rate: ``min_lr=math.inf``
    stops at the first plateau and never divides (its ``trigger_stopping``), and
    ``n_iter_no_change=math.inf`` never finds a plateau (scikit-learn's ``np.inf``).
    """

    def __init__(self, tol: float = 1e-4, n_iter_no_change: int = 10, divisor: float = 5.0,
                 min_lr: float = 1e-6, mode: str = "min") -> None:
        self.tol = check_number(tol, "tol", ge=0)
        self.n_iter_no_change = (math.inf if n_iter_no_change == math.inf else check_number(
            n_iter_no_change, "n_iter_no_change", integer=True, ge=1))
        self.divisor = check_number(divisor, "divisor", gt=1)
        self.min_lr = math.inf if min_lr == math.inf else check_number(min_lr, "min_lr", ge=0)
        self.mode = resolve(mode, {"min": "min", "max": "max"}, "mode")

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.no_improvement = 0
        self.stop = False

    def step(self, metric: float | None = None) -> float:
        self._check_started()
        if metric is None:
            raise ValueError("Adaptive.step needs the epoch's metric (training loss or "
                             "validation score)")
        metric = float(metric)
        self.epoch += 1
        # The comparisons are written as scikit-learn writes them, so NaN behaves the same.
        if self.mode == "min":
            bad = metric > self.best - self.tol
            self.best = metric if metric < self.best else self.best
        else:
            bad = metric < self.best + self.tol
            self.best = metric if metric > self.best else self.best
        self.no_improvement = self.no_improvement + 1 if bad else 0
        if self.no_improvement > self.n_iter_no_change:
            if self.lr <= self.min_lr:
                self.stop = True
            else:
                self.lr /= self.divisor
                self.no_improvement = 0
        return self.lr


SCHEDULES = Registry({"constant": Constant, "step": StepDecay, "exponential": Exponential,
                      "cosine": CosineWarmup, "invscaling": InverseScaling,
                      "plateau": ReduceOnPlateau, "adaptive": Adaptive})


def get_schedule(name_or_instance: str | Schedule, **kwargs: Any) -> Schedule:
    """A schedule from a registry name (built with ``kwargs``) or an existing instance."""
    if isinstance(name_or_instance, Schedule):
        if kwargs:
            raise ValueError(f"got a schedule instance and keyword arguments {sorted(kwargs)}; "
                             "pass a name with the arguments, or the instance alone")
        return name_or_instance
    return resolve(name_or_instance, SCHEDULES, "schedule")(**kwargs)
