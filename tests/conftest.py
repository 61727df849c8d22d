"""Fixtures shared by several test modules."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from pathlib import Path

import cifar_official_format
import numpy as np
import pytest
from PIL import Image
from threadpoolctl import threadpool_limits

from linclass.datasets import cifar10
from linclass.demo import make_server
from linclass.fitting.loop import step_objective


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
    """An objective that raises KeyboardInterrupt on its n-th call (a crash in the middle of an epoch). It wraps what
    the loop's steps call for ``objective`` (``step_objective``: the fused softmax, with its ``running`` context), so
    that the interrupted run computes the same numbers as an uninterrupted one."""

    def __init__(self, objective, n, params=None):
        self.objective = step_objective(objective, params or {"W": None, "b": None})
        self.n, self.calls = n, 0

    def __getattr__(self, name):
        return getattr(self.objective, name)

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


@pytest.fixture
def official_cifar10(tmp_path, monkeypatch):
    """A small CIFAR-10 in the official format (20 images per batch, 20 test images, every class in both
    splits, learnable), served on 127.0.0.1 and made the official source: ``load_cifar10``'s default URL
    and checksum point at it."""
    generated = cifar_official_format.generate(n_per_batch=20, n_test=20, seed=3, learnable=True)
    archive = cifar_official_format.write_archive(tmp_path / "official.tar.gz", generated.members).read_bytes()
    server = cifar_official_format.FileServer({"/cifar-10-python.tar.gz": archive})
    monkeypatch.setitem(cifar10.load_cifar10.__kwdefaults__, "url", server.url("/cifar-10-python.tar.gz"))
    monkeypatch.setitem(cifar10.load_cifar10.__kwdefaults__, "checksum", hashlib.md5(archive).hexdigest())
    monkeypatch.setenv("LINCLASS_DATA", str(tmp_path / "cache"))
    yield generated
    server.stop()


CIFAR_JPG = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpg.tar.gz"
"""The shared CIFAR-10 JPEG copy (``../shared/data``), where a checkout has one."""


def _cifar_jpg_images(split: str | None = None, limit: int | None = None) -> np.ndarray:
    """``(N, 32, 32, 3)`` uint8 images of the shared CIFAR-10 JPEG copy, in archive order: those of ``split``
    (``"train"``/``"test"``, None: both), the first ``limit`` (None: all). Skips the test without the archive."""
    if not CIFAR_JPG.exists():
        pytest.skip(f"needs {CIFAR_JPG} (the CIFAR-10 JPEG copy)")
    images = []
    with tarfile.open(CIFAR_JPG) as tf:
        for m in tf:
            if m.isfile() and m.name.endswith(".jpg") and (split is None or f"/{split}/" in f"/{m.name}"):
                images.append(np.asarray(Image.open(io.BytesIO(tf.extractfile(m).read())).convert("RGB")))
                if len(images) == limit:
                    break
    return np.stack(images)


@pytest.fixture
def cifar_jpg_images():
    """``cifar_jpg_images(split=None, limit=None)``: the shared CIFAR-10 JPEG copy's images (skips without it)."""
    return _cifar_jpg_images
