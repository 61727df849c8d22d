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
data, so a warm start stops at the same accuracy as a cold one). When an
iteration lowers the objective by less than ``tol²`` relative before that, the
run goes on in the same precision with only round-off's floor on the decrease;
when float32 round-off stalls the line search, it goes on in float64 from where
it stopped (the float64 finish). ``converged`` means the gradient rule holds,
nothing less. The result carries the certificate:
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
from dataclasses import dataclass

import numpy as np

from .. import _checks, defaults
from ..errors import ParameterError
from ..losses import LOSSES, get_loss
from ..objective import Objective, certificate
from ..regularizers import L2
from ..rows.source import feature_stats, fold
from .chunked import SoftmaxL2
from .quasi_newton import MEMORY, MESSAGES, Memory, minimize

TOL, MAX_ITER = defaults.value("train", "lbfgs_tol"), defaults.value("train", "lbfgs_max_iter")
"""Default relative tolerance ``‖∇L‖∞ ≤ tol · ‖∇L(0)‖∞`` and budget (:mod:`linclass.defaults`, with their reasons)."""
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


@dataclass(frozen=True)
class LBFGSResult:
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


def is_chunked(objective) -> bool:
    """Whether :class:`SoftmaxL2` computes ``objective`` in row chunks on NumPy: the L2 softmax (fused), or any
    smooth loss with L2 or no penalty (``loss=``, the squared hinge among them)."""
    return (isinstance(objective, Objective) and LOSSES[objective.loss].smooth
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


def lbfgs(objective, X, y, params, *, max_iter: int = MAX_ITER, tol: float = TOL, allow_nonsmooth: bool = False,
          evaluator=None, chunk_rows: int | None = None, threads: int | None = None, memory: int = MEMORY,
          rescale: bool = False, curvature: Memory | None = None, callback=None) -> LBFGSResult:
    """Minimize ``objective(params, X, y)`` over all parameters with L-BFGS, on the full batch.

    Stops when ``‖∇L‖∞ ≤ tol · ‖∇L(0)‖∞`` (``converged``), when no step lowers the loss in
    float64 any more (round-off: ``converged`` only if the gradient rule holds there), or after
    ``max_iter`` iterations (``converged`` False; callers warn). A relative decrease below
    ``tol²`` short of the gradient rule does not end the run: it goes on with round-off's floor.
    ``evaluator``: a backend's
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
    check_smooth(objective, allow_nonsmooth)
    max_iter = _checks.integer(max_iter, "max_iter")
    tol = _checks.number(tol, "tol", low=0, low_open=True, hint=f"; e.g. {TOL:g}")
    variables = Variables(params, X, objective, rescale)
    evaluate = Remembered(variables, first_stage(objective, X, y, params, evaluator, chunk_rows, threads))
    gtol = relative_gtol(evaluate, variables, tol)
    pairs = variables.carried(curvature, objective, memory)
    run = run_stages(evaluate, variables.from_model(params), gtol=gtol, tol=tol, max_iter=max_iter, pairs=pairs,
                     measure=variables.measure, callback=callback)
    grads = evaluate.model_grads(run.theta)
    grad_norm, bound = certificate(objective, grads)
    pairs.reg = objective.reg_strength if isinstance(objective, Objective) and objective.reg is not None else 0.0
    return LBFGSResult(params=variables.output(run.theta), loss=run.loss, grad_norm=grad_norm, n_iter=run.n_iter,
                       converged=run.converged, message=MESSAGES[run.status], distance_bound=bound,
                       evaluations=run.passes, seconds=time.perf_counter() - started, precision=run.precision,
                       curvature=pairs)


def check_smooth(objective, allow_nonsmooth: bool) -> None:
    """Refuse an objective with kinks (its line search stalls on them) unless ``allow_nonsmooth``; then warn."""
    parts = _nonsmooth_parts(objective)
    if parts and not allow_nonsmooth:
        raise ParameterError(f"L-BFGS needs a smooth objective, but {' and '.join(parts)} "
                             f"{'is' if len(parts) == 1 else 'are'} not differentiable everywhere; "
                             f"use loss {' or '.join(n for n, loss in LOSSES.items() if loss.smooth)} with l2 (or no) "
                             "regularization, "
                             "a gradient optimizer, or allow_nonsmooth=True for an approximate answer.")
    if parts:
        warnings.warn(f"L-BFGS on a non-smooth objective ({' and '.join(parts)}): the result is "
                      "approximate and may stop early.", RuntimeWarning, stacklevel=3)


class Variables:
    """The optimizer's variables: the parameters flattened to one float64 vector θ, rescaled or not.

    With ``rescale`` (parameters ``W``, ``b`` only) θ holds ``V = σ W`` and ``c = b + μ W`` (μ: the features'
    mean; σ: their standard deviation, floored for L2 as :data:`LOSS_CURVATURE` says), so that
    ``to_model`` / ``from_model`` map between θ and the model's parameters and ``chain`` maps the model's
    gradient to θ's: ``∇_V = (∇_W − μ ⊗ ∇_b) / σ``, ``∇_c = ∇_b``.
    """

    def __init__(self, params, X=None, objective=None, rescale: bool = False):
        self.keys = list(params)
        self.shapes = [np.shape(params[k]) for k in self.keys]
        ends = np.cumsum([math.prod(s) for s in self.shapes]).tolist()
        self.slices = [slice(a, z) for a, z in zip([0] + ends[:-1], ends)]
        self.dtypes = {k: np.asarray(params[k]).dtype for k in self.keys}
        self.mean = self.std = self.measure = None
        if not rescale:
            return
        if set(self.keys) != {"W", "b"}:
            raise ParameterError(f"rescale=True needs the parameters W and b, got {self.keys}.")
        self.mean, sigma = feature_stats(X)
        self.std = sigma
        if isinstance(objective, Objective) and isinstance(objective.reg, L2):
            self.std = np.sqrt(np.square(sigma) + 2 * objective.reg_strength / LOSS_CURVATURE)
            # the gradient rule is measured in the standardized variables σW (as without the floor): tol keeps
            # its meaning
            self.measure = self.flatten({"W": np.repeat((self.std / sigma)[:, None], np.shape(params["W"])[1], 1),
                                         "b": np.ones(np.shape(params["b"]))})

    @property
    def size(self) -> int:
        """The number of variables."""
        return sum(math.prod(s) for s in self.shapes)

    def unflatten(self, theta) -> dict:
        return {k: theta[part].reshape(s) for k, part, s in zip(self.keys, self.slices, self.shapes)}

    def flatten(self, parts) -> np.ndarray:
        return np.concatenate([np.ravel(parts[k]) for k in self.keys]).astype(np.float64, copy=False)

    def to_model(self, theta) -> dict:
        """The optimizer's variables → the model's parameters (float64)."""
        p = self.unflatten(theta)
        if self.mean is None:
            return p
        W, b = fold(p["W"], p["b"], self.mean, self.std)  # V = σW, c = b + μW read back: W = V/σ, b = c − μW
        return {"W": W, "b": b}

    def from_model(self, params) -> np.ndarray:
        """The model's parameters → the optimizer's variables."""
        if self.mean is None:
            return self.flatten(params)
        W = np.asarray(params["W"], np.float64)
        return self.flatten({"W": W * self.std[:, None], "b": np.asarray(params["b"], np.float64) + self.mean @ W})

    def chain(self, grads) -> dict:
        """The model's gradient → the optimizer's (the chain rule through ``to_model``)."""
        if self.mean is None:
            return grads
        return {"W": (grads["W"] - np.outer(self.mean, grads["b"])) / self.std[:, None], "b": grads["b"]}

    def largest(self, flat_grad) -> float:
        """The largest component of the optimizer's gradient, in the units the stopping rule measures."""
        return float(np.max(np.abs(flat_grad if self.measure is None else self.measure * flat_grad)))

    def output(self, theta) -> dict:
        """The model's parameters at ``theta`` in the dtypes they came in."""
        return {k: p.astype(self.dtypes[k]) for k, p in self.to_model(theta).items()}

    def carried(self, curvature, objective, size: int) -> Memory:
        """The pairs of a previous run (``curvature``) shifted to this objective's λ, or an empty memory.

        Only an L2 (or unregularized) objective on ``W`` and ``b`` in unscaled variables keeps them: its
        penalty ``λ ΣW²`` is quadratic, with ``∇²R s = 2 s_W``; any other objective starts afresh (rescale's
        variables depend on λ: the pairs of another λ do not apply).
        """
        if curvature is None or self.std is not None or set(self.keys) != {"W", "b"} \
                or not isinstance(objective, Objective) or not (objective.reg is None or isinstance(objective.reg, L2)):
            return Memory(size)

        def reg_curvature(s):
            return self.flatten({"W": 2 * self.unflatten(s)["W"], "b": np.zeros(self.unflatten(s)["b"].shape)})

        lam = objective.reg_strength if objective.reg is not None else 0.0
        return curvature.shifted(lam, reg_curvature) if curvature.size == size else Memory(size)


def first_stage(objective, X, y, params, evaluator=None, chunk_rows=None, threads=None):
    """What evaluates the objective at the model's parameters: ``evaluator`` (a backend's), the chunked
    :class:`SoftmaxL2` of an L2 softmax on ``W``, ``b`` in the parameters' precision, or the objective itself."""
    dtypes = {k: np.asarray(v).dtype for k, v in params.items()}
    if evaluator is None and is_l2_softmax(objective) and set(params) == {"W", "b"}:
        dtype = np.float32 if dtypes["W"] == np.float32 else np.float64
        evaluator = softmax_evaluator(objective, X, y, np.shape(params["W"])[1], dtype, chunk_rows=chunk_rows,
                                      threads=threads)
    return _Softmax(evaluator) if evaluator is not None else _Generic(objective, X, y, dtypes)


class Remembered:
    """``θ -> (L, ∇_θ L)`` through the current ``stage`` (an evaluator of the model's parameters), remembering
    the last few points: the line search asks for ``f`` and ``∇f`` apart, and the certificate for the last."""

    SIZE = 4

    def __init__(self, variables: Variables, stage):
        self.variables, self.stage, self.seen = variables, stage, {}

    def _entry(self, theta):
        key = (id(self.stage), theta.tobytes())
        if key not in self.seen:
            loss, grads = self.stage(self.variables.to_model(theta))
            if len(self.seen) >= self.SIZE:
                del self.seen[next(iter(self.seen))]
            self.seen[key] = (loss, self.variables.flatten(self.variables.chain(grads)), grads)
        return self.seen[key]

    def __call__(self, theta):
        return self._entry(theta)[:2]

    def model_grads(self, theta) -> dict:
        """The model's gradient at ``theta`` (in the current stage's precision)."""
        return self._entry(theta)[2]


def relative_gtol(evaluate: Remembered, variables: Variables, tol: float) -> float:
    """The gradient tolerance ``tol · ‖∇L(0)‖∞`` (measured in the optimizer's units): a property of the data,
    so a warm start stops at the same accuracy as a cold one."""
    zero_grad = evaluate(np.zeros(variables.size))[1]
    return float(tol) * max(variables.largest(zero_grad), np.finfo(np.float64).tiny)


@dataclass(frozen=True)
class Stages:
    """How :func:`run_stages` ended: where, after how many iterations and passes, in which precisions."""

    theta: np.ndarray
    loss: float
    n_iter: int
    status: str
    converged: bool
    passes: int
    precision: str


def run_stages(evaluate: Remembered, theta, *, gtol: float, tol: float, max_iter: int, pairs: Memory, measure=None,
               callback=None) -> Stages:
    """L-BFGS from ``theta`` in the first stage's precision; when float32 round-off stalls the line search, on
    in float64 from where it stopped (the pairs stay valid). A stall in float64 is the optimum to machine
    precision (``converged`` if the gradient rule holds there too)."""
    n_iter, precisions, stages = 0, [evaluate.stage.dtype.name], [(evaluate.stage, evaluate.stage.passes)]
    floor = False  # after a decrease-stop above the gradient tolerance: only machine precision stops on decrease
    while True:
        first = n_iter
        ftol = FTOL[evaluate.stage.dtype.name] if floor else max(float(tol) ** 2, FTOL[evaluate.stage.dtype.name])
        outcome = minimize(evaluate, theta, gtol=gtol, ftol=ftol, max_iter=max_iter - n_iter, memory=pairs,
                           measure=measure,
                           callback=None if callback is None else lambda k, f, first=first: callback(first + k, f))
        theta, n_iter = outcome.theta, n_iter + outcome.n_iter
        scaled = outcome.g if measure is None else measure * outcome.g
        converged = bool(np.max(np.abs(scaled)) <= gtol)  # the gradient rule: never "converged" above it
        if outcome.status not in ("stalled", "decrease") or converged:
            break
        if outcome.status == "decrease" and not floor:  # the objective stopped moving before the gradient rule
            floor = True  # held: go on in this precision until it holds, or until round-off stalls the line search
            continue
        finer = getattr(evaluate.stage, "precise", lambda: None)()
        if finer is None:  # stalled (or stopped moving at machine precision) in float64: the optimum to machine
            break  # precision, reported as converged only if the gradient rule holds (above: a badly scaled problem)
        evaluate.stage = finer
        stages.append((finer, finer.passes))
        precisions.append(finer.dtype.name)
    evaluate(theta)  # (remembered) the model's gradient at the result, in the last stage: the certificate
    passes = sum(stage.passes - before for stage, before in stages)
    return Stages(theta, outcome.f, n_iter, outcome.status, converged, passes, "+".join(precisions))
