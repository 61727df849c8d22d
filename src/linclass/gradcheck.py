"""Numerical gradients and gradient checks.

The analytic gradient is checked against centered differences
``(f(x + h) − f(x − h)) / 2h`` with the relative error
``|a − n| / max(|a|, |n|)`` (0 when both are 0). Around a kink of a hinge or an
absolute value (``max(0, ·)``, ``|·|``) the numerical gradient averages the two
sides and disagrees with any subgradient: such coordinates are reported as
*kink crossings*, with their error, instead of failing the check.

The step is chosen from the scale of the data: a step ``h`` in ``W[i, j]`` moves the
scores by ``h · x_i``, so the truncation error of centered differences grows with the
cube of the inputs' size, and on raw pixels (|x| ≈ 100) the float64 default
``h = 1e-5`` fails a correct softmax gradient. :func:`check_objective` therefore steps
``W`` by ``h / max(1, rms(X))`` and the bias by ``h`` (:func:`objective_steps`), which
passes a correct gradient at any data scale and still fails one that is 1% off.

Centered differences carry a round-off error of about ``noise = 10 ε max(1, |f|) / h``
(ε the machine epsilon). A relative error ``tol`` cannot be resolved for a
gradient smaller than ``noise / tol``, so the checks floor the denominator there:
``|a − n| / max(|a|, |n|, noise / tol)``. For larger gradients this is exactly
the lecture's relative error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def relative_error(analytic, numeric, *, floor: float = 0.0) -> np.ndarray:
    """``|a − n| / max(|a|, |n|, floor)`` elementwise, 0 where all are 0."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    return np.divide(np.abs(a - n), scale, out=np.zeros_like(scale), where=scale > 0)


def numerical_gradient(f, x: np.ndarray, *, h: float = 1e-5, indices=None) -> np.ndarray:
    """Centered-difference gradient of ``f() -> float`` with respect to ``x``, changed in place.

    ``indices`` (flat) limits the work to those coordinates; the others are 0.
    ``x`` is restored exactly afterwards.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


@dataclass
class CheckedCoordinate:
    param: str
    index: tuple
    analytic: float
    numeric: float
    relative_error: float
    kink: bool


@dataclass
class GradCheckResult:
    """All checked coordinates; ``max_relative_error`` is over those without a kink crossing."""

    tol: float
    steps: dict = field(default_factory=dict)
    """The step ``h`` each parameter was checked with."""
    coordinates: list = field(default_factory=list)

    @property
    def smooth(self):
        return [c for c in self.coordinates if not c.kink]

    @property
    def kinks(self):
        return [c for c in self.coordinates if c.kink]

    @property
    def max_relative_error(self) -> float:
        return max((c.relative_error for c in self.smooth), default=0.0)

    def passed(self) -> bool:
        return self.max_relative_error < self.tol


def default_step(dtype) -> float:
    """The base step ``h``: 1e-5 for float64 parameters, 1e-2 for float32 (at unit data scale)."""
    return 1e-5 if np.finfo(dtype).eps <= np.finfo(np.float64).eps else 1e-2


def objective_steps(params: dict, X, h: float | None = None) -> dict:
    """Each parameter's step: ``W`` multiplies ``X``, so its step is ``h / max(1, rms(X))``; others get ``h``."""
    X = np.asarray(X)
    h = default_step(max((x.dtype for x in params.values()), key=lambda d: np.finfo(d).eps)) if h is None else h
    scale = max(1.0, float(np.sqrt(np.mean(np.square(X, dtype=np.float64))))) if X.size else 1.0
    return {name: h / scale if name == "W" else h for name in params}


def check_gradient(f, params: dict, analytic: dict, *, num_checks: int | None = 20,
                   h: float | dict = 1e-5, tol: float | None = None, seed=0, kinks=None) -> GradCheckResult:
    """Compare ``analytic`` gradients with centered differences of ``f() -> float``.

    ``params`` are the arrays ``f`` reads (changed in place during the check, then
    restored); ``num_checks`` random coordinates per parameter are checked, all
    of them when None. ``h`` is the step, one for all or ``{name: step}``.
    ``kinks() -> array`` returns the arguments of the objective's hinges/absolute
    values; a coordinate whose ±h step changes the sign of any of them is marked
    ``kink=True``. ``tol`` (default 1e-7 for float64 parameters, 1e-2 for float32)
    is what :meth:`GradCheckResult.passed` tests.
    """
    rng = np.random.default_rng(seed)
    eps = max(np.finfo(x.dtype).eps for x in params.values())
    if tol is None:
        tol = 1e-7 if eps <= np.finfo(np.float64).eps else 1e-2
    steps = h if isinstance(h, dict) else {name: h for name in params}
    size_of_f = max(1.0, abs(f()))
    result = GradCheckResult(tol, steps=dict(steps))
    for name, x in params.items():
        step = steps[name]
        floor = 10 * eps * size_of_f / step / tol
        size = x.size
        idx = np.arange(size) if num_checks is None or num_checks >= size else \
            rng.choice(size, num_checks, replace=False)
        numeric = numerical_gradient(f, x, h=step, indices=idx).reshape(-1)
        a = np.asarray(analytic[name], dtype=np.float64).reshape(-1)
        for i in idx:
            crossed = kinks is not None and _crosses_kink(kinks, x, int(i), step)
            error = float(relative_error(a[i], numeric[i], floor=floor))
            index = tuple(int(k) for k in np.unravel_index(int(i), x.shape))
            result.coordinates.append(CheckedCoordinate(
                name, index, float(a[i]), float(numeric[i]), error, crossed))
    return result


def _crosses_kink(kinks, x, i, h) -> bool:
    flat = x.reshape(-1)
    old = flat[i]
    flat[i] = old + h
    upper = np.sign(kinks())
    flat[i] = old - h
    lower = np.sign(kinks())
    flat[i] = old
    return bool(np.any(upper != lower))


def check_objective(objective, params: dict, X, y, *, h: float | None = None, **kwargs) -> GradCheckResult:
    """Gradient check of a :class:`linclass.objective.Objective` at ``params`` on ``(X, y)``.

    ``h`` is the base step, scaled for ``W`` by the size of ``X`` (:func:`objective_steps`).
    """
    value = objective(params, X, y)
    return check_gradient(lambda: objective(params, X, y).loss, params, value.grads,
                          kinks=lambda: objective.kinks(params, X, y), h=objective_steps(params, X, h), **kwargs)
