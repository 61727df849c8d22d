"""The L-BFGS iteration itself: a memory of curvature pairs, the two-loop direction, a strong-Wolfe step.

:func:`minimize` runs Nocedal & Wright's Algorithm 7.5 on a function
``fg(θ) -> (f, ∇f)`` of a flat float64 vector: the direction ``d = −H ∇f`` from
the last ``m`` pairs ``(s, y) = (θ_{k+1} − θ_k, ∇f_{k+1} − ∇f_k)`` (two-loop
recursion, ``H₀ = sᵀy / yᵀy · I``), and a step along ``d`` satisfying the strong
Wolfe conditions (``scipy.optimize.line_search``; the unit step is tried first,
so a well-scaled iteration costs one evaluation).

Why not ``scipy.optimize.minimize(method="L-BFGS-B")``, which this replaced: its
memory starts empty on every call. Along a regularization path the objective
changes only by ``Δλ·R``; for a quadratic ``R`` every pair stays exact after
``y ← y + Δλ ∇²R s`` (:meth:`Memory.shifted`), so the next λ's first step is
already a quasi-Newton step towards the new optimum. On the probe benchmark's
8-value path that takes 25% fewer passes over the data (``benchmarks/bench_probe.py``).
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.optimize import line_search

MEMORY = 10
"""Correction pairs kept (L-BFGS-B's and scikit-learn's default ``maxcor``)."""


SMALL = 4096
"""Vectors up to this size are multiplied by the BLAS's ``ddot`` (OpenBLAS runs it on one thread below 10,000
elements), longer ones by NumPy's own loop (:func:`dot`)."""


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """``aᵀ b`` of two flat vectors. Long ones without the BLAS: NumPy's own loop. On this project's machine a BLAS
    ``ddot`` of L-BFGS's 30,000-element vectors, right after a chunked evaluation, took ~2.5 ms (its threads woken
    each time): 2 of a raw-CIFAR fit's 6.9 s in 20 iterations went to the two-loop recursion. Short ones (up to
    :data:`SMALL`) by the BLAS on one thread: ~0.5 µs a call where ``einsum`` takes ~1.3 µs, and a small fit's
    iteration makes ~20 of them (digits: 650 variables)."""
    return float(a @ b) if a.size <= SMALL else float(np.einsum("i,i->", a, b))


@dataclass
class Memory:
    """The last ``size`` curvature pairs ``(s, y)``, gathered on an objective with regularization strength ``reg``."""

    size: int = MEMORY
    reg: float = 0.0
    pairs: deque = field(default_factory=deque)

    def __post_init__(self):
        self.pairs = deque(self.pairs, maxlen=self.size)

    def add(self, s: np.ndarray, y: np.ndarray) -> None:
        """Keep ``(s, y)`` if it carries positive curvature (``sᵀy > ε yᵀy``: H stays positive definite)."""
        sy = dot(s, y)
        if sy > np.finfo(np.float64).eps * dot(y, y):
            self.pairs.append((s, y, 1.0 / sy))

    def direction(self, g: np.ndarray) -> np.ndarray:
        """``−H g`` by the two-loop recursion (steepest descent with no pairs)."""
        q = -g
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * dot(s, q)
            q -= a * y
            alphas.append(a)
        if self.pairs:
            s, y, rho = self.pairs[-1]
            q *= 1.0 / (rho * dot(y, y))  # H₀ = sᵀy / yᵀy
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            q += (a - rho * dot(y, q)) * s
        return q

    def shifted(self, reg: float, curvature: Callable[[np.ndarray], np.ndarray]) -> "Memory":
        """The pairs of the same data term with regularization ``reg``: ``y + (reg − self.reg)·curvature(s)``.

        ``curvature(s)`` is ``∇²R s`` of the (quadratic) regularizer ``R`` in the optimizer's variables.
        """
        out = Memory(self.size, reg)
        for s, y, _ in self.pairs:
            out.add(s, y + (reg - self.reg) * curvature(s))
        return out


@dataclass
class Outcome:
    """Where :func:`minimize` stopped: ``status`` is ``"gradient"`` or ``"decrease"`` (converged),
    ``"max_iter"``, or ``"stalled"`` (no step along the direction, nor along −∇f, lowered ``f``)."""

    theta: np.ndarray
    f: float
    g: np.ndarray
    n_iter: int
    status: str

    @property
    def converged(self) -> bool:
        return self.status in ("gradient", "decrease")


MESSAGES = {"gradient": "the largest gradient component is below the tolerance",
            "decrease": "the relative decrease of the objective is below tol²",
            "max_iter": "the iteration budget ended first",
            "stalled": "no step lowers the objective any more (line search failed)"}


def minimize(fg, theta: np.ndarray, *, gtol: float, ftol: float, max_iter: int, memory: Memory,
             measure: np.ndarray | None = None, callback=None) -> Outcome:
    """Minimize ``fg``'s ``f`` from ``theta`` with the pairs in ``memory`` (updated in place).

    Stops at ``‖∇f‖∞ ≤ gtol`` (``‖measure · ∇f‖∞``: the gradient in other units), at a relative decrease
    ``(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ ftol``, after ``max_iter``
    iterations, or when the line search fails both along the quasi-Newton
    direction and along steepest descent (``"stalled"``: e.g. round-off).
    ``callback(n_iter, f)`` after each iteration.
    """
    with warnings.catch_warnings():  # once per run (~5 µs an iteration): a line search's failure is handled
        warnings.filterwarnings("ignore", "The line search algorithm")  # by _line_step
        return _iterate(fg, theta, gtol=gtol, ftol=ftol, max_iter=max_iter, memory=memory, measure=measure,
                        callback=callback)


def _iterate(fg, theta, *, gtol, ftol, max_iter, memory, measure, callback) -> Outcome:
    f, g = fg(theta)
    n_iter = 0
    while True:
        if float(np.max(np.abs(g if measure is None else measure * g))) <= gtol:
            return Outcome(theta, f, g, n_iter, "gradient")
        if n_iter >= max_iter:
            return Outcome(theta, f, g, n_iter, "max_iter")
        step = _line_step(fg, theta, f, g, memory)
        if step is None:
            return Outcome(theta, f, g, n_iter, "stalled")
        theta_new, f_new, g_new = step
        memory.add(theta_new - theta, g_new - g)
        n_iter += 1
        if callback is not None:
            callback(n_iter, f_new)
        decrease = (f - f_new) / max(abs(f), abs(f_new), 1.0)
        theta, f, g = theta_new, f_new, g_new
        if decrease <= ftol:
            return Outcome(theta, f, g, n_iter, "decrease")


def _line_step(fg, theta, f, g, memory):
    """``(θ', f', g')`` of a strong-Wolfe step along the quasi-Newton direction, else along −g; None if neither."""
    for d in _directions(g, memory):
        alpha, *_ = line_search(lambda t: fg(t)[0], lambda t: fg(t)[1], theta, d, gfk=g, old_fval=f,
                                c1=1e-4, c2=0.9, maxiter=20)  # its failure warning is silenced by minimize
        if alpha is not None and alpha > 0:
            theta_new = theta + alpha * d
            f_new, g_new = fg(theta_new)
            if f_new <= f:
                return theta_new, f_new, g_new
        memory.pairs.clear()  # the pairs led nowhere: start again from steepest descent
    return None


def _directions(g, memory):
    d = memory.direction(g)
    if memory.pairs and dot(g, d) < 0:
        yield d
    yield -g / max(1.0, float(np.linalg.norm(g)))  # the first step is at most of unit length (as L-BFGS-B's)
