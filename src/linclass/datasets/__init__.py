"""Data sets: CIFAR-10, folders and archives of images, scikit-learn's digits, 2-D toy data.

Every loader returns a :class:`Dataset` with a fixed, seeded train / validation /
test split. Images are ``(N, H, W, C)`` uint8; the 2-D toy data is ``(N, 2)``
float32 features (``image_shape`` None). Labels are int64 in ``[0, n_classes)``.

The loaders are handed on when first used (they import scikit-learn, ~1 s): a command that only needs
``limits`` or ``archive`` (``linclass probe``'s bounds on an ``.npz``) does not pay for them.
"""

from importlib import import_module

from .base import Dataset, cache_dir

__all__ = ["CIFAR10_VAL_SIZE", "DATASETS", "Dataset", "cache_dir", "load_cifar10", "load_dataset"]


def __getattr__(name):
    if name in ("CIFAR10_VAL_SIZE", "DATASETS", "load_dataset"):
        return getattr(import_module(".load", __name__), name)
    if name == "load_cifar10":
        return import_module(".cifar10", __name__).load_cifar10
    raise AttributeError(f"module 'linclass.datasets' has no attribute {name!r}")
