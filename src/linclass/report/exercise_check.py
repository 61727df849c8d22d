"""Check an answer to an exercise: the first wrong term, and why (``linclass exercise --check``).

An answer is either the list of losses ``"L_1, L_2, L_3"`` (optionally ``L`` at
the end), or one worked line as ``linclass explain`` writes it:
``L_1 = max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9 + 0 = 2.9`` for the
SVM, ``L_1 = −ln(0.13) = 2.04`` for softmax. Terms are checked in the order they
are written; the first wrong one is named with the likely mistake (the j = y_i
term added, max(0, ·) left out, s_j and s_{y_i} swapped, Δ forgotten, the wrong
class's probability, log base 10, …), found by recomputing each mistake and
comparing. A number is right when it rounds the true value to the digits given
(at least one decimal).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .. import losses
from ..errors import InputError
from .exercise import DELTA, Exercise
from .numbers import num, score

NUMBER = r"\(?\s*-?\d+(?:\.\d+)?(?:e-?\d+)?\s*\)?"
MAX_TERM = re.compile(rf"max\(\s*0\s*,\s*({NUMBER})\s*(?:-\s*({NUMBER})\s*\+\s*({NUMBER}))?\s*\)")
LOG_TERM = re.compile(rf"-\s*(ln|log10|log2|log)\s*\(\s*({NUMBER})\s*\)")
PREFIX = re.compile(r"^\s*L_?\{?(\d+)\}?\s*(?:\([^)]*\))?\s*=")


@dataclass(frozen=True)
class Verdict:
    """The first wrong term of an answer (``term`` None: all right), what was expected and why."""

    term: str | None
    given: float | None = None
    expected: float | None = None
    why: str = ""

    @property
    def correct(self) -> bool:
        return self.term is None

    def text(self) -> str:
        if self.correct:
            return f"All right. {self.why}".rstrip()
        if self.given is None:
            return f"First wrong term: {self.term}.\n  Why: {self.why}"
        return (f"First wrong term: {self.term}: you wrote {num(self.given, 4)}, expected {num(self.expected, 4)}."
                f"\n  Why: {self.why}")


def _number(text: str) -> float:
    return float(text.replace("(", "").replace(")", "").replace(" ", ""))


def _decimals(text: str) -> int:
    text = text.strip().replace("(", "").replace(")", "")
    return len(text.split(".")[1].split("e")[0]) if "." in text else 0


def close(given: float, expected: float, decimals: int) -> bool:
    """``given`` is ``expected`` rounded to ``decimals`` (at least one) decimal places."""
    return abs(given - expected) <= 0.5 * 10.0 ** -max(decimals, 1) + 1e-9


def check(exercise: Exercise, answer: str) -> Verdict:
    """The first wrong term of ``answer`` to ``exercise``, or a verdict that all are right."""
    text = answer.replace("−", "-").replace("–", "-").replace("{", "").replace("}", "").strip()
    if re.search(r"[a-zA-Z=]", text):
        return _check_line(exercise, text)
    return _check_list(exercise, text)


def _check_list(exercise: Exercise, text: str) -> Verdict:
    parts = [p for p in re.split(r"[,;\s]+", text) if p]
    n = len(exercise.labels)
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (n, n + 1):
        raise InputError(f"--check needs {n} numbers L_1, …, L_{n} (and L at the end if you like), e.g. "
                         f"\"{', '.join(['0.5'] * n)}\", or one worked line such as \"L_1 = … = 2.9\"; got {text!r}.")
    truth = exercise.losses()
    for i, (given, part) in enumerate(zip(values[:n], parts)):
        if not close(given, truth[i], _decimals(part)):
            return Verdict(f"L_{i + 1}", given, float(truth[i]), _why_image(exercise, i, given))
    if len(values) == n + 1:
        mean, given = float(truth.mean()), values[-1]
        if not close(given, mean, _decimals(parts[-1])):
            why = ("that is the sum of the L_i; L is their mean, (1/N) Σ L_i with N = "
                   f"{n}" if close(given, truth.sum(), _decimals(parts[-1]))
                   else f"L = (1/N) Σ L_i = ({' + '.join(num(v) for v in truth)}) / {n}")
            return Verdict("L", given, mean, why)
    return Verdict(None, why=f"L_i = {', '.join(num(v) for v in truth)}; L = {num(truth.mean())}.")


def _svm_mistakes(row, y, classes) -> list[tuple[str, float]]:
    """``(what went wrong, the L_i it gives)`` for the usual slips on one image."""
    others = np.delete(row, y)
    raw = others - row[y] + DELTA
    hinge = np.maximum(0, raw)
    mistakes = [
        ("the term j = y_i was added (it is always Δ = 1); the sum runs over j ≠ y_i", hinge.sum() + DELTA),
        ("max(0, ·) was left out: a negative margin counts as 0, not as a negative number", raw.sum()),
        ("s_j and s_{y_i} are swapped: the term is max(0, s_j − s_{y_i} + Δ)",
         np.maximum(0, row[y] - others + DELTA).sum()),
        ("the margin Δ = 1 is missing inside max(0, ·)", np.maximum(0, others - row[y]).sum()),
        ("the terms were squared; the multiclass SVM sums max(0, ·) unsquared", (hinge ** 2).sum()),
        ("only the largest term was kept; L_i is the sum over j ≠ y_i", hinge.max()),
        ("the terms were averaged; L_i is their sum", hinge.mean()),
    ]
    for c in range(len(row)):
        if c != y:
            wrong = np.maximum(0, np.delete(row, c) - row[c] + DELTA).sum()
            mistakes.append((f"{classes[c]} was taken as the correct class; this image is a {classes[y]}", wrong))
    return mistakes


def _softmax_mistakes(row, y, classes) -> list[tuple[str, float]]:
    p = losses.softmax([row])[0]
    loss = -math.log(p[y])
    mistakes = [
        ("log base 10 was used; the softmax loss uses the natural log ln", loss / math.log(10)),
        ("log base 2 was used; the softmax loss uses the natural log ln", loss / math.log(2)),
        ("that is the probability p_{y_i}; the loss is −ln p_{y_i}", p[y]),
        ("the minus sign is missing: L_i = −ln p_{y_i} ≥ 0", -loss),
        ("the scores were not normalized: −ln e^{s_{y_i}} = −s_{y_i}", -row[y]),
    ]
    for c in range(len(row)):
        if c != y:
            mistakes.append((f"that is −ln p of {classes[c]}; the loss takes the correct class's probability "
                             f"({classes[y]})", -math.log(p[c])))
    return mistakes


def _why_image(exercise: Exercise, i: int, given: float) -> str:
    row, y = exercise.scores[i], exercise.labels[i]
    slips = (_svm_mistakes if exercise.loss == "svm" else _softmax_mistakes)(row, y, exercise.classes)
    for why, value in slips:
        if abs(given - value) <= 0.05 + 1e-9:
            return why
    if exercise.loss == "svm":
        terms = " + ".join(f"max(0, {score(row[j])} − {score(row[y])} + 1)" for j in range(len(row)) if j != y)
        return f"L_{i + 1} = {terms}; work it term by term (--check one worked line to find the term)."
    return f"L_{i + 1} = −ln p_{{y_i}} with p the softmax of the row; work exp → normalize → −ln."


def _image_of(exercise: Exercise, text: str) -> tuple[int, str]:
    """The image a worked line is about (its ``L_k =`` prefix, else its s_{y_i}), and the rest of the line."""
    m = PREFIX.match(text)
    if m:
        k = int(m.group(1))
        if not 1 <= k <= len(exercise.labels):
            raise InputError(f"the exercise has images 1 to {len(exercise.labels)}, not L_{k}.")
        return k - 1, text[m.end():]
    first = MAX_TERM.search(text)
    if first and first.group(2):  # the image whose s_{y_i} is written, else the one whose row holds both scores
        a, b = _number(first.group(1)), _number(first.group(2))
        rows = list(zip(exercise.scores, exercise.labels))
        for fits in (lambda row, y: abs(row[y] - b) < 1e-9,
                     lambda row, y: np.isclose(row, a).any() and np.isclose(row, b).any()):
            hits = [i for i, (row, y) in enumerate(rows) if fits(row, y)]
            if len(hits) == 1:
                return hits[0], text
    raise InputError("start a worked line with the image, e.g. \"L_1 = max(0, 5.1 − 3.2 + 1) + … = 2.9\".")


def _check_line(exercise: Exercise, text: str) -> Verdict:
    i, rest = _image_of(exercise, text)
    if exercise.loss == "svm":
        return _check_svm_line(exercise, i, rest)
    return _check_softmax_line(exercise, i, rest)


def _check_svm_terms(exercise, i, terms) -> tuple[Verdict | None, list[float]]:
    """The max(0, s_j − s_{y_i} + Δ) terms as written: the first wrong one, and each term's true value."""
    row, y, classes = exercise.scores[i], exercise.labels[i], exercise.classes
    unused = [j for j in range(len(row)) if j != y]
    values = []
    for k, (a, b, d) in enumerate(terms):
        name = f"term {k + 1} of L_{i + 1}"
        if abs(b - row[y]) > 1e-9:
            other = [c for c in range(len(row)) if abs(row[c] - b) < 1e-9]
            why = (f"s_{{y_i}} is the correct class's score: image {i + 1} is a {classes[y]} "
                   f"({num(row[y], 1)})" + (f", {num(b, 1)} is {classes[other[0]]}'s score" if other else ""))
            if abs(a - row[y]) < 1e-9 and any(c in unused for c in other):
                why = "s_j and s_{y_i} are swapped: the term is max(0, s_j − s_{y_i} + Δ)"
            return Verdict(name, b, float(row[y]), why), values
        if abs(d - DELTA) > 1e-9:
            return Verdict(name, d, DELTA, f"the margin Δ is {num(DELTA)}"), values
        match = [j for j in unused if abs(row[j] - a) < 1e-9]
        if not match:
            why = ("this is the j = y_i term; the sum runs over j ≠ y_i" if abs(a - row[y]) < 1e-9
                   else f"s_j must be a wrong class's score: {', '.join(num(row[j], 1) for j in unused)}")
            return Verdict(name, a, float(row[unused[0]]), why), values
        unused.remove(match[0])
        values.append(max(0.0, float(row[match[0]] - row[y] + DELTA)))
    if unused:
        missing = ", ".join(classes[j] for j in unused)
        return Verdict(f"term {len(terms) + 1} of L_{i + 1}",
                       why=f"a term is missing: the sum runs over every j ≠ y_i, here also {missing}"), values
    return None, values


def _check_svm_line(exercise, i, rest) -> Verdict:
    segments = [s.strip() for s in rest.split("=") if s.strip()]
    row, y = exercise.scores[i], exercise.labels[i]
    true = float(exercise.losses()[i])
    values = [max(0.0, float(row[j] - row[y] + DELTA)) for j in range(len(row)) if j != y]
    for segment in segments:
        terms = [m.groups() for m in MAX_TERM.finditer(segment)]
        full = [t for t in terms if t[1] is not None]
        if full:
            verdict, values = _check_svm_terms(exercise, i, [tuple(_number(v) for v in t) for t in full])
            if verdict:
                return verdict
            continue
        parts = [p for p in re.split(r"\s+\+\s+", segment) if p]
        if len(parts) > 1 or terms:
            verdict = _check_values(i, parts, values)
            if verdict:
                return verdict
            continue
        given = _number(parts[0])
        if not close(given, true, _decimals(parts[0])):
            why = _why_image(exercise, i, given)
            if values and abs(given - sum(values)) > 1e-9:
                why = f"the terms add up to {' + '.join(num(v) for v in values)} = {num(true)}"
            return Verdict(f"L_{i + 1}", given, true, why)
    return Verdict(None, why=f"L_{i + 1} = {num(true)}.")


def _check_values(i, parts, values) -> Verdict | None:
    """The values of the terms (``2.9 + 0`` or ``max(0, 2.9) + max(0, −3.9)``) against the true ones."""
    for k, part in enumerate(parts):
        clamp = MAX_TERM.fullmatch(part.strip())
        shown = clamp.group(1) if clamp else part
        given = _number(shown)
        expected = values[k] if k < len(values) else None
        if expected is None:
            return Verdict(f"term {k + 1} of L_{i + 1}", given, 0.0, "there is one term per wrong class, no more")
        if clamp and given <= 0 and expected == 0:
            continue  # max(0, −3.9): the margin before clamping, which is right
        if not close(given, expected, _decimals(shown)):
            why = ("max(0, ·) of a negative number is 0: a margin that holds costs nothing"
                   if given < 0 and expected == 0 else f"max(0, s_j − s_{{y_i}} + Δ) = {num(expected)}")
            return Verdict(f"term {k + 1} of L_{i + 1}", given, expected, why)
    return None


def _check_softmax_line(exercise, i, rest) -> Verdict:
    row, y, classes = exercise.scores[i], exercise.labels[i], exercise.classes
    p = losses.softmax([row])[0]
    true = float(exercise.losses()[i])
    log = LOG_TERM.search(rest)
    if log:
        base, shown = log.group(1), log.group(2)
        given = _number(shown)
        if not close(given, p[y], _decimals(shown)):
            other = [c for c in range(len(row)) if c != y and close(given, p[c], _decimals(shown))]
            why = (f"that is p of {classes[other[0]]}; the loss takes the correct class's probability ({classes[y]})"
                   if other else "the scores were not normalized: p = e^{s_{y_i}} / Σ_j e^{s_j}"
                   if close(given, math.exp(row[y]), _decimals(shown))
                   else f"p_{{y_i}} = e^{{{num(row[y], 1)}}} / Σ_j e^{{s_j}}")
            return Verdict(f"p_{{y_i}} of L_{i + 1}", given, float(p[y]), why)
        if base in ("log10", "log2"):
            return Verdict(f"the log of L_{i + 1}", why=f"the softmax loss uses the natural log ln, not {base}")
    numbers = [s.strip() for s in rest.split("=") if s.strip() and not LOG_TERM.search(s)]
    if numbers:
        given = _number(numbers[-1])
        if not close(given, true, _decimals(numbers[-1])):
            return Verdict(f"L_{i + 1}", given, true, _why_image(exercise, i, given))
    return Verdict(None, why=f"L_{i + 1} = −ln({p[y]:.3g}) = {num(true)}.")
