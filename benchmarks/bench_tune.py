"""Wall time of a 16-setting learning-rate × regularization search on CIFAR-10 with 1 and 2 jobs.

Loads the JPEG copy once in the parent (``linclass.datasets.load_dataset``), takes a
stratified training subset, flattens and standardizes the pixels, then runs the
same :func:`linclass.tune.search` (4 learning rates × 4 strengths, scored on the
validation split) with ``n_jobs`` = 1 and 2 (joblib's loky backend; large arrays
are memory-mapped to the workers) and, with ``--dask``, on a local Dask cluster of
2 single-threaded workers. Every trial runs with 1 BLAS thread (threadpoolctl), so
2 jobs use 2 cores and 1 job uses 1. The pool's workers are started by a small
warm-up search before timing. Checks that every run gives identical trials.

    python benchmarks/bench_tune.py                      # 10,000 images, 5 epochs, softmax
    python benchmarks/bench_tune.py --loss svm --dask
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from linclass.datasets import load_dataset
from linclass.estimators import LinearSVM, SoftmaxClassifier
from linclass.preprocess import Preprocessor, flatten
from linclass.tune import grid, search

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10-jpg.tar.gz"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--subset", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--loss", choices=["softmax", "svm"], default="softmax")
    p.add_argument("--dask", action="store_true", help="also run on a local Dask cluster (2 workers)")
    args = p.parse_args()

    t = time.perf_counter()
    ds = load_dataset(None, args.data, subset=args.subset, val_size=1000, seed=0)
    F = flatten(ds.X_train)
    pre = Preprocessor.fit(F, "standardize")
    X, X_val = pre.transform(F), pre.transform(ds.X_val)
    print(f"data: {X.shape[0]} train / {X_val.shape[0]} val images, {X.shape[1]} features, "
          f"loaded in {time.perf_counter() - t:.1f} s")
    settings = grid(learning_rate=[1e-4, 3e-4, 1e-3, 3e-3], alpha=[1e-3, 1e-2, 1e-1, 1.0])
    common = dict(optimizer="sgd", max_iter=args.epochs, batch_size=256, dtype="float32")  # "auto" is L-BFGS
    est = SoftmaxClassifier(**common) if args.loss == "softmax" else LinearSVM(**common)
    kw = dict(X_val=X_val, y_val=ds.y_val, seed=0, threads_per_job=1)
    search(est.set_params(max_iter=1), settings[:2], X[:512], ds.y_train[:512], n_jobs=2, **kw)  # start workers
    est.set_params(max_iter=args.epochs)

    runs = [("loky", 1), ("loky", 2)] + ([("dask", 2)] if args.dask else [])
    results = {}
    for backend, jobs in runs:
        load = os.getloadavg()[0]
        t = time.perf_counter()
        r = search(est, settings, X, ds.y_train, n_jobs=jobs, dask="local" if backend == "dask" else None, **kw)
        results[(backend, jobs)] = (time.perf_counter() - t, r, load)
    base = results[("loky", 1)][0]
    reference = [_timeless(t) for t in results[("loky", 1)][1].trials]
    print("| backend | jobs | wall time | speed-up vs 1 job | sum of trial times (wall / CPU) | best (lr, λ) "
          "| best val acc "
          "| identical trials | load before |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (backend, jobs), (sec, r, load) in results.items():
        same = [_timeless(t) for t in r.trials] == reference
        b = r.best
        busy = f"{sum(t.seconds for t in r.trials):.1f} s / {sum(t.cpu_seconds for t in r.trials):.1f} s"
        print(f"| {backend} | {jobs} | {sec:.1f} s | {base / sec:.2f}× | {busy} | ({b.params['learning_rate']:g}, "
              f"{b.params['alpha']:g}) | {b.score:.3f} | {same} | {load:.1f} |")
    print()
    print(results[("loky", 1)][1].table())
    assert all([_timeless(t) for t in r.trials] == reference for _, r, _ in results.values())


def _timeless(trial) -> dict:
    return {**trial.to_dict(), "seconds": None, "cpu_seconds": None}


if __name__ == "__main__":
    main()
