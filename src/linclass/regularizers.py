"""Regularization penalties ``R(W)`` and their gradients.

Each regularizer is called as ``reg(W) -> (penalty, dW)`` with ``W`` (D, C), and
carries its traits as class attributes: ``smooth`` (a continuous gradient),
``kinks`` (``|W_{k,l}|`` at ``W_{k,l} = 0``: a gradient check must not cross 0)
and ``convexity``, the ``m`` of ``m``-strong convexity of ``R`` (None if not
strongly convex), which gives :meth:`linclass.Objective.optimality` its bound.
The full objective multiplies the penalty by the strength λ; the bias ``b`` is
never regularized. :class:`MaxNorm` is not a penalty but a projection applied
after each update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import _checks
from .errors import ParameterError


@dataclass(frozen=True)
class L2:
    """``R(W) = Σ_k Σ_l W_{k,l}²``, ``dR/dW = 2W``: prefers small, spread-out weights."""

    name: ClassVar[str] = "l2"
    smooth: ClassVar[bool] = True
    kinks: ClassVar[bool] = False
    convexity: ClassVar[float | None] = 2.0

    def __call__(self, W):
        return float(np.sum(W * W)), 2 * W


@dataclass(frozen=True)
class L1:
    """``R(W) = Σ |W_{k,l}|``, ``dR/dW = sign(W)`` (0 at 0): prefers sparse weights."""

    name: ClassVar[str] = "l1"
    smooth: ClassVar[bool] = False
    kinks: ClassVar[bool] = True
    convexity: ClassVar[float | None] = None

    def __call__(self, W):
        return float(np.abs(W).sum()), np.sign(W)


@dataclass(frozen=True)
class ElasticNet:
    """``R(W) = Σ β W_{k,l}² + |W_{k,l}|``, the lecture's elastic net (L1 + L2)."""

    beta: float = 1.0
    name: ClassVar[str] = "elasticnet"
    smooth: ClassVar[bool] = False
    kinks: ClassVar[bool] = True
    convexity: ClassVar[float | None] = None

    def __post_init__(self):
        _checks.number(self.beta, "ElasticNet beta", low=0, hint="; e.g. 1 (the lecture's)")

    def __call__(self, W):
        return (float(self.beta * np.sum(W * W) + np.abs(W).sum()),
                2 * self.beta * W + np.sign(W))


@dataclass(frozen=True)
class MaxNorm:
    """Projection: each class's weight vector (column of ``W``) is scaled to norm ≤ ``c``."""

    c: float

    def __post_init__(self):
        if not self.c > 0:
            raise ParameterError(f"MaxNorm c must be > 0, got {self.c}.")

    def __call__(self, W):
        norms = np.linalg.norm(W, axis=0)  # (C,)
        scale = np.minimum(1, self.c / np.maximum(norms, np.finfo(W.dtype).tiny))
        return W * scale.astype(W.dtype)


REGULARIZERS = {cls.name: cls for cls in (L2, L1, ElasticNet)}
"""Every penalty by its command-line name (``none`` is no penalty); the traits are class attributes."""


def get_regularizer(name: str | None):
    """The regularizer called ``name`` (``"l2"``, ``"l1"``, ``"elasticnet"``), or None for ``"none"``/None."""
    if name in (None, "none"):
        return None
    try:
        return REGULARIZERS[name]()
    except KeyError:
        raise ParameterError(f"unknown regularizer {name!r}; choose one of "
                             f"{', '.join(REGULARIZERS)} or none.") from None
