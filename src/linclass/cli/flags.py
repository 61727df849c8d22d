"""Every command-line flag: its one meaning, and the range of every numeric one, checked once after parsing.

:data:`FLAGS` names each flag by its ``dest`` (``--batch-size`` → ``batch_size``) and says what it
means; a flag name means the same thing in every command (``tests/test_flags.py`` holds each name to
one meaning: the same kind of value, nested choices, the same metavar). :func:`validate` checks each
int/float flag a command has against its range and raises a :class:`ParameterError` naming the flag
and a valid example. Old spellings (:data:`RENAMED`) still parse: :class:`Renamed` hands the value to
the new flag and prints a one-line note naming it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from .._checks import MAX_SEED, REG_STRENGTH_MAX, integer, number
from ..errors import ParameterError


@dataclass(frozen=True)
class Flag:
    """A flag's meaning and the kind of its value: ``int``, ``float``, ``str`` or ``bool`` (a switch).

    Numbers have a valid range (``low_open`` / ``high_open``: excluding that end) and an example;
    ``lists``: the commands in which the flag takes a comma list of such numbers (a search's grid);
    ``metavars``: the metavars the flag may show, when not one for all commands.
    """

    meaning: str
    kind: type = str
    low: float | None = None
    high: float | None = None
    example: str = ""
    low_open: bool = False
    high_open: bool = False
    lists: tuple = ()
    metavars: tuple = ()

    def check(self, value, name: str):
        hint = f"; e.g. {name} {self.example}"
        if self.kind is int:
            return integer(value, name, self.low, maximum=self.high, hint=hint)
        return number(value, name, low=self.low, high=self.high, low_open=self.low_open, high_open=self.high_open,
                      hint=hint)


def _int(meaning, low, high, example, **more) -> Flag:
    return Flag(meaning, int, low, high, example, **more)


def _float(meaning, low, high, example, **more) -> Flag:
    return Flag(meaning, float, low, high, example, **more)


def _switch(meaning) -> Flag:
    return Flag(meaning, bool)


MANY = 10**7
"""More examples, steps or evaluations than any run here needs: larger values are typing mistakes."""

FLAGS = {
    # every command
    "json": _switch("print one JSON object instead of text"),
    "debug": _switch("show the traceback on errors"),
    "out": Flag("where the command writes: a folder (DIR), or predict's one table of rows (FILE)",
                metavars=("DIR", "FILE")),
    "overwrite": _switch("replace the finished run in --out"),
    "lang": Flag("the language of the text"),
    "seed": _int("the seed of every random draw (splits, initialization, order)", 0, MAX_SEED, "0"),
    # data
    "dataset": Flag("a built-in data set by name"),
    "data": Flag("a folder or archive of images"),
    "data_dir": Flag("the download and cache directory"),
    "mirror": Flag("a CIFAR-10 mirror to download from"),
    "image_size": Flag("resize images to HxW"),
    "skip_bad": _switch("skip unreadable images"),
    "subset": _int("a stratified subset of N training images", 1, MANY, "1000"),
    "val_size": _int("validation images taken from training", 0, MANY, "1000"),
    "max_pixels": _int("the largest image decoded, in pixels", 1, 1 << 40, str(1 << 26)),
    "max_member_bytes": _int("the largest archive member, uncompressed", 1, 1 << 50, str(1 << 28)),
    "max_total_bytes": _int("the largest archive, uncompressed", 1, 1 << 60, str(1 << 36)),
    "max_ratio": _float("the largest compression ratio of an archive member", 1, 1e9, "200"),
    "key_file": Flag("the secret key of a signed model file"),
    "format": Flag("the image file format written"),
    # the objective
    "loss": Flag("the data loss (a name of losses.LOSSES)"),
    "penalty": Flag("the regularization penalty R(W): l2, l1, elasticnet or none"),
    "reg_strength": _float("λ, the regularization strength of mean loss + λ·R(W)", 0, REG_STRENGTH_MAX, "1e-3",
                           lists=("tune",)),
    "delta": _float("the SVM margin Δ", 0, 1e6, "1"),
    # optimization
    "optimizer": Flag("the optimizer (a name of optim.METHODS)"),
    "lr": _float("the learning rate", 0, 1e6, "0.01", low_open=True, lists=("tune",)),
    "schedule": Flag("the learning-rate schedule"),
    "batch_size": _int("examples per minibatch step", 1, MANY, "64"),
    "epochs": _int("passes over the training examples", 1, 10**6, "10"),
    "iterations": _int("a budget in optimizer steps instead of epochs", 1, 10**9, "500"),
    "replacement": _switch("sample minibatches with replacement"),
    "early_stopping": _switch("stop when validation accuracy stops improving"),
    "patience": _int("epochs without improvement before early stopping", 1, 10**6, "5"),
    "keep": Flag("the weights a run keeps: best or last"),
    "budget": _int("loss evaluations of the random searches", 1, MANY, "1000"),
    "tol": _float("L-BFGS's relative gradient tolerance", 0, 1, "1e-4", low_open=True, high_open=True),
    "max_iter": _int("L-BFGS's iterations per λ", 1, 10**6, "1000"),
    "dtype": Flag("the floating-point precision of the computation"),
    "resume": _switch("continue the interrupted run in --out"),
    "no_progress": _switch("no progress bar"),
    "shuffle": Flag("the order of an epoch: rows or blocks"),
    # features and preprocessing
    "preprocess": Flag("the preprocessing of the design matrix: none, center or standardize"),
    "features": Flag("the image features of the design matrix (raw, hist, hog, hog+hist, bovw)"),
    "n_words": _int("the bag of visual words' codebook size", 2, 10**5, "1600"),
    "encoding": Flag("the bag of visual words' encoding"),
    "augment": Flag("training-set augmentation"),
    # where it runs
    "backend": Flag("the array library that computes the loss: numpy or torch"),
    "device": Flag("the torch device"),
    "dask": Flag("a Dask cluster: local, or a scheduler address"),
    "jobs": _int("trials at once", 1, 1024, "2"),
    "threads_per_job": _int("BLAS threads per trial", 1, 1024, "1"),
    "chunk_rows": _int("rows per chunk of the loss", 1, MANY, "16384"),
    # predict, evaluate
    "top": _int("classes shown per image", 1, 10**6, "3"),
    # explain
    "scores": Flag("a score matrix, rows separated by ';'"),
    "labels": Flag("the correct class of each row of --scores"),
    "class_names": Flag("class names, one per score column"),
    "log_base": Flag("the logarithm's base"),
    "questions": _switch("the lecture's questions, answered"),
    "gradient": _switch("the numerical-gradient walk"),
    "entropy": _switch("entropy, cross-entropy and KL divergence"),
    "features_of": Flag("an image whose features are shown"),
    "lr_lab": _switch("the learning-rate lab"),
    "landscape": _switch("the loss landscape along a line and a plane"),
    "bias_trick": _switch("the bias trick"),
    "occam": _switch("train vs validation accuracy against λ"),
    "answers": _switch("print the exercise's worked key"),
    "check": Flag("an answer to check"),
    "h": _float("the numerical-gradient walk's step h", 0, 1, "1e-4", low_open=True),
    "true": Flag("the true distribution Q"),
    "predicted": Flag("the predicted distribution P"),
    # gradcheck
    "examples": _int("N, examples of the random problem", 1, 10**5, "20"),
    "dimensions": _int("D, dimensions of the random problem", 1, 10**4, "10"),
    "classes": _int("C, classes of the random problem", 2, 10**3, "4"),
    "checks": _int("random coordinates checked per parameter", 1, 10**4, "20"),
    "step": _float("the centered differences' step h", 0, 1, "1e-5", low_open=True),
    # knn
    "k": Flag("the k values to cross-validate"),
    "metric": Flag("the distance"),
    "folds": _int("cross-validation folds", 2, 100, "5"),
    "train_size": _int("training images for cross-validation", 1, MANY, "5000"),
    "test_size": _int("test images", 1, MANY, "500"),
    "chunk_size": _int("query rows per distance block", 1, MANY, "1024"),
    # tune
    "random": _int("random settings instead of a grid", 1, 10**5, "20"),
    "lr_range": Flag("the learning rates' log-uniform range A:B"),
    "reg_range": Flag("λ's log-uniform range A:B"),
    "param": Flag("another estimator parameter NAME=VALUES"),
    "cv": _int("K-fold cross-validation", 2, 100, "5"),
    # probe
    "val": Flag("the validation split's embedding files"),
    "test": Flag("the test split's embedding files"),
    "reg_path": Flag("a path of λ LO:HI:K"),
    "reg_search": Flag("a search of λ LO:HI[:RES]"),
    "select_by": Flag("the validation metric that picks λ"),
    "class_weight": Flag("weights of the classes (balanced)"),
    "full_digest": _switch("identify the inputs by hashing every byte"),
    "shots": _int("training rows kept per class (a few-shot probe)", 1, MANY, "16"),
    "standardize": _switch("fit on standardized rows"),
    # demo
    "port": _int("the TCP port", 0, 65535, "8000"),
    "host": Flag("the address to bind"),
    "no_browser": _switch("do not open a web browser"),
}

RENAMED = {
    ("train", "--reg"): "--penalty", ("gradcheck", "--reg"): "--penalty", ("tune", "--reg"): "--reg-strength",
    ("tune", "--backend"): "--dask", ("tune", "--scheduler"): "--dask",
    ("gradcheck", "--features"): "--dimensions", ("explain", "--features"): "--features-of",
    ("explain", "--lr"): "--lr-lab", ("explain", "--classes"): "--class-names",
}
"""Old spellings that still parse, by (command, old flag): the new flag (a note names it)."""

PENALTIES = ("l2", "l1", "elasticnet", "none")
"""The values of ``--penalty``."""

NOTES = "_renamed_notes"
"""The parsed arguments' attribute that collects the notes of old spellings."""


def note(namespace, text: str) -> None:
    """Keep a note for :func:`print_notes` (printed only once the command line parsed: an error stays one line)."""
    setattr(namespace, NOTES, [*getattr(namespace, NOTES, []), text])


def print_notes(args) -> None:
    """One line on stderr per old spelling used (stdout stays the command's output, also with ``--json``)."""
    for text in getattr(args, NOTES, []):
        print(f"linclass: note: {text}", file=sys.stderr)


class Penalty(argparse.Action):
    """``--penalty``: ``elastic``, the old spelling, is ``elasticnet``."""

    def __call__(self, parser, namespace, values, option_string=None):
        if values == "elastic":
            note(namespace, "the penalty 'elastic' is now spelled 'elasticnet' (--penalty elasticnet)")
        setattr(namespace, self.dest, "elasticnet" if values == "elastic" else values)


class _Penalties(tuple):
    """:data:`PENALTIES` that also admit the old ``elastic`` (argparse lists only the four)."""

    def __contains__(self, value):
        return value == "elastic" or tuple.__contains__(self, value)


def add_penalty(group, default=None, help="R(W) of mean loss + λ·R(W) (default l2)") -> None:
    """The ``--penalty`` flag of every command that has one."""
    group.add_argument("--penalty", action=Penalty, choices=_Penalties(PENALTIES), default=default, help=help)


class Renamed(argparse.Action):
    """An old flag: its value goes to the flag ``new`` of the same parser (converted and checked as that
    flag's), with a one-line note naming ``new``."""

    def __init__(self, option_strings, dest, new: str, nargs=None, **kwargs):
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=nargs, help=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None):
        note(namespace, f"{option_string} is now {self.new}")
        forward(parser, namespace, self.new, values)


def forward(parser, namespace, option: str, values) -> None:
    """Act as if ``option values`` had been given (argparse's conversion and choices included)."""
    target = parser._option_string_actions[option]
    if target.nargs != 0:
        values = parser._get_values(target, values if isinstance(values, list) else [values])
    target(parser, namespace, values, option)


class RenamedReg(Renamed):
    """The old ``--reg``: a penalty in ``train`` and ``gradcheck``, a list of λ in ``tune``. A penalty goes to
    ``--penalty``; numbers go to ``--reg-strength`` where it takes a list, and are refused elsewhere with a line
    naming ``--reg-strength``."""

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            [float(v) for v in values.split(",")]
        except ValueError:
            note(namespace, f"{option_string} is now --penalty")
            return forward(parser, namespace, "--penalty", values)
        if parser.prog.split()[-1] not in FLAGS["reg_strength"].lists:
            raise ParameterError(f"{option_string} is now --penalty ({'|'.join(PENALTIES)}); the strength λ is "
                                 f"--reg-strength, e.g. --reg-strength {values}.")
        note(namespace, f"{option_string} with numbers is now --reg-strength")
        forward(parser, namespace, "--reg-strength", values)


def renamed(parser, command: str, old: str, *, nargs=None, group=None) -> None:
    """Register the old spelling ``old`` of ``command`` (listed in :data:`RENAMED`)."""
    action = RenamedReg if old == "--reg" else Renamed
    (group or parser).add_argument(old, action=action, new=RENAMED[(command, old)], nargs=nargs)


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


def numbers(text: str, dest: str) -> list[float]:
    """A comma list of a numeric flag's values (a search's grid), each checked against the flag's range."""
    name = "--" + dest.replace("_", "-")
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ParameterError(f"{name} must be numbers separated by commas, e.g. {name} "
                             f"{FLAGS[dest].example},1e-2; got {text!r}.") from None
    if not values:
        raise ParameterError(f"{name} lists no number; e.g. {name} {FLAGS[dest].example}.")
    return [FLAGS[dest].check(v, name) for v in values]


def example(action) -> str | None:
    """A valid value of ``action``'s flag, for error messages."""
    rule = FLAGS.get(action.dest)
    return rule.example if rule is not None and action.type in (int, float) else None
