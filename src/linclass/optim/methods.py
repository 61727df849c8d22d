"""The registry of every optimizer that ``linclass train`` and the estimators can choose, with its traits."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError
from .gradient import OPTIMIZERS


@dataclass(frozen=True)
class Method:
    """An optimizer of the registry :data:`METHODS` and its traits."""

    name: str
    gradient: bool
    """Follows the gradient (False: the lecture's random searches, which only evaluate the loss)."""
    full_batch: bool
    """Needs the whole training set at every step: no minibatches, no ``partial_fit``."""
    smooth_only: bool = False
    """Needs a smooth objective (a smooth loss and penalty, see :mod:`linclass.losses`)."""


METHODS = {m.name: m for m in (
    *(Method(name, gradient=True, full_batch=False) for name in OPTIMIZERS),
    Method("lbfgs", gradient=True, full_batch=True, smooth_only=True),
    Method("random-search", gradient=False, full_batch=True),
    Method("random-local-search", gradient=False, full_batch=True),
)}
"""Every optimizer by its command-line name: the minibatch methods of :data:`~linclass.optim.OPTIMIZERS`,
L-BFGS and the two random searches."""


def get_method(name: str) -> Method:
    """The registry entry of the optimizer called ``name`` (see :data:`METHODS`)."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown optimizer {name!r}; choose one of {', '.join(METHODS)}.") from None
