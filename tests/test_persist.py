"""Model files: round trip, atomic writes, and clear errors on truncated, tampered or foreign files."""

import json
import zipfile

import numpy as np
import pytest

from linclass import persist
from linclass.classifier import Classifier
from linclass.errors import ModelFileError
from linclass.model import LinearModel
from linclass.preprocess import Preprocessor


def _classifier():
    rng = np.random.default_rng(0)
    model = LinearModel(rng.standard_normal((12, 3)).astype(np.float32), np.array([0.1, -0.2, 0.3], np.float32))
    pre = Preprocessor(rng.standard_normal(12).astype(np.float32), None)
    return Classifier(model, pre, ["a", "b", "c"], "softmax", (2, 2, 3), None, {"settings": {"lr": 0.1}})


def test_round_trip_keeps_every_bit(tmp_path):
    clf = _classifier()
    path = clf.save(tmp_path / "model.npz")
    back = Classifier.load(path)
    np.testing.assert_array_equal(back.model.W, clf.model.W)
    np.testing.assert_array_equal(back.model.b, clf.model.b)
    np.testing.assert_array_equal(back.preprocessor.mean, clf.preprocessor.mean)
    assert back.class_names == ["a", "b", "c"] and back.image_shape == (2, 2, 3)
    X = np.random.default_rng(1).integers(0, 255, (5, 2, 2, 3)).astype(np.uint8)
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


def test_model_file_is_loadable_without_pickle(tmp_path):
    path = _classifier().save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(npz["__linclass__"].tobytes())
    assert meta["format"] == "linclass-model" and meta["class_names"] == ["a", "b", "c"]
    assert "library_version" in meta


def test_truncated_file_is_refused(tmp_path):
    path = _classifier().save(tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        Classifier.load(path)


def test_tampered_weights_are_refused(tmp_path):
    path = _classifier().save(tmp_path / "m.npz")
    with np.load(path) as npz:
        entries = {k: npz[k] for k in npz.files}
    entries["model/W"] = entries["model/W"] * 2  # same shape, different numbers, old hashes
    np.savez(path, **entries)
    with pytest.raises(ModelFileError, match="tampered"):
        Classifier.load(path)


def test_foreign_npz_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, W=np.zeros((3, 3)))
    with pytest.raises(ModelFileError, match="not a linclass model file"):
        Classifier.load(path)


def test_pickled_object_arrays_are_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __linclass__=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelFileError):
        Classifier.load(path)


def test_a_zip_that_is_not_npz_is_refused(tmp_path):
    path = tmp_path / "x.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError):
        Classifier.load(path)


def test_missing_file_says_what_to_pass(tmp_path):
    with pytest.raises(ModelFileError, match="linclass train"):
        Classifier.load(tmp_path / "none.npz")


def test_nan_weights_are_never_written(tmp_path):
    clf = _classifier()
    clf.model.W[0, 0] = np.nan
    with pytest.raises(ModelFileError, match="NaN"):
        clf.save(tmp_path / "m.npz")
    assert not any(tmp_path.iterdir())


def test_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")

    def boom(f):
        f.write(b"partial")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        persist.atomic_write(path, boom)
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


def test_atomic_write_dir_is_all_or_nothing(tmp_path):
    target = tmp_path / "cache" / "entry"
    persist.atomic_write_dir(target, {"a.txt": lambda f: f.write(b"old")})

    def broken(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        persist.atomic_write_dir(target, {"a.txt": lambda f: f.write(b"new"), "b.txt": broken})
    assert (target / "a.txt").read_bytes() == b"old" and not (target / "b.txt").exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["entry"]  # no temporary folder left
    persist.atomic_write_dir(target, {"c.txt": lambda f: f.write(b"c")})
    assert sorted(p.name for p in target.iterdir()) == ["c.txt"]  # replaced whole, not merged


@pytest.mark.parametrize("many", [False, True])
def test_atomic_write_dir_makes_nested_files_durable_before_the_rename(tmp_path, monkeypatch, many):
    """Each file fsynced, or with ``many`` one os.sync() for all; both before the folder appears."""
    target, calls = tmp_path / "export", []
    monkeypatch.setattr(persist.os, "fsync", lambda fd: calls.append("fsync"))
    monkeypatch.setattr(persist.os, "sync", lambda: calls.append("sync"), raising=False)
    real_replace = persist.os.replace
    monkeypatch.setattr(persist.os, "replace", lambda a, b: (calls.append("rename"), real_replace(a, b)))
    names = ["train/cat/0000.jpg", "train/cat/0001.jpg", "test/dog/0000.jpg", "SUMS"]
    persist.atomic_write_dir(target, {n: (lambda f, n=n: f.write(n.encode())) for n in names}, many=many)
    assert all((target / n).read_text() == n for n in names)
    assert calls.count("rename") == 1
    before = calls[:calls.index("rename")]
    if many:
        assert before == ["sync"]
    else:  # every file, and every folder that holds a new entry (tmp, train, train/cat, test, test/dog)
        assert before == ["fsync"] * (len(names) + 5)
