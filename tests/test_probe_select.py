"""Choosing λ: the probe's validation and test metrics against scikit-learn, --select-by, the edge warning of a
path, the search against a fine grid, and what --json's top-level keys mean."""

import json

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, top_k_accuracy_score

from linclass.cli import main
from linclass.probe import fit, synthetic
from linclass.probe.search import coarse_grid, search

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def imbalanced():
    """Train, val and test splits with 6 classes, the first one 5 times as frequent as the others."""
    def split(k, n):
        X, y = synthetic.embeddings(n, 10, 6, seed=1, split=k, separation=0.4)
        keep = (y == 0) | (np.arange(n) % 5 == 0)
        return X[keep], y[keep]
    return split(0, 3000), split(1, 2000), split(2, 2000)


def scores_of(result, X):
    clf = result.classifier
    return X @ clf.model.W.astype(np.float64) + clf.model.b


def test_the_probe_reports_top1_top5_and_balanced_accuracy_as_scikit_learn(imbalanced):
    train, val, test = imbalanced
    result = fit(*train, val=val, test=test, reg_strength=1e-4)
    for name, (X, y) in (("val", val), ("test", test)):
        s = scores_of(result, X)
        assert result.best[f"{name}_accuracy"] == pytest.approx(np.mean(s.argmax(1) == y), abs=1e-3)
        assert result.best[f"{name}_top5_accuracy"] == pytest.approx(top_k_accuracy_score(y, s, k=5), abs=1e-3)
        assert result.best[f"{name}_balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, s.argmax(1)),
                                                                         abs=1e-3)
    assert result.best["val_balanced_accuracy"] != pytest.approx(result.best["val_accuracy"], abs=1e-3)


def test_select_by_balanced_accuracy_keeps_the_lambda_with_the_best_mean_recall(imbalanced):
    train, val, _ = imbalanced
    lams = [1.0, 1e-1, 1e-2, 1e-3]
    result = fit(*train, val=val, reg_path=lams, select_by="balanced_accuracy")
    balanced = [r["val_balanced_accuracy"] for r in result.path]
    assert result.best["reg_strength"] == lams[int(np.argmax(balanced))]
    assert result.summary()["selected_by"] == "balanced_accuracy"


def test_a_best_lambda_at_the_end_of_the_path_is_warned_about(tmp_path, capsys):
    for split, name in enumerate(["train", "val"]):
        synthetic.write(tmp_path / name, 800, 8, 3, seed=2, split=split, separation=0.6)
    base = ["probe", str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--json"]
    assert main([*base, "--reg-path", "1:100:3", "--out", str(tmp_path / "strong")]) == 0  # all far too strong
    out = json.loads(capsys.readouterr().out)
    assert out["reg_strength"] == 1.0
    [warning] = [w for w in out["warnings"] if "range" in w]
    assert "weakest" in warning and "--reg-path" in warning
    assert main([*base, "--reg-path", "1e-3:1e-1:3", "--out", str(tmp_path / "around")]) == 0
    assert not [w for w in json.loads(capsys.readouterr().out)["warnings"] if "range" in w]


def test_json_top_level_is_the_chosen_lambda_and_the_whole_run(tmp_path, capsys):
    for split, name in enumerate(["train", "val"]):
        synthetic.write(tmp_path / name, 600, 8, 3, seed=3, split=split, separation=0.6)
    assert main(["probe", str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--reg-path", "1e-4:1e-1:4",
                 "--json", "--out", str(tmp_path / "run")]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("reg_strength", "objective", "grad_norm", "converged", "val_accuracy", "val_balanced_accuracy"):
        assert out[key] == out["best"][key]
    assert out["seconds"] >= sum(r["seconds"] for r in out["path"])
    assert out["iterations"] == sum(r["iterations"] for r in out["path"]) and out["lambdas"] == 4


def test_the_search_refines_around_the_best_to_the_resolution():
    peak = -2.37  # a unimodal score on log λ, peaked at 10**peak
    scores, schedule = {}, search(1e-6, 1e-1, 0.1)
    while batch := schedule(scores):
        for lam in batch:
            scores[lam] = -abs(np.log10(lam) - peak)
    assert sorted(coarse_grid(1e-6, 1e-1)) == pytest.approx([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
    logs = np.sort(np.log10(list(scores)))
    best = np.log10(max(scores, key=scores.get))
    i = int(np.searchsorted(logs, best))
    assert logs[i + 1] - best <= 0.1 and best - logs[i - 1] <= 0.1
    assert abs(best - peak) <= 0.1
    assert len(scores) <= 6 + 7


def test_the_search_matches_a_33_point_grid_within_a_tenth_of_a_point_at_half_its_cost():
    X, y = synthetic.embeddings(4000, 128, 20, seed=0, separation=0.15)
    val = synthetic.embeddings(2000, 128, 20, seed=0, split=1, separation=0.15)
    grid = fit(X, y, val=val, reg_path="1e-6:1e-1:33")
    found = fit(X, y, val=val, reg_search="1e-6:1e-1")
    assert found.best["val_accuracy"] >= grid.best["val_accuracy"] - 0.001
    cost = sum(r["evaluations"] for r in found.path) / sum(r["evaluations"] for r in grid.path)
    assert cost <= 0.5, cost
    assert len({r["reg_strength"] for r in found.path}) == len(found.path) == found.summary()["lambdas"]
