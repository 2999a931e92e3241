"""glassnet's version, and the stamp a pickle carries so that loading it elsewhere can warn.

As scikit-learn does for its estimators: ``__getstate__`` adds ``"_glassnet_version"`` with
``stamp``, and ``__setstate__`` takes it out again with ``check``, which warns when the pickle
was written by another glassnet (or by something that wrote no stamp). The object is still
loaded: the warning says it may not be right, it does not refuse it.

This module imports nothing from glassnet, so that any module may import it.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["VERSION", "InconsistentVersionWarning", "stamp", "check"]

VERSION = "0.1.0"

_KEY = "_glassnet_version"  # the key the stamp is stored under in a pickled state


class InconsistentVersionWarning(UserWarning):
    """An object is unpickled by a glassnet other than the one that pickled it.

    Attributes
    ----------
    what : str
        What was unpickled (a class name).
    original_version : str or None
        The glassnet that pickled it; None when the state carried no version.
    current_version : str
        This glassnet.
    """

    def __init__(self, *, what: str, original_version: str | None,
                 current_version: str) -> None:
        self.what = what
        self.original_version = original_version
        self.current_version = current_version
        written = ("with no glassnet version" if original_version is None
                   else f"with glassnet {original_version}")
        super().__init__(f"{what} was pickled {written}; this is glassnet {current_version}: "
                         f"it may not load correctly")


def stamp(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` (an object's ``__getstate__`` dict) with this glassnet's version added."""
    return {**state, _KEY: VERSION}


def check(state: dict[str, Any], what: str) -> None:
    """Take the version stamp out of ``state`` (in place) and warn with an
    ``InconsistentVersionWarning`` when it is missing or names another glassnet."""
    original = state.pop(_KEY, None)
    if original != VERSION:
        warnings.warn(InconsistentVersionWarning(what=what, original_version=original,
                                                 current_version=VERSION), stacklevel=3)
