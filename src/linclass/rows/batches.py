"""Where the training loop's minibatches come from: a permutation of the rows, or shuffled blocks of rows.

A batch source has ``steps`` (minibatches per epoch) and ``epoch(rng)``, a generator of ``(X_batch, y_batch)``
drawing everything random from ``rng`` (the loop's one seeded Generator, whose state a checkpoint saves, so a
resumed run draws the same batches). :func:`batch_source` is the one place that chooses, by ``shuffle``
(:data:`SHUFFLES`; default: blocks for files, rows for arrays in memory):

- ``"rows"``, :class:`Permuted`: each epoch a fresh permutation of the N rows (or N draws with replacement),
  one gather ``X[idx]`` per step: an exact uniform sample. On a memory map that gather is a random page fault
  per row per step, and every page it touches stays in the process's resident memory.
- ``"blocks"``, :class:`Blocks`: the rows are cut into contiguous blocks of about :data:`BLOCK_BYTES` (never
  across a shard); each epoch permutes the blocks, takes a buffer of about :data:`BUFFER_BYTES` of them,
  permutes the buffer's rows and yields minibatches from it. The rows a buffer leaves over (fewer than a batch)
  join the next buffer, so an epoch has the same ``ceil(N / batch)`` steps, every row exactly once. From files
  (memory maps, and row sources with ``read`` / ``release`` such as the probe's shards) the buffer's blocks are
  read sequentially, copied in the batches' dtype and their pages released at once
  (:func:`~linclass.rows.source.release_rows`): memory is the buffer plus one batch, whatever N. From an array in
  memory each batch is gathered straight from X (the same rows, no buffer copy). A batch mixes rows of the
  buffer's blocks only (about 64 of them), not of the whole data: on rows stored in random order its class mix
  is a uniform sample's (``tests/test_batches.py``); on rows stored sorted by class it still holds many classes,
  but not an exact uniform sample.

For an array in memory a per-step gather into a fresh batch is the least memory traffic a shuffled epoch can
have (X read once, the batch written where the two products read it, in cache): ``benchmarks/bench_epoch.py``
times both orders.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import choice
from ..errors import ParameterError
from .source import read_rows, release_rows, spans, streamed

BLOCK_BYTES = 2 ** 20
"""Default size of a block, the unit read sequentially (rows = BLOCK_BYTES / row bytes, at least 16)."""
BUFFER_BYTES = 64 * 2 ** 20
"""Default size of the buffer of blocks whose rows are shuffled together (at least one block and one batch)."""
SHUFFLES = ("rows", "blocks")
"""The orders of an epoch: ``"rows"`` a uniform permutation of the rows (:class:`Permuted`), ``"blocks"`` shuffled
blocks with the rows of a buffer of blocks shuffled together (:class:`Blocks`)."""


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Minibatch steps in one pass over ``n`` examples (``batch_size >= n``: one full-batch step)."""
    return 1 if batch_size >= n else -(-n // batch_size)


class Indexed(NamedTuple):
    """Rows ``idx`` of ``X``, not yet copied: a batch whose consumer gathers the rows itself (the fused minibatch
    step, :class:`linclass.optim.chunked.BatchSteps`, splits the copy between its threads)."""

    X: object
    idx: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.idx), self.X.shape[1]

    def gather(self, part: slice = slice(None)) -> np.ndarray:
        """The rows ``idx[part]`` of X, copied."""
        return self.X[self.idx[part]]


def batch_source(X, y, batch: int, *, shuffle: str | None = None, replacement: bool = False,
                 block_rows: int | None = None, buffer_blocks: int | None = None, dtype=None,
                 indexed: bool = False):
    """The batch source of ``(X, y)`` for minibatches of ``batch`` rows in ``shuffle`` order (:data:`SHUFFLES`):
    :class:`Blocks` for ``"blocks"``, :class:`Permuted` for ``"rows"``; None: blocks when :func:`streamed` (files),
    rows for arrays in memory. ``dtype``: the streamed batches' dtype (None: X's). ``indexed``: batches gathered
    from X row by row come as :class:`Indexed` (the consumer copies them), the rest as arrays."""
    shuffle = ("blocks" if streamed(X) else "rows") if shuffle is None else choice(shuffle, "shuffle", SHUFFLES)
    if shuffle == "rows":
        return Permuted(X, y, batch, replacement, indexed=indexed)
    if replacement:
        raise ParameterError("sampling with replacement draws single rows, which shuffled blocks do not give; "
                             "leave out replacement, or shuffle rows (--shuffle rows; on a file that reads a "
                             "random row per example).")
    return Blocks(X, y, batch, block_rows=block_rows, buffer_blocks=buffer_blocks, dtype=dtype, indexed=indexed)


class Permuted:
    """Minibatches gathered from ``X`` by a permutation of its rows per epoch (``batch >= N``: the full batch)."""

    def __init__(self, X, y, batch: int, replacement: bool = False, *, indexed: bool = False):
        self.X, self.y, self.replacement, self.indexed = X, y, replacement, indexed
        self.N = X.shape[0]
        self.batch = min(batch, self.N)
        self.steps = steps_per_epoch(self.N, self.batch)

    def epoch(self, rng):
        order = rng.integers(0, self.N, self.N) if self.replacement else rng.permutation(self.N)
        if self.batch == self.N:
            yield self.X, self.y
            return
        for s in range(self.steps):
            idx = order[s * self.batch:(s + 1) * self.batch]
            yield Indexed(self.X, idx) if self.indexed else self.X[idx], self.y[idx]


class Blocks:
    """Minibatches from shuffled blocks of ``X``, the rows of a buffer of blocks shuffled together (module docstring).

    ``largest_buffer`` is the most rows the buffer has held: fewer than ``buffer_rows + batch`` (the rows
    carried over and the blocks read), or than ``batch + block_rows`` when a batch is larger than the buffer.
    """

    def __init__(self, X, y, batch: int, *, block_rows: int | None = None, buffer_blocks: int | None = None,
                 dtype=None, indexed: bool = False):
        self.X, self.y, self.indexed = X, y, indexed
        self.N, D = X.shape
        self.batch = min(batch, self.N)
        self.steps = steps_per_epoch(self.N, self.batch)
        self.dtype = np.dtype(dtype or X.dtype)
        row_bytes = D * np.dtype(X.dtype).itemsize
        if (block_rows is not None and block_rows < 1) or (buffer_blocks is not None and buffer_blocks < 1):
            raise ParameterError(f"block_rows and buffer_blocks must be >= 1 (or None for the default), got "
                                 f"{block_rows} and {buffer_blocks}.")
        self.block_rows = int(max(16, BLOCK_BYTES // row_bytes) if block_rows is None else block_rows)
        if buffer_blocks is None:
            buffer_blocks = max(1, BUFFER_BYTES // (self.block_rows * row_bytes))
        self.blocks = spans(X, self.block_rows)
        self.streamed = streamed(X)
        self.buffer_rows = buffer_blocks * self.block_rows
        self.largest_buffer = 0

    def _buffers(self, rng):
        """Each buffer's rows (indices into X, in buffer order: the carried rows, then each block's) and the
        permutation of them the batches take, drawn from ``rng`` in the same order whatever holds X."""
        blocks = [self.blocks[k] for k in rng.permutation(len(self.blocks))]
        carry = np.empty(0, np.intp)
        i = 0
        while i < len(blocks):
            group, got = [], 0  # blocks while the buffer lacks a batch, or until the next would overfill it
            while i < len(blocks) and (len(carry) + got < self.batch or
                                       got + blocks[i][1] - blocks[i][0] <= self.buffer_rows):
                group.append(blocks[i])
                got += blocks[i][1] - blocks[i][0]
                i += 1
            members = np.concatenate([carry] + [np.arange(start, stop) for start, stop in group])
            order = rng.permutation(len(members))
            full = len(members) if i == len(blocks) else len(members) // self.batch * self.batch
            self.largest_buffer = max(self.largest_buffer, len(members))
            yield members, group, order, full
            carry = members[order[full:]]

    def _fill(self, carry_X, carry_y, blocks):
        """A buffer of the carried rows followed by ``blocks``, each read once and released."""
        n = len(carry_y) + sum(stop - start for start, stop in blocks)
        bX = np.empty((n, self.X.shape[1]), self.dtype)
        by = np.empty(n, self.y.dtype)
        k = len(carry_y)
        bX[:k], by[:k] = carry_X, carry_y
        for start, stop in blocks:
            bX[k:k + stop - start] = read_rows(self.X, start, stop)
            by[k:k + stop - start] = self.y[start:stop]
            release_rows(self.X, start, stop)
            k += stop - start
        return bX, by

    def epoch(self, rng):
        if not self.streamed:  # in memory: each batch gathered straight from X, the same rows as through a buffer
            for members, _, order, full in self._buffers(rng):
                for s in range(0, full, self.batch):
                    idx = members[order[s:s + self.batch]]
                    X = Indexed(self.X, idx) if self.indexed else self.X[idx].astype(self.dtype, copy=False)
                    yield X, self.y[idx]
            return
        carry_X, carry_y = np.empty((0, self.X.shape[1]), self.dtype), self.y[:0]
        for _, group, order, full in self._buffers(rng):
            bX, by = self._fill(carry_X, carry_y, group)
            for s in range(0, full, self.batch):
                idx = order[s:s + self.batch]
                yield bX[idx], by[idx]
            carry_X, carry_y = bX[order[full:]], by[order[full:]]
            del bX, by  # one buffer at a time: the next one is filled after this one is freed
