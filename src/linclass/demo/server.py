"""The demo's small web server: the page's static files and the JSON API, standard library only.

:func:`make_server` returns an HTTP server with a backlog of :data:`BACKLOG`
connections and :data:`WORKERS` worker threads, bound to loopback by default
(``linclass demo`` warns when it is not); ``server.serve_forever()`` runs it and
``server.shutdown()`` (from another thread) then ``server.server_close()``
stops it. The server keeps no state between requests.

Slow clients cannot hold the workers: one reader thread receives every request
whole (headers and body, without blocking) before a worker sees it; a connection
that has not sent its request within :data:`READ_DEADLINE` seconds gets a 408
and is closed, one client address may have :data:`MAX_PER_CLIENT` requests in
flight (beyond: 503), the server :data:`MAX_PENDING` in all, and headers over
:data:`MAX_HEADER` bytes get a 431.

Every answer to bad input is a 4xx with a JSON body ``{"error": message}``:
411 (no Content-Length), 413 (body over :data:`MAX_BODY` bytes), 415 (not
``application/json``), 400 (malformed JSON, ``NaN``/``Infinity`` tokens, wrong
fields, shapes, types or values), 404 and 405. An unexpected exception is
logged and answered with a 500 and a generic message.
"""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import queue
import re
import selectors
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

from ..errors import LinclassError
from . import api

log = logging.getLogger("linclass.demo")

BACKLOG = 128
"""Connections the listening socket queues before refusing (the standard library's default is 5)."""
WORKERS = 16
"""Worker threads answering requests; further connections wait in a queue."""
MAX_BODY = 1 << 20
"""Largest request body accepted, in bytes (2,000 points take about 100 KB)."""
_DRAIN_LIMIT = 16 << 20
"""An oversized body up to this size is read and dropped (for at most :data:`READ_DEADLINE` seconds), so the
client sees the 413."""
READ_DEADLINE = 10.0
"""Seconds a connection has to send its whole request (headers and body) before it gets a 408."""
MAX_PER_CLIENT = 64
"""Connections one client address may have open and not yet answered; beyond, a 503 at once."""
MAX_PENDING = 1024
"""Connections being read, from all clients together; beyond, a 503 at once."""
MAX_HEADER = 64 << 10
"""Bytes of request line and headers accepted (the standard library's own limit per line); beyond, a 431."""

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def load_static() -> dict[str, tuple[bytes, str]]:
    """``{url path: (bytes, content type)}`` for the files shipped in ``linclass/demo/static``.

    Only these fixed paths are served: no file-system path is ever built from a URL.
    """
    files = {}
    for entry in (resources.files("linclass.demo") / "static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            files[f"/static/{entry.name}"] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    files["/"] = files["/static/index.html"]
    return files


class _BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _reject_constant(token: str):
    raise _BadRequest(400, f"the JSON body contains {token}, which is not a number; "
                           "send finite numbers only.")


class DemoHandler(BaseHTTPRequestHandler):
    """Routes ``GET`` static files and ``GET``/``POST`` ``/api/...`` to :data:`linclass.demo.api.ROUTES`."""

    server_version = "linclass-demo"
    default_request_version = "HTTP/1.0"  # so that even a garbled request line gets a status line back
    timeout = 15  # seconds one read or write may block (the reader thread has already received the request)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def __getattr__(self, name):
        # any other method (PUT, DELETE, made-up ones) is a 405, not the base class's 501
        if name.startswith("do_"):
            return lambda: self._send_json(405, {"error": f"method {self.command} is not allowed; "
                                                          "use GET or POST."})
        raise AttributeError(name)

    def _dispatch(self, method: str):
        path = self.path.split("?", 1)[0]
        try:
            if method == "GET" and path in self.server.static_files:
                body, ctype = self.server.static_files[path]
                return self._send(200, body, ctype)
            handler = api.ROUTES.get((method, path))
            if handler is None:
                if any(p == path for _, p in api.ROUTES):
                    raise _BadRequest(405, f"{path} does not take {method}.")
                raise _BadRequest(404, f"nothing at {path}; the page is at /.")
            body = self._read_json() if method == "POST" else self._query()
            self._send_json(200, handler(body))
        except _BadRequest as err:
            self._send_json(err.status, {"error": err.message})
        except api.ApiError as err:
            self._send_json(err.status, {"error": str(err)})
        except LinclassError as err:  # bad input caught by linclass's own checks
            self._send_json(400, {"error": str(err)})
        except Exception:
            log.exception("unexpected error answering %s %s", method, path)
            self._send_json(500, {"error": "internal error; the server log has the details."})

    def _query(self) -> dict:
        """A GET's query: its ``lang`` (``?lang=ru``), else the server's language."""
        query = dict(parse_qsl(urlsplit(self.path).query))
        return {"lang": query.get("lang") or self.server.lang}

    def _read_json(self):
        if self.headers.get("Transfer-Encoding"):
            raise _BadRequest(411, "chunked request bodies are not accepted; send a Content-Length.")
        length = self.headers.get("Content-Length")
        if length is None:
            raise _BadRequest(411, "the request has no Content-Length; send one with the JSON body.")
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0:
            raise _BadRequest(400, f"Content-Length {length[:20]!r} is not a byte count.")
        if n > MAX_BODY:
            self._drain(n)
            raise _BadRequest(413, f"the request body has {n} bytes; at most {MAX_BODY} are accepted. "
                                   f"Send fewer points (at most {api.MAX_POINTS}).")
        ctype = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            raise _BadRequest(415, f"Content-Type must be application/json, got {ctype or 'none'!r}.")
        try:
            raw = self.rfile.read(n)
        except OSError:  # the client stalled past `timeout` or went away
            self.close_connection = True
            raise _BadRequest(408, "the request body did not arrive in time; send it in one go.") from None
        if len(raw) < n:
            raise _BadRequest(400, "the request body ended before its Content-Length.")
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except _BadRequest:
            raise
        except (ValueError, RecursionError) as err:  # bad UTF-8, bad JSON, too deep, too long an integer
            raise _BadRequest(400, f"the request body is not valid JSON ({str(err)[:120]}).") from None

    def _drain(self, n: int):
        """Read and drop up to :data:`_DRAIN_LIMIT` bytes of an oversized body (for at most :data:`READ_DEADLINE`
        seconds), then close the connection."""
        self.close_connection = True
        left, deadline = min(n, _DRAIN_LIMIT), time.monotonic() + READ_DEADLINE
        try:
            while left > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def _send_json(self, status: int, payload: dict):
        body = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode("utf-8")
        self._send(status, body, "application/json")

    def _send(self, status: int, body: bytes, ctype: str):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:  # the client left before reading the answer
            self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        log.debug("%s - %s", self.address_string(), format % args)


def raw_response(status: int, reason: str, message: str) -> bytes:
    """A whole JSON error response, for the reader thread (which answers without a handler)."""
    body = json.dumps({"error": message}).encode()
    head = [f"HTTP/1.0 {status} {reason}", "Content-Type: application/json", f"Content-Length: {len(body)}",
            "Connection: close", *(f"{k}: {v}" for k, v in SECURITY_HEADERS.items())]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
_LENGTH = re.compile(rb"^content-length:[ \t]*(\d{1,12})[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


def request_size(received, start: int = 0) -> int | None:
    """Bytes of the whole request that begins ``received``, once its headers are in (else None; the end of the
    headers is looked for from ``start``). A request the handler will refuse from its headers alone (no or a bad
    Content-Length, one over :data:`MAX_BODY`) is whole at its headers."""
    end = _END_OF_HEADERS.search(received, max(0, start - 3))
    if end is None:
        return None
    length = _LENGTH.search(received, 0, end.start() + 1)
    n = int(length.group(1)) if length else 0
    return end.end() + (n if n <= MAX_BODY else 0)


class _Prefixed(io.RawIOBase):
    """The bytes the reader thread received, then (for a drained oversized body) the socket itself."""

    def __init__(self, data: bytes, sock):
        self._data, self._sock = memoryview(data), sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._data:
            n = min(len(buffer), len(self._data))
            buffer[:n], self._data = self._data[:n], self._data[n:]
            return n
        return self._sock.recv_into(buffer)


class _Received:
    """A connection whose request was read by the reader thread: the handler reads those bytes first."""

    def __init__(self, sock, data: bytes):
        self._sock, self._data = sock, data

    def makefile(self, mode="r", buffering=None, **kwargs):
        if "r" in mode:
            return io.BufferedReader(_Prefixed(self._data, self._sock))
        return self._sock.makefile(mode, buffering, **kwargs)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class _Pending:
    """A connection being read: what arrived so far and when its time is up."""

    def __init__(self, sock, client_address):
        self.sock, self.client_address = sock, client_address
        self.data, self.deadline = bytearray(), time.monotonic() + READ_DEADLINE
        self.size: int | None = None


class _Reader:
    """The one thread that reads requests whole, without blocking, and hands them to the workers."""

    def __init__(self, hand_over):
        self._hand_over, self._inbox = hand_over, queue.SimpleQueue()
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake = socket.socketpair()
        self._wake_read.setblocking(False)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._per_client: dict[str, int] = {}
        self._pending = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="linclass-demo-reader", daemon=True)
        self._thread.start()

    def add(self, sock, client_address) -> None:
        self._inbox.put((sock, client_address))
        self._poke()

    def stop(self) -> None:
        self._stopped = True
        self._poke()
        self._thread.join(5)

    def _poke(self) -> None:
        try:
            self._wake.send(b"\0")
        except OSError:  # the pair is full (the reader is awake anyway) or closed
            pass

    def _run(self) -> None:
        while not self._stopped:
            for key, _ in self._selector.select(timeout=0.25):
                if key.fileobj is self._wake_read:
                    self._accept_new()
                else:
                    self._receive(key.data)
            self._expire(time.monotonic())
        for key in list(self._selector.get_map().values()):
            if key.data is not None:
                self._close(key.data)
        self._selector.close()
        self._wake_read.close()
        self._wake.close()

    def _accept_new(self) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except OSError:
            pass
        while True:
            try:
                sock, client_address = self._inbox.get_nowait()
            except queue.Empty:
                return
            host = client_address[0] if isinstance(client_address, tuple) else str(client_address)
            if self._per_client.get(host, 0) >= MAX_PER_CLIENT or self._pending >= MAX_PENDING:
                self._refuse(sock, 503, "Service Unavailable", "too many connections from this client; finish "
                             "or close the others first.")
                continue
            sock.setblocking(False)
            pending = _Pending(sock, client_address)
            self._per_client[host] = self._per_client.get(host, 0) + 1
            self._pending += 1
            self._selector.register(sock, selectors.EVENT_READ, pending)

    def _receive(self, pending: _Pending) -> None:
        try:
            chunk = pending.sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client stopped sending: the handler answers what arrived (e.g. a 400)
            if pending.data:
                self._done(pending, hand_over=True)
            else:
                self._close(pending)
            return
        scanned = len(pending.data)
        pending.data += chunk
        if pending.size is None:  # each byte is looked at once: a trickle of headers costs no more than one send
            pending.size = request_size(pending.data, scanned)
        size = pending.size
        if size is not None and len(pending.data) >= size:
            self._done(pending, hand_over=True)
        elif size is None and len(pending.data) > MAX_HEADER:
            self._done(pending)
            self._refuse(pending.sock, 431, "Request Header Fields Too Large",
                         f"the request line and headers exceed {MAX_HEADER} bytes.")

    def _expire(self, now: float) -> None:
        for key in list(self._selector.get_map().values()):
            pending = key.data
            if pending is not None and now > pending.deadline:
                self._done(pending)
                self._refuse(pending.sock, 408, "Request Timeout", f"the request did not arrive whole within "
                             f"{READ_DEADLINE:g} seconds; send it in one go.")

    def _done(self, pending: _Pending, hand_over: bool = False) -> None:
        self._selector.unregister(pending.sock)
        host = pending.client_address[0] if isinstance(pending.client_address, tuple) else str(pending.client_address)
        self._per_client[host] -= 1
        if not self._per_client[host]:
            del self._per_client[host]
        self._pending -= 1
        if hand_over:
            pending.sock.setblocking(True)
            self._hand_over(_Received(pending.sock, bytes(pending.data)), pending.client_address)

    def _close(self, pending: _Pending) -> None:
        self._done(pending)
        pending.sock.close()

    @staticmethod
    def _refuse(sock, status: int, reason: str, message: str) -> None:
        try:
            sock.setblocking(False)
            sock.send(raw_response(status, reason, message))
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        sock.close()


class DemoServer(HTTPServer):
    """An HTTP server that holds the static files and answers with a fixed pool of worker threads.

    The listening socket queues up to :data:`BACKLOG` connections; each accepted one is read whole by
    the reader thread (see the module docstring), then waits in a queue for one of ``workers`` daemon
    threads (they never block exit), so many clients, slow or not, cost queue entries, not threads.
    """

    allow_reuse_address = True
    request_queue_size = BACKLOG

    def __init__(self, address, workers: int = WORKERS, lang: str = "en"):
        self.static_files = load_static()
        self.lang = lang
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._jobs = queue.SimpleQueue()
        self._workers = [threading.Thread(target=self._work, name=f"linclass-demo-{i}", daemon=True)
                         for i in range(workers)]
        self._reader = _Reader(lambda request, client_address: self._jobs.put((request, client_address)))
        super().__init__(address, DemoHandler)  # if binding fails, calls server_close (which stops the reader)
        for thread in self._workers:
            thread.start()

    def process_request(self, request, client_address):
        self._reader.add(request, client_address)

    def _work(self):
        while (job := self._jobs.get()) is not None:
            request, client_address = job
            try:
                self.finish_request(request, client_address)
            except Exception:  # noqa: BLE001 - one broken connection never stops a worker
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request._sock if isinstance(request, _Received) else request)

    def server_close(self):
        super().server_close()
        self._reader.stop()
        for thread in self._workers:
            if thread.is_alive():
                self._jobs.put(None)

    def handle_error(self, request, client_address):
        log.debug("connection from %s failed", client_address, exc_info=True)

    @property
    def loopback_only(self) -> bool:
        """Whether the server is reachable from this machine only."""
        return ipaddress.ip_address(self.server_address[0].split("%", 1)[0]).is_loopback

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"


def make_server(host: str = "127.0.0.1", port: int = 0, *, workers: int = WORKERS, lang: str = "en") -> DemoServer:
    """A demo server bound to ``(host, port)`` (port 0: a free one; see ``server.url``), not yet serving;
    its page speaks ``lang`` (one of :data:`linclass.i18n.LANGUAGES`) unless asked ``?lang=``."""
    return DemoServer((host, port), workers, lang)
