"""Layers, Sequential and the MLP builder: structure, dtypes, parameters, dropout, summary."""

import numpy as np
import pytest

import glassnet
from glassnet.activations import ACTIVATIONS
from glassnet.init import INITIALISERS
from glassnet.layers import Dense, Dropout


def test_mlp_structure_with_one_activation_per_hidden_layer():
    model = glassnet.MLP([4, 8, 6, 3], activation=["tanh", "gelu"], seed=0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "Tanh", "Dense", "GELU", "Dense"]
    assert (model.n_inputs, model.n_outputs) == (4, 3)


def test_mlp_adds_dropout_after_each_hidden_activation():
    model = glassnet.MLP([4, 8, 6, 3], dropout=0.25, seed=0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "ReLU", "Dropout", "Dense", "ReLU", "Dropout", "Dense"]


def test_count_parameters_follows_the_formula():
    model = glassnet.MLP([5, 7, 3], seed=0)
    assert model.count_parameters() == (5 * 7 + 7) + (7 * 3 + 3)


def test_summary_shows_layers_shapes_formula_and_total():
    text = glassnet.MLP([5, 7, 3], seed=0).summary()
    assert "42 = 5·7 + 7" in text and "24 = 7·3 + 3" in text
    assert "(None, 7)" in text and "(None, 3)" in text
    assert "Total parameters: 66" in text


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept_end_to_end(dtype):
    model = glassnet.MLP([3, 4, 2], activation="gelu", dropout=0.1, dtype=dtype, seed=0)
    X = np.random.default_rng(0).standard_normal((5, 3))  # float64 input: cast at the boundary
    out = model.forward(X, training=True)
    assert out.dtype == dtype
    dX = model.backward(np.ones_like(out))
    assert dX.dtype == dtype
    for name, p, g in model.named_parameters():
        assert p.dtype == dtype and g.dtype == dtype, name
    _, grads = glassnet.value_and_grad(model, "cross_entropy", X, np.array([0, 1, 0, 1, 1]))
    assert all(g.dtype == dtype for g in grads.values())


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float32_activation_layers_stay_float32(name):
    layer = ACTIVATIONS[name]()
    z = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    assert layer.forward(z).dtype == np.float32
    assert layer.backward(np.ones_like(z)).dtype == np.float32


def test_parameters_live_in_one_contiguous_buffer():
    model = glassnet.MLP([3, 4, 2], seed=0)
    assert model.flat_params.flags.c_contiguous
    for _, p, g in model.named_parameters():
        assert np.shares_memory(p, model.flat_params) and np.shares_memory(g, model.flat_grads)
    model.flat_params[:] = 0.5  # one write reaches every layer
    assert np.all(model.layers[0].W == 0.5) and np.all(model.layers[2].b == 0.5)


def _penalized_by_hand(model, l2):
    """The L2 term's value and new gradients, layer by layer, from copies (the reference)."""
    dense = [layer for layer in model.layers if hasattr(layer, "W")]
    value = 0.5 * l2 * sum((layer.W.astype(np.float64) ** 2).sum() for layer in dense)
    dWs = [layer.dW + l2 * layer.W for layer in dense]
    return value, dense, dWs


def _check_l2_term(model):
    """add_l2 against the layer-by-layer reference: weights' gradients, biases' not."""
    rng = np.random.default_rng(3)
    model.flat_params[:] = rng.standard_normal(model.flat_params.size)  # biases non-zero too
    model.flat_grads[:] = rng.standard_normal(model.flat_grads.size)
    value, dense, dWs = _penalized_by_hand(model, 0.3)
    dbs = [layer.db.copy() for layer in dense]
    assert model.add_l2(0.3) == pytest.approx(value, rel=1e-12)
    for layer, dW, db in zip(dense, dWs, dbs):  # dW += 0.3 * W; db untouched
        np.testing.assert_allclose(layer.dW, dW, rtol=1e-12)
        np.testing.assert_array_equal(layer.db, db)


def test_weights_come_first_in_the_buffer_and_the_l2_term_covers_them_only():
    model = glassnet.MLP([3, 4, 5, 2], dtype="float64", seed=0)
    n_weights = 3 * 4 + 4 * 5 + 5 * 2
    for _, p, _ in model.named_parameters():  # every W inside the head, every b after it
        start = (p.__array_interface__["data"][0]
                 - model.flat_params.__array_interface__["data"][0]) // 8
        assert (start + p.size <= n_weights) == (p.ndim == 2)
    _check_l2_term(model)


def test_dtype_none_follows_the_first_parameter_even_when_it_is_not_penalised():
    class Scale(glassnet.layers.Layer):  # one unpenalised float64 parameter
        param_names = ("s",)

        def __init__(self):
            self.s, self.ds = np.ones(3), np.zeros(3)

        def forward(self, x, training=False):
            return x * self.s

    model = glassnet.Sequential([Scale(), glassnet.layers.Dense(3, 2, dtype="float32")])
    assert model.dtype == np.float64 and model.layers[1].W.dtype == np.float64


def test_state_dict_round_trip_and_copy():
    a, b = glassnet.MLP([3, 4, 2], seed=0), glassnet.MLP([3, 4, 2], seed=1)
    state = a.state_dict()
    assert list(state) == ["layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b"]
    state["layers.0.W"][0, 0] = 99.0  # a copy: the model is not changed through it
    assert a.layers[0].W[0, 0] != 99.0
    b.load_state_dict(a.state_dict())
    X = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_array_equal(a.forward(X), b.forward(X))


def test_load_state_dict_checks_names_shapes_and_loads_nothing_on_error():
    model = glassnet.MLP([3, 4, 2], seed=0)
    before = model.state_dict()
    bad = model.state_dict()
    bad["layers.2.b"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"layers\.2\.b.*\(5,\).*\(2,\)"):
        model.load_state_dict(bad)
    missing = model.state_dict()
    del missing["layers.0.W"]
    with pytest.raises(ValueError, match="missing.*layers.0.W"):
        model.load_state_dict(missing)
    partial = {k: np.zeros_like(v) for k, v in model.state_dict().items()}
    partial["layers.2.W"][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.load_state_dict(partial)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_same_seed_same_weights_and_copy_is_independent():
    a, b = glassnet.MLP([3, 5, 2], seed=7), glassnet.MLP([3, 5, 2], seed=7)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    c = a.copy()
    c.flat_params += 1
    assert not np.shares_memory(c.flat_params, a.flat_params)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)


def test_mlp_xavier_with_the_notebook_generator_reproduces_functional_initialise():
    model = glassnet.MLP([2, 4, 2], dtype="float64", seed=np.random.RandomState(42))
    weights, _, _, _ = glassnet.functional.initialise([2, 4, 2], seed=42)
    np.testing.assert_array_equal(model.layers[0].W, weights[0])
    np.testing.assert_array_equal(model.layers[2].W, weights[1])


@pytest.mark.parametrize("name, std, bound", [
    ("xavier", np.sqrt(2 / (300 + 200)), None),
    ("glorot_uniform", np.sqrt(2 / (300 + 200)), np.sqrt(6 / (300 + 200))),
    ("he_normal", np.sqrt(2 / 300), None),
    ("he_uniform", np.sqrt(2 / 300), np.sqrt(6 / 300)),
    ("lecun_normal", np.sqrt(1 / 300), None),
    ("zeros", 0.0, 0.0),
])
def test_initialisers_have_the_stated_scale(name, std, bound):
    W = INITIALISERS[name](300, 200, np.random.default_rng(0))
    assert W.shape == (300, 200)
    assert np.std(W) == pytest.approx(std, rel=0.02, abs=1e-12)
    assert abs(np.mean(W)) < 0.01
    if bound is not None:
        assert np.max(np.abs(W)) <= bound


def test_every_initialiser_is_accepted_by_the_builder():
    for name in INITIALISERS:
        model = glassnet.MLP([3, 4, 2], init=name, seed=0)
        assert not model.layers[0].b.any()


def test_dropout_is_inverted_and_off_in_eval_mode():
    layer = Dropout(0.3, seed=0)
    x = np.ones((2000, 50))
    y = layer.forward(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7)  # survivors scaled by 1 / (1 - p)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)  # same mask backward
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(x), x)


def test_dropout_masks_come_from_the_explicit_seed():
    x = np.ones((4, 6))
    a = Dropout(0.5, seed=3).forward(x, training=True)
    b = Dropout(0.5, seed=3).forward(x, training=True)
    np.testing.assert_array_equal(a, b)


def test_dense_forward_is_x_at_W_plus_b():
    layer = Dense(3, 2, seed=0, dtype="float64")
    layer.b[:] = [1.0, -1.0]
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(layer.forward(x), x @ layer.W + layer.b, rtol=1e-15)


def test_predict_in_chunks_equals_forward():
    model = glassnet.MLP([5, 16, 3], dropout=0.2, dtype="float64", seed=0)
    X = np.random.default_rng(0).standard_normal((1030, 5))
    np.testing.assert_allclose(model.predict(X, batch_size=100), model.forward(X), rtol=1e-12)
    with pytest.raises(ValueError, match="X has 4 features"):
        model.predict(np.zeros((3, 4)))


@pytest.mark.parametrize("bad_row", [0, 99, 100, 1029])
def test_predict_names_the_first_bad_row_whichever_chunk_holds_it(bad_row):
    """predict scans each chunk for NaN/inf as it reaches it: the row it names is still the
    row in X, in the first chunk, at a chunk boundary and in the last, short chunk."""
    model = glassnet.MLP([5, 16, 3], dtype="float64", seed=0)
    X = np.random.default_rng(0).standard_normal((1030, 5))
    X[bad_row, 2] = np.nan
    X[1029, 4] = np.inf  # a later bad row is not the one named (unless it is the first)
    with pytest.raises(ValueError, match=rf"X contains NaN or inf \(first at row {bad_row}\)"):
        model.predict(X, batch_size=100)


def test_the_same_layer_object_cannot_sit_twice_in_a_model():
    act = glassnet.ReLU()
    with pytest.raises(ValueError, match=r"layers\[3\] is the same object as an earlier layer"):
        glassnet.Sequential([Dense(2, 3), act, Dense(3, 3), act, Dense(3, 2)])


def test_predict_checks_its_batch_size():
    model = glassnet.MLP([2, 3, 2], seed=0)
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            model.predict(np.zeros((4, 2)), batch_size=bad)


def test_loss_gradients_are_independent_arrays():
    from glassnet.losses import CrossEntropy
    loss, rng = CrossEntropy(), np.random.default_rng(0)
    _, g1 = loss.value_and_grad(rng.standard_normal((4, 3)), np.array([0, 1, 2, 0]))
    kept = g1.copy()
    _, g2 = loss.value_and_grad(rng.standard_normal((4, 3)), np.array([1, 1, 2, 0]))
    assert g1 is not g2
    np.testing.assert_array_equal(g1, kept)


def test_dropout_accepts_the_notebook_generator_too():
    layer = Dropout(0.25, seed=np.random.RandomState(0))
    y = layer.forward(np.ones((400, 50), dtype=np.float32), training=True)
    assert y.dtype == np.float32 and abs(np.mean(y != 0) - 0.75) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / 0.75, rtol=1e-6)


def test_predict_says_when_a_finite_value_overflowed_the_models_dtype():
    """A float64 value beyond float32's range becomes inf when a float32 model casts X: the
    error says so, instead of calling the caller's finite data NaN or inf without a reason."""
    model = glassnet.MLP([3, 4, 2], dtype="float32", seed=0)
    X = np.zeros((6, 3))
    X[4, 0] = 1e300
    with pytest.raises(ValueError, match=r"after conversion to float32, whose largest value is "
                                         r"3\.4e\+38 \(first at row 4\)"):
        model.predict(X)
    X[4, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at row 4\)"):
        glassnet.MLP([3, 4, 2], dtype="float64", seed=0).predict(X)


def test_load_state_dict_refuses_a_value_that_overflows_the_models_dtype():
    """1e39 is finite in float64 and inf in float32: refused by name, nothing loaded."""
    model = glassnet.MLP([2, 3, 2], seed=0)  # float32
    state = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    before = model.flat_params.copy()
    state["layers.0.W"] = state["layers.0.W"] * 0 + 1.0
    state["layers.2.b"] = np.array([1e39, 0.0])
    with pytest.raises(ValueError, match=r"state_dict\['layers.2.b'\] contains NaN or inf once "
                                         r"cast to float32"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.flat_params, before)
    with pytest.raises(TypeError, match="state_dict must be a mapping"):
        model.load_state_dict(list(state.items()))


def test_sequential_refuses_dense_layers_whose_widths_do_not_chain():
    from glassnet.activations import ReLU
    from glassnet.layers import Dense, Dropout
    with pytest.raises(ValueError, match=r"layers\[3\] \(Dense\) takes 5 inputs but "
                                         r"layers\[0\] \(Dense\) gives 4"):
        glassnet.Sequential([Dense(3, 4), ReLU(), Dropout(0.1), Dense(5, 2)])
    assert glassnet.Sequential([Dense(3, 4), ReLU(), Dense(4, 2)]).n_outputs == 2


def test_public_backward_takes_an_underflowing_gradient_as_zero():
    """sigmoid'(-100) underflows float32: under seterr(all='raise') (conftest) the public
    backward must still give the (tiny) gradient, as value_and_grad does."""
    from glassnet.activations import Sigmoid
    from glassnet.layers import Dense
    model = glassnet.Sequential([Dense(1, 1), Sigmoid(), Dense(1, 1)])
    model.load_state_dict({"layers.0.W": np.ones((1, 1)), "layers.0.b": np.zeros(1),
                           "layers.2.W": np.ones((1, 1)), "layers.2.b": np.zeros(1)})
    model.forward(np.array([[-100.0]]))
    dx = model.backward(np.array([[0.3]]))
    expected = 0.3 * np.exp(-100.0)  # 0.3 sigma'(-100) = 0.3 e^-100, 1.1e-44 (subnormal)
    assert abs(float(dx[0, 0]) - expected) <= 3e-45  # float32's subnormals: 1.4e-45 apart


def test_a_float64_layer_after_a_float32_one_is_not_rounded_silently():
    from glassnet.layers import Dense
    with pytest.raises(ValueError, match="would round: pass dtype="):
        glassnet.Sequential([Dense(3, 4, dtype="float32"), Dense(4, 2, dtype="float64")])
    model = glassnet.Sequential([Dense(3, 4, dtype="float32"), Dense(4, 2, dtype="float64")],
                                dtype="float64")
    assert model.layers[0].W.dtype == model.layers[1].W.dtype == np.float64
