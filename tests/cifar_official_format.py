"""Write small archives in the exact format of the official ``cifar-10-python.tar.gz``.

The official batches were written by Python 2 (``cPickle``, protocol 2) with
numpy: a dict of *byte-string* keys ``data`` (uint8 ndarray (N, 3072)),
``labels`` (list of int), ``batch_label`` (str), ``filenames`` (list of str);
``batches.meta`` holds ``label_names``, ``num_cases_per_batch``, ``num_vis``.
Python 3 cannot produce such a pickle (it writes ``bytes`` through
``_codecs.encode`` and names ``numpy._core``), so :func:`py2_pickle` emits the
protocol-2 opcodes by hand, as Python 2 did: ``U``/``T`` byte strings,
``numpy.core.multiarray._reconstruct`` + ``numpy.ndarray`` + ``numpy.dtype``
with its Python-2 state ``(3, '|', None, None, None, -1, -1, 0)``.

Images are laid out from the official description ("the first 1024 entries
contain the red channel values, the next 1024 the green, and the final 1024
the blue; each channel row-major") by explicit indexing, independently of the
reshape / transpose used by the loader.
"""

from __future__ import annotations

import io
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
# The official archive's member order (not sorted).
MEMBER_ORDER = ["data_batch_4", "readme.html", "test_batch", "data_batch_3", "batches.meta",
                "data_batch_2", "data_batch_5", "data_batch_1"]


@dataclass(frozen=True)
class Global:
    """A global named in a pickle (``c<module>\\n<name>\\n``)."""

    module: str
    name: str


@dataclass(frozen=True)
class Reduce:
    """``callable(*args)`` in a pickle (``REDUCE``), optionally followed by ``BUILD state``."""

    func: object
    args: tuple
    state: object = None
    has_state: bool = False


def _int(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    return b"J" + struct.pack("<i", v)


def _py2_ndarray(a: np.ndarray) -> Reduce:
    """How Python 2's numpy reduced an array: _reconstruct(ndarray, (0,), 'b') then BUILD."""
    dtype = Reduce(Global("numpy", "dtype"), (a.dtype.str[1:].encode(), 0, 1),
                   state=(3, b"|" if a.dtype.itemsize == 1 else b"<", None, None, None, -1, -1, 0),
                   has_state=True)
    return Reduce(Global("numpy.core.multiarray", "_reconstruct"),
                  (Global("numpy", "ndarray"), (0,), b"b"),
                  state=(1, a.shape, dtype, False, np.ascontiguousarray(a).tobytes()), has_state=True)


def _emit(obj, out: list) -> None:
    if obj is None:
        out.append(b"N")
    elif obj is True or obj is False:
        out.append(b"\x88" if obj else b"\x89")
    elif isinstance(obj, int):
        out.append(_int(obj))
    elif isinstance(obj, bytes):  # a Python-2 str
        out.append(b"U" + bytes([len(obj)]) + obj if len(obj) < 256
                   else b"T" + struct.pack("<I", len(obj)) + obj)
    elif isinstance(obj, str):
        _emit(obj.encode("latin1"), out)
    elif isinstance(obj, Global):
        out.append(b"c" + obj.module.encode() + b"\n" + obj.name.encode() + b"\n")
    elif isinstance(obj, Reduce):
        _emit(obj.func, out)
        _emit(tuple(obj.args), out)
        out.append(b"R")
        if obj.has_state:
            _emit(obj.state, out)
            out.append(b"b")
    elif isinstance(obj, np.ndarray):
        _emit(_py2_ndarray(obj), out)
    elif isinstance(obj, tuple):
        if len(obj) == 0:
            out.append(b")")
        elif len(obj) <= 3:
            for v in obj:
                _emit(v, out)
            out.append({1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(obj)])
        else:
            out.append(b"(")
            for v in obj:
                _emit(v, out)
            out.append(b"t")
    elif isinstance(obj, list):
        out.append(b"]")
        if obj:
            out.append(b"(")
            for v in obj:
                _emit(v, out)
            out.append(b"e")
    elif isinstance(obj, dict):
        out.append(b"}")
        if obj:
            out.append(b"(")
            for k, v in obj.items():
                _emit(k, out)
                _emit(v, out)
            out.append(b"u")
    else:
        raise TypeError(f"cannot write {type(obj).__name__} as a Python-2 pickle")


def py2_pickle(obj) -> bytes:
    """``obj`` as Python 2's ``cPickle.dumps(obj, 2)`` would write it (without memo opcodes)."""
    out = [b"\x80\x02"]
    _emit(obj, out)
    out.append(b".")
    return b"".join(out)


def images_to_rows(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) -> official (N, 3072) rows: row[c*1024 + i*32 + j] = image[i, j, c]."""
    n = images.shape[0]
    rows = np.empty((n, 3072), np.uint8)
    for c in range(3):
        for i in range(32):
            for j in range(32):
                rows[:, c * 1024 + i * 32 + j] = images[:, i, j, c]
    return rows


def batch_dict(images: np.ndarray, labels, batch_label: str, start: int = 0) -> dict:
    return {
        b"data": images_to_rows(images),
        b"labels": [int(v) for v in labels],
        b"batch_label": batch_label.encode(),
        b"filenames": [f"{CLASS_NAMES[int(v)]}_s_{start + k:06d}.png".encode() for k, v in enumerate(labels)],
    }


def meta_dict(n_per_batch: int) -> dict:
    return {b"num_cases_per_batch": n_per_batch,
            b"label_names": [n.encode() for n in CLASS_NAMES],
            b"num_vis": 3072}


@dataclass
class Generated:
    """What was written: the images and labels the loader must give back."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    members: dict  # member name -> pickled bytes


def _learnable(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images whose classes a linear classifier tells apart (a hue and a brightness per class, plus
    noise) and their labels, every class as often as ``n`` allows, in a shuffled order."""
    y = rng.permutation(np.arange(n) % 10).astype(np.int64)
    X = rng.integers(0, 60, (n, 32, 32, 3)) + (40 + 20 * (y % 5))[:, None, None, None]
    X[np.arange(n), :, :, y % 3] += 120  # (y % 3, y % 5) differs for each of the 10 classes
    return np.clip(X, 0, 255).astype(np.uint8), y


def generate(n_per_batch: int = 20, n_test: int = 20, seed: int = 0, learnable: bool = False) -> Generated:
    """A small CIFAR-10 in the official format: random pixels and labels, or with ``learnable`` images a
    linear classifier can tell apart and every class in every split (where the sizes allow)."""
    rng = np.random.default_rng(seed)
    if learnable:
        X_train, y_train = _learnable(5 * n_per_batch, rng)
        X_test, y_test = _learnable(n_test, rng)
    else:
        X_train = rng.integers(0, 256, (5 * n_per_batch, 32, 32, 3), dtype=np.uint8)
        y_train = rng.integers(0, 10, 5 * n_per_batch).astype(np.int64)
        X_test = rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8)
        y_test = rng.integers(0, 10, n_test).astype(np.int64)
    members = {}
    for b, name in enumerate(TRAIN_BATCHES):
        sl = slice(b * n_per_batch, (b + 1) * n_per_batch)
        members[name] = py2_pickle(batch_dict(X_train[sl], y_train[sl], f"training batch {b + 1} of 5",
                                              start=b * n_per_batch))
    members["test_batch"] = py2_pickle(batch_dict(X_test, y_test, "testing batch 1 of 1"))
    members["batches.meta"] = py2_pickle(meta_dict(n_per_batch))
    members["readme.html"] = b"<html>CIFAR-10</html>\n"
    return Generated(X_train, y_train, X_test, y_test, members)


def write_archive(path: Path, members: dict) -> Path:
    """A ``.tar.gz`` with ``cifar-10-batches-py/`` and the given members (official order first)."""
    names = [n for n in MEMBER_ORDER if n in members] + [n for n in members if n not in MEMBER_ORDER]
    with tarfile.open(path, "w:gz") as tar:
        d = tarfile.TarInfo("cifar-10-batches-py")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(d)
        for name in names:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size, info.mode = len(members[name]), 0o644
            tar.addfile(info, io.BytesIO(members[name]))
    return path


# ----------------------------------------------------------------------------- a local HTTP server
class FileServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1, with ``Range`` support, in a thread.

    ``requests`` records ``(path, Range header or None)`` for every GET;
    ``ignore_range`` makes it answer 200 with the whole file; ``cut_after``
    sends only that many body bytes, then closes (a broken transfer).
    """

    def __init__(self, files: dict | None = None):
        import http.server
        import threading

        self.files = dict(files or {})
        self.requests: list[tuple[str, str | None]] = []
        self.ignore_range = False
        self.cut_after: int | None = None
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                owner.requests.append((self.path, rng))
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start, status = 0, 200
                if rng and not owner.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                payload = body[start:]
                self.send_response(status)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if owner.cut_after is not None:
                    payload = payload[:owner.cut_after]
                    self.close_connection = True
                self.wfile.write(payload)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def closed_port_url(path: str = "/cifar-10-python.tar.gz") -> str:
    """A URL on 127.0.0.1 whose port nothing listens on: the connection is refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
