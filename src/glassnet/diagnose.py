"""``diagnose``: one probe of a network on its data, and what looks wrong, before training.

The probe: the data's own statistics (feature scales, class shares), then one forward and
backward pass on a sample of ``X`` (evaluation mode: no dropout) on a copy of the model, and
one optimizer step on that copy. Each check compares a number with a threshold (the module
constants below) and becomes a ``Finding`` when it is crossed:

=====================  =========================================================  ==========
kind                   value                                                      flagged
=====================  =========================================================  ==========
non_finite             count of NaN/inf in the first layer's weights (or          > 0
                       gradients) that has any; layer None for the loss
unscaled_inputs        the largest feature RMS ``sqrt(mean(x^2))`` (1 when         > 10
                       standardized); or the smallest, zero features left out    < 0.01
class_imbalance        largest class count / smallest (class labels only)        > 10
initial_loss           the loss / the chance loss (``log K`` for cross-entropy,  > 3
                       ``log 2`` per output for binary), classification only
dead_units             a ReLU-family layer's dead fraction (``Monitor``'s rule)  > 0.5
saturation             a tanh/sigmoid layer's saturated fraction (``Monitor``'s) > 0.5
vanishing_gradients    ``(||dW||/||W||)`` of the first layer over the last's     < 1e-3
exploding_gradients    the same ratio                                            > 1e3
update_ratio           ``||W_after - W_before|| / ||W_before||`` of one step,    outside
                       the layer farthest from 1e-3 (the usual rule of thumb)    [1e-5, 0.1]
=====================  =========================================================  ==========

A fresh network on standardized, balanced data, trained with Adam at 1e-3, gets no findings.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._checks import _all_finite, as_rng, is_sparse
from .callbacks import dense_layers
from .losses import BinaryCrossEntropy, CrossEntropy, get_loss
from .monitor import _norm, activation_stats
from .optim import LBFGS, get_optimizer
from .step import objective_and_backward, prepare_data

__all__ = ["diagnose", "Diagnosis", "Finding"]

UNSCALED_RMS = (1e-2, 10.0)  # a feature's sqrt(mean(x^2)) outside: unscaled
IMBALANCE_RATIO = 10.0
INITIAL_LOSS_FACTOR = 3.0
DEAD_FRACTION = 0.5
SATURATED_FRACTION = 0.5
VANISHING_RATIO = 1e-3
EXPLODING_RATIO = 1e3
UPDATE_RATIO_RANGE = (1e-5, 1e-1)


@dataclass(frozen=True)
class Finding:
    """One problem: its ``kind``, the ``layer`` (``"dense_k"``, or None for the data and the
    loss), the measured ``value``, the ``threshold`` it crossed, and one sentence of advice."""

    kind: str
    layer: str | None
    value: float
    threshold: float
    advice: str


@dataclass
class Diagnosis:
    """What ``diagnose`` found: ``findings`` (empty when all is well, then ``ok``), and per
    ``Dense`` layer (``layers``) the numbers measured (``stats``: name -> array, one value per
    layer), plus the probe's ``loss``."""

    findings: list[Finding] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    loss: float = math.nan

    @property
    def ok(self) -> bool:
        return not self.findings

    def kinds(self) -> list[str]:
        return [f.kind for f in self.findings]

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        header = ["kind", "layer", "value", "threshold", "advice"]
        return header, [[f.kind, f.layer or "-", f"{f.value:.3g}", f"{f.threshold:.3g}",
                         f.advice] for f in self.findings]

    def __str__(self) -> str:
        lines = [f"diagnose: loss {self.loss:.4g}; "
                 + ("no findings" if self.ok else f"{len(self.findings)} finding(s)")]
        if self.stats:
            names = list(self.stats)
            lines.append("layer    " + "  ".join(f"{n:>12}" for n in names))
            for k, layer in enumerate(self.layers):
                lines.append(f"{layer:<8} " + "  ".join(f"{self.stats[n][k]:>12.4g}"
                                                        for n in names))
        if self.findings:
            header, rows = self._rows()
            widths = [max(len(r[i]) for r in [header] + rows) for i in range(4)]
            for row in [header] + rows:
                lines.append("  ".join(c.ljust(w) for c, w in zip(row[:4], widths))
                             + "  " + row[4])
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Diagnosis(ok={self.ok}, findings={self.kinds()})"

    def _repr_html_(self) -> str:
        from html import escape
        header, rows = self._rows()
        if not rows:
            return f"<p>diagnose: loss {self.loss:.4g}; no findings</p>"
        cells = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                        for row in rows)
        head = "".join(f"<th>{h}</th>" for h in header)
        return f"<table><tr>{head}</tr>{cells}</table>"


def _training_settings(obj: Any, loss, optimizer, lr):
    """``(model, loss, optimizer, encode)`` for a model or a fitted glassnet estimator."""
    if hasattr(obj, "layers") and hasattr(obj, "flat_params"):  # a Sequential
        opt = optimizer if optimizer is not None else "adam"
        opt = copy.deepcopy(opt) if not isinstance(opt, str) else (
            get_optimizer(opt) if lr is None else get_optimizer(opt, lr=lr))
        if lr is not None:
            opt.lr = lr
        return obj, get_loss(loss or "cross_entropy"), opt, None
    if hasattr(obj, "_make_optimizer") and hasattr(obj, "get_params"):
        if not hasattr(obj, "model_"):
            raise ValueError(f"diagnose needs a fitted {type(obj).__name__} (it reads "
                             f"model_): call fit first, or pass a glassnet model")
        opt = copy.deepcopy(get_optimizer(optimizer)) if optimizer is not None else (
            obj._make_optimizer())
        if lr is not None:
            opt.lr = lr
        return (obj.model_, get_loss(loss or obj._loss_name), opt,
                lambda y: obj._encode_targets(y, False, None))
    raise ValueError(f"diagnose takes a glassnet model (Sequential) or a fitted glassnet "
                     f"estimator, got {type(obj).__name__}")


def _feature_rms(X) -> np.ndarray:
    """``sqrt(mean(x^2))`` per feature (column), in float64."""
    if is_sparse(X):
        return np.sqrt(np.asarray(X.multiply(X).mean(axis=0), dtype=np.float64).ravel())
    return np.sqrt(np.einsum("ij,ij->j", X, X, dtype=np.float64) / X.shape[0])


def _data_findings(X, y, loss, names) -> list[Finding]:
    findings = []
    rms = _feature_rms(X)
    label = lambda j: f"{names[j] if names is not None else j} (RMS {rms[j]:.3g})"
    if rms.max() > UNSCALED_RMS[1]:  # large features: the first products and steps blow up
        worst = [int(j) for j in np.argsort(-rms)[:3] if rms[j] > UNSCALED_RMS[1]]
        findings.append(Finding("unscaled_inputs", None, float(rms.max()), UNSCALED_RMS[1],
                                f"Standardize the features (e.g. StandardScaler on the "
                                f"training rows); the largest: "
                                f"{', '.join(map(label, worst))}."))
    live = np.flatnonzero(rms > 0)  # constant-zero features are harmless: left out
    if live.size and rms[live].min() < UNSCALED_RMS[0]:  # tiny features barely move anything
        worst = [int(j) for j in live[np.argsort(rms[live])[:3]] if rms[j] < UNSCALED_RMS[0]]
        findings.append(Finding("unscaled_inputs", None, float(rms[live].min()),
                                UNSCALED_RMS[0], f"Standardize the features (e.g. "
                                f"StandardScaler on the training rows); the smallest: "
                                f"{', '.join(map(label, worst))}."))
    labels = None
    if isinstance(loss, CrossEntropy):
        labels = y
    elif isinstance(loss, BinaryCrossEntropy) and y.shape[1] == 1:
        labels = y[:, 0].astype(np.int64)
    if labels is not None:
        classes, counts = np.unique(labels, return_counts=True)
        if len(classes) > 1 and counts.max() / counts.min() > IMBALANCE_RATIO:
            small = classes[np.argmin(counts)]
            findings.append(Finding("class_imbalance", None, float(counts.max() / counts.min()),
                                    IMBALANCE_RATIO,
                                    f"Class {small} has {counts.min() / counts.sum():.1%} of "
                                    f"the samples: weigh the classes (class_weight='balanced') "
                                    f"or resample, and watch a per-class metric."))
    return findings


def diagnose(model_or_estimator: Any, X: Any, y: Any, *, loss: Any = None,
             optimizer: Any = None, lr: float | None = None, batch_size: int | None = None,
             l2: float = 0.0, seed: Any = 0) -> Diagnosis:
    """Probe a network on ``(X, y)`` and report what looks wrong (see the module docstring).

    Parameters
    ----------
    model_or_estimator : Sequential or fitted glassnet MLPClassifier / MLPRegressor
        An estimator must be fitted: its ``model_`` is probed with its own loss and the
        optimizer its settings make (``solver``, ``learning_rate_init``, ...).
    X : array or SciPy sparse matrix, shape (n_samples, n_inputs)
        A pandas DataFrame's column names label the unscaled features.
    y : array, shape (n_samples,) or (n_samples, n_outputs)
        Targets as ``fit`` takes them (an estimator's labels, as its ``fit`` takes them).
    loss : str or Loss, optional
        Default ``'cross_entropy'`` (``fit``'s), or the estimator's.
    optimizer : str or optimizer, optional
        Default ``'adam'`` (``fit``'s), or the estimator's; an instance is copied, never
        stepped. L-BFGS has no step to measure: no ``update_ratio``.
    lr : float, optional
        The learning rate for the probe step (default: the optimizer's).
    batch_size : int, optional
        Rows of the probe (a random sample of ``X``); default ``min(n_samples, 1024)``.
    l2 : float
        The L2 penalty of the objective, as in ``fit``.
    seed : None, int or numpy Generator
        Draws the sample.

    Returns
    -------
    Diagnosis
    """
    model, loss, opt, encode = _training_settings(model_or_estimator, loss, optimizer, lr)
    names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
    if hasattr(X, "columns"):
        X = X.to_numpy()
    if encode is not None:
        y = encode(np.asarray(y))
    X, y, _ = prepare_data(model, loss, X, y)
    report = Diagnosis(layers=[name for name, _ in dense_layers(model)])
    report.findings += _data_findings(X, y, loss, names)

    for name, layer in dense_layers(model):  # weights first: nothing after them is telling
        bad = sum(int(np.size(a) - np.count_nonzero(np.isfinite(a))) for a in (layer.W, layer.b))
        if bad:
            report.findings.append(Finding("non_finite", name, float(bad), 0.0,
                                           f"{bad} weights of {name} are NaN or inf: "
                                           f"reinitialise the model (or restore a checkpoint)."))
            return report

    n = X.shape[0]
    size = min(n, 1024 if batch_size is None else int(batch_size))
    rows = np.sort(as_rng(seed).choice(n, size, replace=False)) if size < n else slice(None)
    work = model.copy()  # the user's model keeps its weights, gradients and caches
    with np.errstate(all="ignore"):
        report.loss, _ = objective_and_backward(work, loss, X[rows], y[rows], l2)
    dense = dense_layers(work)
    for name, layer in dense:
        if not (_all_finite(layer.dW) and _all_finite(np.ascontiguousarray(layer.db))):
            report.findings.append(Finding("non_finite", name, 1.0, 0.0,
                                           f"The gradients of {name} are not finite: lower "
                                           f"the inputs' scale or the initial weights."))
            return report
    if not math.isfinite(report.loss):
        report.findings.append(Finding("non_finite", None, report.loss, 0.0,
                                       "The loss is not finite: check the targets and the "
                                       "inputs' scale."))
        return report

    acts = activation_stats(work)
    weights = np.array([_norm(layer.W) for _, layer in dense])
    grads = np.array([_norm(layer.dW) for _, layer in dense])
    ratios = np.full(len(dense), np.nan)
    if not isinstance(opt, LBFGS):
        before = work.flat_params.copy()
        with np.errstate(all="ignore"):
            opt.step([work.flat_params], [work.flat_grads])
        offset = 0
        for k, (_, layer) in enumerate(dense):
            w0 = before[offset:offset + layer.W.size]
            offset += layer.W.size
            ratios[k] = _norm(layer.W.reshape(-1) - w0) / _norm(w0)
    report.stats = {"weight_norm": weights, "grad_norm": grads, "update_ratio": ratios, **acts}
    report.findings += _network_findings(report, loss, model.n_outputs)
    return report


def _network_findings(report: Diagnosis, loss, n_outputs: int) -> list[Finding]:
    findings, s, layers = [], report.stats, report.layers
    chance = None
    if isinstance(loss, CrossEntropy):
        chance = math.log(max(2, n_outputs))  # uniform probabilities over K classes
    elif isinstance(loss, BinaryCrossEntropy):
        chance = math.log(2.0)
    if chance is not None and report.loss > INITIAL_LOSS_FACTOR * chance:
        findings.append(Finding("initial_loss", None, report.loss / chance, INITIAL_LOSS_FACTOR,
                                f"The loss {report.loss:.3g} is far above chance "
                                f"({chance:.3g}): the outputs start overconfident; scale the "
                                f"inputs or shrink the initial weights."))
    for k, name in enumerate(layers):
        if s["dead_fraction"][k] > DEAD_FRACTION:
            findings.append(Finding("dead_units", name, float(s["dead_fraction"][k]),
                                    DEAD_FRACTION, f"Most units of {name} output 0 on every "
                                    f"sample: check its biases, lower the learning rate or "
                                    f"use leaky_relu."))
        if s["saturated_fraction"][k] > SATURATED_FRACTION:
            findings.append(Finding("saturation", name, float(s["saturated_fraction"][k]),
                                    SATURATED_FRACTION, f"Most units of {name} sit at their "
                                    f"limits, where their gradient vanishes: standardize the "
                                    f"inputs or shrink the initial weights."))
    relative = s["grad_norm"] / s["weight_norm"]
    if len(layers) > 1 and relative[-1] > 0:
        ratio = float(relative[0] / relative[-1])
        if ratio < VANISHING_RATIO:
            findings.append(Finding("vanishing_gradients", layers[0], ratio, VANISHING_RATIO,
                                    f"The first layer's relative gradient is {ratio:.2g} of "
                                    f"the last's: use relu and he init, or fewer layers."))
        elif ratio > EXPLODING_RATIO:
            findings.append(Finding("exploding_gradients", layers[0], ratio, EXPLODING_RATIO,
                                    f"The first layer's relative gradient is {ratio:.2g} times "
                                    f"the last's: scale the inputs, shrink the initial weights "
                                    f"or clip the gradients."))
    ratios = s["update_ratio"]
    if np.isfinite(ratios).any():
        low, high = UPDATE_RATIO_RANGE
        k = int(np.nanargmax(np.abs(np.log10(np.maximum(ratios, 1e-300)) + 3.0)))
        if ratios[k] > high:
            findings.append(Finding("update_ratio", layers[k], float(ratios[k]), high,
                                    f"One step changes {layers[k]} by {ratios[k]:.2g} of its "
                                    f"norm (aim near 1e-3): lower the learning rate."))
        elif ratios[k] < low:
            findings.append(Finding("update_ratio", layers[k], float(ratios[k]), low,
                                    f"One step changes {layers[k]} by only {ratios[k]:.2g} of "
                                    f"its norm (aim near 1e-3): raise the learning rate."))
    return findings
