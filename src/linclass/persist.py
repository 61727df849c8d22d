"""Model files: ``.npz`` arrays + JSON metadata, never pickle.

Layout of a model file (a zip written by :func:`numpy.savez`):

- ``__linclass__``: the metadata as canonical JSON (sorted keys, ASCII; a uint8
  array): format name and version, library version, class names, loss,
  regularization, training settings, data-set fingerprint, and the SHA-256 of
  every array;
- ``__linclass_seal__``: JSON ``{"metadata_sha256", "hmac_sha256"}``: the
  metadata's SHA-256, and its HMAC-SHA256 under ``$LINCLASS_MODEL_KEY`` (or
  ``--key-file``) when the file is signed. The HMAC covers the metadata, which
  holds the arrays' hashes, so it authenticates the whole file: a signed file
  is refused without its key or with another one;
- every other entry is a named numeric array (``model/W``, ``model/b``, ``preprocess/mean``...).

Writing is atomic (a temporary file in the same directory, fsync, rename), so a
crash never leaves a half-written model; :func:`atomic_write` and :func:`atomic_write_dir`
are the package's one way to write a file or a directory of files. Loading uses ``allow_pickle=False``,
checks every ``.npy`` header (numeric dtype, element count within the entry's
size) before allocating, then the format marker, the metadata hash (and HMAC)
and the array hashes, and that every float is finite (as writing does): a truncated, tampered or
foreign file raises one :class:`ModelFileError` naming the file. :mod:`linclass.classifier` validates
the model's schema.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
import shutil
import zipfile
from pathlib import Path

import numpy as np

from .errors import ModelFileError

FORMAT = "linclass-model"
FORMAT_VERSION = 2
_META_KEY = "__linclass__"
_SEAL_KEY = "__linclass_seal__"
_NUMERIC_KINDS = "biuf"
KEY_ENV = "LINCLASS_MODEL_KEY"
"""Environment variable holding the HMAC key that signs (and is required to load) model files."""


def array_digest(array: np.ndarray) -> str:
    """The SHA-256 of an array's dtype, shape and bytes (hashed in place: a memory map is not copied)."""
    h = hashlib.sha256()
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return h.hexdigest()


def fsync_dir(directory) -> None:
    """Make a rename in ``directory`` durable (best effort: some file systems cannot fsync a folder)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_synced(path: Path, write, flags: int = os.O_WRONLY | os.O_CREAT | os.O_EXCL, *, sync: bool = True) -> None:
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o666)
    with os.fdopen(fd, "wb") as f:
        write(f)
        f.flush()
        if sync:
            os.fsync(f.fileno())


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
    try:
        _write_synced(tmp, write)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_dir(path, files: dict, *, complete=None, many: bool = False) -> Path:
    """A directory ``path`` holding ``files`` (``{name: write(file_object)}``), all or nothing.

    A name may hold folders (``"train/cat/0000.jpg"``); the files are written in the order of ``files``.
    Every file is written and made durable in a temporary directory beside ``path``, which is then
    renamed over it in one step (an old ``path`` is removed first). If the rename fails because
    another process put its own directory there first, that one is kept when ``complete(path)``
    says it is whole; otherwise the error is raised. The temporary directory never stays behind.
    Each file is fsynced; with ``many`` (thousands of small files), one ``os.sync()`` before the rename
    replaces them where the system has it (60,000 fsyncs took 130 s on a busy disk, one sync 1 s).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    tmp.mkdir()
    once = many and hasattr(os, "sync")
    try:
        folders = {tmp}
        for name, write in files.items():
            target = tmp / name
            if target.parent not in folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                folders.update(p for p in target.parents if p.is_relative_to(tmp))
            _write_synced(target, write, sync=not once)
        if once:
            os.sync()
        else:
            for folder in sorted(folders, reverse=True):  # their entries, durable before the rename publishes them
                fsync_dir(folder)
        if path.exists():  # a stale or broken copy (a complete one would have been read)
            shutil.rmtree(path, ignore_errors=True)
        try:
            os.replace(tmp, path)
        except OSError:
            if complete is None or not complete(path):  # not another process's complete copy
                raise
        fsync_dir(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def write_bytes(path, data: bytes) -> Path:
    """``data`` into ``path``, atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda f: f.write(data))


def write_json(path, data) -> Path:
    """``data`` as indented JSON (finite numbers only) into ``path``, atomically."""
    return write_bytes(path, json.dumps(data, indent=2, allow_nan=False).encode())


def canonical_json(data) -> bytes:
    """``data`` as canonical JSON: sorted keys, no spaces, ASCII only, finite numbers (one byte string per value)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def model_key(key: bytes | str | None = None) -> bytes | None:
    """The HMAC key: ``key`` if given, else ``$LINCLASS_MODEL_KEY`` (UTF-8) if set and not empty, else None."""
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    return key.encode() if isinstance(key, str) else key


def _seal(meta_bytes: bytes, key: bytes | None) -> dict:
    seal = {"metadata_sha256": hashlib.sha256(meta_bytes).hexdigest(), "hmac_sha256": None}
    if key is not None:
        seal["hmac_sha256"] = hmac.new(key, meta_bytes, hashlib.sha256).hexdigest()
    return seal


def save_arrays(path, arrays: dict, metadata: dict, *, kind: str = "model", key=None) -> Path:
    """Write named arrays and JSON metadata atomically; ``kind`` tells models from checkpoints.

    The metadata (with every array's SHA-256) is stored as canonical JSON; its
    SHA-256 is stored next to it, with an HMAC-SHA256 under ``key`` (default
    ``$LINCLASS_MODEL_KEY``) when there is one: the file is then *signed*.
    """
    for name, a in arrays.items():
        if a.dtype.kind not in _NUMERIC_KINDS:
            raise ModelFileError(f"array {name!r} has dtype {a.dtype}; only numeric arrays are saved (no pickle).")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ModelFileError(f"refusing to save {name!r}: it contains NaN or inf.")
    meta = {**metadata, "format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind,
            "arrays": {name: array_digest(a) for name, a in arrays.items()}}
    meta_bytes = canonical_json(meta)
    entries = {_META_KEY: np.frombuffer(meta_bytes, dtype=np.uint8),
               _SEAL_KEY: np.frombuffer(canonical_json(_seal(meta_bytes, model_key(key))), dtype=np.uint8)}
    return atomic_write(path, lambda f: np.savez(f, **entries, **arrays))


def _read_entries(path: Path, kind: str) -> dict:
    """``{name: array}`` of an ``.npz``, each ``.npy`` header checked before its data is allocated."""
    limit = path.stat().st_size  # np.savez stores: no member can be larger than the file
    arrays = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy") or info.filename[:-4] in arrays:
                raise ModelFileError(f"{path} is not a linclass {kind} file (entry {info.filename[:80]!r}); "
                                     "pass the model.npz written by `linclass train`.")
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > limit:
                raise ModelFileError(f"{path}: entry {info.filename[:80]!r} is compressed or larger than the file; "
                                     "it was not written by linclass: re-run training.")
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(f)
                count = math.prod(shape)
                if dtype.kind not in _NUMERIC_KINDS or count * dtype.itemsize > info.file_size:
                    raise ModelFileError(f"{path}: entry {info.filename[:80]!r} declares {count:,} elements of "
                                         f"{dtype}, more than it holds; the file is damaged or forged.")
            with zf.open(info) as f:
                arrays[info.filename[:-4]] = np.lib.format.read_array(f, allow_pickle=False)
    return arrays


def _json_entry(arrays: dict, name: str, path: Path, kind: str) -> tuple[bytes, dict]:
    raw = arrays.pop(name, None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path} is not a linclass {kind} file (no {name} entry); "
                             "train a model with `linclass train` and pass its model.npz.")
    data = raw.tobytes()
    value = json.loads(data.decode("ascii"))
    if not isinstance(value, dict):
        raise ValueError(f"{name} is not a JSON object")
    return data, value


def load_arrays(path, *, kind: str = "model", key=None) -> tuple[dict, dict]:
    """``(arrays, metadata)`` from a file written by :func:`save_arrays`, verified.

    Checks the metadata's SHA-256 and, for a signed file or when a key is given
    (``key`` or ``$LINCLASS_MODEL_KEY``), its HMAC; then each array's SHA-256.
    Any failure is a one-line :class:`ModelFileError` naming the file.
    """
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
        arrays = _read_entries(path, kind)
        meta_bytes, meta = _json_entry(arrays, _META_KEY, path, kind)
        _, seal = _json_entry(arrays, _SEAL_KEY, path, kind)
    except ModelFileError:
        raise
    except Exception as err:  # noqa: BLE001 - a forged file may fail anywhere in numpy, zipfile or json
        reason = f"{type(err).__name__}: {err}".splitlines()[0][:200]
        raise ModelFileError(f"{path} is truncated or corrupt ({reason}); "
                             "re-run training or restore the file from a backup.") from None
    if meta.get("format") != FORMAT or meta.get("kind") != kind:
        raise ModelFileError(f"{path} is not a linclass {kind} file (format {str(meta.get('format'))[:40]!r}, "
                             f"kind {str(meta.get('kind'))[:40]!r}).")
    version = meta.get("format_version")
    if not isinstance(version, int) or version != FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {str(version)[:20]}; this linclass reads version "
                             f"{FORMAT_VERSION}: re-run training with this version (or upgrade linclass).")
    if meta_bytes != canonical_json(meta) or seal.get("metadata_sha256") != hashlib.sha256(meta_bytes).hexdigest():
        raise ModelFileError(f"{path} has been tampered with or damaged: its metadata does not match its "
                             "recorded SHA-256; re-run training.")
    key = model_key(key)
    signature = seal.get("hmac_sha256")
    if signature is not None or key is not None:
        if key is None:
            raise ModelFileError(f"{path} is signed; pass its key with --key-file or ${KEY_ENV}.")
        if not isinstance(signature, str):
            raise ModelFileError(f"{path} is not signed, but a key was given; refusing an unsigned file "
                                 f"(unset ${KEY_ENV} to load it without authenticity).")
        if not hmac.compare_digest(signature, _seal(meta_bytes, key)["hmac_sha256"]):
            raise ModelFileError(f"{path} was not signed with this key (or has been tampered with); "
                                 "pass the key it was written with.")
    expected = meta.get("arrays")
    if not isinstance(expected, dict) or set(expected) != set(arrays):
        raise ModelFileError(f"{path} has been tampered with: its arrays differ from those recorded.")
    for name, a in arrays.items():
        if array_digest(a) != expected[name]:
            raise ModelFileError(f"{path} has been tampered with or damaged: array {name[:80]!r} does not "
                                 "match its recorded SHA-256; re-run training.")
        if a.dtype.kind == "f" and not np.isfinite(a).all():  # as save_arrays refuses to write them
            raise ModelFileError(f"{path}: array {name[:80]!r} holds NaN or inf, which linclass never saves; "
                                 "the file is forged or damaged: re-run training.")
    return arrays, meta


def split_prefix(arrays: dict, prefix: str) -> dict:
    """The arrays named ``prefix/...``, with the prefix removed."""
    p = prefix + "/"
    return {k[len(p):]: v for k, v in arrays.items() if k.startswith(p)}


def with_prefix(prefix: str, arrays: dict) -> dict:
    return {f"{prefix}/{k}": v for k, v in arrays.items()}
