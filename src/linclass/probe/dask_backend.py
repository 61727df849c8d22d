"""The full-batch loss and gradient as a map-reduce over a Dask cluster's workers; L-BFGS on the client.

As Spark MLlib does: the rows are split in blocks that live on the workers for the whole fit
(each worker maps its own blocks from the shared files, or holds the blocks of an in-memory or
Dask array), spread so that every worker holds about the same number of rows. Per evaluation the
client sends the weights once with one task per worker (small weights travel inside the task,
large ones are broadcast to the workers first); the task adds the partial sums of the blocks that
worker holds (:func:`linclass.optim.chunked.chunk_terms`: loss, (D, C) gradient, (C,) bias
gradient), and only those per-worker sums come back (added on the workers in a tree when there are
more than :data:`FAN_IN` workers). Each task is pinned to the worker that holds its blocks, so no
block ever moves after it is placed. The set-up of a real cluster is in ``docs/probe.md``.

Each block is held as one ``(X rows, labels)`` pair on one worker, in aligned
C-contiguous memory: an array that arrives over the wire (scattered, or a Dask
array's chunk computed elsewhere) may start at any byte, and NumPy multiplies
an unaligned float32 array without BLAS (``Xᵀ G`` measured 10× slower), so such
a block is copied once when it is placed, never per evaluation.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..errors import ParameterError
from ..optim.chunked import SoftmaxL2, chunk_rows_for, chunk_terms, pad_classes
from ..rows.source import block_correct, read_rows, spans

try:
    import dask.array as da
    from dask.distributed import Client, LocalCluster, wait
except ImportError:  # the optional extra is not installed: refused with the fix when used
    da = Client = LocalCluster = wait = None

FAN_IN = 8
"""Partial sums added per reduction task (only with more workers than this)."""
BLOCK_BYTES = 64 * 2 ** 20
"""Largest block of rows (in the evaluation precision) held as one array by a worker."""
SCATTER_BYTES = 2 ** 20
"""Weights larger than this are broadcast to the workers once per evaluation; smaller ones travel in the tasks."""


def connect(target):
    """A :class:`dask.distributed.Client`: ``target`` itself, ``"local"`` (a LocalCluster here) or an address."""
    if Client is None:
        raise ParameterError("--dask needs dask.distributed: pip install 'linclass[cluster]'.")
    if isinstance(target, Client):
        return target
    if _checks.dask_address(target) == "local":
        return Client(LocalCluster(processes=False, dashboard_address=None))
    try:
        return Client(target, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise ParameterError(f"no Dask scheduler answers at {target} ({err}); start one with `dask scheduler` "
                             f"and workers with `dask worker {target}` (see docs/probe.md).") from None


def close(client) -> None:
    """Close a client this package opened, and the local cluster it started (``--dask local``)."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _load(X, start, stop, y):
    """One block read where it will live: rows ``start:stop`` of the files (mapped on this worker), copied out of
    the mapping, with their labels."""
    return np.array(read_rows(X, start, stop)), np.require(y, requirements=("C", "A"))


def _own(X, y):
    """One block as it is kept: its rows and labels together, aligned and C-contiguous (copied only if not)."""
    return np.require(X, requirements=("C", "A")), np.require(y, requirements=("C", "A"))


def _worker_terms(blocks, weights, dtype):
    """The summed ``(loss, (D, C) gradient, (C,) gradient)`` of the blocks one worker holds, in float64, each block
    in chunks of :data:`~linclass.optim.chunked.CHUNK_BYTES` (as the NumPy engine: the (C, rows) scores of a
    chunk stay in cache through the softmax's passes)."""
    V, c = weights
    classes, step = V.shape[1], chunk_rows_for(V.shape[0], np.dtype(dtype).itemsize)
    V, c = pad_classes(V, c)  # as the NumPy engine's products
    total, gV, gc = 0.0, 0.0, 0.0
    for rows, y in blocks:
        for a in range(0, len(y), step):
            loss, g, h = chunk_terms(rows[a:a + step], y[a:a + step], V, c, dtype, classes=classes)
            total, gV, gc = total + loss, gV + g.astype(np.float64), gc + h
    return total, gV, gc


def _worker_correct(blocks, weights):
    V, c = weights
    return sum(block_correct(rows, y, V, c.ravel()) for rows, y in blocks)


def _add(*parts):
    return (sum(p[0] for p in parts), sum(p[1] for p in parts), sum(p[2] for p in parts))


def balanced_spans(X, workers: int, dtype) -> list[tuple[int, int]]:
    """Row ranges (within shards) of at most :data:`BLOCK_BYTES`, a multiple of ``workers`` of about equal size."""
    per_row = X.shape[1] * np.dtype(dtype).itemsize
    count = max(workers, -(-X.shape[0] * per_row // BLOCK_BYTES))
    count = -(-count // workers) * workers
    return spans(X, -(-X.shape[0] // count))


def _share(sizes, workers) -> list[int]:
    """Worker index of each block: largest first to the least loaded worker (rows held about equal)."""
    load, owner = [0] * len(workers), [0] * len(sizes)
    for k in sorted(range(len(sizes)), key=lambda k: -sizes[k]):
        w = min(range(len(workers)), key=load.__getitem__)
        owner[k], load[w] = w, load[w] + sizes[k]
    return owner


class DaskSoftmaxL2(SoftmaxL2):
    """:class:`SoftmaxL2` whose data terms are summed over the blocks held by a Dask cluster's workers.

    ``X``: a row source (its files are mapped by the workers: the same path must
    exist on every worker), an array (scattered once) or a ``dask.array.Array``
    (its row blocks, persisted). ``chunk_rows`` sets the block size; by default the
    rows are split evenly over the workers (:func:`balanced_spans`).
    """

    def __init__(self, client, X, y, n_classes, reg_strength=0.0, *, dtype=np.float32, shift=None, scale=None,
                 chunk_rows=None, blocks=None):
        self.client = client
        super().__init__(X, y, n_classes, reg_strength, dtype=dtype, shift=shift, scale=scale,
                         chunk_rows=chunk_rows or chunk_rows_for(X.shape[1], np.dtype(dtype).itemsize, BLOCK_BYTES),
                         threads=1)
        self.given_rows = chunk_rows
        self.blocks, self.groups = blocks if blocks is not None else self._place()

    def _place(self):
        """Futures of the ``(X rows, labels)`` blocks in row order, and ``{worker: its block futures}``."""
        workers = sorted(self.client.scheduler_info()["workers"])
        if not workers:
            raise ParameterError("the Dask cluster has no workers; start some with `dask worker ADDRESS`.")
        if da is not None and isinstance(self.X, da.Array):
            X = self.X.rechunk({1: -1}).persist()
            bounds = np.cumsum((0,) + X.chunks[0])
            xs = self.client.compute(list(X.to_delayed().ravel()))
            ys = [self.client.scatter(self.y[a:b], hash=False) for a, b in zip(bounds[:-1], bounds[1:])]
            blocks = [self.client.submit(_own, x, y, pure=False) for x, y in zip(xs, ys)]  # runs where x is
            wait(blocks)
            where = self.client.who_has(blocks)
            owner = [workers.index(sorted(where[f.key])[0]) for f in blocks]
        else:
            work = spans(self.X, self.given_rows) if self.given_rows else \
                balanced_spans(self.X, len(workers), self.dtype)
            owner = _share([b - a for a, b in work], workers)
            if hasattr(self.X, "read"):  # files: each worker maps the rows it is given
                blocks = [self._pinned(workers[w], _load, self.X, a, b, self.y[a:b]) for (a, b), w in zip(work, owner)]
            else:  # an array: each block is sent once, to the worker that keeps it
                blocks = [self._pinned(workers[w], _own, self.client.scatter(np.asarray(self.X[a:b]),
                                                                             workers=[workers[w]], hash=False),
                                       self.y[a:b]) for (a, b), w in zip(work, owner)]
            wait(blocks)
        groups = {}
        for f, w in zip(blocks, owner):
            groups.setdefault(workers[w], []).append(f)
        return blocks, groups

    def _build(self, dtype) -> "DaskSoftmaxL2":
        return DaskSoftmaxL2(self.client, self.X, self.y, self.n_classes, self.reg_strength, dtype=dtype,
                             shift=self.shift, scale=self.scale, chunk_rows=self.chunk_rows,
                             blocks=(self.blocks, self.groups))

    def _weights(self, W, b, dtype):
        """``(V, c)`` in ``dtype``, as the tasks take them: inline when small, else broadcast once."""
        V, c = self.effective(np.asarray(W, np.float64), np.asarray(b, np.float64))
        weights = (V.astype(dtype), c.astype(dtype)[:, None])
        if V.nbytes + c.nbytes <= SCATTER_BYTES:
            return weights
        [shared] = self.client.scatter([weights], broadcast=True, hash=False)
        return shared

    def _pinned(self, worker, function, *args):
        """``function(*args)`` run on ``worker`` and nowhere else (its blocks never move)."""
        return self.client.submit(function, *args, workers=[worker], allow_other_workers=False, pure=False)

    def _per_worker(self, function, *args):
        """One pinned task per worker over the blocks it holds."""
        return [self._pinned(w, function, blocks, *args) for w, blocks in self.groups.items()]

    def data_terms(self, W, b):
        parts = self._per_worker(_worker_terms, self._weights(W, b, self.dtype), self.dtype)
        while len(parts) > FAN_IN:  # a tree of sums on the workers
            parts = [self.client.submit(_add, *parts[i:i + FAN_IN], pure=False) for i in range(0, len(parts), FAN_IN)]
        total, gV, gc = _add(*self.client.gather(parts))
        return float(total), np.asarray(gV, np.float64), np.asarray(gc, np.float64)

    def accuracy(self, W, b) -> float:
        """The training accuracy counted on the workers, block by block: only the weights and counts travel."""
        counts = self._per_worker(_worker_correct, self._weights(W, b, np.float32))
        return sum(self.client.gather(counts)) / self.X.shape[0]
