"""Seeded, stratified splits: train / validation / test, small dev subsets, and cross-validation folds.

Every split here keeps each class's share (stratified) and depends only on the
labels and the seed, never on the order of the examples: data sets stored by
class (the CIFAR-10 JPEG copy: all trucks last) are split correctly. The work is
done by scikit-learn's :func:`~sklearn.model_selection.train_test_split`; this
module adds the size rules and error messages that name the fix.

Conventions: N examples, C classes; ``y`` is ``(N,)`` integer labels. Sizes are
an ``int`` count or a ``float`` fraction in ``(0, 1)`` of the examples split.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from .. import _checks
from ..errors import ParameterError

DEFAULT_TEST_FRACTION = 0.2
"""Test share taken from a data set that has no test split of its own."""


def default_val_size(n_train: int, n_classes: int = 1) -> int:
    """Validation examples taken from ``n_train``: 1,000 if n_train ≥ 10,000, else 10%; ≥ 1 per class."""
    return max(n_classes, 1000 if n_train >= 10_000 else round(0.1 * n_train))


def _count(size, n: int, name: str) -> int:
    """``size`` (an int count or a float fraction of ``n``) as a count in ``[0, n]``."""
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a count (int) or a fraction (float in (0, 1)), got {size!r}.")
    if isinstance(size, (float, np.floating)):
        if not 0.0 <= size < 1.0:
            raise ParameterError(f"{name}={size} is a fraction outside [0, 1); pass a fraction like 0.1 "
                                 f"or a count like {max(1, n // 10)}.")
        # ceil, as scikit-learn does for a fractional test_size; a fraction < 1 never takes all
        return min(int(np.ceil(size * n)), n - 1) if size > 0 else 0
    if not 0 <= size <= n:
        raise ParameterError(f"{name}={size} is outside [0, {n}] for {n} examples; pass a smaller count.")
    return int(size)


def stratified_split(y, test_size, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Split indices ``0..N-1`` into ``(train_idx, test_idx)``, stratified by ``y`` and seeded.

    Each class c with N_c examples puts about ``N_c * n_test / N`` of them in the
    test part (scikit-learn's :class:`~sklearn.model_selection.StratifiedShuffleSplit`
    allocation). Both index arrays are int64 in a seeded random order, so classes
    are interleaved even when ``y`` is sorted. ``test_size`` 0 gives an empty test part.

    >>> y = np.repeat([0, 1], 50)                    # stored by class
    >>> train_idx, test_idx = stratified_split(y, 10, seed=0)
    >>> np.bincount(y[test_idx]).tolist()
    [5, 5]
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iub":
        raise ParameterError(f"labels must be a 1-D integer array, got shape {y.shape} dtype {y.dtype}; "
                             "encode class names as integers first.")
    n = y.shape[0]
    n_test = _count(test_size, n, "test_size")
    index = np.arange(n, dtype=np.int64)
    if n_test == 0:
        return np.random.default_rng(seed).permutation(index), index[:0]
    if n_test == n:
        return index[:0], np.random.default_rng(seed).permutation(index)
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < 2:
        lonely = classes[counts.argmin()]
        raise ParameterError(f"class {lonely} has only 1 example; a stratified split needs at least 2 per "
                             "class: add examples of it or remove the class.")
    for part, k in (("test", n_test), ("training", n - n_test)):
        if k < classes.size:
            raise ParameterError(f"a {part} part of {k} example(s) cannot hold all {classes.size} classes; "
                                 f"choose a size that leaves at least {classes.size} on each side.")

    train_idx, test_idx = train_test_split(index, test_size=n_test, stratify=y, random_state=_checks.seed(seed))
    return train_idx.astype(np.int64), test_idx.astype(np.int64)


def split_three(y, val_size, test_size, seed=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train_idx, val_idx, test_idx)``: test taken from all N, then validation from the rest.

    ``test_size`` counts or fractions the whole set; ``val_size`` counts or
    fractions what is left after the test part (None: :func:`default_val_size`).
    The test part depends only on ``(y, test_size, seed)``, so changing the
    validation size never moves a test example.
    """
    y = np.asarray(y)
    rest, test_idx = stratified_split(y, test_size, seed)
    if val_size is None:
        val_size = default_val_size(rest.size, np.unique(y[rest]).size)
    sub_train, sub_val = stratified_split(y[rest], val_size, seed)
    return rest[sub_train], rest[sub_val], test_idx


def subset(X, y, n, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A stratified, seeded subset of ``n`` examples (count or fraction) of ``(X, y)``, e.g. for dev runs.

    ``n`` ≥ N returns all examples (in a seeded random order).
    """
    y = np.asarray(y)
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > y.shape[0]:
        n = y.shape[0]
    _, idx = stratified_split(y, n, seed)
    return X[idx], y[idx]


def subset_train(dataset, n, seed=0):
    """``dataset`` (a :class:`~linclass.datasets.Dataset`) with its training set cut to a stratified subset.

    Validation and test sets are kept whole; the subset is listed in ``notes``.
    ``n`` None returns ``dataset`` unchanged; otherwise the fingerprint records the subset.
    """
    if n is None:
        return dataset
    n_before = dataset.y_train.shape[0]
    X_train, y_train = subset(dataset.X_train, dataset.y_train, n, seed)
    note = f"training subset: {y_train.shape[0]:,} of {n_before:,} examples (stratified, seed {seed})"
    fingerprint = hashlib.sha256(repr((dataset.fingerprint, "subset", n, seed)).encode()).hexdigest()[:16]
    return dataclasses.replace(dataset, X_train=X_train, y_train=y_train, fingerprint=fingerprint,
                               notes=[*dataset.notes, note])


def fold_indices(y, folds: int = 5, seed=0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` stratified, seeded ``(train_idx, val_idx)`` pairs covering every example once as validation.

    scikit-learn's :class:`~sklearn.model_selection.StratifiedKFold` with shuffling
    (stratified: each class is spread evenly, whatever order the data is stored in).
    """
    folds = _checks.integer(folds, "folds")
    y = np.asarray(y)
    if folds < 2 or folds > y.shape[0]:
        raise ParameterError(f"folds={folds} must be in [2, {y.shape[0]}] for {y.shape[0]} examples.")
    smallest_class = np.unique(y, return_counts=True)[1].min()
    if folds > smallest_class:
        raise ParameterError(f"folds={folds} is more than the {smallest_class} example(s) of the smallest "
                             f"class; use folds ≤ {smallest_class} or more data per class.")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=_checks.seed(seed))
    return [(tr.astype(np.int64), va.astype(np.int64))
            for tr, va in splitter.split(np.zeros((y.shape[0], 1)), y)]
