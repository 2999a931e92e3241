"""The two kinds of run ``glassnet.dask.fit`` makes: ``train._Run`` with each epoch's batches
computed on the workers. ``_DaskRun`` holds all the rows on the workers (the batches are
``glassnet.fit``'s); ``_StreamRun`` holds a window of chunks at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..history import TrainState
from ..train import _Run
from ._cluster import Cluster

__all__ = ["_DaskRun", "_StreamRun"]


@dataclass(frozen=True)
class _DaskRun(_Run):
    """A run whose training rows are on the workers (``cluster``); ``rows`` maps the
    training rows to the data's rows (None: all of them, in order)."""

    cluster: Any = None
    rows: np.ndarray | None = None

    def _global(self, local: np.ndarray) -> np.ndarray:
        return local if self.rows is None else self.rows[local]

    def totals(self, classify: bool) -> tuple[float, Any]:
        rows = self._global(np.arange(self.X.shape[0]))
        sums = self.cluster.on_rows(rows, "target_sums")
        total = sum(s[0] for s in sums)
        if classify:
            return total, None
        mean = sum(s[1] for s in sums) / total
        return total, sum(self.cluster.on_rows(rows, "centred_squares", mean))

    def scratch(self) -> None:
        return None  # the batches are gathered on the workers

    def one_epoch(self, state: TrainState, order: np.ndarray | None, scratch: Any,
                  hooks: list) -> tuple[float, Any]:
        """``train._one_epoch`` with each batch's objective and gradient from the workers."""
        n = self.X.shape[0]
        running_loss, right = 0.0, None
        for state.batch, start in enumerate(range(0, n, self.batch_size), start=1):
            stop = min(start + self.batch_size, n)
            local = np.arange(start, stop) if order is None else order[start:stop]
            weighted_loss, metric = _batch(state, self, self.cluster, self._global(local),
                                           hooks)
            running_loss += weighted_loss
            right = metric if right is None else right + metric
        return running_loss, right


def _batch(state: TrainState, run: _Run, cluster: Cluster, rows: np.ndarray, hooks: list
           ) -> tuple[float, Any]:
    """One step on the data's ``rows``, as ``train._one_epoch`` takes it, with the objective
    and gradient from the workers: ``J = sum S / sum W_R + l2/2 ||W||^2`` and
    ``dJ/dtheta = sum G / sum W_R + l2 W``. Returns the batch's ``J`` times its weight, and
    its metric (rows right, or ``SS_res``)."""
    model = state.model
    value, grad, weight, metric = cluster.gradient(model.flat_params, rows)
    state.samples_seen += len(rows)
    if weight == 0:  # no row here carries weight: nothing to learn, no step
        return 0.0, metric
    np.divide(grad, weight, out=model.flat_grads, casting="unsafe")
    state.batch_loss = value / weight
    l2 = run.l2_of(weight)
    if l2:
        state.batch_loss += model.add_l2(l2)
    for hook in hooks:  # on_batch_end; the divergence guard raises on NaN
        hook(state)
    try:
        run.kernel.update(model)
    except FloatingPointError:  # an overflowing update: the guard's, as in fit
        state.batch_loss = float("nan")
        for hook in hooks:
            hook(state)
    return state.batch_loss * weight, metric


@dataclass(frozen=True)
class _StreamRun(_Run):
    """A run over data that no memory holds whole: each epoch takes the chunks in a shuffled
    order, ``stream`` chunks a worker at a time (a window), and shuffles the window's rows
    across its chunks; the workers hold one window."""

    client: Any = None
    data: tuple = ()  # the dask arrays X, y, w (w may be None)
    window: int = 1  # chunks a window: stream times the workers when the run began, so
    timeout: float = 300.0  # that a worker lost and replaced changes no batch
    profile: dict = field(default_factory=dict)  # the windows' exchanges, added up

    def totals(self, classify: bool) -> tuple[float, Any]:
        import dask
        X, y, w = self.data
        n = X.shape[0]
        if classify:
            return (float(n) if w is None else float(w.sum().compute())), None
        y = y.astype(np.float64).reshape((n, -1))
        w = None if w is None else w.astype(np.float64)
        total = float(n) if w is None else float(w.sum().compute())
        mean = (y.sum(axis=0) if w is None else w @ y) / total
        mean = np.asarray(dask.compute(mean)[0])
        squares = (y - mean) ** 2
        return total, np.asarray((squares.sum(axis=0) if w is None else w @ squares).compute())

    def scratch(self) -> None:
        return None

    def one_epoch(self, state: TrainState, order: Any, scratch: Any,
                  hooks: list) -> tuple[float, Any]:
        import dask.array as da
        X, y, w = self.data
        n_chunks = len(X.chunks[0])
        chunks = np.arange(n_chunks)
        if self.shuffle:
            self.rng.shuffle(chunks)
        per_window = self.window
        running_loss, right, state.batch = 0.0, None, 0
        for at in range(0, n_chunks, per_window):
            window = chunks[at:at + per_window]
            parts = [None if a is None else da.concatenate([a.blocks[int(i)] for i in window])
                     for a in self.data]
            cluster = Cluster(self.client, state.model, state.loss, *parts, self.timeout)
            try:
                rows = self.rng.permutation(cluster.n) if self.shuffle else np.arange(cluster.n)
                for start in range(0, cluster.n, self.batch_size):
                    state.batch += 1
                    weighted_loss, metric = _batch(
                        state, self, cluster, rows[start:start + self.batch_size], hooks)
                    running_loss += weighted_loss
                    right = metric if right is None else right + metric
            finally:
                for key, value in cluster.profile.items():
                    self.profile[key] = self.profile.get(key, 0) + value
                self.profile["workers"] = max(self.profile.get("workers", 0),
                                              len(cluster.workers))
                cluster.close()
        return running_loss, right
