"""A fitted estimator (``MLPClassifier``, ``MLPRegressor``) to and from its file's section.

``estimator_section`` collects the ``"estimator"`` section (schema: ``estimator_format.py``)
and the tensors beyond the model's from a fitted estimator; ``build_estimator`` makes the
estimator again from a section that ``check_estimator`` has checked. Each fitted attribute is
written and read back in the same order, so the two functions read side by side.

What a file cannot represent is refused by ``save`` with a ValueError that names it: an
optimizer, schedule or RandomState object among the parameters, non-string feature names,
labels that are neither numbers nor strings.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..layers import Dropout
from ..optim import LBFGS
from .container import TensorEntry
from .estimator_format import LABEL_DTYPES, EstimatorSpec, optimizer_types
from .estimator_json import (
    generator,
    generator_state,
    inf_in,
    inf_out,
    load_schedule,
    param_out,
    schedule_out,
)

__all__ = ["estimator_section", "build_estimator", "tensor_entries"]


# -- writing --------------------------------------------------------------------------------
def estimator_section(estimator: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``"estimator"`` section of a fitted estimator's file and its tensors beyond the
    model's. ValueError (``NotFittedError`` when unfitted) for what a file cannot hold."""
    from sklearn.exceptions import NotFittedError
    name = type(estimator).__name__
    if not hasattr(estimator, "model_") or not hasattr(estimator, "_optimizer"):
        raise NotFittedError(f"cannot save an unfitted {name}: call fit (or partial_fit) "
                             f"first; a file holds a fitted estimator")
    params = {k: param_out(k, v) for k, v in estimator.get_params(deep=False).items()}
    tensors: dict[str, np.ndarray] = {}
    fitted = {**_fitted_out(estimator), **_HEAD_OUT[name](estimator, tensors)}
    section = {"class": name, "params": params, "fitted": fitted,
               "optimizer": _optimizer_out(estimator._optimizer, tensors),
               "schedule": (None if estimator._schedule is None
                            else schedule_out(estimator._schedule)),
               "random": {"dropout": [generator_state(layer.rng, "a Dropout layer's generator")
                                      for layer in _dropouts(estimator.model_)]}}
    return section, tensors


def _finite_list(estimator: Any, key: str) -> list[float] | None:
    values = getattr(estimator, key, None)
    if values is None:
        return None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"cannot save this estimator: {key} holds NaN or inf")
    return [float(v) for v in values]


def _number_out(estimator: Any, key: str) -> float | str | None:
    value = getattr(estimator, key, None)
    if value is None:
        return None
    if math.isnan(value):
        raise ValueError(f"cannot save this estimator: {key} is NaN")
    return inf_out(value)


def _fitted_out(estimator: Any) -> dict[str, Any]:
    """The fitted attributes both estimators have."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and not all(isinstance(n, str) for n in names):
        raise ValueError("cannot save this estimator: feature_names_in_ holds non-strings")
    history = getattr(estimator, "history_", None)
    return {"n_features_in_": int(estimator.n_features_in_),
            "feature_names_in_": None if names is None else [str(n) for n in names],
            "out_activation_": estimator.out_activation_,
            "loss_": _number_out(estimator, "loss_"),
            "loss_curve_": _finite_list(estimator, "loss_curve_"),
            "best_loss_": _number_out(estimator, "best_loss_"),
            "validation_scores_": _finite_list(estimator, "validation_scores_"),
            "best_validation_score_": _number_out(estimator, "best_validation_score_"),
            "n_iter_": int(estimator.n_iter_), "t_": int(estimator.t_),
            "no_improvement_count": int(estimator._no_improvement_count),
            "history": None if history is None else {
                "epochs": [int(e) for e in history.epochs],
                "history": {k: [inf_out(v) for v in values]
                            for k, values in history.history.items()}}}


def _classifier_out(estimator: Any, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    return {"classes_": _classes_out(estimator.classes_, tensors),
            "multilabel": bool(estimator._multilabel)}


def _regressor_out(estimator: Any, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    return {"y_1d": bool(estimator._y_1d)}


# the fitted attributes of one estimator class only (its output head)
_HEAD_OUT = {"MLPClassifier": _classifier_out, "MLPRegressor": _regressor_out}


def _classes_out(classes: np.ndarray, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """``classes_``: numbers as the tensor ``estimator.classes_`` (float64, exactly), strings
    as a JSON list."""
    dtype = classes.dtype.name
    if dtype in LABEL_DTYPES:
        as_float = classes.astype(np.float64)
        if not np.array_equal(as_float.astype(classes.dtype), classes) or not np.isfinite(
                as_float).all():
            raise ValueError("cannot save this estimator: its classes_ are not exactly "
                             "representable as float64 (integers beyond 2**53?)")
        tensors["estimator.classes_"] = as_float
        return {"dtype": dtype, "values": None}
    if classes.dtype.kind in "UO" and all(isinstance(c, str) for c in classes):
        return {"dtype": "str" if classes.dtype.kind == "U" else "object",
                "values": [str(c) for c in classes]}
    raise ValueError(f"cannot save this estimator: its classes_ ({classes.dtype}) are neither "
                     f"numbers nor strings")


def _optimizer_out(optimizer: Any, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """The optimizer's name, configuration and state; its state's arrays go to ``tensors``."""
    types = {cls: key for key, cls in optimizer_types().items()}
    if type(optimizer) not in types:
        raise ValueError(f"cannot save this estimator: its optimizer "
                         f"{type(optimizer).__name__} is not one of glassnet's")
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in optimizer.config().items()}
    section = {"type": types[type(optimizer)], "config": config, "t": None, "lr": None,
               "slots": []}
    if isinstance(optimizer, LBFGS):  # L-BFGS keeps no state between fits
        return section
    state = optimizer.state_dict()
    section["t"], section["lr"] = int(state["t"]), float(state["lr"])
    for key, value in state.items():
        if key not in ("t", "lr"):
            tensors[f"optimizer.{key}"] = np.ascontiguousarray(value)
            section["slots"].append(key)
    return section


def _dropouts(model: Any) -> list[Dropout]:
    return [layer for layer in model.layers if isinstance(layer, Dropout)]


def tensor_entries(tensors: dict[str, np.ndarray]) -> dict[str, TensorEntry]:
    """Header entries for arrays about to be written: ``save`` checks them as ``load`` will."""
    codes = {np.dtype("float32"): "F32", np.dtype("float64"): "F64"}
    return {name: TensorEntry(codes.get(a.dtype, str(a.dtype)), a.shape, 0, 0)
            for name, a in tensors.items()}


# -- building -------------------------------------------------------------------------------
def build_estimator(espec: EstimatorSpec, model: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The estimator ``espec`` describes, around ``model``; every input is checked already."""
    section, fitted = espec.section, espec.section["fitted"]
    estimator = espec.cls(**espec.params)
    estimator.model_ = model
    _fitted_in(estimator, fitted)
    _HEAD_IN[espec.cls.__name__](estimator, fitted, arrays)
    estimator._optimizer = _optimizer_in(section["optimizer"], arrays)
    estimator._schedule = (None if section["schedule"] is None
                           else load_schedule(espec.params["schedule"], section["schedule"]))
    for layer, saved in zip(_dropouts(model), section["random"]["dropout"]):
        layer.rng = generator(saved)
    return estimator


def _fitted_in(estimator: Any, fitted: dict[str, Any]) -> None:
    """Set the fitted attributes both estimators have."""
    estimator.n_features_in_ = fitted["n_features_in_"]
    if fitted["feature_names_in_"] is not None:
        estimator.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    estimator.out_activation_ = fitted["out_activation_"]
    for key in ("loss_", "best_loss_", "best_validation_score_"):
        value = fitted[key]
        if key != "loss_" or value is not None:  # no recorded loss: no loss_, as after fit
            setattr(estimator, key, None if value is None else inf_in(value, key))
    for key in ("loss_curve_", "validation_scores_"):
        setattr(estimator, key, None if fitted[key] is None else [float(v) for v in fitted[key]])
    estimator.n_iter_, estimator.t_ = fitted["n_iter_"], fitted["t_"]
    estimator._no_improvement_count = fitted["no_improvement_count"]
    if fitted["history"] is not None:
        estimator.history_ = _history_in(fitted["history"])


def _history_in(saved: dict[str, Any]) -> Any:
    from ..history import History
    history = History()
    history.epochs = list(saved["epochs"])
    history.history = {k: [inf_in(v, k) for v in values] for k, values in saved["history"].items()}
    return history


def _classifier_in(estimator: Any, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    classes = fitted["classes_"]
    if classes["values"] is None:
        estimator.classes_ = arrays["estimator.classes_"].astype(classes["dtype"])
    else:
        estimator.classes_ = np.array(classes["values"],
                                      dtype=object if classes["dtype"] == "object" else str)
    estimator._multilabel = fitted["multilabel"]
    estimator._loss_name = ("binary_cross_entropy_sum" if estimator._multilabel else
                            "binary_cross_entropy" if estimator.out_activation_ == "logistic"
                            else "cross_entropy")


def _regressor_in(estimator: Any, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    estimator._y_1d = fitted["y_1d"]
    estimator._loss_name = "poisson_sum" if estimator.loss == "poisson" else estimator.loss


_HEAD_IN = {"MLPClassifier": _classifier_in, "MLPRegressor": _regressor_in}


def _optimizer_in(saved: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    optimizer = optimizer_types()[saved["type"]](**saved["config"])
    if not isinstance(optimizer, LBFGS):
        optimizer.load_state_dict({"t": saved["t"], "lr": saved["lr"],
                                   **{key: arrays[f"optimizer.{key}"].copy()
                                      for key in saved["slots"]}})
    return optimizer
