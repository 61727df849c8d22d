"""Labelled rows: the one description of "rows + labels + class names" that fits, scores and predictions read.

Images reach it after the design step (``pipeline.fit_classifier``: the design matrix, the data set's
labels and class names); embedding files reach it from :mod:`linclass.rows.files` (raw labels, ints
or strings, encoded here). Everything after that — :class:`linclass.fitting.Problem`, the metrics of
``evaluate`` — sees only class indices in ``[0, C)`` and the names they stand for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LabelError

__all__ = ["Labeled", "class_indices"]


@dataclass(frozen=True)
class Labeled:
    """Rows ``X`` (N, D) (an array, memory map or row source), labels ``y`` (N,) as int64 indices into
    ``class_names``, and ``where`` they came from (for messages)."""

    X: object
    y: np.ndarray
    class_names: tuple
    where: str = "X"

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @classmethod
    def of(cls, X, labels, where: str, class_names=None, *, known_by: str = "the training split") -> "Labeled":
        """``X`` with its raw ``labels`` encoded: against ``class_names`` (a model's, or the training split's:
        an unknown label is a :class:`LabelError` naming ``known_by``), or, without them, as indices into the
        sorted distinct labels (a training split: at least two classes)."""
        labels = np.asarray(labels).ravel()
        if class_names is not None:
            return cls(X, class_indices(class_names, labels, where, known_by), tuple(class_names), where)
        classes, y = np.unique(labels, return_inverse=True)
        if classes.size < 2:
            raise LabelError(f"{where} has only one class ({classes[0]!r}); a classifier needs at least 2.")
        return cls(X, y.astype(np.int64).ravel(), tuple(classes.tolist()), where)


def class_indices(class_names, labels, where: str, known_by: str = "the model") -> np.ndarray:
    """Raw ``labels`` (ints or strings, as in the files) as indices into ``class_names``, matched by their text
    (a model file keeps class names as strings); a label not among them is a :class:`LabelError`."""
    uniq, inverse = np.unique(np.asarray(labels), return_inverse=True)
    index = {str(name): i for i, name in enumerate(class_names)}
    unknown = [str(u) for u in uniq if str(u) not in index]
    if unknown:
        raise LabelError(f"{where} has label(s) {unknown[:5]} that {known_by} does not have (its classes: "
                         f"{[str(c) for c in class_names][:10]}); use data labelled with the same classes.")
    return np.array([index[str(u)] for u in uniq], np.int64)[inverse.ravel()]
