"""Slow clients cannot starve the demo: requests are read whole before a worker sees them, with a deadline and a
cap per client."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from linclass.demo import server as server_module
from linclass.demo.server import WORKERS, make_server

STALLED = [b"POST /api/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
           b"\r\n{\"X\": [", b"GET /api/defaults HTTP/1.1\r\nHo"]
"""A body that never ends, and headers that never end."""


@pytest.fixture
def serving():
    """A fresh demo server (its module-level bounds as the test set them), stopped at the end."""
    servers = []

    def start():
        srv = make_server("127.0.0.1", 0)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def connect(address, payload: bytes) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.sendall(payload)
    return sock


def reply(sock) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_valid_request_is_answered_within_2_s_while_50_slow_clients_are_connected(serving):
    srv = serving()
    address = srv.server_address[:2]
    stop = threading.Event()
    slow = [connect(address, STALLED[i % 2]) for i in range(40)]  # stalled: many more than the WORKERS

    def trickle():  # ten more send their headers one byte at a time
        socks = [socket.create_connection(address, timeout=10) for _ in range(10)]
        line = b"GET /api/defaults HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: y\r\n" * 1000
        for byte in line:
            if stop.wait(0.05):
                break
            for s in socks:
                s.send(bytes([byte]))
        for s in socks:
            s.close()

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    assert len(slow) + 10 > 3 * WORKERS
    time.sleep(0.3)  # every slow connection is in
    started = time.perf_counter()
    conn = http.client.HTTPConnection(*address, timeout=2)
    conn.request("GET", "/api/defaults")
    response = conn.getresponse()
    assert response.status == 200 and "X" in json.loads(response.read())
    assert time.perf_counter() - started < 2
    conn.close()
    stop.set()
    for sock in slow:
        sock.close()
    trickler.join(5)


def test_a_trickle_gets_408_at_the_deadline_and_one_client_is_capped(serving, monkeypatch):
    monkeypatch.setattr(server_module, "READ_DEADLINE", 0.5)
    monkeypatch.setattr(server_module, "MAX_PER_CLIENT", 5)
    srv = serving()
    address = srv.server_address[:2]
    trickler = socket.create_connection(address, timeout=10)
    started = time.perf_counter()
    for byte in b"GET /api/defaults HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 100:  # never a pause of 0.5 s
        try:
            trickler.send(bytes([byte]))
        except OSError:  # closed by the server after its 408
            break
        time.sleep(0.02)
        if time.perf_counter() - started > 3:
            break
    assert reply(trickler).startswith(b"HTTP/1.0 408") and time.perf_counter() - started < 2
    trickler.close()
    held = [connect(address, STALLED[1]) for _ in range(5)]
    time.sleep(0.1)
    extra = connect(address, STALLED[1])
    assert reply(extra).startswith(b"HTTP/1.0 503")  # at once: the deadline has not passed
    for sock in held:
        assert reply(sock).startswith(b"HTTP/1.0 408")
        sock.close()
    conn = http.client.HTTPConnection(*address, timeout=2)  # the client's slots are free again
    conn.request("GET", "/api/defaults")
    assert conn.getresponse().status == 200
    conn.close()
