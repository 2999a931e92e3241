"""Issue 23, "nothing silent, nothing lost": an optimizer state that stopped being finite is a
divergence, whichever optimizer and entry point, and a fit or partial_fit that fails leaves
the estimator as it was before the call."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

import glassnet
from glassnet.callbacks import Callback, DivergenceError, StopOnDivergence
from glassnet.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from glassnet.schedules import StepDecay

FILL = np.float32(9.97e36)  # netCDF's default fill value for float32

# Each optimizer with the slots of its state that hold one value per parameter.
OPTIMIZERS = {
    "sgd_momentum": (lambda: SGD(0.01, momentum=0.9), ("momentum_buffer",)),
    "nesterov": (lambda: SGD(0.01, momentum=0.9, nesterov=True), ("momentum_buffer",)),
    "adam": (lambda: Adam(0.01), ("exp_avg", "exp_avg_sq")),
    "adamw": (lambda: AdamW(0.01), ("exp_avg", "exp_avg_sq")),
    "amsgrad": (lambda: Adam(0.01, amsgrad=True), ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
    "rmsprop": (lambda: RMSprop(0.01), ("square_avg",)),
    "rmsprop_centered": (lambda: RMSprop(0.01, centered=True, momentum=0.5),
                         ("square_avg", "grad_avg", "momentum_buffer")),
    "adagrad": (lambda: Adagrad(0.01), ("sum",)),
}
# The optimizers whose second moment overflows on the fill value while the loss stays finite
# (SGD's step moves the weights by lr * g itself, so its loss overflows at the next batch).
SECOND_MOMENT = ["adam", "adamw", "amsgrad", "rmsprop", "adagrad"]


def _float32_data(n: int = 200):
    X, y = make_classification(n_samples=n, n_features=7, n_informative=5, random_state=0)
    return X.astype(np.float32), y


def _with_fill(X: np.ndarray) -> np.ndarray:
    """``X`` with the fill value in every seventh row."""
    bad = X.copy()
    bad[::7] = FILL
    return bad


def _finite_state(optimizer) -> bool:
    return all(np.isfinite(a).all() for s in optimizer.state.values() for a in s.values())


# -- 1. a non-finite optimizer state is a divergence -----------------------------------------
@pytest.mark.parametrize("name", SECOND_MOMENT)
@pytest.mark.parametrize("entry", ["fit", "fit_iter", "MLPClassifier.fit",
                                   "MLPClassifier.partial_fit"])
def test_fill_values_that_overflow_the_state_raise_naming_the_layer(entry, name):
    """The loss stays finite (about 1e35) and so do the weights, but g * g overflows float32:
    every later step of those weights is m / sqrt(inf) = 0. That must raise, name the layer
    and the slot, restore the weights and leave no non-finite state behind."""
    X, y = _float32_data()
    bad = _with_fill(X)
    optimizer = OPTIMIZERS[name][0]()
    match = r"first non-finite: layer dense_0 \(optimizer state \w+\)"
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match=match):
        if entry in ("fit", "fit_iter"):
            model = glassnet.MLP([7, 8, 2], dtype="float32", seed=0)
            start = model.flat_params.copy()
            kwargs = dict(optimizer=optimizer, epochs=3, batch_size=50, seed=0)
            if entry == "fit":
                glassnet.fit(model, bad, y, **kwargs)
            else:
                for _ in glassnet.fit_iter(model, bad, y, **kwargs):
                    pass
        else:
            est = glassnet.MLPClassifier(hidden_layer_sizes=(8,), optimizer=optimizer,
                                         max_iter=3, random_state=0)
            getattr(est, entry.split(".")[1])(bad, y, **(
                {"classes": [0, 1]} if entry.endswith("partial_fit") else {}))
    if entry in ("fit", "fit_iter"):
        assert np.array_equal(model.flat_params, start)  # the start of epoch 1
        assert optimizer.state == {} and optimizer.t == 0  # reset
        assert _finite_state(optimizer)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_slot_of_every_optimizer_is_checked_at_the_end_of_an_epoch(name):
    """An inf put into one slot of the second layer's state at the end of epoch 2 (the
    weights still finite, the loss too) ends training: the weights of epoch 2's start come
    back, the optimizer starts afresh, the message names dense_1 and the slot."""
    make, slots = OPTIMIZERS[name]
    X, y = _float32_data()
    for slot in slots:
        model = glassnet.MLP([7, 8, 2], dtype="float32", seed=0)
        optimizer = make()

        class Poke(Callback):
            def on_epoch_begin(self, state):
                if state.epoch == 2:
                    self.start = state.model.flat_params.copy()

            def on_epoch_end(self, state):
                if state.epoch == 2:  # the first bias of dense_1: the last parameters but 2
                    state.optimizer.state[0][slot][-2] = np.inf

        poke = Poke()
        # the guard after the poke, so that it sees the state the poke left
        with pytest.raises(DivergenceError, match=rf"epoch 2, end of epoch: the optimizer's "
                           rf"state is not finite.*layer dense_1 \(optimizer state {slot}\)"):
            glassnet.fit(model, X, y, optimizer=optimizer, epochs=4, batch_size=50, seed=0,
                         callbacks=[poke, StopOnDivergence()])
        assert np.array_equal(model.flat_params, poke.start)
        assert optimizer.state == {} and optimizer.t == 0


def test_a_partial_fit_stream_with_a_fill_chunk_loses_nothing():
    """The issue's stream: float32 chunks, one with the fill value in every seventh row.
    The bad chunk raises, and leaves the estimator as it was: the clean chunks after it
    train it exactly as a stream without the bad chunk would (every weight moves)."""
    X, y = _float32_data(800)
    chunks = np.array_split(np.arange(len(X)), 8)
    make = lambda: glassnet.MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01,
                                          random_state=0)
    clf, reference = make(), make()
    for est in (clf, reference):
        est.partial_fit(X[chunks[0]], y[chunks[0]], classes=[0, 1])
    before = clf.predict(X)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match="dense_0"):
        clf.partial_fit(_with_fill(X[chunks[1]]), y[chunks[1]])
    assert np.array_equal(clf.predict(X), before)
    assert _finite_state(clf._optimizer)
    start = clf.model_.flat_params.copy()
    for rows in chunks[2:]:
        clf.partial_fit(X[rows], y[rows])
        reference.partial_fit(X[rows], y[rows])
    assert np.array_equal(clf.model_.flat_params, reference.model_.flat_params)
    moved = clf.model_.flat_params != start
    assert moved[:56].sum() >= 50, f"only {moved[:56].sum()} of dense_0's 56 weights moved"


# -- 2. a fit that fails leaves the estimator as it was ---------------------------------------
def _fitted(kind: str, **params):
    if kind == "classifier":
        X, y = make_classification(n_samples=120, n_features=5, random_state=0)
        est = glassnet.MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0,
                                     **params)
    else:
        X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
        y = y / y.std()
        est = glassnet.MLPRegressor(hidden_layer_sizes=(6,), max_iter=30, random_state=0,
                                    **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged in 30 epochs
        est.fit(X, y)
    return est, X, y


def _snapshot(est, X) -> dict:
    return {"predict": est.predict(X), "coefs": [c.copy() for c in est.coefs_],
            "intercepts": [b.copy() for b in est.intercepts_], "n_iter_": est.n_iter_,
            "loss_curve_": list(est.loss_curve_), "t_": est.t_, "loss_": est.loss_,
            "best_loss_": est.best_loss_, "optimizer": est._optimizer.state_dict()}


def _assert_same(after: dict, before: dict) -> None:
    assert np.array_equal(after["predict"], before["predict"])
    for key in ("coefs", "intercepts"):
        assert all(np.array_equal(a, b) for a, b in zip(after[key], before[key])), key
    for key in ("n_iter_", "loss_curve_", "t_", "loss_", "best_loss_"):
        assert after[key] == before[key], key
    assert after["optimizer"].keys() == before["optimizer"].keys()
    for key, value in before["optimizer"].items():
        assert np.array_equal(after["optimizer"][key], value), key


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("failure", ["huge inputs", "huge learning rate",
                                     "epoch 3+ of a warm start", "partial_fit"])
def test_a_failed_refit_restores_the_fitted_estimator(kind, failure):
    solver = "adam" if failure in ("huge inputs", "partial_fit") else "sgd"
    est, X, y = _fitted(kind, solver=solver)
    before = _snapshot(est, X)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError) as caught:
        if failure == "huge inputs":
            est.fit(X * 1e300, y)
        elif failure == "huge learning rate":
            est.set_params(learning_rate_init=1e30).fit(X, y)
        elif failure == "epoch 3+ of a warm start":  # lr 1e-3, 1e-3, then 1e147
            est.set_params(warm_start=True, schedule=StepDecay(2, gamma=1e150)).fit(X, y)
        else:
            est.partial_fit(X * 1e300, y)
    if failure == "epoch 3+ of a warm start":
        assert int(re.search(r"diverged at epoch (\d+)", str(caught.value))[1]) >= 3
    assert "as it was before" in str(caught.value)
    _assert_same(_snapshot(est, X), before)
    # and it goes on from there as if the failed call had not happened
    est.set_params(learning_rate_init=0.001, warm_start=False, schedule=None)
    est.partial_fit(X, y)
    assert np.isfinite(est.loss_)


def test_a_failed_first_fit_keeps_the_epochs_that_ran():
    """Nothing to go back to: a first fit that diverges keeps the attributes of the epochs
    that ended and the finite weights of the failing epoch's start (tests/test_sklearn.py)."""
    X, y = make_regression(n_samples=100, n_features=5, random_state=0)
    est = glassnet.MLPRegressor(solver="sgd", learning_rate_init=10.0, max_iter=50,
                                random_state=0)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError):
        est.fit(X, y)
    assert np.isfinite(est.model_.flat_params).all()
    assert est.n_iter_ == len(est.loss_curve_)
