"""Reading a model file: ``load`` builds the model, ``read_info`` only describes it.

Both check the whole header and configuration first (``container.read_header``, then
``format.check_document`` and ``format.check_tensors``); ``load`` then reads the file once,
views each tensor's checked bytes as a NumPy array (``np.frombuffer``: no second parser, no
copy), checks every value is finite, and only then builds.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from .._checks import as_rng
from ..layers import Dense, Dropout
from ..model import Sequential, _child_seed
from .container import Header, read_header
from .estimator_format import EstimatorSpec, check_estimator
from .estimators import build_estimator
from .format import (
    ITEMSIZE,
    METADATA_KEY,
    Invalid,
    ModelFileError,
    ModelSpec,
    check_document,
    check_finite,
    check_tensors,
    layer_types,
    show,
    strict_json,
)
from .tabular_format import build_tabular, check_tabular

__all__ = ["load", "read_info", "ModelFileInfo"]


@dataclass(frozen=True)
class ModelFileInfo:
    """What a model file holds, read from its header alone (``glassnet inspect``).

    Attributes
    ----------
    path : str
    size : int
        The file's size in bytes.
    document : dict
        The stored configuration, the JSON document as read.
    tensors : dict
        ``{name: (dtype, shape)}`` with dtype 'float32' or 'float64'.
    """

    path: str
    size: int
    document: dict[str, Any]
    tensors: dict[str, tuple[str, tuple[int, ...]]]

    def summary(self) -> str:
        """The table ``model.summary()`` prints for the stored model (layer, output shape,
        parameters, with the total), computed from the configuration without building it."""
        rows = [("#", "Layer", "Output shape", "Parameters")]
        width, total = None, 0
        for i, layer in enumerate(self.document["model"]["layers"]):
            config = layer["config"]
            if layer["type"] == "dense":
                width, n = config["n_out"], config["n_in"] * config["n_out"] + config["n_out"]
                name = f"Dense({config['n_in']} -> {config['n_out']})"
                count = f"{n} = {config['n_in']}·{config['n_out']} + {config['n_out']}"
                total += n
            else:  # the layer's repr, from its class name and configuration
                args = ", ".join(f"{k}={v!r}" for k, v in config.items())
                name, count = f"{layer_types()[layer['type']].__name__}({args})", "0"
            rows.append((str(i), name, f"(None, {width})", count))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in rows]
        rule = "-" * len(max(lines, key=len))
        dtype = self.document["model"]["dtype"]
        return "\n".join([lines[0], rule, *lines[1:], rule, f"Total parameters: {total} ({dtype})"])


@contextlib.contextmanager
def _open(path: Any) -> Iterator[tuple[str, BinaryIO, int]]:
    """Open ``path`` for reading: a missing file is FileNotFoundError, an unreadable one
    PermissionError (the OS's errors); a folder, a pipe or a device is a ModelFileError, found
    with ``stat`` before opening, since opening a pipe would wait for a writer."""
    name = os.fspath(path)
    mode = os.stat(name).st_mode
    if stat.S_ISDIR(mode):
        raise ModelFileError(name, "is a folder, not a model file")
    if not stat.S_ISREG(mode):
        raise ModelFileError(name, "is not a regular file (a pipe, a device or a socket?)")
    with open(name, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            yield name, f, size
        except Invalid as exc:  # the checks know the problem; the error names the file too
            raise ModelFileError(name, str(exc)) from None


def _read(f: BinaryIO, size: int) -> tuple[Header, dict[str, Any], ModelSpec,
                                            EstimatorSpec | None]:
    header = read_header(f, size)
    unknown = sorted(set(header.metadata) - {METADATA_KEY})
    if unknown:
        raise Invalid(f"the header's __metadata__ has unknown key(s) "
                      f"{', '.join(show(k) for k in unknown[:5])}")
    if METADATA_KEY not in header.metadata:
        raise Invalid(f"the header's __metadata__ has no {METADATA_KEY!r} entry: not a file "
                      f"written by glassnet.save")
    document = strict_json(header.metadata[METADATA_KEY], f"the {METADATA_KEY!r} metadata")
    spec = check_document(document)
    estimator = None
    if document["kind"] == "estimator":
        estimator = check_estimator(document["estimator"], spec)
    elif document["kind"] == "tabular":
        check_tabular(document["tabular"], spec)
    check_tensors(spec, header.tensors, None if estimator is None else estimator.tensors)
    return header, document, spec, estimator


def read_info(path: str | os.PathLike) -> ModelFileInfo:
    """Check a model file's header and configuration and describe it, without reading the
    tensor data or building the model (so NaN weights are found by ``load``, not here).

    Raises
    ------
    ModelFileError
        For a malformed file, as ``load``; FileNotFoundError when there is none.
    """
    with _open(path) as (name, f, size):
        header, document, _, _ = _read(f, size)
        names = {"F32": "float32", "F64": "float64"}
        tensors = {n: (names[e.dtype], e.shape) for n, e in header.tensors.items()}
        return ModelFileInfo(name, size, document, tensors)


def load(path: str | os.PathLike, *, seed: Any = None) -> Any:
    """Load a model or a fitted estimator saved by ``glassnet.save``.

    Every check is made before anything is built: the format version (a file from a newer
    glassnet says so), every key of the header and the configuration against the schema,
    the registries' names, the shapes (chaining layer to layer, matching the stated widths),
    the dtypes (float32 or float64), the tensors' offsets (inside the file, tiling the data
    with no gap, overlap or trailing bytes), then every value (finite).

    Parameters
    ----------
    path : str or path-like
    seed : None, int or numpy Generator
        Source of the Dropout layers' masks. A file stores no generator state: each Dropout
        layer of the loaded model gets a new generator, seeded from ``default_rng(seed)``
        (one draw per Dropout layer, in order), so ``seed=None`` starts from fresh entropy
        and an int makes training the loaded model reproducible.

    Returns
    -------
    Sequential, MLPClassifier, MLPRegressor or glassnet.tabular.TabularModel
        What was saved (the file's ``kind``). Its outputs are bit-identical to those of the
        object that was saved; a fitted estimator also continues (``partial_fit``, a
        ``warm_start`` refit) exactly as the saved one would, and its Dropout layers get
        their saved generators back (``seed`` is then unused).

    Raises
    ------
    ModelFileError
        The file is not a valid glassnet model file; the message names it and the problem.
    FileNotFoundError, PermissionError
        There is no such file, or it cannot be read.
    """
    rng = as_rng(seed)
    with _open(path) as (_, f, size):
        header, document, spec, estimator = _read(f, size)
        f.seek(0)
        data = f.read(size + 1)
        if len(data) != size or not data.startswith(header.raw):
            raise Invalid("the file changed while it was read")
        start = len(header.raw)  # the data section; every offset was checked against it
        arrays = {}
        for tensor_name, entry in header.tensors.items():  # each checked by _read
            array = np.frombuffer(data, dtype=_LITTLE_ENDIAN[entry.dtype],
                                  count=(entry.end - entry.begin) // ITEMSIZE[entry.dtype],
                                  offset=start + entry.begin).reshape(entry.shape)
            check_finite(tensor_name, array)
            arrays[tensor_name] = array  # a read-only view: Sequential copies it
        model = _build(spec, arrays, rng)
        if document["kind"] == "tabular":
            return build_tabular(document["tabular"], model)
        if estimator is None:
            return model
        try:  # every value was checked; a constructor's refusal is still the file's fault
            return build_estimator(estimator, model, arrays)
        except (ValueError, TypeError) as exc:
            raise Invalid(f"the estimator cannot be built: {show(str(exc), 200)[1:-1]}") from None


_LITTLE_ENDIAN = {"F32": "<f4", "F64": "<f8"}  # safetensors stores little-endian


def _build(spec: ModelSpec, arrays: dict[str, np.ndarray], rng: Any) -> Sequential:
    """The model ``spec`` describes, holding ``arrays``; every input is checked already."""
    layers = []
    for i, (_, cls, config) in enumerate(spec.layers):
        if cls is Dense:
            layer = Dense.from_arrays(arrays[f"layers.{i}.W"], arrays[f"layers.{i}.b"])
            layer.init = config["init"]  # how the saved weights were first drawn
        elif cls is Dropout:
            layer = Dropout(config["p"], seed=_child_seed(rng))
        else:
            layer = cls(**config)
        layers.append(layer)
    return Sequential(layers, dtype=spec.dtype)  # copies the arrays into one buffer
