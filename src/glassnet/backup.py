"""``BackupAndRestore``: a training run that survives being killed, resumed exactly.

At every epoch's end the callback writes everything the rest of the run depends on to one
``.safetensors`` file, atomically (``glassnet.io.atomic_write``: the path holds the whole
old backup or the whole new one, whatever kills the process):

* the weights, and the optimizer's state (``optimizer.state_dict()``: moments, step count,
  learning rate);
* the state of every callback that has one (``state_dict()``: early stopping's best weights
  and counters, the learning-rate schedule's progress, checkpoints);
* every random generator training draws from: the shuffle's (and the validation split's),
  each dropout layer's; the rows' order, which each epoch shuffles again; and the fused SGD
  step's carried decay (``step.SGDInBackward``);
* the epoch and sample counters, the history, and whether the run had stopped.

When ``fit`` starts with the file present, the callback puts all of that back before the
first epoch and training goes on from the epoch after the backup's, so a run killed at any
epoch and resumed in a new process ends with the same weights, bit for bit, and the same
history as the run that was never interrupted. A backup is made for one data set and one
configuration: its fingerprint (a SHA-256 of the training and validation arrays, and of the
model's layers, the loss, the optimizer's settings, the epochs, batch size, L2 and shuffle)
must match the new run's, or the backup is refused with an error that says which differs.

Arrays go in as tensors and everything else as strict JSON in the file's metadata: no
pickle, nothing executed on load.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import numpy as np

from ._checks import is_sparse
from .callbacks import Callback

__all__ = ["BackupAndRestore", "BackupError"]

FORMAT = "glassnet-backup"
FORMAT_VERSION = 2  # 2: the rows' order (run.order)


class BackupError(ValueError):
    """A backup file that cannot be used for this run: another data set or configuration, or
    a file that is not a glassnet backup."""


class BackupAndRestore(Callback):
    """Save the whole training state at every epoch's end; resume from it when ``fit`` starts.

    Parameters
    ----------
    path : str or os.PathLike
        The backup file (``.safetensors``). Present when training starts: training resumes
        from it. Written at every epoch's end.
    delete_on_end : bool
        Remove the file when training ends having run all its epochs or stopped on its own
        (early stopping, a schedule), as Keras's callback of that name does; a run cut short
        by an error or a kill keeps it, to resume from.

    Notes
    -----
    ``fit`` runs this callback's hooks after every other callback's, so that it restores
    their state after their own ``on_train_begin`` and saves it after their ``on_epoch_end``.
    Validation held out with ``validation_fraction`` must be drawn the same way on resume:
    pass an int ``seed`` (a run seeded from fresh entropy splits differently, and its
    fingerprint then refuses the backup).
    """

    runs_last = True  # fit_iter orders it after every other callback

    def __init__(self, path: str | os.PathLike, delete_on_end: bool = True) -> None:
        self.path = os.fspath(path)
        self.delete_on_end = bool(delete_on_end)
        self.resumed_from: int | None = None  # the epoch the last run resumed after

    # -- the hooks ------------------------------------------------------------------------
    def on_train_begin(self, state) -> None:
        self._finished = False
        self.resumed_from = None
        # taken once, as the run begins (the learning rate and weights change as it goes)
        self._fingerprint = fingerprint = _fingerprint(state)
        if not os.path.exists(self.path):
            return
        tensors, meta = _read(self.path)
        for part, value in fingerprint.items():
            if meta["fingerprint"].get(part) != value:
                raise BackupError(f"{self.path} was made for another {_PARTS[part]}; remove "
                                  f"it to start afresh, or train on what it was made for")
        try:
            _restore(state, tensors, meta)
        except (ValueError, KeyError, TypeError) as exc:  # a state its owner refuses
            raise BackupError(f"{self.path} cannot be restored into this run: {exc}") from None
        self.resumed_from = state.epoch

    def on_epoch_end(self, state) -> None:
        done = state.stop or state.epoch >= state.run.epochs
        tensors, meta = _collect(state)
        meta["fingerprint"] = self._fingerprint
        meta["finished"] = done
        from .io import atomic_write  # the crash-safe writer of the model files
        from safetensors.numpy import save
        atomic_write(self.path, save(tensors, metadata={FORMAT: json.dumps(meta, allow_nan=False)}))
        self._finished = done

    def on_train_end(self, state) -> None:
        if self.delete_on_end and getattr(self, "_finished", False):
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass


# -- what is saved ------------------------------------------------------------------------
_PARTS = {"data": "data set (training or validation arrays)",
          "model": "model (layers, widths or dtype)",
          "training": "configuration (loss, optimizer, epochs, batch size, L2 or shuffle)"}


def _digest(*arrays: Any) -> str:
    """SHA-256 of arrays (dtype, shape and values each); a SciPy sparse matrix (the training
    data as CSR) is its format and shape, then its three arrays: ``data``, ``indices``,
    ``indptr``."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        if hasattr(a, "digest"):  # rows on a Dask cluster (glassnet.dask): Dask's token
            h.update(a.digest().encode())
            continue
        if is_sparse(a):
            h.update(f"sparse {a.format}{a.shape}".encode())
            parts = (a.data, a.indices, a.indptr)
        else:
            parts = (a,)
        for part in parts:
            part = np.ascontiguousarray(part)
            h.update(f"{part.dtype.str}{part.shape}".encode())
            h.update(part.tobytes())
    return h.hexdigest()


def _fingerprint(state) -> dict[str, str]:
    """SHA-256 digests of the data, the model's structure and the training settings."""
    run, model, optimizer = state.run, state.model, state.optimizer
    val = run.val or (None, None, None)
    layers = [[type(layer).__name__, _jsonable(getattr(layer, "config", dict)())]
              for layer in model.layers]
    settings = {"loss": type(state.loss).__name__, "optimizer": type(optimizer).__name__,
                "optimizer_config": _jsonable(optimizer.config()),
                "epochs": run.epochs, "batch_size": run.batch_size, "l2": run.l2,
                "l2_per_sample": run.l2_per_sample, "shuffle": run.shuffle}
    text = (lambda obj: hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest())
    return {"data": _digest(run.X, run.y, run.sample_weight, *val),
            "model": text({"dtype": model.dtype.name, "layers": layers}),
            "training": text(settings)}


def _jsonable(obj: Any) -> Any:
    """Numbers, strings, lists and dicts as strict JSON takes them (NumPy scalars as Python's;
    a float that JSON cannot hold, inf in a schedule's setting, as ``{"nonfinite": "inf"}``,
    which ``_from_json`` turns back)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return {"nonfinite": repr(obj)}  # 'inf', '-inf' or 'nan'
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def _from_json(obj: Any) -> Any:
    """``_jsonable``'s inverse for the floats JSON cannot hold."""
    if isinstance(obj, dict):
        if set(obj) == {"nonfinite"} and obj["nonfinite"] in ("inf", "-inf", "nan"):
            return float(obj["nonfinite"])
        return {k: _from_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_json(v) for v in obj]
    return obj


def _split(prefix: str, state: dict, tensors: dict) -> dict:
    """A state dict's arrays into ``tensors`` (named ``prefix.key``); the rest returned."""
    rest = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            tensors[f"{prefix}.{key}"] = np.ascontiguousarray(value)
        else:
            rest[key] = _jsonable(value)
    return rest


def _join(prefix: str, rest: dict, tensors: dict) -> dict:
    """The inverse of ``_split``."""
    out = dict(rest)
    start = prefix + "."
    out.update({name[len(start):]: value for name, value in tensors.items()
                if name.startswith(start)})
    return out


def _generators(state) -> list:
    """Every random generator training draws from, in a fixed order: the run's, then each
    dropout layer's."""
    gens = [state.run.rng]
    gens += [layer.rng for layer in state.model.layers if hasattr(layer, "rng")]
    return gens


def _generator_state(rng) -> Any:
    if isinstance(rng, np.random.Generator):
        return {"generator": _jsonable(rng.bit_generator.state)}
    name, keys, pos, has_gauss, cached = rng.get_state()  # the notebook's RandomState
    return {"random_state": [name, keys.tolist(), pos, has_gauss, cached]}


def _set_generator_state(rng, saved: dict) -> None:
    if "generator" in saved and isinstance(rng, np.random.Generator):
        rng.bit_generator.state = saved["generator"]
    elif "random_state" in saved and isinstance(rng, np.random.RandomState):
        name, keys, pos, has_gauss, cached = saved["random_state"]
        rng.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    else:
        raise BackupError("the backup's random generators are of another kind than this run's")


def _stateful_callbacks(state) -> list:
    return [c for c in state.run.callbacks
            if hasattr(c, "state_dict") and hasattr(c, "load_state_dict")
            and not isinstance(c, BackupAndRestore)]


def _collect(state) -> tuple[dict, dict]:
    """``(tensors, metadata)`` of the whole training state at an epoch's end."""
    tensors = {"model.flat_params": state.model.flat_params.copy()}
    if state.run.order is not None:  # as float64, the file's type: exact below 2**53 rows
        tensors["run.order"] = state.run.order.astype(np.float64)
    optimizer = _split("optimizer", state.optimizer.state_dict(), tensors)
    callbacks = [_split(f"callback.{i}", c.state_dict(), tensors)
                 for i, c in enumerate(_stateful_callbacks(state))]
    history = {"epochs": list(state.history.epochs),
               "history": {k: list(v) for k, v in state.history.history.items()}}
    history["epochs"].append(state.epoch)  # this epoch: fit appends it after the hooks
    for key, value in state.logs.items():
        history["history"].setdefault(key, []).append(value)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION,
            "epoch": state.epoch, "samples_seen": state.samples_seen,
            "stop": state.stop, "stop_reason": state.stop_reason,
            "optimizer": optimizer, "callbacks": callbacks,
            "generators": [_generator_state(g) for g in _generators(state)],
            "kernel": _jsonable(state.run.kernel.state_dict()),
            "history": _jsonable(history)}
    return tensors, meta


def _restore(state, tensors: dict, meta: dict) -> None:
    """Put the saved training state back (``_collect``'s inverse)."""
    params = tensors.get("model.flat_params")
    if params is None or params.shape != state.model.flat_params.shape:
        raise BackupError("the backup's weights do not fit this model")
    callbacks = _stateful_callbacks(state)
    if len(callbacks) != len(meta["callbacks"]) or len(_generators(state)) != len(
            meta["generators"]):
        raise BackupError("the backup was made with other callbacks or dropout layers")
    order = tensors.get("run.order")
    if (order is None) != (state.run.order is None) or (order is not None and not (
            order.shape == state.run.order.shape
            and np.array_equal(np.sort(order), np.arange(len(order))))):
        raise BackupError("the backup's order of the rows is not a permutation of this "
                          "run's rows")
    state.model.flat_params[...] = params
    if order is not None:
        state.run.order[...] = order
    state.optimizer.load_state_dict(_join("optimizer", meta["optimizer"], tensors))
    for i, (callback, saved) in enumerate(zip(callbacks, meta["callbacks"])):
        callback.load_state_dict(_join(f"callback.{i}", saved, tensors))
    for rng, saved in zip(_generators(state), meta["generators"]):
        _set_generator_state(rng, saved)
    state.run.kernel.load_state_dict(meta["kernel"])
    state.epoch, state.samples_seen = int(meta["epoch"]), int(meta["samples_seen"])
    state.stop, state.stop_reason = bool(meta["stop"]), str(meta["stop_reason"])
    state.history.epochs = [int(e) for e in meta["history"]["epochs"]]
    state.history.history = {k: [float(x) for x in v]
                             for k, v in meta["history"]["history"].items()}


def _read(path: str) -> tuple[dict, dict]:
    """The backup's tensors and metadata, checked as a model file's container is
    (``glassnet.io``: the header's sizes and offsets against the file, strict JSON), or a
    ``BackupError`` saying what is wrong."""
    from safetensors.numpy import load

    from .io.container import read_header
    from .io.format import Invalid, strict_json
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            header = read_header(f, size)
            f.seek(0)
            data = f.read()
        meta = _from_json(strict_json(header.metadata[FORMAT], "the backup's metadata"))
        tensors = load(data)
    except (OSError, Invalid, KeyError) as exc:
        raise BackupError(f"{path} is not a glassnet backup ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BackupError(f"{path} is not a glassnet backup")
    if meta.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path} is a backup of format version {meta.get('format_version')}"
                          f"; this glassnet reads version {FORMAT_VERSION}")
    return tensors, meta
