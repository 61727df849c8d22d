"""What a fit returns: one :class:`Result` with named fields, its :class:`History`, and the certificate.

The certificate of a fit is the full objective at the parameters it returns, the gradient's
norm there and, when the penalty is strongly convex, a bound on the distance to the optimum
(:func:`linclass.objective.certificate`); every solver's result carries it, computed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["History", "Result"]


@dataclass
class History:
    """Loss per step; accuracies per epoch.

    ``train_accuracy`` is the running accuracy of the epoch: each training example
    counted with the weights of the step that visited it, from the scores the step
    computed anyway (no second pass over the training set). ``val_accuracy`` is
    exact, with the weights at the end of the epoch. A full-batch solver records its
    final objective (or a search its best loss after each evaluation) and the exact
    accuracies of its result.
    """

    loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Result:
    """One fit: the parameters, their certificate, and how the solver got there.

    ``objective``, ``grad_norm`` (‖∇L‖₂) and ``distance_bound`` (≥ ‖W − W*‖, None unless
    the penalty is strongly convex) are those of the full objective at ``params``, in float64.
    ``converged`` is True only when the solver's stopping rule held (never while the
    gradient is above its tolerance); None for a solver that has no such rule (a minibatch
    run or a search: its ``grad_norm`` tells how far from the optimum it ended).
    ``warnings``: one line each for what went wrong in a run that finished
    (:func:`linclass._checks.run_warnings`).
    """

    params: dict
    objective: float
    grad_norm: float
    distance_bound: float | None
    train_accuracy: float
    """The exact training accuracy of ``params``."""
    iterations: int = 0
    """L-BFGS iterations, minibatch steps, or a search's loss evaluations."""
    epochs: int = 0
    evaluations: int | None = None
    """Passes over the training rows (L-BFGS's, counted over both precisions) or a search's evaluations."""
    converged: bool | None = None
    history: History = field(default_factory=History)
    warnings: list = field(default_factory=list)
    seconds: float = 0.0
    precision: str = ""
    """The dtypes the solver computed in, e.g. ``"float32+float64"``."""
    kept: str = "last"
    """Which weights ``params`` are: ``"best"`` (those of ``best_epoch``) or ``"last"``."""
    best_epoch: int | None = None
    stopped_early: bool = False
    opt_state: object = None
    """A minibatch optimizer's state after the last step: pass it back to ``solve(..., opt_state=)`` to continue."""
    curvature: object = None
    """L-BFGS's correction pairs: pass them to the next λ's ``solve(..., curvature=)`` on the same rows."""
    message: str = ""

