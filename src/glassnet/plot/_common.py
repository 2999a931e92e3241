"""What the drawing functions share: the Axes of a call, predictions from a glassnet model or
a fitted estimator, and the colours of classes."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap

from ..model import Sequential

__all__ = ["new_axes", "predict_classes", "predict_values", "class_colormap"]


def new_axes(ax: Any = None) -> Any:
    """``ax`` itself, or the Axes of a new pyplot figure when ``ax`` is None (pyplot, so that
    a notebook displays it; it is never shown from here)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only now: drawing on a given Axes needs no pyplot
    return plt.subplots()[1]


def predict_classes(model: Any, X: Any) -> np.ndarray:
    """Predicted classes, shape ``(n_samples,)``.

    A glassnet ``Sequential`` outputs logits ``(n_samples, n_outputs)``: the class is their
    arg-max, or ``z > 0`` (class 1) for a single output. Anything else is taken as a fitted
    classifier and its ``predict`` is called.
    """
    if not isinstance(model, Sequential):
        return np.asarray(model.predict(X))
    z = model.predict(X)
    if z.shape[1] == 1:
        return (z[:, 0] > 0).astype(np.int64)
    return z.argmax(axis=1)


def predict_values(model: Any, X: Any) -> np.ndarray:
    """Predicted values of a regressor, shape ``(n_samples,)``: a ``Sequential``'s raw outputs
    (it must have one), or a fitted estimator's ``predict``."""
    y = np.asarray(model.predict(X), dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"predicted_vs_true draws one output; the model predicts "
                         f"{y.shape[1]} per sample")
    return y


def class_colormap(n_classes: int) -> ListedColormap:
    """One colour per class: tab10's for up to ten classes, viridis spread out beyond."""
    from matplotlib import colormaps
    if n_classes <= 10:
        return ListedColormap(colormaps["tab10"].colors[:n_classes])
    return ListedColormap(colormaps["viridis"](np.linspace(0, 1, n_classes)))
