"""A probe run's progress on disk, so that an interrupted run continues (``linclass probe --resume``).

Each finished λ of a path is saved as ``lambda-K.npz``: its weights, its row of the path and the run's
record (a digest of each input, X with its labels, validation and test, and every setting that changes the
result; the λ of the path as their count, ends and SHA-256, so each file's record keeps one size whatever K).
A digest reads little (:func:`input_digest`: shape, dtype, each file's size and modification time, and the
SHA-256 of :data:`SAMPLE_ROWS` rows spread over the input and of every label); ``full=True`` hashes every row
(``linclass probe --full-digest``). A
minibatch λ also keeps ``epochs-K.npz``, the training loop's checkpoint after each epoch. With
``resume``, a λ whose file carries the same record is read back instead of fitted (the next λ
warm-starts from it), and a minibatch λ continues from its last epoch, bit for bit; a file written by
another run is refused, naming the differences. Files are written atomically in the project's
checksummed format (:func:`linclass.persist.save_arrays`, no pickle), and removed when the run ends.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .. import persist
from ..errors import ParameterError
from ..fitting.loop import record_differences
from ..rows.source import read_rows, release_rows, spans

SAMPLE_ROWS = 64
"""Rows of each input hashed by the cheap digest (evenly spread, first and last included)."""


def _files(X) -> list[str]:
    """The files that hold the rows of ``X`` (a row source's parts, a memory map's file), if any."""
    if hasattr(X, "parts"):
        return [part.path for part in X.parts]
    return [X.filename] if getattr(X, "filename", None) else []


def input_digest(X, y, full: bool = False) -> str:
    """What identifies one input (rows ``X`` and labels ``y``), reading little unless ``full``.

    Shape and dtype; each file's size and modification time; the SHA-256 of every label and of
    :data:`SAMPLE_ROWS` rows. ``full``: the content alone, every row hashed chunk by chunk (a copy of the
    same files is the same input)."""
    h = hashlib.sha256(f"{tuple(X.shape)} {X.dtype}".encode())
    for path in [] if full else _files(X):
        st = os.stat(path)
        h.update(f"{st.st_size} {st.st_mtime_ns}".encode())
    N = X.shape[0]
    if full:
        for start, stop in spans(X, 16384):
            h.update(np.ascontiguousarray(read_rows(X, start, stop)).tobytes())
            release_rows(X, start, stop)
    else:
        for i in np.unique(np.linspace(0, N - 1, min(N, SAMPLE_ROWS)).astype(np.int64)):
            h.update(np.ascontiguousarray(read_rows(X, int(i), int(i) + 1)).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return f"{N}×{X.shape[1]} {X.dtype}, {'full' if full else 'sampled'} sha256 {h.hexdigest()[:16]}"


def _path_record(lams) -> str:
    """A path's λ in a few words: their count, ends and SHA-256 (the list itself is in the run's settings)."""
    digest = hashlib.sha256(np.asarray(lams, np.float64).tobytes()).hexdigest()[:16]
    return f"{len(lams)} λ from {lams[0]:.17g} to {lams[-1]:.17g}, sha256 {digest}"


def run_record(X, y, classes, settings: dict, inputs: dict | None = None) -> dict:
    """What identifies a probe run: the training rows' shape and dtype, a digest of the labels, the settings,
    and ``inputs`` (``{name: input_digest(...)}``: which input differs is named on a refused resume)."""
    labels = hashlib.sha256(np.ascontiguousarray(y).tobytes()).hexdigest()[:16]
    data = {"rows": int(X.shape[0]), "features": int(X.shape[1]), "dtype": str(X.dtype), "labels": labels,
            "classes": [str(c) for c in classes]}
    if "reg_path" in settings:
        settings = {**settings, "reg_path": _path_record(settings["reg_path"])}
    record = {"data": data, "settings": settings, "inputs": inputs or {}}
    return json.loads(json.dumps(record))  # as it reads back from JSON


class Progress:
    """The files of one run in ``folder`` (None: nothing is written); ``resume``: read finished λ back."""

    def __init__(self, folder, record: dict, resume: bool = False):
        self.folder = None if folder is None else Path(folder)
        self.record, self.resume = record, resume
        if resume and self.folder is None:
            raise ParameterError("resume needs the folder of the run to continue (--out DIR, as given to it).")

    def _lambda(self, k: int) -> Path:
        return self.folder / f"lambda-{k:02d}.npz"

    def epochs(self, k: int) -> str | None:
        """The minibatch checkpoint of λ number ``k`` (None when nothing is written)."""
        return None if self.folder is None else str(self.folder / f"epochs-{k:02d}.npz")

    def finished(self, k: int, lam: float) -> tuple[dict, dict] | None:
        """``(params, row)`` of λ number ``k`` if this run already fitted it (and ``resume``), else None."""
        if not self.resume or not self._lambda(k).is_file():
            return None
        arrays, meta = persist.load_arrays(self._lambda(k), kind="checkpoint")
        now = {**self.record, "reg_strength": lam}
        differences = record_differences({k_: meta.get(k_) for k_ in now}, now)
        if differences:
            raise ParameterError(f"cannot resume: {self._lambda(k)} was written by a run with other settings or "
                                 f"data ({'; '.join(differences)}, file → now); resume with the same ones, or "
                                 "start afresh in another --out.")
        return {"W": arrays["W"], "b": arrays["b"]}, meta["row"]

    def save(self, k: int, lam: float, params: dict, row: dict) -> None:
        """Record λ number ``k`` as finished; its minibatch checkpoint is no longer needed."""
        if self.folder is None:
            return
        persist.save_arrays(self._lambda(k), {"W": params["W"], "b": params["b"]},
                            {**self.record, "reg_strength": lam, "row": row}, kind="checkpoint")
        Path(self.epochs(k)).unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove the run's files (it ended: the model file is the result)."""
        if self.folder is not None:
            for path in [*self.folder.glob("lambda-*.npz"), *self.folder.glob("epochs-*.npz")]:
                path.unlink(missing_ok=True)
