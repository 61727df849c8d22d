"""The demo under load (loopback only): 40 clients × 50 requests all answered 200; bounded threads; warnings."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor

from linclass.cli import main
from linclass.demo import server as server_module
from linclass.demo.server import BACKLOG, WORKERS

CLIENTS, STEPS = 40, 50


def one_client(address, body: bytes, steps: int) -> list[int]:
    """``steps`` requests, each on a new connection (the server speaks HTTP/1.0), alternating GET and POST."""
    statuses = []
    for i in range(steps):
        conn = http.client.HTTPConnection(*address, timeout=60)
        try:
            if i % 2:
                conn.request("POST", "/api/evaluate", body=body, headers={"Content-Type": "application/json"})
            else:
                conn.request("GET", "/api/defaults")
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        except OSError as err:  # a reset or refused connection counts as a failure
            statuses.append(type(err).__name__)
        finally:
            conn.close()
    return statuses


def test_forty_concurrent_clients_all_get_200(server):
    address = server.server_address[:2]
    conn = http.client.HTTPConnection(*address, timeout=30)
    conn.request("GET", "/api/defaults")
    defaults = json.loads(conn.getresponse().read())
    conn.close()
    body = json.dumps({k: defaults[k] for k in ("X", "y", "W", "b", "loss", "reg_strength")}).encode()
    before = threading.active_count()
    barrier = threading.Barrier(CLIENTS)

    def client(_):
        barrier.wait()  # all connect at once: the backlog is what is tested
        return one_client(address, body, STEPS)

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [s for statuses in pool.map(client, range(CLIENTS)) for s in statuses]
    assert len(results) == CLIENTS * STEPS == 2000
    assert results.count(200) == 2000, {s: results.count(s) for s in set(results)}
    # the server answered with its fixed pool: no thread per connection
    assert threading.active_count() <= before
    assert server.request_queue_size == BACKLOG >= 128 and len(server._workers) == WORKERS


def test_binding_beyond_loopback_prints_a_warning(capsys, monkeypatch):
    started = []

    def fake_serve(self):
        started.append(self.server_address)
        raise KeyboardInterrupt

    monkeypatch.setattr(server_module.DemoServer, "serve_forever", fake_serve)
    assert main(["demo", "--host", "0.0.0.0", "--port", "0", "--no-browser"]) == 0
    err = capsys.readouterr().err
    assert started and "warning" in err and "0.0.0.0" in err and "other machines" in err
    assert main(["demo", "--host", "127.0.0.1", "--port", "0", "--no-browser"]) == 0
    assert "warning" not in capsys.readouterr().err
