"""What the exports share: importing an optional extra, and the network an object describes.

``describe(obj)`` turns a ``glassnet.Sequential`` or a fitted ``MLPClassifier`` /
``MLPRegressor`` into one ``Network``: its layers (in evaluation mode, so Dropout is the
identity) and its ``head``, how the raw outputs ``z`` become the results. Estimators are read
through the public fitted attributes that scikit-learn's own MLPs also have (``coefs_``,
``intercepts_``, ``activation``, ``out_activation_``, ``classes_``), never their internals.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .._checks import check_dtype, resolve
from ..activations import ACTIVATIONS
from ..layers import Dense, Layer
from ..model import Sequential

__all__ = ["require", "Network", "describe"]


def require(module: str, extra: str) -> ModuleType:
    """Import the optional dependency ``module``, or raise an ImportError naming the extra
    that installs it (the extras are imported only when a function needs them)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"this part of glassnet.interop needs {module}, which is not "
                          f"installed: pip install 'glassnet[{extra}]'") from exc


@dataclass(frozen=True)
class Network:
    """A feed-forward network as an exporter sees it.

    Attributes
    ----------
    layers : list of Layer
        In order; ``Dense`` weights ``W`` are ``(n_in, n_out)``, so ``z = x @ W + b``.
    dtype : numpy dtype
        float32 or float64, the parameters' dtype.
    n_inputs, n_outputs : int
        Widths of the input ``X`` ``(n_samples, n_inputs)`` and of ``z``.
    head : str
        How the raw outputs ``z`` are read: ``'logits'`` (a model: ``z`` itself);
        ``'softmax'``, ``'binary'`` (one logit for two classes) or ``'multilabel'`` (one
        logit per label), a classifier's; ``'identity'`` or ``'exp'`` (poisson), a
        regressor's.
    classes : ndarray or None
        A classifier's ``classes_``.
    """

    layers: list[Layer]
    dtype: np.dtype
    n_inputs: int
    n_outputs: int
    head: str
    classes: np.ndarray | None = None


def describe(obj: Any) -> Network:
    """The ``Network`` of a ``glassnet.Sequential`` or of a fitted MLP estimator."""
    if isinstance(obj, Sequential):
        if obj.n_inputs is None:
            raise ValueError("the model has no Dense layer, so its input width is unknown; "
                             "an export needs at least one")
        return Network(list(obj.layers), obj.dtype, obj.n_inputs, obj.n_outputs, "logits")
    if not hasattr(obj, "get_params") or not hasattr(obj, "fit"):
        raise TypeError(f"expected a glassnet Sequential or a fitted MLPClassifier or "
                        f"MLPRegressor, got {type(obj).__name__}")
    # an estimator: scikit-learn is installed
    from sklearn.utils.validation import check_is_fitted
    check_is_fitted(obj)
    layers = _estimator_layers(obj)
    dense = [layer for layer in layers if isinstance(layer, Dense)]
    n_outputs = dense[-1].n_out
    out = obj.out_activation_
    if hasattr(obj, "classes_"):  # a classifier
        if out == "softmax":
            head = "softmax"
        elif out == "logistic":  # one logit for two classes, else one per label
            head = "binary" if n_outputs == 1 else "multilabel"
        else:
            raise ValueError(f"a classifier with out_activation_={out!r} cannot be exported; "
                             f"expected 'softmax' or 'logistic'")
        classes = np.asarray(obj.classes_)
    else:
        if out not in ("identity", "exp"):
            raise ValueError(f"a regressor with out_activation_={out!r} cannot be exported; "
                             f"expected 'identity' or 'exp' (loss='poisson')")
        head, classes = out, None
    return Network(layers, dense[0].W.dtype, dense[0].n_in, n_outputs, head, classes)


def _estimator_layers(est: Any) -> list[Layer]:
    """Dense, activation, ..., Dense rebuilt from ``coefs_``, ``intercepts_`` and
    ``activation`` (one name, or glassnet's one name per hidden layer). Dropout is left out:
    it is the identity outside training."""
    coefs, intercepts = list(est.coefs_), list(est.intercepts_)
    names = est.activation
    n_hidden = len(coefs) - 1
    names = [names] * n_hidden if isinstance(names, str) else list(names)
    if len(names) != n_hidden:
        raise ValueError(f"activation has {len(names)} entries but the estimator has "
                         f"{n_hidden} hidden layers")
    dtype = check_dtype(np.asarray(coefs[0]).dtype)
    layers: list[Layer] = []
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        # copies: coefs_ may be live views of the estimator's parameters
        layers.append(Dense.from_arrays(np.array(W, dtype=dtype), np.array(b, dtype=dtype)))
        if i < n_hidden:
            layers.append(resolve(names[i], ACTIVATIONS, "activation")())
    return layers
