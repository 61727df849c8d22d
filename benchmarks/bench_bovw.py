"""Bag of visual words on CIFAR-10, end to end: decode, codebook, features, linear classifier, test accuracy.

Run from the repository root (reads ../shared/data/cifar10-jpg.tar.gz by default)::

    .venv/bin/python benchmarks/bench_bovw.py                                  # 1,600 words, triangle
    .venv/bin/python benchmarks/bench_bovw.py --augment flip --encoding soft
    .venv/bin/python benchmarks/bench_bovw.py --n-words 400 --subset 10000     # a quick dev run
    .venv/bin/python benchmarks/bench_bovw.py --features hog+hist --reg-strength 1e-4   # the same run with HOG + hue

Steps, each timed (wall clock): decode the archive with
``linclass.datasets.load_image_folder`` (no cache: the JPEGs are really decoded;
all 50,000 training images, the 10,000 test images); ``BagOfVisualWords.fit``
(random patches, normalization, ZCA, mini-batch k-means); features of the
training images (and their mirror images with ``--augment flip``) and of the
test images; standardization of the features (training statistics); a linear
classifier trained by linclass itself: ``linclass.Objective`` (softmax or the
squared-hinge SVM, L2 regularization ``--reg-strength``) minimized by
``linclass.optim.lbfgs`` (L-BFGS, ``--max-iter`` iterations, float32 data);
accuracy on the 10,000 test images. Peak memory is ``ru_maxrss`` of this
process (and of the decoding workers, separately).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from linclass import Objective
from linclass.datasets.folder import load_image_folder
from linclass.features import BagOfVisualWords, augment_flip, make_features
from linclass.optim import lbfgs
from linclass.preprocess import Preprocessor
from linclass.regularizers import L2

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10-jpg.tar.gz"


class Float32Objective:
    """An Objective evaluated with float32 parameters, so float32 data is never copied to float64."""

    def __init__(self, objective):
        self.objective = objective

    def __call__(self, params, X, y):
        return self.objective({k: np.asarray(v, np.float32) for k, v in params.items()}, X, y)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--features", choices=["bovw", "hog+hist"], default="bovw")
    ap.add_argument("--n-words", type=int, default=1600)
    ap.add_argument("--augment", choices=["none", "flip"], default="none")
    ap.add_argument("--encoding", choices=["triangle", "soft"], default="triangle")
    ap.add_argument("--alpha", type=float, default=0.25, help="soft threshold (--encoding soft)")
    ap.add_argument("--n-patches", type=int, default=200_000)
    ap.add_argument("--kmeans", choices=["minibatch", "lloyd"], default="minibatch")
    ap.add_argument("--kmeans-iter", type=int, default=10)
    ap.add_argument("--loss", choices=["softmax", "squared-svm"], default="softmax")
    ap.add_argument("--reg-strength", type=float, default=1e-3,
                    help="L2 strength λ in L = mean loss + λ·ΣW² (default 1e-3, on standardized features)")
    ap.add_argument("--max-iter", type=int, default=300, help="L-BFGS iterations")
    ap.add_argument("--n-jobs", type=int, default=2, help="threads encoding image chunks")
    ap.add_argument("--subset", type=int, default=None, help="stratified subset of training images (dev runs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = ap.parse_args(argv)
    if not args.data.exists():
        sys.exit(f"{args.data} not found: this benchmark needs the CIFAR-10 JPEG archive.")

    reg = args.reg_strength
    times, start = {}, time.perf_counter()

    def lap(name, t0):
        times[name] = round(time.perf_counter() - t0, 1)
        print(f"  {name:<22} {times[name]:8.1f} s", flush=True)
        return time.perf_counter()

    print(f"load average {os.getloadavg()}; BLAS: "
          + "; ".join(f"{i['internal_api']} {i.get('architecture')} x{i['num_threads']}"
                      for i in threadpool_info() if i["user_api"] == "blas"), flush=True)
    t = time.perf_counter()
    ds = load_image_folder(args.data, val_size=0, cache=False, subset=args.subset)
    X_train, y_train, X_test, y_test = ds.X_train, ds.y_train, ds.X_test, ds.y_test
    t = lap("decode", t)
    if args.features == "bovw":
        extractor = BagOfVisualWords(n_words=args.n_words, encoding=args.encoding, alpha=args.alpha,
                                     n_patches=args.n_patches, kmeans=args.kmeans, kmeans_iter=args.kmeans_iter,
                                     seed=args.seed, n_jobs=args.n_jobs).fit(X_train)
    else:
        extractor = make_features(args.features).fit(X_train)       # HOG(cell=8, block=2) + ColorHistogram(10)
    t = lap("fit features", t)
    if args.augment == "flip":
        X_train, y_train = augment_flip(X_train, y_train)
    F_train = extractor.transform(X_train)
    t = lap(f"features train ({len(X_train):,})", t)
    F_test = extractor.transform(X_test)
    t = lap(f"features test ({len(X_test):,})", t)
    del X_train
    scaler = Preprocessor.fit(F_train, "standardize")
    F_train -= scaler.mean
    F_train /= scaler.std                                     # in place: no second copy of the features
    F_test = scaler.transform(F_test)
    t = lap("standardize", t)
    D, C = F_train.shape[1], int(y_train.max()) + 1
    params = {"W": np.zeros((D, C), np.float32), "b": np.zeros(C, np.float32)}
    objective = Objective(args.loss, L2(), reg)
    result = lbfgs(Float32Objective(objective), F_train, y_train, params, max_iter=args.max_iter)
    t = lap(f"train ({args.loss}, L-BFGS)", t)
    scores_train = F_train @ result.params["W"] + result.params["b"]
    train_acc = float(np.mean(scores_train.argmax(1) == y_train))
    test_acc = float(np.mean((F_test @ result.params["W"] + result.params["b"]).argmax(1) == y_test))
    lap("test", t)
    total = time.perf_counter() - start
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    out = {"features": args.features, "n_words": args.n_words, "augment": args.augment,
           "encoding": args.encoding, "alpha": args.alpha,
           "n_patches": args.n_patches, "kmeans": args.kmeans, "kmeans_iter": args.kmeans_iter,
           "loss": args.loss, "reg": reg, "max_iter": args.max_iter, "lbfgs_iters": result.n_iter,
           "train_images": int(len(y_train)), "n_features": int(D), "train_accuracy": round(train_acc, 4),
           "test_accuracy": round(test_acc, 4), "seconds": times, "total_seconds": round(total, 1),
           "peak_rss_gb": round(peak_self, 2), "peak_rss_decode_workers_gb": round(peak_children, 2),
           "load_average_end": [round(v, 2) for v in os.getloadavg()]}
    print(f"test accuracy {test_acc:.2%} (train {train_acc:.2%}), {total:.0f} s end to end, "
          f"peak memory {peak_self:.2f} GB (+ decode workers {peak_children:.2f} GB)")
    print(json.dumps(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
