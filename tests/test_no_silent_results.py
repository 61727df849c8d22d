"""Silent wrong results refused: huge values, NaN in the splits scored, NaN weights, an empty lock, probe's
schedule."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import numpy as np
import pytest

from linclass import persist
from linclass.classifier import Classifier
from linclass.cli import main
from linclass.cli.outdir import LOCK, LOCK_GRACE, output_dir
from linclass.errors import InputError, ModelFileError, OutputError
from linclass.model import LinearModel
from linclass.preprocess import Preprocessor
from linclass.probe import fit


def _data(n=200, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _save(directory, X, y):
    directory.mkdir()
    np.save(directory / "X.npy", X)
    np.save(directory / "y.npy", y)
    return directory


def test_a_huge_value_is_refused_as_data_that_needs_scaling(tmp_path, capsys):
    """3e38 fits in float32, but its products overflow: refused (it was '0 iterations, converged')."""
    X, y = _data()
    X[3, 2] = 3e38
    with pytest.raises(InputError, match="overflow float32.*needs scaling.*--standardize"):
        fit(X, y)
    assert main(["probe", str(_save(tmp_path / "big", X, y)), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "needs scaling" in err
    standardized = fit(X, y, standardize=True).best  # scaled, the same data fits
    assert standardized["converged"] and standardized["grad_norm"] < 1e-3


@pytest.mark.parametrize("value", [1e30, 1e20])
def test_convergence_is_never_reported_above_the_tolerance(value):
    """A value that does not overflow but dwarfs the rest: either refused, or not 'converged' at ‖∇L‖ ≫ tol."""
    X, y = _data()
    X[3, 2] = value
    try:
        best = fit(X, y).best
    except InputError as err:
        assert "scaling" in str(err)
        return
    Y = np.eye(2)[y]
    zero = np.abs(X.astype(np.float64).T @ (0.5 - Y) / len(y)).max()  # ‖∇_W L(0)‖∞ of the softmax at W = 0
    tolerance = 1e-4 * zero * np.sqrt(X.shape[1] * 2 + 2)  # the probe's rule, as a bound on ‖∇L‖₂
    assert not best["converged"] or best["grad_norm"] <= tolerance, best


@pytest.mark.parametrize("split", ["val", "test"])
def test_nan_in_a_scored_split_is_refused_like_training_data(tmp_path, capsys, split):
    X, y = _data()
    Xs, ys = _data(60, seed=1)
    Xs[[4, 9], 1] = np.nan
    with pytest.raises(InputError, match="NaN or inf in 2 row"):
        fit(X, y, **{split: (Xs, ys)})
    train = _save(tmp_path / "train", X, y)
    scored = _save(tmp_path / split, Xs, ys)
    assert main(["probe", str(train), f"--{split}", str(scored), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(scored) in err and "NaN or inf in 2 row(s)" in err


def test_a_model_file_with_nan_weights_is_refused_at_load(tmp_path):
    model = LinearModel(np.ones((4, 2), np.float32), np.zeros(2, np.float32))
    path = Classifier(model, Preprocessor(None, None), ["a", "b"], "softmax", None, None, {}).save(tmp_path / "m.npz")
    with zipfile.ZipFile(path) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    arrays = {name[:-4]: np.load(io.BytesIO(raw)) for name, raw in entries.items()}
    meta = json.loads(arrays.pop("__linclass__").tobytes())
    arrays.pop("__linclass_seal__")
    arrays["model/W"] = np.full((4, 2), np.nan, np.float32)
    meta["arrays"]["model/W"] = persist.array_digest(arrays["model/W"])  # re-hashed: anyone can
    blob = persist.canonical_json(meta)
    arrays["__linclass__"] = np.frombuffer(blob, np.uint8)
    arrays["__linclass_seal__"] = np.frombuffer(persist.canonical_json(persist._seal(blob, None)), np.uint8)
    np.savez(tmp_path / "forged.npz", **arrays)
    with pytest.raises(ModelFileError, match="'model/W' holds NaN or inf"):
        Classifier.load(tmp_path / "forged.npz")


@pytest.mark.parametrize("content", [b"", b"garbage", b"\n"])
def test_a_lock_that_names_no_process_is_taken_over_once_old(tmp_path, content):
    folder = tmp_path / "run"
    folder.mkdir()
    lock = folder / LOCK
    lock.write_bytes(content)  # the disk filled before the pid was written
    with pytest.raises(OutputError, match="in use by another linclass run"):  # a run may be writing it now
        with output_dir(folder):
            pass
    old = time.time() - 10 * LOCK_GRACE
    os.utime(lock, (old, old))
    with output_dir(folder) as out:
        assert lock.read_text().split()[0] == str(os.getpid())
    assert out == folder and not lock.exists()


def test_probe_refuses_an_empty_schedule_as_train_does(tmp_path, capsys):
    X, y = _data()
    train = _save(tmp_path / "train", X, y)
    assert main(["train", "--schedule", "", "--out", str(tmp_path / "t")]) == 2
    train_err = capsys.readouterr().err
    assert main(["probe", str(train), "--optimizer", "adam", "--schedule", "", "--out", str(tmp_path / "p")]) == 2
    probe_err = capsys.readouterr().err
    assert "unknown schedule ''" in train_err and "unknown schedule ''" in probe_err
