"""``Monitor``: per ``Dense`` layer and per epoch, the numbers that show a network's health.

At the end of each monitored epoch the monitor probes the epoch's last training batch (the
rows the run trained on last, in their shuffled order) on a copy of the model with the
weights the epoch ended on. For each ``Dense`` layer ``dense_k`` (model order)::

    weight_norm         ||W||                  at the end of the epoch
    grad_norm           ||dW||                 of the objective on the last batch at those
                        weights (the run's loss, sample weights and L2 term included)
    update_ratio        ||W_next - W|| / ||W||, the step the optimizer would take next on
                        that batch: one step of a deep copy of the optimizer (its moments,
                        its step count, its learning rate) on the copy of the model
    act_mean, act_std   mean and standard deviation of the layer's activation output
                        (over the batch's samples and the layer's units)
    dead_fraction       share of units that sit on their flat side on every sample
                        (``DEAD_ACTIVATIONS``: relu, leaky_relu, elu, gelu with z <= 0)
    saturated_fraction  share of units saturated on at least ``SATURATED_SHARE`` of the
                        samples (tanh: |a| > 0.99; sigmoid: a outside [0.01, 0.99])

The probe runs in evaluation mode: no dropout (its masks would be random and would draw from
the dropout generators), so for a dropout model the gradient is that of the deterministic
network, and the activations are taken before any dropout. Biases are left out of the norms.
The last ``Dense`` layer (the logits) has no activation: its activation numbers are NaN, and
so are ``dead_fraction`` for an activation outside the ReLU family and ``saturated_fraction``
outside tanh and sigmoid. With plain SGD on the fused step (``step.SGDInBackward``) in
float32, a small L2 decay that the weights' dtype could not take yet waits in the kernel
(``pending_decay``); the probe's step is the optimizer's own (``SGD.step``), decay included.

The monitor reads the training state and never changes it: the probe works on
``model.copy()`` and ``copy.deepcopy(optimizer)``, draws no random number, and has no
``on_batch_end`` hook, so ``train.step_kernel`` keeps plain SGD's fused step and a run with a
monitor trains bit for bit as one without. Its cost: one forward and backward on one batch,
one optimizer step and a copy of the model and optimizer, per monitored epoch
(``benchmarks/monitor.py``).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from .activations import ELU, GELU, Activation, LeakyReLU, ReLU, Sigmoid, Tanh
from .callbacks import Callback, dense_layers
from .layers import Dense
from .optim import LBFGS
from .step import objective_and_backward

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


def _last_batch(run, full: bool) -> tuple | None:
    """``(x, y, w)``: the rows the run trained on last in this epoch (``train._batches``'s
    final batch: ``order[start:]``, or the last slice without shuffle); the whole training
    set when ``full`` (L-BFGS). None without a run."""
    if run is None:
        return None
    n = run.X.shape[0]
    start = 0 if full else (n - 1) // run.batch_size * run.batch_size
    rows = slice(start, n) if run.order is None else run.order[start:]
    w = None if run.sample_weight is None else run.sample_weight[rows]
    return run.X[rows], run.y[rows], w


def _probe(model, optimizer, loss, run, batch) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """Gradient norms, update ratios and activation numbers of one batch, on copies of the
    model and the optimizer (see the module docstring)."""
    x, y, w = batch
    probe = model.copy()
    nan = np.full(len(dense_layers(model)), np.nan)
    batch_weight = len(y) if w is None else float(np.sum(w))
    if not batch_weight > 0:  # training took no step on it: activations only
        probe._forward(x, False)
        return nan, nan, activation_stats(probe)
    objective_and_backward(probe, loss, x, y, run.l2_of(batch_weight), w, training=False)
    acts = activation_stats(probe)  # the caches of this forward (backward leaves a and z)
    dense = [layer for _, layer in dense_layers(probe)]
    grads = np.array([_norm(layer.dW) for layer in dense])
    if isinstance(optimizer, LBFGS) or not hasattr(optimizer, "step"):
        return grads, nan, acts
    n = probe._n_penalized  # the weights head the flat buffer (model.py), the biases after
    before = model.flat_params[:n]  # the real weights, read only
    copy.deepcopy(optimizer).step([probe.flat_params], [probe.flat_grads])
    step = probe.flat_params[:n]
    np.subtract(step, before, out=step)  # W_next - W, in the copy's buffer
    ratios = np.empty(len(dense))
    offset = 0
    for k, layer in enumerate(dense):
        size = layer.W.size
        ratios[k] = _norm(step[offset:offset + size]) / _norm(before[offset:offset + size])
        offset += size
    return grads, ratios, acts


class Monitor(Callback):
    """Record per ``Dense`` layer and per epoch the statistics of the module docstring.

    Parameters
    ----------
    X_batch : array, shape (n_samples, n_inputs), optional
        A fixed batch for the activation numbers: at each monitored epoch's end a copy of the
        model runs on it (evaluation mode, no dropout). Default: the activations of the
        probe of the epoch's last training batch (evaluation mode too). The gradient and
        update numbers always come from that last training batch.
    every : int
        Monitor every ``every``-th epoch (1, 1 + every, ...); ``epochs`` lists them.

    Attributes
    ----------
    epochs : list of int
        The monitored epochs (1-based, as ``History``).
    layers : list of str
        ``"dense_0"``, ``"dense_1"``, ...: one per ``Dense`` layer, in model order.
    records : dict of str to array, shape (n_epochs, n_layers), float64
        One entry per name in ``STATS``. An epoch whose last batch took no step (a batch of
        zero sample weight) has NaN gradient and update numbers; with L-BFGS (full-batch,
        no ``step``) the probe is the whole training set and ``update_ratio`` is NaN.

    Notes
    -----
    Each ``fit`` starts the records afresh. The monitor has no ``on_batch_end`` hook: with
    plain ``optim.SGD`` training keeps the fused step (``step.SGDInBackward``), and the
    weights a run ends on are those of the same run without the monitor, bit for bit.
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
        self.layers = [name for name, _ in dense_layers(state.model)]
        self.epochs, self._rows = [], {key: [] for key in STATS}

    def _monitored(self, epoch: int) -> bool:
        return (epoch - 1) % self.every == 0

    def on_epoch_end(self, state) -> None:
        if not self._monitored(state.epoch):
            return
        model = state.model
        dense = [layer for _, layer in dense_layers(model)]
        nan = np.full(len(dense), np.nan)
        weights = np.array([_norm(layer.W) for layer in dense])
        grads, ratios, acts = nan, nan, None
        batch = _last_batch(state.run, isinstance(state.optimizer, LBFGS))
        # Everything on copies, under an errstate of its own: a probe of diverged weights
        # gives NaN or inf numbers, never an error in the run
        with np.errstate(all="ignore"):
            if batch is not None:
                grads, ratios, acts = _probe(model, state.optimizer, state.loss, state.run,
                                             batch)
            if self.X_batch is not None:
                probe = model.copy()
                probe.forward(self.X_batch)  # evaluation mode; fills the copy's caches
                acts = activation_stats(probe)
        if acts is None:
            acts = {key: nan for key in ("act_mean", "act_std", "dead_fraction",
                                         "saturated_fraction")}
        row = {"weight_norm": weights, "grad_norm": grads, "update_ratio": ratios, **acts}
        for key in STATS:
            self._rows[key].append(np.asarray(row[key], dtype=np.float64))
        self.epochs.append(state.epoch)

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
