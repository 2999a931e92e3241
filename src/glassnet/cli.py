"""The ``glassnet`` command line.

Exit status: 0 on success; 2 on bad usage or bad input (sizes too large for memory included),
with a one-line ``error:`` message on stderr and no traceback; 1 only for a bug (or a failed
gradient audit, which is one); 141 when the reader of the output goes away (``| head``), as
for a command stopped by SIGPIPE. A demo
that ends short of 100 % (too few ``--steps``) says so and still exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import sys
import warnings
from typing import Sequence

import numpy as np

from . import __version__
from . import functional as F
from . import trace
from .activations import ACTIVATIONS
from .datasets import xor
from .grad import gradcheck
from .init import INITIALISERS
from .io import read_info
from .layers import Dense
from .losses import LOSSES, BinaryCrossEntropy
from .model import MLP, Sequential


class UsageError(Exception):
    """Bad usage or bad input: reported as ``error: ...`` with exit status 2."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs keep their line breaks (paragraphs, examples); option help is
    wrapped to the terminal."""

    def add_argument(self, action: argparse.Action) -> None:
        if action.nargs == argparse.PARSER:  # the commands: measured at the deeper indent they
            self._indent()                   # are listed at, so their help starts in one column
            super().add_argument(action)
            self._dedent()
        else:
            super().add_argument(action)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, formatter_class=_HelpFormatter, **kwargs)

    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _number(kind: type, low: float, high: float, expected: str):
    """An argparse type: ``kind(text)`` with ``low < value < high``, else "expected ..."."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low < value < high:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


_positive_int = _number(int, 0, float("inf"), "a positive int")
_seed = _number(int, -1, 2**32, "an int from 0 to 2**32 - 1")
_positive_float = _number(float, 0.0, float("inf"), "a positive number")


def _ints(text: str) -> list[int]:
    try:
        sizes = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from None
    if any(size >= 2**31 for size in sizes):  # beyond any array NumPy can make
        raise argparse.ArgumentTypeError(f"expected sizes below 2**31, got {text!r}")
    return sizes


def cmd_demo(args: argparse.Namespace) -> int:
    """The notebook's 2-4-2 XOR network step by step, then digits.

    Part 1 reruns the notebook: a 2-4-2 network (2 inputs, 4 ReLU units, 2 softmax
    outputs; --hidden and --activation change the middle layer) learns XOR by
    full-batch gradient descent on the cross-entropy loss, --steps steps at --lr.
    It prints the four points, the Xavier initialisation (the notebook's own
    numbers with --seed 42), a step-by-step trace of the first backward pass
    (every gradient's shape), the loss and accuracy at step 1 and every --every
    steps, the final predictions, loss and accuracy, the step at which all four
    points were first right (with the defaults it ends at 100 %), and the
    network's summary: layers, output shapes, parameters. A run too short to
    reach 100 % says so and still exits 0; an --lr so large that training
    diverges exits 2.

    Part 2 trains on scikit-learn's handwritten digits (8x8 images, 10 classes;
    1347 training and 450 test images, standardised): glassnet's MLPClassifier,
    with a progress bar on stderr, next to scikit-learn's MLPClassifier with the
    same settings (64-100-10, ReLU, Adam, --digits-epochs epochs), then both test
    accuracies. It needs scikit-learn and tqdm (pip install 'glassnet[demo]'), and
    is skipped with a note without them. With --out DIR it saves glassnet's
    learning curves, confusion matrix and network diagram (PNG) and its
    glassnet.report (report.html) into DIR, made if missing, and prints the
    folder's path; this needs matplotlib as well.

    Part 1 takes well under a second, part 2 a few seconds.
    """
    X, y = xor()
    trace.emit("=" * 60, "TRAINING A 2-4-2 NETWORK ON XOR (the notebook's run)", "=" * 60,
               f"X:\n{X}", f"y: {y}", "")
    weights, biases, layer_sizes, activation = F.initialise(
        [2, args.hidden, 2], args.activation, seed=args.seed, verbose=True)
    trace.emit("", f"Training for {args.steps} steps with learning_rate = {args.lr}", "-" * 60)
    solved_at = None
    for step in range(1, args.steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):  # a too large --lr: named below
            loss, accuracy, weights, biases = F.train_one_step(
                X, y, weights, biases, activation, args.lr, verbose=(step == 1))
        if not np.isfinite(loss):
            raise UsageError(f"training diverged at step {step} (the loss is {loss}): "
                             f"--lr {args.lr} is too large for this network")
        if step == 1 or step % args.every == 0:
            trace.training_step(step, loss, accuracy)
        if solved_at is None and accuracy == 100.0:
            solved_at = step
    probabilities = F.forward_pass(X, weights, biases, activation)
    predicted = np.argmax(probabilities, axis=1)
    final_accuracy = float(np.mean(predicted == y) * 100)
    loss, _ = F.cross_entropy_loss(y, probabilities)
    trace.emit("", "=" * 60, "FINAL RESULTS", "=" * 60,
               f"Final predictions:\n{np.round(probabilities, 4)}",
               f"Predicted classes: {predicted}", f"True classes:      {y}",
               f"Final loss: {loss:.6f}", f"Final accuracy: {final_accuracy:.1f}%",
               f"All four points first right at step {solved_at}" if solved_at else
               "The network did not solve XOR: try more steps or another learning rate", "")
    act_cls = ACTIVATIONS[activation]
    layers = []
    for l, (W, b) in enumerate(zip(weights, biases)):
        layers.append(Dense.from_arrays(W, b))
        if l < len(weights) - 1:
            layers.append(act_cls())
    trace.emit("Network summary (the output layer feeds a softmax):",
               Sequential(layers).summary())
    if args.digits:
        _demo_digits(args.digits_epochs, progress=not args.quiet, out=args.out)
    return 0


def _demo_digits(epochs: int, progress: bool = True, out: str | None = None) -> None:
    """Part 2: handwritten digits with a progress bar, next to scikit-learn's MLP; with
    ``out``, glassnet's figures and report saved there."""
    if out is not None and os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out}: not a folder")
    trace.emit("", "=" * 60, "PART 2: HANDWRITTEN DIGITS (8x8 images, 10 classes)", "=" * 60)
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.neural_network import MLPClassifier as SkMLPClassifier
        from sklearn.preprocessing import StandardScaler

        from .progress import ProgressBar
        from .sklearn import MLPClassifier
        ProgressBar(epochs)  # the bar verbose='progress' shows: ImportError without tqdm
    except ImportError:
        trace.emit("skipped: this part needs scikit-learn and tqdm "
                   "(pip install 'glassnet[demo]')")
        return
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    params = dict(hidden_layer_sizes=(100,), max_iter=epochs, random_state=0)
    trace.emit(f"{len(X_train)} training and {len(X_test)} test images; MLP 64-100-10, ReLU, "
               f"Adam, {epochs} epochs, the same settings for both libraries", "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: both stop at `epochs`
        ours = MLPClassifier(verbose="progress" if progress else False,
                             **params).fit(X_train, y_train)
        theirs = SkMLPClassifier(**params).fit(X_train, y_train)
    trace.emit(f"glassnet     test accuracy: {100 * ours.score(X_test, y_test):.2f}%",
               f"scikit-learn test accuracy: {100 * theirs.score(X_test, y_test):.2f}%")
    if out is not None:
        _save_demo_files(out, ours, X_test, y_test)


def _save_demo_files(out: str, estimator, X, y) -> None:
    """learning_curves.png, confusion_matrix.png, network.png and report.html in ``out``,
    drawn on Agg figures of their own (pyplot is never used); skipped without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from . import plot
        from .report import report
    except ImportError:
        trace.emit("figures not saved: they need matplotlib (pip install 'glassnet[demo]')")
        return
    os.makedirs(out, exist_ok=True)
    drawings = {"learning_curves.png": ((10, 4), lambda f: plot.learning_curves(
                    estimator.history_, ax=f.subplots(1, 2))),
                "confusion_matrix.png": ((6, 5), lambda f: plot.confusion_matrix(
                    estimator, X, y, ax=f.subplots())),
                "network.png": ((8, 5), lambda f: plot.network(estimator, ax=f.subplots()))}
    for name, (size, draw) in drawings.items():
        fig = Figure(figsize=size)
        FigureCanvasAgg(fig)
        draw(fig)
        fig.savefig(os.path.join(out, name), bbox_inches="tight")
    report(estimator, os.path.join(out, "report.html"), X, y,
           title="glassnet demo: handwritten digits (test images)")
    trace.emit(f"figures and report (test images) written to {os.path.abspath(out)}")


def cmd_gradcheck(args: argparse.Namespace) -> int:
    """Audit backprop against finite differences on random data.

    Builds an MLP of --layers in float64 (--init weights from --seed), draws
    --samples random input rows and targets that --loss accepts (class labels for
    cross_entropy, 0/1 for the binary losses, counts for poisson, real numbers for
    the others), and compares every element of every parameter's backprop gradient
    with a central finite difference of the loss plus the L2 penalty. Elements
    whose step would cross a kink (ReLU at 0) are skipped and counted. Prints one
    row a parameter (max absolute and relative error) and PASS or FAIL with the
    tolerances used.

    exit status: 0 when every gradient agrees with its finite difference; 1 when
    one does not, a bug in a backward pass (also under --quiet); 2 on bad usage.
    """
    rng = np.random.default_rng(args.seed)
    sizes = args.layers
    model = MLP(sizes, activation=args.activation, init=args.init, dtype="float64", seed=rng)
    X = rng.standard_normal((args.samples, sizes[0]))
    if args.loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], args.samples)
    elif args.loss.startswith("poisson"):  # counts
        y = rng.poisson(2.0, (args.samples, sizes[-1])).astype(float)
    elif issubclass(LOSSES[args.loss], BinaryCrossEntropy):  # 0/1 labels
        y = rng.integers(0, 2, (args.samples, sizes[-1])).astype(float)
    else:
        y = rng.standard_normal((args.samples, sizes[-1]))
    report = gradcheck(model, args.loss, X, y, l2=args.l2)
    trace.emit(f"gradcheck: {'-'.join(map(str, sizes))} {args.activation}, loss {args.loss}, "
               f"l2 {args.l2}, {args.samples} samples", "")
    trace.table(str(report))
    return 0 if report.ok else 1


def cmd_inspect(args: argparse.Namespace) -> int:
    """Show what a model file holds, without building the model.

    Reads only the header of a .safetensors file written by glassnet.save and
    checks it as glassnet.load does: the format version, every key against the
    schema, the layer names, the shapes chaining layer to layer, the dtypes and
    the tensors' offsets. It prints the file's format, the glassnet that wrote
    it, the kind and dtype, each layer's stored configuration, then the table
    model.summary() prints: layer, output shape and parameters, with the total.
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
    trace.emit(f"dtype: {model['dtype']}", "layers:")
    width = max((len(layer["type"]) for layer in model["layers"]), default=0)
    trace.emit(*(f"  {i:<3d}{layer['type']:<{width}}  {json.dumps(layer['config'])}"
                 for i, layer in enumerate(model["layers"])), "")
    trace.table(info.summary())
    return 0


_DESCRIPTION = """\
glassnet: neural networks in NumPy with every formula in sight. Each layer,
activation, loss and optimizer is a few lines in which its forward and backward
equations can be read. These commands run the demo, audit the gradients and
inspect model files."""

_EPILOG = """\
Run 'glassnet COMMAND --help' for a command's options and examples;
'python -m glassnet' is the same command line.

exit status: 0 on success; 2 on bad usage or bad input, with one line beginning
'error:' on stderr; 1 for a bug, or a gradient that fails the audit; 141 when the
reader of the output goes away (| head).

examples:
  glassnet demo --no-digits
  glassnet gradcheck --layers 4,16,3 --activation gelu
  glassnet inspect model.safetensors"""


def _command(sub, func, **kwargs) -> argparse.ArgumentParser:
    """The command ``cmd_NAME`` runs, with its docstring as help: the first line in
    'glassnet --help', the whole in 'glassnet NAME --help'."""
    doc = inspect.getdoc(func)
    name = func.__name__.removeprefix("cmd_")
    summary = doc.splitlines()[0].rstrip(".")
    parser = sub.add_parser(name, help=summary[0].lower() + summary[1:], description=doc, **kwargs)
    parser.set_defaults(func=func)
    return parser


def _name_option(parser: argparse.ArgumentParser, flag: str, registry, default: str,
                 what: str) -> None:
    """An option naming an entry of ``registry``: any case, aliases followed ("Logistic" is
    "sigmoid"), the choices listed in its help."""
    parser.add_argument(flag, default=default, choices=sorted(registry), type=registry.canonical,
                        metavar="NAME", help=f"{what}, one of: %(choices)s; any case "
                                             "(default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command. Option help states its default and lists its choices,
    which come from the registries (ACTIVATIONS, LOSSES, INITIALISERS)."""
    parser = _Parser(prog="glassnet", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}",
                        help="print glassnet's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                title="commands")
    sub.required = True
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing (no trace, no table, no progress bar): the exit "
                             "status alone tells")

    demo = _command(sub, cmd_demo, parents=[common], epilog="""\
examples:
  glassnet demo
  glassnet demo --no-digits --steps 60 --every 5
  glassnet demo --activation tanh --hidden 8 --lr 0.5 --digits-epochs 20
  glassnet demo --out glassnet-demo    (then open glassnet-demo/report.html)""")
    demo.add_argument("--hidden", type=_positive_int, default=4, metavar="N",
                      help="hidden units of the XOR network (default: %(default)s)")
    _name_option(demo, "--activation", ACTIVATIONS, "relu", "hidden-layer activation")
    demo.add_argument("--lr", type=_positive_float, default=0.1, metavar="X",
                      help="learning rate of gradient descent (default: %(default)s)")
    demo.add_argument("--seed", type=_seed, default=42, metavar="N",
                      help="seed of the initial weights, 0 to 2**32 - 1; 42 gives the notebook's "
                           "numbers (default: %(default)s)")
    demo.add_argument("--steps", type=_positive_int, default=1000, metavar="N",
                      help="training steps, each on all four points (default: %(default)s)")
    demo.add_argument("--every", type=_positive_int, default=100, metavar="N",
                      help="print the loss and accuracy at step 1 and every N steps "
                           "(default: %(default)s)")
    demo.add_argument("--no-digits", dest="digits", action="store_false",
                      help="skip part 2, the handwritten digits next to scikit-learn")
    demo.add_argument("--digits-epochs", type=_positive_int, default=100, metavar="N",
                      help="epochs of part 2, for both libraries (default: %(default)s)")
    demo.add_argument("--out", metavar="DIR", default=None,
                      help="save part 2's figures (learning_curves.png, confusion_matrix.png, "
                           "network.png) and report.html into DIR, made if missing")

    gc = _command(sub, cmd_gradcheck, parents=[common], epilog="""\
examples:
  glassnet gradcheck
  glassnet gradcheck --layers 3,16,16,1 --activation gelu --loss huber --l2 0.01
  glassnet gradcheck --quiet && echo "backprop agrees\"""")
    gc.add_argument("--layers", type=_ints, default="4,8,3", metavar="SIZES",  # parsed by _ints
                    help="layer sizes from input to output, comma-separated "
                         "(default: %(default)s)")
    _name_option(gc, "--activation", ACTIVATIONS, "tanh", "hidden-layer activation")
    _name_option(gc, "--loss", LOSSES, "cross_entropy", "loss on the output layer")
    _name_option(gc, "--init", INITIALISERS, "xavier", "weight initialiser")
    gc.add_argument("--l2", type=float, default=0.0, metavar="X",
                    help="L2 penalty strength, 0 or more (default: %(default)s)")
    gc.add_argument("--samples", type=_positive_int, default=16, metavar="N",
                    help="random input rows (default: %(default)s)")
    gc.add_argument("--seed", type=_seed, default=0, metavar="N",
                    help="seed of the weights, inputs and targets, 0 to 2**32 - 1 "
                         "(default: %(default)s)")

    ins = _command(sub, cmd_inspect, parents=[common], epilog="""\
examples:
  glassnet inspect model.safetensors
  glassnet inspect model.safetensors --json""")
    ins.add_argument("model", metavar="MODEL",
                     help="a model file written by glassnet.save (.safetensors)")
    ins.add_argument("--json", action="store_true",
                     help="print the stored configuration as JSON, and nothing else")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not args.quiet:
            return args.func(args)
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            return args.func(args)
    except (UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: not enough memory for the sizes asked for", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as on SIGPIPE
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 141
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
