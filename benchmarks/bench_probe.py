"""Linear probe on synthetic embeddings: linclass against scikit-learn, torch.optim.LBFGS and Dask, in one run.

On 100,000 × 256 float32 embeddings with 20 classes (``linclass.probe.synthetic``,
an interior optimum), λ = 1e-4 (``C = 1/(2Nλ)``), measures:

- ``LogisticRegression(tol=1e-10)`` (lbfgs) on the float32 X as given (scikit-learn then computes in
  float32) and on a float64 copy, with 1 BLAS thread and with the default threads: the fastest time and
  the lowest objective (the float64 fit's) are the reference;
- ``linclass.probe.fit`` (NumPy, float32 + float64 finish) from the memory-mapped files:
  time, objective relative to scikit-learn's, ratio of times (target: ≤ 0.5);
- an 8-value path 1e-6 … 1e-2 with warm starts (target: ≤ 2× one scikit-learn fit);
- the torch CPU backend and a local Dask cluster (2 worker processes, 1 thread each):
  the same optimum to 1e-6;
- ``torch.optim.LBFGS`` (strong Wolfe, float32, full batch) on the same objective;
- on the same cluster, ``--dask`` against dask-ml's ``LogisticRegression`` (the Dask anchor,
  ``pip install 'linclass[bench]'``; skipped when absent) on the binary version of the problem
  (see :func:`dask_part`: dask-ml is binary only), both on one Dask array, at one objective;
- what ``--dask`` adds to each evaluation over the NumPy engine on the same 2 cores, on a LocalCluster and on
  a real ``dask scheduler`` with ``dask worker`` processes over tcp on loopback (target ≤ 50 ms), and
  ``linclass probe``'s start-up: its wall time minus its fit's ``seconds`` (target ≤ 0.5 s), both with
  ``--overhead-only`` (:func:`dask_overhead`, :func:`startup`);
- ``--reg-search`` against a 33-point ``--reg-path`` over the same range (``--search-only``, :func:`search_vs_grid`):
  the chosen λ's validation accuracy and the cost in passes and seconds;
- each solver at several of its tolerances (``--tol-only``, :func:`tolerance_sweep`): the fastest setting of each
  that lands within 1e-6 of the float64 optimum, so that neither is timed at a precision the other does not reach;
- peak RSS of a child process fitting a memory-mapped 1 GB ``X.npy`` (1,000,000 × 256;
  ``--rss-iter`` iterations: the peak is reached in the first pass), target < 600 MB.

``--stream-only`` measures only the minibatch probe's streamed source (:func:`stream_bench`): on a
memory-mapped ``X.npy`` of ``--stream-rows`` × 256 float32 (586 MiB), Adam epochs in a fresh child process
per run, the file's pages dropped from the page cache before each (``posix_fadvise``), the streamed blocks
against the peer, a per-step gather ``X[idx]``, both from the same ``np.load(mmap_mode="r")``: seconds per
epoch and peak RSS; then the objective after k epochs against L-BFGS's optimum.

    python benchmarks/bench_probe.py                 # everything (~10 min on 2 busy cores)
    python benchmarks/bench_probe.py --skip-rss --skip-dask
    python benchmarks/bench_probe.py --stream-only   # the streamed minibatch source (~5 min)
    python benchmarks/bench_probe.py --dask-only     # the Dask part alone (dask-ml's admm: ~7 s an iteration)
    python benchmarks/bench_probe.py --overhead-only # Dask's overhead per evaluation (LocalCluster, tcp), start-up
    python benchmarks/bench_probe.py --search-only   # --reg-search against a 33-point --reg-path
    python benchmarks/bench_probe.py --engine-only   # scikit-learn (both thread settings) and the NumPy engine,
                                                     # with one evaluation's stages against its two products
    python benchmarks/bench_probe.py --tol-only      # each solver at its own tolerances, compared within 1e-6
    python benchmarks/bench_probe.py --pad-only      # the products with C padded to a multiple of 4 or not
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
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import torch
from dask.distributed import Client, LocalCluster
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info, threadpool_limits

from linclass import Objective
from linclass.optim.chunked import SoftmaxL2, chunk_rows_for, padded_classes
from linclass.probe import fit, open_split, synthetic
from linclass.probe.dask_backend import BLOCK_BYTES, DaskSoftmaxL2
from linclass.regularizers import L2

try:  # the Dask anchor, optional: pip install 'linclass[bench]'
    from dask_glm.regularizers import Regularizer
    from dask_ml.linear_model import LogisticRegression as DaskLogisticRegression
except ImportError:
    Regularizer = DaskLogisticRegression = None

RSS_CHILD = """
import json, sys, time
from linclass.probe import fit
t = time.perf_counter()
r = fit(sys.argv[1], reg_strength=1e-4, max_iter=int(sys.argv[2]))
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024,
                  "seconds": time.perf_counter() - t, "iterations": r.best["iterations"]}))
"""
# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec from the forking parent (here the
# benchmark itself, with its in-memory copies), so the child would report the parent's peak.


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


def evaluation_stages(X, y, C: int, lam: float, repeats: int = 5) -> dict:
    """Milliseconds of one evaluation of the NumPy engine (loss and gradient, all threads) against its parts:
    reading X once, and its two products alone (``Vᵀ Xᵀ`` and ``Gᵀ X`` over all of X with the BLAS's threads)."""
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((X.shape[1], C)) * 0.01, np.zeros(C)
    V, Gt = W.astype(np.float32), rng.standard_normal((C, X.shape[0])).astype(np.float32)
    engine = SoftmaxL2(X, y, C, lam)
    parts = {"read X once (X.sum(axis=0))": lambda: X.sum(axis=0),
             "the two products alone (Vᵀ Xᵀ, Gᵀ X)": lambda: (V.T @ X.T, Gt @ X),
             f"one evaluation ({engine.threads} threads, {engine.chunk_rows} rows a chunk)":
                 lambda: engine.data_terms(W, b)}
    best = {}
    for _ in range(repeats):  # in turns: all see the same load
        for name, fn in parts.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best.get(name, np.inf), (time.perf_counter() - t) * 1e3)
    return best


def binary_objective(X, y, lam, w, b) -> float:
    """Mean logistic loss + (λ/2)·‖w‖² in float64, ``y`` in {0, 1}, intercept not penalized.

    This is our objective (mean softmax loss + λ·ΣW²) for 2 classes: the loss depends on
    ``w = W₁ − W₀`` only and ``‖W‖² ≥ ‖w‖²/2`` with equality at ``W = [−w/2, w/2]``, where the
    optimum lies. Multiplied by N it is dask-glm's ``Σ loss + (1/C)·½‖β‖²`` with ``C = 1/(Nλ)``
    (and scikit-learn's binary objective at the same C). Plain NumPy: the yardstick of every solver.
    """
    s = X @ w + b
    return float(np.mean(np.logaddexp(0, s) - y * s) + lam / 2 * float(w @ w))


def dask_array(client, a, rows):
    """``a`` as a Dask array of ``rows``-row blocks scattered to the workers once (held there, as persisted)."""
    blocks = [a[i:i + rows] for i in range(0, len(a), rows)]
    futures = client.scatter(blocks)
    return da.concatenate([da.from_delayed(f, shape=b.shape, dtype=b.dtype) for f, b in zip(futures, blocks)])


def dask_ml_fit(Xd, yd, N, lam, solver, max_iter):
    """dask-ml's ``LogisticRegression`` on our objective: ``(seconds, w, b, evaluations or iterations)``.

    dask-glm minimizes ``Σ_i loss_i + (1/C)·½‖β‖²`` where β includes the intercept (a column of
    ones appended last), on standardized columns unless ``normalize=False``. Our objective
    penalizes the raw weights and not the intercept, so: ``C = 1/(Nλ)``, ``normalize=False``
    (a solver keyword), and dask-glm's L2 without the last coefficient (a ``Regularizer``, which
    its ``penalty`` accepts). The solvers and their stopping rules are dask-ml's own.
    """

    class L2NoIntercept(Regularizer):
        name = "l2-no-intercept"
        calls = {"f": 0, "prox": 0}

        def f(self, beta):  # once per loss evaluation of dask-glm's lbfgs
            self.calls["f"] += 1
            return (beta[:-1] ** 2).sum() / 2

        def gradient(self, beta):
            mask = np.ones(beta.shape[0])
            mask[-1] = 0
            return beta * mask

        def proximal_operator(self, beta, t):  # once per admm iteration: argmin t·½‖z‖² + ½‖z − β‖², intercept free
            self.calls["prox"] += 1
            shrink = np.full(beta.shape[0], 1 / (1 + t))
            shrink[-1] = 1
            return beta * shrink

    penalty = L2NoIntercept()
    model = DaskLogisticRegression(C=1 / (N * lam), penalty=penalty, solver=solver, max_iter=max_iter,
                                   solver_kwargs={"normalize": False})
    t = time.perf_counter()
    with warnings.catch_warnings():  # dask-glm's deprecated dask/scipy options: not ours to fix
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        model.fit(Xd, yd)
    seconds = time.perf_counter() - t
    count = penalty.calls["f"] if solver == "lbfgs" else penalty.calls["prox"]
    return seconds, np.asarray(model.coef_, np.float64), float(model.intercept_), count


def dask_part(args, tmp, X, y, lam, record, X64) -> dict:
    """linclass's Dask backend, and dask-ml's ``LogisticRegression``, on one LocalCluster (2 processes × 1 thread).

    1. The 20-class probe from the files (each worker maps its own blocks), recorded with the others.
    2. dask-ml fits binary logistic regression only (dask-glm's ``Logistic`` family; ``multi_class`` is
       ignored and it has no multinomial loss): the like-for-like problem is binary, the same X with
       labels ``y ≥ C/2`` (10 classes against 10), λ the same. One-vs-rest would be 20 binary fits of
       another model than our multinomial one, so it is not compared. X is one Dask array in the
       blocks our backend uses (``BLOCK_BYTES``), scattered to the workers before any clock starts;
       both libraries fit that array on the same cluster. Each solution is scored by
       :func:`binary_objective`; the reference is scikit-learn's binary fit (``tol=1e-10``) on float64 X
       (given float32 X, scikit-learn 1.9 runs its L-BFGS in float32, which stalls ~1e-8 above the optimum).
    """
    out = {}
    N, D = X.shape
    y2 = (y >= (int(y.max()) + 1) // 2).astype(np.int64)
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        sk = LogisticRegression(C=1 / (N * lam), tol=1e-10, max_iter=1000).fit(X64, y2)  # float32 X: a float32 fit
        sk_seconds = time.perf_counter() - t
    ref = binary_objective(X64, y2, lam, sk.coef_[0].astype(np.float64), float(sk.intercept_[0]))
    binary = {}

    def done(name, seconds, objective, count):
        if name not in binary or seconds < binary[name][0]:
            binary[name] = (seconds, objective, count)
        print(f"{name:38s} {seconds:8.2f} s  objective {objective:.10f}  count {count}", flush=True)

    done("scikit-learn binary (float64), 1 thread", sk_seconds, ref, int(sk.n_iter_[0]))
    with Client(LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)) as client:
        r = fit(tmp / "train", reg_strength=lam, dask=client)
        W, b = r.classifier.model.W, r.classifier.model.b
        record("linclass probe (Dask, 2 workers)", r.seconds, objective_at(X64, y, lam, W, b), r.best["iterations"])

        rows = chunk_rows_for(D, X.dtype.itemsize, BLOCK_BYTES)
        Xd, yd = dask_array(client, X, rows), dask_array(client, y2, rows)

        def ours():
            t = time.perf_counter()
            r = fit((Xd, y2), reg_strength=lam, dask=client)
            seconds = time.perf_counter() - t
            W, b = r.classifier.model.W.astype(np.float64), r.classifier.model.b.astype(np.float64)
            return seconds, binary_objective(X64, y2, lam, W[:, 1] - W[:, 0], b[1] - b[0]), r.best["evaluations"]

        def dask_ml(solver, max_iter):
            seconds, w, b0, count = dask_ml_fit(Xd, yd, N, lam, solver, max_iter)
            return seconds, binary_objective(X64, y2, lam, w, b0), count

        contenders = {"linclass --dask, binary": ours}
        if DaskLogisticRegression is None:
            print("dask-ml: skipped, not installed (pip install 'linclass[bench]' adds it)")
        else:
            contenders["dask-ml lbfgs, binary"] = lambda: dask_ml("lbfgs", 100)  # 100: dask-ml's default max_iter
        for _ in range(args.repeats):  # alternated; each keeps its fastest run (the least disturbed by the load)
            for name, run in contenders.items():
                done(name, *run())
        if len(contenders) > 1 and args.admm_iter > 0:
            done("dask-ml admm, binary", *dask_ml("admm", args.admm_iter))
    anchor = binary.get("dask-ml lbfgs, binary")
    print(f"\nbinary problem (y ≥ {(int(y.max()) + 1) // 2}), same Dask array and cluster; objective: mean logistic "
          "loss + λ/2·‖w‖²; 'count': sklearn iterations, linclass and dask-ml lbfgs loss evaluations, admm iterations")
    for name, (seconds, objective, count) in binary.items():
        row = {"seconds": seconds, "objective": objective, "count": count, "problem": "binary",
               "relative_to_reference": (objective - ref) / ref}
        if anchor is not None:
            row["time_ratio_to_dask_ml_lbfgs"] = seconds / anchor[0]
        out[name] = row
        ratio = f"time {row['time_ratio_to_dask_ml_lbfgs']:.2f}× dask-ml lbfgs" if anchor is not None else ""
        print(f"{name:38s} {seconds:8.2f} s  objective {objective:.10f} ({row['relative_to_reference']:+.1e} "
              f"relative)  count {count}  {ratio}", flush=True)
    return out


def tcp_cluster(tmp, workers: int):
    """A ``dask scheduler`` and ``dask worker --nworkers W --nthreads 1`` over tcp on loopback, as a user starts
    them: ``(address, processes)``."""
    info = tmp / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(info)], **quiet)]
    while not info.exists():
        time.sleep(0.05)
    procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file", str(info),
                                   "--nworkers", str(workers), "--nthreads", "1", "--no-dashboard"], **quiet))
    return json.loads(info.read_text())["address"], procs


def per_evaluation(evaluator, W, b, count: int) -> float:
    """Median seconds of one loss-and-gradient evaluation at ``count`` distinct points (no memo hit)."""
    evaluator(W, b)
    times = []
    for k in range(count):
        t = time.perf_counter()
        evaluator(W + (k + 1) * 1e-7, b)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def dask_overhead(args, tmp, lam) -> dict:
    """What a cluster adds to each evaluation, on 2 workers × 1 thread: a LocalCluster, then a real ``dask
    scheduler`` with ``dask worker`` processes over tcp on loopback. Against the NumPy engine with 2 threads (the
    same cores): the median evaluation at distinct points (``--overhead-evals``), and a whole fit's excess
    seconds divided by its evaluations."""
    split = open_split(tmp / "train")
    y = split.y.astype(np.int64)
    N, D = split.X.shape
    C = int(y.max()) + 1
    W, b = 0.01 * np.random.default_rng(0).standard_normal((D, C)), np.zeros(C)
    with threadpool_limits(limits=1):
        numpy_eval = per_evaluation(SoftmaxL2(split.X, y, C, lam, threads=2), W, b, args.overhead_evals)
        numpy_fit = fit(tmp / "train", reg_strength=lam, threads=2)
    out = {"numpy": {"evaluation_ms": 1000 * numpy_eval, "fit_seconds": numpy_fit.seconds,
                     "evaluations": numpy_fit.best["evaluations"]}}
    print(f"NumPy engine, 2 threads: {1000 * numpy_eval:.1f} ms per evaluation; fit {numpy_fit.seconds:.2f} s, "
          f"{numpy_fit.best['evaluations']} evaluations", flush=True)
    for name in ("LocalCluster", "tcp"):
        procs = []
        if name == "tcp":
            address, procs = tcp_cluster(tmp, 2)
            client = Client(address, timeout="60s")
            client.wait_for_workers(2, timeout=120)
        else:
            client = Client(LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None))
        try:
            t = time.perf_counter()
            evaluator = DaskSoftmaxL2(client, split.X, y, C, lam)
            placed = time.perf_counter() - t
            seconds = per_evaluation(evaluator, W, b, args.overhead_evals)
            r = fit(tmp / "train", reg_strength=lam, dask=client)
        finally:
            client.close()
            for p in procs[::-1]:
                p.terminate()
                p.wait()
        excess = (r.seconds - numpy_fit.seconds) / r.best["evaluations"]
        out[name] = {"evaluation_ms": 1000 * seconds, "overhead_ms": 1000 * (seconds - numpy_eval),
                     "placement_seconds": placed, "fit_seconds": r.seconds, "evaluations": r.best["evaluations"],
                     "fit_overhead_ms_per_evaluation": 1000 * excess,
                     "objective_vs_numpy": (r.best["objective"] - numpy_fit.best["objective"])
                     / numpy_fit.best["objective"]}
        print(f"{name:12s} {1000 * seconds:6.1f} ms per evaluation: overhead {1000 * (seconds - numpy_eval):+.1f} ms; "
              f"fit {r.seconds:.2f} s, {r.best['evaluations']} evaluations: {1000 * excess:+.1f} ms per evaluation "
              f"over NumPy's fit; blocks placed in {placed:.1f} s", flush=True)
    return out


def search_vs_grid(args, tmp) -> dict:
    """``--reg-search LO:HI`` against a 33-point ``--reg-path LO:HI:33`` on the same data, each warm-started:
    the chosen λ's validation accuracy (target: within 0.1 point of the grid's best), and the cost: passes
    over the training rows and seconds (target: at most half the grid's)."""
    out = {}
    for name, options in (("grid", {"reg_path": f"{args.search_range}:33"}),
                          ("search", {"reg_search": args.search_range})):
        r = fit(tmp / "train", val=tmp / "val", **options)
        out[name] = {"seconds": r.seconds, "evaluations": sum(row["evaluations"] for row in r.path),
                     "lambdas": len(r.path), "reg_strength": r.best["reg_strength"],
                     "val_accuracy": r.best["val_accuracy"]}
        print(f"{name:6s} {len(r.path):3d} λ  {r.seconds:7.2f} s  {out[name]['evaluations']:5d} passes  best λ "
              f"{r.best['reg_strength']:.3g}  val {100 * r.best['val_accuracy']:.2f}%", flush=True)
    out["val_points_behind_grid"] = 100 * (out["grid"]["val_accuracy"] - out["search"]["val_accuracy"])
    out["passes_ratio"] = out["search"]["evaluations"] / out["grid"]["evaluations"]
    out["seconds_ratio"] = out["search"]["seconds"] / out["grid"]["seconds"]
    print(f"search: {out['val_points_behind_grid']:+.2f} points behind the grid's best; "
          f"{out['passes_ratio']:.2f}× its passes, {out['seconds_ratio']:.2f}× its seconds", flush=True)
    return out


def startup(args, tmp) -> dict:
    """``linclass probe``'s wall time (a fresh process, as a user runs it) minus the fit's own ``seconds``:
    interpreter and imports, reading the data's labels, writing the model, metrics and report. Best of
    ``--startup-repeats``."""
    best = None
    for k in range(args.startup_repeats):
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "linclass", "probe", str(tmp / "train"), "--json",
                               "--out", str(tmp / f"startup-{k}")], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t
        seconds = json.loads(done.stdout)["seconds"]
        row = {"wall_seconds": wall, "fit_seconds": seconds, "excess_seconds": wall - seconds}
        print(f"linclass probe: wall {wall:.2f} s, fit's seconds {seconds:.2f} s, excess {wall - seconds:.2f} s",
              flush=True)
        best = row if best is None or row["excess_seconds"] < best["excess_seconds"] else best
    return best


def rss_child(args, tmp, D, C) -> dict:
    """Peak resident memory of a fresh process fitting a memory-mapped ``args.rss_rows`` × D file."""
    big = synthetic.write(tmp / "big", args.rss_rows, D, C, seed=1)
    size = os.path.getsize(big / "X.npy") / 2 ** 30
    out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(big), str(args.rss_iter)], capture_output=True,
                         text=True, check=True)
    rss = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"memory-mapped X.npy of {size:.2f} GiB ({args.rss_rows} × {D}): peak RSS {rss['peak_rss_mb']:.0f} MB "
          f"over {rss['iterations']} iterations ({rss['seconds']:.1f} s)")
    shutil.rmtree(big)
    return rss


STREAM_CHILD = """
import json, sys, time
import numpy as np
from linclass import Objective
from linclass.optim import get_optimizer
from linclass.regularizers import L2
from linclass.fitting.loop import LoopConfig, run_epochs
from threadpoolctl import threadpool_limits
threadpool_limits(1)  # one BLAS thread: small products, immune to a busy machine
path, mode, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
y = np.load(path + "/y.npy")
X = np.load(path + "/X.npy", mmap_mode="r")
D, C = X.shape[1], int(y.max()) + 1
t = time.perf_counter()
if epochs: run_epochs(Objective("softmax", L2(), 1e-4), get_optimizer("adam", learning_rate=1e-3), X, y,
      params={"W": np.zeros((D, C), np.float32), "b": np.zeros(C, np.float32)},
      config=LoopConfig(batch_size=256, epochs=epochs, shuffle="blocks" if mode == "blocks" else "rows",
                        progress=False))
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024,
                  "seconds_per_epoch": (time.perf_counter() - t) / max(epochs, 1)}))
"""


PROBE_STREAM_CHILD = """
import json, sys, time
from linclass.probe import fit
t = time.perf_counter()
r = fit(sys.argv[1], reg_strength=1e-4, optimizer="adam", lr=1e-3, epochs=1)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024, "seconds": time.perf_counter() - t}))
"""


def drop_from_page_cache(path) -> None:
    """Evict one file's clean pages from the page cache (only this file: other processes keep theirs)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # dirty pages (a file just written) would stay
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def stream_bench(args, tmp, D, C) -> dict:
    """Streamed blocks against the per-step gather from the same memory map; the objective after k epochs."""
    data = synthetic.write(tmp / "stream", args.stream_rows, D, C, seed=2)
    size = os.path.getsize(data / "X.npy") / 2 ** 20
    print(f"memory-mapped X.npy of {size:.0f} MiB ({args.stream_rows} × {D} float32), Adam, batch 256, "
          f"{args.stream_epochs} epoch(s) per child, the file dropped from the page cache before each")
    baseline = subprocess.run([sys.executable, "-c", STREAM_CHILD, str(data), "gather", "0"], capture_output=True,
                              text=True, check=True)
    out = {"file_mib": size, "imports_peak_rss_mb": json.loads(baseline.stdout.strip().splitlines()[-1])["peak_rss_mb"]}
    print(f"  a child that only imports and opens the file: peak RSS {out['imports_peak_rss_mb']:.0f} MB")
    for cache in ("cold", "warm"):
        runs = {"gather": [], "blocks": []}
        for _ in range(args.stream_repeats):  # alternating, so that a change of load hits both
            for mode in runs:
                if cache == "cold":
                    drop_from_page_cache(data / "X.npy")
                run = subprocess.run([sys.executable, "-c", STREAM_CHILD, str(data), mode,
                                      str(args.stream_epochs)], capture_output=True, text=True, check=True)
                runs[mode].append(json.loads(run.stdout.strip().splitlines()[-1]))
        for mode, results in runs.items():
            med = out[f"{mode} {cache}"] = {k: float(np.median([r[k] for r in results])) for k in results[0]}
            times = ", ".join(f"{r['seconds_per_epoch']:.2f}" for r in results)
            print(f"  {mode:6s} ({cache} cache) {med['seconds_per_epoch']:7.2f} s/epoch  peak RSS "
                  f"{med['peak_rss_mb']:6.0f} MB  (median of {len(results)}: {times} s)", flush=True)
        gather, blocks = out[f"gather {cache}"], out[f"blocks {cache}"]
        print(f"  {cache} cache: streamed blocks take {blocks['seconds_per_epoch'] / gather['seconds_per_epoch']:.2f}× "
              f"the gather's time per epoch and {blocks['peak_rss_mb'] / gather['peak_rss_mb']:.2f}× its peak RSS")
    whole = subprocess.run([sys.executable, "-c", PROBE_STREAM_CHILD, str(data)], capture_output=True, text=True,
                           check=True)
    out["probe fit, adam, 1 epoch"] = json.loads(whole.stdout.strip().splitlines()[-1])
    print(f"  linclass.probe.fit(optimizer='adam', epochs=1) in a child (the epoch, the certificate's pass, the "
          f"training accuracy): peak RSS {out['probe fit, adam, 1 epoch']['peak_rss_mb']:.0f} MB, "
          f"{out['probe fit, adam, 1 epoch']['seconds']:.1f} s", flush=True)
    exact = fit(data, reg_strength=1e-4)
    opt = exact.best["objective"]
    print(f"  L-BFGS optimum {opt:.8f}: {exact.best['iterations']} iterations, {exact.seconds:.1f} s")
    out["lbfgs"] = {"objective": opt, "seconds": exact.seconds, "iterations": exact.best["iterations"]}
    for k in args.stream_k:
        r = fit(data, reg_strength=1e-4, optimizer="adam", lr=1e-3, schedule="cosine", epochs=k)
        gap = (r.best["objective"] - opt) / opt
        out[f"adam {k} epochs"] = {"objective": r.best["objective"], "relative_gap": gap,
                                   "grad_norm": r.best["grad_norm"], "seconds": r.seconds}
        print(f"  Adam (lr 1e-3, cosine) after {k} epoch(s): objective {r.best['objective']:.8f} "
              f"({gap:+.1e} relative to the optimum), ‖∇L‖ {r.best['grad_norm']:.2e}, {r.seconds:.1f} s "
              f"({r.seconds / exact.seconds:.2f}× L-BFGS's time)", flush=True)
    shutil.rmtree(data)
    return out


def others(args, tmp, X, y, lam, X64, record, rows) -> None:
    """The path, the torch backend, torch.optim.LBFGS and Dask, recorded as the engine's peers are."""
    r = fit(tmp / "train", val=tmp / "val", reg_path="1e-6:1e-2:8")
    record("linclass 8-value path", r.seconds, r.best["objective"], sum(row["iterations"] for row in r.path),
           best_reg_strength=r.best["reg_strength"])

    r = fit(tmp / "train", reg_strength=lam, backend="torch")
    W, b = r.classifier.model.W, r.classifier.model.b
    record("linclass probe (torch CPU)", r.seconds, objective_at(X64, y, lam, W, b), r.best["iterations"])

    seconds, W, b, n_iter = torch_lbfgs(X, y, lam, 1000)
    record("torch.optim.LBFGS (strong Wolfe)", seconds, objective_at(X64, y, lam, W, b), n_iter)

    if not args.skip_dask:
        rows.update(dask_part(args, tmp, X, y, lam, record, X64))


def padding_sweep(repeats: int) -> dict:
    """The engine's two products per chunk (``Vᵀ Xᵀ``, ``Gᵀ X``, one BLAS thread, 16 chunks of its size) for C
    classes and for C padded as the engine pads it (``chunked.padded_classes``), at the probe's D = 256 and CIFAR's
    3,072: the padded time over the unpadded (below 1: padding pays)."""
    rng = np.random.default_rng(0)
    out = {}

    def pair(chunks, C):
        rows, D = chunks[0].shape
        Vt = rng.standard_normal((C, D), dtype=np.float32)
        G = rng.standard_normal((C, rows), dtype=np.float32)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            for block in chunks:
                Vt @ block.T
                G @ block
            best = min(best, time.perf_counter() - t)
        return best

    for D in (256, 3072):
        chunks = [rng.standard_normal((chunk_rows_for(D, 4), D), dtype=np.float32) for _ in range(16)]
        with threadpool_limits(limits=1):
            for C in [*range(2, 25), 100, 101, 102, 103, 1000, 1001, 1002, 1003]:
                padded = padded_classes(C)
                if padded == C:
                    continue
                plain, wide = pair(chunks, C), pair(chunks, padded)
                out[f"D={D} C={C}"] = wide / plain
                print(f"D={D:5d} C={C:5d}: {plain * 1e3:7.2f} ms, padded to {padded}: {wide * 1e3:7.2f} ms "
                      f"({wide / plain:.2f}×)", flush=True)
    return out


def tolerance_sweep(X, y, lam, X64, repeats):
    """Each solver at its own tolerances (scikit-learn: 1 BLAS thread, float32 X; linclass: its engine): the time
    and the distance to the float64 optimum, and the fastest setting of each that lands within 1e-6 of it."""
    N = X.shape[0]
    with threadpool_limits(limits=1):
        sk = LogisticRegression(C=1 / (2 * N * lam), tol=1e-10, max_iter=1000).fit(X64, y)
    ref = objective_at(X64, y, lam, sk.coef_.T, sk.intercept_)
    runs = {}

    def record(name, seconds, W, b, iterations):
        gap = (objective_at(X64, y, lam, W, b) - ref) / ref
        best = runs.get(name)
        if best is None or seconds < best["seconds"]:
            runs[name] = {"seconds": seconds, "relative_gap": gap, "iterations": iterations}
        print(f"{name:28s} {seconds:6.2f} s  {iterations:3d} iterations  objective − optimum {gap:+.1e}", flush=True)

    for _ in range(repeats):
        for tol in (1e-4, 1e-5, 1e-6, 1e-10):
            t = time.perf_counter()
            with threadpool_limits(limits=1):
                sk = LogisticRegression(C=1 / (2 * N * lam), tol=tol, max_iter=1000).fit(X, y)
            record(f"scikit-learn tol {tol:g}", time.perf_counter() - t, sk.coef_.T, sk.intercept_,
                   int(sk.n_iter_[0]))
        for tol in (3e-3, 1e-3, 3e-4, 1e-4):
            r = fit((X, y), reg_strength=lam, tol=tol)
            record(f"linclass tol {tol:g}", r.seconds, r.classifier.model.W, r.classifier.model.b,
                   r.best["iterations"])
    within = {name: row for name, row in runs.items() if row["relative_gap"] <= 1e-6}
    fastest = {who: min((row["seconds"], name) for name, row in within.items() if name.startswith(who))
               for who in ("scikit-learn", "linclass")}
    (sk_s, sk_name), (lc_s, lc_name) = fastest["scikit-learn"], fastest["linclass"]
    print(f"within 1e-6 of the optimum, each at its fastest tolerance: {lc_name} {lc_s:.2f} s / "
          f"{sk_name} {sk_s:.2f} s = {lc_s / sk_s:.2f}")
    return {"runs": runs, "ratio_within_1e-6": lc_s / sk_s, "linclass": lc_name, "scikit-learn": sk_name}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--rss-rows", type=int, default=1_000_000)
    p.add_argument("--rss-iter", type=int, default=3)
    p.add_argument("--skip-rss", action="store_true")
    p.add_argument("--rss-only", action="store_true", help="only the memory measurement on the 1 GB file")
    p.add_argument("--skip-dask", action="store_true")
    p.add_argument("--stream-only", action="store_true", help="only the streamed minibatch source (stream_bench)")
    p.add_argument("--stream-rows", type=int, default=600_000)
    p.add_argument("--stream-epochs", type=int, default=1, help="epochs per timed child")
    p.add_argument("--stream-repeats", type=int, default=3, help="timed children per source and cache state")
    p.add_argument("--stream-k", type=int, nargs="+", default=[1, 3], help="epochs of the objective comparison")
    p.add_argument("--dask-only", action="store_true", help="only the Dask part: linclass --dask and dask-ml")
    p.add_argument("--engine-only", action="store_true",
                   help="only scikit-learn and the NumPy engine's fit, and one evaluation's stages")
    p.add_argument("--admm-iter", type=int, default=100,
                   help="max_iter of dask-ml's admm (its default 100; 0 skips admm)")
    p.add_argument("--repeats", type=int, default=3, help="runs of linclass --dask and dask-ml lbfgs (fastest kept)")
    p.add_argument("--overhead-only", action="store_true", help="only the Dask overhead per evaluation "
                   "(LocalCluster and a tcp scheduler with dask worker processes) and linclass probe's start-up")
    p.add_argument("--search-only", action="store_true", help="only --reg-search against a 33-point --reg-path")
    p.add_argument("--pad-only", action="store_true", help="only the engine's products with the classes "
                   "padded to a multiple of 4 against unpadded")
    p.add_argument("--tol-only", action="store_true", help="only each solver at several tolerances: which lands "
                   "within 1e-6 of the optimum fastest")
    p.add_argument("--search-range", default="1e-6:1e-1", help="LO:HI of that comparison (default 1e-6:1e-1)")
    p.add_argument("--overhead-evals", type=int, default=15, help="evaluations timed per engine (median)")
    p.add_argument("--startup-repeats", type=int, default=3, help="linclass probe runs timed (best kept)")
    p.add_argument("--skip-sklearn-threads", action="store_true",
                   help="time scikit-learn with 1 BLAS thread only (its default threads crawl on a busy machine)")
    args = p.parse_args()
    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; BLAS {blas}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    N, D, C, lam = args.n, 256, 20, 1e-4
    tmp = Path(tempfile.mkdtemp(prefix="bench_probe-"))
    if args.rss_only:
        rss_child(args, tmp, D, C)
        shutil.rmtree(tmp)
        return
    if args.stream_only:
        print(json.dumps(stream_bench(args, tmp, D, C), indent=1))
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        shutil.rmtree(tmp)
        return
    synthetic.write(tmp / "train", N, D, C, seed=0)
    synthetic.write(tmp / "val", N // 10, D, C, seed=0, split=1)
    rows = {}
    if args.search_only:
        rows["search"] = search_vs_grid(args, tmp)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        print(json.dumps(rows, indent=1))
        shutil.rmtree(tmp)
        return
    if args.overhead_only:
        rows["dask_overhead"] = dask_overhead(args, tmp, lam)
        rows["startup"] = startup(args, tmp)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        print(json.dumps(rows, indent=1))
        shutil.rmtree(tmp)
        return
    X, y = np.load(tmp / "train" / "X.npy"), np.load(tmp / "train" / "y.npy")
    X64 = X.astype(np.float64)

    def record(name, seconds, objective, iterations, **extra):
        rows[name] = {"seconds": seconds, "objective": objective, "iterations": iterations, **extra}
        print(f"{name:34s} {seconds:8.2f} s  objective {objective:.10f}  iterations {iterations}", flush=True)

    if args.pad_only:
        print(json.dumps({"padded_over_plain": padding_sweep(args.repeats * 3)}, indent=1))
        shutil.rmtree(tmp)
        return
    if args.tol_only:
        rows["tolerances"] = tolerance_sweep(X, y, lam, X64, args.repeats)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        print(json.dumps(rows, indent=1))
        shutil.rmtree(tmp)
        return
    if args.dask_only:
        rows.update(dask_part(args, tmp, X, y, lam, record, X64))
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        print(json.dumps(rows, indent=1))
        shutil.rmtree(tmp)
        return

    # scikit-learn keeps float32 X in float32 (as a user's float32 embeddings): timed so; the float64 fit is the
    # precise reference optimum (and is timed too)
    for threads in (1, None) if not args.skip_sklearn_threads else (1,):  # 1: immune to a busy machine
        for data in (X, X64):
            if args.engine_only and threads is None and data is X64:
                continue  # the reference optimum is the 1-thread float64 fit's; default threads only crawl here
            t = time.perf_counter()
            with threadpool_limits(limits=threads):
                sk = LogisticRegression(C=1 / (2 * N * lam), tol=1e-10, max_iter=1000).fit(data, y)
            record(f"scikit-learn {data.dtype} X, {threads or 'default'} BLAS thr.", time.perf_counter() - t,
                   objective_at(X64, y, lam, sk.coef_.T, sk.intercept_), int(sk.n_iter_[0]))
    sk_rows = [r for name, r in rows.items() if name.startswith("scikit-learn")]
    ref = min(r["objective"] for r in sk_rows)
    sk_time = min(r["seconds"] for r in sk_rows)  # the fastest: the conservative reference

    r = fit(tmp / "train", reg_strength=lam)
    W, b = r.classifier.model.W, r.classifier.model.b
    record("linclass probe (numpy)", r.seconds, objective_at(X64, y, lam, W, b), r.best["iterations"],
           precision=r.best["precision"], evaluations=r.best.get("evaluations"))
    if args.engine_only:
        for name, ms in evaluation_stages(X, y, C, lam).items():
            print(f"  {name:52s} {ms:7.1f} ms")

    if not args.engine_only:
        others(args, tmp, X, y, lam, X64, record, rows)

    print()
    for name, row in rows.items():
        if row.get("problem") == "binary":  # the Dask comparison: its own reference, printed above
            continue
        if "best_reg_strength" in row:  # the path's best λ is another problem: only its time compares
            row["time_ratio"] = row["seconds"] / sk_time
            print(f"{name:34s} time {row['time_ratio']:.2f}× one scikit-learn fit (8 fits, best λ "
                  f"{row['best_reg_strength']:.3g})")
            continue
        row["relative_to_sklearn"] = (row["objective"] - ref) / ref
        row["time_ratio"] = row["seconds"] / sk_time
        print(f"{name:34s} objective − sklearn's: {row['relative_to_sklearn']:+.2e} relative;  "
              f"time {row['time_ratio']:.2f}× scikit-learn's (the fastest run)")

    if not (args.skip_rss or args.engine_only):
        rows["rss"] = rss_child(args, tmp, D, C)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(json.dumps(rows, indent=1))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
