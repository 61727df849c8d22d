"""The losses and their gradients as plain loops, exactly as on the slides.

This is the teaching code, and the oracle the tests hold the vectorized code
in :mod:`linclass.losses` and :mod:`linclass.objective` against. Nothing here is
fast; everything here is obvious.

Conventions: ``X`` (N, D), ``W`` (D, C), ``b`` (C,), ``y`` (N,); the score of
class ``j`` for example ``i`` is ``s_j = Σ_d X[i, d] W[d, j] + b[j]``.
The objective is ``L = 1/N Σ_i L_i + λ Σ W²`` (L2; the bias is not regularized).
"""

from __future__ import annotations

import math

import numpy as np


def scores_naive(W, b, X):
    """``s[i][j] = Σ_d X[i][d] W[d][j] + b[j]`` with three loops."""
    N, D = X.shape
    C = W.shape[1]
    s = np.zeros((N, C))
    for i in range(N):
        for j in range(C):
            total = b[j]
            for d in range(D):
                total += X[i, d] * W[d, j]
            s[i, j] = total
    return s


def _add_l2(loss, dW, W, reg):
    """``L += λ Σ W²``, ``dW += 2 λ W``."""
    D, C = W.shape
    for d in range(D):
        for j in range(C):
            loss += reg * W[d, j] * W[d, j]
            dW[d, j] += 2 * reg * W[d, j]
    return loss, dW


def svm_loss_naive(W, b, X, y, *, reg=0.0, delta=1.0, squared=False):
    """Multiclass SVM: ``L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ)`` (squared if asked).

    Returns ``(loss, dW, db)``.
    """
    N, D = X.shape
    C = W.shape[1]
    s = scores_naive(W, b, X)
    loss, dW, db = 0.0, np.zeros((D, C)), np.zeros(C)
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = s[i, j] - s[i, y[i]] + delta
            if margin > 0:
                loss += margin ** 2 if squared else margin
                slope = 2 * margin if squared else 1.0  # dL_i / d margin
                for d in range(D):
                    dW[d, j] += slope * X[i, d]
                    dW[d, y[i]] -= slope * X[i, d]
                db[j] += slope
                db[y[i]] -= slope
    loss, dW, db = loss / N, dW / N, db / N
    loss, dW = _add_l2(loss, dW, W, reg)
    return loss, dW, db


def softmax_loss_naive(W, b, X, y, *, reg=0.0):
    """Softmax: ``L_i = −log(e^{s_{y_i}} / Σ_j e^{s_j})``, ``dL_i/ds_j = p_j − 1[j = y_i]``.

    Scores are shifted by their maximum before ``exp`` (the same probabilities,
    no overflow). Returns ``(loss, dW, db)``.
    """
    N, D = X.shape
    C = W.shape[1]
    s = scores_naive(W, b, X)
    loss, dW, db = 0.0, np.zeros((D, C)), np.zeros(C)
    for i in range(N):
        top = max(s[i, j] for j in range(C))
        exps = [math.exp(s[i, j] - top) for j in range(C)]
        total = sum(exps)
        loss += -math.log(exps[y[i]] / total)
        for j in range(C):
            p = exps[j] / total
            slope = p - (1.0 if j == y[i] else 0.0)
            for d in range(D):
                dW[d, j] += slope * X[i, d]
            db[j] += slope
    loss, dW, db = loss / N, dW / N, db / N
    loss, dW = _add_l2(loss, dW, W, reg)
    return loss, dW, db


def ova_svm_losses_naive(s, y, *, delta=1.0, squared=False):
    """One-vs-all SVM per example: ``Σ_{j≠y_i} max(0, Δ + s_j) + max(0, Δ − s_{y_i})`` (each term squared)."""
    out = []
    for i in range(len(s)):
        L = 0.0
        for j in range(len(s[i])):
            term = max(0.0, delta - s[i][j]) if j == y[i] else max(0.0, delta + s[i][j])
            L += term ** 2 if squared else term
        out.append(L)
    return out


def structured_svm_losses_naive(s, y, *, delta=1.0):
    """Structured (Crammer–Singer) SVM per example: ``max(0, max_{j≠y_i} s_j − s_{y_i} + Δ)``."""
    out = []
    for i in range(len(s)):
        rival = max(s[i][j] for j in range(len(s[i])) if j != y[i])
        out.append(max(0.0, rival - s[i][y[i]] + delta))
    return out
