"""Bad arguments raise ValueError naming the argument and the value received."""

import re

import numpy as np
import pytest

import glassnet
from glassnet import functional as F


@pytest.mark.parametrize("kwargs, pattern", [
    ({"activation": "swish"}, r"activation 'swish'.*'relu'"),
    ({"activation": ["relu", "nope"]}, r"activation 'nope'"),
    ({"activation": ["relu"]}, r"activation has 1 entries.*2 hidden"),
    ({"init": "orthogonal"}, r"initialiser 'orthogonal'.*'xavier'"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ({"dtype": "int8"}, r"dtype must be 'float32' or 'float64', got 'int8'"),
    ({"seed": "abc"}, r"seed must be .* got 'abc'"),
])
def test_mlp_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        glassnet.MLP([3, 4, 4, 2], **kwargs)


@pytest.mark.parametrize("sizes, pattern", [
    ([3], r"layer_sizes needs at least 2 entries.*\[3\]"),
    ([], r"layer_sizes needs at least 2 entries"),
    ([3, 0, 2], r"positive ints, got 0"),
    ([3, -4, 2], r"positive ints, got -4"),
    ([3, 2.5, 2], r"positive ints, got 2.5"),
])
def test_layer_sizes_are_checked(sizes, pattern):
    with pytest.raises(ValueError, match=pattern):
        glassnet.MLP(sizes)
    with pytest.raises(ValueError, match=pattern):
        F.initialise(sizes)


def test_unknown_loss_name():
    model = glassnet.MLP([3, 2], seed=0)
    with pytest.raises(ValueError, match=r"loss 'hinge'.*'cross_entropy'"):
        glassnet.value_and_grad(model, "hinge", np.zeros((2, 3)), np.array([0, 1]))


def test_unknown_activation_in_functional():
    with pytest.raises(ValueError, match=r"activation 'swish'"):
        F.initialise([2, 3, 2], activation="swish")
    with pytest.raises(ValueError, match=r"activation 'swish'"):
        F.forward_pass(np.zeros((1, 2)), *F.initialise([2, 3, 2])[:2], "swish")


def test_x_width_must_match():
    model = glassnet.MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"X has 5 features .* expects 3"):
        model.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"X has 5 features .* expects 3"):
        glassnet.value_and_grad(model, "cross_entropy", np.zeros((2, 5)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"X has 3 features .* expects 2"):
        F.forward_pass(np.zeros((2, 3)), *F.initialise([2, 3, 2])[:2], "relu")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_are_rejected_with_the_row(bad):
    model = glassnet.MLP([3, 4, 2], seed=0)
    X = np.zeros((4, 3))
    X[2, 1] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at row 2\)"):
        glassnet.value_and_grad(model, "cross_entropy", X, np.array([0, 1, 0, 1]))
    y = np.zeros((4, 2))
    y[3, 0] = bad
    with pytest.raises(ValueError, match=r"y contains NaN or inf \(first at row 3\)"):
        glassnet.value_and_grad(model, "mse", np.zeros((4, 3)), y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_check_is_exact_beyond_its_sum_of_squares_fast_path(dtype):
    """check_X screens with sum(x * x): huge finite values overflow that sum and must still be
    accepted; one NaN/inf anywhere in a large or non-contiguous array must be found."""
    from glassnet._checks import check_X
    big = np.finfo(dtype).max / 4
    X = np.full((1000, 7), big, dtype)  # every square overflows, the sum is inf: still finite
    assert X.size > 4096  # large enough for the fast path, which must fall back to min/max
    assert check_X(X, 7, dtype) is X
    for bad in (np.nan, np.inf, -np.inf):
        Y = np.ones((5000, 7), dtype)
        Y[4321, 6] = bad
        with pytest.raises(ValueError, match=r"first at row 4321"):
            check_X(Y, 7, dtype)
        with pytest.raises(ValueError, match=r"first at row 2160"):
            check_X(Y[1::2], 7, dtype)  # a strided view takes the exact path


def test_labels_out_of_range():
    model = glassnet.MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"label out of range: 2 at row 1.*0\.\.1"):
        glassnet.value_and_grad(model, "cross_entropy", np.zeros((3, 3)), np.array([0, 2, 1]))
    with pytest.raises(ValueError, match=r"label out of range: -1 at row 0"):
        glassnet.value_and_grad(model, "cross_entropy", np.zeros((3, 3)), np.array([-1, 0, 1]))
    with pytest.raises(ValueError, match=r"label out of range: 5"):
        F.cross_entropy_loss(np.array([0, 5]), np.full((2, 2), 0.5))


def test_y_shape_and_rows_must_match():
    model = glassnet.MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"y has 2 rows but X has 3"):
        glassnet.value_and_grad(model, "cross_entropy", np.zeros((3, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"y has 3 columns but the network has 2 outputs"):
        glassnet.value_and_grad(model, "mse", np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"y for binary_cross_entropy must lie in \[0, 1\]"):
        glassnet.value_and_grad(model, "binary_cross_entropy", np.zeros((3, 3)), np.full((3, 2), 2.0))


def test_x_must_be_2d_and_numeric():
    model = glassnet.MLP([3, 2], seed=0)
    with pytest.raises(ValueError, match=r"X must be 2-D.*shape \(3,\)"):
        model.forward(np.zeros(3))
    with pytest.raises(ValueError, match=r"X must be numeric"):
        model.forward(np.array([["a", "b", "c"]]))


@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.parametrize("lr", ["0.1", None, np.array([0.1, 0.2]), float("nan"), 1e400,
                                np.float32("inf"), 0.1j])
def test_train_one_step_checks_the_learning_rate(lr, verbose, capsys):
    """A learning rate that is not a finite number is a ValueError naming it, on the fused
    path for labels and the composed one alike (not a NumPy broadcast or type error), and the
    weights are left untouched."""
    weights, biases, _, _ = F.initialise([2, 3, 2], seed=0)
    before = [a.copy() for a in weights + biases]
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number"):
        F.train_one_step(np.zeros((2, 2)), np.array([0, 1]), weights, biases, "relu", lr,
                         verbose=verbose)
    for a, b in zip(weights + biases, before):
        np.testing.assert_array_equal(a, b)


def test_negative_l2_is_rejected():
    model = glassnet.MLP([3, 2], seed=0)
    with pytest.raises(ValueError, match=r"l2 must be a finite number >= 0, got -1"):
        glassnet.value_and_grad(model, "mse", np.zeros((2, 3)), np.zeros((2, 2)), l2=-1)


@pytest.mark.parametrize("y, bad, row", [
    (np.array([0, 1, -3], np.int8), "-3", 2),
    (np.array([1, 2 ** 63 + 5], np.uint64), str(2 ** 63 + 5), 1),  # negative as int64
    (np.array([2, 0, 3], np.int32), "3", 2),
    (np.array([0.0, 3.0]), "3.0", 1),
    (np.array([1e30, 0.0]), "1e+30", 0),  # checked before any cast to int
])
def test_labels_out_of_range_of_every_integer_and_float_type(y, bad, row):
    """Labels are checked as unsigned (a negative one is then huge) in one pass; every
    integer type, and floats before they are cast, must still be caught and named."""
    from glassnet.losses import CrossEntropy
    with pytest.raises(ValueError, match=rf"label out of range: {re.escape(bad)} at row {row}"):
        CrossEntropy().prepare_targets(y, 3, np.float32)
    ok = CrossEntropy().prepare_targets(np.array([True, False]), 3, np.float32)
    np.testing.assert_array_equal(ok, [1, 0])
    for not_labels in (np.array(["0", "2"]), np.array([0, 1], dtype=object), np.array([1j])):
        with pytest.raises(ValueError, match=r"y must hold integer class labels, got an array"):
            CrossEntropy().prepare_targets(not_labels, 3, np.float32)


def test_losses_check_their_targets_when_called_directly():
    """Loss.value / value_and_grad validate y (the training loop validates once per fit and
    calls the unchecked _value_and_grad): a label out of range names its row instead of
    indexing the next row's logits, and a 1-D y for one output is not broadcast against z."""
    from glassnet.losses import MSE, CrossEntropy
    z = np.random.default_rng(0).standard_normal((4, 3))
    for call in (CrossEntropy().value, CrossEntropy().value_and_grad):
        with pytest.raises(ValueError, match=r"label out of range: 3 at row 1"):
            call(z, np.array([0, 3, 1, 2]))
    y = np.array([0.5, -1.0, 2.0, 0.0])
    value, grad = MSE().value_and_grad(z[:, :1], y)
    np.testing.assert_allclose(value, np.mean((z[:, 0] - y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(grad[:, 0], 2 * (z[:, 0] - y) / 4, rtol=1e-12)
