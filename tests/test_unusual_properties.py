"""Property-based: unusual inputs to the estimators and to ``glassnet.fit`` either train to
finite weights or raise a ValueError/TypeError that names the argument; a call that fails
leaves a fitted estimator's or model's predictions as they were; NumPy never warns.

The inputs (Hypothesis): shapes from 1 row and 1 column; dtypes float16/32/64, int8, bool,
object, complex; values 0, +-1, NaN, +-inf, the smallest subnormal, +-1e38, +-1e300; labels of
one to three classes; sample weights among the same values.
"""

import warnings

import numpy as np
import pytest

import glassnet

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed: the "
                                                      "property tests do not run")
sklearn_exceptions = pytest.importorskip("sklearn.exceptions", reason="scikit-learn is not "
                                                                      "installed")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

VALUES = [0.0, 1.0, -1.0, 0.5, np.nan, np.inf, -np.inf, 5e-324, 1e38, -1e38, 1e300, -1e300]
DTYPES = [np.float16, np.float32, np.float64, np.int8, np.bool_, object, np.complex128]
NAMES = ("X", "y", "sample_weight", "label", "class", "target")
SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def arrays(draw, shape):
    """An array of ``shape`` in one of DTYPES, its values from VALUES (cast as NumPy casts,
    NaN and inf to int8 or bool made 0 first: the cast itself is not under test)."""
    values = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from(VALUES)))
    dtype = draw(st.sampled_from(DTYPES))
    if dtype in (np.int8, np.bool_):
        values = np.where(np.isfinite(values) & (np.abs(values) < 100), values, 0.0)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        return values.astype(dtype)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 10))
    d = draw(st.integers(1, 3))
    X = draw(arrays((n, d)))
    y = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    weights = draw(st.none() | arrays((n,)))
    return X, np.array(y), weights


def named(exc: BaseException) -> bool:
    return isinstance(exc, (ValueError, TypeError)) and any(n in str(exc) for n in NAMES)


def quiet():
    """Warnings as errors, but scikit-learn's ConvergenceWarning and glassnet's
    DataConversionWarning (both expected of short fits on odd data)."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("error")
    warnings.simplefilter("ignore", sklearn_exceptions.ConvergenceWarning)
    warnings.simplefilter("ignore", glassnet.DataConversionWarning)
    return context


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 3, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn_exceptions.ConvergenceWarning)
        estimator = glassnet.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5,
                                           random_state=0).fit(X, y)
    return estimator, X


@SETTINGS
@given(problems())
def test_estimator_partial_fit_trains_finite_or_names_the_argument(fitted, problem):
    estimator, X_ref = fitted
    X, y, weights = problem
    before = estimator.predict_proba(X_ref)
    import copy
    candidate = copy.deepcopy(estimator)
    context = quiet()
    try:
        candidate.partial_fit(X, y % 3, sample_weight=weights)
    except (ValueError, TypeError) as exc:
        assert named(exc), repr(exc)
        np.testing.assert_array_equal(candidate.predict_proba(X_ref), before)
        return
    finally:
        context.__exit__(None, None, None)
    assert all(np.isfinite(c).all() for c in candidate.coefs_)


@pytest.mark.parametrize("dtype", ["auto", "float32"])
@SETTINGS
@given(problem=problems())
def test_estimator_fit_trains_finite_or_names_the_argument(dtype, problem):
    X, y, weights = problem
    estimator = glassnet.MLPClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0,
                                       dtype=dtype)
    context = quiet()
    try:
        estimator.fit(X, y, sample_weight=weights)
    except (ValueError, TypeError) as exc:
        assert named(exc), repr(exc)
        return
    finally:
        context.__exit__(None, None, None)
    assert all(np.isfinite(c).all() for c in estimator.coefs_)


@SETTINGS
@given(problems())
def test_glassnet_fit_trains_finite_or_names_the_argument_and_keeps_the_model(problem):
    X, y, weights = problem
    model = glassnet.MLP([X.shape[1], 4, 3], dtype="float32", seed=0)
    probe = np.linspace(-1, 1, 3 * X.shape[1]).reshape(3, X.shape[1])
    before = model.predict(probe)
    context = quiet()
    try:
        glassnet.fit(model, X, y, epochs=2, batch_size=4, sample_weight=weights, seed=0)
    except (ValueError, TypeError) as exc:  # DivergenceError is a ValueError too
        assert named(exc) or isinstance(exc, glassnet.DivergenceError), repr(exc)
        np.testing.assert_array_equal(model.predict(probe), before)
        return
    finally:
        context.__exit__(None, None, None)
    assert np.isfinite(model.flat_params).all()
