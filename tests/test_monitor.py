"""glassnet.Monitor: every statistic against NumPy on the same batch, the dead and saturated
rules, every step kernel and optimizer, dropout and sparse input."""

import copy

import numpy as np
import pytest

import glassnet
from glassnet import optim
from glassnet.callbacks import Callback
from glassnet.monitor import SATURATED_SHARE, STATS


def data(n=96, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, rng.integers(0, k, n)


SIZES = [10, 160, 100, 3]  # 17,900 weights: above _blas.MIN_SIZE, plain SGD steps fused


class Spy(Callback):
    """At each epoch's end (no on_batch_end hook: the step kernel stays), the weights and
    biases the epoch ended on and a deep copy of the optimizer."""

    def __init__(self):
        self.rows = []

    def on_epoch_end(self, state):
        dense = [l for l in state.model.layers if isinstance(l, glassnet.Dense)]
        self.rows.append({"W": [l.W.copy() for l in dense], "b": [l.b.copy() for l in dense],
                          "opt": copy.deepcopy(state.optimizer)})


def last_rows(n, batch_size, epochs, seed):
    """The rows of each epoch's last batch, by hand: fit's rule is scikit-learn's, each
    epoch shuffling the last epoch's order with default_rng(seed)."""
    rng, order, out = np.random.default_rng(seed), np.arange(n), []
    for _ in range(epochs):
        rng.shuffle(order)
        out.append(order[(n - 1) // batch_size * batch_size:].copy())
    return out


def by_hand(fs, W, b, x, y, l2):
    """Forward and backward of softmax cross-entropy (mean) + l2/2 sum ||W||^2 with NumPy:
    the hidden activations (z, a) and every (dW, db)."""
    acts, h = [], x
    for k, f in enumerate(fs):
        z = h @ W[k] + b[k]
        a = {"relu": np.maximum(z, 0), "tanh": np.tanh(z),
             "sigmoid": 1 / (1 + np.exp(-z))}[f]
        acts.append((z, a))
        h = a
    logits = h @ W[-1] + b[-1]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    delta = p / len(y)
    grads = [None] * len(W)
    for k in range(len(W) - 1, -1, -1):
        inp = x if k == 0 else acts[k - 1][1]
        grads[k] = (inp.T @ delta + l2 * W[k], delta.sum(axis=0))
        if k:
            z, a = acts[k - 1]
            d = {"relu": (z > 0).astype(float), "tanh": 1 - a ** 2,
                 "sigmoid": a * (1 - a)}[fs[k - 1]]
            delta = (delta @ W[k].T) * d
    return acts, grads


@pytest.mark.parametrize("name", ["sgd", "adam", "momentum"])
def test_every_statistic_equals_numpy_on_the_batch(name):
    opt = {"sgd": lambda: optim.SGD(lr=0.1), "adam": lambda: optim.Adam(1e-2),
           "momentum": lambda: optim.SGD(lr=0.05, momentum=0.9)}[name]
    X, y = data(n=100, d=10)
    model = glassnet.MLP(SIZES, activation=["relu", "tanh"], dtype="float64", seed=1)
    monitor, spy = glassnet.Monitor(), Spy()
    l2, lr = 1e-3, 0.1
    glassnet.fit(model, X, y, optimizer=opt(), epochs=3, batch_size=32, seed=0, l2=l2,
                 callbacks=[monitor, spy])
    assert monitor.epochs == [1, 2, 3]
    assert monitor.layers == ["dense_0", "dense_1", "dense_2"]
    rec = monitor.records
    assert set(rec) == set(STATS)
    for key in STATS:
        assert rec[key].shape == (3, 3) and rec[key].dtype == np.float64
    for e, (row, rows) in enumerate(zip(spy.rows, last_rows(100, 32, 3, seed=0))):
        W, b = row["W"], row["b"]
        assert len(rows) == 4  # 100 rows in batches of 32: the last has 4
        acts, grads = by_hand(["relu", "tanh"], W, b, X[rows], y[rows], l2)
        # the next step on that batch: SGD by hand; Adam and momentum by a copy of the
        # optimizer stepped here on the hand gradient (flat: the weights, then the biases)
        if name == "sgd":
            W_next = [W[k] - lr * grads[k][0] for k in range(3)]
        else:
            flat = np.concatenate([w.ravel() for w in W] + [c for c in b])
            g = np.concatenate([d.ravel() for d, _ in grads] + [d for _, d in grads])
            row["opt"].step([flat], [g])
            W_next, offset = [], 0
            for w in W:
                W_next.append(flat[offset:offset + w.size].reshape(w.shape))
                offset += w.size
        for k in range(3):
            np.testing.assert_allclose(rec["weight_norm"][e, k], np.linalg.norm(W[k]),
                                       rtol=1e-12)
            np.testing.assert_allclose(rec["grad_norm"][e, k], np.linalg.norm(grads[k][0]),
                                       rtol=1e-10)
            np.testing.assert_allclose(rec["update_ratio"][e, k],
                                       np.linalg.norm(W_next[k] - W[k]) / np.linalg.norm(W[k]),
                                       rtol=1e-7)
        (z0, a0), (z1, a1) = acts
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


def test_every_skips_epochs_and_a_zero_weight_last_batch_has_no_gradient():
    X, y = data(n=100)
    w = np.ones(100)
    w[96:] = 0.0  # no shuffle: the last batch (rows 96-99) carries no weight, takes no step
    model = glassnet.MLP([6, 8, 3], dtype="float64", seed=0)
    monitor = glassnet.Monitor(every=2)
    glassnet.fit(model, X, y, epochs=5, batch_size=32, shuffle=False, sample_weight=w,
                 callbacks=[monitor])
    assert monitor.epochs == [1, 3, 5]
    rec = monitor.records
    assert np.isnan(rec["grad_norm"]).all() and np.isnan(rec["update_ratio"]).all()
    a = np.maximum(X[96:] @ model.layers[0].W + model.layers[0].b, 0)  # epoch 5's weights
    np.testing.assert_allclose(rec["act_mean"][-1, 0], a.mean(), rtol=1e-10)


def test_lbfgs_probes_the_whole_set_and_has_no_update_ratio():
    X, y = data()
    model = glassnet.MLP([6, 8, 3], dtype="float64", seed=0)
    monitor = glassnet.Monitor()
    glassnet.fit(model, X, y, optimizer=optim.LBFGS(), epochs=5, callbacks=[monitor])
    W = [l.W for l in model.layers if isinstance(l, glassnet.Dense)]
    b = [l.b for l in model.layers if isinstance(l, glassnet.Dense)]
    _, grads = by_hand(["relu"], W, b, X, y, 0.0)
    rec = monitor.records
    np.testing.assert_allclose(rec["grad_norm"][0], [np.linalg.norm(g) for g, _ in grads],
                               rtol=1e-9)
    assert np.isnan(rec["update_ratio"]).all()


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


def test_plain_sgd_keeps_the_fused_step_with_a_monitor():
    """The Monitor has no on_batch_end hook: step_kernel keeps plain SGD's fused step."""
    from glassnet.train import step_kernel
    a = glassnet.MLP([64, 256, 3], dtype="float64", seed=0)
    opt = optim.SGD(lr=0.1)
    assert step_kernel(a, opt, []).name == "sgd_in_backward"
    assert step_kernel(a, opt, [glassnet.Monitor()]).name == "sgd_in_backward"
    assert step_kernel(a, opt, [glassnet.Monitor(X_batch=np.zeros((2, 64)), every=3)]
                       ).name == "sgd_in_backward"
    assert not hasattr(glassnet.Monitor, "on_batch_end") or (
        glassnet.Monitor.on_batch_end is Callback.on_batch_end)


RUNS = {
    "sgd_fused_f32_l2": dict(sizes=[64, 256, 3], dtype="float32", dropout=0.0,
                             opt=lambda: optim.SGD(lr=0.1), l2=1e-4),
    "sgd_fused_f64": dict(sizes=[64, 256, 3], dtype="float64", dropout=0.0,
                          opt=lambda: optim.SGD(lr=0.1), l2=0.0),
    "adam": dict(sizes=[64, 256, 3], dtype="float32", dropout=0.0,
                 opt=lambda: optim.Adam(1e-3), l2=1e-3),
    "sgd_momentum": dict(sizes=[64, 256, 3], dtype="float64", dropout=0.0,
                         opt=lambda: optim.SGD(lr=0.05, momentum=0.9, nesterov=True), l2=0.0),
    "sgd_fused_dropout": dict(sizes=[64, 256, 128, 3], dtype="float32", dropout=0.3,
                              opt=lambda: optim.SGD(lr=0.1), l2=0.0),
    "adam_dropout": dict(sizes=[64, 256, 3], dtype="float64", dropout=0.5,
                         opt=lambda: optim.Adam(1e-3), l2=0.0),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_monitor_leaves_training_bit_identical(name):
    """A fit with a Monitor ends on the same weights, optimizer state, fused-step decay and
    dropout generators as the same fit without, bit for bit."""
    from glassnet.train import _KERNELS, step_kernel
    cfg = RUNS[name]
    X, y = data(n=300, d=64)
    out = []
    for callbacks in ([], [glassnet.Monitor(), glassnet.Monitor(X_batch=X[:7], every=2)]):
        model = glassnet.MLP(cfg["sizes"], dtype=cfg["dtype"], dropout=cfg["dropout"], seed=0)
        opt = cfg["opt"]()
        kernel = step_kernel(model, opt, callbacks)
        if name.startswith("sgd_fused"):
            assert kernel.name == "sgd_in_backward"
        history = glassnet.fit(model, X, y, optimizer=opt, epochs=4, batch_size=64, seed=3,
                               l2=cfg["l2"], callbacks=callbacks)
        rngs = [l.rng.bit_generator.state for l in model.layers if hasattr(l, "rng")]
        decay = _KERNELS.get(opt, {}).get(model)
        out.append((model.flat_params.copy(), opt.state_dict(), rngs, history.history,
                    None if decay is None else decay.pending_decay))
        if callbacks:
            assert callbacks[0].epochs == [1, 2, 3, 4] and callbacks[1].epochs == [1, 3]
            assert np.isfinite(callbacks[0].records["update_ratio"]).all()
    (p0, s0, r0, h0, d0), (p1, s1, r1, h1, d1) = out
    assert p0.tobytes() == p1.tobytes()
    assert s0.keys() == s1.keys()
    for key in s0:
        assert np.asarray(s0[key]).tobytes() == np.asarray(s1[key]).tobytes(), key
    assert r0 == r1 and h0 == h1 and d0 == d1
    if cfg["dropout"]:
        assert r0  # the dropout generators were compared


def test_dropout_model_probes_in_evaluation_mode():
    X, y = data()
    monitor = glassnet.Monitor()
    model = glassnet.MLP([6, 32, 3], dropout=0.5, dtype="float64", seed=0)
    glassnet.fit(model, X, y, epochs=2, batch_size=None, shuffle=False, callbacks=[monitor])
    rec = monitor.records
    assert np.isfinite(rec["act_mean"][:, 0]).all() and np.isfinite(rec["update_ratio"]).all()
    W = [l.W for l in model.layers if isinstance(l, glassnet.Dense)]
    b = [l.b for l in model.layers if isinstance(l, glassnet.Dense)]
    (_, a), = by_hand(["relu"], W, b, X, y, 0.0)[0]  # no dropout: evaluation mode
    _, grads = by_hand(["relu"], W, b, X, y, 0.0)
    np.testing.assert_allclose(rec["act_mean"][-1, 0], a.mean(), rtol=1e-10)
    np.testing.assert_allclose(rec["grad_norm"][-1], [np.linalg.norm(g) for g, _ in grads],
                               rtol=1e-10)


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
