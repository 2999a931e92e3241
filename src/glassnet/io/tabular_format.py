"""A ``TabularModel`` in a model file (kind ``"tabular"``): the ``"tabular"`` section.

::

    "tabular": {"features": [{"name": "age", "type": "numeric", "mean": 38.6, "scale": 13.6},
                             {"name": "colour", "type": "categorical",
                              "categories": ["blue", "red"]}],
                "target": {"name": "species", "task": "classification",
                           "classes": ["setosa", "versicolor", "virginica"]},
                "history": {"epochs": [1, 2], "history": {"loss": [0.9, 0.7]}}}

A regression target is ``{"name", "task": "regression", "mean", "scale"}``; ``history`` may be
null. The checks: every key against this schema; names unique and text; scales finite and
positive; categories and classes unique (classes all text or all numbers, two or more); the
features' total width equal to the network's input width, the classes' count to its output
width (1 for regression). There are no tensors beyond the model's.
"""

from __future__ import annotations

from typing import Any

from .estimator_format import _check_history
from .estimator_json import inf_out
from .format import Invalid, ModelSpec, _float, _is_int, _keys, show

__all__ = ["tabular_section", "check_tabular", "build_tabular"]

_MAX_TEXT = 10_000  # a name, category or class longer than this is not from glassnet train


def tabular_section(obj: Any) -> dict[str, Any]:
    """The section that describes ``obj`` (a TabularModel)."""
    history = obj.history
    return {"features": [feature.to_json() for feature in obj.encoder.features],
            "target": obj.target.to_json(),
            "history": None if history is None else {
                "epochs": [int(e) for e in history.epochs],
                "history": {k: [inf_out(v) for v in values]
                            for k, values in history.history.items()}}}


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise Invalid(f"{what} must be a string of at most {_MAX_TEXT} characters, got "
                      f"{show(value)}")
    return value


def _unique(values: list, what: str) -> None:
    if len(set(values)) != len(values):
        raise Invalid(f"{what} must not repeat a value")


def _scale(value: Any, what: str) -> float:
    scale = _float(value, what)
    if not scale > 0:
        raise Invalid(f"{what} must be positive, got {show(value)}")
    return scale


def _check_feature(feature: Any, what: str) -> int:
    """Check one feature; return its width."""
    if not isinstance(feature, dict) or feature.get("type") not in ("numeric", "categorical"):
        raise Invalid(f"{what} must be an object whose type is 'numeric' or 'categorical'")
    if feature["type"] == "numeric":
        _keys(feature, {"name", "type", "mean", "scale"}, what)
        _text(feature["name"], f"{what}.name")
        _float(feature["mean"], f"{what}.mean")
        _scale(feature["scale"], f"{what}.scale")
        return 1
    _keys(feature, {"name", "type", "categories"}, what)
    _text(feature["name"], f"{what}.name")
    categories = feature["categories"]
    if not isinstance(categories, list) or not categories:
        raise Invalid(f"{what}.categories must be a non-empty list")
    for i, category in enumerate(categories):
        _text(category, f"{what}.categories[{i}]")
    _unique(categories, f"{what}.categories")
    return len(categories)


def _check_target(target: Any, n_out: int) -> None:
    if not isinstance(target, dict) or target.get("task") not in ("classification", "regression"):
        raise Invalid("tabular.target must be an object whose task is 'classification' or "
                      "'regression'")
    if target["task"] == "regression":
        _keys(target, {"name", "task", "mean", "scale"}, "tabular.target")
        _float(target["mean"], "tabular.target.mean")
        _scale(target["scale"], "tabular.target.scale")
        want = 1
    else:
        _keys(target, {"name", "task", "classes"}, "tabular.target")
        classes = target["classes"]
        if not isinstance(classes, list) or len(classes) < 2:
            raise Invalid("tabular.target.classes must be a list of two or more classes")
        if all(isinstance(c, str) for c in classes):
            for i, label in enumerate(classes):
                _text(label, f"tabular.target.classes[{i}]")
        else:
            for i, label in enumerate(classes):
                if not (_is_int(label) or type(label) is float):
                    raise Invalid(f"tabular.target.classes[{i}] must be, as the others, a "
                                  f"number, got {show(label)}")
                _float(label, f"tabular.target.classes[{i}]")
        _unique(classes, "tabular.target.classes")
        want = len(classes)
    _text(target["name"], "tabular.target.name")
    if want != n_out:
        raise Invalid(f"tabular.target has {want} output(s) but the model gives {n_out}")


def check_tabular(section: Any, spec: ModelSpec) -> None:
    """Check the section against the schema and the model ``spec``; raise ``Invalid``."""
    _keys(section, {"features", "target", "history"}, "the 'tabular' section")
    features = section["features"]
    if not isinstance(features, list) or not features:
        raise Invalid("tabular.features must be a non-empty list")
    width = sum(_check_feature(f, f"tabular.features[{i}]") for i, f in enumerate(features))
    names = [f["name"] for f in features]
    _unique(names, "tabular.features' names")
    denses = [shape for name, shape in spec.tensors.items() if name.endswith(".W")]
    if not denses:
        raise Invalid("a tabular model needs at least one dense layer")
    n_in, n_out = denses[0][0], denses[-1][1]
    if width != n_in:
        raise Invalid(f"tabular.features make {width} input column(s) but the model takes "
                      f"{n_in}")
    _check_target(section["target"], n_out)
    if section["target"]["name"] in names:
        raise Invalid("tabular.target.name is also a feature's name")
    _check_history(section["history"], "tabular.history")


def build_tabular(section: dict[str, Any], model: Any) -> Any:
    """The TabularModel of a checked section around the built ``model``."""
    from ..tabular import Feature, TabularEncoder, TabularModel, Target
    from .estimators import _history_in
    features = [Feature(f["name"], "numeric", float(f["mean"]), float(f["scale"]))
                if f["type"] == "numeric" else
                Feature(f["name"], "categorical", categories=tuple(f["categories"]))
                for f in section["features"]]
    target = section["target"]
    target = (Target(target["name"], "regression", mean=float(target["mean"]),
                     scale=float(target["scale"])) if target["task"] == "regression" else
              Target(target["name"], "classification", classes=tuple(target["classes"])))
    history = None if section["history"] is None else _history_in(section["history"])
    return TabularModel(model, TabularEncoder(features), target, history)
