"""A trained classifier applied to embedding files: ``linclass evaluate`` and ``predict`` on rows, streamed.

The files are those ``linclass probe`` reads (:mod:`linclass.rows.files`: a directory with
``X.npy`` or shards, an ``.npz``; for ``predict`` also a bare ``.npy`` and no labels), memory-mapped
and scored chunk by chunk through the classifier's own data path (:meth:`Classifier.scores`: the
saved standardization, then ``X W + b``); each chunk's pages are released after use, so memory
stays one chunk whatever the file's size.

Conventions: N rows, D features, C classes, K the classes kept per row by ``predict``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .errors import InputError, ParameterError
from .losses import softmax
from .metrics import Tally
from .optim.chunked import chunk_rows_for
from .persist import atomic_write
from .rows.files import open_split
from .rows.labeled import Labeled
from .rows.source import finite_scores, read_rows, release_rows, spans

PREVIEW_ROWS = 20
"""Rows ``predict`` shows when it writes no ``--out`` file."""
OUT_SUFFIXES = (".csv", ".npy")


def check_width(clf, X, where: str) -> None:
    """Refuse rows whose width is not the model's, naming both."""
    if X.shape[1] != clf.model.n_features:
        raise InputError(f"{where} has {X.shape[1]} features per row but the model expects {clf.model.n_features}; "
                         "pass embeddings from the model the classifier was trained on.")


def score_chunks(clf, X):
    """``(start, stop, scores (n, C))`` for consecutive chunks of ``X`` (a row source), pages released after use."""
    check_width(clf, X, getattr(X, "where", "the rows"))
    for start, stop in spans(X, chunk_rows_for(X.shape[1], 4)):
        scores = finite_scores(clf.scores(read_rows(X, start, stop)), getattr(X, "where", "the rows"))
        release_rows(X, start, stop)
        yield start, stop, scores


def evaluate_split(clf, path) -> dict:
    """The metrics of :class:`linclass.metrics.Tally` on the labelled split at ``path``, plus ``data``."""
    split = open_split(path)
    y = Labeled.of(split.X, split.y, split.where, clf.class_names, known_by="the model").y
    tally = Tally(len(clf.class_names))
    for start, stop, scores in score_chunks(clf, split.X):
        tally.add(scores, y[start:stop])
    return {"data": split.where, **tally.summary(clf.class_names)}


def top_classes(clf, scores, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best classes of each row (n, k), best first, and their probabilities (softmax model) or scores."""
    values = softmax(scores) if clf.loss == "softmax" else scores
    top = np.argsort(-values, axis=1, kind="stable")[:, :k]
    return top, np.take_along_axis(values, top, axis=1)


def predict_file(clf, path, *, top: int, out=None) -> dict:
    """Each row's ``top`` classes for the rows at ``path``; with ``out`` (``.csv`` or ``.npy``) all rows are
    written there (see :func:`_csv_writer`, :func:`_npy_writer`), else the first :data:`PREVIEW_ROWS` are
    returned. Returns ``{"data", "rows", "out", "value", "predictions": [{"row", "top": [...]}]}``."""
    X = open_split(path, labels=False).X
    check_width(clf, X, str(path))
    k = max(1, min(top, len(clf.class_names)))
    value = "probability" if clf.loss == "softmax" else "score"
    preview = []

    def chunks():
        for start, stop, scores in score_chunks(clf, X):
            idx, vals = top_classes(clf, scores, k)
            if len(preview) < PREVIEW_ROWS:
                preview.extend((start + i, idx[i], vals[i]) for i in range(min(stop - start, PREVIEW_ROWS)))
            yield idx, vals
            if out is None and len(preview) >= PREVIEW_ROWS:
                return

    if out is not None:
        out = Path(out)
        if out.suffix not in OUT_SUFFIXES:
            raise ParameterError(f"--out {out} must end in .csv or .npy (the predictions' format).")
        writer = _csv_writer if out.suffix == ".csv" else _npy_writer
        atomic_write(out, writer(clf, chunks(), X.shape[0], k, value))
    else:
        for _ in chunks():
            pass
    names = clf.class_names
    return {"data": str(path), "rows": int(X.shape[0]), "out": None if out is None else str(out), "value": value,
            "predictions": [{"row": int(r), "class": str(names[i[0]]),
                             "top": [{"class": str(names[j]), value: float(v)} for j, v in zip(i, vs)]}
                            for r, i, vs in preview[:PREVIEW_ROWS]]}


def _csv_writer(clf, chunks, n_rows: int, k: int, value: str):
    """A CSV: ``row,class_1,<value>_1,…,class_K,<value>_K``, one line per row, in row order."""
    def write(f):
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        out = csv.writer(text)
        out.writerow(["row", *(f"{name}_{j + 1}" for j in range(k) for name in ("class", value))])
        names = np.asarray(clf.class_names, dtype=object)
        row = 0
        for idx, vals in chunks:
            for r in range(idx.shape[0]):
                out.writerow([row + r, *(v for j in range(k) for v in (names[idx[r, j]], f"{vals[r, j]:.6g}"))])
            row += idx.shape[0]
        text.flush()
        text.detach()
    return write


def _npy_writer(clf, chunks, n_rows: int, k: int, value: str):
    """An ``.npy`` of shape (N, K), a structured array with fields ``class`` (name), ``index`` (int32) and
    ``<value>`` (float32), best first; it loads without pickle: ``np.load(path)["class"]``."""
    width = max(len(str(c)) for c in clf.class_names)
    dtype = np.dtype([("class", f"<U{width}"), ("index", "<i4"), (value, "<f4")])
    names = np.asarray([str(c) for c in clf.class_names])

    def write(f):
        np.lib.format.write_array_header_2_0(f, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                 "fortran_order": False, "shape": (n_rows, k)})
        for idx, vals in chunks:
            block = np.empty(idx.shape, dtype)
            block["class"], block["index"], block[value] = names[idx], idx, vals
            f.write(block.tobytes())
    return write
