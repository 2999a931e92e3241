"""The estimators' parameters, checked from one table: name -> constraint, as scikit-learn's
``_parameter_constraints``, with glassnet's messages (each names the parameter and the value
received). ``_BaseMLP._validate_params`` runs every entry; ``MLPRegressor`` adds ``loss``.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_dtype, check_number
from ..init import INITIALISERS
from ..optim import OPTIMIZERS

__all__ = ["PARAMETERS", "Number", "OneOf", "layer_sizes"]


class Number:
    """A number within ``bounds`` (``gt``, ``ge``, ``lt``, ``le``), as ``check_number`` checks
    it; ``also`` lists other values accepted as they are ('auto', ``np.inf``), and ``label``
    is how the message names the parameter (its name by default)."""

    def __init__(self, *, integer: bool = False, also: tuple = (), label: str | None = None,
                 **bounds: float) -> None:
        self.integer, self.also, self.label, self.bounds = integer, also, label, bounds

    def __call__(self, value, name: str) -> None:
        for accepted in self.also:
            if isinstance(value, type(accepted)) and value == accepted:
                return
        check_number(value, self.label or name, integer=self.integer, **self.bounds)


class OneOf:
    """One of a few strings; the message lists them."""

    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.text = ", ".join(map(repr, choices[:-1])) + f" or {choices[-1]!r}"

    def __call__(self, value, name: str) -> None:
        if value not in self.choices:
            raise ValueError(f"{name} must be {self.text}, got {value!r}")


def boolean(value, name: str) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def layer_sizes(value, name: str) -> list[int]:
    """``hidden_layer_sizes`` as a list of positive ints (an int is one layer)."""
    try:
        sizes = [value] if isinstance(value, (int, np.integer)) else list(value)
    except TypeError:
        sizes = None
    if (isinstance(value, (bool, np.bool_, str)) or sizes is None
            or any(isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, np.integer))
                   or h <= 0 for h in sizes)):
        raise ValueError(f"{name} must be a positive int or a sequence of them, got {value!r}")
    return [int(h) for h in sizes]


def activation_names(value, name: str) -> None:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(a, str) for a in names):
        raise ValueError(f"{name} must be a name or a list of names (one per hidden layer), "
                         f"got {value!r}")


def solver_name(value, name: str) -> None:
    if value not in ("lbfgs", *OPTIMIZERS):  # read now: an optimizer registered later counts
        raise ValueError(f"{name} must be 'lbfgs' or one of {sorted(OPTIMIZERS)}, "
                         f"got {value!r}")


def initialiser(value, name: str) -> None:
    """'sklearn' (scikit-learn's draws, ``_random.initial_parameters``) or a name from
    ``glassnet.init.INITIALISERS``."""
    if not (value == "sklearn" or (isinstance(value, str) and value in INITIALISERS)):
        raise ValueError(f"{name} must be 'sklearn' or one of {sorted(INITIALISERS)}, "
                         f"got {value!r}")


def number_type(value, name: str) -> None:
    """'auto' (float32 for float32 X, else float64: scikit-learn's rule), or a float dtype."""
    if isinstance(value, str) and value == "auto":
        return
    try:
        check_dtype(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be 'auto', 'float32' or 'float64', got {value!r}") from None


def random_state(value, name: str) -> None:
    if not (value is None or isinstance(value, np.random.RandomState)
            or (isinstance(value, (int, np.integer)) and not isinstance(value, bool)
                and 0 <= value < 2**32)):
        raise ValueError(f"{name} must be None, an int in [0, 2**32 - 1] or a numpy "
                         f"RandomState, got {value!r}")


# scikit-learn's parameters, name -> constraint (its _parameter_constraints, with glassnet's
# messages), then glassnet's init and dtype. glassnet's others (dropout, optimizer, schedule,
# class_weight) are checked by what they are given to: MLP, get_optimizer, get_schedule,
# compute_sample_weight.
PARAMETERS = {
    "hidden_layer_sizes": layer_sizes,
    "activation": activation_names,
    "solver": solver_name,
    "alpha": Number(ge=0),
    "batch_size": Number(integer=True, ge=1, also=("auto",),
                          label="batch_size ('auto' or an int)"),
    "learning_rate": OneOf("constant", "invscaling", "adaptive"),
    "learning_rate_init": Number(gt=0),
    "power_t": Number(ge=0),
    "max_iter": Number(integer=True, ge=1),
    "shuffle": boolean,
    "random_state": random_state,
    "tol": Number(ge=0),
    "warm_start": boolean,
    "momentum": Number(ge=0, le=1),
    "nesterovs_momentum": boolean,
    "early_stopping": boolean,
    "validation_fraction": Number(ge=0, lt=1),
    "beta_1": Number(ge=0, lt=1),
    "beta_2": Number(ge=0, lt=1),
    "epsilon": Number(gt=0),
    "n_iter_no_change": Number(integer=True, ge=1, also=(math.inf,),  # inf: never stop
                                label="n_iter_no_change (an int or np.inf)"),
    "max_fun": Number(integer=True, ge=1),
    "init": initialiser,
    "dtype": number_type,
}
