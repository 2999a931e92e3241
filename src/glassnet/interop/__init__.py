"""Interop: glassnet models to and from PyTorch, and to ONNX (alone or inside a scikit-learn
Pipeline through skl2onnx).

* ``to_torch(model)`` -> ``torch.nn.Sequential``; ``from_torch(sequential)`` -> ``Sequential``:
  exact copies of the parameters both ways (``torch.py`` has the layer table).
* ``to_onnx(model_or_estimator, path)``: a model's logits, or a fitted ``MLPClassifier``'s
  ``label`` and ``probabilities``, or an ``MLPRegressor``'s ``variable``, as one ONNX file
  (``onnx.py``; opset 17 by default).
* ``register_skl2onnx()``: teaches skl2onnx to convert the estimators, so
  ``skl2onnx.to_onnx(pipeline, X[:1])`` exports a Pipeline that holds one (``skl2onnx.py``).
  Call it once: importing ``glassnet.interop`` does not register, since that would import
  skl2onnx, scikit-learn and onnx for every user of the module.

  onnx.py      the graph, one small function per layer, the estimators' heads, to_onnx
  skl2onnx.py  shape calculators and the converter, registered by register_skl2onnx()
  torch.py     the glassnet <-> torch.nn layer tables
  _common.py   importing the extras; a model or fitted estimator as layers and a head

The extras are imported only when a function needs them: ``pip install 'glassnet[torch]'``
for PyTorch, ``pip install 'glassnet[onnx]'`` for onnx and skl2onnx; a missing one raises an
ImportError that names its extra. ONNX Runtime (to run the files) is not needed to write them.
"""

from .onnx import OPSET, to_onnx
from .skl2onnx import register_skl2onnx
from .torch import from_torch, to_torch

__all__ = ["to_torch", "from_torch", "to_onnx", "register_skl2onnx", "OPSET"]
