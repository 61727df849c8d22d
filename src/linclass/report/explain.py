"""Slide-style worked computations of the losses (``linclass explain``).

Each function returns ``(text, data)``: the computation written out as on the
slides (every ``L_i`` term by term, the softmax exp → normalize → −log steps,
the average) and the same numbers for ``--json``.
"""

from __future__ import annotations

import numpy as np

from .. import losses
from .._checks import scores_and_labels

SLIDES_SCORES = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]
"""The lecture's score matrix: one row per image (cat, car, frog), columns cat, car, frog."""
SLIDES_LABELS = [0, 1, 2]
SLIDES_CLASSES = ["cat", "car", "frog"]


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


def explain_softmax(scores, labels, classes):
    """Softmax: exp → normalize → ``−log`` of the correct class's probability, per image."""
    scores = np.asarray(scores, dtype=np.float64)
    per_example, _ = losses.softmax_loss(scores, labels, reduction="none")
    probs = losses.softmax(scores)
    width = max(10, *(len(c) + 2 for c in classes))
    lines = ["Softmax loss:  L_i = −log( e^{s_{y_i}} / Σ_j e^{s_j} )", ""]
    for i, row in enumerate(scores):
        y = labels[i]
        lines.append(f"image {i + 1} (correct class: {classes[y]})")
        lines.append("  ".ljust(18) + "".join(c.rjust(width) for c in classes))
        lines.append("  scores s".ljust(18) + "".join(score(s).rjust(width) for s in row))
        with np.errstate(over="ignore"):
            exps = np.exp(row)
        lines.append("  exp(s)".ljust(18) + "".join(_big(e).rjust(width) for e in exps))
        lines.append("  normalize p".ljust(18) + "".join(f"{p:.2f}".rjust(width) for p in probs[i]))
        lines.append(f"  L_{i + 1} = −log({_small(probs[i, y])}) = {_small(per_example[i])}")
        lines.append("")
    total = " + ".join(_small(v) for v in per_example)
    mean = float(per_example.mean())
    lines.append(f"L = (1/N) Σ L_i = ({total}) / {len(per_example)} = {num(mean)}")
    data = {"loss_name": "softmax", "classes": list(classes), "losses": per_example.tolist(),
            "loss": mean, "probabilities": probs.tolist()}
    return "\n".join(lines), data


def _big(x: float) -> str:
    return num(x) if x < 1e6 else f"{x:.3g}".replace("+", "")


def _small(x: float) -> str:
    """Two decimals, or scientific notation for values too small to show that way."""
    return num(x) if x == 0 or abs(x) >= 0.005 else f"{x:.2g}".replace("-", "−")


def explain(loss: str, scores=None, labels=None, classes=None, *, delta: float = 1.0):
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
    return explain_softmax(scores, labels, classes)


def questions():
    """The lecture's questions, answered numerically on the slides' example."""
    S = np.asarray(SLIDES_SCORES)
    y = np.asarray(SLIDES_LABELS)
    C = S.shape[1]
    svm = lambda s, yy=y, **kw: losses.svm_loss(s, yy, **kw)[0]  # noqa: E731
    soft = lambda s, yy=y: losses.softmax_loss(s, yy)[0]  # noqa: E731
    base = svm(S)
    answers = []

    def add(key, question, answer, value):
        answers.append({"key": key, "question": question, "answer": answer, "value": value})

    car = S[1].copy()
    lowered = {}
    for drop in (0.5, 1.0, 2.0):
        s = car.copy()
        s[1] -= drop
        lowered[drop] = float(losses.svm_loss([s], [1])[0])
    add("car_score_lowered",
        "What happens to the car image's loss if its car score (4.9) is lowered a little?",
        f"Nothing while the margins hold: lowered by 0.5 → {num(lowered[0.5])}, by 1 → {num(lowered[1.0])}; "
        f"it turns positive only below 3.0 (by 2, at 2.9 → {num(lowered[2.0])}).", lowered[1.0])
    add("min_max", "What are the smallest and largest possible SVM losses?",
        "0 (every margin holds) and +∞ (a wrong score can be arbitrarily large).", 0.0)
    zero = np.zeros_like(S)
    init_svm, init_soft = svm(zero), soft(zero)
    add("init_svm", "At initialization W is small, so all s ≈ 0. What is the SVM loss?",
        f"C − 1 = {num(init_svm)} for C = {C} (9 for CIFAR-10's 10 classes): a sanity check for training.",
        init_svm)
    add("init_softmax", "... and the softmax loss?",
        f"ln C = {num(init_soft, 4)} for C = {C} (ln 10 = 2.3026 for CIFAR-10; natural log, "
        "not log10 ≈ 0.477 as one slide writes).", init_soft)
    with_correct = float(np.mean(np.maximum(0, S - S[np.arange(3), y][:, None] + 1).sum(axis=1)))
    add("sum_all_classes", "What if the sum also ran over j = y_i?",
        f"Every L_i grows by Δ = 1: {num(base)} → {num(with_correct)}; the minimizer is the same.",
        with_correct)
    add("mean_not_sum", "What if we used the mean over classes instead of the sum?",
        f"The loss is scaled by 1/(C − 1): {num(base)} → {num(base / (C - 1))}; the minimizer is the same.",
        base / (C - 1))
    squared = svm(S, squared=True)
    add("squared_hinge", "What if we used Σ max(0, s_j − s_{y_i} + 1)²?",
        f"A different loss that punishes large violations more: {num(base)} → {num(squared)}.", squared)
    doubled = losses.svm_loss([2 * car], [1])[0]
    add("w_not_unique", "A W with L = 0 — is it unique?",
        f"No: 2W also gives 0. Car image with 2W: scores {', '.join(num(v) for v in 2 * car)} → "
        f"max(0, {num(2 * car[0])} − {num(2 * car[1])} + 1) + max(0, {num(2 * car[2])} − {num(2 * car[1])} + 1) "
        f"= {num(doubled)}.", float(doubled))
    rows = []
    for s in ([10, -2, 3], [10, 9, 9], [10, -100, -100]):
        s20 = [20] + s[1:]
        rows.append({"scores": s, "svm": float(losses.svm_loss([s], [0])[0]),
                     "softmax": float(losses.softmax_loss([s], [0])[0]),
                     "softmax_correct_20": float(losses.softmax_loss([s20], [0])[0]),
                     "svm_correct_20": float(losses.svm_loss([s20], [0])[0])})
    table = "; ".join(f"{r['scores']}: SVM {num(r['svm'])}, softmax {r['softmax']:.3g} → "
                      f"{r['softmax_correct_20']:.2g} at s_0 = 20" for r in rows)
    add("svm_vs_softmax", "SVM vs softmax with correct class 0: what changes when s_0 goes 10 → 20?",
        f"{table}. SVM is indifferent once the margins hold; softmax always wants more.", rows)
    text = "\n\n".join(f"Q: {a['question']}\nA: {a['answer']}" for a in answers)
    return text, {"questions": answers}
