"""``glassnet inspect``: what a model file holds, from its header alone."""

from __future__ import annotations

import argparse
import json

from .. import trace
from ..io import read_info
from ._common import UsageError, command


def cmd_inspect(args: argparse.Namespace) -> int:
    """Show what a model file holds, without building the model.

    Reads only the header of a .safetensors file written by glassnet.save and
    checks it as glassnet.load does: the format version, every key against the
    schema, the layer names, the shapes chaining layer to layer, the dtypes and
    the tensors' offsets. It prints the file's format, the glassnet that wrote
    it, the kind and dtype, each layer's stored configuration, then the table
    model.summary() prints: layer, output shape and parameters, with the total.
    For a model written by 'glassnet train', also its target (the classes, or the
    scale of the value), each column it reads and how (the mean and scale of a
    numeric column, the categories of a text column), and its training run.
    The weights themselves are not read (glassnet.load also checks that they are
    finite). --json prints the stored configuration as JSON instead.

    exit status: 0 for a valid file; 2 when the file is missing, unreadable or not
    a valid glassnet model file, with one 'error:' line naming the problem.
    """
    try:
        info = read_info(args.model)
    except OSError as exc:  # missing or unreadable; a bad file is a ModelFileError
        raise UsageError(f"cannot read {args.model}: {exc.strerror or exc}") from None
    document = info.document
    if args.json:
        trace.emit(json.dumps(document, indent=2))
        return 0
    model = document["model"]
    n_tensors = len(info.tensors)
    trace.emit(f"file: {info.path} ({info.size} bytes, {n_tensors} tensors)",
               f"format: {document['format']} format version {document['format_version']}, "
               f"written by glassnet {document['glassnet_version']}",
               f"kind: {document['kind']}")
    if document["kind"] == "estimator":  # every name here was checked against a table
        estimator = document["estimator"]
        fitted = estimator["fitted"]
        curve = fitted["loss_curve_"]
        trace.emit(f"estimator: {estimator['class']}, {fitted['n_features_in_']} features, "
                   f"optimizer {estimator['optimizer']['type']}, "
                   f"{'no' if curve is None else len(curve)} epochs, t_ = {fitted['t_']}, "
                   f"loss_ = {fitted['loss_']}")
    if document["kind"] == "tabular":
        _tabular(document["tabular"])
    trace.emit(f"dtype: {model['dtype']}", "layers:")
    width = max((len(layer["type"]) for layer in model["layers"]), default=0)
    trace.emit(*(f"  {i:<3d}{layer['type']:<{width}}  {json.dumps(layer['config'])}"
                 for i, layer in enumerate(model["layers"])), "")
    trace.table(info.summary())
    return 0




def _shown(values: list, limit: int = 8) -> str:
    """The first ``limit`` values, as Python writes them (control characters escaped)."""
    more = f", ... ({len(values)} in all)" if len(values) > limit else ""
    return ", ".join(repr(v) for v in values[:limit]) + more


def _tabular(section: dict) -> None:
    """The columns a table model reads and how, its target, and its training run."""
    target = section["target"]
    if target["task"] == "classification":
        trace.emit(f"target: {target['name']!r}, classification, "
                   f"{len(target['classes'])} classes: {_shown(target['classes'])}")
    else:
        trace.emit(f"target: {target['name']!r}, regression, predicted as "
                   f"{target['mean']:.6g} + {target['scale']:.6g} * output")
    trace.emit(f"columns ({len(section['features'])}):")
    for feature in section["features"]:
        if feature["type"] == "numeric":
            trace.emit(f"  {feature['name']!r}: numeric, standardised with mean "
                       f"{feature['mean']:.6g} and scale {feature['scale']:.6g}")
        else:
            trace.emit(f"  {feature['name']!r}: categorical, one-hot over "
                       f"{len(feature['categories'])}: {_shown(feature['categories'])}")
    history = section["history"]
    if history is not None and history["epochs"]:
        last = ", ".join(f"{k} {v[-1]:.4g}" if isinstance(v[-1], float) else f"{k} {v[-1]}"
                         for k, v in history["history"].items())
        trace.emit(f"trained: {len(history['epochs'])} epochs; the last: {last}")


def add_inspect(sub, common) -> None:
    ins = command(sub, cmd_inspect, parents=[common], epilog="""\
examples:
  glassnet train iris --out iris.safetensors
  glassnet inspect iris.safetensors
  glassnet inspect iris.safetensors --json""")
    ins.add_argument("model", metavar="MODEL",
                     help="a model file written by glassnet.save (.safetensors)")
    ins.add_argument("--json", action="store_true",
                     help="print the stored configuration as JSON, and nothing else")
