"""Default estimators against scikit-learn's defaults: test accuracy and fit time, 16 rows, one run.

scikit-learn's four bundled classification data sets (iris, wine, breast_cancer,
digits), each split 70/30 (stratified, ``random_state=0``), raw and with a
``StandardScaler`` in a pipeline; ``SoftmaxClassifier()`` against
``LogisticRegression()`` and ``LinearSVM()`` against ``LinearSVC()``, every one with
no arguments. Each fit is timed ``--repeats`` times (the median is reported, the
pipeline's scaler included); the totals compare the summed medians per pair.
ConvergenceWarnings are counted, not shown. Set ``OPENBLAS_NUM_THREADS=1`` for
steadier figures on a shared machine.

    python benchmarks/bench_defaults.py
    python benchmarks/bench_defaults.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_info

from linclass.estimators import LinearSVM, SoftmaxClassifier

DATASETS = {"iris": datasets.load_iris, "wine": datasets.load_wine,
            "breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits}
PAIRS = {"softmax": (SoftmaxClassifier(), LogisticRegression()), "svm": (LinearSVM(), LinearSVC())}


def timed_fit(estimator, X, y, X_test, y_test, repeats: int):
    """(test accuracy, median fit seconds, ConvergenceWarnings in the first fit)."""
    seconds, warned = [], 0
    for r in range(repeats):
        est = clone(estimator)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            start = time.perf_counter()
            est.fit(X, y)
            seconds.append(time.perf_counter() - start)
        if r == 0:
            warned = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return float(np.mean(est.predict(X_test) == y_test)), statistics.median(seconds), warned


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    blas = ", ".join(f"{i['internal_api']} {i.get('architecture', '')} {i['num_threads']} thread(s)"
                     for i in threadpool_info() if i["user_api"] == "blas")
    print(f"BLAS: {blas}; median of {args.repeats} fits; accuracy on the 30% test split")
    head = f"{'data set':14} {'features':8} {'pair':8} {'linclass':>9} {'sklearn':>9} {'Δ pts':>6} " \
           f"{'linclass s':>10} {'sklearn s':>10} {'ratio':>6}  warnings (ours/theirs)"
    print(head)
    totals = {name: [0.0, 0.0] for name in PAIRS}
    worst = 0.0
    for data_name, load in DATASETS.items():
        X, y = load(return_X_y=True)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        for scaled in (False, True):
            for pair, (ours, theirs) in PAIRS.items():
                if scaled:
                    ours, theirs = make_pipeline(StandardScaler(), ours), make_pipeline(StandardScaler(), theirs)
                a_ours, t_ours, w_ours = timed_fit(ours, X_tr, y_tr, X_te, y_te, args.repeats)
                a_theirs, t_theirs, w_theirs = timed_fit(theirs, X_tr, y_tr, X_te, y_te, args.repeats)
                totals[pair][0] += t_ours
                totals[pair][1] += t_theirs
                worst = min(worst, 100 * (a_ours - a_theirs))
                print(f"{data_name:14} {'scaled' if scaled else 'raw':8} {pair:8} {100 * a_ours:8.1f}% "
                      f"{100 * a_theirs:8.1f}% {100 * (a_ours - a_theirs):+6.1f} {t_ours:10.4f} {t_theirs:10.4f} "
                      f"{t_ours / t_theirs:6.2f}  {w_ours}/{w_theirs}", flush=True)
    for pair, (t_ours, t_theirs) in totals.items():
        print(f"total fit time, {pair}: linclass {t_ours:.3f} s, scikit-learn {t_theirs:.3f} s, "
              f"ratio {t_ours / t_theirs:.2f}")
    all_ours, all_theirs = (sum(t[i] for t in totals.values()) for i in (0, 1))
    print(f"total fit time, all 16: ratio {all_ours / all_theirs:.2f}; "
          f"worst accuracy difference {worst:+.1f} points")


if __name__ == "__main__":
    main()
