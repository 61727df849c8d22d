"""No silent failure: provably unstable steps are refused before a run starts (CLI, estimators, tune),
and a run that ends at or below chance or above its initial loss says so (text, --json, tune status)."""

import json
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from linclass import ParameterError
from linclass._checks import STEP_LIMITS, run_warnings, stable_step
from linclass.cli import main
from linclass.errors import TrainingWarning
from linclass.estimators import SoftmaxClassifier
from linclass.optim import apply_updates, get_optimizer
from linclass.regularizers import L1, L2, ElasticNet
from linclass.tune import grid, search

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.usefixtures("one_blas_thread")]


def _distances(name: str, lr: float, lam: float, steps: int = 200) -> np.ndarray:
    """|w_t| when the project's optimizer minimizes λ w² from w = 1 (minimum at 0): an independent run."""
    opt = get_optimizer(name, learning_rate=lr)
    params = {"W": np.array([[1.0]])}
    state = opt.init(params)
    out = []
    for _ in range(steps):
        updates, state = opt.update({"W": 2 * lam * params["W"]}, state, params)
        params = apply_updates(params, updates)
        out.append(float(params["W"][0, 0]))
    return np.array(out)


@pytest.mark.parametrize("name", list(STEP_LIMITS))
def test_the_refused_bound_is_where_the_optimizer_stops_converging(name):
    """Just below the bound on lr·2λ the weight decays; at and above it, it never does (SGD: it flips sign)."""
    lam = 0.5
    bound = STEP_LIMITS[name](0.9)
    below = _distances(name, 0.98 * bound / (2 * lam), lam)
    assert abs(below[-1]) < 0.05
    stable_step(name, 0.98 * bound / (2 * lam), L2(), lam)                       # accepted
    lr = 1.02 * (2 if name == "sgd" else 1) * bound / (2 * lam)                   # SGD diverges at twice its bound
    assert abs(_distances(name, lr, lam)[-1]) > 1
    with pytest.raises(ParameterError, match="lr"):
        stable_step(name, 1.02 * bound / (2 * lam), L2(), lam)


def test_sgd_overshoots_every_step_from_lr_2_lambda_1():
    w = _distances("sgd", 1.5 / (2 * 0.5), 0.5, steps=6)
    assert np.all(np.sign(w[1:]) != np.sign(w[:-1]))                             # flips sign every step
    assert np.all(np.sign(_distances("sgd", 0.9, 0.5, steps=6)) > 0)


@pytest.mark.parametrize("optimizer, reg, lam", [("adam", L2(), 100.0), ("rmsprop", L2(), 100.0),
                                                 ("sgd", L1(), 100.0), ("sgd", None, 0.0), ("lbfgs", L2(), 100.0)])
def test_nothing_provable_is_not_refused(optimizer, reg, lam):
    stable_step(optimizer, 10.0, reg, lam)


def test_the_elastic_net_counts_its_l2_part():
    stable_step("sgd", 0.4, ElasticNet(beta=1.0), 1.0)                          # 2 · 0.4 · 1 · 1 < 1
    with pytest.raises(ParameterError, match="β = 3"):
        stable_step("sgd", 0.4, ElasticNet(beta=3.0), 1.0)


def test_run_warnings_name_chance_and_a_rising_loss():
    assert run_warnings(2.3, 0.5, 0.9, 0.1) == []
    chance, = run_warnings(2.3, 0.5, 0.1, 0.1)
    assert "chance" in chance and "10.0%" in chance
    rising, = run_warnings(2.3, 21.0, 0.6, 0.1)
    assert "above its initial" in rising and "learning rate" in rising


# --------------------------------------------------------------------------- command line

def test_train_refuses_a_provably_oscillating_step_with_exit_2(capsys, tmp_path):
    assert main(["train", "--lr", "0.1", "--reg-strength", "10", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "--lr 0.1" in err and "--reg-strength 10" in err and "below 0.05" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "model.npz").exists()


def test_a_run_that_gets_worse_ends_with_a_warning_in_text_and_json(capsys, tmp_path):
    bad = ["train", "--lr", "100", "--epochs", "3", "--subset", "600"]
    assert main([*bad, "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    assert "warning: the training objective ended at" in capsys.readouterr().out
    assert main([*bad, "--out", str(tmp_path / "b"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["warnings"] and "above its initial" in data["warnings"][0]
    assert data["final_loss"] > 0 and data["objective"] > 2.31                   # ln 10: the initial loss


def test_a_good_run_has_no_warnings(capsys, tmp_path):
    assert main(["train", "--epochs", "3", "--subset", "600", "--out", str(tmp_path / "ok"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


# --------------------------------------------------------------------------- estimators and tune

@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[:900], y[:900], X[900:1300], y[900:1300]


def test_estimator_refuses_the_same_step(digits):
    X, y, _, _ = digits
    with pytest.raises(ParameterError, match="learning_rate 0.1 with alpha 10"):
        SoftmaxClassifier(optimizer="sgd", learning_rate=0.1, alpha=10).fit(X, y)
    SoftmaxClassifier(learning_rate=0.1, alpha=10).fit(X, y)                       # L-BFGS has no step size


def test_estimator_warns_when_the_fit_made_things_worse(digits):
    X, y, _, _ = digits
    with pytest.warns(TrainingWarning, match="above its initial"):
        SoftmaxClassifier(optimizer="sgd", learning_rate=100, max_iter=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        SoftmaxClassifier(random_state=0).fit(X, y)


def test_tune_marks_a_bad_trial_failed_and_never_picks_it(digits):
    X, y, X_val, y_val = digits
    result = search(SoftmaxClassifier(optimizer="sgd", max_iter=2), grid(learning_rate=[0.01, 100.0], alpha=[1e-3]),
                    X, y, X_val=X_val, y_val=y_val, seed=0)
    assert [t.status for t in result.trials] == ["ok", "failed"]
    assert "above its initial" in result.trials[1].message
    assert result.best.index == 0 and result.to_dict()["trials"][1]["status"] == "failed"


def test_tune_refuses_a_provably_oscillating_setting_before_any_trial(digits):
    X, y, X_val, y_val = digits
    with pytest.raises(ParameterError, match="learning_rate 0.1 with alpha 10"):
        search(SoftmaxClassifier(optimizer="sgd", max_iter=2), grid(learning_rate=[0.1], alpha=[1e-3, 10.0]),
               X, y, X_val=X_val, y_val=y_val)
