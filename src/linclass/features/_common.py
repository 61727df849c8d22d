"""Shared pieces of the feature extractors: input checks, grayscale, chunking, saved state.

Conventions: images are ``(N, H, W, 3)`` uint8 (N images of H rows, W columns,
RGB); features are ``(N, D)`` float32. Every extractor works on a chunk of
``chunk_size`` images at a time, so memory stays bounded whatever N is.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from .. import _checks
from ..errors import InputError, ModelFileError, ParameterError

GRAY_WEIGHTS = {
    "bt601": (0.299, 0.587, 0.114),
    "bt709": (0.2125, 0.7154, 0.0721),
}
"""Luma weights of R, G, B. ``bt601`` is ITU-R BT.601 (the lecture's grayscale;
note 0.114, not the 0.144 typo of the course's ``features.py``); ``bt709`` is
what ``skimage.color.rgb2gray`` uses."""


def to_gray(images: np.ndarray, weights: str = "bt601", dtype=np.float32) -> np.ndarray:
    """Grayscale ``Y = w_R R + w_G G + w_B B`` scaled to [0, 1]: (N, H, W, 3) uint8 -> (N, H, W)."""
    w = np.asarray(GRAY_WEIGHTS[weights], dtype=dtype) / dtype(255)
    n, h, wd, _ = images.shape
    return (images.reshape(-1, 3).astype(dtype) @ w).reshape(n, h, wd)


def chunks(n: int, size: int):
    """``slice`` objects covering ``range(n)`` in pieces of at most ``size``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class ImageTransformer(TransformerMixin, BaseEstimator):
    """Base of the extractors: batch checks, chunked ``transform``, and state without pickle.

    Subclasses set ``_config_keys`` (the ``__init__`` parameters saved as JSON),
    ``_array_keys`` (the fitted arrays), implement ``_min_size()`` and
    ``_transform_chunk(images) -> (n, D) float32``, and ``n_features_out_``.
    """

    _config_keys: tuple = ()
    _array_keys: tuple = ()

    def _min_size(self) -> tuple[int, int]:
        return (1, 1)

    _int_params: tuple = ()
    """``__init__`` parameters that must be integers >= 1 (``chunk_size`` too, unless None)."""
    _choice_params: dict = {}
    """``__init__`` parameter → its allowed values."""

    def _check_params(self):
        """Validate hyperparameters (raise ParameterError); called by fit and when a model file is read."""
        for name in self._int_params:
            _checks.integer(getattr(self, name), name)
        for name, choices in self._choice_params.items():
            _checks.choice(getattr(self, name), name, choices)
        if getattr(self, "chunk_size", None) is not None:
            _checks.integer(self.chunk_size, "chunk_size")

    _pixels_per_chunk = 1 << 16
    """Default chunk: small enough that a chunk's temporaries stay in the CPU cache."""

    def _chunk_images(self, pixels_per_image: int) -> int:
        """Images per chunk: ``chunk_size``, or by default about ``_pixels_per_chunk`` pixels."""
        if self.chunk_size is not None:
            return _checks.integer(self.chunk_size, "chunk_size")
        return max(1, self._pixels_per_chunk // pixels_per_image)

    def _check(self, X) -> np.ndarray:
        return _checks.images(X, self._min_size(), who=type(self).__name__)

    def fit(self, X, y=None):
        """Remember the input image shape; extractors without learned state need nothing else."""
        self._check_params()
        X = self._check(X)
        self.image_shape_ = tuple(int(s) for s in X.shape[1:])
        self.n_features_out_ = self._n_out(self.image_shape_)
        return self

    def _n_out(self, image_shape) -> int:
        return int(self._transform_chunk(np.zeros((1, *image_shape), np.uint8)).shape[1])

    def transform(self, X) -> np.ndarray:
        """Features ``(N, D)`` float32 of images ``(N, H, W, 3)`` uint8, ``chunk_size`` images at a time."""
        if not hasattr(self, "image_shape_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) first.")
        X = self._check(X)
        if tuple(X.shape[1:]) != self.image_shape_:
            raise InputError(f"{type(self).__name__} was fitted on images of shape {self.image_shape_} "
                             f"but got {tuple(X.shape[1:])}; resize the images to the training size.")
        out = np.empty((X.shape[0], self.n_features_out_), dtype=np.float32)
        parts = list(chunks(X.shape[0], self._chunk_images(X.shape[1] * X.shape[2])))

        def work(part):
            out[part] = self._transform_chunk(X[part])

        n_jobs = min(getattr(self, "n_jobs", 1), len(parts))
        # BLAS calls here are small: one BLAS thread each, parallelism (if any) over chunks.
        with threadpool_limits(1, user_api="blas"):
            if n_jobs <= 1:
                for part in parts:
                    work(part)
            else:
                with ThreadPoolExecutor(n_jobs) as pool:   # numpy releases the GIL in its loops
                    list(pool.map(work, parts))
        return out

    def get_feature_names_out(self, input_features=None):
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.n_features_out_)], dtype=object)

    # --- state without pickle -------------------------------------------------
    def get_state(self) -> tuple[dict, dict]:
        """``(config, arrays)``: JSON-able settings and fitted numpy arrays that rebuild this extractor."""
        config = {"type": type(self).__name__,
                  "params": {k: _jsonable(getattr(self, k)) for k in self._config_keys}}
        if hasattr(self, "image_shape_"):
            config["image_shape"] = list(self.image_shape_)
        arrays = {k: np.asarray(getattr(self, k)) for k in self._array_keys if hasattr(self, k)}
        return config, arrays

    @classmethod
    def from_state(cls, config: dict, arrays: dict):
        """Rebuild a fitted extractor from :meth:`get_state`'s output."""
        if config.get("type") != cls.__name__:
            raise ModelFileError(f"feature state is for {config.get('type')!r}, not {cls.__name__}; "
                                 "the model file is corrupt or from another program.")
        try:
            obj = cls(**config["params"])
            obj._check_params()
        except (TypeError, KeyError, ParameterError) as exc:
            raise ModelFileError(f"invalid {cls.__name__} settings in the model file ({exc}); "
                                 "retrain and save the model again.") from None
        missing = [k for k in cls._array_keys if k not in arrays]
        if missing:
            raise ModelFileError(f"{cls.__name__} state lacks arrays {missing}; "
                                 "the model file is truncated or tampered with; retrain and save it again.")
        for k in cls._array_keys:
            setattr(obj, k, np.asarray(arrays[k]))
        obj._restore(arrays)
        if "image_shape" in config:
            obj.image_shape_ = tuple(int(s) for s in config["image_shape"])
            obj.n_features_out_ = obj._n_out(obj.image_shape_)
        return obj

    def _restore(self, arrays):
        """Hook: check or derive attributes after the arrays are set."""


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple):
        return list(v)
    return v
