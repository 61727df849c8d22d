"""Folders and archives of images as a :class:`~linclass.datasets.Dataset`.

Layouts (inside a folder, or inside a ``.zip`` / ``.tar`` / ``.tar.gz`` / ``.tgz``
read member by member without unpacking; one wrapping folder is looked through)::

    ROOT/<split>/<class>/*.jpg   split: train, test, and optionally val (valid, validation)
    ROOT/<class>/*.jpg           test and validation taken by a seeded stratified split

Class names are the class folders' names, sorted. Hidden files and folders,
``__MACOSX``, ``Thumbs.db`` and ``desktop.ini`` are ignored; files outside class
folders are ignored and listed in ``Dataset.notes``.

Decoding: Pillow reads PNG, JPEG, BMP, GIF (first frame) and WebP, applies the
EXIF orientation, converts to RGB and resizes (bicubic) every image whose size
is not the common size ``image_size`` (default: the most common size). Files
are decoded in parallel by a pool of processes (threads were 2x slower on
60,000 small JPEGs: the per-image work is mostly Python code that holds the
GIL; see ``benchmarks/bench_decode.py``). The decoded images are cached as
``.npy`` under ``cache_dir(data_dir)/image-folders/<key>/``, keyed by the files'
names, sizes and modification times (an archive: its path, size and mtime) and
the decoding settings, written atomically and read back memory-mapped.

Conventions: N images of H×W pixels, C classes; images ``(N, H, W, 3)`` uint8,
labels ``(N,)`` int64 in ``[0, C)``.
"""

from __future__ import annotations

import hashlib
import io
import json
import operator
import os
import shutil
import tarfile
import uuid
import zipfile
from collections import Counter, deque
from dataclasses import dataclass
from collections.abc import Iterator
from itertools import islice
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import DataError, ParameterError
from . import Dataset, cache_dir
from .splits import DEFAULT_TEST_FRACTION, default_val_size, stratified_split, subset_train

IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
"""The image formats Pillow is allowed to decode (others are reported as bad files)."""

SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                 "validation": "val", "test": "test", "testing": "test"}
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
IGNORED_NAMES = {"__MACOSX", "Thumbs.db", "desktop.ini"}
CACHE_VERSION = 1
_META_KEYS = {"version", "name", "class_names", "image_size", "content_hash", "notes"}
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_SAMPLE = 64          # images whose header sizes guess the common size before decoding
_TAR_IN_MEMORY = 1 << 30  # a tar's images up to this many bytes are read in the listing pass
_MAX_LISTED = 10      # file names listed in a note before "... and N more"


@dataclass(frozen=True)
class Source:
    """Where the images are: a folder, a zip archive or a tar archive."""

    path: Path
    kind: str  # "dir" | "zip" | "tar"

    @property
    def name(self) -> str:
        name = self.path.name
        for suffix in (".zip", *_TAR_SUFFIXES):
            if self.kind != "dir" and name.lower().endswith(suffix):
                return name[: -len(suffix)]
        return name


# --------------------------------------------------------------------------- finding the files

def open_source(path) -> Source:
    """The :class:`Source` at ``path``; DataError if it is missing or not a folder / zip / tar."""
    p = Path(path).expanduser().resolve()
    if p.is_dir():
        return Source(p, "dir")
    if not p.exists():
        raise DataError(f"no such folder or archive: {p}; check the path (--data PATH).")
    lower = p.name.lower()
    if lower.endswith(".zip") or (not lower.endswith(_TAR_SUFFIXES) and zipfile.is_zipfile(p)):
        return Source(p, "zip")
    if lower.endswith(_TAR_SUFFIXES) or tarfile.is_tarfile(p):
        return Source(p, "tar")
    raise DataError(f"{p} is neither a folder nor a .zip / .tar / .tar.gz archive; pass a folder of "
                    "class folders or an archive of one.")


def _member_name(raw: str, source: Source) -> str:
    """An archive member's name as a clean relative POSIX path; DataError if it escapes the root."""
    name = raw.replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise DataError(f"archive {source.path} has a member named {raw!r} that points outside the "
                        "archive (path traversal); refusing to read it: re-create the archive with "
                        "relative paths.")
    return "/".join(parts)


def _ignored(name: str) -> bool:
    return any(part.startswith(".") or part in IGNORED_NAMES for part in name.split("/"))


def list_files(source: Source) -> list[tuple[str, int, int]]:
    """``(name, size, mtime_ns)`` of every candidate file, ``name`` relative to the root, sorted."""
    files = []
    if source.kind == "dir":
        for top, dirs, names in os.walk(source.path):
            dirs[:] = [d for d in dirs if not _ignored(d)]
            rel = Path(top).relative_to(source.path).as_posix()
            for n in names:
                if not _ignored(n):
                    try:
                        st = os.stat(os.path.join(top, n))
                        stat = (st.st_size, st.st_mtime_ns)
                    except OSError:  # a broken link: reported when decoding
                        stat = (-1, 0)
                    files.append((n if rel == "." else f"{rel}/{n}", *stat))
    elif source.kind == "zip":
        with _open_archive(source) as zf:
            for info in zf.infolist():
                name = _member_name(info.filename, source)
                if not info.is_dir() and not _ignored(name):
                    files.append((name, info.file_size, 0))
    else:
        files = scan_tar(source)[0]
    return sorted(files)


def scan_tar(source: Source, keep_bytes: int = 0) -> tuple[list, dict | None]:
    """``(files, payloads)`` of a tar archive in one pass over it (a .tar.gz cannot seek).

    ``payloads`` maps names to the members' bytes while they total at most
    ``keep_bytes``, else it is None (the decoding reads the archive again).
    """
    files, payloads, kept = [], {}, 0
    with _open_archive(source) as tf:
        for member in _tar_members(tf, source):
            name = _member_name(member.name, source)
            if member.isfile() and not _ignored(name):
                files.append((name, member.size, 0))
                kept += member.size
                if payloads is not None and kept <= keep_bytes:
                    payloads[name] = _read_member(tf, member, name, source)
                else:
                    payloads = None
    return files, payloads


def _read_member(tf, member, name, source) -> bytes:
    try:
        return tf.extractfile(member).read()
    except (OSError, tarfile.TarError, EOFError) as err:
        raise DataError(f"archive {source.path} is truncated or corrupt at {name!r} ({err}); "
                        "re-download or re-create it.") from None


def _open_archive(source: Source):
    try:
        return zipfile.ZipFile(source.path) if source.kind == "zip" else tarfile.open(source.path, "r:*")
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        raise DataError(f"cannot open archive {source.path}: {err}; re-download or re-create it.") from None


def _tar_members(tf, source: Source):
    """The members of an open tar, turning a truncated or corrupt stream into a DataError."""
    it = iter(tf)
    while True:
        try:
            member = next(it)
        except StopIteration:
            return
        except (OSError, tarfile.TarError, EOFError) as err:
            raise DataError(f"archive {source.path} is truncated or corrupt ({err}); "
                            "re-download or re-create it.") from None
        yield member


def resolve_layout(names, source: Source) -> tuple[dict, list[str]]:
    """``({name: (split, class_name)}, notes)`` for the files of either layout.

    ``split`` is "train", "val", "test", or "train" for every file of the
    class-folders-only layout. Files outside class folders are left out and noted.
    """
    paths = [PurePosixPath(n).parts for n in names]
    depth_of_class = 0  # index of the class folder in parts
    while True:
        tops = {p[depth_of_class] for p in paths if len(p) > depth_of_class + 1}
        deeper = any(len(p) > depth_of_class + 2 for p in paths)
        if len(tops) == 1 and next(iter(tops)).lower() not in SPLIT_ALIASES and deeper:
            depth_of_class += 1  # look through one wrapping folder
            continue
        break
    splits = {t for t in tops if t.lower() in SPLIT_ALIASES}
    if splits and splits != tops:
        raise DataError(f"{source.path} mixes split folders ({', '.join(sorted(splits))}) with other folders "
                        f"({', '.join(sorted(tops - splits))}); use either ROOT/<split>/<class>/* or "
                        "ROOT/<class>/*.")
    by_split = Counter(SPLIT_ALIASES[s.lower()] for s in splits)
    if any(k > 1 for k in by_split.values()):
        raise DataError(f"{source.path} has two folders for one split ({', '.join(sorted(splits))}); "
                        "keep one of train / val / test each.")
    if splits and "train" not in by_split:
        raise DataError(f"{source.path} has split folders ({', '.join(sorted(splits))}) but no 'train'; "
                        "add ROOT/train/<class>/* or use ROOT/<class>/*.")
    labels, outside = {}, []
    base = depth_of_class + (1 if splits else 0)
    for name, parts in zip(names, paths):
        if len(parts) < base + 2:
            outside.append(name)
            continue
        split = SPLIT_ALIASES[parts[depth_of_class].lower()] if splits else "train"
        labels[name] = (split, parts[base])
    notes = []
    if outside:
        notes.append(f"ignored {len(outside)} file(s) outside class folders: {_listing(outside)}")
    return labels, notes


def _listing(names) -> str:
    names = list(names)
    more = f" ... and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
    return ", ".join(names[:_MAX_LISTED]) + more


# --------------------------------------------------------------------------- decoding

class Unreadable:
    """A payload that could not be read from its container (the message says why)."""

    def __init__(self, message: str):
        self.message = message


def iter_payloads(source: Source, wanted, preread=None) -> Iterator[tuple[str, bytes | str | Unreadable]]:
    """``(name, payload)`` for each wanted file, in the container's own order.

    A payload is the file's path (a folder: the decoding process reads it), its
    bytes (an archive, or ``preread``: bytes already read by :func:`scan_tar`), or
    :class:`Unreadable`.
    """
    if preread is not None:
        for name in sorted(wanted):
            yield name, preread[name]
    elif source.kind == "dir":
        for name in sorted(wanted):
            yield name, str(source.path / name)
    elif source.kind == "zip":
        with _open_archive(source) as zf:
            for info in zf.infolist():
                name = _member_name(info.filename, source)
                if name in wanted and not info.is_dir():
                    try:
                        yield name, zf.read(info)
                    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as err:
                        yield name, Unreadable(f"cannot read it from the archive: {err}")
    else:
        with _open_archive(source) as tf:
            for member in _tar_members(tf, source):
                name = _member_name(member.name, source)
                if name in wanted and member.isfile():
                    yield name, _read_member(tf, member, name, source)


def decode_image(payload, size=None) -> tuple[np.ndarray, tuple[int, int]]:
    """``(image (H, W, 3) uint8, native (h, w))`` from a path or bytes; resized to ``size=(H, W)`` if given.

    Raises whatever Pillow raises on a bad file (the caller reports it).
    """
    from PIL import Image, ImageOps

    if isinstance(payload, Unreadable):
        raise OSError(payload.message)
    data = payload if isinstance(payload, bytes) else Path(payload).read_bytes()
    with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as im:
        im.load()
        if "exif" in im.info:  # cheap test first: a full EXIF parse costs ~40% on small JPEGs
            im = ImageOps.exif_transpose(im)
        rgb = im if im.mode == "RGB" else im.convert("RGB")
        native = (rgb.height, rgb.width)
        if size is not None and native != tuple(size):
            rgb = rgb.resize((size[1], size[0]), Image.Resampling.BICUBIC)
        return np.asarray(rgb), native


def _reason(err: Exception) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(err, UnidentifiedImageError):
        return "not a PNG / JPEG / BMP / GIF / WebP image"
    return str(err) or type(err).__name__


def decode_chunk(payloads, size) -> tuple[np.ndarray, np.ndarray, list]:
    """Decode a chunk of K payloads: ``(images (K, H, W, 3) uint8, natives (K, 2), [(k, reason), ...])``.

    Runs in a worker process; a bad file leaves a zero image and an entry in the list.
    """
    images = np.zeros((len(payloads), size[0], size[1], 3), np.uint8)
    natives = np.zeros((len(payloads), 2), np.int64)
    errors = []
    for k, payload in enumerate(payloads):
        try:
            images[k], natives[k] = decode_image(payload, size)
        except Exception as err:  # noqa: BLE001 - Pillow raises many types on bad files
            errors.append((k, _reason(err)))
    return images, natives, errors


def _header_size(payload):
    """An image's ``(h, w)`` from its header alone, or None."""
    from PIL import Image

    try:
        data = payload if isinstance(payload, bytes) else Path(payload).read_bytes()
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as im:
            turned = "exif" in im.info and im.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientation
            return (im.width, im.height) if turned else (im.height, im.width)
    except Exception:  # noqa: BLE001 - a bad file is reported by the decoding pass
        return None


def _most_common(sizes) -> tuple[int, int] | None:
    """The most frequent ``(h, w)``; ties go to the larger size."""
    counts = Counter((int(h), int(w)) for h, w in sizes)
    return max(counts, key=lambda s: (counts[s], s)) if counts else None


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _chunks(items, n_items: int, n_workers: int):
    """Lists of ``(row, payload)`` sized so each worker gets several chunks (≤ 512 files, ≤ 16 MB)."""
    per_chunk = max(8, min(512, -(-n_items // (4 * n_workers))))
    chunk, nbytes = [], 0
    for item in items:
        chunk.append(item)
        nbytes += len(item[1]) if isinstance(item[1], bytes) else 0
        if len(chunk) >= per_chunk or nbytes >= 16 << 20:
            yield chunk
            chunk, nbytes = [], 0
    if chunk:
        yield chunk


def _decode_pass(source, rows, size, workers, on_error, preread=None):
    """Decode the files of ``rows`` ({name: row}) at ``size``: ``(X (N, H, W, 3), natives (N, 2), errors)``."""
    n = len(rows)
    nbytes = n * size[0] * size[1] * 3
    if nbytes > _memory_budget():
        raise ParameterError(f"{n:,} images of {size[0]}x{size[1]} would take {nbytes / 1e9:.1f} GB, more than "
                             "half of this machine's memory; pass a smaller image_size (--image-size), "
                             "e.g. 64x64.")
    X = np.zeros((n, size[0], size[1], 3), np.uint8)
    natives = np.zeros((n, 2), np.int64)
    errors = {}
    items = ((rows[name], payload) for name, payload in iter_payloads(source, rows, preread))

    def collect(chunk, result):
        images, sizes, bad = result
        index = np.fromiter((row for row, _ in chunk), np.int64, len(chunk))
        X[index], natives[index] = images, sizes
        for k, reason in bad:
            errors[int(index[k])] = reason
            on_error(int(index[k]), reason)

    if workers <= 1:
        for chunk in _chunks(items, n, 1):
            collect(chunk, decode_chunk([p for _, p in chunk], size))
        return X, natives, errors
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # forkserver: safe in programs that already run threads (plain fork can deadlock there)
    context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    pending = deque()
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        try:
            for chunk in _chunks(items, n, workers):
                pending.append((chunk, pool.submit(decode_chunk, [p for _, p in chunk], size)))
                while len(pending) > 2 * workers:  # bound the bytes in flight
                    collect(*_done(pending.popleft()))
            while pending:
                collect(*_done(pending.popleft()))
        except BrokenProcessPool:
            raise DataError(f"a decoding process died while reading {source.path} (out of memory, or a "
                            "crash in an image decoder); pass workers=1 to find the file, or a smaller "
                            "image_size.") from None
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return X, natives, errors


def _memory_budget() -> float:
    """Half the machine's physical memory in bytes (inf where unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2
    except (AttributeError, ValueError, OSError):
        return float("inf")


def _done(entry):
    chunk, future = entry
    return chunk, future.result()


def decode_files(source, rows, *, image_size, skip_bad, workers, preread=None):
    """All images of ``rows`` ({name: row}) at a common size: ``(X, ok (N,) bool, size, notes)``.

    Without ``image_size`` the common size is guessed from the first headers,
    checked against every image's size after decoding, and the decoding is
    redone in the rare case the guess was not the most common size.
    """
    names = sorted(rows, key=rows.get)

    def on_error(row, reason):
        if not skip_bad:
            raise DataError(f"cannot read image {names[row]!r} in {source.path}: {reason}; remove the file "
                            "(or fix it), or pass skip_bad=True (--skip-bad) to skip unreadable files.")

    if workers is None:
        workers = default_workers() if len(rows) >= 512 else 1
    size = tuple(int(v) for v in image_size) if image_size is not None else None
    if size is None:
        head = list(islice(iter_payloads(source, rows, preread), _SAMPLE))
        size = _most_common(s for s in map(_header_size, (p for _, p in head)) if s) or (1, 1)
    X, natives, errors = _decode_pass(source, rows, size, workers, on_error, preread)
    ok = np.ones(len(rows), bool)
    ok[list(errors)] = False
    if image_size is None:
        common = _most_common(natives[ok]) or size
        if common != size:
            size = common
            X, natives, _ = _decode_pass(source, rows, size, workers, on_error, preread)
    notes = []
    resized = ok & np.any(natives != size, axis=1)
    if resized.any():
        why = "image_size" if image_size is not None else "the most common size; pass image_size to choose"
        notes.append(f"resized {int(resized.sum())} of {int(ok.sum())} images to {size[0]}x{size[1]} ({why})")
    if errors:
        notes.append(f"skipped {len(errors)} unreadable file(s): "
                     + _listing(f"{names[r]} ({errors[r]})" for r in sorted(errors)))
    return X, ok, size, notes


# --------------------------------------------------------------------------- cache

def _cache_key(source: Source, files, image_size, skip_bad) -> str:
    settings = (CACHE_VERSION, IMAGE_FORMATS, image_size and tuple(image_size), skip_bad)
    h = hashlib.sha256(repr(settings).encode())
    if source.kind == "dir":
        for name, size, mtime_ns in files:
            h.update(f"{name}\0{size}\0{mtime_ns}\n".encode())
    else:
        st = source.path.stat()
        h.update(f"{source.path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def read_cache(folder: Path):
    """``(X memmap, y, split, meta)`` from a complete cache entry, or None."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if not isinstance(meta, dict) or meta.get("version") != CACHE_VERSION or not _META_KEYS <= meta.keys():
            return None
        X = np.load(folder / "images.npy", mmap_mode="r", allow_pickle=False)
        y = np.load(folder / "labels.npy", allow_pickle=False)
        split = np.load(folder / "splits.npy", allow_pickle=False)
    except (OSError, ValueError, KeyError):
        return None
    if not (X.ndim == 4 and X.dtype == np.uint8 and y.shape == split.shape == (X.shape[0],)):
        return None
    return X, y, split, meta


def _write_file(path: Path, write) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def write_cache(folder: Path, X, y, split, meta) -> None:
    """Write a cache entry atomically: into a temporary folder, then one rename."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir()
    try:
        _write_file(tmp / "images.npy", lambda f: np.save(f, X, allow_pickle=False))
        _write_file(tmp / "labels.npy", lambda f: np.save(f, y, allow_pickle=False))
        _write_file(tmp / "splits.npy", lambda f: np.save(f, split, allow_pickle=False))
        _write_file(tmp / "meta.json", lambda f: f.write(json.dumps(meta).encode()))
        if folder.exists():  # a stale or broken entry (a complete one would have been read)
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.replace(tmp, folder)
        except OSError:
            if read_cache(folder) is None:  # not another process's complete entry
                raise
        if hasattr(os, "O_DIRECTORY"):
            fd = os.open(folder.parent, os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- the data set

def _decode_source(source, files, *, image_size, skip_bad, workers, preread=None):
    """Decode a source: ``(X, y, split, meta)`` with rows ordered by (split, class, name)."""
    labels, notes = resolve_layout([name for name, _, _ in files], source)
    class_names = sorted({c for _, c in labels.values()})
    in_train = {c for s, c in labels.values() if s == "train"}
    if len(class_names) < 2:
        raise DataError(f"{source.path} has {len(class_names)} class folder(s) with images; a classifier needs "
                        "at least 2: use ROOT/<class>/* or ROOT/<split>/<class>/*.")
    if set(class_names) - in_train:
        raise DataError(f"{source.path}: class(es) {', '.join(sorted(set(class_names) - in_train))} have no "
                        "training images; add them to train/ or remove those folders.")
    class_index = {c: i for i, c in enumerate(class_names)}
    names = sorted(labels, key=lambda n: (SPLIT_CODES[labels[n][0]], class_index[labels[n][1]], n))
    rows = {name: row for row, name in enumerate(names)}
    X, ok, size, decode_notes = decode_files(source, rows, image_size=image_size, skip_bad=skip_bad,
                                             workers=workers, preread=preread)
    y = np.array([class_index[labels[n][1]] for n in names], np.int64)
    split = np.array([SPLIT_CODES[labels[n][0]] for n in names], np.int8)
    if not ok.any():
        raise DataError(f"none of the {ok.size:,} files in {source.path} is a readable image; check the path "
                        "and the files' formats (PNG, JPEG, BMP, GIF, WebP).")
    if not ok.all():
        X, y, split = X[ok], y[ok], split[ok]
    h = hashlib.sha256(memoryview(np.ascontiguousarray(X)).cast("B"))
    for part in (y, split, np.array(class_names)):
        h.update(part.tobytes())
    meta = {"version": CACHE_VERSION, "name": source.name, "class_names": class_names,
            "image_size": list(size), "content_hash": h.hexdigest(), "notes": notes + decode_notes}
    return X, y, split, meta


def _take(y, rows, size, default, seed, what):
    """Split ``rows`` into ``(kept, taken)`` by a stratified seeded choice of ``size`` (None: ``default``)."""
    keep, take = stratified_split(y[rows], default if size is None else size, seed)
    return rows[keep], rows[take], f"{what}: {take.size:,} images taken from training (stratified, seed {seed})"


def load_image_folder(path, *, image_size=None, val_size=None, test_size=None, seed=0, skip_bad=False,
                      subset=None, cache=True, data_dir=None, workers=None) -> Dataset:
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
    """
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
    key = _cache_key(source, files, image_size, bool(skip_bad))
    folder = cache_dir(data_dir) / "image-folders" / key
    cached = read_cache(folder) if cache else None
    if cached is None:
        preread = None
        if source.kind == "tar":
            files, preread = scan_tar(source, keep_bytes=_TAR_IN_MEMORY)
        elif files is None:
            files = list_files(source)
        X, y, split, meta = _decode_source(source, files, image_size=image_size, skip_bad=skip_bad,
                                           workers=workers, preread=preread)
        del preread
        notes = list(meta["notes"])
        if cache:
            try:
                write_cache(folder, X, y, split, meta)
            except OSError as err:
                notes.append(f"could not write the cache in {folder.parent} ({err}); pass data_dir "
                             "(--data-dir) to use a writable folder")
    else:
        X, y, split, meta = cached
        notes = [*meta["notes"], f"loaded from cache {folder}"]
    index = np.arange(y.size)
    train, val, test = (index[split == SPLIT_CODES[s]] for s in ("train", "val", "test"))
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
