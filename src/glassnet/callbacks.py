"""Callbacks for ``glassnet.fit``: the protocol and the built-in ones.

A callback is any object with some of these methods; each receives the live ``TrainState``
(``state.model``, ``state.optimizer``, ``state.epoch`` (1-based), ``state.batch``,
``state.batch_loss``, ``state.logs`` (this epoch's numbers), ``state.history``), and may set
``state.stop = True`` to end training after the current epoch::

    on_train_begin(state)   on_epoch_begin(state)   on_batch_end(state)
    on_epoch_end(state)     on_train_end(state)

``on_batch_end`` runs before the optimizer step, with ``state.batch_loss`` the loss of the
batch just evaluated and its gradient in ``state.model.flat_grads``; a hook may set
``state.optimizer.lr`` for that very step. Without such a hook (the divergence guard's aside),
plain SGD may take its whole step inside backprop and leave no gradient behind
(``glassnet.step.SGDInBackward``; the conditions: ``train.step_kernel``).
Subclass ``Callback`` to get no-op defaults for the methods you skip. ``Monitor`` (in
``monitor.py``) records per-layer statistics every epoch.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._checks import _all_finite
from .layers import Dense
from .optim import LBFGS, Optimizer

__all__ = ["Callback", "EarlyStopping", "Checkpoint", "StopOnDivergence", "DivergenceError",
           "LearningRateSchedule", "LambdaCallback", "BackupAndRestore", "BackupError", "Monitor"]


class Callback:
    """Base class with a no-op for every hook."""

    def on_train_begin(self, state) -> None:
        pass

    def on_epoch_begin(self, state) -> None:
        pass

    def on_batch_end(self, state) -> None:
        pass

    def on_epoch_end(self, state) -> None:
        pass

    def on_train_end(self, state) -> None:
        pass


class LambdaCallback(Callback):
    """Wrap plain functions: ``LambdaCallback(on_epoch_end=lambda state: ...)``."""

    def __init__(self, **hooks: Callable[[Any], None]) -> None:
        for name, fn in hooks.items():
            if not hasattr(Callback, name):
                raise ValueError(f"unknown callback hook {name!r}")
            setattr(self, name, fn)


def _improved(value: float, best: float, mode: str, min_delta: float) -> bool:
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _monitored(state, monitor: str, who: str) -> float:
    """The epoch's value of ``monitor``, or a ValueError listing what this run logs."""
    if monitor not in state.logs:
        raise ValueError(f"{who} monitors {monitor!r}, which this run does not log; "
                         f"available: {sorted(state.logs)}")
    return state.logs[monitor]


def _check_monitor_before_training(state, monitor: str | None, who: str) -> None:
    """A ``val_`` metric needs validation data: say so before the first epoch, not after it."""
    if monitor is not None and monitor.startswith("val_") and not state.validation:
        raise ValueError(f"{who} monitors {monitor!r}, but this run has no validation data: "
                         "pass validation_data or validation_fraction, or monitor 'loss'")


def _resolve_mode(monitor: str, mode: str) -> str:
    if mode == "auto":
        return "max" if ("accuracy" in monitor or "r2" in monitor) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best=True`` the model ends with the weights of its best epoch.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs: ``'val_loss'`` (default), ``'loss'``, ``'val_accuracy'``, ...
    patience : int
        Epochs without improvement before stopping.
    min_delta : float
        Smallest change that counts as an improvement.
    mode : 'auto', 'min' or 'max'
        Whether smaller or larger is better ('auto': larger for accuracy and r2).
    restore_best : bool
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = True) -> None:
        if not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.mode = _resolve_mode(monitor, mode)
        self.restore_best = restore_best

    def on_train_begin(self, state) -> None:
        _check_monitor_before_training(state, self.monitor, "EarlyStopping")
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.best_params, self.wait = 0, None, 0

    def on_epoch_end(self, state) -> None:
        value = _monitored(state, self.monitor, "EarlyStopping")
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best:
                self.best_params = state.model.flat_params.copy()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.stop = True
                state.stop_reason = (f"{self.monitor} did not improve for {self.patience} "
                                     f"epochs (best {self.best:.6g} at epoch {self.best_epoch})")

    def on_train_end(self, state) -> None:
        if self.restore_best and self.best_params is not None:
            state.model.flat_params[...] = self.best_params

    def state_dict(self) -> dict[str, Any]:
        """The progress so far (``BackupAndRestore`` saves it): the best value, its epoch and
        weights, and the epochs waited since."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "best_params": self.best_params}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        best_params = state.get("best_params")
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.wait = int(state["wait"])
        self.best_params = None if best_params is None else np.array(best_params)


class Checkpoint(Callback):
    """Keep (and optionally hand to ``save``) the weights every ``every`` epochs or on improvement.

    Parameters
    ----------
    save : callable, optional
        ``save(state)`` is called at each checkpoint, e.g. to write the model to a file.
    every : int
        Checkpoint every this many epochs (ignored when ``monitor`` is set).
    monitor : str, optional
        Checkpoint only when this log value improves (``mode`` as in ``EarlyStopping``).

    Attributes
    ----------
    state_dict : dict
        The last checkpointed ``model.state_dict()``; ``epoch`` is its epoch.
    """

    def __init__(self, save: Callable[[Any], None] | None = None, every: int = 1,
                 monitor: str | None = None, mode: str = "auto") -> None:
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        self.save, self.every, self.monitor = save, int(every), monitor
        self.mode = _resolve_mode(monitor or "loss", mode)
        self.state_dict, self.epoch = None, None

    def on_train_begin(self, state) -> None:
        _check_monitor_before_training(state, self.monitor, "Checkpoint")
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, state) -> None:
        if self.monitor is not None:
            value = _monitored(state, self.monitor, "Checkpoint")
            if not _improved(value, self.best, self.mode, 0.0):
                return
            self.best = value
        elif state.epoch % self.every:
            return
        self.state_dict, self.epoch = state.model.state_dict(), state.epoch
        if self.save is not None:
            self.save(state)


def dense_layers(model) -> list[tuple[str, Any]]:
    """``[("dense_0", layer), ("dense_1", layer), ...]``: the model's ``Dense`` layers in
    order, under the names that ``Monitor``, ``diagnose`` and the divergence message use."""
    return [(f"dense_{k}", layer) for k, layer in
            enumerate(layer for layer in model.layers if isinstance(layer, Dense))]


def first_non_finite(model, optimizer=None) -> tuple[str, str] | None:
    """``(name, what)`` of the first ``Dense`` layer, in forward order, whose weights or
    biases (``"weights"``; else, in a second pass, ``"gradients"``; else, in a third, a slot
    of ``optimizer``'s state: ``"optimizer state exp_avg_sq"``) hold a NaN or inf; None if all
    are finite. On plain SGD's fused step (``step.SGDInBackward``) the gradients are not the
    batch's: only the weights are telling there."""
    layers = dense_layers(model)
    for kind, names in (("weights", ("W", "b")), ("gradients", ("dW", "db"))):
        for name, layer in layers:
            if not all(_all_finite(np.ascontiguousarray(getattr(layer, p))) for p in names):
                return name, kind
    found = optimizer.non_finite_state() if isinstance(optimizer, Optimizer) else None
    if found is None:
        return None
    index, slot = found
    moment = optimizer.state[index][slot]
    if moment.shape != model.flat_params.shape:  # not a state of the model's one buffer
        return None
    # glassnet.fit steps the one flat buffer: a layer's state is the slice its W or b views
    for name, layer in layers:
        for p in ("W", "b"):
            view = getattr(layer, p)
            start = (view.ctypes.data - model.flat_params.ctypes.data) // view.itemsize
            if not _all_finite(moment[start:start + view.size]):
                return name, f"optimizer state {slot}"
    return None


class DivergenceError(FloatingPointError, ValueError):
    """Training produced a non-finite loss, weights, gradients or optimizer state; the message
    names the epoch (and the batch, when a batch's loss was not finite), and the first
    ``Dense`` layer whose weights, gradients or optimizer state were not finite
    (``"first non-finite: layer dense_1 (weights)"``,
    ``"... layer dense_0 (optimizer state exp_avg_sq)"``), if any.

    Also a ``ValueError``, as scikit-learn's MLPs raise for non-finite weights, so that code
    written for those catches it."""


class StopOnDivergence(Callback):
    """Raise ``DivergenceError`` as soon as the loss, the weights, the gradients or the
    optimizer's state stop being finite.

    The loss is checked after every batch; the weights, the last batch's gradients and the
    optimizer's state (its moments: ``Optimizer.non_finite_state``) at the end of every epoch,
    which costs a pass over each and nothing per batch. That is enough: a moment that
    overflowed stays non-finite (``beta * inf``), and while it silences its weights for good
    (Adam's ``m / sqrt(inf) = 0`` leaves the loss finite) it is still there at the epoch's
    end; a non-finite gradient reaches the moments or the weights, where it stays too.

    The model goes back to the weights it had at the start of that epoch (a copy is taken
    once per epoch, which keeps the check free of per-batch copies). The weights in place when
    the loss overflowed are finite more often than not, but they are what overflowed it: a
    next fit from them diverges again at its first batch. The optimizer starts afresh
    (``reset()``): its moments have taken in the overflowing gradients, and would carry them
    into the next fit.
    """

    def on_epoch_begin(self, state) -> None:
        params = state.model.flat_params
        snapshot = getattr(self, "snapshot", None)
        if snapshot is None or snapshot.shape != params.shape or snapshot.dtype != params.dtype:
            self.snapshot = params.copy()
        else:
            np.copyto(snapshot, params)  # reuse the copy: no allocation per epoch

    def _fail(self, state, what: str) -> None:
        # before the restore and the reset: the weights and state that failed
        where = first_non_finite(state.model, state.optimizer)
        state.model.flat_params[...] = self.snapshot
        reset = getattr(state.optimizer, "reset", None)
        if reset is not None:
            reset()
        raise DivergenceError(f"training diverged at epoch {state.epoch}, {what}; the weights "
                              f"from the start of epoch {state.epoch} were restored. Try a "
                              f"smaller learning rate (optimizer lr={state.optimizer.lr:g})."
                              + ("" if where is None else
                                 f" At the failure, first non-finite: layer {where[0]} "
                                 f"({where[1]})."))

    def on_batch_end(self, state) -> None:
        if not math.isfinite(state.batch_loss):
            self._fail(state, f"batch {state.batch}: the loss is {state.batch_loss}")

    def on_epoch_end(self, state) -> None:
        # Exact, and silent under any np.seterr or warnings filter: isfinite for small models
        # (no np.errstate, which would cost more than the check when an epoch is one step),
        # one screened BLAS pass for large ones (see _all_finite).
        if not _all_finite(state.model.flat_params):
            self._fail(state, "end of epoch: the weights are not finite")
        optimizer = state.optimizer
        # A non-finite gradient reaches the weights or the optimizer's state, checked here,
        # unless clipping hid it (clip_value clamps inf; clip_norm scales all by 0): only
        # then are the gradients checked themselves (a step of the XOR network is 40 µs)
        clipped = (getattr(optimizer, "clip_value", None) is not None
                   or getattr(optimizer, "clip_norm", None) is not None)
        if clipped and _writes_gradients(state) and not _all_finite(state.model.flat_grads):
            self._fail(state, "end of epoch: the gradients are not finite")
        found = optimizer.non_finite_state() if isinstance(optimizer, Optimizer) else None
        if found is not None:
            self._fail(state, f"end of epoch: the optimizer's state is not finite "
                              f"({type(optimizer).__name__}'s {found[1]})")
        for key, value in state.logs.items():
            if not math.isfinite(value):
                self._fail(state, f"end of epoch: {key} is {value}")


def _writes_gradients(state) -> bool:
    """Whether the run's step leaves the batch's gradients in ``model.flat_grads``: not plain
    SGD's fused step (``step.SGDInBackward``) nor L-BFGS (which differentiates a float64
    copy), whose ``flat_grads`` are left over from an earlier run."""
    kernel = getattr(state.run, "kernel", None)
    return (getattr(kernel, "name", None) == "separate"
            and not isinstance(state.optimizer, LBFGS))


class LearningRateSchedule(Callback):
    """Set ``optimizer.lr`` from a schedule: ``start`` before training, ``step`` after each epoch.

    ``monitor`` (default ``'val_loss'`` when logged, else ``'loss'``) feeds plateau schedules;
    a schedule that raises its ``stop`` flag (scikit-learn's adaptive rule) ends training.
    The optimizer gets its own learning rate back when training ends, unless ``resume`` is
    set: then a schedule already started continues where it was (``partial_fit``).
    """

    def __init__(self, schedule, monitor: str | None = None, resume: bool = False) -> None:
        self.schedule, self.monitor, self.resume = schedule, monitor, resume

    def on_train_begin(self, state) -> None:
        _check_monitor_before_training(state, self.monitor, "LearningRateSchedule")
        self.base_lr = state.optimizer.lr
        if self.resume and getattr(self.schedule, "lr", None) is not None:
            state.optimizer.lr = self.schedule.lr
        else:
            state.optimizer.lr = self.schedule.start(state.optimizer.lr)

    def on_epoch_end(self, state) -> None:
        key = self.monitor or ("val_loss" if "val_loss" in state.logs else "loss")
        state.optimizer.lr = self.schedule.step(state.logs.get(key))
        if getattr(self.schedule, "stop", False):
            state.stop = True
            state.stop_reason = f"{type(self.schedule).__name__} schedule ended training"

    def on_train_end(self, state) -> None:
        if not self.resume:
            state.optimizer.lr = self.base_lr

    def state_dict(self) -> dict[str, Any]:
        """The schedule's progress and the learning rate to give back at the end."""
        return {"schedule": self.schedule.state_dict(), "base_lr": self.base_lr}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.schedule.load_state_dict(state["schedule"])
        self.base_lr = float(state["base_lr"])


from .backup import BackupAndRestore, BackupError  # noqa: E402 (it subclasses Callback)
from .monitor import Monitor  # noqa: E402 (it subclasses Callback)
