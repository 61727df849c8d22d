"""Image folders and archives: layouts x containers, resizing, bad files, cache, path traversal.

References: the pixel arrays the test wrote (PNG is lossless), Pillow's own
decoding / resizing of the same files, and class counts computed from the
split fractions.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from linclass.datasets import folder
from linclass.datasets.folder import load_image_folder
from linclass.errors import DataError, ParameterError

CLASSES = ["cat", "dog", "eel"]
SIZE = (6, 5)  # (H, W) of the generated images


def _png(pixels) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _encode(pixels, fmt) -> bytes:
    """``pixels`` saved by Pillow as ``fmt`` (jpg, bmp, gif, webp; grey "L" and RGBA PNG too)."""
    buf = io.BytesIO()
    image = Image.fromarray(pixels)
    if fmt == "png-grey":
        image.convert("L").save(buf, format="PNG")
    elif fmt == "png-rgba":
        image.putalpha(200)
        image.save(buf, format="PNG")
    else:
        options = {"jpg": {"quality": 90}, "webp": {"lossless": True}}.get(fmt, {})
        image.save(buf, format={"jpg": "JPEG"}.get(fmt, fmt.upper()), **options)
    return buf.getvalue()


def make_files(layout, seed=0, n_train=6, n_test=2, n_val=0, size=SIZE, fmt="png"):
    """``{relative name: (split, class, bytes, pixels as Pillow decodes them)}`` for a layout."""
    rng = np.random.default_rng(seed)
    encode = _png if fmt == "png" else (lambda px: _encode(px, fmt))
    counts = {"train": n_train, "test": n_test, "val": n_val}
    if layout == "classes":
        counts = {None: n_train + n_test}
    files = {}
    for split, n in counts.items():
        for c in CLASSES:
            for i in range(n):
                pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
                data = encode(pixels)
                name = f"{c}/{i:03d}.{fmt}" if split is None else f"{split}/{c}/{i:03d}.{fmt}"
                decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))  # reference decode
                files[name] = (split, c, data, decoded)
    return files


JUNK = {".DS_Store": b"\0junk", "__MACOSX/cat/._000.png": b"junk", "cat/.hidden.png": b"junk",
        "README.txt": b"a file outside the class folders"}


def build(tmp_path, files, container, wrapper="", junk=True, reverse=False) -> Path:
    """Write ``files`` (and junk that must be ignored) as a folder or an archive; return its path.

    ``reverse`` stores an archive's members in reverse order.
    """
    blobs = {wrapper + name: v[2] for name, v in files.items()}
    if junk:
        blobs.update({wrapper + name: data for name, data in JUNK.items()})
    if reverse:
        blobs = dict(reversed(blobs.items()))
    if container == "dir":
        root = tmp_path / "data"
        for name, data in blobs.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        return root
    tmp_path.mkdir(parents=True, exist_ok=True)
    if container == "zip":
        path = tmp_path / "data.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in blobs.items():
                zf.writestr(name, data)
        return path
    path = tmp_path / ("data.tar" if container == "tar" else "data.tar.gz")
    with tarfile.open(path, "w" if container == "tar" else "w:gz") as tf:
        for name, data in blobs.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def rows(X, y, class_names):
    """A split as a multiset of (class name, pixel bytes): order-free comparison."""
    return Counter((class_names[label], x.tobytes()) for x, label in zip(X, y))


def expected(files, split=None):
    return Counter((c, px.tobytes()) for s, c, _, px in files.values() if split is None or s == split)


@pytest.mark.parametrize("container,wrapper", [("dir", ""), ("zip", "wrapped/"), ("tar", ""),
                                               ("tar.gz", "wrapped/")])
@pytest.mark.parametrize("layout", ["splits", "classes"])
def test_every_layout_and_container_loads_the_images_they_hold(tmp_path, layout, container, wrapper):
    files = make_files(layout)
    ds = load_image_folder(build(tmp_path, files, container, wrapper), data_dir=tmp_path / "cache", workers=1)
    assert ds.class_names == CLASSES
    assert ds.image_shape == (*SIZE, 3)
    for X in (ds.X_train, ds.X_val, ds.X_test):
        assert X.dtype == np.uint8 and X.shape[1:] == (*SIZE, 3)
    train_val = rows(ds.X_train, ds.y_train, CLASSES) + rows(ds.X_val, ds.y_val, CLASSES)
    if layout == "splits":
        assert train_val == expected(files, "train")
        assert rows(ds.X_test, ds.y_test, CLASSES) == expected(files, "test")
    else:
        assert train_val + rows(ds.X_test, ds.y_test, CLASSES) == expected(files)
    assert any("README.txt" in note for note in ds.notes)  # ignored, and said so


@pytest.mark.parametrize("fmt,container", [("jpg", "dir"), ("jpg", "zip"), ("bmp", "dir"), ("gif", "dir"),
                                            ("webp", "tar"), ("png-grey", "dir"), ("png-rgba", "dir")])
def test_every_format_decodes_to_the_rgb_pixels_pillow_gives(tmp_path, fmt, container):
    files = make_files("splits", fmt=fmt)
    ds = load_image_folder(build(tmp_path, files, container), cache=False, workers=1)
    assert rows(ds.X_test, ds.y_test, CLASSES) == expected(files, "test")
    assert ds.X_test.shape[1:] == (*SIZE, 3)


def test_exif_orientation_is_applied(tmp_path):
    files = make_files("splits", fmt="jpg")
    turned = {}
    for name, (split, c, data, _px) in files.items():
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
        buf = io.BytesIO()
        Image.open(io.BytesIO(data)).save(buf, format="JPEG", quality=90, exif=exif.tobytes())
        stored = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))  # as stored, (6, 5)
        turned[name] = (split, c, buf.getvalue(), np.rot90(stored, k=-1))       # as displayed, (5, 6)
    ds = load_image_folder(build(tmp_path, turned, "dir"), cache=False, workers=1)
    assert ds.image_shape == (SIZE[1], SIZE[0], 3)
    assert rows(ds.X_test, ds.y_test, CLASSES) == expected(turned, "test")


def test_a_val_folder_is_used_as_the_validation_split(tmp_path):
    files = make_files("splits", n_val=2)
    renamed = {name.replace("val/", "valid/", 1): v for name, v in files.items()}  # an alias
    path = build(tmp_path, renamed, "dir")
    ds = load_image_folder(path, cache=False, workers=1)
    assert rows(ds.X_val, ds.y_val, CLASSES) == expected(files, "val")
    assert rows(ds.X_train, ds.y_train, CLASSES) == expected(files, "train")
    with pytest.raises(ParameterError, match="val_size"):
        load_image_folder(path, cache=False, workers=1, val_size=3)


def test_class_folders_are_split_stratified_by_the_documented_fractions(tmp_path):
    files = make_files("classes", n_train=16, n_test=4)  # 20 per class
    ds = load_image_folder(build(tmp_path, files, "dir"), cache=False, workers=1)
    # test 20% of 20 = 4 per class; validation 10% of the 48 left = 5 images: 1 or 2 per class
    assert np.bincount(ds.y_test).tolist() == [4, 4, 4]
    assert ds.y_val.size == 5 and set(np.bincount(ds.y_val)) <= {1, 2}
    assert np.bincount(ds.y_train, minlength=3).sum() == 60 - 12 - 5


def test_subset_keeps_a_stratified_part_of_training_only(tmp_path):
    path = build(tmp_path, make_files("classes", n_train=16, n_test=4), "dir")
    full = load_image_folder(path, cache=False, workers=1)
    small = load_image_folder(path, cache=False, workers=1, subset=6)
    assert np.bincount(small.y_train).tolist() == [2, 2, 2]
    assert rows(small.X_train, small.y_train, CLASSES) <= rows(full.X_train, full.y_train, CLASSES)
    np.testing.assert_array_equal(small.X_test, full.X_test)
    assert small.fingerprint != full.fingerprint


def test_mixed_sizes_are_resized_to_the_most_common_size_and_noted(tmp_path):
    files = make_files("classes")
    odd = sorted(files)[:3]
    rng = np.random.default_rng(1)
    for name in odd:  # 3 images of 4x7 among 24 of 6x5
        px = rng.integers(0, 256, (4, 7, 3), dtype=np.uint8)
        files[name] = (*files[name][:2], _png(px), px)
    ds = load_image_folder(build(tmp_path, files, "dir"), cache=False, workers=1)
    assert ds.image_shape == (*SIZE, 3)
    assert any("resized 3 of 24" in note and "6x5" in note for note in ds.notes)

    def as_stored(px):  # the reference: Pillow's bicubic resize of the odd ones
        if px.shape[:2] == SIZE:
            return px
        return np.asarray(Image.fromarray(px).resize(SIZE[::-1], Image.Resampling.BICUBIC))

    want = Counter((c, as_stored(px).tobytes()) for _, c, _, px in files.values())
    got = sum((rows(X, y, CLASSES) for X, y in ((ds.X_train, ds.y_train), (ds.X_val, ds.y_val),
                                                  (ds.X_test, ds.y_test))), Counter())
    assert got == want


def test_the_most_common_size_wins_even_when_the_first_files_differ(tmp_path):
    rng = np.random.default_rng(2)
    files = {}
    for c, n, size in (("cat", 70, (4, 4)), ("dog", 40, SIZE), ("eel", 40, SIZE)):  # 80 of 6x5, 70 of 4x4
        for i in range(n):
            px = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            files[f"{c}/{i:03d}.png"] = (None, c, _png(px), px)
    path = build(tmp_path, files, "dir")
    ds = load_image_folder(path, data_dir=tmp_path / "cache", workers=1)
    assert ds.image_shape == (*SIZE, 3) and all(type(v) is int for v in ds.image_shape)
    assert any("resized 70 of 150" in note for note in ds.notes)
    cached = load_image_folder(path, data_dir=tmp_path / "cache", workers=1)
    assert any("from cache" in note for note in cached.notes) and cached.image_shape == ds.image_shape


def test_an_image_array_larger_than_memory_allows_asks_for_a_smaller_size(tmp_path, monkeypatch):
    monkeypatch.setattr(folder, "_memory_budget", lambda: 100)
    with pytest.raises(ParameterError, match="image_size"):
        load_image_folder(build(tmp_path, make_files("splits"), "dir"), cache=False, workers=1)


def test_image_size_resizes_every_image(tmp_path):
    path = build(tmp_path, make_files("splits"), "dir")
    ds = load_image_folder(path, image_size=(3, 4), cache=False, workers=1)
    assert ds.X_train.shape[1:] == (3, 4, 3) and ds.image_shape == (3, 4, 3)
    assert any("resized 24 of 24" in note for note in ds.notes)


BAD_FILES = {"garbage": ("train/dog/bad.png", b"this is not an image"),
             "truncated": ("train/dog/bad.png", None),
             "text": ("train/dog/notes.txt", b"some notes")}


@pytest.mark.parametrize("container", ["dir", "zip", "tar.gz"])
@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_file_is_named_in_the_error_or_skipped_and_listed(tmp_path, kind, container):
    files = make_files("splits")
    name, data = BAD_FILES[kind]
    if data is None:
        good = files["train/dog/000.png"][2]
        data = good[: len(good) // 2]
    files[name] = ("train", "dog", data, None)
    path = build(tmp_path, files, container)
    with pytest.raises(DataError, match=rf"{name}.*skip"):
        load_image_folder(path, cache=False, workers=1)
    ds = load_image_folder(path, cache=False, workers=1, skip_bad=True)
    del files[name]
    assert rows(ds.X_train, ds.y_train, CLASSES) + rows(ds.X_val, ds.y_val, CLASSES) == expected(files, "train")
    assert any("skipped 1" in note and name in note for note in ds.notes)


def _all_arrays(ds):
    return (ds.X_train, ds.y_train, ds.X_val, ds.y_val, ds.X_test, ds.y_test)


@pytest.mark.parametrize("container", ["dir", "tar.gz"])
def test_the_second_load_comes_from_the_cache_without_decoding(tmp_path, monkeypatch, container):
    path = build(tmp_path, make_files("splits"), container)
    first = load_image_folder(path, data_dir=tmp_path / "cache", workers=1)
    entries = list((tmp_path / "cache" / "image-folders").iterdir())
    assert len(entries) == 1 and (entries[0] / "images.npy").is_file()

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache holds the images")

    monkeypatch.setattr(folder, "decode_chunk", no_decoding)
    second = load_image_folder(path, data_dir=tmp_path / "cache", workers=1)
    for a, b in zip(_all_arrays(first), _all_arrays(second)):
        np.testing.assert_array_equal(a, b)
    assert second.fingerprint == first.fingerprint and second.class_names == first.class_names
    assert any("from cache" in note for note in second.notes)


def test_a_changed_file_invalidates_the_cache(tmp_path, monkeypatch):
    files = make_files("splits")
    root = build(tmp_path, files, "dir")
    first = load_image_folder(root, data_dir=tmp_path / "cache", workers=1)
    new = np.full((*SIZE, 3), 7, np.uint8)
    target = root / "test/eel/001.png"
    target.write_bytes(_png(new))
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))  # a different mtime even on coarse clocks
    calls = []
    decode = folder.decode_chunk
    monkeypatch.setattr(folder, "decode_chunk", lambda *a: calls.append(1) or decode(*a))
    second = load_image_folder(root, data_dir=tmp_path / "cache", workers=1)
    assert calls, "the cache was used although a file changed"
    files["test/eel/001.png"] = ("test", "eel", None, new)
    assert rows(second.X_test, second.y_test, CLASSES) == expected(files, "test")
    assert second.fingerprint != first.fingerprint


def test_a_rewritten_archive_invalidates_the_cache(tmp_path):
    files = make_files("splits")
    path = build(tmp_path, files, "tar.gz")
    load_image_folder(path, data_dir=tmp_path / "cache", workers=1)
    new = np.full((*SIZE, 3), 9, np.uint8)
    files["test/cat/000.png"] = ("test", "cat", _png(new), new)
    build(tmp_path, files, "tar.gz")
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))
    second = load_image_folder(path, data_dir=tmp_path / "cache", workers=1)
    assert not any("from cache" in note for note in second.notes)
    assert rows(second.X_test, second.y_test, CLASSES) == expected(files, "test")


def test_a_broken_cache_entry_is_rebuilt(tmp_path):
    path = build(tmp_path, make_files("splits"), "zip")
    first = load_image_folder(path, data_dir=tmp_path / "cache", workers=1)
    (entry,) = (tmp_path / "cache" / "image-folders").iterdir()
    (entry / "images.npy").write_bytes(b"\x93NUMPY truncated")
    second = load_image_folder(path, data_dir=tmp_path / "cache", workers=1)
    np.testing.assert_array_equal(first.X_test, second.X_test)
    assert not any("from cache" in note for note in second.notes)


def test_a_process_pool_decodes_the_same_pixels(tmp_path):
    path = build(tmp_path, make_files("classes"), "tar")
    one = load_image_folder(path, cache=False, workers=1)
    two = load_image_folder(path, cache=False, workers=2)
    for a, b in zip(_all_arrays(one), _all_arrays(two)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("container", ["zip", "tar"])
@pytest.mark.parametrize("member", ["../evil.png", "train/../../evil.png", "/etc/evil.png"])
def test_archive_members_escaping_the_root_are_refused(tmp_path, container, member):
    files = make_files("splits")
    files[member] = ("train", "cat", files["train/cat/000.png"][2], None)
    path = build(tmp_path, files, container)
    with pytest.raises(DataError, match="outside the archive"):
        load_image_folder(path, cache=False, workers=1)


@pytest.mark.parametrize("names,match", [
    (["train/cat/a.png", "train/dog/a.png", "cat/b.png"], "mixes split folders"),
    (["cat/a.png", "cat/b.png"], "at least 2"),
    (["test/cat/a.png", "test/dog/a.png"], "no 'train'"),
])
def test_unusable_layouts_say_what_to_fix(tmp_path, names, match):
    png = _png(np.zeros((2, 2, 3), np.uint8))
    path = build(tmp_path, {n: (None, None, png, None) for n in names}, "dir", junk=False)
    with pytest.raises(DataError, match=match):
        load_image_folder(path, cache=False, workers=1)


def test_a_missing_path_or_a_plain_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_image_folder(tmp_path / "nope")
    (tmp_path / "plain.bin").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="neither a folder"):
        load_image_folder(tmp_path / "plain.bin")


@pytest.mark.parametrize("container", ["zip", "tar.gz"])
def test_the_same_files_give_the_same_splits_in_any_container_and_order(tmp_path, container):
    files = make_files("classes", n_train=16, n_test=4)
    a = load_image_folder(build(tmp_path / "a", files, "dir"), data_dir=tmp_path / "cache", workers=1)
    b = load_image_folder(build(tmp_path / "b", files, container, reverse=True), cache=False, workers=1)
    for u, v in zip(_all_arrays(a), _all_arrays(b)):
        np.testing.assert_array_equal(u, v)
    assert a.fingerprint == b.fingerprint
    cached = load_image_folder(tmp_path / "a" / "data", data_dir=tmp_path / "cache", workers=1)
    for u, v in zip(_all_arrays(a), _all_arrays(cached)):
        np.testing.assert_array_equal(u, v)
    other_seed = load_image_folder(tmp_path / "a" / "data", data_dir=tmp_path / "cache", workers=1, seed=1)
    assert other_seed.fingerprint != a.fingerprint
    assert not np.array_equal(other_seed.y_train, a.y_train)


CIFAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10-jpg.tar.gz"
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.mark.cifar
@pytest.mark.slow
@pytest.mark.skipif(not CIFAR.is_file(), reason=f"CIFAR-10 JPEG copy not found at {CIFAR}")
def test_cifar10_jpeg_archive_loads_with_the_official_split_and_classes():
    ds = load_image_folder(CIFAR, cache=False)
    assert ds.class_names == CIFAR_CLASSES
    assert ds.y_train.size + ds.y_val.size == 50_000 and ds.y_test.size == 10_000
    assert np.bincount(ds.y_val).tolist() == [100] * 10  # 1,000 stratified
    assert (np.bincount(ds.y_train) + np.bincount(ds.y_val)).tolist() == [5000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.X_train.shape[1:] == ds.X_test.shape[1:] == (32, 32, 3) and ds.X_train.dtype == np.uint8
    with tarfile.open(CIFAR) as tf:  # one test image decoded by Pillow directly
        member = next(m for m in tf if m.name.endswith(".jpg") and m.name.startswith("test/ship/"))
        ref = np.asarray(Image.open(tf.extractfile(member)).convert("RGB"))
    ships = ds.X_test[ds.y_test == CIFAR_CLASSES.index("ship")]
    assert (ships == ref).all(axis=(1, 2, 3)).any()
