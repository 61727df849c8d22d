"""What every command module shares: its :class:`Output` and the way it adds its parser."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field


@dataclass
class Output:
    """What a command returns: text for people, data for ``--json``."""

    text: str
    data: dict = field(default_factory=dict)


def examples(*lines: str) -> str:
    """An ``epilog`` of example invocations for a subcommand's ``--help``."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def add_command(subparsers, common, name: str, help: str, example_lines: list[str]):
    """A subcommand parser with the shared options and an examples epilog."""
    return subparsers.add_parser(name, parents=[common], help=help, description=help,
                                 epilog=examples(*example_lines),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
