"""What one worker holds: its rows of the data, and a replica of the network to compute their
gradient. It lives on the worker as a Dask actor, so each step is one direct call from the
client to the worker (no task through the scheduler).

For the rows ``R`` of the global batch that the worker holds, with weights ``w_i`` (1 without
sample weights), it computes with the client's current parameters::

    S   = sum_{i in R} w_i l(z_i, y_i)              # the loss, summed
    G   = sum_{i in R} w_i dl(z_i, y_i)/dtheta      # its gradient (one backward pass)
    W_R = sum_{i in R} w_i                          # the rows' weight
    m   = the rows right (classification), or SS_res per output (regression)

The client adds the workers' ``S``, ``G``, ``W_R`` and ``m``: the batch's mean loss is
``sum S / sum W_R`` and its gradient ``sum G / sum W_R``, the numbers ``glassnet.fit`` computes
on the same rows in one process (the sums in another order: equal to rounding).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..losses import BinaryCrossEntropy, CrossEntropy
from ..metrics import n_correct, residual_squares
from ..step import prepare_data

__all__ = ["Shard"]


class Shard:
    """A worker's rows (its chunks of X, y and the weights, joined) and a network replica.

    Parameters
    ----------
    model : Sequential
        A copy of the client's network (its parameters are replaced at every call).
    loss : Loss
    parts : list of [start, X_chunk, y_chunk, w_chunk or None]
        The worker's chunks, in the order the client numbers them, each with the number of
        its first row. Each is checked and converted as ``glassnet.fit`` checks its data
        (``step.prepare_data``), here, where it lives; an error names the chunk's rows.
    """

    def __init__(self, model: Any, loss: Any, parts: list) -> None:
        self.model, self.loss = model, loss
        prepared = []
        for start, x, y, w in parts:
            try:
                prepared.append(prepare_data(model, loss, np.asarray(x), np.asarray(y),
                                             None if w is None else np.asarray(w)))
            except ValueError as exc:
                raise ValueError(f"the chunk of rows {start} to {start + len(x) - 1}: "
                                 f"{exc}") from None
        self.X, self.y, self.w = (None if prepared[0][i] is None else
                                  np.concatenate([p[i] for p in prepared])
                                  for i in range(3))
        self.classify = isinstance(loss, (CrossEntropy, BinaryCrossEntropy))

    def nbytes(self) -> int:
        """The bytes of the rows it holds."""
        return self.X.nbytes + self.y.nbytes + (0 if self.w is None else self.w.nbytes)

    def gradient(self, params: np.ndarray, rows: np.ndarray) -> tuple:
        """``(S, G, W_R, m, seconds)`` for its ``rows`` (local indices), with ``params``."""
        start = time.perf_counter()
        model = self.model
        model.flat_params[...] = params
        x, y = self.X[rows], self.y[rows]
        w = None if self.w is None else self.w[rows]
        with np.errstate(under="ignore"):
            z = model._forward(x, training=True)
            if w is None:
                losses, dz = self.loss.forward_backward(z, y, 1.0)
                weight = float(len(rows))
                value = float(np.add.reduce(losses, dtype=np.float64))
            else:
                losses, dz = self.loss.forward_backward(z, y, w.astype(z.dtype))
                weight = float(np.sum(w))
                value = float(np.dot(w, losses))
            metric = (n_correct(self.loss, z, y, w) if self.classify
                      else residual_squares(self.loss.output(z), y, w))
            model._backward(dz)
        return value, model.flat_grads.copy(), weight, metric, time.perf_counter() - start

    def rows(self, rows: np.ndarray, which: str) -> np.ndarray:
        """Its ``rows`` of ``which``: 'X', 'y' or 'w'."""
        return getattr(self, which)[rows]

    def target_sums(self, rows: np.ndarray) -> tuple[float, np.ndarray]:
        """``(sum w, sum w y)`` per output over its ``rows``: the first pass of ``SS_tot``."""
        y = self.y[rows].astype(np.float64)
        w = np.ones(len(y)) if self.w is None else self.w[rows].astype(np.float64)
        return float(np.sum(w)), w @ y

    def centred_squares(self, rows: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """``sum w (y - mean)^2`` per output over its ``rows``: the second pass of ``SS_tot``
        (two passes, as ``glassnet.metrics.total_squares``: no cancellation)."""
        w = None if self.w is None else self.w[rows]
        return residual_squares(mean, self.y[rows], w)
