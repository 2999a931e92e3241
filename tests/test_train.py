"""glassnet.fit / fit_iter: batching, determinism, metrics, weights, callbacks, divergence."""

import numpy as np
import pytest

import glassnet
from glassnet import optim, schedules
from glassnet.callbacks import Checkpoint, EarlyStopping, LambdaCallback
from glassnet.losses import CrossEntropy


def blobs(n=120, seed=0):
    """Three Gaussian blobs in 2-D, labels 0..2."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    y = rng.integers(0, 3, n)
    return centers[y] + 0.6 * rng.standard_normal((n, 2)), y


def test_one_epoch_of_full_batch_sgd_is_one_gradient_step(update_path):
    """fit(batch_size=None, epochs=1, SGD) = theta - lr * dJ/dtheta from value_and_grad: the
    L2 part of the step taken as a shrink of W (fit) equals l2 * W added to dW (value_and_grad)."""
    X, y = blobs()
    model = glassnet.MLP([2, 5, 3], dtype="float64", seed=0)
    expected = model.state_dict()
    loss, grads = glassnet.value_and_grad(model, "cross_entropy", X, y, l2=0.01)
    history = glassnet.fit(model, X, y, optimizer=optim.SGD(lr=0.3), epochs=1, batch_size=None,
                           shuffle=False, l2=0.01)
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(value, expected[name] - 0.3 * grads[name], rtol=1e-13)
    assert history["loss"] == [pytest.approx(loss, rel=1e-13)]


def test_minibatches_follow_the_shuffle_from_the_seed():
    """Two epochs by hand, scikit-learn's rule: each epoch shuffles the last epoch's order
    in place with default_rng(seed), then steps on consecutive slices."""
    X, y = blobs(50)
    model = glassnet.MLP([2, 4, 3], dtype="float64", seed=1)
    by_hand = model.copy()
    glassnet.fit(model, X, y, optimizer=optim.SGD(lr=0.1), epochs=2, batch_size=16, seed=7)
    rng = np.random.default_rng(7)
    order = np.arange(len(X))
    for _ in range(2):
        rng.shuffle(order)
        for start in range(0, len(X), 16):
            batch = order[start:start + 16]
            _, grads = glassnet.value_and_grad(by_hand, "cross_entropy", X[batch], y[batch])
            for name, p, _ in by_hand.named_parameters():
                p -= 0.1 * grads[name]
    np.testing.assert_allclose(model.flat_params, by_hand.flat_params, rtol=1e-12)


def test_plain_sgd_with_a_per_sample_l2_follows_the_weighted_steps_by_hand(update_path):
    """fit(SGD, l2, l2_per_sample, sample_weight) against value_and_grad steps by hand: each
    batch's penalty is l2 / (its weight), biases (non-zero here) unpenalised, the last batch
    smaller (21 rows in batches of 8)."""
    rng = np.random.default_rng(4)
    X, y, w = rng.standard_normal((21, 3)), rng.integers(0, 3, 21), rng.uniform(0.2, 2.0, 21)
    model = glassnet.MLP([3, 7, 3], dtype="float64", seed=0)
    model.flat_params[:] = rng.standard_normal(model.flat_params.size)  # b != 0
    by_hand = model.copy()
    history = glassnet.fit(model, X, y, optimizer=optim.SGD(lr=0.2), epochs=2, batch_size=8,
                           seed=3, l2=0.3, l2_per_sample=True, sample_weight=w)
    order_rng, losses, order = np.random.default_rng(3), [], np.arange(len(X))
    for _ in range(2):
        order_rng.shuffle(order)  # the last epoch's order, shuffled again
        total = 0.0
        for start in range(0, len(X), 8):
            batch = order[start:start + 8]
            value, grads = glassnet.value_and_grad(by_hand, "cross_entropy", X[batch], y[batch],
                                                   l2=0.3 / w[batch].sum(),
                                                   sample_weight=w[batch])
            total += value * w[batch].sum()
            for name, p, _ in by_hand.named_parameters():
                p -= 0.2 * grads[name]
        losses.append(total / w.sum())
    np.testing.assert_allclose(model.flat_params, by_hand.flat_params, rtol=1e-12)
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-12)


def test_an_on_batch_end_hook_sees_the_batch_gradient_value_and_grad_gives():
    """The hooks run between backward and the step, with dJ/dtheta (g + l2 W for the
    weights) in model.flat_grads, for every optimizer: one path."""
    rng = np.random.default_rng(5)
    X, y, w = rng.standard_normal((45, 4)), rng.integers(0, 3, 45), rng.uniform(0.5, 2.0, 45)
    first = np.random.default_rng(2).permutation(45)[:16]
    for opt in (optim.SGD(lr=0.1), optim.Adam(lr=0.01)):
        model = glassnet.MLP([4, 6, 5, 3], dtype="float64", seed=0)
        _, grads = glassnet.value_and_grad(model, "cross_entropy", X[first], y[first],
                                           l2=0.2 / w[first].sum(), sample_weight=w[first])
        seen = []
        hook = LambdaCallback(on_batch_end=lambda s: seen.append(s.model.flat_grads.copy()))
        glassnet.fit(model, X, y, optimizer=opt, epochs=1, batch_size=16, seed=2, l2=0.2,
                     l2_per_sample=True, sample_weight=w, callbacks=[hook])
        assert len(seen) == 3
        for name, _, g in model.named_parameters():  # g: the live view of flat_grads
            offset = (g.__array_interface__["data"][0]
                      - model.flat_grads.__array_interface__["data"][0]) // 8
            got = seen[0][offset:offset + g.size].reshape(g.shape)
            np.testing.assert_allclose(got, grads[name], rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_sgd_in_backward_equals_the_separate_step(update_path, dtype, rtol):
    """The one fast path, step.SGDInBackward, against the plain one, step.SeparateStep
    (backward, then SGD.step), on the same batches: the same weights and losses, with L2 per
    sample, sample weights and dropout; and the kernel each run takes is the one named."""
    from glassnet.step import SeparateStep, SGDInBackward
    from glassnet.train import step_kernel
    rng = np.random.default_rng(5)
    X, y, w = rng.standard_normal((45, 4)), rng.integers(0, 3, 45), rng.uniform(0.5, 2.0, 45)
    fused, separate = (glassnet.MLP([4, 6, 5, 3], dropout=0.2, dtype=dtype, seed=0)
                       for _ in range(2))
    kwargs = dict(epochs=3, batch_size=16, seed=2, l2=0.2, l2_per_sample=True, sample_weight=w)
    sgd_fused, sgd_separate = optim.SGD(lr=0.1), optim.SGD(lr=0.1)
    no_op = LambdaCallback(on_batch_end=lambda state: None)  # could read the gradients
    assert isinstance(step_kernel(fused, sgd_fused, []), SGDInBackward)
    assert isinstance(step_kernel(separate, sgd_separate, [no_op]), SeparateStep)
    assert isinstance(step_kernel(fused, optim.SGD(lr=0.1, momentum=0.9), []), SeparateStep)
    history_fused = glassnet.fit(fused, X, y, optimizer=sgd_fused, **kwargs)
    history_separate = glassnet.fit(separate, X, y, optimizer=sgd_separate, callbacks=[no_op],
                                    **kwargs)
    np.testing.assert_allclose(fused.flat_params, separate.flat_params, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(history_fused["loss"], history_separate["loss"], rtol=rtol)
    assert sgd_fused.t == sgd_separate.t == 9


def test_the_decay_a_model_still_owes_stays_with_that_model(update_path):
    """One SGD optimizer trains a float32 model with a decay too small for float32 (it waits
    in the fused step), then another model without L2: the second model takes none of the
    first one's decay, and equals the same fit with a fresh optimizer."""
    X, y = blobs(40)
    sgd = optim.SGD(lr=0.01)
    glassnet.fit(glassnet.MLP([2, 5, 3], seed=0), X, y, optimizer=sgd, epochs=1,
                 batch_size=None, l2=1e-5)  # one step, lr * l2 = 1e-7: below float32's step
    reused, fresh = (glassnet.MLP([2, 5, 3], dtype="float64", seed=1) for _ in range(2))
    glassnet.fit(reused, X, y, optimizer=sgd, epochs=2, batch_size=8, seed=0)
    glassnet.fit(fresh, X, y, optimizer=optim.SGD(lr=0.01), epochs=2, batch_size=8, seed=0)
    np.testing.assert_array_equal(reused.flat_params, fresh.flat_params)


def test_an_overflowing_sgd_step_restores_every_weight_of_the_epochs_start(update_path):
    """Under np.seterr(all="raise") (conftest), an SGD step that overflows: the divergence
    guard goes back to the weights of the epoch's start, every one of them."""
    model = glassnet.MLP([2, 4, 3], dtype="float32", seed=0)
    model.layers[0].W[...] = np.abs(model.layers[0].W)  # the ReLU passes positive inputs
    model.layers[2].W[...] *= 1e3
    before = model.flat_params.copy()
    X, y = np.ones((64, 2), np.float32), np.zeros(64, int)
    with pytest.raises(glassnet.callbacks.DivergenceError, match="start of epoch 1"):
        glassnet.fit(model, X, y, optimizer=optim.SGD(lr=1e36), epochs=1, batch_size=64)
    np.testing.assert_array_equal(model.flat_params, before)


@pytest.mark.parametrize("fits", [1, 1000])
@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-6), ("float64", 1e-12)])
def test_plain_sgds_l2_decay_is_kept_below_the_dtypes_resolution(update_path, dtype, rtol,
                                                                  fits):
    """All-zero inputs give every weight a zero gradient, so plain SGD with L2 only shrinks
    the weights: W_T = (1 - lr l2)^T W_0, here with lr l2 = 1e-8 and T = 3000 one-step
    epochs, in one fit or in 1000 fits with the same optimizer (as partial_fit calls).
    float32's 1 - 1e-8 rounds to 1: the step inside backprop (chosen here: update_path
    lets it run on small networks) must carry the decay over the steps, epochs and fits and
    take it once it can, not lose it (3e-5 in all)."""
    model = glassnet.MLP([3, 4, 2], dtype=dtype, seed=0)
    start = [W.astype(np.float64) for W, _ in model.penalized_parameters()]
    X, y = np.zeros((8, 3), dtype), np.arange(8) % 2
    sgd = optim.SGD(lr=0.1)
    for _ in range(fits):
        glassnet.fit(model, X, y, optimizer=sgd, epochs=3000 // fits, batch_size=None,
                     shuffle=False, l2=1e-7)
    for (W, _), W0 in zip(model.penalized_parameters(), start):
        np.testing.assert_allclose(W, W0 * (1.0 - 1e-8) ** 3000, rtol=rtol)


def test_a_non_finite_loss_restores_the_weights_of_the_epochs_start(update_path):
    """A batch whose loss is not finite (here a row of 3e38 overflows the logits): the guard
    puts back the weights the epoch began
    with, which gave finite losses, not the ones in place when the loss overflowed."""
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((24, 3)).astype(np.float32), rng.integers(0, 2, 24)
    X[20] = 3e38
    model = glassnet.MLP([3, 64, 2], seed=0)
    model.layers[-1].W[...] *= 10.0  # so that the large row's logits overflow to -inf
    glassnet.fit(model, X[:8], y[:8], optimizer=optim.SGD(lr=0.1), epochs=1, batch_size=8,
                 shuffle=False)  # an epoch that ends well: the start of the next
    start = model.flat_params.copy()
    with np.errstate(over="ignore", invalid="ignore"):  # NumPy's defaults warn, not raise
        with pytest.raises(glassnet.DivergenceError, match="batch 3: the loss is .*the weights "
                                                           "from the start of epoch 1 were"):
            glassnet.fit(model, X, y, optimizer=optim.SGD(lr=0.1), epochs=1, batch_size=8,
                         shuffle=False)
    np.testing.assert_array_equal(model.flat_params, start)


def test_weights_that_overflow_the_loss_are_not_kept():
    """lr far too large: the weights grow huge but finite, and the loss overflows. Keeping
    them (they were finite) left a model whose every next fit diverged at once."""
    X, y = blobs(64)
    model = glassnet.MLP([2, 16, 3], seed=0)  # float32
    glassnet.fit(model, X, y, optimizer=optim.SGD(lr=0.01), epochs=1, batch_size=16)
    start = model.flat_params.copy()
    with np.errstate(all="ignore"), pytest.raises(glassnet.DivergenceError):
        glassnet.fit(model, X * 1e3, y, optimizer=optim.SGD(lr=1e12), epochs=1, batch_size=16)
    np.testing.assert_array_equal(model.flat_params, start)
    glassnet.fit(model, X, y, optimizer=optim.SGD(lr=1e-3), epochs=1, batch_size=16)
    assert np.isfinite(model.flat_params).all()


def test_plain_sgd_with_l2_trains_a_model_without_parameters():
    """Plain SGD with L2 on a model with nothing to train (loss unchanged)."""
    X, y = blobs(30)

    class Projection(glassnet.layers.Dense):  # x @ P with a fixed P: no parameters
        param_names = penalized = ()
        n_in, n_out, P = 2, 3, np.random.default_rng(0).standard_normal((2, 3))

        def __init__(self):
            pass

        def forward(self, x, training=False):
            return x @ self.P

        def backward(self, delta, input_grad=True):
            return delta @ self.P.T if input_grad else None

    fixed = glassnet.Sequential([Projection()], dtype="float64")
    assert fixed.flat_params.size == 0
    history = glassnet.fit(fixed, X, y, optimizer=optim.SGD(lr=0.1), epochs=2, l2=0.1)
    assert history["loss"][0] == pytest.approx(history["loss"][1], rel=1e-14)
    assert history["loss"][0] > 0


def test_same_seed_bit_identical_and_float32_kept():
    X, y = blobs()
    a, b = glassnet.MLP([2, 8, 3], seed=0), glassnet.MLP([2, 8, 3], seed=0)
    glassnet.fit(a, X, y, epochs=3, seed=5, batch_size=10)
    glassnet.fit(b, X, y, epochs=3, seed=5, batch_size=10)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    assert a.flat_params.dtype == np.float32


def test_history_metrics_and_validation():
    X, y = blobs(200)
    model = glassnet.MLP([2, 16, 3], seed=0)
    history = glassnet.fit(model, X[:150], y[:150], epochs=20, seed=0,
                           optimizer=optim.Adam(lr=0.02), validation_data=(X[150:], y[150:]))
    assert history.epochs == list(range(1, 21))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history["loss"][-1] < history["loss"][0]
    z = model.forward(X[150:])
    assert history["val_loss"][-1] == pytest.approx(CrossEntropy().value(z, y[150:]), rel=1e-6)
    assert history["val_accuracy"][-1] == np.mean(z.argmax(axis=1) == y[150:]) > 0.9


def test_validation_fraction_is_stratified_and_held_out():
    X, y = blobs(100)
    model = glassnet.MLP([2, 4, 3], seed=0)
    state = next(glassnet.fit_iter(model, X, y, epochs=1, seed=0, validation_fraction=0.2))
    assert "val_loss" in state.logs and state.samples_seen == 80  # ceil(0.2 * 100) held out


def test_regression_logs_r2():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = glassnet.MLP([3, 16, 1], activation="tanh", seed=0)
    history = glassnet.fit(model, X, y, loss="mse", optimizer=optim.Adam(lr=0.01), epochs=60,
                           seed=0, validation_data=(X, y))
    z = model.forward(X)[:, 0]
    r2 = 1 - np.sum((y - z) ** 2) / np.sum((y - y.mean()) ** 2)
    assert history["val_r2"][-1] == pytest.approx(r2, rel=1e-5) and r2 > 0.9


def test_sample_weight_zero_equals_dropping_samples_full_batch():
    X, y = blobs(60)
    w = np.ones(60)
    w[:20] = 0.0
    a, b = glassnet.MLP([2, 5, 3], dtype="float64", seed=0), glassnet.MLP([2, 5, 3], dtype="float64", seed=0)
    glassnet.fit(a, X, y, optimizer="sgd", epochs=5, batch_size=None, sample_weight=w)
    glassnet.fit(b, X[20:], y[20:], optimizer="sgd", epochs=5, batch_size=None)
    np.testing.assert_allclose(a.flat_params, b.flat_params, rtol=1e-12)


def test_class_weight_equals_the_matching_sample_weight():
    X, y = blobs(60)
    a, b = glassnet.MLP([2, 5, 3], dtype="float64", seed=0), glassnet.MLP([2, 5, 3], dtype="float64", seed=0)
    glassnet.fit(a, X, y, epochs=2, seed=0, class_weight={0: 3.0, 2: 0.5})
    glassnet.fit(b, X, y, epochs=2, seed=0, sample_weight=np.array([3.0, 1.0, 0.5])[y])
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    c = glassnet.MLP([2, 5, 3], dtype="float64", seed=0)
    glassnet.fit(c, X, y, epochs=2, seed=0, class_weight="balanced")
    d = glassnet.MLP([2, 5, 3], dtype="float64", seed=0)
    counts = np.bincount(y)
    glassnet.fit(d, X, y, epochs=2, seed=0, sample_weight=(len(y) / (3 * counts))[y])
    np.testing.assert_array_equal(c.flat_params, d.flat_params)


def test_early_stopping_restores_the_best_weights():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((80, 2)), rng.integers(0, 3, 80)  # labels are pure noise:
    Xv, yv = rng.standard_normal((40, 2)), rng.integers(0, 3, 40)  # memorising them overfits
    model = glassnet.MLP([2, 32, 3], seed=0, dtype="float64")
    keep = Checkpoint(monitor="val_loss")
    stopper = EarlyStopping(monitor="val_loss", patience=3)
    history = glassnet.fit(model, X, y, optimizer=optim.Adam(lr=0.05), epochs=200, seed=0,
                           validation_data=(Xv, yv), callbacks=[keep, stopper])
    assert len(history) < 200  # stopped early
    best = int(np.argmin(history["val_loss"])) + 1
    assert stopper.best_epoch == best == keep.epoch and len(history) == best + 3
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, keep.state_dict[name])
    z = model.forward(Xv)
    assert CrossEntropy().value(z, yv) == pytest.approx(min(history["val_loss"]), rel=1e-12)


def test_divergence_raises_naming_the_epoch_and_keeps_finite_weights():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)) * 10
    y = X.sum(axis=1)
    model = glassnet.MLP([3, 8, 1], activation="identity", dtype="float64", seed=0)
    with pytest.raises(glassnet.DivergenceError, match=r"diverged at epoch \d+, batch \d+.*lr=100"):
        glassnet.fit(model, X, y, loss="mse", optimizer=optim.SGD(lr=100.0), epochs=5, seed=0)
    assert np.isfinite(model.flat_params).all()


def test_schedule_sets_the_learning_rate_each_epoch():
    X, y = blobs(40)
    model = glassnet.MLP([2, 4, 3], seed=0)
    history = glassnet.fit(model, X, y, optimizer=optim.SGD(lr=0.1), epochs=5, seed=0,
                           schedule=schedules.StepDecay(step_size=2, gamma=0.5))
    np.testing.assert_allclose(history["lr"], [0.1, 0.1, 0.05, 0.05, 0.025])


def test_user_callbacks_see_every_hook_in_order():
    X, y = blobs(30)
    calls = []
    hooks = {name: (lambda state, name=name: calls.append((name, state.epoch)))
             for name in ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_end")}
    hooks["on_batch_end"] = lambda state: calls.append(("batch", state.batch))
    glassnet.fit(glassnet.MLP([2, 3, 3], seed=0), X, y, epochs=2, batch_size=20, seed=0,
                 callbacks=[LambdaCallback(**hooks)])
    assert calls == [("on_train_begin", 0), ("on_epoch_begin", 1), ("batch", 1), ("batch", 2),
                     ("on_epoch_end", 1), ("on_epoch_begin", 2), ("batch", 1), ("batch", 2),
                     ("on_epoch_end", 2), ("on_train_end", 2)]


def test_callback_can_stop_training():
    X, y = blobs(30)
    stop_at_3 = LambdaCallback(on_epoch_end=lambda s: setattr(s, "stop", s.epoch == 3))
    history = glassnet.fit(glassnet.MLP([2, 3, 3], seed=0), X, y, epochs=10,
                           callbacks=[stop_at_3])
    assert len(history) == 3


def test_fit_iter_pauses_after_each_epoch_and_matches_fit():
    X, y = blobs(50)
    a, b = glassnet.MLP([2, 6, 3], seed=0), glassnet.MLP([2, 6, 3], seed=0)
    run = glassnet.fit_iter(a, X, y, epochs=4, seed=3)
    first = next(run)
    assert first.epoch == 1 and len(first.history) == 1
    snapshot = a.flat_params.copy()  # the model can be inspected between epochs
    assert [state.epoch for state in run] == [2, 3, 4]
    assert not np.array_equal(snapshot, a.flat_params)
    glassnet.fit(b, X, y, epochs=4, seed=3)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)


def test_progress_bar_only_when_asked(capsys):
    pytest.importorskip("tqdm", reason="tqdm is not installed: the progress bar is untested")
    X, y = blobs(30)
    glassnet.fit(glassnet.MLP([2, 3, 3], seed=0), X, y, epochs=2)
    assert capsys.readouterr() == ("", "")
    glassnet.fit(glassnet.MLP([2, 3, 3], seed=0), X, y, epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "2/2" in err and "loss=" in err


def test_lbfgs_reaches_a_stationary_point():
    pytest.importorskip("scipy", reason="scipy is not installed: L-BFGS is untested")
    X, y = blobs(60)
    model = glassnet.MLP([2, 6, 3], dtype="float64", seed=0)
    start, start_grads = glassnet.value_and_grad(model, "cross_entropy", X, y, l2=1e-3)
    history = glassnet.fit(model, X, y, optimizer=optim.LBFGS(tol=1e-8), epochs=500, l2=1e-3)
    end, grads = glassnet.value_and_grad(model, "cross_entropy", X, y, l2=1e-3)
    assert history["loss"] == [pytest.approx(end, rel=1e-12)] and end < 0.5 * start
    # SciPy also stops on a small relative decrease of the loss (ftol), as scikit-learn's does
    largest = max(np.abs(g).max() for g in grads.values())
    assert largest < 1e-3 * max(np.abs(g).max() for g in start_grads.values())
    assert history.epochs[-1] > 1


@pytest.mark.parametrize("kwargs, pattern", [
    ({"epochs": 0}, r"epochs must be >= 1, got 0"),
    ({"epochs": True}, r"epochs must be an int, got True"),
    ({"batch_size": 0}, r"batch_size must be >= 1, got 0"),
    ({"seed": "abc"}, r"seed must be None, an int or a numpy Generator, got 'abc'"),
    ({"schedule": "warp"}, r"schedule 'warp'"),
    ({"validation_data": (np.zeros((2, 2)),)}, r"validation_data must be \(X_val, y_val\)"),
    ({"class_weight": {"a": 1.0}}, r"class_weight has label 'a'"),
    ({"optimizer": "adamax"}, r"optimizer 'adamax'"),
    ({"validation_fraction": 1.5}, r"validation_fraction must be in \[0, 1\), got 1.5"),
    ({"class_weight": "uniform"}, r"class_weight must be None, 'balanced' or a dict"),
    ({"sample_weight": -np.ones(30)}, r"sample_weight must be finite and non-negative"),
])
def test_bad_fit_arguments(kwargs, pattern):
    X, y = blobs(30)
    with pytest.raises(ValueError, match=pattern):
        glassnet.fit(glassnet.MLP([2, 3, 3], seed=0), X, y, **kwargs)


def test_harmless_underflow_is_not_divergence(update_path):
    """Under np.seterr(all="raise") (this suite's fixture) tiny weights times a small L2
    coefficient underflow to 0; that is not a divergence and must not stop training."""
    X, y = blobs(40)
    model = glassnet.MLP([2, 4, 3], dtype="float32", seed=0)
    model.layers[2].W[...] = 1e-36  # l2 * W underflows in float32
    history = glassnet.fit(model, X, y, optimizer=optim.Adam(1e-3), epochs=2, seed=0,
                           l2=1e-6)
    assert len(history) == 2 and np.isfinite(model.flat_params).all()


def test_check_input_false_skips_only_the_nan_scan():
    X, y = blobs(40)
    a, b = glassnet.MLP([2, 4, 3], seed=0), glassnet.MLP([2, 4, 3], seed=0)
    glassnet.fit(a, X, y, epochs=2, seed=0)
    glassnet.fit(b, X, y, epochs=2, seed=0, check_input=False)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        glassnet.fit(a, bad, y, epochs=1)
    with pytest.raises(ValueError, match=r"X has 3 features"):  # shapes are still checked
        glassnet.fit(a, np.zeros((40, 3)), y, epochs=1, check_input=False)


def test_fit_iter_checks_its_arguments_when_called():
    X, y = blobs(30)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        glassnet.fit_iter(glassnet.MLP([2, 3, 3], seed=0), X, y, epochs=0)  # no next() needed


def test_fit_gives_the_optimizer_its_learning_rate_back():
    X, y = blobs(30)
    opt = optim.SGD(lr=0.1)
    history = glassnet.fit(glassnet.MLP([2, 3, 3], seed=0), X, y, optimizer=opt, epochs=3,
                           schedule=schedules.Exponential(0.5))
    np.testing.assert_allclose(history["lr"], [0.1, 0.05, 0.025])
    assert opt.lr == 0.1


def test_a_schedule_that_stops_ends_training():
    X, y = blobs(30)
    rule = schedules.Adaptive(tol=10.0, n_iter_no_change=1, min_lr=0.05)
    history = glassnet.fit(glassnet.MLP([2, 3, 3], seed=0), X, y, optimizer=optim.SGD(lr=0.1),
                           epochs=50, schedule=rule)
    assert len(history) < 50 and rule.stop


def test_lbfgs_final_loss_may_underflow():
    """The loss L-BFGS logs is evaluated once more after the search: like the search itself
    it runs under np.errstate(under="ignore"), so a probability that rounds to 0 is no error
    (the suite raises on underflow)."""
    pytest.importorskip("scipy", reason="scipy is not installed: L-BFGS is untested")
    model = glassnet.MLP([1, 2], dtype="float64", seed=0)
    model.layers[0].W[...] = [[360.0, -360.0]]  # logits 720 apart: exp(-720) is subnormal
    model.layers[0].b[...] = 0.0
    history = glassnet.fit(model, np.ones((2, 1)), np.array([0, 0]),
                           optimizer=optim.LBFGS(max_iter=1), epochs=1)
    assert 0.0 <= history["loss"][-1] < 1e-300


def test_lbfgs_refuses_dropout():
    X, y = blobs(30)
    with pytest.raises(ValueError, match="L-BFGS needs a deterministic objective"):
        glassnet.fit(glassnet.MLP([2, 3, 3], dropout=0.2, seed=0), X, y, optimizer=optim.LBFGS())


@pytest.mark.parametrize("how", ["deepcopy", "pickle", "copy"])
def test_copied_models_still_train(how):
    import copy
    import pickle
    X, y = blobs(40)
    model = glassnet.MLP([2, 4, 3], seed=0)
    twin = {"deepcopy": copy.deepcopy, "pickle": lambda m: pickle.loads(pickle.dumps(m)),
            "copy": lambda m: m.copy()}[how](model)
    before = twin.forward(X)
    glassnet.fit(twin, X, y, epochs=2, seed=0)
    for _, p, g in twin.named_parameters():
        assert np.shares_memory(p, twin.flat_params) and np.shares_memory(g, twin.flat_grads)
    assert not np.allclose(twin.forward(X), before)
    np.testing.assert_array_equal(model.forward(X), before)  # the original is untouched


@pytest.mark.parametrize("bad", ["nan", "inf", "both infs"])
def test_divergence_guard_checks_the_weights_at_the_end_of_an_epoch(bad):
    """The epoch-end check sums the weights in float64: +inf and -inf together make that sum
    an invalid operation (an error under the suite's np.seterr(all="raise")), which must still
    end in DivergenceError restoring the epoch's starting weights; huge finite weights whose
    sum overflows must pass."""
    from glassnet.callbacks import DivergenceError, StopOnDivergence
    from glassnet import History, TrainState
    model = glassnet.MLP([2, 3, 2], dtype="float64", seed=0)
    state = TrainState(model, optim.SGD(0.1), CrossEntropy(), History(), epoch=4)
    guard = StopOnDivergence()
    guard.on_epoch_begin(state)
    start = model.flat_params.copy()
    model.flat_params[:] = np.finfo(np.float64).max / 2  # finite; the sum overflows
    guard.on_epoch_end(state)  # no error
    model.flat_params[:] = start
    model.flat_params[3] = {"nan": np.nan, "inf": np.inf, "both infs": -np.inf}[bad]
    if bad == "both infs":
        model.flat_params[5] = np.inf
    with pytest.raises(DivergenceError, match="epoch 4, end of epoch: the weights are not finite"):
        guard.on_epoch_end(state)
    np.testing.assert_array_equal(model.flat_params, start)


@pytest.mark.parametrize("bad", ["huge", "both infs"])
def test_divergence_guard_is_silent_under_numpys_default_error_handling(bad):
    """Outside the suite's np.seterr(all="raise"), NumPy warns on overflow and inf - inf: the
    epoch-end sum must neither warn (huge finite weights are fine) nor, with warnings turned
    into errors, raise a RuntimeWarning in place of DivergenceError and its restore."""
    import warnings
    from glassnet.callbacks import DivergenceError, StopOnDivergence
    from glassnet import History, TrainState
    model = glassnet.MLP([2, 3, 2], dtype="float64", seed=0)
    state = TrainState(model, optim.SGD(0.1), CrossEntropy(), History(), epoch=2)
    guard = StopOnDivergence()
    guard.on_epoch_begin(state)
    start = model.flat_params.copy()
    if bad == "huge":
        model.flat_params[:] = np.finfo(np.float64).max / 2  # finite; the sum overflows
    else:
        model.flat_params[3], model.flat_params[5] = np.inf, -np.inf
    with np.errstate(all="warn"), warnings.catch_warnings():
        warnings.simplefilter("error")
        if bad == "huge":
            guard.on_epoch_end(state)
        else:
            with pytest.raises(DivergenceError, match="the weights are not finite"):
                guard.on_epoch_end(state)
            np.testing.assert_array_equal(model.flat_params, start)


def test_fit_calls_the_hooks_a_callback_defines_and_skips_the_inherited_no_ops(monkeypatch):
    """fit calls only hooks that do something; a plain object with some of the hooks (the
    documented protocol does not require subclassing Callback) and a subclass both work."""
    calls = []

    class Partial:  # duck-typed: only two hooks
        def on_batch_end(self, state):
            calls.append(("batch", state.epoch, state.batch))

        def on_epoch_end(self, state):
            calls.append(("end", state.epoch))

    class Sub(glassnet.Callback):
        def on_epoch_begin(self, state):
            calls.append(("begin", state.epoch))

    monkeypatch.setattr(glassnet.Callback, "on_batch_end",
                        lambda self, state: pytest.fail("a no-op hook was called"))
    X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 2
    glassnet.fit(glassnet.MLP([2, 3, 2], seed=0), X, y, optimizer="sgd", epochs=2,
                 batch_size=10, callbacks=[Partial(), Sub(), EarlyStopping("loss", patience=5)])
    assert calls == [("begin", 1), ("batch", 1, 1), ("batch", 1, 2), ("end", 1),
                     ("begin", 2), ("batch", 2, 1), ("batch", 2, 2), ("end", 2)]


@pytest.mark.parametrize("n_per_class, n_classes, fraction", [(5, 4, 0.3), (34, 3, 0.2),
                                                               (7, 5, 0.45)])
def test_the_stratified_split_holds_out_scikit_learns_count(n_per_class, n_classes, fraction):
    """ceil(fraction * n) rows, as scikit-learn's train_test_split, shared among the classes
    in proportion (each within one row of its exact share); rounding each class apart held
    out 8 of 20 rows at 0.3 where scikit-learn holds out 6."""
    model_selection = pytest.importorskip("sklearn.model_selection",
                                          reason="scikit-learn gives the reference count")
    from glassnet.data import split_rows
    y = np.repeat(np.arange(n_classes), n_per_class)
    n = len(y)
    _, sk_val = model_selection.train_test_split(np.arange(n), test_size=fraction, stratify=y,
                                                 random_state=0)
    train, val = split_rows(n, fraction, y, np.random.default_rng(0))
    assert len(val) == len(sk_val)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(n))
    exact = len(val) * n_per_class / n
    assert all(abs(c - exact) < 1 for c in np.bincount(y[val], minlength=n_classes))


def test_a_single_binary_output_is_stratified_too():
    """5% positives: every validation split holds its share of them (1 of 2 at 0.5), where
    an unstratified split missed them in 44 of 100 seeds."""
    X = np.random.default_rng(0).standard_normal((40, 2))
    y = np.zeros(40)
    y[[3, 30]] = 1.0
    from glassnet.data import _class_labels, split_rows
    held_out_positives = set()
    for seed in range(20):
        model = glassnet.MLP([2, 3, 1], seed=0)
        seen = []
        glassnet.fit(model, X, y, loss="binary_cross_entropy", epochs=1, seed=seed,
                     validation_fraction=0.5, callbacks=[LambdaCallback(
                         on_epoch_end=lambda s: seen.append(s.samples_seen))])
        assert seen == [20]
        _, val = split_rows(40, 0.5, _class_labels(glassnet.losses.BinaryCrossEntropy(),
                                                 y.reshape(-1, 1)), np.random.default_rng(seed))
        held_out_positives.add(int(y[val].sum()))
    assert held_out_positives == {1}


def test_a_validation_set_needs_two_samples():
    X, y = blobs(10)
    model = glassnet.MLP([2, 4, 3], seed=0)
    with pytest.raises(ValueError, match=r"holds out 1 of 10 samples: validation needs at "
                                         r"least 2"):
        glassnet.fit(model, X, y, epochs=1, validation_fraction=0.1)


def test_training_accuracy_is_not_changed_by_a_callback_that_runs_the_model():
    """The batch's correct predictions are counted from the last layer's work buffer before
    the on_batch_end hooks run: a hook calling predict overwrote it first."""
    X, y = blobs(64)

    def run(callbacks):
        model = glassnet.MLP([2, 8, 3], dtype="float64", seed=0)
        return glassnet.fit(model, X, y, optimizer=optim.Adam(lr=0.05), epochs=3,
                            batch_size=16, seed=0, callbacks=callbacks)["accuracy"]

    peeking = LambdaCallback(on_batch_end=lambda s: s.model.predict(X[:3]))
    plain = run([])
    assert run([peeking]) == plain
    # the reference: the first epoch's batches replayed by hand from the same start
    model = glassnet.MLP([2, 8, 3], dtype="float64", seed=0)
    opt = optim.Adam(lr=0.05)
    order = np.random.default_rng(0).permutation(64)
    right = 0
    for start in range(0, 64, 16):
        rows = order[start:start + 16]
        right += np.sum(model.forward(X[rows]).argmax(axis=1) == y[rows])
        _, grads = glassnet.value_and_grad(model, "cross_entropy", X[rows], y[rows])
        opt.step([p for _, p, _ in model.named_parameters()],
                 [grads[name] for name, _, _ in model.named_parameters()])
    assert plain[0] == right / 64


def test_a_batch_without_weight_is_skipped_not_a_divergence():
    """Its loss would be 0/0: it carries nothing to learn from, so no step is taken (the
    divergence guard used to stop training with a false 'diverged' message)."""
    X, y = blobs(30)
    w = np.ones(30)
    w[:10] = 0.0
    a = glassnet.MLP([2, 5, 3], dtype="float64", seed=0)
    b = glassnet.MLP([2, 5, 3], dtype="float64", seed=0)
    ha = glassnet.fit(a, X, y, optimizer=optim.Adam(lr=0.01), epochs=4, batch_size=10,
                      shuffle=False, sample_weight=w)
    hb = glassnet.fit(b, X[10:], y[10:], optimizer=optim.Adam(lr=0.01), epochs=4,
                      batch_size=10, shuffle=False)
    for (name, p, _), (_, q, _) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-13, err_msg=name)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-13)


def test_validation_weights_summing_to_zero_are_refused_before_training():
    """The held-out part of sample_weight may carry no weight though the whole does: refused
    before the first epoch, not a NaN val_loss after it."""
    from glassnet.data import split_rows
    X, y = blobs(30)
    _, val = split_rows(30, 0.2, y, np.random.default_rng(5))  # the rows fit holds out, seed 5
    w = np.ones(30)
    w[val] = 0.0
    model = glassnet.MLP([2, 5, 3], seed=0)
    before = model.flat_params.copy()
    with pytest.raises(ValueError, match="validation samples' weights sum to zero"):
        glassnet.fit(model, X, y, sample_weight=w, validation_fraction=0.2, seed=5)
    np.testing.assert_array_equal(model.flat_params, before)


def test_validation_data_errors_say_they_are_about_validation_data():
    X, y = blobs(30)
    Xv = X[:5].copy()
    Xv[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"validation_data: X contains NaN or inf \(first at "
                                         r"row 3\)"):
        glassnet.fit(glassnet.MLP([2, 5, 3], seed=0), X, y, validation_data=(Xv, y[:5]))


def test_regression_logs_the_training_r2_of_its_batches():
    """Full batch: the logged r2 is scikit-learn's r2_score of the model before the step."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="the r2_score reference")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = np.c_[X @ [1.0, -2.0, 0.5], X[:, 0] ** 2]
    model = glassnet.MLP([3, 8, 2], activation="tanh", dtype="float64", seed=0)
    before = model.forward(X)
    w = rng.uniform(0.5, 2.0, 50)
    history = glassnet.fit(model, X, y, loss="mse", optimizer="sgd", epochs=1,
                           batch_size=None, sample_weight=w)
    assert history["r2"][0] == pytest.approx(
        sklearn_metrics.r2_score(y, before, sample_weight=w), rel=1e-12)


def test_weighted_validation_scores_follow_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="the weighted references")
    X, y = blobs(60)
    w = np.random.default_rng(1).uniform(0.0, 3.0, 20)
    model = glassnet.MLP([2, 5, 3], dtype="float64", seed=0)
    history = glassnet.fit(model, X[20:], y[20:], epochs=1, validation_data=(X[:20], y[:20], w))
    predicted = model.forward(X[:20]).argmax(axis=1)
    assert history["val_accuracy"][0] == pytest.approx(
        sklearn_metrics.accuracy_score(y[:20], predicted, sample_weight=w), rel=1e-12)


def test_r2_of_a_constant_target_column_follows_scikit_learn():
    """SS_tot = 0: 1.0 when predicted exactly, else 0.0 (it was 0.0 either way)."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="the r2_score reference")
    from glassnet.metrics import r2
    rng = np.random.default_rng(0)
    y = np.c_[rng.standard_normal(10), np.full(10, 3.0)]
    for z in (y + 0.1 * rng.standard_normal((10, 2)), np.c_[y[:, 0] + 0.1, y[:, 1]]):
        assert r2(z, y) == pytest.approx(sklearn_metrics.r2_score(y, z), rel=1e-12)


@pytest.mark.parametrize("callback", [EarlyStopping(), Checkpoint(monitor="val_accuracy")])
def test_a_validation_metric_without_validation_data_is_refused_before_training(callback):
    """EarlyStopping() watches val_loss: without validation data that used to fail only after
    a whole epoch had changed the weights."""
    X, y = blobs(40)
    model = glassnet.MLP([2, 5, 3], seed=0)
    before = model.flat_params.copy()
    with pytest.raises(ValueError, match=r"monitors 'val_.*', but this run has no validation "
                                         r"data"):
        glassnet.fit(model, X, y, epochs=2, callbacks=[callback])
    np.testing.assert_array_equal(model.flat_params, before)


def test_training_weights_summing_to_zero_are_refused_before_training():
    """class_weight zeroing every class: nothing to learn from. It used to run a whole epoch
    of skipped batches and end in a ZeroDivisionError."""
    X, y = blobs(30)
    model = glassnet.MLP([2, 5, 3], seed=0)
    before = model.flat_params.copy()
    with pytest.raises(ValueError, match="training samples' weights sum to zero"):
        glassnet.fit(model, X, y, class_weight={0: 0.0, 1: 0.0, 2: 0.0})
    np.testing.assert_array_equal(model.flat_params, before)


def test_a_dropped_paused_run_does_not_undo_later_training():
    """A paused fit_iter run closed by the garbage collector after another fit trained the
    model: its EarlyStopping used to write its stale best weights over that training."""
    import gc
    X, y = blobs(60)
    model = glassnet.MLP([2, 5, 3], seed=0)
    paused = glassnet.fit_iter(model, X, y, epochs=5, seed=0,
                               callbacks=[EarlyStopping(monitor="loss")])
    next(paused)  # one epoch, then left paused
    glassnet.fit(model, X, y, epochs=3, seed=1)
    after = model.flat_params.copy()
    del paused
    gc.collect()
    np.testing.assert_array_equal(model.flat_params, after)
    ended = []  # a run still the model's own ends with its hooks when closed
    closed = glassnet.fit_iter(model, X, y, epochs=5, seed=0, callbacks=[LambdaCallback(
        on_train_end=lambda state: ended.append(state.epoch))])
    next(closed)
    closed.close()
    assert ended == [1]


def test_a_paused_run_that_later_ends_runs_its_end_hooks():
    """Only a run that is closed or dropped after another trained the model skips them."""
    X, y = blobs(40)
    model = glassnet.MLP([2, 5, 3], seed=0)
    ended = []
    paused = glassnet.fit_iter(model, X, y, epochs=2, seed=0, callbacks=[LambdaCallback(
        on_train_end=lambda state: ended.append("paused"))])
    next(paused)
    glassnet.fit(model, X, y, epochs=1, seed=1)
    for _ in paused:  # resumed to its end
        pass
    assert ended == ["paused"]


def test_training_r2_of_huge_float32_targets_does_not_overflow():
    """Residuals of 1e20 square beyond float32: the sums are float64 (a false 'r2 is -inf'
    divergence before)."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="the r2_score reference")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2)).astype(np.float32)
    y = (rng.standard_normal(40) * 1e20).astype(np.float32)
    model = glassnet.MLP([2, 3, 1], seed=0)
    before = model.forward(X)[:, 0].astype(np.float64)
    history = glassnet.fit(model, X, y, loss="mae", optimizer="sgd", epochs=1, batch_size=None)
    assert history["r2"][0] == pytest.approx(sklearn_metrics.r2_score(y.astype(np.float64),
                                                                      before), rel=1e-6)
