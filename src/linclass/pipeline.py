"""From a data set to a trained, evaluated :class:`Classifier`: what ``linclass train`` runs.

``fit_classifier`` does features → preprocessing → optimization with the
settings of :class:`Settings`; ``evaluate`` computes accuracy, per-class
precision/recall and the confusion matrix. The command line adds only
argument parsing and the files it writes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from . import optim
from ._checks import run_warnings
from .classifier import Classifier
from .datasets import cache_dir
from .design import fit_design
from .model import LinearModel
from .objective import Objective
from .regularizers import get_regularizer
from .settings import Settings
from .train import History, TrainConfig, accuracy, steps_per_epoch, train

__all__ = ["Outcome", "Settings", "evaluate", "fit_classifier"]


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
    initial_loss = objective(params, X, y_train).loss
    history, evaluations, best_epoch, stopped, iterations, kept = None, None, None, False, 0, "last"
    method = optim.get_method(settings.optimizer)
    if not method.full_batch:
        total = settings.iterations or settings.epochs * steps_per_epoch(X.shape[0], settings.batch_size)
        lr = optim.parse_schedule(settings.schedule, settings.lr, total)
        optimizer = optim.get_optimizer(settings.optimizer, learning_rate=lr)
        config = TrainConfig(batch_size=settings.batch_size, epochs=settings.epochs, iterations=settings.iterations,
                             replacement=settings.replacement, seed=settings.seed,
                             early_stopping=settings.early_stopping, patience=settings.patience, keep=settings.keep,
                             checkpoint=str(checkpoint) if checkpoint else None, progress=progress)
        # the checkpoint records the settings and the data, so that --resume refuses another run's checkpoint
        run = {"settings": asdict(settings), "data": {"dataset": dataset.name, "data_fingerprint": dataset.fingerprint,
                                                      "train_examples": int(X.shape[0])}}
        result = train(objective, optimizer, X, y_train, params=params, X_val=X_val, y_val=y_val,
                       config=config, resume=resume, run=run)
        params, history, kept = result.params, result.history, result.kept
        best_epoch, stopped, iterations = result.best_epoch, result.stopped_early, result.iterations
    else:
        result = _FULL_BATCH[method.name](objective, X, y_train, params, settings)
        params = result.params
        iterations = getattr(result, "n_iter", 0)
        evaluations = getattr(result, "evaluations", None)
    if history is None:
        history = History(loss=[float(v) for v in getattr(result, "history", [])] or [float(result.loss)],
                          train_accuracy=[accuracy(params, X, y_train)],
                          val_accuracy=[accuracy(params, X_val, y_val)] if X_val is not None else [])
    optimality = objective.optimality(params, X, y_train)  # also the exact final training accuracy
    chance = np.bincount(y_train).max() / len(y_train)
    warnings = run_warnings(initial_loss, optimality["loss"], optimality["accuracy"], chance)
    model = LinearModel(params["W"], params["b"])
    clf = Classifier(model, pre, list(dataset.class_names), settings.loss, dataset.image_shape, extractor,
                     {"settings": asdict(settings), "dataset": dataset.name, "fingerprint": dataset.fingerprint,
                      "optimality": optimality})
    seconds = time.perf_counter() - start
    history.seconds = seconds
    return clf, Outcome(history, optimality, evaluations, seconds, best_epoch, stopped, iterations, kept,
                        warnings)


_FULL_BATCH = {  # the full-batch methods of the registry (optim.METHODS), each with its settings
    "lbfgs": lambda objective, X, y, params, s: optim.lbfgs(  # no iterations given: lbfgs's own budget
        objective, X, y, params, **({"max_iter": s.iterations} if s.iterations else {})),
    "random-search": lambda objective, X, y, params, s: optim.random_search(
        objective, X, y, n_features=X.shape[1], n_classes=params["b"].shape[0], budget=s.budget,
        scale=s.init_scale, seed=s.seed, dtype=X.dtype),
    "random-local-search": lambda objective, X, y, params, s: optim.random_local_search(
        objective, X, y, params, budget=s.budget, step_size=s.step_size, seed=s.seed),
}


def evaluate(clf: Classifier, X, y) -> dict:
    """Accuracy, per-class precision and recall, and the confusion matrix (rows = true class)."""
    pred = clf.predict(X)
    labels = np.arange(len(clf.class_names))
    precision, recall, _, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    return {"accuracy": float(np.mean(pred == y)),
            "per_class": [{"class": str(name), "precision": float(p), "recall": float(r), "support": int(s)}
                          for name, p, r, s in zip(clf.class_names, precision, recall, support)],
            "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist()}
