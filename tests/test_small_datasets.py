"""Digits, 2-D toy data and the ``load_dataset`` entry point.

References: scikit-learn's ``load_digits`` (pixels, labels), scikit-learn's
``LogisticRegression`` (the toy data is nearly linearly separable), class
shares computed from the counts, and a stand-in ``load_cifar10`` module.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from linclass.datasets import DATASETS, Dataset, load_dataset
from linclass.datasets import load as datasets_load
from linclass.datasets.small import load_digits_dataset, load_toy_dataset
from linclass.errors import ParameterError


def splits(ds: Dataset):
    return ((ds.X_train, ds.y_train), (ds.X_val, ds.y_val), (ds.X_test, ds.y_test))


def test_digits_pixels_and_labels_match_scikit_learn_scaled_to_0_255():
    ds = load_digits_dataset(seed=0)
    ref = load_digits()
    scaled = np.clip(np.floor(ref.images * 255 / 16 + 0.5), 0, 255).astype(np.uint8)
    want = Counter((int(t), img.tobytes()) for img, t in zip(scaled, ref.target))
    got = Counter((int(t), img[..., 0].tobytes()) for X, y in splits(ds) for img, t in zip(X, y))
    assert got == want
    assert ds.image_shape == (8, 8, 1) and ds.X_train.shape[1:] == (8, 8, 1) and ds.X_train.dtype == np.uint8
    assert ds.class_names == [str(d) for d in range(10)] and ds.y_train.dtype == np.int64
    assert max(X.max() for X, _ in splits(ds)) == 255


def test_digits_split_is_stratified_and_sized_as_documented():
    ds = load_digits_dataset(seed=0)
    n = load_digits().target.size
    overall = np.bincount(load_digits().target) / n
    assert ds.y_test.size == int(np.ceil(0.2 * n))
    assert ds.y_val.size == round(0.1 * (n - ds.y_test.size))
    for _, y in splits(ds):
        assert np.all(np.abs(np.bincount(y, minlength=10) - overall * y.size) <= 1)


@pytest.mark.parametrize("loader", [load_digits_dataset, load_toy_dataset])
def test_loaders_are_deterministic_per_seed(loader):
    a, b, c = loader(seed=0), loader(seed=0), loader(seed=1)
    for (Xa, ya), (Xb, yb) in zip(splits(a), splits(b)):
        np.testing.assert_array_equal(Xa, Xb)
        np.testing.assert_array_equal(ya, yb)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert not np.array_equal(a.y_train, c.y_train)


def test_toy_data_is_three_classes_of_points_in_the_unit_square():
    ds = load_toy_dataset(n_per_class=50, seed=0)
    X = np.concatenate([X for X, _ in splits(ds)])
    y = np.concatenate([y for _, y in splits(ds)])
    assert X.dtype == np.float32 and X.shape == (150, 2) and ds.image_shape is None
    assert np.abs(X).max() <= 1.0
    assert np.bincount(y).tolist() == [50, 50, 50] and ds.n_classes == 3


def test_toy_data_is_nearly_linearly_separable():
    ds = load_toy_dataset(n_per_class=300, seed=0)
    clf = LogisticRegression().fit(ds.X_train, ds.y_train)
    assert clf.score(ds.X_test, ds.y_test) > 0.9


def test_load_dataset_defaults_to_digits_and_knows_its_names():
    assert DATASETS == ("digits", "toy", "cifar10")
    default = load_dataset()
    np.testing.assert_array_equal(default.X_train, load_digits_dataset(seed=0).X_train)
    assert load_dataset("toy", seed=2).fingerprint == load_toy_dataset(seed=2).fingerprint


@pytest.mark.parametrize("kwargs,match", [
    ({"dataset": "mnist"}, "digits, toy, cifar10"),
    ({"dataset": "digits", "data": "some/folder"}, "not both"),
    ({"dataset": "digits", "image_size": (16, 16)}, "image folders"),
])
def test_load_dataset_refuses_what_it_cannot_do(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        load_dataset(**kwargs)


def test_load_dataset_subset_cuts_training_only():
    full, small = load_dataset("digits"), load_dataset("digits", subset=100)
    assert small.y_train.size == 100
    np.testing.assert_array_equal(small.X_test, full.X_test)
    assert small.fingerprint != full.fingerprint


def test_load_dataset_passes_a_path_to_the_image_folder_loader(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(10):
            pixels = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / c / f"{i}.png")
    ds = load_dataset(data=str(tmp_path / "imgs"), data_dir=tmp_path / "cache", subset=6)
    assert ds.class_names == ["a", "b"] and ds.image_shape == (4, 4, 3) and ds.y_train.size == 6


def test_cifar10_takes_a_stratified_1000_image_validation_split_from_training(monkeypatch):
    rng = np.random.default_rng(0)
    y_train = np.repeat(np.arange(10), 500)  # stored by class: a split by position would miss classes
    X_train = rng.integers(0, 256, (5000, 32, 32, 3), dtype=np.uint8)
    y_test = np.arange(10).repeat(20)
    X_test = rng.integers(0, 256, (200, 32, 32, 3), dtype=np.uint8)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    calls = []

    def fake_load_cifar10(data_dir=None, *, mirror=None, **kwargs):
        calls.append((data_dir, mirror))
        return X_train, y_train, X_test, y_test, names

    monkeypatch.setattr(datasets_load, "load_cifar10", fake_load_cifar10)
    ds = load_dataset("cifar10", data_dir="/somewhere", mirror="http://mirror.example/c.tgz", seed=0)
    assert calls == [("/somewhere", "http://mirror.example/c.tgz")]
    assert np.bincount(ds.y_val).tolist() == [100] * 10
    assert ds.class_names == names and ds.image_shape == (32, 32, 3)
    # train + val is exactly the official training set, rows kept with their labels
    got = Counter((int(t), x.tobytes()) for X, y in splits(ds)[:2] for x, t in zip(X, y))
    assert got == Counter((int(t), x.tobytes()) for x, t in zip(X_train, y_train))
    np.testing.assert_array_equal(ds.X_test, X_test)
    np.testing.assert_array_equal(ds.y_test, y_test)
