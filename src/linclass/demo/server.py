"""The demo's small web server: the page's static files and the JSON API, standard library only.

:func:`make_server` returns an HTTP server with a backlog of :data:`BACKLOG`
connections and :data:`WORKERS` worker threads, bound to loopback by default
(``linclass demo`` warns when it is not); ``server.serve_forever()`` runs it and
``server.shutdown()`` (from another thread) then ``server.server_close()``
stops it. The server keeps no state between requests.

Every answer to bad input is a 4xx with a JSON body ``{"error": message}``:
411 (no Content-Length), 413 (body over :data:`MAX_BODY` bytes), 415 (not
``application/json``), 400 (malformed JSON, ``NaN``/``Infinity`` tokens, wrong
fields, shapes, types or values), 404 and 405. An unexpected exception is
logged and answered with a 500 and a generic message.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import queue
import socket
import threading
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
"""An oversized body up to this size is read and dropped, so the client sees the 413."""

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
    timeout = 15  # seconds a client may stall mid-request before its connection is dropped

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
        """Read and drop up to :data:`_DRAIN_LIMIT` bytes of an oversized body, then close the connection."""
        self.close_connection = True
        left = min(n, _DRAIN_LIMIT)
        try:
            while left > 0:
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


class DemoServer(HTTPServer):
    """An HTTP server that holds the static files and answers with a fixed pool of worker threads.

    The listening socket queues up to :data:`BACKLOG` connections; accepted ones
    wait in a queue for one of ``workers`` daemon threads (they never block exit),
    so many clients cost queue entries, not threads.
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
        super().__init__(address, DemoHandler)  # closes the socket itself if binding fails
        for thread in self._workers:
            thread.start()

    def process_request(self, request, client_address):
        self._jobs.put((request, client_address))

    def _work(self):
        while (job := self._jobs.get()) is not None:
            request, client_address = job
            try:
                self.finish_request(request, client_address)
            except Exception:  # noqa: BLE001 - one broken connection never stops a worker
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def server_close(self):
        super().server_close()
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
