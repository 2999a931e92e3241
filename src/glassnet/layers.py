"""Layers: the ``Layer`` protocol, ``Dense`` and ``Dropout``.

A layer maps a batch ``x`` of shape ``(n_samples, n_in)`` to ``(n_samples, n_out)``.
``forward`` caches exactly what ``backward`` needs; ``backward(delta)`` takes
``delta = dL/d(output)`` and returns ``dL/d(input)``, writing the parameter gradients into
``d<name>`` arrays (``dW``, ``db``) that have the parameters' shapes.

Speed contract: the arrays a layer returns are scratch arrays it owns and refills on its next
call (no allocation per batch once the batch shape is known), and ``backward`` may overwrite
the ``delta`` it receives. ``Sequential.forward``/``backward``, the public entry points,
copy at the boundary, so users never see a scratch array change under them.

Parameters are plain attributes (``W``, ``b``). A ``Sequential`` may re-bind them to views of
one contiguous buffer, so optimizers can update every parameter with a few NumPy calls; a
layer never assumes its arrays are its own allocations.

Activation layers (``ReLU``, ``Tanh``, ...) live in ``activations.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._blas import matmul_add, product, product_tn, sparse_matmul_add, sparse_product_tn
from ._checks import as_rng, check_dtype, check_layer_sizes, check_probability, resolve
from .init import INITIALISERS

__all__ = ["Layer", "Dense", "Dropout"]


class Layer:
    """Base class. Subclasses set ``param_names`` and implement ``forward`` and ``backward``.

    Attributes
    ----------
    param_names : tuple of str
        Names of the trainable arrays; the gradient of ``p`` is stored in ``"d" + p``.
    penalized : tuple of str
        The subset of ``param_names`` that an L2 penalty applies to (weights, not biases).
    kinks : tuple of float
        Input values where the layer is not differentiable (0 for ReLU). ``gradcheck`` uses
        them to avoid false alarms when a finite-difference step crosses one.
    """

    param_names: tuple[str, ...] = ()
    penalized: tuple[str, ...] = ()
    kinks: tuple[float, ...] = ()

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, delta: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """``dL/d(input)`` from ``delta = dL/d(output)``; None when ``input_grad`` is False."""
        raise NotImplementedError

    def scratch(self, name: str, shape: tuple[int, ...], dtype, fill: float | None = None
                ) -> np.ndarray:
        """A work array of ``shape``, allocated once and reused for the same or fewer rows.

        ``fill`` sets its contents when it is (re)allocated; otherwise they are undefined.
        """
        arrays = self.__dict__.get("_scratch")
        if arrays is None:
            arrays = self._scratch = {}
        buf = arrays.get(name)
        if buf is not None and buf.shape == shape and (buf.dtype is dtype or buf.dtype == dtype):
            return buf  # the common case, first: this runs several times per training step
        if buf is not None and buf.dtype == dtype and buf.shape[1:] == shape[1:]:
            if buf.shape[0] == shape[0]:
                return buf
            if buf.shape[0] > shape[0]:  # fewer rows (the last batch): a contiguous slice
                return buf[:shape[0]]
        buf = arrays[name] = np.empty(shape, dtype=dtype)
        if fill is not None:
            buf.fill(fill)
        return buf

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles leave out scratch arrays and the last batch's caches."""
        return {k: v for k, v in self.__dict__.items()
                if k not in ("_scratch", "x", "z", "a", "mask")}

    def output_size(self, n_in: int) -> int:
        """Width of the output for an input of width ``n_in`` (unchanged by default)."""
        return n_in

    def kink_pattern(self) -> list[np.ndarray]:
        """For the last forward pass: on which side of each kink every input fell."""
        return []

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer (parameters excluded)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer: ``z = x @ W + b``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths. ``W`` has shape ``(n_in, n_out)``, ``b`` shape ``(n_out,)``.
    init : str
        Initialiser name from ``glassnet.init.INITIALISERS`` (biases start at zero).
    seed : None, int or numpy Generator
        Source of the initial weights.
    dtype : 'float32' or 'float64'
    """

    param_names = ("W", "b")
    penalized = ("W",)

    def __init__(self, n_in: int, n_out: int, init: str = "xavier", seed: Any = None,
                 dtype: Any = "float32") -> None:
        n_in, n_out = check_layer_sizes([n_in, n_out], name="(n_in, n_out)")
        initialiser = resolve(init, INITIALISERS, "initialiser")
        dt = check_dtype(dtype)
        self.n_in, self.n_out, self.init = n_in, n_out, init
        self.W = initialiser(n_in, n_out, as_rng(seed)).astype(dt)
        self.b = np.zeros(n_out, dtype=dt)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    @classmethod
    def from_arrays(cls, W: np.ndarray, b: np.ndarray | None) -> "Dense":
        """Wrap existing arrays without copying (``b`` of shape ``(n_out,)`` or ``(1, n_out)``;
        None for a layer used only for its backward pass, which never reads ``b``)."""
        layer = cls.__new__(cls)
        layer.n_in, layer.n_out = W.shape
        layer.init = None  # the weights came from the caller
        layer.W = W
        layer.b = None if b is None else b.reshape(-1)  # a view: updates reach the caller
        layer.dW = np.empty_like(W)  # both filled by backward
        layer.db = np.empty(layer.n_out, W.dtype)
        return layer

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """``z = x @ W + b``; ``x`` may be a SciPy CSR matrix (the first layer's input on
        sparse data), whose products then run sparse: ``x`` is never densified."""
        self.x = x  # backward needs the input: dW = x^T delta
        z = self.scratch("z", (x.shape[0], self.n_out), self.W.dtype)
        if isinstance(x, np.ndarray):
            return matmul_add(x, self.W, self.b, out=z)  # z = x @ W + b, into the scratch array
        return sparse_matmul_add(x, self.W, self.b, out=z)  # the same, x sparse (CSR)

    def backward(self, delta: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """``dW = x^T @ delta``, ``db`` = the sum of ``delta``'s rows; returns ``dx = delta @ W^T``."""
        ones = self.scratch("ones", (len(delta),), delta.dtype, fill=1.0)
        product(ones, delta, self.db)  # db = sum of delta over the batch, as 1^T @ delta
        if isinstance(self.x, np.ndarray):
            product_tn(self.x, delta, self.dW)  # dW = x^T @ delta
        else:
            sparse_product_tn(self.x, delta, self.dW)  # the same, x sparse (CSR)
        if not input_grad:  # the first layer skips it: dL/dX is not needed there
            return None
        dx = self.scratch("dx", (len(delta), self.n_in), self.W.dtype)
        return product(delta, self.W.T, dx)  # dx = delta @ W^T

    def output_size(self, n_in: int) -> int:
        return self.n_out

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out, "init": self.init}

    def __repr__(self) -> str:
        return f"Dense({self.n_in} -> {self.n_out})"


class Dropout(Layer):
    """Inverted dropout: in training, ``y = x * m / (1 - p)`` with ``m ~ Bernoulli(1 - p)``.

    Dividing by ``1 - p`` keeps ``E[y] = x``, so evaluation mode is the identity.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of zeroing each unit.
    seed : None, int or numpy Generator
        Source of the masks; explicit so that training runs are reproducible.
    """

    def __init__(self, p: float = 0.5, seed: Any = None) -> None:
        self.p = check_probability(p, "p")
        self.rng = as_rng(seed)
        self.mask = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.p == 0.0:
            self.mask = None
            return x
        mask = self.scratch("mask", x.shape, x.dtype)
        if isinstance(self.rng, np.random.Generator):
            self.rng.random(out=mask, dtype=x.dtype)  # u ~ U[0, 1), drawn into the buffer
        else:  # the notebook's RandomState has no out=
            mask[...] = self.rng.random_sample(x.shape)
        np.greater_equal(mask, self.p, out=mask)  # m = [u >= p], 1.0 or 0.0
        mask *= 1.0 / (1.0 - self.p)  # m / (1 - p)
        self.mask = mask
        return np.multiply(x, mask, out=self.scratch("y", x.shape, x.dtype))

    def backward(self, delta: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        if self.mask is not None:
            delta *= self.mask  # dL/dx = dL/dy * m / (1 - p)
        return delta

    def config(self) -> dict[str, Any]:
        return {"p": self.p}
