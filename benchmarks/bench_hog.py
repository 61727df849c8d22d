"""HOG speed: linclass's batch HOG vs ``skimage.feature.hog`` image by image, in one run.

Run from the repository root (reads ../shared/data/cifar10-jpg.tar.gz by default)::

    .venv/bin/python benchmarks/bench_hog.py
    .venv/bin/python benchmarks/bench_hog.py --n 10000 --repeat 3

Both get the same grayscale images: ``to_gray(X, "bt709")`` (skimage's rgb2gray
weights, float32). skimage runs on one core over the precomputed grayscale
images; linclass's ``HOG(gray="bt709")`` runs on the uint8 RGB batch, so its time
includes the grayscale conversion. Each figure is the best of ``--repeat`` runs;
the largest difference between the two outputs is printed as well. The BLAS
library in use, ``OPENBLAS_CORETYPE`` and the load average are printed too
(HOG uses no BLAS; other jobs on the cores slow both sides).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10-jpg.tar.gz"
SETTINGS = [(8, 9, 1, "L2-Hys"), (8, 9, 2, "L2-Hys"), (4, 9, 2, "L2-Hys")]


def load_test_images(path: Path, n: int) -> np.ndarray:
    """The first ``n`` test images (all classes, in archive order), decoded with Pillow."""
    import io

    from PIL import Image
    out = []
    with tarfile.open(path) as tf:
        for m in tf:
            if m.isfile() and "/test/" in f"/{m.name}" and m.name.lower().endswith((".jpg", ".jpeg", ".png")):
                out.append(np.asarray(Image.open(io.BytesIO(tf.extractfile(m).read())).convert("RGB")))
    out = np.stack(out)
    rng = np.random.default_rng(0)
    return out[np.sort(rng.permutation(len(out))[:n])]


def best_of(fn, repeat):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--n", type=int, default=10_000, help="test images to use (default 10,000)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if not args.data.exists():
        sys.exit(f"{args.data} not found: this benchmark needs the CIFAR-10 JPEG archive.")
    from skimage.feature import hog as skimage_hog
    from threadpoolctl import threadpool_info

    from linclass.features import HOG, to_gray

    X = load_test_images(args.data, args.n)
    gray = to_gray(X, "bt709")                                # (N, 32, 32) float32, as HOG(gray="bt709")
    print(f"images: {X.shape} from {args.data.name}; CPU: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; load average {os.getloadavg()}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}; BLAS: "
          + "; ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} x{i['num_threads']}"
                      for i in threadpool_info() if i["user_api"] == "blas"))
    print(f"{'cell':>4} {'bins':>4} {'block':>5} {'norm':>7} | {'skimage img/s':>13} {'linclass img/s':>14} "
          f"{'speed-up':>8} | max |diff|")
    for cell, n, block, norm in SETTINGS:
        t_sk, ref = best_of(lambda cell=cell, n=n, block=block, norm=norm: np.stack(
            [skimage_hog(g, orientations=n, pixels_per_cell=(cell, cell),
                                                          cells_per_block=(block, block), block_norm=norm)
                                              for g in gray]), max(1, args.repeat - 1))
        est = HOG(cell=cell, orientations=n, block=block, block_norm=norm, gray="bt709").fit(X[:1])
        t_ours, ours = best_of(lambda est=est: est.transform(X), args.repeat)
        diff = float(np.abs(ours - ref).max())
        print(f"{cell:>4} {n:>4} {block:>5} {norm:>7} | {len(X) / t_sk:13,.0f} {len(X) / t_ours:14,.0f} "
              f"{t_sk / t_ours:7.1f}x | {diff:.1e}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
