"""The probe with a minibatch optimizer (SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam), streamed from the files.

For data so large that even one L-BFGS pass per iteration is too slow: a few epochs of minibatch steps,
each epoch one sequential read of the files in shuffled blocks (:class:`linclass.rows.batches.Blocks`, chosen
by :func:`linclass.train.train` for memory-mapped rows). The objective is L-BFGS's: the lecture's
``Objective("softmax", L2(), λ)`` (mean softmax loss + λ·ΣW², b not penalized) on the rows, or on the
standardized rows ``(x − μ)/σ`` read through :class:`linclass.rows.source.Standardized`, so ``W`` means
the same as L-BFGS's. It stops after its epochs, not at an optimum: at the end one chunked pass (the
L-BFGS path's evaluator) computes the full objective and gradient, the honest certificate of how far
from the optimum it ended.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from threadpoolctl import ThreadpoolController

from .. import _checks
from ..errors import ParameterError
from ..objective import Objective
from ..optim import OPTIMIZERS, get_optimizer, parse_schedule
from ..regularizers import L2
from ..rows.batches import steps_per_epoch
from ..rows.source import Standardized
from ..train import TrainConfig, train

BATCH_SIZE = 256
EPOCHS = 10

_BLAS = ThreadpoolController()


class Settings(NamedTuple):
    """A minibatch probe's validated settings (``lr``: the optimizer's default when not given)."""

    optimizer: str
    lr: float
    schedule: str
    batch_size: int
    epochs: int
    seed: int


class Result(NamedTuple):
    """One λ's minibatch fit; the fields :func:`linclass.probe.fit` reports, as :class:`LBFGSResult` has them."""

    params: dict
    loss: float
    grad_norm: float
    distance_bound: float | None
    n_iter: int
    """Minibatch steps."""
    epochs: int
    evaluations: int
    """Passes over the training rows: one per epoch and the certificate's."""
    precision: str
    val_accuracy: list
    """Validation accuracy after each epoch (empty without validation)."""
    converged: None = None
    """No stopping rule: the gradient norm tells how far from the optimum it ended."""


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
    return Settings(optimizer, lr, schedule,
                    _checks.integer(BATCH_SIZE if batch_size is None else batch_size, "batch_size (--batch-size)"),
                    _checks.integer(EPOCHS if epochs is None else epochs, "epochs (--epochs)"),
                    _checks.seed(seed))


def solve(s: Settings, X, y, lam: float, params: dict, evaluator, *, dtype, shift=None, scale=None,
          val=None, bar=False, checkpoint=None, resume=False, run=None) -> Result:
    """Minimize the probe's objective at ``lam`` from ``params`` with the minibatch settings ``s``.

    ``X`` (an array, memory map or row source) and ``y`` (class indices) are the training rows;
    ``evaluator`` the chunked ``(W, b) -> (L, ∇_W L, ∇_b L)`` at ``lam`` (for the certificate);
    ``val``: ``(X, y)`` scored after every epoch; ``bar``: the loop's progress bar on a terminal;
    ``checkpoint`` / ``resume`` / ``run``: the loop's checkpoint after each epoch (see :func:`linclass.train.train`).
    """
    rows = X if shift is None else Standardized(X, shift, scale, dtype)
    X_val, y_val = val if val is not None else (None, None)
    if X_val is not None and shift is not None:
        X_val = Standardized(X_val, shift, scale, dtype)
    total = s.epochs * steps_per_epoch(X.shape[0], s.batch_size)
    optimizer = get_optimizer(s.optimizer, learning_rate=parse_schedule(s.schedule, s.lr, total))
    config = TrainConfig(batch_size=s.batch_size, epochs=s.epochs, seed=s.seed, progress=None if bar else False,
                         checkpoint=checkpoint)
    with _BLAS.limit(limits=1):  # a batch's products are small: more BLAS threads only wait (2-3× slower here)
        result = train(Objective("softmax", L2(), lam), optimizer, rows, y,
                       params={k: np.asarray(v, dtype) for k, v in params.items()}, X_val=X_val, y_val=y_val,
                       config=config, resume=resume, run=run)
    W, b = result.params["W"], result.params["b"]
    loss, gW, gb = evaluator(W, b)  # one chunked pass over the data: the full objective at the result
    grad_norm = float(np.sqrt(np.sum(np.square(gW)) + np.sum(np.square(gb))))
    bound = float(np.linalg.norm(gW) / (L2.convexity * lam)) if lam > 0 else None  # as L-BFGS's
    return Result({"W": W, "b": b}, float(loss), grad_norm, bound, result.iterations, result.epochs, result.epochs + 1,
                  np.dtype(dtype).name, list(result.history.val_accuracy))
