"""One epoch of minibatch softmax training on a problem of CIFAR-10's shape.

50,000 × 3,072 float32 examples, 10 classes, batch 256 (synthetic data), timed in
one run for:
- linclass: ``linclass.train.train`` with SGD (one epoch, without replacement);
- PyTorch CPU: ``nn.Linear`` + ``CrossEntropyLoss`` + ``optim.SGD``, same batches;
- scikit-learn: one epoch of ``SGDClassifier(loss="log_loss")`` (``partial_fit``);
- the memory-bandwidth bound: the time to read X once (the least any epoch can
  take), measured as the fastest of a GEMV and a column sum over X.

Usage: python benchmarks/bench_epoch.py [--repeats 3] [--no-sklearn]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-sklearn", action="store_true")
    args = ap.parse_args()

    from threadpoolctl import threadpool_info

    from linclass.model import LinearModel
    from linclass.objective import Objective
    from linclass.optim import get_optimizer
    from linclass.regularizers import L2
    from linclass.train import TrainConfig, train

    N, D, C, B = args.n, 3072, 10, 256
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D), dtype=np.float32)
    y = rng.integers(0, C, N)
    blas = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()]
    print(f"N={N} D={D} C={C} batch={B}  X = {X.nbytes / 1e6:.0f} MB float32")
    print(f"BLAS: {blas}  OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}  cores={os.cpu_count()}")

    v = np.ones(D, dtype=np.float32)
    gemv = best_of(lambda: X @ v, args.repeats)[0]
    colsum = best_of(lambda: X.sum(axis=0), args.repeats)[0]
    bound = min(gemv, colsum)
    print(f"bandwidth bound (read X once): {bound * 1e3:.0f} ms  ({X.nbytes / bound / 1e9:.1f} GB/s)")

    objective = Objective("softmax", L2(), 1e-4)
    params = LinearModel.init(D, C, seed=0).params
    config = TrainConfig(batch_size=B, epochs=1, seed=0, progress=False)

    def ours():
        train(objective, get_optimizer("sgd", learning_rate=1e-3), X, y, params=params, config=config)
    ours_t = best_of(ours, args.repeats)
    print(f"linclass epoch: {ours_t[0] * 1e3:.0f} ms (median {ours_t[1] * 1e3:.0f})  "
          f"= {ours_t[0] / bound:.2f}× the bandwidth bound")

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
        torch_t = best_of(torch_epoch, args.repeats)
        print(f"PyTorch {torch.__version__} CPU epoch ({torch.get_num_threads()} threads): "
              f"{torch_t[0] * 1e3:.0f} ms (median {torch_t[1] * 1e3:.0f})  "
              f"→ linclass / PyTorch = {ours_t[0] / torch_t[0]:.2f}")
    except ImportError:
        print("PyTorch not installed: pip install torch==2.13.0 (CPU) to compare")

    if not args.no_sklearn:
        from sklearn.linear_model import SGDClassifier
        X64 = X.astype(np.float64)  # scikit-learn's SGD works in float64: converted outside the timing

        def sk_epoch():
            SGDClassifier(loss="log_loss", alpha=1e-4, learning_rate="constant", eta0=1e-3,
                          random_state=0).partial_fit(X64, y, classes=np.arange(C))
        sk_t = best_of(sk_epoch, 1)
        print(f"scikit-learn SGDClassifier(log_loss) epoch: {sk_t[0] * 1e3:.0f} ms  "
              f"→ linclass / scikit-learn = {ours_t[0] / sk_t[0]:.3f}")


if __name__ == "__main__":
    main()
