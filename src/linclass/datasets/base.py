"""The :class:`Dataset` every loader returns, and where downloads and caches live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Dataset:
    """A labelled data set split into train, validation and test."""

    name: str
    class_names: list
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple | None = None
    """``(H, W, C)`` when the examples are images, None for plain feature vectors."""
    fingerprint: str = ""
    """A short hash identifying the data (saved in model files)."""
    notes: list = field(default_factory=list)
    """Things the user should know (images resized, files skipped...)."""

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def cache_dir(data_dir=None) -> Path:
    """Where downloads and caches live: ``data_dir``, else ``$LINCLASS_DATA``, else the user's cache dir."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get("LINCLASS_DATA"):
        return Path(os.environ["LINCLASS_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "linclass"
