"""Small offline data sets: scikit-learn's handwritten digits and 2-D toy blobs.

Both need no download, load in milliseconds and are split train / validation /
test with :func:`linclass.datasets.splits.split_three` (stratified, seeded).
"""

from __future__ import annotations

import hashlib

import numpy as np
from sklearn.datasets import load_digits

from ..errors import ParameterError
from .base import Dataset
from .splits import DEFAULT_TEST_FRACTION, split_three

TOY_CLASS_NAMES = ["red", "green", "blue"]
"""The toy data's classes, named by the colours the 2-D demo draws them in."""


def _fingerprint(*parts) -> str:
    """A short hash of the data's bytes and the split settings."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.tobytes() if isinstance(part, np.ndarray) else repr(part).encode())
    return h.hexdigest()[:16]


def _split_dataset(name, class_names, X, y, *, seed, val_size, test_size, image_shape, notes) -> Dataset:
    """A :class:`Dataset` from all examples ``X (N, ...)``, ``y (N,)`` by a stratified seeded split."""
    train_idx, val_idx, test_idx = split_three(y, val_size, test_size, seed)
    return Dataset(name=name, class_names=list(class_names),
                   X_train=X[train_idx], y_train=y[train_idx], X_val=X[val_idx], y_val=y[val_idx],
                   X_test=X[test_idx], y_test=y[test_idx], image_shape=image_shape,
                   fingerprint=_fingerprint(name, X, y, seed, val_size, test_size),
                   notes=[*notes, f"split {train_idx.size} / {val_idx.size} / {test_idx.size} "
                                  f"(train / val / test), stratified, seed {seed}"])


def load_digits_dataset(seed=0, val_size=None, test_size=DEFAULT_TEST_FRACTION) -> Dataset:
    """scikit-learn's 1,797 handwritten digits (8×8, 10 classes) as uint8 images ``(N, 8, 8, 1)``.

    Pixels are the data's ink counts 0..16 scaled to 0..255: ``round(v * 255 / 16)``.
    ``test_size`` (default 20%) is taken from all images, then ``val_size``
    (default 10%) from the rest; both stratified by digit and seeded.
    Class names are ``"0"`` .. ``"9"``.
    """
    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]  # (N, 8, 8, 1)
    y = digits.target.astype(np.int64)
    return _split_dataset("digits", [str(c) for c in range(10)], images, y, seed=seed, val_size=val_size,
                          test_size=test_size, image_shape=(8, 8, 1),
                          notes=["scikit-learn digits: 8x8 grey images, ink 0..16 scaled to 0..255"])


def toy_points(n_per_class=100, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in ``[-1, 1]²``: ``(X (3 n_per_class, 2) float32, y (3 n_per_class,) int64)``.

    Class k is centred at radius 0.55 and angle ``90° + 120° k`` (the corners of
    an equilateral triangle) with standard deviation 0.2 per axis; points are
    clipped to the square. Neighbouring centres are 0.95 apart, so the classes
    overlap a little: the best linear classifier is right on about 98% of points,
    which leaves a few visible mistakes for the 2-D demo. Examples are ordered by class.
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 2:
        raise ParameterError(f"n_per_class must be an int >= 2, got {n_per_class!r}.")
    rng = np.random.default_rng(seed)
    angles = np.deg2rad(90.0 + 120.0 * np.arange(3))
    centres = 0.55 * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (3, 2)
    y = np.repeat(np.arange(3, dtype=np.int64), n_per_class)              # (N,)
    X = centres[y] + 0.2 * rng.standard_normal((y.size, 2))               # (N, 2)
    return np.clip(X, -1.0, 1.0).astype(np.float32), y


def load_toy_dataset(n_per_class=100, seed=0, val_size=None, test_size=DEFAULT_TEST_FRACTION) -> Dataset:
    """The 2-D toy data of :func:`toy_points` as a :class:`Dataset` (features ``(N, 2)`` float32).

    ``image_shape`` is None: the examples are points, not images. Split like
    :func:`load_digits_dataset` (test 20% of all, validation 10% of the rest).
    """
    X, y = toy_points(n_per_class, seed)
    return _split_dataset("toy", TOY_CLASS_NAMES, X, y, seed=seed, val_size=val_size, test_size=test_size,
                          image_shape=None,
                          notes=[f"toy data: 3 Gaussian blobs in [-1, 1]^2, {n_per_class} points per class"])
