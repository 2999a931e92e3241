"""An estimator's values as strict JSON, each writer beside its reader: numbers that may be
infinite, ``get_params()``, a schedule's state and numpy generators.

Strict JSON has no infinity: ``best_loss_`` before any improvement, a schedule's ``best`` and
``n_iter_no_change=np.inf`` are written as the strings ``"inf"`` and ``"-inf"``. A writer
raises ValueError for what a file cannot hold; a reader raises ``Invalid`` for what a file
must not hold, with the value's place in the section (``params.alpha``) in the message.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..init import INITIALISERS
from ..optim import get_optimizer
from ..schedules import get_schedule
from .format import DTYPES, Invalid, _float, _is_int, _keys, show

__all__ = ["inf_out", "inf_in", "param_out", "check_params", "schedule_out", "check_schedule",
           "load_schedule",
           "generator_state", "check_generator", "generator"]


# -- numbers that may be infinite -----------------------------------------------------------
def inf_out(value: float) -> float | str:
    value = float(value)
    return ("inf" if value > 0 else "-inf") if math.isinf(value) else value


def inf_in(value: Any, what: str) -> float:
    if value in ("inf", "-inf"):
        return math.inf if value == "inf" else -math.inf
    return _float(value, what)


# -- parameters -----------------------------------------------------------------------------
# why a parameter that is an object cannot be saved, and what to pass instead
_PARAM_HINTS = {"optimizer": " (pass the optimizer's name, e.g. 'adam', and the estimator's "
                             "settings instead of an instance)",
                "schedule": " (pass the schedule's name instead of an instance)",
                "random_state": " (pass an int instead of a RandomState)"}


def param_out(name: str, value: Any) -> Any:
    """One ``get_params()`` value as strict JSON; ValueError for what a file cannot hold."""
    if name == "class_weight" and isinstance(value, dict):  # {label: weight} as pairs
        return [[param_out(name, k), param_out(name, v)] for k, v in value.items()]
    if name == "n_iter_no_change" and value == math.inf:
        return "inf"
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, (list, tuple)) and name in ("hidden_layer_sizes", "activation"):
        return [param_out(name, v) for v in value]
    raise ValueError(f"cannot save this estimator: its parameter {name}={show(value)} is not "
                     f"a number, a string, a bool or None, which a file holds"
                     f"{_PARAM_HINTS.get(name, '')}")


def _class_weight_in(value: list, what: str) -> dict:
    pairs = {}
    for pair in value:
        if (not isinstance(pair, list) or len(pair) != 2
                or not isinstance(pair[0], (bool, int, float, str))):
            raise Invalid(f"{what} must be a list of [label, weight] pairs")
        pairs[pair[0]] = _float(pair[1], f"{what}'s weight")
    return pairs


def _ints_or_names(value: list, what: str) -> list:
    if not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in value):
        raise Invalid(f"{what} must be a list of ints or names")
    return value


# the parameters a file may hold as a list -> how to read one back as the estimator takes it
_LIST_PARAMS: dict[str, Callable[[list, str], Any]] = {
    "class_weight": _class_weight_in,
    "hidden_layer_sizes": lambda value, what: tuple(_ints_or_names(value, what)),
    "activation": lambda value, what: list(_ints_or_names(value, what)),
}


def _param_in(name: str, value: Any) -> Any:
    """A parameter read from a file as the estimator takes it."""
    what = f"params.{name}"
    if name == "n_iter_no_change" and value == "inf":
        return math.inf
    if isinstance(value, list):
        if name not in _LIST_PARAMS:
            raise Invalid(f"{what} must not be a list")
        return _LIST_PARAMS[name](value, what)
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{what} must be finite")
    if value is not None and not isinstance(value, (bool, int, float, str)):
        raise Invalid(f"{what} must be a number, a string, a bool or null, got {show(value)}")
    return value


def check_params(cls: type, params: Any) -> dict[str, Any]:
    """The file's parameters: exactly the class's, each checked as ``fit`` checks it."""
    _keys(params, set(cls().get_params()), "params")
    decoded = {name: _param_in(name, value) for name, value in params.items()}
    for name in ("optimizer", "schedule"):
        if decoded[name] is not None and not isinstance(decoded[name], str):
            raise Invalid(f"params.{name} must be a name or null, got {show(decoded[name])}")
    if decoded["dtype"] not in ("auto", *DTYPES):
        raise Invalid(f"params.dtype must be 'auto', 'float32' or 'float64', got "
                      f"{show(decoded['dtype'])}")
    if decoded["init"] != "sklearn" and decoded["init"] not in INITIALISERS:
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


# -- a schedule's state ---------------------------------------------------------------------
def schedule_out(schedule: Any) -> dict[str, Any]:
    return {k: inf_out(v) if isinstance(v, float) else v
            for k, v in schedule.state_dict().items()}


def check_schedule(name: str | None, state: Any) -> None:
    """The saved state of the schedule ``params.schedule`` names: null when it is null."""
    if name is None:
        if state is not None:
            raise Invalid("the file holds a schedule's state but params.schedule is null")
        return
    if not isinstance(state, dict):
        raise Invalid("schedule must be the schedule's state (an object)")
    for key, value in state.items():
        if not isinstance(value, (bool, int, float, str)):
            raise Invalid(f"schedule.{key} must be a number, a bool or a string")
    load_schedule(name, state)


def load_schedule(name: str, state: dict[str, Any]) -> Any:
    """The schedule ``name`` in the saved ``state``; ``Invalid`` if it refuses the state."""
    schedule = copy.deepcopy(get_schedule(name))
    decoded = {k: inf_in(v, f"schedule.{k}") if v in ("inf", "-inf") else v
               for k, v in state.items()}
    try:
        schedule.load_state_dict(decoded)
    except (ValueError, TypeError, KeyError) as exc:
        raise Invalid(f"schedule: {show(str(exc), 200)[1:-1]}") from None
    return schedule


# -- generators -----------------------------------------------------------------------------
def generator_state(rng: Any, what: str) -> dict[str, Any]:
    if not (isinstance(rng, np.random.Generator)
            and isinstance(rng.bit_generator, np.random.PCG64)):
        raise ValueError(f"cannot save {what}: a file stores numpy's default Generator "
                         f"(PCG64) only, got {type(rng).__name__}")
    state = rng.bit_generator.state
    return {"bit_generator": "PCG64", "state": {"state": int(state["state"]["state"]),
                                                "inc": int(state["state"]["inc"])},
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def check_generator(saved: Any, what: str) -> None:
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


def generator(saved: dict[str, Any]) -> np.random.Generator:
    """The generator a checked state describes, at the draw where it was saved."""
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = saved
    return rng
