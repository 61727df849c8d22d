"""Hostile embedding files and key files: bombs, forged headers and FIFOs are refused in one line, at once."""

from __future__ import annotations

import io
import os
import resource
import threading
import time
import zipfile

import numpy as np
import pytest

from linclass.cli import main
from linclass.errors import DataError
from linclass.rows.files import open_split


def npy_header(shape, descr="<f4") -> bytes:
    """A ``.npy`` header as numpy writes it, declaring ``shape`` (whatever the data that follows)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def one_line_refusal(capsys, argv, *words):
    """``linclass argv`` exits 2 with one line on stderr holding each of ``words``."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    for word in words:
        assert word in err, err
    return err


def within(seconds, call):
    """``call()``'s exception (or None), failing if it has not returned after ``seconds`` (it would hang)."""
    outcome = []

    def run():
        try:
            call()
            outcome.append(None)
        except Exception as err:  # noqa: BLE001 - the test inspects it
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds} s (blocked on a FIFO or a device?)"
    return outcome[0]


@pytest.fixture
def unblock_fifos():
    """FIFOs made by a test; opened for writing at the end so that a reader blocked on one returns."""
    made = []
    yield made
    for path in made:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


def fifo(path, made):
    os.mkfifo(path)
    made.append(path)
    return path


def test_shard_headers_that_add_up_to_a_bomb_are_refused_each_alone(tmp_path, capsys):
    """2**62 rows and 600 − 2**62 rows sum to 600: each shard is checked alone, before anything is summed."""
    d = tmp_path / "bomb"
    d.mkdir()
    (d / "X-00000.npy").write_bytes(npy_header((2 ** 62, 4)) + bytes(4 * 4 * 300))
    (d / "X-00001.npy").write_bytes(npy_header((600 - 2 ** 62, 4)) + bytes(4 * 4 * 300))
    np.save(d / "y.npy", np.arange(600) % 2)
    started = time.perf_counter()
    with pytest.raises(DataError, match="X-00000.npy is truncated"):
        open_split(d)
    (d / "X-00000.npy").write_bytes(npy_header((300, 4)) + bytes(4 * 4 * 300))
    with pytest.raises(DataError, match="X-00001.npy declares the shape .* negative count"):
        open_split(d)
    one_line_refusal(capsys, ["probe", str(d), "--out", str(tmp_path / "out")], "negative count")
    assert time.perf_counter() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 2 ** 20  # KiB: the process stayed under 1 GiB


def test_a_shard_whose_count_is_negative_is_one_line(tmp_path, capsys):
    d = tmp_path / "neg"
    d.mkdir()
    (d / "X-00000.npy").write_bytes(npy_header((-5, 4)) + bytes(64))
    np.save(d / "y.npy", np.arange(5) % 2)
    one_line_refusal(capsys, ["probe", str(d), "--out", str(tmp_path / "out")], "X-00000.npy", "negative")
    (d / "X-00000.npy").unlink()
    np.save(d / "X-00000.npy", np.ones((5, 4), np.float32))
    np.save(d / "y-00000.npy", np.arange(5) % 2)
    (d / "y.npy").unlink()
    (d / "y-00000.npy").write_bytes(npy_header((-5,), "<i8") + bytes(40))
    one_line_refusal(capsys, ["probe", str(d), "--out", str(tmp_path / "out")], "y-00000.npy", "negative")


def _npz_with_y(path, X, y, compression):
    with zipfile.ZipFile(path, "w") as zf:
        buf = io.BytesIO()
        np.save(buf, X)
        zf.writestr("X.npy", buf.getvalue(), compress_type=zipfile.ZIP_STORED)
        buf = io.BytesIO()
        np.save(buf, y)
        zf.writestr("y.npy", buf.getvalue(), compress_type=compression)


def test_an_npz_whose_y_inflates_is_held_to_the_archive_member_bounds(tmp_path, capsys):
    X = np.ones((1000, 2), np.float32)
    bomb = tmp_path / "bomb.npz"
    _npz_with_y(bomb, X, np.zeros(1 << 22, np.int32), zipfile.ZIP_DEFLATED)  # 16 MiB of y in ~16 KB
    assert bomb.stat().st_size < 100_000
    with pytest.raises(DataError, match="y cannot be read: it expands .* --max-ratio"):
        open_split(bomb)
    one_line_refusal(capsys, ["probe", str(bomb), "--out", str(tmp_path / "out")], "--max-ratio")
    # within the ratio, the member's size is bounded by --max-member-bytes (stored: ratio 1)
    big = tmp_path / "big.npz"
    _npz_with_y(big, X, np.arange(1000) % 2, zipfile.ZIP_STORED)
    one_line_refusal(capsys, ["probe", str(big), "--max-member-bytes", "1000", "--out", str(tmp_path / "out")],
                     "--max-member-bytes")
    assert main(["probe", str(big), "--out", str(tmp_path / "out")]) == 0  # the default admits it


def test_a_forged_y_header_in_an_npz_is_refused_before_allocating(tmp_path):
    path = tmp_path / "forged.npz"
    with zipfile.ZipFile(path, "w") as zf:
        buf = io.BytesIO()
        np.save(buf, np.ones((4, 2), np.float32))
        zf.writestr("X.npy", buf.getvalue())
        zf.writestr("y.npy", npy_header((2 ** 40,), "<i8") + bytes(32))
    with pytest.raises(DataError, match=r"\(y\) is truncated"):
        open_split(path)


@pytest.mark.parametrize("name", ["X-00000.npy", "y-00000.npy", "X.npy", "y.npy"])
def test_a_fifo_among_the_files_is_refused_within_a_second(tmp_path, unblock_fifos, name):
    d = tmp_path / "split"
    d.mkdir()
    shards = name.startswith(("X-", "y-"))
    np.save(d / ("X-00000.npy" if shards else "X.npy"), np.ones((6, 3), np.float32))
    np.save(d / ("y-00000.npy" if shards else "y.npy"), np.arange(6) % 2)
    (d / name).unlink()
    fifo(d / name, unblock_fifos)
    err = within(1.0, lambda: open_split(d))
    assert isinstance(err, DataError) and "not a regular file" in str(err)


def test_a_fifo_or_a_device_as_val_or_npz_is_refused_within_a_second(tmp_path, unblock_fifos, capsys):
    train = tmp_path / "train"
    train.mkdir()
    np.save(train / "X.npy", np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32))
    np.save(train / "y.npy", np.arange(40) % 2)
    val = tmp_path / "val"
    val.mkdir()
    np.save(val / "y.npy", np.arange(40) % 2)
    fifo(val / "X.npy", unblock_fifos)
    npz = fifo(tmp_path / "test.npz", unblock_fifos)
    assert within(1.0, lambda: one_line_refusal(
        capsys, ["probe", str(train), "--val", str(val), "--out", str(tmp_path / "o")], "not a regular file")) is None
    assert within(1.0, lambda: one_line_refusal(
        capsys, ["probe", str(train), "--test", str(npz), "--out", str(tmp_path / "o")], "not a regular file")) is None
    (val / "X.npy").unlink()
    (val / "X.npy").symlink_to("/dev/zero")
    assert within(1.0, lambda: one_line_refusal(
        capsys, ["probe", str(train), "--val", str(val), "--out", str(tmp_path / "o")], "not a regular file")) is None


def test_a_key_file_is_a_small_regular_file(tmp_path, unblock_fifos, capsys):
    key = fifo(tmp_path / "key", unblock_fifos)
    argv = ["train", "--data", "iris", "--epochs", "1", "--out", str(tmp_path / "o"), "--key-file"]
    assert within(1.0, lambda: one_line_refusal(capsys, [*argv, str(key)], "--key-file", "not a regular file")) is None
    assert within(1.0, lambda: one_line_refusal(capsys, [*argv, "/dev/zero"], "--key-file",
                                                "not a regular file")) is None
    big = tmp_path / "big-key"
    big.write_bytes(b"k" * 100_000)
    one_line_refusal(capsys, [*argv, str(big)], "--key-file", "more than 4096 bytes")
