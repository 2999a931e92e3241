"""``Monitor``: per ``Dense`` layer and per epoch, the numbers that show a network's health.

For each ``Dense`` layer ``dense_k`` (model order) and each monitored epoch::

    weight_norm         ||W||                  at the end of the epoch
    grad_norm           ||dW||                 of the monitored batch (L2 term included)
    update_ratio        ||W_after - W_before|| / ||W_before||, the step the optimizer took
                        on the monitored batch, measured on the weights themselves
    act_mean, act_std   mean and standard deviation of the layer's activation output
                        (over the batch's samples and the layer's units)
    dead_fraction       share of units that sit on their flat side on every sample
                        (``DEAD_ACTIVATIONS``: relu, leaky_relu, elu, gelu with z <= 0)
    saturated_fraction  share of units saturated on at least ``SATURATED_SHARE`` of the
                        samples (tanh: |a| > 0.99; sigmoid: a outside [0.01, 0.99])

Biases are left out of the norms. The last ``Dense`` layer (the logits) has no activation:
its activation numbers are NaN, and so are ``dead_fraction`` for an activation outside the
ReLU family and ``saturated_fraction`` outside tanh and sigmoid.

Cost: one batch per monitored epoch, the last one. At its ``on_batch_end`` the monitor reads
the gradients and the layers' cached forward values (nothing runs again) and copies the
weights; at ``on_epoch_end`` it differences them with the updated weights. Because it has an
``on_batch_end`` hook, plain SGD takes its separate step (``step.SeparateStep``) rather than
the fused one, which leaves no gradient behind (``train.step_kernel``):
``benchmarks/monitor.py`` measures both costs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .activations import ELU, GELU, Activation, LeakyReLU, ReLU, Sigmoid, Tanh
from .callbacks import Callback, dense_layers
from .layers import Dense

__all__ = ["Monitor", "STATS", "DEAD_ACTIVATIONS", "SATURATED_SHARE", "activation_stats"]

STATS = ("weight_norm", "grad_norm", "update_ratio", "act_mean", "act_std", "dead_fraction",
         "saturated_fraction")
DEAD_ACTIVATIONS = (ReLU, LeakyReLU, ELU, GELU)  # dead: z <= 0 on every sample (ReLU: a == 0)
SATURATED_SHARE = 0.9  # a unit is saturated when it is so on >= 90 % of the batch's samples


def _saturated(activation: Activation, a: np.ndarray) -> np.ndarray | None:
    """Per sample and unit, whether ``a`` sits where ``f'`` is nearly 0; None if the
    activation does not saturate."""
    if isinstance(activation, Tanh):
        return np.abs(a) > 0.99
    if isinstance(activation, Sigmoid):
        return (a < 0.01) | (a > 0.99)
    return None


def _norm(a: np.ndarray) -> float:
    """``||a||`` (Frobenius), in float64: one BLAS dot over the contiguous array."""
    flat = a.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))


def activation_stats(model) -> dict[str, np.ndarray]:
    """Activation numbers of the model's last forward pass, per ``Dense`` layer.

    The output of ``dense_k`` is the activation layer that follows it (before any dropout),
    read from its cache (``Activation.a``, ``.z``); a ``Dense`` followed directly by the next
    ``Dense`` gives that layer's cached input. NaN where there is no activation.

    Returns
    -------
    dict of str to array, shape (n_dense,)
        ``act_mean``, ``act_std``, ``dead_fraction``, ``saturated_fraction``.
    """
    layers = model.layers
    dense_at = [i for i, layer in enumerate(layers) if isinstance(layer, Dense)]
    out = {key: np.full(len(dense_at), np.nan) for key in
           ("act_mean", "act_std", "dead_fraction", "saturated_fraction")}
    for k, (i, j) in enumerate(zip(dense_at, dense_at[1:])):
        acts = [layer for layer in layers[i + 1:j] if isinstance(layer, Activation)]
        act = acts[-1] if acts else None
        a = act.a if act is not None else layers[j].x
        if not isinstance(a, np.ndarray):  # never ran, or a sparse input
            continue
        out["act_mean"][k] = np.mean(a, dtype=np.float64)
        out["act_std"][k] = np.std(a, dtype=np.float64)
        if isinstance(act, DEAD_ACTIVATIONS):  # a unit that never leaves its flat side
            out["dead_fraction"][k] = np.mean(np.all(act.z <= 0, axis=0))
        saturated = None if act is None else _saturated(act, a)
        if saturated is not None:
            share = np.mean(saturated, axis=0)  # per unit, the share of samples saturated
            out["saturated_fraction"][k] = np.mean(share >= SATURATED_SHARE)
    return out


class Monitor(Callback):
    """Record per ``Dense`` layer and per epoch the statistics of the module docstring.

    Parameters
    ----------
    X_batch : array, shape (n_samples, n_inputs), optional
        A fixed batch for the activation numbers: at each monitored epoch's end the model
        runs on it (evaluation mode, no dropout). Default: the activations of the monitored
        training batch (the epoch's last, with dropout and the batch's shuffle).
    every : int
        Monitor every ``every``-th epoch (1, 1 + every, ...); ``epochs`` lists them.

    Attributes
    ----------
    epochs : list of int
        The monitored epochs (1-based, as ``History``).
    layers : list of str
        ``"dense_0"``, ``"dense_1"``, ...: one per ``Dense`` layer, in model order.
    records : dict of str to array, shape (n_epochs, n_layers), float64
        One entry per name in ``STATS``. An epoch whose last batch did not reach the hooks
        (L-BFGS, a batch of zero sample weight) has NaN gradient and update numbers.

    Notes
    -----
    Each ``fit`` starts the records afresh. With plain ``optim.SGD`` the monitor turns off
    the fused step (``step.SGDInBackward`` needs no callback to read the gradients between
    backward and step): training follows the same equations through ``step.SeparateStep``.
    """

    def __init__(self, X_batch: Any = None, every: int = 1) -> None:
        if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        self.X_batch = None if X_batch is None else np.asarray(X_batch)
        if self.X_batch is not None and self.X_batch.ndim != 2:
            raise ValueError(f"X_batch must be 2-D (n_samples, n_inputs), got shape "
                             f"{self.X_batch.shape}")
        self.every = int(every)
        self.epochs: list[int] = []
        self.layers: list[str] = []
        self._rows: dict[str, list[np.ndarray]] = {key: [] for key in STATS}

    @property
    def records(self) -> dict[str, np.ndarray]:
        n = len(self.layers)
        return {key: np.array(rows, dtype=np.float64).reshape(len(rows), n)
                for key, rows in self._rows.items()}

    # -- hooks -------------------------------------------------------------------------------
    def on_train_begin(self, state) -> None:
        self._dense = dense_layers(state.model)
        self.layers = [name for name, _ in self._dense]
        self.epochs, self._rows = [], {key: [] for key in STATS}
        run = state.run
        # the last batch of an epoch (None: every batch counts as the last seen)
        self._last_batch = None if run is None else -(-run.X.shape[0] // run.batch_size)
        self._before = None

    def _monitored(self, epoch: int) -> bool:
        return (epoch - 1) % self.every == 0

    def on_epoch_begin(self, state) -> None:
        self._pending = None  # (grad norms, activation numbers) of the monitored batch

    def on_batch_end(self, state) -> None:
        if not self._monitored(state.epoch):
            return
        if self._last_batch is not None and state.batch != self._last_batch:
            return
        grads = np.array([_norm(layer.dW) for _, layer in self._dense])
        acts = activation_stats(state.model) if self.X_batch is None else None
        # W before the step: the weights head the flat buffer (model.py), copied in one go
        n = state.model._n_penalized
        if self._before is None or self._before.shape != (n,):
            self._before = np.empty(n, state.model.dtype)
        np.copyto(self._before, state.model.flat_params[:n])
        self._pending = (grads, acts)

    def on_epoch_end(self, state) -> None:
        if not self._monitored(state.epoch):
            return
        nan = np.full(len(self._dense), np.nan)
        weights = np.array([_norm(layer.W) for _, layer in self._dense])
        grads, acts, ratios = nan, None, nan
        if getattr(self, "_pending", None) is not None:
            grads, acts = self._pending
            ratios = np.empty(len(self._dense))
            offset = 0
            for k, (_, layer) in enumerate(self._dense):
                before = self._before[offset:offset + layer.W.size]
                offset += layer.W.size
                # ||W_after - W_before|| / ||W_before||, W_after the weights now
                step = layer.W.reshape(-1) - before
                ratios[k] = _norm(step) / _norm(before)
        if self.X_batch is not None:
            with np.errstate(under="ignore"):  # as in training: underflow to 0 is harmless
                state.model.forward(self.X_batch)  # evaluation mode; fills the layers' caches
            acts = activation_stats(state.model)
        if acts is None:
            acts = {key: nan for key in ("act_mean", "act_std", "dead_fraction",
                                         "saturated_fraction")}
        row = {"weight_norm": weights, "grad_norm": grads, "update_ratio": ratios, **acts}
        for key in STATS:
            self._rows[key].append(np.asarray(row[key], dtype=np.float64))
        self.epochs.append(state.epoch)
        self._pending = None

    # -- views -------------------------------------------------------------------------------
    def to_frame(self):
        """The records as a long pandas DataFrame: columns ``epoch``, ``layer``, ``stat``,
        ``value``, one row per epoch, layer and statistic (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Monitor.to_frame needs pandas, which is not installed: "
                              "pip install pandas (it comes with the 'test' extra, "
                              "pip install 'glassnet[test]')") from None
        records = self.records
        rows = [(epoch, layer, key, float(records[key][e, k]))
                for key in STATS for e, epoch in enumerate(self.epochs)
                for k, layer in enumerate(self.layers)]
        return pd.DataFrame(rows, columns=["epoch", "layer", "stat", "value"])

    def __repr__(self) -> str:
        return f"Monitor(layers={self.layers}, epochs={len(self.epochs)})"
