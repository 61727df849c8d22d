"""Regularization's Occam view (``linclass explain --occam``).

A real sweep: the softmax classifier (L-BFGS, L2) fitted on a small training
set of scikit-learn's digits for λ from 1e-5 to 1, each fit scored on the
training set and on a validation set. Small λ fits the training set perfectly
and generalizes worse (the gap is the fit to the training set's noise); large λ
makes W simple and both accuracies fall (underfitting). Occam's razor picks,
among the λ with the best validation accuracy, the largest: the simplest W.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..datasets.small import load_digits_dataset
from ..estimators import SoftmaxClassifier
from ..i18n import _
from . import lecture_plots
from .explain import columns
from .numbers import fixed, general, sci

LAMBDAS = np.logspace(-5, 0, 11)
TRAIN_SIZE = 150
SEED = 0
MAX_ITER = 300


def sweep(lambdas=LAMBDAS, train_size: int = TRAIN_SIZE, seed: int = SEED) -> list[dict]:
    """One fit per λ: ``{lambda, train, val, norm2}`` (accuracies, and ‖W‖²)."""
    data = load_digits_dataset(seed=seed)
    X, y = data.X_train[:train_size].reshape(train_size, -1) / 255.0, data.y_train[:train_size]
    Xv, yv = data.X_val.reshape(len(data.X_val), -1) / 255.0, data.y_val
    rows = []
    for lam in lambdas:
        with warnings.catch_warnings():  # a huge λ learns nothing: that is the point, not a warning
            warnings.simplefilter("ignore")
            clf = SoftmaxClassifier(alpha=float(lam), optimizer="lbfgs", max_iter=MAX_ITER,
                                    random_state=seed).fit(X, y)
        rows.append({"lambda": float(lam), "train": float(clf.score(X, y)), "val": float(clf.score(Xv, yv)),
                     "norm2": float(np.sum(clf.coef_ ** 2))})
    return rows


def _lam(x: float) -> str:
    return sci(x, 1)


def occam_choice(rows) -> dict:
    """The largest λ (the simplest W) among those with the best validation accuracy."""
    best = max(r["val"] for r in rows)
    return max((r for r in rows if r["val"] == best), key=lambda r: r["lambda"])


def explain_occam(out_dir=None):
    """``(text, data)``: the sweep's table, the Occam choice, and one plot (``occam.png``)."""
    rows = sweep()
    chosen = occam_choice(rows)
    out = Path(out_dir) if out_dir is not None else Path("runs") / "occam"
    picture = lecture_plots.occam(rows, out / "occam.png")
    lines = [_("Occam's razor and λ: softmax (L2, L-BFGS) on {n} training digits, scored on the validation "
               "set.").format(n=TRAIN_SIZE), ""]
    table = [(_lam(r["lambda"]), [f"{r['train']:.1%}", f"{r['val']:.1%}", fixed(r['train'] - r['val'], '.1%'),
                                  general(r["norm2"], 3), _("← chosen") if r is chosen else ""]) for r in rows]
    lines += [line.rstrip() for line in columns("λ", table, [_("train acc"), _("val acc"), _("gap"), "‖W‖²", ""],
                                                width=0, label_width=6, fit=True)]
    lines += ["", _("Small λ fits the training set perfectly and does worse on new data: the gap is fitting noise.\n"
                    "Large λ makes W simple (small ‖W‖²) until both accuracies fall: underfitting.\n"
                    "Occam's razor: among the λ with the best validation accuracy, take the largest, the simplest W "
                    "(here λ = {chosen}).").format(chosen=_lam(chosen["lambda"])), "",
              _("plot: {path}").format(path=picture)]
    return "\n".join(lines), {"sweep": rows, "chosen": chosen, "train_size": TRAIN_SIZE,
                                                   "plot": str(picture)}
