"""The lecture's open points in `linclass explain`: the loss landscape and convexity, the bias trick,
regularization's preference (both w1/w2 pairs) and the Occam sweep, the numerical gradient timed."""

import json
import re

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from linclass.cli import main
from linclass.datasets.small import load_digits_dataset
from linclass.report import explain_landscape, explain_occam
from linclass.report.explain import SLIDES_W
from linclass.report.explain_bias import extend
from linclass.report.explain_gradient import SLIDES_B


def run(capsys, *argv):
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def run_json(capsys, *argv):
    return json.loads(run(capsys, *argv, "--json"))


# --------------------------------------------------------------------------- landscape and convexity

def test_landscape_writes_its_plot_and_names_convexity(capsys, tmp_path):
    text = run(capsys, "explain", "--landscape", "--out", str(tmp_path))
    assert (tmp_path / "landscape.png").stat().st_size > 10_000
    assert "convex in W" in text and re.search(r"no\s+local minima to get stuck in", text)
    assert f"plot: {tmp_path / 'landscape.png'}" in text


@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_the_line_slice_is_convex(loss):
    """Recomputed here from the formulas (not through linclass.losses): second differences ≥ 0."""
    X, y, W, W1, _ = explain_landscape.landscape_problem()
    a = np.linspace(-1, 1, 201)
    values = []
    for step in a:
        S = X @ (W + step * W1)
        correct = S[np.arange(len(y)), y][:, None]
        if loss == "svm":
            values.append((np.maximum(0, S - correct + 1).sum(axis=1) - 1).mean())
        else:
            values.append((np.log(np.exp(S - S.max(axis=1, keepdims=True)).sum(axis=1))
                           + S.max(axis=1) - correct[:, 0]).mean())
    second = np.diff(values, 2)
    assert second.min() >= -1e-9
    ours = explain_landscape.slices(loss, X, y, W, W1, W1)["along"]
    np.testing.assert_allclose(ours, values, rtol=1e-12)


def test_the_convexity_check_can_fail():
    """A concave bump in a slice is caught: the check is not vacuous."""
    a = np.linspace(-1, 1, 201)
    assert explain_landscape.second_differences(a ** 2).min() > 0
    assert explain_landscape.second_differences(np.cos(3 * a)).min() < 0


def test_svm_slices_are_piecewise_linear_and_softmax_smooth(capsys, tmp_path):
    data = run_json(capsys, "explain", "--landscape", "--out", str(tmp_path))
    svm = explain_landscape.second_differences(data["svm"]["along"])
    soft = explain_landscape.second_differences(data["softmax"]["along"])
    assert np.mean(np.abs(svm) < 1e-9) > 0.5  # mostly straight, bent only at kinks
    assert np.all(soft > 0)  # strictly curved everywhere
    assert data["svm"]["convex"] and data["softmax"]["convex"]


# --------------------------------------------------------------------------- the bias trick

def test_bias_trick_gives_the_same_scores(capsys):
    data = run_json(capsys, "explain", "--bias-trick")
    W, b, x = np.asarray(SLIDES_W), np.asarray(SLIDES_B), np.array([56, 231, 24, 2])
    np.testing.assert_allclose(data["scores_extended"], W @ x + b, rtol=1e-12)
    np.testing.assert_allclose(data["scores_extended"], [-96.8, 437.9, 60.75], atol=1e-9)  # lecture-numbers.md
    assert np.asarray(data["W_extended"]).shape == (3, 5) and data["x_extended"][-1] == 1
    assert data["cifar_shape"] == [10, 3073] and data["cifar_max_difference"] < 1e-9
    text = run(capsys, "explain", "--bias-trick")
    assert "10 × 3,073" in text and "[−96.8, 437.9, 60.75]   (the same scores)" in text


def test_extend_matches_wx_plus_b_at_cifar_shapes():
    rng = np.random.default_rng(1)
    W, b, x = rng.standard_normal((10, 3072)), rng.standard_normal(10), rng.standard_normal(3072)
    W_ext, x_ext = extend(W, b, x)
    assert W_ext.shape == (10, 3073) and x_ext.shape == (3073,)
    np.testing.assert_allclose(W_ext @ x_ext, W @ x + b, rtol=1e-10)


# --------------------------------------------------------------------------- regularization's preference

def test_questions_show_both_weight_pairs(capsys):
    data = run_json(capsys, "explain", "--questions")
    pairs = next(q for q in data["questions"] if q["key"] == "weight_preference")["value"]
    # lecture-numbers.md: seeds 000/002 L2 1 vs 0.25, L1 1 vs 1; seed 004 L1 1 vs 1.2, L2 1 vs 0.74
    np.testing.assert_allclose([p["L2"] for p in pairs], [(1, 0.25), (1, 0.74)])
    np.testing.assert_allclose([p["L1"] for p in pairs], [(1, 1), (1, 1.2)])
    np.testing.assert_allclose([p["scores"] for p in pairs], [(1, 1), (1, 1)])
    text = run(capsys, "explain", "--questions")
    assert "w2 = [0.3, −0.1, 0.8]" in text and "L2: 1 vs 0.74, L1: 1 vs 1.2" in text


def test_occam_sweep_against_scikit_learn(capsys, tmp_path):
    data = run_json(capsys, "explain", "--occam", "--out", str(tmp_path))
    assert (tmp_path / "occam.png").stat().st_size > 5_000
    rows = data["sweep"]
    assert rows[0]["train"] == 1.0 and rows[0]["train"] > rows[0]["val"]  # small λ: overfits
    assert rows[-1]["val"] < 0.5 * max(r["val"] for r in rows)  # λ = 1: underfits
    norms = [r["norm2"] for r in rows]
    assert all(a > b for a, b in zip(norms, norms[1:]))  # larger λ, simpler W
    # one λ recomputed with scikit-learn's LogisticRegression: C = 1 / (2 λ N)
    d = load_digits_dataset(seed=0)
    n = explain_occam.TRAIN_SIZE
    X, y = d.X_train[:n].reshape(n, -1) / 255, d.y_train[:n]
    row = rows[6]
    ref = LogisticRegression(C=1 / (2 * row["lambda"] * n), max_iter=5000, tol=1e-10).fit(X, y)
    Xv = d.X_val.reshape(len(d.X_val), -1) / 255
    assert abs(ref.score(Xv, d.y_val) - row["val"]) <= 2 / len(d.y_val)
    chosen = data["chosen"]
    assert chosen["val"] == max(r["val"] for r in rows)
    assert chosen["lambda"] == max(r["lambda"] for r in rows if r["val"] == chosen["val"])


# --------------------------------------------------------------------------- the numerical gradient, timed

def test_gradient_prints_the_timing_ratio(capsys):
    data = run_json(capsys, "explain", "--gradient")
    timing = data["timing"]
    assert timing["entries"] == 3073 * 10 and timing["evaluations"] == 2 * 3073 * 10
    assert timing["ratio"] > 1
    text = run(capsys, "explain", "--gradient")
    assert "W is 3,073 × 10 = 30,730 entries" in text
    assert "ratio: the numerical gradient is" in text and "times slower" in text
