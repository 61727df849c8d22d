"""Folders and archives of images as a :class:`~linclass.datasets.Dataset`.

Layouts (inside a folder, or inside a ``.zip`` / ``.tar`` / ``.tar.gz`` / ``.tgz``
read member by member without unpacking; one wrapping folder is looked through)::

    ROOT/<split>/<class>/*.jpg   split: train, test, and optionally val (valid, validation)
    ROOT/<class>/*.jpg           test and validation taken by a seeded stratified split

Class names are the class folders' names, sorted. Hidden files and folders,
``__MACOSX``, ``Thumbs.db``, ``desktop.ini`` and ``SHA256SUMS`` (a checksum list) are ignored;
files outside class folders are ignored and listed in ``Dataset.notes``.

Decoding: :func:`linclass.datasets.images.decode_image`, the decoder ``predict``
uses too, reads PNG, JPEG, BMP, GIF (first frame) and WebP within the pixel cap
of ``limits`` (:mod:`linclass.datasets.limits`), applies the EXIF orientation,
converts to RGB and resizes (bicubic) every image whose size is not the common
size ``image_size`` (default: the most common size). Files
are decoded in parallel by a pool of processes, in chunks, while the container
is still being read (a tar is listed and decoded in one pass). Threads were
about 2x slower than processes on 60,000 small JPEGs: most of Pillow's
per-image work is Python code that holds the GIL (``benchmarks/bench_decode.py``).
The decoded images are cached as ``.npy`` under
``cache_dir(data_dir)/image-folders/<key>/``, keyed by the files' names, sizes
and modification times (an archive: its path, size and mtime) and the decoding
settings, written atomically (a temporary folder, then one rename) and read
back memory-mapped. Splits are made over the files in (split, class, name)
order, so the same files give the same splits in a folder or any archive.

Conventions: N images of H×W pixels, C classes; images ``(N, H, W, 3)`` uint8,
labels ``(N,)`` int64 in ``[0, C)``.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import operator
import os
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain, islice
from pathlib import Path

import numpy as np

from ..errors import DataError, ParameterError
from ..persist import atomic_write_dir
from .archive import (
    SPLIT_CODES,
    Source,
    iter_payloads,
    list_files,
    listing,
    open_source,
    resolve_layout,
    stream_tar,
)
from .base import Dataset, cache_dir
from .images import IMAGE_FORMATS, bad_reason, decode_image, header_size
from .limits import DEFAULT_LIMITS
from .splits import DEFAULT_TEST_FRACTION, default_val_size, stratified_split, subset_train

CACHE_VERSION = 2
_META_KEYS = {"version", "name", "class_names", "image_size", "content_hash", "notes"}
_SAMPLE = 64          # images whose header sizes guess the common size before decoding


def decode_chunk(payloads, size, limits=DEFAULT_LIMITS) -> tuple[np.ndarray, np.ndarray, list]:
    """Decode a chunk of K payloads: ``(images (K, H, W, 3) uint8, natives (K, 2), [(k, reason), ...])``.

    Runs in a worker process; a bad file leaves a zero image and an entry in the list.
    """
    images = np.zeros((len(payloads), size[0], size[1], 3), np.uint8)
    natives = np.zeros((len(payloads), 2), np.int64)
    errors = []
    for k, payload in enumerate(payloads):
        try:
            images[k], natives[k] = decode_image(payload, size, limits=limits)
        except Exception as err:  # noqa: BLE001 - Pillow raises many types on bad files
            errors.append((k, bad_reason(err)))
    return images, natives, errors


def _most_common(sizes) -> tuple[int, int] | None:
    """The most frequent ``(h, w)``; ties go to the larger size."""
    counts = Counter((int(h), int(w)) for h, w in sizes)
    return max(counts, key=lambda s: (counts[s], s)) if counts else None


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _chunks(items, n_items, n_workers: int):
    """Lists of ``(name, payload)`` sized so each worker gets several (≤ 512 files, ≤ 16 MB; 256 if unknown)."""
    per_chunk = 256 if n_items is None else max(8, min(512, -(-n_items // (4 * n_workers))))
    chunk, nbytes = [], 0
    for item in items:
        chunk.append(item)
        nbytes += len(item[1]) if isinstance(item[1], bytes) else 0
        if len(chunk) >= per_chunk or nbytes >= 16 << 20:
            yield chunk
            chunk, nbytes = [], 0
    if chunk:
        yield chunk


def decode_stream(pairs, size, *, workers=1, n_items=None, on_error=None, limits=DEFAULT_LIMITS):
    """Decode ``(name, payload)`` pairs at ``size=(H, W)``: ``(names, X (M, H, W, 3), natives (M, 2), errors)``.

    ``errors`` maps positions in ``names`` to reasons (their images are zeros);
    ``on_error(name, reason)`` is called as they come and may raise. With
    ``workers`` > 1 the chunks are decoded by a pool of processes while ``pairs``
    is still being read.
    """
    names, images, natives, errors = [], [], [], {}
    budget, used = _memory_budget(), 0
    if (n_items or 0) * size[0] * size[1] * 3 > budget or size[0] * size[1] > limits.max_pixels:
        raise _too_big(size)  # known before decoding anything

    def collect(chunk, result):
        nonlocal used
        chunk_images, chunk_natives, bad = result
        used += chunk_images.nbytes
        if used > budget:
            raise _too_big(size)
        for k, reason in bad:
            errors[len(names) + k] = reason
            if on_error is not None:
                on_error(chunk[k][0], reason)
        names.extend(name for name, _ in chunk)
        images.append(chunk_images)
        natives.append(chunk_natives)

    if workers <= 1:
        for chunk in _chunks(pairs, n_items, 1):
            collect(chunk, decode_chunk([p for _, p in chunk], size, limits))
    else:
        _decode_in_pool(pairs, size, workers, n_items, collect, limits)
    if not names:
        return names, np.zeros((0, *size, 3), np.uint8), np.zeros((0, 2), np.int64), errors
    return names, np.concatenate(images), np.concatenate(natives), errors


def _decode_in_pool(pairs, size, workers, n_items, collect, limits) -> None:
    """Feed chunks of ``pairs`` to a process pool, at most 2 per worker in flight; ``collect`` in order."""
    # forkserver: safe in programs that already run threads (plain fork can deadlock there)
    context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    pending = deque()
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        try:
            for chunk in _chunks(pairs, n_items, workers):
                pending.append((chunk, pool.submit(decode_chunk, [p for _, p in chunk], size, limits)))
                while len(pending) > 2 * workers:  # bound the bytes in flight
                    collect(*_done(pending.popleft()))
            while pending:
                collect(*_done(pending.popleft()))
        except BrokenProcessPool:
            raise DataError("a decoding process died (out of memory, or a crash in an image decoder); "
                            "pass workers=1 to find the file, or a smaller image_size.") from None
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _too_big(size) -> ParameterError:
    return ParameterError(f"the images at {size[0]}x{size[1]} take more than half of this machine's memory (or "
                          "more pixels than --max-pixels); pass a smaller image_size (--image-size), e.g. 64x64.")


def _memory_budget() -> float:
    """Half the machine's physical memory in bytes (inf where unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2
    except (AttributeError, ValueError, OSError):
        return float("inf")


def _done(entry):
    chunk, future = entry
    return chunk, future.result()


def _with_size(pairs, image_size, limits):
    """``(size, pairs)``: ``image_size``, else the most common header size of the first files (pairs kept whole)."""
    if image_size is not None:
        return tuple(image_size), pairs
    pairs = iter(pairs)
    head = list(islice(pairs, _SAMPLE))
    size = _most_common(s for s in map(lambda p: header_size(p, limits), (p for _, p in head)) if s) or (1, 1)
    return size, chain(head, pairs)


def _bad_file(source, name, reason) -> DataError:
    return DataError(f"cannot read image {name!r} in {source.path}: {reason}; remove the file (or fix it), "
                     "or pass skip_bad=True (--skip-bad) to skip unreadable files.")


# --------------------------------------------------------------------------- cache

def _cache_key(source: Source, files, image_size, skip_bad, limits) -> str:
    settings = (CACHE_VERSION, IMAGE_FORMATS, image_size and tuple(image_size), skip_bad, limits)
    h = hashlib.sha256(repr(settings).encode())
    if source.kind == "dir":
        for name, size, mtime_ns in files:
            h.update(f"{name}\0{size}\0{mtime_ns}\n".encode(errors="surrogateescape"))
    else:
        st = source.path.stat()
        h.update(f"{source.path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode(errors="surrogateescape"))
    return h.hexdigest()[:32]


def read_cache(folder: Path):
    """``(X memmap, y, split, order, meta)`` from a complete cache entry, or None."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if not isinstance(meta, dict) or meta.get("version") != CACHE_VERSION or not _META_KEYS <= meta.keys():
            return None
        X = np.load(folder / "images.npy", mmap_mode="r", allow_pickle=False)
        y = np.load(folder / "labels.npy", allow_pickle=False)
        split = np.load(folder / "splits.npy", allow_pickle=False)
        order = np.load(folder / "order.npy", allow_pickle=False)
    except (OSError, ValueError, KeyError):
        return None
    n = X.shape[0] if X.ndim == 4 else -1
    if not (X.dtype == np.uint8 and y.shape == split.shape == order.shape == (n,)
            and np.array_equal(np.sort(order), np.arange(n))):
        return None
    return X, y, split, order, meta


def write_cache(folder: Path, X, y, split, order, meta) -> None:
    """Write a cache entry atomically (:func:`linclass.persist.atomic_write_dir`)."""
    def npy(a):
        return lambda f: np.save(f, a, allow_pickle=False)
    atomic_write_dir(folder, {"images.npy": npy(X), "labels.npy": npy(y), "splits.npy": npy(split),
                              "order.npy": npy(order), "meta.json": lambda f: f.write(json.dumps(meta).encode())},
                     complete=lambda p: read_cache(p) is not None)


# --------------------------------------------------------------------------- the data set

def _decode_source(source, files, *, image_size, skip_bad, workers, limits):
    """Decode a source: ``(X, y, split, order, meta)``, rows in the container's order.

    ``order`` lists the rows by (split, class, file name): splits made in that
    order are the same for the same files in any container.

    A folder or zip is listed first, then its class folders' files are decoded;
    a tar is listed and decoded in the same pass over it. Without
    ``image_size`` the common size is guessed from the first headers, checked
    against every image after decoding, and the decoding is redone in the rare
    case the guess was not the most common size.
    """
    if workers is None:  # a pool only pays off beyond a few hundred small files
        many = source.path.stat().st_size >= 4 << 20 if files is None else len(files) >= 512
        workers = default_workers() if many else 1
    if source.kind == "tar":
        files = []
        size, pairs = _with_size(stream_tar(source, files, limits), image_size, limits)
        decoded = decode_stream(pairs, size, workers=workers, limits=limits)
        labels, notes = resolve_layout([name for name, _, _ in sorted(files)], source)
    else:
        labels, notes = resolve_layout([name for name, _, _ in files], source)
        _check_classes(labels, source)

        def on_error(name, reason):
            if not skip_bad:
                raise _bad_file(source, name, reason)

        size, pairs = _with_size(iter_payloads(source, labels, limits), image_size, limits)
        decoded = decode_stream(pairs, size, workers=workers, n_items=len(labels), on_error=on_error,
                                limits=limits)
    class_names = _check_classes(labels, source)
    class_index = {c: i for i, c in enumerate(class_names)}
    names, X, natives, errors = decoded
    rows, bad = _select(names, labels, errors)
    if bad and not skip_bad:
        first = min(bad, key=lambda n: (SPLIT_CODES[labels[n][0]], labels[n][1], n))
        raise _bad_file(source, first, bad[first])
    if not rows.size:
        raise DataError(f"none of the {len(labels):,} files in {source.path} is a readable image; check the "
                        "path and the files' formats (PNG, JPEG, BMP, GIF, WebP).")
    common = _most_common(natives[rows])
    if image_size is None and common != size:
        size = common
        names, X, natives, errors = decode_stream(iter_payloads(source, labels, limits), size, workers=workers,
                                                  n_items=len(labels), limits=limits)
        rows, bad = _select(names, labels, errors)
    if rows.size < len(names) or np.any(rows != np.arange(rows.size)):
        X, natives = X[rows], natives[rows]  # rows stay in the container's order: no copy when all are kept
    kept = [names[m] for m in rows]
    y = np.array([class_index[labels[n][1]] for n in kept], np.int64)
    split = np.array([SPLIT_CODES[labels[n][0]] for n in kept], np.int8)
    resized = np.any(natives != size, axis=1)
    if resized.any():
        why = "image_size" if image_size is not None else "the most common size; pass image_size to choose"
        notes.append(f"resized {int(resized.sum())} of {len(kept)} images to {size[0]}x{size[1]} ({why})")
    if bad:
        notes.append(f"skipped {len(bad)} unreadable file(s): "
                     + listing(f"{n} ({reason})" for n, reason in sorted(bad.items())))
    # the content hash reads the rows in (split, class, name) order: the same images in any container agree
    order = np.lexsort((np.array(kept), y, split))
    h = hashlib.sha256(repr(class_names).encode())
    h.update(y[order].tobytes())
    h.update(split[order].tobytes())
    for i in order:
        h.update(X[i])
    meta = {"version": CACHE_VERSION, "name": source.name, "class_names": class_names,
            "image_size": [int(v) for v in size], "content_hash": h.hexdigest(), "notes": notes}
    return X, y, split, order, meta


def _select(names, labels, errors) -> tuple[np.ndarray, dict]:
    """``(rows, bad)``: decoded positions of the readable files in ``labels`` (a name's last copy), in
    decoding order, and ``{name: reason}`` of the unreadable ones."""
    last = {name: m for m, name in enumerate(names) if name in labels}
    rows = np.array(sorted(m for m in last.values() if m not in errors), np.int64)
    bad = {name: errors[m] for name, m in last.items() if m in errors}
    return rows, bad


def _check_classes(labels, source) -> list[str]:
    """The sorted class names; DataError unless there are ≥ 2 and each has training images."""
    class_names = sorted({c for _, c in labels.values()})
    if len(class_names) < 2:
        raise DataError(f"{source.path} has {len(class_names)} class folder(s) with images; a classifier needs "
                        "at least 2: use ROOT/<class>/* or ROOT/<split>/<class>/*.")
    missing = set(class_names) - {c for s, c in labels.values() if s == "train"}
    if missing:
        raise DataError(f"{source.path}: class(es) {', '.join(sorted(missing))} have no training images; "
                        "add them to train/ or remove those folders.")
    return class_names


def _take(y, rows, size, default, seed, what):
    """Split ``rows`` into ``(kept, taken)`` by a stratified seeded choice of ``size`` (None: ``default``)."""
    keep, take = stratified_split(y[rows], default if size is None else size, seed)
    return rows[keep], rows[take], f"{what}: {take.size:,} images taken from training (stratified, seed {seed})"


def load_image_folder(path, *, image_size=None, val_size=None, test_size=None, seed=0, skip_bad=False,
                      subset=None, cache=True, data_dir=None, workers=None, limits=None) -> Dataset:
    """A folder or archive of images (see the module docstring for layouts) as a :class:`Dataset`.

    Parameters
    ----------
    image_size : (H, W) every image is resized to; default the most common size (noted).
    val_size : validation images (count or fraction) taken from training when there is no
        val folder; default 1,000 when training has ≥ 10,000 images, else 10%.
    test_size : test images (count or fraction of all) when there is no test folder; default 20%.
    seed : seed of every split (stratified by class, never by position).
    skip_bad : skip unreadable files (listed in ``notes``) instead of raising DataError.
    subset : keep a stratified subset of this many training images (dev runs).
    cache : read / write the decoded images under ``cache_dir(data_dir)``.
    workers : decoding processes; default all cores (1 for < 512 files).
    limits : :class:`~linclass.datasets.limits.Limits` on pixels per image and archive sizes
        (default ``Limits()``); a file over a limit is a bad file, named with the option that raises it.
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    if image_size is not None:
        try:
            image_size = tuple(operator.index(v) for v in image_size)
        except TypeError:
            image_size = ()
        if len(image_size) != 2 or min(image_size) < 1:
            raise ParameterError(f"image_size must be (height, width) in whole pixels >= 1, got "
                                 f"{image_size!r}; e.g. (32, 32).")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers must be a positive int or None (all cores), got {workers!r}.")
    source = open_source(path)
    files = list_files(source) if source.kind == "dir" else None
    key = _cache_key(source, files, image_size, bool(skip_bad), limits)
    folder = cache_dir(data_dir) / "image-folders" / key
    cached = read_cache(folder) if cache else None
    if cached is None:
        if files is None and source.kind == "zip":
            files = list_files(source)
        X, y, split, order, meta = _decode_source(source, files, image_size=image_size, skip_bad=skip_bad,
                                                  workers=workers, limits=limits)
        notes = list(meta["notes"])
        if cache:
            try:
                write_cache(folder, X, y, split, order, meta)
            except OSError as err:
                notes.append(f"could not write the cache in {folder.parent} ({err}); pass data_dir "
                             "(--data-dir) to use a writable folder")
    else:
        X, y, split, order, meta = cached
        notes = [*meta["notes"], f"loaded from cache {folder}"]
    # rows by (split, class, name): the same files give the same splits in a folder or any archive
    train, val, test = (order[split[order] == SPLIT_CODES[s]] for s in ("train", "val", "test"))
    if test.size == 0:
        train, test, note = _take(y, train, test_size, DEFAULT_TEST_FRACTION, seed, "test")
        notes.append(note)
    elif test_size is not None:
        raise ParameterError(f"{source.path} has its own test split; drop test_size (it applies only to "
                             "data without a test folder).")
    if val.size == 0:
        default = default_val_size(train.size, np.unique(y[train]).size)
        train, val, note = _take(y, train, val_size, default, seed, "validation")
        notes.append(note)
    elif val_size is not None:
        raise ParameterError(f"{source.path} has its own validation split; drop val_size (--val-size).")
    else:
        train = np.random.default_rng(seed).permutation(train)  # interleave classes like the other paths
    H, W = meta["image_size"]
    fingerprint = hashlib.sha256(repr((meta["content_hash"], seed, val_size, test_size)).encode()).hexdigest()
    dataset = Dataset(name=meta["name"], class_names=list(meta["class_names"]),
                      X_train=np.asarray(X[train]), y_train=y[train], X_val=np.asarray(X[val]), y_val=y[val],
                      X_test=np.asarray(X[test]), y_test=y[test], image_shape=(H, W, 3),
                      fingerprint=fingerprint[:16], notes=notes)
    return subset_train(dataset, subset, seed)
