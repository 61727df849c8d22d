"""The ``linclass`` command line.

Each subcommand lives in its own module of this package and provides
``register(subparsers, common)``, which adds its parser and sets
``run=function(args) -> Output``. :func:`main` prints the output as text, or as
one JSON object with ``--json``, and turns a :class:`LinclassError` into a
one-line message and exit code 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from dataclasses import dataclass, field

from ..errors import LinclassError

COMMANDS = ["train", "evaluate", "predict", "strategies", "explain", "gradcheck", "knn", "demo", "tune", "probe"]
"""Subcommand modules, in the order ``linclass --help`` lists them."""

EPILOG = """examples:
  linclass train                          softmax on scikit-learn's digits (offline), with a report
  linclass train --data cifar10-jpg.tar.gz --loss svm
  linclass explain                        the slides' SVM example, term by term
  linclass explain --loss softmax         the same scores through softmax
  linclass gradcheck --loss svm --reg l2  analytic vs numerical gradient
  linclass demo                           the interactive 2-D classifier in the browser

Each command has --help with examples, and --json for machine-readable output.
"""


@dataclass
class Output:
    """What a command returns: text for people, data for ``--json``."""

    text: str
    data: dict = field(default_factory=dict)


def examples(*lines: str) -> str:
    """An ``epilog`` of example invocations for a subcommand's ``--help``."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linclass", description="Train, check and explain linear image classifiers.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"linclass {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    common.add_argument("--debug", action="store_true", help="show the traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers, common)
    return parser


def add_command(subparsers, common, name: str, help: str, example_lines: list[str]):
    """A subcommand parser with the shared options and an examples epilog."""
    return subparsers.add_parser(name, parents=[common], help=help, description=help,
                                 epilog=examples(*example_lines),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


def main(argv=None) -> int:
    parser = build_parser()
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
    if args.json:
        print(json.dumps(out.data, indent=2, allow_nan=False))
    else:
        print(out.text)
    return 0
