"""From a data set to a trained, evaluated :class:`Classifier`: what ``linclass train`` runs.

``fit_classifier`` does features → preprocessing → optimization with the
settings of :class:`Settings`; ``evaluate`` computes the metrics of
:mod:`linclass.metrics`. The command line adds only
argument parsing and the files it writes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .classifier import Classifier
from .datasets import cache_dir
from .design import fit_design
from .fitting import LBFGS, LocalSearch, Minibatch, Problem, RandomSearch, solve
from .metrics import Tally
from .model import LinearModel
from .objective import Objective
from .regularizers import get_regularizer
from .rows.labeled import Labeled
from .settings import Settings

__all__ = ["Outcome", "Settings", "evaluate", "fit_classifier", "solver_for"]


@dataclass
class Outcome:
    """What a run produced besides the classifier."""

    history: object
    optimality: dict
    evaluations: int | None
    seconds: float
    best_epoch: int | None = None
    stopped_early: bool = False
    iterations: int = 0
    kept: str = "last"
    """Which weights the classifier has: ``"best"`` (of ``best_epoch``) or ``"last"``."""
    warnings: list = field(default_factory=list)
    """What went wrong in a run that finished (:func:`linclass._checks.run_warnings`)."""


def fit_classifier(dataset, settings: Settings, *, checkpoint=None, resume=False, progress=None, data_dir=None):
    """Train on ``dataset`` (a :class:`linclass.datasets.Dataset`) with ``settings``.

    Image features are cached under ``cache_dir(data_dir)/features`` (see :mod:`linclass.features`).
    """
    start = time.perf_counter()
    dtype = np.dtype(settings.dtype)
    design, X, y_train, others = fit_design(dataset.X_train, dataset.y_train, settings,
                                            others={"val": dataset.X_val}, cache_dir=cache_dir(data_dir) / "features")
    extractor, pre = design.features, design.preprocessor
    X_val = others.get("val")
    y_val = dataset.y_val if X_val is not None else None
    objective = Objective(settings.loss, get_regularizer(settings.penalty), settings.reg_strength)
    D, C = X.shape[1], dataset.n_classes
    params = LinearModel.init(D, C, scale=settings.init_scale, seed=settings.seed, dtype=dtype).params
    names = tuple(dataset.class_names)
    val = Labeled(X_val, y_val, names, f"{dataset.name} (validation)") if X_val is not None else None
    problem = Problem.of(objective, Labeled(X, y_train, names, f"{dataset.name} (training)"), val=val)
    # the checkpoint records the settings and the data, so that --resume refuses another run's checkpoint
    run = {"settings": asdict(settings), "data": {"dataset": dataset.name, "data_fingerprint": dataset.fingerprint,
                                                  "train_examples": int(X.shape[0])}}
    solver = solver_for(settings)
    result = solve(problem, solver, params, checkpoint=checkpoint, resume=resume, run=run, progress=progress)
    optimality = {"loss": result.objective, "grad_norm": result.grad_norm, "distance_bound": result.distance_bound,
                  "accuracy": result.train_accuracy}
    model = LinearModel(result.params["W"], result.params["b"])
    clf = Classifier(model, pre, list(dataset.class_names), settings.loss, dataset.image_shape, extractor,
                     {"settings": asdict(settings), "dataset": dataset.name, "fingerprint": dataset.fingerprint,
                      "optimality": optimality})
    seconds = time.perf_counter() - start
    result.history.seconds = seconds
    evaluations = None if isinstance(solver, Minibatch) else result.evaluations  # a search's (or L-BFGS's) passes
    return clf, Outcome(result.history, optimality, evaluations, seconds, result.best_epoch, result.stopped_early,
                        result.iterations, result.kept, result.warnings)


def solver_for(settings: Settings):
    """The core's solver for ``settings.optimizer`` (:data:`linclass.optim.METHODS`), with its settings."""
    if settings.optimizer == "lbfgs":
        return LBFGS.of("train", max_iter=settings.iterations)
    if settings.optimizer == "random-search":
        return RandomSearch(budget=settings.budget, scale=settings.init_scale, seed=settings.seed)
    if settings.optimizer == "random-local-search":
        return LocalSearch(budget=settings.budget, step_size=settings.step_size, seed=settings.seed)
    return Minibatch(settings.optimizer, lr=settings.lr, schedule=settings.schedule, batch_size=settings.batch_size,
                     epochs=settings.epochs, iterations=settings.iterations, seed=settings.seed,
                     early_stopping=settings.early_stopping, patience=settings.patience, keep=settings.keep,
                     replacement=settings.replacement, shuffle=settings.shuffle)


def evaluate(clf: Classifier, X, y) -> dict:
    """Top-1, top-5 and balanced accuracy, per-class precision and recall, the confusion matrix (rows = true
    class) and the most confused pairs (:class:`linclass.metrics.Tally`)."""
    return Tally(len(clf.class_names)).add(clf.scores(X), y).summary(clf.class_names)
