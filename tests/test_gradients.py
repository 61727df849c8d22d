"""Analytic gradients of every loss × regularizer against centered differences."""

import numpy as np
import pytest

from linclass.gradcheck import check_gradient, check_objective, numerical_gradient, objective_steps, relative_error
from linclass.losses import LOSSES
from linclass.objective import Objective
from linclass.regularizers import L1, L2, ElasticNet, MaxNorm, get_regularizer

REGS = {"l2": L2(), "l1": L1(), "elastic": ElasticNet(0.5), "none": None}


def _problem(seed=0, N=15, D=6, C=4, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D)).astype(dtype)
    y = rng.integers(0, C, N)
    params = {"W": (0.5 * rng.standard_normal((D, C))).astype(dtype),
              "b": (0.5 * rng.standard_normal(C)).astype(dtype)}
    return params, X, y


@pytest.mark.parametrize("reg", list(REGS))
@pytest.mark.parametrize("loss", list(LOSSES))
def test_analytic_gradient_passes_the_check(loss, reg):
    params, X, y = _problem()
    result = check_objective(Objective(loss, REGS[reg], 0.2), params, X, y, num_checks=None)
    assert result.tol == 1e-7
    assert result.max_relative_error < 1e-7, [c for c in result.smooth if c.relative_error >= 1e-7]
    assert len(result.smooth) > 0.8 * len(result.coordinates)  # kinks are the exception


def test_a_kink_inside_the_step_is_reported_not_hidden():
    # One example, scores exactly at a hinge: s_1 − s_0 + 1 = 0.
    X = np.array([[1.0]])
    params = {"W": np.array([[0.0, -1.0]]), "b": np.zeros(2)}
    objective = Objective("svm")
    result = check_objective(objective, params, X, [0], num_checks=None, h=1e-3)
    kinked = result.kinks
    assert kinked, "a margin of exactly 0 must be flagged"
    assert any(c.relative_error > 0.1 for c in kinked)  # the numerical gradient really is off there
    assert result.passed()  # ... and that does not fail the check


def test_a_wrong_gradient_fails_the_check():
    params, X, y = _problem()
    objective = Objective("softmax", L2(), 0.1)
    value = objective(params, X, y)
    wrong = {"W": value.grads["W"] * 1.01, "b": value.grads["b"]}
    result = check_gradient(lambda: objective(params, X, y).loss, params, wrong, num_checks=None)
    assert not result.passed()
    assert result.max_relative_error == pytest.approx(0.01 / 1.01, rel=1e-3)


def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 3.0])
    grad = numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])  # restored


def test_relative_error_guards_zero_over_zero():
    np.testing.assert_array_equal(relative_error([0.0, 1.0, 0.0], [0.0, 1.0, 2.0]), [0.0, 0.0, 1.0])


def test_float32_check_uses_a_looser_tolerance():
    params, X, y = _problem(dtype=np.float32)
    result = check_objective(Objective("softmax", L2(), 0.1), params, X, y, h=1e-2)
    assert result.tol == 1e-2 and result.passed()


@pytest.mark.parametrize("reg, W, expected", [
    # seeds 000/002: w1 = [1,0,0,0] vs w2 = [.25,.25,.25,.25]
    ("l2", [1, 0, 0, 0], 1.0), ("l2", [0.25] * 4, 0.25), ("l1", [1, 0, 0, 0], 1.0), ("l1", [0.25] * 4, 1.0),
    # seed 004: W1 = [1,0,0], W2 = [0.3,-0.1,0.8]
    ("l1", [1, 0, 0], 1.0), ("l1", [0.3, -0.1, 0.8], 1.2), ("l2", [1, 0, 0], 1.0), ("l2", [0.3, -0.1, 0.8], 0.74),
])
def test_regularizers_reproduce_the_lecture(reg, W, expected):
    penalty, _ = get_regularizer(reg)(np.array(W, dtype=float)[:, None])
    assert penalty == pytest.approx(expected)


def test_elastic_net_is_beta_l2_plus_l1():
    W = np.random.default_rng(0).standard_normal((5, 3))
    penalty, dW = ElasticNet(0.3)(W)
    assert penalty == pytest.approx(0.3 * np.sum(W ** 2) + np.sum(np.abs(W)))
    np.testing.assert_allclose(dW, 0.6 * W + np.sign(W))


def test_bias_is_not_regularized():
    params, X, y = _problem()
    plain = Objective("softmax")(params, X, y)
    regd = Objective("softmax", L2(), 5.0)(params, X, y)
    np.testing.assert_array_equal(plain.grads["b"], regd.grads["b"])
    assert regd.reg_loss == pytest.approx(5.0 * np.sum(params["W"] ** 2))


def test_max_norm_projects_each_class_column():
    W = np.array([[3.0, 0.1], [4.0, 0.2]])  # column norms 5 and ~0.22
    P = MaxNorm(1.0)(W)
    np.testing.assert_allclose(np.linalg.norm(P, axis=0), [1.0, np.linalg.norm(W[:, 1])])
    np.testing.assert_allclose(P[:, 0], W[:, 0] / 5)


def test_l2_distance_bound_holds():
    from scipy.optimize import minimize
    params, X, y = _problem(N=40, D=4, C=3)
    objective = Objective("softmax", L2(), 0.5)
    D, C = params["W"].shape

    def f(theta):
        p = {"W": theta[:D * C].reshape(D, C), "b": theta[D * C:]}
        v = objective(p, X, y)
        return v.loss, np.concatenate([v.grads["W"].ravel(), v.grads["b"]])
    opt = minimize(f, np.zeros(D * C + C), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0})
    W_star = opt.x[:D * C].reshape(D, C)
    # A point with the optimal bias and a perturbed W: the bound must cover the true distance.
    point = {"W": W_star + 0.05, "b": opt.x[D * C:]}
    report = objective.optimality(point, X, y)
    assert np.linalg.norm(point["W"] - W_star) <= report["distance_bound"] * (1 + 1e-6)


# --- pixel scale: the course's mean-subtracted raw pixels -----------------------------

def _pixel_problem(seed, N=20, D=3072, C=10):
    """CIFAR-sized raw pixels (0..255) minus their mean, W = 1e-4·randn as in the course's notebook."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (N, D)).astype(np.float64)
    X -= X.mean(axis=0)
    return {"W": 1e-4 * rng.standard_normal((D, C)), "b": np.zeros(C)}, X, rng.integers(0, C, N)


def _check(objective, params, X, y, grads, h, seed=0):
    return check_gradient(lambda: objective(params, X, y).loss, params, grads, num_checks=20, h=h, seed=seed)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_correct_gradient_passes_at_pixel_scale_on_every_seed(loss):
    for seed in range(10):
        params, X, y = _pixel_problem(seed)
        result = check_objective(Objective(loss, L2(), 0.0), params, X, y, num_checks=20, seed=seed)
        assert result.passed(), (seed, result.max_relative_error)
        assert result.steps["W"] < result.steps["b"] == 1e-5  # W's step shrinks with the pixels' scale


def test_an_unscaled_step_fails_correct_gradients_at_pixel_scale():
    """Why the step is scaled: with h = 1e-5 on W, truncation error (∝ h² |x|³) fails a correct softmax gradient."""
    params, X, y = _pixel_problem(0)
    objective = Objective("softmax")
    result = _check(objective, params, X, y, objective(params, X, y).grads, 1e-5)
    assert not result.passed() and result.max_relative_error > 1e-7


def test_one_coordinate_off_by_one_percent_fails_at_pixel_scale():
    objective = Objective("softmax")
    for seed in range(10):
        params, X, y = _pixel_problem(seed)
        grads, steps = objective(params, X, y).grads, objective_steps(params, X)
        checked = _check(objective, params, X, y, grads, steps, seed)
        assert checked.passed()
        coordinate = max((c for c in checked.coordinates if c.param == "W"), key=lambda c: abs(c.analytic))
        wrong = {name: g.copy() for name, g in grads.items()}
        wrong["W"][coordinate.index] *= 1.01
        result = _check(objective, params, X, y, wrong, steps, seed)
        assert not result.passed(), seed
        assert result.max_relative_error == pytest.approx(0.01 / 1.01, rel=1e-3)


@pytest.mark.cifar
def test_correct_gradient_passes_on_real_cifar_pixels(cifar_jpg_images):
    """The course's notebook data: 500 CIFAR-10 images as raw pixels minus their mean, W = 1e-4·randn (3072 × 10)."""
    X = cifar_jpg_images("train", 500).reshape(500, -1).astype(np.float64)
    X -= X.mean(axis=0)
    for seed in range(10):
        rng = np.random.default_rng(seed)
        params, y = {"W": 1e-4 * rng.standard_normal((X.shape[1], 10)), "b": np.zeros(10)}, rng.integers(0, 10, 500)
        result = check_objective(Objective("softmax"), params, X, y, num_checks=10, seed=seed)
        assert result.passed(), (seed, result.max_relative_error)
