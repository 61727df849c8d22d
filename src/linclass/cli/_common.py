"""What every command module shares: its :class:`Output` and the way it adds its parser."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

COMMANDS = {
    "train": "Train a linear classifier, evaluate it, write a report.",
    "evaluate": "Evaluate a trained model on a data set's test split.",
    "predict": "Classify image files with a trained model.",
    "strategies": "Random search vs random local search vs minibatch gradient descent, as in the lecture.",
    "explain": "Explain the lecture step by step, with its numbers.",
    "gradcheck": "Check the analytic gradient against centered differences on random data.",
    "knn": "k-nearest neighbours: choose k by cross-validation, report test accuracy, plot accuracy vs k.",
    "demo": "Open the interactive 2-D linear classifier page (loss, gradient, optimizer steps)",
    "tune": "Search learning rate × regularization on a validation split or by k-fold CV, in parallel.",
    "probe": "Fit a linear probe (L2 softmax, scikit-learn's LogisticRegression objective) on embeddings.",
}
"""Every subcommand and its one-line help, in the order ``linclass --help`` lists them. The module
``linclass.cli.<name>`` provides ``register(subparsers, common)``; it is imported only when that command
runs (:func:`linclass.cli.app.main`), so each command pays only for the libraries it uses."""


@dataclass
class Output:
    """What a command returns: text for people, data for ``--json``."""

    text: str
    data: dict = field(default_factory=dict)


def examples(*lines: str) -> str:
    """An ``epilog`` of example invocations for a subcommand's ``--help``."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def add_command(subparsers, common, name: str, example_lines: list[str]):
    """The parser of subcommand ``name``: its help from :data:`COMMANDS`, the shared options, an examples epilog."""
    return subparsers.add_parser(name, parents=[common], help=COMMANDS[name], description=COMMANDS[name],
                                 epilog=examples(*example_lines),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
