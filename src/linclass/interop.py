"""A trained classifier as scikit-learn's ``LogisticRegression`` or torch's ``nn.Linear``.

A model file holds the saved preprocessing ``(x − mean) / std`` and the linear model ``X W + b``.
Both fold into one affine map of the raw rows::

    V = W / std[:, None]        c = b − mean · V        scores = x V + c

:func:`to_sklearn` puts ``(V, c)`` into a fitted ``LogisticRegression`` (``coef_ = Vᵀ``,
``intercept_ = c``, ``classes_`` the class names; for two classes the one row
``V[:, 1] − V[:, 0]``, since scikit-learn's binary model is the sigmoid of that difference), so
its ``predict_proba`` is the classifier's softmax. :func:`to_torch` gives an ``nn.Linear(D, C)``
with ``weight = Vᵀ`` and ``bias = c``: the same scores (logits).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from .errors import ParameterError
from .rows.source import fold


def folded(clf) -> tuple[np.ndarray, np.ndarray]:
    """``(V (D, C), c (C,))`` in float64 with ``x V + c`` equal to the classifier's scores of the raw row ``x``."""
    if clf.features is not None:
        raise ParameterError("this model computes image features before its linear map; only a model on feature "
                             "rows or raw pixels is one linear map (train it with --features raw, or use "
                             "Classifier.scores).")
    pre = clf.preprocessor
    return fold(clf.model.W, clf.model.b, pre.mean, pre.std)


def to_sklearn(clf) -> LogisticRegression:
    """A fitted ``LogisticRegression`` with the classifier's probabilities (a softmax model's) on raw rows."""
    if clf.loss != "softmax":
        raise ParameterError(f"to_sklearn gives a LogisticRegression, the softmax model; this model's loss is "
                             f"{clf.loss!r} (its scores are Classifier.scores).")
    V, c = folded(clf)
    if V.shape[1] == 2:  # scikit-learn's binary model: p(class 1) = sigmoid(x (V1 − V0) + c1 − c0)
        V, c = (V[:, 1] - V[:, 0])[:, None], c[1:] - c[:1]
    model = LogisticRegression()
    model.coef_, model.intercept_ = V.T.copy(), c.copy()
    model.classes_ = np.asarray(clf.class_names)
    model.n_features_in_ = V.shape[0]
    model.n_iter_ = np.zeros(1, np.int32)
    return model


def to_torch(clf):
    """An ``nn.Linear(D, C)`` (float32) whose outputs are the classifier's scores of raw rows."""
    try:
        import torch  # optional (linclass[torch]) and ~2 s to import: only when asked for
    except ImportError:
        raise ParameterError("to_torch needs PyTorch: pip install 'linclass[torch]'.") from None
    V, c = folded(clf)
    layer = torch.nn.Linear(V.shape[0], V.shape[1])
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(V.T.astype(np.float32)))
        layer.bias.copy_(torch.from_numpy(c.astype(np.float32)))
    return layer
