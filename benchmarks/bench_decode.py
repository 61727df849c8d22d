"""Decode speed of image archives: first load, cached load, and a one-core Pillow baseline.

Run from the repository root (reads ../shared/data/cifar10-jpg.tar.gz by default)::

    .venv/bin/python benchmarks/bench_decode.py
    .venv/bin/python benchmarks/bench_decode.py --executors    # also threads vs processes

Prints, for the same files in one run:
  * the peer figure: Pillow decoding every image on one core in a single process
    (``Image.open(...).convert("RGB")``), after reading the archive;
  * optionally the same decoding by a pool of threads and a pool of processes;
  * ``load_image_folder`` into an empty cache (first load: list, read, decode in
    parallel, split, write the .npy cache) and again (cached load: memory-mapped).
The machine's load average is printed too: other work on the cores slows the
wall-clock figures, the CPU seconds less so. For the pools, CPU is the decoding
threads' own CPU time summed: threads that wait for the GIL show wall >> CPU / n.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10-jpg.tar.gz"


def read_tar(path) -> list[bytes]:
    with tarfile.open(path) as tf:
        return [tf.extractfile(m).read() for m in tf if m.isfile() and not Path(m.name).name.startswith(".")]


def pillow_one_core(blobs) -> np.ndarray:
    """The baseline: decode every image in this process, one after the other."""
    from PIL import Image

    return np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs])


def cpu_of_chunk(chunk, size) -> float:
    """Decode one chunk as the loader does; return the CPU seconds it took (thread or process)."""
    from linclass.datasets.folder import decode_chunk

    start = time.thread_time()
    decode_chunk(chunk, size)
    return time.thread_time() - start


def pooled(blobs, pool, workers, size) -> tuple[float, float]:
    """``(wall seconds, CPU seconds summed over the pool)`` to decode ``blobs`` in chunks."""
    per_chunk = max(8, min(512, -(-len(blobs) // (4 * workers))))
    chunks = [blobs[i:i + per_chunk] for i in range(0, len(blobs), per_chunk)]
    t = time.perf_counter()
    with pool:
        cpu = sum(pool.map(cpu_of_chunk, chunks, [size] * len(chunks)))
    return time.perf_counter() - t, cpu


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT), help="an image folder or archive")
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: all cores)")
    parser.add_argument("--executors", action="store_true", help="also time a thread pool vs a process pool")
    args = parser.parse_args(argv)
    path = Path(args.path)
    if not path.exists():
        print(f"skipped: {path} not found (see ../shared/data/README.md)")
        return 0
    import multiprocessing

    import sklearn.model_selection  # noqa: F401 - imported beforehand, as any training run does

    from linclass.datasets.folder import default_workers, load_image_folder

    workers = args.workers or default_workers()
    print(f"data: {path} ({path.stat().st_size / 1e6:.1f} MB); cores: {default_workers()}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    if path.is_file() and tarfile.is_tarfile(path):
        blobs, wall, _ = timed(lambda: read_tar(path))
        print(f"read the archive (tarfile, one core):             {wall:6.2f} s  ({len(blobs):,} files)")
        images, wall, cpu = timed(lambda: pillow_one_core(blobs))
        print(f"peer: Pillow decode, one core, single process:    {wall:6.2f} s  (cpu {cpu:.2f} s)")
        if args.executors:  # alternate the two, best of 3: other work on the cores skews single runs
            size, ctx = images.shape[1:3], multiprocessing.get_context("forkserver")
            best = {"threads": [], "processes (incl. pool start)": []}
            for _ in range(3):
                best["threads"].append(pooled(blobs, ThreadPoolExecutor(workers), workers, size))
                best["processes (incl. pool start)"].append(
                    pooled(blobs, ProcessPoolExecutor(workers, mp_context=ctx), workers, size))
            for kind, runs in best.items():
                wall, cpu = min(runs)
                print(f"decode, {workers} {kind}, best of 3: {wall:6.2f} s, cpu {cpu:.2f} s "
                      f"(walls: {', '.join(f'{w:.2f}' for w, _ in runs)})")
        del blobs, images
    with tempfile.TemporaryDirectory() as cache:
        ds, wall, cpu = timed(lambda: load_image_folder(path, data_dir=cache, workers=args.workers))
        print(f"first load (empty cache, {workers} processes):       {wall:6.2f} s  "
              f"(main-process cpu {cpu:.2f} s)")
        ds2, wall, cpu = timed(lambda: load_image_folder(path, data_dir=cache, workers=args.workers))
        print(f"second load (from the .npy cache, mmap):          {wall:6.2f} s  (cpu {cpu:.2f} s)")
    n = ds.y_train.size + ds.y_val.size + ds.y_test.size
    assert np.array_equal(ds.X_test, ds2.X_test)
    print(f"images: {n:,} of {ds.image_shape}, {ds.n_classes} classes; "
          f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
