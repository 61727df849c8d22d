"""``linclass exercise``: a fresh score table and its questions, the worked key, an answer checked.

The same ``--seed`` always gives the same exercise; without one a seed is drawn
and printed, so the exercise can be given again.
"""

from __future__ import annotations

import secrets

from .. import i18n
from ..report import exercise, exercise_check
from ._common import Output, add_command, add_lang

SEEDS = 10_000
"""A drawn seed is below this: short enough to read out in class."""


def register(subparsers, common):
    p = add_command(subparsers, common, "exercise")
    p.add_argument("--loss", choices=["svm", "softmax"], default="svm", help="which loss (default: svm)")
    p.add_argument("--seed", type=int, help="which exercise (default: a new one, its seed printed)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--answers", action="store_true", help="print the worked key, as `linclass explain` does")
    what.add_argument("--check", metavar="ANSWER",
                      help='check an answer: the losses "L_1, L_2, L_3" (and L at the end if you like), or one '
                           'worked line "L_1 = max(0, 5.1 − 3.2 + 1) + … = 2.9"; says which term is first wrong')
    add_lang(p)
    p.set_defaults(run=run)


def run(args) -> Output:
    with i18n.language(args.lang):
        return _run(args)


def _run(args) -> Output:
    seed = args.seed if args.seed is not None else secrets.randbelow(SEEDS)
    task = exercise.make_exercise(seed, args.loss)
    if args.answers:
        return Output(*exercise.answers(task))
    if args.check is not None:
        verdict = exercise_check.check(task, args.check)
        return Output(verdict.text(), {**exercise.describe(task), "answer": args.check, "correct": verdict.correct,
                                       "term": verdict.term, "given": verdict.given, "expected": verdict.expected,
                                       "why": verdict.why})
    return Output(exercise.exercise_text(task), exercise.describe(task))
