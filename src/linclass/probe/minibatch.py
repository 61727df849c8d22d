"""The probe with a minibatch optimizer (SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam), streamed from the files.

For data so large that even one L-BFGS pass per iteration is too slow: a few epochs of minibatch steps,
each epoch one sequential read of the files in shuffled blocks (:class:`linclass.rows.batches.Blocks`, chosen
by the core's loop, :mod:`linclass.fitting.loop`, for memory-mapped rows). The objective is L-BFGS's: the
lecture's ``Objective("softmax", L2(), λ)`` (mean softmax loss + λ·ΣW², b not penalized) on the rows, or on
the standardized rows ``(x − μ)/σ`` read through :class:`linclass.rows.source.Standardized`, so ``W`` means
the same as L-BFGS's. It stops after its epochs, not at an optimum: at the end :func:`linclass.fitting.solve`
computes the full objective and gradient in one chunked pass, the honest certificate of how far from the
optimum it ended.
This module holds the probe's minibatch settings (:func:`settings`) and their solver (:func:`spec`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _checks, defaults
from ..errors import ParameterError
from ..fitting import Minibatch
from ..optim import OPTIMIZERS, get_optimizer, parse_schedule
from ..regularizers import L2


class Settings(NamedTuple):
    """A minibatch probe's validated settings (``lr``: the optimizer's default when not given)."""

    optimizer: str
    lr: float
    schedule: str
    batch_size: int
    epochs: int
    seed: int


def settings(optimizer: str, *, lr=None, schedule=None, batch_size=None, epochs=None, seed=0,
             lams=(), backend="numpy", dask=None) -> Settings | None:
    """The checked settings of a minibatch probe, or None for L-BFGS (which takes none of them)."""
    given = [name for name, v in (("lr", lr), ("schedule", schedule), ("batch_size", batch_size),
                                  ("epochs", epochs)) if v is not None]
    if optimizer == "lbfgs":
        if given:
            raise ParameterError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for a minibatch optimizer, "
                                 f"not L-BFGS: pass optimizer (--optimizer) {' or '.join(OPTIMIZERS)}, or leave "
                                 f"{'it' if len(given) == 1 else 'them'} out.")
        return None
    if optimizer not in OPTIMIZERS:
        raise ParameterError(f"a probe's optimizer is lbfgs (the exact optimum) or one of {', '.join(OPTIMIZERS)}; "
                             f"got {optimizer!r}.")
    if backend != "numpy" or dask is not None:
        raise ParameterError(f"{optimizer} runs on NumPy in this process; the torch and Dask backends are for "
                             "L-BFGS: leave out --backend torch / --dask, or use --optimizer lbfgs.")
    if lr is None:
        lr = float(get_optimizer(optimizer).hyperparams["learning_rate"](0))  # the optimizer's default rate
    lr = _checks.number(lr, "lr (--lr)", low=0, low_open=True, hint="; e.g. 1e-3")
    for lam in lams:
        _checks.stable_step(optimizer, lr, L2(), lam, names=("--lr", "--reg-strength"))
    schedule = "constant" if schedule is None else schedule  # "" is refused below, as train refuses it
    parse_schedule(schedule, lr, 1)  # a bad spec fails before the data is read
    batch_size = defaults.value("probe", "batch_size") if batch_size is None else batch_size
    epochs = defaults.value("probe", "epochs") if epochs is None else epochs
    return Settings(optimizer, lr, schedule, _checks.integer(batch_size, "batch_size (--batch-size)"),
                    _checks.integer(epochs, "epochs (--epochs)"), _checks.seed(seed))


def spec(s: Settings, dtype) -> Minibatch:
    """The core's solver for the settings ``s``: BLAS on one thread (a batch's products are small: more threads
    only wait, 2-3× slower here), the loop in ``dtype``."""
    return Minibatch(s.optimizer, lr=s.lr, schedule=s.schedule, batch_size=s.batch_size, epochs=s.epochs,
                     seed=s.seed, blas_threads=1, dtype=np.dtype(dtype).name)
