"""Saving and loading fitted estimators (issue 17 item 1): ``glassnet.save`` / ``glassnet.load``
of ``MLPClassifier`` and ``MLPRegressor``, checked against the estimator that was saved."""

import json
import warnings

import numpy as np
import pytest
import safetensors.numpy
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import glassnet
from glassnet import MLPClassifier, MLPRegressor, ModelFileError

try:
    import pandas as pd
except ImportError:  # an optional dependency: the DataFrame cases are left out
    pd = None

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 4))
Y_INT = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)  # 0, 1, 2
Y_STR = np.array(["cat", "dog", "emu"])[Y_INT]
Y_BIN = np.where(X[:, 0] > 0, 7, -3)
Y_FLOAT = Y_INT.astype(np.float64) * 2.0  # 0.0, 2.0, 4.0: integral floats are classes
Y_BOOL = X[:, 1] > 0
Y_MULTI = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0], axis=1).astype(int)
Y_REG = X @ np.array([1.0, -2.0, 0.5, 0.0])
Y_REG2 = np.stack([Y_REG, X[:, 0] ** 2], axis=1)
Y_COUNT = rng.poisson(np.exp(0.3 * X[:, 0]))

SMALL = dict(hidden_layer_sizes=(6,), max_iter=8, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def round_trip(estimator, tmp_path):
    path = tmp_path / "estimator.safetensors"
    glassnet.save(estimator, path)
    return glassnet.load(path)


CASES = {
    "int_labels": (lambda: MLPClassifier(**SMALL), X, Y_INT),
    "string_labels": (lambda: MLPClassifier(**SMALL), X, Y_STR),
    "object_labels": (lambda: MLPClassifier(**SMALL), X, Y_STR.astype(object)),
    "binary": (lambda: MLPClassifier(**SMALL), X, Y_BIN),
    "float_labels": (lambda: MLPClassifier(**SMALL), X, Y_FLOAT),
    "bool_labels": (lambda: MLPClassifier(**SMALL), X, Y_BOOL),
    "multilabel": (lambda: MLPClassifier(**SMALL), X, Y_MULTI),
    "float64": (lambda: MLPClassifier(**SMALL, dtype="float64"), X, Y_INT),
    "float32_input": (lambda: MLPClassifier(**SMALL), X.astype(np.float32), Y_INT),
    "sgd_dropout": (lambda: MLPClassifier(**SMALL, solver="sgd", dropout=0.3,
                                          learning_rate="adaptive"), X, Y_INT),
    "lbfgs": (lambda: MLPClassifier(**SMALL, solver="lbfgs"), X, Y_INT),
    "early_stopping": (lambda: MLPClassifier(**SMALL, early_stopping=True), X, Y_INT),
    "class_weight": (lambda: MLPClassifier(**SMALL, class_weight={0: 1.0, 1: 2.0, 2: 0.5}),
                     X, Y_INT),
    "schedule": (lambda: MLPClassifier(**SMALL, schedule="plateau"), X, Y_INT),
    "regressor": (lambda: MLPRegressor(**SMALL), X, Y_REG),
    "regressor_float64": (lambda: MLPRegressor(**SMALL, dtype="float64"), X, Y_REG),
    "multi_output": (lambda: MLPRegressor(**SMALL), X, Y_REG2),
    "poisson": (lambda: MLPRegressor(**SMALL, loss="poisson"), X, Y_COUNT),
    "regressor_early_stopping": (lambda: MLPRegressor(**SMALL, early_stopping=True,
                                                      n_iter_no_change=np.inf), X, Y_REG),
}
if pd is not None:  # feature_names_in_ from a DataFrame's columns
    CASES["dataframe"] = (lambda: MLPClassifier(**SMALL),
                          pd.DataFrame(X, columns=["a", "b", "c", "d"]), Y_INT)
    CASES["regressor_dataframe"] = (lambda: MLPRegressor(**SMALL),
                                    pd.DataFrame(X, columns=["a", "b", "c", "d"]), Y_REG)


@pytest.mark.parametrize("case", CASES)
def test_predictions_are_bit_identical(case, tmp_path):
    make, X_, y = CASES[case]
    original = make().fit(X_, y)
    loaded = round_trip(original, tmp_path)
    assert type(loaded) is type(original)
    assert loaded.get_params() == original.get_params()
    for method in ("predict", "predict_proba", "predict_log_proba"):
        if hasattr(original, method):
            want, got = getattr(original, method)(X_), getattr(loaded, method)(X_)
            assert got.dtype == want.dtype and np.array_equal(got, want)
    assert loaded.score(X_, y) == original.score(X_, y)
    for name in ("n_features_in_", "n_outputs_", "out_activation_", "loss_", "loss_curve_",
                 "best_loss_", "validation_scores_", "best_validation_score_", "n_iter_",
                 "t_", "_no_improvement_count"):
        assert getattr(loaded, name) == getattr(original, name), name
    if hasattr(original, "classes_"):
        assert loaded.classes_.dtype == original.classes_.dtype
        assert np.array_equal(loaded.classes_, original.classes_)
    if hasattr(original, "feature_names_in_"):
        assert list(loaded.feature_names_in_) == ["a", "b", "c", "d"]
        with pytest.warns(UserWarning, match="feature names"):
            loaded.predict(X)  # scikit-learn's check of the names still applies
    assert loaded.history_.history == original.history_.history


PARTIAL = {
    "sgd_momentum": dict(solver="sgd", momentum=0.9, learning_rate_init=0.05),
    "sgd_dropout_invscaling": dict(solver="sgd", momentum=0.5, dropout=0.2,
                                   learning_rate="invscaling", learning_rate_init=0.1),
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "adam_schedule": dict(solver="adam", schedule="invscaling", learning_rate_init=0.01),
}


@pytest.mark.parametrize("estimator_class, y", [(MLPClassifier, Y_STR), (MLPRegressor, Y_REG)],
                         ids=["classifier", "regressor"])
@pytest.mark.parametrize("settings", PARTIAL)
def test_partial_fit_continues_exactly(estimator_class, y, settings, tmp_path):
    original = estimator_class(**SMALL, batch_size=16, **PARTIAL[settings]).fit(X, y)
    loaded = round_trip(original, tmp_path)
    for _ in range(3):
        original.partial_fit(X, y)
        loaded.partial_fit(X, y)
    for a, b in zip(original.coefs_ + original.intercepts_, loaded.coefs_ + loaded.intercepts_):
        assert np.array_equal(a, b)
    assert loaded.loss_curve_ == original.loss_curve_ and loaded.t_ == original.t_


def test_partial_fit_from_a_partial_fit(tmp_path):
    """An estimator started by partial_fit (classes given) saves and continues too."""
    original = MLPClassifier(**SMALL, solver="sgd")
    original.partial_fit(X[:30], Y_INT[:30], classes=[0, 1, 2, 3])
    loaded = round_trip(original, tmp_path)
    assert list(loaded.classes_) == [0, 1, 2, 3]
    for _ in range(3):
        original.partial_fit(X, Y_INT)
        loaded.partial_fit(X, Y_INT)
    assert all(np.array_equal(a, b) for a, b in zip(original.coefs_, loaded.coefs_))


@pytest.mark.parametrize("settings", [dict(solver="adam"), dict(solver="sgd", dropout=0.2),
                                      dict(solver="adam", early_stopping=True)])
def test_warm_start_refit_equals_the_original(settings, tmp_path):
    original = MLPClassifier(**SMALL, warm_start=True, **settings).fit(X, Y_INT)
    loaded = round_trip(original, tmp_path)
    original.fit(X, Y_INT)
    loaded.fit(X, Y_INT)
    assert all(np.array_equal(a, b) for a, b in zip(original.coefs_, loaded.coefs_))
    assert loaded.loss_curve_ == original.loss_curve_


def test_refit_without_warm_start_equals_the_original(tmp_path):
    original = MLPRegressor(**SMALL).fit(X, Y_REG)
    loaded = round_trip(original, tmp_path)
    assert all(np.array_equal(a, b) for a, b in
               zip(original.fit(X, Y_REG).coefs_, loaded.fit(X, Y_REG).coefs_))


# -- what save refuses ----------------------------------------------------------------------
def test_unfitted_estimator_is_refused(tmp_path):
    path = tmp_path / "never.safetensors"
    with pytest.raises(NotFittedError, match="cannot save an unfitted MLPClassifier"):
        glassnet.save(MLPClassifier(), path)
    assert not path.exists()


@pytest.mark.parametrize("params, match", [
    (dict(optimizer=glassnet.optim.Adam(0.01)), "optimizer=.*pass the optimizer's name"),
    (dict(schedule=glassnet.schedules.Exponential(0.9)), "schedule=.*name instead"),
    (dict(random_state=np.random.RandomState(0)), "random_state=.*pass an int"),
])
def test_objects_among_the_params_are_refused(params, match, tmp_path):
    estimator = MLPClassifier(**{**SMALL, **params}).fit(X, Y_INT)
    with pytest.raises(ValueError, match=match):
        glassnet.save(estimator, tmp_path / "refused.safetensors")


def test_names_stand_in_for_objects(tmp_path):
    original = MLPClassifier(**SMALL, optimizer="rmsprop", schedule="invscaling").fit(X, Y_INT)
    loaded = round_trip(original, tmp_path)
    assert np.array_equal(loaded.predict_proba(X), original.predict_proba(X))
    assert type(loaded._optimizer) is glassnet.optim.RMSprop


# -- what load refuses ----------------------------------------------------------------------
def _rewrite(path, edit):
    """Read a saved file, let ``edit(document, tensors)`` change it, write it back."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    document = json.loads(header["__metadata__"]["glassnet"])
    tensors = dict(safetensors.numpy.load_file(str(path)))
    edit(document, tensors)
    text = json.dumps(document)
    path.write_bytes(safetensors.numpy.save(tensors, metadata={"glassnet": text}))


def _set(*keys_value):
    *keys, value = keys_value

    def edit(document, tensors):
        obj = document
        for key in keys[:-1]:
            obj = obj[key]
        obj[keys[-1]] = value
    return edit


def _drop_class(document, tensors):
    tensors["estimator.classes_"] = tensors["estimator.classes_"][:2].copy()


CORRUPT = {
    "unknown_key": (_set("estimator", "fitted", "surprise", 1), "unknown key.*'surprise'"),
    "unknown_param": (_set("estimator", "params", "lr", 1), "params has unknown key"),
    "unknown_kind": (_set("kind", "pipeline"), "unknown kind 'pipeline'"),
    "unknown_class": (_set("estimator", "class", "os.system"), "unknown estimator class"),
    "classes_count": (_drop_class, "estimator.classes_ has shape"),
    "string_classes_count": (_set("estimator", "fitted", "classes_",
                                  {"dtype": "str", "values": ["a", "b"]}),
                             "2 labels but the model's 3 outputs give 3"),
    "n_features_in": (_set("estimator", "fitted", "n_features_in_", 5),
                      "n_features_in_ is 5 but the first layer takes 4"),
    "feature_names": (_set("estimator", "fitted", "feature_names_in_", ["a"]),
                      "feature_names_in_ must be null or 4 strings"),
    "loss_curve_inf": (_set("estimator", "fitted", "loss_curve_", [1.0, float("inf")]),
                       "holds Infinity, which strict JSON does not allow"),
    "loss_curve_string": (_set("estimator", "fitted", "loss_curve_", [1.0, "nan"]),
                          r"loss_curve_\[1\] must be a finite number"),
    "optimizer_type": (_set("estimator", "optimizer", "type", "subprocess"),
                       "optimizer.type 'subprocess' is not one of"),
    "optimizer_slot": (_set("estimator", "optimizer", "slots", ["0.exp_avg", "0.evil"]),
                       "'0.evil' is not '0.<slot>'"),
    "optimizer_config": (_set("estimator", "optimizer", "config", "eps", -1.0),
                         "optimizer.config"),
    "param_value": (_set("estimator", "params", "alpha", -1.0), "params: alpha"),
    "param_object": (_set("estimator", "params", "tol", {"x": 1}), "params.tol must be"),
    "dtype_mismatch": (_set("estimator", "params", "dtype", "float32"),
                       "params.dtype is 'float32' but the model is float64"),
    "hidden_widths": (_set("estimator", "params", "hidden_layer_sizes", [7]),
                      "hidden widths"),
    "out_activation": (_set("estimator", "fitted", "out_activation_", "logistic"),
                       "out_activation_ must be 'softmax'"),
    "generator": (_set("estimator", "random", "estimator", {"bit_generator": "MT19937"}),
                  "random has unknown key"),
    "schedule_without_param": (_set("estimator", "schedule", {"lr": 0.1}),
                               "params.schedule is null"),
    "negative_t": (_set("estimator", "fitted", "t_", -1), "t_ must be an int >= 0"),
}


@pytest.mark.parametrize("case", CORRUPT)
def test_corrupted_files_raise_model_file_error(case, tmp_path):
    path = tmp_path / "estimator.safetensors"
    glassnet.save(MLPClassifier(**SMALL).fit(X, Y_INT), path)
    edit, match = CORRUPT[case]
    _rewrite(path, edit)
    with pytest.raises(ModelFileError, match=match):
        glassnet.load(path)
    with pytest.raises(ModelFileError):
        glassnet.io.read_info(path)


def test_nan_in_optimizer_state_is_refused(tmp_path):
    path = tmp_path / "estimator.safetensors"
    glassnet.save(MLPClassifier(**SMALL).fit(X, Y_INT), path)

    def poison(document, tensors):
        tensors["optimizer.0.exp_avg"][3] = np.nan
    _rewrite(path, poison)
    with pytest.raises(ModelFileError, match="optimizer.0.exp_avg holds NaN"):
        glassnet.load(path)


def test_a_model_file_still_loads_as_a_model(tmp_path):
    estimator = MLPClassifier(**SMALL).fit(X, Y_INT)
    path = tmp_path / "model.safetensors"
    glassnet.save(estimator.model_, path)
    model = glassnet.load(path)
    assert type(model) is glassnet.Sequential
    assert np.array_equal(model.predict(X), estimator.model_.predict(X))


def test_inspect_shows_the_estimator(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "estimator.safetensors"
    glassnet.save(MLPRegressor(**SMALL).fit(X, Y_REG), path)
    out = subprocess.run([sys.executable, "-m", "glassnet", "inspect", str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert "kind: estimator" in out
    assert ("estimator: MLPRegressor, 4 features, optimizer scikit_learn_adam, 8 epochs"
            in out)
