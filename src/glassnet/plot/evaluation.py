"""How a model's predictions compare with the truth, drawn by scikit-learn's displays: the
confusion matrix of a classifier and the predicted-against-true plot of a regressor."""

from __future__ import annotations

from typing import Any

from ._common import predict_classes, predict_values

__all__ = ["confusion_matrix", "predicted_vs_true"]


def confusion_matrix(estimator_or_model: Any, X: Any, y: Any, ax: Any = None,
                     **kwargs: Any) -> Any:
    """Draw the confusion matrix of a classifier on ``(X, y)``, with scikit-learn's
    ``ConfusionMatrixDisplay.from_predictions``.

    Parameters
    ----------
    estimator_or_model : glassnet.Sequential or fitted classifier
        A ``Sequential``'s class is the arg-max of its logits (``z > 0`` for one output);
        anything else is asked with its ``predict``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        True classes.
    ax : matplotlib Axes, optional
        Where to draw; None makes a new figure.
    **kwargs
        Passed on to ``from_predictions`` (``normalize``, ``display_labels``, ``cmap``, ...).

    Returns
    -------
    matplotlib Axes
        The display's; its image (``ax.images[0]``) holds the matrix, rows true classes.
    """
    from sklearn.metrics import ConfusionMatrixDisplay
    predicted = predict_classes(estimator_or_model, X)
    display = ConfusionMatrixDisplay.from_predictions(y, predicted, ax=ax, **kwargs)
    return display.ax_


def predicted_vs_true(estimator_or_model: Any, X: Any, y: Any, ax: Any = None,
                      **kwargs: Any) -> Any:
    """Draw a regressor's predictions against the true values, with scikit-learn's
    ``PredictionErrorDisplay.from_predictions(kind="actual_vs_predicted")``: the points lie
    on the diagonal when the predictions are right.

    Parameters
    ----------
    estimator_or_model : glassnet.Sequential or fitted regressor
        A ``Sequential``'s raw outputs (one per sample), or an estimator's ``predict``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        True values.
    ax : matplotlib Axes, optional
        Where to draw; None makes a new figure.
    **kwargs
        Passed on to ``from_predictions``; every point is drawn unless ``subsample`` is given.

    Returns
    -------
    matplotlib Axes
        The display's; its scatter has the predictions as x and the true values as y.
    """
    from sklearn.metrics import PredictionErrorDisplay
    predicted = predict_values(estimator_or_model, X)
    kwargs.setdefault("subsample", None)
    display = PredictionErrorDisplay.from_predictions(y, predicted, kind="actual_vs_predicted",
                                                      ax=ax, **kwargs)
    return display.ax_
