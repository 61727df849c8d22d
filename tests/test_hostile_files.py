"""Hostile images, archives and model files: one line and exit 2 (or one LinclassError), bounded memory.

Peak memory is measured on a child process (``resource.getrusage``); the files
are small and *declare* huge sizes, so each case runs in about a second.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from linclass.cli import main
from linclass.datasets.folder import load_image_folder
from linclass.datasets.limits import Limits
from linclass.errors import DataError, LinclassError
from linclass.persist import _seal, canonical_json

GIB = 1 << 30
SRC = str(Path(__file__).resolve().parents[1] / "src")


def png(pixels) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(pixels, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def declared_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (its data is one empty stream)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def run_child(argv, tmp_path) -> tuple[int, str, int]:
    """``linclass argv`` in a child process: ``(exit code, stderr, peak RSS in bytes)`` of the child."""
    report = tmp_path / "rusage.json"
    code = ("import json, resource, sys\n"
            "from linclass.cli import main\n"
            f"rc = main({list(argv)!r})\n"
            "peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            f"open({str(report)!r}, 'w').write(json.dumps([rc, peak * 1024]))\n")
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    rc, peak = json.loads(report.read_text())
    return rc, proc.stderr, peak


def assert_one_line(err: str, *needles):
    assert "Traceback" not in err and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, (needle, err)


# --------------------------------------------------------------------------- archives

def patch_zip(data: bytes, *, size=None, flags=None, method=None) -> bytes:
    """Rewrite every member's declared uncompressed size, flag bits or method, in both headers."""
    out = bytearray(data)
    for sig, off_flags, off_method, off_size in ((b"PK\x03\x04", 6, 8, 22), (b"PK\x01\x02", 8, 10, 24)):
        start = 0
        while (i := out.find(sig, start)) >= 0:
            if size is not None:
                out[i + off_size:i + off_size + 4] = struct.pack("<I", size)
            if flags is not None:
                out[i + off_flags:i + off_flags + 2] = struct.pack("<H", flags)
            if method is not None:
                out[i + off_method:i + off_method + 2] = struct.pack("<H", method)
            start = i + 4
    return bytes(out)


def small_zip(path, n_per_class=1, classes=("cat", "dog")) -> Path:
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for c in classes:
            for i in range(n_per_class):
                zf.writestr(f"{c}/{i}.png", png(rng.integers(0, 255, (4, 4, 3))))
    return path


@pytest.mark.parametrize("case", ["one-1GiB-member", "20-members-of-256MiB"])
def test_zip_bombs_are_refused_in_bounded_memory(tmp_path, case):
    if case == "one-1GiB-member":
        bomb, option = patch_zip(small_zip(tmp_path / "s.zip").read_bytes(), size=GIB), "--max-member-bytes"
    else:
        bomb = patch_zip(small_zip(tmp_path / "s.zip", n_per_class=10).read_bytes(), size=256 << 20)
        option = "--max-ratio"
    path = tmp_path / "bomb.zip"
    path.write_bytes(bomb)
    assert len(bomb) < 1 << 20
    rc, err, peak = run_child(["train", "--data", str(path), "--out", str(tmp_path / "run"),
                               "--data-dir", str(tmp_path / "cache")], tmp_path)
    assert rc == 2 and peak < GIB, (rc, peak)
    assert_one_line(err, "bomb.zip", option)


def test_tar_gz_member_declaring_1GiB_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for c in ("cat", "dog"):
            data = png(np.zeros((4, 4, 3)))
            info = tarfile.TarInfo(f"{c}/0.png")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        huge = tarfile.TarInfo("cat/1.png")
        huge.size = GIB
        tf.fileobj.write(huge.tobuf())  # the header alone: the data never comes
    assert path.stat().st_size < 4096
    rc, err, peak = run_child(["train", "--data", str(path), "--out", str(tmp_path / "run"),
                               "--data-dir", str(tmp_path / "cache")], tmp_path)
    assert rc == 2 and peak < GIB, (rc, peak)
    assert_one_line(err, "bomb.tar.gz")  # refused on its declared size, then found truncated


def test_archive_total_is_capped_on_declared_sizes(tmp_path):
    path = small_zip(tmp_path / "s.zip", n_per_class=3)
    declared = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    with pytest.raises(DataError, match=r"s\.zip.*--max-total-bytes"):
        load_image_folder(path, cache=False, limits=Limits(max_total_bytes=declared - 1))
    assert load_image_folder(path, cache=False, limits=Limits(max_total_bytes=declared)).X_train.size


def test_member_cap_is_checked_while_reading_a_tar(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "t.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for c in ("cat", "dog"):
            for i in range(4):
                data = png(rng.integers(0, 255, (8, 8, 3)))
                info = tarfile.TarInfo(f"{c}/{i}.png")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    biggest = max(m.size for m in tarfile.open(path).getmembers())
    with pytest.raises(DataError, match=r"t\.tar\.gz.*--max-member-bytes") as info:
        load_image_folder(path, cache=False, limits=Limits(max_member_bytes=biggest - 1))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("patch, reason", [({"flags": 1}, "encrypted"), ({"method": 9}, "Deflate64")],
                         ids=["encrypted", "deflate64"])
def test_unreadable_zip_members_are_one_line_or_skipped_and_counted(tmp_path, capsys, patch, reason):
    good = small_zip(tmp_path / "good.zip", n_per_class=8)
    path = tmp_path / "odd.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "cat/0.png":  # one odd member, patched after writing
                dst.writestr(info.filename, data, compress_type=zipfile.ZIP_STORED)
            else:
                dst.writestr(info, data)
    raw = bytearray(path.read_bytes())
    for sig, off_flags, off_method in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        i = raw.find(sig)  # the first member of each header kind is cat/0.png
        if "flags" in patch:
            raw[i + off_flags:i + off_flags + 2] = struct.pack("<H", patch["flags"])
        else:
            raw[i + off_method:i + off_method + 2] = struct.pack("<H", patch["method"])
    path.write_bytes(bytes(raw))
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path)]) == 2
    assert_one_line(capsys.readouterr().err, "cat/0.png", reason, "--skip-bad")
    ds = load_image_folder(path, cache=False, skip_bad=True)
    assert len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 15
    assert any("skipped 1 unreadable" in n and reason in n for n in ds.notes)


def test_file_names_that_are_not_utf8_are_one_line_or_skipped(tmp_path):
    root = tmp_path / "data"
    rng = np.random.default_rng(2)
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            (root / c / f"{i}.png").write_bytes(png(rng.integers(0, 255, (4, 4, 3))))
    with open(os.path.join(os.fsencode(root / "cat"), b"\xff\xfe.png"), "wb") as f:
        f.write(png(np.zeros((4, 4, 3))))
    with pytest.raises(DataError, match="not valid UTF-8") as info:
        load_image_folder(root, cache=False)
    assert "\n" not in str(info.value)
    ds = load_image_folder(root, data_dir=tmp_path / "cache", skip_bad=True)  # the cache key takes the name
    assert any("skipped 1 unreadable" in n for n in ds.notes)


# --------------------------------------------------------------------------- images

def test_folder_of_pixel_bombs_is_refused_in_bounded_memory(tmp_path):
    root = tmp_path / "bombs"
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            (root / c / f"{i}.png").write_bytes(declared_png(10_000, 10_000))
    rc, err, peak = run_child(["train", "--data", str(root), "--out", str(tmp_path / "run"),
                               "--data-dir", str(tmp_path / "cache")], tmp_path)
    assert rc == 2 and peak < GIB, (rc, peak)
    assert_one_line(err, "10,000x10,000", "--max-pixels")


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    assert main(["train", "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    return out / "model.npz"


def test_predict_refuses_a_pixel_bomb_in_bounded_memory(tmp_path, digits_model):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(declared_png(100_000, 100_000))
    assert len(bomb.read_bytes()) < 100
    rc, err, peak = run_child(["predict", str(digits_model), str(bomb)], tmp_path)
    assert rc == 2 and peak < GIB, (rc, peak)
    assert_one_line(err, "bomb.png", "67,108,864 pixels", "--max-pixels")


def test_predict_pixel_limit_is_the_option(tmp_path, digits_model, capsys):
    path = tmp_path / "big.png"
    path.write_bytes(png(np.zeros((40, 50, 3))))
    assert main(["predict", str(digits_model), str(path), "--max-pixels", "1999"]) == 2
    assert_one_line(capsys.readouterr().err, "big.png", "50x40", "--max-pixels")
    assert main(["predict", str(digits_model), str(path), "--max-pixels", "2000"]) == 0


def test_a_fifo_as_data_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "data.zip"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        load_image_folder(fifo, cache=False)


def test_predict_reads_neither_fifos_nor_unlisted_formats(tmp_path, digits_model, capsys):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert main(["predict", str(digits_model), str(fifo)]) == 2  # returns: never waits on the FIFO
    assert_one_line(capsys.readouterr().err, "pipe.png", "regular file")
    for fmt in ("TIFF", "ICO", "PPM", "PCX"):
        path = tmp_path / f"x.{fmt.lower()}"
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path, format=fmt)
        assert main(["predict", str(digits_model), str(path)]) == 2
        assert_one_line(capsys.readouterr().err, f"x.{fmt.lower()}", "PNG")


# --------------------------------------------------------------------------- predict agrees with evaluate

def upright_image(label: int, rng, size: int) -> np.ndarray:
    """Class 0 is brighter at the top, class 1 at the left, with noise: orientation decides the class."""
    img = rng.normal(110, 45, (size, size)).clip(0, 255)
    if label == 0:
        img[: size // 2] += 50
    else:
        img[:, : size // 2] += 50
    return np.repeat(img.clip(0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def exif_rotated_jpeg(upright: np.ndarray) -> bytes:
    """The image stored sideways with EXIF orientation 6 ("rotate 90° clockwise to display")."""
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=95, exif=exif)
    return buf.getvalue()


def test_predict_gives_evaluates_accuracy_on_exif_rotated_larger_test_images(tmp_path, capsys):
    rng = np.random.default_rng(3)
    root = tmp_path / "photos"
    names = ["left", "top"]  # sorted: "left" is class 0 ... so label 0 (top-bright) is "top"
    for split, n, size in (("train", 30, 16), ("test", 12, 28)):
        for label, cls in ((0, "top"), (1, "left")):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                data = exif_rotated_jpeg(upright_image(label, rng, size))
                (root / split / cls / f"{i}.jpg").write_bytes(data)
    # the reference: Pillow's own EXIF transpose shows the upright picture
    sample = ImageOps.exif_transpose(Image.open(root / "test" / "top" / "0.jpg")).convert("L")
    arr = np.asarray(sample, float)
    assert arr[:14].mean() > arr[14:].mean() + 20
    out = tmp_path / "run"
    assert main(["train", "--data", str(root), "--loss", "softmax", "--epochs", "15", "--out", str(out),
                 "--data-dir", str(tmp_path / "cache"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.npz"), "--data", str(root), "--data-dir", str(tmp_path / "cache"),
                 "--json"]) == 0
    evaluation = json.loads(capsys.readouterr().out)
    files = sorted((root / "test").glob("*/*.jpg"))
    assert main(["predict", str(out / "model.npz"), *map(str, files), "--json", "--top", "1"]) == 0
    predictions = json.loads(capsys.readouterr().out)["predictions"]
    assert [p["path"] for p in predictions] == [str(f) for f in files]
    hits = [p["class"] == Path(p["path"]).parent.name for p in predictions]
    assert len(hits) == evaluation["confusion_matrix"][0][0] * 0 + sum(map(sum, evaluation["confusion_matrix"]))
    assert np.mean(hits) == evaluation["accuracy"]
    assert evaluation["accuracy"] > 0.75  # orientation was applied: sideways images would be near chance
    assert sorted(names) == names


# --------------------------------------------------------------------------- model files

def rewrite_entry(path: Path, name: str, data: bytes) -> None:
    """Replace one ``.npy`` entry of a model file (as an editor with numpy would)."""
    with zipfile.ZipFile(path) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    entries[name] = data
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in entries.items():
            zf.writestr(n, d)


def npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def meta_of(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(npz["__linclass__"].tobytes())


def resealed(path: Path, meta: dict) -> None:
    """Write ``meta`` back with a *correct* SHA-256 seal (what anyone can recompute without the key)."""
    blob = canonical_json(meta)
    rewrite_entry(path, "__linclass__.npy", npy(np.frombuffer(blob, np.uint8)))
    rewrite_entry(path, "__linclass_seal__.npy", npy(np.frombuffer(canonical_json(_seal(blob, None)), np.uint8)))


@pytest.fixture
def model_copy(tmp_path, digits_model):
    path = tmp_path / "m.npz"
    path.write_bytes(digits_model.read_bytes())
    return path


def test_swapped_class_names_are_refused_by_the_metadata_hash(model_copy, capsys, tmp_path):
    meta = meta_of(model_copy)
    names = meta["class_names"]
    names[0], names[1] = names[1], names[0]
    blob = json.dumps(meta).encode()
    rewrite_entry(model_copy, "__linclass__.npy", npy(np.frombuffer(blob, np.uint8)))
    image = tmp_path / "x.png"
    image.write_bytes(png(np.zeros((8, 8, 3))))
    assert main(["predict", str(model_copy), str(image)]) == 2
    assert_one_line(capsys.readouterr().err, "m.npz", "tampered")


@pytest.mark.parametrize("edit, needle", [
    (lambda m: m["class_names"].__setitem__(0, "cat\nlinclass: all good"), "printable"),
    (lambda m: m["class_names"].__setitem__(0, m["class_names"][1]), "duplicates"),
    (lambda m: m.__setitem__("loss", "no-such-loss"), "no-such-loss"),
    (lambda m: m.__setitem__("class_names", "0123456789"), "class_names"),
    (lambda m: m.__setitem__("image_shape", [8, 8, 1000]), "image_shape"),
    (lambda m: m.__setitem__("image_shape", [4, 4, 1]), "image_shape"),
    (lambda m: m.__setitem__("arrays", []), "arrays"),
    (lambda m: m.__setitem__("format_version", "2"), "version"),
], ids=["newline", "duplicate", "loss", "names-type", "channels", "shape-mismatch", "arrays-type", "version"])
def test_malformed_metadata_is_exit_2_with_one_line(model_copy, capsys, tmp_path, edit, needle):
    meta = meta_of(model_copy)
    edit(meta)
    resealed(model_copy, meta)
    image = tmp_path / "x.png"
    image.write_bytes(png(np.zeros((8, 8, 3))))
    assert main(["predict", str(model_copy), str(image)]) == 2
    assert_one_line(capsys.readouterr().err, "m.npz", needle)


def test_npy_header_declaring_1e13_elements_is_refused_before_allocation(model_copy, capsys):
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**13,)}
    raw = io.BytesIO()
    np.lib.format.write_array_header_1_0(raw, header)
    rewrite_entry(model_copy, "model/b.npy", raw.getvalue() + b"\0" * 64)
    assert main(["evaluate", str(model_copy)]) == 2
    assert_one_line(capsys.readouterr().err, "m.npz", "10,000,000,000,000")


def test_signed_model_needs_its_key(tmp_path, capsys, monkeypatch):
    key_file, other = tmp_path / "key", tmp_path / "other"
    key_file.write_text("s3cret\n")
    other.write_text("another\n")
    out = tmp_path / "run"
    monkeypatch.setenv("LINCLASS_MODEL_KEY", "s3cret")
    assert main(["train", "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    model = str(out / "model.npz")
    assert main(["evaluate", model]) == 0  # the key from the environment
    monkeypatch.delenv("LINCLASS_MODEL_KEY")
    assert main(["evaluate", model, "--key-file", str(key_file)]) == 0
    capsys.readouterr()
    assert main(["evaluate", model]) == 2
    assert_one_line(capsys.readouterr().err, "signed", "--key-file")
    assert main(["evaluate", model, "--key-file", str(other)]) == 2
    assert_one_line(capsys.readouterr().err, "not signed with this key")
    # --key-file signs at training as the environment does
    out2 = tmp_path / "run2"
    assert main(["train", "--epochs", "1", "--out", str(out2), "--no-progress", "--key-file", str(other)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out2 / "model.npz")]) == 2
    assert main(["evaluate", str(out2 / "model.npz"), "--key-file", str(other)]) == 0
    capsys.readouterr()
    # re-sealing forged metadata with a fresh SHA-256 does not help without the key
    meta = meta_of(out / "model.npz")
    meta["class_names"][0], meta["class_names"][1] = meta["class_names"][1], meta["class_names"][0]
    resealed(out / "model.npz", meta)
    assert main(["evaluate", model, "--key-file", str(key_file)]) == 2
    assert_one_line(capsys.readouterr().err, "not signed")


def test_every_error_here_is_a_linclass_error():
    assert issubclass(DataError, LinclassError)
