"""How a problem is minimized: the solver specs :func:`linclass.fitting.solve` takes (frozen dataclasses).

- :class:`LBFGS`: the exact full-batch optimum of a smooth objective (:mod:`linclass.optim.lbfgs`);
- :class:`Minibatch`: a gradient optimizer (``sgd`` … ``adam``) with its learning-rate schedule, run for
  epochs (or steps) of minibatches by the loop of :mod:`linclass.fitting.loop`;
- :class:`RandomSearch`, :class:`LocalSearch`: the lecture's strategies (:mod:`linclass.optim.search`).

Each default is read from :mod:`linclass.defaults`; :meth:`LBFGS.of` takes a caller's context (``train``,
``estimator``, ``probe``) and its given values (None: the context's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .. import _checks, defaults
from ..errors import ParameterError
from ..optim import Optimizer, get_optimizer, parse_schedule
from ..optim.quasi_newton import MEMORY
from .problem import Backend

__all__ = ["LBFGS", "LocalSearch", "Minibatch", "RandomSearch"]


def _of(cls, context: str, given: dict, names: dict):
    """``cls(**given)`` with each None among ``names`` (field → defaults key) read from ``context``'s defaults."""
    values = {k: v for k, v in given.items() if v is not None}
    for name, key in names.items():
        if name not in values and key in defaults.TABLE.get(context, {}):
            values[name] = defaults.value(context, key)
    return cls(**values)


@dataclass(frozen=True)
class LBFGS:
    """L-BFGS on the full batch: stops at ``‖∇L‖∞ ≤ tol · ‖∇L(0)‖∞`` (relative) or after ``max_iter`` iterations.

    ``rescale``: iterate on standardized variables (W, b stay the raw problem's); ``memory``: correction
    pairs; ``allow_nonsmooth``: run on kinks anyway (approximate); ``backend``: where the L2 softmax is
    computed; ``dtype``: precision of its products (None: the parameters'; float32 finishes in float64
    when round-off stalls it).
    """

    tol: float = defaults.value("train", "lbfgs_tol")
    max_iter: int = defaults.value("train", "lbfgs_max_iter")
    rescale: bool = False
    memory: int = MEMORY
    allow_nonsmooth: bool = False
    backend: Backend = Backend()
    dtype: str | None = None

    def __post_init__(self):
        _checks.integer(self.max_iter, "max_iter")
        _checks.number(self.tol, "tol", low=0, low_open=True, hint="; e.g. 1e-6")

    @classmethod
    def of(cls, context: str, **given) -> LBFGS:
        """The spec with ``context``'s default tolerance and budget for every value not given (None)."""
        return _of(cls, context, given, {"tol": "lbfgs_tol", "max_iter": "lbfgs_max_iter"})


@dataclass(frozen=True)
class Minibatch:
    """``optimizer`` (a name, or an :class:`~linclass.optim.Optimizer` built by the caller) on minibatches.

    ``lr``: the (peak) learning rate, or a callable ``step -> lr`` (then ``schedule`` must be ``constant``);
    None: the optimizer's own default. ``schedule`` spans ``schedule_steps`` steps (None: the run's).
    ``epochs`` of ``batch_size`` rows, or ``iterations`` steps; ``seed`` drives the order (and nothing
    else). ``early_stopping`` after ``patience`` epochs without a better validation accuracy; ``keep``
    ``"best"`` / ``"last"`` weights. ``replacement``: draw rows with replacement. ``shuffle`` (``rows`` /
    ``blocks``; None: blocks for files), ``block_rows``, ``buffer_blocks``: the order of an epoch
    (:mod:`linclass.rows.batches`). ``blas_threads``: a cap on BLAS threads during the loop (a small batch's
    products gain nothing from more).
    ``tol``: with it, a run whose epoch-mean loss still fell by more than ``tol`` in its last ``patience``
    epochs counts as not converged (scikit-learn's SGD rule, a ConvergenceWarning); None: no such check.
    """

    optimizer: str | Optimizer = "sgd"
    lr: float | Callable | None = None
    schedule: str = "constant"
    batch_size: int = defaults.value("train", "batch_size")
    epochs: int = defaults.value("train", "epochs")
    iterations: int | None = None
    seed: int = 0
    early_stopping: bool = False
    patience: int = 5
    keep: str | None = None
    replacement: bool = False
    shuffle: str | None = None
    block_rows: int | None = None
    buffer_blocks: int | None = None
    schedule_steps: int | None = None
    blas_threads: int | None = None
    tol: float | None = None
    explode_factor: float = 1e4
    dtype: str | None = None
    """The loop's precision (None: the parameters')."""

    def __post_init__(self):
        if callable(self.lr) and self.schedule != "constant":
            raise ParameterError("the learning rate is already a schedule (a callable); leave the schedule constant.")

    def build(self, total_steps: int) -> Optimizer:
        """The optimizer, its learning rate scheduled over ``schedule_steps`` (or ``total_steps``) steps."""
        if isinstance(self.optimizer, Optimizer):
            return self.optimizer
        lr = self.lr
        if lr is None:
            lr = float(get_optimizer(self.optimizer).hyperparams["learning_rate"](0))  # the optimizer's default
        if not callable(lr):
            lr = parse_schedule(self.schedule, float(lr), max(1, self.schedule_steps or total_steps))
        return get_optimizer(self.optimizer, learning_rate=lr)


@dataclass(frozen=True)
class RandomSearch:
    """The lecture's random search: ``budget`` random ``W`` of ``scale · randn``, the best kept."""

    budget: int = 1000
    scale: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class LocalSearch:
    """The lecture's random local search: ``budget`` random steps of ``step_size · randn``, each kept if better."""

    budget: int = 1000
    step_size: float = 1e-4
    seed: int = 0
