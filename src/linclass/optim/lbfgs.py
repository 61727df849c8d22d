"""The exact full-batch minimum of a smooth objective, by L-BFGS.

Conventions: N examples, D features, C classes; parameters ``{"W": (D, C), "b": (C,)}``.
:func:`lbfgs` hands the flattened float64 parameters ``θ = [vec W, b]`` and the
objective's value and gradient to ``scipy.optimize.minimize(method="L-BFGS-B",
jac=True)``. It is the reference optimum the gradient optimizers are tested
against. L-BFGS assumes a continuous gradient: it is meant for the smooth losses
(:data:`linclass.losses.LOSSES` marked ``smooth``: softmax, squared hinge) with L2 or no
regularization. The hinge losses and L1 / elastic-net penalties have kinks, where
its line search stalls; they are refused unless ``allow_nonsmooth=True``.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np

from .. import _checks
from ..errors import ParameterError
from ..losses import LOSSES, get_loss
from ..objective import Objective


class LBFGSResult(NamedTuple):
    """``params`` in the input dtypes; ``loss`` and ``grad_norm`` (‖∇L‖₂) at them in float64."""

    params: dict
    loss: float
    grad_norm: float
    n_iter: int
    converged: bool
    message: str


def _nonsmooth_parts(objective) -> list[str]:
    if not isinstance(objective, Objective):
        return []
    parts = []
    if not get_loss(objective.loss).smooth:
        parts.append(f"the {objective.loss} loss")
    if objective.reg is not None and objective.reg_strength > 0 and not objective.reg.smooth:
        parts.append(f"the {objective.reg.name} regularizer")
    return parts


def lbfgs(objective, X, y, params, *, max_iter: int = 500, tol: float = 1e-10,
          allow_nonsmooth: bool = False) -> LBFGSResult:
    """Minimize ``objective(params, X, y)`` over all parameters with L-BFGS, on the full batch.

    Stops when every component of the gradient is below ``tol`` (``gtol``), when a
    step no longer lowers the loss in float64, or after ``max_iter`` iterations;
    ``converged`` is scipy's success flag and ``message`` its reason.

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
    from scipy.optimize import minimize

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
    tol = _checks.number(tol, "tol", low=0, low_open=True, hint="; e.g. 1e-10")

    keys = list(params)
    shapes = [np.shape(params[k]) for k in keys]
    splits = np.cumsum([math.prod(s) for s in shapes])[:-1]

    def unflatten(theta):
        return {k: part.reshape(s) for k, part, s in zip(keys, np.split(theta, splits), shapes)}

    dtypes = {k: np.asarray(params[k]).dtype for k in keys}

    def loss_and_grad(theta):  # evaluated in the parameters' own dtype: float32 data is never upcast
        value = objective({k: p.astype(dtypes[k], copy=False) for k, p in unflatten(theta).items()}, X, y)
        return value.loss, np.concatenate([np.ravel(value.grads[k]) for k in keys]).astype(np.float64)

    theta0 = np.concatenate([np.ravel(params[k]) for k in keys]).astype(np.float64)
    res = minimize(loss_and_grad, theta0, jac=True, method="L-BFGS-B",
                   options={"maxiter": int(max_iter), "gtol": float(tol), "ftol": np.finfo(np.float64).eps})
    out = {k: p.astype(dtypes[k]) for k, p in unflatten(res.x).items()}
    return LBFGSResult(out, float(res.fun), float(np.linalg.norm(res.jac)), int(res.nit),
                       bool(res.success), str(res.message))
