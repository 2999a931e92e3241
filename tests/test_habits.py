"""Habits people bring from scikit-learn and Keras: labels as a column, names in any case,
scikit-learn's "logistic", ``evaluate`` as a dict, and progress that reads well in a log."""

import io
import warnings

import numpy as np
import pytest

import glassnet
from glassnet import functional, optim, schedules
from glassnet.activations import ACTIVATIONS, Sigmoid
from glassnet.cli import main
from glassnet.init import INITIALISERS
from glassnet.losses import LOSSES
from glassnet.progress import ProgressBar


def blobs(n=60, seed=0):
    """Three Gaussian blobs in 2-D, labels 0..2."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    y = rng.integers(0, 3, n)
    return centers[y] + 0.6 * rng.standard_normal((n, 2)), y


def sklearn_or_skip():
    return pytest.importorskip("sklearn", reason="scikit-learn is not installed: the "
                                                 "comparison with its metrics is skipped")


# --- labels as a column ----------------------------------------------------------------

def test_fit_takes_integer_labels_as_a_column_with_scikit_learns_warning():
    X, y = blobs()
    column, flat = glassnet.MLP([2, 5, 3], seed=0), glassnet.MLP([2, 5, 3], seed=0)
    with pytest.warns(glassnet.DataConversionWarning,
                      match=r"y is a column of shape \(60, 1\).*raveled.*y\.ravel\(\)") as record:
        glassnet.fit(column, X, y.reshape(-1, 1), epochs=3, batch_size=16, seed=0)
    assert len(record) == 1
    assert record[0].filename == __file__  # the warning points at the caller's line
    glassnet.fit(flat, X, y, epochs=3, batch_size=16, seed=0)
    np.testing.assert_array_equal(column.flat_params, flat.flat_params)
    # scikit-learn's rule for the same input: the same labels, and a warning
    sklearn_utils = pytest.importorskip("sklearn.utils", reason="scikit-learn is not installed")
    with pytest.warns(UserWarning):
        np.testing.assert_array_equal(sklearn_utils.column_or_1d(y.reshape(-1, 1), warn=True), y)


def test_a_column_is_kept_where_it_is_the_targets_shape():
    """One output (binary cross-entropy, regression): (n, 1) is the right shape, no warning."""
    X, y = blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        glassnet.fit(glassnet.MLP([2, 4, 1], seed=0), X, (y == 0).reshape(-1, 1),
                     loss="binary_cross_entropy", epochs=1)
        glassnet.fit(glassnet.MLP([2, 4, 1], seed=0), X, y.reshape(-1, 1).astype(float),
                     loss="mse", epochs=1)


def test_a_column_of_labels_out_of_range_is_still_named():
    X, y = blobs()
    bad = y.reshape(-1, 1).copy()
    bad[7] = 3
    with pytest.warns(glassnet.DataConversionWarning), \
            pytest.raises(ValueError, match="label out of range: 3 at row 7"):
        glassnet.fit(glassnet.MLP([2, 4, 3], seed=0), X, bad, epochs=1)


# --- names in any case, and aliases ----------------------------------------------------

REGISTRIES = {"activation": ACTIVATIONS, "loss": LOSSES, "initialiser": INITIALISERS,
              "optimizer": optim.OPTIMIZERS, "schedule": schedules.SCHEDULES}


@pytest.mark.parametrize("what", list(REGISTRIES))
def test_every_registry_finds_its_names_in_any_case(what):
    registry = REGISTRIES[what]
    for name in registry:
        for spelling in (name.upper(), name.title(), name.capitalize()):
            assert spelling in registry, spelling
            assert registry[spelling] is registry[name]
    assert "no-such-name" not in registry


def test_any_case_builds_and_trains_the_same_network_bit_for_bit():
    X, y = blobs()
    runs = []
    for act, init, opt, loss in (("relu", "xavier", "adam", "cross_entropy"),
                                 ("ReLU", "Xavier", "Adam", "Cross_Entropy")):
        model = glassnet.MLP([2, 6, 3], activation=act, init=init, seed=0)
        history = glassnet.fit(model, X, y, loss=loss, optimizer=opt, epochs=3, seed=1,
                               schedule="Constant" if act == "ReLU" else "constant")
        runs.append((model.flat_params.copy(), history["loss"]))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert type(optim.get_optimizer("RMSProp")) is optim.RMSprop
    assert type(optim.get_optimizer("LBFGS")) is optim.LBFGS


def test_logistic_is_the_sigmoid_everywhere(capsys):
    """scikit-learn's name works in every place an activation is named, not only in the
    estimators; the registry still lists the sigmoid once."""
    assert ACTIVATIONS["logistic"] is Sigmoid and ACTIVATIONS["Logistic"] is Sigmoid
    assert "logistic" not in list(ACTIVATIONS) and list(ACTIVATIONS).count("sigmoid") == 1
    X, _ = blobs()
    a = glassnet.MLP([2, 4, 3], activation="logistic", dtype="float64", seed=0)
    b = glassnet.MLP([2, 4, 3], activation="sigmoid", dtype="float64", seed=0)
    assert isinstance(a.layers[1], Sigmoid)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    z = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(functional.apply_activation(z, "logistic"),
                               1 / (1 + np.exp(-z)), rtol=1e-15)  # the textbook sigmoid
    w, bias, *_ = functional.initialise([2, 3, 2], activation="logistic", seed=0)
    np.testing.assert_array_equal(functional.forward_pass(X, w, bias, "logistic"),
                                  functional.forward_pass(X, w, bias, "sigmoid"))
    assert main(["gradcheck", "--activation", "Logistic", "--loss", "MSE", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_an_unknown_name_lists_the_choices_and_the_aliases():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; choose one of 'identity'"
                                         r".*'logistic' for 'sigmoid'.*any case"):
        glassnet.MLP([2, 3, 2], activation="swish")
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'; choose one of 'sgd'"):
        optim.get_optimizer("adamax")


# --- evaluate ----------------------------------------------------------------------------

def test_evaluate_classification_equals_scikit_learns_log_loss_and_accuracy():
    metrics = sklearn_or_skip().metrics
    X, y = blobs(90)
    model = glassnet.MLP([2, 5, 3], dtype="float64", seed=0)
    glassnet.fit(model, X, y, epochs=2, seed=0)
    z = model.predict(X)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    got = glassnet.evaluate(model, X, y)
    assert set(got) == {"loss", "accuracy"}
    assert got["loss"] == pytest.approx(metrics.log_loss(y, p), rel=1e-12)
    assert got["accuracy"] == metrics.accuracy_score(y, z.argmax(axis=1))
    assert 0 < got["accuracy"] < 1  # both branches of the count are exercised
    w = np.random.default_rng(1).uniform(0.1, 2.0, len(y))
    weighted = glassnet.evaluate(model, X, y, sample_weight=w)
    assert weighted["loss"] == pytest.approx(metrics.log_loss(y, p, sample_weight=w), rel=1e-12)
    assert weighted["accuracy"] == pytest.approx(
        metrics.accuracy_score(y, z.argmax(axis=1), sample_weight=w), rel=1e-12)


def test_evaluate_regression_equals_scikit_learns_mse_and_r2():
    metrics = sklearn_or_skip().metrics
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 3))
    Y = np.column_stack([X @ [1.0, -2.0, 0.5], np.sin(X[:, 0])])
    model = glassnet.MLP([3, 8, 2], dtype="float64", seed=0)
    glassnet.fit(model, X, Y, loss="mse", epochs=5, seed=0)
    got = glassnet.evaluate(model, X, Y, loss="MSE")
    assert set(got) == {"loss", "r2"}
    Z = model.predict(X)
    assert got["loss"] == pytest.approx(metrics.mean_squared_error(Y, Z), rel=1e-12)
    assert got["r2"] == pytest.approx(metrics.r2_score(Y, Z), rel=1e-12)


def test_evaluate_multilabel_counts_a_row_right_when_every_label_is():
    metrics = sklearn_or_skip().metrics
    X, y = blobs(60)
    Y = np.column_stack([y == 0, y == 1, X[:, 0] > 0]).astype(float)
    model = glassnet.MLP([2, 6, 3], dtype="float64", seed=0)
    glassnet.fit(model, X, Y, loss="binary_cross_entropy", epochs=3, seed=0)
    z = model.predict(X)
    p = 1 / (1 + np.exp(-z))
    got = glassnet.evaluate(model, X, Y, loss="binary_cross_entropy")
    want_loss = np.mean(-(Y * np.log(p) + (1 - Y) * np.log(1 - p)))  # mean over labels, rows
    assert got["loss"] == pytest.approx(want_loss, rel=1e-10)
    assert got["accuracy"] == metrics.accuracy_score(Y, (z > 0).astype(float))  # subset accuracy


def test_evaluate_gives_the_numbers_fit_logs_for_validation_data():
    X, y = blobs(90)
    model = glassnet.MLP([2, 5, 3], seed=0)
    history = glassnet.fit(model, X[:60], y[:60], epochs=2, seed=0,
                           validation_data=(X[60:], y[60:]))
    got = glassnet.evaluate(model, X[60:], y[60:])
    assert got == {"loss": history["val_loss"][-1], "accuracy": history["val_accuracy"][-1]}


def test_evaluate_names_bad_input():
    X, y = blobs()
    model = glassnet.MLP([2, 5, 3], seed=0)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        glassnet.evaluate(model, X, y, loss="hinge")
    with pytest.raises(ValueError, match="X has 3 features but the model expects 2|X has 3"):
        glassnet.evaluate(model, np.ones((5, 3)), y[:5])
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        glassnet.evaluate(model, X, y, sample_weight=np.zeros(len(y)))


# --- progress in a log -------------------------------------------------------------------

class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_writes_one_line_per_epoch_where_the_output_is_not_a_terminal():
    pytest.importorskip("tqdm", reason="tqdm is not installed: the progress bar is untested")
    X, y = blobs(90)
    log = io.StringIO()
    history = glassnet.fit(glassnet.MLP([2, 5, 3], seed=0), X, y, epochs=3, seed=0,
                           validation_fraction=0.2, callbacks=[ProgressBar(3, file=log)])
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"epoch {epoch}/3: loss={history['loss'][epoch - 1]:.4g} ")
        assert f"val_accuracy={history['val_accuracy'][epoch - 1]:.4g} (" in line
        assert line.endswith(" s)")


def test_progress_true_writes_lines_to_a_redirected_stderr(capsys):
    pytest.importorskip("tqdm", reason="tqdm is not installed: the progress bar is untested")
    X, y = blobs()
    glassnet.fit(glassnet.MLP([2, 5, 3], seed=0), X, y, epochs=2, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and [line.split(":")[0] for line in err.splitlines()] == ["epoch 1/2",
                                                                               "epoch 2/2"]


def test_progress_draws_a_bar_on_a_terminal():
    pytest.importorskip("tqdm", reason="tqdm is not installed: the progress bar is untested")
    X, y = blobs()
    screen = Terminal()
    glassnet.fit(glassnet.MLP([2, 5, 3], seed=0), X, y, epochs=3,
                 callbacks=[ProgressBar(3, file=screen)])
    text = screen.getvalue()
    assert "\r" in text and "3/3" in text and "epoch 1/3:" not in text
