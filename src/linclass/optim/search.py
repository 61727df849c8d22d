"""The lecture's first optimizers: random search and random local search.

Conventions: N examples, D features, C classes; ``X`` (N, D), ``y`` (N,),
parameters ``{"W": (D, C), "b": (C,)}``. Neither strategy uses a gradient: each
only evaluates the objective's loss, and the budget counts those evaluations.

- **Random search** (strategy #1, "a very bad idea"): sample ``W ~ scale · randn``
  (``b = 0``) ``budget`` times and keep the one with the lowest loss. The lecture:
  1,000 tries at ``scale = 1e-4`` reach 15.5% on CIFAR-10.
- **Random local search** (strategy #2): from ``W``, try ``W + step_size · randn``
  and keep it if the loss is lower. The lecture: from ``W₀ ~ 0.001 · randn``, 1,000
  tries at ``step_size = 1e-4`` reach 21.4%.

Each evaluation is one vectorized pass over the whole batch. With an
:class:`linclass.Objective`, ``candidates_per_product`` candidate ``W`` are
scored in one matrix product ``X @ [W₁ … W_k]`` (N, k·C), which reads ``X`` once
for k candidates and skips the gradient. The result is the one of evaluating
the candidates one by one in the same order, with the same random draws: random
local search throws away the evaluations made after an accepted candidate and
tries their perturbations again around the new ``W`` (and stacks fewer
candidates while gains are frequent), so ``evaluations`` and
``history`` follow the one-at-a-time definition (the arithmetic of a stacked
product may differ from a single one in the last bits). ``candidates_per_product=1``
calls the objective itself for each candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _checks, losses
from .._checks import as_float_array, as_labels
from ..errors import InputError
from ..objective import Objective


@dataclass(frozen=True)
class SearchResult:
    """The best parameters found and the way there.

    ``history[i]`` is the best loss after ``i + 1`` evaluations;
    ``initial_loss`` the loss of the first evaluation (random search: the first
    sample; random local search: the starting parameters).
    """

    params: dict
    loss: float
    evaluations: int
    history: np.ndarray
    initial_loss: float


def _scale(value, name: str) -> float:
    return _checks.number(value, name, low=0, low_open=True, hint="; the lecture uses 1e-4 on raw pixels")


def _data(X, y, n_classes: int):
    X = as_float_array(X, "X", 2)
    return X, as_labels(y, X.shape[0], n_classes)


def _stacked_losses(objective: Objective, X, y, Ws, b) -> np.ndarray:
    """``L(W_j, b)`` for each of the k candidates ``Ws`` (k, D, C), from one product ``X @ [W₁ … W_k]``."""
    k, D, C = Ws.shape
    N = X.shape[0]
    scores = X @ Ws.transpose(1, 0, 2).reshape(D, k * C) + np.tile(b, k)  # (N, k·C)
    scores = scores.reshape(N, k, C).transpose(1, 0, 2).reshape(k * N, C)  # (k·N, C), candidate-major
    per_example, _ = losses.get_loss(objective.loss)(scores, np.tile(y, k), reduction="none")
    data_losses = per_example.reshape(k, N).mean(axis=1)  # (k,)
    reg_losses = [objective.penalty(W)[0] for W in Ws]  # the regularizer sees one W at a time
    return data_losses + np.array(reg_losses)


def _evaluator(objective, X, y, b, candidates_per_product: int):
    """A function ``Ws (k, D, C) -> losses (k,)``."""
    if isinstance(objective, Objective) and candidates_per_product > 1:
        return lambda Ws: _stacked_losses(objective, X, y, Ws, b)
    return lambda Ws: np.array([objective({"W": W, "b": b}, X, y).loss for W in Ws], dtype=np.float64)


def _record(history, done: int, best: float, new_losses) -> None:
    """Write the running best after each of ``new_losses`` into ``history[done:]``."""
    n = len(new_losses)
    history[done:done + n] = np.minimum.accumulate(np.concatenate(([best], new_losses)))[1:]


def random_search(objective, X, y, *, n_features: int, n_classes: int, budget: int = 1000,
                  scale: float = 1e-4, seed=0, dtype=np.float32,
                  candidates_per_product: int = 16) -> SearchResult:
    """Keep the best of ``budget`` random ``W ~ scale · randn(D, C)`` (``b = 0``), by loss.

    ``objective(params, X, y)`` returns a value with ``.loss`` (a
    :class:`linclass.Objective`). Ties keep the earlier sample. Draws come from
    ``numpy.random.default_rng(seed)`` in float64, then are cast to ``dtype``.

    >>> import numpy as np
    >>> from linclass import Objective
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((50, 3)), rng.integers(0, 2, 50)
    >>> result = random_search(Objective("svm"), X, y, n_features=3, n_classes=2, budget=100, scale=1.0)
    >>> result.evaluations, bool(result.loss <= result.initial_loss)
    (100, True)
    """
    X, y = _data(X, y, n_classes)
    if X.shape[1] != n_features:
        raise InputError(f"X has {X.shape[1]} features but n_features={n_features}; "
                         "pass n_features=X.shape[1].")
    budget = _checks.integer(budget, "budget")
    per_product = _checks.integer(candidates_per_product, "candidates_per_product")
    scale = _scale(scale, "scale")
    rng = np.random.default_rng(seed)
    b = np.zeros(n_classes, dtype=dtype)
    evaluate = _evaluator(objective, X, y, b, per_product)
    history = np.empty(budget)
    best_loss, best_W = math.inf, None
    done = 0
    while done < budget:
        k = min(per_product, budget - done)
        Ws = (scale * rng.standard_normal((k, n_features, n_classes))).astype(dtype)  # (k, D, C)
        new_losses = evaluate(Ws)
        _record(history, done, best_loss, new_losses)
        j = int(np.argmin(new_losses))  # the first of the lowest
        if new_losses[j] < best_loss:
            best_loss, best_W = float(new_losses[j]), Ws[j]
        done += k
    return SearchResult(params={"W": best_W.copy(), "b": b}, loss=best_loss, evaluations=budget, history=history,
                        initial_loss=float(history[0]))


def random_local_search(objective, X, y, params, *, budget: int = 1000, step_size: float = 1e-4,
                        seed=0, candidates_per_product: int = 16) -> SearchResult:
    """From ``params``, try ``W + step_size · randn(D, C)`` and keep it when the loss is lower.

    ``b`` is kept as given. The first of the ``budget`` evaluations is the
    starting point's loss; each of the others tries one perturbation. Draws come
    from ``numpy.random.default_rng(seed)`` in float64; the step is cast to ``W``'s dtype.

    >>> import numpy as np
    >>> from linclass import LinearModel, Objective
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((50, 3)), rng.integers(0, 2, 50)
    >>> start = LinearModel.init(3, 2, scale=1e-3, dtype=np.float64).params
    >>> result = random_local_search(Objective("softmax"), X, y, start, budget=200, step_size=0.1)
    >>> result.evaluations, bool(result.loss < result.initial_loss)
    (200, True)
    """
    W, b = params["W"], params["b"]
    X, y = _data(X, y, W.shape[1] if np.ndim(W) == 2 else 0)
    if np.ndim(W) != 2 or W.shape[0] != X.shape[1] or np.shape(b) != (W.shape[1],):
        raise InputError(f"params must be W (D={X.shape[1]}, C) and b (C,) for X with {X.shape[1]} "
                         f"features, got W {np.shape(W)} and b {np.shape(b)}.")
    budget = _checks.integer(budget, "budget")
    per_product = _checks.integer(candidates_per_product, "candidates_per_product")
    step_size = _scale(step_size, "step_size")
    rng = np.random.default_rng(seed)
    evaluate = _evaluator(objective, X, y, b, per_product)
    best_loss = float(evaluate(W[None])[0])
    history = np.empty(budget)
    history[0] = best_loss
    pending = np.empty((0,) + W.shape)  # draws made but not yet tried around the current W
    done, k = 1, per_product
    while done < budget:
        k = min(k, budget - done)
        fresh = rng.standard_normal((max(0, k - len(pending)),) + W.shape)
        drawn = np.concatenate((pending, fresh))  # unit perturbations, in draw order
        Z = drawn[:k]  # (k, D, C)
        Ws = W + (step_size * Z).astype(W.dtype)  # (k, D, C) candidates around the current W
        new_losses = evaluate(Ws)
        better = np.flatnonzero(new_losses < best_loss)
        used = int(better[0]) + 1 if better.size else k  # the sequential search stops at the first gain
        _record(history, done, best_loss, new_losses[:used])
        if better.size:
            W, best_loss = Ws[used - 1], float(new_losses[used - 1])
        pending = drawn[used:]  # not tried, or tried around the old W only: try around the new one
        done += used
        k = min(per_product, 2 * used)  # stack about twice as many as the last gain took
    return SearchResult(params={"W": W.copy(), "b": np.array(b)}, loss=best_loss, evaluations=budget,
                        history=history, initial_loss=float(history[0]))
