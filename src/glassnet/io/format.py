"""The model file format: its constants, its error, strict JSON, and the configuration schema.

A model file is one ``.safetensors`` file. Its tensors are the model's ``state_dict()``
(``layers.0.W``, ``layers.0.b``, ...); its header's ``__metadata__`` holds one key,
``"glassnet"``, whose value is a JSON document (format version 1)::

    {"format": "glassnet", "format_version": 1, "glassnet_version": "0.1.0",
     "kind": "model",
     "model": {"dtype": "float32",
               "layers": [{"type": "dense", "config": {"n_in": 2, "n_out": 8, "init": "xavier"}},
                          {"type": "leaky_relu", "config": {"alpha": 0.2}},
                          {"type": "dropout", "config": {"p": 0.5}},
                          {"type": "dense", "config": {"n_in": 8, "n_out": 2, "init": "xavier"}}]}}

``kind`` says which sections follow: ``"model"`` has ``"model"`` alone; ``"estimator"`` (a
fitted ``MLPClassifier`` or ``MLPRegressor``) adds ``"estimator"`` beside it (its parameters,
fitted attributes, optimizer state: ``estimator_format.py``) and the tensor prefixes
``optimizer.`` and ``estimator.``; ``"tabular"`` (a ``glassnet.tabular.TabularModel``, what
``glassnet train`` writes) adds ``"tabular"`` (the columns' encoding and the target:
``tabular_format.py``) and no tensors. A reader refuses a kind it does not know.

Layer types are resolved through ``layer_types()``, an explicit table of the engine's classes,
never through an import of a name read from a file.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._version import VERSION
from ..activations import ACTIVATIONS
from ..init import INITIALISERS
from ..layers import Dense, Dropout, Layer

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "METADATA_KEY", "DTYPES", "ITEMSIZE",
           "ModelFileError", "Invalid", "ModelSpec", "layer_types", "strict_json", "show",
           "model_document", "check_document", "check_tensors", "check_finite"]

FORMAT_NAME = "glassnet"
FORMAT_VERSION = 1  # one loader per version: a change to the layout gets a new number
METADATA_KEY = "glassnet"  # the one key of the safetensors header's __metadata__
KINDS = ("model", "estimator", "tabular")  # see estimator_format.py, tabular_format.py
DTYPES = {"float32": "F32", "float64": "F64"}  # the model's dtype -> safetensors' dtype name
ITEMSIZE = {"F32": 4, "F64": 8}
_VERSION_TEXT = re.compile(r"[0-9A-Za-z.+!_-]{1,64}")  # printed by `glassnet inspect`: no
                                                       # control characters from a file


class ModelFileError(ValueError):
    """A file that is not a valid glassnet model file: malformed, truncated or hostile.

    Attributes
    ----------
    path : str
        The file.
    problem : str
        What is wrong with it.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)  # both in args: the error pickles and unpickles
        self.path, self.problem = path, problem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class Invalid(Exception):
    """Raised by the checks with the problem alone; the reader adds the path
    (``ModelFileError``). Not a ValueError, so that no ``except ValueError`` swallows it."""


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a name read from a file may be a megabyte
    long or hold control characters, and a message is one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def strict_json(text: str, what: str) -> Any:
    """``json.loads`` that refuses what Python's parser lets through: a repeated key, NaN or
    Infinity, a number that overflows to inf (``1e999``), and nesting too deep to parse."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                raise Invalid(f"{what} repeats the key {show(key)}")
            obj[key] = value
        return obj

    def constant(name: str) -> None:
        raise Invalid(f"{what} holds {name}, which strict JSON does not allow")

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            raise Invalid(f"{what} holds the number {show(literal)}, beyond the float range")
        return value

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant,
                          parse_float=number)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, 5000-digit ints, nesting
        raise Invalid(f"{what} is not valid JSON ({show(str(exc), 100)[1:-1]})") from None


def layer_types() -> dict[str, type[Layer]]:
    """The explicit table of layer classes a file may name: ``dense``, ``dropout`` and each
    activation under its registered name. Read from ``ACTIVATIONS`` at each call, so a new
    activation is saved and loaded without a change here."""
    return {"dense": Dense, "dropout": Dropout, **dict(ACTIVATIONS.items())}


@dataclass(frozen=True)
class ModelSpec:
    """A checked ``"model"`` section: what to build, and the tensors it needs.

    Attributes
    ----------
    dtype : 'float32' or 'float64'
    layers : list of (type name, class, config dict)
    tensors : dict
        ``{name: shape}`` of every tensor the model needs, in ``state_dict()`` order.
    """

    dtype: str
    layers: list[tuple[str, type[Layer], dict[str, Any]]]
    tensors: dict[str, tuple[int, ...]]


def model_document(model: Any) -> dict[str, Any]:
    """The JSON document that describes ``model`` (a ``Sequential``); ValueError for a layer
    outside ``layer_types()`` (a subclass included: it would load as its parent)."""
    names = {cls: name for name, cls in layer_types().items()}
    layers = []
    for i, layer in enumerate(model.layers):
        name = names.get(type(layer))
        if name is None:
            raise ValueError(f"cannot save layers[{i}] ({type(layer).__name__}): a file holds "
                             f"only glassnet's own layers: {', '.join(sorted(names.values()))}")
        layers.append({"type": name, "config": dict(layer.config())})
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "glassnet_version": VERSION,
            "kind": "model", "model": {"dtype": model.dtype.name, "layers": layers}}


# -- checks ---------------------------------------------------------------------------------

def _keys(obj: Any, required: set[str], what: str) -> dict[str, Any]:
    """``obj`` is a JSON object with exactly the ``required`` keys."""
    if not isinstance(obj, dict):
        raise Invalid(f"{what} must be a JSON object, got {type(obj).__name__}")
    missing, unknown = sorted(required - obj.keys()), sorted(obj.keys() - required)
    if unknown:
        raise Invalid(f"{what} has unknown key(s) {', '.join(show(k) for k in unknown[:5])}")
    if missing:
        raise Invalid(f"{what} lacks the key(s) {', '.join(map(repr, missing))}")
    return obj


def _is_int(value: Any) -> bool:
    return type(value) is int  # JSON's true/false are bools, not ints, here


def _float(value: Any, what: str) -> float:
    """A JSON number as a finite float (an int of 400 digits overflows: refused)."""
    try:
        if type(value) in (int, float) and math.isfinite(float(value)):
            return float(value)
    except OverflowError:
        pass
    raise Invalid(f"{what} must be a finite number, got {show(value)}")


def check_document(document: Any) -> ModelSpec:
    """Check the JSON document of a file against the schema (the format version first, so
    that a newer file is named as such); return what to build. Raises ``Invalid``."""
    if not isinstance(document, dict):
        raise Invalid(f"the {METADATA_KEY!r} metadata must be a JSON object")
    if document.get("format") != FORMAT_NAME:
        raise Invalid(f"the metadata's format is {show(document.get('format'))}, not "
                      f"{FORMAT_NAME!r}")
    version, written_by = document.get("format_version"), document.get("glassnet_version")
    if not _is_int(version) or version < 1:
        raise Invalid(f"format_version must be an int >= 1, got {show(version)}")
    if not isinstance(written_by, str) or not _VERSION_TEXT.fullmatch(written_by):
        raise Invalid(f"glassnet_version must be a version string, got {show(written_by)}")
    if version > FORMAT_VERSION:
        raise Invalid(f"the file is from a newer glassnet ({written_by}, format version "
                      f"{version}); this glassnet {VERSION} reads format version "
                      f"{FORMAT_VERSION}: upgrade glassnet to load it")
    kind = document.get("kind")
    if kind not in KINDS:
        raise Invalid(f"unknown kind {show(kind)}; this glassnet reads "
                      f"{', '.join(map(repr, KINDS))}")
    _keys(document, {"format", "format_version", "glassnet_version", "kind", "model",
                     *((kind,) if kind != "model" else ())}, "the metadata")
    return _check_model(document["model"])


def _check_model(section: Any) -> ModelSpec:
    _keys(section, {"dtype", "layers"}, "the 'model' section")
    dtype, entries = section["dtype"], section["layers"]
    if not isinstance(dtype, str) or dtype not in DTYPES:  # a list would not even hash
        raise Invalid(f"dtype must be 'float32' or 'float64', got {show(dtype)}")
    if not isinstance(entries, list):
        raise Invalid(f"'layers' must be a list, got {type(entries).__name__}")
    table = layer_types()
    layers, tensors = [], {}
    width = None  # the output width of the layers so far (None before the first Dense)
    for i, entry in enumerate(entries):
        _keys(entry, {"type", "config"}, f"layers[{i}]")
        name = entry["type"]
        cls = table.get(name) if isinstance(name, str) else None
        if cls is None:  # exact names only: the file is written with the registered ones
            raise Invalid(f"layers[{i}] has unknown type {show(name)}; known: "
                          f"{', '.join(sorted(table))}")
        config = _check_config(cls, entry["config"], f"layers[{i}] ({name})")
        if cls is Dense:
            if width is not None and config["n_in"] != width:
                raise Invalid(f"layers[{i}] (dense) takes {show(config['n_in'])} inputs but "
                              f"the layers before it give {width}: the shapes do not chain")
            width = config["n_out"]
            tensors[f"layers.{i}.W"] = (config["n_in"], config["n_out"])
            tensors[f"layers.{i}.b"] = (config["n_out"],)
        layers.append((name, cls, config))
    return ModelSpec(dtype, layers, tensors)


def _check_config(cls: type[Layer], config: Any, what: str) -> dict[str, Any]:
    """A layer's constructor arguments: their names, types and ranges."""
    if cls is Dense:
        _keys(config, {"n_in", "n_out", "init"}, f"{what}'s config")
        for key in ("n_in", "n_out"):
            if not _is_int(config[key]) or config[key] < 1:
                raise Invalid(f"{what}: {key} must be a positive int, got {show(config[key])}")
        init = config["init"]
        if init is not None and not (isinstance(init, str) and init in INITIALISERS):
            raise Invalid(f"{what}: unknown initialiser {show(init)}; known: "
                          f"{', '.join(INITIALISERS)} (or null)")
        return dict(config)
    if cls is Dropout:
        _keys(config, {"p"}, f"{what}'s config")
        p = _float(config["p"], f"{what}: p")
        if not 0.0 <= p < 1.0:
            raise Invalid(f"{what}: p must be in [0, 1), got {show(config['p'])}")
        return {"p": p}
    # An activation: the keys its default instance reports, each of the default's JSON type.
    defaults = cls().config()
    _keys(config, set(defaults), f"{what}'s config")
    checked = {}
    for key, default in defaults.items():
        value = config[key]
        if isinstance(default, float):
            checked[key] = _float(value, f"{what}: {key}")
        elif type(value) is type(default):
            checked[key] = value
        else:
            raise Invalid(f"{what}: {key} must be {type(default).__name__}, got {show(value)}")
    return checked


def check_tensors(spec: ModelSpec, entries: dict[str, Any],
                  extra: dict[str, tuple[str, tuple[int, ...]]] | None = None) -> None:
    """The header's tensors are exactly those ``spec`` needs, in its dtype and shapes, and
    the ``extra`` ones (``{name: (safetensors dtype, shape)}``: an estimator's)."""
    want = DTYPES[spec.dtype]
    expected = {name: (want, shape) for name, shape in spec.tensors.items()}
    expected.update(extra or {})
    missing = [name for name in expected if name not in entries]
    unexpected = [name for name in entries if name not in expected]
    if unexpected:
        raise Invalid(f"the file holds tensor(s) the {'estimator' if extra else 'model'} does "
                      f"not have: {', '.join(show(n) for n in unexpected[:5])}")
    if missing:
        raise Invalid(f"the file lacks the tensor(s) {', '.join(missing[:5])}")
    for name, (dtype, shape) in expected.items():
        entry = entries[name]
        if entry.dtype != dtype:
            raise Invalid(f"tensor {name} is {entry.dtype} but " + (
                f"the model's dtype is {spec.dtype} ({want})" if name in spec.tensors
                else f"it must be {dtype}"))
        if entry.shape != shape:
            raise Invalid(f"tensor {name} has shape {show(entry.shape)} but the "
                          f"configuration gives {show(shape)}")


def check_finite(name: str, array: np.ndarray) -> None:
    if not np.isfinite(array).all():
        raise Invalid(f"tensor {name} holds NaN or inf")
