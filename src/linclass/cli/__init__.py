"""The ``linclass`` command line.

Each subcommand lives in its own module of this package (listed in :mod:`.app`) and provides
``register(subparsers, common)``, which adds its parser and sets
``run=function(args) -> Output``. :func:`main` prints the output as text, or as
one JSON object with ``--json``, and turns a :class:`LinclassError` into a
one-line message and exit code 2 (a traceback only with ``--debug``).
"""

from ._common import COMMANDS, Output, add_command
from .app import build_parser, main

__all__ = ["COMMANDS", "Output", "add_command", "build_parser", "main"]
