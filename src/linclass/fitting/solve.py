"""``solve(problem, solver)``: the one place a model is fitted, for every solver.

Each solver runs (:func:`_lbfgs`, :func:`_minibatch`, :func:`_random_search`, :func:`_local_search`) and
returns its parameters and how it got there; :func:`_finish` then computes, once for all of them, the
certificate (full objective, gradient norm, distance bound), the training and validation accuracy, the
outcome's warnings (:func:`linclass._checks.run_warnings`) and the :class:`ConvergenceWarning` of a budget
that ended before the solver's stopping rule held.
"""

from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np
from threadpoolctl import ThreadpoolController

from .._checks import run_warnings
from ..errors import ParameterError
from ..objective import certificate
from ..optim import random_local_search, random_search
from ..optim.chunked import SoftmaxL2, one_blas_thread
from ..optim.lbfgs import lbfgs
from ..rows.batches import steps_per_epoch
from ..rows.source import accuracy
from .loop import LoopConfig, run_epochs
from .problem import Backend, Problem
from .result import History, Result
from .solvers import LBFGS, LocalSearch, Minibatch, RandomSearch

__all__ = ["solve"]

_BLAS = ThreadpoolController()


def solve(problem: Problem, solver, params: dict | None = None, *, checkpoint=None, resume: bool = False,
          run: dict | None = None, progress=None, curvature=None, opt_state=None) -> Result:
    """Minimize ``problem`` with ``solver`` from ``params`` (None: zeros); one :class:`Result`.

    ``checkpoint`` / ``resume`` / ``run`` (minibatch): a checkpoint written after every epoch, a run
    continued from it bit for bit, and what identifies the run (a checkpoint of another is refused).
    ``progress``: minibatch, the progress bar (None: on a terminal; False: never); L-BFGS, a callable
    ``(iteration, loss)`` after each iteration. ``curvature``: L-BFGS's pairs of a previous λ on the same
    rows; ``opt_state``: a minibatch optimizer's state to continue from.
    """
    started = time.perf_counter()
    params = problem.zeros() if params is None else params
    dtype = np.dtype(getattr(solver, "dtype", None) or np.result_type(*params.values()))
    backend = getattr(solver, "backend", Backend())
    if problem.sample_weight is not None and not isinstance(solver, LBFGS):
        raise ParameterError("per-row weights (class weights) are fitted by L-BFGS only; leave out the minibatch "
                             "optimizer or the weights.")
    evaluator = problem.evaluator(backend, dtype)
    # L-BFGS accepts no step that raises the objective: its start needs no pass of its own
    start_loss = None if isinstance(solver, LBFGS) else evaluator(params["W"], params["b"])[0]
    if isinstance(solver, LBFGS):
        fields = _lbfgs(problem, solver, params, evaluator, progress=progress, curvature=curvature)
    elif isinstance(solver, Minibatch):
        fields = _minibatch(problem, solver, params, dtype, checkpoint=checkpoint, resume=resume, run=run,
                            progress=progress, opt_state=opt_state)
    else:
        fields = _SEARCHES[type(solver)](problem, solver, params, dtype)
    return _finish(problem, solver, fields, evaluator, start_loss, started)


def _lbfgs(problem: Problem, solver: LBFGS, params, evaluator, *, progress, curvature) -> dict:
    chunked = isinstance(evaluator, SoftmaxL2)
    # a chunked evaluator runs its own threads with one BLAS thread each: the iteration's vector products then
    # stay on one thread too (a multithreaded BLAS call wakes OpenBLAS's threads, whose spinning slows the next pass)
    with one_blas_thread() if chunked else contextlib.nullcontext():
        out = lbfgs(problem.objective, problem.X, problem.y, params, max_iter=solver.max_iter, tol=solver.tol,
                    allow_nonsmooth=solver.allow_nonsmooth, evaluator=evaluator if chunked else None,
                    memory=solver.memory, rescale=solver.rescale, curvature=curvature,
                    callback=progress if callable(progress) else None)
    return dict(params=out.params, objective=out.loss, grad_norm=out.grad_norm, distance_bound=out.distance_bound,
                iterations=out.n_iter, evaluations=out.evaluations, precision=out.precision, curvature=out.curvature,
                message=out.message, converged=out.converged)


def _minibatch(problem: Problem, solver: Minibatch, params, dtype, *, checkpoint, resume, run, progress,
               opt_state) -> dict:
    N = problem.X.shape[0]
    total = solver.iterations or solver.epochs * steps_per_epoch(N, solver.batch_size)
    config = LoopConfig(batch_size=solver.batch_size, epochs=solver.epochs, iterations=solver.iterations,
                        replacement=solver.replacement, seed=solver.seed, early_stopping=solver.early_stopping,
                        patience=solver.patience, keep=solver.keep, explode_factor=solver.explode_factor,
                        checkpoint=str(checkpoint) if checkpoint else None, progress=progress, shuffle=solver.shuffle,
                        block_rows=solver.block_rows, buffer_blocks=solver.buffer_blocks)
    X_val, y_val = problem.val if problem.val is not None else (None, None)
    limit = _BLAS.limit(limits=solver.blas_threads) if solver.blas_threads else contextlib.nullcontext()
    with limit:
        out = run_epochs(problem.objective, solver.build(total), problem.rows(dtype), problem.y,
                         params={k: np.asarray(v, dtype) for k, v in params.items()}, opt_state=opt_state,
                         X_val=None if X_val is None else problem.rows(dtype, X_val), y_val=y_val, config=config,
                         resume=resume, run=run)
    converged = None
    if solver.tol is not None:
        converged = out.stopped_early or _plateaued(out.history.loss, steps_per_epoch(N, solver.batch_size),
                                                    solver.tol, solver.patience)
    return dict(params=out.params, iterations=out.iterations, epochs=out.epochs, evaluations=out.epochs + 1,
                precision=dtype.name, history=out.history, kept=out.kept, best_epoch=out.best_epoch,
                stopped_early=out.stopped_early, opt_state=out.opt_state, converged=converged)


def _plateaued(step_losses, steps: int, tol: float, patience: int) -> bool:
    """Whether the epoch-mean loss stopped improving: scikit-learn's SGD rule, evaluated afterwards.

    An epoch whose mean loss is not below ``best − tol`` counts as no improvement;
    ``patience`` such epochs in a row mean convergence.
    """
    epochs = len(step_losses) // steps
    means = np.asarray(step_losses[:epochs * steps]).reshape(epochs, steps).mean(axis=1)
    best, count = np.inf, 0
    for loss in means:
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count >= patience:
            return True
    return False


def _random_search(problem: Problem, solver: RandomSearch, params, dtype) -> dict:
    _, D, C = problem.shape
    out = random_search(problem.objective, problem.rows(dtype), problem.y, n_features=D, n_classes=C,
                        budget=solver.budget, scale=solver.scale, seed=solver.seed, dtype=dtype)
    return dict(params=out.params, evaluations=out.evaluations, history=History(loss=[float(v) for v in out.history]),
                precision=dtype.name)


def _local_search(problem: Problem, solver: LocalSearch, params, dtype) -> dict:
    out = random_local_search(problem.objective, problem.rows(dtype), problem.y, params, budget=solver.budget,
                              step_size=solver.step_size, seed=solver.seed)
    return dict(params=out.params, evaluations=out.evaluations, history=History(loss=[float(v) for v in out.history]),
                precision=dtype.name)


_SEARCHES = {RandomSearch: _random_search, LocalSearch: _local_search}


def _finish(problem: Problem, solver, fields: dict, evaluator, start_loss: float | None, started: float) -> Result:
    """The result with its certificate, accuracies, warnings and time: the same for every solver
    (``start_loss`` None: the solver never ends above its start)."""
    W, b = fields["params"]["W"], fields["params"]["b"]
    if "objective" not in fields:  # one full pass: the objective and gradient at the result
        loss, gW, gb = evaluator(W, b)
        fields["objective"] = float(loss)
        fields["grad_norm"], fields["distance_bound"] = certificate(problem.objective, {"W": gW, "b": gb})
    train_accuracy = evaluator.accuracy(W, b)
    history = fields.pop("history", None)
    if history is None or not history.train_accuracy:  # a full-batch solver: its final state, exactly
        history = History(loss=history.loss if history is not None else [fields["objective"]],
                          train_accuracy=[train_accuracy])
        if problem.val is not None:
            history.val_accuracy.append(accuracy(W, b, *problem.val, shift=problem.shift, scale=problem.scale))
    chance = np.bincount(problem.y, minlength=problem.n_classes).max() / len(problem.y)
    result = Result(**fields, train_accuracy=train_accuracy, history=history,
                    warnings=run_warnings(fields["objective"] if start_loss is None else start_loss,
                                          fields["objective"], train_accuracy, chance))
    _warn_budget(problem, solver, result)
    result.seconds = time.perf_counter() - started
    return result


def _warn_budget(problem: Problem, solver, result: Result) -> None:
    """A :class:`ConvergenceWarning` when the budget ended before the stopping rule held."""
    lam = f" at λ={problem.objective.reg_strength:g}"
    message = None
    if isinstance(solver, LBFGS) and not result.converged and result.iterations >= solver.max_iter:
        message = (f"L-BFGS stopped after max_iter={solver.max_iter} iterations{lam} with ‖∇L‖ = "
                   f"{result.grad_norm:.3g} above the tolerance; raise max_iter (--max-iter) or standardize "
                   "the features (--standardize).")
    elif isinstance(solver, LBFGS) and not result.converged:  # stalled: no step lowers the objective any more
        message = (f"L-BFGS stopped after {result.iterations} iterations{lam}: no step lowers the objective while "
                   f"‖∇L‖ = {result.grad_norm:.3g} is above the tolerance; the data needs scaling: standardize the "
                   "features (--standardize).")
    elif isinstance(solver, Minibatch) and result.converged is False:
        message = (f"the training loss was still falling after {result.epochs} epochs (max_iter; by more than "
                   f"tol={solver.tol:g} in the last {solver.patience}){lam}; raise max_iter or the learning "
                   "rate, or use early stopping.")
    if message is not None:
        from sklearn.exceptions import ConvergenceWarning  # scikit-learn's category (~1 s): only when warning
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
