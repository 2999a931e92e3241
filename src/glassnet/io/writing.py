"""Writing: ``save`` a model, through ``atomic_write``, which any file writer can use."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, BinaryIO, Callable

import numpy as np
import safetensors.numpy

from ..model import Sequential
from .estimator_format import ESTIMATOR_NAMES, check_estimator, estimator_types
from .estimators import estimator_section, tensor_entries
from .format import METADATA_KEY, Invalid, check_document, check_tensors, model_document
from .tabular_format import check_tabular, tabular_section

__all__ = ["save", "atomic_write"]


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], Any]) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds the whole old file or the whole new
    one, whatever stops the process (an exception, a full disk, SIGKILL, a power cut).
    ``data`` is the bytes, or a function that writes them to the binary file it is given
    (``lambda f: frame.to_csv(f)``: a large file need not be built in memory first).

    The bytes go to a temporary file in the same folder, which is flushed and ``fsync``-ed,
    then renamed over ``path`` with ``os.replace`` (atomic on POSIX and Windows when both
    are on one file system, which the same folder ensures); the folder is ``fsync``-ed last,
    where the OS allows, so that the rename itself survives a power cut. If anything fails
    the temporary file is removed and the error raised; only a process killed mid-write
    leaves one behind (named ``.<name>.*.tmp``, next to ``path``).

    The new file gets the old one's permission bits, or, for a new path, those ``open``
    would give (``0o666`` less the umask). A symbolic link at ``path`` is replaced by the
    file, not followed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    if not os.path.isdir(folder):  # else mkstemp's error would name its temporary file
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                     suffix=".tmp")
    try:
        with open(fd, "wb") as f:  # closes fd, also when a write fails
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.chmod(temporary, mode)  # mkstemp makes it 0o600
        os.replace(temporary, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable. POSIX only: Windows cannot open a folder, and
    some file systems refuse (EINVAL); the rename has happened either way."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """The process's umask, read from /proc on Linux without changing it; elsewhere set and
    restored at once (``os.umask`` has no read-only form)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save(obj: Any, path: str | os.PathLike) -> None:
    """Save a model or a fitted estimator to one ``.safetensors`` file, atomically (see
    ``atomic_write``).

    The file holds the model's ``state_dict()`` as tensors (``layers.0.W``, ...) and its
    configuration as strict JSON in the header's metadata (see ``glassnet.io.format``).
    ``glassnet.load`` gives it back. Dropout generators are not stored: see ``load``.

    Parameters
    ----------
    obj : Sequential, MLPClassifier, MLPRegressor or glassnet.tabular.TabularModel
        A model from ``glassnet.Sequential`` or ``glassnet.MLP`` made of glassnet's layers
        (``Dense``, ``Dropout``, the activations), float32 or float64; or a fitted
        estimator, saved with everything ``predict``, ``partial_fit`` and a ``warm_start``
        refit read (``glassnet.io.estimator_format``); or a TabularModel (what ``glassnet
        train`` writes), with its columns' encoding and its target
        (``glassnet.io.tabular_format``).
    path : str or path-like
        The file to write; its folder must exist. An existing file is replaced.

    Raises
    ------
    TypeError
        ``obj`` is not a ``Sequential``.
    ValueError
        A layer is not one of glassnet's, or a weight or a setting is NaN or inf: such a
        model would make a file that ``load`` refuses, so nothing is written. For an
        estimator: unfitted (``NotFittedError``), or a parameter a file cannot hold (an
        optimizer, schedule or RandomState object: pass names and ints).
    """
    from ..tabular import TabularModel
    estimator = type(obj).__name__ in ESTIMATOR_NAMES and type(obj) in estimator_types().values()
    tabular = type(obj) is TabularModel
    if type(obj) is not Sequential and not estimator and not tabular:
        raise TypeError(f"glassnet.save takes a Sequential (from glassnet.MLP or "
                        f"glassnet.Sequential), a fitted MLPClassifier or MLPRegressor, or a "
                        f"TabularModel, got {type(obj).__name__}")
    extra: dict[str, np.ndarray] = {}
    if tabular:
        document = model_document(obj.model)
        document.update(kind="tabular", tabular=tabular_section(obj))
        tensors = obj.model.state_dict()
    elif estimator:
        section, extra = estimator_section(obj)  # refuses an unfitted one first
        document = model_document(obj.model_)
        document.update(kind="estimator", estimator=section)
        tensors = {**obj.model_.state_dict(), **extra}
    else:
        document = model_document(obj)
        tensors = obj.state_dict()
    what = "estimator" if estimator else "tabular model" if tabular else "model"
    try:  # the reader's own schema: whatever is written, load accepts
        spec = check_document(document)
        if estimator:
            document_check = check_estimator(document["estimator"], spec)
            check_tensors(spec, tensor_entries(tensors), document_check.tensors)
        if tabular:
            check_tabular(document["tabular"], spec)
    except Invalid as exc:
        raise ValueError(f"cannot save this {what}: {exc}") from None
    for name, value in tensors.items():
        if not np.isfinite(value).all():
            raise ValueError(f"cannot save this {what}: {name} holds NaN or inf")
    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    atomic_write(path, safetensors.numpy.save(dict(tensors), metadata={METADATA_KEY: text}))
