"""The notebook's API (glassnet.functional): its numbers, its trace, and a hand-worked step."""

import math

import numpy as np
import pytest

from glassnet import functional as F

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def test_initialise_reproduces_the_notebooks_weights_without_global_state():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    weights, biases, sizes, activation = F.initialise([2, 4, 2], "relu", seed=42)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # global RNG untouched
    # The notebook: np.random.seed(42), then randn(n_in, n_out) * sqrt(2 / (n_in + n_out)).
    notebook = np.random.RandomState(42)
    expected_W1 = notebook.randn(2, 4) * np.sqrt(2 / 6)
    expected_W2 = notebook.randn(4, 2) * np.sqrt(2 / 6)
    np.testing.assert_array_equal(weights[0], expected_W1)
    np.testing.assert_array_equal(weights[1], expected_W2)
    assert weights[0][0, 0] == pytest.approx(0.4967141530 * math.sqrt(1 / 3), rel=1e-9)
    assert [b.shape for b in biases] == [(1, 4), (1, 2)] and not any(b.any() for b in biases)
    assert sizes == [2, 4, 2] and activation == "relu"
    assert F.count_parameters(weights, biases) == 2 * 4 + 4 + 4 * 2 + 2


def test_first_training_step_matches_the_notebooks_printed_loss():
    """The notebook printed 'Step  1: Loss = 0.719186, Accuracy =  75.0%'."""
    weights, biases, _, act = F.initialise([2, 4, 2], "relu", seed=42)
    loss, accuracy, _, _ = F.train_one_step(XOR_X, XOR_Y, weights, biases, act, 0.1)
    assert round(loss, 6) == 0.719186
    assert accuracy == 75.0


def test_the_seed_configuration_solves_xor_within_2000_steps():
    weights, biases, _, act = F.initialise([2, 4, 2], "relu", seed=42)
    for _ in range(2000):
        F.train_one_step(XOR_X, XOR_Y, weights, biases, act, 0.1)
    np.testing.assert_array_equal(F.predict(XOR_X, weights, biases, act), XOR_Y)


def test_tanh_network_solves_xor_for_at_least_19_of_20_seeds():
    solved = 0
    for seed in range(20):
        weights, biases, _, act = F.initialise([2, 8, 2], "tanh", seed=seed)
        for _ in range(2000):
            F.train_one_step(XOR_X, XOR_Y, weights, biases, act, 0.5)
        solved += np.array_equal(F.predict(XOR_X, weights, biases, act), XOR_Y)
    assert solved >= 19


def test_hand_worked_step_of_a_2_2_2_network():
    """One sample x = [1, 2], label 1, ReLU, learning rate 0.1; every number by hand.

    Forward:
      z1 = x @ W1 + b1 = [1*0.1 + 2*0.3, 1*0.2 + 2*(-0.4)] = [0.7, -0.6]
      a1 = relu(z1) = [0.7, 0.0]
      z2 = a1 @ W2 + b2 = [0.7*0.5 + 0*1.0, 0.7*(-0.5) + 0*1.0] = [0.35, -0.35]
      p  = softmax(z2) = [s, 1 - s] with s = 1 / (1 + e^-0.7) = 0.668187772...
      loss = -log(1 - s) = log(1 + e^0.7) = 1.103186048...
    Backward (m = 1):
      dZ2 = p - [0, 1] = [s, -s]
      dW2 = a1.T @ dZ2 = [[0.7 s, -0.7 s], [0, 0]];   db2 = [s, -s]
      dA1 = dZ2 @ W2.T = [0.5 s + 0.5 s, 1.0 s - 1.0 s] = [s, 0]
      dZ1 = dA1 * relu'(z1) = [s * 1, 0 * 0] = [s, 0]
      dW1 = x.T @ dZ1 = [[1 s, 0], [2 s, 0]];          db1 = [s, 0]
    Update: W -= 0.1 * dW, b -= 0.1 * db. The prediction before the step is class 0: wrong.
    """
    W1 = np.array([[0.1, 0.2], [0.3, -0.4]])
    W2 = np.array([[0.5, -0.5], [1.0, 1.0]])
    weights, biases = [W1.copy(), W2.copy()], [np.zeros((1, 2)), np.zeros((1, 2))]
    x, y = np.array([[1.0, 2.0]]), np.array([1])
    s = 1 / (1 + math.exp(-0.7))

    probs, cache = F.forward_pass(x, weights, biases, "relu", return_cache=True)
    np.testing.assert_allclose(cache["Z1"], [[0.7, -0.6]], rtol=1e-14)
    np.testing.assert_allclose(cache["A1"], [[0.7, 0.0]], rtol=1e-14)
    np.testing.assert_allclose(cache["Z2"], [[0.35, -0.35]], rtol=1e-14)
    np.testing.assert_allclose(probs, [[s, 1 - s]], rtol=1e-14)

    loss, onehot = F.cross_entropy_loss(y, probs)
    assert loss == pytest.approx(math.log(1 + math.exp(0.7)), rel=1e-14)
    np.testing.assert_array_equal(onehot, [[0.0, 1.0]])

    grads = F.backward_pass(cache, onehot, weights, "relu")
    np.testing.assert_allclose(grads["dW"][1], [[0.7 * s, -0.7 * s], [0, 0]], rtol=1e-14)
    np.testing.assert_allclose(grads["db"][1], [[s, -s]], rtol=1e-14)
    np.testing.assert_allclose(grads["dW"][0], [[s, 0], [2 * s, 0]], rtol=1e-14)
    np.testing.assert_allclose(grads["db"][0], [[s, 0]], rtol=1e-14)

    loss, accuracy, weights, biases = F.train_one_step(x, y, weights, biases, "relu", 0.1)
    assert accuracy == 0.0
    np.testing.assert_allclose(weights[0], W1 - 0.1 * np.array([[s, 0], [2 * s, 0]]), rtol=1e-14)
    np.testing.assert_allclose(weights[1], W2 - 0.1 * np.array([[0.7 * s, -0.7 * s], [0, 0]]),
                               rtol=1e-14)
    np.testing.assert_allclose(biases[1], [[-0.1 * s, 0.1 * s]], rtol=1e-14)


def test_backward_pass_uses_the_derivative_not_the_activation():
    """The notebook's bug multiplied by f(Z); the fix multiplies by f'(Z). Check both ways."""
    weights, biases, _, _ = F.initialise([3, 4, 2], "tanh", seed=1)
    X = np.random.default_rng(0).standard_normal((5, 3))
    y = np.array([0, 1, 1, 0, 1])
    probs, cache = F.forward_pass(X, weights, biases, "tanh", return_cache=True)
    _, Y = F.cross_entropy_loss(y, probs)
    grads = F.backward_pass(cache, Y, weights, "tanh")
    dZ2 = (probs - Y) / len(X)
    dZ1 = (dZ2 @ weights[1].T) * (1 - np.tanh(cache["Z1"]) ** 2)
    np.testing.assert_allclose(grads["dW"][0], X.T @ dZ1, rtol=1e-12)
    buggy = (dZ2 @ weights[1].T) * np.tanh(cache["Z1"])
    assert not np.allclose(grads["dW"][0], X.T @ buggy)


def test_predict_takes_its_arguments():
    weights, biases, _, act = F.initialise([2, 4, 2], "relu", seed=42)
    probs = F.forward_pass(XOR_X, weights, biases, act)
    np.testing.assert_array_equal(F.predict(XOR_X, weights, biases, act), probs.argmax(axis=1))


@pytest.mark.parametrize("name, f, df, ref_f, ref_df", [
    ("relu", F.relu, F.relu_derivative, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
    ("tanh", F.tanh, F.tanh_derivative, np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    ("sigmoid", F.sigmoid, F.sigmoid_derivative, lambda x: 1 / (1 + np.exp(-x)),
     lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
])
def test_notebook_activations_and_derivatives(name, f, df, ref_f, ref_df):
    x = np.linspace(-5, 5, 41)
    np.testing.assert_allclose(f(x), ref_f(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(df(x), ref_df(x), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(F.apply_activation(x, name), ref_f(x), rtol=1e-12, atol=1e-15)


def test_softmax_rows_sum_to_one_and_apply_activation_rejects_unknown_names():
    p = F.softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    with pytest.raises(ValueError, match=r"'swish'.*'relu'"):
        F.apply_activation(np.zeros(3), "swish")


def test_update_weights_is_in_place():
    weights, biases, _, _ = F.initialise([2, 3, 2], seed=0)
    W0 = weights[0]
    grads = {"dW": [np.ones_like(w) for w in weights], "db": [np.ones_like(b) for b in biases]}
    expected = W0.copy() - 0.5
    out_w, _ = F.update_weights(weights, biases, grads, 0.5)
    assert out_w[0] is W0
    np.testing.assert_array_equal(W0, expected)


def test_verbose_reproduces_the_notebooks_trace(capsys):
    weights, biases, _, act = F.initialise([2, 4, 2], "relu", seed=42, verbose=True)
    F.train_one_step(XOR_X, XOR_Y, weights, biases, act, 0.1, verbose=True)
    assert capsys.readouterr().out.splitlines() == [
        "Initialized network with layer sizes: [2, 4, 2]",
        "Activation function: relu",
        "Number of layers: 2",
        "Starting backpropagation...",
        "Batch size: 4, Number of layers: 2",
        "Output layer gradient dZ shape: (4, 2)",
        "Output layer (index 1): dW shape = (4, 2), db shape = (1, 2)",
        "Layer 0: dZ shape = (4, 4), dW shape = (2, 4), db shape = (1, 4)",
        "Backpropagation complete!",
    ]


def test_silent_by_default(capsys):
    weights, biases, _, act = F.initialise([2, 4, 2], "relu", seed=42)
    F.train_one_step(XOR_X, XOR_Y, weights, biases, act, 0.1)
    assert capsys.readouterr().out == ""


def test_one_hot_targets_are_accepted():
    weights, biases, _, act = F.initialise([2, 4, 2], "relu", seed=42)
    loss_int, acc_int, _, _ = F.train_one_step(XOR_X, XOR_Y, [w.copy() for w in weights],
                                               [b.copy() for b in biases], act, 0.1)
    loss_hot, acc_hot, _, _ = F.train_one_step(XOR_X, np.eye(2)[XOR_Y], weights, biases, act, 0.1)
    assert loss_hot == pytest.approx(loss_int, rel=1e-14) and acc_hot == acc_int


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("sizes", [[3, 5, 4], [4, 6, 5, 3], [2, 3]])
def test_train_one_step_equals_the_four_functions_in_turn(act, sizes):
    """train_one_step must give what forward_pass, cross_entropy_loss, backward_pass and
    update_weights give, step after step."""
    rng = np.random.default_rng(len(sizes))
    X = rng.standard_normal((9, sizes[0]))
    y = rng.integers(0, sizes[-1], 9)
    weights, biases, _, _ = F.initialise(sizes, act, seed=3)
    w2, b2 = [w.copy() for w in weights], [b.copy() for b in biases]
    for _ in range(5):
        loss, acc, _, _ = F.train_one_step(X, y, weights, biases, act, 0.3)
        probs, cache = F.forward_pass(X, w2, b2, act, return_cache=True)
        loss2, Y = F.cross_entropy_loss(y, probs)
        acc2 = 100.0 * np.count_nonzero(np.argmax(probs, axis=1) == y) / len(y)
        F.update_weights(w2, b2, F.backward_pass(cache, Y, w2, act), 0.3)
        assert loss == pytest.approx(loss2, rel=1e-13) and acc == acc2
        for a, b in zip(weights + biases, w2 + b2):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_train_one_step_is_the_four_functions_bit_for_bit():
    """One path: train_one_step gives exactly, not just closely, what forward_pass,
    cross_entropy_loss, backward_pass and update_weights give in turn, for labels and for
    one-hot rows, with the trace on or off."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((7, 3))
    y = rng.integers(0, 3, 7)
    for act, targets, verbose in (("relu", y, False), ("tanh", np.eye(3)[y], False),
                                  ("sigmoid", y, True)):
        weights, biases, _, _ = F.initialise([3, 5, 4, 3], act, seed=2)
        w2, b2 = [w.copy() for w in weights], [b.copy() for b in biases]
        for _ in range(3):
            loss, acc, _, _ = F.train_one_step(X, targets, weights, biases, act, 0.4, verbose)
            probs, cache = F.forward_pass(X, w2, b2, act, return_cache=True)
            loss2, Y = F.cross_entropy_loss(targets, probs)
            F.update_weights(w2, b2, F.backward_pass(cache, Y, w2, act, verbose), 0.4)
            assert loss == loss2
            assert acc == 100.0 * np.count_nonzero(probs.argmax(axis=1) == y) / len(y)
            for a, b in zip(weights + biases, w2 + b2):
                np.testing.assert_array_equal(a, b)


def test_train_one_step_keeps_nothing_alive():
    """No state between calls: once the caller lets go of a network and its data, nothing of
    them stays alive (a per-thread cache of the last small network used to hold them)."""
    import gc
    import weakref
    weights, biases, _, act = F.initialise([2, 4, 2], "relu", seed=42)
    X = XOR_X.copy()
    F.train_one_step(X, XOR_Y, weights, biases, act, 0.1)
    refs = [weakref.ref(a) for a in weights + biases + [X]]
    del weights, biases, X
    gc.collect()
    assert [ref() is None for ref in refs] == [True] * len(refs)  # each one freed


def test_train_one_step_tolerates_underflow_in_the_scaled_gradient():
    """Sample 0 is so confident that p(class 1) = exp(-706) ~ 2.4e-307: learning_rate / m
    times that would be subnormal (the suite raises on underflow). The step must run and match
    the four functions in turn, in which only the summed dW and db are scaled."""
    X, y = np.array([[1.0], [2.0]]), np.array([0, 1])  # logits [353, -353] and [0, 0]
    weights, biases = [np.array([[-353.0, 353.0]])], [np.array([[706.0, -706.0]])]
    w2, b2 = [w.copy() for w in weights], [b.copy() for b in biases]
    loss, acc, _, _ = F.train_one_step(X, y, weights, biases, "relu", 0.1)
    probs, cache = F.forward_pass(X, w2, b2, "relu", return_cache=True)
    loss2, Y = F.cross_entropy_loss(y, probs)
    F.update_weights(w2, b2, F.backward_pass(cache, Y, w2, "relu"), 0.1)
    assert loss == pytest.approx(loss2, rel=1e-14) and acc == 50.0
    for a, b in zip(weights + biases, w2 + b2):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_gradients_that_underflow_to_zero_are_not_an_error():
    """Both samples are right with p(class 0) = exp(-710) ~ 4.5e-309, a subnormal: dZ = p / m,
    dW and learning_rate * dW round toward 0. That is harmless, and not an error even where
    NumPy raises on underflow (as this suite does)."""
    X, y = np.array([[1.0], [1.0]]), np.array([1, 1])
    weights, biases = [np.array([[-710.0, 0.0]])], [np.zeros((1, 2))]
    loss, acc, _, _ = F.train_one_step(X, y, weights, biases, "relu", 0.1)
    assert loss == pytest.approx(1e-15, rel=0.2) and acc == 100.0  # -log(1 - 1e-15), clipped
    np.testing.assert_array_equal(weights[0], [[-710.0, 0.0]])  # a step too small to show
    _, cache = F.forward_pass(X, weights, biases, "relu", return_cache=True)
    grads = F.backward_pass(cache, y, weights, "relu")
    assert 0 < grads["dW"][0][0, 0] < 1e-307


def test_train_one_step_keeps_the_notebook_clip_of_the_loss():
    """A confidently wrong prediction: the notebook clips p to 1e-15, so a sample's loss stops
    at -log(1e-15) = 34.54 however wrong the logits are."""
    weights = [np.array([[100.0, -100.0]])]
    biases = [np.zeros((1, 2))]
    loss, acc, _, _ = F.train_one_step(np.array([[1.0]]), np.array([1]), weights, biases,
                                       "relu", 0.0)
    assert loss == pytest.approx(-np.log(1e-15), rel=1e-12) and acc == 0.0


def test_activations_accept_lists_and_scalars_as_the_notebook_did():
    np.testing.assert_array_equal(F.relu([1.0, -2.0]), [1.0, 0.0])
    assert F.relu(3.0) == 3.0
    np.testing.assert_allclose(F.apply_activation([0.0, 1.0], "sigmoid"), [0.5, 1 / (1 + np.exp(-1))])


def test_activations_keep_float32_as_the_notebook_did():
    x = np.array([-1.0, 0.5, 2.0], dtype=np.float32)
    for fn in (F.relu, F.relu_derivative, F.tanh, F.tanh_derivative, F.sigmoid,
               F.sigmoid_derivative, F.softmax, lambda v: F.apply_activation(v, "tanh")):
        assert fn(x).dtype == np.float32
    np.testing.assert_allclose(F.tanh(x), np.tanh(x.astype(np.float64)), rtol=1e-6)
    assert F.relu(np.array([1, -2])).dtype == np.float64  # ints become floats


def test_softmax_of_scores_that_span_the_float_range_is_exact_and_silent():
    """max - min overflows to -inf: exp gives the right probability 0, with no warning."""
    for dtype, big in ((np.float64, 1e308), (np.float32, 3e38)):
        z = np.array([[-big, 0.0, big]], dtype=dtype)
        with np.errstate(all="raise"):
            np.testing.assert_array_equal(F.softmax(z), [[0.0, 0.0, 1.0]])


def _network():
    weights, biases, _, _ = F.initialise([2, 4, 3], seed=0)
    X = np.random.default_rng(1).standard_normal((5, 2))
    return X, np.array([0, 1, 2, 1, 0]), weights, biases


@pytest.mark.parametrize("bias", [np.zeros((4, 1)), np.zeros((2, 2)), np.zeros((1, 3))])
def test_a_misshapen_bias_is_named_and_leaves_the_network_untouched(bias):
    """X @ W + b cannot take these biases: an error naming biases[0], before any update
    (the bias used to be flattened, and the step stopped after updating weights[0])."""
    X, y, weights, biases = _network()
    biases[0] = bias
    before = [w.copy() for w in weights]
    with pytest.raises(ValueError, match=r"biases\[0\] must be .*shape \(1, 4\)"):
        F.forward_pass(X, weights, biases, "relu")
    with pytest.raises(ValueError, match=r"biases\[0\]"):
        F.train_one_step(X, y, weights, biases, "relu", 0.1)
    for w, w0 in zip(weights, before):
        np.testing.assert_array_equal(w, w0)


def test_weights_that_do_not_chain_are_named():
    X, y, weights, biases = _network()
    weights[1] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"weights\[1\] has 3 rows but weights\[0\] has 4"):
        F.forward_pass(X, weights, biases, "relu")
    with pytest.raises(ValueError, match=r"weights\[0\] must be a 2-D float"):
        F.forward_pass(X, [np.zeros(2)], [np.zeros((1, 2))], "relu")


def test_forward_pass_accepts_nested_lists_as_the_notebook_did():
    X, _, weights, biases = _network()
    as_lists = F.forward_pass(X, [w.tolist() for w in weights], [b.tolist() for b in biases],
                              "relu")
    np.testing.assert_array_equal(as_lists, F.forward_pass(X, weights, biases, "relu"))


def test_backward_pass_checks_the_targets_against_the_cache():
    """A (1, C) one-hot row for a batch of 5 used to be broadcast to every sample."""
    X, y, weights, biases = _network()
    _, cache = F.forward_pass(X, weights, biases, "relu", return_cache=True)
    with pytest.raises(ValueError, match=r"y_true_onehot has 1 rows but there are 5"):
        F.backward_pass(cache, np.eye(3)[:1], weights, "relu")
    with pytest.raises(ValueError, match=r"y_true_onehot has 4 columns but the network has 3"):
        F.backward_pass(cache, np.eye(5, 4), weights, "relu")
    # int labels, as before: the same gradient as their one-hot rows
    by_labels = F.backward_pass(cache, y, weights, "relu")
    by_onehot = F.backward_pass(cache, np.eye(3)[y], weights, "relu")
    np.testing.assert_allclose(by_labels["dW"][0], by_onehot["dW"][0], rtol=1e-14)


def test_update_weights_checks_every_layer_before_updating_any():
    X, y, weights, biases = _network()
    grads = {"dW": [np.ones_like(w) for w in weights], "db": [np.ones_like(b) for b in biases]}
    before = [w.copy() for w in weights]
    with pytest.raises(ValueError, match=r"gradients\['db'\] has 1 layers but the network has 2"):
        F.update_weights(weights, biases, {"dW": grads["dW"], "db": grads["db"][:1]}, 0.1)
    with pytest.raises(ValueError, match=r"gradients\['dW'\]\[1\] has shape \(3, 4\)"):
        F.update_weights(weights, biases, {"dW": [grads["dW"][0], np.ones((3, 4))],
                                           "db": grads["db"]}, 0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        F.update_weights(weights, biases, grads, float("nan"))
    for w, w0 in zip(weights, before):
        np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize("y_pred, message", [
    (np.array([[0.5, np.nan]]), r"y_pred contains NaN or inf \(first at row 0\)"),
    (np.array([[-1.0, 2.0]]), r"y_pred must hold probabilities in \[0, 1\]"),
    (np.zeros((0, 2)), r"y_pred has no samples"),
])
def test_cross_entropy_loss_rejects_what_is_not_a_probability(y_pred, message):
    with pytest.raises(ValueError, match=message):
        F.cross_entropy_loss(np.zeros(len(y_pred), dtype=int), y_pred)


def test_target_errors_name_the_notebooks_arguments():
    X, _, weights, biases = _network()
    with pytest.raises(ValueError, match=r"y_true has a label out of range: 5 at row 2"):
        F.train_one_step(X, np.array([0, 1, 5, 1, 0]), weights, biases, "relu")
    with pytest.raises(ValueError, match=r"y_true must be int labels .* got shape \(\)"):
        F.cross_entropy_loss(1, np.full((1, 2), 0.5))
    with pytest.raises(ValueError, match=r"y_true has 3 columns but the network has 2"):
        F.cross_entropy_loss(np.eye(3)[:2], np.full((2, 2), 0.5))


def test_a_diverged_network_gives_a_nan_loss_on_every_path():
    """As the notebook's: NaN weights give a NaN loss, with the trace or without, for labels
    or one-hot rows (the composed path used to refuse its own NaN probabilities)."""
    X, y, weights, biases = _network()
    for verbose, targets in ((False, y), (True, y), (False, np.eye(3)[y])):
        w = [np.full_like(W, np.nan) for W in weights]
        with np.errstate(invalid="ignore"):
            loss, _, _, _ = F.train_one_step(X, targets, w, [b.copy() for b in biases], "relu",
                                             verbose=verbose)
        assert np.isnan(loss)


def test_integer_biases_are_read_and_flat_biases_take_backward_pass_gradients():
    X, y, weights, biases = _network()
    as_ints = [np.zeros((1, W.shape[1]), dtype=int) for W in weights]
    np.testing.assert_array_equal(F.forward_pass(X, weights, as_ints, "relu"),
                                  F.forward_pass(X, weights, biases, "relu"))
    flat = [b.reshape(-1).copy() for b in biases]
    probs, cache = F.forward_pass(X, weights, flat, "relu", return_cache=True)
    grads = F.backward_pass(cache, y, weights, "relu")  # db of shape (1, n_out)
    F.update_weights(weights, flat, grads, 0.5)
    np.testing.assert_allclose(flat[1], -0.5 * grads["db"][1][0], rtol=1e-15)
