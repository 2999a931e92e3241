"""``MLPClassifier``: scikit-learn's multi-layer perceptron classifier, trained by glassnet."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels

from ..numerics import log_softmax, sigmoid, softmax
from ._base import _BaseMLP, _stochastic_solver

__all__ = ["MLPClassifier"]


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier, a drop-in for ``sklearn.neural_network.MLPClassifier``.

    Multiclass targets train a softmax output with cross-entropy; binary targets a single
    sigmoid output, and multilabel indicator matrices one sigmoid per label, with binary
    cross-entropy (summed over the labels, as scikit-learn). Parameters are
    scikit-learn's, plus ``dropout``, ``init``, ``dtype`` (float32 by default, float64 on
    request), ``optimizer``, ``schedule`` and ``class_weight`` (dict or 'balanced').
    """

    _is_classifier = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, init="glorot_uniform", dtype="float32", optimizer=None,
                 schedule=None, class_weight=None):
        self._store(locals())

    def _encode_targets(self, y, first, classes):
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"Unknown label type: {kind!r}. MLPClassifier needs class labels "
                             f"(binary, multiclass or a multilabel indicator matrix)")
        labels = unique_labels(y)
        if first:
            self.classes_ = labels if classes is None else unique_labels(classes)
            if len(self.classes_) < 2:
                raise ValueError(f"y has only one class ({self.classes_[0]!r}); a classifier "
                                 "needs samples of at least 2 classes")
            self._multilabel = kind == "multilabel-indicator"
            self.out_activation_ = ("logistic" if self._multilabel or len(self.classes_) <= 2
                                    else "softmax")
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(f"classes={list(classes)} is not the same as on the first call "
                             f"to partial_fit, {list(self.classes_)}")
        elif self.warm_start and classes is None and not self._multilabel and not (
                len(labels) == len(self.classes_) and np.all(labels == self.classes_)):
            raise ValueError(f"warm_start needs y with the classes of the previous fit, "
                             f"{list(self.classes_)}; y has {list(labels)}")
        if not self._multilabel and not np.isin(labels, self.classes_).all():
            raise ValueError(f"y has labels {sorted(set(labels) - set(self.classes_))} "
                             f"that are not in classes_ {list(self.classes_)}")
        if self._multilabel:  # scikit-learn sums the labels' log-losses
            self._loss_name = "binary_cross_entropy_sum"
            return np.asarray(y, dtype=np.float64)
        if self.out_activation_ == "logistic":
            self._loss_name = "binary_cross_entropy"
            return (np.asarray(y) == self.classes_[-1]).astype(np.float64).reshape(-1, 1)
        self._loss_name = "cross_entropy"
        classes = self.classes_
        if classes.dtype.kind in "iu" and classes[0] == 0 and classes[-1] == len(classes) - 1:
            return y  # labels 0..K-1 are their own indices (sorted, unique: no gap)
        return np.searchsorted(classes, y)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, continuing from the current state.

        ``classes`` (all labels that will ever appear) is needed on the first call.
        """
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, columns in ``classes_`` order."""
        z, dtype = self._scores(X)
        if self.out_activation_ == "softmax":
            return softmax(z).astype(dtype, copy=False)
        p = sigmoid(z)
        return (p if self._multilabel else np.hstack([1 - p, p])).astype(dtype, copy=False)

    def predict_log_proba(self, X) -> np.ndarray:
        """Log of ``predict_proba``, computed stably from the logits."""
        z, dtype = self._scores(X)
        if self.out_activation_ == "softmax":
            return log_softmax(z).astype(dtype, copy=False)
        log_p, log_q = -np.logaddexp(0, -z), -np.logaddexp(0, z)  # log s(z), log (1 - s(z))
        return (log_p if self._multilabel else np.hstack([log_q, log_p])).astype(dtype,
                                                                                 copy=False)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (an indicator matrix for multilabel targets)."""
        z, _ = self._scores(X)
        if self._multilabel:
            return (z > 0).astype(int)
        if self.out_activation_ == "logistic":
            return self.classes_[(z[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
