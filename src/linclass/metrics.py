"""Classification metrics from scores, accumulated chunk by chunk: the one place they are computed.

``linclass evaluate`` (on images through :func:`linclass.pipeline.evaluate`, on embedding files
through :mod:`linclass.embeddings`) and ``linclass probe`` (validation and test) feed a
:class:`Tally` with ``(scores, y)`` chunks and read :meth:`Tally.summary`:

- ``accuracy`` (top-1), and ``top5_accuracy`` when there are at least 5 classes: the fraction of
  rows whose label is among the 5 highest scores (scikit-learn's ``top_k_accuracy_score``);
- ``balanced_accuracy``: the mean recall over the classes present in ``y`` (scikit-learn's
  ``balanced_accuracy_score``; CLIP_benchmark's "mean per-class recall");
- ``per_class`` precision, recall and support (``precision_recall_fscore_support``, 0 where undefined);
- ``confusion_matrix`` (rows: true class, columns: predicted) and the ``most_confused`` pairs.

Conventions: N rows, C classes; ``scores`` (N, C), ``y`` (N,) class indices in ``[0, C)``.
"""

from __future__ import annotations

import numpy as np

from .rows.source import scored_chunks

TOP_K = 5
"""The k of the top-k accuracy (reported when there are at least k classes)."""
CONFUSED_PAIRS = 5
"""How many of the most confused (true, predicted) pairs a summary lists."""


class Tally:
    """Counts over chunks of scores: the confusion matrix and the top-:data:`TOP_K` hits."""

    def __init__(self, n_classes: int):
        self.n_classes = n_classes
        self.confusion = np.zeros((n_classes, n_classes), np.int64)
        self.top_hits = 0

    def add(self, scores, y) -> "Tally":
        """Count one chunk: ``scores`` (n, C), ``y`` (n,) class indices."""
        scores, y = np.asarray(scores), np.asarray(y, np.int64)
        C = self.n_classes
        pred = scores.argmax(axis=1)  # (n,)
        self.confusion += np.bincount(y * C + pred, minlength=C * C).reshape(C, C)
        if C >= TOP_K:  # the label's rank: how many classes score strictly higher
            rank = np.count_nonzero(scores > scores[np.arange(len(y)), y][:, None], axis=1)
            self.top_hits += int(np.count_nonzero(rank < TOP_K))
        return self

    @property
    def n(self) -> int:
        return int(self.confusion.sum())

    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.n)

    def balanced_accuracy(self) -> float:
        """Mean recall over the classes that occur in ``y``."""
        support = self.confusion.sum(axis=1)
        present = support > 0
        return float(np.mean(np.diag(self.confusion)[present] / support[present]))

    def top5_accuracy(self) -> float | None:
        return self.top_hits / self.n if self.n_classes >= TOP_K else None

    def headline(self) -> dict:
        """``accuracy``, ``top5_accuracy`` (None under 5 classes) and ``balanced_accuracy``."""
        return {"accuracy": self.accuracy(), "top5_accuracy": self.top5_accuracy(),
                "balanced_accuracy": self.balanced_accuracy()}

    def summary(self, class_names) -> dict:
        """:meth:`headline` with ``per_class``, ``confusion_matrix`` and ``most_confused``, classes by name."""
        cm = self.confusion
        right, support, predicted = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
        precision = np.divide(right, predicted, out=np.zeros(len(right)), where=predicted > 0)
        recall = np.divide(right, support, out=np.zeros(len(right)), where=support > 0)
        per_class = [{"class": str(name), "precision": float(p), "recall": float(r), "support": int(s)}
                     for name, p, r, s in zip(class_names, precision, recall, support)]
        return {**self.headline(), "examples": self.n, "per_class": per_class, "confusion_matrix": cm.tolist(),
                "most_confused": most_confused(cm, class_names)}


def tally_rows(W, b, X, y, n_classes: int, *, shift=None, scale=None) -> Tally:
    """The :class:`Tally` of the rows ``X`` (array, memory map or row source) with class indices ``y`` under
    ``((x − shift)/scale) W + b``, streamed chunk by chunk (:func:`linclass.rows.source.scored_chunks`)."""
    tally, y = Tally(n_classes), np.asarray(y)
    for start, stop, scores in scored_chunks(W, b, X, shift=shift, scale=scale):
        tally.add(scores, y[start:stop])
    return tally


def most_confused(confusion: np.ndarray, class_names, count: int = CONFUSED_PAIRS) -> list[dict]:
    """The ``count`` largest off-diagonal cells: ``{"true", "predicted", "count", "fraction"}`` (of the true
    class's rows), largest first; pairs never confused are left out."""
    off = np.array(confusion, np.int64)
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:count]
    support = confusion.sum(axis=1)
    pairs = []
    for flat in order:
        i, j = divmod(int(flat), off.shape[1])
        if off[i, j] == 0:
            break
        pairs.append({"true": str(class_names[i]), "predicted": str(class_names[j]), "count": int(off[i, j]),
                      "fraction": float(off[i, j] / support[i])})
    return pairs


def text_lines(summary: dict) -> list[str]:
    """The per-class table and the most confused pairs of a :meth:`Tally.summary`, as ``evaluate`` prints them."""
    width = max(len("class"), *(len(row["class"]) for row in summary["per_class"])) + 2
    lines = ["class".ljust(width) + "precision    recall   support"]
    lines += [f"{row['class']:<{width}}{row['precision']:9.3f}{row['recall']:10.3f}{row['support']:10d}"
              for row in summary["per_class"]]
    if summary["most_confused"]:
        lines += ["", "most confused (true → predicted: rows, share of the true class)"]
        lines += [f"  {p['true']} → {p['predicted']}: {p['count']} ({100 * p['fraction']:.1f}%)"
                  for p in summary["most_confused"]]
    return lines


def headline_text(summary: dict) -> str:
    """``top-1 91.20%  top-5 99.10%  balanced 90.85%`` (top-5 only with at least 5 classes)."""
    parts = [f"top-1 {100 * summary['accuracy']:.2f}%"]
    if summary.get("top5_accuracy") is not None:
        parts.append(f"top-5 {100 * summary['top5_accuracy']:.2f}%")
    parts.append(f"balanced {100 * summary['balanced_accuracy']:.2f}%")
    return "  ".join(parts)
