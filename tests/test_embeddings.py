"""Metrics against scikit-learn, and `linclass evaluate` / `predict` on embedding files of every layout."""

import json

import numpy as np
import pytest
from sklearn.metrics import (
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from linclass import embeddings
from linclass.classifier import Classifier
from linclass.cli import main
from linclass.metrics import Tally
from linclass.probe import fit, synthetic

N, D, C = 700, 6, 7
pytestmark = pytest.mark.usefixtures("one_blas_thread")


def reference_scores(clf, X):
    """The model's scores written out: ((x − mean) / std) W + b in float64."""
    pre = clf.preprocessor
    Z = (X - pre.mean) / pre.std
    return Z @ clf.model.W.astype(np.float64) + clf.model.b


@pytest.mark.filterwarnings("ignore:y_pred contains classes")
@pytest.mark.parametrize("n_classes", [3, 7])
def test_tally_over_chunks_equals_scikit_learns_metrics(n_classes):
    rng = np.random.default_rng(0)
    y = rng.integers(0, n_classes, 500)
    y[y == 1] = 2  # class 1 absent from y: balanced accuracy averages over the classes present
    scores = rng.standard_normal((500, n_classes)) + 1.5 * np.eye(n_classes)[y]
    tally = Tally(n_classes)
    for a in range(0, 500, 64):
        tally.add(scores[a:a + 64], y[a:a + 64])
    summary = tally.summary([f"c{k}" for k in range(n_classes)])
    pred = scores.argmax(axis=1)
    labels = np.arange(n_classes)
    assert summary["accuracy"] == pytest.approx(np.mean(pred == y))
    assert summary["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    if n_classes >= 5:
        assert summary["top5_accuracy"] == pytest.approx(top_k_accuracy_score(y, scores, k=5, labels=labels))
    else:
        assert summary["top5_accuracy"] is None
    p, r, _, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    np.testing.assert_allclose([row["precision"] for row in summary["per_class"]], p)
    np.testing.assert_allclose([row["recall"] for row in summary["per_class"]], r)
    assert [row["support"] for row in summary["per_class"]] == s.tolist()
    cm = confusion_matrix(y, pred, labels=labels)
    assert summary["confusion_matrix"] == cm.tolist()
    worst = summary["most_confused"][0]
    off = cm - np.diag(np.diag(cm))
    assert worst["count"] == off.max() and worst["true"] == f"c{np.unravel_index(off.argmax(), off.shape)[0]}"


@pytest.fixture(scope="module")
def probe_model(tmp_path_factory):
    """A probe's model file (standardized, string labels) and a validation split in every layout."""
    root = tmp_path_factory.mktemp("emb")
    X, y = synthetic.embeddings(N, D, C, separation=0.6, dtype=np.float64)
    X = X * 3 + 1
    names = np.array(["ant", "bee", "cat", "dog", "eel", "fox", "gnu"])
    result = fit(X, names[y], standardize=True, reg_strength=1e-3)
    path = result.classifier.save(root / "model.npz")
    Xv, yv = synthetic.embeddings(N, D, C, separation=0.6, split=1, dtype=np.float32)
    Xv = Xv * 3 + 1
    layouts = {"dir": root / "val", "shards": root / "shards", "npz": root / "val.npz"}
    layouts["dir"].mkdir()
    np.save(layouts["dir"] / "X.npy", Xv)
    np.save(layouts["dir"] / "y.npy", names[yv])
    layouts["shards"].mkdir()
    for k, (a, b) in enumerate([(0, 250), (250, 600), (600, N)]):
        np.save(layouts["shards"] / f"X-{k:05d}.npy", Xv[a:b])
    np.save(layouts["shards"] / "y.npy", names[yv])
    np.savez(layouts["npz"], X=Xv, y=names[yv])
    return path, layouts, Xv, yv, names


@pytest.mark.parametrize("layout", ["dir", "shards", "npz"])
def test_evaluate_on_embedding_files_gives_scikit_learns_metrics(probe_model, layout, capsys, monkeypatch):
    path, layouts, Xv, yv, names = probe_model
    monkeypatch.setattr(embeddings, "chunk_rows_for", lambda d, itemsize: 100)  # several chunks per shard
    assert main(["evaluate", str(path), "--data", str(layouts[layout]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    clf = Classifier.load(path)
    assert clf.class_names == list(names)
    scores = reference_scores(clf, Xv.astype(np.float64))
    assert out["accuracy"] == pytest.approx(np.mean(scores.argmax(1) == yv))
    assert out["top5_accuracy"] == pytest.approx(top_k_accuracy_score(yv, scores, k=5))
    assert out["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(yv, scores.argmax(1)))
    assert out["examples"] == N and len(out["per_class"]) == C


@pytest.mark.parametrize("layout", ["dir", "shards", "npz", "npy"])
@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_predict_writes_every_rows_top_classes(probe_model, layout, suffix, tmp_path, capsys, monkeypatch):
    path, layouts, Xv, _, names = probe_model
    monkeypatch.setattr(embeddings, "chunk_rows_for", lambda d, itemsize: 100)
    source = layouts["dir"] / "X.npy" if layout == "npy" else layouts[layout]
    out = tmp_path / f"preds{suffix}"
    assert main(["predict", str(path), str(source), "--top", "3", "--out", str(out)]) == 0
    assert f"{N} rows" in capsys.readouterr().out
    scores = reference_scores(Classifier.load(path), Xv.astype(np.float64))
    proba = np.exp(scores - scores.max(1, keepdims=True))
    proba /= proba.sum(1, keepdims=True)
    top = np.argsort(-proba, axis=1)[:, :3]
    if suffix == ".npy":
        preds = np.load(out)  # a structured array: no pickle needed
        assert preds.shape == (N, 3)
        np.testing.assert_array_equal(preds["index"], top)
        np.testing.assert_array_equal(preds["class"], names[top])
        np.testing.assert_allclose(preds["probability"], np.take_along_axis(proba, top, 1), rtol=1e-4, atol=1e-6)
    else:
        rows = out.read_text().splitlines()
        assert rows[0] == "row,class_1,probability_1,class_2,probability_2,class_3,probability_3"
        cells = [r.split(",") for r in rows[1:]]
        assert len(cells) == N
        assert [c[1] for c in cells] == names[top[:, 0]].tolist()
        np.testing.assert_allclose([float(c[2]) for c in cells], proba[np.arange(N), top[:, 0]], rtol=1e-4)


def test_predict_without_out_shows_the_first_rows(probe_model, capsys):
    path, layouts, *_ = probe_model
    assert main(["predict", str(path), str(layouts["npz"]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == N and len(out["predictions"]) == embeddings.PREVIEW_ROWS
    assert [p["row"] for p in out["predictions"]] == list(range(embeddings.PREVIEW_ROWS))


def test_image_model_and_embedding_model_each_refuse_the_other_input(probe_model, tmp_path, capsys):
    path, layouts, *_ = probe_model
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "digits"), "--json"]) == 0
    capsys.readouterr()
    image_model = str(tmp_path / "digits" / "model.npz")
    for argv, wanted in [(["evaluate", image_model, "--data", str(layouts["dir"])], "images"),
                         (["predict", image_model, str(layouts["npz"])], "image files"),
                         (["evaluate", str(path)], "embedding files"),
                         (["evaluate", str(path), "--dataset", "digits"], "embedding files"),
                         (["predict", str(path), "cat.jpg"], "embedding file")]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and wanted in err, (argv, err)


def test_labels_the_model_does_not_know_are_refused(probe_model, tmp_path, capsys):
    path, _, Xv, yv, _ = probe_model
    np.savez(tmp_path / "other.npz", X=Xv, y=yv)  # integer labels; the model knows names
    assert main(["evaluate", str(path), "--data", str(tmp_path / "other.npz")]) == 2
    assert "does not have" in capsys.readouterr().err
