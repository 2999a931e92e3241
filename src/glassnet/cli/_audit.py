"""``glassnet gradcheck``: backprop audited against finite differences."""

from __future__ import annotations

import argparse

import numpy as np

from .. import trace
from ..activations import ACTIVATIONS
from ..grad import gradcheck
from ..init import INITIALISERS
from ..losses import LOSSES, BinaryCrossEntropy
from ..model import MLP
from ._common import command, ints, name_option, positive_int, seed


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




def add_gradcheck(sub, common) -> None:
    gc = command(sub, cmd_gradcheck, parents=[common], epilog="""\
examples:
  glassnet gradcheck
  glassnet gradcheck --layers 3,16,16,1 --activation gelu --loss huber --l2 0.01
  glassnet gradcheck --quiet && echo "backprop agrees\"""")
    gc.add_argument("--layers", type=ints, default="4,8,3", metavar="SIZES",  # parsed by _ints
                    help="layer sizes from input to output, comma-separated "
                         "(default: %(default)s)")
    name_option(gc, "--activation", ACTIVATIONS, "tanh", "hidden-layer activation")
    name_option(gc, "--loss", LOSSES, "cross_entropy", "loss on the output layer")
    name_option(gc, "--init", INITIALISERS, "xavier", "weight initialiser")
    gc.add_argument("--l2", type=float, default=0.0, metavar="X",
                    help="L2 penalty strength, 0 or more (default: %(default)s)")
    gc.add_argument("--samples", type=positive_int, default=16, metavar="N",
                    help="random input rows (default: %(default)s)")
    gc.add_argument("--seed", type=seed, default=0, metavar="N",
                    help="seed of the weights, inputs and targets, 0 to 2**32 - 1 "
                         "(default: %(default)s)")

