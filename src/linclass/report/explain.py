"""Slide-style worked computations of the losses (``linclass explain``).

Each function returns ``(text, data)``: the computation written out as on the
slides (every ``L_i`` term by term, the softmax exp → normalize → −log steps,
the average) and the same numbers for ``--json``. The other lecture topics live
beside this module: ``explain_questions``, ``explain_gradient``,
``explain_entropy``, ``explain_features`` and ``explain_lr``.

Printed arithmetic is true arithmetic: a probability is shown with as many
digits as ``−log(p) = L`` needs, and where ``p`` cannot be shown at all (it
rounds to 0 or 1) the loss is written in log-space, ``L_i = (s_max − s_{y_i}) +
log Σ_j e^{s_j − s_max}`` (the log-sum-exp trick), never as ``exp inf``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import losses
from .._checks import scores_and_labels
from ..errors import InputError

SLIDES_SCORES = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]
"""The lecture's score matrix: one row per image (cat, car, frog), columns cat, car, frog."""
SLIDES_LABELS = [0, 1, 2]
SLIDES_CLASSES = ["cat", "car", "frog"]
SLIDES_W = [[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0.0, 0.25, 0.2, -0.3]]
"""Seed 003's weights (3 classes × 4 pixels, one row per class), where the lecture needs a W."""

LOG_BASES = {"e": (math.e, "ln", "natural log"), "2": (2.0, "log2", "log base 2, in bits"),
             "10": (10.0, "log10", "log base 10")}
"""``--log-base`` choices: (base, the symbol printed, the words printed)."""
_MAX_EXP = 50.0  # beyond |s| = 50 the exp(s) row is written shifted by the row's max


def num(x: float, digits: int = 2) -> str:
    """A number as the slides write it: rounded, no trailing zeros, a real minus sign."""
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace("-", "−")


def score(x: float) -> str:
    """A score as the slides write it: at least one decimal (``2.0``, ``−1.7``)."""
    text = num(x)
    return text if "." in text or "e" in text else f"{text}.0"


def small(x: float) -> str:
    """Two decimals, or two significant digits for values too small to show that way."""
    return num(x) if x == 0 or abs(x) >= 0.005 else f"{x:.2g}".replace("-", "−")


def log_base(name: str) -> tuple[float, str, str]:
    """``(base, symbol, words)`` for ``"e"``, ``"2"`` or ``"10"``."""
    try:
        return LOG_BASES[str(name)]
    except KeyError:
        raise InputError(f"--log-base must be one of {', '.join(LOG_BASES)}, got {name!r}.") from None


def _paren(x: float) -> str:
    return f"({score(x)})" if x < 0 else score(x)


def _table(scores, labels, classes) -> list[str]:
    width = max(8, *(len(c) + 2 for c in classes))
    head = "image".ljust(14) + "".join(c.rjust(width) for c in classes)
    rows = [head]
    for i, row in enumerate(scores):
        name = f"{i + 1} ({classes[labels[i]]})"
        rows.append(name.ljust(14) + "".join(score(s).rjust(width) for s in row))
    return rows


def explain_svm(scores, labels, classes, *, delta: float = 1.0):
    """Multiclass SVM: ``L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)``, written out per image."""
    scores = np.asarray(scores, dtype=np.float64)
    per_example, _ = losses.svm_loss(scores, labels, delta=delta, reduction="none")
    margins = losses.svm_margins(scores, labels, delta=delta)
    lines = [f"Multiclass SVM loss, Δ = {num(delta)}:  L_i = Σ_{{j≠y_i}} max(0, s_j − s_{{y_i}} + Δ)", ""]
    lines += _table(scores, labels, classes) + [""]
    for i, row in enumerate(scores):
        y = labels[i]
        others = [j for j in range(len(row)) if j != y]
        terms = [f"max(0, {score(row[j])} − {_paren(row[y])} + {num(delta)})" for j in others]
        values = [num(margins[i, j]) for j in others]
        lines.append(f"L_{i + 1} ({classes[y]}) = " + " + ".join(terms) + f" = {num(per_example[i])}")
        lines.append(" " * len(f"L_{i + 1} ({classes[y]}) ") + "= " + " + ".join(values))
    total = " + ".join(num(v) for v in per_example)
    mean = float(per_example.mean())
    lines += ["", f"L = (1/N) Σ L_i = ({total}) / {len(per_example)} = {num(mean)}"]
    data = {"loss_name": "svm", "delta": delta, "classes": list(classes),
            "losses": per_example.tolist(), "loss": mean, "margins": margins.tolist()}
    return "\n".join(lines), data


def probability_text(p: float, loss: float, base: float = math.e) -> str | None:
    """``p`` with the fewest decimals (2 to 9) for which ``−log(p)`` prints as ``loss`` does; None if none do."""
    for digits in range(2, 10):
        shown = round(p, digits)
        if 0 < shown < 1 and small(-math.log(shown, base)) == small(loss):
            return f"{shown:.{digits}f}"
    return None


def _exp_row(row) -> tuple[str, list[str]]:
    """The exp(s) row of the table, shifted by the row's max when plain exp would over- or underflow."""
    shift = float(row.max()) if np.abs(row).max() > _MAX_EXP else 0.0
    label = "  exp(s)" if shift == 0 else f"  exp(s − {score(shift)})"
    cells = []
    for s in row - shift:
        e = math.exp(s) if s > -700 else 0.0
        cells.append(num(e) if 0.005 <= e < 1e6 else f"e^{score(s)}" if e < 1e-4 else small(e))
    return label, cells


def explain_softmax(scores, labels, classes, *, base: str = "e"):
    """Softmax: exp → normalize → ``−log`` of the correct class's probability, per image."""
    b, log, words = log_base(base)
    scores = np.asarray(scores, dtype=np.float64)
    natural, _ = losses.softmax_loss(scores, labels, reduction="none")
    per_example = natural / math.log(b)
    probs = losses.softmax(scores)
    width = max(10, *(len(c) + 2 for c in classes))
    lines = [f"Softmax loss ({words}):  L_i = −{log}( e^{{s_{{y_i}}}} / Σ_j e^{{s_j}} )", ""]
    for i, row in enumerate(scores):
        y = labels[i]
        lines.append(f"image {i + 1} (correct class: {classes[y]})")
        lines.append("  ".ljust(18) + "".join(c.rjust(width) for c in classes))
        lines.append("  scores s".ljust(18) + "".join(score(s).rjust(width) for s in row))
        label, cells = _exp_row(row)
        lines.append(label.ljust(18) + "".join(c.rjust(width) for c in cells))
        lines.append("  normalize p".ljust(18) + "".join(f"{p:.2f}".rjust(width) for p in probs[i]))
        lines.append(_loss_line(i, row, y, probs[i, y], per_example[i], b, log))
        lines.append("")
    total = " + ".join(small(v) for v in per_example)
    mean = float(per_example.mean())
    lines.append(f"L = (1/N) Σ L_i = ({total}) / {len(per_example)} = {small(mean)}")
    data = {"loss_name": "softmax", "log_base": str(base), "classes": list(classes),
            "losses": per_example.tolist(), "loss": mean, "probabilities": probs.tolist()}
    return "\n".join(lines), data


def _loss_line(i, row, y, p, loss, base, log) -> str:
    shown = probability_text(p, loss, base)
    if shown is not None:
        return f"  L_{i + 1} = −{log}({shown}) = {small(loss)}"
    # p rounds to 0 or 1: log-sum-exp, L_i = (s_max − s_y) + log Σ_j e^{s_j − s_max}, each part printable
    top = float(row.max())
    rest = [s - top for s in np.delete(row, int(row.argmax()))]
    inner = " + ".join(["1"] + [f"e^{score(s)}" for s in rest])
    lse = math.log1p(sum(math.exp(s) for s in rest)) / math.log(base)
    gap = (top - row[y]) / math.log(base)
    unit = "" if log == "ln" else f" / ln {num(base)}"
    return (f"  L_{i + 1} = ({score(top)} − {_paren(row[y])}){unit} + {log}({inner}) "
            f"= {small(gap)} + {small(lse)} = {small(loss)}   (p rounds to {round(p)}: log-sum-exp in log-space)")


def explain(loss: str, scores=None, labels=None, classes=None, *, delta: float = 1.0, base: str = "e"):
    """Explain ``loss`` (``"svm"`` or ``"softmax"``) on ``scores``; the slides' example by default."""
    if scores is None:
        scores, labels = SLIDES_SCORES, SLIDES_LABELS
        classes = classes or SLIDES_CLASSES
    scores = np.asarray(scores, dtype=np.float64)
    labels = [int(v) for v in labels]
    scores_and_labels(scores, labels)  # validates shapes, labels, finiteness
    classes = list(classes) if classes else [f"class {j}" for j in range(scores.shape[1])]
    if loss == "svm":
        return explain_svm(scores, labels, classes, delta=delta)
    return explain_softmax(scores, labels, classes, base=base)
