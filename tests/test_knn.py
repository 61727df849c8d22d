"""k-nearest neighbours against scikit-learn, SciPy and plain-loop references."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import pairwise_distances as sk_pairwise_distances
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from linclass.errors import InputError, LabelError, LinclassError, ParameterError
from linclass.knn import (
    KNearestNeighbor,
    best_k,
    cross_validate_k,
    distance_blocks,
    knn_predict,
    majority_vote,
    nearest,
    pairwise_distances,
)

SK_METRIC = {"l2": "euclidean", "l1": "manhattan"}
SCIPY_METRIC = {"l2": "euclidean", "l1": "cityblock"}


def blobs(n, d=6, c=4, seed=0, dtype=np.float64):
    """Continuous, overlapping classes: distance ties have probability zero."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    centers = rng.standard_normal((c, d)) * 1.5
    return (centers[y] + rng.standard_normal((n, d))).astype(dtype), y


# --------------------------------------------------------------------------- plain-loop references

def vote_loop(labels):
    """The course's rule, one row at a time: most votes, ties to the smallest label."""
    counts = Counter(int(v) for v in labels)
    top = max(counts.values())
    return min(c for c, n in counts.items() if n == top)


def knn_predict_loop(X_train, y_train, X_test, k, metric):
    """Distances by a loop over test rows, neighbours by a stable sort, then the vote."""
    preds = []
    for x in X_test:
        diff = X_train.astype(np.float64) - x.astype(np.float64)
        d = np.abs(diff).sum(axis=1) if metric == "l1" else np.sqrt((diff ** 2).sum(axis=1))
        preds.append(vote_loop(y_train[np.argsort(d, kind="stable")[:k]]))
    return np.array(preds)


# --------------------------------------------------------------------------- distances

@pytest.mark.parametrize("chunk_size", [1, 7, None], ids=lambda c: f"chunk={c}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_distances_match_scipy_and_sklearn(metric, dtype, chunk_size):
    rng = np.random.default_rng(1)
    A = (rng.standard_normal((23, 40)) * 50 + 100).astype(dtype)
    B = (rng.standard_normal((31, 40)) * 50 + 100).astype(dtype)
    got = pairwise_distances(A, B, metric, chunk_size=chunk_size)
    exact = cdist(A.astype(np.float64), B.astype(np.float64), SCIPY_METRIC[metric])
    assert got.shape == (23, 31) and got.dtype == np.float64
    np.testing.assert_allclose(got, exact, rtol=1e-6)
    np.testing.assert_allclose(got, sk_pairwise_distances(A, B, metric=SK_METRIC[metric]), rtol=1e-6)


def test_l2_of_duplicates_is_clamped_at_zero_not_nan():
    rng = np.random.default_rng(2)
    B = rng.uniform(0, 255, (10, 3072)).astype(np.float32)          # CIFAR-sized rows, large norms
    d = pairwise_distances(B, B, "l2")
    assert np.isfinite(d).all() and (d >= 0).all()
    # the expansion's rounding leaves at most ~sqrt(eps)·‖b‖ on the diagonal; off-diagonal is exact to 1e-6
    norms = np.linalg.norm(B.astype(np.float64), axis=1)
    assert (np.diag(d) <= 1e-6 * norms).all()
    off = ~np.eye(10, dtype=bool)
    np.testing.assert_allclose(d[off], cdist(B.astype(np.float64), B.astype(np.float64))[off], rtol=1e-6)


def test_blocks_never_exceed_chunk_size_and_cover_every_row():
    A, _ = blobs(50)
    B, _ = blobs(20, seed=1)
    rows = [(r.start, r.stop, blk.shape) for r, blk in distance_blocks(A, B, "l2", chunk_size=8)]
    assert all(stop - start <= 8 and shape == (stop - start, 20) for start, stop, shape in rows)
    assert [r[0] for r in rows] == list(range(0, 50, 8)) and rows[-1][1] == 50


# --------------------------------------------------------------------------- neighbours and vote

@pytest.mark.parametrize("k", [1, 2, 5, 9, 12])
def test_nearest_equals_stable_argsort_even_with_many_ties(k):
    dists = np.random.default_rng(k).integers(0, 4, (30, 12)).astype(np.float64)   # ties everywhere
    np.testing.assert_array_equal(nearest(dists, k), np.argsort(dists, axis=1, kind="stable")[:, :k])


@pytest.mark.parametrize("k", [1, 2, 4, 6])
def test_majority_vote_breaks_ties_toward_the_smallest_label(k):
    labels = np.random.default_rng(k).integers(0, 3, (200, k))
    np.testing.assert_array_equal(majority_vote(labels, 3), [vote_loop(row) for row in labels])


def test_tie_rule_example():
    # two votes each for classes 2 and 1, one for 0: the smaller of the tied labels (1) wins
    assert majority_vote([[2, 1, 2, 0, 1]], 3).tolist() == [1]


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("k", [1, 3, 4, 8])
def test_predictions_match_loop_reference_with_integer_pixels(metric, k):
    # small-integer "pixels": many exact distance ties and vote ties, resolved by the documented rules
    rng = np.random.default_rng(k)
    X_train = rng.integers(0, 3, (60, 5)).astype(np.float32)
    y_train = rng.integers(0, 4, 60)
    X_test = rng.integers(0, 3, (40, 5)).astype(np.float32)
    got = knn_predict(X_train, y_train, X_test, k, metric, chunk_size=7)
    np.testing.assert_array_equal(got, knn_predict_loop(X_train, y_train, X_test, k, metric))


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_predictions_match_sklearn_where_votes_do_not_tie(metric, k):
    X_train, y_train = blobs(300, seed=3)
    X_test, _ = blobs(120, seed=4)
    ref = KNeighborsClassifier(n_neighbors=k, metric=SK_METRIC[metric], algorithm="brute").fit(X_train, y_train)
    proba = ref.predict_proba(X_test)
    no_tie = (np.sort(proba, axis=1)[:, -1] > np.sort(proba, axis=1)[:, -2]) if k > 1 else np.ones(120, bool)
    got = knn_predict(X_train, y_train, X_test, k, metric)
    assert no_tie.mean() > 0.7
    np.testing.assert_array_equal(got[no_tie], ref.predict(X_test)[no_tie])


# --------------------------------------------------------------------------- cross-validation

@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_cross_validation_matches_sklearn_folds(metric):
    X, y = blobs(250, seed=5)
    ks = [1, 3, 7, 20]
    got = cross_validate_k(X, y, ks, folds=5, metric=metric, seed=11)
    folds = StratifiedKFold(5, shuffle=True, random_state=11)
    for k in ks:
        clf = KNeighborsClassifier(n_neighbors=k, metric=SK_METRIC[metric], algorithm="brute")
        expected = [clf.fit(X[tr], y[tr]).score(X[va], y[va]) for tr, va in folds.split(X, y)]
        np.testing.assert_allclose(got[k], expected, atol=1.5 / 50)   # at most one vote tie per fold


def test_cross_validation_equals_separate_fits_per_k_exactly():
    # reusing one sort for every k must give what fitting each k alone gives
    X, y = blobs(120, seed=6)
    got = cross_validate_k(X, y, [1, 2, 6], folds=4, seed=3)
    folds = StratifiedKFold(4, shuffle=True, random_state=3)
    for k in (1, 2, 6):
        expected = [np.mean(knn_predict_loop(X[tr], y[tr], X[va], k, "l2") == y[va])
                    for tr, va in folds.split(X, y)]
        np.testing.assert_allclose(got[k], expected)


def test_best_k_takes_the_highest_mean_and_the_smaller_k_on_ties():
    assert best_k({3: [0.5, 0.5], 1: [0.25, 0.75], 5: [0.25, 0.25]}) == 1   # 1 and 3 tie at 0.5
    assert best_k({10: [0.5], 3: [0.2], 7: [0.6]}) == 7


# --------------------------------------------------------------------------- estimator

# every check applies and passes: no expected_failed_checks (the pandas / array-API checks skip
# themselves when those packages are absent)
@parametrize_with_checks([KNearestNeighbor(), KNearestNeighbor(k=1, metric="l1", chunk_size=3)])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_estimator_probabilities_and_string_labels_match_sklearn(metric):
    X_train, y_idx = blobs(200, seed=7)
    names = np.array(["cat", "dog", "frog", "ship"])
    X_test, _ = blobs(80, seed=8)
    ours = KNearestNeighbor(k=7, metric=metric).fit(X_train, names[y_idx])
    ref = KNeighborsClassifier(7, metric=SK_METRIC[metric], algorithm="brute").fit(X_train, names[y_idx])
    assert ours.classes_.tolist() == ref.classes_.tolist()
    np.testing.assert_allclose(ours.predict_proba(X_test), ref.predict_proba(X_test))
    assert ours.score(X_test, ref.predict(X_test)) > 0.95


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, error", [
    (lambda: pairwise_distances(np.ones((2, 3)), np.ones((2, 4))), InputError),
    (lambda: pairwise_distances(np.ones((2, 3)), np.ones((2, 3)), metric="cosine"), ParameterError),
    (lambda: pairwise_distances([[np.nan, 1.0]], [[1.0, 1.0]]), InputError),
    (lambda: pairwise_distances(np.ones((2, 3)), np.ones((2, 3)), chunk_size=0), ParameterError),
    (lambda: knn_predict(np.ones((3, 2)), [0, 1, 0], np.ones((1, 2)), k=4), ParameterError),
    (lambda: knn_predict(np.ones((3, 2)), [0.5, 1, 0], np.ones((1, 2))), LabelError),
    (lambda: knn_predict(np.ones((3, 2)), [0, -1, 0], np.ones((1, 2))), LabelError),
    (lambda: cross_validate_k(*blobs(40), ks=[1, 100]), ParameterError),
    (lambda: cross_validate_k(*blobs(40), ks=[]), ParameterError),
    (lambda: cross_validate_k(*blobs(40), ks=[1], folds=1), ParameterError),
    (lambda: KNearestNeighbor(k=0).fit(*blobs(10)), ParameterError),
    (lambda: KNearestNeighbor(k=20).fit(*blobs(10)), ParameterError),
    (lambda: KNearestNeighbor(metric="cos").fit(*blobs(10)), ParameterError),
    (lambda: KNearestNeighbor().fit(*blobs(10)).predict(np.ones((2, 3))), InputError),
], ids=["feature-mismatch", "bad-metric", "nan", "chunk-0", "k>n", "float-labels", "negative-label",
        "cv-k>fold", "cv-no-k", "cv-1-fold", "est-k0", "est-k>n", "est-metric", "est-features"])
def test_user_errors_raise_linclass_errors_that_name_the_fix(call, error):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, LinclassError) and len(str(info.value)) > 20


# --------------------------------------------------------------------------- command line

def _load_dataset():
    import linclass.datasets as datasets

    if not hasattr(datasets, "load_dataset"):
        pytest.skip("linclass.datasets.load_dataset is not available yet")
    return datasets.load_dataset


def test_cli_cross_validates_and_tests_like_sklearn_on_digits(tmp_path):
    import json

    from linclass.cli import main
    from linclass.datasets.splits import subset

    load_dataset = _load_dataset()
    out = tmp_path / "run"
    args = ["knn", "--k", "1,3,5,8", "--folds", "4", "--train-size", "800", "--test-size", "200",
            "--seed", "2", "--out", str(out), "--json"]
    assert main(args) == 0
    report = json.loads((out / "knn.json").read_text())
    assert (out / "knn_cv.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the same data, then scikit-learn's cross-validation and classifier as the reference
    ds = load_dataset("digits", seed=2)
    X_train, y_train = subset(np.concatenate([ds.X_train, ds.X_val]), np.concatenate([ds.y_train, ds.y_val]),
                              800, 2)
    X_test, y_test = subset(ds.X_test, ds.y_test, 200, 2)
    X_train, X_test = X_train.reshape(800, -1).astype(float), X_test.reshape(200, -1).astype(float)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=2).split(X_train, y_train))
    means = {}
    for k in (1, 3, 5, 8):
        clf = KNeighborsClassifier(k, algorithm="brute")
        expected = [clf.fit(X_train[tr], y_train[tr]).score(X_train[va], y_train[va]) for tr, va in folds]
        np.testing.assert_allclose(report["cross_validation"][str(k)]["folds"], expected, atol=1.5 / 200)
        means[k] = np.mean(report["cross_validation"][str(k)]["folds"])
    assert report["best_k"] == max(means, key=lambda k: (means[k], -k))
    ref = KNeighborsClassifier(report["best_k"], algorithm="brute").fit(X_train, y_train)
    assert abs(report["test_accuracy"] - ref.score(X_test, y_test)) <= 1.5 / 200
    assert report["n_train"] == 800 and report["n_test"] == 200


@pytest.mark.parametrize("argv", [["--k", "1,x"], ["--k", "0,3"], ["--k", "1,3000"], ["--folds", "1"],
                                  ["--train-size", "0"]], ids=["not-int", "zero", "k>fold", "one-fold", "size-0"])
def test_cli_refuses_bad_options_with_exit_code_2(argv, tmp_path, capsys):
    from linclass.cli import main

    _load_dataset()
    assert main(["knn", "--out", str(tmp_path), *argv]) == 2
    assert "linclass knn: error:" in capsys.readouterr().err


CIFAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10-jpg.tar.gz"


@pytest.mark.cifar
@pytest.mark.slow
@pytest.mark.skipif(not CIFAR.is_file(), reason=f"CIFAR-10 JPEG copy not found at {CIFAR}")
def test_cifar10_with_5000_training_images_reaches_the_lectures_25_to_30_percent(tmp_path):
    import json

    from linclass.cli import main

    _load_dataset()
    out = tmp_path / "cifar"
    assert main(["knn", "--data", str(CIFAR), "--k", "1,5,10,20", "--test-size", "500", "--out", str(out)]) == 0
    report = json.loads((out / "knn.json").read_text())
    assert report["n_train"] == 5000 and report["n_features"] == 3072
    assert 0.25 <= report["test_accuracy"] <= 0.31        # the course: about 28% (JPEG copy: a little lower)
