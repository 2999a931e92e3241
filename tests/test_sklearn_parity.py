"""The same model from the same seed: glassnet's estimators against scikit-learn's own.

With ``init="sklearn"`` and ``dtype="auto"`` (the defaults) a float64 fit draws the starting
weights, the early-stopping split and the order of the rows as scikit-learn does, and takes
the same steps; so it ends on scikit-learn's fitted model. Each test fits both libraries on
the same data with the same parameters and compares what they fitted.

Also here: the behaviours of scikit-learn's that its users meet around the steps (``dtype``
following X, a single class, ``verbose`` lines, ``predict_log_proba``, a diverging run with
early stopping), each against scikit-learn's own result.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_digits, load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, scale  # noqa: E402

import glassnet  # noqa: E402

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
_digits = load_digits()
X_DIGITS = MinMaxScaler().fit_transform(_digits.data[:400])
Y_DIGITS = _digits.target[:400]
X_REG, _y = make_regression(n_samples=150, n_features=8, noise=10.0, random_state=3)
Y_REG = scale(_y)

DATASETS = {"iris": (X_IRIS, Y_IRIS, "MLPClassifier"),
            "digits": (X_DIGITS, Y_DIGITS, "MLPClassifier"),
            "regression": (X_REG, Y_REG, "MLPRegressor")}


def fit_both(name: str, X, y, **params):
    """The glassnet estimator and scikit-learn's, each fitted on (X, y) with ``params``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = getattr(glassnet, name)(**params).fit(X, y)
        theirs = getattr(sk, name)(**params).fit(X, y)
    return ours, theirs


def assert_same_model(ours, theirs, atol=1e-10):
    assert ours.n_iter_ == theirs.n_iter_
    assert len(ours.coefs_) == len(theirs.coefs_)
    for mine, ref in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert mine.dtype == ref.dtype
        np.testing.assert_allclose(mine, ref, rtol=0, atol=atol)


SKLEARN_VERSION = tuple(int(part) for part in sklearn.__version__.split(".")[:2])


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_a_seeded_fit_ends_on_scikit_learns_model(data, solver, activation):
    if solver == "lbfgs" and SKLEARN_VERSION < (1, 7):
        pytest.skip(f"scikit-learn {sklearn.__version__} sums its losses in another order "
                    "than 1.7 and later, whose L-BFGS glassnet follows bit for bit")
    X, y, name = DATASETS[data]
    ours, theirs = fit_both(name, X, y, hidden_layer_sizes=(12,), solver=solver,
                            activation=activation, learning_rate_init=0.01, max_iter=40,
                            random_state=7)
    assert_same_model(ours, theirs)
    if solver == "lbfgs":  # no curve: the loss at the result
        assert ours.loss_ == theirs.loss_
    else:
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
        assert ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.predict_proba(X) if name == "MLPClassifier"
                               else ours.predict(X),
                               theirs.predict_proba(X) if name == "MLPClassifier"
                               else theirs.predict(X), rtol=0, atol=1e-10)


def test_the_starting_weights_are_scikit_learns_draw_for_draw():
    """One epoch at a learning rate of 1e-12 moves the starting weights by less than 1e-13:
    they must equal scikit-learn's, biases included, for 'logistic' (its other bound) and
    two layers, where another draw would differ by ~0.1."""
    for activation in ("logistic", "relu"):
        ours, theirs = fit_both("MLPClassifier", X_IRIS, Y_IRIS, hidden_layer_sizes=(5, 4),
                                activation=activation, solver="sgd", learning_rate_init=1e-12,
                                momentum=0.0, max_iter=1, random_state=3)
        assert_same_model(ours, theirs, atol=1e-15)


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_holds_out_scikit_learns_rows(name, solver):
    X, y = (X_DIGITS, Y_DIGITS) if name == "MLPClassifier" else (X_REG, Y_REG)
    ours, theirs = fit_both(name, X, y, hidden_layer_sizes=(10,), solver=solver,
                            early_stopping=True, validation_fraction=0.2, max_iter=60,
                            n_iter_no_change=4, learning_rate_init=0.01, random_state=11)
    assert_same_model(ours, theirs)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_,
                                                        rel=1e-12)


def test_binary_early_stopping_is_stratified_as_in_scikit_learn():
    y = (Y_DIGITS > 4).astype(int)
    ours, theirs = fit_both("MLPClassifier", X_DIGITS, y, hidden_layer_sizes=(8,),
                            early_stopping=True, max_iter=30, random_state=2)
    assert_same_model(ours, theirs)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_sgd_rate_rules_and_momentum_follow_scikit_learn(learning_rate):
    ours, theirs = fit_both("MLPClassifier", X_IRIS, Y_IRIS, hidden_layer_sizes=(6,),
                            solver="sgd", learning_rate=learning_rate, learning_rate_init=0.05,
                            momentum=0.8, batch_size=32, max_iter=80, random_state=5)
    assert_same_model(ours, theirs)


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_partial_fit_calls_follow_scikit_learn(name):
    """An int random_state makes a new RandomState at every call: each call shuffles as the
    first did, in both libraries."""
    X, y = (X_IRIS, Y_IRIS) if name == "MLPClassifier" else (X_REG, Y_REG)
    extra = {"classes": np.unique(y)} if name == "MLPClassifier" else {}
    ours = getattr(glassnet, name)(hidden_layer_sizes=(7,), batch_size=40, random_state=4)
    theirs = getattr(sk, name)(hidden_layer_sizes=(7,), batch_size=40, random_state=4)
    for _ in range(5):
        ours.partial_fit(X, y, **extra)
        theirs.partial_fit(X, y, **extra)
    assert_same_model(ours, theirs)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)


def test_warm_start_and_a_random_state_object_follow_scikit_learn():
    """A RandomState is used as it is, advancing from call to call, in both libraries."""
    ours = glassnet.MLPClassifier(hidden_layer_sizes=(6,), max_iter=15, warm_start=True,
                                  random_state=np.random.RandomState(9))
    theirs = sk.MLPClassifier(hidden_layer_sizes=(6,), max_iter=15, warm_start=True,
                              random_state=np.random.RandomState(9))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            ours.fit(X_IRIS, Y_IRIS)
            theirs.fit(X_IRIS, Y_IRIS)
    assert_same_model(ours, theirs)


def test_sample_weight_follows_scikit_learn():
    if SKLEARN_VERSION < (1, 7):
        pytest.skip(f"scikit-learn {sklearn.__version__}'s MLP takes no sample_weight (1.7 "
                    "added it)")
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(X_IRIS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = glassnet.MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=1)
        theirs = sk.MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=1)
        ours.fit(X_IRIS, Y_IRIS, sample_weight=w)
        theirs.fit(X_IRIS, Y_IRIS, sample_weight=w)
    assert_same_model(ours, theirs)


# -- behaviours around the steps --------------------------------------------------------------
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtype_auto_follows_x_as_scikit_learn(name, dtype):
    X = (X_IRIS * 10).astype(dtype)
    ours, theirs = fit_both(name, X, Y_IRIS, hidden_layer_sizes=(4,), max_iter=3,
                            random_state=0)
    assert [c.dtype for c in ours.coefs_] == [c.dtype for c in theirs.coefs_]
    assert ours.predict(X).dtype == theirs.predict(X).dtype


def test_an_explicit_dtype_wins_over_x():
    est = glassnet.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, dtype="float32",
                                 random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_IRIS, Y_IRIS)
    assert est.coefs_[0].dtype == np.float32


def test_a_single_class_is_fitted_and_predicted_as_in_scikit_learn():
    X = np.random.default_rng(0).standard_normal((10, 2))
    y = np.full(10, 7)
    ours, theirs = fit_both("MLPClassifier", X, y, hidden_layer_sizes=(3,), max_iter=5,
                            random_state=0)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.predict_proba(X).shape == theirs.predict_proba(X).shape == (10, 2)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-10)


def test_predict_log_proba_is_the_log_of_predict_proba():
    """Also where a probability rounds to 1 (log 0.0 exactly); where one underflows to 0,
    the exact log from the logits, finite, instead of log(0) = -inf."""
    est = glassnet.MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_IRIS, Y_IRIS)
    est.coefs_ = [W * 300 for W in est.coefs_]  # saturate: probabilities of 1 and 0
    p, log_p = est.predict_proba(X_IRIS), est.predict_log_proba(X_IRIS)
    assert (p == 1).any() and (p == 0).any()
    np.testing.assert_array_equal(log_p[p > 0], np.log(p[p > 0]))
    assert np.isfinite(log_p).all() and (log_p[p == 0] < np.log(np.finfo(float).tiny)).all()


def test_verbose_prints_scikit_learns_lines(capsys):
    ours, theirs = fit_both("MLPClassifier", X_IRIS, Y_IRIS, hidden_layer_sizes=(3,),
                            solver="sgd", max_iter=3, verbose=True, random_state=0)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("Iteration")]
    assert lines[:3] == lines[3:] == [f"Iteration {i}, loss = {loss:.8f}"
                                      for i, loss in enumerate(theirs.loss_curve_, start=1)]


def test_silent_unless_verbose(capsys):
    fit_both("MLPClassifier", X_IRIS, Y_IRIS, hidden_layer_sizes=(3,), max_iter=2,
             random_state=0)
    assert capsys.readouterr() == ("", "")


def test_a_diverging_run_with_early_stopping_keeps_the_best_weights():
    """As scikit-learn: no error, a NaN validation score last, the best epoch's weights."""
    params = dict(hidden_layer_sizes=(50,), activation="identity", solver="sgd",
                  learning_rate_init=1.0, max_iter=20, early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = glassnet.MLPRegressor(**params).fit(X_IRIS, Y_IRIS)
        with np.errstate(all="ignore"):  # scikit-learn's overflows (glassnet's are silent)
            theirs = sk.MLPRegressor(**params).fit(X_IRIS, Y_IRIS)
    assert np.isnan(ours.validation_scores_[-1]) and np.isnan(theirs.validation_scores_[-1])
    best = int(np.nanargmax(theirs.validation_scores_))
    np.testing.assert_allclose(ours.validation_scores_[:best + 1],
                               theirs.validation_scores_[:best + 1], rtol=1e-10)
    for mine, ref in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-10)


def test_a_diverging_run_without_early_stopping_raises_scikit_learns_message():
    X = np.finfo(np.float64).max * np.random.RandomState(0).uniform(size=(10, 2))
    y = np.random.RandomState(1).standard_normal(10)
    message = re.escape("Solver produced non-finite parameter weights. The input data may "
                        "contain large values and need to be preprocessed.")
    with pytest.raises(ValueError, match=message):
        glassnet.MLPRegressor(random_state=0).fit(X, y)
    with warnings.catch_warnings(), np.errstate(all="ignore"), pytest.raises(ValueError,
                                                                              match=message):
        warnings.simplefilter("ignore")  # scikit-learn's overflows (glassnet's are silent)
        sk.MLPRegressor(random_state=0).fit(X, y)


@pytest.mark.parametrize("case", ["one_member_class", "tiny_validation", "warm_start_classes"])
def test_errors_carry_scikit_learns_message(case):
    """The message scikit-learn's users match on, from both libraries."""
    if case == "tiny_validation" and SKLEARN_VERSION < (1, 7):
        pytest.skip(f"scikit-learn {sklearn.__version__} fits on a one-row validation set "
                    "(1.7 added the error)")
    def run(lib):
        if case == "one_member_class":
            lib.MLPClassifier(early_stopping=True).fit([[1, 2], [2, 3], [3, 4], [4, 5]],
                                                       [0, 0, 0, 1])
        elif case == "tiny_validation":
            lib.MLPRegressor(early_stopping=True, random_state=0).fit([[0.0], [1.0]], [0, 1])
        else:
            clf = lib.MLPClassifier(hidden_layer_sizes=2, solver="lbfgs", warm_start=True,
                                    random_state=0, max_iter=5).fit(X_IRIS, Y_IRIS)
            clf.fit(X_IRIS, np.array([0] * 75 + [1] * 75))

    messages = []
    for lib in (glassnet, sk):
        with warnings.catch_warnings(), pytest.raises(ValueError) as info:
            warnings.simplefilter("ignore")
            run(lib)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
