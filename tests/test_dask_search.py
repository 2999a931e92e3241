"""glassnet's scikit-learn estimators with Dask: Dask collections as input (converted to NumPy
by scikit-learn's ``validate_data``, so the same fit as on the arrays in memory; ``partial_fit``
over the blocks of a Dask array for data larger than memory), and ``GridSearchCV`` /
``RandomizedSearchCV`` on joblib's Dask backend, on a local cluster of two worker processes,
compared with the same search on the default backend."""

import warnings

import numpy as np
import pytest

dask = pytest.importorskip(
    "dask", reason="Dask is not installed: the tests of glassnet's estimators with Dask "
                   "collections and the Dask joblib backend are skipped "
                   "(pip install 'glassnet[dask]' to run them)")
distributed = pytest.importorskip(
    "distributed", reason="Dask's distributed scheduler is not installed: the tests of the "
                          "Dask joblib backend are skipped (pip install 'glassnet[dask]')")
joblib = pytest.importorskip("joblib", reason="joblib is not installed")
pytest.importorskip("sklearn", reason="scikit-learn is not installed: the estimators and "
                                      "their searches are not available")
pd = pytest.importorskip("pandas", reason="pandas is not installed: the Dask DataFrame "
                                          "test is skipped")

import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster, get_task_stream  # noqa: E402
from scipy.stats import loguniform  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier  # noqa: E402

import glassnet  # noqa: E402

# the short fits below stop at max_iter on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def parallel_config_or_skip():
    """``joblib.parallel_config`` (joblib >= 1.3), or skip with the reason."""
    if not hasattr(joblib, "parallel_config"):
        pytest.skip(f"joblib {joblib.__version__} has no parallel_config (joblib >= 1.3): "
                    "the searches on the Dask backend are skipped")
    return joblib.parallel_config


@pytest.fixture(scope="module")
def client():
    """A local cluster of two single-threaded worker processes, and its client (the default
    client while the module runs), both closed at the end."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a port in use: the cluster picks another
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    try:
        with Client(cluster) as c:
            c.wait_for_workers(2, timeout=60)
            yield c
    finally:
        cluster.close()


def classification(n=200, seed=0):
    X, y = make_classification(n_samples=n, n_features=6, n_informative=4, random_state=seed)
    return (X - X.mean(0)) / X.std(0), y


def regression(n=200, seed=0):
    X, y = make_regression(n_samples=n, n_features=6, n_informative=4, noise=0.1,
                           random_state=seed)
    return (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()


def fit_on_both_backends(search, X, y, client):
    """``search`` fitted on the default backend and, a clone, on the Dask backend; with the
    tasks the scheduler ran (and on which workers) during each fit."""
    from sklearn.base import clone
    parallel_config = parallel_config_or_skip()
    on_default, on_dask = clone(search), clone(search)
    with get_task_stream(client) as default_stream:
        on_default.fit(X, y)
    with get_task_stream(client) as dask_stream:
        with parallel_config(backend="dask"):
            on_dask.fit(X, y)
    return on_default, on_dask, default_stream.data, dask_stream.data


def assert_ran_on_the_workers(default_tasks, dask_tasks, client):
    """The default backend sent nothing to the cluster; the Dask backend ran its batches of
    fits there, on the cluster's own workers."""
    assert default_tasks == []
    assert len(dask_tasks) > 0
    workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2
    assert {task["worker"] for task in dask_tasks} <= workers
    # joblib's batches of the search's fits (keys "batch_of__fit_and_score_<n>_calls-..."),
    # not only some bookkeeping of the client
    keys = [str(task["key"]) for task in dask_tasks]
    assert any("_fit_and_score" in key for key in keys), keys


def assert_same_search(a, b):
    assert a.best_params_ == b.best_params_
    assert a.best_index_ == b.best_index_
    assert a.cv_results_["params"] == b.cv_results_["params"]
    for key in ("mean_test_score", "std_test_score", "split0_test_score",
                "split1_test_score", "split2_test_score"):
        np.testing.assert_allclose(a.cv_results_[key], b.cv_results_[key],
                                   rtol=1e-12, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(a.best_score_, b.best_score_, rtol=1e-12, atol=1e-12)


# --- searches on the Dask backend -------------------------------------------------------------

def test_grid_search_on_the_dask_backend_matches_the_default_backend(client):
    X, y = classification()
    search = GridSearchCV(
        glassnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
        {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}, cv=3, n_jobs=2)
    on_default, on_dask, default_tasks, dask_tasks = fit_on_both_backends(search, X, y, client)
    assert_ran_on_the_workers(default_tasks, dask_tasks, client)
    assert len(on_dask.cv_results_["params"]) == 4
    assert_same_search(on_default, on_dask)
    # the scores differ from candidate to candidate: equal scores are not all alike by chance
    assert len(np.unique(on_dask.cv_results_["mean_test_score"])) > 1
    np.testing.assert_array_equal(on_dask.best_estimator_.predict(X),
                                  on_default.best_estimator_.predict(X))
    np.testing.assert_array_equal(on_dask.best_estimator_.coefs_[0],
                                  on_default.best_estimator_.coefs_[0])


def test_randomized_search_on_the_dask_backend_matches_the_default_backend(client):
    X, y = regression()
    search = RandomizedSearchCV(
        glassnet.MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
        {"alpha": loguniform(1e-5, 1e-1), "learning_rate_init": [1e-3, 1e-2]},
        n_iter=4, cv=3, n_jobs=2, random_state=0)
    on_default, on_dask, default_tasks, dask_tasks = fit_on_both_backends(search, X, y, client)
    assert_ran_on_the_workers(default_tasks, dask_tasks, client)
    assert len(on_dask.cv_results_["params"]) == 4
    assert_same_search(on_default, on_dask)
    assert len(np.unique(on_dask.cv_results_["mean_test_score"])) > 1
    np.testing.assert_array_equal(on_dask.best_estimator_.predict(X),
                                  on_default.best_estimator_.predict(X))


# --- Dask collections as input ----------------------------------------------------------------

def small_classifier():
    return glassnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)


def assert_same_weights(a, b):
    assert len(a.coefs_) == len(b.coefs_)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert np.array_equal(wa, wb)


def test_fit_and_predict_take_dask_arrays_as_their_numpy_arrays():
    X, y = classification()
    dX = da.from_array(X, chunks=(67, X.shape[1]))
    dy = da.from_array(y, chunks=67)
    assert dX.numblocks == (3, 1) and dy.numblocks == (3,)
    on_numpy, on_dask = small_classifier().fit(X, y), small_classifier().fit(dX, dy)
    assert_same_weights(on_dask, on_numpy)
    np.testing.assert_array_equal(on_dask.classes_, on_numpy.classes_)
    prediction = on_dask.predict(dX)
    assert isinstance(prediction, np.ndarray)
    np.testing.assert_array_equal(prediction, on_numpy.predict(X))
    np.testing.assert_array_equal(on_dask.predict_proba(dX), on_numpy.predict_proba(X))


def test_fit_and_predict_take_a_dask_dataframe_as_scikit_learn_does():
    X, y = classification()
    columns = [f"f{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    target = pd.Series(y, name="target")
    dframe, dtarget = dd.from_pandas(frame, npartitions=3), dd.from_pandas(target,
                                                                           npartitions=3)
    assert dframe.npartitions == 3
    on_numpy = small_classifier().fit(X, y)
    on_pandas = small_classifier().fit(frame, target)
    on_dask = small_classifier().fit(dframe, dtarget)
    assert_same_weights(on_pandas, on_numpy)
    assert_same_weights(on_dask, on_numpy)
    np.testing.assert_array_equal(on_dask.predict(dframe), on_numpy.predict(X))
    # a pandas DataFrame's columns are the feature names
    np.testing.assert_array_equal(on_pandas.feature_names_in_, np.asarray(columns, object))
    # a Dask DataFrame's names: recorded or not as scikit-learn's own estimator records them
    reference = SklearnMLPClassifier(hidden_layer_sizes=(8,), max_iter=5,
                                     random_state=0).fit(dframe, dtarget)
    assert hasattr(on_dask, "feature_names_in_") == hasattr(reference, "feature_names_in_")
    if hasattr(reference, "feature_names_in_"):
        np.testing.assert_array_equal(on_dask.feature_names_in_, reference.feature_names_in_)
    assert on_dask.n_features_in_ == reference.n_features_in_ == X.shape[1]


def test_partial_fit_over_a_dask_arrays_blocks_equals_over_the_numpy_slices():
    """Training one chunk at a time: each block computed in turn, one epoch on it."""
    X, y = classification()
    dX = da.from_array(X, chunks=(67, X.shape[1]))
    dy = da.from_array(y, chunks=67)
    classes = np.unique(y)
    on_blocks = glassnet.MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(3):  # epochs
        for X_block, y_block in zip(dX.blocks, dy.blocks):
            on_blocks.partial_fit(X_block, y_block, classes=classes)
    on_slices = glassnet.MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(3):
        for start, stop in [(0, 67), (67, 134), (134, 200)]:
            on_slices.partial_fit(X[start:stop], y[start:stop], classes=classes)
    assert_same_weights(on_blocks, on_slices)
    # and not the weights of one fit on all the rows: the blocks really were separate steps
    whole = glassnet.MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(3):
        whole.partial_fit(X, y, classes=classes)
    assert not np.array_equal(whole.coefs_[0], on_blocks.coefs_[0])
    np.testing.assert_array_equal(on_blocks.predict(dX), on_slices.predict(X))
