"""Slide-style worked computations of the losses (``linclass explain``).

Each function returns ``(text, data)``: the computation written out as on the
slides (every ``L_i`` term by term, the softmax exp → normalize → −log steps,
the average) and the same numbers for ``--json``. The other lecture topics live
beside this module: ``explain_questions``, ``explain_gradient``,
``explain_entropy``, ``explain_features`` and ``explain_lr``.

Printed arithmetic is true arithmetic: the SVM's scores are shown with as many
decimals as the written sums need to add up, a probability with as many digits
as ``−log(p) = L`` needs, and where ``p`` cannot be shown at all (it
rounds to 0 or 1) the loss is written in log-space, ``L_i = (s_max − s_{y_i}) +
log Σ_j e^{s_j − s_max}`` (the log-sum-exp trick), never as ``exp inf``.
"""

from __future__ import annotations

import math
import unicodedata

import numpy as np

from .. import losses
from .._checks import scores_and_labels
from ..errors import InputError
from ..i18n import N_, _
from .numbers import num, score, small

SLIDES_SCORES = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]
"""The lecture's score matrix: one row per image (cat, car, frog), columns cat, car, frog."""
SLIDES_LABELS = [0, 1, 2]
SLIDES_CLASSES = [N_("cat"), N_("car"), N_("frog")]
SLIDES_W = [[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0.0, 0.25, 0.2, -0.3]]
"""Seed 003's weights (3 classes × 4 pixels, one row per class), where the lecture needs a W."""

LOG_BASES = {"e": (math.e, "ln", N_("natural log")), "2": (2.0, "log2", N_("log base 2, in bits")),
             "10": (10.0, "log10", N_("log base 10"))}
"""``--log-base`` choices: (base, the symbol printed, the words printed, in English: ``_(words)`` translates)."""
_MAX_EXP = 50.0  # beyond |s| = 50 the exp(s) row is written shifted by the row's max


def slides_classes() -> list[str]:
    """The slides' class names (cat, car, frog) in the current language."""
    return [_(name) for name in SLIDES_CLASSES]


def log_base(name: str) -> tuple[float, str, str]:
    """``(base, symbol, words)`` for ``"e"``, ``"2"`` or ``"10"``."""
    try:
        return LOG_BASES[str(name)]
    except KeyError:
        raise InputError(f"--log-base must be one of {', '.join(LOG_BASES)}, got {name!r}.") from None


def _paren(x: float, digits: int = 2) -> str:
    return f"({score(x, digits)})" if x < 0 else score(x, digits)


def text_width(text: str) -> int:
    """The terminal columns ``text`` takes: East Asian wide characters (猫, 图片) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int, *, left: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns, right-aligned (``left``: left-aligned)."""
    space = " " * max(0, width - text_width(text))
    return text + space if left else space + text


def columns(head: str, label_cells: list[tuple[str, list[str]]], names: list[str], *,
            width: int = 8, label_width: int = 14, fit: bool = False) -> list[str]:
    """A table of at least ``width``-wide columns, wider where a cell needs it: cells never touch.
    All columns are as wide as the widest, or with ``fit`` each as wide as its own header and cells."""
    needs = [max(width, text_width(n) + 2, *(text_width(cells[k]) + 2 for _, cells in label_cells))
             for k, n in enumerate(names)]
    widths = needs if fit else [max(needs)] * len(names)
    label_width = max(label_width, text_width(head) + 1, *(text_width(label) + 1 for label, _ in label_cells))
    rows = [pad(head, label_width, left=True) + "".join(pad(n, w) for n, w in zip(names, widths))]
    rows += [pad(label, label_width, left=True) + "".join(pad(c, w) for c, w in zip(cells, widths))
             for label, cells in label_cells]
    return rows


def _shown(text: str) -> float:
    """The value a printed number stands for."""
    return float(text.replace("−", "-"))


def _adds_up(scores, labels, delta: float, digits: int) -> bool:
    """Whether every written SVM line, redone from the numbers it shows, gives the number it shows."""
    def shown(x):
        return _shown(num(x, digits))

    def same(a, b):
        return num(a, digits) == num(b, digits)

    written = []
    for row, y in zip(scores, labels):
        others = [j for j in range(len(row)) if j != y]
        inside = [row[j] - row[y] + delta for j in others]
        if not all(same(shown(row[j]) - shown(row[y]) + shown(delta), v) for j, v in zip(others, inside)):
            return False
        loss = sum(max(0.0, v) for v in inside)
        if not same(sum(shown(max(0.0, v)) for v in inside), loss):
            return False
        written.append((shown(loss), loss))
    return same(sum(w for w, _ in written) / len(written), sum(v for _, v in written) / len(written))


def svm_digits(scores, labels, delta: float) -> int:
    """The fewest decimals (2 to 12) with which every written SVM line adds up from the numbers it shows."""
    return next((d for d in range(2, 13) if _adds_up(scores, labels, delta, d)), 12)


def explain_svm(scores, labels, classes, *, delta: float = 1.0):
    """Multiclass SVM: ``L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)``, written out per image, as the slides do:
    the terms, their insides, their values, then ``L_i``."""
    scores = np.asarray(scores, dtype=np.float64)
    per_example = losses.svm_loss(scores, labels, delta=delta, reduction="none")[0]
    margins = losses.svm_margins(scores, labels, delta=delta)
    d = svm_digits(scores, labels, delta)
    lines = [_("Multiclass SVM loss, Δ = {delta}:").format(delta=num(delta, d))
             + "  L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)", ""]
    lines += columns(_("image"), [(f"{i + 1} ({classes[labels[i]]})", [score(s, d) for s in row])
                               for i, row in enumerate(scores)], list(classes)) + [""]
    for i, row in enumerate(scores):
        y = labels[i]
        others = [j for j in range(len(row)) if j != y]
        head = f"L_{i + 1} ({classes[y]}) "
        steps = [" + ".join(f"max(0, {score(row[j], d)} − {_paren(row[y], d)} + {num(delta, d)})" for j in others),
                 " + ".join(f"max(0, {num(row[j] - row[y] + delta, d)})" for j in others)]
        if len(others) > 1:
            steps.append(" + ".join(num(margins[i, j], d) for j in others))
        steps.append(num(per_example[i], d))
        lines += [(head if k == 0 else " " * text_width(head)) + "= " + step for k, step in enumerate(steps)]
    total = " + ".join(num(v, d) for v in per_example)
    mean = float(per_example.mean())
    lines += ["", f"L = (1/N) Σ L_i = ({total}) / {len(per_example)} = {num(mean, d)}"]
    data = {"loss_name": "svm", "delta": delta, "classes": list(classes),
            "losses": per_example.tolist(), "loss": mean, "margins": margins.tolist()}
    return "\n".join(lines), data


def probability_text(p: float, loss: float, base: float = math.e, loss_digits: int = 2) -> str | None:
    """``p`` with the fewest decimals (2 to 12) for which ``−log(p)`` prints as ``loss`` does; None if none do."""
    for digits in range(2, 13):
        shown = round(p, digits)
        if 0 < shown < 1 and small(-math.log(shown, base), loss_digits) == small(loss, loss_digits):
            return f"{shown:.{digits}f}"
    return None


def mean_digits(values) -> int:
    """The fewest decimals (2 to 6) with which ``(v_1 + … + v_N) / N``, redone from the values shown, gives the
    mean shown."""
    mean = sum(values) / len(values)
    for digits in range(2, 7):
        shown = [_shown(small(v, digits)) for v in values]
        if small(sum(shown) / len(shown), digits) == small(mean, digits):
            return digits
    return 6


def _exp_row(row) -> tuple[str, list[str]]:
    """The exp(s) row of the table, shifted by the row's max when plain exp would over- or underflow."""
    shift = float(row.max()) if np.abs(row).max() > _MAX_EXP else 0.0
    label = "  exp(s)" if shift == 0 else f"  exp(s − {score(shift)})"
    cells = []
    for s in row - shift:
        e = math.exp(s) if s > -700 else 0.0
        cells.append(num(e) if 0.005 <= e < 1e6 else f"e^{score(s)}" if e < 1e-4 else small(e))
    return label, cells


def finite_margins(scores, delta: float = 1.0) -> None:
    """Refuse scores whose differences overflow float64: no loss could be printed finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.ptp(scores, axis=1) + abs(delta)
    if not np.all(np.isfinite(spread)):
        i = int(np.argmin(np.isfinite(spread)))
        raise InputError(_("the scores of row {row} differ by more than a float64 holds (about {largest}), so its "
                           "loss overflows; scale the scores down, e.g. divide them by {factor}.").format(
            row=i + 1, largest="1.8e308", factor="1e10"))


def explain_softmax(scores, labels, classes, *, base: str = "e"):
    """Softmax: exp → normalize → ``−log`` of the correct class's probability, per image."""
    b, log, words = log_base(base)
    scores = np.asarray(scores, dtype=np.float64)
    natural = losses.softmax_loss(scores, labels, reduction="none")[0]
    per_example = natural / math.log(b)
    probs = losses.softmax(scores)
    d = mean_digits(per_example.tolist())
    lines = [_("Softmax loss ({words}):").format(words=_(words)) + f"  L_i = −{log}( e^{{s_{{y_i}}}} / Σ_j e^{{s_j}} )",
             ""]
    for i, row in enumerate(scores):
        y = labels[i]
        lines.append(_("image {number} (correct class: {name})").format(number=i + 1, name=classes[y]))
        table = [("  " + _("scores s"), [score(s) for s in row]), _exp_row(row),
                 ("  " + _("normalize p"), [f"{p:.2f}" for p in probs[i]])]
        lines += columns("", table, list(classes), width=10, label_width=18)
        lines.append(_loss_line(i, row, y, probs[i, y], per_example[i], b, log, d))
        lines.append("")
    total = " + ".join(small(v, d) for v in per_example)
    mean = float(per_example.mean())
    lines.append(f"L = (1/N) Σ L_i = ({total}) / {len(per_example)} = {small(mean, d)}")
    data = {"loss_name": "softmax", "log_base": str(base), "classes": list(classes),
            "losses": per_example.tolist(), "loss": mean, "probabilities": probs.tolist()}
    return "\n".join(lines), data


def _loss_line(i, row, y, p, loss, base, log, d) -> str:
    shown = probability_text(p, loss, base, d)
    if shown is not None:
        return f"  L_{i + 1} = −{log}({shown}) = {small(loss, d)}"
    # p rounds to 0 or 1: log-sum-exp, L_i = (s_max − s_y) + log Σ_j e^{s_j − s_max}, each part printable
    top = float(row.max())
    rest = [s - top for s in np.delete(row, int(row.argmax()))]
    inner = " + ".join(["1"] + [f"e^{score(s)}" for s in rest])
    lse = math.log1p(sum(math.exp(s) for s in rest)) / math.log(base)
    gap = (top - row[y]) / math.log(base)
    unit = "" if log == "ln" else f" / ln {num(base)}"
    return (f"  L_{i + 1} = ({score(top)} − {_paren(row[y])}){unit} + {log}({inner}) "
            f"= {small(gap, d)} + {small(lse, d)} = {small(loss, d)}   "
            + _("(p rounds to {p}: log-sum-exp in log-space)").format(p=round(p)))


def explain(loss: str, scores=None, labels=None, classes=None, *, delta: float = 1.0, base: str = "e"):
    """Explain ``loss`` (``"svm"`` or ``"softmax"``) on ``scores``; the slides' example by default."""
    if scores is None:
        scores, labels = SLIDES_SCORES, SLIDES_LABELS
        classes = classes or slides_classes()
    scores = np.asarray(scores, dtype=np.float64)
    labels = [int(v) for v in labels]
    scores_and_labels(scores, labels)  # validates shapes, labels, finiteness
    finite_margins(scores, delta)
    classes = list(classes) if classes else [_("class {number}").format(number=j) for j in range(scores.shape[1])]
    if loss == "svm":
        return explain_svm(scores, labels, classes, delta=delta)
    return explain_softmax(scores, labels, classes, base=base)
