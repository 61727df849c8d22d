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
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import _checks, defaults
from .._version import __version__
from ..classifier import Classifier
from ..errors import ParameterError
from ..fitting import LBFGS, Backend, Minibatch, Problem, class_weights, solve
from ..metrics import tally_rows
from ..model import LinearModel
from ..objective import Objective
from ..preprocess import Preprocessor
from ..regularizers import L2
from ..rows.files import Split, open_split
from ..rows.labeled import Labeled
from ..rows.source import Subset
from . import minibatch, search
from .resume import Progress, input_digest, run_record
from .search import MAX_PATH, parse_reg_path

__all__ = ["BACKENDS", "MAX_PATH", "SELECT_BY", "ProbeResult", "fit", "parse_reg_path"]

BACKENDS = ("numpy", "torch")
SELECT_BY = ("accuracy", "balanced_accuracy")
"""The validation metrics that can choose λ (``--select-by``)."""
METRICS = ("accuracy", "top5_accuracy", "balanced_accuracy")
"""What a probe reports on each scored split, as ``val_<metric>`` and ``test_<metric>`` (:mod:`linclass.metrics`)."""


def as_split(data, y=None, what: str = "train") -> Split:
    """A :class:`Split` from a path, an ``(X, y)`` pair, or ``X`` with ``y``."""
    if isinstance(data, Split):
        return data
    if isinstance(data, tuple) and y is None:
        data, y = data
    if y is None:
        return open_split(data)
    y = np.asarray(y)
    n, _ = _checks.row_matrix(data, f"{what}: X", ParameterError)
    if y.shape != (n,):
        raise ParameterError(f"{what}: y must hold one label per row of X ({n}), got shape {y.shape}.")
    if np.dtype(data.dtype).kind != "f":
        data = np.asarray(data, np.float32)
    return Split(data, y, what)


@dataclass
class ProbeResult:
    """What :func:`fit` found: the classifier of the chosen λ, its figures (``best``), every λ fitted (``path``,
    in the order fitted), the whole run's ``seconds``, the metric that chose λ and how λ was chosen."""

    classifier: Classifier
    best: dict
    path: list = field(default_factory=list)
    seconds: float = 0.0
    selected_by: str = "accuracy"
    selection: str = "single"
    """``single`` (one λ), ``path`` (``reg_path``) or ``search`` (``reg_search``)."""

    def summary(self) -> dict:
        """The ``--json`` fields (each described in docs/probe.md): the chosen λ's figures at the top level (as in
        ``best``), the whole run's ``seconds``, ``iterations`` and ``evaluations``, and ``path``."""
        best = self.best
        chosen = ("reg_strength", "C", "objective", "grad_norm", "distance_bound", "converged", "train_accuracy",
                  *(f"{split}_{m}" for split in ("val", "test") for m in METRICS))
        return {**{k: best.get(k) for k in chosen}, "seconds": self.seconds,
                "iterations": sum(r["iterations"] or 0 for r in self.path),
                "evaluations": sum(r.get("evaluations") or 0 for r in self.path),
                "lambdas": len(self.path), "selection": self.selection, "selected_by": self.selected_by,
                "path": self.path, "best": best}


def fit(train, y=None, *, val=None, test=None, reg_strength: float | None = None, reg_path=None, reg_search=None,
        select_by: str = "accuracy", shots: int | None = None, class_weight: str | None = None,
        standardize: bool = False, backend: str = "numpy", device=None, dask=None,
        dtype="float32", tol: float | None = None, max_iter: int | None = None, chunk_rows=None, threads=None,
        progress=None, optimizer="lbfgs", lr=None, schedule=None, batch_size=None, epochs=None, seed=0,
        checkpoint=None, resume: bool = False, full_digest: bool = False) -> ProbeResult:
    """Fit the L2 softmax probe on ``train`` and score it on ``val`` / ``test``.

    ``train``, ``val``, ``test``: a directory or ``.npz`` (see :mod:`linclass.rows.files`),
    an ``(X, y)`` pair, or (train only) ``X`` with ``y``; X may be a memory map.
    ``reg_strength``: λ (default: the probe's, :mod:`linclass.defaults`). ``reg_path``: a list of λ
    (or ``"LO:HI:K"``), fitted strong to weak with warm starts; ``reg_search``: ``"LO:HI"`` (or
    ``"LO:HI:RES"``, or a tuple), CLIP's search: a coarse grid, then refinement around the best λ to
    RES decades (default 0.1; :mod:`linclass.probe.search`). A path or search keeps the λ with the best
    validation ``select_by`` (``accuracy`` or ``balanced_accuracy``; needs ``val``) and warns when it is
    at an end of the range. Every λ's row in ``path`` holds, for ``val`` and ``test``, the top-1, top-5
    (5 classes or more) and balanced accuracy (:mod:`linclass.metrics`). ``shots``: train on that many rows
    of each class, drawn with ``seed`` (read from the files, not copied). ``class_weight="balanced"``:
    weigh each row's loss by ``N / (C · n_class)``, scikit-learn's ``class_weight="balanced"``. ``standardize``:
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
    selection, schedule_of, lams, bounds = _schedule(reg_strength, reg_path, reg_search)
    select_by = _checks.choice(select_by, "--select-by", SELECT_BY)
    dtype = _checks.precision(dtype).name
    mini = minibatch.settings(optimizer, lr=lr, schedule=schedule, batch_size=batch_size, epochs=epochs, seed=seed,
                              lams=lams, backend=backend, dask=dask)
    class_weight = _checks.choice(class_weight, "--class-weight", ("balanced",)) if class_weight else None
    problem, classes, test, splits = _problem(train, y, val, test, lams, standardize, selection,
                                              shots=shots, seed=seed, class_weight=class_weight)
    client = _client(dask)
    place = Backend("dask", client=client, chunk_rows=chunk_rows) if client is not None else \
        Backend(backend, device=device, chunk_rows=chunk_rows, threads=threads)
    lbfgs = LBFGS.of("probe", tol=tol, max_iter=max_iter, backend=place, dtype=dtype)
    solver = lbfgs if mini is None else minibatch.spec(mini, dtype)
    choice = {"reg_search": list(bounds)} if selection == "search" else {"reg_path": lams}
    settings = {**choice, "select_by": select_by, "shots": shots, "seed": seed, "class_weight": class_weight,
                "standardize": standardize, "dtype": dtype, "tol": lbfgs.tol,
                "max_iter": lbfgs.max_iter, "optimizer": optimizer, **({} if mini is None else mini._asdict())}
    inputs = None if checkpoint is None else {name: input_digest(s.X, s.y, full_digest) for name, s in splits.items()}
    files = Progress(checkpoint, run_record(problem.X, problem.y, classes, settings, inputs), resume)
    scored = {name: rows for name, rows in (("val", problem.val), ("test", test)) if rows is not None}
    try:
        scores, path, best = _fit_all(problem, solver, schedule_of, selection == "search", scored, files,
                                      f"val_{select_by}", progress)
    finally:
        if client is not None and client is not dask:  # a cluster this run connected to or started
            importlib.import_module(".dask_backend", __package__).close(client)
    _warn_edge(scores, bounds, selection)
    settings.update(reg_strength=best[0]["reg_strength"], backend="dask" if client is not None else backend)
    clf = _classifier(problem, best[0], best[1], classes, settings, splits["train"].where)
    return ProbeResult(clf, dict(best[0]), path, time.perf_counter() - started, select_by, selection)


def _fit_all(problem, solver, schedule_of, searching: bool, scored, files, key: str, progress):
    """Every λ the schedule asks for, each warm-started (a path: from the previous λ; a search: from the nearest
    λ fitted), scored on ``scored`` by ``key``: ``(scores {λ: metric}, path rows, (best row, its params))``."""
    fitted, scores, path, best = {}, {}, [], None  # fitted: λ → (params, curvature), the warm starts
    while batch := schedule_of(scores):
        for lam in batch:
            k = len(path)
            start = fitted.get(search.nearest(lam, fitted) if searching else path[-1]["reg_strength"]) \
                if path else (problem.zeros(), None)
            done = files.finished(k, lam)  # (resume) a λ this run already fitted is read back
            if done is not None:
                row, params, curvature = done[1], done[0], None
            else:
                row, params, curvature = _fit_lambda(problem.at(lam), solver, *start, scored, files, k, progress)
            fitted = {**fitted, lam: (params, curvature)} if searching else {lam: (params, curvature)}
            scores[lam] = row[key] if row[key] is not None else -math.inf
            path.append(row)
            if best is None or scores[lam] > scores[best[0]["reg_strength"]]:
                best = row, params
            if progress is not None:
                progress(f"λ {lam:.3g}: objective {row['objective']:.8f}, {row['iterations']} iterations, "
                         f"val {_pct(row['val_accuracy'])}, {row['seconds']:.1f} s" + (" (read back)" if done else ""))
    return scores, path, best


def _schedule(reg_strength, reg_path, reg_search):
    """``(selection, next_lambdas, first λ list, (LO, HI[, RES]))`` of the run (:mod:`linclass.probe.search`)."""
    if reg_path is not None and reg_search is not None:
        raise ParameterError("give either a λ path (--reg-path) or a λ search (--reg-search), not both.")
    if reg_search is not None:
        lo, hi, resolution = search.parse_reg_search(reg_search) if isinstance(reg_search, str) else \
            search.parse_reg_search(":".join(str(v) for v in reg_search))
        lams = search.coarse_grid(lo, hi)
        return "search", search.search(lo, hi, resolution), lams, (lo, hi, resolution)
    if reg_strength is None:
        reg_strength = defaults.value("probe", "reg_strength")
    lams = parse_reg_path(reg_path) if isinstance(reg_path, str) else list(reg_path or [reg_strength])
    lams = [_checks.reg_strength(lam, "the regularization strength λ") for lam in lams]
    selection = "path" if reg_path is not None and len(lams) > 1 else "single"
    return selection, search.fixed(lams), lams, (min(lams), max(lams))


def _warn_edge(scores: dict, bounds, selection: str) -> None:
    """A warning when the chosen λ is an end of the range tried: the best may lie beyond it."""
    edge = search.at_edge(scores, bounds[0], bounds[1]) if selection != "single" else None
    if edge is not None:
        flag = "--reg-search" if selection == "search" else "--reg-path"
        beyond = "stronger (a larger HI)" if edge == "strongest" else "weaker (a smaller LO)"
        warnings.warn(f"the chosen λ {search.best_lambda(scores):g} is the {edge} of the range {bounds[0]:g}…"
                      f"{bounds[1]:g}: the best λ may lie beyond it; widen {flag} to {beyond}.", UserWarning,
                      stacklevel=3)


def _problem(train, y, val, test, lams, standardize, selection, *, shots=None, seed=0,
             class_weight=None) -> tuple[Problem, np.ndarray, tuple | None, dict]:
    """The probe's :class:`Problem` at the first λ, the training classes, the test rows ``(X, y)``, and the
    splits given (``{"train": Split, …}``; the training rows are the few-shot subset with ``shots``)."""
    train = as_split(train, y, "train")
    if shots is not None:
        train = _few_shot(train, shots, seed)
    val = as_split(val, what="val") if val is not None else None
    test = as_split(test, what="test") if test is not None else None
    if selection != "single" and val is None:
        raise ParameterError("a regularization path or search picks λ on a validation split; pass val (--val DIR).")
    labeled = Labeled.of(train.X, train.y, train.where)
    classes, y_train = np.array(labeled.class_names), labeled.y
    others = {name: (s.X, Labeled.of(s.X, s.y, s.where, labeled.class_names).y)
              for name, s in (("val", val), ("test", test)) if s is not None}
    for name, s in (("val", val), ("test", test)):
        if s is not None and s.X.shape[1] != train.X.shape[1]:
            raise ParameterError(f"{s.where} has {s.X.shape[1]} features but training has {train.X.shape[1]}; "
                                 f"pass {name} embeddings from the same model.")
    shift = scale = None
    if standardize:
        pre = Preprocessor.fit(train.X, "standardize")  # the one standardizer, streamed over the files
        shift, scale = pre.mean.astype(np.float64), pre.std.astype(np.float64)
    weights = class_weights(y_train, classes.size) if class_weight == "balanced" else None
    problem = Problem.of(Objective("softmax", L2(), lams[0]), labeled, val=others.get("val"), shift=shift,
                         scale=scale, sample_weight=weights)
    splits = {name: s for name, s in (("train", train), ("val", val), ("test", test)) if s is not None}
    return problem, classes, others.get("test"), splits


def per_class(y, k: int, seed=0) -> tuple[np.ndarray, list]:
    """The indices (increasing) of ``k`` rows of each class of ``y``, drawn without replacement from ``seed``
    (CLIP_benchmark's ``fewshot_k``), and the classes that have fewer than ``k`` rows (all of theirs are taken)."""
    k = _checks.integer(k, "shots per class", minimum=1)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    rng = np.random.default_rng(seed)
    groups = np.split(np.argsort(inverse.ravel(), kind="stable"), np.cumsum(counts)[:-1])
    picked = [rng.choice(rows, min(k, len(rows)), replace=False) for rows in groups]
    return np.sort(np.concatenate(picked)), [c for c, n in zip(classes.tolist(), counts) if n < k]


def _few_shot(train: Split, shots: int, seed) -> Split:
    """``shots`` rows of each class of ``train``, drawn with ``seed``: a :class:`Subset` view of its rows."""
    index, short = per_class(train.y, shots, seed)
    if short:
        warnings.warn(f"{len(short)} class(es) have fewer than {shots} training rows (e.g. {short[:3]}); all of "
                      "their rows are used.", UserWarning, stacklevel=4)
    return Split(Subset(train.X, index), train.y[index], f"{train.where} ({shots} per class, seed {seed})")


def _fit_lambda(problem: Problem, solver, params, curvature, scored, files, k, progress) -> tuple[dict, dict, object]:
    """One λ: ``solve`` warm-started from ``params`` (with L-BFGS's pairs), scored on ``scored`` (``{"val": (X,
    y), "test": …}``), its row of the path saved."""
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
    for name in ("val", "test"):
        figures = tally_rows(result.params["W"], result.params["b"], *scored[name], problem.n_classes,
                             shift=problem.shift, scale=problem.scale).headline() if name in scored else {}
        row.update({f"{name}_{m}": figures.get(m) for m in METRICS})
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


