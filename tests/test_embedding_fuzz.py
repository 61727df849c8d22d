"""Property-based fuzz of the embedding readers (``.npy`` headers, shards, ``.npz``): any mutation opens a split
that keeps its header's promises, or raises one DataError; nothing else escapes and nothing is allocated past the
file."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linclass.errors import DataError
from linclass.rows.files import open_split

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


X_NPY = _npy(np.arange(24, dtype=np.float32).reshape(6, 4))
Y_NPY = _npy(np.arange(6) % 3)


def _npz(x: bytes, y: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("X.npy", x)
        zf.writestr("y.npy", y)
    return buf.getvalue()


NPZ = _npz(X_NPY, Y_NPY)


def _opens_or_refuses(path):
    """open_split(path): a split whose every row can be read and whose labels match, or one DataError."""
    try:
        split = open_split(path)
    except DataError as err:
        assert "\n" not in str(err)
        return None
    N, D = split.X.shape
    assert N > 0 and D > 0 and len(split.y) == N
    for start, stop in zip(split.X.boundaries[:-1], split.X.boundaries[1:]):
        assert split.X.read(start, stop).shape == (stop - start, D)  # the mapped bytes exist
    return split


def _mutate(blob: bytes, flips, cut) -> bytes:
    out = bytearray(blob)
    for pos, value in flips:
        out[pos % len(out)] = value
    return bytes(out[:cut])


FLIPS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4)


def test_the_unmutated_files_open():
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "X.npy").write_bytes(X_NPY)
        (d / "y.npy").write_bytes(Y_NPY)
        (d / "t.npz").write_bytes(NPZ)
        assert _opens_or_refuses(d).X.shape == _opens_or_refuses(d / "t.npz").X.shape == (6, 4)


@FUZZ
@given(which=st.sampled_from(["X.npy", "y.npy"]), flips=FLIPS, cut=st.integers(1, 300))
def test_fuzz_npy_files(which, flips, cut):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "X.npy").write_bytes(X_NPY)
        (d / "y.npy").write_bytes(Y_NPY)
        (d / which).write_bytes(_mutate((d / which).read_bytes(), flips, cut))
        _opens_or_refuses(d)


SHAPE = st.tuples(st.integers(-2 ** 63, 2 ** 63) | st.integers(-3, 8), st.integers(-2 ** 63, 2 ** 63)
                  | st.integers(-3, 8))


@FUZZ
@given(shapes=st.lists(SHAPE, min_size=1, max_size=3), rows=st.lists(st.integers(0, 8), min_size=3, max_size=3),
       labels=st.integers(0, 30))
def test_fuzz_shard_headers(shapes, rows, labels):
    """Shards whose headers declare any shape (huge, negative, summing to anything) over a few real rows."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for k, (shape, n) in enumerate(zip(shapes, rows)):
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
            (d / f"X-{k:05d}.npy").write_bytes(header.getvalue() + bytes(16 * n))
        np.save(d / "y.npy", np.arange(labels) % 2)
        _opens_or_refuses(d)


@FUZZ
@given(flips=FLIPS, cut=st.integers(1, len(NPZ)))
def test_fuzz_npz(flips, cut):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.npz"
        path.write_bytes(_mutate(NPZ, flips, cut))
        _opens_or_refuses(path)


@FUZZ
@given(x_flips=FLIPS, y_flips=FLIPS)
def test_fuzz_npz_members(x_flips, y_flips):
    """Mutated members in a well-formed archive (the zip's own CRC would catch a byte flip otherwise)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.npz"
        path.write_bytes(_npz(_mutate(X_NPY, x_flips, len(X_NPY)), _mutate(Y_NPY, y_flips, len(Y_NPY))))
        _opens_or_refuses(path)
