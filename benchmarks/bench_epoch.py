"""One epoch of minibatch softmax training on a problem of CIFAR-10's shape.

50,000 × 3,072 float32 examples, 10 classes, batch 256 (synthetic data), timed in
one run for:
- linclass: ``linclass.fitting.loop.run_epochs`` with SGD (one epoch, without replacement);
- PyTorch CPU: ``nn.Linear`` + ``CrossEntropyLoss`` + ``optim.SGD``, same batches;
- scikit-learn: one epoch of ``SGDClassifier(loss="log_loss")`` (``partial_fit``);
- the memory-bandwidth bound: the time to read X once (the least any epoch can
  take), measured as the fastest of a GEMV and a column sum over X.

Usage: python benchmarks/bench_epoch.py [--repeats 3] [--no-sklearn] [--stages]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def interleaved(fns: dict, repeats: int) -> dict:
    """Best and median seconds of each function, run in turns so that all see the same machine load."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: (min(ts), float(np.median(ts))) for name, ts in times.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--stages", action="store_true", help="also time each stage of a step separately")
    args = ap.parse_args()

    from threadpoolctl import threadpool_info

    from linclass.fitting.loop import LoopConfig, run_epochs
    from linclass.model import LinearModel
    from linclass.objective import Objective
    from linclass.optim import get_optimizer
    from linclass.regularizers import L2

    N, D, C, B = args.n, 3072, 10, 256
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D), dtype=np.float32)
    y = rng.integers(0, C, N)
    blas = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()]
    print(f"N={N} D={D} C={C} batch={B}  X = {X.nbytes / 1e6:.0f} MB float32")
    print(f"BLAS: {blas}  OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}  cores={os.cpu_count()}")

    v = np.ones(D, dtype=np.float32)
    objective = Objective("softmax", L2(), 1e-4)
    params = LinearModel.init(D, C, seed=0).params
    config = LoopConfig(batch_size=B, epochs=1, seed=0, progress=False)
    fns = {
        "bound: X @ v": lambda: X @ v,
        "bound: X.sum(axis=0)": lambda: X.sum(axis=0),
        "linclass": lambda: run_epochs(objective, get_optimizer("sgd", learning_rate=1e-3), X, y, params=params,
                                  config=config),
    }
    try:
        import torch
        torch.manual_seed(0)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        model = torch.nn.Linear(D, C)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, weight_decay=2e-4)
        lossf = torch.nn.CrossEntropyLoss()

        def torch_epoch():
            perm = torch.randperm(N)
            for s in range(0, N, B):
                idx = perm[s:s + B]
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        fns["PyTorch"] = torch_epoch
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        print("PyTorch not installed: pip install torch==2.13.0 (CPU) to compare")
    if not args.no_sklearn:
        from sklearn.linear_model import SGDClassifier
        X64 = X.astype(np.float64)  # scikit-learn's SGD works in float64: converted outside the timing
        fns["scikit-learn"] = lambda: SGDClassifier(
            loss="log_loss", alpha=1e-4, learning_rate="constant", eta0=1e-3,
            random_state=0).partial_fit(X64, y, classes=np.arange(C))
    if args.stages:
        W, b = params["W"], params["b"]
        for name, seconds in stages(X, y, W, b, B).items():
            print(f"  stage: {name:36} {seconds * 1e3:6.0f} ms per epoch")
    t = interleaved(fns, args.repeats)
    bound = min(t["bound: X @ v"][0], t["bound: X.sum(axis=0)"][0])
    print(f"bandwidth bound (read X once): {bound * 1e3:.0f} ms  ({X.nbytes / bound / 1e9:.1f} GB/s)")
    for name in ("linclass", "PyTorch", "scikit-learn"):
        if name in t:
            best, median = t[name]
            print(f"{name:13} epoch: best {best * 1e3:6.0f} ms, median {median * 1e3:6.0f} ms   "
                  f"{best / bound:5.2f}× the bound   linclass/{name} = {t['linclass'][0] / best:.2f}")


def stages(X, y, W, b, B, repeats=3):
    """Seconds per epoch of each stage of a step, timed separately (best of ``repeats``)."""
    from linclass.losses import softmax_loss
    N = X.shape[0]
    order = np.random.default_rng(0).permutation(N)
    batches = [order[s:s + B] for s in range(0, N, B)]
    Xb, yb = X[batches[0]], y[batches[0]]
    scores = Xb @ W + b
    _, dscores = softmax_loss(scores, yb)
    def each(step):  # one call per batch, each result dropped at once (as in training)
        def run():
            for i in range(len(batches)):
                step(i)
        return run
    parts = {
        "copy the batch's rows, X[idx]": each(lambda i: X[batches[i]]),
        "contiguous copy of the same bytes": each(lambda i: X[i * B:(i + 1) * B].copy()),
        "forward X_b W + b": each(lambda i: Xb @ W + b),
        "backward (dscoresᵀ X_b)ᵀ": each(lambda i: (dscores.T @ Xb).T),
        "backward X_bᵀ dscores": each(lambda i: Xb.T @ dscores),
        "softmax loss and checks": each(lambda i: softmax_loss(scores, yb)),
    }
    return {name: interleaved({name: fn}, repeats)[name][0] for name, fn in parts.items()}


if __name__ == "__main__":
    main()
