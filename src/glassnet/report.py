"""The one-file HTML report of a network: ``report(model_or_estimator, path, X, y)``.

The file stands alone: its figures are PNG images inside it (``data:`` URIs), its style is
inline, and it has no script and no link to anything outside, so any browser opens it, also
offline or as an e-mail attachment. It is written atomically (``glassnet.io.atomic_write``).

Sections, in order: the model summary, the metrics, the learning curves, the confusion matrix
(classification) or predicted-vs-true (regression), the decision boundary (2-D inputs), the
network diagram, the Monitor's per-layer statistics, and ``diagnose``'s findings. A section
that cannot be made (no data, no history, no monitor) is replaced by a one-line note.

matplotlib (and scikit-learn, for the confusion matrix and predicted-vs-true) are imported
only when ``report`` runs, so ``import glassnet`` stays free of them. Figures are drawn on a
``matplotlib.figure.Figure`` of their own with the Agg canvas: pyplot's figures, backend and
state are never touched.
"""

from __future__ import annotations

import base64
import datetime
import io
import os
from html import escape
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ._version import VERSION
from .history import History
from .model import Sequential

__all__ = ["report"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 64em; color: #222;
       padding: 0 1em; }
h1 { border-bottom: 2px solid #0877bd; padding-bottom: .2em; }
h2 { margin-top: 1.6em; color: #0877bd; }
pre { background: #f5f5f5; padding: .8em; overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
th { background: #eef4fa; }
img { max-width: 100%; height: auto; }
p.note { color: #777; font-style: italic; }
p.meta { color: #555; }
"""


class _Subject:
    """What the report is about: the ``model`` (a Sequential), the ``estimator`` (or None),
    the ``loss`` name, and whether the task is ``classification``."""

    def __init__(self, obj: Any, loss: str | None, history: Any, y: Any) -> None:
        if isinstance(obj, Sequential):
            self.model, self.estimator = obj, None
            self.loss = loss or _guess_loss(obj, history, y)
        elif hasattr(obj, "get_params") and hasattr(obj, "_make_optimizer"):
            if not hasattr(obj, "model_"):
                raise ValueError(f"model_or_estimator: the {type(obj).__name__} is not "
                                 f"fitted: call fit first")
            self.model, self.estimator = obj.model_, obj
            self.loss = obj._loss_name
        else:
            raise TypeError(f"model_or_estimator must be a glassnet Sequential or a fitted "
                            f"glassnet MLPClassifier / MLPRegressor, got {type(obj).__name__}")
        self.classification = ("cross_entropy" in self.loss if self.estimator is None
                               else hasattr(obj, "classes_"))


def _guess_loss(model: Sequential, history: Any, y: Any) -> str:
    """A bare model's loss, from the history's metric, else from the targets: integer labels
    are classes (one output: binary), anything else is regression (``mse``)."""
    keys = history.history if isinstance(history, History) else {}
    if "accuracy" in keys or (y is not None and np.issubdtype(np.asarray(y).dtype, np.integer)):
        return "binary_cross_entropy" if model.n_outputs == 1 else "cross_entropy"
    return "mse"


def _check_arguments(path: Any, subject: _Subject, X: Any, y: Any, monitor: Any,
                     history: Any) -> tuple[Path, Any, Any]:
    """Validate at the boundary; returns the path and X, y as arrays (or None)."""
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__}") from None
    folder = path.resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(f"path: the folder {folder} does not exist (for {path})")
    if path.is_dir():
        raise IsADirectoryError(f"path must name a file, {path} is a folder")
    if (X is None) != (y is None):
        raise ValueError("X and y go together: pass both or neither")
    if X is not None:
        if hasattr(X, "toarray"):  # SciPy sparse: the figures need dense rows
            X = X.toarray()
        X = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if X.shape[1] != subject.model.n_inputs:
            raise ValueError(f"X has {X.shape[1]} columns, but the model takes "
                             f"{subject.model.n_inputs} inputs")
        y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}")
        if not len(X):
            raise ValueError("X has no rows")
    if monitor is not None and not all(hasattr(monitor, a) for a in ("epochs", "layers",
                                                                     "records")):
        raise TypeError(f"monitor must be a glassnet.Monitor, got {type(monitor).__name__}")
    if history is not None and not isinstance(history, History) and not hasattr(
            history, "loss_curve_"):
        raise TypeError(f"history must be a glassnet.History (or an estimator with a "
                        f"loss_curve_), got {type(history).__name__}")
    return path, X, y


def _png(draw: Callable[[Any], None], size: tuple[float, float]) -> str:
    """An ``<img>`` of what ``draw(figure)`` draws on a new Agg figure of ``size`` inches."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    try:
        draw(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
    finally:
        fig.clear()  # free the artists now, not when the collector comes by
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _metrics(subject: _Subject, X: Any, y: Any, curves: Any) -> str:
    """The metrics on (X, y) and the history's last values, as a table."""
    from .train import evaluate
    rows = []
    if X is not None:
        if subject.estimator is not None:
            estimator = subject.estimator
            # the loss its fit minimises (without the L2 term), on the targets it encodes
            targets = estimator._encode_targets(y, False, None)
            value = evaluate(subject.model, X, targets, loss=subject.loss)["loss"]
            rows.append(["loss", f"{value:.6g}", "X, y (evaluate on model_)"])
            name = "accuracy" if subject.classification else "R²"
            rows.append([name, f"{estimator.score(X, y):.6g}", "X, y (score)"])
        else:
            for key, value in evaluate(subject.model, X, y, loss=subject.loss).items():
                rows.append([key, f"{value:.6g}", "X, y (evaluate)"])
    if isinstance(curves, History) and len(curves):
        epoch = curves.epochs[-1]
        rows += [[key, f"{values[-1]:.6g}", f"history, epoch {epoch}"]
                 for key, values in curves.history.items()]
    elif curves is not None and getattr(curves, "loss_curve_", None):
        rows.append(["loss", f"{curves.loss_curve_[-1]:.6g}",
                     f"loss_curve_, epoch {len(curves.loss_curve_)}"])
    if not rows:
        return _note("No metrics: pass X and y, or a history.")
    return _table(["metric", "value", "from"], rows)


def _sections(subject: _Subject, X: Any, y: Any, monitor: Any, curves: Any) -> list[tuple]:
    """``(heading, html)`` for each section, in order."""
    from . import plot
    from .diagnose import diagnose
    model, drawn = subject.model, subject.estimator or subject.model
    sections = [("Model", f"<pre>{escape(model.summary())}</pre>"),
                ("Metrics", _metrics(subject, X, y, curves))]

    has_curve = isinstance(curves, History) and len(curves) or (
        curves is not None and getattr(curves, "loss_curve_", None))
    if has_curve:
        body = _png(lambda fig: plot.learning_curves(curves, ax=fig.subplots(1, 2)), (10, 3.6))
    else:
        body = _note("No learning curves: no history was given (pass history=, or an "
                     "estimator fitted by a stochastic solver).")
    sections.append(("Learning curves", body))

    if X is None:
        sections.append(("Predictions", _note("No predictions: X and y were not given.")))
    elif subject.classification:
        body = _png(lambda fig: plot.confusion_matrix(drawn, X, y, ax=fig.subplots()), (5, 4.2))
        sections.append(("Confusion matrix", body))
    elif model.n_outputs == 1:
        body = _png(lambda fig: plot.predicted_vs_true(drawn, X, y, ax=fig.subplots()), (5, 4.2))
        sections.append(("Predicted vs true", body))
    else:
        sections.append(("Predicted vs true", _note(f"Not drawn: the model has "
                                                    f"{model.n_outputs} outputs, not one.")))

    if X is None or X.shape[1] != 2 or not subject.classification:
        why = ("X was not given" if X is None else "X has not 2 columns" if X.shape[1] != 2
               else "the task is regression")
        sections.append(("Decision boundary", _note(f"Not drawn: {why}.")))
    else:
        body = _png(lambda fig: plot.decision_boundary(drawn, X, y, ax=fig.subplots(),
                                                       resolution=150), (5.5, 4.5))
        sections.append(("Decision boundary", body))

    sections.append(("Network", _png(lambda fig: plot.network(model, ax=fig.subplots()),
                                     (8, 4.5))))

    if monitor is None or not monitor.epochs:
        why = "no monitor was given" if monitor is None else "the monitor recorded no epoch"
        sections.append(("Layer statistics", _note(f"Not drawn: {why} (glassnet.Monitor).")))
    else:
        rows = -(-len(monitor.records) // 3)
        body = _png(lambda fig: plot.layer_stats(monitor, fig=fig), (12, 3 * rows))
        sections.append(("Layer statistics", body))

    if X is None:
        sections.append(("Diagnosis", _note("No diagnosis: X and y were not given.")))
    else:
        loss = subject.loss if subject.estimator is None else None
        found = diagnose(subject.estimator or model, X, y, loss=loss)
        sections.append(("Diagnosis", found._repr_html_()
                         + f"<details><summary>Per-layer numbers</summary>"
                           f"<pre>{escape(str(found))}</pre></details>"))
    return sections


def report(model_or_estimator: Any, path: str | os.PathLike, X: Any = None, y: Any = None, *,
           monitor: Any = None, history: Any = None, title: str | None = None,
           loss: str | None = None) -> Path:
    """Write one self-contained HTML file about a network: its summary, metrics, figures and
    diagnosis (see the module docstring for the sections).

    Parameters
    ----------
    model_or_estimator : Sequential or fitted glassnet MLPClassifier / MLPRegressor
    path : str or path-like
        The file to write (``.html``); its folder must exist. An existing file is replaced.
    X : array-like of shape (n_samples, n_inputs), optional
        Data for the metrics, the predictions, the decision boundary (2 columns) and the
        diagnosis; with ``y``.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
        Targets as ``fit`` takes them.
    monitor : glassnet.Monitor, optional
        A monitor that watched training: its per-layer statistics are drawn.
    history : glassnet.History, optional
        The run's history (what ``fit`` returns); default: an estimator's ``history_``.
    title : str, optional
        The page's title; default names the model's class.
    loss : str, optional
        A bare model's loss, for the metrics and the diagnosis; default: guessed, a
        cross-entropy when the history has ``accuracy`` or ``y`` holds ints, else ``mse``.
        An estimator's own loss is always used.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if history is None and not isinstance(model_or_estimator, Sequential):
        history = getattr(model_or_estimator, "history_", None)
        if history is None or not len(history):  # L-BFGS, or an older fit: the curve
            history = model_or_estimator if getattr(model_or_estimator, "loss_curve_",
                                                    None) else None
    subject = _Subject(model_or_estimator, loss, history, y)
    path, X, y = _check_arguments(path, subject, X, y, monitor, history)
    title = title if title is not None else f"glassnet report: {type(model_or_estimator).__name__}"
    with np.errstate(under="ignore"):  # as in training: underflow to 0 is harmless
        sections = _sections(subject, X, y, monitor, history)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(f"<section><h2>{escape(heading)}</h2>{html}</section>"
                   for heading, html in sections)
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=\"meta\">glassnet {escape(VERSION)}, "
            f"{escape(stamp)}; task: "
            f"{'classification' if subject.classification else 'regression'}, loss "
            f"{escape(subject.loss)}</p>{body}</body></html>\n")
    from .io import atomic_write
    atomic_write(path, page.encode("utf-8"))
    return path
