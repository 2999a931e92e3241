"""glassnet.MLPClassifier / MLPRegressor as scikit-learn estimators.

scikit-learn's own estimator checks run on both estimators. A few compare outputs at rtol
1e-7, below float32's resolution (6e-8 per rounding, compounded over layers and 100 Adam
steps): sample weighting against repeated samples, and predictions on subsets or permutations
of the rows against the whole (BLAS may round a row differently inside a different batch). So
the full suite runs in float64 — the precision scikit-learn's MLP itself computes in for
float64 input — and the float32 default runs every other check, plus those same properties
at a float32 tolerance.
"""

import re
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed: the estimator tests "
                                      "need it (pip install 'glassnet[sklearn]')")
from sklearn.base import clone
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import glassnet
from glassnet.sklearn import MLPClassifier, MLPRegressor

BELOW_FLOAT32_RESOLUTION = {"check_sample_weight_equivalence_on_dense_data",
                            "check_sample_weight_equivalence_on_sparse_data",
                            "check_methods_subset_invariance",
                            "check_methods_sample_order_invariance"}


@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_estimator_checks_default_dtype_auto(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


@pytest.mark.parametrize("estimator", [MLPClassifier(max_iter=100, dtype="float32"),
                                       MLPRegressor(max_iter=100, dtype="float32")],
                         ids=["classifier", "regressor"])
def test_sklearn_estimator_checks_float32(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], r["exception"]) for r in results
              if r["status"] == "failed" and r["check_name"] not in BELOW_FLOAT32_RESOLUTION]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 50


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_float32_predictions_do_not_depend_on_batching_or_order(cls):
    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 8), rng.randint(0, 3, 60)
    est = cls(max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    method = "predict_proba" if cls is MLPClassifier else "predict"
    whole = getattr(est, method)(X)
    in_batches = np.concatenate([getattr(est, method)(X[i:i + 7]) for i in range(0, 60, 7)])
    order = rng.permutation(60)
    np.testing.assert_allclose(in_batches, whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(getattr(est, method)(X[order]), whole[order], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_float32_sample_weight_equals_repetition_at_float32_tolerance(cls):
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    y = rng.randint(0, 3, size=15)
    sw = rng.randint(0, 5, size=15)
    repeated = cls(max_iter=100, random_state=0).fit(X.repeat(sw, axis=0), y.repeat(sw))
    weighted = cls(max_iter=100, random_state=0).fit(X, y, sample_weight=sw)
    method = "predict_proba" if cls is MLPClassifier else "predict"
    np.testing.assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X),
                               rtol=1e-4, atol=1e-5)


def test_drop_in_attributes_and_shapes():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(7, 5), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(4, 7), (7, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (5,), (3,)]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    assert clf.n_iter_ == 30 == len(clf.loss_curve_) and clf.t_ == 30 * len(X)
    assert clf.loss_ == clf.loss_curve_[-1] and clf.best_loss_ == min(clf.loss_curve_)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_string_labels_and_binary_output_unit():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    names = np.where(y == 0, "setosa", "other")
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=200, learning_rate_init=0.01,
                        random_state=0).fit(X, names)
    assert clf.coefs_[-1].shape == (5, 1) and clf.out_activation_ == "logistic"
    assert set(clf.predict(X)) <= {"setosa", "other"}
    assert clf.score(X, names) > 0.95


def test_multilabel_and_multioutput_regression():
    X, Y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=300, random_state=0).fit(X, Y)
    assert clf.predict(X).shape == Y.shape and clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.5  # subset accuracy
    X, Y = make_regression(n_samples=100, n_features=5, n_targets=3, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(20,), max_iter=500, learning_rate_init=0.01,
                       random_state=0).fit(X, Y / 100)
    assert reg.predict(X).shape == (100, 3) and reg.score(X, Y / 100) > 0.9


def test_same_seed_gives_bit_identical_weights():
    X, y = load_iris(return_X_y=True)
    a = MLPClassifier(max_iter=20, random_state=3).fit(X, y)
    b = MLPClassifier(max_iter=20, random_state=3).fit(X, y)
    for Wa, Wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(Wa, Wb)
    c = MLPClassifier(max_iter=20, random_state=4).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_over_chunks_equals_fit_over_the_same_batches(solver):
    X, y = load_iris(return_X_y=True)
    kw = dict(hidden_layer_sizes=(6,), solver=solver, batch_size=30, shuffle=False,
              random_state=0, learning_rate_init=0.01, alpha=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = MLPClassifier(max_iter=1, **kw).fit(X, y)
    chunked = MLPClassifier(**kw)
    for start in range(0, len(X), 30):
        chunked.partial_fit(X[start:start + 30], y[start:start + 30], classes=np.unique(y))
    for Wf, Wc in zip(full.coefs_ + full.intercepts_, chunked.coefs_ + chunked.intercepts_):
        np.testing.assert_array_equal(Wf, Wc)


def test_partial_fit_needs_classes_first_and_rejects_new_labels():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    clf = MLPClassifier().partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match=re.escape(  # scikit-learn's message
            "`y` has classes not in `self.classes_`. `self.classes_` has [0 1]. 'y' has "
            "[0 1 2].")):
        clf.partial_fit(X, y)


def test_warm_start_continues_from_the_fitted_weights():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(max_iter=5, warm_start=True, random_state=0).fit(X, y)
        first = clf.coefs_[0].copy()
        model = clf.model_
        clf.fit(X, y)
        reference = SkMLPClassifier(max_iter=5, warm_start=True, random_state=0).fit(X, y)
        reference.fit(X, y)
    assert clf.model_ is model and clf.n_iter_ == reference.n_iter_ == 5  # this call's epochs
    assert not np.array_equal(first, clf.coefs_[0])


def test_early_stopping_records_validation_scores_and_restores_the_best():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(10,), early_stopping=True, max_iter=300,
                        learning_rate_init=0.01, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 300
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_works_in_pipeline_grid_search_cross_val_and_clone():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=200, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(pipe, X, y, cv=3)
        grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(5,), (20,)],
                                   "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert scores.mean() > 0.85
    assert set(grid.best_params_) == {"mlpclassifier__hidden_layer_sizes", "mlpclassifier__alpha"}
    est = MLPRegressor(hidden_layer_sizes=(3, 4), dropout=0.1, activation=["tanh", "relu"])
    assert clone(est).get_params() == est.get_params()


def test_pandas_dataframe_feature_names():
    pd = pytest.importorskip("pandas", reason="pandas is not installed: DataFrame input untested")
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = MLPClassifier(max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.feature_names_in_, X.columns)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X.to_numpy())
    assert clf.predict(X).shape == (150,)
    assert isinstance(pd.Series(clf.predict(X)), pd.Series)


def test_glassnet_options_dropout_per_layer_activation_optimizer_dtype():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(8, 8), activation=["tanh", "relu"], dropout=0.1,
                        solver="rmsprop", dtype="float64", max_iter=50, random_state=0,
                        learning_rate_init=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    kinds = [type(layer).__name__ for layer in clf.model_.layers]
    assert kinds == ["Dense", "Tanh", "Dropout", "Dense", "ReLU", "Dropout", "Dense"]
    assert clf.coefs_[0].dtype == np.float64
    assert type(clf._optimizer).__name__ == "RMSprop"
    # dtype='auto': X's float type, as scikit-learn
    assert MLPClassifier(max_iter=5).fit(X, y).coefs_[0].dtype == np.float64
    assert MLPClassifier(max_iter=5).fit(X.astype(np.float32), y).coefs_[0].dtype == np.float32


def test_class_weight_balanced_shifts_the_decision():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (180, 2)), rng.normal(1.0, 1, (20, 2))])
    y = np.array([0] * 180 + [1] * 20)
    kw = dict(hidden_layer_sizes=(8,), max_iter=300, random_state=0, learning_rate_init=0.01)
    plain = MLPClassifier(**kw).fit(X, y)
    balanced = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_divergence_raises_a_clear_error_and_keeps_finite_weights():
    X, y = make_regression(n_samples=100, n_features=5, random_state=0)
    reg = MLPRegressor(solver="sgd", learning_rate_init=10.0, activation="identity",
                       max_iter=50, random_state=0)
    with pytest.raises(glassnet.DivergenceError, match=r"diverged at epoch \d+"):
        reg.fit(X, y)
    assert np.isfinite(reg.model_.flat_params).all()


def test_top_level_names_and_comparable_accuracy_to_sklearn_on_iris():
    assert glassnet.MLPClassifier is MLPClassifier and glassnet.MLPRegressor is MLPRegressor
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ours = MLPClassifier(max_iter=300, random_state=0).fit(X, y).score(X, y)
    theirs = SkMLPClassifier(max_iter=300, random_state=0).fit(X, y).score(X, y)
    assert ours >= theirs - 0.03


def test_schedules_and_sklearn_learning_rate_rules():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stepped = MLPClassifier(solver="sgd", learning_rate_init=0.1, max_iter=6, random_state=0,
                                schedule=glassnet.schedules.StepDecay(step_size=2, gamma=0.5)
                                ).fit(X, y)
        inv = MLPClassifier(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1,
                            power_t=0.5, max_iter=3, batch_size=50, random_state=0).fit(X, y)
    np.testing.assert_allclose(stepped.history_["lr"], [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    # scikit-learn's invscaling: after each epoch lr = lr0 / (samples seen + 1) ** power_t
    assert inv._optimizer.lr == pytest.approx(0.1 / (3 * 150 + 1) ** 0.5, rel=1e-12)
    np.testing.assert_allclose(inv.history_["lr"][1:], [0.1 / (150 + 1) ** 0.5,
                                                      0.1 / (300 + 1) ** 0.5], rtol=1e-12)


def test_adaptive_learning_rate_divides_by_five_on_plateau():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(solver="sgd", learning_rate="adaptive", learning_rate_init=0.5,
                        tol=10.0, n_iter_no_change=2, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    # tol=10 makes every epoch after the first a non-improvement; once the count exceeds
    # n_iter_no_change (after epoch 4, then every 3 epochs) the rate is divided by 5, until it
    # is below 1e-6 and training stops
    lrs = clf.history_["lr"]
    assert lrs[:4] == [0.5] * 4 and lrs[4:7] == [pytest.approx(0.1)] * 3
    assert lrs[7] == pytest.approx(0.02)
    assert clf.n_iter_ == 4 + 3 * 9 and lrs[-1] == pytest.approx(0.5 / 5**9) and lrs[-1] <= 1e-6


def test_partial_fit_with_unsorted_classes_and_unknown_labels():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    unsorted = MLPClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01, random_state=0)
    ordered = clone(unsorted)
    for _ in range(5):
        unsorted.partial_fit(X, y, classes=[2, 0, 1])
        ordered.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(unsorted.classes_, [0, 1, 2])
    np.testing.assert_array_equal(unsorted.predict_proba(X), ordered.predict_proba(X))
    with pytest.raises(ValueError, match=r"not in `self.classes_`"):
        MLPClassifier().partial_fit(X, y, classes=[0, 1, 4])


def test_a_schedule_continues_across_partial_fit_calls():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(solver="sgd", momentum=0.0, learning_rate_init=0.1, random_state=0,
                        schedule=glassnet.schedules.StepDecay(step_size=2, gamma=0.5))
    rates = []
    for _ in range(5):
        clf.partial_fit(X, y, classes=[0, 1, 2])
        rates.append(clf.history_["lr"][0])
    np.testing.assert_allclose(rates, [0.1, 0.1, 0.05, 0.05, 0.025])


def test_an_unpickled_estimator_keeps_learning():
    import pickle
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    twin = pickle.loads(pickle.dumps(clf))
    before = twin.predict_proba(X)
    twin.partial_fit(X, y)
    assert not np.allclose(twin.predict_proba(X), before)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


@pytest.mark.parametrize("param, value", [("alpha", None), ("tol", "x"), ("power_t", -1.0),
                                          ("learning_rate_init", 0.0), ("momentum", 2.0)])
def test_bad_hyperparameters_raise_value_errors(param, value):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=param):
        MLPClassifier(**{param: value}).fit(X, y)


def _small_fitted(cls, X, y, **params):
    """A 4-unit estimator fitted for a few epochs, its ConvergenceWarning silenced."""
    est = cls(hidden_layer_sizes=(4,), random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_predict_names_the_first_row_with_nan_or_inf(cls, bad):
    """The estimators leave the NaN/inf scan of X to model_.predict, chunk by chunk: the
    error must still name the row, in the first chunk and past it."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    est = _small_fitted(cls, X, y, max_iter=5)
    for row in (3, 700):
        Xt = rng.standard_normal((1000, 3))
        Xt[row, 1] = bad
        with pytest.raises(ValueError, match=rf"X contains NaN or inf \(first at row {row}\)"):
            est.predict(Xt)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_fit_names_the_first_row_with_nan_or_inf_and_keeps_the_model(cls, bad):
    """fit and partial_fit scan X with glassnet's check (not scikit-learn's): a ValueError
    naming the row, and a fitted model left as it was."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50, 3)), rng.integers(0, 3, 50)
    est = _small_fitted(cls, X, y, max_iter=3)
    before = [W.copy() for W in est.coefs_]
    predictions = est.predict(X)
    Xbad = rng.standard_normal((50, 5))  # another width: fit would reset n_features_in_
    Xbad[17, 2] = bad
    for call, Xb in ((est.fit, Xbad), (est.fit, Xbad[:, :3]), (est.partial_fit, Xbad[:, :3])):
        with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at row 17\)"):
            call(Xb, y)
        for W, W0 in zip(est.coefs_, before):
            np.testing.assert_array_equal(W, W0)
        assert est.n_features_in_ == 3
        np.testing.assert_array_equal(est.predict(X), predictions)


@pytest.mark.parametrize("params, refit", [
    ({"activation": "swish"}, "letters"),
    ({"init": "nope"}, "five columns"),
    ({"dtype": "int8"}, "letters"),
    ({"early_stopping": True, "validation_fraction": 0.01}, "letters"),
    ({}, "negative weights"),
])
def test_a_rejected_refit_leaves_the_previous_fit_as_it_was(params, refit):
    """A refit on new labels (or a new width) that a parameter check rejects used to leave
    the new classes_ (n_features_in_) over the old model: predict then read the old network's
    outputs through the new labels, with no error. Everything up to the first epoch now
    either succeeds or changes nothing."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    est = _small_fitted(MLPClassifier, X, y, max_iter=3)
    predictions = est.predict(X)
    est.set_params(**params)
    before = dict(vars(est))
    letters = np.array(list("abc"))[y]
    with pytest.raises(ValueError):
        if refit == "letters":
            est.fit(X, letters)
        elif refit == "five columns":
            est.fit(rng.standard_normal((40, 5)), y)
        else:
            est.fit(X, letters, sample_weight=-np.ones(40))
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[k] is v for k, v in before.items())
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    np.testing.assert_array_equal(est.predict(X), predictions)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_partial_fit_refuses_early_stopping_as_scikit_learn(cls):
    """scikit-learn 1.9: partial_fit never holds out a validation set, and says so when
    early_stopping=True (it used to follow the training loss silently)."""
    from sklearn import neural_network
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((200, 4)), rng.integers(0, 3, 200)
    for estimator in (cls(hidden_layer_sizes=(5,), max_iter=5, random_state=0,
                          early_stopping=True),
                      getattr(neural_network, cls.__name__)(hidden_layer_sizes=(5,), max_iter=5,
                                                            random_state=0, early_stopping=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(X, y)
        with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
            estimator.partial_fit(X, y)


@pytest.mark.parametrize("codes", [[0, 1, 2], [5, 7, 9], [0, 1, 3], [-1, 0, 1]])
def test_integer_labels_train_the_same_whatever_their_values(codes):
    """Labels 0..K-1 index the outputs directly; any other integers are looked up among
    classes_. Both must train the same model on the same data (class k is output k)."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ref = MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0)
    other = clone(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, np.array(["a", "b", "c"])[y])  # strings: always looked up
        other.fit(X, np.array(codes)[y])
    np.testing.assert_array_equal(other.classes_, codes)
    np.testing.assert_array_equal(other.predict_proba(X), ref.predict_proba(X))


def test_multilabel_loss_sums_the_labels_log_losses_as_scikit_learn():
    """scikit-learn's multilabel objective is the binary log-loss summed over the labels (a
    mean over samples); averaging over the labels made loss_ K times smaller, alpha K times
    stronger and SGD's steps K times shorter. lr ~ 0: loss_ is the loss at the start."""
    rng = np.random.RandomState(0)
    X, Y = rng.randn(50, 4), (rng.rand(50, 5) > 0.5).astype(int)
    est = MLPClassifier(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0,
                        learning_rate_init=1e-12, batch_size=50, shuffle=False, max_iter=1,
                        random_state=0, alpha=0.0, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, Y)
    h = np.maximum(X @ est.coefs_[0] + est.intercepts_[0], 0)
    p = 1 / (1 + np.exp(-(h @ est.coefs_[1] + est.intercepts_[1])))
    by_hand = -np.mean(np.sum(Y * np.log(p) + (1 - Y) * np.log(1 - p), axis=1))
    assert est.loss_ == pytest.approx(by_hand, rel=1e-9)


def _both(name, **params):
    """glassnet's estimator and scikit-learn's, with the same parameters."""
    from sklearn import neural_network
    ours = MLPClassifier if name == "MLPClassifier" else MLPRegressor
    return ours(**params), getattr(neural_network, name)(**params)


@pytest.mark.parametrize("params", [{"n_iter_no_change": np.inf}, {"validation_fraction": 0.0}])
def test_settings_scikit_learn_accepts_are_accepted_and_stop_as_there(params):
    """tol=10: no epoch improves enough, so n_iter_no_change=10 stops at epoch 12 and inf
    never stops (all 15 epochs); validation_fraction=0 is fine without early stopping."""
    X, y = load_iris(return_X_y=True)
    runs = []
    for est in _both("MLPClassifier", hidden_layer_sizes=(5,), max_iter=15, random_state=0,
                     tol=10.0, **params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs.append(est.fit(X, y).n_iter_)
    assert runs[0] == runs[1] == (15 if "n_iter_no_change" in params else 12)


def test_one_number_as_sample_weight_weighs_every_sample_alike():
    X, y = load_iris(return_X_y=True)
    a, b = (MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0, dtype="float64")
            for _ in range(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a.fit(X, y, sample_weight=2.0)
        b.fit(X, y, sample_weight=np.full(len(X), 2.0))
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_fitted_attributes_and_refusals_follow_scikit_learn():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est in _both("MLPClassifier", hidden_layer_sizes=(5,), max_iter=3,
                         early_stopping=True, random_state=0):
            assert est.fit(X, y).best_loss_ is None  # early stopping keeps scores, not losses
        for est in _both("MLPClassifier", hidden_layer_sizes=(5,), max_iter=3, random_state=0):
            est.partial_fit(X, y, classes=[0, 1, 2])
            with pytest.raises(ValueError, match="not the same as on"):
                est.partial_fit(X, y, classes=[0, 1, 2, 3])
        for est in _both("MLPClassifier", hidden_layer_sizes=(5,), max_iter=3, random_state=0,
                         warm_start=True):
            est.fit(X, y)
            with pytest.raises(ValueError, match="warm_start"):
                est.fit(X[y < 2], y[y < 2])
    for est in _both("MLPClassifier", solver="lbfgs", hidden_layer_sizes=(5,), max_iter=2,
                     random_state=0):
        with pytest.warns(ConvergenceWarning):
            est.fit(X, y)
    for est in _both("MLPClassifier", hidden_layer_sizes=(5,), max_iter=1, batch_size=1000,
                     random_state=0):
        with pytest.warns(UserWarning, match="batch_size"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X, y)


@pytest.mark.parametrize("param, value", [("hidden_layer_sizes", None),
                                          ("hidden_layer_sizes", True), ("activation", None),
                                          ("random_state", "abc"), ("shuffle", "yes")])
def test_a_bad_parameter_is_named_as_scikit_learn_names_it(param, value):
    X, y = load_iris(return_X_y=True)
    for est in _both("MLPClassifier", max_iter=1, **{param: value}):
        with pytest.raises((ValueError, TypeError), match=param if est.__module__.startswith(
                "glassnet") else ""):
            est.fit(X, y)


def test_setting_coefs_and_intercepts_sets_the_weights_as_in_scikit_learn():
    X, y = load_iris(return_X_y=True)
    ours, theirs = _both("MLPClassifier", hidden_layer_sizes=(6,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.set_params(dtype="float64").fit(X, y)
        theirs.fit(X, y)
    ours.coefs_ = [W.copy() for W in theirs.coefs_]
    ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-12)
    with pytest.raises(ValueError, match=r"coefs_\[1\] must be finite in float64 and of "
                                         r"shape \(6, 3\)"):
        ours.coefs_ = [theirs.coefs_[0], np.zeros((6, 2))]


def test_poisson_regression_follows_scikit_learn_from_the_same_weights():
    """loss='poisson' (scikit-learn 1.7+): half the Poisson deviance with a log link, so
    predict is exp of the network's output and y must be >= 0. With scikit-learn's weights
    in glassnet's network, predictions agree, and so does the loss of one full-batch epoch at
    a learning rate of ~0 (the loss at those weights)."""
    pytest.importorskip("sklearn", minversion="1.7")  # MLPRegressor(loss="poisson")
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor
    rng = np.random.RandomState(0)
    X = rng.randn(80, 3)
    y = rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1]))
    params = dict(loss="poisson", hidden_layer_sizes=(7,), solver="sgd", momentum=0.0,
                  learning_rate_init=1e-12, batch_size=80, shuffle=False, max_iter=1,
                  random_state=0, alpha=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkMLPRegressor(**params).fit(X, y)
        ours = MLPRegressor(dtype="float64", warm_start=True, **params).fit(X, y)
        ours.coefs_, ours.intercepts_ = theirs.coefs_, theirs.intercepts_
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-12)
        ours.fit(X, y)  # one more epoch from those weights, lr ~ 0
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
    with pytest.raises(ValueError, match="y for poisson must be >= 0"):
        MLPRegressor(loss="poisson", max_iter=1).fit(X, y - 1.0)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("schedule", [{"learning_rate": "invscaling"},
                                      {"learning_rate": "adaptive", "tol": 10.0,
                                       "n_iter_no_change": 2}])
def test_sgd_momentum_with_a_changing_rate_follows_scikit_learn(schedule, nesterov):
    """scikit-learn's velocity keeps each step's own rate (v = mu v - lr g); the same
    20 epochs from the same weights must end on the same weights (they drifted apart by
    6e-2 when the new rate was applied to the whole momentum buffer)."""
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4)
    y = X @ rng.randn(4) + 0.1 * rng.randn(60)
    params = dict(hidden_layer_sizes=(7,), solver="sgd", momentum=0.9, learning_rate_init=0.01,
                  nesterovs_momentum=nesterov, batch_size=20, shuffle=False, random_state=0,
                  max_iter=1, warm_start=True, **schedule)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkMLPRegressor(**params).fit(X, y)
        ours = MLPRegressor(dtype="float64", **params).fit(X, y)
        ours.coefs_, ours.intercepts_ = theirs.coefs_, theirs.intercepts_
        for est in (theirs, ours):  # a fresh start from these weights
            est.loss_curve_, est.best_loss_, est._no_improvement_count, est.t_ = [], np.inf, 0, 0
            est.set_params(max_iter=20).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_divergence_is_a_value_error_as_in_scikit_learn():
    """scikit-learn raises ValueError for non-finite weights; glassnet's DivergenceError
    (a FloatingPointError, naming the epoch and batch) is one too."""
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor
    X, y = load_iris(return_X_y=True)
    for cls in (MLPRegressor, SkMLPRegressor):
        strict = "raise" if cls is MLPRegressor else "ignore"  # scikit-learn's overflows
        with warnings.catch_warnings(), np.errstate(all=strict):
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError):
                cls(solver="sgd", learning_rate_init=1e6, max_iter=20, random_state=0).fit(X, y)


def test_review_round_two_against_scikit_learn():
    """hidden_layer_sizes as any sequence; the clipped batch_size warning counts the rows left
    for training; a partial_fit after a fit with early stopping (then switched off) follows
    the training loss (scikit-learn 1.9.1 raises a TypeError there)."""
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in _both("MLPClassifier", hidden_layer_sizes=range(3, 5), max_iter=1,
                         random_state=0):
            assert [W.shape for W in est.fit(X, y).coefs_] == [(4, 3), (3, 4), (4, 3)]
        for est in _both("MLPClassifier", hidden_layer_sizes=(3,), max_iter=1, random_state=0,
                         early_stopping=True, batch_size=140):  # 135 rows left for training
            with pytest.warns(UserWarning, match="batch_size"):
                est.fit(X, y)
        est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0,
                            early_stopping=True).fit(X, y)
        est.set_params(early_stopping=False).partial_fit(X, y)
    assert len(est.loss_curve_) == 3 and est.best_loss_ == est.loss_curve_[-1]


def test_setting_coefs_beyond_the_models_dtype_is_refused():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=1, random_state=0,
                            dtype="float32").fit(X, y)
    before = [W.copy() for W in est.coefs_]
    with pytest.raises(ValueError, match=r"coefs_\[0\] must be finite in float32"):
        est.coefs_ = [np.full((4, 3), 1e39), before[1]]
    for W, W0 in zip(est.coefs_, before):
        np.testing.assert_array_equal(W, W0)


def test_a_rejected_refit_leaves_the_random_state_as_it_was():
    """The validation split draws from a RandomState given as random_state before a later
    check can refuse the call: the next fit must be the one it would have been."""
    X, y = load_iris(return_X_y=True)

    def params():
        return dict(hidden_layer_sizes=(5,), max_iter=2, warm_start=True,
                    early_stopping=True, random_state=np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = MLPClassifier(**params()).fit(X, y).fit(X, y)
        rejected = MLPClassifier(**params()).fit(X, y)
        state = rejected.random_state.get_state()[1].copy()
        w = np.zeros(len(X))
        w[0] = 1.0  # one weighted row: one of the two parts is left without weight
        with pytest.raises(ValueError, match="validation rows that early_stopping holds out "
                                             "carry no weight"):
            rejected.fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(rejected.random_state.get_state()[1], state)
        rejected.fit(X, y)
    np.testing.assert_array_equal(rejected.predict_proba(X), plain.predict_proba(X))


def test_ctrl_c_keeps_what_was_learnt_and_consistent_attributes(monkeypatch):
    """scikit-learn's rule for KeyboardInterrupt: a warning, and the fit returns with what it
    learnt. Interrupted inside the third epoch's callbacks (after loss_curve_ took that
    epoch's loss), the attributes describe the two epochs that ended."""
    from glassnet.sklearn._base import _Convergence
    X, y = load_iris(return_X_y=True)
    original = _Convergence.on_epoch_end

    def interrupt_at_three(self, state):
        original(self, state)
        if state.epoch == 3:
            raise KeyboardInterrupt
    monkeypatch.setattr(_Convergence, "on_epoch_end", interrupt_at_three)
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=10, random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est.fit(X, y)
    assert est.n_iter_ == len(est.loss_curve_) == len(est.history_) == 2
    assert est.loss_ == est.loss_curve_[-1] == est.history_["loss"][-1]
    assert est.t_ == 2 * len(X) and est.best_loss_ == min(est.loss_curve_)


def test_a_fit_that_diverges_leaves_attributes_of_the_epochs_that_ran():
    X, y = load_iris(return_X_y=True)
    est = MLPRegressor(solver="sgd", learning_rate_init=1e6, max_iter=20, random_state=0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        with pytest.raises(glassnet.DivergenceError):
            est.fit(X, y)
    assert est.n_iter_ == len(est.loss_curve_) == len(est.history_)
    assert np.isfinite(est.coefs_[0]).all()


def test_partial_fit_exists_only_for_stochastic_solvers_as_in_scikit_learn():
    """scikit-learn's MLPRegressor means to do the same, but its check is never called (it
    passes the method, always true), so its lbfgs partial_fit runs a whole fit: glassnet's
    regressor follows the classifier's rule."""
    for est in _both("MLPClassifier", solver="lbfgs"):
        assert not hasattr(est, "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    for est in (*_both("MLPClassifier", solver="sgd"), *_both("MLPRegressor", solver="adam")):
        assert hasattr(est, "partial_fit")


def test_prediction_dtypes_follow_scikit_learns_arithmetic():
    """float32 data and float32 weights give float32 results, as scikit-learn's MLPs fitted
    and used on float32 data; float64 data gives float64 (it used to be float64 always)."""
    X, y = load_iris(return_X_y=True)
    X32 = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X32, y)
        theirs = SkMLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X32, y)
        regressors = [est.fit(X32, X32[:, 0]) for est in _both("MLPRegressor", max_iter=2,
                                                                hidden_layer_sizes=(4,))]
    for method in ("predict_proba", "predict_log_proba"):
        assert getattr(ours, method)(X32).dtype == getattr(theirs, method)(X32).dtype == np.float32
        assert getattr(ours, method)(X).dtype == np.float64
    assert regressors[0].predict(X32).dtype == regressors[1].predict(X32).dtype == np.float32


def test_after_a_divergent_partial_fit_the_next_ones_train():
    """The guard restores the weights and the optimizer starts afresh: its momentum had
    taken in the overflowing gradient, and every later partial_fit diverged from it."""
    rng = np.random.RandomState(0)
    X = rng.randn(200, 4)
    y = X @ [1.0, -2.0, 0.5, 3.0]
    est = MLPRegressor(solver="sgd", momentum=0.9, learning_rate_init=0.01, random_state=0,
                       hidden_layer_sizes=(16,), batch_size=20)
    for _ in range(3):
        est.partial_fit(X, y)
    y_bad = y.copy()
    y_bad[100:] = 1e17
    with np.errstate(all="ignore"), pytest.raises(glassnet.DivergenceError):
        est.partial_fit(X, y_bad)
    for _ in range(5):
        est.partial_fit(X, y)
    assert np.isfinite(est.loss_) and est.loss_ < est.loss_curve_[0]


def test_multi_output_poisson_follows_scikit_learn():
    """scikit-learn's poisson sums over the outputs (value and gradient): from the same
    weights, five SGD epochs end on the same weights and losses."""
    pytest.importorskip("sklearn", minversion="1.7")  # MLPRegressor(loss="poisson")
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    Y = rng.poisson(np.exp(np.c_[0.4 * X[:, 0], -0.3 * X[:, 1]]))
    params = dict(loss="poisson", hidden_layer_sizes=(5,), solver="sgd", momentum=0.0,
                  learning_rate_init=0.01, batch_size=20, shuffle=False, random_state=0,
                  max_iter=1, warm_start=True, alpha=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkMLPRegressor(**params).fit(X, Y)
        ours = MLPRegressor(dtype="float64", **params).fit(X, Y)
        ours.coefs_, ours.intercepts_ = theirs.coefs_, theirs.intercepts_
        for est in (theirs, ours):
            est.set_params(max_iter=5).fit(X, Y)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-10)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "elu"])  # scikit-learn's L-BFGS, glassnet's
def test_ctrl_c_in_lbfgs_is_raised_as_in_scikit_learn(monkeypatch, activation):
    import scipy.optimize

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(scipy.optimize, "minimize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        MLPClassifier(solver="lbfgs", activation=activation,
                      max_iter=5).fit(*load_iris(return_X_y=True))


def test_partial_fit_follows_the_optimizer_actually_used():
    from glassnet.optim import LBFGS, SGD
    assert not hasattr(MLPClassifier(optimizer=LBFGS()), "partial_fit")
    assert hasattr(MLPClassifier(solver="lbfgs", optimizer=SGD(0.1)), "partial_fit")


def test_sgd_set_lr_keeps_scikit_learns_velocity_by_hand():
    """SGD.set_lr(rescale_momentum=True): b = b * lr_old / lr, so that the velocity
    v = -lr * b is what scikit-learn's v = momentum * v - lr * g would hold."""
    from glassnet.optim import SGD
    p, g = np.array([1.0]), np.array([0.5])
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step([p], [g])  # b = g = 0.5; p = 1 - 0.1 * 0.5 = 0.95 (v = -0.05)
    opt.set_lr(0.05, rescale_momentum=True)  # b = 0.5 * 0.1 / 0.05 = 1.0
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], [1.0])
    opt.step([p], [g])  # b = 0.9 * 1.0 + 0.5 = 1.4; p = 0.95 - 0.05 * 1.4 = 0.88
    # scikit-learn: v = 0.9 * (-0.05) - 0.05 * 0.5 = -0.07; p = 0.95 - 0.07 = 0.88
    np.testing.assert_allclose(p, [0.88], rtol=1e-12)
    opt.set_lr(0.1)  # torch's way: only the rate changes
    assert opt.lr == 0.1
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], [1.4])
    with pytest.raises(ValueError, match="lr must be > 0"):
        opt.set_lr(0.0)


def test_the_parameter_table_holds_every_scikit_learn_parameter():
    """Each estimator checks its parameters from one table, name -> constraint; scikit-
    learn's own table names the same parameters (verbose aside: any value works)."""
    from sklearn import neural_network
    for ours in (MLPClassifier, MLPRegressor):
        theirs = getattr(neural_network, ours.__name__)
        assert set(theirs._parameter_constraints) - set(ours._parameters) == {"verbose"}


@pytest.mark.parametrize("cls, name", [(cls, name) for cls in (MLPClassifier, MLPRegressor)
                                       for name in cls._parameters])
def test_every_checked_parameter_names_itself_when_refused(cls, name):
    X, y = load_iris(return_X_y=True)
    est = cls(**{"max_iter": 1, name: object()})
    with pytest.raises(ValueError, match=f"^{name}"):
        est.fit(X, y)
    assert not hasattr(est, "model_")


def _documented(cls, section):
    """The names a numpydoc section of ``cls``'s docstring lists ('a, b : ...' lists two)."""
    lines = cls.__doc__.split(f"\n    {section}\n    {'-' * len(section)}\n")[1].split("\n\n    ")
    names = []
    for line in lines[0].splitlines():
        if line.startswith("    ") and not line.startswith("     ") and " : " in line:
            names += [n.strip() for n in line.split(" : ")[0].split(",")]
    return names


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_the_docstrings_document_every_parameter_and_fitted_attribute(cls):
    X, y = load_iris(return_X_y=True)
    import inspect
    signature = list(inspect.signature(cls).parameters)
    assert _documented(cls, "Parameters") == signature  # in the signature's order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = cls(hidden_layer_sizes=(3,), max_iter=2, early_stopping=True).fit(X, y)
    fitted = {name for name in dir(est) if name.endswith("_") and not name.startswith("_")
              and not name.endswith("__")}
    assert fitted - {"feature_names_in_"} <= set(_documented(cls, "Attributes"))
    for section in ("See Also", "Notes", "Examples"):
        assert f"\n    {section}\n    {'-' * len(section)}\n" in cls.__doc__


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_the_docstring_examples_run(cls):
    import doctest
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for test in doctest.DocTestFinder(recurse=False).find(cls):
            runner.run(test)
    assert runner.summarize(verbose=False).attempted > 0
    assert runner.summarize(verbose=False).failed == 0


def test_the_rule_reads_and_the_attributes_follow_the_history(monkeypatch):
    """The stopping rule's callback never writes the estimator: during a warm-started fit
    the attributes stay those of the last fit, and afterwards they are extended by the
    History of this one."""
    from glassnet.sklearn._base import _Convergence
    X, y = load_iris(return_X_y=True)
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        first = (list(est.loss_curve_), est.t_, est.best_loss_, est.n_iter_)
        seen = []
        original = _Convergence.on_epoch_end

        def watch(self, state):
            original(self, state)
            seen.append((list(est.loss_curve_), est.t_, est.best_loss_, est.n_iter_))
        monkeypatch.setattr(_Convergence, "on_epoch_end", watch)
        est.fit(X, y)
    assert seen == [first] * 3
    assert est.loss_curve_ == first[0] + est.history_["loss"] and est.t_ == 6 * len(X)
    assert est.best_loss_ == min(est.loss_curve_) and est.n_iter_ == 3


@pytest.mark.parametrize("rule", [{"learning_rate": "adaptive"}, {"learning_rate": "invscaling"},
                                  {"learning_rate": "adaptive", "early_stopping": True}])
def test_warm_start_and_partial_fit_resume_the_rule_as_scikit_learn(rule):
    """tol=10: no epoch after the first improves, whatever the weights, so the count of
    epochs without improvement, the stops, t_ and the learning rate can be compared call by
    call with scikit-learn's across warm-started fits, then partial_fit calls."""
    X, y = load_iris(return_X_y=True)
    runs = []
    for est in _both("MLPClassifier", hidden_layer_sizes=(4,), solver="sgd", tol=10.0,
                     n_iter_no_change=2, max_iter=4, warm_start=True, random_state=0,
                     learning_rate_init=0.01, **rule):
        calls = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(3):
                est.fit(X, y)
                calls.append(est.n_iter_)
            for _ in range(0 if est.early_stopping else 4):  # scikit-learn 1.9.1 raises a
                est.partial_fit(X, y)  # TypeError after a fit with early stopping
        lr = getattr(est._optimizer, "lr", getattr(est._optimizer, "learning_rate", None))
        runs.append((calls, len(est.loss_curve_), est.t_, est._no_improvement_count,
                     pytest.approx(lr, rel=1e-12)))
    assert runs[0] == runs[1]
