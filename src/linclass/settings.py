"""Every training setting and its defaults, resolved in one place.

:class:`Settings` holds everything that decides a training run; its field
defaults are the base layer (λ, the learning rate, batch size and epochs read from
:mod:`linclass.defaults`, the one defaults table). :data:`DEFAULTS` overrides them by data kind
(``digits``, ``toy``, ``images``), :data:`LOSS_DEFAULTS` by (kind, loss) and
:data:`FEATURE_DEFAULTS` by (features, loss). :func:`resolve` merges these layers
with what the user gave and records each value's source, ``default`` or
``given``; ``linclass train`` (whose argparse defaults are all None), ``tune`` and
``strategies`` all read the table through it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from . import defaults
from ._checks import choice, number, stable_step
from .errors import ParameterError
from .losses import get_loss
from .optim import get_method
from .preprocess import PREPROCESSING
from .regularizers import REGULARIZERS, get_regularizer
from .rows.batches import SHUFFLES


@dataclass(frozen=True)
class Settings:
    """Everything that decides a training run (saved in the model file and the report)."""

    loss: str = "softmax"
    penalty: str = "l2"
    """The regularization penalty R(W): ``l2``, ``l1``, ``elasticnet`` (the lecture's β = 1) or ``none``."""
    reg_strength: float = defaults.value("train", "reg_strength")
    optimizer: str = "sgd"
    lr: float = defaults.value("train", "lr")
    schedule: str = "constant"
    batch_size: int = defaults.value("train", "batch_size")
    epochs: int = defaults.value("train", "epochs")
    iterations: int | None = None
    replacement: bool = False
    shuffle: str = "rows"
    """The order of an epoch (:data:`linclass.rows.batches.SHUFFLES`): ``rows``, a permutation of the rows (the exact
    per-row order, as fast as ``blocks`` on rows in memory: ``benchmarks/bench_epoch.py``), or ``blocks``."""
    early_stopping: bool = False
    patience: int = 5
    keep: str | None = None
    """The weights a minibatch run returns: ``best`` (highest validation accuracy) or ``last``;
    None: best with early stopping, else last."""
    preprocess: str = "center"
    """``none``, ``center`` (subtract the training mean) or ``standardize`` (and divide by the std)."""
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
        get_loss(self.loss)
        get_method(self.optimizer)
        choice(self.penalty, "penalty", (*REGULARIZERS, "none"))
        choice(self.shuffle, "shuffle", SHUFFLES)
        choice(self.preprocess, "preprocessing", PREPROCESSING)
        number(self.lr, "the learning rate", low=0, low_open=True, hint="; e.g. 0.01")
        stable_step(self.optimizer, self.lr, get_regularizer(self.penalty), self.reg_strength,
                    names=("--lr", "--reg-strength"))


KINDS = ("digits", "toy", "images")
"""The data kinds with their own defaults: the two built-in sets, and any image data."""

DEFAULTS = {
    # a good result in seconds (digits: ~96-97% test accuracy) or about a minute (CIFAR-10),
    # chosen on the validation split
    "digits": dict(optimizer="sgd", lr=0.1, reg_strength=1e-3, epochs=60, batch_size=64, preprocess="standardize"),
    "toy": dict(optimizer="momentum", lr=0.1, reg_strength=1e-3, epochs=50, batch_size=32),
    "images": dict(optimizer="momentum", lr=1e-3, reg_strength=1e-2, epochs=20, batch_size=256,
                   preprocess="standardize", schedule="cosine"),
}
LOSS_DEFAULTS = {
    ("digits", "svm"): dict(lr=0.02), ("digits", "squared-svm"): dict(lr=0.005),
    ("images", "svm"): dict(lr=3e-5, reg_strength=0.1),
    ("images", "squared-svm"): dict(lr=3e-6, reg_strength=0.1),
    # the other hinge losses start from the SVM's settings (not tuned on their own)
    **{(kind, loss): dict(lr=lr, **extra) for loss in ("ova-svm", "structured-svm")
       for kind, lr, extra in (("digits", 0.02, {}), ("images", 3e-5, {"reg_strength": 0.1}))},
}
FEATURE_DEFAULTS = {
    # thousands of standardized features: the exact optimum (bag of visual words)
    ("bovw", "softmax"): dict(optimizer="lbfgs", reg_strength=1e-3, iterations=300),
    ("bovw", "squared-svm"): dict(optimizer="lbfgs", reg_strength=1e-3, iterations=300),
    # CIFAR-10 validation accuracy 51.8% with a constant rate vs 51.3% with cosine decay (BENCHMARKS.md)
    ("hog+hist", "softmax"): dict(schedule="constant"),
}

FIELDS = tuple(f.name for f in fields(Settings))
_BASE = Settings()


def data_kind(dataset_name: str) -> str:
    """The kind whose defaults apply: ``digits`` or ``toy`` by name, anything else is ``images``."""
    return dataset_name if dataset_name in DEFAULTS else "images"


def defaults_for(kind: str, loss: str = _BASE.loss, features: str = _BASE.features) -> dict:
    """Every setting's default for a data kind, loss and features (the base layer included)."""
    if kind not in DEFAULTS:
        raise ParameterError(f"unknown data kind {kind!r}; choose one of {', '.join(KINDS)}.")
    base = {name: getattr(_BASE, name) for name in FIELDS}
    return {**base, **DEFAULTS[kind], **LOSS_DEFAULTS.get((kind, loss), {}),
            **FEATURE_DEFAULTS.get((features, loss), {}), "loss": loss, "features": features}


def resolve(kind: str, given: dict) -> tuple[Settings, dict]:
    """``(settings, sources)``: the defaults for ``kind`` and the given loss and features, overridden by
    every value in ``given`` that is not None; ``sources[name]`` is ``"given"`` or ``"default"``."""
    given = {k: v for k, v in given.items() if v is not None}
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise ParameterError(f"unknown setting(s) {', '.join(unknown)}; the settings are {', '.join(FIELDS)}.")
    defaults = defaults_for(kind, given.get("loss", _BASE.loss), given.get("features", _BASE.features))
    settings = Settings(**{**defaults, **given})
    return settings, {name: "given" if name in given else "default" for name in FIELDS}
