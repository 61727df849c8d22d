"""``linclass knn``: k-nearest neighbours with k chosen by cross-validation, plus its plot."""

from __future__ import annotations

import time

import numpy as np

from ..datasets.splits import subset
from ..design import Design
from ..errors import ParameterError
from ..knn import best_k, cross_validate_k, knn_predict
from ..persist import write_json
from ..report.plots import knn_curve
from ._common import Output, add_command
from .data_options import add_data_options, load_from_args
from .outdir import default_out, output_dir

DEFAULT_KS = "1,3,5,8,10,12,15,20,50,100"


def register(subparsers, common):
    p = add_command(subparsers, common, "knn")
    add_data_options(p)
    g = p.add_argument_group("k-nearest neighbours")
    g.add_argument("--k", default=DEFAULT_KS, metavar="K1,K2,...",
                   help=f"k values to cross-validate (default {DEFAULT_KS}; those above a fold's size are refused)")
    g.add_argument("--metric", choices=["l2", "l1"], default="l2", help="distance (default l2)")
    g.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    g.add_argument("--train-size", type=int, default=5000, metavar="N",
                   help="training images for cross-validation, a stratified seeded subset of the training "
                        "and validation splits (default 5000, as in the course)")
    g.add_argument("--test-size", type=int, default=None, metavar="N",
                   help="test images, a stratified seeded subset (default: the whole test split)")
    g.add_argument("--chunk-size", type=int, default=None, metavar="ROWS",
                   help="query rows per distance block (default: about 64 MiB of work arrays)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", metavar="DIR", help="output directory for knn_cv.png and knn.json "
                   "(default: runs/knn-<dataset>-<time>)")
    p.set_defaults(run=run)


def parse_ks(text: str) -> list[int]:
    """``"1,3,5"`` → ``[1, 3, 5]`` (sorted, without repeats)."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ParameterError(f"--k must be comma-separated integers like 1,3,5,10, got {text!r}.") from None
    if not ks or ks[0] < 1:
        raise ParameterError(f"--k needs positive integers like 1,3,5,10, got {text!r}.")
    return ks


def _pools(dataset, train_size, test_size, seed):
    """Flattened float32 ``(X_train, y_train, X_test, y_test)``; CV replaces the validation split."""
    for name, n in (("--train-size", train_size), ("--test-size", test_size)):
        if n is not None and n < 1:
            raise ParameterError(f"{name} must be a positive number of examples, got {n}.")
    X_pool = np.concatenate([dataset.X_train, dataset.X_val])
    y_pool = np.concatenate([dataset.y_train, dataset.y_val])
    X_train, y_train = subset(X_pool, y_pool, train_size, seed)
    X_test, y_test = dataset.X_test, dataset.y_test
    if test_size is not None:
        X_test, y_test = subset(X_test, y_test, test_size, seed)
    design = Design()  # raw pixels, no preprocessing: distances between the images themselves
    return design.transform(X_train), y_train, design.transform(X_test), y_test


def run(args) -> Output:
    ks = parse_ks(args.k)
    dataset = load_from_args(args)
    X_train, y_train, X_test, y_test = _pools(dataset, args.train_size, args.test_size, args.seed)
    with output_dir(args.out or default_out(f"knn-{dataset.name}")) as out:
        start = time.perf_counter()
        accuracies = cross_validate_k(X_train, y_train, ks, folds=args.folds, metric=args.metric,
                                      seed=args.seed, chunk_size=args.chunk_size)
        cv_seconds = time.perf_counter() - start
        k = best_k(accuracies)
        start = time.perf_counter()
        y_pred = knn_predict(X_train, y_train, X_test, k, args.metric, n_classes=dataset.n_classes,
                             chunk_size=args.chunk_size)
        test_seconds = time.perf_counter() - start
        test_accuracy = float(np.mean(y_pred == y_test))

        plot = knn_curve(ks, accuracies, out / "knn_cv.png")
        summary = {
            "dataset": dataset.name, "metric": args.metric, "folds": args.folds, "seed": args.seed,
            "n_train": int(y_train.size), "n_test": int(y_test.size), "n_features": int(X_train.shape[1]),
            "cross_validation": {str(k_): {"folds": [float(a) for a in accuracies[k_]],
                                           "mean": float(np.mean(accuracies[k_])),
                                           "std": float(np.std(accuracies[k_]))} for k_ in ks},
            "best_k": int(k), "test_accuracy": test_accuracy,
            "cv_seconds": round(cv_seconds, 3), "test_seconds": round(test_seconds, 3),
            "plot": str(plot), "notes": list(dataset.notes),
        }
        write_json(out / "knn.json", summary)

    lines = [f"k-nearest neighbours on {dataset.name}: {y_train.size:,} training examples, "
             f"{args.folds}-fold cross-validation, {args.metric.upper()} distance",
             f"{'k':>5}  {'mean acc.':>9}  {'± std':>7}   folds"]
    for k_ in ks:
        folds = " ".join(f"{a:.3f}" for a in accuracies[k_])
        mark = "  <- best" if k_ == k else ""
        lines.append(f"{k_:>5}  {np.mean(accuracies[k_]):9.4f}  {np.std(accuracies[k_]):7.4f}   {folds}{mark}")
    lines += [f"best k = {k}: test accuracy {test_accuracy:.4f} on {y_test.size:,} test examples "
              f"(cross-validation {cv_seconds:.1f} s, test {test_seconds:.1f} s)",
              f"plot: {plot}", f"results: {out / 'knn.json'}"]
    lines += [f"note: {n}" for n in dataset.notes]
    return Output("\n".join(lines), summary)
