"""k-nearest neighbours on CIFAR-10 (JPEG copy), as in the lecture's recap.

5,000 training images (stratified, seeded) for 5-fold cross-validation over the
k list, then the best k on test images (stratified, seeded); wall times; and, in
the same run, linclass's distance computation against
``sklearn.metrics.pairwise_distances`` on the same test × train matrices (best of
3, for float32 pixels as linclass passes them and for float64 copies).

Data: ``../shared/data/cifar10-jpg.tar.gz`` from the project root (or ``--data``);
decoded by ``linclass.datasets.load_dataset(data=...)`` when that exists, else
with Pillow directly. Exits with a clear message (code 0) when the file is absent.

Usage: python benchmarks/bench_knn.py [--metric l2|l1] [--train-size 5000] [--test-size 1000]
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"
KS = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]


def read_jpeg_tar(path):
    """``(X_train, y_train, X_test, y_test, class_names)`` from train|test/<class>/*.jpg with Pillow."""
    from PIL import Image

    parts = {"train": ([], []), "test": ([], [])}
    names = set()
    with tarfile.open(path) as tf:
        for member in tf:
            bits = Path(member.name).parts[-3:]
            if not member.isfile() or len(bits) != 3 or bits[0] not in parts or not bits[2].endswith(".jpg"):
                continue
            names.add(bits[1])
            with Image.open(io.BytesIO(tf.extractfile(member).read())) as img:
                parts[bits[0]][0].append(np.asarray(img.convert("RGB")))
            parts[bits[0]][1].append(bits[1])
    classes = sorted(names)
    index = {c: i for i, c in enumerate(classes)}
    (Xtr, ytr), (Xte, yte) = parts["train"], parts["test"]
    return (np.stack(Xtr), np.array([index[c] for c in ytr]), np.stack(Xte), np.array([index[c] for c in yte]),
            classes)


def load(path, seed):
    try:
        from linclass.datasets import load_dataset
    except ImportError:
        return read_jpeg_tar(path) + ("Pillow (direct)",)
    ds = load_dataset(data=str(path), seed=seed)
    return (np.concatenate([ds.X_train, ds.X_val]), np.concatenate([ds.y_train, ds.y_val]),
            ds.X_test, ds.y_test, ds.class_names, "linclass.datasets.load_dataset")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--metric", choices=["l2", "l1"], default="l2")
    ap.add_argument("--train-size", type=int, default=5000)
    ap.add_argument("--test-size", type=int, default=1000)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default=None, help="also save the accuracy-vs-k plot here (PNG)")
    args = ap.parse_args()
    if not Path(args.data).is_file():
        print(f"SKIPPED: CIFAR-10 JPEG copy not found at {args.data}; pass --data PATH.")
        return 0

    from sklearn.metrics import pairwise_distances as sk_pairwise_distances
    from threadpoolctl import threadpool_info

    from linclass.datasets.splits import subset
    from linclass.knn import best_k, cross_validate_k, knn_predict, pairwise_distances
    from linclass.preprocess import flatten

    (X_pool, y_pool, X_test_all, y_test_all, classes, how), t_load = timed(lambda: load(args.data, args.seed))
    X_train, y_train = subset(X_pool, y_pool, args.train_size, args.seed)
    X_test, y_test = subset(X_test_all, y_test_all, args.test_size, args.seed)
    X_train, X_test = flatten(X_train), flatten(X_test)                  # (N, 3072) float32
    blas = [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()]
    print(f"CIFAR-10 (JPEG copy) decoded by {how} in {t_load:.1f} s; train {X_train.shape}, test {X_test.shape}, "
          f"{len(classes)} classes; metric {args.metric}; BLAS {blas}")

    acc, t_cv = timed(lambda: cross_validate_k(X_train, y_train, KS, folds=args.folds, metric=args.metric,
                                               seed=args.seed))
    print(f"{args.folds}-fold cross-validation over k = {KS}: {t_cv:.1f} s")
    for k in KS:
        print(f"  k={k:>3}  {np.mean(acc[k]):.4f} ± {np.std(acc[k]):.4f}   "
              + " ".join(f"{a:.3f}" for a in acc[k]))
    k = best_k(acc)
    y_pred, t_test = timed(lambda: knn_predict(X_train, y_train, X_test, k, args.metric))
    print(f"best k = {k}: test accuracy {np.mean(y_pred == y_test):.4f} on {y_test.size} test images "
          f"({t_test:.2f} s)")
    if args.plot:
        from linclass.report.plots import knn_curve
        print(f"plot: {knn_curve(KS, acc, args.plot)}")

    sk_metric = {"l2": "euclidean", "l1": "manhattan"}[args.metric]
    for label, A, B in (("float32 input", X_test, X_train),
                        ("float64 input", X_test.astype(np.float64), X_train.astype(np.float64))):
        ours = min((timed(lambda A=A, B=B: pairwise_distances(A, B, args.metric)) for _ in range(3)),
                   key=lambda r: r[1])
        ref = min((timed(lambda A=A, B=B: sk_pairwise_distances(A, B, metric=sk_metric)) for _ in range(3)),
                  key=lambda r: r[1])
        err = np.max(np.abs(ours[0] - ref[0]) / np.maximum(ref[0], 1e-12))
        print(f"distances {A.shape[0]}x{B.shape[0]}x{B.shape[1]} ({args.metric}, {label}): linclass "
              f"{ours[1]:.3f} s, sklearn.metrics.pairwise_distances {ref[1]:.3f} s, ratio linclass/sklearn "
              f"{ours[1] / ref[1]:.2f}; max relative difference {err:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
