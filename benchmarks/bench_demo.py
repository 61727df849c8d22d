"""Requests per second and latency of the demo server under concurrent clients, against its peer.

Run from the repository root::

    .venv/bin/python benchmarks/bench_demo.py                 # 40 clients x 50 requests
    .venv/bin/python benchmarks/bench_demo.py --clients 80 --steps 50

Each server runs in its own process on 127.0.0.1; the clients are threads of
this process, all starting together, each making ``steps`` requests on fresh
connections (the server speaks HTTP/1.0), alternating ``GET /api/defaults`` and
``POST /api/evaluate`` with the default problem. Prints requests per second,
p50 / p99 latency and failed requests for:

  * ``linclass``: :func:`linclass.demo.make_server` (backlog 128, a fixed pool of
    worker threads);
  * the peer: the standard library's ``ThreadingHTTPServer`` (backlog 5, one
    thread per connection) serving the same handler, as the demo did before.

No BLAS kernel matters here (the problems are 9 points x 3 classes). The
machine's load average is printed: other work on the cores slows both servers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

SERVE = """
import sys
from http.server import ThreadingHTTPServer
from linclass.demo import make_server
from linclass.demo.server import DemoHandler, load_static

class Peer(ThreadingHTTPServer):
    daemon_threads = True
    lang = "en"  # what DemoHandler reads from its server (make_server's default)
    def __init__(self, address):
        self.static_files = load_static()
        super().__init__(address, DemoHandler)

server = make_server("127.0.0.1", 0) if sys.argv[1] == "linclass" else Peer(("127.0.0.1", 0))
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def client(port: int, body: bytes, steps: int, start: threading.Barrier) -> list[tuple[float, object]]:
    start.wait()
    out = []
    for i in range(steps):
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            if i % 2:
                conn.request("POST", "/api/evaluate", body=body, headers={"Content-Type": "application/json"})
            else:
                conn.request("GET", "/api/defaults")
            response = conn.getresponse()
            response.read()
            status = response.status
        except OSError as err:
            status = type(err).__name__
        finally:
            conn.close()
        out.append((time.perf_counter() - t0, status))
    return out


def measure(kind: str, clients: int, steps: int) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", SERVE, kind], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/api/defaults")
        defaults = json.loads(conn.getresponse().read())
        conn.close()
        body = json.dumps({k: defaults[k] for k in ("X", "y", "W", "b", "loss", "reg_strength")}).encode()
        barrier = threading.Barrier(clients + 1)
        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(client, port, body, steps, barrier) for _ in range(clients)]
            barrier.wait()
            t0 = time.perf_counter()
            results = [r for f in futures for r in f.result()]
            wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    latencies = np.array([t for t, s in results if s == 200])
    return {"server": kind, "requests": len(results), "ok": int(latencies.size),
            "failed": len(results) - int(latencies.size), "requests_per_s": latencies.size / wall,
            "p50_ms": 1e3 * float(np.percentile(latencies, 50)), "p99_ms": 1e3 * float(np.percentile(latencies, 99))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    print(f"{args.clients} clients x {args.steps} requests; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    rows = [measure(kind, args.clients, args.steps) for kind in ("linclass", "peer")]
    for r in rows:
        print(f"{r['server']:>9}: {r['requests_per_s']:7.0f} req/s  p50 {r['p50_ms']:6.1f} ms  "
              f"p99 {r['p99_ms']:7.1f} ms  {r['ok']}/{r['requests']} answered 200, {r['failed']} failed")
    print(f"linclass / peer: {rows[0]['requests_per_s'] / rows[1]['requests_per_s']:.2f}x the requests per second, "
          f"{rows[0]['p99_ms'] / rows[1]['p99_ms']:.2f}x the p99 latency")


if __name__ == "__main__":
    main()
