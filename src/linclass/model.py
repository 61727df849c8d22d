"""The linear score function ``f(x, W) = Wx + b``.

Conventions: N examples, D features, C classes. Examples are rows, so in code
the scores of a batch are ``X @ W + b`` with ``X`` (N, D), ``W`` (D, C), ``b`` (C,)
(the lecture's ``Wx + b`` with ``W`` transposed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array
from .errors import InputError


@dataclass
class LinearModel:
    """Weights ``W`` (D, C) and bias ``b`` (C,) of a linear classifier."""

    W: np.ndarray
    b: np.ndarray

    def __post_init__(self):
        self.W = np.asarray(self.W)
        self.b = np.asarray(self.b, dtype=self.W.dtype)
        if self.W.ndim != 2 or self.b.shape != (self.W.shape[1],):
            raise InputError(f"W must be (D, C) and b (C,), got {self.W.shape} and {self.b.shape}.")

    @classmethod
    def init(cls, n_features: int, n_classes: int, *, scale: float = 1e-3, seed=0,
             dtype=np.float32) -> "LinearModel":
        """Small random weights ``scale · randn(D, C)`` and a zero bias, from ``seed``."""
        rng = np.random.default_rng(seed)
        W = (scale * rng.standard_normal((n_features, n_classes))).astype(dtype)
        return cls(W, np.zeros(n_classes, dtype=dtype))

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The parameters by name, as optimizers and objectives take them."""
        return {"W": self.W, "b": self.b}

    @property
    def n_features(self) -> int:
        return self.W.shape[0]

    @property
    def n_classes(self) -> int:
        return self.W.shape[1]

    def scores(self, X) -> np.ndarray:
        """Class scores ``X W + b`` (N, C)."""
        X = as_float_array(X, "X", 2)
        if X.shape[1] != self.n_features:
            raise InputError(f"X has {X.shape[1]} features but the model expects {self.n_features}; "
                             "apply the same preprocessing and features as in training.")
        return X @ self.W + self.b

    def predict(self, X) -> np.ndarray:
        """The highest-scoring class of each example (N,)."""
        return self.scores(X).argmax(axis=1)
