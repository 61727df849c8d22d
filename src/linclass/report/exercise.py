"""Exercises with answer keys (``linclass exercise``).

A seed gives one exercise: three images of three classes, a score table with
one decimal (small enough to work by hand), and the questions for the chosen
loss. The key is ``linclass explain``'s worked layout on the same table, with
the extra question answered; :mod:`.exercise_check` finds the first wrong term
of an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import losses
from ..i18n import N_, _, current
from .explain import columns, explain
from .numbers import num, score

CLASS_POOL = [N_("plane"), N_("car"), N_("bird"), N_("cat"), N_("deer"), N_("dog"), N_("frog"), N_("horse"),
              N_("ship"), N_("truck")]
"""CIFAR-10's classes, three of which each exercise draws."""
IMAGES = 3
SCORE_RANGE = {"svm": (-4.0, 6.0), "softmax": (-2.0, 3.0)}
"""Scores are drawn uniformly from these ranges and rounded to one decimal."""
DELTA = 1.0
MEAN = "L = (1/N) Σ L_i"


@dataclass(frozen=True)
class Exercise:
    """One exercise: the seed that made it, its loss, score table (N, C), correct classes and class names."""

    seed: int
    loss: str
    scores: np.ndarray
    labels: list
    classes: list

    def names(self) -> list[str]:
        """The class names in the current language."""
        return [_(c) for c in self.classes]

    def losses(self) -> np.ndarray:
        """The true ``L_i`` of every image."""
        if self.loss == "svm":
            return losses.svm_loss(self.scores, self.labels, delta=DELTA, reduction="none")[0]
        return losses.softmax_loss(self.scores, self.labels, reduction="none")[0]


def make_exercise(seed: int, loss: str = "svm") -> Exercise:
    """The exercise of ``seed``: the same seed always gives the same table.

    An SVM table has at least one image with ``L_i = 0`` and one with ``L_i > 0``
    (both cases of the hinge); a softmax table keeps its scores small.
    """
    rng = np.random.default_rng(seed)
    classes = [CLASS_POOL[k] for k in rng.choice(len(CLASS_POOL), IMAGES, replace=False)]
    labels = [int(v) for v in rng.permutation(IMAGES)]
    low, high = SCORE_RANGE[loss]
    while True:
        scores = np.round(rng.uniform(low, high, (IMAGES, len(classes))), 1)
        exercise = Exercise(seed, loss, scores, labels, classes)
        if loss != "svm" or (np.any(exercise.losses() == 0) and np.any(exercise.losses() > 0)):
            return exercise


def _table(exercise: Exercise) -> list[str]:
    names = exercise.names()
    return columns(_("image"), [(f"{i + 1} ({names[y]})", [score(s) for s in row])
                                for i, (row, y) in enumerate(zip(exercise.scores, exercise.labels))], names)


def questions(exercise: Exercise) -> list[str]:
    """The exercise's questions, numbered."""
    if exercise.loss == "svm":
        return ["1. " + _("Compute {formula} with Δ = {delta} for each image, term by term.").format(
                    formula="L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)", delta=num(DELTA)),
                "2. " + _("Compute the total loss {formula}.").format(formula=MEAN),
                "3. " + _("Which images have L_i = 0, and how far can the correct score of each drop before "
                          "L_i > 0?")]
    return ["1. " + _("For each image: exponentiate the scores, normalize them to probabilities p_j."),
            "2. " + _("Compute {formula} for each image (natural log).").format(formula="L_i = −ln(p_{y_i})"),
            "3. " + _("Compute the total loss {formula}.").format(formula=MEAN)]


def exercise_text(exercise: Exercise) -> str:
    """The table and its questions, and how to check an answer."""
    title = (_("Exercise {seed} (multiclass SVM loss): scores s of {n} images, rows are images (their correct "
               "class in brackets).") if exercise.loss == "svm" else
             _("Exercise {seed} (softmax loss): scores s of {n} images, rows are images (their correct class in "
               "brackets)."))
    answer = ", ".join(f"L_{i + 1}" for i in range(len(exercise.labels)))
    lang = "" if current() == "en" else f" --lang {current()}"
    command = f"linclass exercise --seed {exercise.seed} --loss {exercise.loss}{lang} --check \"{answer}\""
    return "\n".join([title.format(seed=exercise.seed, n=len(exercise.labels)), "", *_table(exercise), "",
                      *questions(exercise), "",
                      _("Check: {command} (or one worked line); the key: --answers.").format(command=command)])


def _slack(exercise: Exercise) -> list[str]:
    """The answer to the SVM's third question: each zero-loss image's drop before its loss turns positive."""
    lines = []
    names = exercise.names()
    for i, (row, y) in enumerate(zip(exercise.scores, exercise.labels)):
        gap = float(row[y] - np.delete(row, y).max() - DELTA)  # L_i = 0 while s_y ≥ max_{j≠y} s_j + Δ
        if gap >= 0:
            lines.append("  " + _("image {number} ({name}): {loss} = 0; its score {score} can drop by {gap} (to "
                                  "{lowest}) and {loss} stays 0").format(
                number=i + 1, name=names[y], loss=f"L_{i + 1}", score=num(row[y], 1), gap=num(gap, 1),
                lowest=num(row[y] - gap, 1)))
    return ["3. " + (_("Images with L_i = 0:") if lines else _("No image has L_i = 0.")), *lines]


def answers(exercise: Exercise) -> tuple[str, dict]:
    """The worked key in ``linclass explain``'s layout, and the data of the key."""
    text, data = explain(exercise.loss, exercise.scores, exercise.labels, exercise.names(), delta=DELTA)
    if exercise.loss == "svm":
        text += "\n\n" + "\n".join(_slack(exercise))
    return _("Key to exercise {seed}").format(seed=exercise.seed) + f"\n\n{text}", {**data, **describe(exercise)}


def describe(exercise: Exercise) -> dict:
    """The exercise as ``--json`` data."""
    return {"seed": exercise.seed, "loss_name": exercise.loss, "scores": exercise.scores.tolist(),
            "labels": list(exercise.labels), "classes": list(exercise.classes), "questions": questions(exercise)}
