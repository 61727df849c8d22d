"""Minibatch probes streamed from the files: the block source (every row once per epoch, shuffled across blocks,
bounded reads), bit-identical resume, the objective against scikit-learn's optimum, float16, shards,
standardization, and the command line's errors."""

import json
import mmap

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from linclass import Objective
from linclass.classifier import Classifier
from linclass.cli import main
from linclass.errors import ParameterError
from linclass.fitting.loop import LoopConfig, run_epochs
from linclass.model import LinearModel
from linclass.optim import get_optimizer
from linclass.probe import fit, open_split, synthetic
from linclass.regularizers import L2
from linclass.rows.batches import Blocks, Permuted, batch_source, steps_per_epoch
from linclass.rows.source import feature_stats

pytestmark = pytest.mark.usefixtures("one_blas_thread")


class Recording:
    """A row source over an array that records every read and how many rows are read but not yet released."""

    def __init__(self, X, boundaries=None):
        self.X, self.shape, self.dtype = X, X.shape, X.dtype
        self.boundaries = boundaries or (0, X.shape[0])
        self.reads, self.open, self.most_open = [], set(), 0

    def read(self, start, stop):
        self.reads.append((start, stop))
        self.open.add((start, stop))
        self.most_open = max(self.most_open, sum(b - a for a, b in self.open))
        return self.X[start:stop]

    def release(self, start, stop):
        self.open.discard((start, stop))


def ids(N):
    """Rows whose only feature is their own index, and labels that are too."""
    return np.arange(N, dtype=np.float64)[:, None], np.arange(N)


@pytest.mark.parametrize("N, batch, block_rows, buffer_blocks, boundaries", [
    (1000, 32, 10, 8, None), (1000, 7, 64, 3, None), (1000, 300, 10, 4, None),  # a batch larger than the buffer
    (997, 50, 33, 5, (0, 101, 640, 997)), (20, 100, 3, 2, None),  # shards; the full batch
])
def test_blocks_visit_every_row_once_per_epoch_in_bounded_reads(N, batch, block_rows, buffer_blocks, boundaries):
    X, y = ids(N)
    rows = Recording(X, boundaries)
    source = Blocks(rows, y, batch, block_rows=block_rows, buffer_blocks=buffer_blocks)
    rng = np.random.default_rng(0)
    for _ in range(3):
        rows.reads.clear()
        batches = list(source.epoch(rng))
        assert len(batches) == steps_per_epoch(N, batch)
        assert all(len(yb) == min(batch, N) for _, yb in batches[:-1])
        seen = np.concatenate([yb for _, yb in batches])
        assert np.array_equal(np.sort(seen), np.arange(N))  # without replacement: each row exactly once
        assert all(np.array_equal(Xb[:, 0], yb) for Xb, yb in batches)  # rows and labels stay together
        assert sorted(rows.reads) == sorted(set(rows.reads)) and sum(b - a for a, b in rows.reads) == N
        assert all(b - a <= block_rows for a, b in rows.reads)  # sequential reads of one block each ...
        bounds = boundaries or (0, N)
        assert all(np.searchsorted(bounds, a, "right") == np.searchsorted(bounds, b - 1, "right")
                   for a, b in rows.reads)  # ... never across a shard
    assert rows.most_open <= block_rows  # each block's pages are released once it is copied
    assert source.largest_buffer < max(buffer_blocks * block_rows, batch) + min(batch, N) + block_rows


def test_blocks_are_permuted_and_batches_mix_rows_of_many_blocks():
    X, y = ids(2000)
    source = Blocks(Recording(X), y, 40, block_rows=20, buffer_blocks=10)
    rng = np.random.default_rng(3)
    first = list(source.epoch(rng))
    second = list(source.epoch(rng))
    blocks_of = [np.unique(yb // 20).size for _, yb in first]
    assert min(blocks_of) >= 5  # 40 rows drawn from a buffer of 10 blocks: expected ~8.6 blocks per batch
    starts = [yb[0] // 20 for _, yb in first]
    assert starts != sorted(starts)  # the file is not read front to back
    assert not np.array_equal(first[0][1], second[0][1])  # every epoch draws a new order


def test_the_one_decision_point_streams_files_and_keeps_arrays_in_memory(tmp_path):
    X, y = ids(100)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert isinstance(batch_source(X, y, 10), Permuted)
    assert isinstance(batch_source(mapped, y, 10), Blocks)
    assert isinstance(batch_source(Recording(X), y, 10), Blocks)
    assert isinstance(batch_source(X, y, 10, shuffle="blocks"), Blocks)
    assert isinstance(batch_source(mapped, y, 10, shuffle="rows"), Permuted)
    with pytest.raises(ParameterError, match="replacement"):
        batch_source(mapped, y, 10, replacement=True)
    with pytest.raises(ParameterError, match="block_rows"):
        batch_source(mapped, y, 10, block_rows=0)


def test_streamed_blocks_come_in_the_batches_dtype(tmp_path):
    X, y = ids(100)
    source = Blocks(X.astype(np.float16), y, 10, block_rows=7)
    Xb, yb = next(source.epoch(np.random.default_rng(0)))
    assert Xb.dtype == np.float16
    source = Blocks(X.astype(np.float16), y, 10, block_rows=7, dtype=np.float32)
    Xb, yb = next(source.epoch(np.random.default_rng(0)))
    assert Xb.dtype == np.float32 and np.array_equal(Xb[:, 0], yb)


def rss_file_mb() -> float:
    """This process's resident pages of mapped files (Linux)."""
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(status["RssFile"].split()[0]) / 1024


@pytest.mark.skipif(not hasattr(mmap, "MADV_DONTNEED"), reason="needs Linux's madvise")
@pytest.mark.parametrize("shuffle", ["blocks", "rows"])
def test_a_streamed_epoch_of_a_numpy_memmap_keeps_its_pages_out_of_the_process(tmp_path, shuffle):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32768, 256), dtype=np.float32)  # 32 MiB
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    source = batch_source(mapped, np.arange(32768), 256, shuffle=shuffle, block_rows=256, buffer_blocks=8)
    before = rss_file_mb()
    total = sum(float(Xb[:, 0].sum()) for Xb, _ in source.epoch(rng))
    grown = rss_file_mb() - before
    assert total == pytest.approx(float(X[:, 0].sum()), rel=1e-4)  # the data read back intact
    if shuffle == "blocks":
        assert grown < 8  # released block by block (one block is 256 KiB)
    else:
        assert grown > 24  # the per-step gather leaves every page it touched in the process


# ---------------------------------------------------------------- the training loop on streamed blocks

def _blobs(N=400, D=6, C=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N)
    return (2 * rng.standard_normal((C, D))[y] + rng.standard_normal((N, D))).astype(np.float32), y


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_streamed_run_resumed_from_a_checkpoint_is_bit_identical(tmp_path, opt, interrupting):
    X, y = _blobs()
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    objective = Objective("softmax", L2(), 1e-3)
    params = LinearModel.init(6, 3, seed=1).params
    optimizer = get_optimizer(opt, learning_rate=0.01)
    options = dict(batch_size=32, epochs=5, seed=5, block_rows=16, buffer_blocks=4)
    full = run_epochs(objective, optimizer, mapped, y, params=params, config=LoopConfig(**options))
    config = LoopConfig(**options, checkpoint=str(tmp_path / "ckpt.npz"))
    with pytest.raises(KeyboardInterrupt):  # dies in epoch 3 (13 steps per epoch)
        run_epochs(interrupting(objective, 30), optimizer, mapped, y, params=params, config=config)
    resumed = run_epochs(objective, optimizer, mapped, y, params=params, config=config, resume=True)
    assert resumed.params["W"].tobytes() == full.params["W"].tobytes()
    assert resumed.history.loss == full.history.loss
    in_memory = run_epochs(objective, optimizer, X, y, params=params, config=LoopConfig(**options))
    assert in_memory.params["W"].tobytes() != full.params["W"].tobytes()  # the memory map was streamed


# ---------------------------------------------------------------- the probe against scikit-learn

def reference_optimum(X, y, lam):
    """scikit-learn's LogisticRegression at C = 1/(2Nλ), our objective at its solution (float64)."""
    clf = LogisticRegression(C=1 / (2 * lam * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    return Objective("softmax", L2(), lam)({"W": clf.coef_.T, "b": clf.intercept_}, X, y).loss


@pytest.mark.parametrize("optimizer, lr, dtype", [("adam", 0.03, np.float32), ("sgd", 0.5, np.float16)])
def test_streamed_minibatch_probe_on_shards_approaches_scikit_learns_optimum(tmp_path, optimizer, lr, dtype):
    synthetic.write(tmp_path / "train", 4000, 16, 5, seed=2, separation=0.5, shards=3, dtype=dtype)
    synthetic.write(tmp_path / "val", 500, 16, 5, seed=2, separation=0.5, split=1)
    X, y = (np.concatenate([np.load(p) for p in sorted((tmp_path / "train").glob("X-*.npy"))]),
            np.load(tmp_path / "train" / "y.npy"))
    lam = 1e-3
    best = reference_optimum(X.astype(np.float64), y, lam)
    start = Objective("softmax", L2(), lam)({"W": np.zeros((16, 5)), "b": np.zeros(5)}, X, y).loss
    result = fit(tmp_path / "train", val=tmp_path / "val", reg_strength=lam, optimizer=optimizer, lr=lr,
                 schedule="cosine", epochs=6, batch_size=64)
    row = result.best
    assert row["objective"] >= best * (1 - 1e-9)  # never below the optimum: it is the full objective
    assert row["objective"] - best < 2e-3 * (start - best)  # 99.8% of the way from W = 0 to the optimum
    assert len(row["val_accuracy_per_epoch"]) == 6 and row["iterations"] == 6 * steps_per_epoch(4000, 64)
    W, b = result.classifier.model.W.astype(np.float64), result.classifier.model.b.astype(np.float64)
    grads = Objective("softmax", L2(), lam)({"W": W, "b": b}, X.astype(np.float64), y).grads
    assert row["grad_norm"] == pytest.approx(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())), rel=1e-3)


def test_float16_files_with_standardization_approach_the_standardized_optimum(tmp_path):
    X, y = synthetic.embeddings(3000, 10, 4, seed=5, separation=0.5, dtype=np.float16)
    X = (X * np.geomspace(0.5, 8, 10) + 3).astype(np.float16)  # badly scaled, off-center features
    (tmp_path / "train").mkdir()
    np.save(tmp_path / "train" / "X.npy", X)
    np.save(tmp_path / "train" / "y.npy", y)
    lam = 1e-3
    result = fit(tmp_path / "train", reg_strength=lam, standardize=True, optimizer="adam", lr=0.01,
                 schedule="cosine", epochs=6, batch_size=64)
    mean, std = feature_stats(open_split(tmp_path / "train").X)
    Z = (X.astype(np.float64) - mean.astype(np.float32)) / std.astype(np.float32)
    best, start = reference_optimum(Z, y, lam), np.log(4)
    assert best * (1 - 1e-9) <= result.best["objective"] < best + 1e-2 * (start - best)  # 99% of the way
    clf = result.classifier  # the model file predicts from raw rows, standardization included
    assert np.mean(clf.predict(X) == y) == pytest.approx(result.best["train_accuracy"], abs=1e-9)


def test_in_memory_arrays_and_a_path_with_a_minibatch_optimizer(tmp_path):
    X, y = synthetic.embeddings(1500, 8, 3, seed=1, separation=0.6, dtype=np.float64)
    Xv, yv = synthetic.embeddings(300, 8, 3, seed=1, separation=0.6, dtype=np.float64, split=1)
    result = fit(X, y, val=(Xv, yv), reg_path=[1e-1, 1e-3], optimizer="adam", lr=0.02, schedule="cosine",
                 epochs=5, batch_size=50, dtype="float64")
    for row in result.path:
        best = reference_optimum(X, y, row["reg_strength"])
        assert best * (1 - 1e-9) <= row["objective"] < best + 1e-2 * (np.log(3) - best)
    assert result.best["val_accuracy"] == max(r["val_accuracy"] for r in result.path)


# ---------------------------------------------------------------- command line

def test_cli_minibatch_probe_writes_model_metrics_and_report(tmp_path, capsys):
    synthetic.write(tmp_path / "train", 800, 8, 3, seed=7, separation=0.5)
    synthetic.write(tmp_path / "val", 200, 8, 3, seed=7, separation=0.5, split=1)
    out = tmp_path / "out"
    assert main(["probe", str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--optimizer", "rmsprop",
                 "--lr", "0.01", "--epochs", "3", "--batch-size", "32", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["iterations"] == 3 * 25 and summary["converged"] is None
    assert summary["best"]["optimizer"] == "rmsprop" and summary["best"]["lr"] == 0.01
    assert len(summary["best"]["val_accuracy_per_epoch"]) == 3
    clf = Classifier.load(out / "model.npz")
    X, y = np.load(tmp_path / "val" / "X.npy"), np.load(tmp_path / "val" / "y.npy")
    assert np.mean(clf.predict(X) == y) == pytest.approx(summary["val_accuracy"], abs=1e-9)
    assert json.loads((out / "metrics.json").read_text())["objective"] == summary["objective"]
    assert "Validation accuracy per epoch" in (out / "report.html").read_text()


@pytest.mark.parametrize("flags, message", [
    (["--optimizer", "adam", "--tol", "1e-3"], "--tol"),
    (["--optimizer", "adam", "--max-iter", "5"], "--max-iter"),
    (["--lr", "0.1"], "L-BFGS"),
    (["--epochs", "3"], "L-BFGS"),
    (["--optimizer", "adam", "--backend", "torch"], "NumPy"),
    (["--optimizer", "adam", "--dask", "local"], "NumPy"),
    (["--optimizer", "adam", "--epochs", "0"], "--epochs"),
    (["--optimizer", "sgd", "--lr", "0"], "--lr"),
    (["--optimizer", "sgd", "--lr", "100", "--reg-strength", "0.1"], "--lr below"),
    (["--optimizer", "adam", "--schedule", "bogus"], "schedule"),
    (["--optimizer", "sgd", "--lr", "1e5", "--reg-strength", "0"], "diverged"),
    (["--optimizer", "random-search"], "invalid choice"),
])
def test_bad_minibatch_flags_are_one_line_errors(tmp_path, capsys, flags, message):
    synthetic.write(tmp_path / "train", 50, 3, 2)
    assert main(["probe", str(tmp_path / "train"), "--out", str(tmp_path / "o"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
    assert not (tmp_path / "o" / "model.npz").exists()
