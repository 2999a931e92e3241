"""One step of training, as the training loop and ``value_and_grad`` run it.

    z = model(X)                                   # forward (dropout on when training)
    J = L(z, y, w) + l2 / 2 * sum ||W||^2          # the objective
    model.backward(dJ/dz)                          # every gradient, into model.flat_grads
    optimizer.step([flat_params], [flat_grads])    # then the update: one path for every rule

That is ``SeparateStep``, the step of every optimizer and every model. ``SGDInBackward`` is
the one fast path, chosen by name in ``train.step_kernel``: plain SGD's step taken inside
the products of backprop, which equals ``SeparateStep`` up to rounding
(``tests/test_train.py``).

``prepare_data`` validates the data once, at the boundary; the functions after it trust
their inputs, as the training loop calls them once per batch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


from ._blas import axpy, gemm_tn, product, sparse_gemm_tn
from ._checks import check_sample_weight, check_X, check_y
from .layers import Dense
from .losses import Loss
from .model import Sequential

__all__ = ["prepare_data", "objective_and_backward", "SeparateStep", "SGDInBackward"]


def prepare_data(model: Sequential, loss: Loss, X: Any, y: Any, sample_weight: Any = None,
                 check_input: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate ``X``, ``y`` (and ``sample_weight``) against ``model`` and ``loss``; cast dtypes.

    ``check_input=False`` skips the NaN/inf scan of ``X`` (shapes and targets are still checked).
    A SciPy sparse ``X`` comes back as CSR in the model's dtype (``_checks.check_X``), for a
    model whose first layer is ``Dense`` (``model.takes_sparse``).
    """
    X = check_X(X, model.n_inputs, model.dtype, finite=check_input, sparse=model.takes_sparse)
    y = loss.prepare_targets(check_y(y, X.shape[0]), model.n_outputs, model.dtype)
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
    return X, y, sample_weight


def objective_and_backward(model: Sequential, loss: Loss, X: np.ndarray, y: np.ndarray,
                           l2: float = 0.0, sample_weight: np.ndarray | None = None,
                           training: bool = False) -> tuple[float, np.ndarray]:
    """Forward, loss and backward on validated data: fills ``model.flat_grads`` with
    ``dJ/dtheta`` and returns ``(J, z)`` (``z``: the last layer's work array, overwritten by
    the next forward).

    Call it under ``np.errstate(under="ignore")``: underflow to 0 (tiny probabilities) is
    harmless, and the training loop sets that once per epoch rather than once per batch.
    """
    z = model._forward(X, training)
    value, dz = loss._value_and_grad(z, y, sample_weight)  # L and dL/dz
    model._backward(dz)
    if l2:
        value += model.add_l2(l2)  # J += l2/2 ||W||^2; dW += l2 * W
    return value, z


class SeparateStep:
    """``objective_and_backward``, then ``optimizer.step``: every optimizer, every model."""

    name = "separate"

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer

    def backward(self, model: Sequential, loss: Loss, X: np.ndarray, y: np.ndarray,
                 l2: float, sample_weight: np.ndarray | None) -> tuple[float, np.ndarray]:
        """``(J, z)`` of the batch, its gradients in ``model.flat_grads``."""
        return objective_and_backward(model, loss, X, y, l2, sample_weight, training=True)

    def update(self, model: Sequential) -> None:
        """The optimizer's step from the gradients."""
        self.optimizer.step([model.flat_params], [model.flat_grads])

    def state_dict(self) -> dict[str, Any]:
        """Nothing: the optimizer holds all the state."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            raise ValueError(f"the separate step has no state, got {sorted(state)}")


class SGDInBackward:
    """Plain SGD's step taken inside backprop: no gradient is written and read back.

    Plain SGD (no momentum, weight decay or clipping) is linear in the gradient, and BLAS's
    ``gemm`` adds a product into an existing matrix, which ``np.matmul`` cannot. So each
    weight matrix takes its step in the one call that would have written ``dW``::

        delta = lr * dJ/dz                        # the learning rate rides in delta
        W = s * W - x^T @ delta,  s = 1 - lr * l2 # SGD with the L2 term's gradient l2 * W
        b = b - 1^T @ delta                       # all the biases at once, after backprop

    after ``dx = delta @ W^T`` has used the old ``W``. It equals ``SeparateStep`` with
    ``optimizer.SGD`` up to rounding, and counts as the optimizer's step (``optimizer.t``).
    ``train.step_kernel`` chooses it, for plain ``SGD`` on a network of ``Dense`` layers
    large enough for the BLAS product (``_blas.MIN_SIZE``) with no ``on_batch_end`` hook but
    the divergence guard's (none could see the gradients in between).

    In float32 ``s`` cannot hold a small decay: ``1 - lr * l2`` rounds to 1 below 2^-25, and
    moves in steps of 2^-24. So the decay is summed over the steps in float64
    (``pending_decay``, this object's state, which lives as long as its optimizer) and taken
    once it reaches 16 of ``s``'s last-place units, which every weight then takes within a
    few percent; what waits is under 1e-6 (float32; 2e-15 in float64, so every step there).
    A non-finite loss takes no step: the divergence guard then restores the epoch's start.

    On sparse data (a SciPy CSR batch) the first layer takes the same step through SciPy's
    CSC kernel (``_blas.sparse_gemm_tn``): ``W = s W - x^T @ delta`` with no gradient matrix
    at all, and with ``s = 1`` only the rows of ``W`` whose columns the batch stores are read
    and written, where ``SeparateStep`` writes the whole ``dW`` and then steps every weight.
    """

    name = "sgd_in_backward"

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer
        self.pending_decay = 0.0

    def backward(self, model: Sequential, loss: Loss, X: np.ndarray, y: np.ndarray,
                 l2: float, sample_weight: np.ndarray | None) -> tuple[float, np.ndarray]:
        """``(J, z)`` of the batch, with the SGD step already taken on every parameter."""
        z = model._forward(X, training=True)
        value, delta = loss._value_and_grad(z, y, sample_weight)
        if l2:
            value += model.l2_penalty(l2)  # J += l2/2 ||W||^2, before the weights change
        if not math.isfinite(value):  # NaN or inf: a step would spoil every weight
            return value, z
        lr = self.optimizer.lr
        delta *= lr
        # All or nothing: an overflow must not stop the step halfway (some layers stepped,
        # the rest not), so it writes inf silently, as the BLAS routines do; the next loss
        # shows it to the divergence guard, which goes back to the epoch's start.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._backward_and_step(model, delta, self._shrink(lr * l2, model.dtype))
        self.optimizer.t += 1
        return value, z

    def update(self, model: Sequential) -> None:
        """Nothing: the step was taken in ``backward``."""

    def state_dict(self) -> dict[str, Any]:
        """``{"pending_decay": float}``: the decay the weights' dtype could not take yet."""
        return {"pending_decay": self.pending_decay}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # the decay waiting may be a little below 0: s rounds to the nearest float, and what
        # it overshot is carried as a negative remainder
        if set(state) != {"pending_decay"} or not abs(float(state["pending_decay"])) < 1.0:
            raise ValueError(f"SGDInBackward's state is {{'pending_decay': a float in "
                             f"(-1, 1)}}, got {state!r}")
        self.pending_decay = float(state["pending_decay"])

    def _shrink(self, decay: float, dtype: np.dtype) -> float:
        """``s = 1 - decay`` in the weights' dtype, the decay that ``s`` cannot hold yet
        carried over in ``pending_decay`` (see the class docstring)."""
        decay += self.pending_decay
        shrink = 1.0
        if decay >= 16.0 * float(np.finfo(dtype).epsneg):
            shrink = float(dtype.type(1.0 - decay))
            decay -= 1.0 - shrink
        self.pending_decay = decay
        return shrink

    @staticmethod
    def _backward_and_step(model: Sequential, delta: np.ndarray, shrink: float) -> None:
        """Backprop through the layers, each ``Dense`` taking its step on ``W`` (the plain
        formulas are ``Dense.backward``'s), then ``b = b - db`` on the biases' flat tail."""
        layers = model.layers
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            if not isinstance(layer, Dense):
                delta = layer.backward(delta, i > 0)
                continue
            ones = layer.scratch("ones", (len(delta),), delta.dtype, fill=1.0)
            product(ones, delta, layer.db)  # db = 1^T @ delta (lr db: delta carries lr)
            dx = None
            if i > 0:  # dx = delta @ W^T, with the old W
                dx = product(delta, layer.W.T, layer.scratch("dx", (len(delta), layer.n_in),
                                                            delta.dtype))
            if isinstance(layer.x, np.ndarray):
                gemm_tn(-1.0, layer.x, delta, shrink, layer.W, scratch=layer.dW)  # W = s W - x^T delta
            else:  # sparse (CSR) data, the first layer: W = s W - x^T delta as well, which
                # changes only the rows of W that the batch's columns reach (and all of them
                # by s < 1); it overwrites delta, which nothing reads after the first layer
                sparse_gemm_tn(-1.0, layer.x, delta, shrink, layer.W)
            delta = dx
        n = model._n_penalized  # the weights come first in the buffer, the biases after
        axpy(-1.0, model.flat_grads[n:], model.flat_params[n:])  # b = b - lr db, all of them
