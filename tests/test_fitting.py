"""The one fitting core, part by part: the problem's evaluators, the solvers' defaults, solve's certificate and
warnings, the minibatch loop's named steps, and L-BFGS's parts (variables, stopping rule, precision switch)."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from linclass import Objective, defaults
from linclass.errors import DivergenceError, ParameterError
from linclass.fitting import LBFGS, Backend, Minibatch, Problem, RandomSearch, loop, solve
from linclass.fitting.solve import _plateaued
from linclass.optim import get_optimizer, random_search
from linclass.optim.chunked import SoftmaxL2
from linclass.optim.lbfgs import (
    Remembered,
    Variables,
    _Softmax,
    check_smooth,
    first_stage,
    lbfgs,
    relative_gtol,
    run_stages,
)
from linclass.optim.quasi_newton import Memory
from linclass.probe import synthetic
from linclass.regularizers import L2

LAM = 1e-2


@pytest.fixture(scope="module")
def data():
    """N=80, D=4, C=3 with features on different scales (so rescaling matters)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4)) * np.array([1.0, 10.0, 0.1, 3.0]) + np.array([0.0, 5.0, -1.0, 2.0])
    y = rng.integers(0, 3, 80)
    return X, y


def _params(D=4, C=3, seed=1):
    rng = np.random.default_rng(seed)
    return {"W": rng.standard_normal((D, C)) * 0.1, "b": rng.standard_normal(C) * 0.1}


# --------------------------------------------------------------------------- the problem and its evaluators

@pytest.mark.parametrize("loss", ["softmax", "squared-ova-svm"])
def test_the_evaluator_is_the_objective(data, loss):
    X, y = data
    objective = Objective(loss, L2(), LAM)
    params = _params()
    value = objective(params, X, y)
    L, gW, gb = Problem(objective, X, y, 3).evaluator("numpy", np.float64)(params["W"], params["b"])
    assert L == pytest.approx(value.loss, rel=1e-12)
    np.testing.assert_allclose(gW, value.grads["W"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gb, value.grads["b"], rtol=1e-10, atol=1e-14)


def test_the_standardizer_is_applied_to_the_rows(data):
    X, y = data
    shift, scale = X.mean(axis=0), X.std(axis=0)
    objective = Objective("softmax", L2(), LAM)
    params = _params()
    value = objective(params, (X - shift) / scale, y)
    problem = Problem(objective, X, y, 3, shift=shift, scale=scale)
    L, gW, _ = problem.evaluator("numpy", np.float64)(params["W"], params["b"])
    assert L == pytest.approx(value.loss, rel=1e-10)
    np.testing.assert_allclose(gW, value.grads["W"], rtol=1e-8, atol=1e-12)


def test_a_problem_at_another_lambda_keeps_the_placed_rows(data):
    X, y = data
    problem = Problem(Objective("softmax", L2(), LAM), X, y, 3)
    first = problem.evaluator("numpy", np.float64)
    other = problem.at(1e-4).evaluator("numpy", np.float64)
    assert other.reg_strength == 1e-4 and first.reg_strength == LAM
    assert other.X is first.X and other._memo is first._memo  # one placement of the rows, shared


def test_unknown_backend_and_unsupported_weights_are_refused(data):
    X, y = data
    with pytest.raises(ParameterError, match="unknown backend"):
        Backend("cuda")
    with pytest.raises(ParameterError, match="--device cuda needs --backend torch"):
        Backend("numpy", device="cuda")
    with pytest.raises(ParameterError, match="sample_weight"):
        Problem(Objective(), X, y, 3, sample_weight=np.ones(len(y) - 1))  # one weight per row
    with pytest.raises(ParameterError, match="L2 softmax on the numpy backend only"):
        Problem(Objective("svm"), X, y, 3, sample_weight=np.ones(len(y))).evaluator()


# --------------------------------------------------------------------------- solvers and their defaults

def test_solver_defaults_come_from_the_defaults_table():
    probe = LBFGS.of("probe")
    assert (probe.tol, probe.max_iter) == (defaults.value("probe", "lbfgs_tol"),
                                           defaults.value("probe", "lbfgs_max_iter"))
    assert LBFGS.of("probe", tol=1e-3).tol == 1e-3  # a given value wins
    assert LBFGS().max_iter == defaults.value("train", "lbfgs_max_iter")
    mini = Minibatch()
    assert (mini.batch_size, mini.epochs) == (defaults.value("train", "batch_size"), defaults.value("train", "epochs"))
    with pytest.raises(ParameterError, match="already a schedule"):
        Minibatch(lr=lambda step: 0.1, schedule="cosine")


# --------------------------------------------------------------------------- solve: certificate and warnings

@pytest.mark.parametrize("solver", [LBFGS(), Minibatch("sgd", lr=0.05, epochs=3, batch_size=16),
                                    RandomSearch(budget=20, scale=1e-3)], ids=["lbfgs", "minibatch", "search"])
def test_every_solver_gets_the_same_certificate(data, solver):
    X, y = data
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    objective = Objective("softmax", L2(), LAM)
    result = solve(Problem(objective, X, y, 3, val=(X[:20], y[:20])), solver, _params())
    value = objective(result.params, X, y)  # the reference: the lecture's objective at the returned weights
    norm = np.sqrt(np.sum(value.grads["W"] ** 2) + np.sum(value.grads["b"] ** 2))
    assert result.objective == pytest.approx(value.loss, rel=1e-9)
    assert result.grad_norm == pytest.approx(norm, rel=1e-6, abs=1e-12)
    assert result.distance_bound == pytest.approx(np.linalg.norm(value.grads["W"]) / (2 * LAM), rel=1e-6, abs=1e-12)
    assert result.train_accuracy == np.mean(value.scores.argmax(axis=1) == y)
    assert result.history.val_accuracy[-1] == np.mean((X[:20] @ result.params["W"] + result.params["b"]).argmax(1)
                                                      == y[:20])


def test_a_minibatch_solve_is_the_loop_and_a_search_the_search(data):
    X, y = data
    objective = Objective("softmax", L2(), LAM)
    ours = solve(Problem(objective, X, y, 3), Minibatch("adam", lr=1e-2, epochs=2, batch_size=8, seed=4), _params())
    direct = loop.run_epochs(objective, get_optimizer("adam", learning_rate=1e-2), X, y, params=_params(),
                             config=loop.LoopConfig(batch_size=8, epochs=2, seed=4))
    np.testing.assert_array_equal(ours.params["W"], direct.params["W"])
    assert ours.iterations == direct.iterations == 2 * 10 and ours.converged is None
    found = solve(Problem(objective, X, y, 3), RandomSearch(budget=30, scale=1e-3, seed=2), _params())
    reference = random_search(objective, X, y, n_features=4, n_classes=3, budget=30, scale=1e-3, seed=2,
                              dtype=np.float64)
    np.testing.assert_array_equal(found.params["W"], reference.params["W"])
    assert found.evaluations == 30 and found.history.loss == pytest.approx(list(reference.history))


def test_a_budget_that_ends_first_warns_and_is_not_converged(data):
    X, y = data
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        result = solve(Problem(Objective("softmax", L2(), LAM), X, y, 3), LBFGS(max_iter=2))
    assert not result.converged and result.iterations == 2
    with pytest.warns(ConvergenceWarning, match="still falling"):
        solve(Problem(Objective("softmax", L2(), LAM), X, y, 3),
              Minibatch("sgd", lr=1e-4, epochs=2, batch_size=80, tol=1e-12, patience=1))


def test_a_run_that_ends_above_its_start_says_so(data):
    X, y = data
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    problem = Problem(Objective("softmax", L2(), LAM), X, y, 3)
    optimum = solve(problem, LBFGS(tol=1e-10))
    assert optimum.warnings == []
    noisy = solve(problem, Minibatch("sgd", lr=0.05, epochs=1, batch_size=4), optimum.params)  # any move is up
    assert noisy.objective > optimum.objective
    assert len(noisy.warnings) == 1 and "above its initial" in noisy.warnings[0]


def test_the_plateau_rule_is_scikit_learns():
    steps = 2
    falling = [5.0, 5.0, 4.0, 4.0, 3.0, 3.0, 2.0, 2.0]     # epoch means 5, 4, 3, 2: better by 1 each epoch
    flat = [5.0, 5.0, 4.0, 4.0, 3.99, 3.99, 3.98, 3.98]    # then better by only 0.01
    assert not _plateaued(falling, steps, tol=0.1, patience=2)
    assert _plateaued(flat, steps, tol=0.1, patience=2)
    assert not _plateaued(flat, steps, tol=0.001, patience=2)


# --------------------------------------------------------------------------- the loop's named steps

def _state(params=None, seed=0):
    params = params or _params()
    return loop.LoopState(params, get_optimizer("sgd", learning_rate=0.1).init(params), np.random.default_rng(seed))


def test_check_divergence_sets_its_limit_from_the_first_loss_and_stops_at_nan():
    state, sgd = _state(), get_optimizer("sgd", learning_rate=0.5)
    loop.check_divergence(2.0, state, sgd, explode_factor=10)
    assert state.limit == 20.0
    loop.check_divergence(19.0, state, sgd, explode_factor=10)
    with pytest.raises(DivergenceError, match=r"loss became 21.*--lr 0.05"):
        loop.check_divergence(21.0, state, sgd, explode_factor=10)
    with pytest.raises(DivergenceError, match="nan"):
        loop.check_divergence(float("nan"), state, sgd, explode_factor=10)


def test_a_step_is_one_update_of_the_optimizer(data):
    X, y = data
    objective = Objective("softmax", L2(), LAM)
    state = _state()
    before = {k: v.copy() for k, v in state.params.items()}
    value = objective(before, X[:8], y[:8])
    loss, hits = loop.step(objective, get_optimizer("sgd", learning_rate=0.1), state, X[:8], y[:8], 1e4)
    assert loss == value.loss and hits == np.sum((X[:8] @ before["W"] + before["b"]).argmax(1) == y[:8])
    np.testing.assert_allclose(state.params["W"], before["W"] - 0.1 * value.grads["W"], rtol=1e-12)
    assert state.iteration == 1 and state.history.loss == [loss]


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_a_step_to_infinite_weights_keeps_the_last_finite_ones(data):
    X, y = data
    state = _state()
    before = {k: v.copy() for k, v in state.params.items()}
    with pytest.raises(DivergenceError, match="NaN or inf"):
        loop.step(Objective("softmax"), get_optimizer("sgd", learning_rate=1e308), state, X * 1e10, y, 1e300)
    np.testing.assert_array_equal(state.params["W"], before["W"])


def test_end_epoch_keeps_the_best_and_stops_after_patience(monkeypatch):
    scores = iter([0.5, 0.7, 0.6, 0.65, 0.69])
    monkeypatch.setattr(loop, "rows_accuracy", lambda *args: next(scores))
    state, config = _state(), loop.LoopConfig(early_stopping=True, patience=3)
    stops = []
    for _ in range(5):
        loop.end_epoch(state, 3, 4, np.zeros((1, 4)), np.zeros(1, int), config)
        stops.append(state.stopped_early)
    assert state.best[0] == 0.7 and state.best[2] == 2 and stops == [False, False, False, False, True]
    assert state.history.train_accuracy == [0.75] * 5
    result = loop.outcome(state, config)
    assert result.kept == "best" and result.best_epoch == 2
    assert loop.outcome(state, loop.LoopConfig(keep="last")).kept == "last"


def test_restore_gives_back_what_the_checkpoint_saved(tmp_path):
    state = _state(seed=3)
    state.rng.random(5)
    state.history.loss, state.epoch, state.iteration = [1.0, 0.5], 1, 2
    state.best = (0.8, {k: v + 1 for k, v in state.params.items()}, 1)
    config = loop.LoopConfig(epochs=3, checkpoint=str(tmp_path / "c.npz"))
    loop.save_checkpoint(config.checkpoint, params=state.params, opt_state=state.opt_state, rng=state.rng,
                         history=state.history, epoch=1, iteration=2, best=state.best, config=config)
    fresh = _state(seed=99)
    loop.restore(fresh, config.checkpoint, config, None)
    np.testing.assert_array_equal(fresh.params["W"], state.params["W"])
    np.testing.assert_array_equal(fresh.best[1]["b"], state.best[1]["b"])
    assert fresh.rng.random() == state.rng.random()  # the same stream from here on
    assert (fresh.epoch, fresh.iteration, fresh.history.loss) == (1, 2, [1.0, 0.5])
    with pytest.raises(ParameterError, match="epochs 3 → 4"):
        loop.restore(_state(), config.checkpoint, loop.LoopConfig(epochs=4, checkpoint=config.checkpoint), None)


# --------------------------------------------------------------------------- L-BFGS's parts

def test_rescaled_variables_round_trip_and_chain_rule(data):
    X, y = data
    objective = Objective("softmax", L2(), LAM)
    variables = Variables(_params(), X, objective, rescale=True)
    theta = np.random.default_rng(5).standard_normal(variables.size)
    np.testing.assert_allclose(variables.from_model(variables.to_model(theta)), theta, rtol=1e-10, atol=1e-12)

    def f(t):
        return objective(variables.to_model(t), X, y).loss

    grads = objective(variables.to_model(theta), X, y).grads
    analytic = variables.flatten(variables.chain(grads))
    h = 1e-6
    numeric = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(variables.size)])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_the_stopping_rule_is_relative_to_the_zero_models_gradient(data):
    X, y = data
    objective = Objective("softmax", L2(), LAM)
    params = _params()
    variables = Variables(params)
    evaluate = Remembered(variables, first_stage(objective, X, y, params))
    zero = objective({"W": np.zeros((4, 3)), "b": np.zeros(3)}, X, y).grads
    largest = max(np.abs(zero["W"]).max(), np.abs(zero["b"]).max())
    assert relative_gtol(evaluate, variables, 1e-3) == pytest.approx(1e-3 * largest, rel=1e-10)


class _Float32Only(_Softmax):
    def precise(self):
        return None


def test_a_float32_stall_finishes_in_float64(data):
    X, y = data
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    params = {"W": np.zeros((4, 3)), "b": np.zeros(3)}
    variables = Variables(params)
    objective = Objective("softmax", L2(), LAM)
    largest = {}
    for stage in (_Float32Only, _Softmax):
        evaluate = Remembered(variables, stage(SoftmaxL2(X, y, 3, LAM, dtype=np.float32)))
        run = run_stages(evaluate, variables.from_model(params), gtol=1e-13, tol=1e-13, max_iter=500, pairs=Memory())
        grads = objective(variables.to_model(run.theta), X, y).grads
        largest[run.precision] = max(np.abs(grads["W"]).max(), np.abs(grads["b"]).max())
    assert set(largest) == {"float32", "float32+float64"}
    assert largest["float32+float64"] < largest["float32"] / 100  # float64 goes on where float32 round-off stalled


def test_nonsmooth_objectives_are_refused_or_warned():
    with pytest.raises(ParameterError, match="smooth"):
        check_smooth(Objective("svm", L2(), LAM), allow_nonsmooth=False)
    with pytest.warns(RuntimeWarning, match="approximate"):
        check_smooth(Objective("svm", L2(), LAM), allow_nonsmooth=True)
    check_smooth(Objective("softmax", L2(), LAM), allow_nonsmooth=False)


def test_curvature_pairs_carry_to_another_lambda():
    variables = Variables({"W": np.zeros((2, 2)), "b": np.zeros(2)})
    rng = np.random.default_rng(0)
    s, y = rng.standard_normal(6), rng.standard_normal(6)
    y += 10 * s  # positive curvature: the pair is kept
    before = Memory(reg=1e-2)
    before.add(s, y)
    after = variables.carried(before, Objective("softmax", L2(), 3e-2), before.size)
    expected = y + (3e-2 - 1e-2) * np.concatenate([2 * s[:4], np.zeros(2)])  # ∇²(λΣW²) s = 2 s_W
    np.testing.assert_allclose(after.pairs[0][1], expected)
    assert after.reg == 3e-2
    assert not variables.carried(before, Objective("softmax", L2(), 3e-2), before.size + 1).pairs  # another memory


@pytest.mark.parametrize("lam", [1e-5, 1e-4, 1e-3])
def test_converged_means_the_gradient_rule_holds(lam):
    """Where the objective stops moving (relative decrease below tol²) before the gradient rule holds, L-BFGS goes
    on (in float64) rather than report convergence: checked with the plain Objective's float64 gradient."""
    X, y = synthetic.embeddings(20000, 128, 20, seed=1)
    objective = Objective("softmax", L2(), lam)
    zero = {"W": np.zeros((128, 20)), "b": np.zeros(20)}
    result = lbfgs(objective, X, y, zero, tol=1e-4)
    exact = objective({k: np.asarray(v, np.float64) for k, v in result.params.items()}, X.astype(np.float64), y)
    start = objective(zero, X.astype(np.float64), y)
    largest = max(float(np.max(np.abs(g))) for g in exact.grads.values())
    assert result.converged
    assert largest <= 1.01e-4 * max(float(np.max(np.abs(g))) for g in start.grads.values())
