"""The full objective ``L(W, b) = 1/N Σ_i L_i(X_i W + b, y_i) + λ R(W)`` and its gradient.

Conventions: N examples, D features, C classes; parameters are a dict
``{"W": (D, C), "b": (C,)}``. The chain rule from the loss's ``dscores`` (N, C):
``dW = Xᵀ dscores + λ ∇R(W)``, ``db = Σ_i dscores_i`` (the bias is not regularized).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _checks, losses
from ._checks import as_labels


class Value(NamedTuple):
    """The objective at one point: ``loss = data_loss + reg_loss``, the gradients by parameter name,
    and the ``scores`` (N, C) of the batch (the training loop counts correct predictions from them)."""

    loss: float
    data_loss: float
    reg_loss: float
    grads: dict
    scores: np.ndarray | None = None


@dataclass(frozen=True)
class Objective:
    """Mean data loss plus ``reg_strength`` times a regularizer, for a linear model.

    ``loss`` is a name from :data:`linclass.losses.LOSSES`; ``reg`` a regularizer
    from :mod:`linclass.regularizers` (or None).
    """

    loss: str = "softmax"
    reg: object = None
    reg_strength: float = 0.0
    delta: float = 1.0
    """The margin Δ of the hinge losses (softmax has none)."""

    def __post_init__(self):
        losses.get_loss(self.loss)  # fail early on an unknown name
        _checks.reg_strength(self.reg_strength)
        _checks.number(self.delta, "delta (the margin Δ)", low=0, hint="; e.g. 1")

    def __call__(self, params, X, y) -> Value:
        """Value and gradient at ``params`` on the batch ``(X (N, D), y (N,))``."""
        W, b = params["W"], params["b"]
        scores = X @ W + b  # (N, C)
        data_loss, dscores = self.data_loss(scores, y)
        dscores = dscores.astype(W.dtype, copy=False)
        dW = (dscores.T @ X).T  # (D, C); as (C, N)·(N, D) BLAS runs it ~10× faster than Xᵀ·dscores
        db = dscores.sum(axis=0)  # (C,)
        reg_loss, dreg = self.penalty(W)
        if dreg is not None:
            dW += dreg.astype(W.dtype, copy=False)
        return Value(data_loss + reg_loss, data_loss, reg_loss, {"W": dW, "b": db}, scores)

    def data_loss(self, scores, y, *, reduction: str = "mean"):
        """The loss function on ``scores`` (N, C): ``(loss, dscores)``, with the margin Δ for hinge losses."""
        margin = {"delta": self.delta} if losses.get_loss(self.loss).margin else {}
        return losses.get_loss(self.loss)(scores, y, reduction=reduction, **margin)

    def penalty(self, W) -> tuple[float, np.ndarray | None]:
        """``λ R(W)`` and its gradient ``λ ∇R(W)`` (0 and None without regularization)."""
        if self.reg is None or self.reg_strength == 0:
            return 0.0, None
        value, dR = self.reg(W)
        return self.reg_strength * value, self.reg_strength * dR

    def optimality(self, params, X, y) -> dict:
        """How close ``params`` are to the minimum of the full objective on ``(X, y)``.

        ``grad_norm`` is ``‖∇L‖`` over all parameters. With L2 (``λ Σ W²``, λ > 0)
        the objective is ``2λ``-strongly convex in ``W``; strong monotonicity of the
        gradient gives ``2λ ‖W − W*‖² ≤ ⟨∇L(θ), θ − θ*⟩``, so when the bias gradient
        is negligible ``‖W − W*‖ ≤ ‖∇_W L‖ / 2λ`` (``distance_bound``; None unless the
        regularizer is strongly convex: its ``convexity`` trait, 2 for L2).
        The bias is unregularized, so no such bound exists for ``b``. ``accuracy`` is
        the fraction of ``y`` predicted right, from the same scores.
        """
        value = self(params, X, y)
        grad_norm, bound = certificate(self, value.grads)
        accuracy = float(np.mean(value.scores.argmax(axis=1) == np.asarray(y)))
        return {"loss": value.loss, "grad_norm": grad_norm, "distance_bound": bound, "accuracy": accuracy}

    def kinks(self, params, X, y) -> np.ndarray:
        """The arguments of every ``max(0, ·)`` and ``|·|`` in the objective, flattened.

        A gradient check whose step changes the sign of any of them has crossed
        a kink, where the numerical gradient is not the derivative.
        """
        W, b = params["W"], params["b"]
        parts = []
        loss = losses.get_loss(self.loss)
        if loss.kinks is not None:
            scores = X @ W + b  # (N, C)
            parts.append(loss.kinks(scores, as_labels(y, scores.shape[0], scores.shape[1]), self.delta).ravel())
        if self.reg is not None and self.reg_strength > 0 and self.reg.kinks:
            parts.append(W.ravel())
        return np.concatenate(parts) if parts else np.zeros(0)


def certificate(objective, grads: dict) -> tuple[float, float | None]:
    """``(‖∇L‖₂, distance bound)`` from the full gradient ``grads`` of ``objective``: every fit's certificate.

    With a strongly convex penalty (L2: ``λ ΣW²`` is ``2λ``-strongly convex, its ``convexity`` trait 2) the
    objective is too, so ``‖W − W*‖ ≤ ‖∇_W L‖ / (convexity · λ)`` when the bias gradient is negligible
    (see :meth:`Objective.optimality`); None otherwise. ``objective`` may be any callable (no bound then).
    """
    grad_norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads.values())))
    reg, lam = getattr(objective, "reg", None), getattr(objective, "reg_strength", 0.0)
    bound = None
    if reg is not None and reg.convexity is not None and lam > 0 and "W" in grads:
        bound = float(np.linalg.norm(grads["W"]) / (reg.convexity * lam))
    return grad_norm, bound
