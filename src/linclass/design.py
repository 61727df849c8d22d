"""Images → design matrix: the one data path of the package.

    images (N, H, W, 3) uint8 ─► features ─► flatten ─► preprocessing ─► X (N, D) float32|float64
                                (fitted)               (training mean / std)

:func:`fit_design` fits both stages on the training images (features read from
the feature cache when one is given) and returns the fitted :class:`Design`
with the training design matrix and those of any other splits;
:meth:`Design.transform` applies the same stages to new images. ``linclass
train`` (:func:`linclass.pipeline.fit_classifier`), ``tune``, ``knn``,
``strategies``, :meth:`linclass.classifier.Classifier.predict` and therefore
``evaluate``, ``predict`` and the model file all go through here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from . import _checks
from .preprocess import Preprocessor, flatten

AUGMENTATIONS = ("none", "flip")


@dataclass
class Design:
    """The fitted data path: feature extractor (None: raw pixels), preprocessor, dtype of ``X``."""

    features: object | None = None
    preprocessor: Preprocessor = field(default_factory=Preprocessor)
    dtype: str = "float32"

    def transform(self, images) -> np.ndarray:
        """``X`` (N, D) of ``images`` (or of feature rows when the extractor is None)."""
        F = self.features.transform(images) if self.features is not None else flatten(images)
        return self.preprocessor.transform(F).astype(np.dtype(self.dtype), copy=False)


def make_extractor(features: str = "raw", *, n_words: int = 1600, encoding: str = "triangle"):
    """The unfitted feature extractor named ``features`` (None for raw pixels)."""
    if features == "raw":
        return None
    options = {"n_words": n_words, "encoding": encoding, "n_jobs": os.cpu_count()} if features == "bovw" else {}
    return _features().make_features(features, **options)


def _fit_preprocessor(F_train, settings) -> Preprocessor:
    return Preprocessor.fit(F_train, settings.preprocess)


def fit_design(X_train, y_train, settings, *, others: dict | None = None, cache_dir=None):
    """Fit the data path on ``(X_train, y_train)`` with ``settings`` and build the design matrices.

    ``settings`` needs ``features``, ``n_words``, ``encoding``, ``augment``, ``preprocess`` and ``dtype``
    (a :class:`linclass.settings.Settings` has them). ``others`` maps a split's name to its images
    (validation, test); empty ones are left out. Features are fitted once per data and
    settings and kept in ``cache_dir`` when it is given. Returns ``(design, X, y, {name: X})``:
    ``y`` is ``y_train``, doubled with ``augment="flip"`` (the mirrored images are appended).
    """
    augment = _checks.choice(settings.augment or "none", "augmentation", AUGMENTATIONS)
    if augment == "flip":
        X_train, y_train = _features().augment_flip(X_train, y_train)
    others = {name: X for name, X in (others or {}).items() if X is not None and len(X)}
    extractor = make_extractor(settings.features, n_words=settings.n_words, encoding=settings.encoding)
    if extractor is None:
        F_train, F_others = flatten(X_train), {name: flatten(X) for name, X in others.items()}
    elif cache_dir is None:
        F_train = extractor.fit_transform(X_train)
        F_others = {name: extractor.transform(X) for name, X in others.items()}
    else:  # fitted once per data and settings, then read from the feature cache
        extractor, F_train, F_others = _features().cached_features(extractor, X_train, others, cache_dir=cache_dir)
    design = Design(extractor, _fit_preprocessor(F_train, settings), settings.dtype)
    dtype = np.dtype(settings.dtype)
    X = design.preprocessor.transform(F_train).astype(dtype, copy=False)
    del F_train
    X_others = {name: design.preprocessor.transform(F).astype(dtype, copy=False) for name, F in F_others.items()}
    return design, X, y_train, X_others


def _features():
    from . import features  # scikit-learn (~1 s): only when features are fitted, not to apply a fitted Design
    return features
