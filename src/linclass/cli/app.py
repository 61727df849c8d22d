"""The ``linclass`` parser and :func:`main`.

Each subcommand lives in its own module of this package and provides
``register(subparsers, common)``, which adds its parser and sets
``run=function(args) -> Output``; only the module of the command that runs is
imported (the others appear in ``--help`` by their line in :data:`COMMANDS`).
:func:`main` prints the output as text, or as one JSON object with ``--json``,
and turns a :class:`LinclassError` into a one-line message and exit code 2 (a traceback only with ``--debug``).

No input gives a traceback: argparse errors are one line with a "did you mean";
every numeric flag is range-checked by :mod:`.flags`; an ``OSError`` (full disk,
read-only folder) or ``MemoryError`` is one line and exit 2; anything else is a
bug, reported in one line with exit 1.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import importlib
import json
import os
import re
import sys

from .._version import __version__
from ..errors import LinclassError
from . import flags
from ._common import COMMANDS

EPILOG = """examples:
  linclass train                          softmax on scikit-learn's digits (offline), with a report
  linclass data export cifar10 data/cifar10-jpg   CIFAR-10 as class folders of JPEGs (downloaded once)
  linclass train --data data/cifar10-jpg --loss svm   an SVM on them
  linclass explain                        the lecture's SVM example, term by term
  linclass explain --loss softmax         the same scores through softmax
  linclass gradcheck --loss svm --penalty l2  analytic vs numerical gradient
  linclass demo                           the interactive 2-D classifier in the browser

Each command has --help with examples, and --json for machine-readable output.
"""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, with a "did you mean" where a name is close."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_explain_parse_error(self, message)}\n")


def _explain_parse_error(parser, message: str) -> str:
    """argparse's ``message``, plus a valid example for a bad number and a close match for a bad choice."""
    bad_value = re.match(r"argument (\S+?)(?:/\S+)?: invalid (?:int|float) value: ", message)
    if bad_value:
        action = next((a for a in parser._actions if bad_value.group(1) in a.option_strings), None)
        value = flags.example(action) if action is not None else None
        return message + (f"; e.g. {flags.option_name(action)} {value}" if value is not None else "")
    needs_value = re.match(r"argument (\S+?)(?:/\S+)?: expected one argument$", message)
    if needs_value:
        action = next((a for a in parser._actions if needs_value.group(1) in a.option_strings), None)
        if action is not None and action.type in (int, float):
            name = flags.option_name(action)
            return message + f"; a negative number needs '=', e.g. {name}=-1e-3"
    bad_choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
    if bad_choice:
        choices = re.findall(r"'([^']*)'", bad_choice.group(2)) or bad_choice.group(2).split(", ")
        return message + _did_you_mean(bad_choice.group(1), choices)
    if message.startswith("the following arguments are required"):
        return message + f"; `{parser.prog} --help` shows what to give"
    return message


def _did_you_mean(word: str, candidates) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _unrecognized(parser, extras: list[str]) -> str:
    """One line for arguments the command does not know, with the closest option name."""
    options = {s.lstrip("-"): s for a in parser._actions for s in a.option_strings if s.startswith("--")}
    close = [difflib.get_close_matches(e.split("=")[0].lstrip("-"), list(options), n=1, cutoff=0.6)
             for e in extras if e.startswith("-")]
    hint = next((f"; did you mean {options[c[0]]}?" for c in close if c),
                f"; `{parser.prog} --help` lists the options")
    return f"unrecognized argument{'s' if len(extras) > 1 else ''} {' '.join(extras)}{hint}"


def build_parser(commands=tuple(COMMANDS)) -> argparse.ArgumentParser:
    """The parser, with the full parsers of ``commands`` (default: all) and a help line for the others."""
    parser = Parser(
        prog="linclass", description="Train, check and explain linear image classifiers.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"linclass {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    common.add_argument("--debug", action="store_true", help="show the traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (summary, _) in COMMANDS.items():
        if name in commands:  # the lazy command loader: a command's libraries load only when it runs
            importlib.import_module(f"{__package__}.{name}").register(subparsers, common)
        else:
            subparsers.add_parser(name, help=summary)
    parser.commands = subparsers.choices
    """Each command's parser, by name."""
    return parser


def command_name(argv) -> str | None:
    """The subcommand in ``argv``: its first word that is not an option (the top level has no valued option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _os_error_text(err: OSError) -> str:
    """One line for an OSError: what happened to which file, and what to do."""
    where = f" ({err.filename})" if err.filename else ""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on the device{where}; free some space or write elsewhere with --out."
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied{where}; choose a writable --out directory."
    if err.errno in (errno.EEXIST, errno.ENOTDIR):
        return f"a file is in the way{where}; give a folder that is not a file, e.g. --out runs/mine."
    if err.errno == errno.ENOENT:
        return f"no such file or directory{where}; check the path given on the command line."
    return f"{err.strerror or err}{where}; check the paths given on the command line."


def main(argv=None) -> int:
    """Run ``linclass`` with ``argv`` (default: the command line); return the exit code.

    No arguments print the help. 0: success; 2: bad input, files or settings (one line on stderr); 130: interrupted;
    1: a bug in linclass (one line, the traceback with ``--debug``).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(tuple(n for n in [command_name(argv)] if n in COMMANDS))
    if not argv:  # plain `linclass`: what it does and its commands, as --help shows them
        parser.print_help()
        return 0
    try:
        args, extras = parser.parse_known_args(argv)
        command = parser.commands[args.command]
        if extras:
            command.error(_unrecognized(command, extras))
        flags.validate(command, args)
        flags.print_notes(args)
    except SystemExit as done:  # --help, --version, or a parse error already printed
        return done.code if isinstance(done.code, int) else 0
    except LinclassError as err:  # a flag's value (its range, or an old spelling's) refused
        print(f"linclass {command_name(argv)}: error: {err}", file=sys.stderr)
        return 2
    try:
        out = args.run(args)
    except Exception as err:
        if args.debug:
            raise
        if isinstance(err, LinclassError):
            message, code = str(err), 2
        elif isinstance(err, OSError):
            message, code = _os_error_text(err), 2
        elif isinstance(err, MemoryError):
            message, code = "not enough memory; use a smaller --subset, --batch-size or --image-size.", 2
        else:
            message, code = (f"internal error ({type(err).__name__}: {err}); this is a bug in linclass: "
                             "please report it with the command and its --debug output."), 1
        print(f"linclass {args.command}: error: {message}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print(f"linclass {args.command}: interrupted", file=sys.stderr)
        return 130
    try:
        print(json.dumps(out.data, indent=2, allow_nan=False) if args.json else out.text, flush=True)
    except BrokenPipeError:  # the reader left (``| head``): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
    return 0
