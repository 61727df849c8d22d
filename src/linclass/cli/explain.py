"""``linclass explain``: the lecture, worked with numbers.

The slides' loss computations term by term (default), the questions
(``--questions``), the numerical-gradient walk (``--gradient``), entropy and KL
(``--entropy``), an image's features (``--features-of IMAGE``), the
learning-rate lab (``--lr-lab``), the loss landscape and convexity (``--landscape``),
the bias trick (``--bias-trick``) and regularization's Occam view (``--occam``).
"""

from __future__ import annotations

import importlib
import re

from .. import i18n
from ..errors import InputError
from ..i18n import _
from ..report import explain, explain_bias, explain_entropy, explain_gradient, explain_questions
from . import flags
from ._common import Output, add_command, add_lang


def _heavy(name: str):
    """``linclass.report.<name>``, imported on use: it loads matplotlib (and scikit-learn), and every
    ``linclass`` start builds this command's parser."""
    return importlib.import_module(f"..report.{name}", __package__)

NUMBER_LIST = re.compile(r"^-[\d.eE+\-]*\d[\d.eE+\-,;\s]*$")
"""A value like ``-3.45,1.2;0,2``: argparse must read it as a value, not as an option."""


def parse_matrix(text: str) -> list[list[float]]:
    """``"3.2,5.1,-1.7;1.3,4.9,2.0"`` → rows of floats (one row per example)."""
    try:
        rows = [[float(v) for v in row.split(",")] for row in text.strip().split(";") if row.strip()]
    except ValueError as err:
        raise InputError(_("{flag} must be numbers, rows separated by ';' and values by ',' ({reason}).").format(
            flag="--scores", reason=err)) from None
    if not rows or len({len(r) for r in rows}) != 1:
        raise InputError(_("{flag} rows must all have the same number of classes, e.g. {example}.").format(
            flag="--scores", example='"3.2,5.1,-1.7;1.3,4.9,2.0"'))
    return rows


def parse_labels(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(_("{flag} must be integers separated by ',' (class indices), got {text}.").format(
            flag="--labels", text=repr(text))) from None


def parse_vector(text: str, flag: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(_("{flag} must be numbers separated by ',', e.g. {example}; got {text}.").format(
            flag=flag, example="0.5,0.3,0.2", text=repr(text))) from None


def register(subparsers, common):
    p = add_command(subparsers, common, "explain")
    p._negative_number_matcher = NUMBER_LIST  # argparse's hook: "--scores -3.45,..." is a value
    p.add_argument("--loss", choices=["svm", "softmax"], help="which loss (default: svm; --gradient: softmax)")
    p.add_argument("--scores", help='score matrix, one row per example: "s11,s12,...;s21,s22,..." '
                   "(a leading minus is fine: --scores -3.45,1,2)")
    p.add_argument("--labels", help="correct class of each example, e.g. 0,1,2")
    p.add_argument("--class-names", metavar="NAMES", help="class names, e.g. cat,car,frog")
    flags.renamed(p, "explain", "--classes")
    p.add_argument("--delta", type=float, help="SVM margin Δ (default 1)")
    p.add_argument("--log-base", choices=list(explain.LOG_BASES),
                   help="logarithm for softmax and --entropy: e (default), 2 or 10")
    topic = p.add_mutually_exclusive_group()
    topic.add_argument("--questions", action="store_true", help="answer the lecture's questions (on --scores if given)")
    topic.add_argument("--gradient", action="store_true", help="the numerical-gradient walk, one step, error vs h")
    topic.add_argument("--entropy", action="store_true", help="entropy, cross-entropy and KL divergence")
    topic.add_argument("--features-of", metavar="IMAGE", help="write and show IMAGE's hue histogram and HOG")
    topic.add_argument("--lr-lab", action="store_true", help="the learning-rate lab: four regimes")
    flags.renamed(p, "explain", "--features", group=topic)
    flags.renamed(p, "explain", "--lr", nargs=0, group=topic)
    topic.add_argument("--landscape", action="store_true",
                       help="the loss along a random line and plane through W, and why both losses are convex")
    topic.add_argument("--bias-trick", action="store_true", help="W x + b as one product [W | b] [x; 1]")
    topic.add_argument("--occam", action="store_true",
                       help="train vs validation accuracy against λ on digits (a real sweep, plotted)")
    p.add_argument("--h", type=float, help="--gradient's step h (default 1e-4)")
    p.add_argument("--true", help="--entropy's true distribution Q (default 0.5,0.3,0.2)")
    p.add_argument("--predicted", help="--entropy's predicted distribution P (default 0.4,0.3,0.3)")
    p.add_argument("--out", metavar="DIR", help="folder for the pictures of --features-of, --lr-lab, --landscape and "
                   "--occam "
                   "(default runs/...)")
    add_lang(p)
    p.set_defaults(run=run)


def _scores(args):
    """``(scores, labels, classes)`` from the flags; None for the slides' example."""
    scores = labels = None
    if args.scores is not None:
        scores = parse_matrix(args.scores)
        if args.labels is None:
            raise InputError(_("{flag} needs {labels}: the correct class index of each row, e.g. {example}.").format(
                flag="--scores", labels="--labels", example="--labels 0,1,2"))
        labels = parse_labels(args.labels)
        if len(labels) != len(scores):
            raise InputError(_("{labels} has {n_labels} value(s) but {scores} has {n_rows} row(s); give one label "
                               "per row.").format(labels="--labels", n_labels=len(labels), scores="--scores",
                                                  n_rows=len(scores)))
    classes = args.class_names.split(",") if args.class_names else None
    columns = len(scores[0]) if scores is not None else len(explain.SLIDES_CLASSES)
    if classes is not None and len(classes) != columns:
        raise InputError(_("{flag} names {n} class(es) but the scores have {columns} columns; give one name per "
                           "column, e.g. {example}.").format(flag="--class-names", n=len(classes), columns=columns,
                                                             example="--class-names cat,car,frog"))
    return scores, labels, classes


USED_BY = {
    "--loss": ("svm", "softmax", "--questions", "--gradient"),
    "--scores": ("svm", "softmax", "--questions"),
    "--labels": ("svm", "softmax", "--questions"),
    "--class-names": ("svm", "softmax", "--questions"),
    "--delta": ("svm",),
    "--log-base": ("softmax", "--entropy"),
    "--h": ("--gradient",),
    "--true": ("--entropy",),
    "--predicted": ("--entropy",),
    "--out": ("--features-of", "--lr-lab", "--landscape", "--occam"),
}
"""Which topics read each option; any other topic refuses it rather than drop it silently."""
TOPICS = ("--questions", "--gradient", "--entropy", "--features-of", "--lr-lab", "--landscape", "--bias-trick",
          "--occam")


def topic(args) -> str:
    """The topic asked for: one of :data:`TOPICS`, or the loss worked out (``svm``, ``softmax``)."""
    for flag in TOPICS:
        if getattr(args, flag[2:].replace("-", "_")):
            return flag
    return args.loss or "svm"


def _command(asked: str) -> str:
    return f"explain {asked}" if asked in TOPICS else f"explain --loss {asked}"


def refuse_unused(args, asked: str) -> None:
    """An option the asked topic does not read is an error, not a silent no-op."""
    for flag, users in USED_BY.items():
        if getattr(args, flag[2:].replace("-", "_")) is not None and asked not in users:
            readers = ", ".join(_command(u) for u in users)
            raise InputError(_("{flag} has no effect on {command}; it is read by {readers}: drop it.").format(
                flag=flag, command=f"`{_command(asked)}`", readers=readers))


def run(args) -> Output:
    with i18n.language(args.lang):
        return _run(args)


def _run(args) -> Output:
    asked = topic(args)
    refuse_unused(args, asked)
    delta = 1.0 if args.delta is None else args.delta
    base = args.log_base or "e"
    if args.gradient:
        h = 1e-4 if args.h is None else args.h  # its range (0, 1] is checked with the flag (flags.FLAGS)
        return Output(*explain_gradient.explain_gradient(h, args.loss or "softmax"))
    if args.entropy:
        Q = parse_vector(args.true, "--true") if args.true else None
        P = parse_vector(args.predicted, "--predicted") if args.predicted else None
        return Output(*explain_entropy.explain_entropy(Q, P, base))
    if args.features_of:
        return Output(*_heavy("explain_features").explain_features(args.features_of, args.out))
    if args.lr_lab:
        return Output(*_heavy("explain_lr").explain_lr(args.out))
    if args.landscape:
        return Output(*_heavy("explain_landscape").explain_landscape(args.out))
    if args.occam:
        return Output(*_heavy("explain_occam").explain_occam(args.out))
    if args.bias_trick:
        return Output(*explain_bias.explain_bias_trick())
    scores, labels, classes = _scores(args)
    if args.questions:
        return Output(*explain_questions.questions(scores, labels, classes, loss=args.loss))
    return Output(*explain.explain(asked, scores, labels, classes, delta=delta, base=base))
