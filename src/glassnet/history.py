"""What a training run records: ``History`` (per-epoch numbers) and ``TrainState`` (what
callbacks and ``fit_iter`` see)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .losses import Loss
from .model import Sequential

__all__ = ["History", "TrainState"]


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
    validation: bool = False  # whether val_ metrics are logged (validation data)
    run: Any = None  # the run's data and settings (train._Run): read, never changed
