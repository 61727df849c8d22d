"""One entry point for every data set: :func:`load_dataset` by name or path, split train / val / test."""

from __future__ import annotations

import hashlib

import numpy as np

from ..errors import ParameterError
from .base import Dataset
from .cifar10 import load_cifar10
from .folder import load_image_folder
from .small import load_digits_dataset, load_toy_dataset
from .splits import stratified_split, subset_train

DATASETS = ("digits", "toy", "cifar10")
"""Built-in data sets :func:`load_dataset` knows by name (``digits`` is the offline default)."""

CIFAR10_VAL_SIZE = 1000
"""Validation images taken from CIFAR-10's 50,000 training images (stratified, seeded)."""


def load_dataset(dataset: str | None = None, data: str | None = None, *, data_dir=None, seed=0,
                 val_size=None, image_size=None, skip_bad=False, subset=None, mirror=None,
                 limits=None) -> Dataset:
    """A built-in data set by name, or a folder / archive of images, split train / val / test.

    ``dataset`` is one of :data:`DATASETS` (default ``"digits"``: no download);
    ``data`` is a path for :func:`linclass.datasets.folder.load_image_folder`
    (``image_size``, ``skip_bad`` and ``limits`` apply to it). ``cifar10`` is the official
    release (:func:`linclass.datasets.cifar10.load_cifar10`, downloaded once into
    ``cache_dir(data_dir)``, from ``mirror`` first when given) with
    ``val_size`` (default 1,000) validation images taken from its training set.
    ``subset`` keeps a stratified subset of that many training examples (dev runs).
    Every split is stratified by class and seeded by ``seed``.
    """
    if dataset is not None and data is not None:
        raise ParameterError("give either a built-in dataset or a data path, not both "
                             f"(got dataset={dataset!r}, data={str(data)!r}).")
    if data is not None:
        return load_image_folder(data, image_size=image_size, val_size=val_size, seed=seed,
                                 skip_bad=skip_bad, subset=subset, data_dir=data_dir, limits=limits)
    name = "digits" if dataset is None else str(dataset).strip().lower()
    if name not in DATASETS:
        raise ParameterError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}, "
                             "or give a folder or archive of images as data=PATH (--data PATH).")
    if image_size is not None:
        raise ParameterError(f"image_size applies to image folders (data=PATH) only; the {name} images "
                             "have a fixed size: drop image_size (--image-size).")
    if name == "digits":
        result = load_digits_dataset(seed=seed, val_size=val_size)
    elif name == "toy":
        result = load_toy_dataset(seed=seed, val_size=val_size)
    else:
        result = _load_cifar10(data_dir, seed=seed, val_size=val_size, mirror=mirror)
    return subset_train(result, subset, seed)


def _load_cifar10(data_dir, *, seed, val_size, mirror) -> Dataset:
    """Official CIFAR-10 with a stratified, seeded validation split taken from training."""
    X_train, y_train, X_test, y_test, class_names = load_cifar10(data_dir, mirror=mirror)
    size = CIFAR10_VAL_SIZE if val_size is None else val_size
    train_idx, val_idx = stratified_split(y_train, size, seed)
    h = hashlib.sha256(repr(("cifar10", seed, val_size)).encode())
    for part in (y_train, y_test, np.asarray(X_train[::997]), np.asarray(X_test[::997])):
        h.update(np.ascontiguousarray(part).tobytes())
    return Dataset(name="cifar10", class_names=list(class_names),
                   X_train=np.asarray(X_train[train_idx]), y_train=np.asarray(y_train[train_idx]),
                   X_val=np.asarray(X_train[val_idx]), y_val=np.asarray(y_train[val_idx]),
                   X_test=np.array(X_test), y_test=np.array(y_test), image_shape=tuple(X_train.shape[1:]),
                   fingerprint=h.hexdigest()[:16],
                   notes=[f"CIFAR-10 (official release); validation: {val_idx.size:,} images taken from "
                          f"training (stratified, seed {seed})"])

