"""The data on the workers: each chunk stays on a worker that holds it, joined there into one
``Shard`` actor a worker; the client keeps only where each chunk starts and which worker
has it.

A step sends the parameters to each worker that holds rows of the batch, with the local
numbers of those rows, and receives one gradient from each: the parameters and the gradients
cross the network once each (``profile`` counts the bytes).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from ._shard import Shard

__all__ = ["Cluster", "RemoteRows", "WorkerLostError"]


class WorkerLostError(RuntimeError):
    """A worker that held rows of the data left the cluster during training, or stopped
    answering, and placing its rows again did not help. The model holds the weights of the
    last step that completed; ``BackupAndRestore`` resumes a run."""


class Cluster:
    """The rows of ``X``, ``y`` (and ``w``) placed on ``client``'s workers, one ``Shard`` each.

    Parameters
    ----------
    client : distributed.Client
    model, loss
        The network (copied to each worker) and its loss.
    X, y, w : dask arrays
        The same row chunks; ``w`` may be None.
    timeout : float
        Seconds a step may wait for a worker before it counts as lost.
    retries : int
        How many times a lost worker's rows are placed again on the workers left (Dask
        recomputes them from the collection's graph) and the step retried; past that, the
        ``WorkerLostError``. A retried step computes the same sums, so the run ends as it
        would have without the loss.
    """

    def __init__(self, client: Any, model: Any, loss: Any, X: Any, y: Any, w: Any,
                 timeout: float, retries: int = 2) -> None:
        self.client, self.timeout, self.retries = client, timeout, retries
        self._source = (model.copy(), loss, X, y, w)
        self._futures: list = []
        self.profile = {"steps": 0, "step_s": 0.0, "compute_s": 0.0, "bytes_sent": 0,
                        "bytes_received": 0, "recovered": 0}
        self._place()

    def _place(self) -> None:
        """Persist the data, and build one Shard a worker from the chunks it holds."""
        from distributed import futures_of, wait
        client, timeout = self.client, self.timeout
        model, loss, X, y, w = self._source
        self.close()
        client.wait_for_workers(1, timeout=timeout)
        arrays = [a for a in (X, y, w) if a is not None]
        persisted = client.persist(arrays)
        with client.as_current():  # wait() asks for the current client: this one
            wait(persisted, timeout=timeout)
        chunks = []  # per array, its row chunks' futures in order
        for array in persisted:
            by_key = {f.key: f for f in futures_of(array)}
            chunks.append([by_key[key] for key in _row_keys(array)])
        holders = client.who_has(chunks[0])
        sizes = np.array(X.chunks[0], dtype=np.intp)
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.n = int(sizes.sum())
        self.workers: list[str] = []
        self.chunk_worker = np.empty(len(sizes), dtype=np.intp)
        self.chunk_offset = np.empty(len(sizes), dtype=np.intp)
        parts: dict[str, list] = {}  # worker -> [start row, X, y, w] of each of its chunks
        held: dict[str, int] = {}  # worker -> rows placed on it so far
        for c, future in enumerate(chunks[0]):
            addresses = holders.get(future.key) or sorted(client.scheduler_info()["workers"])
            address = sorted(addresses)[0]
            if address not in parts:
                parts[address], held[address] = [], 0
                self.workers.append(address)
            self.chunk_worker[c] = self.workers.index(address)
            self.chunk_offset[c] = held[address]
            held[address] += int(sizes[c])
            parts[address].append([int(self.starts[c]), *(group[c] for group in chunks),
                                   *([None] if w is None else [])])
        try:
            self._futures = [client.submit(Shard, model.copy(), loss, parts[address],
                                           actor=True, workers=[address],
                                           allow_other_workers=False)
                             for address in self.workers]
            with client.as_current():  # each actor's handle binds to the current client
                self.shards = self._results([(k, f) for k, f in enumerate(self._futures)])
        finally:
            del persisted, chunks, parts  # the shards hold the rows now: Dask's copies go

    def close(self) -> None:
        """Let the shards go: the workers free their rows."""
        self.shards = []
        if self._futures:
            try:
                self.client.cancel(self._futures)
            except Exception:  # a worker already gone: nothing of it to free
                pass
        self._futures = []

    def locate(self, rows: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(worker, positions in rows, local rows)`` for each worker holding some of
        ``rows`` (global row numbers)."""
        c = np.searchsorted(self.starts, rows, side="right") - 1
        local = rows - self.starts[c] + self.chunk_offset[c]
        owner = self.chunk_worker[c]
        return [(k, where, local[where])
                for k in np.unique(owner) for where in [np.flatnonzero(owner == k)]]

    def _results(self, calls: list[tuple[int, Any]]) -> list:
        """The calls' results, in order. A call still unanswered after ``timeout`` seconds, or
        one whose worker has left, is a ``WorkerLostError`` naming the worker: the deadline is
        kept here, by polling, since a call to a worker that was replaced can wait forever."""
        deadline = time.monotonic() + self.timeout
        out = []
        for k, call in calls:
            pause = 1e-5
            while not call.done():
                if time.monotonic() > deadline:
                    raise WorkerLostError(
                        f"the Dask worker {self.workers[k]} has not answered for "
                        f"{self.timeout:g} s (timeout=): it has left, or hangs")
                time.sleep(pause)
                pause = min(2 * pause, 5e-4)  # at most half a millisecond late
            try:
                out.append(call.result())
            except Exception as exc:
                if self.workers[k] not in self.client.scheduler_info()["workers"] or \
                        isinstance(exc, (OSError, KeyError)):
                    raise WorkerLostError(
                        f"the Dask worker {self.workers[k]} left the cluster during training "
                        f"(it held rows of the data): {type(exc).__name__}: {exc}") from None
                raise
        return out

    def _exchange(self, calls: Callable[[], list]) -> list:
        """``_results`` of ``calls()``; a lost worker's rows placed again and the calls made
        again, up to ``retries`` times."""
        for attempt in range(self.retries + 1):
            try:
                return self._results(calls())
            except WorkerLostError:
                if attempt == self.retries:
                    raise
                self.profile["recovered"] += 1
                self._place()
        raise AssertionError("unreachable")

    def gradient(self, params: np.ndarray, rows: np.ndarray) -> tuple:
        """``(sum S, sum G, sum W_R, sum m)`` over the workers (see ``Shard``) for ``rows``."""
        start = time.perf_counter()
        placed: list = []

        def calls() -> list:
            placed[:] = self.locate(rows)
            return [(k, self.shards[k].gradient(params, local)) for k, _, local in placed]
        results = self._exchange(calls)
        value, grad, weight, metric = 0.0, None, 0.0, None
        for v, g, w, m, _ in results:
            value, weight = value + v, weight + w
            if grad is None:
                grad = np.array(g)  # writable: what arrives may be a read-only buffer
            else:
                grad += g
            metric = m if metric is None else metric + m
        profile = self.profile
        profile["steps"] += 1
        profile["step_s"] += time.perf_counter() - start
        profile["compute_s"] += max(r[4] for r in results)
        profile["bytes_sent"] += len(placed) * params.nbytes
        profile["bytes_received"] += len(placed) * grad.nbytes
        return value, grad, weight, metric

    def fetch(self, rows: np.ndarray, which: str) -> np.ndarray:
        """``which`` ('X', 'y' or 'w') at the global ``rows``, in their order."""
        placed: list = []

        def calls() -> list:
            placed[:] = self.locate(np.asarray(rows, dtype=np.intp))
            return [(k, self.shards[k].rows(local, which)) for k, _, local in placed]
        parts = self._exchange(calls)
        out = None
        for (_, where, _), part in zip(placed, parts):
            if out is None:
                out = np.empty((len(rows), *part.shape[1:]), dtype=part.dtype)
            out[where] = part
        return out

    def on_rows(self, rows: np.ndarray, method: str, *args: Any) -> list:
        """``method(local rows, *args)`` on each shard holding some of the global ``rows``."""
        return self._exchange(lambda: [(k, getattr(self.shards[k], method)(local, *args))
                                       for k, _, local in self.locate(rows)])


def _row_keys(array: Any) -> list:
    """The keys of a dask array's chunks along its rows (one chunk across the columns)."""
    keys = array.__dask_keys__()
    return [k[0] if isinstance(k, list) else k for k in keys]


class LazyRows:
    """Rows of a Dask collection that is not held anywhere (streaming), seen as an array:
    ``[rows]`` computes those rows."""

    def __init__(self, array: Any, token: str) -> None:
        self.array, self.token = array, token
        self.shape, self.ndim = array.shape, array.ndim

    def __getitem__(self, rows: Any) -> np.ndarray:
        index = np.arange(self.shape[0])[rows]
        order = np.argsort(index, kind="stable")
        out = np.empty((len(index), *self.shape[1:]), dtype=self.array.dtype)
        out[order] = self.array[index[order]].compute()
        return out

    def digest(self) -> str:
        return f"dask {self.token} {self.shape}"


class RemoteRows:
    """Rows held by the workers, seen as an array: its ``shape``, and ``[rows]`` fetches those
    rows (what a callback such as ``glassnet.Monitor`` takes of the training data)."""

    def __init__(self, cluster: Cluster, which: str, rows: np.ndarray | None, shape: tuple,
                 token: str) -> None:
        self.cluster, self.which, self.global_rows = cluster, which, rows
        self.shape, self.token = shape, token
        self.ndim = len(shape)

    def __getitem__(self, rows: Any) -> np.ndarray:
        index = np.arange(self.shape[0])[rows]
        if self.global_rows is not None:
            index = self.global_rows[index]
        return self.cluster.fetch(index, self.which)

    def digest(self) -> str:
        """What identifies the data (``BackupAndRestore`` checks it on resume): Dask's token of
        the collection and the rows trained on."""
        return f"dask {self.which} {self.token} {self.shape}"
