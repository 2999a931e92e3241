"""glassnet.sklearn._lbfgs: scikit-learn's L-BFGS on a glassnet model, against scikit-learn.

L-BFGS amplifies the last bit of a gradient (an objective that differs at 1e-16 ends 1e-4 or
more away after some dozens of iterations), so these tests hold the module to scikit-learn's
own fit: from the same starting weights (``_random.initial_parameters``, drawn as
scikit-learn draws them) the weights end within 1e-10, after the same number of iterations,
with the same loss; and the objective scikit-learn hands to SciPy, and the call, are the same
to the bit.
"""

from __future__ import annotations

import functools
import inspect
import tracemalloc
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
import scipy  # noqa: E402
import scipy.optimize  # noqa: E402
import scipy.sparse  # noqa: E402
from sklearn.datasets import (load_digits, load_iris, make_classification,  # noqa: E402
                              make_multilabel_classification, make_regression)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.neural_network import _multilayer_perceptron as sk_mlp  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, scale  # noqa: E402

import glassnet  # noqa: E402
from glassnet.sklearn import _lbfgs  # noqa: E402
from glassnet.sklearn._random import initial_parameters  # noqa: E402

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
# scikit-learn 1.7 added sample weights to its MLPs, and with them took each loss as a
# weighted mean over the rows; this module follows that arithmetic (1.9.1's). Before 1.7 the
# losses were summed in another order (the same numbers to ~1e-16, so not the same fit)
SKLEARN_17 = "sample_weight" in inspect.signature(MLPClassifier.fit).parameters
same_arithmetic = pytest.mark.skipif(not SKLEARN_17, reason="scikit-learn < 1.7 computes its "
                                     "losses in another order than 1.7+, which this follows")


@functools.lru_cache(maxsize=None)
def dataset(name: str):
    """``(X, y as scikit-learn takes it, Y as glassnet's estimators encode it, loss name,
    max_iter)`` for each kind of target."""
    if name == "iris":
        X, y = load_iris(return_X_y=True)
        return X, y, y, "cross_entropy", 80
    if name == "digits":  # ten classes, 64 features in [0, 1]
        X, y = load_digits(return_X_y=True)
        X, y = MinMaxScaler().fit_transform(X[:500]), y[:500]
        return X, y, y, "cross_entropy", 30
    if name == "binary":
        X, y = make_classification(n_samples=150, n_features=8, random_state=0)
        return X, y, y.reshape(-1, 1).astype(np.float64), "binary_cross_entropy", 80
    if name == "multilabel":
        X, Y = make_multilabel_classification(n_samples=150, n_features=8, n_classes=3,
                                              random_state=0)
        return X, Y, Y.astype(np.float64), "binary_cross_entropy_sum", 80
    if name == "regression":  # two targets
        X, Y = make_regression(n_samples=150, n_features=8, n_targets=2, noise=1.0,
                               random_state=0)
        Y = scale(Y)
        return X, Y, Y, "squared_error", 80
    rng = np.random.RandomState(0)  # "poisson": counts
    X = rng.randn(150, 5)
    y = rng.poisson(np.exp(0.3 * X @ rng.randn(5))).astype(np.float64)
    return X, y, y.reshape(-1, 1), "poisson_sum", 80


DATASETS = ["iris", "digits", "binary", "multilabel", "regression", "poisson"]


def sklearn_mlp(name: str, **params):
    """scikit-learn's MLP for ``dataset(name)``, with L-BFGS."""
    if name == "poisson":
        return MLPRegressor(solver="lbfgs", loss="poisson", **params)
    if name == "regression":
        return MLPRegressor(solver="lbfgs", **params)
    return MLPClassifier(solver="lbfgs", **params)


def start_model(sizes, activation, seed: int, dtype="float64"):
    """A glassnet MLP holding scikit-learn's starting weights for ``random_state=seed``."""
    hidden = len(sizes) - 2
    model = glassnet.MLP(sizes, activation=activation, init="zeros", dtype=dtype)
    dense = [layer for layer in model.layers if hasattr(layer, "W")]
    start = initial_parameters(sizes, [activation] * hidden, np.random.RandomState(seed))
    for layer, (W, b) in zip(dense, start):
        layer.W[...], layer.b[...] = W, b
    return model, dense


def fit_both(name, activation, *, hidden=(6,), seed=0, alpha=1e-4, sample_weight=None,
             sparse=None, dtype="float64", max_iter=None):
    """``(glassnet's dense layers, n_iter, loss, scikit-learn's fitted MLP)`` on one data set."""
    X, y, Y, loss_name, default_iter = dataset(name)
    max_iter = max_iter or default_iter
    X = X.astype(dtype)
    if sparse:
        X = getattr(scipy.sparse, f"{sparse}_matrix")(X)
    theirs = sklearn_mlp(name, hidden_layer_sizes=hidden, activation=activation,
                         random_state=seed, alpha=alpha, max_iter=max_iter)
    # conftest raises on every floating-point error; scikit-learn's softmax may underflow
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y, sample_weight=sample_weight)
    sizes = [X.shape[1], *hidden, theirs.coefs_[-1].shape[1]]
    model, dense = start_model(sizes, activation, seed, dtype)
    with warnings.catch_warnings():  # no errstate here: the module needs none
        warnings.simplefilter("ignore", ConvergenceWarning)
        n_iter, loss, _ = _lbfgs.minimize(model, X, Y, loss_name=loss_name, alpha=alpha,
                                          sample_weight=sample_weight, max_iter=max_iter,
                                          max_fun=15000, tol=1e-4)
    return dense, n_iter, loss, theirs


def assert_same_fit(dense, n_iter, loss, theirs, atol=1e-10):
    assert n_iter == theirs.n_iter_
    np.testing.assert_allclose(loss, theirs.loss_, rtol=0, atol=1e-12)
    for layer, W, b in zip(dense, theirs.coefs_, theirs.intercepts_, strict=True):
        np.testing.assert_allclose(layer.W, W, rtol=0, atol=atol)
        np.testing.assert_allclose(layer.b, b, rtol=0, atol=atol)


@same_arithmetic
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name", DATASETS)
def test_fit_ends_on_scikit_learns_model(name, activation):
    assert_same_fit(*fit_both(name, activation))


@same_arithmetic
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_two_hidden_layers_end_on_scikit_learns_model(activation):
    assert_same_fit(*fit_both("iris", activation, hidden=(6, 5), seed=3, alpha=1e-2))


@same_arithmetic
@pytest.mark.parametrize("name", ["iris", "binary", "regression", "poisson"])
def test_sample_weight_ends_on_scikit_learns_model(name):
    weights = np.random.RandomState(1).uniform(0.2, 2.0, len(dataset(name)[0]))
    assert_same_fit(*fit_both(name, "relu", sample_weight=weights))


@same_arithmetic
@pytest.mark.parametrize("sparse", ["csr", "csc", "coo"])  # scikit-learn takes COO as CSR
@pytest.mark.parametrize("name", ["iris", "multilabel", "regression"])
def test_sparse_X_ends_on_scikit_learns_model(name, sparse):
    weights = np.random.RandomState(2).uniform(0.2, 2.0, len(dataset(name)[0]))
    assert_same_fit(*fit_both(name, "tanh", sparse=sparse,
                              sample_weight=weights if name == "regression" else None))


@same_arithmetic
@pytest.mark.parametrize("name", ["iris", "regression"])
def test_float32_ends_on_scikit_learns_model_rounded(name):
    """With float32 X scikit-learn evaluates at float32 weights (SciPy keeps x0's dtype) and
    keeps its float64 result; the float32 model holds that result rounded."""
    dense, n_iter, loss, theirs = fit_both(name, "relu", dtype="float32")
    assert n_iter == theirs.n_iter_ and loss == theirs.loss_
    for layer, W, b in zip(dense, theirs.coefs_, theirs.intercepts_, strict=True):
        assert layer.W.dtype == np.float32
        np.testing.assert_array_equal(layer.W, W.astype(np.float32))
        np.testing.assert_array_equal(layer.b, b.astype(np.float32))


# -- the objective and the SciPy call, to the bit -------------------------------------------
def same_bits(a, b) -> bool:
    """The same dtype, shape and bits (``np.array_equal`` takes -0.0 for 0.0)."""
    a, b = np.asarray(a), np.asarray(b)
    return (a.dtype == b.dtype and a.shape == b.shape
            and np.array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}")))


def scipy_version() -> tuple[int, int]:
    return tuple(int(part) for part in scipy.__version__.split(".")[:2])


class _Captured(Exception):
    """Raised by the stand-in for scipy.optimize.minimize once it has seen the call."""


def captured_call(monkeypatch, fit):
    """``(fun, x0, kwargs)`` that ``fit()`` passes to ``scipy.optimize.minimize``."""
    seen = {}

    def stand_in(fun, x0, **kwargs):
        seen.update(fun=fun, x0=x0.copy(), kwargs=kwargs)
        raise _Captured

    with monkeypatch.context() as patch:
        patch.setattr(scipy.optimize, "minimize", stand_in)
        assert sk_mlp.scipy.optimize.minimize is stand_in  # scikit-learn's call is patched too
        with pytest.raises(_Captured), np.errstate(all="ignore"):
            fit()
    return seen["fun"], seen["x0"], seen["kwargs"]


@same_arithmetic
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name,options", [(name, {}) for name in DATASETS] + [
    ("iris", {"sample_weight": True}), ("poisson", {"sample_weight": True}),
    ("multilabel", {"sparse": True}), ("regression", {"sparse": True, "sample_weight": True})])
def test_objective_and_call_are_scikit_learns_to_the_bit(monkeypatch, name, options,
                                                         activation):
    X, y, Y, loss_name, max_iter = dataset(name)
    weights = (np.random.RandomState(4).uniform(0.2, 2.0, len(X))
               if options.get("sample_weight") else None)
    X = scipy.sparse.csr_matrix(X) if options.get("sparse") else X
    theirs = sklearn_mlp(name, hidden_layer_sizes=(5, 4), activation=activation,
                         random_state=7, alpha=0.1, max_iter=max_iter)
    sk_fun, sk_x0, sk_kwargs = captured_call(
        monkeypatch, lambda: theirs.fit(X, y, sample_weight=weights))
    sizes = [X.shape[1], 5, 4, Y.shape[1] if Y.ndim == 2 else len(np.unique(y))]
    model, _ = start_model(sizes, activation, seed=7)
    fun, x0, kwargs = captured_call(monkeypatch, lambda: _lbfgs.minimize(
        model, X, Y, loss_name=loss_name, alpha=0.1, sample_weight=weights,
        max_iter=max_iter, max_fun=15000, tol=1e-4))

    sk_args = sk_kwargs.pop("args")
    # scikit-learn 1.9 passes iprint only to SciPy < 1.15 (older ones always pass it)
    sk_kwargs["options"].pop("iprint", None)
    iprint = kwargs["options"].pop("iprint", None)
    assert kwargs == sk_kwargs  # method, jac and options
    assert (iprint == -1) if scipy_version() < (1, 15) else (iprint is None)
    np.testing.assert_array_equal(x0, sk_x0)  # the same packing of the same start
    # at the start and at a point where no ReLU is exactly 0 and the outputs are far from it
    # (then at the start again: the objective's kept work arrays hold the other point's values)
    away = x0 + np.random.RandomState(5).normal(0, 0.3, x0.shape)
    for theta in (x0, away, x0):
        with np.errstate(all="ignore"):
            sk_value, sk_grad = sk_fun(theta.copy(), *sk_args)
        value, grad = fun(theta.copy())
        assert same_bits(value, sk_value)
        assert same_bits(grad, sk_grad)


def test_the_packing_order_is_scikit_learns_all_weights_then_all_biases():
    """A hand-sized check of the layout: W_0 (2x3), W_1 (3x1), then b_0 (3), b_1 (1)."""
    model, dense = start_model([2, 3, 1], "relu", seed=0)
    for layer in dense:
        layer.W[...] = np.arange(layer.W.size).reshape(layer.W.shape) + 10 * layer.W.shape[0]
        layer.b[...] = -1 - np.arange(layer.b.size)
    objective = _lbfgs._Objective([(2, 3), (3, 1)], ["relu"], "squared_error",
                                  np.zeros((1, 2)), np.zeros((1, 1)), 0.0, None)
    theta = objective.pack([d.W for d in dense], [d.b for d in dense])
    np.testing.assert_array_equal(theta, [20, 21, 22, 23, 24, 25, 30, 31, 32, -1, -2, -3, -1])
    Ws, bs = objective.unpack(theta)
    for layer, W, b in zip(dense, Ws, bs):
        np.testing.assert_array_equal(W, layer.W)
        np.testing.assert_array_equal(b, layer.b)


# -- the work arrays kept from one evaluation to the next, and the fast paths --------------
def objective_for(loss_name: str, activation: str, *, n: int = 64, hidden=(7, 5), sparse=False,
                  seed: int = 0):
    """``(a fresh _Objective, three parameter vectors)`` on random data for ``loss_name``."""
    rng = np.random.RandomState(seed)
    n_out = 1 if loss_name == "binary_cross_entropy" else 3
    X = rng.randn(n, 4)
    X[rng.rand(n, 4) < 0.3] = 0
    Y = {"cross_entropy": rng.randint(0, n_out, n), "squared_error": rng.randn(n, n_out),
         "poisson_sum": rng.poisson(2.0, (n, n_out)).astype(float)}.get(
        loss_name, rng.rand(n, n_out) < 0.5)
    shapes = list(zip([4, *hidden], [*hidden, n_out]))
    objective = _lbfgs._Objective(
        shapes, [activation] * len(hidden), loss_name,
        scipy.sparse.csr_matrix(X) if sparse else X, _lbfgs._targets(Y, loss_name, n_out),
        1e-2, rng.uniform(0.5, 2.0, n))
    n_params = sum(n_in * n_out + n_out for n_in, n_out in shapes)
    return objective, [rng.normal(0, 1, n_params) for _ in range(3)]


def kept_arrays(objective) -> list[np.ndarray]:
    """The work arrays ``objective`` keeps from one evaluation to the next."""
    first = 1 if objective.sparse else 0  # SciPy makes z_0 and dW_0 = X.T @ delta_0 afresh
    layers = [objective.z[first:], objective.delta, objective.dW[first:], objective.alpha_W,
              objective.sum_delta, objective.db]
    hidden = [array for f in objective.hidden for array in vars(f).values()]
    return [array for layer in layers for array in layer] + hidden


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("activation", _lbfgs.HIDDEN)
@pytest.mark.parametrize("loss_name", _lbfgs.OUTPUTS)
def test_evaluations_reuse_their_arrays_and_agree_with_a_fresh_objective(loss_name, activation,
                                                                        sparse):
    """Each evaluation writes into the work arrays of the first, yet gives the bits of a fresh
    objective; the gradient it returns is its own, which no later evaluation overwrites."""
    objective, thetas = objective_for(loss_name, activation, sparse=sparse)
    objective(thetas[0])
    kept = kept_arrays(objective)
    assert len(kept) >= 10 and all(isinstance(array, np.ndarray) for array in kept)
    returned = []
    for theta in [*thetas, thetas[0]]:
        value, grad = objective(theta)
        fresh_value, fresh_grad = objective_for(loss_name, activation, sparse=sparse)[0](theta)
        assert same_bits(value, fresh_value) and same_bits(grad, fresh_grad)
        returned.append((grad, grad.copy()))
    assert all(now is then for now, then in zip(kept_arrays(objective), kept, strict=True))
    for grad, as_returned in returned:  # SciPy keeps the arrays it is given
        assert same_bits(grad, as_returned)
    assert len({id(grad) for grad, _ in returned}) == len(returned)
    # a theta of another dtype starts afresh, with that dtype's arithmetic
    theta = thetas[1].astype(np.float32)
    value, grad = objective(theta)
    fresh_value, fresh_grad = objective_for(loss_name, activation, sparse=sparse)[0](theta)
    assert same_bits(value, fresh_value) and same_bits(grad, fresh_grad)


@pytest.mark.parametrize("activation", _lbfgs.HIDDEN)
def test_an_evaluation_allocates_no_array_of_the_datas_size(activation):
    """After the first evaluation, what one evaluation allocates at its peak is below one
    (n_samples x n_hidden) work array: the loss's (n_samples x n_outputs) temporaries and
    the returned gradient."""
    objective, thetas = objective_for("cross_entropy", activation, n=2000, hidden=(40,))
    objective(thetas[0])
    tracemalloc.start()
    try:
        objective(thetas[1])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2000 * 40 * 8 / 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_out", [1, 3])
def test_times_transpose_is_the_gemm_to_the_bit(n_out, dtype):
    """``delta @ W.T``; with one output a broadcast product plus 0, which must give the same
    bits as the gemm: signed zeros (a gemm's sum starts at +0), infinities, NaN, underflow."""
    rng = np.random.RandomState(0)
    delta, W = rng.randn(50, n_out).astype(dtype), rng.randn(30, n_out).astype(dtype)
    tiny = np.finfo(dtype).tiny
    delta[::7], delta[1::7], delta[2::11], delta[3] = 0.0, -0.0, np.inf, tiny
    W[::5], W[1::5], W[2::9], W[4], W[6] = 0.0, -0.0, -np.inf, np.nan, -tiny
    out = np.empty((50, 30), dtype)
    with np.errstate(all="ignore"):
        _lbfgs._times_transpose(delta, W, out=out)
        assert same_bits(out, delta @ W.T)
        if n_out == 1:  # the data hold -0.0 products, which the gemm's sum makes +0.0
            assert not same_bits(out, delta * W.T)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_derivative_is_the_masked_store_to_the_bit(dtype):
    """``delta[a == 0] = 0`` (scikit-learn's), done by clearing bits: -0.0 in ``a`` counts as
    0, NaN does not, and the cleared entries are +0.0 whatever their sign was."""
    rng = np.random.RandomState(0)
    a = np.maximum(rng.randn(40, 9), 0).astype(dtype)
    a[0, :3], a[1, :3] = -0.0, np.nan
    delta = rng.randn(40, 9).astype(dtype)
    delta[2], delta[3, :4] = -0.0, [np.inf, -np.inf, np.nan, -1e-30]
    expected = delta.copy()
    expected[a == 0] = 0
    with np.errstate(all="ignore"):
        _lbfgs._ReLU().df(a, delta)
    assert same_bits(delta, expected)


# -- the rest of scikit-learn's behaviour around the call -----------------------------------
def test_convergence_warning_is_scikit_learns():
    X, y, Y, loss_name, _ = dataset("iris")
    theirs = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(6,), random_state=0,
                           max_iter=5)
    with pytest.warns(ConvergenceWarning) as sk_record, np.errstate(all="ignore"):
        theirs.fit(X, y)
    model, _ = start_model([4, 6, 3], "relu", seed=0)
    with pytest.warns(ConvergenceWarning) as record:
        n_iter, _, result = _lbfgs.minimize(model, X, Y, loss_name=loss_name, alpha=1e-4,
                                            max_iter=5, max_fun=15000, tol=1e-4)
    assert n_iter == 5 and result.status == 1 and len(record) == 1
    message = str(record[0].message)
    assert message.startswith("lbfgs failed to converge after 5 iteration(s) (status=1):\n")
    assert "(max_iter=5)" in message
    if str(sk_record[0].message).startswith("lbfgs failed to converge after"):  # its 1.9 words
        assert [message] == [str(w.message) for w in sk_record]
    assert record[0].filename == __file__  # it points at the caller


def test_a_converged_fit_warns_nothing():
    X, y, Y, loss_name, _ = dataset("binary")
    model, _ = start_model([8, 6, 1], "identity", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        n_iter, _, result = _lbfgs.minimize(model, X, Y, loss_name=loss_name, alpha=1e-4,
                                            max_iter=200, max_fun=15000, tol=1e-4)
    assert result.status == 0 and n_iter < 200


def test_overflowing_exp_and_clipped_probabilities_raise_and_warn_nothing():
    """Poisson outputs that overflow in the line search, logistic outputs that saturate:
    scikit-learn's arithmetic, under conftest's np.seterr(all='raise'), and no warning."""
    rng = np.random.RandomState(0)
    X = 30.0 * rng.randn(60, 3)
    model, _ = start_model([3, 4, 1], "identity", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        _lbfgs.minimize(model, X, rng.poisson(3.0, (60, 1)).astype(float),
                        loss_name="poisson_sum", alpha=0.0, max_iter=20, max_fun=100, tol=0.0)
        model, _ = start_model([3, 4, 1], "identity", seed=1)
        _lbfgs.minimize(model, X, (X[:, :1] > 0).astype(float),
                        loss_name="binary_cross_entropy", alpha=0.0, max_iter=20,
                        max_fun=100, tol=0.0)


def test_supported_takes_the_four_activations_and_the_five_losses():
    for activation in [*ACTIVATIONS, "sigmoid", "Tanh", ["relu", "logistic"]]:
        model = glassnet.MLP([3, 4, 4, 2], activation=activation)
        for loss_name in _lbfgs.OUTPUTS:
            assert _lbfgs.supported(model, loss_name)
    assert _lbfgs.supported(glassnet.MLP([3, 2]), "squared_error")  # no hidden layer
    for activation in ["leaky_relu", "elu", "gelu", "softplus", ["relu", "elu"]]:
        assert not _lbfgs.supported(glassnet.MLP([3, 4, 4, 2], activation=activation),
                                    "cross_entropy")
    assert not _lbfgs.supported(glassnet.MLP([3, 4, 2], dropout=0.2), "cross_entropy")
    assert not _lbfgs.supported(glassnet.MLP([3, 4, 2]), "hinge")
    dense = glassnet.MLP([3, 4, 2]).layers
    assert not _lbfgs.supported(glassnet.Sequential([dense[0], dense[2]]), "squared_error")


def test_one_activation_per_hidden_layer_gives_the_gradient():
    """No scikit-learn to compare with here: central differences on the objective."""
    rng = np.random.RandomState(0)
    model = glassnet.MLP([3, 4, 5, 2], activation=["tanh", "logistic"], dtype="float64",
                         seed=0)
    assert _lbfgs.supported(model, "binary_cross_entropy_sum")
    dense, hidden = _lbfgs._layers(model)
    assert hidden == ["tanh", "sigmoid"]
    objective = _lbfgs._Objective([d.W.shape for d in dense], hidden,
                                  "binary_cross_entropy_sum", rng.randn(20, 3),
                                  rng.rand(20, 2) > 0.5, 0.3, rng.uniform(0.5, 2, 20))
    theta = objective.pack([d.W for d in dense], [d.b for d in dense])
    _, grad = objective(theta)
    h, numeric = 1e-6, np.empty_like(theta)
    for k in range(theta.size):
        step = np.zeros_like(theta)
        step[k] = h
        numeric[k] = (objective(theta + step)[0] - objective(theta - step)[0]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_the_result_is_written_into_the_models_own_arrays():
    X, y, Y, loss_name, _ = dataset("regression")
    model, dense = start_model([8, 6, 2], "tanh", seed=0)
    buffer, views = model.flat_params, [d.W for d in dense]
    before = buffer.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _lbfgs.minimize(model, X, Y, loss_name=loss_name, alpha=1e-4, max_iter=10,
                        max_fun=15000, tol=1e-4)
    assert model.flat_params is buffer and all(d.W is W for d, W in zip(dense, views))
    assert not np.array_equal(buffer, before)
    np.testing.assert_array_equal(model.predict(X[:3]), model.forward(X[:3]))
