"""Stratified, seeded splits: sizes, class shares, determinism and the size rules.

Reference: each class's share of a split is its share of the data, N_c * n_part / N
(up to one example of rounding), computed here from the counts.
"""

from __future__ import annotations

import numpy as np
import pytest

from linclass.datasets.splits import default_val_size, split_three, stratified_split, subset
from linclass.errors import ParameterError

COUNTS = [40, 30, 20, 10]  # unbalanced classes


def labels_sorted_by_class(counts=COUNTS):
    """Labels stored by class, like the CIFAR-10 JPEG copy (the last ones all of one class)."""
    return np.repeat(np.arange(len(counts)), counts)


@pytest.mark.parametrize("test_size,n_test", [(0.25, 25), (0.1, 10), (30, 30), (7, 7)])
def test_stratified_split_keeps_each_class_share(test_size, n_test):
    y = labels_sorted_by_class()
    train_idx, test_idx = stratified_split(y, test_size, seed=0)
    assert test_idx.size == n_test and train_idx.size == y.size - n_test
    assert np.array_equal(np.sort(np.concatenate([train_idx, test_idx])), np.arange(y.size))
    share = np.array(COUNTS) * n_test / y.size
    assert np.all(np.abs(np.bincount(y[test_idx], minlength=4) - share) <= 1)


def test_stratified_split_is_seeded_and_ignores_position():
    y = labels_sorted_by_class()
    a = stratified_split(y, 20, seed=3)
    b = stratified_split(y, 20, seed=3)
    c = stratified_split(y, 20, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(np.sort(a[1]), np.sort(c[1]))
    assert not np.array_equal(np.sort(a[1]), np.arange(80, 100))  # never "the last 20"
    assert set(y[a[1]]) == {0, 1, 2, 3}
    assert not np.all(np.diff(y[a[0]]) >= 0)  # classes interleaved, not stored by class


def test_a_zero_test_size_gives_an_empty_test_part():
    y = labels_sorted_by_class()
    train_idx, test_idx = stratified_split(y, 0, seed=0)
    assert test_idx.size == 0 and np.array_equal(np.sort(train_idx), np.arange(y.size))


@pytest.mark.parametrize("y,size,match", [
    (np.array([0, 0, 0, 1]), 2, "only 1 example"),
    (labels_sorted_by_class(), 3, "cannot hold all 4 classes"),
    (labels_sorted_by_class(), 1.5, "fraction outside"),
    (labels_sorted_by_class(), -1, "outside"),
    (labels_sorted_by_class(), "10", "count"),
    (np.array([0.0, 1.0, 0.0, 1.0]), 2, "integer"),
])
def test_impossible_splits_say_what_to_change(y, size, match):
    with pytest.raises(ParameterError, match=match):
        stratified_split(y, size, seed=0)


@pytest.mark.parametrize("val_size", [None, 8, 0.2])
def test_split_three_partitions_and_keeps_the_test_part_fixed(val_size):
    y = labels_sorted_by_class()
    train_idx, val_idx, test_idx = split_three(y, val_size, 0.2, seed=0)
    assert np.array_equal(np.sort(np.concatenate([train_idx, val_idx, test_idx])), np.arange(y.size))
    assert test_idx.size == 20
    assert val_idx.size == {None: 8, 8: 8, 0.2: 16}[val_size]  # None: 10% of the 80 left
    _, _, test_other = split_three(y, 12, 0.2, seed=0)
    assert np.array_equal(np.sort(test_idx), np.sort(test_other))


@pytest.mark.parametrize("n_train,n_classes,expected", [(50_000, 10, 1000), (10_000, 10, 1000),
                                                         (5_000, 10, 500), (20, 3, 3), (9, 10, 10)])
def test_default_validation_size_rule(n_train, n_classes, expected):
    assert default_val_size(n_train, n_classes) == expected


@pytest.mark.parametrize("n", [12, 0.3, 500])
def test_subset_is_stratified_and_keeps_rows_with_their_labels(n):
    y = labels_sorted_by_class()
    X = (y * 1000 + np.arange(y.size))[:, None]  # each row encodes its label
    X_sub, y_sub = subset(X, y, n, seed=1)
    assert np.array_equal(X_sub[:, 0] // 1000, y_sub)
    assert np.unique(X_sub[:, 0]).size == y_sub.size
    k = min(int(np.ceil(n * y.size)) if isinstance(n, float) else n, y.size)
    assert y_sub.size == k
    assert np.all(np.abs(np.bincount(y_sub, minlength=4) - np.array(COUNTS) * k / y.size) <= 1)
