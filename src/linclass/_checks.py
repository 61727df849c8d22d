"""Every validator of the package: one place, one set of messages.

Data (arrays, labels, images, parameter dicts), hyperparameters (a number in a
range, an integer >= k, one of a set of choices) and seeds. Each raises a
:class:`~linclass.errors.LinclassError` subclass whose message names the cause and the fix.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
import stat
from collections.abc import Mapping

import numpy as np

from .errors import InputError, LabelError, ModelFileError, ParameterError

REG_STRENGTH_MAX = 1e6
"""The largest regularization strength λ accepted (``--reg-strength``, each λ of ``--reg-path``): beyond it every
weight is zero to float64's precision."""


class NotRegularFile(OSError):
    """A path that names a FIFO, a device, a socket or a folder: never read (it could block or never end)."""


def open_regular(path):
    """``path`` opened for binary reading if it is a regular file; an :class:`OSError` otherwise.

    Opened without blocking, so a FIFO or a device is refused at once instead of waited on
    (:class:`NotRegularFile`); the caller turns the OSError into its one-line error.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise NotRegularFile(0, "not a regular file (a FIFO, device, socket or folder is never read)")
    return f


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


def row_matrix(X, name: str = "X", error=InputError) -> tuple[int, int]:
    """``X.shape`` as ``(N, D)`` with N, D ≥ 1, read from the shape alone (a memory map or row source is not
    read), else ``error`` naming ``name``."""
    shape = tuple(getattr(X, "shape", ()))
    if len(shape) != 2 or 0 in shape:
        raise error(f"{name} must be a non-empty (N, D) matrix, one row per example; got shape {shape}.")
    return shape


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


# --------------------------------------------------------------------------- hyperparameters


def _bounds(low, high, low_open, high_open) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def number(value, name: str, *, low=None, high=None, low_open=False, high_open=False, hint="") -> float:
    """``value`` as a finite float within the bounds (open or closed ends), else a :class:`ParameterError`.

    ``hint`` ends the message (e.g. ``"; typical values are 1e-4 ... 1e-1"``).
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bound = _bounds(low, high, low_open, high_open)
        raise ParameterError(f"{name} must be a finite number{' ' + bound if bound else ''}, got {value!r}{hint}.")
    return float(value)


def integer(value, name: str, minimum: int = 1, *, maximum: int | None = None, hint="") -> int:
    """``value`` as an int ≥ ``minimum`` (and ≤ ``maximum``; bools and floats refused), else a
    :class:`ParameterError`."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum
            or (maximum is not None and value > maximum)):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum:,}]"
        raise ParameterError(f"{name} must be an integer {bound}, got {value!r}{hint}.")
    return int(value)


def choice(value, name: str, choices, *, hint=""):
    """``value`` if it is one of ``choices``, else a :class:`ParameterError` listing them ("did you mean").

    >>> choice("adma", "optimizer", ["sgd", "adam"])
    Traceback (most recent call last):
    ...
    linclass.errors.ParameterError: unknown optimizer 'adma'; choose one of sgd, adam (did you mean 'adam'?).
    """
    options = list(choices)
    try:
        known = value in options
    except TypeError:  # unhashable or incomparable values are simply unknown
        known = False
    if known:
        return value
    close = difflib.get_close_matches(value, [str(c) for c in options], n=1) if isinstance(value, str) else []
    suggestion = f" (did you mean {close[0]!r}?)" if close else ""
    raise ParameterError(f"unknown {name} {value!r}; choose one of {', '.join(str(c) for c in options)}"
                         f"{suggestion}{hint}.")


def reg_strength(value, name: str = "reg_strength (λ)") -> float:
    """λ, the regularization strength: a finite number ≥ 0."""
    return number(value, name, low=0, hint="; e.g. 1e-3 (0: no regularization)")


PRECISIONS = (np.dtype(np.float32), np.dtype(np.float64))
"""The precisions a computation runs in (``float16`` data is computed in float32)."""


def precision(dtype, name: str = "dtype") -> np.dtype:
    """``dtype`` as ``np.dtype(float32)`` or ``np.dtype(float64)``, else a :class:`ParameterError`."""
    try:
        found = np.dtype(dtype)
    except TypeError:
        found = None
    if found not in PRECISIONS:
        raise ParameterError(f"{name} must be float32 or float64, got {dtype!r}.")
    return found


def dask_address(target, name: str = "--dask") -> str:
    """``local`` (a cluster started here) or a scheduler address with its protocol, e.g. ``tcp://host:8786``."""
    if target != "local" and not (isinstance(target, str) and "://" in target):
        raise ParameterError(f"{name} must be local or a scheduler address such as tcp://host:8786, got {target!r}.")
    return target


def log_range(bounds, name: str) -> tuple[float, float]:
    """``(low, high)`` with ``0 < low <= high < inf``: the bounds of a log-uniform draw."""
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be two numbers (low, high), got {bounds!r}.") from None
    if not (0 < low <= high and math.isfinite(high)):
        raise ParameterError(f"{name} must satisfy 0 < low <= high for a log-uniform draw, got {low:g}:{high:g}.")
    return low, high


# --------------------------------------------------------------------------- seeds

MAX_SEED = 2**32 - 1
"""Seeds go to NumPy and scikit-learn (``random_state``), which take 0 … 2**32 − 1."""


def seed(value, name: str = "seed") -> int:
    """An int seed from an int in ``[0, MAX_SEED]``, a ``numpy.random.Generator`` (one draw) or None (fresh OS entropy,
    as scikit-learn's ``random_state=None``)."""
    if value is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(value, np.random.Generator):
        return int(value.integers(2**32))
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0
            or value > MAX_SEED):
        raise ParameterError(f"{name} must be None or an integer in [0, {MAX_SEED}] (or a numpy.random.Generator), "
                             f"got {value!r}; pass an int to make runs repeatable.")
    return int(value)


def derived_seed(base: int, *key: int) -> int:
    """One int seed from ``(base, *key)``: independent of the order in which keys are asked for."""
    return int(np.random.SeedSequence([int(base), *(int(k) for k in key)]).generate_state(1)[0])


def child_seeds(base: int, *key: int, n: int = 2) -> list[int]:
    """``n`` independent int seeds spawned from ``(base, *key)``."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence([base, *key]).spawn(n)]


# --------------------------------------------------------------------------- images and parameter dicts


def images(X, min_size: tuple[int, int] = (1, 1), *, who: str = "features") -> np.ndarray:
    """``X`` as a ``(N, H, W, 3)`` uint8 array, at least ``min_size`` = (H, W) pixels."""
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[-1] != 3:
        raise InputError(f"{who} expects a batch of RGB images of shape (N, H, W, 3), got shape "
                         f"{X.shape}; add the batch axis (X[None]) or convert grayscale to RGB.")
    if X.dtype != np.uint8:
        raise InputError(f"{who} expects uint8 pixels in [0, 255], got dtype {X.dtype}; "
                         "convert with (X * 255).round().astype(np.uint8) if they are floats in [0, 1].")
    if X.shape[0] == 0:
        raise InputError(f"{who} got an empty batch (shape {X.shape}); pass at least one image.")
    h, w = X.shape[1:3]
    if h < min_size[0] or w < min_size[1]:
        raise InputError(f"{who} needs images of at least {min_size[0]}x{min_size[1]} pixels (H x W) "
                         f"with these settings, got {h}x{w}; use larger images or smaller "
                         "cell / block / patch settings.")
    return X


def param_dict(params) -> dict:
    """A non-empty mapping of float numpy arrays (the model's parameters)."""
    if not isinstance(params, Mapping) or not params:
        raise InputError("params must be a non-empty dict of float arrays, e.g. LinearModel.params "
                         f"({{'W': (D, C), 'b': (C,)}}), got {type(params).__name__}.")
    for k, p in params.items():
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            raise InputError(f"parameter {k!r} must be a float numpy array, got "
                             f"{getattr(p, 'dtype', type(p).__name__)}; convert it, e.g. "
                             "np.asarray(p, dtype=np.float32).")
    return params


def same_keys(grads, like, what: str = "grads") -> None:
    """``grads`` is a mapping with exactly the keys of ``like``."""
    if not isinstance(grads, Mapping) or grads.keys() != like.keys():
        got = sorted(grads) if isinstance(grads, Mapping) else type(grads).__name__
        raise InputError(f"{what} must have the keys of the parameters {sorted(like)}, got {got}.")

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


def probability_vector(p, name: str) -> np.ndarray:
    """``p`` as a 1-D float64 distribution: finite, ≥ 0, summing to 1 (to 1e-6)."""
    arr = as_float_array(np.atleast_1d(np.asarray(p, dtype=np.float64)), name, 1).astype(np.float64)
    if arr.size < 2 or (arr < 0).any() or abs(arr.sum() - 1) > 1e-6:
        raise InputError(f"{name} must be at least 2 probabilities >= 0 that sum to 1, got "
                         f"{', '.join(f'{v:g}' for v in arr)} (sum {arr.sum():g}); e.g. 0.5,0.3,0.2.")
    return arr


MAX_RESIZE_SIDE = 1024
"""The largest ``--image-size`` side: a linear classifier has H·W·C weights per class."""


def parse_image_size(text: str, name: str = "--image-size") -> tuple[int, int]:
    """``"32x32"`` → ``(32, 32)``: two integers in ``1 … MAX_RESIZE_SIDE``."""
    try:
        h, w = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ParameterError(f"{name} must look like HxW, e.g. {name} 32x32; got {text!r}.") from None
    if not (1 <= h <= MAX_RESIZE_SIDE and 1 <= w <= MAX_RESIZE_SIDE):
        raise ParameterError(f"{name} sides must be in 1 … {MAX_RESIZE_SIDE}, e.g. {name} 32x32; got {text!r}.")
    return h, w


STEP_LIMITS = {"sgd": lambda mu: 1.0, "momentum": lambda mu: 2 * (1 + mu),
               "nesterov": lambda mu: 2 * (1 + mu) / (1 + 2 * mu)}
"""The largest ``lr · 2λ`` each method survives (see :func:`stable_step`); adaptive methods have none."""


def stable_step(optimizer: str, lr, reg, reg_strength: float, *, mu: float = 0.9,
                names: tuple[str, str] = ("lr", "λ")) -> None:
    """Refuse a learning rate with which L2 weight decay provably oscillates or diverges.

    The data losses are convex, so with ``λ Σ W²`` (or the elastic net's ``λβ Σ W²``)
    the objective's curvature is at least ``h = 2λ`` in every direction. On a
    quadratic of curvature ``h`` plain SGD multiplies the distance to the minimum by
    ``1 − lr·h``: for ``lr·2λ ≥ 1`` every step overshoots (W's decay factor
    ``1 − 2·lr·λ ≤ 0`` flips its sign), for ``≥ 2`` the distance grows. Heavy-ball
    momentum diverges for ``lr·h ≥ 2(1 + μ)``, Nesterov's for ``lr·h ≥ 2(1 + μ)/(1 + 2μ)``
    (both 2.8 ... 3.8 times SGD's bound at μ = 0.9). AdaGrad, RMSProp and Adam scale
    each step to about ``lr``, whatever the gradient: nothing is provable, nothing
    refused. ``lr`` may be a callable schedule (not checked); ``names`` are the
    caller's names of the learning rate and the strength (flags or parameters).
    """
    limit = STEP_LIMITS.get(optimizer)
    beta = {"l2": 1.0}.get(getattr(reg, "name", None), getattr(reg, "beta", 0.0))
    l2 = float(reg_strength) * beta
    if limit is None or callable(lr) or l2 <= 0:
        return
    bound, product = limit(mu), 2 * float(lr) * l2
    if product < bound:
        return
    lr_name, reg_name = names
    term = "lr·2λ" if beta == 1 else f"lr·2λβ (β = {beta:g})"
    if optimizer != "sgd":
        what = f"{optimizer} (μ = {mu:g}) provably diverges for {term} ≥ {bound:.3g}"
    elif product > 1:
        what = (f"the weight decay factor 1 − {term} = {1 - product:.3g} flips W's sign every step, "
                "so training oscillates instead of settling")
    else:
        what = "the weight decay wipes W out every step, so only the last step's gradient is kept"
    raise ParameterError(f"{lr_name} {float(lr):g} with {reg_name} {float(reg_strength):g} gives {term} = "
                         f"{product:.3g} ≥ {bound:.3g}: {what}; use {lr_name} below {bound / (2 * l2):.3g} "
                         f"or {reg_name} below {bound / (2 * float(lr) * beta):.3g}.")


def run_warnings(initial_loss: float, final_loss: float, accuracy: float, chance: float) -> list[str]:
    """What is wrong with a finished run, one sentence each (none: nothing).

    ``accuracy`` is the final training accuracy, ``chance`` that of always predicting
    the most frequent training class, ``initial_loss`` / ``final_loss`` the objective
    on the training data at the start and at the end.
    """
    found = []
    if accuracy <= chance:
        found.append(f"the final training accuracy {100 * accuracy:.1f}% is at or below chance "
                     f"({100 * chance:.1f}%, always the most frequent class): the model learned nothing; "
                     "lower the learning rate or the regularization strength.")
    if not final_loss <= initial_loss:
        found.append(f"the training objective ended at {final_loss:.4g}, above its initial {initial_loss:.4g}: "
                     "the optimizer made things worse; lower the learning rate (or use a schedule with warm-up).")
    return found
