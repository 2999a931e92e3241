"""ONNX: ``to_onnx(model_or_estimator, path)``, a graph built node by node with ``onnx.helper``.

The graph has one input ``"X"`` of shape ``(N, n_inputs)`` with a dynamic batch dimension
``N``, float32 or float64 as the parameters. Its outputs:

* a ``glassnet.Sequential``: ``"logits"`` ``(N, n_outputs)``, the model's raw scores;
* a fitted ``MLPClassifier``: ``"label"`` and ``"probabilities"``, as skl2onnx's classifiers.
  ``label`` is ``(N,)``, int64 for integer classes (and for floats that are whole numbers,
  as skl2onnx does), strings for string classes, equal to ``predict``; ``probabilities`` is
  ``(N, n_classes)``, ``predict_proba``. A multilabel classifier gives ``(N, n_labels)`` of
  both: sigmoid probabilities, and labels 0/1 as ``predict``;
* a fitted ``MLPRegressor``: ``"variable"`` ``(N, n_outputs)``, ``exp`` of the output for
  ``loss='poisson'``.

Every op is in the default domain and unchanged since opset 13; the files declare opset 17
(IR version 8: onnxruntime 1.12 and later) unless ``opset=`` says otherwise. The activations
are written as their equations in elementary ops, not as ONNX's ``LeakyRelu``, ``Elu``,
``Softplus`` and ``Gelu``: those take their ``alpha`` as a float32 attribute (0.01 is not
0.01 in float64), onnxruntime 1.32 runs them in float32 only, and ``Gelu`` needs opset 20.

Needs ``onnx`` (``pip install 'glassnet[onnx]'``), imported on the first call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from ..io import atomic_write
from ..layers import Dense, Dropout
from ._common import Network, describe, require

__all__ = ["to_onnx", "OPSET", "MIN_OPSET"]

OPSET = 17
MIN_OPSET = 13  # Softmax over one axis, ArgMax, Reshape, Gather as used here


class Graph:
    """Nodes and constants collected for an ONNX graph, in one dtype.

    ``new_name(hint)`` gives unique value names and ``new_node_name(hint)`` node names (a
    counter here; skl2onnx's scope inside a pipeline).
    """

    def __init__(self, onnx: Any, dtype: Any, new_name: Callable[[str], str] | None = None,
                 new_node_name: Callable[[str], str] | None = None) -> None:
        self.onnx, self.dtype = onnx, np.dtype(dtype)
        self.nodes: list[Any] = []
        self.constants: list[Any] = []
        self._used: set[str] = set()
        self._scalars: dict[str, str] = {}
        self.new_name = new_name or self._unique
        self.new_node_name = new_node_name or self._unique

    def _unique(self, hint: str) -> str:
        name, k = hint, 1
        while name in self._used:
            name, k = f"{hint}_{k}", k + 1
        self._used.add(name)
        return name

    def constant(self, hint: str, value: Any, dtype: Any = None) -> str:
        """A named constant (an initializer); in the graph's dtype unless ``dtype`` is given."""
        name = self.new_name(hint)
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        self.constants.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def scalar(self, name: str, value: float) -> str:
        """A scalar constant in the graph's dtype, made once and shared (``one``, ``zero``)."""
        if name not in self._scalars:
            self._scalars[name] = self.constant(name, value)
        return self._scalars[name]

    def op(self, op_type: str, *inputs: str, hint: str = "", out: str | None = None,
           **attrs: Any) -> str:
        """Add the node ``out = op_type(*inputs, **attrs)``; return ``out``'s name."""
        out = out or self.new_name(hint or op_type)
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), [out], name=self.new_node_name(op_type), **attrs))
        return out


# -- one function per layer: (graph, input name, layer, prefix) -> output name -------------

def _dense(g: Graph, x: str, layer: Dense, at: str) -> str:
    W = g.constant(f"{at}.W", layer.W)  # (n_in, n_out)
    b = g.constant(f"{at}.b", layer.b)  # (n_out,)
    return g.op("Add", g.op("MatMul", x, W, hint=f"{at}.xW"), b, hint=f"{at}.z")  # x @ W + b


def _leaky_relu(g: Graph, z: str, layer: LeakyReLU, at: str) -> str:
    # z if z > 0 else alpha * z
    positive = g.op("Greater", z, g.scalar("zero", 0.0), hint=f"{at}.positive")
    return g.op("Where", positive, z, g.op("Mul", z, g.constant(f"{at}.alpha", layer.alpha)),
                hint=f"{at}.a")


def _elu(g: Graph, z: str, layer: ELU, at: str) -> str:
    # z if z > 0 else alpha * (exp(min(z, 0)) - 1); min keeps exp from overflowing
    positive = g.op("Greater", z, g.scalar("zero", 0.0), hint=f"{at}.positive")
    e = g.op("Exp", g.op("Min", z, g.scalar("zero", 0.0)), hint=f"{at}.exp")
    negative = g.op("Mul", g.constant(f"{at}.alpha", layer.alpha),
                    g.op("Sub", e, g.scalar("one", 1.0)))
    return g.op("Where", positive, z, negative, hint=f"{at}.a")


def _gelu(g: Graph, z: str, layer: GELU, at: str) -> str:
    # z / 2 * (1 + tanh(c * (z + k z^3))), c = sqrt(2 / pi), k = 0.044715
    z3 = g.op("Mul", z, g.op("Mul", z, z), hint=f"{at}.z3")
    u = g.op("Mul", g.scalar("gelu.c", GELU.c),
             g.op("Add", z, g.op("Mul", g.scalar("gelu.k", GELU.k), z3)), hint=f"{at}.u")
    one_plus_t = g.op("Add", g.scalar("one", 1.0), g.op("Tanh", u))
    return g.op("Mul", g.op("Mul", g.scalar("half", 0.5), z), one_plus_t, hint=f"{at}.a")


def _softplus(g: Graph, z: str, layer: Softplus, at: str) -> str:
    # max(z, 0) + log(1 + exp(-|z|)): no overflow for large |z|
    tail = g.op("Exp", g.op("Neg", g.op("Abs", z)), hint=f"{at}.exp")
    log1p = g.op("Log", g.op("Add", g.scalar("one", 1.0), tail), hint=f"{at}.log1p")
    return g.op("Add", g.op("Max", z, g.scalar("zero", 0.0)), log1p, hint=f"{at}.a")


LAYERS: dict[type, Callable[[Graph, str, Any, str], str]] = {
    Dense: _dense,
    Identity: lambda g, z, layer, at: z,
    ReLU: lambda g, z, layer, at: g.op("Relu", z, hint=f"{at}.a"),
    LeakyReLU: _leaky_relu,
    ELU: _elu,
    GELU: _gelu,
    Tanh: lambda g, z, layer, at: g.op("Tanh", z, hint=f"{at}.a"),
    Sigmoid: lambda g, z, layer, at: g.op("Sigmoid", z, hint=f"{at}.a"),
    Softplus: _softplus,
    Dropout: lambda g, x, layer, at: x,  # the identity outside training
}


def class_labels(classes: np.ndarray) -> np.ndarray:
    """``classes_`` as an ONNX label tensor: int64 for integers, booleans and whole floats
    (as skl2onnx), an object array of str for strings."""
    classes = np.asarray(classes)
    whole = classes.dtype.kind == "f" and bool(np.all(np.isfinite(classes))) and bool(
        np.all(np.abs(classes) < 2.0**63)) and bool(np.all(classes == np.round(classes)))
    if classes.dtype.kind in "iub" or whole:
        labels = classes.astype(np.int64)
        if np.array_equal(labels, classes):  # not so for uint64 beyond int64's range
            return labels
    if classes.dtype.kind in "US" or all(isinstance(c, str) for c in classes):
        return np.array([str(c) for c in classes], dtype=object)
    raise ValueError(f"class labels must be integers or strings to be exported (ONNX labels "
                     f"are int64 or strings), got classes_ {list(classes)}")


def _classes(g: Graph, net: Network) -> str:
    labels = class_labels(net.classes)
    return g.constant("classes", labels, dtype=labels.dtype)


# -- one function per head: (graph, z, network, output names) -> None -----------------------

def _logits(g: Graph, z: str, net: Network, outputs: dict[str, str]) -> None:
    g.op("Identity", z, out=outputs["logits"])  # a model: its raw scores


def _regression(g: Graph, z: str, net: Network, outputs: dict[str, str]) -> None:
    g.op("Identity", z, out=outputs["variable"])


def _poisson(g: Graph, z: str, net: Network, outputs: dict[str, str]) -> None:
    g.op("Exp", z, out=outputs["variable"])  # the log link's inverse


def _multiclass(g: Graph, z: str, net: Network, outputs: dict[str, str]) -> None:
    # probabilities softmax(z); label classes_[argmax z] (predict's argmax, on the logits)
    g.op("Softmax", z, axis=1, out=outputs["probabilities"])
    index = g.op("ArgMax", z, axis=1, keepdims=0, hint="class_index")  # (N,)
    g.op("Gather", _classes(g, net), index, axis=0, out=outputs["label"])


def _binary(g: Graph, z: str, net: Network, outputs: dict[str, str]) -> None:
    # z (N, 1) is the logit of classes_[1]: probabilities [1 - p, p], p = sigmoid(z);
    # label classes_[z > 0]
    p = g.op("Sigmoid", z, hint="p")
    q = g.op("Sub", g.scalar("one", 1.0), p, hint="q")
    g.op("Concat", q, p, axis=1, out=outputs["probabilities"])
    positive = g.op("Cast", g.op("Greater", z, g.scalar("zero", 0.0)),
                    to=g.onnx.TensorProto.INT64, hint="positive")  # (N, 1) of 0 / 1
    index = g.op("Reshape", positive, g.constant("flat", [-1], dtype=np.int64),
                 hint="class_index")
    g.op("Gather", _classes(g, net), index, axis=0, out=outputs["label"])


def _multilabel(g: Graph, z: str, net: Network, outputs: dict[str, str]) -> None:
    # one logit per label: probabilities sigmoid(z), labels [z > 0] as 0 / 1
    g.op("Sigmoid", z, out=outputs["probabilities"])
    g.op("Cast", g.op("Greater", z, g.scalar("zero", 0.0)), to=g.onnx.TensorProto.INT64,
         out=outputs["label"])


HEADS: dict[str, Callable[[Graph, str, Network, dict[str, str]], None]] = {
    "logits": _logits, "identity": _regression, "exp": _poisson,
    "softmax": _multiclass, "binary": _binary, "multilabel": _multilabel,
}


def emit(g: Graph, x: str, net: Network, outputs: dict[str, str]) -> None:
    """Add ``net``'s nodes from input ``x`` to the graph values named in ``outputs`` (keys:
    ``logits``; ``label`` and ``probabilities``; or ``variable``, as ``net.head`` needs)."""
    z = x
    for i, layer in enumerate(net.layers):
        convert = LAYERS.get(type(layer))
        if convert is None:
            raise ValueError(f"layers[{i}], {layer!r}, has no ONNX export; to_onnx converts "
                             f"{', '.join(c.__name__ for c in LAYERS)}")
        z = convert(g, z, layer, f"layers.{i}")
    HEADS[net.head](g, z, net, outputs)


def _outputs(onnx: Any, net: Network, elem: int) -> list[Any]:
    """The graph's output declarations: names, element types and shapes (``N`` dynamic)."""
    info, T = onnx.helper.make_tensor_value_info, onnx.TensorProto
    if net.head == "logits":
        return [info("logits", elem, ["N", net.n_outputs])]
    if net.head in ("identity", "exp"):
        return [info("variable", elem, ["N", net.n_outputs])]
    label = T.INT64 if class_labels(net.classes).dtype == np.int64 else T.STRING
    n_columns = net.n_outputs if net.head == "multilabel" else len(net.classes)
    return [info("label", label, ["N", net.n_outputs] if net.head == "multilabel" else ["N"]),
            info("probabilities", elem, ["N", n_columns])]


def to_onnx(model_or_estimator: Any, path: str | os.PathLike, *, opset: int = OPSET) -> Any:
    """Write ``model_or_estimator`` to ``path`` as an ONNX model; return the ``ModelProto``.

    Parameters
    ----------
    model_or_estimator : glassnet.Sequential, or a fitted MLPClassifier or MLPRegressor
        The estimators are read through ``coefs_``, ``intercepts_``, ``activation``,
        ``out_activation_`` and ``classes_``, the fitted attributes scikit-learn's MLPs share.
    path : str or path-like
        The file, written by ``glassnet.io.atomic_write``: it holds the whole old file or
        the whole new one, whatever happens.
    opset : int
        The default-domain opset to declare, from 13 (17 by default).

    Returns
    -------
    onnx.ModelProto
        Input ``"X"`` ``(N, n_inputs)``; outputs ``"logits"`` (a model), ``"label"`` and
        ``"probabilities"`` (a classifier) or ``"variable"`` (a regressor): see the module's
        docstring. float32 or float64, as the parameters.
    """
    onnx = require("onnx", "onnx")
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not (
            MIN_OPSET <= opset <= newest):
        raise ValueError(f"opset must be an int from {MIN_OPSET} to {newest} (the newest this "
                         f"onnx knows), got {opset!r}")
    net = describe(model_or_estimator)
    elem = onnx.helper.np_dtype_to_tensor_dtype(net.dtype)
    g = Graph(onnx, net.dtype)
    outputs = _outputs(onnx, net, elem)
    emit(g, "X", net, {out.name: out.name for out in outputs})
    graph = onnx.helper.make_graph(
        g.nodes, f"glassnet_{type(model_or_estimator).__name__}",
        [onnx.helper.make_tensor_value_info("X", elem, ["N", net.n_inputs])], outputs,
        initializer=g.constants)
    imports = [onnx.helper.make_opsetid("", int(opset))]
    proto = onnx.helper.make_model(graph, opset_imports=imports, producer_name="glassnet",
                                   producer_version=_version())
    proto.ir_version = onnx.helper.find_min_ir_version_for(imports)  # readable by older runtimes
    onnx.checker.check_model(proto)
    atomic_write(path, proto.SerializeToString())
    return proto


def _version() -> str:
    from .. import __version__
    return __version__
