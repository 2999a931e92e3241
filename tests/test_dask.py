"""``glassnet.dask.fit`` against ``glassnet.fit`` on the same data in memory, on local clusters
of 1 and 2 worker processes on loopback, started and closed here.

The reference is ``glassnet.fit``: with the same seed, the data-parallel run visits the same
global batches, so in float64 the weights and the history agree to 1e-10 whatever the
number of workers and the chunking.
"""

import copy
import re

import numpy as np
import pytest

import glassnet
from glassnet.callbacks import BackupAndRestore, EarlyStopping
from glassnet.optim import SGD, Adam

da = pytest.importorskip("dask.array", reason="dask is not installed: glassnet.dask untested")
distributed = pytest.importorskip("distributed", reason="dask's distributed is not "
                                                        "installed: glassnet.dask untested")
gdask = pytest.importorskip("glassnet.dask", reason="glassnet.dask does not import")


def local_cluster(workers):
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", dashboard_address=":0",
                                    silence_logs=50)


@pytest.fixture(scope="module")
def clients():
    """{1: a client of a 1-worker cluster, 2: of a 2-worker cluster}."""
    with local_cluster(1) as one, local_cluster(2) as two, \
            distributed.Client(one, set_as_default=False) as c1, \
            distributed.Client(two, set_as_default=False) as c2:
        yield {1: c1, 2: c2}


def blobs(n=600, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d)) * 2
    y = rng.integers(0, k, n)
    return centres[y] + rng.standard_normal((n, d)), y


def assert_same_run(reference, model, history, other, other_history, tol=1e-10):
    np.testing.assert_allclose(other.flat_params, model.flat_params, rtol=0, atol=tol)
    assert other_history.epochs == history.epochs
    assert other_history.history.keys() == history.history.keys()
    for key, values in history.history.items():
        np.testing.assert_allclose(other_history.history[key], values, rtol=tol, atol=tol,
                                   err_msg=key)


CHUNKINGS = {"even": 150, "uneven": ((37, 263, 100, 200),)}


@pytest.mark.parametrize("chunks", sorted(CHUNKINGS))
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("optimizer", [SGD(lr=0.05, momentum=0.9), Adam(lr=0.01)],
                         ids=["sgd-momentum", "adam"])
def test_same_weights_as_fit_in_memory(clients, optimizer, workers, chunks):
    X, y = blobs()
    model = glassnet.MLP([6, 16, 3], activation="tanh", dtype="float64", seed=1)
    other = model.copy()
    kwargs = dict(epochs=4, batch_size=32, seed=7, validation_fraction=0.1)
    history = glassnet.fit(model, X, y, optimizer=copy.deepcopy(optimizer), **kwargs)
    row_chunks = CHUNKINGS[chunks]
    Xd = da.from_array(X, chunks=(row_chunks if isinstance(row_chunks, int) else row_chunks[0],
                                  6))
    yd = da.from_array(y, chunks=row_chunks)
    profile = {}
    other_history = gdask.fit(other, Xd, yd, clients[workers],
                              optimizer=copy.deepcopy(optimizer), profile=profile, **kwargs)
    assert_same_run(None, model, history, other, other_history)
    assert profile["workers"] == workers
    # each step: the parameters out and the gradient back, once per worker holding rows
    n_params = model.flat_params.nbytes
    assert profile["steps"] == 4 * int(np.ceil(540 / 32))
    assert profile["bytes_sent"] == profile["bytes_received"]
    assert profile["steps"] * n_params <= profile["bytes_sent"] <= \
        profile["steps"] * n_params * workers
    assert 0 < profile["compute_s"] < profile["step_s"]


def test_dataframe_weights_l2_and_regression_history(clients):
    """A Dask DataFrame and Series, sample and class weights... here regression: sample
    weights, L2 per sample, the r2 of the epoch (SS_tot summed on the workers)."""
    dd = pytest.importorskip("dask.dataframe", reason="dask.dataframe is not installed")
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.standard_normal(500)
    w = rng.uniform(0.5, 2.0, 500)
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["y"], frame["w"] = y, w
    ddf = dd.from_pandas(frame, npartitions=4)
    model = glassnet.MLP([4, 8, 1], dtype="float64", seed=2)
    other = model.copy()
    kwargs = dict(loss="mse", optimizer="adam", epochs=3, batch_size=50, seed=1, l2=1e-3,
                  l2_per_sample=True)
    history = glassnet.fit(model, X, y, sample_weight=w, **kwargs)
    other_history = gdask.fit(other, ddf[list("abcd")], ddf["y"], clients[2],
                              sample_weight=ddf["w"], **kwargs)
    assert "r2" in history.history
    assert_same_run(None, model, history, other, other_history)


def test_class_weight_schedule_early_stopping_and_the_progress_lines(clients, capsys):
    X, y = blobs(n=400, seed=4)
    outputs = []
    for train in (glassnet.fit, lambda *a, **k: gdask.fit(*a, client=clients[2], **k)):
        model = glassnet.MLP([6, 12, 3], dtype="float64", seed=5)
        data = (X, y) if train is glassnet.fit else (da.from_array(X, chunks=(90, 6)),
                                                     da.from_array(y, chunks=90))
        history = train(model, *data, optimizer=Adam(lr=0.05), epochs=6, batch_size=40,
                        seed=3, validation_fraction=0.2, class_weight="balanced",
                        schedule=glassnet.schedules.CosineWarmup(6),
                        callbacks=[EarlyStopping(patience=2)], progress=True)
        lines = capsys.readouterr().err.splitlines()
        outputs.append((model, history, [re.sub(r"\(\d+\.\d s\)", "", line) for line in lines]))
    (m1, h1, lines1), (m2, h2, lines2) = outputs
    assert_same_run(None, m1, h1, m2, h2)
    assert lines1 == lines2 and lines1[0].startswith("epoch 1/6: loss=")


def test_monitor_reads_the_rows_from_the_workers(clients):
    X, y = blobs(n=300, seed=6)
    monitors = []
    for distributed_run in (False, True):
        model = glassnet.MLP([6, 10, 3], dtype="float64", seed=8)
        monitor = glassnet.Monitor()
        if distributed_run:
            gdask.fit(model, da.from_array(X, chunks=(70, 6)), da.from_array(y, chunks=70),
                      clients[2], epochs=2, batch_size=32, seed=2, callbacks=[monitor])
        else:
            glassnet.fit(model, X, y, epochs=2, batch_size=32, seed=2, callbacks=[monitor])
        monitors.append(monitor.records)
    assert monitors[0].keys() == monitors[1].keys()
    for key, values in monitors[0].items():
        np.testing.assert_allclose(monitors[1][key], values, rtol=1e-9, atol=1e-12,
                                   err_msg=key)


def test_backup_and_restore_resumes_exactly(clients, tmp_path):
    """Interrupted after epoch 2 (a callback raises), then resumed from the backup: the same
    weights as an uninterrupted distributed run."""
    X, y = blobs(n=300, seed=9)
    Xd, yd = da.from_array(X, chunks=(100, 6)), da.from_array(y, chunks=100)
    kwargs = dict(optimizer="adam", epochs=4, batch_size=30, seed=4)
    whole = glassnet.MLP([6, 8, 3], dtype="float64", seed=1)
    gdask.fit(whole, Xd, yd, clients[2], **kwargs)

    class Interrupt(glassnet.Callback):
        def on_epoch_end(self, state):
            if state.epoch == 2:
                raise KeyboardInterrupt

    model = glassnet.MLP([6, 8, 3], dtype="float64", seed=1)
    backup = BackupAndRestore(tmp_path / "run.safetensors")
    with pytest.raises(KeyboardInterrupt):
        gdask.fit(model, Xd, yd, clients[2], callbacks=[backup, Interrupt()], **kwargs)
    resumed = glassnet.MLP([6, 8, 3], dtype="float64", seed=1)
    gdask.fit(resumed, Xd, yd, clients[2], callbacks=[BackupAndRestore(tmp_path /
                                                                       "run.safetensors")],
              **kwargs)
    np.testing.assert_array_equal(resumed.flat_params, whole.flat_params)


def test_bad_input_is_named(clients):
    X, y = blobs(n=100)
    model = glassnet.MLP([6, 4, 3], dtype="float64", seed=0)
    Xd = da.from_array(X, chunks=(50, 6))
    with pytest.raises(ValueError, match="X has 100 rows but y has 99"):
        gdask.fit(model, Xd, da.from_array(y[:99], chunks=50), clients[2])
    bad = X.copy()
    bad[73, 2] = np.nan
    with pytest.raises(ValueError, match=r"the chunk of rows 50 to 99: .*NaN"):
        gdask.fit(model, da.from_array(bad, chunks=(50, 6)), da.from_array(y, chunks=50),
                  clients[2])
    with pytest.raises(ValueError, match="L-BFGS is full-batch"):
        gdask.fit(model, Xd, da.from_array(y, chunks=50), clients[2],
                  optimizer=glassnet.optim.LBFGS())


def test_without_a_client_the_error_says_how_to_get_one():
    if distributed.client._get_global_client() is not None:
        pytest.skip("a default Dask client exists in this process: fit would use it")
    X, y = blobs(n=40)
    with pytest.raises(ValueError, match="needs a Dask client"):
        gdask.fit(glassnet.MLP([6, 3]), da.from_array(X, chunks=(20, 6)),
                  da.from_array(y, chunks=20))


def test_the_readme_example_runs_as_a_script(tmp_path):
    """The README's cluster example, saved as a script and run: it starts its own local
    cluster, trains, and prints an accuracy that shows learning."""
    import subprocess
    import sys
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Beyond one machine: Dask\n")[1]
    script = tmp_path / "cluster_example.py"
    script.write_text(section.split("```python\n")[1].split("```")[0], encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    accuracy = float(proc.stdout.split("accuracy ")[1])
    assert accuracy > 0.95, proc.stdout


def test_a_folder_of_parquet_files_trains_as_the_same_rows_in_memory(clients, tmp_path):
    """dask.dataframe.read_parquet over a folder of three files: the same weights as
    glassnet.fit on the rows in memory, and streamed (a file a window) it trains too."""
    dd = pytest.importorskip("dask.dataframe", reason="dask.dataframe is not installed")
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    pytest.importorskip("pyarrow", reason="pyarrow is not installed: no Parquet")
    X, y = blobs(n=450, seed=11)
    columns = [f"x{i}" for i in range(6)]
    for part in range(3):
        rows = slice(150 * part, 150 * (part + 1))
        frame = pd.DataFrame(X[rows], columns=columns)
        frame["label"] = y[rows]
        frame.to_parquet(tmp_path / f"part-{part}.parquet")
    data = dd.read_parquet(str(tmp_path))
    kwargs = dict(optimizer="adam", epochs=2, batch_size=25, seed=6)
    model = glassnet.MLP([6, 8, 3], dtype="float64", seed=4)
    other, streamed = model.copy(), model.copy()
    history = glassnet.fit(model, X, y, **kwargs)
    other_history = gdask.fit(other, data[columns], data["label"], clients[2], **kwargs)
    assert_same_run(None, model, history, other, other_history)
    streamed_history = gdask.fit(streamed, data[columns], data["label"], clients[2], stream=1,
                                 **kwargs)
    assert streamed_history.epochs == [1, 2]
    assert streamed_history["loss"][1] < streamed_history["loss"][0]
