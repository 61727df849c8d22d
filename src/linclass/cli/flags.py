"""The range of every numeric command-line flag, checked once after parsing.

A flag is named by its ``dest`` (``--batch-size`` → ``batch_size``); flags with
the same name mean the same thing in every command. :func:`validate` checks
each int/float flag the command has against :data:`FLAGS` and raises a
:class:`ParameterError` naming the flag and a valid example. Every int/float
flag must have an entry (a test enumerates the parsers to make sure).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._checks import REG_STRENGTH_MAX, integer, number


@dataclass(frozen=True)
class Flag:
    """An int or float flag's valid range (``low_open`` / ``high_open``: excluding that end) and an example."""

    kind: type
    low: float | None
    high: float | None
    example: str
    low_open: bool = False
    high_open: bool = False

    def check(self, value, name: str):
        hint = f"; e.g. {name} {self.example}"
        if self.kind is int:
            return integer(value, name, self.low, maximum=self.high, hint=hint)
        return number(value, name, low=self.low, high=self.high, low_open=self.low_open, high_open=self.high_open,
                      hint=hint)


MAX_SEED = 2**32 - 1
"""Seeds go to NumPy and scikit-learn (``random_state``), which take 0 … 2**32 − 1."""

MANY = 10**7
"""More examples, steps or evaluations than any run here needs: larger values are typing mistakes."""

FLAGS = {
    # data
    "subset": Flag(int, 1, MANY, "1000"),
    "val_size": Flag(int, 0, MANY, "1000"),
    "max_pixels": Flag(int, 1, 1 << 40, str(1 << 26)),
    "max_member_bytes": Flag(int, 1, 1 << 50, str(1 << 28)),
    "max_total_bytes": Flag(int, 1, 1 << 60, str(1 << 36)),
    "max_ratio": Flag(float, 1, 1e9, "200"),
    # training
    "lr": Flag(float, 0, 1e6, "0.01", low_open=True),
    "reg_strength": Flag(float, 0, REG_STRENGTH_MAX, "1e-3"),
    "batch_size": Flag(int, 1, MANY, "64"),
    "epochs": Flag(int, 1, 10**6, "10"),
    "iterations": Flag(int, 1, 10**9, "500"),
    "patience": Flag(int, 1, 10**6, "5"),
    "n_words": Flag(int, 2, 10**5, "1600"),
    "budget": Flag(int, 1, MANY, "1000"),
    "seed": Flag(int, 0, MAX_SEED, "0"),
    # predict, explain, gradcheck
    "top": Flag(int, 1, 10**6, "3"),
    "delta": Flag(float, 0, 1e6, "1"),
    "examples": Flag(int, 1, 10**5, "20"),
    "features": Flag(int, 1, 10**4, "10"),
    "classes": Flag(int, 2, 10**3, "4"),
    "checks": Flag(int, 1, 10**4, "20"),
    "step": Flag(float, 0, 1, "1e-5", low_open=True),
    "h": Flag(float, 0, 1, "1e-4", low_open=True),
    # knn, tune
    "folds": Flag(int, 2, 100, "5"),
    "train_size": Flag(int, 1, MANY, "5000"),
    "test_size": Flag(int, 1, MANY, "500"),
    "chunk_size": Flag(int, 1, MANY, "1024"),
    "random": Flag(int, 1, 10**5, "20"),
    "cv": Flag(int, 2, 100, "5"),
    "jobs": Flag(int, 1, 1024, "2"),
    "threads_per_job": Flag(int, 1, 1024, "1"),
    # probe
    "tol": Flag(float, 0, 1, "1e-4", low_open=True, high_open=True),
    "max_iter": Flag(int, 1, 10**6, "1000"),
    "chunk_rows": Flag(int, 1, MANY, "16384"),
    "shots": Flag(int, 1, MANY, "16"),
    # demo
    "port": Flag(int, 0, 65535, "8000"),
}


def option_name(action) -> str:
    """The long name of an argparse action (``--batch-size``), or its dest for a positional."""
    longs = [s for s in action.option_strings if s.startswith("--")]
    return (longs or action.option_strings or [action.dest])[0]


def numeric_actions(parser):
    """The actions of ``parser`` whose values argparse converts with int or float."""
    return [a for a in parser._actions if a.type in (int, float)]


def validate(parser, args) -> None:
    """Check every numeric flag of ``parser`` present in ``args`` (None = not given, keep the default)."""
    for action in numeric_actions(parser):
        value = getattr(args, action.dest, None)
        if value is not None and action.dest in FLAGS:
            setattr(args, action.dest, FLAGS[action.dest].check(value, option_name(action)))


def example(action) -> str | None:
    """A valid value of ``action``'s flag, for error messages."""
    rule = FLAGS.get(action.dest)
    return rule.example if rule is not None and action.type in (int, float) else None
