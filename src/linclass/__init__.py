"""linclass: train, check and explain linear image classifiers.

The lecture's math (scores, SVM and softmax losses, regularization, gradients)
as small pure functions, with the tools around them: gradient checks,
optimizers, a training loop, data sets, image features, scikit-learn
estimators, a command line and a browser demo.
"""

from ._version import __version__
from .errors import DataError, DivergenceError, InputError, LabelError, LinclassError, ModelFileError, ParameterError
from .losses import softmax_loss, svm_loss
from .model import LinearModel
from .objective import Objective

__all__ = [
    "DataError", "DivergenceError", "InputError", "LabelError", "LinclassError",
    "LinearModel", "ModelFileError", "Objective", "ParameterError",
    "softmax_loss", "svm_loss", "__version__", "LinearSVM", "SoftmaxClassifier", "KNearestNeighbor",
]


def __getattr__(name):  # the scikit-learn estimators: imported on first use (scikit-learn takes ~1 s to load)
    if name in ("LinearSVM", "SoftmaxClassifier", "KNearestNeighbor"):
        from . import estimators
        return getattr(estimators, name)
    raise AttributeError(f"module 'linclass' has no attribute {name!r}")
