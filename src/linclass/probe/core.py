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
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import _checks, defaults
from .._version import __version__
from ..classifier import Classifier
from ..errors import LabelError, ParameterError
from ..fitting import LBFGS, Backend, Minibatch, Problem, solve
from ..model import LinearModel
from ..objective import Objective
from ..preprocess import Preprocessor
from ..regularizers import L2
from ..rows.files import Split, open_split
from ..rows.source import accuracy, feature_stats
from . import minibatch
from .resume import Progress, input_digest, run_record

BACKENDS = ("numpy", "torch")


MAX_PATH = 200
"""Most λ one ``--reg-path`` fits (each is a full L-BFGS run and a file while the run lasts)."""


def parse_reg_path(text: str) -> list[float]:
    """``"LO:HI:K"`` → K log-spaced λ from HI (strong) down to LO (weak); e.g. ``1e-6:1e-2:8``.

    ``0 < LO <= HI <=`` :data:`~linclass._checks.REG_STRENGTH_MAX` (as ``--reg-strength``), ``1 <= K <=``
    :data:`MAX_PATH`."""
    hint = "--reg-path LO:HI:K (e.g. 1e-6:1e-2:8)"
    try:
        lo, hi, k = text.split(":")
        lo, hi, k = float(lo), float(hi), int(k)
    except ValueError:
        raise ParameterError(f"--reg-path must be LO:HI:K (two λ and a count), e.g. 1e-6:1e-2:8; got {text!r}.") \
            from None
    lo, hi = _checks.log_range((lo, hi), hint)
    _checks.number(hi, f"{hint}: HI", high=_checks.REG_STRENGTH_MAX)
    k = _checks.integer(k, "--reg-path LO:HI:K: K", maximum=MAX_PATH,
                        hint=" (the number of λ fitted, one L-BFGS run each), e.g. 1e-6:1e-2:8")
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


def fit(train, y=None, *, val=None, test=None, reg_strength: float | None = None, reg_path=None,
        standardize: bool = False, backend: str = "numpy", device=None, dask=None, dtype="float32",
        tol: float | None = None, max_iter: int | None = None, chunk_rows=None, threads=None, progress=None,
        optimizer="lbfgs", lr=None, schedule=None, batch_size=None, epochs=None, seed=0, checkpoint=None,
        resume: bool = False, full_digest: bool = False) -> ProbeResult:
    """Fit the L2 softmax probe on ``train`` and score it on ``val`` / ``test``.

    ``train``, ``val``, ``test``: a directory or ``.npz`` (see :mod:`linclass.rows.files`),
    an ``(X, y)`` pair, or (train only) ``X`` with ``y``; X may be a memory map.
    ``reg_strength``: λ (default: the probe's, :mod:`linclass.defaults`). ``reg_path``: a list of λ
    (or ``"LO:HI:K"``), fitted strong to weak with warm
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
    (:mod:`linclass.probe.resume`), if its inputs are the same (a digest of each; ``full_digest``: of every byte).
    Every λ is one :func:`linclass.fitting.solve`.
    """
    started = time.perf_counter()
    lams = _lambdas(reg_strength, reg_path)
    if dtype not in ("float32", "float64"):
        raise ParameterError(f"dtype must be float32 or float64, got {dtype!r}.")
    mini = minibatch.settings(optimizer, lr=lr, schedule=schedule, batch_size=batch_size, epochs=epochs, seed=seed,
                              lams=lams, backend=backend, dask=dask)
    problem, classes, test, splits = _problem(train, y, val, test, lams, standardize)
    client = _client(dask)
    place = Backend("dask", client=client, chunk_rows=chunk_rows) if client is not None else \
        Backend(backend, device=device, chunk_rows=chunk_rows, threads=threads)
    lbfgs = LBFGS.of("probe", tol=tol, max_iter=max_iter, backend=place, dtype=dtype)
    solver = lbfgs if mini is None else minibatch.spec(mini, dtype)
    settings = {"reg_path": lams, "standardize": standardize, "dtype": dtype, "tol": lbfgs.tol,
                "max_iter": lbfgs.max_iter, "optimizer": optimizer, **({} if mini is None else mini._asdict())}
    inputs = None if checkpoint is None else {name: input_digest(s.X, s.y, full_digest) for name, s in splits.items()}
    files = Progress(checkpoint, run_record(problem.X, problem.y, classes, settings, inputs), resume)
    params, curvature, path, best = problem.zeros(), None, [], None
    for k, lam in enumerate(lams):
        done = files.finished(k, lam)  # (resume) a λ this run already fitted is read back
        if done is not None:
            (params, row), curvature = done, None
        else:
            row, params, curvature = _fit_lambda(problem.at(lam), solver, params, curvature, test, files, k, progress)
        path.append(row)
        if best is None or (row["val_accuracy"] is not None and row["val_accuracy"] > best[0]["val_accuracy"]):
            best = row, params
        if progress is not None:
            progress(f"λ {lam:.3g}: objective {row['objective']:.8f}, {row['iterations']} iterations, "
                     f"val {_pct(row['val_accuracy'])}, {row['seconds']:.1f} s" + (" (read back)" if done else ""))
    settings.update(reg_strength=best[0]["reg_strength"], backend="dask" if client is not None else backend)
    clf = _classifier(problem, best[0], best[1], classes, settings, splits["train"].where)
    return ProbeResult(clf, dict(best[0]), path, time.perf_counter() - started)


def _lambdas(reg_strength, reg_path) -> list[float]:
    """The λ of the run, strong to weak: ``reg_path`` (a list or ``"LO:HI:K"``), else ``reg_strength``."""
    if reg_strength is None:
        reg_strength = defaults.value("probe", "reg_strength")
    lams = parse_reg_path(reg_path) if isinstance(reg_path, str) else list(reg_path or [reg_strength])
    for lam in lams:
        if lam is None or not (math.isfinite(lam) and lam >= 0):
            raise ParameterError(f"the regularization strength λ must be a finite number >= 0, got {lam!r}.")
    return lams


def _problem(train, y, val, test, lams, standardize) -> tuple[Problem, np.ndarray, tuple | None, dict]:
    """The probe's :class:`Problem` at the first λ, the training classes, the test rows ``(X, y)``, and the
    splits given (``{"train": Split, …}``)."""
    train = as_split(train, y, "train")
    val = as_split(val, what="val") if val is not None else None
    test = as_split(test, what="test") if test is not None else None
    if len(lams) > 1 and val is None:
        raise ParameterError("a regularization path picks λ on a validation split; pass val (--val DIR).")
    classes, y_train = np.unique(train.y, return_inverse=True)
    if classes.size < 2:
        raise LabelError(f"{train.where} has only one class ({classes[0]!r}); a classifier needs at least 2.")
    others = {name: (s.X, encode(classes, s.y, s.where)) for name, s in (("val", val), ("test", test))
              if s is not None}
    for name, s in (("val", val), ("test", test)):
        if s is not None and s.X.shape[1] != train.X.shape[1]:
            raise ParameterError(f"{s.where} has {s.X.shape[1]} features but training has {train.X.shape[1]}; "
                                 f"pass {name} embeddings from the same model.")
    shift = scale = None
    if standardize:
        shift, scale = (v.astype(np.float32).astype(np.float64) for v in feature_stats(train.X))
    problem = Problem(Objective("softmax", L2(), lams[0]), train.X, y_train, classes.size, val=others.get("val"),
                      shift=shift, scale=scale)
    splits = {name: s for name, s in (("train", train), ("val", val), ("test", test)) if s is not None}
    return problem, classes, others.get("test"), splits


def _fit_lambda(problem: Problem, solver, params, curvature, test, files, k, progress) -> tuple[dict, dict, object]:
    """One λ: ``solve`` warm-started from ``params`` (with L-BFGS's pairs), its row of the path saved."""
    lam = problem.objective.reg_strength
    mini = isinstance(solver, Minibatch)
    result = solve(problem, solver, params, curvature=curvature, checkpoint=files.epochs(k) if mini else None,
                   resume=files.resume, run={**files.record, "reg_strength": lam},
                   progress=(None if progress is not None else False) if mini else None)
    N = problem.X.shape[0]
    row = {"reg_strength": lam, "C": 1 / (2 * N * lam) if lam > 0 else None,
           "objective": result.objective, "grad_norm": result.grad_norm,
           "distance_bound": result.distance_bound, "iterations": result.iterations,
           "evaluations": result.evaluations, "precision": result.precision, "converged": result.converged,
           "train_accuracy": result.train_accuracy}
    if mini:
        row.update({k: getattr(solver, k) for k in minibatch.Settings._fields}, epochs=result.epochs,
                   val_accuracy_per_epoch=result.history.val_accuracy)
    row["val_accuracy"] = result.history.val_accuracy[-1] if problem.val is not None else None
    row["test_accuracy"] = None if test is None else accuracy(result.params["W"], result.params["b"], *test,
                                                              shift=problem.shift, scale=problem.scale)
    row["seconds"] = result.seconds
    files.save(k, lam, result.params, row)
    return row, result.params, result.curvature


def _classifier(problem: Problem, best: dict, params: dict, classes, settings: dict, where: str) -> Classifier:
    """The classifier of the best λ, its standardizer and weights in float32, with the run's settings."""
    shift, scale = problem.shift, problem.scale
    pre = Preprocessor(None if shift is None else shift.astype(np.float32),
                       None if scale is None else scale.astype(np.float32))
    model = LinearModel(params["W"].astype(np.float32), params["b"].astype(np.float32))
    meta = {"settings": settings, "dataset": where,
            "optimality": {k: best[k] for k in ("objective", "grad_norm", "distance_bound")},
            "trainer": f"linclass {__version__} probe"}
    return Classifier(model, pre, [str(c) for c in classes], "softmax", None, None, meta)


def _client(dask):
    if dask is None:
        return None
    module = importlib.import_module(".dask_backend", __package__)
    return module.connect(dask)


def _pct(v):
    return "—" if v is None else f"{100 * v:.2f}%"


