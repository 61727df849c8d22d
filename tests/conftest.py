"""Fixtures shared by several test modules."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from threadpoolctl import threadpool_limits

from linclass.demo import make_server


@pytest.fixture(scope="module")
def server():
    """The demo server on a free loopback port, in a thread, for one test module."""
    srv = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)


@pytest.fixture
def one_blas_thread():
    """Small matrices: BLAS threads only contend on the shared 2-core machine (modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_blas_thread")``)."""
    with threadpool_limits(limits=1):
        yield


class _Interrupting:
    """An objective that raises KeyboardInterrupt on its n-th call (a crash in the middle of an epoch)."""

    def __init__(self, objective, n):
        self.objective, self.n, self.calls = objective, n, 0

    def __call__(self, *args):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return self.objective(*args)


@pytest.fixture
def interrupting():
    """``interrupting(objective, n)``: the objective, raising KeyboardInterrupt on its n-th call."""
    return _Interrupting


def _color_images(root, n=16, size=16):
    """``root`` with three classes told apart by hue only: ``n`` noisy red, green and blue PNGs of ``size``²."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(["red", "green", "blue"]):
        (root / name).mkdir(parents=True)
        for i in range(n):
            img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            img[..., c] = rng.integers(180, 256, (size, size), dtype=np.uint8)
            Image.fromarray(img).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def color_images():
    """``color_images(root, n=16, size=16)``: writes an image folder of three hues and returns ``root``."""
    return _color_images
