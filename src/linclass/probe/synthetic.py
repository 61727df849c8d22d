"""Synthetic embeddings for tests and benchmarks: Gaussian classes with an interior optimum.

Class means are ``separation · randn(C, D)``; each row is its class mean plus
unit Gaussian noise, so a linear probe is right about half the time (20 classes,
D = 256, the default separation): neither separable nor hopeless, the regime where
λ matters. :func:`write` streams the rows to ``X.npy`` (or shards) chunk by chunk,
so files larger than memory can be made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import persist


def embeddings(n: int, d: int, classes: int, *, seed: int = 0, split: int = 0, separation: float = 0.15,
               dtype=np.float32, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X (n, d), y (n,))``: rows ``start …`` of split ``split`` (0 train, 1 val, 2 test…) of data set ``seed``.

    Every split shares the class means of ``seed``; rows are reproducible chunk by chunk.
    """
    means = separation * np.random.default_rng([seed, 0]).standard_normal((classes, d))
    rng = np.random.default_rng([seed, 1 + split, start])
    y = rng.integers(0, classes, n)
    X = means[y] + rng.standard_normal((n, d))
    return X.astype(dtype), y


def write(directory, n: int, d: int, classes: int, *, seed: int = 0, dtype=np.float32, shards: int = 1,
          chunk: int = 65536, **options) -> Path:
    """``directory/X.npy`` (or ``X-00000.npy``… with ``shards`` > 1) and ``y.npy``, streamed chunk by chunk.

    The directory is written whole or not at all (:func:`~linclass.persist.atomic_write_dir`: an old one
    is replaced); rows are the same however they are sharded.
    """
    bounds = [int(v) for v in np.linspace(0, n, shards + 1)]
    names = ["X.npy"] if shards == 1 else [f"X-{k:05d}.npy" for k in range(shards)]
    labels = np.empty(n, dtype=np.int64)

    def rows(lo: int, hi: int):
        def write_rows(f):
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                      "shape": (hi - lo, d)}
            np.lib.format.write_array_header_1_0(f, header)
            for a in range(lo - lo % chunk, hi, chunk):  # the global chunks overlapping [lo, hi)
                b = min(a + chunk, n)
                X, labels[a:b] = embeddings(b - a, d, classes, seed=seed, dtype=dtype, start=a, **options)
                f.write(X[max(a, lo) - a:min(b, hi) - a].tobytes())
        return write_rows

    files = {name: rows(lo, hi) for name, lo, hi in zip(names, bounds[:-1], bounds[1:])}
    files["y.npy"] = lambda f: np.save(f, labels)  # after the rows, which fill it
    return persist.atomic_write_dir(directory, files)
