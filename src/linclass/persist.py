"""Model files: ``.npz`` arrays + JSON metadata, never pickle.

Layout of a model file (a zip written by :func:`numpy.savez`):

- ``__linclass__``: the JSON metadata as UTF-8 bytes (a uint8 array): format name
  and version, library version, class names, loss, regularization, training
  settings, data-set fingerprint, and the SHA-256 of every array;
- every other entry is a named array (``model/W``, ``model/b``, ``preprocess/mean``...).

Writing is atomic (a temporary file in the same directory, fsync, rename), so a
crash never leaves a half-written model. Loading uses ``allow_pickle=False`` and
checks the format marker, the array hashes and the shapes: a truncated,
tampered or foreign file raises :class:`ModelFileError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import zipfile
from pathlib import Path

import numpy as np

from .errors import ModelFileError

FORMAT = "linclass-model"
FORMAT_VERSION = 1
_META_KEY = "__linclass__"


def _digest(array: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def atomic_write(path, write) -> Path:
    """Call ``write(file_object)`` on a temporary file next to ``path``, fsync, then rename over ``path``.

    Creates the parent directory. The file gets the usual permissions (0o666 less
    the umask, like ``open(path, "wb")``). On any error the temporary file is
    removed and ``path`` keeps its old content (or stays absent): no reader ever
    sees a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return path


def write_bytes(path, data: bytes) -> Path:
    """``data`` into ``path``, atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda f: f.write(data))


def write_json(path, data) -> Path:
    """``data`` as indented JSON (finite numbers only) into ``path``, atomically."""
    return write_bytes(path, json.dumps(data, indent=2, allow_nan=False).encode())


def save_arrays(path, arrays: dict, metadata: dict, *, kind: str = "model") -> Path:
    """Write named arrays and JSON metadata atomically; ``kind`` tells models from checkpoints."""
    for name, a in arrays.items():
        if a.dtype == object:
            raise ModelFileError(f"array {name!r} has dtype object; only numeric arrays are saved (no pickle).")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ModelFileError(f"refusing to save {name!r}: it contains NaN or inf.")
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, **metadata,
            "arrays": {name: _digest(a) for name, a in arrays.items()}}
    blob = np.frombuffer(json.dumps(meta, allow_nan=False).encode(), dtype=np.uint8)
    return atomic_write(path, lambda f: np.savez(f, **{_META_KEY: blob}, **arrays))


def load_arrays(path, *, kind: str = "model") -> tuple[dict, dict]:
    """``(arrays, metadata)`` from a file written by :func:`save_arrays`, verified."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file; pass the model file written by `linclass train` "
                             "(model.npz in its --out directory).")
    with open(path, "rb") as f:
        zipped = f.read(4) == b"PK\x03\x04"  # an .npz is a zip archive (a truncated one is caught below)
    if not zipped:
        raise ModelFileError(f"{path} is not a linclass {kind} file (not an .npz archive); pass the model.npz "
                             "that `linclass train` wrote in its --out folder.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            if _META_KEY not in names:
                raise ModelFileError(f"{path} is not a linclass {kind} file (no metadata entry); "
                                     "train a model with `linclass train` and pass its model.npz.")
            meta = json.loads(npz[_META_KEY].tobytes().decode())
            arrays = {n: npz[n] for n in names if n != _META_KEY}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{path} is truncated or corrupt ({type(err).__name__}: {err}); "
                             "re-run training or restore the file from a backup.") from None
    if meta.get("format") != FORMAT or meta.get("kind") != kind:
        raise ModelFileError(f"{path} is not a linclass {kind} file (format {meta.get('format')!r}, "
                             f"kind {meta.get('kind')!r}).")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{path} was written by a newer linclass (format {meta['format_version']}); "
                             "upgrade linclass to load it.")
    expected = meta.get("arrays", {})
    if set(expected) != set(arrays):
        raise ModelFileError(f"{path} has been tampered with: its arrays {sorted(arrays)} differ from "
                             f"those recorded {sorted(expected)}.")
    for name, a in arrays.items():
        if _digest(a) != expected[name]:
            raise ModelFileError(f"{path} has been tampered with or damaged: array {name!r} does not "
                                 "match its recorded SHA-256; re-run training.")
    return arrays, meta


def split_prefix(arrays: dict, prefix: str) -> dict:
    """The arrays named ``prefix/...``, with the prefix removed."""
    p = prefix + "/"
    return {k[len(p):]: v for k, v in arrays.items() if k.startswith(p)}


def with_prefix(prefix: str, arrays: dict) -> dict:
    return {f"{prefix}/{k}": v for k, v in arrays.items()}
