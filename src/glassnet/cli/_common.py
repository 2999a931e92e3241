"""What every command shares: the parser that reports bad usage in one line, the option types,
and the helpers that make a command from its function."""

from __future__ import annotations

import argparse
import inspect

__all__ = ["UsageError", "Parser", "command", "name_option", "positive_int", "seed",
           "positive_float", "ints"]


class UsageError(Exception):
    """Bad usage or bad input: reported as ``error: ...`` with exit status 2."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs keep their line breaks (paragraphs, examples); option help is
    wrapped to the terminal, in a column wide enough for the longest option
    (``--validation-fraction X``) to share a line with its help."""

    def __init__(self, prog: str, **kwargs) -> None:
        super().__init__(prog, max_help_position=30, **kwargs)

    def add_argument(self, action: argparse.Action) -> None:
        if action.nargs == argparse.PARSER:  # the commands: measured at the deeper indent they
            self._indent()                   # are listed at, so their help starts in one column
            super().add_argument(action)
            self._dedent()
        else:
            super().add_argument(action)


class Parser(argparse.ArgumentParser):
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


positive_int = _number(int, 0, float("inf"), "a positive int")
seed = _number(int, -1, 2**32, "an int from 0 to 2**32 - 1")
positive_float = _number(float, 0.0, float("inf"), "a positive number")


def ints(text: str) -> list[int]:
    try:
        sizes = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    if any(size >= 2**31 for size in sizes):  # beyond any array NumPy can make
        raise argparse.ArgumentTypeError(f"expected sizes below 2**31, got {text!r}")
    return sizes


def command(sub, func, **kwargs) -> argparse.ArgumentParser:
    """The command ``cmd_NAME`` runs, with its docstring as help: the first line in
    'glassnet --help', the whole in 'glassnet NAME --help'."""
    doc = inspect.getdoc(func)
    name = func.__name__.removeprefix("cmd_")
    summary = doc.splitlines()[0].rstrip(".")
    parser = sub.add_parser(name, help=summary[0].lower() + summary[1:], description=doc, **kwargs)
    parser.set_defaults(func=func)
    return parser


def name_option(parser: argparse.ArgumentParser, flag: str, registry, default: str,
                 what: str) -> None:
    """An option naming an entry of ``registry``: any case, aliases followed ("Logistic" is
    "sigmoid"), the choices listed in its help."""
    parser.add_argument(flag, default=default, choices=sorted(registry), type=registry.canonical,
                        metavar="NAME", help=f"{what}, one of: %(choices)s; any case "
                                             "(default: %(default)s)")


