"""Vectorized loss functions of the score matrix.

Conventions: N examples, C classes; ``scores`` is (N, C), ``y`` is (N,) int in
``[0, C)``. Every loss is a pure function of ``(scores, y)`` that returns
``(loss, dscores)`` with ``dscores.shape == scores.shape``; it never sees ``W``
or ``X`` (the chain rule to the weights lives in :mod:`linclass.objective`).

``reduction`` picks what is returned, as in PyTorch:
``"mean"`` (default) the lecture's ``L = 1/N Σ L_i`` and its gradient,
``"sum"`` the sum, ``"none"`` the per-example losses ``L_i`` (N,) and the
per-example gradients ``dL_i/ds_i`` (N, C).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from ._checks import scores_and_labels
from .errors import ParameterError

REDUCTIONS = ("mean", "sum", "none")


def _reduce(losses, dscores, reduction):
    if reduction == "none":
        return losses, dscores
    if reduction == "sum":
        return float(losses.sum()), dscores
    if reduction == "mean":
        dscores /= losses.shape[0]  # (every loss hands over a fresh dscores)
        return float(losses.mean()), dscores
    raise ParameterError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}.")


def svm_margins(scores, y, *, delta: float = 1.0) -> np.ndarray:
    """The hinge terms ``max(0, s_j − s_{y_i} + Δ)`` (N, C), zero at ``j = y_i``."""
    scores, y = scores_and_labels(scores, y)
    rows = np.arange(scores.shape[0])
    margins = np.maximum(0, scores - scores[rows, y][:, None] + delta)  # (N, C)
    margins[rows, y] = 0
    return margins


def svm_loss(scores, y, *, delta: float = 1.0, squared: bool = False, reduction: str = "mean"):
    """Multiclass SVM (Weston–Watkins) loss.

    ``L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)``, or with ``squared=True`` the
    squared hinge ``Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)²``. At a kink (a margin
    of exactly 0) the subgradient 0 is used.

    >>> round(svm_loss([[3.2, 5.1, -1.7]], [0])[0], 6)   # the slides' cat image
    2.9
    """
    margins = svm_margins(scores, y, delta=delta)
    rows = np.arange(margins.shape[0])
    y = np.asarray(y)
    if squared:
        losses = (margins ** 2).sum(axis=1)
        dscores = 2 * margins
    else:
        losses = margins.sum(axis=1)
        dscores = (margins > 0).astype(margins.dtype)
    dscores[rows, y] = -dscores.sum(axis=1)
    return _reduce(losses, dscores, reduction)


def ova_svm_loss(scores, y, *, delta: float = 1.0, squared: bool = False, reduction: str = "mean"):
    """One-vs-all SVM loss: ``L_i = Σ_{j≠y_i} max(0, Δ + s_j) + max(0, Δ − s_{y_i})``.

    Each class is its own binary problem: its score should be ≥ Δ for its own
    examples and ≤ −Δ for all others. ``squared=True`` squares each term: the
    smooth one-vs-rest squared hinge of scikit-learn's ``LinearSVC``.
    """
    scores, y = scores_and_labels(scores, y)
    rows = np.arange(scores.shape[0])
    signs = -np.ones_like(scores)  # (N, C): +1 for the correct class, −1 for the others
    signs[rows, y] = 1
    terms = np.maximum(0, delta - signs * scores)
    if squared:
        return _reduce((terms ** 2).sum(axis=1), -2 * signs * terms, reduction)
    dscores = -signs * (terms > 0)
    return _reduce(terms.sum(axis=1), dscores, reduction)


def structured_svm_loss(scores, y, *, delta: float = 1.0, reduction: str = "mean"):
    """Structured (Crammer–Singer) SVM loss: ``L_i = max(0, max_{j≠y_i} s_j − s_{y_i} + Δ)``.

    Only the most offending wrong class counts; ties go to the lowest class index.
    """
    scores, y = scores_and_labels(scores, y)
    rows = np.arange(scores.shape[0])
    others = scores.copy()
    others[rows, y] = -np.inf
    rival = others.argmax(axis=1)  # (N,) the highest-scoring wrong class
    losses = np.maximum(0, scores[rows, rival] - scores[rows, y] + delta)
    active = (losses > 0).astype(scores.dtype)
    dscores = np.zeros_like(scores)
    dscores[rows, rival] = active
    dscores[rows, y] -= active
    return _reduce(losses, dscores, reduction)


def softmax(scores) -> np.ndarray:
    """Class probabilities ``e^{s_j} / Σ_k e^{s_k}`` (N, C), computed after shifting by the row max."""
    scores = np.asarray(scores)
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def softmax_loss(scores, y, *, reduction: str = "mean"):
    """Softmax (cross-entropy) loss ``L_i = −log(e^{s_{y_i}} / Σ_j e^{s_j})``.

    Stable for any finite scores: ``[10, −100, −100]`` gives ``≈ 3.4e−48`` and
    ``[1000, 0, −1000]`` gives a finite loss, without overflow or warnings.
    Gradient: ``dL_i/ds_j = p_j − 1[j = y_i]``.

    One exponential per score: with ``m_i`` the row's top score and
    ``r_i = Σ_{j≠top} e^{s_ij − m_i}`` (each term ≤ 1), ``L_i = (m_i − s_{i,y_i}) + log1p(r_i)`` (``log1p``
    keeps a tiny loss's digits against ``m_i``) and ``p_ij = e^{s_ij − m_i} / (1 + r_i)``.
    """
    scores, y = scores_and_labels(scores, y)
    rows = np.arange(scores.shape[0])
    top = scores.argmax(axis=1)
    P = scores - scores[rows, top][:, None]  # (N, C) s_ij − m_i ≤ 0, exactly 0 at the top
    losses = -P[rows, y]  # m_i − s_{i,y_i}
    np.exp(P, out=P)
    P[rows, top] = 0
    rest = P.sum(axis=1)  # r_i
    losses += np.log1p(rest)
    P[rows, top] = 1
    P /= (1 + rest)[:, None]  # the probabilities
    P[rows, y] -= 1
    return _reduce(losses, P, reduction)


def _margin_kinks(scores, y, delta):
    """``s_j − s_{y_i} + Δ`` for every class: the arguments of the multiclass hinges."""
    rows = np.arange(scores.shape[0])
    return scores - scores[rows, y][:, None] + delta


def _ova_kinks(scores, y, delta):
    """``Δ − s_j`` for the correct class, ``Δ + s_j`` for the others: the one-vs-all hinges."""
    signs = -np.ones_like(scores)
    signs[np.arange(scores.shape[0]), y] = 1
    return delta - signs * scores


@dataclass(frozen=True)
class Loss:
    """A loss of the registry :data:`LOSSES`: the function and the traits the rest of the code reads.

    Called as the function: ``loss(scores, y, *, reduction) -> (loss, dscores)``.
    """

    name: str
    fn: Callable
    smooth: bool
    """The gradient is continuous (L-BFGS can find the exact minimum)."""
    margin: bool
    """A margin (SVM) loss with a margin Δ (keyword ``delta``): scores are not probabilities
    (:class:`~linclass.estimators.LinearSVM` takes it)."""
    kinks: Callable | None = None
    """``(scores (N, C), y, Δ) -> (N, C)``: the arguments of every ``max(0, ·)``; a step that changes the sign
    of one crosses a kink (where the numerical gradient is not the derivative). None: no kinks."""

    def __call__(self, scores, y, **options):
        return self.fn(scores, y, **options)


LOSSES = {loss.name: loss for loss in (
    Loss("svm", svm_loss, smooth=False, margin=True, kinks=_margin_kinks),
    Loss("squared-svm", partial(svm_loss, squared=True), smooth=True, margin=True, kinks=_margin_kinks),
    Loss("softmax", softmax_loss, smooth=True, margin=False),
    Loss("ova-svm", ova_svm_loss, smooth=False, margin=True, kinks=_ova_kinks),
    Loss("squared-ova-svm", partial(ova_svm_loss, squared=True), smooth=True, margin=True, kinks=_ova_kinks),
    Loss("structured-svm", structured_svm_loss, smooth=False, margin=True, kinks=_margin_kinks),
)}
"""Every loss by its command-line name, with its traits (see :class:`Loss`)."""


def get_loss(name: str) -> Loss:
    """The loss called ``name`` (see :data:`LOSSES`)."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}.") from None
