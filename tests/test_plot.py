"""glassnet.plot: each drawing holds the numbers it was drawn from, checked against values
computed independently (the History's lists, ``predict``, scikit-learn's confusion matrix,
the weights' signs); the GIF has a frame per epoch; ``import glassnet`` stays free of
matplotlib, and nothing is shown or switches the backend."""

import subprocess
import sys
import types
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip(
    "matplotlib", reason="matplotlib is not installed: glassnet.plot is not tested "
                         "(pip install 'glassnet[plot]')")
matplotlib.use("Agg")  # the tests draw off-screen; the library itself never picks a backend
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

import glassnet  # noqa: E402
from glassnet import plot  # noqa: E402

sklearn_metrics = pytest.importorskip("sklearn.metrics")
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402


pytestmark = pytest.mark.filterwarnings(  # the estimators here train a few epochs on purpose
    "ignore:Stochastic Optimizer")


@pytest.fixture(autouse=True)
def headless(monkeypatch):
    """No test shows a figure or changes the backend; every figure is closed afterwards."""
    def refuse(*args, **kwargs):
        raise AssertionError("glassnet.plot called plt.show()")
    monkeypatch.setattr(plt, "show", refuse)
    backend = matplotlib.get_backend()
    yield
    assert matplotlib.get_backend() == backend
    plt.close("all")


# --- data and models (small: the whole file runs in a few seconds) --------------------------

def blobs(n_classes, n=60, seed=0):
    """``n`` points in 2-D around ``n_classes`` centres on a circle, and their classes."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    angle = 2 * np.pi * y / n_classes
    X = np.c_[np.cos(angle), np.sin(angle)] * 2 + rng.normal(scale=0.5, size=(n, 2))
    return X, y


def trained(sizes, X, y, loss="cross_entropy", epochs=5, **kwargs):
    model = glassnet.MLP(sizes, activation="tanh", dtype="float64", seed=0)
    history = glassnet.fit(model, X, y, loss=loss, epochs=epochs, seed=0, batch_size=16,
                           **kwargs)
    return model, history


@pytest.fixture(scope="module")
def regression():
    X, _ = blobs(3)
    y = X @ np.array([1.5, -0.5]) + 0.3
    model, history = trained([2, 6, 1], X, y, loss="mse", epochs=6, validation_fraction=0.25)
    return X, y, model, history


# Classification models: binary with one logit (z > 0), binary with two, three classes.
CLASSIFIERS = {"binary_one_output": (2, [2, 6, 1], "binary_cross_entropy"),
               "binary_two_outputs": (2, [2, 6, 2], "cross_entropy"),
               "multiclass": (3, [2, 6, 3], "cross_entropy")}


@pytest.fixture(scope="module", params=sorted(CLASSIFIERS))
def classification(request):
    n_classes, sizes, loss = CLASSIFIERS[request.param]
    X, y = blobs(n_classes)
    targets = y.reshape(-1, 1).astype(float) if sizes[-1] == 1 else y
    model, history = trained(sizes, X, targets, loss=loss, validation_fraction=0.25)
    return X, y, model, history


def predicted_classes(model, X):
    """Classes from a Sequential's logits, computed here independently of glassnet.plot."""
    z = model.forward(X)
    return (z[:, 0] > 0).astype(int) if z.shape[1] == 1 else np.argmax(z, axis=1)


def sk_fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a few epochs on purpose
        return estimator.fit(X, y)


@pytest.fixture(scope="module")
def sk_classifier():
    """scikit-learn's MLPClassifier on three classes labelled with strings."""
    X, y = blobs(3)
    y = np.array(["a", "b", "c"])[y]
    return X, y, sk_fit(MLPClassifier((5,), max_iter=8, random_state=0), X, y)


# --- import ---------------------------------------------------------------------------------

def test_import_glassnet_does_not_import_matplotlib():
    code = "import glassnet, sys; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_matplotlib_the_error_names_the_extra():
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "try:\n    import glassnet.plot\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert "pip install 'glassnet[plot]'" in out


# --- learning_curves ------------------------------------------------------------------------

def lines_by_label(ax):
    return {line.get_label(): line for line in ax.lines}


def check_history_curves(history, metric):
    """Two panels: loss and val_loss, then the metric and its val_ twin, as the History has
    them (lr is not drawn)."""
    loss_ax, metric_ax = plot.learning_curves(history)
    for ax, keys in ((loss_ax, ["loss", "val_loss"]), (metric_ax, [metric, f"val_{metric}"])):
        lines = lines_by_label(ax)
        assert sorted(lines) == sorted(keys)
        for key in keys:
            np.testing.assert_array_equal(lines[key].get_xdata(), history.epochs)
            np.testing.assert_array_equal(lines[key].get_ydata(), history[key])
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() and ax.get_legend() is not None


def test_learning_curves_of_a_classifiers_history(classification):
    check_history_curves(classification[3], "accuracy")


def test_learning_curves_of_a_regressors_history(regression):
    check_history_curves(regression[3], "r2")


def test_learning_curves_of_estimators_draw_loss_curve_and_validation_scores(sk_classifier):
    X, y, clf = sk_classifier
    ours = glassnet.MLPClassifier((5,), max_iter=4, random_state=0).fit(X, y)
    stopping = [sk_fit(cls((5,), max_iter=8, early_stopping=True, random_state=0), X,
                       np.searchsorted(["a", "b", "c"], y))
                for cls in (MLPClassifier, glassnet.MLPClassifier)]
    for estimator in (clf, ours, *stopping):
        loss_ax, metric_ax = plot.learning_curves(estimator)
        (loss,) = loss_ax.lines
        np.testing.assert_array_equal(loss.get_ydata(), estimator.loss_curve_)
        np.testing.assert_array_equal(loss.get_xdata(), np.arange(1, len(loss.get_ydata()) + 1))
        scores = estimator.validation_scores_
        assert len(metric_ax.lines) == (0 if scores is None else 1)
        if scores is not None:
            np.testing.assert_array_equal(metric_ax.lines[0].get_ydata(), scores)


def test_learning_curves_draw_on_the_axes_given(classification):
    fig, given = plt.subplots(2, 1)
    axes = plot.learning_curves(classification[3], ax=given)
    assert list(axes) == list(given)
    with pytest.raises(ValueError, match="two Axes"):
        plot.learning_curves(classification[3], ax=given[0])


def test_learning_curves_refuse_an_estimator_without_curve(regression):
    X, y, _, _ = regression
    reg = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few iterations on purpose
        reg.fit(X, y)
    with pytest.raises(ValueError, match="no loss curve"):
        plot.learning_curves(reg)


# --- decision_boundary ----------------------------------------------------------------------

def test_boundary_grid_classes_are_predict_on_the_grid(classification):
    X, y, model, _ = classification
    xx, yy, classes = plot.boundary_grid(model, X, resolution=30)
    assert xx.shape == yy.shape == classes.shape == (30, 30)
    grid = np.c_[xx.ravel(), yy.ravel()]
    np.testing.assert_array_equal(classes.ravel(), predicted_classes(model, grid))
    # the grid covers the data with a margin on every side
    assert xx.min() < X[:, 0].min() and xx.max() > X[:, 0].max()
    assert yy.min() < X[:, 1].min() and yy.max() > X[:, 1].max()


def test_decision_boundary_draws_the_grid_and_the_points(classification):
    X, y, model, _ = classification
    ax = plot.decision_boundary(model, X, y, resolution=25)
    (points,) = [c for c in ax.collections if len(c.get_offsets()) == len(X)]
    np.testing.assert_array_equal(points.get_offsets(), X)
    np.testing.assert_array_equal(points.get_array(), y)  # labels 0..k-1 are their indices
    xmin, xmax = ax.get_xlim()
    assert xmin < X[:, 0].min() and xmax > X[:, 0].max()


def test_decision_boundary_of_an_estimator_with_string_labels(sk_classifier):
    X, y, clf = sk_classifier
    xx, yy, classes = plot.boundary_grid(clf, X, resolution=20)
    np.testing.assert_array_equal(classes.ravel(), clf.predict(np.c_[xx.ravel(), yy.ravel()]))
    fig, given = plt.subplots()
    ax = plot.decision_boundary(clf, X, y, ax=given, resolution=20)
    assert ax is given
    (points,) = [c for c in ax.collections if len(c.get_offsets()) == len(X)]
    np.testing.assert_array_equal(points.get_array(), np.searchsorted(["a", "b", "c"], y))


def test_decision_boundary_needs_two_features():
    X = np.zeros((5, 3))
    with pytest.raises(ValueError, match="2 features; X has 3"):
        plot.decision_boundary(glassnet.MLP([3, 2]), X, np.zeros(5))


# --- network --------------------------------------------------------------------------------

def edge_collections(ax):
    return [c for c in ax.collections if isinstance(c, LineCollection)]


def check_edges(ax, weights, shown):
    """One LineCollection per weight matrix: an edge per pair of shown units, coloured by the
    weight's sign, as wide as |w| relative to the widest."""
    collections = edge_collections(ax)
    assert len(collections) == len(weights)
    blocks = [W[np.ix_(shown[i], shown[i + 1])].ravel() for i, W in enumerate(weights)]
    largest = max(np.abs(w).max() for w in blocks)
    for collection, w, n_in, n_out in zip(collections, blocks, shown, shown[1:]):
        assert len(collection.get_segments()) == len(n_in) * len(n_out) == len(w)
        colors = collection.get_colors()
        expected = np.where(w[:, None] < 0, to_rgba(plot.NEGATIVE_COLOR),
                            to_rgba(plot.POSITIVE_COLOR))
        np.testing.assert_array_equal(colors, expected)
        np.testing.assert_allclose(collection.get_linewidths(), 4.0 * np.abs(w) / largest)


def test_network_draws_every_weight_of_a_small_model(classification):
    model = classification[2]
    weights = [layer.W for layer in model.layers if isinstance(layer, glassnet.Dense)]
    sizes = [weights[0].shape[0]] + [W.shape[1] for W in weights]
    ax = plot.network(model)
    check_edges(ax, weights, [np.arange(n) for n in sizes])


def test_network_summarises_wide_layers():
    model = glassnet.MLP([9, 40, 3], seed=1)
    weights = [layer.W for layer in model.layers if isinstance(layer, glassnet.Dense)]
    ax = plot.network(model, max_units=6)
    shown = [[0, 1, 2, 6, 7, 8], [0, 1, 2, 37, 38, 39], [0, 1, 2]]
    check_edges(ax, weights, [np.array(s) for s in shown])
    assert sum(text.get_text() == "⋮" for text in ax.texts) == 2
    assert [len(c.get_segments()) for c in edge_collections(ax)] == [36, 18]


def test_network_of_estimators(sk_classifier):
    X, y, clf = sk_classifier
    ours = glassnet.MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    for estimator in (clf, ours):
        sizes = [estimator.coefs_[0].shape[0]] + [W.shape[1] for W in estimator.coefs_]
        fig, given = plt.subplots()
        ax = plot.network(estimator, ax=given)
        assert ax is given
        check_edges(ax, estimator.coefs_, [np.arange(n) for n in sizes])


# --- layer_stats ----------------------------------------------------------------------------

STATS = ["weight_norm", "grad_norm", "update_ratio", "act_mean", "act_std", "dead_fraction",
         "saturated_fraction"]


def stand_in_monitor(n_epochs=4, n_layers=3):
    """An object with the Monitor's interface: epochs, layers, records (n_epochs, n_layers);
    the logits layer's activation numbers are NaN, as the Monitor records them, and so is
    every dead fraction (tanh units cannot die)."""
    rng = np.random.default_rng(0)
    records = {name: rng.uniform(0.01, 1.0, size=(n_epochs, n_layers)) for name in STATS}
    for name in STATS[3:]:
        records[name][:, -1] = np.nan
    records["dead_fraction"][:] = np.nan
    return types.SimpleNamespace(epochs=list(range(1, n_epochs + 1)),
                                 layers=[f"dense_{k}" for k in range(n_layers)],
                                 records=records)


def test_layer_stats_draw_a_panel_per_stat_and_a_line_per_layer():
    monitor = stand_in_monitor()
    fig = plot.layer_stats(monitor)
    assert len(fig.axes) == len(STATS)
    for ax, name in zip(fig.axes, STATS):
        assert len(ax.lines) == len(monitor.layers)
        for j, line in enumerate(ax.lines):
            assert line.get_label() == monitor.layers[j]
            np.testing.assert_array_equal(line.get_xdata(), monitor.epochs)
            np.testing.assert_array_equal(line.get_ydata(), monitor.records[name][:, j])
        assert ax.get_yscale() == ("log" if name in STATS[:3] else "linear")
    (dead,) = [ax for ax in fig.axes if ax.get_title() == "dead fraction"]
    assert [text.get_text() for text in dead.texts] == ["not defined for these layers"]


def test_layer_stats_choose_stats_and_figure():
    fig = plt.figure()
    assert plot.layer_stats(stand_in_monitor(), stats=["grad_norm", "dead_fraction"],
                            fig=fig) is fig
    assert [ax.get_title() for ax in fig.axes] == ["grad norm", "dead fraction"]
    with pytest.raises(ValueError, match="grad_nrom"):
        plot.layer_stats(stand_in_monitor(), stats=["grad_nrom"])


def test_layer_stats_of_a_real_monitor():
    if not hasattr(glassnet, "Monitor"):
        pytest.skip("glassnet.Monitor is not available in this checkout")
    X, y = blobs(2, n=32)
    monitor = glassnet.Monitor()
    trained([2, 4, 2], X, y, epochs=3, callbacks=[monitor])
    fig = plot.layer_stats(monitor)
    assert len(fig.axes) == len(monitor.records)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(),
                                  monitor.records[list(monitor.records)[0]][:, 0])


# --- confusion_matrix and predicted_vs_true -------------------------------------------------

def test_confusion_matrix_is_sklearns(classification):
    X, y, model, _ = classification
    ax = plot.confusion_matrix(model, X, y)
    expected = sklearn_metrics.confusion_matrix(y, predicted_classes(model, X))
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)


def test_confusion_matrix_of_an_estimator_on_given_axes(sk_classifier):
    X, y, clf = sk_classifier
    fig, given = plt.subplots()
    ax = plot.confusion_matrix(clf, X, y, ax=given, normalize="true")
    assert ax is given
    expected = sklearn_metrics.confusion_matrix(y, clf.predict(X), normalize="true")
    np.testing.assert_allclose(ax.images[0].get_array(), expected)


def test_predicted_vs_true_points_are_predict_and_y(regression):
    X, y, model, _ = regression
    reg = glassnet.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    for predictor, predicted in ((model, model.forward(X)[:, 0]), (reg, reg.predict(X))):
        ax = plot.predicted_vs_true(predictor, X, y)
        (points,) = [c for c in ax.collections if len(c.get_offsets()) == len(X)]
        np.testing.assert_allclose(points.get_offsets(), np.c_[predicted, y])


# --- boundary_animation ---------------------------------------------------------------------

def test_boundary_animation_writes_a_frame_per_epoch(tmp_path):
    from PIL import Image
    X, y = blobs(2, n=24)
    model = glassnet.MLP([2, 4, 2], seed=0)
    path = plot.boundary_animation(model, X, y, tmp_path / "boundary.gif", epochs=3,
                                   resolution=15, seed=0, batch_size=8)
    assert path == tmp_path / "boundary.gif" and path.exists()
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3
