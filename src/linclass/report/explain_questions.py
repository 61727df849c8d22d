"""The lecture's questions, answered with numbers (``linclass explain --questions``).

Every answer is computed on the scores it is given (the slides' cat/car/frog
example by default, or ``--scores``/``--labels``), and ``loss`` keeps the
questions about one loss (``"svm"`` or ``"softmax"``; None: all of them).
Returns ``(text, {"questions": [{key, loss, question, answer, value}, ...]})``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import losses
from .._checks import scores_and_labels
from ..i18n import N_, _
from ..regularizers import L1, L2
from .explain import SLIDES_LABELS, SLIDES_SCORES, SLIDES_W, finite_margins, slides_classes
from .numbers import fixed, general, num, score, small, vector

JIGGLE = 0.001
P_CORRECT = "p_{y_i}"
"""The correct class's probability, as the formulas write it (filled into the translated sentences)."""
CIFAR_CLASSES = 10


def _svm(S, y, **kw):
    return float(losses.svm_loss(S, y, **kw)[0])


def _soft(S, y):
    return float(losses.softmax_loss(S, y)[0])


def questions(scores=None, labels=None, classes=None, *, loss: str | None = None):
    """Answer the lecture's questions on ``scores``/``labels`` (the slides' example by default)."""
    if scores is None:
        scores, labels, classes = SLIDES_SCORES, SLIDES_LABELS, classes or slides_classes()
    S, y = scores_and_labels(np.asarray(scores, dtype=np.float64), [int(v) for v in labels])
    finite_margins(S)
    N, C = S.shape
    classes = list(classes) if classes else [_("class {number}").format(number=j) for j in range(C)]
    names = [_("the {name} image").format(name=classes[y[i]]) for i in range(N)]
    per_image = losses.svm_loss(S, y, reduction="none")[0]
    zero = next((i for i in range(N) if per_image[i] == 0), None)
    answers = []

    def add(key, which, question, answer, value):
        if loss is None or which in (loss, "both"):
            answers.append({"key": key, "loss": which, "question": question, "answer": answer, "value": value})

    base = _svm(S, y)
    if zero is not None:
        _lowered(add, S[zero], int(y[zero]), names[zero], classes)
    add("min_max", "svm", _("What are the smallest and largest possible SVM losses?"),
        _("0 (every margin holds) and +∞ (a wrong score can be arbitrarily large)."), 0.0)
    _softmax_min_max(add, C)
    _initialization(add, S, y, C)
    with_correct = float(np.mean(np.maximum(0, S - S[np.arange(N), y][:, None] + 1).sum(axis=1)))
    add("sum_all_classes", "svm", _("What if the sum also ran over j = y_i?"),
        _("Every L_i grows by Δ = 1: {before} → {after}; the minimizer is the same.").format(
            before=num(base), after=num(with_correct)), with_correct)
    add("mean_not_sum", "svm", _("What if we used the mean over classes instead of the sum?"),
        _("The loss is scaled by 1/(C − 1): {before} → {after}; the minimizer is the same.").format(
            before=num(base), after=num(base / (C - 1))), base / (C - 1))
    squared = _svm(S, y, squared=True)
    add("squared_hinge", "svm", _("What if we used Σ max(0, s_j − s_{y_i} + 1)²?"),
        _("A different loss that punishes large violations more: {before} → {after}.").format(
            before=num(base), after=num(squared)), squared)
    margin2, doubled = _svm(S, y, delta=2.0), _svm(2 * S, y, delta=2.0)
    add("margin_2", "svm", _("What if the margin Δ were 2 instead of 1?"),
        _("Nothing real changes: it only rescales W. On the same scores Δ = 2 gives {margin2}, but with 2W "
          "(scores doubled) it gives {doubled} = 2 × {base}: every Δ = 2 problem is the Δ = 1 problem with W "
          "scaled by 2, and λ trades the scale of W against Δ.").format(
            margin2=num(margin2), doubled=num(doubled), base=num(base)), doubled)
    _not_unique(add, S, y, zero, names)
    _regularization_preference(add)
    _jiggle(add, S, y, names)
    _svm_vs_softmax(add)
    _sigmoid(add, S[0, :2])
    _mle_map(add, S, y)
    text = "\n\n".join(_("Q: {question}").format(question=_capital(a["question"])) + "\n"
                         + _("A: {answer}").format(answer=a["answer"]) for a in answers)
    return text, {"questions": answers}


def _capital(sentence: str) -> str:
    """A question with a capital first letter (a translation may open with a placeholder's word); answers
    are left as they are: they may open with a formula (ln C)."""
    return sentence[:1].upper() + sentence[1:]


def _lowered(add, row, y, name, classes):
    """How far the correct score can drop before the SVM loss turns positive."""
    others = np.delete(row, y)
    threshold = float(others.max()) + 1  # L_i > 0 once s_y < max_{j≠y} s_j + Δ
    drops = (0.5, 1.0, round(row[y] - threshold + 0.1, 6))
    lowered = []
    for drop in drops:
        s = row.copy()
        s[y] -= drop
        lowered.append(_svm([s], [y]))
    add("car_score_lowered", "svm",
        _("What happens to {image}'s loss if its {name} score ({score}) is lowered a little?").format(
            image=name, name=classes[y], score=num(row[y])),
        _("Nothing while the margins hold: lowered by 0.5 → {half}, by 1 → {one}; it turns positive only below "
          "{threshold} (at {below} → {positive}).").format(
            half=num(lowered[0]), one=num(lowered[1]), threshold=score(threshold), below=num(row[y] - drops[2]),
            positive=num(lowered[2])), lowered[1])


def _softmax_min_max(add, C):
    near = [10] + [-100] * (C - 1)
    far = [-100] + [10] * (C - 1)
    lo, hi = _soft([near], [0]), _soft([far], [0])
    add("softmax_min_max", "softmax", _("What are the smallest and largest possible softmax losses?"),
        _("0 and +∞, neither reached with finite scores: L_i = −log {p} → 0 as the correct score wins by more "
          "and more ({near} → {low}), and → ∞ as {p} → 0 ({far} → {high}).").format(
            p=P_CORRECT, near=vector(near), low=small(lo), far=vector(far), high=num(hi)),
        [lo, hi])


def _initialization(add, S, y, C):
    zero = np.zeros_like(S)
    init_svm, init_soft = _svm(zero, y), _soft(zero, y)
    cifar_svm = "" if C == CIFAR_CLASSES else _(" (9 for CIFAR-10's {classes} classes)").format(classes=CIFAR_CLASSES)
    add("init_svm", "svm", _("At initialization W is small, so all s ≈ 0. What is the SVM loss?"),
        _("C − 1 = {loss} for C = {classes}{cifar}: a sanity check for training.").format(
            loss=num(init_svm), classes=C, cifar=cifar_svm), init_svm)
    cifar_soft = "" if C == CIFAR_CLASSES else _("; ln 10 = {ln10} for CIFAR-10").format(
        ln10=num(math.log(CIFAR_CLASSES), 4))
    add("init_softmax", "softmax", _("At initialization W is small, so all s ≈ 0. What is the softmax loss?"),
        _("ln C = {loss} for C = {classes}{cifar}. It is the natural log: seed 004's \"log 3 ≈ 0.477\" is "
          "log10 3; ln 3 = {ln3}.").format(loss=num(init_soft, 4), classes=C, cifar=cifar_soft,
                                           ln3=num(math.log(3), 4)), init_soft)


def _not_unique(add, S, y, zero, names):
    W = np.asarray(SLIDES_W)
    R, R2 = float(np.sum(W ** 2)), float(np.sum((2 * W) ** 2))
    if zero is not None:
        row = S[zero]
        cy = int(y[zero])
        terms = " + ".join(f"max(0, {num(2 * row[j])} − {num(2 * row[cy])} + 1)" for j in range(len(row)) if j != cy)
        shown = _("With 2W, {image}'s scores {scores} → {terms} = {loss}. ").format(
            image=names[zero], scores=", ".join(num(v) for v in 2 * row), terms=terms, loss=num(_svm([2 * row], [cy])))
    else:
        shown = _("No image has L_i = 0 on these scores; where one does, its margins only grow with 2W. ")
    add("w_not_unique", "svm", _("A W with L = 0 — is it unique?"),
        _("No: 2W (any cW, c > 1) also gives 0, since every margin doubles. {shown}The data loss cannot choose, "
          "so add λR(W): for seed 003's W, R(W) = ΣW² = {r} and R(2W) = {r2} = 4 R(W) > R(W), and "
          "regularization prefers the smaller W.").format(shown=shown, r=num(R), r2=num(R2)),
        _svm([2 * S[zero]], [int(y[zero])]) if zero is not None else R2 / R)


def _jiggle(add, S, y, names):
    """A ±0.001 change of one wrong-class score: SVM moves only where a margin is active."""
    margins = losses.svm_margins(S, y)
    dsoft = losses.softmax_loss(S, y, reduction="none")[1]
    parts, softs = [], []
    for i, row in enumerate(S):
        j = max((k for k in range(len(row)) if k != y[i]), key=lambda k: row[k])
        bumped = S[i].copy()
        bumped[j] += JIGGLE
        before, after = _svm([row], [y[i]]), _svm([bumped], [y[i]])
        state = _("margin active") if margins[i, j] > 0 else _("margin inactive")
        parts.append(f"{names[i]} ({state}): {num(before, 4)} → {num(after, 4)}")
        soft_change = _soft([bumped], [y[i]]) - _soft([row], [y[i]])
        softs.append(f"{names[i]}: {general(soft_change, 2, sign=True)} ≈ 0.001 × {fixed(dsoft[i, j], '.3f')}")
    add("jiggle", "both", _("If a score changes a little (±0.001), how does the loss change?"),
        _("SVM: not at all where {held} (the margin holds), by ±0.001 per active margin. Raising each image's "
          "strongest wrong score by 0.001: {svm}. Softmax: always, by 0.001 × (p_j − 1[j = y_i]): "
          "{softmax}.").format(held="s_j − s_{y_i} + 1 < 0", svm="; ".join(parts), softmax="; ".join(softs)), None)


def _svm_vs_softmax(add):
    rows = []
    for s in ([10, -2, 3], [10, 9, 9], [10, -100, -100]):
        s20 = [20] + s[1:]
        rows.append({"scores": s, "svm": _svm([s], [0]), "softmax": _soft([s], [0]),
                     "softmax_correct_20": _soft([s20], [0]), "svm_correct_20": _svm([s20], [0])})
    table = "; ".join(_("{scores}: SVM {svm}, softmax {softmax} → {softmax_20} at s_0 = 20").format(
        scores=vector(r["scores"]), svm=num(r["svm"]), softmax=general(r["softmax"], 3),
        softmax_20=general(r["softmax_correct_20"], 2)) for r in rows)
    add("svm_vs_softmax", "both", _("SVM vs softmax with correct class 0: what changes when s_0 goes 10 → 20?"),
        _("{table}. SVM is indifferent once the margins hold; softmax always wants more.").format(table=table), rows)


def _sigmoid(add, pair):
    """Softmax over two classes is the logistic sigmoid of the score difference."""
    s0, s1 = (float(v) for v in pair)
    soft = float(losses.softmax([[s0, s1]])[0, 1])
    sigma = 1 / (1 + math.exp(-(s1 - s0)))
    formula = "e^{s_1} / (e^{s_0} + e^{s_1}) = 1 / (1 + e^{−(s_1 − s_0)}) = σ(s_1 − s_0)"
    add("sigmoid", "softmax", _("How does softmax relate to the sigmoid?"),
        _("With two classes it is the sigmoid of the score difference: {formula}. With s = [{s0}, {s1}]: softmax "
          "gives p_1 = {p1} and σ({gap}) = {sigma}; binary logistic regression is the two-class softmax "
          "classifier.").format(formula=formula, s0=num(s0), s1=num(s1), p1=fixed(soft, ".4f"), gap=num(s1 - s0),
                                sigma=fixed(sigma, ".4f")), {"softmax": soft, "sigmoid": sigma})


def _mle_map(add, S, y):
    """Softmax loss = mean negative log-likelihood; L2 = a Gaussian prior (MAP)."""
    N = len(S)
    p = losses.softmax(S)[np.arange(N), y]
    L = _soft(S, y)
    likelihood = float(np.prod(p))
    lam = 0.1
    sigma = math.sqrt(1 / (2 * N * lam))
    factors = " × ".join(general(v, 3) for v in p)
    product = general(likelihood, 3) if N == 1 else f"{factors} = {general(likelihood, 3)}"
    examples = _("N = {n} example") if N == 1 else _("N = {n} examples")
    add("mle_map", "softmax", _("Why −log? What are MLE and MAP here?"),
        _("Softmax reads scores as log-probabilities, so L = −(1/N) Σ log {p} is the negative log-likelihood of "
          "the labels (MLE minimizes it): here Π {p} = {product} = e^(−{n} × {loss}). MAP adds a prior: a "
          "Gaussian W_k ~ N(0, σ²) adds Σ W²/(2σ²) to −log p, i.e. L2 with λ = 1/(2Nσ²); λ = {lam} on {examples} "
          "is σ = {sigma}. L1 is a Laplace prior the same way.").format(
            p=P_CORRECT, product=product, n=N, loss=num(L, 4), lam=num(lam), examples=examples.format(n=N),
            sigma=num(sigma, 3)),
        {"likelihood": likelihood, "mean_nll": L, "lambda": lam, "sigma": sigma})


WEIGHT_PAIRS = [
    (N_("seeds 000/002"), [1, 1, 1, 1], [1, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]),
    (N_("seed 004"), [1, 1, 1], [1, 0, 0], [0.3, -0.1, 0.8]),
]
"""The slides' two weight vectors with the same score ``wᵀx``: ``(seeds, x, w1, w2)``."""


def _regularization_preference(add):
    """Two w with the same score: which does L2 prefer, which L1 (computed by the regularizers)."""
    parts, values = [], []
    for seeds, x, w1, w2 in WEIGHT_PAIRS:
        x, w1, w2 = (np.asarray(v, dtype=np.float64) for v in (x, w1, w2))
        r = {name: (float(reg()(w1[:, None])[0]), float(reg()(w2[:, None])[0]))
             for name, reg in (("L1", L1), ("L2", L2))}
        parts.append(f"{_(seeds)}: x = {vector(x)}, w1 = {vector(w1)}, w2 = {vector(w2)}, w1ᵀx = {num(w1 @ x)} = w2ᵀx; "
                     + _("L2: {l2_w1} vs {l2_w2}, L1: {l1_w1} vs {l1_w2}").format(
                         l2_w1=num(r["L2"][0]), l2_w2=num(r["L2"][1]), l1_w1=num(r["L1"][0]), l1_w2=num(r["L1"][1])))
        values.append({"seeds": seeds, "scores": [float(w1 @ x), float(w2 @ x)], "L1": r["L1"], "L2": r["L2"]})
    add("weight_preference", "both", _("Two weight vectors give the same scores: which does regularization prefer?"),
        _("{pairs}. L2 prefers the spread-out w2 in both (it uses every input a little); L1 cannot tell the first "
          "pair apart and prefers the concentrated w1 in the second (L1 favours few large weights: "
          "sparsity).").format(pairs="; ".join(parts)), values)
