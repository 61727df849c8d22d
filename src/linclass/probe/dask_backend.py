"""The full-batch loss and gradient as a map-reduce over a Dask cluster's workers; L-BFGS on the client.

As Spark MLlib does: the rows are split in blocks that live on the workers
(each worker maps its own blocks from the shared files, or holds the blocks
of an in-memory or Dask array); per evaluation the client broadcasts the
weights, every block returns its partial sums (:func:`linclass.optim.chunked.chunk_terms`:
loss, (C, D) gradient, (C,) bias gradient), and the partial sums are added on
the workers in a tree before the total comes back. Only the weights and the
partial gradients travel. The set-up of a real cluster is in ``docs/probe.md``.

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
from ..optim.chunked import SoftmaxL2, chunk_rows_for, chunk_terms
from ..rows.source import block_correct, read_rows, spans

try:
    import dask.array as da
    from dask.distributed import Client, LocalCluster, wait
except ImportError:  # the optional extra is not installed: refused with the fix when used
    da = Client = LocalCluster = wait = None

FAN_IN = 8
"""Partial sums added per reduction task."""
BLOCK_BYTES = 64 * 2 ** 20
"""Default size of one block of rows (in the evaluation precision) held by a worker."""


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
                             "and workers with `dask worker {target}` (see docs/probe.md).") from None


def _read(X, start, stop):
    return np.array(read_rows(X, start, stop))


def _own(X, y):
    """One block as it is kept: its rows and labels together, aligned and C-contiguous (copied only if not)."""
    return np.require(X, requirements=("C", "A")), np.require(y, requirements=("C", "A"))


def _block_terms(block, weights, dtype):
    (block, y), (V, c) = block, weights
    loss, gV, gc = chunk_terms(block, y, V, c, dtype)
    return loss, gV.astype(np.float64), gc  # summed in float64 from here on


def _block_correct(block, weights):
    (rows, y), (V, c) = block, weights
    return block_correct(rows, y, V, c)


def _add(*parts):
    return (sum(p[0] for p in parts), sum(p[1] for p in parts), sum(p[2] for p in parts))


class DaskSoftmaxL2(SoftmaxL2):
    """:class:`SoftmaxL2` whose data terms are summed over the blocks held by a Dask cluster's workers.

    ``X``: a row source (its files are mapped by the workers: the same path must
    exist on every worker), an array (scattered once) or a ``dask.array.Array``
    (its row blocks, persisted).
    """

    def __init__(self, client, X, y, n_classes, reg_strength=0.0, *, dtype=np.float32, shift=None, scale=None,
                 chunk_rows=None, blocks=None):
        self.client = client
        super().__init__(X, y, n_classes, reg_strength, dtype=dtype, shift=shift, scale=scale,
                         chunk_rows=chunk_rows or chunk_rows_for(X.shape[1], np.dtype(dtype).itemsize, BLOCK_BYTES),
                         threads=1)
        self.blocks = blocks if blocks is not None else self._place()

    def _place(self):
        """Futures of the ``(X rows, labels)`` blocks on the workers, in row order (see :func:`_own`)."""
        if da is not None and isinstance(self.X, da.Array):
            X = self.X.rechunk({1: -1}).persist()
            bounds = np.cumsum((0,) + X.chunks[0])
            xs = self.client.compute(list(X.to_delayed().ravel()))
            ys = [self.client.scatter(self.y[a:b], hash=False) for a, b in zip(bounds[:-1], bounds[1:])]
        else:
            work = spans(self.X, self.chunk_rows)
            if hasattr(self.X, "read"):  # files: each worker maps the rows it is given
                xs = [self.client.submit(_read, self.X, a, b, pure=False) for a, b in work]
            else:
                xs = self.client.scatter([np.asarray(self.X[a:b]) for a, b in work], hash=False)
            ys = self.client.scatter([self.y[a:b] for a, b in work], hash=False)
        blocks = [self.client.submit(_own, x, y, pure=False) for x, y in zip(xs, ys)]  # runs where x is
        wait(blocks)
        return blocks

    def _build(self, dtype) -> "DaskSoftmaxL2":
        return DaskSoftmaxL2(self.client, self.X, self.y, self.n_classes, self.reg_strength, dtype=dtype,
                             shift=self.shift, scale=self.scale, chunk_rows=self.chunk_rows, blocks=self.blocks)

    def data_terms(self, W, b):
        V, c = self.effective(np.asarray(W, np.float64), np.asarray(b, np.float64))
        weights = (V.astype(self.dtype), c.astype(self.dtype)[:, None])
        [shared] = self.client.scatter([weights], broadcast=True, hash=False)
        parts = [self.client.submit(_block_terms, block, shared, self.dtype, pure=False) for block in self.blocks]
        while len(parts) > 1:  # a tree of sums on the workers: one (C, D) array comes back
            parts = [self.client.submit(_add, *parts[i:i + FAN_IN], pure=False) for i in range(0, len(parts), FAN_IN)]
        total, gV, gc = parts[0].result()
        return float(total), np.asarray(gV, np.float64), np.asarray(gc, np.float64)

    def accuracy(self, W, b) -> float:
        """The training accuracy counted on the workers, block by block: only the weights and counts travel."""
        V, c = self.effective(np.asarray(W, np.float64), np.asarray(b, np.float64))
        [shared] = self.client.scatter([(V.astype(np.float32), c.astype(np.float32))], broadcast=True, hash=False)
        counts = [self.client.submit(_block_correct, block, shared, pure=False) for block in self.blocks]
        return sum(self.client.gather(counts)) / self.X.shape[0]
