"""Linear probes: the chunked objective against the lecture's Objective, the optimum against scikit-learn,
embedding files (shards, .npz, float16, string labels, a class missing from validation, corrupt files),
the regularization path, the torch and Dask backends, and the command line."""

import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from linclass import Objective
from linclass.classifier import Classifier
from linclass.cli import main
from linclass.errors import DataError, LabelError, ParameterError
from linclass.gradcheck import numerical_gradient
from linclass.optim import lbfgs
from linclass.optim.chunked import SoftmaxL2
from linclass.probe import fit, open_split, parse_reg_path, synthetic
from linclass.probe.dask_backend import DaskSoftmaxL2
from linclass.probe.torch_backend import TorchSoftmaxL2
from linclass.regularizers import L2
from linclass.rows import files as probe_data
from linclass.rows.source import feature_stats

N, D, C = 600, 12, 4


pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def data():
    return synthetic.embeddings(N, D, C, seed=0, separation=0.5, dtype=np.float64)


def reference_optimum(X, y, lam):
    """scikit-learn's LogisticRegression at C = 1/(2Nλ), our objective at its solution (float64)."""
    clf = LogisticRegression(C=1 / (2 * lam * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    return Objective("softmax", L2(), lam)({"W": clf.coef_.T, "b": clf.intercept_}, X, y).loss


# ---------------------------------------------------------------- the chunked objective

@pytest.mark.parametrize("chunk_rows, threads", [(N, 1), (64, 1), (50, 2)])
def test_chunked_objective_equals_the_lectures_objective(data, chunk_rows, threads):
    X, y = data
    rng = np.random.default_rng(1)
    W, b = rng.standard_normal((D, C)), rng.standard_normal(C)
    ref = Objective("softmax", L2(), 0.01)({"W": W, "b": b}, X, y)
    loss, dW, db = SoftmaxL2(X, y, C, 0.01, dtype=np.float64, chunk_rows=chunk_rows, threads=threads)(W, b)
    assert loss == pytest.approx(ref.loss, rel=1e-12)
    np.testing.assert_allclose(dW, ref.grads["W"], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(db, ref.grads["b"], rtol=1e-10, atol=1e-13)


def test_standardization_folded_into_the_weights_is_the_objective_on_standardized_rows(data):
    X, y = data
    X = X * np.linspace(0.5, 20, D) + 3.0
    mu, sigma = X.mean(axis=0), X.std(axis=0)
    rng = np.random.default_rng(2)
    W, b = rng.standard_normal((D, C)), rng.standard_normal(C)
    ref = Objective("softmax", L2(), 0.1)({"W": W, "b": b}, (X - mu) / sigma, y)
    loss, dW, db = SoftmaxL2(X, y, C, 0.1, dtype=np.float64, shift=mu, scale=sigma, chunk_rows=100)(W, b)
    assert loss == pytest.approx(ref.loss, rel=1e-12)
    np.testing.assert_allclose(dW, ref.grads["W"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(db, ref.grads["b"], rtol=1e-9, atol=1e-12)


def test_chunked_gradient_matches_finite_differences(data):
    X, y = data
    ev = SoftmaxL2(X[:50], y[:50], C, 0.05, dtype=np.float64, chunk_rows=7)
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((D, C)), rng.standard_normal(C)
    _, dW, db = ev(W, b)
    np.testing.assert_allclose(dW, numerical_gradient(lambda: ev(W, b)[0], W), atol=1e-6)
    np.testing.assert_allclose(db, numerical_gradient(lambda: ev(W, b)[0], b), atol=1e-6)


def test_huge_scores_do_not_overflow():
    X = np.array([[1000.0, 0.0], [-1000.0, 0.0]])
    loss, dW, db = SoftmaxL2(X, np.array([0, 1]), 2, 0.0, dtype=np.float64)(np.eye(2), np.zeros(2))
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert loss == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------- the solver

def test_float32_lbfgs_reaches_scikit_learns_optimum_with_the_float64_finish(data):
    X, y = data
    lam = 1e-3
    result = lbfgs(Objective("softmax", L2(), lam), X.astype(np.float32), y,
                   {"W": np.zeros((D, C), np.float32), "b": np.zeros(C, np.float32)})
    assert result.converged
    assert result.params["W"].dtype == np.float32
    assert result.loss == pytest.approx(reference_optimum(X, y, lam), rel=1e-6)
    assert result.distance_bound == pytest.approx(result.grad_norm / (2 * lam), rel=0.5)


def test_relative_stopping_rule_is_met(data):
    X, y = data
    objective = Objective("softmax", L2(), 1e-2)
    result = lbfgs(objective, X, y, {"W": np.zeros((D, C)), "b": np.zeros(C)}, tol=1e-4)
    g0 = objective({"W": np.zeros((D, C)), "b": np.zeros(C)}, X, y).grads
    g = objective(result.params, X, y).grads
    largest = max(np.abs(v).max() for v in g.values())
    assert largest <= 1e-4 * max(np.abs(v).max() for v in g0.values())
    assert result.converged and result.evaluations >= result.n_iter


# ---------------------------------------------------------------- files

def save(directory, X, y):
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "X.npy", X)
    np.save(directory / "y.npy", y)
    return directory


def test_probe_reaches_scikit_learn_on_float16_files_with_string_labels(tmp_path, data):
    X, y = data
    names = np.array(["cat", "dog", "emu", "yak"])
    train = save(tmp_path / "train", X[:500].astype(np.float16), names[y[:500]])
    val_y = y[500:].copy()
    val_y[val_y == 3] = 2  # "yak" is absent from the validation split
    val = save(tmp_path / "val", X[500:].astype(np.float16), names[val_y])
    result = fit(train, val=val, reg_strength=1e-3)
    X16 = X[:500].astype(np.float16).astype(np.float64)
    assert result.best["objective"] == pytest.approx(reference_optimum(X16, y[:500], 1e-3), rel=1e-6)
    clf = result.classifier
    assert clf.class_names == ["cat", "dog", "emu", "yak"]
    predicted = np.array(clf.class_names)[clf.predict(X[500:].astype(np.float16))]
    assert result.best["val_accuracy"] == pytest.approx(np.mean(predicted == names[val_y]), abs=1e-9)


def test_shards_and_npz_give_the_same_fit_as_one_file(tmp_path):
    synthetic.write(tmp_path / "one", 900, 8, 3, seed=4, separation=0.6)
    synthetic.write(tmp_path / "shards", 900, 8, 3, seed=4, separation=0.6, shards=3)
    X, y = np.load(tmp_path / "one" / "X.npy"), np.load(tmp_path / "one" / "y.npy")
    np.savez(tmp_path / "train.npz", X=X, y=y)
    shards = open_split(tmp_path / "shards")
    assert shards.X.boundaries == (0, 300, 600, 900)
    objectives = [fit(p, reg_strength=1e-2, chunk_rows=128).best["objective"]
                  for p in (tmp_path / "one", tmp_path / "shards", tmp_path / "train.npz")]
    assert objectives == pytest.approx([reference_optimum(X.astype(np.float64), y, 1e-2)] * 3, rel=1e-6)


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "X.npy").write_bytes(b"not an array at all"), "not a valid .npy"),
    (lambda d: (d / "X.npy").write_bytes((d / "X.npy").read_bytes()[:200]), "truncated"),
    (lambda d: np.save(d / "y.npy", np.array([{"a": 1}] * 50, dtype=object)), "pickle"),
    (lambda d: np.save(d / "y.npy", np.zeros(7, int)), "7 labels for 50 rows"),
    (lambda d: np.save(d / "X.npy", np.zeros((50, 3), int)), "float16, float32 or float64"),
    (lambda d: (d / "X.npy").unlink(), "neither X.npy nor shards"),
], ids=["garbage", "truncated", "pickled-labels", "label-count", "int-X", "missing"])
def test_bad_files_give_one_line_errors(tmp_path, capsys, damage, message):
    d = save(tmp_path / "train", np.zeros((50, 3), np.float32), np.arange(50) % 2)
    damage(d)
    with pytest.raises(DataError, match=message):
        open_split(d)
    assert main(["probe", str(d), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message.split()[0] in err
    assert not (tmp_path / "out").exists()


def test_compressed_npz_is_refused_with_the_fix(tmp_path):
    np.savez_compressed(tmp_path / "t.npz", X=np.zeros((5, 2), np.float32), y=np.arange(5) % 2)
    with pytest.raises(DataError, match="savez"):
        open_split(tmp_path / "t.npz")


def test_validation_label_unknown_to_training_is_refused(tmp_path, data):
    X, y = data
    train = save(tmp_path / "train", X[:100], y[:100] % 2)
    val = save(tmp_path / "val", X[100:150], y[100:150])
    with pytest.raises(LabelError, match="does not have"):
        fit(train, val=val)


# ---------------------------------------------------------------- the path

def test_path_objectives_are_scikit_learns_and_the_best_validation_accuracy_is_kept(tmp_path, data):
    X, y = data
    lams = parse_reg_path("1e-4:1e-1:4")
    assert lams == pytest.approx([1e-1, 1e-2, 1e-3, 1e-4])
    result = fit(X[:400], y[:400], val=(X[400:], y[400:]), reg_path=lams)
    for row, lam in zip(result.path, lams):
        assert row["reg_strength"] == lam
        assert row["objective"] == pytest.approx(reference_optimum(X[:400], y[:400], lam), rel=1e-6)
    accuracies = [r["val_accuracy"] for r in result.path]
    assert result.best["reg_strength"] == lams[int(np.argmax(accuracies))]
    W = result.classifier.model.W.astype(np.float64)
    assert result.best["val_accuracy"] == np.mean((X[400:] @ W + result.classifier.model.b).argmax(1) == y[400:])


@pytest.mark.parametrize("text", ["1e-3", "1:0.1:3", "a:b:c", "1e-3:1e-1:0"])
def test_bad_reg_path_is_refused(text):
    with pytest.raises(ParameterError, match="LO:HI:K"):
        parse_reg_path(text)


def test_iteration_budget_gives_a_convergence_warning(data):
    X, y = data
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        result = fit(X, y, reg_strength=1e-4, max_iter=2)
    assert not result.best["converged"]


# ---------------------------------------------------------------- backends

def test_torch_backend_computes_the_same_objective_and_optimum(data):
    pytest.importorskip("torch")

    X, y = data
    rng = np.random.default_rng(5)
    W, b = rng.standard_normal((D, C)), rng.standard_normal(C)
    ours = TorchSoftmaxL2(X, y, C, 0.01, dtype=np.float64, chunk_rows=128)(W, b)
    ref = SoftmaxL2(X, y, C, 0.01, dtype=np.float64)(W, b)
    assert ours[0] == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-9, atol=1e-12)
    result = fit(X.astype(np.float32), y, reg_strength=1e-3, backend="torch")
    assert result.best["objective"] == pytest.approx(reference_optimum(X.astype(np.float32), y, 1e-3), rel=1e-6)


def test_cuda_without_a_gpu_is_refused_in_one_line(data):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    X, y = data
    with pytest.raises(ParameterError, match="no CUDA GPU"):
        fit(X, y, backend="torch", device="cuda")


def test_dask_map_reduce_reaches_the_same_optimum(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    synthetic.write(tmp_path / "train", 800, 10, 3, seed=6, separation=0.5, shards=2)
    split = open_split(tmp_path / "train")
    X, y = np.concatenate([p.array for p in split.X.parts]).astype(np.float64), split.y
    with distributed.Client(distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                                     dashboard_address=None)) as client:
        result = fit(tmp_path / "train", reg_strength=1e-2, dask=client, chunk_rows=150)
    assert result.best["objective"] == pytest.approx(reference_optimum(X, y, 1e-2), rel=1e-6)


def unaligned(a):
    """A copy of ``a`` starting one byte into its buffer, as arrays received over the wire may."""
    out = np.empty(a.nbytes + 1, np.uint8)[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def test_dask_blocks_of_an_unaligned_dask_array_are_placed_aligned_and_give_the_same_terms_and_accuracy(data):
    distributed = pytest.importorskip("dask.distributed")
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    X, y = data
    assert not unaligned(X).flags.aligned  # what a block that came over the wire can look like
    Xd = da.concatenate([da.from_delayed(dask.delayed(unaligned)(X[a:a + 250]), shape=(min(250, N - a), D),
                                         dtype=X.dtype) for a in range(0, N, 250)])
    rng = np.random.default_rng(7)
    W, b = rng.standard_normal((D, C)), rng.standard_normal(C)
    with distributed.Client(distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                                     dashboard_address=None)) as client:
        evaluator = DaskSoftmaxL2(client, Xd, y, C, 0.01, dtype=np.float64)
        blocks = client.gather(evaluator.blocks)
        ours = evaluator(W, b)
        right = evaluator.accuracy(W, b)  # counted on the workers
    assert [len(rows) for rows, _ in blocks] == [250, 250, 100]
    assert all(rows.flags.aligned and rows.flags.c_contiguous for rows, _ in blocks)
    np.testing.assert_array_equal(np.concatenate([rows for rows, _ in blocks]), X)
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in blocks]), y)
    ref = Objective("softmax", L2(), 0.01)({"W": W, "b": b}, X, y)
    assert ours[0] == pytest.approx(ref.loss, rel=1e-12)
    np.testing.assert_allclose(ours[1], ref.grads["W"], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ours[2], ref.grads["b"], rtol=1e-10, atol=1e-13)
    assert right == np.mean(np.argmax(X @ W + b, axis=1) == y)


# ---------------------------------------------------------------- command line

def test_cli_writes_a_model_metrics_and_report(tmp_path, capsys):
    synthetic.write(tmp_path / "train", 600, 8, 3, seed=7, separation=0.5)
    synthetic.write(tmp_path / "val", 200, 8, 3, seed=7, separation=0.5, split=1)
    synthetic.write(tmp_path / "test", 200, 8, 3, seed=7, separation=0.5, split=2)
    out = tmp_path / "out"
    code = main(["probe", str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--test", str(tmp_path / "test"),
                 "--reg-path", "1e-4:1e-1:3", "--standardize", "--out", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("objective", "grad_norm", "iterations", "seconds", "val_accuracy", "test_accuracy", "path", "best"):
        assert key in summary
    assert len(summary["path"]) == 3
    assert summary["best"]["reg_strength"] in [r["reg_strength"] for r in summary["path"]]
    clf = Classifier.load(out / "model.npz")
    X, y = np.load(tmp_path / "test" / "X.npy"), np.load(tmp_path / "test" / "y.npy")
    assert np.mean(clf.predict(X) == y) == pytest.approx(summary["test_accuracy"], abs=1e-9)
    assert json.loads((out / "metrics.json").read_text())["objective"] == summary["objective"]
    assert "Regularization path" in (out / "report.html").read_text()


def test_cli_refuses_a_path_without_validation(tmp_path, capsys):
    synthetic.write(tmp_path / "train", 100, 4, 2)
    assert main(["probe", str(tmp_path / "train"), "--reg-path", "1e-4:1e-1:3", "--out", str(tmp_path / "o")]) == 2
    assert "--val" in capsys.readouterr().err


def test_warnings_reach_the_json(tmp_path, capsys):
    synthetic.write(tmp_path / "train", 300, 6, 3, separation=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["probe", str(tmp_path / "train"), "--max-iter", "1", "--reg-strength", "1e-6",
                     "--out", str(tmp_path / "o"), "--json"]) == 0
    assert any("max_iter=1" in w for w in json.loads(capsys.readouterr().out)["warnings"])


def test_rescaled_lbfgs_reaches_the_raw_optimum_in_fewer_iterations(data):
    X, y = data[0][:300], data[1][:300]
    X = X * np.geomspace(0.2, 20, D) + 5.0  # badly scaled features with a large mean
    lam = 1e-3
    start = {"W": np.zeros((D, C)), "b": np.zeros(C)}
    plain = lbfgs(Objective("softmax", L2(), lam), X, y, start, max_iter=20_000)
    scaled = lbfgs(Objective("softmax", L2(), lam), X, y, start, rescale=True)
    ref = reference_optimum(X, y, lam)
    assert scaled.loss == pytest.approx(ref, rel=1e-6) and plain.loss == pytest.approx(ref, rel=1e-6)
    assert scaled.n_iter < plain.n_iter / 2
    g = Objective("softmax", L2(), lam)(scaled.params, X, y).grads
    assert scaled.grad_norm == pytest.approx(np.sqrt(sum(np.sum(v ** 2) for v in g.values())), rel=1e-6)


def test_feature_stats_keep_their_digits_under_a_large_mean():
    rng = np.random.default_rng(8)
    X = 1e6 + rng.standard_normal((5000, 3)) * [1e-2, 1.0, 0.0]
    mean, std = feature_stats(X, chunk_rows=333)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std[:2], X.std(axis=0)[:2], rtol=1e-6)
    assert std[2] == 1.0  # a constant feature is left as it is


@pytest.mark.parametrize("budget, released", [(10 ** 9, False), (0, True)])
def test_pages_are_released_only_beyond_the_resident_budget(tmp_path, monkeypatch, budget, released):
    synthetic.write(tmp_path / "train", 500, 8, 3)
    monkeypatch.setattr(probe_data, "RESIDENT_BYTES", budget)
    split = open_split(tmp_path / "train")
    calls = []
    monkeypatch.setattr(probe_data.Part, "release", lambda self, start, stop: calls.append((start, stop)))
    SoftmaxL2(split.X, split.y, 3, chunk_rows=200, threads=1)(np.ones((8, 3)), np.zeros(3))
    assert calls == ([(0, 200), (200, 400), (400, 500)] if released else [])
