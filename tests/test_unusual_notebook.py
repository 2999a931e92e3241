"""Unusual input to the notebook's API and to gradcheck is refused with an error that names the
argument, instead of being silently misread (issue 23, "Nothing silent, nothing lost")."""

import warnings

import numpy as np
import pytest

import glassnet
from glassnet import functional as F

X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.5, 2.0]])
Y = np.array([0, 1, 1])


def network(activation="relu"):
    weights, biases, _, _ = F.initialise([2, 4, 2], activation, seed=0)
    return weights, biases


# item 4: complex X loses its imaginary part

@pytest.mark.parametrize("Xc", [X + 1j, (X + 0j).tolist()], ids=["array", "list"])
def test_forward_pass_refuses_complex_X(Xc):
    weights, biases = network()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning first: the error comes straight away
        with pytest.raises(ValueError, match=r"\bX\b.*complex"):
            F.forward_pass(Xc, weights, biases, "relu")
        with pytest.raises(ValueError, match=r"\bX\b.*complex"):
            F.predict(Xc, weights, biases, "relu")
        with pytest.raises(ValueError, match=r"\bX\b.*complex"):
            F.train_one_step(Xc, Y, weights, biases, "relu", 0.1)


def test_forward_pass_still_takes_complex_free_real_X():
    weights, biases = network()
    probs = F.forward_pass(X, weights, biases, "relu")
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


# item 6 (and 9): gradcheck's max_per_param and seed

def small_model():
    model = glassnet.MLP([2, 3, 2], activation="tanh", dtype="float64", seed=0)
    return model


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_gradcheck_refuses_a_bad_max_per_param(bad):
    with pytest.raises((ValueError, TypeError), match="max_per_param"):
        glassnet.gradcheck(small_model(), "cross_entropy", X, Y, max_per_param=bad)


@pytest.mark.parametrize("bad", ["abc", 1.5, True, -1])
def test_gradcheck_refuses_a_bad_seed(bad):
    with pytest.raises((ValueError, TypeError), match="seed"):
        glassnet.gradcheck(small_model(), "cross_entropy", X, Y, max_per_param=2, seed=bad)


def test_gradcheck_with_a_positive_max_per_param_checks_that_many():
    report = glassnet.gradcheck(small_model(), "cross_entropy", X, Y, max_per_param=2,
                                seed=np.int64(3))
    assert report.ok
    for row in report.rows:
        assert row.checked + row.skipped == min(2, int(np.prod(row.shape)))
        assert row.checked > 0


# item 7: the notebook's API

def test_backward_pass_refuses_the_probabilities_for_the_cache():
    weights, biases = network()
    probs, cache = F.forward_pass(X, weights, biases, "relu", return_cache=True)
    with pytest.raises(TypeError, match=r"cache.*return_cache=True"):
        F.backward_pass(probs, Y, weights, "relu")


def test_backward_pass_refuses_the_whole_forward_pass_tuple():
    weights, biases = network()
    result = F.forward_pass(X, weights, biases, "relu", return_cache=True)
    with pytest.raises(TypeError, match=r"cache.*tuple.*unpack"):
        F.backward_pass(result, Y, weights, "relu")


def test_backward_pass_refuses_a_cache_of_another_network():
    weights, biases = network()
    deeper, deeper_b, _, _ = F.initialise([2, 4, 4, 2], "relu", seed=0)
    _, cache = F.forward_pass(X, deeper, deeper_b, "relu", return_cache=True)
    with pytest.raises(ValueError, match="cache"):
        F.backward_pass(cache, Y, weights, "relu")
    _, small = F.forward_pass(X, weights, biases, "relu", return_cache=True)
    with pytest.raises(ValueError, match="cache"):
        F.backward_pass(small, Y, deeper, "relu")


def test_backward_pass_refuses_a_cache_made_with_another_activation():
    weights, biases = network("tanh")
    _, cache = F.forward_pass(X, weights, biases, "tanh", return_cache=True)
    with pytest.raises(ValueError, match=r"(?s)tanh.*relu|relu.*tanh"):
        F.backward_pass(cache, Y, weights, "relu")
    # the same activation under another spelling is the same activation
    by_name = F.backward_pass(cache, Y, weights, "tanh")
    by_case = F.backward_pass(cache, Y, weights, "Tanh")
    np.testing.assert_array_equal(by_name["dW"][0], by_case["dW"][0])


def test_the_cache_keeps_the_notebooks_keys():
    weights, biases = network()
    A, cache = F.forward_pass(X, weights, biases, "relu", return_cache=True)
    assert cache["A0"] is not None and cache["A2"] is A
    assert {f"A{l}" for l in range(3)} | {"Z1", "Z2"} <= set(cache)


@pytest.mark.parametrize("rate", [-0.1, -1, -1e-300, float("nan"), float("-inf")])
def test_train_one_step_refuses_a_learning_rate_that_does_not_descend(rate):
    weights, biases = network()
    before = [w.copy() for w in weights]
    with pytest.raises(ValueError, match="learning_rate"):
        F.train_one_step(X, Y, weights, biases, "relu", learning_rate=rate)
    for w, w0 in zip(weights, before):
        np.testing.assert_array_equal(w, w0)  # the network is left untouched


@pytest.mark.parametrize("rate", [-0.1, -1])
def test_update_weights_refuses_a_learning_rate_that_does_not_descend(rate):
    weights, biases = network()
    _, cache = F.forward_pass(X, weights, biases, "relu", return_cache=True)
    grads = F.backward_pass(cache, Y, weights, "relu")
    with pytest.raises(ValueError, match="learning_rate"):
        F.update_weights(weights, biases, grads, rate)


@pytest.mark.parametrize("seed", ["42", 4.2, True, [1, 2]])
def test_initialise_refuses_a_seed_that_is_not_an_int(seed):
    with pytest.raises(TypeError, match="seed"):
        F.initialise([2, 4, 2], "relu", seed=seed)


def test_initialise_refuses_a_negative_seed():
    with pytest.raises(ValueError, match="seed"):
        F.initialise([2, 4, 2], "relu", seed=-1)


def test_initialise_takes_numpy_ints_as_seeds():
    w_int, _, _, _ = F.initialise([2, 4, 2], "relu", seed=7)
    w_np, _, _, _ = F.initialise([2, 4, 2], "relu", seed=np.int64(7))
    np.testing.assert_array_equal(w_int[0], w_np[0])
