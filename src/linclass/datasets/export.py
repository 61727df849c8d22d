"""The official CIFAR-10 written out as class folders of image files, with a checksum list.

:func:`export_cifar10` takes the verified official release (:func:`linclass.datasets.cifar10.load_cifar10`:
downloaded once, checksum, progress bar) and writes::

    DIR/train/<class>/NNNN.jpg   5,000 per class, in the official order
    DIR/test/<class>/NNNN.jpg    1,000 per class
    DIR/SHA256SUMS               one line per image: "<sha256>  train/airplane/0000.jpg" (``sha256sum -c``)

JPEG is Pillow's default encoder at quality 75 (4:2:0), the settings of the JPEG copy the
benchmarks use; PNG keeps the official pixels exactly. The folder appears all at once
(:func:`linclass.persist.atomic_write_dir`): an interrupted export leaves nothing behind.
The digest of the result is the SHA-256 of ``SHA256SUMS``; two exports agree on it when
their Pillow (libjpeg / zlib) builds encode alike.

Conventions: images (N, 32, 32, 3) uint8 in (row, column, RGB) order; labels int64 in [0, 10).
"""

from __future__ import annotations

import hashlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError
from ..persist import atomic_write_dir
from .cifar10 import load_cifar10
from .download import file_checksum

FORMATS = {"jpg": ("JPEG", {"quality": 75}), "png": ("PNG", {})}
"""``--format`` → (Pillow format, encoder options)."""
SUMS_NAME = "SHA256SUMS"


@dataclass(frozen=True)
class Export:
    """What :func:`export_cifar10` wrote: the folder, its image counts and the digest of its checksum list."""

    path: Path
    format: str
    n_train: int
    n_test: int
    class_names: list
    digest: str


def encode(image: np.ndarray, fmt: str) -> bytes:
    """One (H, W, 3) uint8 image as the bytes of a ``fmt`` file (``jpg`` or ``png``)."""
    name, options = FORMATS[fmt]
    out = io.BytesIO()
    Image.fromarray(image).save(out, name, **options)
    return out.getvalue()


def file_names(labels: np.ndarray, class_names: list, split: str, fmt: str) -> list[str]:
    """``split/<class>/NNNN.fmt`` for each label, numbered within its class in the given order."""
    seen = [0] * len(class_names)
    names = []
    for label in labels.tolist():
        names.append(f"{split}/{class_names[label]}/{seen[label]:04d}.{fmt}")
        seen[label] += 1
    return names


def _check_destination(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} is a file; give a new folder for the export, e.g. data/cifar10-jpg.")
    if path.is_dir() and any(path.iterdir()):
        raise InputError(f"{path} exists and is not empty; give a new folder (or delete {path} to export "
                         "again).")


def export_cifar10(dest, fmt: str = "jpg", *, data_dir=None, mirror=None, progress: bool = True) -> Export:
    """The official CIFAR-10 (downloaded once into ``data_dir``) written to ``dest`` as class folders of ``fmt``.

    ``dest`` must not exist or be empty. Returns an :class:`Export`; raises :class:`DataError`
    (from the download) or :class:`InputError` (``dest`` in the way, unknown ``fmt``).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown image format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    dest = Path(dest)
    _check_destination(dest)
    X_train, y_train, X_test, y_test, class_names = load_cifar10(data_dir, mirror=mirror, progress=progress)
    images = {}  # file name → (images, row): encoded only while the folder is written
    for split, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        images.update({name: (X, k) for k, name in enumerate(file_names(np.asarray(y), class_names, split, fmt))})
    sums = {}  # file name → SHA-256 of its bytes, filled in as the images are written

    def image_writer(name, X, k):
        def write(f):
            data = encode(np.asarray(X[k]), fmt)
            sums[name] = hashlib.sha256(data).hexdigest()
            f.write(data)
        return write

    if progress:
        print(f"writing {len(images):,} {fmt} files to {dest} ...", file=sys.stderr, flush=True)
    files = {name: image_writer(name, X, k) for name, (X, k) in images.items()}
    # the last entry: atomic_write_dir writes in order, so every image is hashed before it
    files[SUMS_NAME] = lambda f: f.write("".join(f"{sums[n]}  {n}\n" for n in sorted(sums)).encode())
    atomic_write_dir(dest, files, many=True)
    return Export(dest, fmt, len(y_train), len(y_test), list(class_names),
                  file_checksum(dest / SUMS_NAME, "sha256"))
