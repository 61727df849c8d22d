"""The two orders of an epoch (rows/batches.py), checked statistically: every row exactly once per epoch, and
the class mix of each batch against the hypergeometric law of a uniform sample without replacement."""

import numpy as np
import pytest

from linclass.errors import ParameterError
from linclass.rows.batches import Blocks, Indexed, Permuted, batch_source, steps_per_epoch


class Rows:
    """A row source over an array (as the probe's files are): Blocks reads it through a buffer."""

    def __init__(self, X):
        self.X, self.shape, self.dtype, self.boundaries = X, X.shape, X.dtype, (0, X.shape[0])

    def read(self, start, stop):
        return self.X[start:stop]

    def release(self, start, stop):
        pass


def mixes(source, y, epochs, C, seed=0):
    """Class counts (batches, C) of every full batch of ``epochs`` epochs; also checks each epoch's rows."""
    rng = np.random.default_rng(seed)
    counts = []
    for _ in range(epochs):
        batches = list(source.epoch(rng))
        assert len(batches) == source.steps
        seen = np.concatenate([Xb[:, 0].astype(np.int64) for Xb, _ in batches])
        assert np.array_equal(np.sort(seen), np.arange(len(y)))  # every row exactly once
        assert all(np.array_equal(y[Xb[:, 0].astype(np.int64)], yb) for Xb, yb in batches)  # labels follow rows
        counts += [np.bincount(yb, minlength=C) for _, yb in batches if len(yb) == source.batch]
    return np.array(counts)


def dispersion(counts, p, N):
    """Mean of Σ_c (n_c − B p_c)² / (B p_c) over the batches, divided by its expectation (C − 1)(N − B)/(N − 1)
    for a uniform sample of B rows without replacement (the hypergeometric variance B p (1 − p)(N − B)/(N − 1))."""
    B = counts[0].sum()
    chi2 = (np.square(counts - B * p) / (B * p)).sum(axis=1)
    return chi2.mean() / ((len(p) - 1) * (N - B) / (N - 1))


N, C, BATCH = 12_000, 10, 128


@pytest.fixture(scope="module")
def shuffled():
    """Rows whose one feature is their index, labels in random order (as CIFAR-10's are stored)."""
    rng = np.random.default_rng(7)
    return np.arange(N, dtype=np.float32)[:, None], rng.permutation(np.arange(N) % C)


@pytest.mark.parametrize("order", ["rows", "blocks in memory", "blocks from a file"])
def test_each_batch_mixes_classes_as_a_uniform_sample_does(shuffled, order):
    X, y = shuffled
    if order == "rows":
        source = Permuted(X, y, BATCH)
    else:
        source = Blocks(X if order == "blocks in memory" else Rows(X), y, BATCH, block_rows=40, buffer_blocks=25)
    counts = mixes(source, y, 3, C)
    assert abs(dispersion(counts, np.full(C, 1 / C), N) - 1) < 0.15  # ~280 batches: the mean's sd is ~0.05
    # consecutive batches no more alike than independent samples: the lag-1 correlation of a class's count
    dev = counts - counts.mean(axis=0)
    lag = (dev[1:] * dev[:-1]).sum() / np.square(dev).sum()
    assert abs(lag) < 0.15


def test_blocks_of_class_sorted_rows_are_not_a_uniform_sample(shuffled):
    """The limit of the blocks order (documented): on rows stored sorted by class, blocks of one class each."""
    X, y = shuffled[0], np.arange(N) * C // N
    counts = mixes(Blocks(X, y, BATCH, block_rows=40, buffer_blocks=25), y, 1, C)
    assert dispersion(counts, np.full(C, 1 / C), N) > 3
    assert abs(dispersion(mixes(Permuted(X, y, BATCH), y, 1, C), np.full(C, 1 / C), N) - 1) < 0.25


def test_blocks_give_the_same_batches_in_memory_and_through_the_buffer(shuffled):
    X, y = shuffled
    a = list(Blocks(X, y, BATCH, block_rows=40, buffer_blocks=25).epoch(np.random.default_rng(1)))
    b = list(Blocks(Rows(X), y, BATCH, block_rows=40, buffer_blocks=25).epoch(np.random.default_rng(1)))
    assert len(a) == len(b) == steps_per_epoch(N, BATCH)
    assert all(np.array_equal(xa, xb) and np.array_equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))


def test_the_shuffle_is_chosen_by_name(shuffled):
    X, y = shuffled
    assert isinstance(batch_source(X, y, 10), Permuted)
    assert isinstance(batch_source(X, y, 10, shuffle="blocks"), Blocks)
    assert isinstance(batch_source(Rows(X), y, 10), Blocks)
    with pytest.raises(ParameterError, match="did you mean 'blocks'"):
        batch_source(X, y, 10, shuffle="block")
    with pytest.raises(ParameterError, match="replacement"):
        batch_source(X, y, 10, shuffle="blocks", replacement=True)


@pytest.mark.parametrize("shuffle", ["rows", "blocks"])
def test_indexed_batches_are_the_same_rows_left_to_the_consumer_to_copy(shuffled, shuffle):
    X, y = shuffled
    options = dict(shuffle=shuffle, block_rows=40, buffer_blocks=25)
    copied = list(batch_source(X, y, BATCH, **options).epoch(np.random.default_rng(2)))
    indexed = list(batch_source(X, y, BATCH, indexed=True, **options).epoch(np.random.default_rng(2)))
    assert all(isinstance(Xb, Indexed) and Xb.shape == xb.shape for (Xb, _), (xb, _) in zip(indexed, copied))
    assert all(np.array_equal(Xb.gather(), xb) and np.array_equal(Xb.gather(slice(3, 9)), xb[3:9])
               and np.array_equal(yb, ya) for (Xb, yb), (xb, ya) in zip(indexed, copied))
