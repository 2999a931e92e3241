"""Unusual input to ``fit``, ``evaluate``, the model and the estimators is refused with an
error that names the argument, instead of being silently misread or blamed on the learning
rate (issue 23, "Nothing silent, nothing lost")."""

import warnings

import numpy as np
import pytest

import glassnet

rng = np.random.default_rng(0)
X = rng.normal(size=(20, 2))
Y_REG = rng.normal(size=20)
Y_CLS = (X[:, 0] > 0).astype(int)


def regressor(dtype="float32"):
    return glassnet.MLP([2, 3, 1], dtype=dtype, seed=0)


def classifier():
    return glassnet.MLP([2, 3, 2], seed=0)


@pytest.fixture
def no_warnings():
    """Fail on any warning (NumPy's overflow or ComplexWarning): the error comes first."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# item 3: finite in float64, infinite in float32

def big_X(row=3):
    Xb = X.copy()
    Xb[row] *= 1e300
    return Xb


RANGE_X = r"\bX\b.*float32's range.*row 3.*dtype='float64'.*scale"


@pytest.mark.parametrize("call", [
    lambda: glassnet.fit(regressor(), big_X(), Y_REG, loss="mse", epochs=1),
    lambda: glassnet.evaluate(regressor(), big_X(), Y_REG, loss="mse"),
    lambda: regressor().forward(big_X()),
    lambda: regressor().predict(big_X()),
    lambda: regressor().predict(big_X(), check_input=False),
    lambda: glassnet.MLPRegressor(dtype="float32", max_iter=2).fit(big_X(), Y_REG),
], ids=["fit", "evaluate", "forward", "predict", "predict-unchecked", "MLPRegressor"])
def test_X_beyond_float32s_range_is_refused_naming_X_and_its_row(call, no_warnings):
    with pytest.raises(ValueError, match=RANGE_X):
        call()


def test_sparse_X_beyond_float32s_range_is_refused_naming_X_and_its_row(no_warnings):
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(ValueError, match=RANGE_X):
        regressor().predict(sp.csr_matrix(big_X()), check_input=False)


def big_y(value, row=5):
    y = Y_REG.copy()
    y[row] = value
    return y


RANGE_Y = r"\by\b.*row 5.*float32's range.*dtype='float64'.*scale"


@pytest.mark.parametrize("value", [1e40, 1e20], ids=["beyond-float32", "square-beyond"])
@pytest.mark.parametrize("call", [
    lambda y: glassnet.fit(regressor(), X, y, loss="mse", epochs=1),
    lambda y: next(glassnet.fit_iter(regressor(), X, y, loss="squared_error", epochs=1)),
    lambda y: glassnet.evaluate(regressor(), X, y, loss="mse"),
    lambda y: glassnet.MLPRegressor(dtype="float32", max_iter=2).fit(X, y),
], ids=["fit", "fit_iter", "evaluate", "MLPRegressor"])
def test_y_beyond_float32s_range_is_refused_naming_y_and_its_row(call, value, no_warnings):
    with pytest.raises(ValueError, match=RANGE_Y):
        call(big_y(value))


def test_the_regressor_with_targets_of_1e20_is_refused_not_called_divergent(no_warnings):
    with pytest.raises(ValueError, match=r"\by\b.*float32's range"):
        glassnet.MLPRegressor(dtype="float32", max_iter=2).fit(X, Y_REG * 1e20)


def test_large_values_a_float32_model_can_hold_still_train():
    # 1e20 is no square in MAE, and a float64 model holds the square of 1e20
    glassnet.fit(regressor(), X, big_y(1e20), loss="mae", epochs=1)
    glassnet.fit(regressor("float64"), X, big_y(1e40), loss="mae", epochs=1)
    Xb = X.copy()
    Xb[3] *= 1e30  # within float32's range
    assert np.isfinite(regressor().predict(Xb)).all()


def test_a_nan_in_y_is_still_called_nan_not_out_of_range():
    with pytest.raises(ValueError, match=r"y contains NaN or inf \(first at row 5\)"):
        glassnet.fit(regressor(), X, big_y(np.nan), loss="mse", epochs=1)


# item 4: complex X

COMPLEX_X = r"\bX\b.*complex"


@pytest.mark.parametrize("Xc", [X + 1j, (X + 0j).tolist()], ids=["array", "list"])
@pytest.mark.parametrize("call", [
    lambda Xc: classifier().forward(Xc),
    lambda Xc: classifier().predict(Xc),
    lambda Xc: glassnet.fit(classifier(), Xc, Y_CLS, epochs=1),
    lambda Xc: glassnet.evaluate(classifier(), Xc, Y_CLS),
], ids=["forward", "predict", "fit", "evaluate"])
def test_complex_X_is_refused_naming_X(call, Xc, no_warnings):
    with pytest.raises(ValueError, match=COMPLEX_X):
        call(Xc)


def test_complex_sparse_X_is_refused_naming_X(no_warnings):
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(ValueError, match=COMPLEX_X):
        classifier().predict(sp.csr_matrix(X + 1j))


# item 5: a callback that is not one

@pytest.mark.parametrize("callbacks, pattern", [
    ([lambda state: None], r"callbacks\[0\] is a function.*LambdaCallback\(on_epoch_end="),
    ([glassnet.StopOnDivergence(), glassnet.EarlyStopping],
     r"callbacks\[1\] is the class EarlyStopping, not an instance.*EarlyStopping\(\)"),
    (glassnet.EarlyStopping(), r"callbacks must be a list.*got one EarlyStopping.*"
                               r"callbacks=\[EarlyStopping\(...\)\]"),
    ([object()], r"callbacks\[0\] is an object.*no on_\* method"),
    (5, r"callbacks must be a list of callbacks, got 5"),
])
def test_a_callback_that_is_not_one_is_refused_naming_it(callbacks, pattern):
    with pytest.raises(TypeError, match=pattern) as info:
        glassnet.fit(classifier(), X, Y_CLS, epochs=1, callbacks=callbacks)
    # each error says what a callback is
    assert "glassnet.Callback" in str(info.value)
    assert "on_epoch_end" in str(info.value)


def test_a_duck_typed_callback_with_one_hook_is_called():
    class Counter:
        calls = 0

        def on_epoch_end(self, state):
            self.calls += 1

    counter = Counter()
    glassnet.fit(classifier(), X, Y_CLS, epochs=2, callbacks=[counter])
    assert counter.calls == 2


# item 8: scikit-learn's order of the arguments

@pytest.mark.parametrize("call, name", [
    (lambda m: glassnet.fit(X, Y_CLS, m, epochs=1), "fit"),
    (lambda m: glassnet.fit_iter(X, Y_CLS, m, epochs=1), "fit_iter"),
    (lambda m: glassnet.evaluate(X, Y_CLS, m), "evaluate"),
    (lambda m: glassnet.fit(X, m, Y_CLS, epochs=1), "fit"),
])
def test_the_model_after_the_data_is_refused_saying_it_comes_first(call, name):
    with pytest.raises(TypeError, match=rf"the model comes first: glassnet\.{name}\(model, X, y"):
        call(classifier())


def test_something_else_than_a_model_is_refused_naming_model():
    with pytest.raises(TypeError, match=r"model must be a glassnet model.*got ndarray"):
        glassnet.fit(X, X, Y_CLS, epochs=1)


# item 9: seeds NumPy's message would not name

@pytest.mark.parametrize("seed", [-1, np.int64(-3), 1.5, "abc", True, [1, 2]])
def test_a_bad_seed_is_refused_naming_seed_and_what_it_takes(seed):
    with pytest.raises(ValueError, match=r"seed must be None, an int or a numpy Generator, "
                                         r"got .*RandomState") as info:
        glassnet.MLP([2, 3], seed=seed)
    assert repr(seed) in str(info.value)


@pytest.mark.parametrize("seed", [0, 2**32 - 1, 2**70, np.uint64(7),
                                  np.random.default_rng(1), np.random.RandomState(1)])
def test_every_seed_numpy_takes_builds_a_reproducible_model(seed):
    model = glassnet.MLP([2, 3], seed=seed)
    assert np.isfinite(model.flat_params).all()
    if isinstance(seed, (int, np.integer)):
        np.testing.assert_array_equal(model.flat_params,
                                      glassnet.MLP([2, 3], seed=seed).flat_params)
