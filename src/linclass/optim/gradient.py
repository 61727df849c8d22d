"""Gradient optimizers in optax's ``init`` / ``update`` design.

Conventions: parameters are a dict of float arrays, ``{"W": (D, C), "b": (C,)}``
for a linear model (:attr:`linclass.LinearModel.params`); ``grads`` has the same
keys and shapes (:class:`linclass.Objective` returns it). An optimizer is a pair
of pure functions; nothing is changed in place::

    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = apply_updates(params, updates)          # θ ← θ + Δθ

The hyperparameters live in the :class:`Optimizer`, the moving parts in
``state``, a small NamedTuple (``count``, then the moments). The learning rate of
an update is ``α_t = schedule(t)`` with ``t = state.count`` the number of updates
made before it: pass a float for a constant rate or any callable ``step -> lr``
(:mod:`linclass.optim.schedules`). Updates and moments keep each parameter's
dtype: float32 parameters stay float32.

>>> import numpy as np
>>> from linclass import Objective
>>> from linclass.regularizers import L2
>>> rng = np.random.default_rng(0)
>>> X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)  # N=30, D=4, C=3
>>> objective = Objective("softmax", L2(), reg_strength=0.01)
>>> params = {"W": np.zeros((4, 3)), "b": np.zeros(3)}
>>> opt = get_optimizer("momentum", learning_rate=0.1, mu=0.9)
>>> state = opt.init(params)
>>> start = objective(params, X, y).loss                  # ln 3 at W = 0
>>> for _ in range(100):
...     updates, state = opt.update(objective(params, X, y).grads, state, params)
...     params = apply_updates(params, updates)
>>> bool(objective(params, X, y).loss < start), state.count
(True, 100)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, NamedTuple

import numpy as np

from .. import _checks
from ..defaults import value
from ..errors import ParameterError
from .schedules import LearningRate, as_schedule

LR, ADAM_LR = value("optimizer", "lr"), value("optimizer", "adam_lr")
"""The optimizers' own learning rates (:mod:`linclass.defaults`)."""

Params = dict  # {name: float ndarray}


class SgdState(NamedTuple):
    count: int


class MomentumState(NamedTuple):
    count: int
    velocity: dict


class CacheState(NamedTuple):
    count: int
    cache: dict


class AdamState(NamedTuple):
    count: int
    mu: dict
    nu: dict


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: ``init(params) -> state`` and ``update(grads, state, params=None) -> (updates, state)``."""

    name: str
    init: Callable
    update: Callable
    hyperparams: dict = field(default_factory=dict, hash=False)


def apply_updates(params: Params, updates: Params) -> Params:
    """A new dict ``θ_k + Δθ_k`` for each parameter ``k``, in the parameter's dtype."""
    _checks.same_keys(updates, params, "updates")
    return {k: (p + updates[k]).astype(p.dtype, copy=False) for k, p in params.items()}


# ----------------------------------------------------------------------------- checks


def _cast(grads, like) -> Params:
    """``grads`` as arrays of the dtypes (and keys) of ``like``."""
    _checks.same_keys(grads, like)
    return {k: np.asarray(grads[k], dtype=like[k].dtype) for k in like}


def _lr(schedule, count: int) -> float:
    return _checks.number(float(schedule(count)), f"the learning-rate schedule's rate at step {count}", low=0,
                          hint="; a schedule must return finite rates >= 0")


def _unit(value, name: str) -> float:
    return _checks.number(value, name, low=0, high=1, high_open=True, hint="; typical values are 0.9 ... 0.999")


def _eps(value) -> float:
    return _checks.number(value, "eps", low=0, low_open=True, hint="; use a small number such as 1e-8 "
                          "(it keeps the division finite)")


def _zeros_like(params) -> Params:
    return {k: np.zeros_like(p) for k, p in _checks.param_dict(params).items()}


# ----------------------------------------------------------------------------- update rules


def _sgd_init(params) -> SgdState:
    _checks.param_dict(params)
    return SgdState(count=0)


def _sgd_update(grads, state, params=None, *, learning_rate):
    if params is None:
        _checks.same_keys(grads, grads)
        params = {k: np.empty(0, np.result_type(np.asarray(v).dtype, np.float32))
                  for k, v in grads.items()}  # only their dtypes are used
    g = _cast(grads, params)
    lr = _lr(learning_rate, state.count)
    return {k: -lr * g[k] for k in g}, SgdState(state.count + 1)  # Δθ = −α g


def _momentum_init(params) -> MomentumState:
    return MomentumState(count=0, velocity=_zeros_like(params))


def _momentum_update(grads, state, params=None, *, learning_rate, mu, nesterov):
    g = _cast(grads, state.velocity)
    lr = _lr(learning_rate, state.count)
    v = {k: mu * state.velocity[k] - lr * g[k] for k in g}  # v ← μ v − α g
    if nesterov:  # Δθ = −μ v_prev + (1 + μ) v
        updates = {k: -mu * state.velocity[k] + (1 + mu) * v[k] for k in g}
    else:  # Δθ = v
        updates = v
    return updates, MomentumState(state.count + 1, v)


def _cache_init(params) -> CacheState:
    return CacheState(count=0, cache=_zeros_like(params))


def _cache_update(grads, state, params=None, *, learning_rate, decay, eps):
    """AdaGrad (``decay=None``: cache ← cache + g²) or RMSProp (cache ← ρ cache + (1 − ρ) g²)."""
    g = _cast(grads, state.cache)
    lr = _lr(learning_rate, state.count)
    if decay is None:
        cache = {k: state.cache[k] + g[k] * g[k] for k in g}
    else:
        cache = {k: decay * state.cache[k] + (1 - decay) * (g[k] * g[k]) for k in g}
    updates = {k: -lr * g[k] / (np.sqrt(cache[k]) + eps) for k in g}  # Δθ = −α g / (√cache + ε)
    return updates, CacheState(state.count + 1, cache)


def _adam_init(params) -> AdamState:
    return AdamState(count=0, mu=_zeros_like(params), nu=_zeros_like(params))


def _adam_update(grads, state, params=None, *, learning_rate, b1, b2, eps):
    g = _cast(grads, state.mu)
    lr = _lr(learning_rate, state.count)
    t = state.count + 1
    mu = {k: b1 * state.mu[k] + (1 - b1) * g[k] for k in g}  # m ← β₁ m + (1 − β₁) g
    nu = {k: b2 * state.nu[k] + (1 - b2) * (g[k] * g[k]) for k in g}  # v ← β₂ v + (1 − β₂) g²
    c1, c2 = 1 - b1 ** t, 1 - b2 ** t  # bias corrections of the zero-initialized moments
    updates = {k: -lr * (mu[k] / c1) / (np.sqrt(nu[k] / c2) + eps) for k in g}
    return updates, AdamState(t, mu, nu)


# ----------------------------------------------------------------------------- the optimizers


def sgd(learning_rate: LearningRate = LR) -> Optimizer:
    r"""Vanilla gradient descent: ``Δθ = −α_t g``.

    >>> opt = sgd(0.1)
    >>> updates, state = opt.update({"w": np.array([2.0, -4.0])}, opt.init({"w": np.zeros(2)}))
    >>> updates["w"].tolist()
    [-0.2, 0.4]
    """
    schedule = as_schedule(learning_rate)
    return Optimizer("sgd", _sgd_init, partial(_sgd_update, learning_rate=schedule),
                     {"learning_rate": schedule})


def momentum(learning_rate: LearningRate = LR, mu: float = 0.9) -> Optimizer:
    r"""SGD with momentum: ``v ← μ v − α_t g``, ``Δθ = v`` (``v₀ = 0``).

    ``μ`` (friction) keeps a fraction of the previous step: the velocity
    builds up along consistent directions and cancels across oscillating ones.

    >>> opt = momentum(0.1, mu=0.9)
    >>> g, state = {"w": np.array([1.0])}, opt.init({"w": np.zeros(1)})
    >>> first, state = opt.update(g, state)
    >>> second, state = opt.update(g, state)
    >>> float(first["w"][0]), round(float(second["w"][0]), 6)     # −α g, then μ(−α g) − α g
    (-0.1, -0.19)
    """
    schedule = as_schedule(learning_rate)
    mu = _unit(mu, "mu")
    return Optimizer("momentum", _momentum_init,
                     partial(_momentum_update, learning_rate=schedule, mu=mu, nesterov=False),
                     {"learning_rate": schedule, "mu": mu})


def nesterov(learning_rate: LearningRate = LR, mu: float = 0.9) -> Optimizer:
    r"""Nesterov momentum in the cs231n form, on the look-ahead variable:
    ``v ← μ v − α_t g``, ``Δθ = −μ v_prev + (1 + μ) v``.

    >>> opt = nesterov(0.1, mu=0.9)
    >>> updates, _ = opt.update({"w": np.array([1.0])}, opt.init({"w": np.zeros(1)}))
    >>> round(float(updates["w"][0]), 6)    # (1 + μ) · (−α g)
    -0.19
    """
    schedule = as_schedule(learning_rate)
    mu = _unit(mu, "mu")
    return Optimizer("nesterov", _momentum_init,
                     partial(_momentum_update, learning_rate=schedule, mu=mu, nesterov=True),
                     {"learning_rate": schedule, "mu": mu})


def adagrad(learning_rate: LearningRate = LR, eps: float = 1e-8) -> Optimizer:
    r"""AdaGrad: ``cache ← cache + g²``, ``Δθ = −α_t g / (√cache + ε)``.

    Each coordinate's step shrinks with the gradients it has seen.

    >>> opt = adagrad(0.1)
    >>> updates, _ = opt.update({"w": np.array([3.0, -0.5])}, opt.init({"w": np.zeros(2)}))
    >>> np.round(updates["w"], 6).tolist()  # first step: −α sign(g)
    [-0.1, 0.1]
    """
    schedule = as_schedule(learning_rate)
    eps = _eps(eps)
    return Optimizer("adagrad", _cache_init,
                     partial(_cache_update, learning_rate=schedule, decay=None, eps=eps),
                     {"learning_rate": schedule, "eps": eps})


def rmsprop(learning_rate: LearningRate = LR, decay: float = 0.99, eps: float = 1e-8) -> Optimizer:
    r"""RMSProp: ``cache ← ρ cache + (1 − ρ) g²``, ``Δθ = −α_t g / (√cache + ε)`` (ρ = ``decay``).

    AdaGrad with a leaky cache, so the steps do not shrink to zero.

    >>> opt = rmsprop(0.1, decay=0.99)
    >>> updates, _ = opt.update({"w": np.array([2.0])}, opt.init({"w": np.zeros(1)}))
    >>> round(float(updates["w"][0]), 6)    # −α g / √(0.01 g²) = −10 α
    -1.0
    """
    schedule = as_schedule(learning_rate)
    decay = _unit(decay, "decay")
    eps = _eps(eps)
    return Optimizer("rmsprop", _cache_init,
                     partial(_cache_update, learning_rate=schedule, decay=decay, eps=eps),
                     {"learning_rate": schedule, "decay": decay, "eps": eps})


def adam(learning_rate: LearningRate = ADAM_LR, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-8) -> Optimizer:
    r"""Adam (Kingma & Ba, 2015), with bias correction; ``t`` counts updates from 1:

    .. math::
        m_t = β_1 m_{t-1} + (1 − β_1) g_t, \quad v_t = β_2 v_{t-1} + (1 − β_2) g_t^2,\\
        \hat m_t = m_t / (1 − β_1^t), \quad \hat v_t = v_t / (1 − β_2^t), \quad
        Δθ = −α \hat m_t / (\sqrt{\hat v_t} + ε).

    >>> opt = adam(learning_rate=0.1)
    >>> f = lambda p: float(np.sum((p["w"] - 3.0) ** 2))          # a parabola, minimum at 3
    >>> params = {"w": np.zeros(2)}
    >>> state = opt.init(params)
    >>> for _ in range(300):
    ...     updates, state = opt.update({"w": 2 * (params["w"] - 3.0)}, state, params)
    ...     params = apply_updates(params, updates)
    >>> f(params) < 1e-3
    True
    """
    schedule = as_schedule(learning_rate)
    b1, b2 = _unit(b1, "b1"), _unit(b2, "b2")
    eps = _eps(eps)
    return Optimizer("adam", _adam_init,
                     partial(_adam_update, learning_rate=schedule, b1=b1, b2=b2, eps=eps),
                     {"learning_rate": schedule, "b1": b1, "b2": b2, "eps": eps})


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov,
              "adagrad": adagrad, "rmsprop": rmsprop, "adam": adam}
"""Every gradient optimizer by its command-line name."""


def get_optimizer(name: str, learning_rate: LearningRate | None = None, **hyper) -> Optimizer:
    """The optimizer called ``name`` (see :data:`OPTIMIZERS`) with these hyperparameters.

    ``learning_rate=None`` takes the optimizer's default.

    >>> get_optimizer("rmsprop", learning_rate=1e-3, decay=0.9).hyperparams["decay"]
    0.9
    """
    try:
        factory = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.") from None
    allowed = [p for p in inspect.signature(factory).parameters if p != "learning_rate"]
    unknown = sorted(set(hyper) - set(allowed))
    if unknown:
        raise ParameterError(f"{name} has no hyperparameter {', '.join(unknown)}; its hyperparameters are "
                             f"learning_rate{''.join(', ' + a for a in allowed)}.")
    if learning_rate is not None:
        hyper["learning_rate"] = learning_rate
    return factory(**hyper)
