"""The L2-regularized softmax objective in row chunks: value and gradient in one fused pass over X.

Conventions: N examples, D features, C classes; ``X`` (N, D) may be an array, a
memory map, or a row source with ``shape``, ``dtype``, ``boundaries`` (shard
starts), ``read(start, stop)`` and ``release(start, stop)`` (the memory-mapped
files of :mod:`linclass.rows.files`; the protocol is :mod:`linclass.rows.source`). The
objective is scikit-learn's ``LogisticRegression`` (multinomial, L2) written as
the lecture's::

    L(W, b) = 1/N Σ_i [log Σ_j e^{s_ij} − s_{i,y_i}] + λ Σ W²,     s_i = ((x_i − μ) / σ) W + b

(``μ``, ``σ``: optional standardization, folded into the weights, so no
standardized copy of X is ever made; the bias is not penalized).

One evaluation reads each chunk of X once: scores ``S = X_c V + c`` (one GEMM in
the chunk's precision), the stable softmax in place (shift by the row max, exp,
normalize), the per-row losses summed in float64, then ``V``'s gradient
``X_cᵀ (P_c − Y_c)`` (a second GEMM) added into a float64 accumulator. Memory is the
chunk, its (rows, C) scores and the model; nothing of size N·D is allocated.
"""

from __future__ import annotations

import copy
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import ThreadpoolController

from .. import _checks
from .._checks import as_labels
from ..errors import InputError, ParameterError
from ..rows.source import accuracy, read_rows, release_rows, spans

CHUNK_BYTES = 16 * 2 ** 20
"""Default size of one chunk of X in the evaluation precision (rows = CHUNK_BYTES / (D · itemsize))."""


_BLAS = ThreadpoolController()


def default_threads() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def chunk_rows_for(n_features: int, itemsize: int, budget: int = CHUNK_BYTES) -> int:
    """Rows per chunk so that one chunk of ``n_features`` columns takes about ``budget`` bytes (≥ 256)."""
    return max(256, budget // max(1, n_features * itemsize))


def fused_softmax(St, y) -> tuple[float, np.ndarray]:
    """``(Σ_i L_i in float64, dL_i/ds_i)`` for the transposed scores ``St`` (C, n), overwriting ``St``.

    ``L_i = log Σ_j e^{s_ij} − s_{i,y_i}``, computed after shifting each example by its
    maximum score (no overflow for any finite scores); the gradient is ``p_i − onehot(y_i)``.
    Classes are rows, so every reduction runs over C contiguous vectors of n.
    """
    cols = np.arange(St.shape[1])
    St -= St.max(axis=0)
    true = St[y, cols].astype(np.float64)
    np.exp(St, out=St)
    Z = St.sum(axis=0)  # ≥ 1 (each example's maximum contributes e⁰)
    loss = float(np.log(Z, dtype=np.float64).sum() - true.sum())
    St /= Z
    St[y, cols] -= 1
    return loss, St


def chunk_terms(block, y, V, c, dtype) -> tuple[float, np.ndarray, np.ndarray]:
    """One chunk's ``(Σ L_i, Σ x_i ⊗ dL_i (D, C), Σ dL_i (C,))`` for the scores ``block · V + c``.

    The two products run in ``dtype`` (``V`` (D, C) and ``c`` (C, 1) already in it);
    the loss sum is float64. Every backend that computes on NumPy chunks calls this.
    Measured layouts (OpenBLAS, C = 20): ``X V`` then a transposed copy, and ``Xᵀ Gᵀ``,
    are 1.5× faster than ``Vᵀ Xᵀ`` and ``G X``.
    """
    block = block.astype(dtype, copy=False)
    St = np.ascontiguousarray((block @ V).T)  # (C, n): classes as rows for the softmax's reductions
    St += c
    loss, Gt = fused_softmax(St, y)
    return loss, block.T @ Gt.T, Gt.sum(axis=1, dtype=np.float64)


class SoftmaxL2:
    """``(W, b) -> (L, ∇_W L, ∇_b L)`` of the objective above on ``(X, y)``, chunk by chunk, in float64 out.

    ``dtype`` is the precision of the products (float32: twice the GEMM speed; the
    sums over rows stay float64). ``y`` holds class indices in ``[0, n_classes)``.
    ``shift`` / ``scale`` (D,) standardize on the fly: the model is fitted on
    ``(X − shift) / scale``.
    """

    def __init__(self, X, y, n_classes: int, reg_strength: float = 0.0, *, dtype=np.float32,
                 shift=None, scale=None, chunk_rows: int | None = None,
                 threads: int | None = None):
        if len(X.shape) != 2 or X.shape[0] == 0:
            raise InputError(f"X must be a non-empty (N, D) matrix, got shape {tuple(X.shape)}.")
        if np.dtype(X.dtype).kind != "f":
            raise InputError(f"X must hold floating-point numbers, got dtype {X.dtype}; "
                             "save the embeddings as float16, float32 or float64.")
        self.dtype = _checks.precision(dtype)
        self.X, self.n_classes, self.reg_strength = X, int(n_classes), _checks.reg_strength(reg_strength)
        self.y = as_labels(y, X.shape[0], n_classes)
        self.shift = None if shift is None else np.asarray(shift, np.float64)
        self.scale = None if scale is None else np.asarray(scale, np.float64)
        self.chunk_rows = int(chunk_rows or chunk_rows_for(X.shape[1], self.dtype.itemsize))
        self.threads = int(threads or default_threads())
        self._memo = {}
        if self.chunk_rows < 1 or self.threads < 1:
            raise ParameterError(f"chunk_rows and threads must be >= 1, got {chunk_rows!r} and {threads!r}.")

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(N, D, C)``."""
        return self.X.shape[0], self.X.shape[1], self.n_classes

    def with_dtype(self, dtype) -> "SoftmaxL2":
        """The same objective evaluated in another precision (the float64 finish); built once per data."""
        key = ("dtype", np.dtype(dtype).name)
        if key not in self._memo:
            self._memo[key] = self._build(np.dtype(dtype))
        return self._memo[key].with_reg(self.reg_strength)

    def _build(self, dtype) -> "SoftmaxL2":
        return SoftmaxL2(self.X, self.y, self.n_classes, self.reg_strength, dtype=dtype, shift=self.shift,
                         scale=self.scale, chunk_rows=chunk_rows_for(self.X.shape[1], dtype.itemsize),
                         threads=self.threads)

    def effective(self, W, b) -> tuple[np.ndarray, np.ndarray]:
        """``(V, c)`` with ``X V + c`` = the scores of the standardized rows: ``V = W / σ``, ``c = b − μ V``."""
        V = W if self.scale is None else W / self.scale[:, None]
        c = b if self.shift is None else b - self.shift @ V
        return V, c

    def data_terms(self, W, b) -> tuple[float, np.ndarray, np.ndarray]:
        """``(Σ_i L_i, Σ_i x_i ⊗ dL_i, Σ_i dL_i)`` in float64 on the raw rows, for ``V, c = effective(W, b)``.

        The chunks are shared out to ``threads`` workers (chunk k to worker k mod
        threads), each with one BLAS thread and its own float64 sums, added in a fixed
        order: the result does not depend on timing.
        """
        V, c = self.effective(np.asarray(W, np.float64), np.asarray(b, np.float64))
        V, c = V.astype(self.dtype), c.astype(self.dtype)[:, None]
        work = spans(self.X, self.chunk_rows)
        threads = max(1, min(self.threads, len(work)))

        def worker(k):
            total, gV, gc = 0.0, np.zeros((self.X.shape[1], self.n_classes)), np.zeros(self.n_classes)
            for start, stop in work[k::threads]:
                loss, g, h = chunk_terms(read_rows(self.X, start, stop), self.y[start:stop], V, c, self.dtype)
                total += loss
                gV += g
                gc += h
                release_rows(self.X, start, stop)
            return total, gV, gc

        with _BLAS.limit(limits=1):
            if threads == 1:
                parts = [worker(0)]
            else:
                with ThreadPoolExecutor(threads) as pool:
                    parts = list(pool.map(worker, range(threads)))
        total = math.fsum(p[0] for p in parts)
        return total, sum(p[1] for p in parts), sum(p[2] for p in parts)

    def accuracy(self, W, b) -> float:
        """Fraction of the rows whose highest score is their label (a backend counts where it holds the rows)."""
        return accuracy(np.asarray(W, np.float64), np.asarray(b, np.float64), self.X, self.y, shift=self.shift,
                        scale=self.scale)

    def __call__(self, W, b) -> tuple[float, np.ndarray, np.ndarray]:
        key = "zero" if not (np.any(W) or np.any(b)) else "last"
        point = (np.asarray(W, np.float64).tobytes(), np.asarray(b, np.float64).tobytes())
        if self._memo.get(key, (None,))[0] != point:
            # the data terms do not depend on λ: a path's next λ starts where the last one ended (and
            # every λ's stopping rule needs the zero model's), so both are kept for the objectives of other λ
            self._memo[key] = (point, self.data_terms(W, b))
            self._memo["passes"] = self.passes + 1
        return self.finish(W, *self._memo[key][1])

    @property
    def passes(self) -> int:
        """Passes over the data so far, by this objective and its copies for other λ."""
        return self._memo.get("passes", 0)

    def with_reg(self, reg_strength: float) -> "SoftmaxL2":
        """The same data (and whatever a backend placed on its devices) with another λ."""
        other = copy.copy(self)
        other.reg_strength = float(reg_strength)
        return other

    def finish(self, W, total, gV, gc) -> tuple[float, np.ndarray, np.ndarray]:
        """The objective and its gradient from the summed data terms (shared by every backend)."""
        N = self.X.shape[0]
        W = np.asarray(W, np.float64)
        if not math.isfinite(total):
            raise InputError("the loss is not finite: X contains NaN or inf (or values too large for "
                             f"{self.dtype.name}); clean the embeddings or pass --standardize.")
        gV, gb = gV / N, gc / N
        if self.shift is not None:  # c = b − μ V: the chain rule through c adds −μ ⊗ ∇_c to ∇_V
            gV = gV - np.outer(self.shift, gb)
        gW = gV if self.scale is None else gV / self.scale[:, None]
        lam = self.reg_strength
        return total / N + lam * float(np.sum(W * W)), gW + 2 * lam * W, gb
