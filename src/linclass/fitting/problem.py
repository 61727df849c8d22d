"""What is minimized: an objective on rows, with labels, optional validation rows and a standardizer.

Conventions: N examples, D features, C classes; the parameters ``{"W": (D, C), "b": (C,)}``
apply to the standardized rows ``(x − shift) / scale`` when a standardizer is given (it is
folded into the products, :class:`linclass.rows.source.Standardized`; no copy of X is made).
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError
from ..objective import Objective
from ..optim.chunked import SoftmaxL2
from ..optim.lbfgs import is_chunked, is_l2_softmax
from ..rows.labeled import Labeled
from ..rows.source import Standardized, accuracy, streamed

__all__ = ["BACKENDS", "Backend", "Problem", "class_weights"]

BACKENDS = {"torch": ("linclass.probe.torch_backend", "TorchSoftmaxL2"),
            "dask": ("linclass.probe.dask_backend", "DaskSoftmaxL2")}
"""Where the L2 softmax is computed besides NumPy (imported when first used: torch and Dask are optional)."""


@dataclass(frozen=True)
class Backend:
    """Where the L2 softmax's loss and gradient are computed: ``numpy`` (threads over row chunks),
    ``torch`` (``device`` cpu / cuda[:i]) or ``dask`` (``client``: a ``dask.distributed.Client``)."""

    name: str = "numpy"
    device: str | None = None
    client: object = None
    chunk_rows: int | None = None
    threads: int | None = None

    def __post_init__(self):
        if self.name not in ("numpy", *BACKENDS):
            raise ParameterError(f"unknown backend {self.name!r}; choose numpy or torch.")
        if self.name == "numpy" and self.device not in (None, "cpu"):
            raise ParameterError(f"--device {self.device} needs --backend torch (the numpy backend runs on the CPU).")


class _Generic:
    """``(W, b) -> (L, ∇_W L, ∇_b L)`` of any :class:`Objective` on rows in memory, float64 out."""

    def __init__(self, objective, X, y, dtype):
        self.objective, self.X, self.y, self.dtype = objective, X, y, np.dtype(dtype)
        self.passes = 0

    def __call__(self, W, b):
        self.passes += 1
        value = self.objective({"W": np.asarray(W, self.dtype), "b": np.asarray(b, self.dtype)}, self.X, self.y)
        return float(value.loss), np.asarray(value.grads["W"], np.float64), np.asarray(value.grads["b"], np.float64)

    def accuracy(self, W, b) -> float:
        return accuracy(W, b, self.X, self.y)


@dataclass(frozen=True)
class Problem:
    """``objective`` on the rows ``X`` (an array, memory map or row source) with class indices ``y``.

    ``val``: ``(X_val, y_val)`` scored after every epoch of a minibatch solver (and at the end of any);
    ``shift`` / ``scale`` (D,): the standardizer; ``sample_weight`` (N,): per-row weights of the data term,
    ``Σ w_i L_i / Σ w_i`` (scikit-learn's; :func:`class_weights` gives ``class_weight="balanced"``'s), for the L2
    softmax on the numpy backend with L-BFGS.
    """

    objective: Objective
    X: object
    y: np.ndarray
    n_classes: int
    val: tuple | None = None
    shift: np.ndarray | None = None
    scale: np.ndarray | None = None
    sample_weight: np.ndarray | None = None
    _placed: dict = field(default_factory=dict, compare=False, repr=False)
    """Evaluators built on a backend, by its settings: kept across :meth:`at` (the data stays where it was put)."""

    def __post_init__(self):
        w = self.sample_weight
        if w is not None and (np.shape(w) != (self.X.shape[0],) or not np.all(np.isfinite(w)) or np.any(
                np.asarray(w) < 0) or not np.sum(w) > 0):
            raise ParameterError(f"sample_weight must hold one finite weight >= 0 per row ({self.X.shape[0]}), "
                                 "not all zero.")

    @classmethod
    def of(cls, objective: Objective, train: Labeled, val=None, **options) -> Problem:
        """``objective`` on labelled rows (:class:`linclass.rows.labeled.Labeled`); ``val``: labelled rows of the
        same classes, or ``(X, y)``; ``options``: ``shift``, ``scale``, ``sample_weight``."""
        if isinstance(val, Labeled):
            val = (val.X, val.y)
        return cls(objective, train.X, train.y, train.n_classes, val=val, **options)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(N, D, C)``."""
        return self.X.shape[0], self.X.shape[1], int(self.n_classes)

    def at(self, reg_strength: float) -> Problem:
        """The same rows (and whatever a backend placed on its devices) with another λ."""
        return dataclasses.replace(self, objective=dataclasses.replace(self.objective, reg_strength=reg_strength),
                                   _placed=self._placed)

    def zeros(self, dtype=np.float64) -> dict:
        """The all-zero parameters (a convex problem needs no random start)."""
        _, D, C = self.shape
        return {"W": np.zeros((D, C), dtype), "b": np.zeros(C, dtype)}

    def rows(self, dtype, X=None):
        """``X`` (default: the training rows) as the model sees them: standardized when a standardizer is given."""
        X = self.X if X is None else X
        return X if self.shift is None else Standardized(X, self.shift, self.scale, dtype)

    def evaluator(self, backend: Backend | str = "numpy", dtype=np.float32):
        """``(W, b) -> (L, ∇_W L, ∇_b L)`` of the full objective, float64 out, with ``accuracy(W, b)``.

        The L2 (or unregularized) softmax is computed in row chunks, products in ``dtype``
        (:class:`linclass.optim.chunked.SoftmaxL2`, or the torch / Dask backend), and so is any other smooth loss
        with L2 or no penalty on numpy (``SoftmaxL2(loss=...)``: the squared hinge); any other objective by
        :class:`linclass.objective.Objective` on rows in memory.
        """
        backend = Backend(backend) if isinstance(backend, str) else backend
        dtype = np.dtype(dtype)
        if self.sample_weight is not None and (backend.name != "numpy" or not is_l2_softmax(self.objective)):
            raise ParameterError("per-row weights (class weights) are computed for the L2 softmax on the numpy "
                                 "backend only; leave out --backend / --dask, or the weights.")
        if not is_l2_softmax(self.objective) and not (backend.name == "numpy" and is_chunked(self.objective)):
            if backend.name != "numpy":
                raise ParameterError(f"the {backend.name} backend computes the L2 softmax only; use numpy.")
            X = self.rows(dtype)
            if streamed(X):
                raise ParameterError(f"the {self.objective.loss} loss needs the rows in memory; pass an array.")
            return _Generic(self.objective, X, self.y, dtype)
        key = (backend.name, backend.device, id(backend.client), backend.chunk_rows, backend.threads, dtype.name)
        if key not in self._placed:
            self._placed[key] = self._softmax(backend, dtype)
        return self._placed[key].with_reg(self._lam())

    def _lam(self) -> float:
        return self.objective.reg_strength if self.objective.reg is not None else 0.0

    def _softmax(self, backend: Backend, dtype) -> SoftmaxL2:
        N, D, C = self.shape
        common = dict(dtype=dtype, shift=self.shift, scale=self.scale, chunk_rows=backend.chunk_rows)
        if backend.name == "numpy":
            return SoftmaxL2(self.X, self.y, C, self._lam(), threads=backend.threads, sample_weight=self.sample_weight,
                             loss=None if self.objective.loss == "softmax" else self.objective, **common)
        module, name = BACKENDS[backend.name]
        kind = getattr(importlib.import_module(module), name)
        if backend.name == "dask":
            return kind(backend.client, self.X, self.y, C, self._lam(), **common)
        return kind(self.X, self.y, C, self._lam(), device=backend.device, **common)


def class_weights(y, n_classes: int) -> np.ndarray:
    """Per-row weights ``N / (C · n_{y_i})`` (scikit-learn's ``class_weight="balanced"``): every class weighs as
    much in the data term as if the classes were equally frequent; they sum to N."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    return (len(y) / (np.count_nonzero(counts) * counts))[y]
