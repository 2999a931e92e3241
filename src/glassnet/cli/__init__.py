"""The ``glassnet`` command line.

Exit status: 0 on success; 2 on bad usage or bad input (sizes too large for memory included,
and a missing optional dependency, named with its extra), with a one-line ``error:`` message
on stderr, no traceback and no file written; 1 only for a bug (or a failed gradient audit,
which is one); 141 when the reader of the output goes away (``| head``), as for a command
stopped by SIGPIPE. A demo that ends short of 100 % (too few ``--steps``) says so and still
exits 0.

  _common.py   the parser that reports bad usage in one line; option types; a command from
               its function (its docstring is its help)
  _demo.py     demo: the notebook's XOR network, then digits next to scikit-learn
  _train.py    train: a network on a table or a built-in data set
  _use.py      evaluate and predict: a trained model on new rows
  _data.py     what those three share: DATA as a table, output paths, the metrics table
  _inspect.py  inspect: a model file's header
  _audit.py    gradcheck: backprop against finite differences
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Sequence

from .. import __version__
from ._audit import add_gradcheck
from ._common import Parser, UsageError
from ._demo import add_demo
from ._inspect import add_inspect
from ._train import add_train
from ._use import add_evaluate, add_predict

__all__ = ["main", "build_parser", "UsageError"]

_DESCRIPTION = """\
glassnet: neural networks in NumPy with every formula in sight. Each layer,
activation, loss and optimizer is a few lines in which its forward and backward
equations can be read. These commands run the demo, train a network on a CSV or
Parquet table or a built-in data set and use it on new rows, inspect model
files and audit the gradients."""

_EPILOG = """\
Run 'glassnet COMMAND --help' for a command's options and examples;
'python -m glassnet' is the same command line.

exit status: 0 on success; 2 on bad usage or bad input, with one line beginning
'error:' on stderr; 1 for a bug, or a gradient that fails the audit; 141 when the
reader of the output goes away (| head).

examples:
  glassnet demo --no-digits
  glassnet train iris --out iris.safetensors
  glassnet evaluate iris.safetensors iris
  glassnet inspect iris.safetensors
  glassnet gradcheck --layers 4,16,3 --activation gelu"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command. Option help states its default and lists its choices,
    which come from the registries (ACTIVATIONS, LOSSES, INITIALISERS)."""
    parser = Parser(prog="glassnet", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}",
                        help="print glassnet's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser,
                                title="commands")
    sub.required = True
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing (no trace, no table, no progress bar): the exit "
                             "status alone tells")

    add_demo(sub, common)
    add_train(sub, common)
    add_evaluate(sub, common)
    add_predict(sub, common)
    add_inspect(sub, common)
    add_gradcheck(sub, common)
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
    except ImportError as exc:  # an optional dependency: the message names its extra
        if "pip install" not in str(exc):
            raise
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
