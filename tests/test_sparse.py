"""SciPy sparse X in the core (issue 18 item 1): forward, predict, fit (every optimizer, the
fused SGD step, shuffle, validation, sample weights, L-BFGS), gradients, the checks, resume,
and a fit that never densifies its data.

The reference everywhere is the same data densified (``X.toarray()``) through the dense
path, or plain NumPy; every test runs SciPy's kernels (``_blas.sparse_*``) and, where the
products are involved, SciPy's public product that replaces them (``SPARSE_ENABLED``)."""

import tracemalloc

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse", reason="SciPy is not installed: sparse X untested")

import glassnet  # noqa: E402
from glassnet import _blas, optim  # noqa: E402
from glassnet._checks import check_finite, check_X  # noqa: E402
from glassnet.callbacks import BackupAndRestore, BackupError, LambdaCallback  # noqa: E402

FORMATS = ["csr_matrix", "csr_array", "csc_matrix", "csc_array", "coo_matrix", "coo_array"]


@pytest.fixture(params=["kernels", "scipy"])
def sparse_path(request, monkeypatch):
    """SciPy's CSR/CSC kernels that add into existing arrays, and SciPy's public product."""
    monkeypatch.setattr(_blas, "SPARSE_ENABLED", request.param == "kernels")
    return request.param


def sparse_data(n=200, d=300, density=0.05, seed=0, classes=3):
    """A random CSR matrix and labels from a linear teacher on its dense values."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    X.data = rng.standard_normal(X.nnz)
    scores = X @ rng.standard_normal((d, classes))
    return X, scores.argmax(axis=1)


def relu_net(X, model):
    """The forward pass of a Dense-ReLU-Dense model in plain NumPy, on dense X."""
    (W1, b1), (W2, b2) = [(layer.W, layer.b) for layer in model.layers
                          if isinstance(layer, glassnet.Dense)]
    return np.maximum(X @ W1 + b1, 0) @ W2 + b2


# -- forward and predict ------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_forward_and_predict_on_every_format_equal_the_dense_data(fmt, sparse_path):
    X, _ = sparse_data(n=70, d=40, density=0.2)
    Xs = getattr(sp, fmt)(X)
    dense = X.toarray()
    model = glassnet.MLP([40, 16, 3], dtype="float64", seed=0)
    want = relu_net(dense, model)
    np.testing.assert_allclose(model.forward(Xs), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.forward(Xs), model.forward(dense), rtol=1e-12, atol=1e-14)
    # predict in chunks of 16 rows: CSR slices, the last one short
    np.testing.assert_allclose(model.predict(Xs, batch_size=16), want, rtol=1e-12, atol=1e-14)
    assert Xs.format == fmt[:3]  # the caller's matrix is not converted in place


def test_a_float32_model_takes_float64_sparse_data_and_an_int_matrix_is_cast():
    X, _ = sparse_data(n=50, d=30, density=0.2)
    model = glassnet.MLP([30, 8, 2], dtype="float32", seed=0)
    got = model.forward(X)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, model.forward(X.toarray().astype(np.float32)), rtol=1e-5,
                               atol=1e-6)
    counts = sp.csr_array((np.arange(1, X.nnz + 1) % 5, X.indices, X.indptr), shape=X.shape)
    np.testing.assert_allclose(model.forward(counts), model.forward(counts.toarray()),
                               rtol=1e-5, atol=1e-6)


def test_check_X_keeps_csr_data_and_converts_other_formats_and_dtypes_once():
    X, _ = sparse_data(n=30, d=20, density=0.3)
    assert check_X(X, 20, np.float64, sparse=True) is X  # already what the model takes
    as32 = check_X(X, 20, np.float32, sparse=True)
    assert as32.format == "csr" and as32.dtype == np.float32 and type(as32) is type(X)
    assert np.shares_memory(as32.indices, X.indices)  # only the values were copied
    assert np.shares_memory(as32.indptr, X.indptr)
    assert X.dtype == np.float64  # the caller's matrix is untouched
    from_csc = check_X(sp.csc_array(X), 20, np.float64, sparse=True)
    assert from_csc.format == "csr" and isinstance(from_csc, sp.csr_array)
    np.testing.assert_array_equal(from_csc.toarray(), X.toarray())


# -- the first layer's products -----------------------------------------------------------
def unsorted_with_duplicates(rng, m, k):
    """A CSR matrix whose rows store columns out of order and some twice (not canonical)."""
    indptr, indices, data = [0], [], []
    for _ in range(m):
        cols = rng.integers(0, k, rng.integers(0, 6))
        indices += list(cols)
        data += list(rng.standard_normal(len(cols)))
        indptr.append(len(indices))
    return sp.csr_matrix((np.array(data), np.array(indices, np.int32), np.array(indptr, np.int32)),
                         shape=(m, k))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_the_sparse_products_equal_numpy_on_the_dense_matrix(sparse_path, dtype, rtol):
    rng = np.random.default_rng(3)
    for x, index_dtype in ((sp.random(9, 13, density=0.3, format="csr", random_state=1), None),
                           (unsorted_with_duplicates(rng, 9, 13), None),
                           (sp.random(9, 13, density=0.3, format="csr", random_state=2),
                            np.int64)):  # the indices of a matrix of over 2**31 values
        x = x.astype(dtype)
        if index_dtype is not None:
            x.indices, x.indptr = x.indices.astype(index_dtype), x.indptr.astype(index_dtype)
            assert x.indices.dtype == np.int64
        dense = x.toarray()
        w, bias = rng.standard_normal((13, 4)).astype(dtype), rng.standard_normal(4).astype(dtype)
        d, c = rng.standard_normal((9, 4)).astype(dtype), rng.standard_normal((13, 4)).astype(dtype)
        out = np.full((9, 4), np.nan, dtype)
        np.testing.assert_allclose(_blas.sparse_matmul_add(x, w, bias, out), dense @ w + bias,
                                   rtol=rtol, atol=rtol)
        out = np.full((13, 4), np.nan, dtype)
        np.testing.assert_allclose(_blas.sparse_product_tn(x, d, out), dense.T @ d,
                                   rtol=rtol, atol=rtol)
        want = -0.5 * dense.T @ d + 0.9 * c
        _blas.sparse_gemm_tn(-0.5, x, d.copy(), 0.9, c)
        np.testing.assert_allclose(c, want, rtol=rtol, atol=rtol)


def test_the_kernels_leave_what_they_do_not_take_to_scipys_product():
    """A CSC operand or mixed dtypes go through SciPy's public product, with the same result."""
    x = sp.random(6, 5, density=0.5, format="csc", random_state=0)
    w = np.arange(10.0).reshape(5, 2)
    out = np.empty((6, 2))
    np.testing.assert_allclose(_blas.sparse_matmul_add(x, w, np.ones(2), out),
                               x.toarray() @ w + 1, rtol=1e-14)
    out32 = np.empty((5, 2), np.float32)
    np.testing.assert_allclose(_blas.sparse_product_tn(x.tocsr(), np.ones((6, 2)), out32),
                               x.toarray().T @ np.ones((6, 2)), rtol=1e-6)


# -- training ------------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd_fused": lambda: optim.SGD(lr=0.1),
    "sgd_momentum": lambda: optim.SGD(lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda: optim.Adam(lr=0.01),
    "lbfgs": lambda: optim.LBFGS(),
}


def _fit(model, X, y, name, **kwargs):
    """``glassnet.fit`` through ``fit_iter``, returning the history and the step's name."""
    run = glassnet.fit_iter(model, X, y, optimizer=OPTIMIZERS[name](), **kwargs)
    states = list(run)
    return states[-1].history, states[-1].run.kernel.name


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_fit_on_sparse_data_ends_where_the_fit_on_dense_data_ends(name, sparse_path):
    """Same weights (1e-12) and history, with shuffle, a held-out validation fraction,
    sample weights and L2; plain SGD (a model above _blas.MIN_SIZE parameters) takes its
    step inside backprop on sparse data too."""
    X, y = sparse_data()
    w = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    on_sparse = glassnet.MLP([300, 64, 3], dtype="float64", seed=0)
    on_dense = on_sparse.copy()
    assert on_sparse.count_parameters() >= _blas.MIN_SIZE
    kwargs = dict(epochs=4 if name != "lbfgs" else 10, batch_size=32, seed=5,
                  validation_fraction=0.2, sample_weight=w, l2=1e-3)
    got, kernel = _fit(on_sparse, X, y, name, **kwargs)
    want, dense_kernel = _fit(on_dense, X.toarray(), y, name, **kwargs)
    assert kernel == dense_kernel == ("sgd_in_backward" if name == "sgd_fused" else "separate")
    np.testing.assert_allclose(on_sparse.flat_params, on_dense.flat_params, rtol=1e-12,
                               atol=1e-12)
    assert got.epochs == want.epochs
    assert set(got.history) == set(want.history)
    for key in want.history:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, err_msg=key)


def test_validation_data_and_evaluate_take_sparse_data():
    X, y = sparse_data()
    model = glassnet.MLP([300, 8, 3], dtype="float64", seed=0)
    history = glassnet.fit(model, X[:150], y[:150], epochs=2, seed=0,
                           validation_data=(sp.csc_matrix(X[150:]), y[150:]))
    got = glassnet.evaluate(model, sp.coo_array(X[150:]), y[150:])
    want = glassnet.evaluate(model, X[150:].toarray(), y[150:])
    assert got == pytest.approx(want, rel=1e-12)
    assert history["val_loss"][-1] == pytest.approx(want["loss"], rel=1e-12)


def test_float32_training_and_lbfgs_keep_the_data_sparse():
    X, y = sparse_data(n=80, d=50, density=0.1)
    for make in (lambda: optim.Adam(lr=0.01), optim.LBFGS):
        on_sparse = glassnet.MLP([50, 8, 3], dtype="float32", seed=0)
        on_dense = on_sparse.copy()
        glassnet.fit(on_sparse, X, y, optimizer=make(), epochs=5, seed=0)
        glassnet.fit(on_dense, X.toarray(), y, optimizer=make(), epochs=5, seed=0)
        np.testing.assert_allclose(on_sparse.flat_params, on_dense.flat_params, rtol=1e-5,
                                   atol=1e-6)


# -- gradients ----------------------------------------------------------------------------
def test_gradients_on_sparse_data_equal_the_dense_ones_and_finite_differences(sparse_path):
    X, y = sparse_data(n=40, d=25, density=0.2)
    w = np.linspace(0.5, 1.5, 40)
    model = glassnet.MLP([25, 6, 3], activation="tanh", dtype="float64", seed=2)
    value, grads = glassnet.value_and_grad(model, "cross_entropy", X, y, l2=0.1,
                                           sample_weight=w)
    want_value, want = glassnet.value_and_grad(model, "cross_entropy", X.toarray(), y, l2=0.1,
                                               sample_weight=w)
    assert value == pytest.approx(want_value, rel=1e-13)
    for key in want:
        np.testing.assert_allclose(grads[key], want[key], rtol=1e-12, atol=1e-15, err_msg=key)
    report = glassnet.gradcheck(model, "cross_entropy", sp.csc_matrix(X), y, l2=0.1,
                                sample_weight=w)
    assert report.ok, str(report)
    # the public backward: the input gradient is dense, dL/dX = delta @ W1^T
    model.forward(X)
    dX = model.backward(np.ones((40, 3)))
    model.forward(X.toarray())
    np.testing.assert_allclose(dX, model.backward(np.ones((40, 3))), rtol=1e-12, atol=1e-15)


# -- the checks -----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_array", "coo_matrix"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_sparse_data_is_refused_with_its_row(fmt, bad):
    X, y = sparse_data(n=60, d=20, density=0.2)
    X = X.tolil()
    X[37, 4], X[52, 1] = bad, bad  # the first bad row is 37
    Xs = getattr(sp, fmt)(X)
    model = glassnet.MLP([20, 4, 3], dtype="float64", seed=0)
    for call in (lambda: glassnet.fit(model, Xs, y, epochs=1),
                 lambda: model.forward(Xs),
                 lambda: model.predict(Xs, batch_size=16),  # the chunk from row 32
                 lambda: glassnet.evaluate(model, Xs, y),
                 lambda: glassnet.value_and_grad(model, "cross_entropy", Xs, y)):
        with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at row 37\)"):
            call()


def test_the_finite_check_names_a_row_after_empty_rows_and_a_value_float32_cannot_hold():
    data = sp.csr_matrix(([1.0, 2.0, np.nan], [0, 1, 2], [0, 0, 0, 2, 2, 3]), shape=(5, 3))
    with pytest.raises(ValueError, match=r"first at row 4\)"):
        check_finite(data, "X")
    big = sp.csr_matrix(([1.0, 1e300], [0, 2], [0, 1, 1, 2]), shape=(3, 3))
    model = glassnet.MLP([3, 4, 2], dtype="float32", seed=0)
    with pytest.raises(ValueError, match=r"after conversion to float32.*\(first at row 2\)"):
        model.forward(big)


def test_sparse_data_of_the_wrong_shape_or_kind_is_refused_naming_X():
    X, y = sparse_data(n=30, d=20, density=0.2)
    model = glassnet.MLP([21, 4, 3], dtype="float64", seed=0)
    with pytest.raises(ValueError, match=r"X has 20 features \(columns\) but the model expects 21"):
        glassnet.fit(model, X, y, epochs=1)
    with pytest.raises(ValueError, match=r"X has 20 features"):
        model.predict(X)
    with pytest.raises(ValueError, match="validation_data: X has 21 features"):
        glassnet.fit(glassnet.MLP([20, 4, 3], seed=0), X, y, epochs=1,
                     validation_data=(sp.csr_matrix(np.ones((3, 21))), [0, 1, 2]))
    with pytest.raises(ValueError, match="X must be numeric"):
        glassnet.MLP([20, 4, 3], seed=0).forward(X.astype(np.complex128))
    with pytest.raises(ValueError, match="X has no samples"):
        glassnet.MLP([20, 4, 3], seed=0).forward(sp.csr_matrix((0, 20)))
    with pytest.raises(ValueError, match="y has 29 rows but X has 30"):
        glassnet.fit(glassnet.MLP([20, 4, 3], seed=0), X, y[:29], epochs=1)
    # only a Dense first layer takes sparse data; the notebook's functions take none
    no_dense_first = glassnet.Sequential([glassnet.activations.ReLU(), glassnet.Dense(20, 3)])
    with pytest.raises(ValueError, match="X is a SciPy sparse csr_matrix, which only a model "
                                         "whose first layer is Dense takes"):
        no_dense_first.forward(X)
    weights, biases, _, _ = glassnet.functional.initialise([20, 4, 3])
    with pytest.raises(ValueError, match="X is a SciPy sparse"):
        glassnet.functional.forward_pass(X, weights, biases, "relu")


# -- resume --------------------------------------------------------------------------------
class Interrupt(Exception):
    pass


def test_backup_and_restore_resumes_a_sparse_run_exactly(tmp_path):
    X, y = sparse_data()
    path = tmp_path / "backup.safetensors"
    kwargs = dict(optimizer="adam", epochs=4, batch_size=32, seed=3, validation_fraction=0.2)
    reference = glassnet.MLP([300, 16, 3], dtype="float64", seed=0)
    want = glassnet.fit(reference, X, y, **kwargs)

    def fail(state):
        if state.epoch == 2:  # after epoch 1's backup
            raise Interrupt
    model = glassnet.MLP([300, 16, 3], dtype="float64", seed=0)
    with pytest.raises(Interrupt):
        glassnet.fit(model, X, y, callbacks=[BackupAndRestore(path),
                                             LambdaCallback(on_epoch_begin=fail)], **kwargs)
    assert path.exists()
    other = X.copy()
    other.data[0] += 1.0  # one stored value changed: another data set
    with pytest.raises(BackupError, match="another data set"):
        glassnet.fit(glassnet.MLP([300, 16, 3], dtype="float64", seed=0), other, y,
                     callbacks=[BackupAndRestore(path)], **kwargs)
    resumed = glassnet.MLP([300, 16, 3], dtype="float64", seed=0)
    backup = BackupAndRestore(path)
    got = glassnet.fit(resumed, X, y, callbacks=[backup], **kwargs)
    assert backup.resumed_from == 1
    np.testing.assert_array_equal(resumed.flat_params, reference.flat_params)
    assert got.epochs == want.epochs and got.history == want.history


# -- memory --------------------------------------------------------------------------------
def test_a_fit_on_a_large_sparse_matrix_never_densifies_it():
    """20,000 x 20,000 at 0.1 % (a densified copy: 3.2 GB): the peak of one epoch stays
    within 4 x the sparse data plus the weights, their gradients and Adam's moments."""
    n = d = 20_000
    rng = np.random.default_rng(0)
    nnz = n * d // 1000  # drawn as (row, column) pairs: sp.random takes half a minute here
    X = sp.csr_matrix((rng.standard_normal(nnz), (rng.integers(0, n, nnz),
                                                  rng.integers(0, d, nnz))), shape=(n, d))
    y = rng.integers(0, 2, n)
    model = glassnet.MLP([d, 8, 2], dtype="float64", seed=0)
    data_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    state_bytes = 4 * model.flat_params.nbytes  # weights, gradients, Adam's two moments
    tracemalloc.start()
    try:
        glassnet.fit(model, X, y, optimizer="adam", epochs=1, batch_size=200, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * (data_bytes + state_bytes), (peak, data_bytes, state_bytes)
