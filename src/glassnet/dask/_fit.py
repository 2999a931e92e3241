"""``glassnet.dask.fit``: ``glassnet.fit`` with the rows on Dask's workers.

The client runs ``glassnet.fit``'s own loop (``train._train``: the seed's shuffle, the
validation split, the callbacks, the schedule, the history, the progress bar); only the
batch's loss and gradient come from the workers (``Cluster.gradient``). With the same seed
the run visits the same global batches as ``glassnet.fit`` on the same data in memory, so it
ends on the same weights, to rounding, whatever the number of workers and the chunking.
"""

from __future__ import annotations

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
from ._runs import _DaskRun, _StreamRun

__all__ = ["fit"]


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

