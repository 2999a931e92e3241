"""What training records: ``History``, ``TrainState``, and the metrics of an epoch.

``accuracy`` counts a row as right when its arg-max class (cross-entropy) or every one of its
labels (binary cross-entropy, ``z > 0``) is right; ``r2`` is the coefficient of determination
``1 - SS_res / SS_tot``, averaged over outputs, as scikit-learn's ``r2_score``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .losses import BinaryCrossEntropy, CrossEntropy, Loss
from .model import Sequential

__all__ = ["History", "TrainState", "evaluate", "n_correct", "r2"]


@dataclass
class History:
    """Per-epoch numbers: ``history["loss"]``, ``history["val_accuracy"]``, ...; ``epochs``."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epochs: list[int] = field(default_factory=list)

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        last = {k: round(v[-1], 6) for k, v in self.history.items()}
        return f"History(epochs={len(self.epochs)}, last={last})"


@dataclass
class TrainState:
    """What callbacks and ``fit_iter`` see: the live model and optimizer and the numbers so far."""

    model: Sequential
    optimizer: Any
    loss: Loss
    history: History
    epoch: int = 0
    batch: int = 0
    batch_loss: float = 0.0
    samples_seen: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    stop: bool = False
    stop_reason: str = ""


def n_correct(loss: Loss, z: np.ndarray, y: np.ndarray) -> int:
    """Correct predictions in a batch (a row is right when every label in it is)."""
    if y.ndim == 1:  # class labels, softmax outputs
        return int(np.count_nonzero(z.argmax(axis=1) == y))
    if isinstance(loss, CrossEntropy):  # one-hot rows
        return int(np.count_nonzero(z.argmax(axis=1) == y.argmax(axis=1)))
    return int(np.count_nonzero(np.all((z > 0) == (y > 0.5), axis=1)))


def r2(z: np.ndarray, y: np.ndarray) -> float:
    """Coefficient of determination, averaged over outputs: ``1 - SS_res / SS_tot``."""
    ss_res = np.sum((y - z) ** 2, axis=0, dtype=np.float64)
    ss_tot = np.sum((y - y.mean(axis=0)) ** 2, axis=0, dtype=np.float64)
    scores = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return float(np.mean(scores))


def evaluate(model: Sequential, loss: Loss, X: np.ndarray, y: np.ndarray,
             sample_weight: np.ndarray | None = None, prefix: str = "") -> dict[str, float]:
    """Loss and the loss's metric on validated data, without penalty or dropout."""
    z = model.predict(X, check_input=False)  # in chunks: the layers' buffers stay small
    logs = {prefix + "loss": loss.value(z, y, sample_weight)}
    if isinstance(loss, (CrossEntropy, BinaryCrossEntropy)):
        logs[prefix + "accuracy"] = n_correct(loss, z, y) / len(X)
    else:
        logs[prefix + "r2"] = r2(z, y)
    return logs
