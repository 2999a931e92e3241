"""``glassnet demo``: the notebook's XOR network step by step, then digits next to scikit-learn."""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np

from .. import functional as F
from .. import trace
from ..activations import ACTIVATIONS
from ..datasets import xor
from ..layers import Dense
from ..model import Sequential
from ._common import UsageError, command, name_option, positive_float, positive_int, seed


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

        from ..progress import ProgressBar
        from ..sklearn import MLPClassifier
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

        from .. import plot
        from ..report import report
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




def add_demo(sub, common) -> None:
    demo = command(sub, cmd_demo, parents=[common], epilog="""\
examples:
  glassnet demo
  glassnet demo --no-digits --steps 60 --every 5
  glassnet demo --activation tanh --hidden 8 --lr 0.5 --digits-epochs 20
  glassnet demo --out glassnet-demo    (then open glassnet-demo/report.html)""")
    demo.add_argument("--hidden", type=positive_int, default=4, metavar="N",
                      help="hidden units of the XOR network (default: %(default)s)")
    name_option(demo, "--activation", ACTIVATIONS, "relu", "hidden-layer activation")
    demo.add_argument("--lr", type=positive_float, default=0.1, metavar="X",
                      help="learning rate of gradient descent (default: %(default)s)")
    demo.add_argument("--seed", type=seed, default=42, metavar="N",
                      help="seed of the initial weights, 0 to 2**32 - 1; 42 gives the notebook's "
                           "numbers (default: %(default)s)")
    demo.add_argument("--steps", type=positive_int, default=1000, metavar="N",
                      help="training steps, each on all four points (default: %(default)s)")
    demo.add_argument("--every", type=positive_int, default=100, metavar="N",
                      help="print the loss and accuracy at step 1 and every N steps "
                           "(default: %(default)s)")
    demo.add_argument("--no-digits", dest="digits", action="store_false",
                      help="skip part 2, the handwritten digits next to scikit-learn")
    demo.add_argument("--digits-epochs", type=positive_int, default=100, metavar="N",
                      help="epochs of part 2, for both libraries (default: %(default)s)")
    demo.add_argument("--out", metavar="DIR", default=None,
                      help="save part 2's figures (learning_curves.png, confusion_matrix.png, "
                           "network.png) and report.html into DIR, made if missing")

