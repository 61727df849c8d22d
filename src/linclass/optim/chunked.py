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

import contextlib
import copy
import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import ThreadpoolController

from .. import _checks
from .._checks import as_labels
from ..errors import InputError, ParameterError
from ..objective import Value
from ..rows.batches import Indexed
from ..rows.source import accuracy, fold, read_rows, release_rows, spans

CHUNK_BYTES = 4 * 2 ** 20
"""Default size of one chunk of X in the evaluation precision (rows = CHUNK_BYTES / (D · itemsize)): a chunk is
read by both products, so two workers' chunks should stay in the cache between them (32 MiB of L3 here)."""

_TOO_LARGE = ("the products X·W overflow {dtype}: X holds values too large for it (or NaN / inf); the data "
              "needs scaling: pass --standardize (standardize=True), or divide the embeddings by a constant.")

_BLAS = ThreadpoolController()
_POOLS: dict = {}
_SINGLE = 0
"""How many :func:`one_blas_thread` blocks are open (the BLAS is on one thread while any is)."""


def default_threads() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def blas_threads() -> int:
    """The BLAS's thread count now: the cap a caller set (``threadpool_limits``, e.g. ``tune``'s one thread per job)
    is the minibatch step's too."""
    return max([info["num_threads"] for info in _BLAS.select(user_api="blas").info()] or [1])


@contextlib.contextmanager
def one_blas_thread():
    """One BLAS thread inside the block, set once: the chunked evaluations inside it then skip setting it each time
    (a limit costs ~5 µs, a small fit's evaluation ~30 µs). Around an L-BFGS run (:func:`linclass.fitting.solve`)."""
    global _SINGLE
    with _BLAS.limit(limits=1):
        _SINGLE += 1
        try:
            yield
        finally:
            _SINGLE -= 1


def _one_blas_thread():
    """The limit an evaluation sets around its workers: nothing inside :func:`one_blas_thread`."""
    return contextlib.nullcontext() if _SINGLE else _BLAS.limit(limits=1)


def _helpers(count: int) -> ThreadPoolExecutor:
    """A pool of ``count`` helper threads, started once and kept (an L-BFGS fit evaluates dozens of times; starting
    threads for each evaluation cost ~6 ms apiece on a busy machine)."""
    if count not in _POOLS:
        _POOLS[count] = ThreadPoolExecutor(max(1, count), thread_name_prefix="linclass-chunks")
    return _POOLS[count]


CLASS_MULTIPLE = 4
"""The engine's products run on a class count padded to a multiple of this: OpenBLAS's sgemm computes ``Vᵀ Xᵀ`` and
``Gᵀ X`` for 12 classes faster than for 10 (0.86× the time at D = 3,072 with the Haswell kernel; the SkylakeX and Zen
kernels alike), and over C = 2 … 1,003 at D = 256 and 3,072 the padded count took 0.62–1.03× the time
(``benchmarks/bench_probe.py --pad-only``; BENCHMARKS.md, "The exact engine")."""


def padded_classes(n_classes: int) -> int:
    """The class count the engine's products run on: ``n_classes`` up to a multiple of :data:`CLASS_MULTIPLE`."""
    return -(-n_classes // CLASS_MULTIPLE) * CLASS_MULTIPLE


def pad_classes(V, c) -> tuple[np.ndarray, np.ndarray]:
    """``V`` (D, C) and ``c`` (C, 1) with zero classes appended up to :func:`padded_classes`: their scores are exactly
    0, and :func:`chunk_terms` (told the real count) leaves them out of the loss and drops their gradient rows."""
    extra = padded_classes(V.shape[1]) - V.shape[1]
    if not extra:
        return V, c
    return np.pad(V, ((0, 0), (0, extra))), np.pad(c, ((0, extra), (0, 0)))


def chunk_rows_for(n_features: int, itemsize: int, budget: int = CHUNK_BYTES) -> int:
    """Rows per chunk so that one chunk of ``n_features`` columns takes about ``budget`` bytes (≥ 256)."""
    return max(256, budget // max(1, n_features * itemsize))


def fused_softmax(St, y, weight=None) -> tuple[float, np.ndarray]:
    """``(Σ_i L_i in float64, dL_i/ds_i)`` for the transposed scores ``St`` (C, n), overwriting ``St`` (C-contiguous,
    as a product's result is; else a copy); with
    per-row weights ``weight`` (n,), ``(Σ_i w_i L_i, w_i dL_i/ds_i)``.

    ``L_i = log Σ_j e^{s_ij} − s_{i,y_i}``, computed after shifting each example by its
    maximum score (no overflow for any finite scores); the gradient is ``p_i − onehot(y_i)``.
    Classes are rows, so every reduction runs over C contiguous vectors of n.
    """
    St = np.ascontiguousarray(St)  # (a product's result already is: no copy)
    at = St.reshape(-1)  # the true classes' scores St[y_i, i] at flat positions y_i·n + i (faster than St[y, cols])
    true_class = np.asarray(y, np.intp) * St.shape[1] + np.arange(St.shape[1])
    St -= St.max(axis=0)
    true = at[true_class].astype(np.float64)
    np.exp(St, out=St)
    Z = St.sum(axis=0)  # ≥ 1 (each example's maximum contributes e⁰)
    if weight is None:
        loss = float(np.log(Z, dtype=np.float64).sum() - true.sum())
    else:
        loss = float((np.log(Z, dtype=np.float64) - true) @ weight)
    St /= Z
    at[true_class] -= 1
    if weight is not None:
        St *= weight.astype(St.dtype)
    return loss, St


def chunk_terms(block, y, V, c, dtype, weight=None, classes=None) -> tuple[float, np.ndarray, np.ndarray]:
    """One chunk's ``(Σ L_i, Σ x_i ⊗ dL_i (D, C), Σ dL_i (C,))`` for the scores ``block · V + c`` (each term
    times ``weight[i]`` when per-row weights (n,) are given).

    The two products run in ``dtype`` (``V`` (D, C) and ``c`` (C, 1) already in it);
    the loss sum is float64. Every backend that computes on NumPy chunks calls this.
    ``classes``: the real class count C when ``V`` and ``c`` carry the zero classes of :func:`pad_classes` (the
    products run on all of them; the softmax and the results on the first C).
    Both products keep classes as rows, ``Sᵀ = Vᵀ Xᵀ`` and ``Gᵀ X`` (the gradient returned
    as its transposed view): measured with OpenBLAS (Haswell kernel) on this project's
    machine, an evaluation 1.6× faster than with ``X V``, a transposed copy and ``Xᵀ G`` at
    D = 256, C = 20, and 1.08× at D = 3,072, C = 10 (BENCHMARKS.md, "The exact engine").
    """
    block = block.astype(dtype, copy=False)
    C = V.shape[1] if classes is None else classes
    St = V.T @ block.T  # (C, n), or more rows with padding: classes as rows for the softmax's reductions
    try:
        with np.errstate(over="raise", invalid="raise"):  # scores beyond the dtype: refused, never a silent −inf
            St += c
            loss, Gt = fused_softmax(St[:C], y, weight)  # in place: St's first C rows, the padding's stay 0
    except FloatingPointError:
        raise InputError(_TOO_LARGE.format(dtype=np.dtype(dtype).name)) from None
    return loss, (St @ block)[:C].T, Gt.sum(axis=1, dtype=np.float64)


def loss_terms(block, y, V, c, dtype, weight=None, *, objective) -> tuple[float, np.ndarray, np.ndarray]:
    """:func:`chunk_terms` for the data term of any loss: ``objective.data_loss`` (an
    :class:`~linclass.objective.Objective`'s) on the chunk's scores ``block · V + c`` (n, C), its per-row losses
    summed in float64, and ``dscoresᵀ X``."""
    block = block.astype(dtype, copy=False)
    S = block @ V
    S += c.T
    losses, dS = objective.data_loss(S, y, reduction="none")
    if weight is not None:
        losses = losses * weight
        dS *= weight[:, None].astype(dS.dtype)
    return float(np.sum(losses, dtype=np.float64)), (dS.T @ block).T, dS.sum(axis=0, dtype=np.float64)


class BatchSteps:
    """The minibatch loop's ``objective(params, X_batch, y_batch) -> Value`` for any
    :class:`~linclass.objective.Objective` on ``W`` and ``b``: the same loss, gradient and scores, computed in one
    pass per worker.

    The batch's rows are split between ``threads`` workers (None: the cores, at most the BLAS's threads when the run
    starts, :func:`blas_threads`; this thread and helpers kept across steps; at least
    :attr:`MIN_ROWS` rows each), each copying its rows out of X (given :class:`~linclass.rows.batches.Indexed`),
    computing their scores ``X_k W + b``, the loss's sum and ``dscores`` (:meth:`Objective.data_loss`) and
    ``dscoresᵀ X_k`` while the rows are in its cache, with one BLAS thread: call the steps inside :meth:`running`,
    which sets that once (a BLAS limit costs ~0.4 ms, a step ~0.5 ms). Deterministic: the parts are added in a fixed
    order.
    """

    MIN_ROWS = 64

    def __init__(self, objective, threads: int | None = None):
        self.objective, self.threads = objective, int(threads or min(default_threads(), blas_threads()))

    def running(self):
        """The context of the steps: one BLAS thread per worker (nothing to change with one worker)."""
        return _BLAS.limit(limits=1) if self.threads > 1 else contextlib.nullcontext()

    def __call__(self, params, X, y) -> Value:
        """``X``: the batch's rows, an array or :class:`~linclass.rows.batches.Indexed` (each worker gathers its own
        rows from it, where it computes on them)."""
        W, b = params["W"], params["b"]
        n = X.shape[0]
        rows_of = X.gather if isinstance(X, Indexed) else X.__getitem__
        scores = np.empty((n, W.shape[1]), np.result_type(W, X.X if isinstance(X, Indexed) else X))  # (n, C)
        workers = max(1, min(self.threads, n // self.MIN_ROWS))
        cuts = [n * k // workers for k in range(workers + 1)]

        def part(k):
            rows = slice(cuts[k], cuts[k + 1])
            Xk = rows_of(rows)
            S = np.matmul(Xk, W, out=scores[rows])
            S += b
            loss, dS = self.objective.data_loss(S, y[rows], reduction="sum")
            dS = dS.astype(W.dtype, copy=False)
            return loss, dS.T @ Xk, dS.sum(axis=0)

        helpers = [_helpers(workers - 1).submit(part, k) for k in range(1, workers)]
        parts = [part(0)] + [future.result() for future in helpers]
        data_loss = math.fsum(p[0] for p in parts) / n
        dWt, db = parts[0][1], parts[0][2]
        for p in parts[1:]:
            dWt += p[1]
            db += p[2]
        dWt /= n
        db /= n
        reg_loss, dreg = self.objective.penalty(W)
        dW = dWt.T if dreg is None else dWt.T + dreg.astype(W.dtype, copy=False)
        return Value(data_loss + reg_loss, data_loss, reg_loss, {"W": dW, "b": db}, scores)


class SoftmaxL2:
    """``(W, b) -> (L, ∇_W L, ∇_b L)`` of the objective above on ``(X, y)``, chunk by chunk, in float64 out.

    ``dtype`` is the precision of the products (float32: twice the GEMM speed; the
    sums over rows stay float64). ``y`` holds class indices in ``[0, n_classes)``.
    ``shift`` / ``scale`` (D,) standardize on the fly: the model is fitted on
    ``(X − shift) / scale``. ``sample_weight`` (N,): the data term is the weighted mean
    ``Σ w_i L_i / Σ w_i`` (scikit-learn's, e.g. with ``class_weight="balanced"``). ``loss``: an
    :class:`~linclass.objective.Objective` whose ``data_loss`` is the data term instead of the softmax (a smooth
    loss such as the squared hinge, :func:`loss_terms`; the penalty stays ``λ ΣW²``); None: the softmax, fused.
    """

    def __init__(self, X, y, n_classes: int, reg_strength: float = 0.0, *, dtype=np.float32,
                 shift=None, scale=None, chunk_rows: int | None = None,
                 threads: int | None = None, sample_weight=None, loss=None):
        _checks.row_matrix(X)
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
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        self.total_weight = X.shape[0] if sample_weight is None else float(self.sample_weight.sum())
        self.loss = loss
        self._memo = {}
        if self.chunk_rows < 1 or self.threads < 1:
            raise ParameterError(f"chunk_rows and threads must be >= 1, got {chunk_rows!r} and {threads!r}.")
        self.work = spans(X, self.chunk_rows)  # the chunks of every evaluation

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
                         threads=self.threads, sample_weight=self.sample_weight, loss=self.loss)

    def effective(self, W, b) -> tuple[np.ndarray, np.ndarray]:
        """``(V, c)`` with ``X V + c`` = the scores of the standardized rows: ``V = W / σ``, ``c = b − μ V``."""
        return fold(W, b, self.shift, self.scale)

    def data_terms(self, W, b) -> tuple[float, np.ndarray, np.ndarray]:
        """``(Σ_i L_i, Σ_i x_i ⊗ dL_i, Σ_i dL_i)`` in float64 on the raw rows, for ``V, c = effective(W, b)``.

        The chunks are shared out to ``threads`` workers (chunk k to worker k mod
        threads: this thread and ``threads − 1`` helpers kept from one evaluation to the
        next), each with one BLAS thread and its own float64 sums, added in a fixed
        order: the result does not depend on timing.
        """
        V, c = self.effective(np.asarray(W, np.float64), np.asarray(b, np.float64))
        V, c = V.astype(self.dtype, copy=False), c.astype(self.dtype)[:, None]  # (V: only read)
        work = self.work
        threads = max(1, min(self.threads, len(work)))
        if self.loss is None:
            terms = functools.partial(chunk_terms, classes=V.shape[1])
            V, c = pad_classes(V, c)
        else:
            terms = functools.partial(loss_terms, objective=self.loss)

        def chunk(start, stop):
            weight = None if self.sample_weight is None else self.sample_weight[start:stop]
            out = terms(read_rows(self.X, start, stop), self.y[start:stop], V, c, self.dtype, weight)
            release_rows(self.X, start, stop)
            return out

        def worker(k):  # float64 sums from the first chunk's terms on (as from zeros: the same sums)
            mine = work[k::threads]
            total, gV, gc = chunk(*mine[0])
            gV, gc = gV.astype(np.float64, copy=False), gc.astype(np.float64, copy=False)
            for start, stop in mine[1:]:
                loss, g, h = chunk(start, stop)
                total += loss
                gV += g
                gc += h
            return total, gV, gc

        with _one_blas_thread():
            helpers = [_helpers(threads - 1).submit(worker, k) for k in range(1, threads)]
            parts = [worker(0)] + [future.result() for future in helpers]
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
        N = self.total_weight  # the number of rows, or the sum of their weights
        W = np.asarray(W, np.float64)
        if not (math.isfinite(total) and np.isfinite(gV).all() and np.isfinite(gc).all()):
            raise InputError(_TOO_LARGE.format(dtype=self.dtype.name))
        gV, gb = gV / N, gc / N
        if self.shift is not None:  # c = b − μ V: the chain rule through c adds −μ ⊗ ∇_c to ∇_V
            gV = gV - np.outer(self.shift, gb)
        gW = gV if self.scale is None else gV / self.scale[:, None]
        lam = self.reg_strength
        return total / N + lam * float(np.sum(W * W)), gW + 2 * lam * W, gb
