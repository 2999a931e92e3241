"""The network drawn as TensorFlow Playground draws it: units as nodes in columns, one per
layer, and every weight an edge coloured by its sign, as wide as its magnitude."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..layers import Dense
from ..model import Sequential
from ._common import new_axes

__all__ = ["network", "POSITIVE_COLOR", "NEGATIVE_COLOR"]

POSITIVE_COLOR = "#0877bd"  # TensorFlow Playground's blue: w > 0 (and w == 0, drawn 0 wide)
NEGATIVE_COLOR = "#f59322"  # and its orange: w < 0


def network(model: Any, ax: Any = None, max_units: int = 10, max_width: float = 4.0) -> Any:
    """Draw the network: a column of nodes per layer and an edge per weight.

    An edge's colour is its weight's sign (``POSITIVE_COLOR`` blue for ``w >= 0``,
    ``NEGATIVE_COLOR`` orange for ``w < 0``) and its width is proportional to ``|w|``, the
    largest drawn weight being ``max_width`` points wide. A layer wider than ``max_units`` is
    summarised: only its first ``ceil(max_units / 2)`` and last ``floor(max_units / 2)`` units
    are drawn, with a vertical ellipsis between them, and only the edges between drawn units
    are drawn.

    Parameters
    ----------
    model : glassnet.Sequential or fitted MLP estimator
        A ``Sequential``'s ``Dense`` layers; a glassnet estimator's ``model_``; a scikit-learn
        estimator's ``coefs_`` (``coefs_[i]`` of shape ``(n_units_i, n_units_{i+1})``).
    ax : matplotlib Axes, optional
        Where to draw; None makes a new figure.
    max_units : int
        Most nodes drawn per layer (at least 2).
    max_width : float
        Width in points of the edge of the largest ``|w|``.

    Returns
    -------
    matplotlib Axes
        With one ``LineCollection`` per weight matrix, in layer order (its segments: every
        pair of drawn units, input-major), and the nodes as a scatter.
    """
    if not (isinstance(max_units, (int, np.integer)) and max_units >= 2):
        raise ValueError(f"max_units must be an int >= 2, got {max_units!r}")
    weights = _weights(model)
    sizes = [weights[0].shape[0]] + [W.shape[1] for W in weights]
    shown = [_shown_units(n, max_units) for n in sizes]
    heights = [_heights(n, units) for n, units in zip(sizes, shown)]
    ax = new_axes(ax)
    blocks = [W[np.ix_(shown[i], shown[i + 1])] for i, W in enumerate(weights)]
    scale = max(float(np.max(np.abs(w), initial=0.0)) for w in blocks) or 1.0
    for i, w in enumerate(blocks):
        _draw_edges(ax, i, heights[i], heights[i + 1], w, max_width / scale)
    bottom, top = min(h.min() for h in heights) - 1, max(h.max() for h in heights)
    for i, (n, units) in enumerate(zip(sizes, shown)):
        _draw_column(ax, i, n, units, heights[i], len(sizes), bottom)
    ax.set_xlim(-0.4, len(sizes) - 0.6)
    ax.set_ylim(bottom - 0.8, top + 0.6)
    ax.set_axis_off()
    return ax


def _shown_units(n: int, max_units: int) -> np.ndarray:
    """The indices of the units drawn for a layer of ``n``: all, or the first
    ``ceil(max_units / 2)`` and the last ``floor(max_units / 2)``."""
    if n <= max_units:
        return np.arange(n)
    return np.r_[np.arange((max_units + 1) // 2), np.arange(n - max_units // 2, n)]


def _weights(model: Any) -> list[np.ndarray]:
    """The weight matrices ``(n_in, n_out)`` of a Sequential or a fitted estimator."""
    if isinstance(getattr(model, "model_", None), Sequential):
        model = model.model_
    if isinstance(model, Sequential):
        weights = [layer.W for layer in model.layers if isinstance(layer, Dense)]
    elif getattr(model, "coefs_", None) is not None:
        weights = list(model.coefs_)
    else:
        raise ValueError(f"network draws a glassnet Sequential or a fitted MLP estimator "
                         f"(model_ or coefs_), got {type(model).__name__}")
    if not weights:
        raise ValueError("the model has no Dense layer: no weights to draw")
    return [np.asarray(W, dtype=np.float64) for W in weights]


def _heights(n: int, units: np.ndarray) -> np.ndarray:
    """Vertical positions of the drawn units, centred on 0, one apart; a summarised layer
    leaves one slot empty for the ellipsis after its first half."""
    slots = np.arange(len(units), dtype=np.float64)
    if len(units) < n:
        slots[(len(units) + 1) // 2:] += 1
    n_slots = len(units) + (len(units) < n)
    return (n_slots - 1) / 2 - slots


def _draw_edges(ax: Any, i: int, y_in: np.ndarray, y_out: np.ndarray, w: np.ndarray,
                width_per_unit: float) -> None:
    """The edges from column ``i`` to ``i + 1``: one segment per entry of ``w`` (row-major)."""
    from matplotlib.collections import LineCollection
    a, b = np.meshgrid(y_in, y_out, indexing="ij")
    segments = np.stack([np.stack([np.full(a.size, i), a.ravel()], axis=1),
                         np.stack([np.full(b.size, i + 1), b.ravel()], axis=1)], axis=1)
    colors = np.where(w.ravel() < 0, NEGATIVE_COLOR, POSITIVE_COLOR)
    ax.add_collection(LineCollection(segments, colors=list(colors),
                                     linewidths=np.abs(w.ravel()) * width_per_unit,
                                     zorder=1, label=f"weights {i}"))


def _draw_column(ax: Any, i: int, n: int, units: np.ndarray, y: np.ndarray,
                 n_columns: int, bottom: float) -> None:
    """The nodes of column ``i``, its ellipsis if summarised, and its name and width below."""
    ax.scatter(np.full(len(units), i), y, s=160, c="white", edgecolors="k", zorder=2)
    if len(units) < n:
        ax.text(i, y[(len(units) + 1) // 2 - 1] - 1, "⋮", ha="center", va="center",
                fontsize=14, zorder=2)
    name = "input" if i == 0 else "output" if i == n_columns - 1 else f"hidden {i}"
    ax.text(i, bottom, f"{name}\n{n}", ha="center", va="top", fontsize=9)
