"""linclass: train, check and explain linear image classifiers.

The lecture's math (scores, SVM and softmax losses, regularization, gradients)
as small pure functions, with the tools around them: gradient checks,
optimizers, a training loop, data sets, image features, scikit-learn
estimators, a command line and a browser demo.
"""

from importlib import import_module

from ._version import __version__
from .errors import DataError, DivergenceError, InputError, LabelError, LinclassError, ModelFileError, ParameterError
from .losses import softmax_loss, svm_loss
from .model import LinearModel
from .objective import Objective

__all__ = [
    "DataError", "DivergenceError", "InputError", "LabelError", "LinclassError",
    "LinearModel", "ModelFileError", "Objective", "ParameterError",
    "softmax_loss", "svm_loss", "__version__", "LinearSVM", "SoftmaxClassifier", "KNearestNeighbor", "load", "probe",
]

def __getattr__(name):  # imported on first use: each loads scikit-learn (~1 s); `import linclass` stays light
    if name in ("LinearSVM", "SoftmaxClassifier", "KNearestNeighbor"):
        from . import estimators
        return getattr(estimators, name)
    if name == "load":  # linclass.load(path): a model file's Classifier (to_sklearn, to_torch, predict, ...)
        from .classifier import Classifier
        return Classifier.load
    if name == "probe":  # linclass.probe.fit(...); `from . import probe` would ask this function again
        return import_module(".probe", __name__)
    raise AttributeError(f"module 'linclass' has no attribute {name!r}")
