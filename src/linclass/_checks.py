"""Input validation shared by the math modules: one place, one set of messages."""

from __future__ import annotations

import numpy as np

from .errors import InputError, LabelError


def as_float_array(a, name: str, ndim: int) -> np.ndarray:
    """``a`` as a finite float array of ``ndim`` dimensions, keeping float32/float64."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiub":
        raise InputError(f"{name} must be numeric, got dtype {arr.dtype}; pass numbers.")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if arr.ndim != ndim:
        raise InputError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}; "
                         f"reshape it (one row per example).")
    if arr.shape[0] == 0:
        raise InputError(f"{name} is an empty batch (shape {arr.shape}); pass at least one example.")
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)}); "
                         "clean the data or lower the learning rate.")
    return arr


def as_labels(y, n: int, n_classes: int) -> np.ndarray:
    """``y`` as int64 labels of length ``n`` in ``[0, n_classes)``."""
    arr = np.asarray(y)
    if arr.dtype.kind not in "iu":
        raise LabelError(f"labels must be integers, got dtype {arr.dtype}; "
                         "convert them, e.g. y.astype(int), or encode class names first.")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise LabelError(f"labels must have shape ({n},) to match {n} example(s), got {arr.shape}.")
    if n and (arr.min() < 0 or arr.max() >= n_classes):
        bad = int(arr[(arr < 0) | (arr >= n_classes)][0])
        raise LabelError(f"label {bad} is outside [0, {n_classes}) for {n_classes} classes; labels must be "
                         f"class indices 0 … {n_classes - 1} (one per score column).")
    return arr.astype(np.int64, copy=False)


def scores_and_labels(scores, y) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(scores (N, C), y (N,))``."""
    scores = as_float_array(scores, "scores", 2)
    if scores.shape[1] < 2:
        raise InputError(f"scores need at least 2 classes (columns), got shape {scores.shape}.")
    return scores, as_labels(y, scores.shape[0], scores.shape[1])


def sklearn_checked(validate, *args, error=InputError, **kwargs):
    """Run a scikit-learn validator, re-raising its ValueError as ``error`` (same message, plus the fix)."""
    try:
        return validate(*args, **kwargs)
    except ValueError as err:
        if isinstance(err, InputError):
            raise
        raise error(f"{err} Pass a finite numeric 2-D array X (N, D) and one class label per row "
                    "in y (N,).") from err


def probability_vector(p, name: str) -> np.ndarray:
    """``p`` as a 1-D float64 distribution: finite, ≥ 0, summing to 1 (to 1e-6)."""
    arr = as_float_array(np.atleast_1d(np.asarray(p, dtype=np.float64)), name, 1).astype(np.float64)
    if arr.size < 2 or (arr < 0).any() or abs(arr.sum() - 1) > 1e-6:
        raise InputError(f"{name} must be at least 2 probabilities >= 0 that sum to 1, got "
                         f"{', '.join(f'{v:g}' for v in arr)} (sum {arr.sum():g}); e.g. 0.5,0.3,0.2.")
    return arr
