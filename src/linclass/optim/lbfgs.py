"""The exact full-batch minimum of a smooth objective, by L-BFGS: the project's one L-BFGS.

Conventions: N examples, D features, C classes; parameters ``{"W": (D, C), "b": (C,)}``.
:func:`lbfgs` hands the flattened float64 parameters ``θ = [vec W, b]`` and the
objective's value and gradient to :func:`linclass.optim.quasi_newton.minimize`
(two-loop L-BFGS with a strong-Wolfe line search, whose curvature pairs can be
carried from one λ of a regularization path to the next).

How the value and gradient are computed:

- the L2 (or unregularized) softmax, scikit-learn's multinomial logistic
  regression, goes to :class:`linclass.optim.chunked.SoftmaxL2`: one fused pass
  over X in row chunks, products in the parameters' dtype, sums in float64;
- a backend (``evaluator=``: torch, Dask; see :mod:`linclass.probe`) may supply
  the same function computed elsewhere;
- any other smooth objective is called as ``objective(params, X, y)``.

Stopping rule (relative): the largest gradient component falls below ``tol``
times that of the zero model, ``‖∇L(θ)‖∞ ≤ tol · ‖∇L(0)‖∞`` (a property of the
data, so a warm start stops at the same accuracy as a cold one), or an
iteration lowers the objective by less than ``tol²`` relative (the digits ``tol``
asks for are reached: the gap to the optimum shrinks like ‖∇L‖²). When float32
round-off stalls the line search first, the run continues in float64 from
where it stopped (the float64 finish). The result carries the certificate:
``grad_norm`` = ‖∇L‖₂ and, with L2, ``distance_bound`` ≥ ‖W − W*‖ (see
:meth:`linclass.objective.Objective.optimality`).

L-BFGS assumes a continuous gradient: it is meant for the smooth losses
(:data:`linclass.losses.LOSSES` marked ``smooth``: softmax, squared hinge) with L2 or no
regularization. The hinge losses and L1 / elastic-net penalties have kinks, where
its line search stalls; they are refused unless ``allow_nonsmooth=True``.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import NamedTuple

import numpy as np

from .. import _checks
from ..errors import ParameterError
from ..losses import LOSSES, get_loss
from ..objective import Objective, certificate
from ..regularizers import L2
from ..rows.source import feature_stats
from .chunked import SoftmaxL2
from .quasi_newton import MEMORY, MESSAGES, Memory, minimize

TOL = 1e-6
"""Default relative tolerance: ``‖∇L‖∞ ≤ 1e-6 · ‖∇L(0)‖∞``."""
LOSS_CURVATURE = 1 / 64
"""The loss's curvature per unit of feature variance assumed by ``rescale``: near a good fit the softmax's
``p(1 − p)`` is small. Feature k is scaled by ``√(σ_k² + 2λ / LOSS_CURVATURE)``, the square root of its diagonal
Hessian up to a constant (data ``∝ σ_k²``, penalty ``2λ``): plain standardization would make the penalty's
curvature ``2λ/σ_k²`` explode on nearly constant features (as on digits' border pixels or breast cancer's
fractal dimension). Softmax at λ = 1e-2 with plain standardization → with the floor: raw digits 1,702 → 112
iterations, breast cancer > 3,000 (no convergence) → 107, wine 100 → 28 (the case ``tests/test_optim.py`` checks)."""
FTOL = {"float32": 1e-12, "float64": 4 * np.finfo(np.float64).eps}
"""Floors of the relative-decrease rule ``(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ max(tol², floor)``; float32's
losses are summed in float64, so their noise is far below float32's epsilon."""


class LBFGSResult(NamedTuple):
    """``params`` in the input dtypes; ``loss``, ``grad_norm`` (‖∇L‖₂) and ``distance_bound`` at them in float64.

    ``converged``: the stopping rule was met (or float64 could not lower the loss
    further); ``n_iter`` counts iterations over both precisions, ``evaluations``
    the passes over the data; ``precision`` the dtypes used, e.g. ``"float32+float64"``.
    """

    params: dict
    loss: float
    grad_norm: float
    n_iter: int
    converged: bool
    message: str
    distance_bound: float | None = None
    evaluations: int = 0
    seconds: float = 0.0
    precision: str = ""
    curvature: Memory | None = None


def _nonsmooth_parts(objective) -> list[str]:
    if not isinstance(objective, Objective):
        return []
    parts = []
    if not get_loss(objective.loss).smooth:
        parts.append(f"the {objective.loss} loss")
    if objective.reg is not None and objective.reg_strength > 0 and not objective.reg.smooth:
        parts.append(f"the {objective.reg.name} regularizer")
    return parts


def is_l2_softmax(objective) -> bool:
    """Whether ``objective`` is the L2 (or unregularized) softmax that :class:`SoftmaxL2` computes."""
    return (isinstance(objective, Objective) and objective.loss == "softmax"
            and (objective.reg is None or objective.reg_strength == 0 or isinstance(objective.reg, L2)))


def softmax_evaluator(objective, X, y, n_classes: int, dtype, **options) -> SoftmaxL2:
    """The chunked evaluator of an L2 softmax :class:`Objective` (``options``: chunk_rows, threads, shift, scale)."""
    lam = objective.reg_strength if objective.reg is not None else 0.0
    return SoftmaxL2(X, y, n_classes, lam, dtype=dtype, **options)


class _Generic:
    """Any objective ``objective(params, X, y) -> Value``, evaluated in the parameters' dtypes."""

    def __init__(self, objective, X, y, dtypes):
        self.objective, self.X, self.y, self.dtypes = objective, X, y, dtypes
        self.dtype = np.dtype(dtypes.get("W", np.float64))
        self.passes = 0

    def __call__(self, params):
        self.passes += 1
        value = self.objective({k: p.astype(self.dtypes[k], copy=False) for k, p in params.items()}, self.X, self.y)
        return float(value.loss), {k: np.asarray(g, np.float64) for k, g in value.grads.items()}


class _Softmax:
    """A :class:`SoftmaxL2`-like evaluator ``(W, b) -> (L, dW, db)`` in the params-dict form."""

    def __init__(self, evaluator):
        self.evaluator, self.dtype = evaluator, np.dtype(evaluator.dtype)

    @property
    def passes(self) -> int:
        """Passes over the data so far (a point the evaluator remembers costs none)."""
        return self.evaluator.passes

    def __call__(self, params):
        loss, dW, db = self.evaluator(params["W"], params["b"])
        return loss, {"W": dW, "b": db}

    def precise(self):
        return _Softmax(self.evaluator.with_dtype(np.float64)) if self.dtype != np.float64 else None


def lbfgs(objective, X, y, params, *, max_iter: int = 500, tol: float = TOL, allow_nonsmooth: bool = False,
          evaluator=None, chunk_rows: int | None = None, threads: int | None = None, memory: int = MEMORY,
          rescale: bool = False, curvature: Memory | None = None, callback=None) -> LBFGSResult:
    """Minimize ``objective(params, X, y)`` over all parameters with L-BFGS, on the full batch.

    Stops when ``‖∇L‖∞ ≤ tol · ‖∇L(0)‖∞`` or an iteration's relative decrease is
    below ``tol²`` (``converged``), when a step no longer lowers the loss in float64
    (also ``converged``: the optimum to machine precision), or after ``max_iter``
    iterations (``converged`` False; callers warn). ``evaluator``: a backend's
    ``(W, b) -> (L, dW, db)`` (float64 NumPy out, with ``dtype``, ``with_dtype`` and ``passes``)
    for an L2 softmax objective; ``chunk_rows`` / ``threads`` tune the default NumPy one. ``memory``: L-BFGS's number of
    correction pairs. ``callback(n_iter, loss)`` after each iteration. ``curvature``: the
    ``curvature`` of a previous result on the same data, variables and ``memory``, with
    another λ (a warm start along a regularization path): its pairs are shifted to
    this λ and the first step is already a quasi-Newton step.

    ``rescale=True`` (parameters ``W``, ``b`` only) runs L-BFGS on standardized
    variables ``V = σ W``, ``c = b + μ W`` (μ: the features' mean; σ: their standard
    deviation, computed in chunks, floored for L2 as :data:`LOSS_CURVATURE` says)
    while the objective stays the raw one: the same minimum, reached in far fewer
    iterations on badly scaled features. Chain rule:
    ``∇_V = (∇_W − μ ⊗ ∇_b) / σ``, ``∇_c = ∇_b``. The stopping rule applies to
    ``(V, c)``; ``grad_norm`` and ``distance_bound`` are reported for ``(W, b)``.

    >>> import numpy as np
    >>> from linclass import Objective
    >>> from linclass.regularizers import L2
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 3)), rng.integers(0, 3, 40)
    >>> start = {"W": np.zeros((3, 3)), "b": np.zeros(3)}
    >>> result = lbfgs(Objective("softmax", L2(), 0.1), X, y, start)
    >>> result.converged, bool(result.grad_norm < 1e-6)
    (True, True)
    """
    started = time.perf_counter()
    parts = _nonsmooth_parts(objective)
    if parts and not allow_nonsmooth:
        raise ParameterError(f"L-BFGS needs a smooth objective, but {' and '.join(parts)} "
                             f"{'is' if len(parts) == 1 else 'are'} not differentiable everywhere; "
                             f"use loss {' or '.join(n for n, loss in LOSSES.items() if loss.smooth)} with l2 (or no) "
                             "regularization, "
                             "a gradient optimizer, or allow_nonsmooth=True for an approximate answer.")
    if parts:
        warnings.warn(f"L-BFGS on a non-smooth objective ({' and '.join(parts)}): the result is "
                      "approximate and may stop early.", RuntimeWarning, stacklevel=2)
    max_iter = _checks.integer(max_iter, "max_iter")
    tol = _checks.number(tol, "tol", low=0, low_open=True, hint=f"; e.g. {TOL:g}")
    keys = list(params)
    shapes = [np.shape(params[k]) for k in keys]
    splits = np.cumsum([math.prod(s) for s in shapes])[:-1]
    dtypes = {k: np.asarray(params[k]).dtype for k in keys}

    def unflatten(theta):
        return {k: part.reshape(s) for k, part, s in zip(keys, np.split(theta, splits), shapes)}

    def flatten(parts):
        return np.concatenate([np.ravel(parts[k]) for k in keys]).astype(np.float64)

    if rescale and set(keys) != {"W", "b"}:
        raise ParameterError(f"rescale=True needs the parameters W and b, got {keys}.")
    mean, sigma = feature_stats(X) if rescale else (None, None)
    std = sigma
    if rescale and isinstance(objective, Objective) and isinstance(objective.reg, L2):
        std = np.sqrt(np.square(sigma) + 2 * objective.reg_strength / LOSS_CURVATURE)

    def to_model(theta):  # the optimizer's variables → the model's parameters
        p = unflatten(theta)
        if mean is None:
            return p
        W = p["W"] / std[:, None]
        return {"W": W, "b": p["b"] - mean @ W}

    def from_model(p):
        if mean is None:
            return flatten(p)
        W = np.asarray(p["W"], np.float64)
        return flatten({"W": W * std[:, None], "b": np.asarray(p["b"], np.float64) + mean @ W})

    def chain(grads):  # the model's gradient → the optimizer's
        if mean is None:
            return grads
        return {"W": (grads["W"] - np.outer(mean, grads["b"])) / std[:, None], "b": grads["b"]}

    if evaluator is None and is_l2_softmax(objective) and set(keys) == {"W", "b"}:
        C = shapes[keys.index("W")][1]
        dtype = np.float32 if dtypes["W"] == np.float32 else np.float64
        evaluator = softmax_evaluator(objective, X, y, C, dtype, chunk_rows=chunk_rows, threads=threads)
    stage = _Softmax(evaluator) if evaluator is not None else _Generic(objective, X, y, dtypes)
    seen = {}

    def loss_and_grad(theta):  # the last few points are remembered: the line search asks for f and ∇f apart
        key = (id(stage), theta.tobytes())
        if key not in seen:
            loss, grads = stage(to_model(theta))
            if len(seen) >= 4:
                del seen[next(iter(seen))]
            seen[key] = (loss, flatten(chain(grads)), grads)
        return seen[key][:2]

    theta = from_model(params)
    zero = np.zeros_like(theta)
    # the gradient rule is measured in the standardized variables σW (as without the floor): tol keeps its meaning
    measure = None if std is sigma else flatten({"W": np.repeat((std / sigma)[:, None], np.shape(params["W"])[1], 1),
                                                "b": np.ones(np.shape(params["b"]))})
    zero_grad = loss_and_grad(zero)[1] * (1.0 if measure is None else measure)
    gtol = float(tol) * max(float(np.max(np.abs(zero_grad))), np.finfo(np.float64).tiny)
    pairs = _carried(curvature, objective, memory, keys, unflatten, flatten, std)
    n_iter, precisions, stages = 0, [stage.dtype.name], [(stage, stage.passes)]
    while True:
        first = n_iter
        outcome = minimize(loss_and_grad, theta, gtol=gtol, ftol=max(float(tol) ** 2, FTOL[stage.dtype.name]),
                           max_iter=max_iter - n_iter, memory=pairs, measure=measure,
                           callback=None if callback is None else lambda k, f, first=first: callback(first + k, f))
        theta, loss, n_iter = outcome.theta, outcome.f, n_iter + outcome.n_iter
        converged = outcome.converged
        if outcome.status != "stalled":
            break
        finer = getattr(stage, "precise", lambda: None)()
        if finer is None:  # the line search stalled in float64: the optimum to machine precision, if the gradient
            # rule holds there too (a stall far above it is a badly scaled problem, never reported as converged)
            scaled = outcome.g if measure is None else measure * outcome.g
            converged = stage.dtype == np.float64 and float(np.max(np.abs(scaled))) <= gtol
            break
        stage = finer  # float32 round-off stalled the line search: finish in float64 (the pairs stay valid)
        stages.append((stage, stage.passes))
        precisions.append(stage.dtype.name)
    message = MESSAGES[outcome.status]
    loss_and_grad(theta)  # (remembered) the model's gradient at the result: the certificate
    out = {k: p.astype(dtypes[k]) for k, p in to_model(theta).items()}
    grads = seen[(id(stage), theta.tobytes())][2]
    grad_norm, bound = certificate(objective, grads)
    pairs.reg = objective.reg_strength if isinstance(objective, Objective) and objective.reg is not None else 0.0
    return LBFGSResult(out, loss, grad_norm, n_iter, converged, message, bound,
                       sum(s.passes - p for s, p in stages), time.perf_counter() - started, "+".join(precisions), pairs)


def _carried(curvature, objective, size, keys, unflatten, flatten, std) -> Memory:
    """The pairs of a previous run (``curvature``) shifted to this objective's λ, or an empty memory.

    Only an L2 (or unregularized) objective on ``W`` and ``b`` keeps them: its penalty
    ``λ ΣW²`` is quadratic, with ``∇²R s = 2 s_W``; any other objective starts afresh.
    """
    if curvature is None or std is not None or set(keys) != {"W", "b"} or not isinstance(objective, Objective) \
            or not (objective.reg is None or isinstance(objective.reg, L2)):
        return Memory(size)  # (rescale's variables depend on λ: the pairs of another λ do not apply)

    def reg_curvature(s):
        return flatten({"W": 2 * unflatten(s)["W"], "b": np.zeros(unflatten(s)["b"].shape)})

    lam = objective.reg_strength if objective.reg is not None else 0.0
    return curvature.shifted(lam, reg_curvature) if curvature.size == size else Memory(size)
