"""Optimizers: ``step(params, grads)`` updates lists of NumPy arrays in place.

One file per rule: ``sgd.py``, ``adam.py`` (Adam, AdamW, and scikit-learn's Adam), ``rmsprop.py``, ``adagrad.py``,
``lbfgs.py`` (full-batch, through SciPy); the shared base class and clipping in ``base.py``.

An optimizer knows nothing about layers. In glassnet it usually receives one flat buffer
each, ``opt.step([model.flat_params], [model.flat_grads])``. Per-parameter state (momentum
buffers, moment estimates) is kept by position in the list, created on the first step with the
parameter's dtype and shape. Each rule follows ``torch.optim`` exactly (its single-tensor path);
the class docstrings give the rule as code, with ``g`` the gradient and ``t`` the step count.

Every step does, in order: clip the gradients in place (``clip_norm``, then ``clip_value``),
add the L2 term ``weight_decay * p`` to a copy of the gradient (AdamW instead shrinks ``p``),
then update. ``lr`` is a plain attribute: a schedule may change it between steps.

Speed: the arithmetic runs in place on preallocated scratch arrays (``out=``, ``*=``), and the
linear combinations ``y = a * x + b * y`` go through ``glassnet._blas`` (one BLAS pass on both
cores for a large array); each such line carries the plain equation in a comment. Scalars are
Python floats, so float32 stays float32.
"""

from __future__ import annotations

from typing import Any

from .._checks import Registry, resolve
from .adagrad import Adagrad
from .adam import Adam, AdamW, ScikitLearnAdam
from .base import Optimizer, clip_grad_norm, clip_grad_value
from .lbfgs import LBFGS
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "ScikitLearnAdam", "RMSprop", "Adagrad", "LBFGS", "OPTIMIZERS",
           "get_optimizer", "clip_grad_norm", "clip_grad_value"]

OPTIMIZERS = Registry({"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop,
                       "adagrad": Adagrad})


def get_optimizer(name_or_instance: str | Optimizer | LBFGS, **kwargs: Any) -> Optimizer | LBFGS:
    """An optimizer from a registry name (built with ``kwargs``) or an existing instance.

    ``"lbfgs"`` gives an ``LBFGS``; unknown names raise a ValueError listing the choices.
    """
    if isinstance(name_or_instance, (Optimizer, LBFGS)):
        if kwargs:
            raise ValueError(f"got an optimizer instance and keyword arguments {sorted(kwargs)}; "
                             "pass a name with the arguments, or the instance alone")
        return name_or_instance
    return resolve(name_or_instance, Registry({**OPTIMIZERS, "lbfgs": LBFGS}), "optimizer")(**kwargs)
