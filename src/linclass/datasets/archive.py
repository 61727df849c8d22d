"""Folders and archives as sources of image files: finding, listing and reading them.

A :class:`Source` is a folder, a zip archive or a tar archive (``.tar``, ``.tar.gz``,
``.tgz``, ``.tar.bz2``, ``.tar.xz``); members are read one by one without unpacking,
and a member whose path would leave the root (path traversal) is refused.
:func:`resolve_layout` maps file names to ``(split, class)`` for the layouts
``ROOT/<split>/<class>/*`` and ``ROOT/<class>/*``. Decoding and caching are in
:mod:`linclass.datasets.folder`.

Archives are untrusted: each member's uncompressed size, the archive's total
and the compression ratio are bounded by :class:`~linclass.datasets.limits.Limits`,
checked on the sizes the archive declares before reading and on the bytes
actually read. A member over a limit, an encrypted member, a member compressed
with a method Python cannot read (Deflate64...) and a file name that is not
valid UTF-8 become :class:`Unreadable` payloads: a one-line error naming the
file, or skipped and counted with ``skip_bad``. An archive over the total is a
DataError naming the option that raises the limit.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import DataError
from .limits import DEFAULT_LIMITS, OPTION, RATIO_FLOOR, Limits

SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                 "validation": "val", "test": "test", "testing": "test"}
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
IGNORED_NAMES = {"__MACOSX", "Thumbs.db", "desktop.ini", "SHA256SUMS"}
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_MAX_LISTED = 10      # file names listed in a note before "... and N more"
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_CHUNK = 1 << 20


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
    if not p.is_file():  # a FIFO or device would block or never end
        raise DataError(f"{p} is not a regular file or folder; pass a folder of class folders or an archive.")
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


def list_files(source: Source, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, int, int]]:
    """``(name, size, mtime_ns)`` of every candidate file, ``name`` relative to the root, sorted.

    A zip whose members declare more than ``limits.max_total_bytes`` in all is a DataError.
    """
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
        _check_total(sum(size for _, size, _ in files), source, limits)
    else:
        with _open_archive(source) as tf:
            for name, member in _wanted_tar_members(tf, source, None, limits):
                files.append((name, member.size, 0))
    return sorted(files)


def stream_tar(source: Source, files: list, limits: Limits = DEFAULT_LIMITS
               ) -> Iterator[tuple[str, bytes | Unreadable]]:
    """``(name, bytes)`` of a tar's candidate files in archive order, appending ``(name, size, 0)`` to ``files``.

    One pass lists and reads the archive (a .tar.gz cannot seek), so decoding
    starts while the archive is still being read.
    """
    with _open_archive(source) as tf:
        for name, member in _wanted_tar_members(tf, source, None, limits):
            files.append((name, member.size, 0))
            yield name, _read_tar_member(tf, member, name, source, limits)


def _wanted_tar_members(tf, source: Source, wanted, limits: Limits):
    """``(name, member)`` of a tar's regular files (in ``wanted``, if given), the total read bounded."""
    compressed = max(source.path.stat().st_size, 1)
    for member in _tar_members(tf, source):
        name = _member_name(member.name, source)
        if member.isfile() and not _ignored(name) and (wanted is None or name in wanted):
            yield name, member
        read = tf.fileobj.tell() if hasattr(tf.fileobj, "tell") else 0  # uncompressed offset in the stream
        _check_total(read, source, limits)
        if read > RATIO_FLOOR and read / compressed > limits.max_ratio:
            raise DataError(f"archive {source.path} expands more than {limits.max_ratio:g} times "
                            f"its size (a decompression bomb?); refusing to read on: raise the limit with "
                            f"{OPTION['max_ratio']} if the archive is genuine.")


def _read_tar_member(tf, member, name, source, limits) -> bytes | Unreadable:
    problem = _name_problem(name) or _size_problem(member.size, limits)
    if problem:
        return Unreadable(problem)
    try:
        return bounded_read(tf.extractfile(member), limits)
    except (OSError, tarfile.TarError, EOFError) as err:
        raise DataError(f"archive {source.path} is truncated or corrupt at {name!r} ({err}); "
                        "re-download or re-create it.") from None


def bounded_read(f, limits: Limits) -> bytes | Unreadable:
    """All of ``f``, read in chunks, or Unreadable once more than ``limits.max_member_bytes`` arrive."""
    chunks, n = [], 0
    while chunk := f.read(_CHUNK):
        n += len(chunk)
        if n > limits.max_member_bytes:
            return Unreadable(_size_problem(n, limits))
        chunks.append(chunk)
    return b"".join(chunks)


def _size_problem(size: int, limits: Limits) -> str | None:
    if size > limits.max_member_bytes:
        return (f"it holds more than {limits.max_member_bytes:,} bytes uncompressed ({size:,}); raise the "
                f"limit with {OPTION['max_member_bytes']} if the file is genuine")
    return None


def _name_problem(name: str) -> str | None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8; rename the file"
    return None


def zip_member_problem(info: zipfile.ZipInfo, name: str, limits: Limits) -> str | None:
    """Why a zip member cannot be read safely, from its declared header, or None."""
    if info.flag_bits & 0x1:
        return "it is encrypted; re-create the archive without a password"
    if info.compress_type not in _ZIP_METHODS:
        return (f"it is compressed with method {info.compress_type} (Deflate64 or another one Python cannot "
                "read); re-create the archive with Deflate")
    problem = _name_problem(name) or _size_problem(info.file_size, limits)
    ratio = info.file_size / max(info.compress_size, 1)
    if not problem and info.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
        problem = (f"it expands {ratio:,.0f} times (a decompression bomb?), more than the limit of "
                   f"{limits.max_ratio:g}; raise it with {OPTION['max_ratio']} if the file is genuine")
    return problem


def _check_total(total: int, source: Source, limits: Limits) -> None:
    if total > limits.max_total_bytes:
        raise DataError(f"archive {source.path} holds more than {limits.max_total_bytes:,} bytes uncompressed; "
                        f"raise the limit with {OPTION['max_total_bytes']} if the archive is genuine.")


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
        notes.append(f"ignored {len(outside)} file(s) outside class folders: {listing(outside)}")
    return labels, notes


def listing(names) -> str:
    names = list(names)
    more = f" ... and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
    return ", ".join(names[:_MAX_LISTED]) + more


# --------------------------------------------------------------------------- decoding

class Unreadable:
    """A payload that could not be read from its container (the message says why)."""

    def __init__(self, message: str):
        self.message = message


def iter_payloads(source: Source, wanted, limits: Limits = DEFAULT_LIMITS
                  ) -> Iterator[tuple[str, bytes | str | Unreadable]]:
    """``(name, payload)`` for each wanted file, in the container's own order.

    A payload is the file's path (a folder: the decoding process reads it), its
    bytes (an archive), or :class:`Unreadable`.
    """
    if source.kind == "dir":
        for name in sorted(wanted):
            problem = _name_problem(name)
            yield name, Unreadable(problem) if problem else str(source.path / name)
    elif source.kind == "zip":
        total = 0
        with _open_archive(source) as zf:
            for info in zf.infolist():
                name = _member_name(info.filename, source)
                if name in wanted and not info.is_dir():
                    problem = zip_member_problem(info, name, limits)
                    if problem:
                        yield name, Unreadable(problem)
                        continue
                    try:
                        with zf.open(info) as f:
                            payload = bounded_read(f, limits)
                    except (OSError, zipfile.BadZipFile, EOFError, ValueError, RuntimeError,
                            NotImplementedError) as err:
                        payload = Unreadable(f"cannot read it from the archive: {err}")
                    total += len(payload) if isinstance(payload, bytes) else 0
                    _check_total(total, source, limits)
                    yield name, payload
    else:
        with _open_archive(source) as tf:
            for name, member in _wanted_tar_members(tf, source, wanted, limits):
                yield name, _read_tar_member(tf, member, name, source, limits)
