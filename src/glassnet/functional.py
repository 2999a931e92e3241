"""The original notebook's API, bugs fixed, as a thin face over the engine.

Networks here are plain lists: ``weights[l]`` of shape ``(n_l, n_{l+1})`` and ``biases[l]`` of
shape ``(1, n_{l+1})``, hidden layers share one activation and the last layer is a softmax.
Every computation is delegated to the engine's layers (``Dense``, the activation classes),
losses and initialisers; this module only converts between the notebook's lists and dicts
and the engine's objects. ``verbose=True`` prints the notebook's trace (see ``trace.py``).

Forward, for each layer l = 1..L::

    Z[l] = A[l-1] @ W[l] + b[l]
    A[l] = activation(Z[l])          (softmax for the last layer)

Backward, for the mean cross-entropy over m samples::

    dZ[L] = (A[L] - Y) / m
    dW[l] = A[l-1].T @ dZ[l]         db[l] = sum of dZ[l] over the batch
    dZ[l-1] = (dZ[l] @ W[l].T) * activation'(Z[l-1])
"""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np

from . import trace
from ._checks import check_layer_sizes, check_number, check_X, check_y, resolve
from .activations import ACTIVATIONS, Activation, ReLU, Sigmoid, Tanh
from .init import xavier
from .layers import Dense
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
    rng = np.random.RandomState(seed)
    weights = [xavier(n_in, n_out, rng) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros((1, n_out)) for n_out in sizes[1:]]
    if verbose:
        trace.initialised(layer_sizes, activation)
    return weights, biases, layer_sizes, activation


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

    The cache holds ``'A0'`` (the input) to ``'AL'`` and ``'Z1'`` to ``'ZL'``.
    """
    weights, biases = _as_arrays(weights), _as_arrays(biases)
    _check_network(weights, biases)
    _activation(activation_type)  # validates the name
    X = check_X(X, weights[0].shape[0], weights[0].dtype)
    cache = {"A0": X}
    A = X
    L = len(weights)
    for l in range(1, L + 1):
        Z = Dense.from_arrays(weights[l - 1], biases[l - 1]).forward(A)
        A = _activation(activation_type).forward(Z) if l < L else _softmax(Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return (A, cache) if return_cache else A


def predict(X, weights, biases, activation_type: str) -> np.ndarray:
    """Predicted class index for each row of ``X``, shape ``(n_samples,)``."""
    return np.argmax(forward_pass(X, weights, biases, activation_type), axis=1)


def _onehot(y_true, n_rows: int, n_classes: int, dtype, name: str) -> np.ndarray:
    y = _targets(y_true, n_rows, n_classes, dtype, name)
    if y.ndim == 2:
        return y
    onehot = np.zeros((len(y), n_classes), dtype=dtype)
    onehot[np.arange(len(y)), y] = 1.0
    return onehot


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
    return _cross_entropy(y_true, y_pred)


def _cross_entropy(y_true, y_pred: np.ndarray):
    """``cross_entropy_loss`` on the network's own probabilities, unchecked: from diverged
    weights they are NaN, and so is the loss (as the notebook's was), not an error."""
    Y = _onehot(y_true, len(y_pred), y_pred.shape[1], y_pred.dtype, "y_true")
    eps = 1e-15
    sample_losses = -np.sum(Y * np.log(np.clip(y_pred, eps, 1 - eps)), axis=1)
    return float(sample_losses.sum()) / len(sample_losses), Y


def backward_pass(cache, y_true_onehot, weights, activation_type: str, verbose: bool = False):
    """Exact gradient of the mean cross-entropy: ``{'dW': [...], 'db': [...]}``, per layer.

    ``dW[l]`` has the shape of ``weights[l]``; ``db[l]`` is ``(1, n_out)``, like the biases.
    """
    _check_network(weights)
    act = _activation(activation_type)
    L = len(weights)
    Z = cache[f"Z{L}"]
    Y = _targets(y_true_onehot, len(Z), Z.shape[1], Z.dtype, "y_true_onehot")  # or int labels
    # softmax + cross-entropy fused: dZ[L] = (softmax(Z[L]) - Y) / m
    _, dZ = CrossEntropy().value_and_grad(Z, Y)
    dW_list, db_list = [None] * L, [None] * L
    if verbose:
        trace.backward_start(len(Y), L, dZ.shape)
    for l in range(L, 0, -1):
        dense = Dense.from_arrays(weights[l - 1], None)  # backward never reads the bias
        dense.x = cache[f"A{l - 1}"]  # what the forward pass cached
        # dW = A[l-1].T @ dZ, db = sum(dZ), dA = dZ @ W.T (not needed below the first layer)
        dA = dense.backward(dZ, input_grad=l > 1)
        dW_list[l - 1], db_list[l - 1] = dense.dW, dense.db.reshape(1, -1)
        if verbose and l == L:
            trace.backward_output_layer(l - 1, dense.dW.shape, db_list[l - 1].shape)
        elif verbose:
            trace.backward_hidden_layer(l - 1, dZ.shape, dense.dW.shape, db_list[l - 1].shape)
        if l > 1:
            act.z, act.a = cache[f"Z{l - 1}"], cache[f"A{l - 1}"]
            dZ = act.backward(dA)  # dZ = dA * activation'(Z)
    if verbose:
        trace.backward_done()
    return {"dW": dW_list, "db": db_list}


def update_weights(weights, biases, gradients, learning_rate: float):
    """Gradient descent, in place: ``W -= learning_rate * dW``, ``b -= learning_rate * db``."""
    learning_rate = check_number(learning_rate, "learning_rate")
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
    for W, b, dW, db in zip(weights, biases, gradients["dW"], gradients["db"]):
        W -= learning_rate * dW
        b -= learning_rate * np.reshape(db, b.shape)
    return weights, biases


def train_one_step(X, y_true, weights, biases, activation_type: str,
                   learning_rate: float = 0.01, verbose: bool = False):
    """Forward, loss, backward and update on one batch.

    The same numbers as ``forward_pass``, ``cross_entropy_loss``, ``backward_pass`` and
    ``update_weights`` called in turn. For class labels it takes one softmax per step, not
    two: the fused ``CrossEntropy.forward_backward`` gives each sample's loss
    ``logsumexp(Z) - Z[c]`` (= ``-log p_c``, kept within the notebook's clip of ``p_c`` to
    ``[1e-15, 1 - 1e-15]``) and ``dZ = softmax(Z) - Y`` from the logits, and the accuracy
    compares ``argmax(Z)``, the argmax of the probabilities. ``verbose=True`` and
    probability targets go through the four functions, as the notebook did.

    Returns
    -------
    (loss, accuracy_percent, weights, biases)
        The loss and accuracy are measured before the update, as in the notebook.
    """
    learning_rate = check_number(learning_rate, "learning_rate")
    y_arr = np.asarray(y_true)
    if verbose or y_arr.ndim != 1:
        return _train_one_step_composed(X, y_true, weights, biases, activation_type,
                                        learning_rate, verbose)
    act = resolve(activation_type, ACTIVATIONS, "activation")
    layers = _engine_layers(weights, biases, act, len(y_arr))  # Dense, act, ..., Dense
    X = check_X(X, weights[0].shape[0], weights[0].dtype)
    loss_fn = _CROSS_ENTROPY
    y = loss_fn.prepare_targets(check_y(y_arr, len(X), "y_true"), weights[-1].shape[1],
                                X.dtype, "y_true")  # labels: y_arr is 1-D here
    Z = X
    for layer in layers:
        Z = layer.forward(Z)  # Z[l] = A[l-1] @ W[l] + b[l]; A[l] = activation(Z[l])
    # Probabilities, and gradients scaled by learning_rate / m, that round to 0 are harmless
    with np.errstate(under="ignore"):
        # -log p_c, and dZ[L] = (A[L] - Y) / m times the learning rate: backprop is linear
        # in dZ, so every dW and db below comes out as learning_rate * gradient, ready for
        # the update
        losses, dZ = loss_fn.forward_backward(Z, y, learning_rate / len(y))
        np.maximum(losses, _CLIPPED_LOSS[0], out=losses)  # clip(losses, *_CLIPPED_LOSS), as
        np.minimum(losses, _CLIPPED_LOSS[1], out=losses)  # two ufunc calls: np.clip's is slower
        loss = float(np.add.reduce(losses, dtype=np.float64)) / len(y)
        accuracy = 100.0 * np.count_nonzero(Z.argmax(axis=1) == y) / len(y)
        for i in range(len(layers) - 1, -1, -1):
            dZ = layers[i].backward(dZ, input_grad=i > 0)  # dW, db; then dA and dZ below
    for dense, W, b in zip(layers[::2], weights, biases):
        W -= dense.dW  # W -= learning_rate * dW, as update_weights
        b -= dense.db  # b -= learning_rate * db
    return loss, accuracy, weights, biases


_CROSS_ENTROPY = CrossEntropy()  # stateless but for a cached index array: shared by the calls
_LAST_NETWORK = threading.local()  # per thread: the engine layers of the last small network
_CACHED_ENTRIES = 1 << 16  # at most this many weights + one batch's activations are cached


def _engine_layers(weights, biases, act: type, n_rows: int) -> list:
    """The engine's layers around the caller's arrays: ``Dense, act, ..., Dense``.

    A training loop passes the same arrays step after step: for a small network (the size
    where building layers costs as much as the step) the last call's layers and their work
    buffers are reused while every array is the same object as then. They hold those arrays,
    so an identical ``id`` cannot belong to a new one; a large network or batch is never
    held (nothing big stays alive after the caller lets go). Per thread, so that two threads
    never share work buffers.
    """
    key = (act, *map(id, weights), *map(id, biases))
    last = getattr(_LAST_NETWORK, "value", None)
    if last is not None and last[0] == key and n_rows * last[2] <= last[3]:
        return last[1]  # the same arrays as then: they were checked then
    _check_network(weights, biases)
    layers = []
    for l, (W, b) in enumerate(zip(weights, biases)):
        layers += [Dense.from_arrays(W, b)] + ([act()] if l < len(weights) - 1 else [])
    width = sum(W.shape[1] for W in weights)  # activations per row
    room = _CACHED_ENTRIES - sum(W.size for W in weights)
    _LAST_NETWORK.value = ((key, layers, width, room, list(weights), list(biases))
                           if n_rows * width <= room else None)
    return layers


def _targets(y_true, n_rows: int, n_classes: int, dtype, name: str) -> np.ndarray:
    """``y_true`` checked against ``n_rows`` predictions and ``n_classes`` outputs: int
    labels ``(n,)`` as an index array, one-hot rows ``(n, C)`` in ``dtype``."""
    y = np.asarray(y_true)
    if y.ndim not in (1, 2):
        raise ValueError(f"{name} must be int labels (n,) or one-hot rows (n, C), got shape "
                         f"{y.shape}")
    if len(y) != n_rows:
        raise ValueError(f"{name} has {len(y)} rows but there are {n_rows} predictions")
    return _CROSS_ENTROPY.prepare_targets(check_y(y, n_rows, name), n_classes, dtype, name)


# -log(p) for p clipped to [1e-15, 1 - 1e-15], as cross_entropy_loss clips: [~1.1e-15, ~34.5]
_CLIPPED_LOSS = (-np.log1p(-1e-15), -np.log(1e-15))


def _train_one_step_composed(X, y_true, weights, biases, activation_type, learning_rate,
                             verbose):
    predictions, cache = forward_pass(X, weights, biases, activation_type, return_cache=True)
    loss, Y = _cross_entropy(y_true, predictions)
    correct = np.count_nonzero(np.argmax(predictions, axis=1) == np.argmax(Y, axis=1))
    accuracy = 100.0 * correct / len(Y)
    gradients = backward_pass(cache, Y, weights, activation_type, verbose=verbose)
    update_weights(weights, biases, gradients, learning_rate)
    return loss, accuracy, weights, biases
