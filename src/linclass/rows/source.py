"""The row-source protocol: how every reader of a design matrix gets at its rows, whatever holds them.

A *row source* is a NumPy array, a ``numpy.memmap``, or an object with ``shape``, ``dtype``,
``boundaries`` (shard starts, then N), ``read(start, stop)`` and ``release(start, stop)`` (the
memory-mapped embedding files of :mod:`linclass.rows.files`, or :class:`Standardized`). Readers walk
it in :func:`spans`, take rows with :func:`read_rows` and hand them back with :func:`release_rows`,
which drops a memory map's pages from the process (the page cache keeps them).

This module also holds what is computed *over* a row source in one streamed pass and is not an
optimizer's business: the standardizer's statistics (:func:`feature_stats`), the standardized view
(:class:`Standardized`) and the one :func:`accuracy`.
"""

from __future__ import annotations

import mmap

import numpy as np

from ..errors import InputError

__all__ = ["Standardized", "Subset", "accuracy", "block_correct", "drop_pages", "feature_stats", "finite_scores",
           "fold", "read_rows", "release_rows", "scored_chunks", "spans", "streamed"]


def streamed(X) -> bool:
    """Whether ``X`` lives in files (a memory map or a row source with ``read``) rather than in memory."""
    return isinstance(X, np.memmap) or hasattr(X, "read")


def spans(X, rows: int) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges of at most ``rows``, never across the boundaries of a sharded source."""
    bounds = list(getattr(X, "boundaries", (0, X.shape[0])))
    return [(lo, min(lo + rows, hi)) for a, hi in zip(bounds[:-1], bounds[1:]) for lo in range(a, hi, rows)]


def read_rows(X, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of an array or of a source with ``read`` (sharded or memory-mapped files)."""
    return X.read(start, stop) if hasattr(X, "read") else X[start:stop]


def release_rows(X, start: int, stop: int) -> None:
    """Tell a memory-mapped source that rows ``start:stop`` are done (their pages leave the RSS): a row source's
    ``release``, or for a read-only ``numpy.memmap`` over its own mapping (as ``np.load(mmap_mode="r")`` gives;
    not a view of one) :func:`drop_pages` on that mapping."""
    if hasattr(X, "release"):
        X.release(start, stop)
    elif isinstance(X, np.memmap) and X.mode == "r" and isinstance(X.base, mmap.mmap) and X.flags.c_contiguous:
        at = X.ctypes.data - np.frombuffer(X.base, np.uint8).ctypes.data  # where the rows start in the mapping
        drop_pages(X.base, at + start * X.strides[0], at + stop * X.strides[0])


def drop_pages(mapping: mmap.mmap, start: int, stop: int) -> None:
    """``madvise(MADV_DONTNEED)`` on the whole pages of bytes ``start:stop`` of a read-only file mapping: they leave
    the process's resident memory (the kernel's page cache keeps them; reading them again maps them back)."""
    if hasattr(mapping, "madvise") and stop > start:
        lo = start // mmap.PAGESIZE * mmap.PAGESIZE
        mapping.madvise(mmap.MADV_DONTNEED, lo, stop - lo)


def feature_stats(X, chunk_rows: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (D,) of the rows in float64, chunk by chunk (σ = 1 for constant features).

    Each chunk's mean and centered sum of squares are merged as Chan, Golub & LeVeque's
    pairwise update, so a large mean does not cancel the variance's digits.
    """
    D = X.shape[1]
    n, mean, m2 = 0, np.zeros(D), np.zeros(D)
    for start, stop in spans(X, chunk_rows):
        block = read_rows(X, start, stop).astype(np.float64, copy=False)
        k, block_mean = block.shape[0], block.mean(axis=0)
        block_m2 = np.square(block - block_mean).sum(axis=0)
        delta = block_mean - mean
        mean = mean + delta * (k / (n + k))
        m2 = m2 + block_m2 + np.square(delta) * (n * k / (n + k))
        n += k
        release_rows(X, start, stop)
    std = np.sqrt(m2 / n)
    return mean, np.where(std > 1e-8, std, 1.0)


def fold(W, b, shift=None, scale=None) -> tuple[np.ndarray, np.ndarray]:
    """``(V (D, C), c (C,))`` in float64 with ``x V + c = ((x − shift) / scale) W + b``: a standardizer folded into
    the weights (``V = W / scale``, ``c = b − shift · V``), so raw rows are scored without a standardized copy."""
    V = np.asarray(W, np.float64) if scale is None else np.asarray(W, np.float64) / np.asarray(scale)[:, None]
    c = np.asarray(b, np.float64) if shift is None else np.asarray(b, np.float64) - np.asarray(shift) @ V
    return V, c


def finite_scores(scores, where: str = "X") -> np.ndarray:
    """``scores`` (n, C), refused (:class:`~linclass.errors.InputError`) if a row's scores are not finite (NaN or
    inf in the rows, or values too large): such a row is never counted silently, as in training."""
    finite = np.isfinite(scores).all(axis=1)
    if not finite.all():
        raise InputError(f"{where} holds NaN or inf in {np.count_nonzero(~finite)} row(s) (or values too large for "
                         f"{scores.dtype}), which cannot be scored; clean the embeddings, as training data must be.")
    return scores


def block_correct(block, y, V, c, where: str = "X") -> int:
    """How many rows of ``block`` score their label ``y`` highest under ``block V + c`` (in ``V``'s dtype;
    non-finite scores refused, :func:`finite_scores`)."""
    scores = finite_scores(block.astype(V.dtype, copy=False) @ V + c, where)
    return int(np.count_nonzero(scores.argmax(axis=1) == y))


def scored_chunks(W, b, X, *, shift=None, scale=None, chunk_rows: int = 16384):
    """``(start, stop, scores (n, C))`` of consecutive chunks of ``X`` (array, memory map or row source) under
    ``((x − shift)/scale) W + b``, streamed: the products in X's precision (float16 rows in float32), the
    standardization folded into the weights (:func:`fold`), non-finite scores refused, pages released after use."""
    V, c = fold(W, b, shift, scale)
    dtype = np.float64 if np.dtype(X.dtype) == np.float64 else np.float32
    V, c = V.astype(dtype), c.astype(dtype)
    where = getattr(X, "where", "X")
    for start, stop in spans(X, chunk_rows):
        scores = finite_scores(read_rows(X, start, stop).astype(dtype, copy=False) @ V + c, where)
        release_rows(X, start, stop)
        yield start, stop, scores


def accuracy(W, b, X, y, *, shift=None, scale=None, chunk_rows: int = 16384) -> float:
    """Fraction of rows of ``X`` (array, memory map or row source) whose highest score ``((x − shift)/scale) W + b``
    is the label ``y``: the one accuracy of the package, streamed chunk by chunk (:func:`scored_chunks`)."""
    y = np.asarray(y)
    right = sum(int(np.count_nonzero(scores.argmax(axis=1) == y[start:stop]))
                for start, stop, scores in scored_chunks(W, b, X, shift=shift, scale=scale, chunk_rows=chunk_rows))
    return right / X.shape[0]


class Standardized:
    """The rows of ``X`` (array or row source) as ``(x − shift) / scale`` in ``dtype``, computed as they are read:
    the row source the minibatch probe trains on when it standardizes (no standardized copy of X is made)."""

    def __init__(self, X, shift, scale, dtype=np.float32):
        self.X, self.dtype = X, np.dtype(dtype)
        self.shift, self.scale = np.asarray(shift, self.dtype), np.asarray(scale, self.dtype)
        self.shape = X.shape
        self.boundaries = tuple(getattr(X, "boundaries", (0, X.shape[0])))

    def read(self, start: int, stop: int) -> np.ndarray:
        return (read_rows(self.X, start, stop).astype(self.dtype) - self.shift) / self.scale

    def release(self, start: int, stop: int) -> None:
        release_rows(self.X, start, stop)




class Subset:
    """The rows ``index`` (increasing) of ``X`` (array, memory map or row source) as a row source: each read gathers
    just its rows (shard by shard), so a few-shot subset of a large file is never copied whole."""

    def __init__(self, X, index):
        self.X, self.index = X, np.asarray(index, np.int64)
        self.shape, self.dtype = (len(self.index), X.shape[1]), X.dtype
        self.boundaries = (0, len(self.index))
        self.where = getattr(X, "where", "X")
        self._shard_starts = np.asarray(getattr(X, "boundaries", (0, X.shape[0])))

    def read(self, start: int, stop: int) -> np.ndarray:
        idx = self.index[start:stop]
        shard = np.searchsorted(self._shard_starts, idx, side="right") - 1
        parts = []
        for k in np.unique(shard):
            a, b = int(self._shard_starts[k]), int(self._shard_starts[k + 1])
            parts.append(np.asarray(read_rows(self.X, a, b))[idx[shard == k] - a])
        return np.concatenate(parts) if len(parts) != 1 else parts[0]

    def release(self, start: int, stop: int) -> None:
        """Nothing to do: the gathered rows are a copy, the file's pages were only read."""
