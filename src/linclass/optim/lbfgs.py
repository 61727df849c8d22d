"""The exact full-batch minimum of a smooth objective, by L-BFGS: the project's one L-BFGS.

Conventions: N examples, D features, C classes; parameters ``{"W": (D, C), "b": (C,)}``.
:func:`lbfgs` hands the flattened float64 parameters ``θ = [vec W, b]`` and the
objective's value and gradient to ``scipy.optimize.minimize(method="L-BFGS-B",
jac=True)`` (the driver scikit-learn's ``LogisticRegression`` uses).

How the value and gradient are computed:

- the L2 (or unregularized) softmax, scikit-learn's multinomial logistic
  regression, goes to :class:`linclass.optim.chunked.SoftmaxL2`: one fused pass
  over X in row chunks, products in the parameters' dtype, sums in float64;
- a backend (``evaluator=``: torch, Dask; see :mod:`linclass.probe`) may supply
  the same function computed elsewhere;
- any other smooth objective is called as ``objective(params, X, y)``.

Stopping rule (relative): the largest gradient component falls below ``tol``
times that of the zero model, ``‖∇L(θ)‖∞ ≤ tol · ‖∇L(0)‖∞`` (a property of the
data, so a warm start stops at the same accuracy as a cold one). When float32
round-off stalls the line search first, the run continues in float64 from
where it stopped (the float64 finish). The result carries the certificate:
``grad_norm`` = ‖∇L‖₂ and, with L2, ``distance_bound`` ≥ ‖W − W*‖ (see
:meth:`linclass.objective.Objective.optimality`).

L-BFGS assumes a continuous gradient: it is meant for the smooth losses
(:data:`linclass.losses.SMOOTH_LOSSES`: softmax, squared hinge) with L2 or no
regularization. The hinge losses and L1 / elastic-net penalties have kinks, where
its line search stalls; they are refused unless ``allow_nonsmooth=True``.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from .. import _checks
from ..errors import ParameterError
from ..losses import SMOOTH_LOSSES
from ..objective import Objective
from .chunked import SoftmaxL2

TOL = 1e-6
FTOL = {"float32": 1e-8, "float64": 4 * np.finfo(np.float64).eps}
"""Default relative tolerance: ``‖∇L‖∞ ≤ 1e-6 · ‖∇L(0)‖∞``."""


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


def _nonsmooth_parts(objective) -> list[str]:
    if not isinstance(objective, Objective):
        return []
    parts = []
    if objective.loss not in SMOOTH_LOSSES:
        parts.append(f"the {objective.loss} loss")
    if objective.reg is not None and objective.reg_strength > 0 and objective.reg.name != "l2":
        parts.append(f"the {objective.reg.name} regularizer")
    return parts


def is_l2_softmax(objective) -> bool:
    """Whether ``objective`` is the L2 (or unregularized) softmax that :class:`SoftmaxL2` computes."""
    return (isinstance(objective, Objective) and objective.loss == "softmax"
            and (objective.reg is None or objective.reg_strength == 0 or objective.reg.name == "l2"))


def softmax_evaluator(objective, X, y, n_classes: int, dtype, **options) -> SoftmaxL2:
    """The chunked evaluator of an L2 softmax :class:`Objective` (``options``: chunk_rows, threads, shift, scale)."""
    lam = objective.reg_strength if objective.reg is not None else 0.0
    return SoftmaxL2(X, y, n_classes, lam, dtype=dtype, **options)


class _Generic:
    """Any objective ``objective(params, X, y) -> Value``, evaluated in the parameters' dtypes."""

    def __init__(self, objective, X, y, dtypes):
        self.objective, self.X, self.y, self.dtypes = objective, X, y, dtypes
        self.dtype = np.dtype(dtypes.get("W", np.float64))

    def __call__(self, params):
        value = self.objective({k: p.astype(self.dtypes[k], copy=False) for k, p in params.items()}, self.X, self.y)
        return float(value.loss), {k: np.asarray(g, np.float64) for k, g in value.grads.items()}


class _Softmax:
    """A :class:`SoftmaxL2`-like evaluator ``(W, b) -> (L, dW, db)`` in the params-dict form."""

    def __init__(self, evaluator):
        self.evaluator, self.dtype = evaluator, np.dtype(evaluator.dtype)

    def __call__(self, params):
        loss, dW, db = self.evaluator(params["W"], params["b"])
        return loss, {"W": dW, "b": db}

    def precise(self):
        return _Softmax(self.evaluator.with_dtype(np.float64)) if self.dtype != np.float64 else None


def lbfgs(objective, X, y, params, *, max_iter: int = 500, tol: float = TOL, allow_nonsmooth: bool = False,
          evaluator=None, chunk_rows: int | None = None, threads: int | None = None, memory: int = 10,
          callback=None) -> LBFGSResult:
    """Minimize ``objective(params, X, y)`` over all parameters with L-BFGS, on the full batch.

    Stops when ``‖∇L‖∞ ≤ tol · ‖∇L(0)‖∞`` (``converged``), when a step no longer
    lowers the loss in float64 (also ``converged``: the optimum to machine
    precision), or after ``max_iter`` iterations (``converged`` False; callers
    warn). ``evaluator``: a backend's ``(W, b) -> (L, dW, db)`` (float64 NumPy out,
    with ``dtype`` and ``with_dtype``) for an L2 softmax objective; ``chunk_rows``
    / ``threads`` tune the default NumPy one. ``memory``: L-BFGS's number of
    correction pairs. ``callback(n_iter, loss)`` after each iteration.

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
                             f"use loss {' or '.join(SMOOTH_LOSSES)} with l2 (or no) regularization, "
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

    if evaluator is None and is_l2_softmax(objective) and set(keys) == {"W", "b"}:
        C = shapes[keys.index("W")][1]
        dtype = np.float32 if dtypes["W"] == np.float32 else np.float64
        evaluator = softmax_evaluator(objective, X, y, C, dtype, chunk_rows=chunk_rows, threads=threads)
    stage = _Softmax(evaluator) if evaluator is not None else _Generic(objective, X, y, dtypes)
    counter, last = {"evaluations": 0}, {}

    def loss_and_grad(theta):  # the last point is remembered: scipy starts by evaluating the start again
        if last.get("stage") is stage and np.array_equal(last["theta"], theta):
            return last["value"]
        counter["evaluations"] += 1
        loss, grads = stage(unflatten(theta))
        last.update(stage=stage, theta=theta.copy(), value=(loss, np.concatenate([np.ravel(grads[k]) for k in keys])))
        return last["value"]

    theta = np.concatenate([np.ravel(params[k]) for k in keys]).astype(np.float64)
    loss, grad = loss_and_grad(theta)
    zero_grad = grad if not theta.any() else loss_and_grad(np.zeros_like(theta))[1]
    gtol = float(tol) * max(float(np.max(np.abs(zero_grad))), np.finfo(np.float64).tiny)
    n_iter, precisions, message, converged = 0, [stage.dtype.name], "", False
    while True:

        first = n_iter

        def step(intermediate_result, first=first):  # counts this stage's iterations for the callback
            step.count += 1
            if callback is not None:
                callback(first + step.count, float(intermediate_result.fun))

        step.count = 0
        res = minimize(loss_and_grad, theta, jac=True, method="L-BFGS-B", callback=step,
                       options={"maxiter": max_iter - n_iter, "gtol": gtol, "ftol": FTOL[stage.dtype.name],
                                "maxcor": memory, "maxls": 50})
        theta, loss, grad, n_iter = res.x, float(res.fun), res.jac, n_iter + int(res.nit)
        message = str(res.message)
        converged = bool(np.max(np.abs(grad)) <= gtol)
        if converged or n_iter >= max_iter:
            break
        finer = getattr(stage, "precise", lambda: None)()
        if finer is None:  # the line search stalled: in float64, that is the optimum to machine precision
            converged = stage.dtype == np.float64
            break
        stage = finer  # float32 round-off stalled the line search: finish in float64
        precisions.append(stage.dtype.name)
    out = {k: p.astype(dtypes[k]) for k, p in unflatten(theta).items()}
    grads = unflatten(grad)
    bound = None
    lam = objective.reg_strength if isinstance(objective, Objective) and objective.reg is not None else 0.0
    if lam > 0 and objective.reg.name == "l2" and "W" in grads:
        bound = float(np.linalg.norm(grads["W"]) / (2 * lam))
    return LBFGSResult(out, loss, float(np.linalg.norm(grad)), n_iter, converged, message, bound,
                       counter["evaluations"], time.perf_counter() - started, "+".join(precisions))
