"""``glassnet.dask.fit`` streaming (``stream=k``) and a worker lost during training.

Each test starts its own ``distributed.LocalCluster`` (worker processes, loopback only, no
dashboard) and closes it. Run with ``pytest -s`` to see the measured figures.

1. Streaming a data set at least 3x a worker's ``memory_limit`` (the data built lazily on
   the workers, never whole anywhere but in this test process for the reference) keeps every
   worker's peak RSS under its limit and reaches the held-out accuracy of ``glassnet.fit``
   on the same data in memory.
2. A worker killed (SIGKILL) during training makes ``fit`` fail within a bounded time with
   ``WorkerLostError`` naming the worker; the model's parameters stay finite.
3. Unit-level checks of ``stream=``'s arguments and its history.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

import cloudpickle  # noqa: E402  (distributed's dependency)
import dask  # noqa: E402
import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import glassnet  # noqa: E402
import glassnet.dask  # noqa: E402
from glassnet.callbacks import LambdaCallback  # noqa: E402

# The helpers below run on the workers, which cannot import this test module: send them by
# value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

MiB = 2 ** 20
N_FEATURES = 64
N_CLASSES = 3


def _cluster(n_workers: int, **kwargs) -> LocalCluster:
    return LocalCluster(n_workers=n_workers, processes=True, host="127.0.0.1",
                        dashboard_address=None, **kwargs)


def _teacher(seed: int = 1) -> np.ndarray:
    """A fixed linear teacher: the label is the argmax of ``X @ W``."""
    return np.random.default_rng(seed).standard_normal((N_FEATURES, N_CLASSES)).astype(
        np.float32)


def _lazy_data(n: int, chunk: int, seed: int) -> tuple:
    """float32 ``X`` (n, 64) in row chunks of ``chunk`` and its int32 labels, both lazy: each
    chunk is drawn where it is computed, and never exists whole on a worker."""
    X = da.random.default_rng(seed).standard_normal((n, N_FEATURES), chunks=(chunk, N_FEATURES),
                                                     dtype=np.float32)
    y = da.argmax(X @ _teacher(), axis=1).astype(np.int32)
    return X, y


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _start_peak_probe(dask_worker, interval: float = 0.02) -> int:
    """On a worker (``client.run`` passes it): a daemon thread recording the process's peak
    RSS every ``interval`` seconds (in ``dask_worker._glassnet_peak``). Returns the RSS now."""
    worker = dask_worker
    worker._glassnet_peak = _rss()
    worker._glassnet_probe_on = True

    def probe():
        while getattr(worker, "_glassnet_probe_on", False):
            worker._glassnet_peak = max(worker._glassnet_peak, _rss())
            time.sleep(interval)

    threading.Thread(target=probe, daemon=True, name="glassnet-peak-probe").start()
    return worker._glassnet_peak


def _stop_peak_probe(dask_worker) -> int:
    """On a worker: stop the probe and return the peak it recorded."""
    worker = dask_worker
    worker._glassnet_probe_on = False
    return max(worker._glassnet_peak, _rss())


class _ClientPoller:
    """From the client: every worker's RSS every ``interval`` seconds (``client.run``), the
    peak per worker kept; a second, independent measure of the workers' peaks."""

    def __init__(self, client: Client, interval: float = 0.2) -> None:
        self.client, self.interval = client, interval
        self.peaks: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for address, rss in self.client.run(_rss).items():
                    self.peaks[address] = max(self.peaks.get(address, 0), rss)
                self.samples += 1
            except Exception:  # noqa: BLE001 - a closing cluster: the test reads what it has
                pass
            self._stop.wait(self.interval)

    def __enter__(self) -> "_ClientPoller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


# --- 1. Streaming data several times a worker's memory limit --------------------------------

MEMORY_LIMIT = 256 * MiB  # a worker at rest with glassnet imported holds ~90 MiB
N_ROWS = 3_200_000  # X: 3.2e6 x 64 float32 = 781 MiB, y: 12 MiB: > 3x the limit
CHUNK = 40_000  # 10 MiB of X a chunk
STREAM = 2  # chunks a window holds on the worker
BATCH = 512


def test_stream_larger_than_worker_memory_reaches_in_memory_accuracy():
    started = time.perf_counter()
    X, y = _lazy_data(N_ROWS, CHUNK, seed=0)
    data_bytes = X.nbytes + y.nbytes
    assert data_bytes >= 3 * MEMORY_LIMIT
    X_test, y_test = (np.asarray(a) for a in dask.compute(*_lazy_data(100_000, 50_000, seed=7),
                                                          scheduler="threads"))
    initial = glassnet.MLP([N_FEATURES, 32, N_CLASSES], seed=0)
    settings = dict(loss="cross_entropy", optimizer="adam", epochs=1, batch_size=BATCH,
                    seed=0)

    # One worker: the data is 3x its limit and so 3x all the cluster's memory.
    with _cluster(1, threads_per_worker=2, memory_limit=MEMORY_LIMIT) as cluster, \
            Client(cluster) as client:
        at_rest = client.run(_start_peak_probe)
        pids = client.run(os.getpid)
        streamed = initial.copy()
        profile: dict = {}
        t0 = time.perf_counter()
        with _ClientPoller(client) as poller:
            history = glassnet.dask.fit(streamed, X, y, client=client, stream=STREAM,
                                        profile=profile, **settings)
        stream_s = time.perf_counter() - t0
        peaks = client.run(_stop_peak_probe)
        assert client.run(os.getpid) == pids, "the nanny restarted a worker: it ran out of memory"
        limits = {a: w["memory_limit"] for a, w in client.scheduler_info()["workers"].items()}

    t0 = time.perf_counter()
    X_all, y_all = (np.asarray(a) for a in dask.compute(X, y, scheduler="threads"))
    in_memory = initial.copy()
    glassnet.fit(in_memory, X_all, y_all, **settings)
    memory_s = time.perf_counter() - t0
    del X_all, y_all

    acc_stream = glassnet.evaluate(streamed, X_test, y_test)["accuracy"]
    acc_memory = glassnet.evaluate(in_memory, X_test, y_test)["accuracy"]
    print(f"\n[stream] data {data_bytes / MiB:.0f} MiB ({N_ROWS} x {N_FEATURES} float32 + "
          f"int32 labels, {len(X.chunks[0])} chunks of {CHUNK} rows), worker memory_limit "
          f"{MEMORY_LIMIT / MiB:.0f} MiB (data / limit = {data_bytes / MEMORY_LIMIT:.2f}), "
          f"stream={STREAM}, batch {BATCH}, 1 epoch")
    print(f"[stream] worker RSS at rest {[f'{v / MiB:.0f} MiB' for v in at_rest.values()]}, "
          f"peak in-worker probe {[f'{v / MiB:.0f} MiB' for v in peaks.values()]}, peak "
          f"client poll {[f'{v / MiB:.0f} MiB' for v in poller.peaks.values()]} "
          f"({poller.samples} polls)")
    print(f"[stream] accuracy: streamed {acc_stream:.4f}, in memory {acc_memory:.4f}; train "
          f"history {history.history}; times: streamed fit {stream_s:.1f} s "
          f"({profile.get('steps')} steps), in-memory compute+fit {memory_s:.1f} s, test "
          f"{time.perf_counter() - started:.1f} s")

    assert set(limits.values()) == {MEMORY_LIMIT}
    for address in peaks:
        assert peaks[address] < MEMORY_LIMIT, (address, peaks[address])
        assert poller.peaks.get(address, 0) < MEMORY_LIMIT, (address, poller.peaks)
    assert poller.samples > 0
    assert len(history) == 1 and profile["steps"] >= N_ROWS // BATCH
    assert acc_memory > 0.9 and acc_stream > 0.9
    assert abs(acc_stream - acc_memory) <= 0.02


# --- 2. A worker killed during training -----------------------------------------------------

@pytest.mark.parametrize("stream", [None, 1], ids=["in-memory", "stream"])
def test_a_worker_killed_during_training_is_replaced_and_the_result_is_the_same(stream):
    """SIGKILL to one of two workers in the middle of epoch 2: its rows are placed again on
    the workers there are (Dask recomputes them from the graph, the nanny restarts the
    worker) and the step is retried, so the run ends on the weights of a run without the
    kill; nothing hangs (fit runs in a thread joined with a limit)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40_000, 16))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    Xd, yd = da.from_array(X, chunks=(5_000, 16)), da.from_array(y, chunks=5_000)
    kwargs = dict(epochs=4, batch_size=512, seed=0, stream=stream, timeout=30)
    with _cluster(2, threads_per_worker=1) as cluster, Client(cluster) as client:
        reference = glassnet.MLP([16, 8, 2], dtype="float64", seed=0)
        glassnet.dask.fit(reference, Xd, yd, client=client, **kwargs)
        pids = client.run(os.getpid)
        victim = sorted(pids)[0]
        killed_at: list[float] = []

        def kill(state):
            if not killed_at and state.epoch == 2 and state.batch == 10:
                os.kill(pids[victim], signal.SIGKILL)
                killed_at.append(time.perf_counter())

        model = glassnet.MLP([16, 8, 2], dtype="float64", seed=0)
        outcome: dict = {}
        profile: dict = {}

        def train():
            try:
                outcome["history"] = glassnet.dask.fit(
                    model, Xd, yd, client=client, profile=profile,
                    callbacks=[LambdaCallback(on_batch_end=kill)], **kwargs)
            except BaseException as exc:  # noqa: BLE001 - examined below
                outcome["error"] = exc

        thread = threading.Thread(target=train, daemon=True)
        thread.start()
        thread.join(120)  # a step waits at most timeout=30 s for a worker
        assert not thread.is_alive(), "glassnet.dask.fit hung after a worker was killed"
    waited = time.perf_counter() - killed_at[0]
    print(f"\n[kill stream={stream}] killed {victim}; fit ended {waited:.2f} s later, "
          f"profile {profile}, outcome {outcome.get('error')!r}")
    assert killed_at and "error" not in outcome, outcome.get("error")
    assert profile["recovered"] >= 1
    assert len(outcome["history"]) == 4
    np.testing.assert_allclose(model.flat_params, reference.flat_params, rtol=0, atol=1e-10)


def test_a_worker_that_does_not_answer_is_named_after_the_timeout():
    """The deadline is the client's own: a call that never completes is a WorkerLostError
    naming the worker once ``timeout`` has passed (a stand-in call, no cluster needed)."""
    from glassnet.dask._cluster import Cluster

    class Silent:
        def done(self):
            return False

    cluster = Cluster.__new__(Cluster)
    cluster.timeout, cluster.workers = 0.2, ["tcp://10.0.0.7:4242"]
    start = time.perf_counter()
    with pytest.raises(glassnet.dask.WorkerLostError, match=r"tcp://10\.0\.0\.7:4242 has not "
                                                            r"answered for 0\.2 s"):
        cluster._results([(0, Silent())])
    assert 0.2 <= time.perf_counter() - start < 5


# --- 3. Unit-level checks ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    with _cluster(2, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


def _small():
    X, y = _lazy_data(6_000, 1_000, seed=5)
    return X, y, glassnet.MLP([N_FEATURES, 16, N_CLASSES], seed=0)


def test_stream_refuses_validation_fraction(client):
    X, y, model = _small()
    with pytest.raises(ValueError, match="validation_data"):
        glassnet.dask.fit(model, X, y, client=client, stream=1, validation_fraction=0.2)


@pytest.mark.parametrize("stream", [0, -1, 1.5])
def test_stream_must_be_a_positive_integer(client, stream):
    X, y, model = _small()
    with pytest.raises(ValueError, match="stream"):
        glassnet.dask.fit(model, X, y, client=client, stream=stream)


def test_stream_history_matches_fit_history(client):
    X, y, model = _small()
    X_val, y_val = (np.asarray(a) for a in dask.compute(*_lazy_data(1_000, 1_000, seed=9),
                                                        scheduler="threads"))
    streamed = model.copy()
    history = glassnet.dask.fit(streamed, X, y, client=client, stream=2, epochs=3,
                                batch_size=128, seed=0)
    X_all, y_all = (np.asarray(a) for a in dask.compute(X, y, scheduler="threads"))
    reference = glassnet.fit(model.copy(), X_all, y_all, epochs=3, batch_size=128, seed=0)
    assert len(history) == 3 and history.epochs == reference.epochs
    assert set(history.history) == set(reference.history)
    assert {"loss", "accuracy"} <= set(history.history)
    for key in ("loss", "accuracy"):
        assert len(history[key]) == 3 and np.isfinite(history[key]).all()
    assert all(0 <= a <= 1 for a in history["accuracy"])
    assert history["loss"][-1] < history["loss"][0]
    # With validation data the streamed run logs val_ metrics as glassnet.fit does.
    with_val = glassnet.dask.fit(model.copy(), X, y, client=client, stream=1, epochs=2,
                                 batch_size=128, seed=0, validation_data=(X_val, y_val))
    reference = glassnet.fit(model.copy(), X_all, y_all, epochs=2, batch_size=128, seed=0,
                             validation_data=(X_val, y_val))
    assert set(with_val.history) == set(reference.history)
    assert {"val_loss", "val_accuracy"} <= set(with_val.history)
    assert len(with_val) == 2
