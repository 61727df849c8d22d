"""Embedding files, memory-mapped: a directory with ``X.npy`` + ``y.npy``, shards, or an ``.npz``.

Accepted layouts for one split (train, val or test):

- a directory with ``X.npy`` (N, D) float16/32/64 and ``y.npy`` (N,) integers or strings;
- a directory with shards ``X-00000.npy``, ``X-00001.npy``… (rows in that order) and ``y.npy``
  (or shards ``y-00000.npy``…);
- an ``.npz`` (``numpy.savez``) holding ``X`` (stored uncompressed, to be mapped) and ``y``.

Every file must be a regular file (a FIFO or a device is refused at once, never waited on), and every
``.npy`` header is checked alone before anything is summed or allocated: each dimension non-negative, the
declared bytes within the file. ``y`` inside an ``.npz`` is held to the bounds of an archive member
(:class:`~linclass.datasets.limits.Limits`: declared size, compression ratio, ``--max-member-bytes``).

``X`` is never read whole: :class:`Rows` maps each file with :mod:`mmap` and
hands out row ranges (``read``); after a range is used, ``release`` tells the
kernel to drop its pages from this process (``MADV_DONTNEED``), so the resident
memory stays one chunk, not the file (the pages stay in the page cache for the
next pass). Labels are small and loaded whole, without pickle.
"""

from __future__ import annotations

import io
import math
import mmap
import os
import re
import struct
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import open_regular, row_matrix
from ..datasets.archive import bounded_read, zip_member_problem
from ..datasets.limits import DEFAULT_LIMITS, Limits
from ..errors import DataError
from .source import drop_pages

FLOAT_DTYPES = ("float16", "float32", "float64")
_SHARD = re.compile(r"^X-(\d{5,})\.npy$")
_MAPPING = threading.Lock()  # two chunk threads must not map one file twice (the pages of one would never be released)


def _npy_header(f, where: str) -> tuple[tuple, bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the .npy header at the file's position."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        return np.lib.format.read_array_header_2_0(f)
    except Exception as err:  # noqa: BLE001 - numpy's header parser fails in many ways on a forged header
        reason = f"{type(err).__name__}: {err}".splitlines()[0][:200]
        raise DataError(f"{where} is not a valid .npy array ({reason}); write it with numpy.save.") from None


@dataclass
class Part:
    """One memory-mapped (n, D) array: a file, the byte offset of its data, its shape and dtype."""

    path: str
    offset: int
    shape: tuple
    dtype: np.dtype

    def __post_init__(self):
        self._map = self._array = None

    def __getstate__(self):  # what a Dask worker needs to map the same file itself: no data travels
        return {"path": self.path, "offset": self.offset, "shape": self.shape, "dtype": self.dtype}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__post_init__()

    @property
    def array(self) -> np.ndarray:
        """The read-only (n, D) view of the mapped file (mapped on first use, once, whichever thread asks)."""
        with _MAPPING:
            if self._array is None:
                with open(self.path, "rb") as f:
                    self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                count = math.prod(self.shape)
                self._array = np.frombuffer(self._map, self.dtype, count, self.offset).reshape(self.shape)
        return self._array

    def release(self, start: int, stop: int) -> None:
        """Drop the pages of rows ``start:stop`` from this process's resident memory."""
        if self._map is not None:
            row = self.shape[1] * self.dtype.itemsize
            drop_pages(self._map, self.offset + start * row, self.offset + stop * row)


RESIDENT_BYTES = 256 * 2 ** 20
"""Splits up to this size keep their pages mapped from one pass to the next (mapping them again after a
release costs about 5% of a pass: one page fault per 4 KiB); larger ones release each chunk's pages after use,
so the resident memory stays bounded whatever the file's size."""


class Rows:
    """The rows of one or more :class:`Part` (shards) as one (N, D) source: ``shape``, ``dtype``,
    ``boundaries`` (shard starts and N), ``read(start, stop)`` within a shard, ``release`` (beyond
    :data:`RESIDENT_BYTES`)."""

    def __init__(self, parts: list[Part], where: str):
        D = {p.shape[1] for p in parts}
        dtypes = {p.dtype for p in parts}
        if len(D) != 1 or len(dtypes) != 1:
            raise DataError(f"{where}: the shards differ in width or dtype ({sorted(D)}, "
                            f"{sorted(str(d) for d in dtypes)}); write every shard as (n, D) of one dtype.")
        self.parts, self.where = parts, where
        self.boundaries = tuple(int(b) for b in np.cumsum([0] + [p.shape[0] for p in parts]))
        self.shape = (self.boundaries[-1], D.pop())
        self.dtype = dtypes.pop()
        self.resident = self.shape[0] * self.shape[1] * self.dtype.itemsize <= RESIDENT_BYTES

    def _locate(self, start: int, stop: int) -> tuple[Part, int]:
        k = int(np.searchsorted(self.boundaries, start, side="right")) - 1
        if stop > self.boundaries[k + 1]:
            raise DataError(f"{self.where}: rows {start}:{stop} cross a shard boundary.")
        return self.parts[k], self.boundaries[k]

    def read(self, start: int, stop: int) -> np.ndarray:
        part, base = self._locate(start, stop)
        return part.array[start - base:stop - base]

    def release(self, start: int, stop: int) -> None:
        if self.resident:
            return
        part, base = self._locate(start, stop)
        part.release(start - base, stop - base)


@dataclass
class Split:
    """One split's rows ``X`` (a :class:`Rows`) and raw labels ``y`` (N,), with where they came from."""

    X: Rows
    y: np.ndarray
    where: str


def _open(path, where: str):
    """``path`` opened for reading if it is a regular file, else :class:`DataError` (a FIFO is not waited on)."""
    try:
        return open_regular(path)
    except OSError as err:
        raise DataError(f"{where} cannot be read ({err.strerror or err}); pass the embeddings as regular "
                        ".npy / .npz files written with numpy.save.") from None


def _check_declared(shape: tuple, dtype: np.dtype, available: int, where: str) -> None:
    """The header's own claim, alone: every dimension >= 0 and its bytes within the ``available`` ones."""
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise DataError(f"{where} declares the shape {shape}, with a negative count; the file is damaged or "
                        "forged: write it again with numpy.save.")
    if math.prod(shape) * dtype.itemsize > available:
        raise DataError(f"{where} is truncated: its header promises {shape} {dtype} values "
                        f"({math.prod(shape) * dtype.itemsize:,} bytes) but holds {max(available, 0):,}; "
                        "write it again with numpy.save.")


def _check_X(part: Part, where: str, size: int) -> Part:
    if part.dtype.name not in FLOAT_DTYPES:
        raise DataError(f"{where} holds {part.dtype} values; embeddings must be float16, float32 or float64 "
                        "(convert with X.astype(np.float32)).")
    _check_declared(part.shape, part.dtype, size - part.offset, where)
    row_matrix(part, f"{where}: X", DataError)
    return part


def _npy_part(path: Path) -> Part:
    where = str(path)
    with _open(path, where) as f:
        shape, fortran, dtype = _npy_header(f, where)
        offset = f.tell()
        size = os.fstat(f.fileno()).st_size
    if fortran and len(shape) > 1:
        raise DataError(f"{where} is stored column-major (Fortran order); rows must be contiguous: "
                        "numpy.save(path, np.ascontiguousarray(X)).")
    return _check_X(Part(where, offset, tuple(shape), np.dtype(dtype)), where, size)


def _load_npy(f, where: str, available: int) -> np.ndarray:
    """The (small) array of the ``.npy`` at ``f``'s position, its header checked alone before reading."""
    start = f.tell()
    shape, _, dtype = _npy_header(f, where)
    if not np.dtype(dtype).hasobject:  # pickled objects are refused by np.load below, whatever their size
        _check_declared(tuple(shape), np.dtype(dtype), available - (f.tell() - start), where)
    f.seek(start)
    return np.load(f, allow_pickle=False)


def _labels(load, where: str, n: int) -> np.ndarray:
    try:
        y = load()
    except DataError:
        raise
    except (ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) as err:
        hint = ("labels saved as Python objects need pickle, which is refused; save them as a string or integer "
                "array, e.g. np.save('y.npy', np.asarray(labels, dtype=str))") if "pickle" in str(err) \
            else "write it with numpy.save"
        raise DataError(f"{where} cannot be read ({err}); {hint}.") from None
    if y.ndim != 1 or y.dtype.kind not in "iuUSb":
        raise DataError(f"{where} must be a 1-D array of integers or strings, got shape {y.shape} dtype {y.dtype}.")
    if y.shape[0] != n:
        raise DataError(f"{where} has {y.shape[0]} labels for {n} rows of X; give one label per row.")
    return y


def _npz_split(path: Path, limits: Limits, labels: bool = True) -> Split:
    where = str(path)
    with _open(path, where) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            with zipfile.ZipFile(f) as zf:
                info = {i.filename: i for i in zf.infolist()}
                if "X.npy" not in info or ("y.npy" not in info and labels):
                    raise DataError(f"{where} must hold arrays named X and y (numpy.savez(path, X=X, y=y)), "
                                    f"found {sorted(n.removesuffix('.npy') for n in info)[:20]}.")
                xi = info["X.npy"]
                if xi.compress_type != zipfile.ZIP_STORED:
                    raise DataError(f"{where} is compressed, so X cannot be memory-mapped; save it with numpy.savez "
                                    "(not savez_compressed), or as a directory with X.npy and y.npy.")
                y_bytes = _npz_labels(zf, info["y.npy"], limits, where) if labels else None
            f.seek(xi.header_offset)
            local = f.read(30)
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            f.seek(xi.header_offset + 30 + name_len + extra_len)
            shape, fortran, dtype = _npy_header(f, f"{where} (X)")
            offset = f.tell()
        except DataError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, struct.error, EOFError, OSError, ValueError,
                NotImplementedError, RuntimeError) as err:
            raise DataError(f"{where} is not a valid .npz archive ({str(err)[:200]}); write it with "
                            "numpy.savez.") from None
    if fortran and len(shape) > 1:
        raise DataError(f"{where}: X is stored column-major; save np.ascontiguousarray(X).")
    part = _check_X(Part(where, offset, tuple(shape), np.dtype(dtype)), f"{where} (X)",
                    min(size, offset + xi.file_size))
    y = _labels(lambda: _load_npy(io.BytesIO(y_bytes), f"{where} (y)", len(y_bytes)), f"{where} (y)",
                part.shape[0]) if labels else None
    return Split(Rows([part], where), y, where)


def _npz_labels(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, where: str) -> bytes:
    """The bytes of the ``.npz``'s ``y`` member, held to the bounds of an archive member."""
    problem = zip_member_problem(info, info.filename, limits)
    if problem:
        raise DataError(f"{where}: y cannot be read: {problem}.")
    with zf.open(info) as fy:
        y_bytes = bounded_read(fy, limits)
    if not isinstance(y_bytes, bytes):
        raise DataError(f"{where}: y cannot be read: {y_bytes.message}.")
    return y_bytes


def _load_labels(path: Path) -> np.ndarray:
    with _open(path, str(path)) as f:
        return _load_npy(f, str(path), os.fstat(f.fileno()).st_size)


def open_split(path, limits: Limits = DEFAULT_LIMITS, *, labels: bool = True) -> Split:
    """The split stored at ``path`` (see the module's layouts), memory-mapped; raises :class:`DataError`.
    ``labels=False`` (rows to classify): ``y`` is None and is not read, and a bare ``.npy`` file is accepted.
    ``limits``: the bounds on ``y`` inside an ``.npz`` (see :mod:`linclass.datasets.limits`)."""
    path = Path(path)
    where = str(path)
    if path.suffix == ".npz" and path.exists() and not path.is_dir():
        return _npz_split(path, limits, labels)
    if path.suffix == ".npy" and path.exists() and not path.is_dir() and not labels:
        return Split(Rows([_npy_part(path)], where), None, where)
    if not path.is_dir():
        raise DataError(f"{where}: no such directory or .npz file; pass a directory holding X.npy and y.npy "
                        "(or X-00000.npy… shards), or an .npz with X and y.")
    if (path / "X.npy").exists():
        parts = [_npy_part(path / "X.npy")]
    else:
        shards = sorted(p for p in path.iterdir() if _SHARD.match(p.name))
        if not shards:
            raise DataError(f"{where} holds neither X.npy nor shards X-00000.npy…; save the embeddings there "
                            "with numpy.save (one row per example).")
        parts = [_npy_part(p) for p in shards]
    X = Rows(parts, where)
    if not labels:
        return Split(X, None, where)
    if (path / "y.npy").exists():
        y = _labels(lambda: _load_labels(path / "y.npy"), str(path / "y.npy"), X.shape[0])
    else:
        y_shards = sorted(path.glob("y-*.npy"))
        if not y_shards:
            raise DataError(f"{where} has no labels: save them as y.npy (one per row of X).")
        y = _labels(lambda: np.concatenate([_load_labels(p) for p in y_shards]), f"{where}/y-*.npy", X.shape[0])
    return Split(X, y, where)


def is_embedding_path(path) -> bool:
    """Whether ``path`` names one of this module's layouts (an ``.npz`` or ``.npy`` file, or a directory with
    ``X.npy`` or shards), judged by names alone: nothing is read."""
    path = Path(path)
    if path.is_file():
        return path.suffix in (".npz", ".npy")
    return path.is_dir() and ((path / "X.npy").is_file() or any(_SHARD.match(p.name) for p in path.iterdir()))
