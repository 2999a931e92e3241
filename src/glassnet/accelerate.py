"""The optional accelerator: fused optimizer updates (``pip install "glassnet[fast]"``, which
installs numba).

NumPy takes an optimizer's update in passes over whole arrays: Adam's is seven. The
accelerator takes it in one compiled loop over the parameters (``glassnet._kernels``, which
says why on one core). The NumPy code stays the reference, and the default without numba.

- ``GLASSNET_ACCELERATE=0`` in the environment (read when glassnet is imported) turns the
  accelerator off; ``=always`` uses it for arrays of every size (the tests run the engine
  so); otherwise it is used for arrays of at least ``MIN_SIZE`` elements, below which NumPy's
  passes are quicker than a call into compiled code (the XOR network's step keeps NumPy's
  path). ``accelerate.mode("0" | "1" | "always")`` changes the setting for a block of code.
- Importing glassnet compiles nothing: numba is imported, and each kernel compiled, on its
  first use, then cached on disk. ``benchmarks/run.py`` measures both costs.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

import numpy as np

__all__ = ["available", "enabled", "kernels", "mode", "MIN_SIZE"]

MIN_SIZE = 1 << 15  # elements; measured by benchmarks/run.py's "xor" and "epoch" cases
MODES = ("0", "1", "always")

_loaded: dict[str, Any] = {}
_setting = {"mode": os.environ.get("GLASSNET_ACCELERATE", "1")}  # read once: a step is µs


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
    """Whether the accelerator is used: numba installed, and the setting not "0"."""
    return _setting["mode"] != "0" and available()


@contextlib.contextmanager
def mode(setting: str) -> Iterator[None]:
    """Within the block, the accelerator's setting is ``setting``: "0" (off), "1" (on for
    arrays of ``MIN_SIZE`` elements and more) or "always" (on for every array)."""
    if setting not in MODES:
        raise ValueError(f"setting must be one of {MODES}, got {setting!r}")
    before, _setting["mode"] = _setting["mode"], setting
    try:
        yield
    finally:
        _setting["mode"] = before


def kernels(*arrays: np.ndarray) -> Any:
    """The kernels module for an update of ``arrays`` (the parameter, its gradient, its
    state), or None for NumPy's path: accelerator off, arrays too small, or not all
    contiguous arrays of one float dtype."""
    setting, p = _setting["mode"], arrays[0]
    if setting == "0" or (p.size < MIN_SIZE and setting != "always"):
        return None
    if p.dtype not in (np.float32, np.float64) or not all(
            a.dtype == p.dtype and a.flags.c_contiguous for a in arrays):
        return None
    return _module()
