"""The demo's HTTP API: its numbers against loop references and numerical gradients, its steps
lowering the loss for every loss × optimizer, and 4xx (never 500) for every kind of bad input."""

import http.client
import json
import math
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from linclass.cli import main
from linclass.demo.api import DEMO_LOSSES, DEMO_OPTIMIZERS, MAX_POINTS
from linclass.demo.server import MAX_BODY

PROBLEM = ("X", "y", "W", "b", "loss", "reg_strength")


def request(server, method, path, body=None, headers=None):
    """``(status, parsed JSON or None)``; ``body`` is bytes, or an object sent as JSON."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=body, headers=hdrs)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, None


def post(server, path, body):
    status, data = request(server, "POST", path, body)
    assert status == 200, data
    return data


@pytest.fixture(scope="module")
def defaults(server):
    status, data = request(server, "GET", "/api/defaults")
    assert status == 200
    return data


def problem(defaults, **changes):
    return {**{k: defaults[k] for k in PROBLEM}, **changes}


# ---------------------------------------------------------------- independent references

def scores_loop(X, W, b):
    """``s[i][k] = W[k] · x_i + b[k]`` with ``W`` (classes, features) as the page sends it."""
    return [[sum(W[k][d] * x[d] for d in range(len(x))) + b[k] for k in range(len(b))] for x in X]


def per_point_loop(scores, y, loss):
    """``L_i`` of each loss, one example at a time, as the lecture writes them (Δ = 1)."""
    out = []
    for s, label in zip(scores, y):
        others = [j for j in range(len(s)) if j != label]
        if loss == "svm":
            L = sum(max(0.0, s[j] - s[label] + 1) for j in others)
        elif loss == "ova-svm":
            L = sum(max(0.0, 1 + s[j]) for j in others) + max(0.0, 1 - s[label])
        elif loss == "structured-svm":
            L = max(0.0, max(s[j] for j in others) - s[label] + 1)
        else:
            L = -math.log(math.exp(s[label]) / sum(math.exp(v) for v in s))
        out.append(L)
    return out


def total_loop(body):
    """``1/N Σ L_i + λ Σ W²`` of a request body, with loops."""
    L = per_point_loop(scores_loop(body["X"], body["W"], body["b"]), body["y"], body["loss"])
    return sum(L) / len(L) + body["reg_strength"] * sum(w * w for row in body["W"] for w in row)


def numerical_grads(server, body, h=1e-5):
    """Centered differences of the total loss the API returns, for every entry of W (3, 2) and b (3,)."""
    body = {k: body[k] for k in PROBLEM}
    grads = {}
    for name in ("W", "b"):
        base = np.array(body[name], dtype=float)
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            values = []
            for sign in (1, -1):
                moved = base.copy()
                moved[idx] += sign * h
                values.append(post(server, "/api/evaluate", {**body, name: moved.tolist()})["loss"])
            g[idx] = (values[0] - values[1]) / (2 * h)
        grads[name] = g
    return grads


# ---------------------------------------------------------------- the math

@pytest.mark.parametrize("loss", DEMO_LOSSES)
def test_evaluate_matches_the_loop_reference(server, defaults, loss):
    body = problem(defaults, loss=loss)
    ev = post(server, "/api/evaluate", body)
    scores = scores_loop(body["X"], body["W"], body["b"])
    np.testing.assert_allclose(ev["scores"], scores, rtol=1e-12, atol=1e-12)
    per_point = per_point_loop(scores, body["y"], loss)
    np.testing.assert_allclose(ev["losses"], per_point, rtol=1e-10, atol=1e-12)
    assert ev["data_loss"] == pytest.approx(np.mean(per_point), rel=1e-10)
    assert ev["reg_loss"] == pytest.approx(0.1 * sum(w * w for row in body["W"] for w in row), rel=1e-12)
    assert ev["loss"] == pytest.approx(total_loop(body), rel=1e-10)


@pytest.mark.parametrize("start", ["defaults", "random-7", "random-8"])
@pytest.mark.parametrize("loss", DEMO_LOSSES)
def test_returned_gradients_equal_the_numerical_gradient(server, defaults, loss, start):
    body = problem(defaults, loss=loss)
    if start != "defaults":
        body.update(post(server, "/api/random", {"what": "params", "seed": int(start[-1])}))
    analytic = post(server, "/api/evaluate", body)["grads"]
    numeric = numerical_grads(server, body)
    for name in ("W", "b"):
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("optimizer", DEMO_OPTIMIZERS)
@pytest.mark.parametrize("loss", DEMO_LOSSES)
def test_twenty_steps_lower_the_total_loss(server, defaults, loss, optimizer):
    body = {**problem(defaults, loss=loss), "optimizer": optimizer, "step_size": 0.1, "opt_state": None}
    start = total_loop(body)
    totals = []
    for _ in range(20):
        result = post(server, "/api/step", body)
        body.update(W=result["W"], b=result["b"], opt_state=result["opt_state"])
        totals.append(result["evaluation"]["loss"])
        # the evaluation that comes back is the one at the new parameters
        assert result["evaluation"]["loss"] == pytest.approx(total_loop(body), rel=1e-10)
    assert totals[-1] < start
    assert min(totals) < 0.8 * start


def test_an_sgd_step_moves_against_the_numerical_gradient(server, defaults):
    body = problem(defaults, loss="softmax")
    numeric = numerical_grads(server, body)
    result = post(server, "/api/step", {**body, "optimizer": "sgd", "step_size": 0.05, "opt_state": None})
    for name in ("W", "b"):
        expected = np.array(body[name]) - 0.05 * numeric[name]
        np.testing.assert_allclose(result[name], expected, rtol=1e-6, atol=1e-8)


def test_momentum_state_travels_with_the_page(server, defaults):
    """Two steps sending the state back equal v ← μv − αg twice (μ = 0.9), with g from finite differences."""
    body = {**problem(defaults, loss="svm", reg_strength=0.0), "optimizer": "momentum",
            "step_size": 0.05, "opt_state": None}
    g1 = numerical_grads(server, body)["W"]
    first = post(server, "/api/step", body)
    moved = {**body, "W": first["W"], "b": first["b"], "opt_state": first["opt_state"]}
    g2 = numerical_grads(server, moved)["W"]
    second = post(server, "/api/step", moved)
    v1 = -0.05 * g1
    v2 = 0.9 * v1 - 0.05 * g2
    np.testing.assert_allclose(second["W"], np.array(body["W"]) + v1 + v2, rtol=1e-6, atol=1e-8)
    fresh = post(server, "/api/step", {**moved, "opt_state": None})  # without the state: plain −αg
    np.testing.assert_allclose(fresh["W"], np.array(first["W"]) - 0.05 * g2, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("loss", DEMO_LOSSES)
def test_the_margin_delta(server, defaults, loss):
    """Δ = 2 against the loops with every ``+ 1`` made ``+ 2`` (a Δ = 2 problem is Δ = 1 at half the scale)."""
    body = problem(defaults, loss=loss)
    assert post(server, "/api/evaluate", {**body, "delta": 1.0}) == post(server, "/api/evaluate", body)
    two = post(server, "/api/evaluate", {**body, "delta": 2.0})
    if loss == "softmax":  # softmax has no margin: Δ changes nothing
        expected = per_point_loop(scores_loop(body["X"], body["W"], body["b"]), body["y"], loss)
    else:
        half_W, half_b = (np.array(body["W"]) / 2).tolist(), (np.array(body["b"]) / 2).tolist()
        expected = 2 * np.array(per_point_loop(scores_loop(body["X"], half_W, half_b), body["y"], loss))
    np.testing.assert_allclose(two["losses"], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("optimizer", DEMO_OPTIMIZERS)
def test_the_slope_along_the_step(server, defaults, optimizer):
    """``slope_along_step`` is the directional derivative along the update, by finite differences."""
    body = {**problem(defaults, loss="softmax"), "optimizer": optimizer, "step_size": 0.1, "opt_state": None}
    first = post(server, "/api/step", body)  # a first step gives momentum and Adam a state
    body.update(W=first["W"], b=first["b"], opt_state=first["opt_state"])
    result = post(server, "/api/step", body)
    d = {k: np.array(result[k]) - np.array(body[k]) for k in ("W", "b")}
    norm = math.sqrt(sum(float(np.sum(v ** 2)) for v in d.values()))
    t = 1e-5
    moved = {**body, **{k: (np.array(body[k]) + t * d[k] / norm).tolist() for k in ("W", "b")}}
    back = {**body, **{k: (np.array(body[k]) - t * d[k] / norm).tolist() for k in ("W", "b")}}
    numeric = (total_loop(moved) - total_loop(back)) / (2 * t)
    assert result["slope_along_step"] == pytest.approx(numeric, rel=1e-5)
    assert result["slope_along_step"] < 0
    assert result["steepest_slope"] <= result["slope_along_step"] + 1e-12  # no direction is steeper than −∇L
    if optimizer == "sgd":  # plain gradient descent is the steepest descent
        assert result["slope_along_step"] == pytest.approx(result["steepest_slope"], rel=1e-10)


@pytest.mark.parametrize("what", ["data", "params"])
def test_random_is_reproducible_from_its_seed(server, what):
    a = post(server, "/api/random", {"what": what, "seed": 5})
    assert a == post(server, "/api/random", {"what": what, "seed": 5})
    assert a != post(server, "/api/random", {"what": what, "seed": 6})
    if what == "data":
        X = np.array(a["X"])
        assert X.shape[1] == 2 and np.all(np.abs(X) <= 1)
        assert sorted(set(a["y"])) == [0, 1, 2]


# ---------------------------------------------------------------- bad input

GOOD = {"X": [[0.5, 0.4], [-0.4, 0.3], [0.3, -0.4]], "y": [0, 1, 2],
        "W": [[1.0, 2.0], [2.0, -3.0], [-2.5, 0.5]], "b": [0.0, 0.5, -0.5],
        "loss": "svm", "reg_strength": 0.1}
STEP = {**GOOD, "optimizer": "adam", "step_size": 0.1, "opt_state": None}


def raw(obj) -> bytes:
    return json.dumps(obj).encode()


BAD = {
    # name: (method, path, body bytes, extra headers, expected status)
    "malformed json": ("POST", "/api/evaluate", b'{"X": [[0.5, 0.4],', None, 400),
    "not an object": ("POST", "/api/evaluate", b"[1, 2, 3]", None, 400),
    "empty body": ("POST", "/api/evaluate", b"", None, 400),
    "NaN token": ("POST", "/api/evaluate", raw(GOOD).replace(b"0.5, 0.4", b"NaN, 0.4"), None, 400),
    "Infinity token": ("POST", "/api/evaluate", raw(GOOD).replace(b"0.1}", b"Infinity}"), None, 400),
    "-Infinity token": ("POST", "/api/evaluate", raw(GOOD).replace(b"-2.5", b"-Infinity"), None, 400),
    "overflowing literal": ("POST", "/api/evaluate", raw(GOOD).replace(b"-2.5", b"1e999"), None, 400),
    "huge integer literal": ("POST", "/api/evaluate", raw(GOOD).replace(b"-2.5", b"9" * 5000), None, 400),
    "too deep": ("POST", "/api/evaluate", b"[" * 100_000 + b"]" * 100_000, None, 400),
    "invalid utf-8": ("POST", "/api/evaluate", b'{"X": "\xff\xfe"}', None, 400),
    "number too large": ("POST", "/api/evaluate", raw({**GOOD, "b": [1e7, 0, 0]}), None, 400),
    "X row of 3": ("POST", "/api/evaluate", raw({**GOOD, "X": [[0.5, 0.4, 1.0]] * 3}), None, 400),
    "X not a list": ("POST", "/api/evaluate", raw({**GOOD, "X": "points"}), None, 400),
    "X empty": ("POST", "/api/evaluate", raw({**GOOD, "X": [], "y": []}), None, 400),
    "X string entry": ("POST", "/api/evaluate", raw({**GOOD, "X": [["0.5", 0.4]] * 3}), None, 400),
    "W boolean": ("POST", "/api/evaluate", raw({**GOOD, "W": [[True, 2.0], [2.0, -3.0], [-2.5, 0.5]]}), None, 400),
    "W 2x2": ("POST", "/api/evaluate", raw({**GOOD, "W": [[1.0, 2.0], [2.0, -3.0]]}), None, 400),
    "W 3x3": ("POST", "/api/evaluate", raw({**GOOD, "W": [[1.0, 2.0, 0]] * 3}), None, 400),
    "b of 2": ("POST", "/api/evaluate", raw({**GOOD, "b": [0.0, 0.5]}), None, 400),
    "y too short": ("POST", "/api/evaluate", raw({**GOOD, "y": [0, 1]}), None, 400),
    "label 3": ("POST", "/api/evaluate", raw({**GOOD, "y": [0, 1, 3]}), None, 400),
    "label -1": ("POST", "/api/evaluate", raw({**GOOD, "y": [0, 1, -1]}), None, 400),
    "label 1.0": ("POST", "/api/evaluate", raw({**GOOD, "y": [0, 1.0, 2]}), None, 400),
    "label true": ("POST", "/api/evaluate", raw({**GOOD, "y": [0, True, 2]}), None, 400),
    "too many points": ("POST", "/api/evaluate",
                        raw({**GOOD, "X": [[0.1, 0.2]] * (MAX_POINTS + 1), "y": [0] * (MAX_POINTS + 1)}),
                        None, 400),
    "unknown loss": ("POST", "/api/evaluate", raw({**GOOD, "loss": "hinge"}), None, 400),
    "loss not a string": ("POST", "/api/evaluate", raw({**GOOD, "loss": ["svm"]}), None, 400),
    "missing field": ("POST", "/api/evaluate", raw({k: v for k, v in GOOD.items() if k != "b"}), None, 400),
    "unknown field": ("POST", "/api/evaluate", raw({**GOOD, "margin": 2}), None, 400),
    "negative delta": ("POST", "/api/evaluate", raw({**GOOD, "delta": -1}), None, 400),
    "delta too large": ("POST", "/api/evaluate", raw({**GOOD, "delta": 1e3}), None, 400),
    "delta a string": ("POST", "/api/step", raw({**STEP, "delta": "2"}), None, 400),
    "negative reg": ("POST", "/api/evaluate", raw({**GOOD, "reg_strength": -0.1}), None, 400),
    "unknown optimizer": ("POST", "/api/step", raw({**STEP, "optimizer": "lbfgs"}), None, 400),
    "zero step size": ("POST", "/api/step", raw({**STEP, "step_size": 0}), None, 400),
    "step size too large": ("POST", "/api/step", raw({**STEP, "step_size": 1e3}), None, 400),
    "state of another optimizer": ("POST", "/api/step", raw({**STEP, "opt_state": {
        "optimizer": "sgd", "leaves": [3]}}), None, 400),
    "state with wrong leaf count": ("POST", "/api/step", raw({**STEP, "opt_state": {
        "optimizer": "adam", "leaves": [3]}}), None, 400),
    "state with negative count": ("POST", "/api/step", raw({**STEP, "optimizer": "sgd", "opt_state": {
        "optimizer": "sgd", "leaves": [-1]}}), None, 400),
    "state with wrong shape": ("POST", "/api/step", raw({**STEP, "optimizer": "momentum", "opt_state": {
        "optimizer": "momentum", "leaves": [1, [[0.0] * 2] * 3, [0.0] * 3]}}), None, 400),
    "adam state with a negative second moment": ("POST", "/api/step", raw({**STEP, "opt_state": {
        "optimizer": "adam", "leaves": [1, [[0.0] * 3] * 2, [0.0] * 3, [[-1.0] * 3] * 2, [0.0] * 3]}}),
        None, 400),
    "state not an object": ("POST", "/api/step", raw({**STEP, "opt_state": [1, 2]}), None, 400),
    "seed negative": ("POST", "/api/random", raw({"what": "data", "seed": -1}), None, 400),
    "random what": ("POST", "/api/random", raw({"what": "model", "seed": 1}), None, 400),
    "text/plain": ("POST", "/api/evaluate", raw(GOOD), {"Content-Type": "text/plain"}, 415),
    "form post": ("POST", "/api/evaluate", b"X=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    "bad content-length": ("POST", "/api/evaluate", None, {"Content-Length": "lots"}, 400),
    "unknown path": ("GET", "/api/nothing", None, None, 404),
    "traversal": ("GET", "/static/../api.py", None, None, 404),
    "get on a post route": ("GET", "/api/evaluate", None, None, 405),
    "put": ("PUT", "/api/evaluate", raw(GOOD), None, 405),
    "made-up method": ("BREW", "/", None, None, 405),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_requests_get_a_4xx_with_a_message(server, case):
    method, path, body, headers, expected = BAD[case]
    status, data = request(server, method, path, body, headers)
    assert status == expected
    assert isinstance(data, dict) and isinstance(data.get("error"), str) and data["error"]


def test_an_oversized_body_gets_413(server):
    body = b'{"X": [' + b"[0.1, 0.2]," * (MAX_BODY // 10) + b"[0.1, 0.2]]}"
    assert len(body) > MAX_BODY
    status, data = request(server, "POST", "/api/evaluate", body)
    assert status == 413 and "at most" in data["error"]


def raw_exchange(server, payload: bytes, shut_write: bool = False) -> bytes:
    with socket.create_connection(server.server_address[:2], timeout=30) as sock:
        sock.sendall(payload)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_body_without_length_gets_411_and_a_truncated_one_400(server):
    no_length = b"POST /api/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n"
    assert raw_exchange(server, no_length).startswith(b"HTTP/1.0 411")
    truncated = (b"POST /api/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 500\r\n\r\n{\"X\": ")
    assert raw_exchange(server, truncated, shut_write=True).startswith(b"HTTP/1.0 400")
    for line in (b"GET / HTTP/1.1 extra", b"GET / HTTP/x.y", b"GET " + b"/a" * 40_000 + b" HTTP/1.1"):
        assert raw_exchange(server, line + b"\r\n\r\n").split(b" ")[1].startswith(b"4"), line[:30]


def test_the_server_keeps_serving_after_1000_bad_requests(server, defaults):
    cases = [c for c in BAD.values() if len(c[2] or b"") < 10_000]
    statuses = set()
    for i in range(1000):
        method, path, body, headers, expected = cases[i % len(cases)]
        status, _ = request(server, method, path, body, headers)
        assert status == expected
        statuses.add(status)
    assert statuses <= {400, 404, 405, 411, 413, 415}
    body = problem(defaults)
    assert post(server, "/api/evaluate", body)["loss"] == pytest.approx(total_loop(body), rel=1e-10)


# ---------------------------------------------------------------- the page and the command

def test_the_page_and_its_files_are_served_without_outside_urls(server):
    host, port = server.server_address[:2]
    for path, ctype in [("/", "text/html"), ("/static/app.js", "text/javascript"),
                        ("/static/style.css", "text/css")]:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
        assert response.status == 200
        assert response.getheader("Content-Type").startswith(ctype)
        assert "default-src 'self'" in response.getheader("Content-Security-Policy")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


def test_the_command_serves_on_loopback_and_stops_cleanly_on_ctrl_c():
    proc = subprocess.Popen([sys.executable, "-m", "linclass", "demo", "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,  # Ctrl-C as in a terminal,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # even from a `&` job
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line
        url = line.split()[3]
        host_port = url.split("//")[1].rstrip("/")
        conn = http.client.HTTPConnection(host_port, timeout=10)
        conn.request("GET", "/api/defaults")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out


def test_the_command_reports_a_busy_port(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["demo", "--port", str(busy.getsockname()[1]), "--no-browser"]) == 2
    assert "pick another --port" in capsys.readouterr().err
