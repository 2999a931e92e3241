"""``glassnet.dask.fit``: ``glassnet.fit`` with the rows on Dask's workers.

The client runs ``glassnet.fit``'s own loop (``train._train``: the seed's shuffle, the
validation split, the callbacks, the schedule, the history, the progress bar); only the
batch's loss and gradient come from the workers (``Cluster.gradient``). With the same seed
the run visits the same global batches as ``glassnet.fit`` on the same data in memory, so it
ends on the same weights, to rounding, whatever the number of workers and the chunking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import as_rng, check_nonnegative, check_number, check_probability
from ..data import _class_labels, _class_weights, split_rows
from ..history import History, TrainState
from ..losses import get_loss
from ..optim import LBFGS, get_optimizer
from ..step import SeparateStep, prepare_data
from ..train import _Run, _train, _with_builtin_callbacks
from ._cluster import Cluster, LazyRows, RemoteRows

__all__ = ["fit"]


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


def _as_dask_array(data: Any, what: str, chunks: Any = None) -> Any:
    """A dask array from a dask array, DataFrame or Series, or an in-memory array (chunked
    as ``chunks``)."""
    import dask.array as da
    if data is None:
        return None
    if hasattr(data, "to_dask_array"):  # a Dask DataFrame or Series: its partitions' lengths
        data = data.to_dask_array()   # are counted once (a pass over the data)
    if isinstance(data, da.Array):
        if any(np.isnan(c) for c in data.chunks[0]):
            data = data.compute_chunk_sizes()
        return data
    array = np.asarray(data)
    return da.from_array(array, chunks=chunks if chunks is not None else "auto")


def _arrays(X: Any, y: Any, w: Any) -> tuple:
    """``X``, ``y`` and ``w`` as dask arrays with the same row chunks, ``X`` whole across its
    columns."""
    X = _as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D")
    X = X.rechunk({1: -1})
    rows = (X.chunks[0],)
    y = _as_dask_array(y, "y", rows + tuple((s,) for s in np.shape(y)[1:]))
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    y = y.rechunk(rows + tuple((s,) for s in y.shape[1:]))
    if w is not None:
        w = _as_dask_array(w, "sample_weight", rows).rechunk(rows)
        if w.shape != (X.shape[0],):
            raise ValueError(f"sample_weight must have shape ({X.shape[0]},), got {w.shape}")
    return X, y, w


def fit(model: Any, X: Any, y: Any, client: Any = None, *, loss: Any = "cross_entropy",
        optimizer: Any = "adam", epochs: int = 10, batch_size: int | None = 32,
        shuffle: bool = True, seed: Any = None, validation_data: tuple | None = None,
        validation_fraction: float = 0.0, sample_weight: Any = None, class_weight: Any = None,
        l2: float = 0.0, l2_per_sample: bool = False, schedule: Any = None,
        callbacks: Any = (), progress: bool = False, timeout: float = 300.0,
        stream: int | None = None, profile: dict | None = None) -> History:
    """Train ``model`` with its data on a Dask cluster: ``glassnet.fit``, data-parallel.

    ``X`` and ``y`` (and ``sample_weight``) stay on the workers in their chunks. At every
    step each worker holding rows of the global mini-batch computes the summed loss and
    gradient of those rows with the current weights; the client adds them, divides by the
    batch's weight, adds the L2 term and takes the optimizer's step. The batches are those
    ``glassnet.fit`` takes with the same ``seed``, so the run ends on the weights
    ``glassnet.fit`` reaches on the same data in memory (to rounding: float64 agrees to
    about 1e-12), with any number of workers and any chunking. Dropout is the exception:
    each worker draws its own masks.

    Parameters
    ----------
    model : Sequential
    X : dask array or Dask DataFrame, shape (n_samples, n_inputs)
        Also an in-memory array (sent to the workers in chunks).
    y : dask array, Series or DataFrame, or array, shape (n_samples,) or (n_samples, n_out)
    client : distributed.Client, optional
        Default: the current client (``distributed.get_client()``).
    loss, optimizer, epochs, batch_size, shuffle, seed, validation_fraction, sample_weight,
    class_weight, l2, l2_per_sample, schedule, callbacks, progress
        As ``glassnet.fit``. ``validation_data`` (arrays or Dask collections) and the rows
        ``validation_fraction`` holds out are brought to the client, which measures them
        after each epoch; ``class_weight`` and a stratified ``validation_fraction`` read the
        labels on the client. L-BFGS is not offered (use a stochastic optimizer).
    timeout : float
        Seconds a step may wait for a worker. A worker that leaves during training (or does
        not answer in time) has its rows placed again on the workers there are, recomputed
        by Dask from the collection's graph, and the step is taken again: the run ends on
        the weights it would have reached without the loss (``profile["recovered"]`` counts
        these). If that fails twice over, ``WorkerLostError``: the model keeps the weights
        of the last completed step.
    stream : int, optional
        Stream data that the workers cannot hold together: each epoch takes the chunks in
        a shuffled order, ``stream`` chunks a worker at a time, and shuffles those rows
        across their chunks, so a worker holds about ``stream`` chunks (twice that while a
        window loads). The batches are then not ``glassnet.fit``'s, and a window's last
        batch may be short; ``validation_fraction`` is refused (pass ``validation_data``).
    profile : dict, optional
        Filled with the run's ``steps``, ``step_s`` (time of the steps' gradient exchanges,
        total), ``compute_s`` (the slowest worker's compute time, summed over the steps),
        ``bytes_sent`` and ``bytes_received`` (parameters out, gradients in), ``recovered``
        and ``workers``.

    Returns
    -------
    History
    """
    from distributed import get_client
    if client is None:
        try:
            client = get_client()
        except ValueError:
            raise ValueError("glassnet.dask.fit needs a Dask client: pass client=, or create "
                             "one first (distributed.Client(...))") from None
    loss = get_loss(loss)
    optimizer = get_optimizer(optimizer)
    if isinstance(optimizer, LBFGS):
        raise ValueError("glassnet.dask.fit takes the stochastic optimizers; L-BFGS is "
                         "full-batch: use glassnet.fit on data in memory")
    epochs = check_number(epochs, "epochs", integer=True, ge=1)
    l2 = check_nonnegative(l2, "l2")
    validation_fraction = check_probability(validation_fraction, "validation_fraction")
    labels = None
    if class_weight is not None or (validation_fraction > 0 and validation_data is None):
        labels = _labels(model, loss, y)
    if class_weight is not None:
        cw = _class_weights(class_weight, labels)
        sample_weight = cw if sample_weight is None else _times(sample_weight, cw)
    X, y, w = _arrays(X, y, sample_weight)
    rng = as_rng(seed)
    if getattr(optimizer, "t", 0):  # stepped (or loaded) state of another model: refused now
        optimizer.check_params([model.flat_params])
    if validation_data is not None:
        validation_data = prepare_data(model, loss, *(None if a is None else
                                                      np.asarray(_computed(a))
                                                      for a in validation_data))
    callbacks = _with_builtin_callbacks(callbacks, schedule, progress, epochs)
    common = dict(callbacks=callbacks, epochs=epochs, l2=l2, l2_per_sample=l2_per_sample,
                  shuffle=shuffle, rng=rng, kernel=SeparateStep(optimizer))
    if stream is not None:
        stream = check_number(stream, "stream", integer=True, ge=1)
        if validation_fraction > 0:
            raise ValueError("streaming holds no row out: pass validation_data instead of "
                             "validation_fraction")
        token = _token(X)
        run = _StreamRun(X=LazyRows(X, token), y=LazyRows(y, token),
                         sample_weight=None if w is None else LazyRows(w, token),
                         val=validation_data, order=None,
                         batch_size=_batch_size(batch_size, X.shape[0]), client=client,
                         data=(X, y, w), timeout=timeout,
                         window=stream * max(1, len(client.scheduler_info()["workers"])),
                         **common)
        return _run(model, optimizer, loss, run, profile, run.profile)
    cluster = Cluster(client, model, loss, X, y, w, timeout)
    try:
        rows, val = None, validation_data
        if val is None and validation_fraction > 0:
            rows, held = split_rows(cluster.n, validation_fraction,
                                    _class_labels(loss, labels), rng)
            val = (cluster.fetch(held, "X"), cluster.fetch(held, "y"),
                   None if w is None else cluster.fetch(held, "w"))
        n = cluster.n if rows is None else len(rows)
        token = _token(X)
        remote = {which: RemoteRows(cluster, which, rows, (n, *shape), token)
                  for which, shape in (("X", X.shape[1:]), ("y", y.shape[1:]), ("w", ()))}
        run = _DaskRun(X=remote["X"], y=remote["y"],
                       sample_weight=None if w is None else remote["w"], val=val,
                       order=np.arange(n) if shuffle else None,
                       batch_size=_batch_size(batch_size, n), cluster=cluster, rows=rows,
                       **common)
        profile_of_run = cluster.profile
        return _run(model, optimizer, loss, run, profile, profile_of_run,
                    workers=len(cluster.workers))
    finally:
        cluster.close()


def _batch_size(batch_size: int | None, n: int) -> int:
    if batch_size is None:
        return n
    return min(check_number(batch_size, "batch_size", integer=True, ge=1), n)


def _run(model: Any, optimizer: Any, loss: Any, run: _Run, profile: dict | None,
         measured: dict, **extra: Any) -> History:
    """``train._train`` over ``run``; ``profile`` filled from ``measured`` at the end."""
    state = TrainState(model, optimizer, loss, History(), validation=run.val is not None)
    state.run = run
    try:
        for _ in _train(state, run):
            pass
    finally:
        if profile is not None:
            profile.update(measured, **extra)
    return state.history


def _computed(data: Any) -> Any:
    return data.compute() if hasattr(data, "compute") else data


def _labels(model: Any, loss: Any, y: Any) -> np.ndarray:
    """The targets on the client, prepared as ``fit`` prepares them (for the class weights
    and the stratified split)."""
    y = np.asarray(_computed(y))
    return loss.prepare_targets(y, model.n_outputs, model.dtype)


def _times(sample_weight: Any, factors: np.ndarray) -> Any:
    return _computed(sample_weight) * factors


def _token(X: Any) -> str:
    from dask.base import tokenize
    return tokenize(X)

