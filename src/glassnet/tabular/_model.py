"""A network together with the table it reads: what ``glassnet train`` saves and ``evaluate``
and ``predict`` load."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..numerics import softmax
from ._encoder import TabularEncoder
from ._read import Table, pandas
from ._target import Target

__all__ = ["TabularModel"]


class TabularModel:
    """A ``Sequential`` with its input encoding and its target.

    ``glassnet.save`` writes it to one file (kind ``"tabular"``); ``glassnet.load`` gives it
    back.

    Parameters
    ----------
    model : Sequential
        Takes ``encoder.width`` inputs; gives one score per class (logits) or one
        standardised value.
    encoder : TabularEncoder
    target : Target
    history : History, optional
        The training run's per-epoch numbers.
    """

    def __init__(self, model: Any, encoder: TabularEncoder, target: Target,
                 history: Any = None) -> None:
        self.model, self.encoder, self.target, self.history = model, encoder, target, history

    @property
    def task(self) -> str:
        return self.target.task

    def __repr__(self) -> str:
        what = (f"{len(self.target.classes)} classes" if self.task == "classification"
                else "a number")
        return (f"TabularModel({len(self.encoder.features)} columns -> {self.target.name!r}: "
                f"{what}; {self.model.count_parameters()} parameters)")

    def _table(self, data: Any) -> Table:
        return data if isinstance(data, Table) else Table(data, "the data")

    def inputs(self, data: Any) -> tuple[np.ndarray, dict[str, int]]:
        """The network's input for ``data`` (a DataFrame with the feature columns; other
        columns are ignored), and the unseen categories' counts by column."""
        return self.encoder.transform(self._table(data), self.model.dtype)

    def outputs(self, X: np.ndarray) -> np.ndarray:
        """The network's raw outputs (logits, or standardised values), in float64."""
        return np.asarray(self.model.predict(X), dtype=np.float64)

    def predict(self, data: Any) -> np.ndarray:
        """The predicted class of each row (classification) or its value (regression)."""
        return self.target.decode(self.outputs(self.inputs(data)[0]))

    def predict_proba(self, data: Any) -> np.ndarray:
        """Each row's probability of each class, ``target.classes`` in order."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classification; this model predicts "
                             f"{self.target.name!r}, a number")
        return softmax(self.outputs(self.inputs(data)[0]), axis=1)

    def prediction_frame(self, outputs: np.ndarray) -> Any:
        """A DataFrame of predictions: the target's column (the class or the value), then for
        classification one ``proba_<class>`` column a class."""
        pd = pandas()
        columns = {self.target.name: self.target.decode(outputs)}
        if self.task == "classification":
            proba = softmax(outputs, axis=1)
            for j, label in enumerate(self.target.classes):
                columns[f"proba_{label}"] = proba[:, j]
        return pd.DataFrame(columns)
