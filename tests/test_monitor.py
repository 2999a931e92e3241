"""glassnet.Monitor: every statistic against NumPy on the same batch, the dead and saturated
rules, every step kernel and optimizer, dropout and sparse input."""

import numpy as np
import pytest

import glassnet
from glassnet import optim
from glassnet.callbacks import Callback
from glassnet.monitor import SATURATED_SHARE, STATS
from glassnet.step import SeparateStep


def data(n=96, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, rng.integers(0, k, n)


class Spy(Callback):
    """Keeps, at the last batch of each epoch, the weights before the step, the gradients and
    the hidden activations (recomputed from the batch with NumPy), and the weights at the
    epoch's end."""

    def __init__(self, X):
        self.X, self.rows = X, []

    def on_batch_end(self, state):
        dense = [l for l in state.model.layers if isinstance(l, glassnet.Dense)]
        x = dense[0].x  # the batch itself (full batch: X in its stored order)
        self.rows.append({"W": [l.W.copy() for l in dense], "dW": [l.dW.copy() for l in dense],
                          "x": np.array(x)})

    def on_epoch_end(self, state):
        dense = [l for l in state.model.layers if isinstance(l, glassnet.Dense)]
        self.rows[-1]["W_after"] = [l.W.copy() for l in dense]


def hidden_outputs(model, W, b_of, x):
    """Each hidden layer's activation output, by hand: a = f(x @ W + b)."""
    acts, fs = [], [l for l in model.layers if isinstance(l, glassnet.Activation)]
    for k, f in enumerate(fs):
        z = x @ W[k] + b_of[k]
        a = {"relu": np.maximum(z, 0), "tanh": np.tanh(z),
             "sigmoid": 1 / (1 + np.exp(-z))}[f.name]
        acts.append((z, a))
        x = a
    return acts


@pytest.mark.parametrize("opt", [lambda: optim.SGD(lr=0.1), lambda: optim.Adam(1e-2),
                                 lambda: optim.SGD(lr=0.05, momentum=0.9)])
def test_every_statistic_equals_numpy_on_the_batch(opt):
    X, y = data()
    model = glassnet.MLP([6, 8, 7, 3], activation=["relu", "tanh"], dtype="float64", seed=1)
    monitor, spy = glassnet.Monitor(), Spy(X)
    biases = []

    class Bias(Callback):  # biases before the step: they shape the activations
        def on_batch_end(self, state):
            biases.append([l.b.copy() for l in state.model.layers
                           if isinstance(l, glassnet.Dense)])

    glassnet.fit(model, X, y, optimizer=opt(), epochs=3, batch_size=None, shuffle=False,
                 callbacks=[monitor, spy, Bias()])
    assert monitor.epochs == [1, 2, 3]
    assert monitor.layers == ["dense_0", "dense_1", "dense_2"]
    rec = monitor.records
    assert set(rec) == set(STATS)
    for key in STATS:
        assert rec[key].shape == (3, 3) and rec[key].dtype == np.float64
    for e, row in enumerate(spy.rows):
        for k in range(3):
            W0, W1, dW = row["W"][k], row["W_after"][k], row["dW"][k]
            np.testing.assert_allclose(rec["weight_norm"][e, k], np.linalg.norm(W1), rtol=1e-12)
            np.testing.assert_allclose(rec["grad_norm"][e, k], np.linalg.norm(dW), rtol=1e-12)
            np.testing.assert_allclose(rec["update_ratio"][e, k],
                                       np.linalg.norm(W1 - W0) / np.linalg.norm(W0), rtol=1e-9)
        (z0, a0), (z1, a1) = hidden_outputs(model, row["W"], biases[e], row["x"])
        np.testing.assert_allclose(rec["act_mean"][e, :2], [a0.mean(), a1.mean()], rtol=1e-10)
        np.testing.assert_allclose(rec["act_std"][e, :2], [a0.std(), a1.std()], rtol=1e-10)
        assert rec["dead_fraction"][e, 0] == np.mean(np.all(a0 == 0, axis=0))
        saturated = np.mean(np.mean(np.abs(a1) > 0.99, axis=0) >= SATURATED_SHARE)
        assert rec["saturated_fraction"][e, 1] == saturated
    # not defined: the logits' activation numbers, dead for tanh, saturated for relu
    for key in ("act_mean", "act_std", "dead_fraction", "saturated_fraction"):
        assert np.isnan(rec[key][:, 2]).all()
    assert np.isnan(rec["dead_fraction"][:, 1]).all()
    assert np.isnan(rec["saturated_fraction"][:, 0]).all()


def test_the_monitored_batch_is_the_last_one_and_every_skips_epochs():
    X, y = data(n=100)
    model = glassnet.MLP([6, 8, 3], dtype="float64", seed=0)
    monitor = glassnet.Monitor(every=2)
    batches = []

    class Grad(Callback):
        def on_batch_end(self, state):
            batches.append((state.epoch, state.batch, np.linalg.norm(model.layers[0].dW)))

    glassnet.fit(model, X, y, epochs=5, batch_size=32, seed=0, callbacks=[monitor, Grad()])
    assert monitor.epochs == [1, 3, 5]
    last = {epoch: g for epoch, batch, g in batches if batch == 4}  # 100 rows: 4 batches
    np.testing.assert_allclose(monitor.records["grad_norm"][:, 0], [last[1], last[3], last[5]])


def test_dead_relu_layer_with_biases_minus_10():
    X, y = data()
    model = glassnet.MLP([6, 16, 3], seed=0)
    model.layers[0].b[...] = -10.0  # z = x W - 10 < 0 for standardized x: every unit dead
    monitor = glassnet.Monitor()
    glassnet.fit(model, X, y, optimizer=optim.SGD(lr=0.01), epochs=2, batch_size=32,
                 callbacks=[monitor])
    np.testing.assert_array_equal(monitor.records["dead_fraction"][:, 0], 1.0)
    np.testing.assert_array_equal(monitor.records["grad_norm"][:, 0], 0.0)  # no gradient
    np.testing.assert_array_equal(monitor.records["update_ratio"][:, 0], 0.0)


def test_tanh_on_inputs_times_1000_is_saturated():
    X, y = data()
    monitor = glassnet.Monitor()
    glassnet.fit(glassnet.MLP([6, 16, 3], activation="tanh", seed=0), X * 1000, y, epochs=2,
                 callbacks=[monitor])
    assert (monitor.records["saturated_fraction"][:, 0] > 0.9).all()
    healthy = glassnet.Monitor()
    glassnet.fit(glassnet.MLP([6, 16, 3], activation="tanh", seed=0), X, y, epochs=2,
                 callbacks=[healthy])
    assert (healthy.records["saturated_fraction"][:, 0] < 0.2).all()


def test_sigmoid_saturation_and_the_X_batch_option():
    X, y = data()
    probe = X[:10] * 1000
    monitor = glassnet.Monitor(X_batch=probe)
    model = glassnet.MLP([6, 16, 3], activation="sigmoid", dtype="float64", seed=0)
    glassnet.fit(model, X, y, epochs=1, callbacks=[monitor])
    with np.errstate(over="ignore", under="ignore"):  # exp(-z) of a large -z: a = 0, right
        a = 1 / (1 + np.exp(-(probe @ model.layers[0].W + model.layers[0].b)))
    np.testing.assert_allclose(monitor.records["act_mean"][0, 0], a.mean(), rtol=1e-10)
    saturated = np.mean(np.mean((a < 0.01) | (a > 0.99), axis=0) >= SATURATED_SHARE)
    assert monitor.records["saturated_fraction"][0, 0] == saturated > 0.5


def test_plain_sgd_leaves_the_fused_step_and_trains_the_same():
    """A Monitor has an on_batch_end hook, so plain SGD takes the separate step (the fused
    one leaves no gradient to read): the same equations, the same weights up to rounding."""
    from glassnet.train import step_kernel
    X, y = data(n=256, d=64)
    a, b = (glassnet.MLP([64, 256, 3], dtype="float64", seed=0) for _ in range(2))
    opt = optim.SGD(lr=0.1)
    assert step_kernel(a, opt, []).name == "sgd_in_backward"
    assert isinstance(step_kernel(a, opt, [glassnet.Monitor()]), SeparateStep)
    monitor = glassnet.Monitor()
    glassnet.fit(a, X, y, optimizer=optim.SGD(lr=0.1), epochs=2, seed=0, callbacks=[monitor])
    glassnet.fit(b, X, y, optimizer=optim.SGD(lr=0.1), epochs=2, seed=0)
    np.testing.assert_allclose(a.flat_params, b.flat_params, rtol=1e-9, atol=1e-12)
    assert (monitor.records["grad_norm"] > 0).all()
    assert np.isfinite(monitor.records["update_ratio"]).all()


def test_dropout_model_reads_activations_before_dropout():
    X, y = data()
    monitor = glassnet.Monitor()
    model = glassnet.MLP([6, 32, 3], dropout=0.5, seed=0)
    glassnet.fit(model, X, y, epochs=2, batch_size=None, shuffle=False, callbacks=[monitor])
    rec = monitor.records
    assert np.isfinite(rec["act_mean"][:, 0]).all() and np.isfinite(rec["update_ratio"]).all()
    relu = model.layers[1]
    assert rec["act_mean"][-1, 0] == pytest.approx(float(np.mean(relu.a, dtype=np.float64)))


def test_sparse_input():
    sparse = pytest.importorskip("scipy.sparse", reason="SciPy is not installed")
    X, y = data(n=120, d=50)
    X[np.abs(X) < 1.0] = 0.0
    monitor = glassnet.Monitor()
    glassnet.fit(glassnet.MLP([50, 16, 3], seed=0), sparse.csr_matrix(X), y, epochs=2,
                 optimizer=optim.SGD(lr=0.1), callbacks=[monitor])
    for key in ("weight_norm", "grad_norm", "update_ratio", "act_mean"):
        assert np.isfinite(monitor.records[key][:, :1]).all()


def test_to_frame_is_long_and_restarts_with_each_fit():
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    X, y = data()
    monitor = glassnet.Monitor()
    model = glassnet.MLP([6, 8, 3], seed=0)
    glassnet.fit(model, X, y, epochs=2, callbacks=[monitor])
    frame = monitor.to_frame()
    assert list(frame.columns) == ["epoch", "layer", "stat", "value"]
    assert len(frame) == 2 * 2 * len(STATS)
    value = frame.query("epoch == 2 and layer == 'dense_1' and stat == 'weight_norm'")["value"]
    assert value.item() == monitor.records["weight_norm"][1, 1]
    glassnet.fit(model, X, y, epochs=1, callbacks=[monitor])
    assert monitor.epochs == [1] and monitor.records["grad_norm"].shape == (1, 2)
    assert isinstance(frame, pd.DataFrame)


def test_to_frame_without_pandas_names_it(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match="pip install pandas"):
        glassnet.Monitor().to_frame()


def test_bad_every_is_refused():
    with pytest.raises(ValueError, match="every must be an int >= 1, got 0"):
        glassnet.Monitor(every=0)
