"""The ``linclass`` parser and :func:`main`.

Each subcommand lives in its own module of this package and provides
``register(subparsers, common)``, which adds its parser and sets
``run=function(args) -> Output``; only the module of the command that runs is
imported (the others appear in ``--help`` by their line in :data:`COMMANDS`).
:func:`main` prints the output as text, or as one JSON object with ``--json``,
and turns a :class:`LinclassError` into a one-line message and exit code 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from .._version import __version__
from ..errors import LinclassError
from ._common import COMMANDS

EPILOG = """examples:
  linclass train                          softmax on scikit-learn's digits (offline), with a report
  linclass train --data cifar10-jpg.tar.gz --loss svm
  linclass explain                        the slides' SVM example, term by term
  linclass explain --loss softmax         the same scores through softmax
  linclass gradcheck --loss svm --reg l2  analytic vs numerical gradient
  linclass demo                           the interactive 2-D classifier in the browser

Each command has --help with examples, and --json for machine-readable output.
"""


def build_parser(commands=tuple(COMMANDS)) -> argparse.ArgumentParser:
    """The parser, with the full parsers of ``commands`` (default: all) and a help line for the others."""
    parser = argparse.ArgumentParser(
        prog="linclass", description="Train, check and explain linear image classifiers.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"linclass {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    common.add_argument("--debug", action="store_true", help="show the traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary in COMMANDS.items():
        if name in commands:  # the lazy command loader: a command's libraries load only when it runs
            importlib.import_module(f"{__package__}.{name}").register(subparsers, common)
        else:
            subparsers.add_parser(name, help=summary)
    return parser


def command_name(argv) -> str | None:
    """The subcommand in ``argv``: its first word that is not an option (the top level has no valued option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(tuple(n for n in [command_name(argv)] if n in COMMANDS))
    args = parser.parse_args(argv)
    try:
        out = args.run(args)
    except LinclassError as err:
        if args.debug:
            raise
        print(f"linclass {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"linclass {args.command}: interrupted", file=sys.stderr)
        return 130
    try:
        print(json.dumps(out.data, indent=2, allow_nan=False) if args.json else out.text, flush=True)
    except BrokenPipeError:  # the reader left (``| head``): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
    return 0
