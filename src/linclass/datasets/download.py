"""Download a file safely: stream, resume, show progress, verify, then rename.

``download(url, dest, checksum=...)`` streams ``url`` into ``dest.part``; a
``.part`` left by an interrupted run is resumed with an HTTP ``Range`` request
(a server that ignores ``Range`` gets a full download instead). Only a file
whose checksum matches is renamed (atomically) to ``dest``; a mismatching one
is deleted. Without a network, the error says where to put the file by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import DataError, ParameterError
from ..persist import fsync_dir

ALGORITHMS = ("md5", "sha256")
_CHUNK = 1 << 20  # 1 MiB


class NetworkError(DataError):
    """The server could not be reached or the transfer broke off; ``cause`` says which."""

    def __init__(self, message: str, cause: str = ""):
        super().__init__(message)
        self.cause = cause


def file_checksum(path, algorithm: str = "md5") -> str:
    """Hex digest of the file at ``path`` (``algorithm`` is ``"md5"`` or ``"sha256"``)."""
    _check_algorithm(algorithm)
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.new(algorithm, usedforsecurity=False)).hexdigest()


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in ALGORITHMS:
        raise ParameterError(f"checksum algorithm {algorithm!r} is not supported; use one of {ALGORITHMS}.")


def download(url: str, dest, *, checksum: str, algorithm: str = "md5", progress: bool = True,
             timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` and return ``dest``, verified against ``checksum``.

    - ``dest`` already there with the right checksum: nothing is downloaded.
    - ``dest.part`` there: the download resumes from its size (``Range: bytes=n-``).
    - a progress bar (bytes, %, MB/s) goes to stderr when ``progress`` and
      stderr is a terminal.
    - checksum mismatch: the file is deleted and :class:`DataError` is raised.
    - no network, refused connection, timeout, HTTP error or a broken transfer:
      :class:`NetworkError` (a ``DataError``) that says how to place the file by
      hand; a broken transfer keeps ``dest.part`` so the next call resumes it.
    """
    _check_algorithm(algorithm)
    dest = Path(dest)
    checksum = checksum.lower()
    if dest.is_file() and file_checksum(dest, algorithm) == checksum:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        _fetch(url, part, progress=progress, timeout=timeout)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        cause = _cause(exc)
        raise NetworkError(
            f"could not download {url}: {cause}. Without internet, download {dest.name} from {url} "
            f"on another machine and place it by hand as {dest} (directory {dest.parent}, "
            f"file name {dest.name}); it is verified before use.", cause=cause) from None
    got = file_checksum(part, algorithm)
    if got != checksum:
        part.unlink(missing_ok=True)
        raise DataError(
            f"{dest.name} downloaded from {url} fails its {algorithm} checksum: expected {checksum}, "
            f"got {got}. The file was removed. Try again (the transfer may have been corrupted), "
            f"or use a mirror, or place a good copy at {dest} by hand."
        )
    _fsync(part)
    os.replace(part, dest)
    fsync_dir(dest.parent)
    return dest


def _fetch(url: str, part: Path, *, progress: bool, timeout: float) -> None:
    """Stream ``url`` into ``part``, resuming from its current size when the server allows."""
    start = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "linclass"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not start:  # 416: the .part already holds the whole file
            raise
        exc.close()
        return
    with response:
        status = getattr(response, "status", None) or 200
        if start and not (status == 206 and _range_start(response.headers.get("Content-Range")) == start):
            start = 0  # the server ignored Range: download everything again
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        bar = _ProgressBar(total, start, sys.stderr) if progress and _is_tty(sys.stderr) else None
        done = start
        with open(part, "ab" if start else "wb") as f:
            while chunk := response.read(_CHUNK):
                f.write(chunk)
                done += len(chunk)
                if bar:
                    bar.update(done)
        if bar:
            bar.close(done)
    if total is not None and done < total:
        raise http.client.IncompleteRead(b"", total - done)


def _range_start(content_range: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes a-b/n``, or None."""
    m = re.match(r"\s*bytes\s+(\d+)-", content_range or "")
    return int(m.group(1)) if m else None


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _ProgressBar:
    """One line on a terminal: ``[#####-----]  45%  73.2/162.6 MB  5.1 MB/s``."""

    WIDTH = 30

    def __init__(self, total: int | None, start: int, stream, clock=time.monotonic):
        self.total, self.start, self.stream, self.clock = total, start, stream, clock
        self.t0 = self.last = clock()

    def line(self, done: int, now: float) -> str:
        rate = (done - self.start) / max(now - self.t0, 1e-9) / 1e6
        mb = f"{done / 1e6:.1f}"
        if self.total:
            frac = min(done / self.total, 1.0)
            filled = int(frac * self.WIDTH)
            return (f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {frac * 100:3.0f}%  "
                    f"{mb}/{self.total / 1e6:.1f} MB  {rate:.1f} MB/s")
        return f"{mb} MB  {rate:.1f} MB/s"

    def update(self, done: int) -> None:
        now = self.clock()
        if now - self.last >= 0.1:
            self.last = now
            self.stream.write("\r" + self.line(done, now))
            self.stream.flush()

    def close(self, done: int) -> None:
        self.stream.write("\r" + self.line(done, self.clock()) + "\n")
        self.stream.flush()


def _cause(exc: BaseException) -> str:
    """What went wrong on the network, in words."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, http.client.IncompleteRead):
        return "the transfer broke off before the end (run again to resume it)"
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return f"the host name could not be resolved (no network or DNS: {reason})"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, TimeoutError):
        return "the connection timed out"
    return f"{type(reason).__name__}: {reason}"


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
