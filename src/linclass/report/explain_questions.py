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
from ..regularizers import L1, L2
from .explain import SLIDES_CLASSES, SLIDES_LABELS, SLIDES_SCORES, SLIDES_W, finite_margins
from .numbers import fixed, general, num, score, small, vector

JIGGLE = 0.001
CIFAR_CLASSES = 10


def _svm(S, y, **kw):
    return float(losses.svm_loss(S, y, **kw)[0])


def _soft(S, y):
    return float(losses.softmax_loss(S, y)[0])


def questions(scores=None, labels=None, classes=None, *, loss: str | None = None):
    """Answer the lecture's questions on ``scores``/``labels`` (the slides' example by default)."""
    if scores is None:
        scores, labels, classes = SLIDES_SCORES, SLIDES_LABELS, classes or SLIDES_CLASSES
    S, y = scores_and_labels(np.asarray(scores, dtype=np.float64), [int(v) for v in labels])
    finite_margins(S)
    N, C = S.shape
    classes = list(classes) if classes else [f"class {j}" for j in range(C)]
    names = [f"the {classes[y[i]]} image" for i in range(N)]
    per_image = losses.svm_loss(S, y, reduction="none")[0]
    zero = next((i for i in range(N) if per_image[i] == 0), None)
    answers = []

    def add(key, which, question, answer, value):
        if loss is None or which in (loss, "both"):
            answers.append({"key": key, "loss": which, "question": question, "answer": answer, "value": value})

    base = _svm(S, y)
    if zero is not None:
        _lowered(add, S[zero], int(y[zero]), names[zero], classes)
    add("min_max", "svm", "What are the smallest and largest possible SVM losses?",
        "0 (every margin holds) and +∞ (a wrong score can be arbitrarily large).", 0.0)
    _softmax_min_max(add, C)
    _initialization(add, S, y, C)
    with_correct = float(np.mean(np.maximum(0, S - S[np.arange(N), y][:, None] + 1).sum(axis=1)))
    add("sum_all_classes", "svm", "What if the sum also ran over j = y_i?",
        f"Every L_i grows by Δ = 1: {num(base)} → {num(with_correct)}; the minimizer is the same.",
        with_correct)
    add("mean_not_sum", "svm", "What if we used the mean over classes instead of the sum?",
        f"The loss is scaled by 1/(C − 1): {num(base)} → {num(base / (C - 1))}; the minimizer is the same.",
        base / (C - 1))
    squared = _svm(S, y, squared=True)
    add("squared_hinge", "svm", "What if we used Σ max(0, s_j − s_{y_i} + 1)²?",
        f"A different loss that punishes large violations more: {num(base)} → {num(squared)}.", squared)
    margin2, doubled = _svm(S, y, delta=2.0), _svm(2 * S, y, delta=2.0)
    add("margin_2", "svm", "What if the margin Δ were 2 instead of 1?",
        f"Nothing real changes: it only rescales W. On the same scores Δ = 2 gives {num(margin2)}, but "
        f"with 2W (scores doubled) it gives {num(doubled)} = 2 × {num(base)}: every Δ = 2 problem is the "
        "Δ = 1 problem with W scaled by 2, and λ trades the scale of W against Δ.", doubled)
    _not_unique(add, S, y, zero, names)
    _regularization_preference(add)
    _jiggle(add, S, y, names)
    _svm_vs_softmax(add)
    _sigmoid(add, S[0, :2])
    _mle_map(add, S, y)
    text = "\n\n".join(f"Q: {a['question']}\nA: {a['answer']}" for a in answers)
    return text, {"questions": answers}


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
        f"What happens to {name}'s loss if its {classes[y]} score ({num(row[y])}) is lowered a little?",
        f"Nothing while the margins hold: lowered by 0.5 → {num(lowered[0])}, by 1 → {num(lowered[1])}; "
        f"it turns positive only below {score(threshold)} (at {num(row[y] - drops[2])} → {num(lowered[2])}).",
        lowered[1])


def _softmax_min_max(add, C):
    near = [10] + [-100] * (C - 1)
    far = [-100] + [10] * (C - 1)
    lo, hi = _soft([near], [0]), _soft([far], [0])
    add("softmax_min_max", "softmax", "What are the smallest and largest possible softmax losses?",
        f"0 and +∞, neither reached with finite scores: L_i = −log p_{{y_i}} → 0 as the correct score "
        f"wins by more and more ({vector(near)} → {small(lo)}), and → ∞ as p_{{y_i}} → 0 ({vector(far)} → {num(hi)}).",
        [lo, hi])


def _initialization(add, S, y, C):
    zero = np.zeros_like(S)
    init_svm, init_soft = _svm(zero, y), _soft(zero, y)
    cifar_svm = "" if C == CIFAR_CLASSES else f" (9 for CIFAR-10's {CIFAR_CLASSES} classes)"
    add("init_svm", "svm", "At initialization W is small, so all s ≈ 0. What is the SVM loss?",
        f"C − 1 = {num(init_svm)} for C = {C}{cifar_svm}: a sanity check for training.", init_svm)
    cifar_soft = "" if C == CIFAR_CLASSES else f"; ln 10 = {num(math.log(CIFAR_CLASSES), 4)} for CIFAR-10"
    add("init_softmax", "softmax", "At initialization W is small, so all s ≈ 0. What is the softmax loss?",
        f"ln C = {num(init_soft, 4)} for C = {C}{cifar_soft}. It is the natural log: seed 004's "
        f"\"log 3 ≈ 0.477\" is log10 3; ln 3 = {num(math.log(3), 4)}.", init_soft)


def _not_unique(add, S, y, zero, names):
    W = np.asarray(SLIDES_W)
    R, R2 = float(np.sum(W ** 2)), float(np.sum((2 * W) ** 2))
    if zero is not None:
        row = S[zero]
        cy = int(y[zero])
        terms = " + ".join(f"max(0, {num(2 * row[j])} − {num(2 * row[cy])} + 1)" for j in range(len(row)) if j != cy)
        shown = (f"With 2W, {names[zero]}'s scores {', '.join(num(v) for v in 2 * row)} → {terms} "
                 f"= {num(_svm([2 * row], [cy]))}. ")
    else:
        shown = "No image has L_i = 0 on these scores; where one does, its margins only grow with 2W. "
    add("w_not_unique", "svm", "A W with L = 0 — is it unique?",
        f"No: 2W (any cW, c > 1) also gives 0, since every margin doubles. {shown}"
        f"The data loss cannot choose, so add λR(W): for seed 003's W, R(W) = ΣW² = {num(R)} and "
        f"R(2W) = {num(R2)} = 4 R(W) > R(W), and regularization prefers the smaller W.",
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
        state = "active" if margins[i, j] > 0 else "inactive"
        parts.append(f"{names[i]} (margin {state}): {num(before, 4)} → {num(after, 4)}")
        soft_change = _soft([bumped], [y[i]]) - _soft([row], [y[i]])
        softs.append(f"{names[i]}: {general(soft_change, 2, sign=True)} ≈ 0.001 × {fixed(dsoft[i, j], '.3f')}")
    add("jiggle", "both", "If a score changes a little (±0.001), how does the loss change?",
        "SVM: not at all where s_j − s_{y_i} + 1 < 0 (the margin holds), by ±0.001 per active margin. "
        f"Raising each image's strongest wrong score by 0.001: {'; '.join(parts)}. Softmax: always, by "
        f"0.001 × (p_j − 1[j = y_i]): {'; '.join(softs)}.", None)


def _svm_vs_softmax(add):
    rows = []
    for s in ([10, -2, 3], [10, 9, 9], [10, -100, -100]):
        s20 = [20] + s[1:]
        rows.append({"scores": s, "svm": _svm([s], [0]), "softmax": _soft([s], [0]),
                     "softmax_correct_20": _soft([s20], [0]), "svm_correct_20": _svm([s20], [0])})
    table = "; ".join(f"{vector(r['scores'])}: SVM {num(r['svm'])}, softmax {general(r['softmax'], 3)} → "
                      f"{general(r['softmax_correct_20'], 2)} at s_0 = 20" for r in rows)
    add("svm_vs_softmax", "both", "SVM vs softmax with correct class 0: what changes when s_0 goes 10 → 20?",
        f"{table}. SVM is indifferent once the margins hold; softmax always wants more.", rows)


def _sigmoid(add, pair):
    """Softmax over two classes is the logistic sigmoid of the score difference."""
    s0, s1 = (float(v) for v in pair)
    soft = float(losses.softmax([[s0, s1]])[0, 1])
    sigma = 1 / (1 + math.exp(-(s1 - s0)))
    add("sigmoid", "softmax", "How does softmax relate to the sigmoid?",
        f"With two classes it is the sigmoid of the score difference: e^{{s_1}} / (e^{{s_0}} + e^{{s_1}}) = "
        f"1 / (1 + e^{{−(s_1 − s_0)}}) = σ(s_1 − s_0). With s = [{num(s0)}, {num(s1)}]: softmax gives "
        f"p_1 = {fixed(soft, '.4f')} and σ({num(s1 - s0)}) = {fixed(sigma, '.4f')}; binary logistic regression is the "
        "two-class softmax classifier.", {"softmax": soft, "sigmoid": sigma})


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
    examples = "example" if N == 1 else "examples"
    add("mle_map", "softmax", "Why −log? What are MLE and MAP here?",
        f"Softmax reads scores as log-probabilities, so L = −(1/N) Σ log p_{{y_i}} is the negative "
        f"log-likelihood of the labels (MLE minimizes it): here Π p_{{y_i}} = {product} = "
        f"e^(−{N} × {num(L, 4)}). "
        f"MAP adds a prior: a Gaussian W_k ~ N(0, σ²) adds Σ W²/(2σ²) to −log p, i.e. L2 with "
        f"λ = 1/(2Nσ²); λ = {num(lam)} on N = {N} {examples} is σ = {num(sigma, 3)}. "
        "L1 is a Laplace prior the same way.",
        {"likelihood": likelihood, "mean_nll": L, "lambda": lam, "sigma": sigma})


WEIGHT_PAIRS = [
    ("seeds 000/002", [1, 1, 1, 1], [1, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]),
    ("seed 004", [1, 1, 1], [1, 0, 0], [0.3, -0.1, 0.8]),
]
"""The slides' two weight vectors with the same score ``wᵀx``: ``(seeds, x, w1, w2)``."""


def _regularization_preference(add):
    """Two w with the same score: which does L2 prefer, which L1 (computed by the regularizers)."""
    parts, values = [], []
    for seeds, x, w1, w2 in WEIGHT_PAIRS:
        x, w1, w2 = (np.asarray(v, dtype=np.float64) for v in (x, w1, w2))
        r = {name: (float(reg()(w1[:, None])[0]), float(reg()(w2[:, None])[0]))
             for name, reg in (("L1", L1), ("L2", L2))}
        parts.append(f"{seeds}: x = {vector(x)}, w1 = {vector(w1)}, w2 = {vector(w2)}, w1ᵀx = {num(w1 @ x)} = w2ᵀx; "
                     f"L2: {num(r['L2'][0])} vs {num(r['L2'][1])}, L1: {num(r['L1'][0])} vs {num(r['L1'][1])}")
        values.append({"seeds": seeds, "scores": [float(w1 @ x), float(w2 @ x)], "L1": r["L1"], "L2": r["L2"]})
    add("weight_preference", "both", "Two weight vectors give the same scores: which does regularization prefer?",
        f"{'; '.join(parts)}. L2 prefers the spread-out w2 in both (it uses every input a little); "
        "L1 cannot tell the first pair apart and prefers the concentrated w1 in the second (L1 favours "
        "few large weights: sparsity).", values)
