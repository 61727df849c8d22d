"""A probe run's progress on disk, so that an interrupted run continues (``linclass probe --resume``).

Each finished λ of a path is saved as ``lambda-K.npz``: its weights, its row of the path and the run's
record (the training data's shape, dtype and labels, and every setting that changes the result). A
minibatch λ also keeps ``epochs-K.npz``, the training loop's checkpoint after each epoch. With
``resume``, a λ whose file carries the same record is read back instead of fitted (the next λ
warm-starts from it), and a minibatch λ continues from its last epoch, bit for bit; a file written by
another run is refused, naming the differences. Files are written atomically in the project's
checksummed format (:func:`linclass.persist.save_arrays`, no pickle), and removed when the run ends.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .. import persist
from ..errors import ParameterError
from ..fitting.loop import record_differences


def run_record(X, y, classes, settings: dict) -> dict:
    """What identifies a probe run: the training rows' shape and dtype, a digest of the labels, the settings."""
    labels = hashlib.sha256(np.ascontiguousarray(y).tobytes()).hexdigest()[:16]
    data = {"rows": int(X.shape[0]), "features": int(X.shape[1]), "dtype": str(X.dtype), "labels": labels,
            "classes": [str(c) for c in classes]}
    return json.loads(json.dumps({"data": data, "settings": settings}))  # as it reads back from JSON


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
