"""The ``linclass`` command line.

Each subcommand lives in its own module of this package and provides
``register(subparsers, common)``, which adds its parser and sets
``run=function(args) -> Output``. :func:`main` prints the output as text, or as
one JSON object with ``--json``, and turns a :class:`LinclassError` into a
one-line message and exit code 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .._version import __version__
from ..errors import LinclassError
from . import demo, evaluate, explain, gradcheck, knn, predict, probe, strategies, train, tune

COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "strategies": strategies, "explain": explain,
            "gradcheck": gradcheck, "knn": knn, "demo": demo, "tune": tune, "probe": probe}
"""Subcommand modules by name, in the order ``linclass --help`` lists them."""

EPILOG = """examples:
  linclass train                          softmax on scikit-learn's digits (offline), with a report
  linclass train --data cifar10-jpg.tar.gz --loss svm
  linclass explain                        the slides' SVM example, term by term
  linclass explain --loss softmax         the same scores through softmax
  linclass gradcheck --loss svm --reg l2  analytic vs numerical gradient
  linclass demo                           the interactive 2-D classifier in the browser

Each command has --help with examples, and --json for machine-readable output.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linclass", description="Train, check and explain linear image classifiers.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"linclass {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    common.add_argument("--debug", action="store_true", help="show the traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS.values():
        module.register(subparsers, common)
    return parser


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
    try:
        print(json.dumps(out.data, indent=2, allow_nan=False) if args.json else out.text, flush=True)
    except BrokenPipeError:  # the reader left (``| head``): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
    return 0
