"""Seeing inside: learning curves, decision boundaries, the network diagram and per-layer
statistics, drawn with matplotlib (the optional extra ``pip install 'glassnet[plot]'``).

Reach it as ``from glassnet import plot`` (or ``import glassnet.plot``): plain ``import
glassnet`` never imports matplotlib.

Every function draws on the Axes ``ax`` it is given, or on a new figure made with pyplot when
``ax`` is None (so a notebook displays it), and returns what it drew on: the Axes, or for the
multi-panel functions the array of Axes or the Figure. Nothing here calls ``plt.show()`` or
changes matplotlib's backend, so every function works headless (e.g. under ``Agg``).

Where things are:
  _common.py     the Axes of a call, predictions from a model or an estimator, class colours
  curves.py      learning_curves, layer_stats
  boundary.py    boundary_grid, decision_boundary, boundary_animation (an animated GIF)
  diagram.py     network: the network drawn as TensorFlow Playground draws it
  evaluation.py  confusion_matrix, predicted_vs_true (scikit-learn's displays)
"""

try:
    import matplotlib  # noqa: F401
except ImportError as error:  # the extra is optional: say how to get it
    raise ImportError("glassnet.plot needs matplotlib, which is not installed: "
                      "pip install 'glassnet[plot]'") from error

from .boundary import boundary_animation, boundary_grid, decision_boundary
from .curves import layer_stats, learning_curves
from .diagram import NEGATIVE_COLOR, POSITIVE_COLOR, network
from .evaluation import confusion_matrix, predicted_vs_true

__all__ = ["learning_curves", "layer_stats", "boundary_grid", "decision_boundary",
           "boundary_animation", "network", "POSITIVE_COLOR", "NEGATIVE_COLOR",
           "confusion_matrix", "predicted_vs_true"]
