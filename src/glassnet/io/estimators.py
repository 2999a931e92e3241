"""Fitted estimators in a model file: ``kind: "estimator"`` (``MLPClassifier``, ``MLPRegressor``).

The file is a model file (``format.py``) with one more JSON section, ``"estimator"``, and two
more tensor prefixes::

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
                  "random": {"estimator": PCG64 state, "dropout": [PCG64 state, ...]}}

    tensors: layers.<i>.W/b (the model), optimizer.<i>.<slot> (its state_dict() arrays, in the
             model's dtype), estimator.classes_ (numeric labels, as float64, exactly)

Strict JSON has no infinity: ``best_loss_`` before any improvement, a schedule's ``best``
and ``n_iter_no_change=np.inf`` are written as the strings ``"inf"`` and ``"-inf"``.
What a file cannot represent is refused by ``save`` with a ValueError that names it: an
optimizer, schedule or RandomState object among the parameters, non-string feature names,
labels that are neither numbers nor strings.
"""

from __future__ import annotations

import copy
import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..init import INITIALISERS
from ..layers import Dropout
from ..optim import LBFGS, OPTIMIZERS, get_optimizer
from ..schedules import get_schedule
from .container import TensorEntry
from .format import DTYPES, Invalid, ModelSpec, _float, _is_int, _keys, show

__all__ = ["ESTIMATOR_NAMES", "estimator_types", "estimator_section", "check_estimator",
           "EstimatorSpec", "build_estimator", "tensor_entries"]

ESTIMATOR_NAMES = ("MLPClassifier", "MLPRegressor")
# numeric label dtypes, stored as float64 (checked exact on save); strings go to JSON
_LABEL_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "float32", "float64")
_STRING_LABELS = ("str", "object")
_FITTED = {"n_features_in_", "feature_names_in_", "out_activation_", "loss_", "loss_curve_",
           "best_loss_", "validation_scores_", "best_validation_score_", "n_iter_", "t_",
           "no_improvement_count", "history"}
_FITTED_BY_CLASS = {"MLPClassifier": {"classes_", "multilabel"}, "MLPRegressor": {"y_1d"}}


def estimator_types() -> dict[str, type]:
    """The explicit table of estimator classes a file may name (imported here, not at the
    top: ``glassnet.sklearn`` needs scikit-learn, and the model files do not)."""
    from ..sklearn import MLPClassifier, MLPRegressor
    return {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


def _optimizer_types() -> dict[str, type]:
    return {**dict(OPTIMIZERS.items()), "lbfgs": LBFGS}


# -- numbers that may be infinite, and generator states ------------------------------------
def _inf_out(value: float) -> float | str:
    value = float(value)
    return ("inf" if value > 0 else "-inf") if math.isinf(value) else value


def _inf_in(value: Any, what: str) -> float:
    if value in ("inf", "-inf"):
        return math.inf if value == "inf" else -math.inf
    return _float(value, what)


def _generator_state(rng: Any, what: str) -> dict[str, Any]:
    if not (isinstance(rng, np.random.Generator)
            and isinstance(rng.bit_generator, np.random.PCG64)):
        raise ValueError(f"cannot save {what}: a file stores numpy's default Generator "
                         f"(PCG64) only, got {type(rng).__name__}")
    state = rng.bit_generator.state
    return {"bit_generator": "PCG64", "state": {"state": int(state["state"]["state"]),
                                                "inc": int(state["state"]["inc"])},
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def _check_generator(saved: Any, what: str) -> dict[str, Any]:
    _keys(saved, {"bit_generator", "state", "has_uint32", "uinteger"}, what)
    if saved["bit_generator"] != "PCG64":
        raise Invalid(f"{what}: bit_generator must be 'PCG64', got {show(saved['bit_generator'])}")
    _keys(saved["state"], {"state", "inc"}, f"{what}'s state")
    for key, value in saved["state"].items():
        if not _is_int(value) or not 0 <= value < 2**128:
            raise Invalid(f"{what}: state.{key} must be an int in [0, 2**128), got {show(value)}")
    if saved["state"]["inc"] % 2 == 0:
        raise Invalid(f"{what}: state.inc must be odd (PCG64's increment)")
    if saved["has_uint32"] not in (0, 1) or not _is_int(saved["has_uint32"]):
        raise Invalid(f"{what}: has_uint32 must be 0 or 1, got {show(saved['has_uint32'])}")
    if not _is_int(saved["uinteger"]) or not 0 <= saved["uinteger"] < 2**32:
        raise Invalid(f"{what}: uinteger must be an int in [0, 2**32), got "
                      f"{show(saved['uinteger'])}")
    return saved


def _generator(saved: dict[str, Any]) -> np.random.Generator:
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = saved
    return rng


# -- parameters -----------------------------------------------------------------------------
def _param_out(name: str, value: Any) -> Any:
    """One ``get_params()`` value as strict JSON; ValueError for what a file cannot hold."""
    if name == "class_weight" and isinstance(value, dict):  # {label: weight} as pairs
        return [[_param_out(name, k), _param_out(name, v)] for k, v in value.items()]
    if name == "n_iter_no_change" and value == math.inf:
        return "inf"
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, (list, tuple)) and name in ("hidden_layer_sizes", "activation"):
        return [_param_out(name, v) for v in value]
    hint = {"optimizer": " (pass the optimizer's name, e.g. 'adam', and the estimator's "
                         "settings instead of an instance)",
            "schedule": " (pass the schedule's name instead of an instance)",
            "random_state": " (pass an int instead of a RandomState)"}.get(name, "")
    raise ValueError(f"cannot save this estimator: its parameter {name}={show(value)} is not "
                     f"a number, a string, a bool or None, which a file holds{hint}")


def _param_in(name: str, value: Any) -> Any:
    """A parameter read from a file as the estimator takes it."""
    what = f"params.{name}"
    if name == "n_iter_no_change" and value == "inf":
        return math.inf
    if isinstance(value, list):
        if name == "class_weight":
            pairs = {}
            for pair in value:
                if (not isinstance(pair, list) or len(pair) != 2
                        or not isinstance(pair[0], (bool, int, float, str))):
                    raise Invalid(f"{what} must be a list of [label, weight] pairs")
                pairs[pair[0]] = _float(pair[1], f"{what}'s weight")
            return pairs
        if name not in ("hidden_layer_sizes", "activation"):
            raise Invalid(f"{what} must not be a list")
        if not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in value):
            raise Invalid(f"{what} must be a list of ints or names")
        return tuple(value) if name == "hidden_layer_sizes" else list(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{what} must be finite")
    if value is not None and not isinstance(value, (bool, int, float, str)):
        raise Invalid(f"{what} must be a number, a string, a bool or null, got {show(value)}")
    return value


def _check_params(cls: type, params: Any) -> dict[str, Any]:
    """The file's parameters: exactly the class's, each checked as ``fit`` checks it."""
    _keys(params, set(cls().get_params()), "params")
    decoded = {name: _param_in(name, value) for name, value in params.items()}
    for name in ("optimizer", "schedule"):
        if decoded[name] is not None and not isinstance(decoded[name], str):
            raise Invalid(f"params.{name} must be a name or null, got {show(decoded[name])}")
    if decoded["dtype"] not in DTYPES:
        raise Invalid(f"params.dtype must be 'float32' or 'float64', got {show(decoded['dtype'])}")
    if decoded["init"] not in INITIALISERS:
        raise Invalid(f"params.init: unknown initialiser {show(decoded['init'])}")
    estimator = cls(**decoded)
    try:  # the estimator's own checks, and the registries' names (no import by name)
        estimator._validate_params()
        if decoded["optimizer"] is not None:
            get_optimizer(decoded["optimizer"])
        if decoded["schedule"] is not None:
            get_schedule(decoded["schedule"])
    except (ValueError, TypeError) as exc:
        raise Invalid(f"params: {show(str(exc), 200)[1:-1]}") from None
    return decoded


# -- writing --------------------------------------------------------------------------------
def estimator_section(estimator: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``"estimator"`` section of a fitted estimator's file and its tensors beyond the
    model's. ValueError (``NotFittedError`` when unfitted) for what a file cannot hold."""
    from sklearn.exceptions import NotFittedError
    name = type(estimator).__name__
    if not hasattr(estimator, "model_") or not hasattr(estimator, "_optimizer"):
        raise NotFittedError(f"cannot save an unfitted {name}: call fit (or partial_fit) "
                             f"first; a file holds a fitted estimator")
    params = {k: _param_out(k, v) for k, v in estimator.get_params(deep=False).items()}
    tensors: dict[str, np.ndarray] = {}
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and not all(isinstance(n, str) for n in names):
        raise ValueError("cannot save this estimator: feature_names_in_ holds non-strings")

    def finite_list(key: str) -> list[float] | None:
        values = getattr(estimator, key, None)
        if values is None:
            return None
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"cannot save this estimator: {key} holds NaN or inf")
        return [float(v) for v in values]

    def number(key: str) -> Any:
        value = getattr(estimator, key, None)
        if value is None:
            return None
        if math.isnan(value):
            raise ValueError(f"cannot save this estimator: {key} is NaN")
        return _inf_out(value)

    history = getattr(estimator, "history_", None)
    fitted = {"n_features_in_": int(estimator.n_features_in_),
              "feature_names_in_": None if names is None else [str(n) for n in names],
              "out_activation_": estimator.out_activation_,
              "loss_": number("loss_"), "loss_curve_": finite_list("loss_curve_"),
              "best_loss_": number("best_loss_"),
              "validation_scores_": finite_list("validation_scores_"),
              "best_validation_score_": number("best_validation_score_"),
              "n_iter_": int(estimator.n_iter_), "t_": int(estimator.t_),
              "no_improvement_count": int(estimator._no_improvement_count),
              "history": None if history is None else {
                  "epochs": [int(e) for e in history.epochs],
                  "history": {k: [_inf_out(v) for v in values]
                              for k, values in history.history.items()}}}
    if name == "MLPClassifier":
        fitted["classes_"] = _classes_out(estimator.classes_, tensors)
        fitted["multilabel"] = bool(estimator._multilabel)
    else:
        fitted["y_1d"] = bool(estimator._y_1d)
    optimizer = estimator._optimizer
    types = {cls: key for key, cls in _optimizer_types().items()}
    if type(optimizer) not in types:
        raise ValueError(f"cannot save this estimator: its optimizer "
                         f"{type(optimizer).__name__} is not one of glassnet's")
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in optimizer.config().items()}
    section_optimizer = {"type": types[type(optimizer)], "config": config,
                         "t": None, "lr": None, "slots": []}
    if not isinstance(optimizer, LBFGS):
        state = optimizer.state_dict()
        section_optimizer["t"], section_optimizer["lr"] = int(state["t"]), float(state["lr"])
        for key, value in state.items():
            if key not in ("t", "lr"):
                tensors[f"optimizer.{key}"] = np.ascontiguousarray(value)
                section_optimizer["slots"].append(key)
    schedule = estimator._schedule
    section = {"class": name, "params": params, "fitted": fitted,
               "optimizer": section_optimizer,
               "schedule": None if schedule is None else {
                   k: _inf_out(v) if isinstance(v, float) else v
                   for k, v in schedule.state_dict().items()},
               "random": {"estimator": _generator_state(estimator._rng, "the estimator's "
                                                        "generator"),
                          "dropout": [_generator_state(layer.rng, "a Dropout layer's generator")
                                      for layer in estimator.model_.layers
                                      if isinstance(layer, Dropout)]}}
    return section, tensors


def _classes_out(classes: np.ndarray, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """``classes_``: numbers as the tensor ``estimator.classes_`` (float64, exactly), strings
    as a JSON list."""
    dtype = classes.dtype.name
    if dtype in _LABEL_DTYPES:
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


# -- checking -------------------------------------------------------------------------------
@dataclass(frozen=True)
class EstimatorSpec:
    """A checked ``"estimator"`` section: the class, its decoded parameters, the checked
    JSON sections, and ``tensors``, ``{name: (safetensors dtype, shape)}`` beyond the model's."""

    cls: type
    params: dict[str, Any]
    section: dict[str, Any]
    tensors: dict[str, tuple[str, tuple[int, ...]]]


def _number_list(value: Any, what: str) -> None:
    if value is not None:
        if not isinstance(value, list):
            raise Invalid(f"{what} must be a list of numbers or null")
        for i, v in enumerate(value):
            _float(v, f"{what}[{i}]")


def _count(value: Any, what: str) -> None:
    if not _is_int(value) or value < 0:
        raise Invalid(f"{what} must be an int >= 0, got {show(value)}")


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
    params = _check_params(cls, section["params"])
    if params["dtype"] != spec.dtype:
        raise Invalid(f"params.dtype is {params['dtype']!r} but the model is {spec.dtype}")
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    widths = [shape for n, shape in spec.tensors.items() if n.endswith(".W")]
    if not widths:
        raise Invalid("the estimator's model has no dense layer")
    n_out = widths[-1][1]
    hidden = params["hidden_layer_sizes"]
    hidden = [hidden] if _is_int(hidden) else list(hidden)
    if [w[1] for w in widths[:-1]] != hidden:
        raise Invalid(f"the model's hidden widths {[w[1] for w in widths[:-1]]} are not "
                      f"hidden_layer_sizes {hidden}")
    _check_fitted(name, params, section["fitted"], widths[0][0], n_out, tensors)
    _check_optimizer(section["optimizer"], spec, tensors)
    _check_schedule(params, section["schedule"])
    random = section["random"]
    _keys(random, {"estimator", "dropout"}, "random")
    _check_generator(random["estimator"], "random.estimator")
    n_dropout = sum(cls is Dropout for _, cls, _ in spec.layers)
    if not isinstance(random["dropout"], list) or len(random["dropout"]) != n_dropout:
        raise Invalid(f"random.dropout must list one generator per Dropout layer ({n_dropout})")
    for i, saved in enumerate(random["dropout"]):
        _check_generator(saved, f"random.dropout[{i}]")
    return EstimatorSpec(cls, params, section, tensors)


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
    for key in ("loss_curve_", "validation_scores_"):
        _number_list(fitted[key], f"fitted.{key}")
    for key in ("loss_", "best_loss_", "best_validation_score_"):
        if fitted[key] is not None:
            _inf_in(fitted[key], f"fitted.{key}")
    for key in ("n_iter_", "t_", "no_improvement_count"):
        _count(fitted[key], f"fitted.{key}")
    history = fitted["history"]
    if history is not None:
        _keys(history, {"epochs", "history"}, "fitted.history")
        if not isinstance(history["epochs"], list) or not all(_is_int(e) for e in
                                                                history["epochs"]):
            raise Invalid("fitted.history.epochs must be a list of ints")
        if not isinstance(history["history"], dict):
            raise Invalid("fitted.history.history must be an object of lists")
        for key, values in history["history"].items():
            if not isinstance(values, list) or len(values) != len(history["epochs"]):
                raise Invalid(f"fitted.history.history[{show(key)}] must list one number "
                              f"per epoch")
            for v in values:
                _inf_in(v, f"fitted.history.history[{show(key)}]")
    out = fitted["out_activation_"]
    if name == "MLPRegressor":
        want = "exp" if params["loss"] == "poisson" else "identity"
        if out != want:
            raise Invalid(f"fitted.out_activation_ must be {want!r} for loss="
                          f"{params['loss']!r}, got {show(out)}")
        if not isinstance(fitted["y_1d"], bool) or (fitted["y_1d"] and n_out != 1):
            raise Invalid(f"fitted.y_1d must be a bool, and false for {n_out} outputs")
        return
    multilabel, classes = fitted["multilabel"], fitted["classes_"]
    if not isinstance(multilabel, bool):
        raise Invalid(f"fitted.multilabel must be a bool, got {show(multilabel)}")
    _keys(classes, {"dtype", "values"}, "fitted.classes_")
    dtype, values = classes["dtype"], classes["values"]
    if dtype in _LABEL_DTYPES:
        if values is not None:
            raise Invalid("fitted.classes_: numeric labels are the tensor estimator.classes_")
        # the count is the tensor's shape: found from the outputs below, checked with the header
    elif dtype in _STRING_LABELS:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise Invalid("fitted.classes_.values must be a list of strings")
        if len(set(values)) != len(values) or values != sorted(values):
            raise Invalid("fitted.classes_.values must be sorted and unique")
    else:
        raise Invalid(f"fitted.classes_.dtype {show(dtype)} is not one of "
                      f"{', '.join(_LABEL_DTYPES + _STRING_LABELS)}")
    if multilabel:
        n_classes, want = n_out, "logistic"
    elif n_out == 1:
        n_classes, want = 2, "logistic"
    else:
        n_classes, want = n_out, "softmax"
    if n_classes < 2 or (want == "softmax" and n_classes < 3):
        raise Invalid(f"a classifier with {n_out} outputs is not one glassnet fits")
    if out != want:
        raise Invalid(f"fitted.out_activation_ must be {want!r} for {n_out} outputs, "
                      f"got {show(out)}")
    if values is not None and len(values) != n_classes:
        raise Invalid(f"fitted.classes_ has {len(values)} labels but the model's {n_out} "
                      f"outputs give {n_classes} classes")
    if values is None:
        tensors["estimator.classes_"] = ("F64", (n_classes,))


def _check_optimizer(section: Any, spec: ModelSpec, tensors: dict) -> None:
    _keys(section, {"type", "config", "t", "lr", "slots"}, "optimizer")
    name = section["type"]
    types = _optimizer_types()
    if not isinstance(name, str) or name not in types or types[name] is not types.get(
            name.lower()) or name != name.lower():
        raise Invalid(f"optimizer.type {show(name)} is not one of {', '.join(sorted(types))}")
    cls = types[name]
    config = section["config"]
    wanted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    _keys(config, wanted, "optimizer.config")
    for key, value in config.items():
        if not (value is None or isinstance(value, (bool, int, float, str)) or (
                isinstance(value, list) and all(type(v) in (int, float) for v in value))):
            raise Invalid(f"optimizer.config.{key} must be a number, a bool, a string, null "
                          f"or a list of numbers")
    try:  # the constructor's own checks
        cls(**config)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"optimizer.config: {show(str(exc), 200)[1:-1]}") from None
    if cls is LBFGS:
        if section["t"] is not None or section["lr"] is not None or section["slots"] != []:
            raise Invalid("optimizer: L-BFGS keeps no state (t, lr null, no slots)")
        return
    _count(section["t"], "optimizer.t")
    if _float(section["lr"], "optimizer.lr") <= 0:
        raise Invalid(f"optimizer.lr must be > 0, got {show(section['lr'])}")
    slots = section["slots"]
    if not isinstance(slots, list) or len(set(map(str, slots))) != len(slots):
        raise Invalid("optimizer.slots must be a list of distinct '<index>.<slot>' names")
    n_params = sum(math.prod(shape) for shape in spec.tensors.values())
    needed = set(cls()._init_state(np.empty(0)))
    found: set[str] = set()
    for key in slots:  # the optimizer steps one flat buffer: index 0, of every parameter
        if not isinstance(key, str) or key.partition(".")[0] != "0" or \
                key.partition(".")[2] not in cls.slots:
            raise Invalid(f"optimizer.slots: {show(key)} is not '0.<slot>' with a slot of "
                          f"{cls.__name__}: {', '.join(cls.slots)}")
        found.add(key.partition(".")[2])
        tensors[f"optimizer.{key}"] = (DTYPES[spec.dtype], (n_params,))
    if found and not needed <= found:
        raise Invalid(f"optimizer.slots lacks {sorted(needed - found)}")


def _check_schedule(params: dict[str, Any], state: Any) -> None:
    if params["schedule"] is None:
        if state is not None:
            raise Invalid("the file holds a schedule's state but params.schedule is null")
        return
    if not isinstance(state, dict):
        raise Invalid("schedule must be the schedule's state (an object)")
    for key, value in state.items():
        if isinstance(value, str) and value in ("inf", "-inf"):
            continue
        if not isinstance(value, (bool, int, float, str)):
            raise Invalid(f"schedule.{key} must be a number, a bool or a string")
    _schedule(params["schedule"], state)


def _schedule(name: str, state: dict[str, Any]) -> Any:
    schedule = copy.deepcopy(get_schedule(name))
    decoded = {k: _inf_in(v, f"schedule.{k}") if v in ("inf", "-inf") else v
               for k, v in state.items()}
    try:
        schedule.load_state_dict(decoded)
    except (ValueError, TypeError, KeyError) as exc:
        raise Invalid(f"schedule: {show(str(exc), 200)[1:-1]}") from None
    return schedule


# -- building -------------------------------------------------------------------------------
def build_estimator(espec: EstimatorSpec, model: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The estimator ``espec`` describes, around ``model``; every input is checked already."""
    section, fitted = espec.section, espec.section["fitted"]
    estimator = espec.cls(**espec.params)
    estimator.model_ = model
    estimator.n_features_in_ = fitted["n_features_in_"]
    if fitted["feature_names_in_"] is not None:
        estimator.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    estimator.out_activation_ = fitted["out_activation_"]
    for key in ("loss_", "best_loss_", "best_validation_score_"):
        value = fitted[key]
        if key != "loss_" or value is not None:
            setattr(estimator, key, None if value is None else _inf_in(value, key))
    for key in ("loss_curve_", "validation_scores_"):
        setattr(estimator, key, None if fitted[key] is None else [float(v) for v in fitted[key]])
    estimator.n_iter_, estimator.t_ = fitted["n_iter_"], fitted["t_"]
    estimator._no_improvement_count = fitted["no_improvement_count"]
    if fitted["history"] is not None:
        from ..history import History
        history = History()
        history.epochs = list(fitted["history"]["epochs"])
        history.history = {k: [_inf_in(v, k) for v in values]
                           for k, values in fitted["history"]["history"].items()}
        estimator.history_ = history
    if espec.cls.__name__ == "MLPClassifier":
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
    else:
        estimator._y_1d = fitted["y_1d"]
        estimator._loss_name = "poisson_sum" if estimator.loss == "poisson" else estimator.loss
    opt = section["optimizer"]
    optimizer = _optimizer_types()[opt["type"]](**opt["config"])
    if not isinstance(optimizer, LBFGS):
        optimizer.load_state_dict({"t": opt["t"], "lr": opt["lr"],
                                   **{key: arrays[f"optimizer.{key}"].copy()
                                      for key in opt["slots"]}})
    estimator._optimizer = optimizer
    estimator._schedule = (None if section["schedule"] is None
                           else _schedule(espec.params["schedule"], section["schedule"]))
    estimator._rng = _generator(section["random"]["estimator"])
    dropouts = [layer for layer in model.layers if isinstance(layer, Dropout)]
    for layer, saved in zip(dropouts, section["random"]["dropout"]):
        layer.rng = _generator(saved)
    return estimator


def tensor_entries(tensors: dict[str, np.ndarray]) -> dict[str, TensorEntry]:
    """Header entries for arrays about to be written: ``save`` checks them as ``load`` will."""
    codes = {np.dtype("float32"): "F32", np.dtype("float64"): "F64"}
    return {name: TensorEntry(codes.get(a.dtype, str(a.dtype)), a.shape, 0, 0)
            for name, a in tensors.items()}
