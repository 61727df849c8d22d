"""The L-BFGS iteration (linclass.optim.quasi_newton) against exact answers: a quadratic's solve, BFGS pairs."""

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from linclass import Objective
from linclass.optim import lbfgs
from linclass.optim.quasi_newton import SMALL, Memory, dot, minimize
from linclass.probe import synthetic
from linclass.regularizers import L2


def quadratic(n=30, seed=0):
    """``f(θ) = ½ θᵀAθ − cᵀθ`` with A symmetric positive definite (condition ~1e3); its minimum solves Aθ = c."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = Q @ np.diag(np.geomspace(1, 1e3, n)) @ Q.T
    c = rng.standard_normal(n)
    return A, c, lambda t: (0.5 * t @ A @ t - c @ t, A @ t - c)


def test_minimize_reaches_the_solution_of_the_linear_system():
    A, c, fg = quadratic()
    out = minimize(fg, np.zeros(len(c)), gtol=1e-6, ftol=0.0, max_iter=500, memory=Memory())
    assert out.status == "gradient"
    # ‖θ − θ*‖ ≤ ‖∇f‖₂ / λ_min(A) = ‖∇f‖₂ ≤ √30 · 1e-6
    assert np.linalg.norm(out.theta - np.linalg.solve(A, c)) <= np.sqrt(30) * 1e-6


def test_shifted_pairs_are_the_pairs_of_the_new_objective():
    # f_λ = f + λ‖θ‖²: a pair gathered at λ = 0.3 and shifted to λ = 0.01 equals the pair measured on f_0.01
    A, c, fg = quadratic(8)
    rng = np.random.default_rng(1)
    theta, s = rng.standard_normal(8), rng.standard_normal(8)

    def grad(t, lam):
        return fg(t)[1] + 2 * lam * t

    memory = Memory(reg=0.3)
    memory.add(s, grad(theta + s, 0.3) - grad(theta, 0.3))
    (s2, y2, rho2), = memory.shifted(0.01, lambda v: 2 * v).pairs
    np.testing.assert_allclose(y2, grad(theta + s, 0.01) - grad(theta, 0.01), rtol=1e-12, atol=1e-12)
    assert rho2 == pytest.approx(1 / (s @ y2))


def test_inconsistent_gradient_stalls_without_moving():
    # the "gradient" points uphill of a function that never decreases: no step is accepted
    def fg(t):
        return float(t @ t), -np.ones_like(t) - t

    start = np.zeros(4)
    out = minimize(fg, start, gtol=1e-12, ftol=0.0, max_iter=50, memory=Memory())
    assert out.status == "stalled" and not out.converged
    np.testing.assert_array_equal(out.theta, start)


def test_pairs_carried_to_another_reg_strength_reach_scikit_learns_optimum_in_fewer_passes():
    X, y = synthetic.embeddings(2000, 32, 5, dtype=np.float64)
    start = {"W": np.zeros((32, 5)), "b": np.zeros(5)}
    first = lbfgs(Objective("softmax", L2(), 1e-2), X, y, start)
    objective = Objective("softmax", L2(), 1e-3)
    cold = lbfgs(objective, X, y, first.params)
    warm = lbfgs(objective, X, y, first.params, curvature=first.curvature)
    sk = LogisticRegression(C=1 / (2 * len(y) * 1e-3), tol=1e-12, max_iter=10_000).fit(X, y)
    reference = objective({"W": sk.coef_.T, "b": sk.intercept_}, X, y).loss
    for result in (cold, warm):
        assert result.converged
        assert abs(result.loss - reference) <= 1e-8 * reference
    assert warm.evaluations < cold.evaluations


@pytest.mark.parametrize("n", [1, 15, SMALL, SMALL + 1, 30_730])
def test_dot_is_the_exact_sum_of_products_to_round_off_short_or_long(n):
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    exact = math.fsum((a * b).tolist())  # each product is exact to half an ulp: fsum adds them exactly
    assert abs(dot(a, b) - exact) <= 1e-13 * max(1.0, float(np.abs(a) @ np.abs(b)))
