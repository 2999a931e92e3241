"""PyTorch: ``to_torch(model)`` and ``from_torch(sequential)``, exact copies both ways.

Layer by layer (glassnet <-> ``torch.nn``):

==============================  =========================================================
glassnet                        torch.nn
==============================  =========================================================
``Dense(n_in, n_out)``          ``Linear(n_in, n_out)``, ``weight = W.T``, ``bias = b``
``Identity``                    ``Identity``
``ReLU``                        ``ReLU``
``LeakyReLU(alpha)``            ``LeakyReLU(negative_slope=alpha)``
``ELU(alpha)``                  ``ELU(alpha)``
``GELU`` (tanh form)            ``GELU(approximate='tanh')``
``Tanh``, ``Sigmoid``           ``Tanh``, ``Sigmoid``
``Softplus``                    ``Softplus(beta=1, threshold=40)``
``Dropout(p)``                  ``Dropout(p)``
==============================  =========================================================

torch's ``Softplus`` returns ``z`` itself above ``threshold``. At its default, 20, the exact
``log(1 + exp(z))`` is still ``z + 2e-9``, so ``to_torch`` uses 40, beyond which the
difference (``log(1 + exp(-z))``, about ``exp(-z)``) rounds away in float64. ``from_torch``
accepts any threshold from 20 up: below, torch's function differs by more than rounding.

Needs PyTorch (``pip install 'glassnet[torch]'``), imported on the first call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from ..layers import Dense, Dropout, Layer
from ..model import Sequential
from ._common import require

__all__ = ["to_torch", "from_torch"]

SOFTPLUS_THRESHOLD = 40.0  # exp(-40) = 4e-18 is below half an ulp of 40 in float64
SOFTPLUS_MIN_THRESHOLD = 20.0  # torch's default; exp(-20) = 2e-9 away from the exact value


def _linear(torch: Any, dense: Dense, dtype: Any) -> Any:
    """``Linear`` with ``weight = W.T`` ``(n_out, n_in)`` and ``bias = b``, copied exactly."""
    nn = torch.nn
    # skip_init: no random initial weights drawn (nor torch's global generator advanced)
    linear = nn.utils.skip_init(nn.Linear, dense.n_in, dense.n_out, dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(dense.W.T)))
        linear.bias.copy_(torch.from_numpy(np.array(dense.b)))
    return linear


# glassnet layer class -> its torch module (torch, the layer, the torch dtype)
TO_TORCH: dict[type, Callable[[Any, Any, Any], Any]] = {
    Dense: _linear,
    Identity: lambda torch, layer, dtype: torch.nn.Identity(),
    ReLU: lambda torch, layer, dtype: torch.nn.ReLU(),
    LeakyReLU: lambda torch, layer, dtype: torch.nn.LeakyReLU(negative_slope=layer.alpha),
    ELU: lambda torch, layer, dtype: torch.nn.ELU(alpha=layer.alpha),
    GELU: lambda torch, layer, dtype: torch.nn.GELU(approximate="tanh"),
    Tanh: lambda torch, layer, dtype: torch.nn.Tanh(),
    Sigmoid: lambda torch, layer, dtype: torch.nn.Sigmoid(),
    Softplus: lambda torch, layer, dtype: torch.nn.Softplus(beta=1.0, threshold=SOFTPLUS_THRESHOLD),
    Dropout: lambda torch, layer, dtype: torch.nn.Dropout(p=layer.p),
}


def to_torch(model: Sequential) -> Any:
    """A ``torch.nn.Sequential`` computing the same function as ``model``, in its dtype.

    Parameters
    ----------
    model : glassnet.Sequential
        Dense, activation and Dropout layers (see the module's table).

    Returns
    -------
    torch.nn.Sequential
        Maps ``(n_samples, n_inputs)`` to the logits ``(n_samples, n_outputs)``. Its
        parameters are copies (``Linear.weight`` is ``W.T``), float32 or float64 as the
        model's. It is returned in evaluation mode (dropout off), as glassnet's ``forward``
        runs by default; call ``.train()`` to train it.

    Raises
    ------
    ValueError
        For a layer with no torch counterpart, naming it and its position.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"to_torch expects a glassnet Sequential, got {type(model).__name__}")
    torch = require("torch", "torch")
    dtype = {"float32": torch.float32, "float64": torch.float64}[model.dtype.name]
    modules = []
    for i, layer in enumerate(model.layers):
        convert = TO_TORCH.get(type(layer))
        if convert is None:
            raise ValueError(f"model.layers[{i}], {layer!r}, has no PyTorch counterpart; "
                             f"to_torch converts {', '.join(c.__name__ for c in TO_TORCH)}")
        modules.append(convert(torch, layer, dtype))
    return torch.nn.Sequential(*modules).eval()


# -- from torch -------------------------------------------------------------------------------

def _dense(linear: Any) -> Dense:
    if linear.bias is None:
        raise ValueError("it has no bias (bias=False), and a glassnet Dense always has one "
                         "and trains it; to import the layer anyway, give it a zero bias")
    W = linear.weight.detach().cpu().numpy().T  # (n_in, n_out): z = x @ W + b
    b = linear.bias.detach().cpu().numpy()
    return Dense.from_arrays(np.array(W), np.array(b))


def _gelu(module: Any) -> GELU:
    if module.approximate != "tanh":
        raise ValueError(f"approximate={module.approximate!r}: glassnet's GELU is the tanh "
                         f"form, GELU(approximate='tanh')")
    return GELU()


def _softplus(module: Any) -> Softplus:
    if module.beta != 1:
        raise ValueError(f"beta={module.beta}: glassnet's Softplus is log(1 + exp(z)), beta=1")
    if module.threshold < SOFTPLUS_MIN_THRESHOLD:
        raise ValueError(f"threshold={module.threshold}: below {SOFTPLUS_MIN_THRESHOLD:g} "
                         f"torch's result differs from log(1 + exp(z)) by up to "
                         f"exp(-threshold), more than rounding")
    return Softplus()


def _from_torch_table(nn: Any) -> dict[type, Callable[[Any], Layer]]:
    """torch module class -> the glassnet layer (matched exactly: subclasses are refused)."""
    return {
        nn.Linear: _dense,
        nn.Identity: lambda m: Identity(),
        nn.ReLU: lambda m: ReLU(),
        nn.LeakyReLU: lambda m: LeakyReLU(alpha=m.negative_slope),
        nn.ELU: lambda m: ELU(alpha=m.alpha),
        nn.GELU: _gelu,
        nn.Tanh: lambda m: Tanh(),
        nn.Sigmoid: lambda m: Sigmoid(),
        nn.Softplus: _softplus,
        nn.Dropout: lambda m: Dropout(p=m.p),
    }


def _why_not(nn: Any, module: Any, table: dict) -> str:
    """Why a module outside the table has no glassnet layer, with the way out if any."""
    if isinstance(module, (nn.Softmax, nn.LogSoftmax)):
        return ("glassnet models output logits; softmax lives in the losses and in "
                "predict_proba: leave it out")
    if isinstance(module, nn.Sequential):
        return "nested containers are not flattened: pass one flat nn.Sequential"
    return f"glassnet has no such layer; from_torch converts {', '.join(t.__name__ for t in table)}"


def from_torch(sequential: Any) -> Sequential:
    """A glassnet ``Sequential`` with exact copies of ``sequential``'s parameters.

    Parameters
    ----------
    sequential : torch.nn.Sequential
        Flat: ``Linear`` (with bias), ``Identity``, ``ReLU``, ``LeakyReLU``, ``ELU``,
        ``GELU(approximate='tanh')``, ``Tanh``, ``Sigmoid``, ``Softplus(beta=1)`` (threshold
        at least 20) and ``Dropout``, each matched by its exact class. Parameters float32
        or float64, all the same.

    Returns
    -------
    glassnet.Sequential
        In the parameters' dtype; ``Dense.W`` is ``Linear.weight.T``, so
        ``from_torch(to_torch(model))`` has the very same numbers as ``model``.

    Raises
    ------
    ValueError
        For anything glassnet cannot represent exactly, naming the module and its position:
        other layers (convolutions, normalisation, ``Softmax``, ...), nested containers, a
        ``Linear`` without bias, ``GELU(approximate='none')``, ``Softplus`` with ``beta != 1``
        or ``threshold < 20``, half-precision or mixed parameter dtypes.
    """
    torch = require("torch", "torch")
    nn = torch.nn
    if not isinstance(sequential, nn.Sequential):
        raise TypeError(f"from_torch expects a torch.nn.Sequential, got "
                        f"{type(sequential).__name__}")
    table = _from_torch_table(nn)
    names = {torch.float32: "float32", torch.float64: "float64"}
    layers: list[Layer] = []
    dtypes: dict[Any, int] = {}  # parameter dtype -> first position holding it
    for i, (name, module) in enumerate(sequential.named_children()):
        where = f"module {i}" + (f" ({name!r})" if name != str(i) else "")
        convert = table.get(type(module))
        try:
            if convert is None:
                raise ValueError(_why_not(nn, module, table))
            for p in module.parameters():
                if p.dtype not in names:
                    raise ValueError(f"its parameters are {p.dtype}, and glassnet computes in "
                                     f"float32 or float64: convert the model with .float() or "
                                     f".double()")
                dtypes.setdefault(p.dtype, i)
            layers.append(convert(module))
        except ValueError as exc:
            raise ValueError(f"from_torch: {where} of the Sequential, {module!r}, cannot "
                             f"become a glassnet layer: {exc}") from None
    if len(dtypes) > 1:
        found = ", ".join(f"{d} (from module {i})" for d, i in dtypes.items())
        raise ValueError(f"from_torch: the parameters must all be float32 or all float64, "
                         f"found {found}; convert the model with .float() or .double()")
    dtype = names[next(iter(dtypes))] if dtypes else "float32"
    return Sequential(layers, dtype=dtype)
