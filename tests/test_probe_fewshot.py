"""--shots (a seeded, stratified subset read from the files) and --class-weight balanced (scikit-learn's objective)."""

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from linclass.cli import main
from linclass.errors import ParameterError
from linclass.probe import fit, open_split, synthetic
from linclass.probe.core import per_class
from linclass.rows.source import Subset

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def weighted_objective(X, y, W, b, lam, w):
    """Σ w_i L_i / Σ w_i + λ ΣW², written out (float64)."""
    S = X @ W + b
    S = S - S.max(axis=1, keepdims=True)
    L = np.log(np.exp(S).sum(axis=1)) - S[np.arange(len(y)), y]
    return float(w @ L / w.sum() + lam * np.sum(W * W))


def test_per_class_draws_k_rows_of_each_class_from_the_seed():
    y = np.repeat(np.array(["a", "b", "c"]), [50, 30, 4])
    idx, short = per_class(y, 8, seed=1)
    assert np.all(np.diff(idx) > 0) and short == ["c"]
    assert {c: int(np.sum(y[idx] == c)) for c in "abc"} == {"a": 8, "b": 8, "c": 4}
    assert np.array_equal(idx, per_class(y, 8, seed=1)[0])
    assert not np.array_equal(idx, per_class(y, 8, seed=2)[0])
    assert not np.array_equal(idx[:8], np.arange(8))  # drawn, not the first rows


def test_subset_of_sharded_files_reads_exactly_the_chosen_rows(tmp_path):
    split = open_split(synthetic.write(tmp_path / "t", 500, 6, 3, shards=3))
    full = np.concatenate([p.array for p in split.X.parts])
    idx = np.sort(np.random.default_rng(0).choice(500, 40, replace=False))
    sub = Subset(split.X, idx)
    np.testing.assert_array_equal(np.concatenate([sub.read(a, min(a + 7, 40)) for a in range(0, 40, 7)]), full[idx])


def test_shots_fit_equals_the_fit_on_the_drawn_rows(tmp_path, capsys):
    synthetic.write(tmp_path / "train", 900, 8, 3, seed=4, separation=0.5, shards=2)
    split = open_split(tmp_path / "train")
    X, y = np.concatenate([p.array for p in split.X.parts]), split.y
    assert main(["probe", str(tmp_path / "train"), "--shots", "16", "--seed", "3", "--json",
                 "--out", str(tmp_path / "run")]) == 0
    out = json.loads(capsys.readouterr().out)
    idx, _ = per_class(y, 16, seed=3)
    ref = fit(X[idx], y[idx])
    assert len(idx) == 48
    assert out["objective"] == pytest.approx(ref.best["objective"], rel=1e-9)
    assert out["train_accuracy"] == pytest.approx(ref.best["train_accuracy"])


def test_class_weight_balanced_reaches_scikit_learns_balanced_objective():
    X, y = synthetic.embeddings(3000, 10, 4, seed=5, separation=0.5, dtype=np.float64)
    keep = (y == 0) | (np.arange(len(y)) % 6 == 0)  # class 0 about 6 times as frequent as the others
    X, y = X[keep], y[keep]
    lam = 1e-3
    counts = np.bincount(y)
    w = (len(y) / (4 * counts))[y]
    sk = LogisticRegression(C=1 / (2 * len(y) * lam), class_weight="balanced", tol=1e-12, max_iter=10_000).fit(X, y)
    reference = weighted_objective(X, y, sk.coef_.T, sk.intercept_, lam, w)
    ours = fit(X, y, reg_strength=lam, class_weight="balanced", dtype="float64", tol=1e-8)
    W, b = ours.classifier.model.W.astype(np.float64), ours.classifier.model.b.astype(np.float64)
    assert ours.best["objective"] == pytest.approx(reference, rel=1e-6)
    assert weighted_objective(X, y, W, b, lam, w) == pytest.approx(reference, rel=1e-6)
    plain = fit(X, y, reg_strength=lam, dtype="float64")
    assert abs(plain.best["objective"] - reference) > 1e-3 * reference  # the weights change the problem


def test_class_weight_is_refused_where_it_is_not_computed():
    X, y = synthetic.embeddings(200, 4, 2, seed=6)
    with pytest.raises(ParameterError, match="L-BFGS only"):
        fit(X, y, class_weight="balanced", optimizer="sgd", epochs=1)
    with pytest.raises(ParameterError, match="balanced"):
        fit(X, y, class_weight="inverse")
