"""The ``"estimator"`` section of a model file (``kind: "estimator"``): its schema and checks.

A fitted ``MLPClassifier`` or ``MLPRegressor`` is a model file (``format.py``) with one more
JSON section, ``"estimator"``, and two more tensor prefixes::

    "estimator": {"class": "MLPClassifier",               # from ESTIMATOR_NAMES, no import
                  "params": {...},                         # get_params(), strict JSON
                  "fitted": {"n_features_in_": 4, "feature_names_in_": null or [str],
                             "classes_": {"dtype": "int64", "values": null} or
                                         {"dtype": "str", "values": ["a", "b"]},
                             "multilabel": false,      # MLPClassifier; "y_1d" for MLPRegressor
                             "out_activation_": "softmax", "loss_": 0.3 or null,
                             "loss_curve_": [...] or null, "best_loss_": 0.3, "inf" or null,
                             "validation_scores_": [...] or null,
                             "best_validation_score_": 0.9, "-inf" or null,
                             "n_iter_": 5, "t_": 750, "no_improvement_count": 0,
                             "history": {"epochs": [1, ...], "history": {"loss": [...]}}},
                  "optimizer": {"type": "adam", "config": {...}, "t": 20, "lr": 0.001,
                                "slots": ["0.exp_avg", "0.exp_avg_sq"]},
                  "schedule": null or the schedule's state_dict(),
                  "random": {"dropout": [PCG64 state, ...]}}

    tensors: layers.<i>.W/b (the model), optimizer.<i>.<slot> (its state_dict() arrays, in the
             model's dtype), estimator.classes_ (numeric labels, as float64, exactly)

Infinities are the strings ``"inf"`` and ``"-inf"`` (``estimator_json.py``, with the other
values' encodings). ``check_estimator`` checks a section read from a file against this schema
and against the model it holds; ``estimators.py`` writes the section and builds from it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..layers import Dropout
from ..optim import LBFGS, OPTIMIZERS, ScikitLearnAdam
from .estimator_json import check_generator, check_params, check_schedule, inf_in
from .format import DTYPES, Invalid, ModelSpec, _float, _is_int, _keys, show

__all__ = ["ESTIMATOR_NAMES", "LABEL_DTYPES", "STRING_LABELS", "EstimatorSpec",
           "estimator_types", "optimizer_types", "check_estimator"]

ESTIMATOR_NAMES = ("MLPClassifier", "MLPRegressor")
# numeric label dtypes, stored as float64 (checked exact on save); strings go to JSON
LABEL_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float32", "float64")
STRING_LABELS = ("str", "object")


def estimator_types() -> dict[str, type]:
    """The explicit table of estimator classes a file may name (imported here, not at the
    top: ``glassnet.sklearn`` needs scikit-learn, and the model files do not)."""
    from ..sklearn import MLPClassifier, MLPRegressor
    return {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


def optimizer_types() -> dict[str, type]:
    """The optimizer classes a file may name: the registry's, L-BFGS (not a stepper), and
    scikit-learn's Adam (the estimators' ``solver="adam"``)."""
    return {**dict(OPTIMIZERS.items()), "lbfgs": LBFGS, "scikit_learn_adam": ScikitLearnAdam}


@dataclass(frozen=True)
class EstimatorSpec:
    """A checked ``"estimator"`` section: the class, its decoded parameters, the checked
    JSON sections, and ``tensors``, ``{name: (safetensors dtype, shape)}`` beyond the model's."""

    cls: type
    params: dict[str, Any]
    section: dict[str, Any]
    tensors: dict[str, tuple[str, tuple[int, ...]]]


# -- values ---------------------------------------------------------------------------------
def _optional_inf(value: Any, what: str) -> None:
    if value is not None:
        inf_in(value, what)


def _number_list(value: Any, what: str) -> None:
    if value is not None:
        if not isinstance(value, list):
            raise Invalid(f"{what} must be a list of numbers or null")
        for i, v in enumerate(value):
            _float(v, f"{what}[{i}]")


def _count(value: Any, what: str) -> None:
    if not _is_int(value) or value < 0:
        raise Invalid(f"{what} must be an int >= 0, got {show(value)}")


def _check_history(history: Any, what: str) -> None:
    if history is None:
        return
    _keys(history, {"epochs", "history"}, what)
    epochs, curves = history["epochs"], history["history"]
    if not isinstance(epochs, list) or not all(_is_int(e) for e in epochs):
        raise Invalid(f"{what}.epochs must be a list of ints")
    if not isinstance(curves, dict):
        raise Invalid(f"{what}.history must be an object of lists")
    for key, values in curves.items():
        if not isinstance(values, list) or len(values) != len(epochs):
            raise Invalid(f"{what}.history[{show(key)}] must list one number per epoch")
        for v in values:
            inf_in(v, f"{what}.history[{show(key)}]")


# -- fitted attributes ----------------------------------------------------------------------
# The attributes whose check needs nothing but the value: name -> check(value, "fitted.<name>"),
# run in this order. n_features_in_, feature_names_in_ and the output head are checked against
# the model instead (_check_fitted, _HEAD_CHECKS).
_FITTED_CHECKS: dict[str, Callable[[Any, str], None]] = {
    "loss_curve_": _number_list, "validation_scores_": _number_list,
    "loss_": _optional_inf, "best_loss_": _optional_inf, "best_validation_score_": _optional_inf,
    "n_iter_": _count, "t_": _count, "no_improvement_count": _count,
    "history": _check_history,
}
_FITTED = {"n_features_in_", "feature_names_in_", "out_activation_", *_FITTED_CHECKS}
_FITTED_BY_CLASS = {"MLPClassifier": {"classes_", "multilabel"}, "MLPRegressor": {"y_1d"}}


def _check_fitted(name: str, params: dict[str, Any], fitted: Any, n_in: int, n_out: int,
                  tensors: dict) -> None:
    _keys(fitted, _FITTED | _FITTED_BY_CLASS[name], "fitted")
    n_features = fitted["n_features_in_"]
    if not _is_int(n_features) or n_features != n_in:
        raise Invalid(f"fitted.n_features_in_ is {show(n_features)} but the first layer "
                      f"takes {n_in} inputs")
    names = fitted["feature_names_in_"]
    if names is not None and (not isinstance(names, list) or len(names) != n_features
                              or not all(isinstance(n, str) for n in names)):
        raise Invalid(f"fitted.feature_names_in_ must be null or {n_features} strings")
    for key, check in _FITTED_CHECKS.items():
        check(fitted[key], f"fitted.{key}")
    _HEAD_CHECKS[name](params, fitted, n_out, tensors)


def _check_out_activation(out: Any, want: str, because: str) -> None:
    if out != want:
        raise Invalid(f"fitted.out_activation_ must be {want!r} for {because}, got {show(out)}")


def _check_regressor_head(params: dict[str, Any], fitted: dict, n_out: int,
                          tensors: dict) -> None:
    want = "exp" if params["loss"] == "poisson" else "identity"
    _check_out_activation(fitted["out_activation_"], want, f"loss={params['loss']!r}")
    if not isinstance(fitted["y_1d"], bool) or (fitted["y_1d"] and n_out != 1):
        raise Invalid(f"fitted.y_1d must be a bool, and false for {n_out} outputs")


def _check_classifier_head(params: dict[str, Any], fitted: dict, n_out: int,
                           tensors: dict) -> None:
    multilabel = fitted["multilabel"]
    if not isinstance(multilabel, bool):
        raise Invalid(f"fitted.multilabel must be a bool, got {show(multilabel)}")
    values = _check_classes(fitted["classes_"])
    n_classes, want = _classifier_outputs(multilabel, n_out)
    _check_out_activation(fitted["out_activation_"], want, f"{n_out} outputs")
    if values is None:  # numeric labels: their count is the tensor's shape
        tensors["estimator.classes_"] = ("F64", (n_classes,))
    elif len(values) != n_classes:
        raise Invalid(f"fitted.classes_ has {len(values)} labels but the model's {n_out} "
                      f"outputs give {n_classes} classes")


_HEAD_CHECKS = {"MLPClassifier": _check_classifier_head, "MLPRegressor": _check_regressor_head}


def _classifier_outputs(multilabel: bool, n_out: int) -> tuple[int, str]:
    """The classes and output activation of a classifier with ``n_out`` outputs: one logistic
    output per label (multilabel), one for two classes, else one softmax output per class."""
    if multilabel:
        n_classes, want = n_out, "logistic"
    elif n_out == 1:
        n_classes, want = 2, "logistic"
    else:
        n_classes, want = n_out, "softmax"
    if n_classes < 2 or (want == "softmax" and n_classes < 3):
        raise Invalid(f"a classifier with {n_out} outputs is not one glassnet fits")
    return n_classes, want


def _check_classes(classes: Any) -> list[str] | None:
    """``fitted.classes_``: its string labels, or None for numeric ones (in a tensor)."""
    _keys(classes, {"dtype", "values"}, "fitted.classes_")
    dtype, values = classes["dtype"], classes["values"]
    if dtype in LABEL_DTYPES:
        if values is not None:
            raise Invalid("fitted.classes_: numeric labels are the tensor estimator.classes_")
    elif dtype in STRING_LABELS:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise Invalid("fitted.classes_.values must be a list of strings")
        if len(set(values)) != len(values) or values != sorted(values):
            raise Invalid("fitted.classes_.values must be sorted and unique")
    else:
        raise Invalid(f"fitted.classes_.dtype {show(dtype)} is not one of "
                      f"{', '.join(LABEL_DTYPES + STRING_LABELS)}")
    return values


# -- optimizer, generators ------------------------------------------------------------------
def _check_optimizer(section: Any, spec: ModelSpec, tensors: dict) -> None:
    _keys(section, {"type", "config", "t", "lr", "slots"}, "optimizer")
    cls = _optimizer_class(section["type"])
    _check_optimizer_config(cls, section["config"])
    if cls is LBFGS:
        if section["t"] is not None or section["lr"] is not None or section["slots"] != []:
            raise Invalid("optimizer: L-BFGS keeps no state (t, lr null, no slots)")
        return
    _count(section["t"], "optimizer.t")
    if _float(section["lr"], "optimizer.lr") <= 0:
        raise Invalid(f"optimizer.lr must be > 0, got {show(section['lr'])}")
    _check_slots(cls, section["slots"], spec, tensors)


def _optimizer_class(name: Any) -> type:
    types = optimizer_types()
    # the registry also resolves other spellings ("Adam"); a file holds the one written
    if not isinstance(name, str) or name != name.lower() or name not in types:
        raise Invalid(f"optimizer.type {show(name)} is not one of {', '.join(sorted(types))}")
    return types[name]


def _is_config_value(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str)) or (
        isinstance(value, list) and all(type(v) in (int, float) for v in value))


def _check_optimizer_config(cls: type, config: Any) -> None:
    _keys(config, set(inspect.signature(cls.__init__).parameters) - {"self"}, "optimizer.config")
    for key, value in config.items():
        if not _is_config_value(value):
            raise Invalid(f"optimizer.config.{key} must be a number, a bool, a string, null "
                          f"or a list of numbers")
    try:  # the constructor's own checks
        cls(**config)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"optimizer.config: {show(str(exc), 200)[1:-1]}") from None


def _check_slots(cls: type, slots: Any, spec: ModelSpec, tensors: dict) -> None:
    if not isinstance(slots, list) or len(set(map(str, slots))) != len(slots):
        raise Invalid("optimizer.slots must be a list of distinct '<index>.<slot>' names")
    n_params = sum(math.prod(shape) for shape in spec.tensors.values())
    needed = set(cls()._init_state(np.empty(0)))
    found: set[str] = set()
    for key in slots:  # the optimizer steps one flat buffer: index 0, of every parameter
        index, _, slot = key.partition(".") if isinstance(key, str) else (None, "", None)
        if index != "0" or slot not in cls.slots:
            raise Invalid(f"optimizer.slots: {show(key)} is not '0.<slot>' with a slot of "
                          f"{cls.__name__}: {', '.join(cls.slots)}")
        found.add(slot)
        tensors[f"optimizer.{key}"] = (DTYPES[spec.dtype], (n_params,))
    if found and not needed <= found:
        raise Invalid(f"optimizer.slots lacks {sorted(needed - found)}")


def _check_random(random: Any, spec: ModelSpec) -> None:
    _keys(random, {"dropout"}, "random")
    n_dropout = sum(cls is Dropout for _, cls, _ in spec.layers)
    if not isinstance(random["dropout"], list) or len(random["dropout"]) != n_dropout:
        raise Invalid(f"random.dropout must list one generator per Dropout layer ({n_dropout})")
    for i, saved in enumerate(random["dropout"]):
        check_generator(saved, f"random.dropout[{i}]")


# -- the section ----------------------------------------------------------------------------
def _model_widths(params: dict[str, Any], spec: ModelSpec) -> tuple[int, int]:
    """The model's inputs and outputs, once its hidden widths are ``hidden_layer_sizes``."""
    widths = [shape for n, shape in spec.tensors.items() if n.endswith(".W")]
    if not widths:
        raise Invalid("the estimator's model has no dense layer")
    hidden = params["hidden_layer_sizes"]
    hidden = [hidden] if _is_int(hidden) else list(hidden)
    if [w[1] for w in widths[:-1]] != hidden:
        raise Invalid(f"the model's hidden widths {[w[1] for w in widths[:-1]]} are not "
                      f"hidden_layer_sizes {hidden}")
    return widths[0][0], widths[-1][1]


def check_estimator(section: Any, spec: ModelSpec) -> EstimatorSpec:
    """Check the ``"estimator"`` section against the schema and against the model it
    holds (``spec``): widths chain to ``n_features_in_`` and to the classes or outputs."""
    _keys(section, {"class", "params", "fitted", "optimizer", "schedule", "random"},
          "the 'estimator' section")
    name = section["class"]
    if name not in ESTIMATOR_NAMES:
        raise Invalid(f"unknown estimator class {show(name)}; known: "
                      f"{', '.join(ESTIMATOR_NAMES)}")
    cls = estimator_types()[name]
    params = check_params(cls, section["params"])
    if params["dtype"] not in ("auto", spec.dtype):  # 'auto' followed X's: either dtype
        raise Invalid(f"params.dtype is {params['dtype']!r} but the model is {spec.dtype}")
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    n_in, n_out = _model_widths(params, spec)
    _check_fitted(name, params, section["fitted"], n_in, n_out, tensors)
    _check_optimizer(section["optimizer"], spec, tensors)
    check_schedule(params["schedule"], section["schedule"])
    _check_random(section["random"], spec)
    return EstimatorSpec(cls, params, section, tensors)
