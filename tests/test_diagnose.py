"""glassnet.diagnose: each constructed problem is caught, with its kind and layer; a healthy
network gets no findings; the divergence message names the first non-finite layer."""

import numpy as np
import pytest

import glassnet
from glassnet import optim
from glassnet.diagnose import (DEAD_FRACTION, IMBALANCE_RATIO, INITIAL_LOSS_FACTOR,
                               UPDATE_RATIO_RANGE, VANISHING_RATIO)


def standard(n=400, d=8, k=3, seed=0):
    """Standardized Gaussian features; labels from a linear teacher (balanced enough)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, np.argmax(X @ rng.standard_normal((d, k)), axis=1)


def only(report, kind):
    found = [f for f in report.findings if f.kind == kind]
    assert found, f"{kind} not found in {report!r}"
    return found[0]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_a_healthy_network_on_standardized_data_gets_no_findings(activation):
    X, y = standard()
    report = glassnet.diagnose(glassnet.MLP([8, 64, 32, 3], activation=activation, seed=0),
                               X, y, optimizer=optim.Adam(1e-3))
    assert report.ok and report.findings == [], str(report)
    assert report.layers == ["dense_0", "dense_1", "dense_2"]
    assert "no findings" in str(report)


@pytest.mark.parametrize("loader", ["load_iris", "load_digits"])
def test_standardized_iris_and_digits_with_a_default_mlp_are_ok(loader):
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is not installed")
    X, y = getattr(datasets, loader)(return_X_y=True)
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    X = X[:, X.std(0) > 0]  # digits' blank pixels are zero after the scaling: left out
    model = glassnet.MLP([X.shape[1], 100, len(np.unique(y))], seed=0)
    assert glassnet.diagnose(model, X, y).ok


def test_the_users_model_is_left_as_it_was():
    X, y = standard()
    model = glassnet.MLP([8, 16, 3], seed=0)
    params, grads = model.flat_params.copy(), model.flat_grads.copy()
    glassnet.diagnose(model, X, y, optimizer=optim.SGD(lr=50.0))
    np.testing.assert_array_equal(model.flat_params, params)
    np.testing.assert_array_equal(model.flat_grads, grads)


def test_dead_relu_units_with_biases_minus_10():
    X, y = standard()
    model = glassnet.MLP([8, 32, 16, 3], seed=0)
    model.layers[2].b[...] = -10.0  # the second hidden layer: dense_1
    finding = only(glassnet.diagnose(model, X, y), "dead_units")
    assert finding.layer == "dense_1" and finding.value == 1.0
    assert finding.threshold == DEAD_FRACTION and finding.advice.endswith(".")


def test_tanh_on_inputs_times_1000_saturates_and_the_inputs_are_unscaled():
    X, y = standard()
    report = glassnet.diagnose(glassnet.MLP([8, 32, 3], activation="tanh", seed=0), X * 1000, y)
    assert only(report, "saturation").layer == "dense_0"
    assert only(report, "saturation").value > 0.9
    unscaled = only(report, "unscaled_inputs")
    assert unscaled.layer is None and unscaled.value == pytest.approx(
        np.sqrt(np.mean((X * 1000) ** 2, axis=0)).max())
    assert "the largest" in unscaled.advice


def test_unscaled_features_are_named_by_column():
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    X, y = standard(d=4)
    X[:, 2] *= 500.0
    frame = pd.DataFrame(X, columns=["a", "b", "income", "d"])
    finding = only(glassnet.diagnose(glassnet.MLP([4, 8, 3], seed=0), frame, y),
                   "unscaled_inputs")
    assert "income (RMS" in finding.advice and "a (RMS" not in finding.advice
    tiny, _ = standard(d=4)
    tiny[:, 1] *= 1e-4
    finding = only(glassnet.diagnose(glassnet.MLP([4, 8, 3], seed=0), tiny, y),
                   "unscaled_inputs")
    assert "the smallest: 1 (RMS" in finding.advice


def test_a_12_layer_sigmoid_net_has_vanishing_gradients():
    X, y = standard()
    model = glassnet.MLP([8] + [32] * 11 + [3], activation="sigmoid", seed=0)
    finding = only(glassnet.diagnose(model, X, y), "vanishing_gradients")
    assert finding.layer == "dense_0" and finding.value < VANISHING_RATIO


def test_exploding_gradients():
    """The measure is the relative gradient ||dW|| / ||W||, first layer over last: tiny
    first-layer weights shrink every later layer's input (and gradient) and make the first
    layer's relative gradient huge, a step that would rewrite it."""
    X, y = standard()
    model = glassnet.MLP([8, 32, 32, 3], seed=0)
    model.layers[0].W[...] *= 1e-3
    finding = only(glassnet.diagnose(model, X, y), "exploding_gradients")
    assert finding.layer == "dense_0" and finding.value > 1e3


def test_sgd_with_lr_50_takes_too_large_a_step():
    X, y = standard()
    model = glassnet.MLP([8, 32, 3], seed=0)
    finding = only(glassnet.diagnose(model, X, y, optimizer="sgd", lr=50.0), "update_ratio")
    assert finding.value > UPDATE_RATIO_RANGE[1] and finding.layer in ("dense_0", "dense_1")
    # the ratio is the step measured on a copy: ||W_after - W_before|| / ||W_before||
    report = glassnet.diagnose(model, X, y, optimizer="sgd", lr=50.0, batch_size=len(X))
    _, grads = glassnet.value_and_grad(model, "cross_entropy", X, y)
    W = model.layers[0].W
    np.testing.assert_allclose(report.stats["update_ratio"][0],
                               50.0 * np.linalg.norm(grads["layers.0.W"]) / np.linalg.norm(W),
                               rtol=1e-4)
    tiny = glassnet.diagnose(model, X, y, optimizer="sgd", lr=1e-9)
    assert only(tiny, "update_ratio").value < UPDATE_RATIO_RANGE[0]


def test_a_nan_weight_names_the_first_non_finite_layer():
    X, y = standard()
    model = glassnet.MLP([8, 16, 16, 3], seed=0)
    model.layers[2].W[3, 4] = np.nan  # dense_1
    report = glassnet.diagnose(model, X, y)
    assert report.kinds() == ["non_finite"]
    assert report.findings[0].layer == "dense_1" and report.findings[0].value == 1.0


def test_95_5_labels_are_imbalanced():
    X, _ = standard()
    y = (np.arange(len(X)) % 20 == 0).astype(int)  # 5 % ones
    finding = only(glassnet.diagnose(glassnet.MLP([8, 16, 2], seed=0), X, y), "class_imbalance")
    assert finding.value == pytest.approx(19.0) and finding.threshold == IMBALANCE_RATIO
    assert "Class 1 has 5.0%" in finding.advice
    binary = glassnet.diagnose(glassnet.MLP([8, 16, 1], seed=0), X, y,
                               loss="binary_cross_entropy")
    assert only(binary, "class_imbalance").value == pytest.approx(19.0)


def test_an_initial_loss_far_above_chance():
    X, y = standard()
    model = glassnet.MLP([8, 16, 3], seed=0)
    model.layers[-1].W[...] *= 100.0  # overconfident logits
    finding = only(glassnet.diagnose(model, X, y), "initial_loss")
    assert finding.value > INITIAL_LOSS_FACTOR and finding.layer is None


def test_a_fitted_estimator_is_diagnosed_with_its_own_settings():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    import warnings
    X, y = standard()
    labels = np.array(["ant", "bee", "cat"])[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        est = glassnet.MLPClassifier(hidden_layer_sizes=(16,), max_iter=5,
                                     random_state=0).fit(X, labels)
    report = glassnet.diagnose(est, X, labels)
    assert report.ok, str(report)
    assert report.layers == ["dense_0", "dense_1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = glassnet.MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", max_iter=1,
                                      learning_rate_init=1e-9, random_state=0).fit(X, labels)
    assert "update_ratio" in glassnet.diagnose(fast, X, labels).kinds()
    with pytest.raises(ValueError, match="needs a fitted MLPClassifier"):
        glassnet.diagnose(glassnet.MLPClassifier(), X, labels)


def test_the_report_prints_a_table_and_html():
    X, y = standard()
    report = glassnet.diagnose(glassnet.MLP([8, 16, 3], activation="tanh", seed=0), X * 1000, y)
    text = str(report)
    assert "saturation" in text and "dense_0" in text and "threshold" in text
    assert "<table>" in report._repr_html_()
    assert repr(report).startswith("Diagnosis(ok=False")


def test_divergence_error_names_the_first_non_finite_layer():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 4)), rng.integers(0, 2, 64)
    model = glassnet.MLP([4, 8, 8, 2], seed=0)

    class Poison(glassnet.Callback):
        def on_epoch_end(self, state):
            state.model.layers[2].W[0, 0] = np.inf  # dense_1, before the guard looks

    with pytest.raises(glassnet.DivergenceError,
                       match=r"epoch 1, end of epoch: the weights are not finite; the weights "
                             r"from the start of epoch 1 were restored\. Try a smaller "
                             r"learning rate \(optimizer lr=0\.001\)\. At the failure, first "
                             r"non-finite: layer dense_1 \(weights\)\.$"):
        glassnet.fit(model, X, y, epochs=1, callbacks=[Poison(), glassnet.StopOnDivergence()])


def test_sparse_input_and_lbfgs():
    sparse = pytest.importorskip("scipy.sparse", reason="SciPy is not installed")
    X, y = standard()
    X[np.abs(X) < 1.0] = 0.0
    report = glassnet.diagnose(glassnet.MLP([8, 16, 3], seed=0), sparse.csr_matrix(X), y)
    dense = glassnet.diagnose(glassnet.MLP([8, 16, 3], seed=0), X, y)
    assert report.ok and report.loss == pytest.approx(dense.loss, rel=1e-5)
    lbfgs = glassnet.diagnose(glassnet.MLP([8, 16, 3], seed=0), X, y, optimizer="lbfgs")
    assert np.isnan(lbfgs.stats["update_ratio"]).all()  # no step to measure
