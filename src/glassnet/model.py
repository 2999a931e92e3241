"""``Sequential`` (a stack of layers) and the ``MLP`` builder.

Parameters of all layers live in one contiguous buffer, ``model.flat_params``, and their
gradients in a second one, ``model.flat_grads``; each layer's ``W``/``b``/``dW``/``db`` are views
into them. An optimizer can therefore update the whole network with a handful of NumPy
calls, whatever its depth, and ``state_dict`` is just a list of named views. The buffer holds
the penalised parameters (the weights) first, then the others (the biases), so that the L2
term ``l2 / 2 * ||W||^2`` and its gradient ``l2 * W`` are one call each over the first part.
"""

from __future__ import annotations

import copy
import html
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Iterable, Sequence

import numpy as np

from ._blas import axpy
from ._version import check, stamp
from ._checks import (as_rng, check_dtype, check_finite, check_layer_sizes, check_number,
                      check_probability, check_X, resolve)
from .activations import ACTIVATIONS
from .init import INITIALISERS
from .layers import Dense, Dropout, Layer

__all__ = ["Sequential", "MLP"]


class Sequential:
    """Layers applied in order: ``out = layers[-1](... layers[0](X))``.

    Parameters
    ----------
    layers : iterable of Layer
    dtype : 'float32', 'float64' or None
        Dtype of the parameter buffer; None keeps the first parameter's dtype.

    Notes
    -----
    Parameter names are ``"layers.<i>.<name>"``, e.g. ``"layers.0.W"``.
    """

    def __init__(self, layers: Iterable[Layer], dtype: Any = None) -> None:
        self.layers = list(layers)
        seen: set[int] = set()
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"layers[{i}] must be a glassnet Layer, got {layer!r}")
            if id(layer) in seen:  # a layer caches its last input: it cannot serve twice
                raise ValueError(f"layers[{i}] is the same object as an earlier layer; "
                                 f"use a new {type(layer).__name__}() for each position")
            seen.add(id(layer))
        width, source = None, ""  # what the layers so far output, and which one set it
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                if width is not None and layer.n_in != width:
                    raise ValueError(f"layers[{i}] (Dense) takes {layer.n_in} inputs but "
                                     f"{source} gives {width}")
                width, source = layer.n_out, f"layers[{i}] (Dense)"
            elif width is not None:
                width = layer.output_size(width)
        self._pack(dtype)

    # -- parameters -------------------------------------------------------------------------
    def _pack(self, dtype: Any = None) -> None:
        """Copy every parameter into one buffer and re-bind the layers' arrays as its views:
        the penalised parameters (the weights) first, in layer order, then the others."""
        slots = [(layer, name) for layer in self.layers for name in layer.param_names]
        if dtype is None:
            dtypes = [getattr(layer, name).dtype for layer, name in slots]
            dtype = dtypes[0] if dtypes else np.float32
            if any(d.itemsize > np.dtype(dtype).itemsize for d in dtypes):  # never rounded
                raise ValueError(f"the first parameter is {dtype} but a later layer holds "
                                 f"float64 ones, which it would round: pass dtype= to choose, "
                                 f"e.g. Sequential(layers, dtype='float64')")
        self.dtype = check_dtype(dtype)
        penalized = [(layer, name) for layer, name in slots if name in layer.penalized]
        slots = penalized + [(layer, name) for layer, name in slots if name not in layer.penalized]
        self._n_penalized = sum(getattr(layer, name).size for layer, name in penalized)
        total = sum(getattr(layer, name).size for layer, name in slots)
        self.flat_params = np.empty(total, dtype=self.dtype)
        self.flat_grads = np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer, name in slots:
            value = getattr(layer, name)
            size, shape = value.size, value.shape
            view = self.flat_params[offset:offset + size].reshape(shape)
            view[...] = value
            setattr(layer, name, view)
            setattr(layer, "d" + name, self.flat_grads[offset:offset + size].reshape(shape))
            offset += size

    def named_parameters(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """``[(name, parameter, gradient), ...]`` in layer order; arrays are live views."""
        return [(f"layers.{i}.{name}", getattr(layer, name), getattr(layer, "d" + name))
                for i, layer in enumerate(self.layers) for name in layer.param_names]

    def penalized_parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(W, dW), ...]`` for the parameters an L2 penalty applies to (weights, not biases)."""
        return [(getattr(layer, name), getattr(layer, "d" + name))
                for layer in self.layers for name in layer.penalized]

    def l2_penalty(self, l2: float) -> float:
        """``l2 / 2 * sum ||W||^2`` over the penalised parameters (weights, not biases): one
        dot product over the head of the flat buffer, where all the weights are."""
        W = self.flat_params[:self._n_penalized]
        return 0.5 * l2 * float(np.dot(W, W))

    def add_l2(self, l2: float) -> float:
        """Add ``l2 * W`` to every ``dW``; return ``l2_penalty(l2)``.

        ``dW += l2 * W`` over all the weights at once: one BLAS ``axpy`` pass for a large
        network (elsewhere two NumPy passes through one reused scratch array; see
        ``glassnet._blas``).
        """
        n = self._n_penalized
        W, dW = self.flat_params[:n], self.flat_grads[:n]
        axpy(l2, W, dW, scratch=self._scratch(n))  # dW = dW + l2 * W
        return self.l2_penalty(l2)

    def _scratch(self, size: int) -> np.ndarray:
        """A reused flat work array of at least ``size`` entries, in the model's dtype."""
        scratch = self.__dict__.get("_l2_scratch")
        if scratch is None or scratch.dtype != self.dtype or scratch.size < size:
            scratch = self._l2_scratch = np.empty(size, self.dtype)
        return scratch[:size]

    def count_parameters(self) -> int:
        """Total number of trainable scalars."""
        return int(self.flat_params.size)

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Ordered ``{name: copy of the parameter}``."""
        return OrderedDict((name, p.copy()) for name, p, _ in self.named_parameters())

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters; names and shapes must match exactly, and every
        value must be finite in the model's dtype (1e39 is inf in float32)."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state_dict must be a mapping {{name: array}}, got "
                            f"{type(state).__name__}")
        own = {name: p for name, p, _ in self.named_parameters()}
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if missing or unexpected:
            raise ValueError(f"state_dict does not match the model: missing {missing}, "
                             f"unexpected {unexpected}")
        values = {}
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.dtype.kind not in "fiu":
                raise ValueError(f"state_dict[{name!r}] must hold numbers, got dtype {value.dtype}")
            if value.shape != p.shape:
                raise ValueError(f"state_dict[{name!r}] has shape {value.shape}, "
                                 f"the model expects {p.shape}")
            with np.errstate(over="ignore"):  # an overflow is caught just below, by name
                values[name] = value.astype(p.dtype)
            if not np.isfinite(values[name]).all():
                beyond = "" if not np.isfinite(value).all() else f" once cast to {p.dtype}"
                raise ValueError(f"state_dict[{name!r}] contains NaN or inf{beyond}")
        for name, p in own.items():  # only after every check passed: never half-loaded
            p[...] = values[name]

    # -- computation ------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int | None:
        """Input width expected by the first Dense layer (None if there is none)."""
        for layer in self.layers:
            if isinstance(layer, Dense):
                return layer.n_in
        return None

    @property
    def takes_sparse(self) -> bool:
        """Whether ``X`` may be a SciPy sparse matrix: the first layer is ``Dense``, whose
        products run sparse (``Dense.forward``); no other layer takes one."""
        return bool(self.layers) and isinstance(self.layers[0], Dense)

    @property
    def n_outputs(self) -> int | None:
        """Width of the model's output."""
        width = self.n_inputs
        if width is None:
            return None
        for layer in self.layers:
            width = layer.output_size(width)
        return width

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """Scores (logits) of shape ``(n_samples, n_outputs)`` for ``X`` ``(n_samples, n_inputs)``.

        ``X`` is validated and cast to the model's dtype; ``training=True`` enables dropout.
        ``X`` may be a SciPy sparse matrix or array when the first layer is ``Dense``
        (``takes_sparse``): it is used as CSR, never densified.
        """
        x = check_X(X, self.n_inputs, self.dtype, sparse=self.takes_sparse)
        # A copy: the layers' outputs are scratch arrays that the next call overwrites.
        return self._forward(x, training).copy()

    def predict(self, X: np.ndarray, batch_size: int = 512, check_input: bool = True
                ) -> np.ndarray:
        """Inference: scores ``(n_samples, n_outputs)``, computed ``batch_size`` rows at a time.

        Chunks keep every layer's activations in cache, which makes large inputs faster
        than one ``forward`` over all rows; nothing is kept for a backward pass.
        ``check_input=False`` skips the NaN/inf scan of ``X`` for callers that made it.
        A SciPy sparse ``X`` is taken as ``forward`` takes it; each chunk is a CSR slice.
        """
        batch_size = check_number(batch_size, "batch_size", integer=True, ge=1)
        x = check_X(X, self.n_inputs, self.dtype, finite=False, sparse=self.takes_sparse)
        source = None if x is X else X  # what x was converted from, for the error message
        n = x.shape[0]
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        for start in range(0, n, batch_size):
            chunk = x[start:start + batch_size]
            if check_input:  # the NaN/inf scan, per chunk: it brings the rows into cache for
                check_finite(chunk, "X", start, source)  # the first product, no extra pass
            out[start:start + batch_size] = self._forward(chunk)
        return out

    def _forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Forward on validated ``x``; returns the last layer's scratch array (no copy)."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Backpropagate ``dL/d(output)``; fills every ``d<param>``; returns ``dL/dX``."""
        with np.errstate(under="ignore"):  # a gradient that rounds to 0 is 0: not an error
            return self._backward(np.array(grad_output, dtype=self.dtype),
                                  input_grad=True).copy()

    def _backward(self, delta: np.ndarray, input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate, overwriting ``delta``; ``input_grad=False`` skips ``dL/dX``."""
        for i in range(len(self.layers) - 1, -1, -1):
            delta = self.layers[i].backward(delta, input_grad or i > 0)
        return delta

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)

    # -- copies and display -----------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles leave out the scratch array, and carry glassnet's version."""
        return stamp({k: v for k, v in self.__dict__.items() if k != "_l2_scratch"})

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A copy or an unpickled model re-binds its layers' arrays to one new buffer; a
        pickle written by another glassnet (or carrying no version) warns."""
        state = dict(state)
        check(state, type(self).__name__)
        self.__dict__.update(state)
        self._pack(self.dtype)

    def astype(self, dtype: Any) -> "Sequential":
        """A deep copy whose parameters have ``dtype``."""
        clone = copy.deepcopy(self)
        clone._pack(dtype)
        return clone

    def copy(self) -> "Sequential":
        """A deep copy (parameters, dropout generators and all)."""
        return self.astype(self.dtype)

    def _summary_rows(self) -> tuple[list[tuple[str, str, str, str]], str]:
        """The summary's table, header first, and its total line: what ``summary`` lays out
        as text and ``_repr_html_`` as HTML."""
        rows = [("#", "Layer", "Output shape", "Parameters")]
        width = self.n_inputs
        for i, layer in enumerate(self.layers):
            width = layer.output_size(width) if width is not None else None
            n = sum(getattr(layer, name).size for name in layer.param_names)
            count = str(n)
            if isinstance(layer, Dense):
                count = f"{n} = {layer.n_in}·{layer.n_out} + {layer.n_out}"
            rows.append((str(i), repr(layer), f"(None, {width})", count))
        return rows, f"{self.count_parameters()} ({self.dtype.name})"

    def summary(self) -> str:
        """A table: layer, output shape and parameter count (``n_in*n_out + n_out``), with total."""
        rows, total = self._summary_rows()
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        rule = "-" * len(max(lines, key=len))
        return "\n".join([lines[0], rule, *lines[1:], rule, f"Total parameters: {total}"])

    def _repr_html_(self) -> str:
        """The summary as an HTML table, which Jupyter shows for a model left last in a cell:
        a header, one row per layer, and the total. Plain markup, every text escaped."""
        rows, total = self._summary_rows()
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                       for row in rows[1:])
        foot = f'<tr><th colspan="3">Total parameters</th><th>{html.escape(total)}</th></tr>'
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                f"<tfoot>{foot}</tfoot></table>")

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential(\n{inner}\n)"


def _child_seed(rng) -> int:
    """An int seed drawn from ``rng`` (Generator or RandomState) for a sub-generator."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63 - 1))
    return int(rng.randint(2**31 - 1))


def MLP(layer_sizes: Sequence[int], activation: str | Sequence[str] = "relu",
        init: str = "xavier", dropout: float = 0.0, dtype: Any = "float32",
        seed: Any = None) -> Sequential:
    """Build a multi-layer perceptron: Dense, activation[, Dropout], ..., Dense (logits).

    Parameters
    ----------
    layer_sizes : list of int
        ``[n_inputs, hidden_1, ..., n_outputs]``, at least two entries.
    activation : str or list of str
        One name for every hidden layer, or one per hidden layer
        (names from ``glassnet.activations.ACTIVATIONS``).
    init : str
        Weight initialiser (``glassnet.init.INITIALISERS``); biases start at zero.
    dropout : float in [0, 1)
        Dropout probability after each hidden activation (0 adds no Dropout layer).
    dtype : 'float32' or 'float64'
    seed : None, int, numpy Generator or RandomState
        Source of the initial weights (layer by layer) and of the dropout masks.

    Returns
    -------
    Sequential
        Outputs raw scores (logits) of shape ``(n_samples, n_outputs)``.
    """
    sizes = check_layer_sizes(layer_sizes)
    n_hidden = len(sizes) - 2
    if isinstance(activation, str):
        names = [activation] * n_hidden
    elif isinstance(activation, (list, tuple)):
        names = list(activation)
    else:
        raise ValueError(f"activation must be a name or a list of names, got {activation!r}")
    if len(names) != n_hidden:
        raise ValueError(f"activation has {len(names)} entries but layer_sizes {sizes} "
                         f"has {n_hidden} hidden layers")
    act_classes = [resolve(name, ACTIVATIONS, "activation") for name in names]
    resolve(init, INITIALISERS, "initialiser")
    p = check_probability(dropout, "dropout")
    dt = check_dtype(dtype)
    rng = as_rng(seed)

    dense = [Dense(n_in, n_out, init=init, seed=rng, dtype=dt)
             for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    layers: list[Layer] = []
    for i, act in enumerate(act_classes):
        layers += [dense[i], act()]
        if p > 0:
            layers.append(Dropout(p, seed=_child_seed(rng)))
    layers.append(dense[-1])
    return Sequential(layers, dtype=dt)
