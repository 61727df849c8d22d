"""Optimizers over the objective ``L(W, b)``: gradient methods, schedules, search, L-BFGS.

- :mod:`~linclass.optim.gradient`: ``sgd``, ``momentum``, ``nesterov``, ``adagrad``,
  ``rmsprop``, ``adam`` in the ``init`` / ``update`` design, and ``apply_updates``;
- :mod:`~linclass.optim.schedules`: learning rates as callables ``step -> lr``;
- :mod:`~linclass.optim.search`: the lecture's random search and random local search;
- :mod:`~linclass.optim.lbfgs`: the exact full-batch optimum of a smooth objective;
- :mod:`~linclass.optim.methods`: the registry of all of them, with their traits.
"""

from .gradient import (
                       OPTIMIZERS,
                       AdamState,
                       CacheState,
                       MomentumState,
                       Optimizer,
                       SgdState,
                       adagrad,
                       adam,
                       apply_updates,
                       get_optimizer,
                       momentum,
                       nesterov,
                       rmsprop,
                       sgd,
)
from .lbfgs import LBFGSResult, lbfgs
from .methods import METHODS, Method, get_method
from .schedules import (
                       SCHEDULES,
                       Constant,
                       Cosine,
                       Exponential,
                       StepDecay,
                       Warmup,
                       as_schedule,
                       constant,
                       cosine,
                       exponential,
                       parse_schedule,
                       step_decay,
                       warmup,
)
from .search import SearchResult, random_local_search, random_search

__all__ = [
    "OPTIMIZERS", "AdamState", "CacheState", "MomentumState", "Optimizer", "SgdState",
    "adagrad", "adam", "apply_updates", "get_optimizer", "momentum", "nesterov", "rmsprop", "sgd",
    "LBFGSResult", "lbfgs", "METHODS", "Method", "get_method",
    "SCHEDULES", "Constant", "Cosine", "Exponential", "StepDecay", "Warmup", "as_schedule",
    "constant", "cosine", "exponential", "parse_schedule", "step_decay", "warmup",
    "SearchResult", "random_local_search", "random_search",
]
