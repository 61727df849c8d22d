"""Hyperparameter search: settings, scores vs a manual loop and scikit-learn's cross_val_score, results that do
not depend on n_jobs or the backend (loky, a local Dask cluster), Ctrl-C, divergence, and `linclass tune`."""

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

from linclass.classifier import Classifier
from linclass.cli import main
from linclass.errors import InputError, ParameterError
from linclass.estimators import LinearSVM, SoftmaxClassifier
from linclass.tune import grid, log_uniform, search, trial_seed

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.usefixtures("one_blas_thread")]
CIFAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10-jpg.tar.gz"


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[:900], y[:900], X[900:1300], y[900:1300]


SETTINGS = grid(learning_rate=[1e-3, 1e-1], alpha=[1e-4, 1e-1])
ESTIMATOR = LinearSVM(loss="svm", optimizer="sgd", max_iter=5, batch_size=64)


def _comparable(result):
    return [{**t.to_dict(), "seconds": None, "cpu_seconds": None} for t in result.trials]


# --------------------------------------------------------------------------- settings

def test_grid_is_the_cartesian_product_first_key_slowest():
    values = {"learning_rate": [1, 2, 3], "alpha": [4, 5], "batch_size": [6]}
    expected = [dict(zip(values, combo)) for combo in itertools.product(*values.values())]
    assert grid(**values) == expected


def test_log_uniform_draws_inside_the_range_evenly_in_log_scale_and_repeats_with_the_seed():
    settings = log_uniform(4000, {"learning_rate": (1e-4, 1e-1)}, seed=5, choices={"batch_size": [32, 64]})
    lrs = np.array([s["learning_rate"] for s in settings])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    counts = np.histogram(np.log10(lrs), bins=3, range=(-4, -1))[0]     # one decade per bin
    assert np.all(np.abs(counts - 4000 / 3) < 4 * math.sqrt(4000 / 3))
    assert {s["batch_size"] for s in settings} == {32, 64}
    assert settings == log_uniform(4000, {"learning_rate": (1e-4, 1e-1)}, seed=5, choices={"batch_size": [32, 64]})


def test_trial_seeds_differ_by_index_and_repeat_by_seed():
    seeds = [trial_seed(0, i) for i in range(50)]
    assert len(set(seeds)) == 50 and seeds == [trial_seed(0, i) for i in range(50)]
    assert trial_seed(1, 0) != trial_seed(0, 0)


# --------------------------------------------------------------------------- the search

def test_validation_scores_match_a_manual_fit_and_the_best_is_the_argmax(data):
    X, y, X_val, y_val = data
    result = search(ESTIMATOR, SETTINGS, X, y, X_val=X_val, y_val=y_val, seed=7)
    manual = [clone(ESTIMATOR).set_params(**s, random_state=trial_seed(7, i)).fit(X, y).score(X_val, y_val)
              for i, s in enumerate(SETTINGS)]
    assert [t.score for t in result.trials] == manual
    assert result.best.index == int(np.argmax(manual))
    assert result.best_estimator.score(X_val, y_val) == max(manual)


def test_cv_scores_match_sklearn_cross_val_score(data):
    X, y, _, _ = data
    result = search(ESTIMATOR, SETTINGS, X, y, cv=3, seed=2)
    folds = StratifiedKFold(3, shuffle=True, random_state=2)
    for i, s in enumerate(SETTINGS):
        ref = cross_val_score(clone(ESTIMATOR).set_params(**s, random_state=trial_seed(2, i)), X, y, cv=folds)
        np.testing.assert_allclose(result.trials[i].fold_scores, ref)
    best = result.best
    refit = clone(ESTIMATOR).set_params(**best.params, random_state=best.seed).fit(X, y)
    np.testing.assert_array_equal(result.best_estimator.coef_, refit.coef_)


def test_results_do_not_depend_on_the_number_of_jobs(data):
    X, y, X_val, y_val = data
    one = search(ESTIMATOR, SETTINGS, X, y, X_val=X_val, y_val=y_val, seed=1, n_jobs=1)
    two = search(ESTIMATOR, SETTINGS, X, y, X_val=X_val, y_val=y_val, seed=1, n_jobs=2)
    assert _comparable(one) == _comparable(two)
    np.testing.assert_array_equal(one.best_estimator.coef_, two.best_estimator.coef_)


def test_dask_local_cluster_gives_the_results_of_loky(data):
    distributed = pytest.importorskip("distributed")
    X, y, X_val, y_val = data
    loky = search(ESTIMATOR, SETTINGS, X, y, cv=3, seed=4, n_jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask = search(ESTIMATOR, SETTINGS, X, y, cv=3, seed=4, dask=cluster.scheduler_address)
    assert _comparable(dask) == _comparable(loky)
    np.testing.assert_array_equal(dask.best_estimator.coef_, loky.best_estimator.coef_)


class _Interrupting(SoftmaxClassifier):
    """A softmax classifier whose fit is 'interrupted by Ctrl-C' at one learning rate."""

    def fit(self, X, y):
        if self.learning_rate == 0.5:
            raise KeyboardInterrupt
        return super().fit(X, y)


def test_ctrl_c_keeps_the_finished_trials(data):
    X, y, X_val, y_val = data
    settings = grid(learning_rate=[0.01, 0.1, 0.5, 1.0], alpha=[1e-3])
    result = search(_Interrupting(optimizer="sgd", max_iter=3), settings, X, y, X_val=X_val, y_val=y_val, n_jobs=1)
    assert result.interrupted and [t.index for t in result.trials] == [0, 1]
    assert result.best is not None and result.to_dict()["finished"] == 2


def test_diverged_trials_are_recorded_and_grey_in_the_heat_map(data):
    X, y, X_val, y_val = data
    settings = grid(learning_rate=[0.01, 1e9], alpha=[1e-4, 1e-2])
    # no penalty: with one, stable_step would refuse lr 1e9 before any trial runs
    est = SoftmaxClassifier(optimizer="sgd", penalty=None, max_iter=3)
    result = search(est, settings, X, y, X_val=X_val, y_val=y_val)
    assert [t.status for t in result.trials] == ["ok", "ok", "diverged", "diverged"]
    lrs, regs, acc = result.heatmap()
    assert lrs.tolist() == [0.01, 1e9] and regs.tolist() == [1e-4, 1e-2]
    assert np.isnan(acc[1]).all() and acc[0].tolist() == [t.score for t in result.trials[:2]]
    assert result.to_dict()["trials"][2]["val_accuracy"] is None


def test_heat_map_cell_is_the_best_over_the_other_parameters(data):
    X, y, X_val, y_val = data
    settings = grid(learning_rate=[0.01, 0.1], alpha=[1e-4, 1e-1], batch_size=[32, 256])
    result = search(SoftmaxClassifier(optimizer="sgd", max_iter=2), settings, X, y, X_val=X_val, y_val=y_val)
    lrs, regs, acc = result.heatmap()
    for i, j in np.ndindex(acc.shape):
        scores = [t.score for t in result.trials
                  if t.params["learning_rate"] == lrs[i] and t.params["alpha"] == regs[j]]
        assert acc[i, j] == max(scores)


@pytest.mark.parametrize("call, error, match", [
    (lambda d: search(ESTIMATOR, [{"lr": 1}], d[0], d[1], cv=3), ParameterError, "has no parameter lr"),
    (lambda d: search(ESTIMATOR, [{"learning_rate": -1}], d[0], d[1], cv=3), ParameterError, "learning_rate"),
    (lambda d: search(ESTIMATOR, SETTINGS, d[0], d[1]), InputError, "cv=K"),
    (lambda d: search(ESTIMATOR, SETTINGS, d[0], d[1], cv=3, dask="spark"), ParameterError, "tcp://host:8786"),
    (lambda d: search(ESTIMATOR, [], d[0], d[1], cv=3), ParameterError, "no settings"),
    (lambda d: log_uniform(3, {"alpha": (0, 1)}), ParameterError, "0 < low"),
], ids=["unknown-param", "bad-value", "no-validation", "dask", "empty", "range"])
def test_search_errors_name_the_fix(call, error, match, data):
    with pytest.raises(error, match=match):
        call(data)


# --------------------------------------------------------------------------- the command line

def _run(capsys, *argv):
    code = main(["tune", *argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_cli_grid_writes_table_heat_map_and_a_best_model_that_reproduces_its_score(capsys, tmp_path):
    out = _run(capsys, "--lr", "1e-3,1e-1", "--reg-strength", "1e-4,1e-2", "--epochs", "3", "--jobs", "2",
               "--out", str(tmp_path))
    assert out["finished"] == out["n_settings"] == 4 and not out["interrupted"]
    best = max((t for t in out["trials"] if t["status"] == "ok"), key=lambda t: (t["val_accuracy"], -t["index"]))
    assert out["best"]["index"] == best["index"]
    assert Path(out["heatmap_path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    clf = Classifier.load(out["model_path"])
    from linclass.datasets import load_dataset
    ds = load_dataset("digits", seed=0)
    assert np.mean(clf.predict(ds.X_val) == ds.y_val) == pytest.approx(best["val_accuracy"], abs=1e-6)
    assert np.mean(clf.predict(ds.X_test) == ds.y_test) == pytest.approx(out["test_accuracy"])
    assert json.loads((tmp_path / "search.json").read_text())["best"] == out["best"]


def test_cli_random_search_with_cv_and_an_extra_parameter(capsys, tmp_path):
    out = _run(capsys, "--loss", "svm", "--random", "5", "--lr-range", "1e-3:1e-1", "--reg-range", "1e-5:1e-2",
               "--param", "batch_size=32,128", "--cv", "3", "--epochs", "2", "--out", str(tmp_path))
    assert out["scoring"] == "3-fold CV" and len(out["trials"]) == 5
    for t in out["trials"]:
        assert 1e-3 <= t["params"]["learning_rate"] <= 1e-1 and 1e-5 <= t["params"]["alpha"] <= 1e-2
        assert t["params"]["batch_size"] in (32, 128) and len(t["fold_accuracies"]) == 3
    assert Path(out["model_path"]).exists() and Path(out["heatmap_path"]).exists()


@pytest.mark.parametrize("argv, match", [
    (["--random", "3", "--lr", "1e-3"], "drop --lr"),
    (["--lr", "fast"], "--lr must be numbers"),
    (["--param", "batch_size"], "NAME=VALUES"),
], ids=["random-and-grid", "bad-lr", "bad-param"])
def test_cli_errors_exit_2_with_the_fix(capsys, argv, match):
    assert main(["tune", *argv]) == 2
    assert match in capsys.readouterr().err


@pytest.mark.cifar
@pytest.mark.slow
def test_cli_on_cifar10_subset(capsys, tmp_path):
    if not CIFAR.exists():
        pytest.skip(f"CIFAR-10 JPEG copy not found at {CIFAR}")
    out = _run(capsys, "--data", str(CIFAR), "--subset", "2000", "--val-size", "500", "--loss", "svm",
               "--lr", "1e-4,1e-3", "--reg-strength", "1e-2", "--epochs", "2", "--jobs", "2", "--out", str(tmp_path))
    assert out["finished"] == 2 and out["best"]["val_accuracy"] > 0.15     # 10 classes: chance is 0.10


@pytest.mark.slow
def test_cli_ctrl_c_reports_and_saves_the_finished_trials(tmp_path):
    """A real SIGINT to the process group (parent and loky workers), as Ctrl-C in a terminal sends."""
    import os
    import signal
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "linclass", "tune", "--lr", "1e-4,1e-3,1e-2,1e-1", "--reg-strength",
           "1e-5,1e-4,1e-3,1e-2,1e-1,1", "--epochs", "1500", "--jobs", "2", "--out", str(tmp_path), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(20)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    data = json.loads(out)
    assert data["interrupted"] and data["finished"] < data["n_settings"] == 24, err
    saved = json.loads((tmp_path / "search.json").read_text())
    assert [t["index"] for t in saved["trials"]] == [t["index"] for t in data["trials"]]


def test_pipelines_are_searched_with_seeded_steps(data):
    from sklearn.pipeline import make_pipeline

    X, y, X_val, y_val = data
    pipe = make_pipeline(StandardScaler(), SoftmaxClassifier(optimizer="sgd", max_iter=3))
    settings = grid(softmaxclassifier__learning_rate=[0.01, 0.1])
    result = search(pipe, settings, X, y, X_val=X_val, y_val=y_val, seed=3)
    manual = [clone(pipe).set_params(**s, softmaxclassifier__random_state=trial_seed(3, i)).fit(X, y)
              .score(X_val, y_val) for i, s in enumerate(settings)]
    assert [t.score for t in result.trials] == manual
