"""Input validation shared by the math modules: one place, one set of messages."""

from __future__ import annotations

import numpy as np

from .errors import InputError, LabelError, ModelFileError


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


MAX_CLASS_NAME = 200
MAX_IMAGE_SIDE = 1 << 14


def model_schema(meta: dict, arrays: dict, losses, path) -> None:
    """Check a model file's metadata and arrays against one another; ModelFileError naming ``path`` if not.

    ``class_names`` a list of ≥ 2 unique printable strings, one per column of
    ``model/W`` (D, C) float, ``model/b`` (C,), ``loss`` one of ``losses``,
    ``image_shape`` None or ``[H, W, 1 or 3]`` with H·W·C = D when there are no
    features, ``preprocess/mean`` and ``preprocess/std`` (D,) when present.
    """
    def bad(what):
        return ModelFileError(f"{path}: {what}; the file was not written by `linclass train` (or was "
                              "edited): re-run training.")

    names = meta.get("class_names")
    if (not isinstance(names, list) or len(names) < 2
            or not all(isinstance(n, str) and 0 < len(n) <= MAX_CLASS_NAME and n.isprintable() for n in names)):
        raise bad(f"class_names must be a list of at least 2 printable strings of 1 to {MAX_CLASS_NAME} characters")
    if len(set(names)) != len(names):
        raise bad("class_names has duplicates")
    if not isinstance(meta.get("loss"), str) or meta["loss"] not in losses:
        raise bad(f"loss {str(meta.get('loss'))[:40]!r} is not one of {', '.join(losses)}")
    W, b = arrays.get("model/W"), arrays.get("model/b")
    if W is None or b is None or W.dtype.kind != "f" or W.ndim != 2 or b.shape != (W.shape[1],):
        raise bad("model/W must be a float (D, C) array and model/b (C,)")
    if W.shape[1] != len(names):
        raise bad(f"{len(names)} class names for {W.shape[1]} weight columns")
    for name in ("preprocess/mean", "preprocess/std"):
        if name in arrays and (meta.get("features") is None and arrays[name].shape != (W.shape[0],)):
            raise bad(f"{name} has shape {arrays[name].shape} but W expects {W.shape[0]} features")
    shape = meta.get("image_shape")
    if shape is not None:
        if (not isinstance(shape, list) or len(shape) != 3 or not all(type(v) is int for v in shape)
                or not (1 <= shape[0] <= MAX_IMAGE_SIDE and 1 <= shape[1] <= MAX_IMAGE_SIDE)
                or shape[2] not in (1, 3)):
            raise bad(f"image_shape must be null or [H, W, 1 or 3] with sides 1 to {MAX_IMAGE_SIDE}")
        if meta.get("features") is None and shape[0] * shape[1] * shape[2] != W.shape[0]:
            raise bad(f"image_shape {shape} has {shape[0] * shape[1] * shape[2]} values but W expects "
                      f"{W.shape[0]} features")
    if meta.get("features") is not None and not isinstance(meta["features"], dict):
        raise bad("features must be a JSON object")
