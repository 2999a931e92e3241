"""The metrics of an epoch: accuracy and R², and the loss with its metric on a data set.

``accuracy`` counts a row as right when its arg-max class (cross-entropy) or every one of its
labels (binary cross-entropy, ``z > 0``) is right; ``r2`` is the coefficient of determination
``1 - SS_res / SS_tot``, averaged over outputs, as scikit-learn's ``r2_score``. With sample
weights both are weighted: the weight of the right rows over the total, and weighted sums of
squares around the weighted mean.
"""

from __future__ import annotations

import numpy as np

from .losses import BinaryCrossEntropy, CrossEntropy, Loss
from .model import Sequential

__all__ = ["evaluate", "n_correct", "r2", "r2_from_squares", "residual_squares",
           "total_squares"]


def n_correct(loss: Loss, z: np.ndarray, y: np.ndarray,
              sample_weight: np.ndarray | None = None) -> float:
    """Correct predictions in a batch (a row is right when every label in it is); with
    ``sample_weight``, the weight of the right rows."""
    if y.ndim == 1:  # class labels, softmax outputs
        right = z.argmax(axis=1) == y
    elif isinstance(loss, CrossEntropy):  # one-hot rows
        right = z.argmax(axis=1) == y.argmax(axis=1)
    else:
        right = np.all((z > 0) == (y > 0.5), axis=1)
    if sample_weight is None:
        return int(np.count_nonzero(right))
    return float(np.sum(sample_weight[right]))


def residual_squares(z: np.ndarray, y: np.ndarray,
                     sample_weight: np.ndarray | None = None) -> np.ndarray:
    """``SS_res`` per output: ``sum_i w_i (y_i - z_i)^2``, in float64 (a float32 residual of
    1e20 would square to inf); inf, silently, where even float64 overflows (predictions of a
    diverging network: its R^2 is then -inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.subtract(y, z, dtype=np.float64)
        r *= r  # r^2, in place: training calls this every batch
        return np.add.reduce(r, axis=0) if sample_weight is None else sample_weight @ r


def total_squares(y: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """``SS_tot`` per output: ``sum_i w_i (y_i - mean_w(y))^2``, in float64."""
    mean = np.average(y, axis=0, weights=sample_weight).astype(np.float64)
    return residual_squares(mean, y, sample_weight)


def r2_from_squares(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """``1 - SS_res / SS_tot`` per output, averaged over the outputs. An output whose targets
    are all equal (``SS_tot = 0``) scores 1 when predicted exactly and 0 otherwise, as in
    scikit-learn's ``r2_score``."""
    constant = ss_tot == 0
    scores = np.where(constant, np.where(ss_res == 0, 1.0, 0.0),
                      1 - ss_res / np.where(constant, 1.0, ss_tot))
    return float(np.mean(scores))


def r2(z: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Coefficient of determination, averaged over outputs: ``1 - SS_res / SS_tot``."""
    return r2_from_squares(residual_squares(z, y, sample_weight), total_squares(y, sample_weight))


def evaluate(model: Sequential, loss: Loss, X: np.ndarray, y: np.ndarray,
             sample_weight: np.ndarray | None = None, prefix: str = "") -> dict[str, float]:
    """Loss and the loss's metric on validated data (an array or a SciPy CSR matrix),
    without penalty or dropout."""
    z = model.predict(X, check_input=False)  # in chunks: the layers' scratch arrays stay small
    logs = {prefix + "loss": loss.value(z, y, sample_weight)}
    if isinstance(loss, (CrossEntropy, BinaryCrossEntropy)):
        total = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        logs[prefix + "accuracy"] = n_correct(loss, z, y, sample_weight) / total
    else:
        logs[prefix + "r2"] = r2(loss.output(z), y, sample_weight)
    return logs
