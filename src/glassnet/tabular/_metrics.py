"""The numbers ``glassnet train`` and ``glassnet evaluate`` report, from the network's outputs.

Classification, with ``z`` the scores (logits) and ``y`` the true classes:
- accuracy: the fraction of rows whose arg-max class is ``y``;
- log-loss: the mean of ``-log p(y) = logsumexp(z) - z_y`` (from the scores, so never log 0);
- per class ``c``: precision ``TP / (TP + FP)`` (of the rows predicted ``c``, those that are),
  recall ``TP / (TP + FN)`` (of the rows that are ``c``, those predicted ``c``), and support
  (the rows that are ``c``); a class never predicted has precision 0, as scikit-learn reports
  with ``zero_division=0``.
Regression, with ``p`` the predictions and ``y`` the true values:
- R^2 ``1 - sum (y - p)^2 / sum (y - mean y)^2`` (``glassnet.metrics.r2``: for a constant
  ``y``, 1 when ``p == y`` and 0 otherwise, as scikit-learn's ``r2_score``);
- MAE ``mean |y - p|``; RMSE ``sqrt(mean (y - p)^2)``.
"""

from __future__ import annotations

import numpy as np

from ..metrics import r2
from ..numerics import logsumexp

__all__ = ["classification_metrics", "per_class", "regression_metrics"]


def classification_metrics(z: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``{"accuracy", "log_loss"}`` of the scores ``z`` (n, k) for the classes ``y`` (n,)."""
    z = np.asarray(z, dtype=np.float64)
    rows = np.arange(len(y))
    return {"accuracy": float(np.mean(np.argmax(z, axis=1) == y)),
            "log_loss": float(np.mean(logsumexp(z, axis=1) - z[rows, y]))}


def per_class(z: np.ndarray, y: np.ndarray) -> list[tuple[float, float, int]]:
    """``(precision, recall, support)`` of each class ``0 .. k-1``."""
    k = z.shape[1]
    predicted = np.argmax(z, axis=1)
    hits = np.bincount(y[predicted == y], minlength=k)
    n_predicted = np.bincount(predicted, minlength=k)
    support = np.bincount(y, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_predicted > 0, hits / n_predicted, 0.0)
        recall = np.where(support > 0, hits / support, 0.0)
    return [(float(p), float(r), int(s)) for p, r, s in zip(precision, recall, support)]


def regression_metrics(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``{"r2", "mae", "rmse"}`` of the predictions ``p`` for the values ``y`` (both (n,))."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(over="ignore"):
        error = y - p
        return {"r2": r2(p[:, None], y[:, None]), "mae": float(np.mean(np.abs(error))),
                "rmse": float(np.sqrt(np.mean(error * error)))}
