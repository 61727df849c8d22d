"""Data sets: CIFAR-10, folders and archives of images, scikit-learn's digits, 2-D toy data.

Every loader returns a :class:`Dataset` with a fixed, seeded train / validation /
test split. Images are ``(N, H, W, C)`` uint8; the 2-D toy data is ``(N, 2)``
float32 features (``image_shape`` None). Labels are int64 in ``[0, n_classes)``.
"""

from .base import Dataset, cache_dir
from .cifar10 import load_cifar10
from .load import CIFAR10_VAL_SIZE, DATASETS, load_dataset

__all__ = ["CIFAR10_VAL_SIZE", "DATASETS", "Dataset", "cache_dir", "load_cifar10", "load_dataset"]
