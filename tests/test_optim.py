"""Gradient optimizers and the L-BFGS reference, against hand-written update rules,
closed-form minima, scikit-learn and scipy."""

import doctest
import pickle

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression

from linclass import InputError, Objective, ParameterError
from linclass.fitting import LBFGS, Problem, solve
from linclass.optim import (
    OPTIMIZERS,
    adagrad,
    adam,
    apply_updates,
    cosine,
    get_optimizer,
    lbfgs,
    momentum,
    nesterov,
    rmsprop,
    sgd,
)
from linclass.optim.chunked import SoftmaxL2
from linclass.regularizers import L1, L2, ElasticNet


def run(opt, f, params, steps):
    """``steps`` updates of ``opt`` on ``f(params) -> (loss, grads)``."""
    state = opt.init(params)
    for _ in range(steps):
        updates, state = opt.update(f(params)[1], state, params)
        params = apply_updates(params, updates)
    return params


# ---------------------------------------------------------------- parabola and Rosenbrock

def parabola(p):
    """``Σ (w − 1)² + Σ (b + 2)²``, minimum at w = 1, b = −2."""
    return (float(np.sum((p["w"] - 1) ** 2) + np.sum((p["b"] + 2) ** 2)),
            {"w": 2 * (p["w"] - 1), "b": 2 * (p["b"] + 2)})


def rosenbrock(p):
    """``Σ (1 − x)² + 100 (y − x²)²`` over coordinate pairs, minimum at x = y = 1."""
    x, y = p["x"], p["y"]
    return (float(np.sum((1 - x) ** 2 + 100 * (y - x ** 2) ** 2)),
            {"x": -2 * (1 - x) - 400 * x * (y - x ** 2), "y": 200 * (y - x ** 2)})


PARABOLA = [  # (name, hyperparameters, steps)
    ("sgd", dict(learning_rate=0.1), 200),
    ("momentum", dict(learning_rate=0.1), 300),
    ("nesterov", dict(learning_rate=0.1), 200),
    ("adagrad", dict(learning_rate=1.0), 200),
    ("rmsprop", dict(learning_rate=cosine(0.1, 300)), 300),
    ("adam", dict(learning_rate=cosine(0.3, 300)), 300),
]
ROSENBROCK = [
    ("sgd", dict(learning_rate=2e-3), 10000),
    ("momentum", dict(learning_rate=1e-3), 3000),
    ("nesterov", dict(learning_rate=1e-3), 3000),
    ("adagrad", dict(learning_rate=1.0), 10000),
    ("rmsprop", dict(learning_rate=cosine(1e-2, 10000)), 10000),
    ("adam", dict(learning_rate=cosine(0.1, 3000)), 3000),
]


def test_tables_cover_every_optimizer():
    for table in (PARABOLA, ROSENBROCK, ACCEPTANCE):
        assert sorted(name for name, _, _ in table) == sorted(OPTIMIZERS)


@pytest.mark.parametrize("name, hyper, steps", PARABOLA, ids=[r[0] for r in PARABOLA])
def test_optimizer_finds_the_minimum_of_a_parabola(name, hyper, steps):
    start = {"w": np.zeros((3, 2)), "b": np.array([5.0, -3.0])}
    params = run(get_optimizer(name, **hyper), parabola, start, steps)
    np.testing.assert_allclose(params["w"], 1.0, atol=1e-3)
    np.testing.assert_allclose(params["b"], -2.0, atol=1e-3)


@pytest.mark.parametrize("name, hyper, steps", ROSENBROCK, ids=[r[0] for r in ROSENBROCK])
def test_optimizer_finds_the_minimum_of_rosenbrock(name, hyper, steps):
    start = {"x": np.array([-1.2, 0.0]), "y": np.array([1.0, 0.5])}
    params = run(get_optimizer(name, **hyper), rosenbrock, start, steps)
    np.testing.assert_allclose(params["x"], 1.0, atol=5e-3)
    np.testing.assert_allclose(params["y"], 1.0, atol=5e-3)


# ---------------------------------------------------------------- the L2-softmax acceptance test

LAM = 0.1


@pytest.fixture(scope="module")
def problem():
    """A small random problem: N=60, D=5, C=3, float64."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    y = rng.integers(0, 3, 60)
    return X, y


def zeros(D=5, C=3, dtype=np.float64):
    return {"W": np.zeros((D, C), dtype), "b": np.zeros(C, dtype)}


ACCEPTANCE = [  # full batch; (name, hyperparameters, steps)
    ("sgd", dict(learning_rate=1.0), 300),
    ("momentum", dict(learning_rate=0.3, mu=0.9), 300),
    ("nesterov", dict(learning_rate=0.3, mu=0.9), 300),
    ("adagrad", dict(learning_rate=0.5), 500),
    ("rmsprop", dict(learning_rate=cosine(0.05, 500)), 500),
    ("adam", dict(learning_rate=cosine(0.1, 500)), 500),
]


@pytest.mark.parametrize("name, hyper, steps", ACCEPTANCE, ids=[r[0] for r in ACCEPTANCE])
def test_full_batch_optimizer_reaches_the_lbfgs_optimum(problem, name, hyper, steps):
    X, y = problem
    objective = Objective("softmax", L2(), LAM)
    best = lbfgs(objective, X, y, zeros())
    assert best.converged, best.message
    params = run(get_optimizer(name, **hyper), lambda p: (None, objective(p, X, y).grads), zeros(), steps)
    loss = objective(params, X, y).loss
    assert abs(loss - best.loss) <= 1e-4 * best.loss


@pytest.mark.parametrize("lam", [0.01, 0.1, 1.0])
def test_lbfgs_matches_scikit_learn_multinomial_logistic_regression(problem, lam):
    # mean CE + λ ΣW²  ⇔  sklearn's C Σ CE + ½‖W‖² with C = 1 / (2 λ N); intercept unpenalized
    X, y = problem
    objective = Objective("softmax", L2(), lam)
    ours = lbfgs(objective, X, y, zeros())
    clf = LogisticRegression(C=1 / (2 * lam * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    theirs = {"W": clf.coef_.T, "b": clf.intercept_}
    assert ours.converged
    assert abs(ours.loss - objective(theirs, X, y).loss) <= 1e-9
    # the certificate holds: ‖W − W*‖ ≤ ‖∇_W L‖ / (2λ), with scikit-learn's (tol 1e-12) W as W*
    assert np.linalg.norm(ours.params["W"] - theirs["W"]) <= ours.distance_bound + 1e-9
    np.testing.assert_allclose(ours.params["W"], theirs["W"], atol=1e-5)
    # softmax is unchanged by a constant added to every class score: compare centered biases
    np.testing.assert_allclose(ours.params["b"] - ours.params["b"].mean(),
                               theirs["b"] - theirs["b"].mean(), atol=1e-5)


@pytest.mark.parametrize("loss", ["softmax", "squared-svm"])
def test_lbfgs_matches_bfgs_on_finite_differences(problem, loss):
    X, y = problem
    X = X[:, :3]  # D=3, C=3: 12 parameters
    objective = Objective(loss, L2(), LAM)
    ours = lbfgs(objective, X, y, zeros(3))

    def f(theta):  # the loss alone; scipy differentiates it numerically
        return objective({"W": theta[:9].reshape(3, 3), "b": theta[9:]}, X, y).loss

    theirs = minimize(f, np.zeros(12), method="BFGS", options={"gtol": 1e-8})
    assert ours.loss <= theirs.fun + 1e-12
    assert abs(ours.loss - theirs.fun) <= 1e-9
    np.testing.assert_allclose(ours.params["W"].ravel(), theirs.x[:9], atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_squared_hinge_fit_runs_on_the_chunked_engine_to_the_same_minimum(problem, dtype):
    X, y = problem
    X = X[:, :3]
    objective = Objective("squared-svm", L2(), LAM)
    fit_problem = Problem(objective, X.astype(dtype), y, 3)
    assert isinstance(fit_problem.evaluator("numpy", dtype), SoftmaxL2)  # chunked, float64 sums
    ours = solve(fit_problem, LBFGS(tol=1e-8), fit_problem.zeros(dtype))

    def f(theta):
        return objective({"W": theta[:9].reshape(3, 3), "b": theta[9:]}, X, y).loss

    theirs = minimize(f, np.zeros(12), method="BFGS", options={"gtol": 1e-8})
    assert abs(ours.objective - theirs.fun) <= 1e-9 * max(1.0, abs(theirs.fun))
    np.testing.assert_allclose(np.ravel(ours.params["W"]), theirs.x[:9], atol=1e-4)


def test_lbfgs_returns_parameters_in_their_dtype(problem):
    X, y = problem
    result = lbfgs(Objective("softmax", L2(), LAM), X.astype(np.float32), y, zeros(dtype=np.float32))
    assert {p.dtype for p in result.params.values()} == {np.dtype(np.float32)}
    assert isinstance(result.loss, float) and result.n_iter > 0


@pytest.mark.parametrize("objective", [Objective("svm", L2(), LAM), Objective("softmax", L1(), LAM),
                                       Objective("squared-svm", ElasticNet(), LAM)],
                         ids=["hinge", "l1", "elastic"])
def test_lbfgs_refuses_nonsmooth_objectives_unless_allowed(problem, objective):
    X, y = problem
    with pytest.raises(ParameterError, match="smooth"):
        lbfgs(objective, X, y, zeros())
    start = {"W": np.random.default_rng(3).standard_normal((5, 3)), "b": np.zeros(3)}
    with pytest.warns(RuntimeWarning, match="non-smooth"):
        result = lbfgs(objective, X, y, start, max_iter=50, allow_nonsmooth=True)
    assert result.loss < objective(start, X, y).loss


@pytest.mark.parametrize("kwargs", [dict(max_iter=0), dict(tol=0.0), dict(tol=float("nan"))],
                         ids=["max_iter", "tol0", "tolnan"])
def test_lbfgs_bad_settings_raise(problem, kwargs):
    X, y = problem
    with pytest.raises(ParameterError):
        lbfgs(Objective("softmax"), X, y, zeros(), **kwargs)


# ---------------------------------------------------------------- the update rules, by hand

def reference_steps(name, grads, lr, **hyper):
    """The cs231n update rules, written out step by step with a config dict."""
    x, config, steps = 0.0 * grads[0], dict(hyper), []
    for t, dx in enumerate(grads, start=1):
        if name == "sgd":
            step = -lr * dx
        elif name == "momentum":
            v = config.get("v", 0 * dx) * hyper["mu"] - lr * dx
            config["v"], step = v, v
        elif name == "nesterov":
            v_prev = config.get("v", 0 * dx)
            v = hyper["mu"] * v_prev - lr * dx
            config["v"], step = v, -hyper["mu"] * v_prev + (1 + hyper["mu"]) * v
        elif name == "adagrad":
            config["cache"] = config.get("cache", 0 * dx) + dx ** 2
            step = -lr * dx / (np.sqrt(config["cache"]) + hyper["eps"])
        elif name == "rmsprop":
            d = hyper["decay"]
            config["cache"] = d * config.get("cache", 0 * dx) + (1 - d) * dx ** 2
            step = -lr * dx / (np.sqrt(config["cache"]) + hyper["eps"])
        elif name == "adam":
            m = hyper["b1"] * config.get("m", 0 * dx) + (1 - hyper["b1"]) * dx
            v = hyper["b2"] * config.get("v", 0 * dx) + (1 - hyper["b2"]) * dx ** 2
            config["m"], config["v"] = m, v
            mt, vt = m / (1 - hyper["b1"] ** t), v / (1 - hyper["b2"] ** t)
            step = -lr * mt / (np.sqrt(vt) + hyper["eps"])
        x = x + step
        steps.append(step)
    return steps


HYPER = {"sgd": {}, "momentum": dict(mu=0.8), "nesterov": dict(mu=0.8), "adagrad": dict(eps=1e-8),
         "rmsprop": dict(decay=0.9, eps=1e-8), "adam": dict(b1=0.9, b2=0.999, eps=1e-8)}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_match_the_hand_written_rule(name):
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((4, 3)) for _ in range(4)]
    expected = reference_steps(name, grads, 0.05, **HYPER[name])
    opt = get_optimizer(name, learning_rate=0.05, **HYPER[name])
    params = {"W": np.zeros((4, 3))}
    state = opt.init(params)
    for g, want in zip(grads, expected):
        updates, state = opt.update({"W": g}, state, params)
        params = apply_updates(params, updates)
        np.testing.assert_allclose(updates["W"], want, rtol=1e-12, atol=1e-15)
    assert state.count == len(grads)


def test_adam_first_step_is_the_learning_rate_times_the_sign_of_the_gradient():
    g = np.array([[3.0, -1e-3], [0.2, -50.0]])
    opt = adam(learning_rate=0.01)
    updates, _ = opt.update({"W": g}, opt.init({"W": np.zeros_like(g)}))
    np.testing.assert_allclose(updates["W"], -0.01 * np.sign(g), rtol=1e-4)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_schedule_gets_the_step_count(name):
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.1 / (step + 1)

    opt = get_optimizer(name, learning_rate=schedule)
    params, state = {"W": np.zeros(2)}, opt.init({"W": np.zeros(2)})
    for _ in range(3):
        _, state = opt.update({"W": np.ones(2)}, state, params)
    assert seen == [0, 1, 2]
    if name == "sgd":  # Δθ = −α_t g with α_t = schedule(t)
        assert opt.update({"W": np.ones(2)}, state)[0]["W"].tolist() == [-0.1 / 4] * 2


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_parameters_stay_float32(name):
    rng = np.random.default_rng(2)
    params = {"W": rng.standard_normal((4, 3)).astype(np.float32), "b": np.zeros(3, np.float32)}
    opt = get_optimizer(name, learning_rate=lambda t: np.float64(1e-2))  # a float64 rate must not upcast
    state = opt.init(params)
    for _ in range(3):
        grads = {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}  # float64 grads
        updates, state = opt.update(grads, state, params)
        params = apply_updates(params, updates)
        assert {u.dtype for u in updates.values()} == {np.dtype(np.float32)}
        assert {p.dtype for p in params.values()} == {np.dtype(np.float32)}
    moments = [a for part in state[1:] for a in part.values()]
    assert all(a.dtype == np.float32 for a in moments)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_update_changes_nothing_in_place(name):
    params = {"W": np.ones((2, 2)), "b": np.ones(2)}
    grads = {"W": np.full((2, 2), 0.5), "b": np.full(2, -0.5)}
    opt = get_optimizer(name)
    state = opt.init(params)
    _, state1 = opt.update(grads, state, params)
    _, state2 = opt.update(grads, state, params)  # the old state is still valid
    for a, b in zip(state1[1:], state2[1:]):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    assert params["W"].tolist() == [[1.0, 1.0]] * 2 and grads["b"].tolist() == [-0.5, -0.5]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_pickles_with_its_hyperparameters(name):
    opt = get_optimizer(name, learning_rate=cosine(0.1, 10))
    again = pickle.loads(pickle.dumps(opt))
    assert again.name == name and again.hyperparams == opt.hyperparams
    params = {"W": np.ones(3)}
    grads = {"W": np.arange(3.0)}
    np.testing.assert_array_equal(again.update(grads, again.init(params))[0]["W"],
                                  opt.update(grads, opt.init(params))[0]["W"])


BAD_HYPER = [
    (sgd, dict(learning_rate=-0.1), "learning_rate"),
    (sgd, dict(learning_rate=float("nan")), "learning_rate"),
    (sgd, dict(learning_rate="fast"), "learning_rate"),
    (momentum, dict(mu=1.0), "mu"),
    (nesterov, dict(mu=-0.1), "mu"),
    (adagrad, dict(eps=0.0), "eps"),
    (rmsprop, dict(decay=1.0), "decay"),
    (adam, dict(b1=1.0), "b1"),
    (adam, dict(b2=-0.5), "b2"),
    (adam, dict(eps=float("inf")), "eps"),
]


@pytest.mark.parametrize("factory, kwargs, word", BAD_HYPER,
                         ids=[f"{f.__name__}-{next(iter(k))}" for f, k, _ in BAD_HYPER])
def test_bad_hyperparameters_raise_parameter_error(factory, kwargs, word):
    with pytest.raises(ParameterError, match=word):
        factory(**kwargs)


def test_get_optimizer_names_the_choices():
    with pytest.raises(ParameterError, match="sgd, momentum"):
        get_optimizer("adamw")
    with pytest.raises(ParameterError, match="learning_rate, b1, b2, eps"):
        get_optimizer("adam", mu=0.9)
    assert get_optimizer("momentum", learning_rate=0.5, mu=0.5).hyperparams["mu"] == 0.5


def test_schedule_returning_nan_raises():
    opt = sgd(lambda t: float("nan"))
    with pytest.raises(ParameterError, match="schedule"):
        opt.update({"W": np.ones(2)}, opt.init({"W": np.zeros(2)}))


def test_mismatched_or_integer_parameters_raise_input_error():
    opt = adam()
    state = opt.init({"W": np.zeros(2), "b": np.zeros(1)})
    with pytest.raises(InputError, match="keys"):
        opt.update({"W": np.ones(2)}, state)
    with pytest.raises(InputError, match="float"):
        opt.init({"W": np.zeros(2, dtype=int)})
    with pytest.raises(InputError, match="keys"):
        apply_updates({"W": np.zeros(2)}, {"V": np.zeros(2)})


@pytest.mark.parametrize("module", ["gradient", "schedules", "search", "lbfgs"])
def test_docstring_examples_run(module):
    import importlib
    mod = importlib.import_module(f"linclass.optim.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_rescaled_lbfgs_is_not_slowed_by_nearly_constant_features():
    # wine's raw features span 0.1 … 1,000 (σ from 0.1 to 300): standardizing alone turns the penalty on the
    # low-variance ones into a stiff direction (≈100 iterations); with σ floored by the penalty, ≈30
    X, y = load_wine(return_X_y=True)
    lam = 1e-2
    objective = Objective("softmax", L2(), lam)
    ours = lbfgs(objective, X, y, zeros(13, 3), rescale=True, max_iter=50)
    theirs = LogisticRegression(C=1 / (2 * lam * len(y)), tol=1e-12, solver="newton-cg", max_iter=10_000).fit(X, y)
    reference = objective({"W": theirs.coef_.T, "b": theirs.intercept_}, X, y).loss
    assert ours.converged
    assert abs(ours.loss - reference) <= 1e-8 * reference
