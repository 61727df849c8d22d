"""Linear probe on synthetic embeddings: linclass against scikit-learn, torch.optim.LBFGS and Dask, in one run.

On 100,000 × 256 float32 embeddings with 20 classes (``linclass.probe.synthetic``,
an interior optimum), λ = 1e-4 (``C = 1/(2Nλ)``), measures:

- ``LogisticRegression(tol=1e-10)`` (lbfgs, float64) with 1 BLAS thread and with the default
  threads: time and objective; the faster time and the lower objective are the reference;
- ``linclass.probe.fit`` (NumPy, float32 + float64 finish) from the memory-mapped files:
  time, objective relative to scikit-learn's, ratio of times (target: ≤ 0.5);
- an 8-value path 1e-6 … 1e-2 with warm starts (target: ≤ 2× one scikit-learn fit);
- the torch CPU backend and a local Dask cluster (2 worker processes, 1 thread each):
  the same optimum to 1e-6;
- ``torch.optim.LBFGS`` (strong Wolfe, float32, full batch) on the same objective;
- peak RSS of a child process fitting a memory-mapped 1 GB ``X.npy`` (1,000,000 × 256;
  ``--rss-iter`` iterations: the peak is reached in the first pass), target < 600 MB.

    python benchmarks/bench_probe.py                 # everything (~10 min on 2 busy cores)
    python benchmarks/bench_probe.py --skip-rss --skip-dask
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from dask.distributed import Client, LocalCluster
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info, threadpool_limits

from linclass import Objective
from linclass.probe import fit, synthetic
from linclass.regularizers import L2

RSS_CHILD = """
import json, resource, sys, time
from linclass.probe import fit
t = time.perf_counter()
r = fit(sys.argv[1], reg_strength=1e-4, max_iter=int(sys.argv[2]))
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - t, "iterations": r.best["iterations"]}))
"""


def objective_at(X, y, lam, W, b):
    return Objective("softmax", L2(), lam)({"W": np.asarray(W, np.float64), "b": np.asarray(b, np.float64)},
                                           X, y).loss


def torch_lbfgs(X, y, lam, max_iter):
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    W = torch.zeros(X.shape[1], int(y.max()) + 1, requires_grad=True)
    b = torch.zeros(int(y.max()) + 1, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=max_iter, tolerance_grad=1e-10, tolerance_change=1e-12,
                            history_size=10, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(Xt @ W + b, yt) + lam * (W * W).sum()
        loss.backward()
        return loss

    t = time.perf_counter()
    opt.step(closure)
    state = opt.state[opt._params[0]]
    return time.perf_counter() - t, W.detach().numpy(), b.detach().numpy(), state.get("n_iter", 0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--rss-rows", type=int, default=1_000_000)
    p.add_argument("--rss-iter", type=int, default=3)
    p.add_argument("--skip-rss", action="store_true")
    p.add_argument("--skip-dask", action="store_true")
    p.add_argument("--skip-sklearn-threads", action="store_true",
                   help="time scikit-learn with 1 BLAS thread only (its default threads crawl on a busy machine)")
    args = p.parse_args()
    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; BLAS {blas}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    N, D, C, lam = args.n, 256, 20, 1e-4
    tmp = Path(tempfile.mkdtemp(prefix="bench_probe-"))
    synthetic.write(tmp / "train", N, D, C, seed=0)
    synthetic.write(tmp / "val", N // 10, D, C, seed=0, split=1)
    X, y = np.load(tmp / "train" / "X.npy"), np.load(tmp / "train" / "y.npy")
    X64 = X.astype(np.float64)
    rows = {}

    def record(name, seconds, objective, iterations, **extra):
        rows[name] = {"seconds": seconds, "objective": objective, "iterations": iterations, **extra}
        print(f"{name:34s} {seconds:8.2f} s  objective {objective:.10f}  iterations {iterations}", flush=True)

    for threads in (1, None) if not args.skip_sklearn_threads else (1,):  # 1: immune to a busy machine
        t = time.perf_counter()
        with threadpool_limits(limits=threads):
            sk = LogisticRegression(C=1 / (2 * N * lam), tol=1e-10, max_iter=1000).fit(X, y)
        record(f"scikit-learn, BLAS threads {threads or 'default'}", time.perf_counter() - t,
               objective_at(X64, y, lam, sk.coef_.T, sk.intercept_), int(sk.n_iter_[0]))
    sk_rows = [r for name, r in rows.items() if name.startswith("scikit-learn")]
    ref = min(r["objective"] for r in sk_rows)
    sk_time = min(r["seconds"] for r in sk_rows)  # the faster of the two: the conservative reference

    r = fit(tmp / "train", reg_strength=lam)
    W, b = r.classifier.model.W, r.classifier.model.b
    record("linclass probe (numpy)", r.seconds, objective_at(X64, y, lam, W, b), r.best["iterations"],
           precision=r.best["precision"])

    r = fit(tmp / "train", val=tmp / "val", reg_path="1e-6:1e-2:8")
    record("linclass 8-value path", r.seconds, r.best["objective"], sum(row["iterations"] for row in r.path),
           best_reg_strength=r.best["reg_strength"])

    r = fit(tmp / "train", reg_strength=lam, backend="torch")
    W, b = r.classifier.model.W, r.classifier.model.b
    record("linclass probe (torch CPU)", r.seconds, objective_at(X64, y, lam, W, b), r.best["iterations"])

    seconds, W, b, n_iter = torch_lbfgs(X, y, lam, 1000)
    record("torch.optim.LBFGS (strong Wolfe)", seconds, objective_at(X64, y, lam, W, b), n_iter)

    if not args.skip_dask:
        with Client(LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)) as client:
            r = fit(tmp / "train", reg_strength=lam, dask=client)
        W, b = r.classifier.model.W, r.classifier.model.b
        record("linclass probe (Dask, 2 workers)", r.seconds, objective_at(X64, y, lam, W, b), r.best["iterations"])
        print("dask-ml: not measured (dask-ml is not installed in the project's environment)")

    print()
    for name, row in rows.items():
        row["relative_to_sklearn"] = (row["objective"] - ref) / ref
        row["time_ratio"] = row["seconds"] / sk_time
        print(f"{name:34s} objective − sklearn's: {row['relative_to_sklearn']:+.2e} relative;  "
              f"time {row['time_ratio']:.2f}× scikit-learn's (the faster run)")

    if not args.skip_rss:
        big = synthetic.write(tmp / "big", args.rss_rows, D, C, seed=1)
        size = os.path.getsize(big / "X.npy") / 2 ** 30
        out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(big), str(args.rss_iter)], capture_output=True,
                             text=True, check=True)
        rss = json.loads(out.stdout.strip().splitlines()[-1])
        rows["rss"] = rss
        print(f"memory-mapped X.npy of {size:.2f} GiB ({args.rss_rows} × {D}): peak RSS {rss['peak_rss_mb']:.0f} MB "
              f"over {rss['iterations']} iterations ({rss['seconds']:.1f} s)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(json.dumps(rows, indent=1))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
