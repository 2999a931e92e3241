"""Decision boundaries of a classifier on 2-D data: the grid of predicted classes, its
filled contour under the data points, and an animated GIF of it over training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._common import class_colormap, new_axes, predict_classes

__all__ = ["boundary_grid", "decision_boundary", "boundary_animation"]


def boundary_grid(model_or_estimator: Any, X: Any, resolution: int = 200,
                  margin: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The classes predicted on a regular grid covering ``X``: what ``decision_boundary``
    fills.

    Parameters
    ----------
    model_or_estimator : glassnet.Sequential or fitted classifier
        A ``Sequential``'s logits give the class by arg-max (``z > 0`` for one output);
        anything else is asked with its ``predict``.
    X : array-like of shape (n_samples, 2)
    resolution : int
        Grid points along each axis.
    margin : float
        Space added around the data on each side, as a fraction of its range.

    Returns
    -------
    xx, yy : numpy.ndarray of shape (resolution, resolution)
        The grid's coordinates, as ``numpy.meshgrid`` gives them.
    classes : numpy.ndarray of shape (resolution, resolution)
        The predicted class at each grid point, ``predict`` on
        ``np.c_[xx.ravel(), yy.ravel()]`` reshaped.
    """
    X = _check_2d(X)
    if not (isinstance(resolution, (int, np.integer)) and resolution >= 2):
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * np.where(hi > lo, hi - lo, 1.0)  # one point or a constant column: 1 wide
    xx, yy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution))
    classes = predict_classes(model_or_estimator, np.c_[xx.ravel(), yy.ravel()])
    return xx, yy, classes.reshape(xx.shape)


def decision_boundary(model_or_estimator: Any, X: Any, y: Any, ax: Any = None,
                      resolution: int = 200) -> Any:
    """Draw the regions of each predicted class on 2-D data, with the points coloured by
    their true class.

    Parameters
    ----------
    model_or_estimator : glassnet.Sequential or fitted classifier
        See ``boundary_grid``.
    X : array-like of shape (n_samples, 2)
    y : array-like of shape (n_samples,)
        True classes (any labels that ``numpy.unique`` sorts).
    ax : matplotlib Axes, optional
        Where to draw; None makes a new figure.
    resolution : int
        Grid points along each axis (``boundary_grid``).

    Returns
    -------
    matplotlib Axes
        With the filled contour of the grid's classes and a scatter of ``X``.
    """
    X = _check_2d(X)
    y = np.asarray(y).ravel()
    xx, yy, predicted = boundary_grid(model_or_estimator, X, resolution)
    labels = np.union1d(np.unique(y), np.unique(predicted))
    cmap = class_colormap(len(labels))
    ax = new_axes(ax)
    levels = np.arange(len(labels) + 1) - 0.5  # one band per class index
    ax.contourf(xx, yy, np.searchsorted(labels, predicted), levels=levels, cmap=cmap,
                alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=np.searchsorted(labels, y), cmap=cmap, vmin=-0.5,
               vmax=len(labels) - 0.5, edgecolors="k", linewidths=0.5, s=20)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    return ax


def boundary_animation(model: Any, X: Any, y: Any, path: str | Path, epochs: int = 10,
                       resolution: int = 100, fps: int = 4, **fit_kwargs: Any) -> Path:
    """Train ``model`` with ``glassnet.fit_iter`` and save its decision boundary after every
    epoch as the frames of an animated GIF.

    Parameters
    ----------
    model : glassnet.Sequential
        A classifier with two inputs; it is trained in place.
    X : array-like of shape (n_samples, 2)
    y : array-like of shape (n_samples,)
    path : str or Path
        The GIF to write (matplotlib's ``PillowWriter``).
    epochs : int
        Epochs to train: one frame each, titled with its epoch.
    resolution : int
        Grid points along each axis of every frame.
    fps : int
        Frames per second of the GIF.
    **fit_kwargs
        Passed on to ``glassnet.fit_iter`` (``loss``, ``optimizer``, ``seed``, ...).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from matplotlib.animation import PillowWriter
    from matplotlib.figure import Figure  # a file, not a window: no pyplot figure

    from ..train import fit_iter

    X = _check_2d(X)
    path = Path(path)
    fig = Figure(figsize=(4, 4))
    ax = fig.add_subplot()
    writer = PillowWriter(fps=fps)
    with writer.saving(fig, str(path), dpi=72):
        for state in fit_iter(model, X, y, epochs=epochs, **fit_kwargs):
            ax.clear()
            decision_boundary(state.model, X, y, ax=ax, resolution=resolution)
            ax.set_title(f"epoch {state.epoch}")
            writer.grab_frame()
    return path


def _check_2d(X: Any) -> np.ndarray:
    """``X`` as a float array of shape ``(n_samples, 2)``; a clear error otherwise."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n_samples, 2), got shape {X.shape}")
    if X.shape[1] != 2:
        raise ValueError(f"the decision boundary is drawn for data with 2 features; X has "
                         f"{X.shape[1]} (shape {X.shape}): project it to 2 first, e.g. PCA")
    return X
