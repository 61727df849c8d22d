"""Hyperparameter search: learning rate × regularization (and any other estimator parameter).

The lecture's recipe: train one model per setting on the training split, score it
on the validation split (or by k-fold cross-validation on the training data),
keep the best. Settings come from a grid (:func:`grid`) or are drawn at random,
log-uniformly (:func:`log_uniform`: random search finds good values faster than
a grid when only some parameters matter, Bergstra & Bengio 2012).

Trials run in parallel with joblib: by default on loky's processes on this
machine (large arrays are memory-mapped to the workers, not copied), or with
``dask="local"`` / ``dask="tcp://HOST:8786"`` on joblib's Dask backend (a local
cluster started for the search, or the cluster at that scheduler: the same
``dask`` as :func:`linclass.probe.fit`'s). Each trial is independent and seeded
from ``(seed, trial index)`` and runs with ``threads_per_job`` BLAS threads, so
the results do not depend on ``n_jobs``, the backend or the order trials finish
in. Ctrl-C stops the search and keeps the trials that had finished.

>>> from sklearn.datasets import load_iris
>>> from sklearn.preprocessing import StandardScaler
>>> from linclass.estimators import SoftmaxClassifier
>>> X, y = load_iris(return_X_y=True)
>>> X = StandardScaler().fit_transform(X)
>>> sgd = SoftmaxClassifier(optimizer="sgd", max_iter=20)
>>> result = search(sgd, grid(learning_rate=[0.01, 0.1], alpha=[1e-4, 1e-2]), X, y, cv=3, seed=0)
>>> len(result.trials), result.best.params["learning_rate"] in (0.01, 0.1)
(4, True)
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
import warnings
from dataclasses import dataclass, field

import joblib
import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from . import _checks
from .datasets.splits import fold_indices
from .errors import DivergenceError, InputError, ParameterError, TrainingWarning

# --------------------------------------------------------------------------- settings

def grid(**values) -> list[dict]:
    """Every combination of the given values, the first parameter varying slowest.

    >>> grid(learning_rate=[1e-3, 1e-2], alpha=[0.1, 1.0])
    [{'learning_rate': 0.001, 'alpha': 0.1}, {'learning_rate': 0.001, 'alpha': 1.0}, \
{'learning_rate': 0.01, 'alpha': 0.1}, {'learning_rate': 0.01, 'alpha': 1.0}]
    """
    for name, vals in values.items():
        if isinstance(vals, (str, bytes)) or not hasattr(vals, "__len__") or len(vals) == 0:
            raise ParameterError(f"grid values of {name} must be a non-empty list, got {vals!r}.")
    names = list(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*values.values())]


def log_uniform(n: int, ranges: dict, seed=0, choices: dict | None = None) -> list[dict]:
    """``n`` settings drawn at random: ``log10 v ~ U(log10 low, log10 high)`` for each ``name: (low, high)``
    in ``ranges``, and a uniform pick for each ``name: [values]`` in ``choices``.

    >>> [sorted(s) for s in log_uniform(2, {"learning_rate": (1e-4, 1e-1)}, choices={"batch_size": [32, 64]})]
    [['batch_size', 'learning_rate'], ['batch_size', 'learning_rate']]
    """
    n = _checks.integer(n, "the number of random settings")
    rng = np.random.default_rng(seed)
    columns = {}
    for name, bounds in ranges.items():
        low, high = _checks.log_range(bounds, f"the range of {name}")
        columns[name] = 10 ** rng.uniform(math.log10(low), math.log10(high), n)
    for name, vals in (choices or {}).items():
        if not vals:
            raise ParameterError(f"the choices for {name} are empty; give at least one value.")
        columns[name] = [vals[i] for i in rng.integers(0, len(vals), n)]
    return [{name: _plain(col[i]) for name, col in columns.items()} for i in range(n)]


def _plain(v):
    """numpy scalars as Python numbers (for JSON and for ``set_params``)."""
    return v.item() if isinstance(v, np.generic) else v


def trial_seed(seed: int, index: int) -> int:
    """The ``random_state`` of trial ``index``: independent of ``n_jobs``, the backend and the order."""
    return _checks.derived_seed(seed, index)


# --------------------------------------------------------------------------- results

@dataclass
class TrialResult:
    """One setting's outcome; ``score`` is the mean validation accuracy (NaN if it diverged)."""

    index: int
    params: dict
    seed: int
    status: str                       # "ok", "failed" (a TrainingWarning) or "diverged"
    score: float
    fold_scores: list
    train_score: float
    n_iter: int
    converged: bool
    seconds: float
    message: str = ""
    cpu_seconds: float = 0.0
    """CPU time of the trial's process while it ran (below ``seconds`` when it waited for a core)."""
    estimator: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"index": self.index, "params": self.params, "seed": self.seed, "status": self.status,
                "val_accuracy": _finite(self.score), "fold_accuracies": [_finite(s) for s in self.fold_scores],
                "train_accuracy": _finite(self.train_score), "n_iter": self.n_iter,
                "converged": self.converged, "seconds": round(self.seconds, 4),
                "cpu_seconds": round(self.cpu_seconds, 4), "message": self.message}


@dataclass
class SearchResult:
    """Finished trials (in index order), how many settings were asked for, and the best model."""

    trials: list
    n_settings: int
    interrupted: bool = False
    seconds: float = 0.0
    best_estimator: object = None

    @property
    def best(self) -> TrialResult | None:
        """The finished trial with the highest validation accuracy (the lowest index on a tie)."""
        ok = [t for t in self.trials if t.status == "ok"]
        return max(ok, key=lambda t: (t.score, -t.index)) if ok else None

    def to_dict(self) -> dict:
        best = self.best
        return {"n_settings": self.n_settings, "finished": len(self.trials), "interrupted": self.interrupted,
                "seconds": round(self.seconds, 3), "best": best.to_dict() if best else None,
                "trials": [t.to_dict() for t in self.trials]}

    def table(self) -> str:
        """The trials as a text table; the best one marked ``*``."""
        names = list(dict.fromkeys(k for t in self.trials for k in t.params))
        head = ["trial", *names, "val acc", "train acc", "epochs", "seconds", "status"]
        best = self.best
        rows = []
        for t in self.trials:
            acc = "—" if t.status != "ok" else (f"{t.score:.4f}" if len(t.fold_scores) == 1 else
                                                 f"{t.score:.4f} ± {np.std(t.fold_scores):.4f}")
            rows.append([f"{'*' if t is best else ' '}{t.index}", *(_fmt(t.params.get(n)) for n in names), acc,
                         "—" if t.status != "ok" else f"{t.train_score:.4f}", str(t.n_iter), f"{t.seconds:.1f}",
                         t.status + ("" if t.converged or t.status != "ok" else " (not converged)")])
        widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
        lines = ["  ".join(str(c).rjust(w) for c, w in zip(r, widths)) for r in [head, *rows]]
        return "\n".join(lines)

    def heatmap(self, y: str = "learning_rate", x: str = "alpha", max_bins: int = 6):
        """``(y_values (n_y,), x_values (n_x,), accuracy (n_y, n_x))`` for :func:`linclass.report.plots.search_heatmap`.

        On a grid the axes are the distinct values; otherwise (random search) each
        axis is cut into at most ``max_bins`` (and about √trials) bins of equal width in log scale,
        labelled by their geometric centre. A cell holds the best validation
        accuracy of the trials in it (the best over the other parameters); NaN
        where no trial finished without diverging.
        """
        done = [t for t in self.trials if y in t.params and x in t.params]
        if not done:
            raise InputError(f"no finished trial has both {y} and {x}; a heat map needs both searched.")
        ys = np.array([float(t.params[y]) for t in done])
        xs = np.array([float(t.params[x]) for t in done])
        uy, ux = np.unique(ys), np.unique(xs)
        if uy.size * ux.size <= 4 * len(done):                       # a grid (or close to one)
            iy, ix = np.searchsorted(uy, ys), np.searchsorted(ux, xs)
        else:
            bins = min(max_bins, max(2, math.ceil(math.sqrt(len(done)))))
            uy, iy = _log_bins(ys, bins)
            ux, ix = _log_bins(xs, bins)
        acc = np.full((uy.size, ux.size), np.nan)
        for t, i, j in zip(done, iy, ix):
            if t.status == "ok" and not acc[i, j] >= t.score:
                acc[i, j] = t.score
        return uy, ux, acc


def _log_bins(values, max_bins: int):
    """Bin centres (geometric) and the bin of each value, ``max_bins`` equal bins in log10."""
    logs = np.log10(values)
    lo, hi = logs.min(), logs.max()
    n = max(1, min(max_bins, np.unique(values).size))
    edges = np.linspace(lo, hi, n + 1) if hi > lo else np.array([lo - 0.5, lo + 0.5])
    idx = np.clip(np.searchsorted(edges, logs, side="right") - 1, 0, edges.size - 2)
    return 10 ** ((edges[:-1] + edges[1:]) / 2), idx


def _finite(v):
    return None if v is None or not math.isfinite(v) else float(v)


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


# --------------------------------------------------------------------------- one trial

def run_trial(estimator, params: dict, index: int, seed: int, X, y, X_val=None, y_val=None, folds=None,
              threads: int | None = 1, keep_estimator: bool = True) -> TrialResult:
    """Fit a clone of ``estimator`` with ``params`` and score it on the validation data or every fold.

    ``folds`` is a list of ``(train_idx, val_idx)`` into ``(X, y)``; without it the
    model trains on ``(X, y)`` and is scored on ``(X_val, y_val)``. A trial that
    diverges is recorded (status ``"diverged"``, score NaN), not raised; one that ends at or
    below chance or above its initial loss (a :class:`~linclass.errors.TrainingWarning`) is
    ``"failed"``, with the reason as its message, and never the best.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    est = _seeded(clone(estimator).set_params(**params), trial_seed(seed, index))
    parts = [(X, y, X_val, y_val)] if folds is None else \
        [(X[tr], y[tr], X[va], y[va]) for tr, va in folds]
    scores, train_scores, n_iter, converged = [], [], 0, True
    limits = threadpool_limits(limits=threads) if threads else contextlib.nullcontext()
    try:
        with limits, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", TrainingWarning)
            for X_tr, y_tr, X_va, y_va in parts:
                est.fit(X_tr, y_tr)
                scores.append(float(est.score(X_va, y_va)))
                train_scores.append(float(est.score(X_tr, y_tr)))
                n_iter = max(n_iter, int(np.max(getattr(est, "n_iter_", 0))))
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        failures = [str(w.message) for w in caught if issubclass(w.category, TrainingWarning)]
    except DivergenceError as err:
        return TrialResult(index, params, trial_seed(seed, index), "diverged", math.nan, [], math.nan, 0,
                           False, time.perf_counter() - start, str(err).split(". ")[0],
                           time.process_time() - cpu_start)
    keep = keep_estimator and folds is None and hasattr(est, "coef_") and not failures
    return TrialResult(index, params, trial_seed(seed, index), "failed" if failures else "ok",
                       float(np.mean(scores)), scores, float(np.mean(train_scores)), n_iter, converged,
                       time.perf_counter() - start, failures[0] if failures else "",
                       cpu_seconds=time.process_time() - cpu_start, estimator=est if keep else None)


def _seeded(estimator, seed: int):
    """``estimator`` with every ``random_state`` (also of the steps of a pipeline) set to ``seed``."""
    names = [k for k in estimator.get_params() if k == "random_state" or k.endswith("__random_state")]
    return estimator.set_params(**dict.fromkeys(names, seed))


# --------------------------------------------------------------------------- the search



@contextlib.contextmanager
def _backend(dask, n_jobs: int):
    """The joblib backend to run under (loky without ``dask``); yields the ``n_jobs`` to give ``Parallel``."""
    if dask is None:
        yield n_jobs
        return
    try:
        from dask.distributed import Client, LocalCluster  # optional: pip install 'linclass[cluster]'
    except ImportError:
        raise ParameterError("--dask needs dask.distributed: pip install 'linclass[cluster]' "
                             "(or 'dask[distributed]'), or leave --dask out.") from None

    with contextlib.ExitStack() as stack:
        if dask != "local":
            try:
                client = stack.enter_context(Client(dask, timeout=30))
            except OSError as err:
                raise ParameterError(f"cannot reach the Dask scheduler at {dask} ({err}); check the "
                                     "address (tcp://HOST:8786), or --dask local for a cluster here.") from None
        else:
            cluster = stack.enter_context(LocalCluster(n_workers=max(1, n_jobs), threads_per_worker=1,
                                                       processes=True, dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        stack.enter_context(joblib.parallel_config(backend="dask"))
        yield max(1, sum(client.nthreads().values()))


def search(estimator, settings: list[dict], X, y, *, X_val=None, y_val=None, cv: int | None = None,
           n_jobs: int = 1, dask: str | None = None, seed: int = 0,
           threads_per_job: int | None = 1, refit: bool = True, on_result=None) -> SearchResult:
    """Train and score ``estimator`` once per setting; the best by validation accuracy.

    ``settings``: dicts of estimator parameters (:func:`grid`, :func:`log_uniform`).
    Scoring: on ``(X_val, y_val)``, or with ``cv=K`` by stratified K-fold
    cross-validation on ``(X, y)`` (folds seeded by ``seed``, the same for every
    trial). ``n_jobs`` trials run at once: on loky's processes, or with ``dask`` on a Dask cluster
    (``"local"``: one of ``n_jobs`` workers started here; or a scheduler address, ``tcp://HOST:8786``).
    ``on_result(trial)`` is called in the parent as each trial finishes.
    ``best_estimator``: the best trial's fitted model (validation split) or, with
    ``cv`` and ``refit``, the best setting refitted on all of ``(X, y)``.
    """
    if not settings:
        raise ParameterError("no settings to search; give at least one learning rate and one strength.")
    if dask is not None:
        _checks.dask_address(dask, "dask")
    _checks.integer(n_jobs, "n_jobs")
    _check_settings(estimator, settings)
    X, y = np.asarray(X), np.asarray(y)
    folds = None
    if cv is not None:
        folds = fold_indices(y, cv, seed)
    elif X_val is None or y_val is None or len(y_val) == 0:
        raise InputError("no validation data: pass X_val and y_val (a validation split), or cv=K for "
                         "K-fold cross-validation on the training data.")
    start = time.perf_counter()
    trials, interrupted = [], False
    tasks = (delayed(run_trial)(estimator, params, i, seed, X, y, X_val, y_val, folds, threads_per_job)
             for i, params in enumerate(settings))
    try:
        with _backend(dask, n_jobs) as jobs:
            for trial in Parallel(n_jobs=jobs, return_as="generator_unordered")(tasks):
                trials.append(trial)
                if on_result is not None:
                    on_result(trial)
    except KeyboardInterrupt:
        interrupted = True
    trials.sort(key=lambda t: t.index)
    result = SearchResult(trials, len(settings), interrupted, time.perf_counter() - start)
    best = result.best
    if best is not None:
        if best.estimator is not None:
            result.best_estimator = best.estimator
        elif refit and not interrupted:
            est = _seeded(clone(estimator).set_params(**best.params), best.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result.best_estimator = est.fit(X, y)
    result.seconds = time.perf_counter() - start
    return result


def _check_settings(estimator, settings) -> None:
    """Fail before any work on a parameter name the estimator lacks or a value it rejects."""
    known = estimator.get_params()
    for s in settings:
        unknown = sorted(set(s) - set(known))
        if unknown:
            raise ParameterError(f"{type(estimator).__name__} has no parameter {', '.join(unknown)}; its "
                                 f"parameters are {', '.join(sorted(known))}.")
        check = getattr(clone(estimator).set_params(**s), "_spec", None)
        if check is not None:
            check()
