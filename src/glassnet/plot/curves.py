"""Curves over epochs: the learning curves of a run, and a ``Monitor``'s per-layer
statistics."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..history import History

__all__ = ["learning_curves", "layer_stats"]

NOT_METRICS = ("loss", "val_loss", "lr")  # keys of a History drawn elsewhere, or not at all
LOG_STATS = ("weight_norm", "grad_norm", "update_ratio")  # spread over decades: log scale
FRACTION_STATS = ("dead_fraction", "saturated_fraction")  # between 0 and 1


def learning_curves(history_or_estimator: Any, ax: Any = None) -> np.ndarray:
    """Draw the loss and the metric of a training run over its epochs, on two panels.

    Parameters
    ----------
    history_or_estimator : glassnet.History or fitted estimator
        A ``History`` (what ``glassnet.fit`` returns, or a glassnet estimator's ``history_``):
        the left panel has ``loss`` and ``val_loss``, the right one every other number it
        records (``accuracy`` or ``r2``, and their ``val_`` twins), one line each; the
        learning rate ``lr`` is not drawn. A fitted glassnet or scikit-learn MLP estimator:
        its ``loss_curve_`` on the left, its ``validation_scores_`` (with early stopping) on
        the right; estimators trained with L-BFGS record no curve.
    ax : None or a pair of matplotlib Axes
        Where to draw the loss and the metric panels; None makes a new figure with both.

    Returns
    -------
    numpy.ndarray of 2 Axes
        The loss panel and the metric panel (which says so when nothing was recorded).
    """
    epochs, loss_curves, metric_curves = _curves(history_or_estimator)
    axes = _two_axes(ax)
    for ax_, curves, ylabel in ((axes[0], loss_curves, "loss"),
                                (axes[1], metric_curves, "metric")):
        for label, values in curves.items():
            style = "--" if label.startswith("val") else "-"  # validation: dashed
            ax_.plot(epochs, values, style, label=label)
        _epoch_axis(ax_)
        ax_.set_ylabel(ylabel)
        if curves:
            ax_.legend()
        else:
            ax_.text(0.5, 0.5, "no metric recorded", ha="center", va="center",
                     transform=ax_.transAxes)
    return axes


def _curves(source: Any) -> tuple[list[int], dict, dict]:
    """The epochs, the loss curves and the metric curves (label -> list) of ``source``."""
    if isinstance(source, History):
        if not len(source):
            raise ValueError("the History is empty: no epoch has ended")
        loss = {key: source[key] for key in ("loss", "val_loss") if key in source.history}
        metrics = {key: values for key, values in source.history.items()
                   if key not in NOT_METRICS}
        return list(source.epochs), loss, metrics
    curve = getattr(source, "loss_curve_", None)
    if curve is None:
        raise ValueError(f"{type(source).__name__} has no loss curve: pass a glassnet History "
                         f"or an estimator fitted by a stochastic solver (loss_curve_)")
    scores = getattr(source, "validation_scores_", None)
    metrics = {} if scores is None else {"validation score": list(scores)}
    return list(range(1, len(curve) + 1)), {"loss": list(curve)}, metrics


def _two_axes(ax: Any) -> np.ndarray:
    """The two Axes of ``learning_curves``: the pair given, or a new figure's."""
    if ax is None:
        import matplotlib.pyplot as plt
        return plt.subplots(1, 2, figsize=(10, 4))[1]
    axes = np.asarray(ax, dtype=object).ravel()
    if axes.size != 2:
        raise ValueError(f"learning_curves draws two panels: ax must be None or two Axes, "
                         f"got {axes.size}")
    return axes


def layer_stats(monitor: Any, stats: Sequence[str] | None = None, fig: Any = None) -> Any:
    """Draw a ``glassnet.Monitor``'s per-layer statistics over epochs: one panel per
    statistic, one line per layer.

    Parameters
    ----------
    monitor : glassnet.Monitor
        Read through ``monitor.epochs`` (``n_epochs`` ints), ``monitor.layers`` (``n_layers``
        names) and ``monitor.records`` (statistic name -> array ``(n_epochs, n_layers)``).
    stats : sequence of str, optional
        The statistics to draw, in order, e.g. ``["grad_norm", "update_ratio"]``; default:
        all that the monitor records. Norms and the update ratio are drawn on a log scale
        (when all positive), the dead and saturated fractions between 0 and 1.
    fig : matplotlib Figure, optional
        A figure to add the panels to; None makes a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; its Axes, one per statistic, are ``fig.axes``.
    """
    records = monitor.records
    stats = list(records) if stats is None else list(stats)
    unknown = [name for name in stats if name not in records]
    if unknown or not stats:
        raise ValueError(f"stats must name statistics the monitor records, "
                         f"{sorted(records)}; got {stats}")
    if fig is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(4 * min(len(stats), 3), 3 * -(-len(stats) // 3)))
    rows, cols = -(-len(stats) // 3), min(len(stats), 3)  # three panels a row
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, stats):
        _draw_stat(ax, monitor, name)
    for ax in axes[len(stats):]:
        ax.remove()  # the grid's empty cells
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def _draw_stat(ax: Any, monitor: Any, name: str) -> None:
    """One panel: statistic ``name`` over the epochs, a line per layer."""
    values = np.asarray(monitor.records[name], dtype=np.float64)
    for j, layer in enumerate(monitor.layers):
        ax.plot(monitor.epochs, values[:, j], label=layer)
    finite = values[np.isfinite(values)]  # NaN: undefined (e.g. dead units of tanh)
    if not finite.size:
        ax.text(0.5, 0.5, "not defined for these layers", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_xlim(min(monitor.epochs, default=0) - 0.5, max(monitor.epochs, default=0) + 0.5)
    elif name in LOG_STATS and finite.min() > 0:
        ax.set_yscale("log")
    if name in FRACTION_STATS:
        ax.set_ylim(-0.02, 1.02)
    ax.set_title(name.replace("_", " "))
    _epoch_axis(ax)


def _epoch_axis(ax: Any) -> None:
    """Label the x axis as epochs, ticked at whole numbers."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
