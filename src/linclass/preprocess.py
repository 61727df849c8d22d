"""Preprocessing of design matrices: flattening, mean subtraction, standardization.

Statistics are computed on the training split only and saved in the model file,
so ``predict`` applies exactly what training did. Conventions: images (N, H, W, C)
are flattened to (N, D) float32 rows (D = H·W·C); ``mean`` and ``std`` are (D,).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError, ParameterError
from .rows.source import feature_stats

PREPROCESSING = ("none", "center", "standardize")
"""The choices of :meth:`Preprocessor.fit`: nothing, subtract the training mean (CS231n's notebooks),
or also divide each feature by its training standard deviation."""


def flatten(X, dtype=np.float32) -> np.ndarray:
    """(N, ...) → (N, D) rows of ``dtype``."""
    X = np.asarray(X)
    if X.ndim < 2 or X.shape[0] == 0:
        raise InputError(f"expected a non-empty batch (N, ...), got shape {X.shape}.")
    return X.reshape(X.shape[0], -1).astype(dtype, copy=False)


def add_bias_column(X) -> np.ndarray:
    """The bias trick: append a constant 1 to every row, so ``[W; b]·[x; 1] = Wx + b``."""
    X = np.asarray(X)
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


@dataclass
class Preprocessor:
    """Mean subtraction and optional standardization, fitted on the training split (the one standardizer)."""

    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    @classmethod
    def fit(cls, X, mode: str = "center", *, chunk: int = 8192) -> "Preprocessor":
        """Statistics of the training rows ``X`` (N, D) for ``mode`` (one of :data:`PREPROCESSING`), from
        :func:`linclass.rows.source.feature_stats` (float64, chunk by chunk; the probe's memory maps use the same).
        ``std`` is ``sqrt(mean((x − mean)²))``; a constant feature (std ≤ 1e-8) keeps the scale 1."""
        if mode not in PREPROCESSING:
            raise ParameterError(f"unknown preprocessing {mode!r}; choose one of {', '.join(PREPROCESSING)}.")
        if mode == "none":
            return cls()
        if not hasattr(X, "read"):  # an array of rows or of images (a row source is streamed as it is)
            X = np.asarray(X)
            X = X.reshape(X.shape[0], -1)
        mean, std = feature_stats(X, chunk)  # the one computation, streamed in chunks
        std = std.astype(np.float32) if mode == "standardize" else None
        return cls(mean.astype(np.float32), std)

    def transform(self, X) -> np.ndarray:
        """Flattened float32 rows, centered (and scaled) with the training statistics."""
        X = flatten(X)
        expected = self.mean.shape[0] if self.mean is not None else None
        if expected is not None and X.shape[1] != expected:
            raise InputError(f"data has {X.shape[1]} values per example but training had {expected}; "
                             "use inputs of the training image size (or the same feature settings).")
        if self.mean is not None:
            X = X - self.mean
        if self.std is not None:
            X /= self.std
        return X

    def to_arrays(self) -> dict:
        return {k: v for k, v in (("mean", self.mean), ("std", self.std)) if v is not None}

    @classmethod
    def from_arrays(cls, arrays: dict) -> "Preprocessor":
        return cls(arrays.get("mean"), arrays.get("std"))
