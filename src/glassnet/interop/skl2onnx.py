"""skl2onnx: a converter for ``MLPClassifier`` and ``MLPRegressor``, so that
``skl2onnx.to_onnx(pipeline, X[:1])`` exports a scikit-learn Pipeline that holds one.

Call ``glassnet.interop.register_skl2onnx()`` once before converting (registration imports
skl2onnx, scikit-learn and onnx, so ``import glassnet.interop`` does not do it for you):

>>> import glassnet.interop, skl2onnx                                    # doctest: +SKIP
>>> glassnet.interop.register_skl2onnx()                                 # doctest: +SKIP
>>> onx = skl2onnx.to_onnx(make_pipeline(StandardScaler(), clf), X[:1].astype(np.float32),
...                        options={glassnet.MLPClassifier: {"zipmap": False}})  # doctest: +SKIP

The converter emits the very nodes of ``glassnet.interop.to_onnx`` into skl2onnx's
container, in the dtype of the data that reaches the estimator (float32 or float64; other
inputs are cast to float32). A classifier's outputs follow skl2onnx's classifiers: ``label``
``(N,)`` and ``probabilities`` ``(N, n_classes)``, which skl2onnx then zips into a list of
dicts unless the option ``zipmap`` is False; a regressor's is ``variable`` ``(N, n_outputs)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import describe, require
from .onnx import MIN_OPSET, Graph, class_labels, emit

__all__ = ["register_skl2onnx"]


def _tensor_type(operator: Any) -> Any:
    """skl2onnx's type for the estimator's float outputs: double for double input, else
    float (other inputs are cast to float32 first)."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    return DoubleTensorType if double else FloatTensorType


def _classifier_shapes(operator: Any) -> None:
    """Outputs ``label`` ``(N,)`` (``(N, n_labels)`` multilabel), ``probabilities``."""
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType
    net = describe(operator.raw_operator)
    n = operator.inputs[0].get_first_dimension()
    label_type = (Int64TensorType if class_labels(net.classes).dtype == np.int64
                  else StringTensorType)
    if net.head == "multilabel":
        operator.outputs[0].type = label_type([n, net.n_outputs])
        operator.outputs[1].type = _tensor_type(operator)([n, net.n_outputs])
    else:
        operator.outputs[0].type = label_type([n])
        operator.outputs[1].type = _tensor_type(operator)([n, len(net.classes)])


def _regressor_shapes(operator: Any) -> None:
    """Output ``variable`` ``(N, n_outputs)``."""
    net = describe(operator.raw_operator)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _tensor_type(operator)([n, net.n_outputs])


def _convert(scope: Any, operator: Any, container: Any) -> None:
    """Emit the estimator's nodes (``glassnet.interop.onnx.emit``) into ``container``."""
    onnx = require("onnx", "onnx")
    if container.target_opset < MIN_OPSET:
        raise ValueError(f"glassnet's estimators export to opset {MIN_OPSET} or later, "
                         f"target_opset is {container.target_opset}")
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    net = describe(operator.raw_operator)
    x, x_type = operator.inputs[0].full_name, operator.inputs[0].type
    dtype = np.float64 if isinstance(x_type, DoubleTensorType) else np.float32
    g = Graph(onnx, dtype, scope.get_unique_variable_name, scope.get_unique_operator_name)
    if not isinstance(x_type, (FloatTensorType, DoubleTensorType)):  # int64, bool, ...
        x = g.op("Cast", x, to=onnx.TensorProto.FLOAT, hint="X_float")
    names = [out.full_name for out in operator.outputs]
    keys = ["label", "probabilities"] if net.classes is not None else ["variable"]
    emit(g, x, net, dict(zip(keys, names)))
    for tensor in g.constants:
        content = tensor  # numbers travel as raw bytes, strings as their list
        if tensor.data_type == onnx.TensorProto.STRING:
            content = list(tensor.string_data)
        container.add_initializer(tensor.name, tensor.data_type, list(tensor.dims), content)
    for node in g.nodes:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, list(node.input), list(node.output), name=node.name,
                           **attrs)


def register_skl2onnx() -> None:
    """Register the converter of ``MLPClassifier`` and ``MLPRegressor`` with skl2onnx.

    Idempotent. The classifier takes skl2onnx's ``zipmap`` option (True, False or
    'columns'), as its own classifiers do; ``nocl`` (class indices for labels) only False.

    Raises
    ------
    ImportError
        Naming the extra, ``pip install 'glassnet[onnx]'``, when skl2onnx is missing.
    """
    skl2onnx = require("skl2onnx", "onnx")
    from ..sklearn import MLPClassifier, MLPRegressor
    skl2onnx.update_registered_converter(
        MLPClassifier, "GlassnetMLPClassifier", _classifier_shapes, _convert,
        options={"zipmap": [True, False, "columns"], "nocl": [False]})
    skl2onnx.update_registered_converter(
        MLPRegressor, "GlassnetMLPRegressor", _regressor_shapes, _convert)
