"""Linear probes: the exact L2 softmax on embeddings, one λ or a regularization path, chosen on validation.

:func:`fit` minimizes scikit-learn's ``LogisticRegression`` objective (mean
softmax loss + λ·ΣW², intercept not penalized; ``C = 1 / (2 N λ)``) with
:func:`linclass.optim.lbfgs` on row chunks of memory-mapped embeddings. A
path fits λ from strong to weak, each warm-started from the previous solution,
and keeps the one with the best validation accuracy. Backends compute the same
loss and gradient: ``numpy`` (threads over chunks), ``torch`` (CPU or CUDA,
:mod:`linclass.probe.torch_backend`), or a Dask cluster
(:mod:`linclass.probe.dask_backend`). ``optimizer="adam"`` (or another minibatch
optimizer) replaces L-BFGS by epochs streamed from the files (:mod:`linclass.probe.minibatch`).
"""

from __future__ import annotations

import importlib
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .. import __version__, _checks
from ..classifier import Classifier
from ..errors import LabelError, ParameterError
from ..model import LinearModel
from ..objective import Objective
from ..optim.lbfgs import lbfgs, softmax_evaluator
from ..preprocess import Preprocessor
from ..regularizers import L2
from ..rows.files import Split, open_split
from ..rows.source import accuracy, feature_stats
from . import minibatch
from .resume import Progress, run_record

BACKENDS = ("numpy", "torch")
TOL = 1e-4
"""Default relative tolerance of a probe (``‖∇L‖∞ ≤ tol · ‖∇L(0)‖∞``): on the benchmark's embeddings it
leaves the objective within 3e-8 (relative) of the float64 optimum (``benchmarks/bench_probe.py``); the
certificate is reported."""


def parse_reg_path(text: str) -> list[float]:
    """``"LO:HI:K"`` → K log-spaced λ from HI (strong) down to LO (weak); e.g. ``1e-6:1e-2:8``."""
    try:
        lo, hi, k = text.split(":")
        lo, hi, k = float(lo), float(hi), int(k)
    except ValueError:
        raise ParameterError(f"--reg-path must be LO:HI:K (two λ and a count), e.g. 1e-6:1e-2:8; got {text!r}.") \
            from None
    lo, hi = _checks.log_range((lo, hi), "--reg-path LO:HI:K (e.g. 1e-6:1e-2:8)")
    k = _checks.integer(k, "--reg-path LO:HI:K: K", hint=", e.g. 1e-6:1e-2:8")
    return [float(v) for v in np.geomspace(hi, lo, k)] if k > 1 else [hi]


def as_split(data, y=None, what: str = "train") -> Split:
    """A :class:`Split` from a path, an ``(X, y)`` pair, or ``X`` with ``y``."""
    if isinstance(data, Split):
        return data
    if isinstance(data, tuple) and y is None:
        data, y = data
    if y is None:
        return open_split(data)
    y = np.asarray(y)
    if getattr(data, "ndim", None) != 2 or len(y) != data.shape[0]:
        raise ParameterError(f"{what}: X must be (N, D) with one label per row, got X {getattr(data, 'shape', '?')} "
                             f"and y {y.shape}.")
    if np.dtype(data.dtype).kind != "f":
        data = np.asarray(data, np.float32)
    return Split(data, y, what)


def encode(classes: np.ndarray, y: np.ndarray, where: str) -> np.ndarray:
    """Labels ``y`` as indices into the sorted training ``classes``; unseen labels raise :class:`LabelError`."""
    idx = np.searchsorted(classes, y)
    idx[idx >= len(classes)] = 0
    unknown = y[classes[idx] != y]
    if unknown.size:
        raise LabelError(f"{where} has label(s) {np.unique(unknown)[:5].tolist()} that the training split "
                         f"does not have; every validation/test label must occur in training.")
    return idx.astype(np.int64)


@dataclass
class ProbeResult:
    """What :func:`fit` found: the classifier of the best λ, its certificate, and every λ of the path."""

    classifier: Classifier
    best: dict
    path: list = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict:
        """The ``--json`` fields: objective, grad_norm, iterations, seconds, accuracies, path and best."""
        best = self.best
        return {"objective": best["objective"], "grad_norm": best["grad_norm"],
                "distance_bound": best["distance_bound"], "iterations": best["iterations"],
                "seconds": self.seconds, "reg_strength": best["reg_strength"],
                "train_accuracy": best.get("train_accuracy"),
                "val_accuracy": best["val_accuracy"], "test_accuracy": best["test_accuracy"],
                "converged": best["converged"], "path": self.path, "best": best}


def make_evaluator(backend: str, X, y, n_classes: int, reg_strength: float, *, dtype, shift, scale,
                   device=None, dask=None, chunk_rows=None, threads=None):
    """The loss-and-gradient function of one backend (see :func:`fit`)."""
    objective = Objective("softmax", L2(), reg_strength)
    if dask is not None:
        module = importlib.import_module(".dask_backend", __package__)
        return module.DaskSoftmaxL2(dask, X, y, n_classes, reg_strength, dtype=dtype, shift=shift, scale=scale,
                                    chunk_rows=chunk_rows)
    if backend == "torch":
        module = importlib.import_module(".torch_backend", __package__)
        return module.TorchSoftmaxL2(X, y, n_classes, reg_strength, dtype=dtype, shift=shift, scale=scale,
                                     device=device, chunk_rows=chunk_rows)
    if backend != "numpy":
        raise ParameterError(f"unknown backend {backend!r}; choose numpy or torch.")
    if device not in (None, "cpu"):
        raise ParameterError(f"--device {device} needs --backend torch (the numpy backend runs on the CPU).")
    return softmax_evaluator(objective, X, y, n_classes, dtype, shift=shift, scale=scale,
                             chunk_rows=chunk_rows, threads=threads)


def fit(train, y=None, *, val=None, test=None, reg_strength: float | None = 1e-4, reg_path=None,
        standardize: bool = False, backend: str = "numpy", device=None, dask=None, dtype="float32",
        tol: float = TOL, max_iter: int = 1000, chunk_rows=None, threads=None, progress=None, optimizer="lbfgs",
        lr=None, schedule=None, batch_size=None, epochs=None, seed=0, checkpoint=None,
        resume: bool = False) -> ProbeResult:
    """Fit the L2 softmax probe on ``train`` and score it on ``val`` / ``test``.

    ``train``, ``val``, ``test``: a directory or ``.npz`` (see :mod:`linclass.rows.files`),
    an ``(X, y)`` pair, or (train only) ``X`` with ``y``; X may be a memory map.
    ``reg_path``: a list of λ (or ``"LO:HI:K"``), fitted strong to weak with warm
    starts; the best validation accuracy wins (needs ``val``). ``standardize``:
    fit on ``(X − μ)/σ`` of the training rows (folded into the weights, no copy).
    ``backend``: ``numpy`` or ``torch`` (``device`` ``cpu`` / ``cuda[:i]``);
    ``dask``: a ``dask.distributed.Client`` (or an address, or ``"local"``)
    computing the loss and gradient over the workers. ``dtype``: precision of the
    products (float32, finished in float64 when round-off stalls; or float64).
    ``progress(text)`` is called after each λ. Emits :class:`ConvergenceWarning`
    when a fit ends on ``max_iter``. ``optimizer``: ``"lbfgs"`` (the exact optimum), or a minibatch
    optimizer (``sgd`` … ``adam``) run for ``epochs`` of ``batch_size`` rows at ``lr`` (``schedule``,
    ``seed``) on shuffled blocks streamed from the files, numpy backend only; its result's ``grad_norm``
    tells how far from the optimum it ended. ``checkpoint``: a folder where each finished λ (and a
    minibatch λ's last epoch) is kept; ``resume=True`` continues the run that wrote it
    (:mod:`linclass.probe.resume`).
    """
    started = time.perf_counter()
    lams = parse_reg_path(reg_path) if isinstance(reg_path, str) else list(reg_path or [reg_strength])
    lams = [_checks.reg_strength(lam, "the regularization strength λ") for lam in lams]
    dtype = _checks.precision(dtype).name
    mini = minibatch.settings(optimizer, lr=lr, schedule=schedule, batch_size=batch_size, epochs=epochs, seed=seed,
                              lams=lams, backend=backend, dask=dask)
    train = as_split(train, y, "train")
    val = as_split(val, what="val") if val is not None else None
    test = as_split(test, what="test") if test is not None else None
    if len(lams) > 1 and val is None:
        raise ParameterError("a regularization path picks λ on a validation split; pass val (--val DIR).")
    classes, y_train = np.unique(train.y, return_inverse=True)
    if classes.size < 2:
        raise LabelError(f"{train.where} has only one class ({classes[0]!r}); a classifier needs at least 2.")
    others = {name: (s, encode(classes, s.y, s.where)) for name, s in (("val", val), ("test", test)) if s is not None}
    for name, (s, _) in others.items():
        if s.X.shape[1] != train.X.shape[1]:
            raise ParameterError(f"{s.where} has {s.X.shape[1]} features but training has {train.X.shape[1]}; "
                                 f"pass {name} embeddings from the same model.")
    N, D = train.X.shape
    C = classes.size
    shift = scale = None
    if standardize:
        shift, scale = (v.astype(np.float32).astype(np.float64) for v in feature_stats(train.X))
    client = _client(dask)
    params = {"W": np.zeros((D, C)), "b": np.zeros(C)}
    path, best, best_params = [], None, None
    data = make_evaluator(backend, train.X, y_train, C, lams[0], dtype=np.dtype(dtype), shift=shift, scale=scale,
                          device=device, dask=client, chunk_rows=chunk_rows, threads=threads)
    files = Progress(checkpoint, run_record(train.X, y_train, classes, {
        "reg_path": lams, "standardize": standardize, "dtype": dtype, "tol": tol, "max_iter": max_iter,
        "optimizer": optimizer, **({} if mini is None else mini._asdict())}), resume)
    curvature = None
    for k, lam in enumerate(lams):
        done = files.finished(k, lam)  # (resume) a λ this run already fitted is read back
        if done is not None:
            (params, row), curvature = done, None
        else:
            t = time.perf_counter()
            evaluator = data.with_reg(lam)  # the data stays where the backend put it; λ changes
            if mini is not None:
                result = minibatch.solve(mini, train.X, y_train, lam, params, evaluator, dtype=np.dtype(dtype),
                                         shift=shift, scale=scale, val=(val.X, others["val"][1]) if val else None,
                                         bar=progress is not None, checkpoint=files.epochs(k), resume=resume,
                                         run={**files.record, "reg_strength": lam})
            else:
                result = lbfgs(Objective("softmax", L2(), lam), train.X, y_train, params, max_iter=max_iter, tol=tol,
                               evaluator=evaluator, curvature=curvature)
                curvature = result.curvature  # L-BFGS's pairs go on to the next λ
            params = result.params  # the next, weaker λ starts here (warm start)
            if mini is None and not result.converged and result.n_iter >= max_iter:
                warnings.warn(f"L-BFGS stopped after max_iter={max_iter} iterations at λ={lam:g} with ‖∇L‖ = "
                              f"{result.grad_norm:.3g} above the tolerance; raise max_iter (--max-iter) or "
                              "pass --standardize.", ConvergenceWarning, stacklevel=2)
            row = {"reg_strength": lam, "C": 1 / (2 * N * lam) if lam > 0 else None,
                   "objective": result.loss, "grad_norm": result.grad_norm,
                   "distance_bound": result.distance_bound, "iterations": result.n_iter,
                   "evaluations": result.evaluations, "precision": result.precision, "converged": result.converged}
            if mini is not None:
                row.update(mini._asdict(), epochs=result.epochs, val_accuracy_per_epoch=result.val_accuracy)
            for name, (s, y_idx) in others.items():
                row[f"{name}_accuracy"] = accuracy(params["W"], params["b"], s.X, y_idx, shift=shift, scale=scale)
            row.setdefault("val_accuracy", None)
            row.setdefault("test_accuracy", None)
            row["seconds"] = time.perf_counter() - t
            files.save(k, lam, params, row)
        path.append(row)
        if best is None or (row["val_accuracy"] is not None and row["val_accuracy"] > best["val_accuracy"]):
            best, best_params = row, params
        if progress is not None:
            progress(f"λ {lam:.3g}: objective {row['objective']:.8f}, {row['iterations']} iterations, "
                     f"val {_pct(row['val_accuracy'])}, {row['seconds']:.1f} s" + (" (read back)" if done else ""))
    best = dict(best)
    best["train_accuracy"] = data.accuracy(best_params["W"], best_params["b"])  # where the backend holds the rows
    pre = Preprocessor(None if shift is None else shift.astype(np.float32),
                       None if scale is None else scale.astype(np.float32))
    model = LinearModel(best_params["W"].astype(np.float32), best_params["b"].astype(np.float32))
    meta = {"settings": {"reg_strength": best["reg_strength"], "reg_path": lams, "standardize": standardize,
                         "backend": "dask" if client is not None else backend, "dtype": dtype, "tol": tol,
                         "max_iter": max_iter, "optimizer": optimizer,
                         **({} if mini is None else mini._asdict())},
            "dataset": train.where, "optimality": {k: best[k] for k in ("objective", "grad_norm", "distance_bound")},
            "trainer": f"linclass {__version__} probe"}
    clf = Classifier(model, pre, [str(c) for c in classes], "softmax", None, None, meta)
    return ProbeResult(clf, best, path, time.perf_counter() - started)


def _client(dask):
    if dask is None:
        return None
    module = importlib.import_module(".dask_backend", __package__)
    return module.connect(dask)


def _pct(v):
    return "—" if v is None else f"{100 * v:.2f}%"


