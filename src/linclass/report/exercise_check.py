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
from ..i18n import _
from .exercise import DELTA, Exercise
from .numbers import num, score

NUMBER = r"\(?\s*-?\d+(?:\.\d+)?(?:e-?\d+)?\s*\)?"
MAX_TERM = re.compile(rf"max\(\s*0\s*,\s*({NUMBER})\s*(?:-\s*({NUMBER})\s*(?:\+\s*({NUMBER}))?)?\s*\)")
"""``max(0, s_j − s_y + Δ)`` (Δ may be left out, a mistake the check names), or ``max(0, 2.9)``."""
LOG_TERM = re.compile(rf"-\s*(ln|log10|log2|log)\s*\(\s*({NUMBER})\s*\)")


def _swapped() -> str:
    return _("{sj} and {sy} are swapped: the term is {term}").format(sj="s_j", sy="s_{y_i}",
                                                                     term="max(0, s_j − s_{y_i} + Δ)")


WORKED = "L_1 = max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9"
"""A worked line, as the error messages show it."""
PREFIX = re.compile(r"^\s*L_?\{?(\d+)\}?\s*(?:\([^)]*\))?\s*=")


@dataclass(frozen=True)
class Verdict:
    """The first wrong term of an answer (``term`` None: all right), what was expected and why."""

    term: str | None
    given: float | None = None
    expected: float | None = None
    why: str = ""
    label: str = ""
    """``term`` in the current language (``term`` itself stays English: it is data)."""

    @property
    def correct(self) -> bool:
        return self.term is None

    def text(self) -> str:
        if self.correct:
            return (_("All right.") + f" {self.why}").rstrip()
        head = _("First wrong term: {term}").format(term=self.label or self.term)
        if self.given is not None:
            head += ": " + _("you wrote {given}, expected {expected}").format(
                given=num(self.given, 4), expected=num(self.expected, 4))
        return f"{head}.\n  " + _("Why: {why}").format(why=self.why)


def _term(k: int, i: int) -> dict:
    """``term k of L_i``, in English and in the current language."""
    return {"term": f"term {k} of L_{i}", "label": _("term {k} of {loss}").format(k=k, loss=f"L_{i}")}


def _number(text: str) -> float:
    try:
        return float(text.replace("(", "").replace(")", "").replace(" ", ""))
    except ValueError:
        raise InputError(_("{flag} cannot read {text}: write numbers, max(0, …) terms and −ln(…), e.g. {example}.")
                         .format(flag="--check", text=repr(text.strip()), example=f'"{WORKED}"')) from None


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
        raise InputError(_("{flag} needs {n} numbers {losses} (and L at the end if you like), e.g. {example}, or "
                           "one worked line such as {line}; got {text}.").format(
            flag="--check", n=n, losses=f"L_1, …, L_{n}", example=f'"{", ".join(["0.5"] * n)}"',
            line='"L_1 = … = 2.9"', text=repr(text)))
    truth = exercise.losses()
    for i, (given, part) in enumerate(zip(values[:n], parts)):
        if not close(given, truth[i], _decimals(part)):
            return Verdict(f"L_{i + 1}", given, float(truth[i]), _why_image(exercise, i, given))
    if len(values) == n + 1:
        mean, given = float(truth.mean()), values[-1]
        if not close(given, mean, _decimals(parts[-1])):
            why = (_("that is the sum of the L_i; L is their mean, (1/N) Σ L_i with N = {n}").format(n=n)
                   if close(given, truth.sum(), _decimals(parts[-1]))
                   else f"L = (1/N) Σ L_i = ({' + '.join(num(v) for v in truth)}) / {n}")
            return Verdict("L", given, mean, why)
    return Verdict(None, why=f"L_i = {', '.join(num(v) for v in truth)}; L = {num(truth.mean())}.")


def _svm_mistakes(row, y, classes) -> list[tuple[str, float]]:
    """``(what went wrong, the L_i it gives)`` for the usual slips on one image."""
    others = np.delete(row, y)
    raw = others - row[y] + DELTA
    hinge = np.maximum(0, raw)
    mistakes = [
        (_("the term j = y_i was added (it is always Δ = 1); the sum runs over j ≠ y_i"), hinge.sum() + DELTA),
        (_("max(0, ·) was left out: a negative margin counts as 0, not as a negative number"), raw.sum()),
        (_swapped(), np.maximum(0, row[y] - others + DELTA).sum()),
        (_("the margin Δ = 1 is missing inside max(0, ·)"), np.maximum(0, others - row[y]).sum()),
        (_("the terms were squared; the multiclass SVM sums max(0, ·) unsquared"), (hinge ** 2).sum()),
        (_("only the largest term was kept; L_i is the sum over j ≠ y_i"), hinge.max()),
        (_("the terms were averaged; L_i is their sum"), hinge.mean()),
    ]
    for c in range(len(row)):
        if c != y:
            wrong = np.maximum(0, np.delete(row, c) - row[c] + DELTA).sum()
            mistakes.append((_("{wrong} was taken as the correct class; this image is a {name}").format(
                wrong=classes[c], name=classes[y]), wrong))
    return mistakes


def _softmax_mistakes(row, y, classes) -> list[tuple[str, float]]:
    p = losses.softmax([row])[0]
    loss = -math.log(p[y])
    mistakes = [
        (_("log base 10 was used; the softmax loss uses the natural log ln"), loss / math.log(10)),
        (_("log base 2 was used; the softmax loss uses the natural log ln"), loss / math.log(2)),
        (_("that is the probability {p}; the loss is −ln {p}").format(p="p_{y_i}"), p[y]),
        (_("the minus sign is missing: {formula}").format(formula="L_i = −ln p_{y_i} ≥ 0"), -loss),
        (_("the scores were not normalized: {formula}").format(formula="−ln e^{s_{y_i}} = −s_{y_i}"), -row[y]),
    ]
    for c in range(len(row)):
        if c != y:
            mistakes.append((_("that is −ln p of {wrong}; the loss takes the correct class's probability "
                               "({name})").format(wrong=classes[c], name=classes[y]), -math.log(p[c])))
    return mistakes


def _why_image(exercise: Exercise, i: int, given: float) -> str:
    row, y = exercise.scores[i], exercise.labels[i]
    slips = (_svm_mistakes if exercise.loss == "svm" else _softmax_mistakes)(row, y, exercise.names())
    for why, value in slips:
        if abs(given - value) <= 0.05 + 1e-9:
            return why
    if exercise.loss == "svm":
        terms = " + ".join(f"max(0, {score(row[j])} − {score(row[y])} + 1)" for j in range(len(row)) if j != y)
        return f"L_{i + 1} = {terms}; " + _("work it term by term (--check one worked line to find the term).")
    return f"L_{i + 1} = −ln p_{{y_i}}; " + _("p is the softmax of the row: work exp → normalize → −ln.")


def _image_of(exercise: Exercise, text: str) -> tuple[int, str]:
    """The image a worked line is about (its ``L_k =`` prefix, else its s_{y_i}), and the rest of the line."""
    m = PREFIX.match(text)
    if m:
        k = int(m.group(1))
        if not 1 <= k <= len(exercise.labels):
            raise InputError(_("the exercise has images 1 to {n}, not {loss}.").format(
                n=len(exercise.labels), loss=f"L_{k}"))
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
    raise InputError(_("start a worked line with the image, e.g. {example}.").format(
        example='"L_1 = max(0, 5.1 − 3.2 + 1) + … = 2.9"'))


def _check_line(exercise: Exercise, text: str) -> Verdict:
    i, rest = _image_of(exercise, text)
    if not rest.strip(" =") or not re.search(r"\d", rest):
        raise InputError(_("{flag} has nothing to check after {prefix}; write the terms or the value, e.g. "
                           "{example}.").format(flag="--check", prefix=f"L_{i + 1} =", example='"L_1 = 2.9"'))
    if exercise.loss == "svm":
        return _check_svm_line(exercise, i, rest)
    return _check_softmax_line(exercise, i, rest)


def _check_svm_terms(exercise, i, terms) -> tuple[Verdict | None, list[float]]:
    """The max(0, s_j − s_{y_i} + Δ) terms as written: the first wrong one, and each term's true value."""
    row, y, classes = exercise.scores[i], exercise.labels[i], exercise.names()
    unused = [j for j in range(len(row)) if j != y]
    values = []
    for k, (a, b, d) in enumerate(terms):
        name = _term(k + 1, i + 1)
        if abs(b - row[y]) > 1e-9:
            other = [c for c in range(len(row)) if abs(row[c] - b) < 1e-9]
            why = _("{sy} is the correct class's score: image {number} is a {name} ({score})").format(
                sy="s_{y_i}", number=i + 1, name=classes[y], score=num(row[y], 1))
            if other:
                why += ", " + _("{score} is {name}'s score").format(score=num(b, 1), name=classes[other[0]])
            if abs(a - row[y]) < 1e-9 and any(c in unused for c in other):
                why = _swapped()
            return Verdict(given=b, expected=float(row[y]), why=why, **name), values
        if abs(d - DELTA) > 1e-9:
            return Verdict(given=d, expected=DELTA, why=_("the margin Δ is {delta}").format(delta=num(DELTA)),
                           **name), values
        match = [j for j in unused if abs(row[j] - a) < 1e-9]
        if not match:
            why = (_("this is the j = y_i term; the sum runs over j ≠ y_i") if abs(a - row[y]) < 1e-9
                   else _("s_j must be a wrong class's score: {scores}").format(
                       scores=", ".join(num(row[j], 1) for j in unused)))
            return Verdict(given=a, expected=float(row[unused[0]]), why=why, **name), values
        unused.remove(match[0])
        values.append(max(0.0, float(row[match[0]] - row[y] + DELTA)))
    if unused:
        missing = ", ".join(classes[j] for j in unused)
        return Verdict(why=_("a term is missing: the sum runs over every j ≠ y_i, here also {missing}").format(
            missing=missing), **_term(len(terms) + 1, i + 1)), values
    return None, values


def _check_svm_line(exercise, i, rest) -> Verdict:
    segments = [s.strip() for s in rest.split("=") if s.strip()]
    row, y = exercise.scores[i], exercise.labels[i]
    true = float(exercise.losses()[i])
    values = [max(0.0, float(row[j] - row[y] + DELTA)) for j in range(len(row)) if j != y]
    wrote_terms = False  # whether the line shows the terms (all right so far) before its total
    for segment in segments:
        terms = [m.groups() for m in MAX_TERM.finditer(segment)]
        full = [t for t in terms if t[1] is not None]
        if full:
            verdict, values = _check_svm_terms(exercise, i, [tuple(_number(v or "0") for v in t) for t in full])
            if verdict:
                return verdict
            wrote_terms = True
            continue
        parts = [p for p in re.split(r"\s+\+\s+", segment) if p]
        if len(parts) > 1 or terms:
            verdict = _check_values(i, parts, values)
            if verdict:
                return verdict
            wrote_terms = True
            continue
        given = _number(parts[0])
        if not close(given, true, _decimals(parts[0])):
            why = (_("the terms add up to {sum}").format(sum=f"{' + '.join(num(v) for v in values)} = {num(true)}")
                   if wrote_terms else _why_image(exercise, i, given))
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
            return Verdict(given=given, expected=0.0, why=_("there is one term per wrong class, no more"),
                           **_term(k + 1, i + 1))
        if clamp and given <= 0 and expected == 0:
            continue  # max(0, −3.9): the margin before clamping, which is right
        if not close(given, expected, _decimals(shown)):
            why = (_("max(0, ·) of a negative number is 0: a margin that holds costs nothing")
                   if given < 0 and expected == 0 else f"max(0, s_j − s_{{y_i}} + Δ) = {num(expected)}")
            return Verdict(given=given, expected=expected, why=why, **_term(k + 1, i + 1))
    return None


def _check_softmax_line(exercise, i, rest) -> Verdict:
    row, y, classes = exercise.scores[i], exercise.labels[i], exercise.names()
    p = losses.softmax([row])[0]
    true = float(exercise.losses()[i])
    log = LOG_TERM.search(rest)
    if log:
        base, shown = log.group(1), log.group(2)
        given = _number(shown)
        if not close(given, p[y], _decimals(shown)):
            other = [c for c in range(len(row)) if c != y and close(given, p[c], _decimals(shown))]
            why = (_("that is p of {wrong}; the loss takes the correct class's probability ({name})").format(
                       wrong=classes[other[0]], name=classes[y]) if other
                   else _("the scores were not normalized: {formula}").format(formula="p = e^{s_{y_i}} / Σ_j e^{s_j}")
                   if close(given, math.exp(row[y]), _decimals(shown))
                   else f"p_{{y_i}} = e^{{{num(row[y], 1)}}} / Σ_j e^{{s_j}}")
            return Verdict(f"p_{{y_i}} of L_{i + 1}", given, float(p[y]), why,
                           label=_("{p} of {loss}").format(p="p_{y_i}", loss=f"L_{i + 1}"))
        if base in ("log10", "log2"):
            why = _("the softmax loss uses the natural log ln, not {base}").format(base=base)
            return Verdict(f"the log of L_{i + 1}", why=why, label=_("the log of {loss}").format(loss=f"L_{i + 1}"))
    numbers = [s.strip() for s in rest.split("=") if s.strip() and not LOG_TERM.search(s)]
    if numbers:
        given = _number(numbers[-1])
        if not close(given, true, _decimals(numbers[-1])):
            return Verdict(f"L_{i + 1}", given, true, _why_image(exercise, i, given))
    return Verdict(None, why=f"L_{i + 1} = −ln({p[y]:.3g}) = {num(true)}.")
