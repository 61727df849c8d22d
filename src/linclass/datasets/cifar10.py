"""CIFAR-10 from its official source (Krizhevsky, 2009), downloaded once, then memory-mapped.

``load_cifar10()`` downloads the official "CIFAR-10 python version" archive
https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (163 MB, md5
``c58f30108f718f92721af3b95e74349a`` as published on
https://www.cs.toronto.edu/~kriz/cifar.html), verifies it, reads the six
batches straight out of the tar (nothing is extracted to disk) with a
restricted unpickler that refuses any code in the pickles, and converts them
once to a cache of ``.npy`` files that later calls memory-map in milliseconds::

    <cache>/cifar-10-python.tar.gz         the verified official archive
    <cache>/cifar10-npy/X_train.npy        (50000, 32, 32, 3) uint8
    <cache>/cifar10-npy/y_train.npy        (50000,) int64
    <cache>/cifar10-npy/X_test.npy         (10000, 32, 32, 3) uint8
    <cache>/cifar10-npy/y_test.npy         (10000,) int64
    <cache>/cifar10-npy/meta.json          class names, counts, archive checksum, SHA-256 of each array

``<cache>`` is ``data_dir`` if given, else ``$LINCLASS_DATA``, else
``~/.cache/linclass`` (``$XDG_CACHE_HOME/linclass``); see
:func:`linclass.datasets.cache_dir`.

Without internet (placing the archive by hand)
----------------------------------------------
1. On a machine with internet, download
   https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (keep the name
   ``cifar-10-python.tar.gz``; do not unpack it).
2. Check it: ``md5sum cifar-10-python.tar.gz`` must print
   ``c58f30108f718f92721af3b95e74349a``.
3. Copy it into the cache directory, e.g.
   ``~/.cache/linclass/cifar-10-python.tar.gz`` or
   ``<data_dir>/cifar-10-python.tar.gz``.
4. Call ``load_cifar10(data_dir)``: the file is verified, nothing is
   downloaded. A local copy elsewhere can also be given as
   ``mirror="/path/to/cifar-10-python.tar.gz"`` (or an ``http(s)://`` mirror
   URL), which is tried before the official URL and verified the same way.

Conventions: N examples; images (N, 32, 32, 3) uint8 in (row, column, RGB)
order; labels int64 in [0, 10). The official rows are (N, 3072) channel-major:
the 1024 red values of the 32x32 image row by row, then green, then blue.
"""

from __future__ import annotations

import json
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError, ParameterError
from ..persist import array_digest, atomic_write_dir
from .base import cache_dir
from .download import NetworkError, download, file_checksum
from .safe_pickle import safe_loads

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
CACHE_NAME = "cifar10-npy"
BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_BATCH = "batches.meta"
IMAGE_SHAPE = (32, 32, 3)
_ROW = 32 * 32 * 3  # 3072 values per official row
_CACHE_FORMAT = 1
_ARRAYS = ("X_train", "y_train", "X_test", "y_test")


def load_cifar10(data_dir=None, *, url: str = OFFICIAL_URL, checksum: str = OFFICIAL_MD5,
                 mirror: str | os.PathLike | None = None, progress: bool = True,
                 expected_counts: tuple[int, int] | None = None):
    """CIFAR-10 as ``(X_train, y_train, X_test, y_test, class_names)``.

    Shapes: ``X_train`` (N_train, 32, 32, 3) uint8, ``y_train`` (N_train,)
    int64, ``X_test`` (N_test, 32, 32, 3) uint8, ``y_test`` (N_test,) int64,
    ``class_names`` a list of C=10 strings in label order (official: 50000 /
    10000 examples). The arrays are read-only memory maps of the ``.npy``
    cache; ``np.array(X)`` makes a writable copy.

    The archive is ``cache_dir(data_dir)/cifar-10-python.tar.gz``; it is
    downloaded (from ``mirror`` first when given, a URL or a local path, then
    ``url``) only when missing, and always verified against ``checksum`` (32
    hex digits: md5, 64: sha256). ``expected_counts=(n_train, n_test)``
    additionally checks the number of examples. Every problem (no network,
    checksum mismatch, truncated archive, missing batch, wrong shapes or
    dtypes, a pickle that asks to run code) raises :class:`DataError` naming
    the file and the fix.
    """
    algorithm = _algorithm_for(checksum)
    checksum = checksum.lower()
    root = cache_dir(data_dir)
    cache = root / CACHE_NAME
    cached = _load_cache(cache, checksum)
    if cached is None:
        archive = _verified_archive(root / ARCHIVE_NAME, url, mirror, checksum, algorithm, progress)
        arrays, class_names = read_archive(archive)
        try:
            _write_cache(cache, arrays, class_names, checksum, algorithm)
        except OSError as exc:
            raise DataError(f"could not write the CIFAR-10 cache {cache} ({exc}); free some disk "
                            "space or pass data_dir= a writable directory.") from None
        cached = _load_cache(cache, checksum)
        if cached is None:  # pragma: no cover - only if the disk loses what was just written
            raise DataError(f"the cache {cache} could not be read back; check the disk and delete it.")
    X_train, y_train, X_test, y_test, class_names = cached
    if expected_counts is not None and (len(y_train), len(y_test)) != tuple(expected_counts):
        raise DataError(
            f"CIFAR-10 in {cache} has {len(y_train)} training / {len(y_test)} test images, expected "
            f"{expected_counts[0]} / {expected_counts[1]}; delete {cache} and {root / ARCHIVE_NAME} "
            "and run again to download the official archive."
        )
    return X_train, y_train, X_test, y_test, class_names


def _algorithm_for(checksum: str) -> str:
    n = len(checksum or "")
    if n == 32:
        return "md5"
    if n == 64:
        return "sha256"
    raise ParameterError(f"checksum {checksum!r} is neither an md5 (32 hex digits) nor a sha256 "
                         "(64 hex digits); pass the checksum published with the archive.")


# ----------------------------------------------------------------------------- the archive
def _verified_archive(path: Path, url: str, mirror, checksum: str, algorithm: str,
                      progress: bool) -> Path:
    """``path`` verified against ``checksum``, downloaded first if missing."""
    if path.is_file():
        got = file_checksum(path, algorithm)
        if got != checksum:
            raise DataError(
                f"{path} fails its {algorithm} checksum: expected {checksum}, got {got}. It is "
                f"corrupt or not the official archive: delete it and run again to download it, "
                f"or place the official file from {OFFICIAL_URL} there by hand."
            )
        return path
    sources = [_as_url(mirror)] if mirror is not None else []
    sources.append(url)
    failures = []
    for source in sources:
        try:
            return download(source, path, checksum=checksum, algorithm=algorithm, progress=progress)
        except NetworkError as exc:
            failures.append(f"{source}: {exc.cause}")
    raise DataError(
        "CIFAR-10 could not be downloaded (" + "; ".join(failures) + "). Without internet, "
        f"download {OFFICIAL_URL} on another machine, check that its md5 is {OFFICIAL_MD5}, and "
        f"place it by hand as {path} (directory {path.parent}, file name {ARCHIVE_NAME}, not "
        "unpacked); or give a mirror (--mirror URL_OR_PATH, mirror= in Python): a local copy or another URL."
    )


def _as_url(mirror) -> str:
    """A mirror given as a local file, a directory holding the archive, or a URL."""
    text = os.fspath(mirror)
    if "://" in text:
        return text if text.endswith(".tar.gz") else text.rstrip("/") + "/" + ARCHIVE_NAME
    local = Path(text).expanduser()
    if local.is_dir():
        local = local / ARCHIVE_NAME
    return local.resolve().as_uri()


def read_archive(path) -> tuple[dict, list[str]]:
    """The official batches read from the ``.tar.gz`` at ``path``, without extracting it.

    Returns ``({"X_train", "y_train", "X_test", "y_test"}: arrays, class_names)``,
    images already (N, 32, 32, 3). Members are looked up by their exact names
    ``cifar-10-batches-py/<batch>`` and must be regular files, so no path in
    the archive ever reaches the file system.
    """
    path = Path(path)
    wanted = {f"{BATCH_DIR}/{name}": name for name in (*TRAIN_BATCHES, TEST_BATCH, META_BATCH)}
    parsed = {}  # batch name -> (images, labels); META_BATCH -> class names
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:  # one pass through the gzip stream, each batch parsed as it comes
                name = wanted.get(member.name.removeprefix("./"))
                if name is None:
                    continue
                if not member.isreg():
                    raise DataError(f"{path}: member {member.name} is not a regular file; the archive "
                                    f"is not the official one: delete it and download {OFFICIAL_URL}.")
                blob, source = tar.extractfile(member).read(), f"{path}:{member.name}"
                parsed[name] = _parse_meta(blob, source) if name == META_BATCH else _parse_batch(blob, source)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(
            f"{path} is truncated or corrupt ({type(exc).__name__}: {exc}); delete it and run again "
            f"to download a fresh copy from {OFFICIAL_URL}."
        ) from None
    missing = [f"{BATCH_DIR}/{n}" for n in (*TRAIN_BATCHES, TEST_BATCH, META_BATCH) if n not in parsed]
    if missing:
        raise DataError(
            f"{path} lacks {', '.join(missing)}; it is not the complete official CIFAR-10 python "
            f"archive: delete it and download {OFFICIAL_URL}."
        )
    class_names = parsed.pop(META_BATCH)
    for name, (_, labels) in parsed.items():
        if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
            raise DataError(f"{path}:{BATCH_DIR}/{name} has labels outside [0, {len(class_names)}) for "
                            f"{len(class_names)} classes; the archive is corrupt or not the official "
                            f"one: delete it and download {OFFICIAL_URL}.")
    train = [parsed[n] for n in TRAIN_BATCHES]
    arrays = {
        "X_train": np.concatenate([X for X, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "X_test": parsed[TEST_BATCH][0],
        "y_test": parsed[TEST_BATCH][1],
    }
    return arrays, class_names


def _to_images(rows: np.ndarray) -> np.ndarray:
    """(N, 3072) channel-major rows -> (N, 32, 32, 3) images: row[c*1024 + i*32 + j] = image[i, j, c]."""
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _field(batch: dict, key: str, source: str):
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise DataError(f"{source} has no {key!r} entry; the archive is not the official one: "
                    f"delete it and download {OFFICIAL_URL}.")


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _parse_meta(blob: bytes, source: str) -> list[str]:
    meta = safe_loads(blob, source=source)
    if not isinstance(meta, dict):
        raise DataError(f"{source} is a {type(meta).__name__}, not a dict; delete the archive and "
                        f"download {OFFICIAL_URL}.")
    names = _field(meta, "label_names", source)
    if (not isinstance(names, list) or len(names) < 2
            or not all(isinstance(n, (bytes, str)) for n in names)):
        raise DataError(f"{source}: label_names must be a list of at least 2 strings; delete the "
                        f"archive and download {OFFICIAL_URL}.")
    return [_text(n) for n in names]


def _parse_batch(blob: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch -> (images (N, 32, 32, 3) uint8, labels (N,) int64), structure checked."""
    batch = safe_loads(blob, source=source)
    fix = f"the archive is corrupt or not the official one: delete it and download {OFFICIAL_URL}."
    if not isinstance(batch, dict):
        raise DataError(f"{source} is a {type(batch).__name__}, not a dict; {fix}")
    rows = _field(batch, "data", source)
    if not isinstance(rows, np.ndarray) or rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != _ROW:
        desc = f"{rows.dtype} {rows.shape}" if isinstance(rows, np.ndarray) else type(rows).__name__
        raise DataError(f"{source}: data must be a uint8 array of shape (N, {_ROW}), got {desc}; {fix}")
    labels = _field(batch, "labels", source)
    if isinstance(labels, list) and all(type(v) is int for v in labels):
        labels = np.array(labels, dtype=np.int64)
    elif isinstance(labels, np.ndarray) and labels.dtype.kind in "iu" and labels.ndim == 1:
        labels = labels.astype(np.int64)
    else:
        raise DataError(f"{source}: labels must be a list of ints, got {type(labels).__name__}; {fix}")
    if labels.shape[0] != rows.shape[0]:
        raise DataError(f"{source} has {rows.shape[0]} images but {labels.shape[0]} labels; {fix}")
    return _to_images(rows), labels


# ----------------------------------------------------------------------------- the .npy cache
def _load_cache(cache: Path, checksum: str):
    """The memory-mapped cache if it is complete and was built from the archive ``checksum``; else None."""
    try:
        meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != _CACHE_FORMAT or meta.get("archive_checksum") != checksum:
            return None
        arrays = {k: np.load(cache / f"{k}.npy", mmap_mode="r", allow_pickle=False) for k in _ARRAYS}
    except (OSError, ValueError, AttributeError):
        return None
    n_train, n_test = meta.get("n_train"), meta.get("n_test")
    expected = {"X_train": ((n_train, *IMAGE_SHAPE), np.uint8), "y_train": ((n_train,), np.int64),
                "X_test": ((n_test, *IMAGE_SHAPE), np.uint8), "y_test": ((n_test,), np.int64)}
    if any(arrays[k].shape != shape or arrays[k].dtype != dtype for k, (shape, dtype) in expected.items()):
        return None
    class_names = meta.get("class_names")
    if not isinstance(class_names, list) or not all(isinstance(n, str) for n in class_names):
        return None
    digests = meta.get("arrays_sha256")
    if not isinstance(digests, dict) or any(digests.get(k) != array_digest(a) for k, a in arrays.items()):
        return None  # planted or damaged arrays (or a cache without digests): rebuilt from the verified archive
    return arrays["X_train"], arrays["y_train"], arrays["X_test"], arrays["y_test"], class_names


def _write_cache(cache: Path, arrays: dict, class_names: list[str], checksum: str, algorithm: str) -> None:
    """All files of the cache, written at once (:func:`linclass.persist.atomic_write_dir`)."""
    meta = {"format": _CACHE_FORMAT, "source": ARCHIVE_NAME, "archive_checksum": checksum,
            "algorithm": algorithm, "class_names": class_names,
            "n_train": int(len(arrays["y_train"])), "n_test": int(len(arrays["y_test"])),
            "image_shape": list(IMAGE_SHAPE),
            "arrays_sha256": {key: array_digest(arrays[key]) for key in _ARRAYS}}
    files = {f"{key}.npy": (lambda f, a=arrays[key]: np.save(f, a, allow_pickle=False)) for key in _ARRAYS}
    files["meta.json"] = lambda f: f.write(json.dumps(meta, indent=2).encode())
    atomic_write_dir(cache, files, complete=lambda p: p.is_dir())
