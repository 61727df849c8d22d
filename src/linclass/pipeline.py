"""From a data set to a trained, evaluated :class:`Classifier`: what ``linclass train`` runs.

``fit_classifier`` does features → preprocessing → optimization with the
settings of :class:`Settings`; ``evaluate`` computes accuracy, per-class
precision/recall and the confusion matrix. The command line adds only
argument parsing and the files it writes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from .classifier import Classifier
from .datasets import cache_dir
from .design import fit_design
from .errors import ParameterError
from .model import LinearModel
from .objective import Objective
from .regularizers import get_regularizer

GRADIENT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
OPTIMIZERS = GRADIENT_OPTIMIZERS + ("lbfgs", "random-search", "random-local-search")


@dataclass(frozen=True)
class Settings:
    """Everything that decides a training run (saved in the model file and the report)."""

    loss: str = "softmax"
    reg: str = "l2"
    reg_strength: float = 1e-3
    optimizer: str = "sgd"
    lr: float = 1e-2
    schedule: str = "constant"
    batch_size: int = 256
    epochs: int = 10
    iterations: int | None = None
    replacement: bool = False
    early_stopping: bool = False
    patience: int = 5
    keep: str | None = None
    """The weights a minibatch run returns: ``best`` (highest validation accuracy) or ``last``;
    None: best with early stopping, else last."""
    standardize: bool = False
    features: str = "raw"
    n_words: int = 1600
    encoding: str = "triangle"
    """Bag of visual words: ``triangle`` or ``soft`` (soft threshold)."""
    augment: str | None = None
    budget: int = 1000
    """Loss evaluations for random search / random local search."""
    init_scale: float = 1e-3
    step_size: float = 1e-4
    """Random local search: the scale of the perturbation."""
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ParameterError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ParameterError(f"the learning rate must be a finite number > 0, got {self.lr}.")


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


def fit_classifier(dataset, settings: Settings, *, checkpoint=None, resume=False, progress=None, data_dir=None):
    """Train on ``dataset`` (a :class:`linclass.datasets.Dataset`) with ``settings``.

    Image features are cached under ``cache_dir(data_dir)/features`` (see :mod:`linclass.features`).
    """
    from . import optim
    from .train import TrainConfig, steps_per_epoch, train

    start = time.perf_counter()
    dtype = np.dtype(settings.dtype)
    design, X, y_train, others = fit_design(dataset.X_train, dataset.y_train, settings,
                                            others={"val": dataset.X_val}, cache_dir=cache_dir(data_dir) / "features")
    extractor, pre = design.features, design.preprocessor
    X_val = others.get("val")
    y_val = dataset.y_val if X_val is not None else None
    objective = Objective(settings.loss, get_regularizer(settings.reg), settings.reg_strength)
    D, C = X.shape[1], dataset.n_classes
    params = LinearModel.init(D, C, scale=settings.init_scale, seed=settings.seed, dtype=dtype).params
    history, evaluations, best_epoch, stopped, iterations, kept = None, None, None, False, 0, "last"
    if settings.optimizer in GRADIENT_OPTIMIZERS:
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
    elif settings.optimizer == "lbfgs":
        result = optim.lbfgs(objective, X, y_train, params, max_iter=settings.iterations or 500)
        params, iterations = result.params, result.n_iter
    elif settings.optimizer == "random-search":
        result = optim.random_search(objective, X, y_train, n_features=D, n_classes=C, budget=settings.budget,
                                     scale=settings.init_scale, seed=settings.seed, dtype=dtype)
        params, evaluations = result.params, result.evaluations
    else:
        result = optim.random_local_search(objective, X, y_train, params, budget=settings.budget,
                                           step_size=settings.step_size, seed=settings.seed)
        params, evaluations = result.params, result.evaluations
    if history is None:
        from .train import History, accuracy
        history = History(loss=[float(v) for v in getattr(result, "history", [])] or [float(result.loss)],
                          train_accuracy=[accuracy(params, X, y_train)],
                          val_accuracy=[accuracy(params, X_val, y_val)] if X_val is not None else [])
    optimality = objective.optimality(params, X, y_train)  # also the exact final training accuracy
    model = LinearModel(params["W"], params["b"])
    clf = Classifier(model, pre, list(dataset.class_names), settings.loss, dataset.image_shape, extractor,
                     {"settings": asdict(settings), "dataset": dataset.name, "fingerprint": dataset.fingerprint,
                      "optimality": optimality})
    seconds = time.perf_counter() - start
    history.seconds = seconds
    return clf, Outcome(history, optimality, evaluations, seconds, best_epoch, stopped, iterations, kept)


def evaluate(clf: Classifier, X, y) -> dict:
    """Accuracy, per-class precision and recall, and the confusion matrix (rows = true class)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    pred = clf.predict(X)
    labels = np.arange(len(clf.class_names))
    precision, recall, _, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    return {"accuracy": float(np.mean(pred == y)),
            "per_class": [{"class": str(name), "precision": float(p), "recall": float(r), "support": int(s)}
                          for name, p, r, s in zip(clf.class_names, precision, recall, support)],
            "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist()}
