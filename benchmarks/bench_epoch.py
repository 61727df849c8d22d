"""One epoch of minibatch softmax training on CIFAR-10's training pixels, four ways in one run.

Softmax, L2, batch 256, plain SGD, one pass over 49,000 × 3,072 float32 rows (CIFAR-10's training
split, standardized with the project's loader and preprocessor; the decoded images are cached
outside the repository, in linclass's cache directory). Without the archive the rows are random
data of the same shape, and the output says so. The contenders, run in turns (best and median of
``--repeats``), so that all see the same machine load:

- the bound: reading X once (the faster of ``X @ v`` and ``X.sum(axis=0)``), the least any epoch takes;
- a minimal NumPy loop: gather the batch's rows, two GEMMs, the softmax, the update (no checks);
- a PyTorch CPU loop: ``nn.Linear`` + ``CrossEntropyLoss`` + ``optim.SGD``, the same batch size;
  each peer with its library's default threads and with one thread, compared at the faster of the two (on a
  machine busy with other jobs, multithreaded BLAS and OpenMP spin-waits make the default far slower);
- linclass: one epoch of the training loop with SGD, for each ``--shuffle`` order (rows, blocks).

A pause of ``PAUSE`` seconds separates contenders: PyTorch's OpenMP threads keep spinning for a
while after its loop, and would otherwise slow whatever runs next. ``--stages`` times each stage
of a step alone, over one epoch (the gather, the two products, the loss, the update).

``--lbfgs K`` instead compares ``K`` iterations of L-BFGS on the same rows (softmax, λ = ``LBFGS_LAM``, the
images' default): linclass's fit through the fitting core (float32 products, float64 sums) against scikit-learn's
``LogisticRegression`` (lbfgs, ``max_iter=K``, the same float32 X, C = 1/(2Nλ)) at its default threads and one
thread: seconds and the objectives reached, each run once, in turns.

``--to-accuracy 0.40`` instead races ``train``'s image defaults (softmax, λ 1e-2, momentum 0.9, lr 1e-3 with
cosine decay per step, batch 256, 20 epochs: :data:`linclass.settings.DEFAULTS`) against the same in a PyTorch
CPU loop (``nn.Linear``, ``CrossEntropyLoss``, ``optim.SGD(momentum=0.9)``, weight decay 2λ on the weights only,
as L2's gradient; its default initialization) on CIFAR-10's 49,000 standardized training rows: the epochs of the
two run in turns, and each reports the training seconds (validation scoring left out) at which its validation
accuracy (1,000 rows) first reaches the target, and its final test accuracy. linclass runs its loop
(:func:`~linclass.fitting.loop.run_epochs`) one epoch per call, the optimizer's state and weights carried over
(each epoch's order drawn with seed = the epoch); PyTorch runs at its faster thread setting, chosen by one
median of 3 timed epochs of each in the same run. The
resolution is one epoch: a target reached within the first epoch reads as the first epoch's seconds.

Usage: python benchmarks/bench_epoch.py [--repeats 5] [--data PATH] [--stages] [--sklearn] [--lbfgs 100]
       [--to-accuracy 0.40]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression, SGDClassifier
from threadpoolctl import threadpool_info, threadpool_limits

from linclass.datasets import load_dataset
from linclass.fitting import LBFGS, Problem, solve
from linclass.fitting.loop import LoopConfig, run_epochs
from linclass.losses import softmax_loss
from linclass.model import LinearModel
from linclass.objective import Objective
from linclass.optim import get_optimizer, parse_schedule
from linclass.preprocess import Preprocessor
from linclass.regularizers import L2
from linclass.rows.source import accuracy
from linclass.settings import DEFAULTS

try:
    import torch
except ImportError:  # the PyTorch contender is left out
    torch = None

CIFAR = Path("../shared/data/cifar10-jpg.tar.gz")  # from the project root, as every command in BENCHMARKS.md
BATCH, LR, LAM = 256, 1e-3, 1e-4
LBFGS_LAM = 1e-2
PAUSE = 0.3


def cifar_splits(path, n: int) -> dict:
    """``{split: (X float32 (rows, 3072), y int64)}`` of the archive: the first ``n`` training rows, the validation
    and test rows, standardized with the statistics of those training rows."""
    data = load_dataset(data=str(path))
    X = data.X_train.reshape(len(data.y_train), -1)[:n]
    pre = Preprocessor.fit(X, "standardize")
    rows = {"train": (X, data.y_train[:n]), "val": (data.X_val, data.y_val), "test": (data.X_test, data.y_test)}
    return {split: (np.ascontiguousarray(pre.transform(Xs.reshape(len(ys), -1)), np.float32), ys.astype(np.int64))
            for split, (Xs, ys) in rows.items()}


def design_matrix(path, n: int):
    """``(X (n, 3072) float32 standardized, y, what it is)``: CIFAR-10's training pixels, else random rows."""
    if path is not None and Path(path).is_file():
        X, y = cifar_splits(path, n)["train"]
        return X, y, f"CIFAR-10 pixels ({path})"
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, 3072), dtype=np.float32), rng.integers(0, 10, n),
            "RANDOM rows of CIFAR-10's shape (no archive found)")


def minimal_epoch(X, y, C: int, threads: int | None, seed: int = 0):
    """A minimal NumPy loop: gather the batch's rows, scores, softmax, two GEMMs, SGD with L2 (``threads``: the
    BLAS threads, None: the BLAS's default)."""
    N, D = X.shape
    rng = np.random.default_rng(seed)

    def epoch():
        with threadpool_limits(limits=threads):
            loop()

    def loop():
        W, b = np.zeros((D, C), np.float32), np.zeros(C, np.float32)
        order = rng.permutation(N)
        for s in range(0, N, BATCH):
            idx = order[s:s + BATCH]
            Xb, yb = X[idx], y[idx]
            rows = np.arange(len(yb))
            scores = Xb @ W + b
            scores -= scores.max(axis=1, keepdims=True)
            P = np.exp(scores)
            P /= P.sum(axis=1, keepdims=True)
            P[rows, yb] -= 1
            P /= len(yb)
            W -= LR * (Xb.T @ P + 2 * LAM * W)
            b -= LR * P.sum(axis=0)
    return epoch


def torch_epoch(X, y, C: int, threads: int, *, lr=LR, lam: float = LAM, momentum: float = 0.0):
    """The PyTorch CPU loop: ``nn.Linear``, ``CrossEntropyLoss``, ``optim.SGD`` (weight decay 2λ on the weights =
    L2's gradient), on ``threads`` threads; ``lr``: a rate or a schedule ``step -> rate``. The epoch function's
    ``weights()`` gives ``(W (D, C), b)`` as NumPy arrays."""
    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = torch.nn.Linear(X.shape[1], C)
    rate = lr if callable(lr) else (lambda step: lr)
    opt = torch.optim.SGD([{"params": [model.weight], "weight_decay": 2 * lam}, {"params": [model.bias]}],
                          lr=rate(0), momentum=momentum)
    lossf = torch.nn.CrossEntropyLoss()
    steps = 0

    def epoch():
        nonlocal steps
        torch.set_num_threads(threads)
        perm = torch.randperm(X.shape[0])
        for s in range(0, X.shape[0], BATCH):
            idx = perm[s:s + BATCH]
            for group in opt.param_groups:
                group["lr"] = rate(steps)
            opt.zero_grad(set_to_none=True)
            lossf(model(Xt[idx]), yt[idx]).backward()
            opt.step()
            steps += 1
    epoch.weights = lambda: (model.weight.detach().numpy().T, model.bias.detach().numpy())
    return epoch


def linclass_epoch(X, y, C: int, shuffle: str):
    """One epoch of linclass's training loop with SGD, batches in ``shuffle`` order."""
    objective = Objective("softmax", L2(), LAM)
    params = LinearModel.init(X.shape[1], C, seed=0).params
    config = LoopConfig(batch_size=BATCH, epochs=1, seed=0, progress=False, shuffle=shuffle)
    return lambda: run_epochs(objective, get_optimizer("sgd", learning_rate=LR), X, y, params=params, config=config)


def linclass_epochs(X, y, C: int, optimizer):
    """linclass's loop with ``train``'s image defaults, one epoch per call (weights and optimizer state carried over,
    the epoch's order drawn with seed = its number); the function's ``weights()`` gives ``(W, b)``."""
    objective = Objective("softmax", L2(), DEFAULTS["images"]["reg_strength"])
    run = {"params": LinearModel.init(X.shape[1], C, seed=0).params, "opt_state": None, "epoch": 0}

    def epoch():
        config = LoopConfig(batch_size=BATCH, epochs=1, seed=run["epoch"], progress=False)
        result = run_epochs(objective, optimizer, X, y, params=run["params"], opt_state=run["opt_state"], config=config)
        run.update(params=result.params, opt_state=result.opt_state, epoch=run["epoch"] + 1)
    epoch.weights = lambda: (run["params"]["W"], run["params"]["b"])
    return epoch


def to_accuracy(splits: dict, C: int, target: float) -> None:
    """``train``'s image defaults in linclass's loop and in PyTorch's, epochs in turns: the training seconds at which
    each first reaches ``target`` validation accuracy, and its final test accuracy."""
    X, y = splits["train"]
    images = DEFAULTS["images"]
    epochs, steps = images["epochs"], -(-len(y) // BATCH)
    schedule = parse_schedule(images["schedule"], images["lr"], epochs * steps)
    hyper = dict(lr=schedule, lam=images["reg_strength"], momentum=get_optimizer("momentum").hyperparams["mu"])
    probe = interleaved({threads: torch_epoch(X, y, C, threads, **hyper) for threads in (torch.get_num_threads(), 1)},
                        repeats=3)
    threads = min(probe, key=lambda k: probe[k][1])  # the median: 2 threads under load stall now and then
    print("PyTorch, median of 3 epochs: " + ", ".join(f"{k} thr. {v[1]:.2f} s" for k, v in probe.items())
          + f"; racing with {threads}")
    racers = {"linclass (its split step: 2 workers, 1 BLAS thread each)":
              linclass_epochs(X, y, C, get_optimizer("momentum", learning_rate=schedule)),
              f"PyTorch loop, {threads} thr.": torch_epoch(X, y, C, threads, **hyper)}
    seconds, reached = dict.fromkeys(racers, 0.0), {}
    for e in range(1, epochs + 1):
        line = []
        for name, epoch in racers.items():
            seconds[name] += interleaved({name: epoch}, repeats=1)[name][0]
            val = accuracy(*epoch.weights(), *splits["val"])
            if val >= target and name not in reached:
                reached[name] = (seconds[name], e)
            line.append(f"{name.split()[0]} {seconds[name]:6.1f} s val {val:.3f}")
        print(f"epoch {e:2}: " + "   ".join(line) + f"   load {os.getloadavg()[0]:.2f}")
    for name, epoch in racers.items():
        hit = (f"{target:.0%} at {reached[name][0]:.1f} s (epoch {reached[name][1]})" if name in reached
               else f"never {target:.0%}")
        test = accuracy(*epoch.weights(), *splits["test"])
        print(f"{name:58} {hit}; {epochs} epochs {seconds[name]:.1f} s, test {test:.4f}")
    if len(reached) == 2:
        ours, theirs = (reached[name][0] for name in racers)
        print(f"time to {target:.0%}: linclass / PyTorch = {ours / theirs:.2f}")


def sklearn_epoch(X, y, C: int):
    """One epoch of scikit-learn's ``SGDClassifier(loss="log_loss")`` (its float64 copy made outside the timing)."""
    X64 = X.astype(np.float64)
    return lambda: SGDClassifier(loss="log_loss", alpha=LAM, learning_rate="constant", eta0=LR,
                                 random_state=0).partial_fit(X64, y, classes=np.arange(C))


def lbfgs_compare(X, y, C: int, iterations: int) -> None:
    """``iterations`` of L-BFGS: linclass (through ``fitting.solve``) against scikit-learn's at both thread settings."""
    N = X.shape[0]
    objective = Objective("softmax", L2(), LBFGS_LAM)
    problem = Problem(objective, X, y, C)
    runs = {}

    def ours():
        r = solve(problem, LBFGS(tol=1e-12, max_iter=iterations), problem.zeros(np.float32))
        print(f"  linclass: {r.evaluations} passes over X, precision {r.precision}")
        return r.params["W"], r.params["b"], r.iterations

    def theirs(threads):
        def fit():
            with threadpool_limits(limits=threads):
                model = LogisticRegression(C=1 / (2 * N * LBFGS_LAM), tol=1e-12, max_iter=iterations).fit(X, y)
            return model.coef_.T, model.intercept_, int(model.n_iter_[0])
        return fit

    contenders = {"linclass L-BFGS": ours, "scikit-learn, default BLAS thr.": theirs(None),
                  "scikit-learn, 1 BLAS thr.": theirs(1)}
    for name, fit in contenders.items():
        time.sleep(PAUSE)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning: the budget is the point
            W, b, n_iter = fit()
        seconds = time.perf_counter() - t
        value = objective({"W": np.asarray(W, np.float64), "b": np.asarray(b, np.float64)}, X, y).loss
        runs[name] = seconds
        print(f"{name:34} {seconds:7.2f} s  {n_iter} iterations  objective {value:.8f}")
    fastest = min(v for k, v in runs.items() if k.startswith("scikit-learn"))
    print(f"linclass / scikit-learn (its faster thread setting): {runs['linclass L-BFGS'] / fastest:.2f}")


def interleaved(fns: dict, repeats: int) -> dict:
    """Best and median seconds of each function, run in turns so that all see the same machine load."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            time.sleep(PAUSE)
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: (min(ts), float(np.median(ts))) for name, ts in times.items()}


def stages(X, y, C: int, repeats: int = 3) -> dict:
    """Milliseconds per epoch of each stage of a step, each timed alone over the epoch's batches, on one thread."""
    N, D = X.shape
    order = np.random.default_rng(0).permutation(N)
    batches = [order[s:s + BATCH] for s in range(0, N - BATCH + 1, BATCH)]
    W, b = LinearModel.init(D, C, seed=0).params.values()
    Xb, yb = X[batches[0]], y[batches[0]]
    scores = Xb @ W + b
    _, dscores = softmax_loss(scores, yb)
    out = np.empty_like(Xb)
    params = {"W": W, "b": b}
    grads = {"W": W.copy(), "b": b.copy()}
    sgd = get_optimizer("sgd", learning_rate=LR)
    state = sgd.init(params)
    parts = {
        "gather the batch's rows, X[idx]": lambda i: X[batches[i]],
        "the same into one reused buffer": lambda i: np.take(X, batches[i], axis=0, out=out, mode="clip"),
        "read the batch's bytes in place (bound)": lambda i: X[i * BATCH:(i + 1) * BATCH].sum(axis=0),
        "forward X_b W + b": lambda i: Xb @ W + b,
        "backward X_bᵀ dscores": lambda i: Xb.T @ dscores,
        "backward (dscoresᵀ X_b)ᵀ, the fused step's layout": lambda i: dscores.T @ Xb,
        "softmax loss and its checks": lambda i: softmax_loss(scores, yb),
        "SGD update (optimizer.update + apply)": lambda i: sgd.update(grads, state, params),
    }
    result = {}
    with threadpool_limits(limits=1):  # as each of the fused step's workers runs them
        for name, step in parts.items():
            def run(step=step):
                for i in range(len(batches)):
                    step(i)
            result[name] = interleaved({name: run}, repeats)[name][0] * 1e3 * (N / BATCH) / len(batches)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=49_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", default=str(CIFAR), help="CIFAR-10 archive (default: ../shared/data/...)")
    ap.add_argument("--stages", action="store_true", help="also time each stage of a step alone")
    ap.add_argument("--sklearn", action="store_true", help="also time scikit-learn's SGDClassifier (slow)")
    ap.add_argument("--lbfgs", type=int, metavar="K", help="instead: K iterations of L-BFGS against scikit-learn's")
    ap.add_argument("--to-accuracy", type=float, metavar="ACC",
                    help="instead: train's image defaults against PyTorch's loop, seconds to ACC validation accuracy")
    args = ap.parse_args()
    if args.to_accuracy and torch is None:
        ap.error("--to-accuracy races PyTorch's loop: pip install torch (CPU)")

    if args.to_accuracy:
        splits = cifar_splits(args.data, args.n)
        (X, y), what = splits["train"], f"CIFAR-10 pixels ({args.data})"
    else:
        X, y, what = design_matrix(args.data, args.n)
    N, D = X.shape
    C = int(y.max()) + 1
    blas = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} kernel, {i.get('num_threads')} threads"
            for i in threadpool_info()]
    print(f"data: {what}; N={N} D={D} C={C} batch={BATCH}; X = {X.nbytes / 1e6:.0f} MB float32")
    print(f"BLAS: {'; '.join(dict.fromkeys(blas))}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
          f"; cores={os.cpu_count()}")
    if args.lbfgs:
        print(f"load average: {os.getloadavg()[0]:.2f} before")
        lbfgs_compare(X, y, C, args.lbfgs)
        print(f"load average: {os.getloadavg()[0]:.2f} after")
        return
    if args.to_accuracy:
        print(f"load average: {os.getloadavg()[0]:.2f} before")
        to_accuracy(splits, C, args.to_accuracy)
        return
    v = np.ones(D, np.float32)
    fns = {"bound: X @ v": lambda: X @ v, "bound: X.sum(axis=0)": lambda: X.sum(axis=0)}
    for threads in (None, 1):
        fns[f"minimal NumPy loop, {threads or 'default'} BLAS thr."] = minimal_epoch(X, y, C, threads)
    if torch is not None:
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads by default")
        for threads in (torch.get_num_threads(), 1):
            fns[f"PyTorch loop, {threads} thr."] = torch_epoch(X, y, C, threads)
    else:
        print("PyTorch not installed: pip install torch (CPU) to compare")
    for shuffle in ("rows", "blocks"):
        fns[f"linclass --shuffle {shuffle}"] = linclass_epoch(X, y, C, shuffle)
    if args.sklearn:
        fns["scikit-learn SGDClassifier"] = sklearn_epoch(X, y, C)
    load = os.getloadavg()[0]
    if args.stages:
        for name, ms in stages(X, y, C).items():
            print(f"  stage: {name:42} {ms:6.1f} ms per epoch")
    t = interleaved(fns, args.repeats)
    print(f"load average: {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    bound = min(t.pop("bound: X @ v")[0], t.pop("bound: X.sum(axis=0)")[0])
    print(f"{'the bound: read X once':38} best {bound * 1e3:6.0f} ms  ({X.nbytes / bound / 1e9:.1f} GB/s)")
    peers = {}  # each peer at its faster thread setting
    for name, (best, _) in t.items():
        peer = name.split(",")[0]
        if not name.startswith("linclass") and best < peers.get(peer, (np.inf,))[0]:
            peers[peer] = (best, name)
    for name, (best, median) in t.items():
        ratios = "  ".join(f"/ {peer.split()[0]} {best / fastest:.2f}" for peer, (fastest, _) in peers.items()
                           if name.startswith("linclass"))
        print(f"{name:38} best {best * 1e3:6.0f} ms, median {median * 1e3:6.0f} ms, {best / bound:5.1f}× the bound  "
              f"{ratios}")
    print("ratios: linclass's best over each peer's best at its faster thread setting "
          f"({', '.join(name for _, name in peers.values())})")


if __name__ == "__main__":
    main()
