"""k-nearest neighbours: the lecture's recap baseline, vectorized and memory-bounded.

Conventions: M query examples (rows of ``A`` / ``X_test``), N training examples
(rows of ``B`` / ``X_train``), D features, C classes, k neighbours.

- Distances: L1 ``d(a, b) = Σ_d |a_d − b_d|`` and L2 ``d(a, b) = sqrt(Σ_d (a_d − b_d)²)``,
  the L2 case through the expansion ``‖a − b‖² = ‖a‖² − 2 a·b + ‖b‖²`` (one matrix
  product per block), accumulated in float64 and clamped at 0 before the root.
- Memory: queries are processed ``chunk_size`` rows at a time, so besides the
  inputs (and one float64 copy of ``B`` when it is not float64) a block holds
  O(chunk_size · (N + D)) numbers; nothing of size M·N·D ever exists. L1 uses
  SciPy's compiled ``cdist`` (no (chunk, N, D) temporary at all).
- Neighbours: the k smallest distances, nearest first; equal distances are
  ordered by the lower training index (what a stable sort gives).
- Vote (tie rule): the class with the most votes among the k neighbours; when
  several classes tie, the **smallest class index** wins (the course's
  ``np.argmax(np.bincount(closest_y))``, and scikit-learn's
  ``KNeighborsClassifier`` with uniform weights).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _checks
from ._checks import as_float_array, as_labels, sklearn_checked
from .datasets.splits import fold_indices
from .errors import InputError, LabelError, ParameterError

METRICS = ("l2", "l1")
BLOCK_BYTES = 64 * 2**20
"""Target size of one block of float64 work arrays when ``chunk_size`` is None."""


# --------------------------------------------------------------------------- checks

def _check_metric(metric) -> str:
    return _checks.choice(metric, "metric", METRICS, hint="; use 'l2' (Euclidean) or 'l1' (Manhattan)")


def _chunk_rows(chunk_size, n_train: int, n_features: int) -> int:
    """Query rows per block: ``chunk_size``, or as many as fit ``BLOCK_BYTES`` of float64."""
    if chunk_size is not None:
        return _checks.integer(chunk_size, "chunk_size")
    per_row = 8 * (3 * n_train + n_features)     # distances, selection masks, the upcast row
    return max(1, BLOCK_BYTES // per_row)


def _pair(A, B) -> tuple[np.ndarray, np.ndarray]:
    A = as_float_array(A, "A", 2)
    B = as_float_array(B, "B", 2)
    if A.shape[1] != B.shape[1]:
        raise InputError(f"A has {A.shape[1]} features but B has {B.shape[1]}; "
                         "both must be flattened the same way (one row per example, D columns).")
    return A, B


# --------------------------------------------------------------------------- distances

def _squared_norms(X) -> np.ndarray:
    """``‖x_i‖²`` (rows,) accumulated in float64."""
    X = np.asarray(X, dtype=np.float64)
    return np.einsum("ij,ij->i", X, X)


def _l2_block(A_chunk, B64, B_sq) -> np.ndarray:
    """L2 distances (m, N) of a chunk of queries by ``‖a‖² − 2 a·b + ‖b‖²``, clamped at 0."""
    A64 = np.asarray(A_chunk, dtype=np.float64)           # (m, D)
    d2 = A64 @ B64.T                                     # (m, N)  a·b
    d2 *= -2.0
    d2 += _squared_norms(A64)[:, None]
    d2 += B_sq[None, :]
    np.maximum(d2, 0.0, out=d2)                          # rounding can dip below 0 for near-duplicates
    return np.sqrt(d2, out=d2)


def _l1_block(A_chunk, B64, _B_sq=None) -> np.ndarray:
    """L1 distances (m, N) of a chunk of queries (SciPy's compiled loop, float64)."""
    return cdist(np.asarray(A_chunk, dtype=np.float64), B64, metric="cityblock")


def distance_blocks(A, B, metric: str = "l2", chunk_size=None):
    """Yield ``(rows, block)``: ``block`` (m, N) float64 holds the distances of ``A[rows]`` to all of ``B``.

    Validated once; the memory bound of the module docstring applies per block.
    """
    metric = _check_metric(metric)
    A, B = _pair(A, B)
    B64 = np.ascontiguousarray(B, dtype=np.float64)      # (N, D), a copy only when B is float32
    B_sq = _squared_norms(B64) if metric == "l2" else None
    block = _l2_block if metric == "l2" else _l1_block
    step = _chunk_rows(chunk_size, B.shape[0], B.shape[1])
    for start in range(0, A.shape[0], step):
        rows = slice(start, min(start + step, A.shape[0]))
        yield rows, block(A[rows], B64, B_sq)


def pairwise_distances(A, B, metric: str = "l2", chunk_size=None) -> np.ndarray:
    """All distances ``d(A_i, B_j)`` (M, N) float64, L2 or L1, computed block by block.

    L2 uses ``sqrt(max(0, ‖a‖² − 2 a·b + ‖b‖²))`` in float64 (the expansion loses
    relative precision only for points much closer than their norms, as every
    GEMM-based implementation does); L1 sums ``|a_d − b_d|`` in float64.

    >>> pairwise_distances([[0.0, 0.0]], [[3.0, 4.0], [1.0, 1.0]]).tolist()
    [[5.0, 1.4142135623730951]]
    >>> pairwise_distances([[0.0, 0.0]], [[3.0, 4.0]], metric="l1").tolist()
    [[7.0]]
    """
    A, B = _pair(A, B)
    dists = np.empty((A.shape[0], B.shape[0]), dtype=np.float64)   # (M, N)
    for rows, block in distance_blocks(A, B, metric, chunk_size):
        dists[rows] = block
    return dists


# --------------------------------------------------------------------------- neighbours and vote

def nearest(dists, k: int) -> np.ndarray:
    """Indices (M, k) of the k smallest entries of each row of ``dists`` (M, N), nearest first.

    Equal distances are ordered by the lower column index, exactly as the first
    k columns of ``np.argsort(dists, axis=1, kind="stable")``, but in O(M·N)
    (partition, then a sort of only k entries per row).
    """
    dists = np.asarray(dists)
    M, N = dists.shape
    k = _checks.integer(k, "k")
    if k > N:
        raise ParameterError(f"k={k} is more than the {N} training example(s); choose k ≤ {N}.")
    if k == N:
        return np.argsort(dists, axis=1, kind="stable")
    kth = np.partition(dists, k - 1, axis=1)[:, k - 1:k]                # (M, 1) k-th smallest
    closer = dists < kth                                                # (M, N) surely in
    tied = dists == kth                                                 # (M, N) in by index order
    room = k - closer.sum(axis=1, keepdims=True)                        # (M, 1) slots left for ties
    chosen = closer | (tied & (np.cumsum(tied, axis=1) <= room))        # exactly k per row
    idx = np.nonzero(chosen)[1].reshape(M, k)                           # (M, k) ascending index
    order = np.argsort(np.take_along_axis(dists, idx, axis=1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1)


def vote_counts(neighbor_labels, n_classes: int) -> np.ndarray:
    """Votes (M, C): ``counts[i, c]`` = how many of row i's neighbours have label c in ``[0, C)``."""
    neighbor_labels = np.asarray(neighbor_labels, dtype=np.int64)      # (M, k)
    M = neighbor_labels.shape[0]
    flat = (np.arange(M)[:, None] * n_classes + neighbor_labels).ravel()
    return np.bincount(flat, minlength=M * n_classes).reshape(M, n_classes)


def majority_vote(neighbor_labels, n_classes: int) -> np.ndarray:
    """The most frequent label (M,) of each row of ``neighbor_labels`` (M, k); ties → the smallest label."""
    return vote_counts(neighbor_labels, n_classes).argmax(axis=1)      # argmax takes the first maximum


def _train_labels(y_train, n: int, n_classes) -> tuple[np.ndarray, int]:
    """Validated int64 labels (n,) and the class count (``max + 1`` when ``n_classes`` is None)."""
    y = np.asarray(y_train)
    if n_classes is None:
        n_classes = int(y.max()) + 1 if y.size and y.dtype.kind in "iu" else 1
    return as_labels(y, n, int(n_classes)), int(n_classes)


def knn_votes(X_train, y_train, X_test, k: int = 1, metric: str = "l2", *, n_classes=None,
              chunk_size=None) -> np.ndarray:
    """Votes (M, C) of the k nearest training examples for each test row, block by block."""
    X_train, X_test = _pair(X_train, X_test)
    y, C = _train_labels(y_train, X_train.shape[0], n_classes)
    k = _checks.integer(k, "k")
    if k > X_train.shape[0]:
        raise ParameterError(f"k={k} is more than the {X_train.shape[0]} training example(s); "
                             f"choose k ≤ {X_train.shape[0]} or add training data.")
    counts = np.empty((X_test.shape[0], C), dtype=np.int64)            # (M, C)
    for rows, dists in distance_blocks(X_test, X_train, metric, chunk_size):
        counts[rows] = vote_counts(y[nearest(dists, k)], C)
    return counts


def knn_predict(X_train, y_train, X_test, k: int = 1, metric: str = "l2", *, n_classes=None,
                chunk_size=None) -> np.ndarray:
    """Predicted class indices (M,) by a majority vote of the k nearest training examples.

    ``y_train`` holds int class indices in ``[0, C)``. Ties in the vote go to the
    smallest class index; ties in distance to the lower training index.
    """
    return knn_votes(X_train, y_train, X_test, k, metric, n_classes=n_classes,
                     chunk_size=chunk_size).argmax(axis=1)


# --------------------------------------------------------------------------- cross-validation

def cross_validate_k(X, y, ks, folds: int = 5, metric: str = "l2", seed=0, *,
                     chunk_size=None) -> dict[int, list[float]]:
    """Validation accuracy of every k on every fold: ``{k: [accuracy of fold 1, ..., fold F]}``.

    For each fold the distances (n_val, n_train) are computed once and the
    max(ks) nearest neighbours found once (nearest first); every k then votes
    with the first k of them. ``y`` holds int class indices in ``[0, C)``.
    """
    X = as_float_array(X, "X", 2)
    y, C = _train_labels(y, X.shape[0], None)
    ks = [_checks.integer(k, "each k") for k in ks]
    if not ks:
        raise ParameterError("ks is empty; pass at least one k, e.g. 1,3,5,8,10.")
    splits = fold_indices(y, folds, seed)
    smallest_train = min(tr.size for tr, _ in splits)
    if max(ks) > smallest_train:
        raise ParameterError(f"k={max(ks)} is more than the {smallest_train} training examples of a fold; "
                             f"use k ≤ {smallest_train} or more data.")
    k_max = max(ks)
    accuracies: dict[int, list[float]] = {k: [] for k in ks}
    for train_idx, val_idx in splits:
        y_tr, y_val = y[train_idx], y[val_idx]
        correct = {k: 0 for k in ks}
        for rows, dists in distance_blocks(X[val_idx], X[train_idx], metric, chunk_size):
            closest = y_tr[nearest(dists, k_max)]                       # (m, k_max) labels, nearest first
            for k in ks:
                correct[k] += int((majority_vote(closest[:, :k], C) == y_val[rows]).sum())
        for k in ks:
            accuracies[k].append(correct[k] / val_idx.size)
    return accuracies


def best_k(accuracies: dict) -> int:
    """The k with the highest mean fold accuracy (the smallest such k on a tie)."""
    if not accuracies:
        raise ParameterError("no cross-validation results; pass {k: [fold accuracies]}.")
    return max(sorted(accuracies), key=lambda k: (np.mean(accuracies[k]), -k))


# --------------------------------------------------------------------------- estimator

class KNearestNeighbor(ClassifierMixin, BaseEstimator):
    """k-nearest-neighbour classifier with scikit-learn's API (L2 or L1, uniform vote).

    Parameters: ``k`` neighbours; ``metric`` "l2" or "l1"; ``chunk_size`` query
    rows per block (None: about 64 MiB of work arrays per block).
    Fitted attributes: ``classes_`` (C,) any label type, ``X_train_`` (N, D),
    ``y_train_`` (N,) indices into ``classes_``, ``n_features_in_``.
    The vote's ties go to the class that comes first in ``classes_``.

    >>> clf = KNearestNeighbor(k=1).fit([[0.0], [1.0]], ["cat", "dog"])
    >>> clf.predict([[0.2], [0.9]]).tolist()
    ['cat', 'dog']
    """

    def __init__(self, k: int = 5, metric: str = "l2", chunk_size=None):
        self.k = k
        self.metric = metric
        self.chunk_size = chunk_size

    def fit(self, X, y):
        """Store the training data (kNN learns nothing else); returns ``self``."""
        _checks.integer(self.k, "k")
        _check_metric(self.metric)
        if self.chunk_size is not None:
            _checks.integer(self.chunk_size, "chunk_size")
        X, y = sklearn_checked(validate_data, self, X, y, dtype=(np.float64, np.float32))
        sklearn_checked(check_classification_targets, y, error=LabelError)
        if self.k > X.shape[0]:
            raise ParameterError(f"k={self.k} needs at least {self.k} training examples, got "
                                 f"{X.shape[0]} sample(s); lower k or add training data.")
        self.classes_, self.y_train_ = np.unique(y, return_inverse=True)
        self.X_train_ = X
        return self

    def _votes(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = sklearn_checked(validate_data, self, X, reset=False, dtype=(np.float64, np.float32))
        return knn_votes(self.X_train_, self.y_train_, X, self.k, self.metric,
                         n_classes=self.classes_.size, chunk_size=self.chunk_size)

    def predict(self, X) -> np.ndarray:
        """Majority label (M,) of the k nearest training examples, from ``classes_``."""
        votes = self._votes(X)                                           # (M, C); checks fitted first
        return self.classes_[votes.argmax(axis=1)]

    def predict_proba(self, X) -> np.ndarray:
        """Vote fractions (M, C): the share of the k neighbours in each class of ``classes_``."""
        return self._votes(X) / self.k
