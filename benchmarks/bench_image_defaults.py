"""The image defaults (``linclass.defaults`` / ``settings.DEFAULTS["images"]``) on more than CIFAR-10, one run each.

Every data set goes through ``linclass train --data PATH`` (so the ``images`` defaults apply: momentum,
lr 1e-3, λ 1e-2, 20 epochs of 256, standardized pixels) twice, with ``--schedule cosine`` (the default)
and ``--schedule constant``; scikit-learn's ``LogisticRegression()`` on the same standardized
training pixels is the reference. The data sets:

- scikit-learn's digits (1,797 8×8 grey images), written as a folder of PNG files;
- scikit-image's ``lfw_subset`` (200 25×25 grey crops: 100 faces, 100 not faces; bundled with the
  package), written as a folder of PNG files;
- a stratified subset of the CIFAR-10 JPEG copy (``--cifar``, ``--subset``).

    python benchmarks/bench_image_defaults.py --cifar ../shared/data/cifar10-jpg.tar.gz --subset 5000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.data import lfw_subset
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from linclass.cli import main
from linclass.datasets import load_dataset
from linclass.preprocess import Preprocessor

SCHEDULES = ("cosine", "constant")


def write_folder(root: Path, images, labels, names) -> Path:
    """``root/<class>/NNNN.png``: uint8 grey images (N, H, W)."""
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:05d}.png")
    return root


def digits_folder(root: Path) -> Path:
    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return write_folder(root / "digits", images, digits.target, [str(c) for c in range(10)])


def lfw_folder(root: Path) -> Path:
    images = np.rint(lfw_subset() * 255).astype(np.uint8)  # (200, 25, 25) in [0, 1]
    labels = np.repeat([0, 1], 100)  # the first 100 are faces (skimage.data.lfw_subset)
    return write_folder(root / "lfw", images, labels, ["face", "not-face"])


def train(data: str, schedule: str, subset: int | None, out: Path) -> dict:
    argv = ["train", "--data", data, "--schedule", schedule, "--no-progress", "--json", "--out", str(out)]
    argv += ["--subset", str(subset)] if subset else []
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv) == 0, argv
    return json.loads(buf.getvalue())


def logistic_regression(data: str, subset: int | None) -> tuple[float, float]:
    """Validation and test accuracy of ``LogisticRegression()`` on the standardized training pixels."""
    ds = load_dataset(data=data, subset=subset)
    pre = Preprocessor.fit(ds.X_train, "standardize")
    clf = LogisticRegression(max_iter=1000).fit(pre.transform(ds.X_train), ds.y_train)
    return (float(clf.score(pre.transform(ds.X_val), ds.y_val)),
            float(clf.score(pre.transform(ds.X_test), ds.y_test)))


def main_(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cifar", help="the CIFAR-10 JPEG archive (left out: digits and lfw only)")
    ap.add_argument("--subset", type=int, default=5000, help="CIFAR-10 training images (default 5000)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = [("digits (8×8)", str(digits_folder(tmp)), None), ("lfw_subset (25×25)", str(lfw_folder(tmp)), None)]
        if args.cifar:
            sets.append((f"CIFAR-10, {args.subset} train", args.cifar, args.subset))
        print("| data | schedule | val | test | seconds |\n|---|---|---|---|---|")
        for name, data, subset in sets:
            for schedule in SCHEDULES:
                r = train(data, schedule, subset, tmp / f"run-{len(name)}-{schedule}")
                print(f"| {name} | {schedule} | {100 * r['val_accuracy']:.1f}% | {100 * r['test_accuracy']:.1f}% "
                      f"| {r['seconds']:.1f} |", flush=True)
            start = time.perf_counter()
            val, test = logistic_regression(data, subset)
            print(f"| {name} | LogisticRegression() | {100 * val:.1f}% | {100 * test:.1f}% "
                  f"| {time.perf_counter() - start:.1f} |", flush=True)


if __name__ == "__main__":
    main_()
