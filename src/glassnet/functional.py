"""The original notebook's API, bugs fixed, over the engine's parts.

Networks here are plain lists: ``weights[l]`` of shape ``(n_l, n_{l+1})`` and ``biases[l]`` of
shape ``(1, n_{l+1})``, hidden layers share one activation and the last layer is a softmax.
The activations and their derivatives are the engine's classes (``ACTIVATIONS``), the softmax
is ``numerics.softmax``, the weights come from ``init.xavier`` and the targets are checked by
``CrossEntropy.prepare_targets``; the notebook's equations between them are written out below,
one a line. ``train_one_step`` is the notebook's four calls in turn, checked once at its
boundary. ``verbose=True`` prints the notebook's trace (see ``trace.py``).

Forward, for each layer l = 1..L::

    Z[l] = A[l-1] @ W[l] + b[l]
    A[l] = activation(Z[l])          (softmax for the last layer)

Backward, for the mean cross-entropy over m samples::

    dZ[L] = (A[L] - Y) / m
    dW[l] = A[l-1].T @ dZ[l]         db[l] = sum of dZ[l] over the batch
    dZ[l-1] = (dZ[l] @ W[l].T) * activation'(Z[l-1])
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from . import trace
from ._checks import check_layer_sizes, check_number, check_X, check_y, resolve
from .activations import ACTIVATIONS, Activation, ReLU, Sigmoid, Tanh
from .init import xavier
from .losses import CrossEntropy
from .numerics import softmax as _softmax

__all__ = ["initialise", "count_parameters", "relu", "relu_derivative", "tanh",
           "tanh_derivative", "sigmoid", "sigmoid_derivative", "softmax", "apply_activation",
           "forward_pass", "predict", "cross_entropy_loss", "backward_pass", "update_weights",
           "train_one_step"]


def initialise(layer_sizes: Sequence[int], activation: str = "relu", seed: int = 42,
               verbose: bool = False):
    """Xavier-initialised weights and zero biases, exactly the notebook's numbers.

    ``W[l] = RandomState(seed).randn(n_l, n_{l+1}) * sqrt(2 / (n_l + n_{l+1}))``, drawn layer by
    layer from a private generator: NumPy's global random state is left untouched.

    Returns
    -------
    (weights, biases, layer_sizes, activation)
    """
    sizes = check_layer_sizes(layer_sizes)
    resolve(activation, ACTIVATIONS, "activation")
    rng = np.random.RandomState(_check_seed(seed))
    weights = [xavier(n_in, n_out, rng) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros((1, n_out)) for n_out in sizes[1:]]
    if verbose:
        trace.initialised(layer_sizes, activation)
    return weights, biases, layer_sizes, activation


def _check_seed(seed: Any) -> int:
    """The notebook's seed: an int in RandomState's range [0, 2**32)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed!r}")
    return int(seed)


def count_parameters(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> int:
    """Number of scalars: ``sum(n_in * n_out + n_out)`` over the layers."""
    return int(sum(w.size + b.size for w, b in zip(weights, biases)))


def _activation(activation_type: str) -> Activation:
    return resolve(activation_type, ACTIVATIONS, "activation")()


def _floats(x) -> np.ndarray:
    """``x`` as an array of floats: float32 stays float32, anything else becomes float64."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def relu(x):
    """``max(x, 0)``."""
    return ReLU().f(_floats(x))


def relu_derivative(x):
    """``1 where x > 0 else 0``."""
    return ReLU().df(_floats(x), None)


def tanh(x):
    """``tanh(x)``."""
    return Tanh().f(_floats(x))


def tanh_derivative(x):
    """``1 - tanh(x)^2``."""
    x = _floats(x)
    return Tanh().df(x, Tanh().f(x))


def sigmoid(x):
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return Sigmoid().f(_floats(x))


def sigmoid_derivative(x):
    """``sigmoid(x) * (1 - sigmoid(x))``."""
    x = _floats(x)
    return Sigmoid().df(x, Sigmoid().f(x))


def softmax(x):
    """Row-wise ``exp(x) / sum(exp(x))`` over the last axis, shifted by the max: no overflow."""
    return _softmax(x, axis=-1)


def apply_activation(x, activation_type: str):
    """Apply the named activation; an unknown name raises ValueError listing the choices."""
    return _activation(activation_type).f(_floats(x))


def _check_network(weights, biases=None) -> None:
    """The notebook's network, checked before any use, so that a bad array is named and an
    update never stops half way: ``weights[l]`` a 2-D float array whose rows match the
    columns of ``weights[l-1]``, ``biases[l]`` a float array of shape ``(1, n_out)`` or
    ``(n_out,)``."""
    if len(weights) == 0:
        raise ValueError("weights is empty: a network needs at least one layer")
    if biases is not None and len(biases) != len(weights):
        raise ValueError(f"weights has {len(weights)} layers but biases has {len(biases)}")
    for l, W in enumerate(weights):
        if not isinstance(W, np.ndarray) or W.ndim != 2 or W.dtype.kind != "f":
            raise ValueError(f"weights[{l}] must be a 2-D float NumPy array, got {_describe(W)}")
        if l and W.shape[0] != weights[l - 1].shape[1]:
            raise ValueError(f"weights[{l}] has {W.shape[0]} rows but weights[{l - 1}] has "
                             f"{weights[l - 1].shape[1]} columns")
        if biases is not None:
            b = biases[l]
            if (not isinstance(b, np.ndarray) or b.dtype.kind != "f"
                    or b.shape not in ((1, W.shape[1]), (W.shape[1],))):
                raise ValueError(f"biases[{l}] must be a float NumPy array of shape "
                                 f"(1, {W.shape[1]}), got {_describe(b)}")


def _describe(a) -> str:
    if isinstance(a, np.ndarray):
        return f"an array of shape {a.shape} and dtype {a.dtype}"
    return f"{type(a).__name__}"


def _as_arrays(arrays) -> list:
    """The caller's weights or biases as float arrays, for reading only: lists and integer
    arrays become float64 copies (an update in place needs float arrays of the caller's)."""
    return [a if isinstance(a, np.ndarray) and a.dtype.kind == "f"
            else np.asarray(a, dtype=np.float64) for a in arrays]


def forward_pass(X, weights, biases, activation_type: str, return_cache: bool = False):
    """Class probabilities ``A[L]`` of shape ``(n_samples, n_classes)`` (and the cache).

    The cache holds ``'A0'`` (the input ``X``) to ``'AL'``, ``'Z1'`` to ``'ZL'`` and
    ``'activation'``, the hidden layers' activation (its registered name), which
    ``backward_pass`` checks against its own.
    """
    weights, biases = _as_arrays(weights), _as_arrays(biases)
    _check_network(weights, biases)
    act = resolve(activation_type, ACTIVATIONS, "activation")
    X = _check_input(X, weights)
    A, cache = _forward_pass(X, weights, biases, act)
    return (A, cache) if return_cache else A


def _check_input(X: Any, weights) -> np.ndarray:
    """``X`` for the network ``weights``: real, 2-D, finite, in the weights' float dtype.
    A complex ``X`` is refused here: the float cast would drop its imaginary part with no
    more than NumPy's ComplexWarning."""
    try:
        is_complex = X.dtype.kind == "c" if type(X) is np.ndarray else np.iscomplexobj(X)
    except (TypeError, ValueError):  # not array-like at all: check_X names what is wrong
        is_complex = False
    if is_complex:
        raise ValueError("X is complex, and the network takes real numbers; pass X.real (or "
                         "np.abs(X)) if that is what you mean")
    return check_X(X, weights[0].shape[0], weights[0].dtype)


def _forward_pass(X: np.ndarray, weights, biases, act: type[Activation]):
    """``forward_pass`` on checked arrays: ``(A[L], cache)``."""
    cache = {"A0": X, "activation": act.name}
    A = X
    L = len(weights)
    for l in range(1, L + 1):
        Z = A @ weights[l - 1]
        Z += biases[l - 1]  # Z[l] = A[l-1] @ W[l] + b[l]; float64 biases keep float32 Z
        A = act().f(Z) if l < L else _softmax(Z)  # A[l] = f(Z[l]); softmax for the last layer
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


def predict(X, weights, biases, activation_type: str) -> np.ndarray:
    """Predicted class index for each row of ``X``, shape ``(n_samples,)``."""
    return np.argmax(forward_pass(X, weights, biases, activation_type), axis=1)


def cross_entropy_loss(y_true, y_pred):
    """Mean cross-entropy of probabilities ``y_pred`` ``(n, C)`` against ``y_true``.

    ``L = -1/n * sum_i sum_j Y[i, j] * log(clip(y_pred[i, j], 1e-15, 1 - 1e-15))``, where ``Y`` is
    ``y_true`` one-hot encoded (int labels ``(n,)``) or as given (one-hot ``(n, C)``).

    Returns
    -------
    (mean_loss, y_true_onehot)
    """
    y_pred = check_X(y_pred, name="y_pred")  # 2-D, numeric, not empty, finite
    if np.any(y_pred < 0) or np.any(y_pred > 1):
        raise ValueError("y_pred must hold probabilities in [0, 1] (forward_pass's output), "
                         f"got values from {y_pred.min():.3g} to {y_pred.max():.3g}")
    y = _targets(y_true, len(y_pred), y_pred.shape[1], y_pred.dtype, "y_true")
    return _cross_entropy_loss(y, y_pred)


def _cross_entropy_loss(y: np.ndarray, y_pred: np.ndarray):
    """``cross_entropy_loss`` on checked targets (``_targets``) and the network's own
    probabilities, unchecked: from diverged weights they are NaN, and so is the loss (as the
    notebook's was), not an error."""
    Y = _onehot(y, y_pred.shape[1], y_pred.dtype)
    eps = 1e-15  # the notebook's clip: a sample's loss stops at -log(1e-15) = 34.5
    clipped = np.minimum(np.maximum(y_pred, eps), 1 - eps)  # clip(y_pred, eps, 1 - eps)
    return -float(np.add.reduce(Y * np.log(clipped), axis=None)) / len(Y), Y


def backward_pass(cache, y_true_onehot, weights, activation_type: str, verbose: bool = False):
    """Exact gradient of the mean cross-entropy: ``{'dW': [...], 'db': [...]}``, per layer.

    ``dW[l]`` has the shape of ``weights[l]``; ``db[l]`` is ``(1, n_out)``, like the biases.
    ``y_true_onehot`` may also be int labels ``(n,)``. ``cache`` is the dict that
    ``forward_pass(..., return_cache=True)`` returns second, made with the same
    ``activation_type``.
    """
    _check_network(weights)
    act = resolve(activation_type, ACTIVATIONS, "activation")
    _check_cache(cache, weights, act)
    A = cache[f"A{len(weights)}"]
    y = _targets(y_true_onehot, len(A), A.shape[1], A.dtype, "y_true_onehot")
    with np.errstate(under="ignore"):  # gradients that round to 0 are harmless
        return _backward_pass(cache, _onehot(y, A.shape[1], A.dtype), weights, act, verbose)


def _check_cache(cache: Any, weights, act: type[Activation]) -> None:
    """``cache`` as ``forward_pass`` made it, for the network ``weights`` and activation
    ``act``: a wrong one would fail deep inside (an IndexError from the probabilities) or,
    worse, give wrong gradients without a word (another activation's cache)."""
    how = "probs, cache = forward_pass(X, weights, biases, activation_type, return_cache=True)"
    if isinstance(cache, tuple) and len(cache) == 2 and isinstance(cache[1], Mapping):
        raise TypeError("cache must be the dict that forward_pass(..., return_cache=True) "
                        "returns second, got the whole (probabilities, cache) tuple: unpack "
                        f"it first, {how}")
    if not isinstance(cache, Mapping):
        what = " (the probabilities?)" if isinstance(cache, np.ndarray) else ""
        raise TypeError("cache must be the dict that forward_pass(..., return_cache=True) "
                        f"returns second ({how}), got {_describe(cache)}{what}")
    L = len(weights)
    widths = [weights[0].shape[0]] + [W.shape[1] for W in weights]  # n_0, n_1, ..., n_L
    n_rows = np.shape(cache.get("A0"))[:1]
    for key, width in [(f"A{l}", widths[l]) for l in range(L + 1)] + [
            (f"Z{l}", widths[l]) for l in range(1, L)]:
        if key not in cache:
            raise ValueError(f"cache has no {key!r}: it was not made by forward_pass for "
                             f"these {L}-layer weights")
        if np.ndim(cache[key]) != 2 or np.shape(cache[key]) != n_rows + (width,):
            raise ValueError(f"cache[{key!r}] has shape {np.shape(cache[key])}, but these "
                             f"weights need {n_rows + (width,)}: the cache was made by "
                             "another network")
    if f"A{L + 1}" in cache:
        raise ValueError(f"cache holds more than {L} layers, but weights has {L}: it was made "
                         "by another network")
    made_with = cache.get("activation")  # absent from a cache built by hand: nothing to check
    if made_with is not None and made_with != act.name:
        raise ValueError(f"cache was made by forward_pass with activation {made_with!r}, but "
                         f"backward_pass was given activation_type {act.name!r}: its "
                         "gradients would be wrong; pass the same activation to both")


def _backward_pass(cache, Y: np.ndarray, weights, act: type[Activation], verbose: bool = False):
    """``backward_pass`` on checked arrays and one-hot ``Y``."""
    L = len(weights)
    dZ = (cache[f"A{L}"] - Y) / len(Y)  # softmax and cross-entropy together: (A[L] - Y) / m
    dW, db = [None] * L, [None] * L
    if verbose:
        trace.backward_start(len(Y), L, dZ.shape)
    for l in range(L, 0, -1):
        dW[l - 1] = cache[f"A{l - 1}"].T @ dZ  # dW[l] = A[l-1].T @ dZ[l]
        db[l - 1] = np.add.reduce(dZ, axis=0, keepdims=True)  # db[l] = sum of dZ[l] over the batch
        if verbose and l == L:
            trace.backward_output_layer(l - 1, dW[l - 1].shape, db[l - 1].shape)
        elif verbose:
            trace.backward_hidden_layer(l - 1, dZ.shape, dW[l - 1].shape, db[l - 1].shape)
        if l > 1:
            dA = dZ @ weights[l - 1].T  # dA[l-1] = dZ[l] @ W[l].T
            dZ = dA * act().df(cache[f"Z{l - 1}"], cache[f"A{l - 1}"])  # dA * f'(Z[l-1])
    if verbose:
        trace.backward_done()
    return {"dW": dW, "db": db}


def update_weights(weights, biases, gradients, learning_rate: float):
    """Gradient descent, in place: ``W -= learning_rate * dW``, ``b -= learning_rate * db``.

    ``learning_rate`` must be >= 0: a negative one would climb the loss (0 changes nothing,
    which a caller may want: the loss of a batch without a step)."""
    learning_rate = check_number(learning_rate, "learning_rate", ge=0)
    _check_network(weights, biases)
    for key, params in (("dW", weights), ("db", biases)):
        grads = gradients[key]
        if len(grads) != len(params):
            raise ValueError(f"gradients[{key!r}] has {len(grads)} layers but the network has "
                             f"{len(params)}")
        for l, (p, g) in enumerate(zip(params, grads)):
            same = np.shape(g) == p.shape or (key == "db" and np.size(g) == p.size
                                              and np.ndim(g) <= 2)  # (1, n) or (n,)
            if not same:
                raise ValueError(f"gradients[{key!r}][{l}] has shape {np.shape(g)}, the "
                                 f"parameter it updates {p.shape}")
    _update_weights(weights, biases, {key: [np.asarray(g) for g in gradients[key]]
                                      for key in ("dW", "db")}, learning_rate)
    return weights, biases


def _update_weights(weights, biases, gradients, learning_rate: float) -> None:
    """``update_weights`` on checked arrays."""
    for W, b, dW, db in zip(weights, biases, gradients["dW"], gradients["db"]):
        W -= learning_rate * dW
        b -= learning_rate * db.reshape(b.shape)  # db (1, n) for a bias of shape (n,) too


def train_one_step(X, y_true, weights, biases, activation_type: str,
                   learning_rate: float = 0.01, verbose: bool = False):
    """Forward, loss, backward and update on one batch: the notebook's four calls in turn.

    The arguments are checked once, here; then ``forward_pass``, ``cross_entropy_loss``,
    ``backward_pass`` and ``update_weights`` run without checking them again.

    Returns
    -------
    (loss, accuracy_percent, weights, biases)
        The loss and accuracy are measured before the update, as in the notebook.
    """
    X, y, act, learning_rate = _check_step(X, y_true, weights, biases, activation_type,
                                           learning_rate)
    predictions, cache = _forward_pass(X, weights, biases, act)
    loss, Y = _cross_entropy_loss(y, predictions)
    with np.errstate(under="ignore"):  # gradients and steps that round to 0 are harmless
        gradients = _backward_pass(cache, Y, weights, act, verbose)
        _update_weights(weights, biases, gradients, learning_rate)
    labels = y if y.ndim == 1 else Y.argmax(axis=1)  # the class of each row
    correct = np.count_nonzero(predictions.argmax(axis=1) == labels)
    accuracy = 100.0 * correct / len(Y)
    return loss, accuracy, weights, biases


def _check_step(X, y_true, weights, biases, activation_type, learning_rate):
    """``train_one_step``'s arguments, all checked before anything is computed, so that a bad
    one is named and the caller's network is left untouched: ``(X, y, act, learning_rate)``."""
    learning_rate = check_number(learning_rate, "learning_rate", ge=0)  # < 0 would ascend
    _check_network(weights, biases)  # float NumPy arrays: the update is in place
    act = resolve(activation_type, ACTIVATIONS, "activation")
    X = _check_input(X, weights)
    y = _targets(y_true, len(X), weights[-1].shape[1], X.dtype, "y_true")
    return X, y, act, learning_rate


def _targets(y_true, n_rows: int, n_classes: int, dtype, name: str) -> np.ndarray:
    """``y_true`` checked against ``n_rows`` predictions and ``n_classes`` outputs: int
    labels ``(n,)`` as an index array, one-hot rows ``(n, C)`` in ``dtype``."""
    y = np.asarray(y_true)
    if y.ndim not in (1, 2):
        raise ValueError(f"{name} must be int labels (n,) or one-hot rows (n, C), got shape "
                         f"{y.shape}")
    if len(y) != n_rows:
        raise ValueError(f"{name} has {len(y)} rows but there are {n_rows} predictions")
    return CrossEntropy().prepare_targets(check_y(y, n_rows, name), n_classes, dtype, name)


def _onehot(y: np.ndarray, n_classes: int, dtype) -> np.ndarray:
    """Checked targets (``_targets``) as one-hot rows ``(n, n_classes)``."""
    if y.ndim == 2:
        return y
    onehot = np.zeros((len(y), n_classes), dtype=dtype)
    onehot[np.arange(len(y)), y] = 1.0
    return onehot
