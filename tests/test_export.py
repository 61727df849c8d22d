"""`linclass data export cifar10 DIR`: the official archive (served locally, official format) as class folders."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from collections import Counter

import numpy as np
import pytest
from cifar_official_format import CLASS_NAMES
from PIL import Image

from linclass.cli import main
from linclass.datasets import export as export_module
from linclass.datasets import load_dataset


def _export(capsys, *args):
    code = main(["data", "export", "cifar10", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _images(root, split):
    """The exported files of ``split``, by class, in their numbered order."""
    return {c: sorted((root / split / c).iterdir()) for c in CLASS_NAMES if (root / split / c).is_dir()}


def _expected(X, y, split):
    """The official images of ``split``, by class, in their official order (the reference numbering)."""
    return {c: [(f"{split}/{c}/{i:04d}", X[k]) for i, k in enumerate(np.flatnonzero(y == label))]
            for label, c in enumerate(CLASS_NAMES) if (y == label).any()}


def test_png_export_holds_the_official_pixels_in_class_folders(official_cifar10, tmp_path, capsys):
    g = official_cifar10
    data = _export(capsys, str(tmp_path / "png"), "--format", "png")
    assert (data["n_train"], data["n_test"], data["class_names"]) == (100, 20, CLASS_NAMES)
    for split, X, y in (("train", g.X_train, g.y_train), ("test", g.X_test, g.y_test)):
        found, expected = _images(tmp_path / "png", split), _expected(X, y, split)
        assert list(found) == list(expected)
        for c, files in found.items():
            assert [f"{split}/{c}/{f.stem}" for f in files] == [name for name, _ in expected[c]]
            for f, (_, image) in zip(files, expected[c]):
                assert np.array_equal(np.asarray(Image.open(f)), image)


def test_jpg_export_is_pillows_quality_75_encoding(official_cifar10, tmp_path, capsys):
    g = official_cifar10
    _export(capsys, str(tmp_path / "jpg"))
    first = g.X_test[np.flatnonzero(g.y_test == g.y_test[0])[0]]
    reference = io.BytesIO()
    Image.fromarray(first).save(reference, "JPEG", quality=75)
    path = tmp_path / "jpg" / "test" / CLASS_NAMES[g.y_test[0]] / "0000.jpg"
    assert path.read_bytes() == reference.getvalue()
    counts = Counter(p.parent.name for p in (tmp_path / "jpg" / "train").rglob("*.jpg"))
    assert counts == Counter(CLASS_NAMES[v] for v in g.y_train)


def test_checksum_list_covers_every_image_and_the_digest_is_its_sha256(official_cifar10, tmp_path, capsys):
    root = tmp_path / "jpg"
    data = _export(capsys, str(root))
    sums = (root / "SHA256SUMS").read_text()
    listed = dict(line.split("  ")[::-1] for line in sums.splitlines())
    files = {p.relative_to(root).as_posix() for p in root.rglob("*.jpg")}
    assert set(listed) == files and len(files) == 120
    assert all(hashlib.sha256((root / name).read_bytes()).hexdigest() == digest for name, digest in listed.items())
    assert data["sha256"] == hashlib.sha256(sums.encode()).hexdigest()
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=root, check=True)


def test_the_export_loads_as_an_image_folder_with_the_official_splits(official_cifar10, tmp_path, capsys):
    _export(capsys, str(tmp_path / "png"), "--format", "png")
    ds = load_dataset(data=str(tmp_path / "png"), data_dir=tmp_path / "cache2", val_size=10)
    assert ds.class_names == sorted(set(CLASS_NAMES) & {CLASS_NAMES[v] for v in official_cifar10.y_train})
    assert len(ds.y_train) + len(ds.y_val) == 100 and len(ds.y_test) == 20
    assert not [n for n in ds.notes if "outside class folders" in n]  # SHA256SUMS is no stray file


@pytest.mark.parametrize("in_the_way", ["file", "folder with a file"])
def test_a_destination_in_the_way_is_refused_in_one_line(official_cifar10, tmp_path, capsys, in_the_way):
    dest = tmp_path / "out"
    if in_the_way == "file":
        dest.write_text("mine")
    else:
        dest.mkdir()
        (dest / "keep.txt").write_text("mine")
    assert main(["data", "export", "cifar10", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(dest) in err and "new folder" in err
    assert (dest.read_text() if dest.is_file() else (dest / "keep.txt").read_text()) == "mine"


def test_an_interrupted_export_leaves_nothing_behind(official_cifar10, tmp_path, monkeypatch):
    calls = []

    def failing(image, fmt):
        calls.append(1)
        if len(calls) == 50:
            raise KeyboardInterrupt
        return b"x"

    monkeypatch.setattr(export_module, "encode", failing)
    with pytest.raises(KeyboardInterrupt):
        export_module.export_cifar10(tmp_path / "out", progress=False)
    assert len(calls) == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "official.tar.gz"]
