"""The data a training run learns from: per-sample weights from class weights, and the
validation rows (given, or held out of the training data, stratified for class labels as
scikit-learn's ``train_test_split`` holds them out)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._checks import check_nonnegative
from .losses import BinaryCrossEntropy, CrossEntropy, Loss
from .step import prepare_data

__all__ = ["validation_size", "split_rows"]


def _class_weights(class_weight: Any, y: np.ndarray) -> np.ndarray:
    """Per-sample weights from ``{label: weight}`` or ``'balanced'`` (int labels only)."""
    if y.ndim != 1:
        raise ValueError("class_weight needs int class labels y of shape (n_samples,)")
    counts = np.bincount(y)
    if isinstance(class_weight, str) and class_weight == "balanced":
        per_class = np.where(counts > 0, len(y) / (np.count_nonzero(counts) * np.maximum(counts, 1)), 0.0)
    elif isinstance(class_weight, dict):
        per_class = np.ones(len(counts))
        for label, weight in class_weight.items():
            if not isinstance(label, (int, np.integer)) or not 0 <= label < len(counts):
                raise ValueError(f"class_weight has label {label!r}, which is not in y")
            per_class[int(label)] = check_nonnegative(weight, f"class_weight[{label!r}]")
    else:
        raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}")
    return per_class[y]


def validation_size(n: int, fraction: float) -> int:
    """Rows that ``validation_fraction`` holds out of ``n``: ``ceil(fraction * n)``, as
    scikit-learn's ``train_test_split`` counts them."""
    return math.ceil(fraction * n)


def split_rows(n: int, fraction: float, labels: np.ndarray | None, rng: np.random.Generator):
    """Indices (train, validation): ``ceil(fraction * n)`` rows held out, scikit-learn's
    count. With class ``labels``, stratified: each class gives its share of that count,
    ``count * n_class / n``, rounded down, and the rows still missing go to the classes with
    the largest remainders, so that the shares add up to the count."""
    n_val = validation_size(n, fraction)
    if n_val < 2 or n_val == n:
        raise ValueError(f"validation_fraction={fraction} holds out {n_val} of {n} samples: "
                         "validation needs at least 2 and training at least 1")
    if labels is None:
        val = rng.permutation(n)[:n_val]
    else:
        classes, members_of = np.unique(labels, return_inverse=True)
        counts = np.bincount(members_of, minlength=len(classes))
        share = n_val * counts / n
        take = np.floor(share).astype(np.intp)
        missing = n_val - int(take.sum())
        take[np.argsort(take - share, kind="stable")[:missing]] += 1  # largest remainders
        val = np.concatenate([rng.permutation(np.flatnonzero(members_of == k))[:take[k]]
                              for k in range(len(classes))])
    val = np.sort(val.astype(np.intp))
    train = np.setdiff1d(np.arange(n), val, assume_unique=True)
    return train, val


def _class_labels(loss: Loss, y: np.ndarray) -> np.ndarray | None:
    """One class label per row, to stratify by: softmax labels, or a single binary output's
    0/1; None for regression and for several binary outputs (multilabel)."""
    if isinstance(loss, CrossEntropy):
        return y if y.ndim == 1 else y.argmax(axis=1)
    if isinstance(loss, BinaryCrossEntropy) and y.shape[1] == 1:
        return y[:, 0] > 0.5
    return None


def _validation(model, loss, X, y, sample_weight, validation_data, validation_fraction, rng
                ) -> tuple[tuple, tuple | None]:
    """``((X, y, w) to train on, (X_val, y_val, w_val) or None)``: ``validation_data``
    checked as the training data is, or ``validation_fraction`` of the rows held out."""
    val = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be (X_val, y_val) or (X_val, y_val, w_val), "
                             f"got {type(validation_data).__name__} of length "
                             f"{len(validation_data) if hasattr(validation_data, '__len__') else '?'}")
        try:
            val = prepare_data(model, loss, *validation_data)
        except ValueError as exc:  # it names X, y: say which ones
            raise ValueError(f"validation_data: {exc}") from None
    elif validation_fraction > 0:
        train_idx, val_idx = split_rows(X.shape[0], validation_fraction, _class_labels(loss, y),
                                    rng)
        pick = (lambda a, i: None if a is None else a[i])  # rows of an array or of a CSR matrix
        val = (X[val_idx], y[val_idx], pick(sample_weight, val_idx))
        X, y, sample_weight = X[train_idx], y[train_idx], pick(sample_weight, train_idx)
    if val is not None and val[2] is not None and not np.sum(val[2]) > 0:
        raise ValueError("the validation samples' weights sum to zero: nothing to validate on "
                         "(validation_data's weights, or the held-out part of sample_weight)")
    return (X, y, sample_weight), val
