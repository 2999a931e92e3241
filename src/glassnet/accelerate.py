"""The optional accelerator: fused optimizer updates (``pip install "glassnet[fast]"``, which
installs numba).

NumPy takes an optimizer's update in passes over whole arrays: Adam's is seven. The
accelerator takes it in one compiled loop over the parameters (``glassnet._kernels``, which
says why on one core). The NumPy code stays the reference, and the default without numba.

- ``GLASSNET_ACCELERATE=0`` in the environment turns the accelerator off; ``=always`` uses it
  for arrays of every size (the tests run the engine so); otherwise it is used for arrays of
  at least ``MIN_SIZE`` elements, below which NumPy's passes are quicker than starting a
  parallel loop (the XOR network's step keeps NumPy's path).
- Importing glassnet compiles nothing: numba is imported, and each kernel compiled, on its
  first use, then cached on disk. ``benchmarks/run.py`` measures both costs.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["available", "enabled", "kernels", "MIN_SIZE"]

MIN_SIZE = 1 << 15  # elements; measured by benchmarks/run.py's "xor" and "epoch" cases

_loaded: dict[str, Any] = {}


def available() -> bool:
    """Whether numba is installed (the ``fast`` extra)."""
    return _module() is not None


def _module() -> Any:
    if "kernels" not in _loaded:
        try:
            from . import _kernels
        except ImportError:
            _kernels = None
        _loaded["kernels"] = _kernels
    return _loaded["kernels"]


def enabled() -> bool:
    """Whether the accelerator is used: numba installed, and ``GLASSNET_ACCELERATE`` not 0."""
    return os.environ.get("GLASSNET_ACCELERATE", "1") != "0" and available()


def kernels(*arrays: np.ndarray) -> Any:
    """The kernels module for an update of ``arrays`` (the parameter, its gradient, its
    state), or None for NumPy's path: accelerator off, arrays too small, or not all
    contiguous arrays of one float dtype."""
    setting = os.environ.get("GLASSNET_ACCELERATE", "1")
    if setting == "0":
        return None
    p = arrays[0]
    if setting != "always" and p.size < MIN_SIZE:
        return None
    if p.dtype not in (np.float32, np.float64) or not all(
            a.dtype == p.dtype and a.flags.c_contiguous for a in arrays):
        return None
    return _module()
