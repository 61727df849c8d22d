"""The training loop: determinism, divergence, early stopping, checkpoints and resume."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from linclass.errors import DivergenceError
from linclass.fitting.loop import LoopConfig, run_epochs
from linclass.model import LinearModel
from linclass.objective import Objective
from linclass.optim import get_optimizer
from linclass.regularizers import L2
from linclass.rows.batches import steps_per_epoch
from linclass.rows.source import accuracy as rows_accuracy


def _blobs(seed=0, N=300, D=5, C=3):
    rng = np.random.default_rng(seed)
    centers = 3 * rng.standard_normal((C, D))
    y = rng.integers(0, C, N)
    X = (centers[y] + rng.standard_normal((N, D))).astype(np.float32)
    return X, y


def _run(config, opt="momentum", lr=0.05, X=None, y=None, **kw):
    X, y = (X, y) if X is not None else _blobs()
    params = LinearModel.init(X.shape[1], 3, seed=1).params
    return run_epochs(Objective("softmax", L2(), 1e-3), get_optimizer(opt, learning_rate=lr), X, y,
                 params=params, config=config, **kw)


def test_same_seed_gives_bit_identical_weights():
    a = _run(LoopConfig(batch_size=32, epochs=3, seed=7))
    b = _run(LoopConfig(batch_size=32, epochs=3, seed=7))
    c = _run(LoopConfig(batch_size=32, epochs=3, seed=8))
    assert a.params["W"].tobytes() == b.params["W"].tobytes()
    assert a.params["W"].tobytes() != c.params["W"].tobytes()


def test_training_learns_and_records_history():
    X, y = _blobs()
    result = _run(LoopConfig(batch_size=50, epochs=4), X=X, y=y, X_val=X[:50], y_val=y[:50])
    assert len(result.history.loss) == 4 * 6 and len(result.history.train_accuracy) == 4
    assert result.history.loss[-1] < result.history.loss[0]
    assert rows_accuracy(result.params["W"], result.params["b"], X, y) > 0.9


def test_full_batch_is_gradient_descent():
    X, y = _blobs(N=40)
    objective = Objective("softmax", L2(), 1e-3)
    params = LinearModel.init(5, 3, seed=1).params
    result = run_epochs(objective, get_optimizer("sgd", learning_rate=0.1), X, y, params=params,
                   config=LoopConfig(batch_size=1000, epochs=3))
    expected = {k: v.copy() for k, v in params.items()}
    for _ in range(3):  # plain gradient descent by hand
        grads = objective(expected, X, y).grads
        expected = {k: (v - np.float32(0.1) * grads[k]).astype(np.float32) for k, v in expected.items()}
    np.testing.assert_allclose(result.params["W"], expected["W"], rtol=1e-5)


def test_iteration_budget_and_replacement():
    result = _run(LoopConfig(batch_size=16, iterations=25, replacement=True))
    assert result.iterations == 25 and len(result.history.loss) == 25


def test_huge_learning_rate_stops_with_divergence_and_keeps_good_weights():
    with pytest.raises(DivergenceError, match=r"learning rate 1e\+06 is too large") as info:
        _run(LoopConfig(batch_size=32, epochs=3), opt="sgd", lr=1e6)
    err = info.value
    assert all(np.all(np.isfinite(v)) for v in err.params.values())
    assert len(err.history.train_accuracy) == 0  # stopped inside the first epoch


def test_early_stopping_restores_the_best_weights():
    X, y = _blobs(N=400, seed=3)
    Xv, yv = _blobs(N=200, seed=4)
    y_noisy = y.copy()
    y_noisy[::2] = (y_noisy[::2] + 1) % 3  # overfitting makes validation accuracy fall later
    result = _run(LoopConfig(batch_size=20, epochs=40, early_stopping=True, patience=3), opt="adam", lr=0.05,
                  X=X, y=y_noisy, X_val=Xv, y_val=yv)
    best = max(result.history.val_accuracy)
    assert rows_accuracy(result.params["W"], result.params["b"], Xv, yv) == pytest.approx(best)
    assert result.best_epoch == result.history.val_accuracy.index(best) + 1


@pytest.mark.parametrize("opt", ["adam", "momentum", "adagrad"])
def test_resume_from_checkpoint_matches_uninterrupted_run(tmp_path, opt, interrupting):
    X, y = _blobs()
    Xv, yv = _blobs(seed=9, N=60)
    objective = Objective("softmax", L2(), 1e-3)
    params = LinearModel.init(5, 3, seed=1).params
    optimizer = get_optimizer(opt, learning_rate=0.01)
    config = LoopConfig(batch_size=32, epochs=6, seed=5, checkpoint=str(tmp_path / "ckpt.npz"))
    full = run_epochs(objective, optimizer, X, y, params=params, X_val=Xv, y_val=yv,
                 config=LoopConfig(batch_size=32, epochs=6, seed=5))
    with pytest.raises(KeyboardInterrupt):  # dies in the middle of epoch 4 (10 steps per epoch)
        run_epochs(interrupting(objective, 35), optimizer, X, y, params=params, X_val=Xv, y_val=yv, config=config)
    resumed = run_epochs(objective, optimizer, X, y, params=params, X_val=Xv, y_val=yv, config=config, resume=True)
    assert resumed.params["W"].tobytes() == full.params["W"].tobytes()
    assert resumed.params["b"].tobytes() == full.params["b"].tobytes()
    assert resumed.history.loss == full.history.loss
    assert resumed.history.val_accuracy == full.history.val_accuracy


def test_resume_refuses_a_checkpoint_with_other_settings(tmp_path):
    from linclass.errors import ParameterError
    ckpt = str(tmp_path / "ckpt.npz")
    _run(LoopConfig(batch_size=32, epochs=1, seed=5, checkpoint=ckpt))
    with pytest.raises(ParameterError, match="other settings"):
        _run(LoopConfig(batch_size=16, epochs=1, seed=5, checkpoint=ckpt), resume=True)


def _train_cmd(out, *extra):
    return [sys.executable, "-m", "linclass", "train", "--dataset", "digits", "--epochs", "300", "--batch-size",
            "16", "--no-progress", "--out", str(out), *extra]


def test_sigkill_then_resume_gives_the_same_weights_bit_for_bit(tmp_path):
    from linclass.classifier import Classifier
    ref = subprocess.run(_train_cmd(tmp_path / "ref"), capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr
    proc = subprocess.Popen(_train_cmd(tmp_path / "run"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "run" / "checkpoint.npz"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # into the next epoch; the checkpoint file itself is only ever renamed into place
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert ckpt.exists() and not (tmp_path / "run" / "model.npz").exists(), "the run ended before it was killed"
    resumed = subprocess.run(_train_cmd(tmp_path / "run", "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    a = Classifier.load(tmp_path / "ref" / "model.npz").model
    b = Classifier.load(tmp_path / "run" / "model.npz").model
    assert a.W.tobytes() == b.W.tobytes() and a.b.tobytes() == b.b.tobytes()


def test_progress_bar_only_on_a_terminal(capsys):
    config = LoopConfig(batch_size=32, epochs=1)  # progress=None: decided by stderr.isatty()
    _run(config)
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal
    _run(LoopConfig(batch_size=32, epochs=1, progress=True))
    err = capsys.readouterr().err
    assert "loss" in err and "it/s" in err and "ETA " in err and err.endswith("\r\033[K")  # drawn, then erased


def test_optimizer_state_goes_in_and_comes_out():
    """Two full-batch epochs in two calls, the state handed over, equal the hand-written momentum loop."""
    X, y = _blobs()
    objective, lr, mu = Objective("softmax", L2(), 1e-3), 0.05, 0.9
    opt = get_optimizer("momentum", learning_rate=lr, mu=mu)
    start = LinearModel.init(X.shape[1], 3, seed=1).params
    first = run_epochs(objective, opt, X, y, params=start, config=LoopConfig(batch_size=len(y), epochs=1))
    assert first.opt_state.count == 1
    second = run_epochs(objective, opt, X, y, params=first.params, opt_state=first.opt_state,
                   config=LoopConfig(batch_size=len(y), epochs=1))
    assert second.opt_state.count == 2
    params, v = {k: np.array(a) for k, a in start.items()}, {k: 0.0 for k in start}
    for _ in range(2):  # the lecture's momentum: v = μ v − α ∇L; θ += v
        grads = objective(params, X, y).grads
        for k in params:
            v[k] = mu * v[k] - lr * grads[k]
            params[k] = params[k] + v[k]
    np.testing.assert_allclose(second.params["W"], params["W"], rtol=1e-5, atol=1e-6)
    fresh = run_epochs(objective, opt, X, y, params=first.params, config=LoopConfig(batch_size=len(y), epochs=1))
    assert not np.allclose(fresh.params["W"], second.params["W"], rtol=1e-5, atol=1e-6)


def test_steps_per_epoch_counts_the_partial_last_batch():
    assert [steps_per_epoch(n, 32) for n in (1, 32, 33, 64, 65)] == [1, 1, 2, 2, 3]
    assert steps_per_epoch(10, 1000) == 1
