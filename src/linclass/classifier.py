"""A trained classifier as one object: features → preprocessing → linear scores, saved without pickle.

``Classifier`` is what ``linclass train`` writes and ``linclass evaluate`` /
``linclass predict`` read: the :class:`LinearModel`, the training statistics of
the :class:`Preprocessor`, the fitted feature extractor (if any), the class names
and the settings, in one ``.npz`` model file (see :mod:`linclass.persist`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import persist
from ._checks import model_schema
from ._version import __version__
from .design import Design
from .errors import ModelFileError
from .losses import LOSSES, softmax
from .model import LinearModel
from .preprocess import Preprocessor


@dataclass
class Classifier:
    model: LinearModel
    preprocessor: Preprocessor
    class_names: list
    loss: str
    image_shape: tuple | None = None
    features: object | None = None
    metadata: dict = field(default_factory=dict)

    def design_matrix(self, X) -> np.ndarray:
        """Raw examples (images (N, H, W, C) or feature rows) → preprocessed (N, D) float32 (the one data path,
        :mod:`linclass.design`)."""
        return Design(self.features, self.preprocessor).transform(X)

    def scores(self, X) -> np.ndarray:
        return self.model.scores(self.design_matrix(X))

    def predict(self, X) -> np.ndarray:
        return self.scores(X).argmax(axis=1)

    def predict_proba(self, X) -> np.ndarray:
        """Softmax of the scores (meaningful as probabilities for a softmax-trained model)."""
        return softmax(self.scores(X))

    def to_sklearn(self):
        """A fitted scikit-learn ``LogisticRegression`` with this (softmax) model's probabilities on raw rows, the
        preprocessing folded in (:mod:`linclass.interop`)."""
        return _interop().to_sklearn(self)

    def to_torch(self):
        """A ``torch.nn.Linear`` whose outputs are this model's logits on raw rows (:mod:`linclass.interop`)."""
        return _interop().to_torch(self)

    def save(self, path, *, key=None):
        """Write the model file, signed with ``key`` (or ``$LINCLASS_MODEL_KEY`` if set): :mod:`linclass.persist`."""
        arrays = {"model/W": self.model.W, "model/b": self.model.b,
                  **persist.with_prefix("preprocess", self.preprocessor.to_arrays())}
        features = None
        if self.features is not None:
            config, feature_arrays = _features().features_to_state(self.features)
            arrays.update(persist.with_prefix("features", feature_arrays))
            features = config
        meta = {"library_version": __version__, "class_names": list(self.class_names), "loss": self.loss,
                "image_shape": list(self.image_shape) if self.image_shape else None, "features": features,
                **self.metadata}
        return persist.save_arrays(path, arrays, meta, key=key)

    @classmethod
    def load(cls, path, *, key=None) -> "Classifier":
        """A model file written by :meth:`save`, verified (hashes, HMAC with ``key`` or
        ``$LINCLASS_MODEL_KEY``, schema); ModelFileError naming ``path`` otherwise."""
        arrays, meta = persist.load_arrays(path, key=key)
        model_schema(meta, arrays, LOSSES, path)
        try:
            model = LinearModel(arrays["model/W"], arrays["model/b"])
            pre = Preprocessor.from_arrays(persist.split_prefix(arrays, "preprocess"))
            features = None
            if meta.get("features") is not None:
                features = _features().features_from_state(meta["features"], persist.split_prefix(arrays, "features"))
        except Exception as err:  # noqa: BLE001 - a forged feature state may fail anywhere
            reason = f"{type(err).__name__}: {err}".splitlines()[0][:200]
            raise ModelFileError(f"{path} has malformed model entries ({reason}); "
                                 "it was not written by `linclass train`.") from None
        shape = tuple(meta["image_shape"]) if meta.get("image_shape") else None
        extra = {k: v for k, v in meta.items() if k not in ("class_names", "loss", "image_shape", "features")}
        return cls(model, pre, list(meta["class_names"]), meta["loss"], shape, features, extra)


def _interop():
    from . import interop  # scikit-learn's linear_model (and torch): loaded only when a model is converted
    return interop


def _features():
    from . import features  # scikit-learn (~1 s): only for a model with image features, not a probe's
    return features
