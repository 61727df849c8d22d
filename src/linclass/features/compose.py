"""Feature pipelines by name, their saved state (no pickle), flip augmentation, a feature cache.

``make_features("hog+hist")`` builds the extractor the command line asks for;
``features_to_state`` / ``features_from_state`` turn a fitted extractor (one of
ours, or a scikit-learn ``FeatureUnion`` / ``Pipeline`` of them) into
``(config: JSON-able dict, arrays: dict[str, ndarray])`` and back, for model
files; ``cached_features`` fits and transforms once per data and settings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from sklearn.pipeline import FeatureUnion, Pipeline

from .. import _checks
from ..errors import InputError, ModelFileError, ParameterError
from ..persist import atomic_write
from ._common import ImageTransformer
from .bovw import BagOfVisualWords
from .color import ColorHistogram
from .hog import HOG

SPECS = ("raw", "hist", "hog", "hog+hist", "bovw")


class RawPixels(ImageTransformer):
    """The pixels themselves: ``(N, H, W, 3)`` uint8 -> ``(N, H·W·3)`` float32 (values 0..255)."""

    _config_keys = ("chunk_size",)

    def __init__(self, chunk_size=None):
        self.chunk_size = chunk_size

    def _n_out(self, image_shape):
        return int(np.prod(image_shape))

    def _transform_chunk(self, images):
        return images.reshape(images.shape[0], -1).astype(np.float32)


TRANSFORMERS = {cls.__name__: cls for cls in (RawPixels, ColorHistogram, HOG, BagOfVisualWords)}
"""The classes whose state :func:`features_from_state` may rebuild (nothing else is ever instantiated)."""


def make_features(spec: str, **options):
    """The feature extractor named ``spec`` (``raw|hist|hog|hog+hist|bovw``), unfitted.

    ``options`` are keyword hyperparameters of the extractors involved (e.g.
    ``n_words=4000, encoding="soft"`` for bovw, ``cell=8, bins=10`` for hog+hist);
    None values are ignored, unknown names raise :class:`ParameterError`.
    HOG here defaults to ``block=2`` (overlapping 2x2-cell blocks, L2-Hys), the
    better setting on CIFAR-10; pass ``block=1`` for the lecture's plain cells.
    """
    options = {k: v for k, v in options.items() if v is not None}
    parts = {"raw": [("raw", RawPixels)], "hist": [("hist", ColorHistogram)], "hog": [("hog", HOG)],
             "hog+hist": [("hog", HOG), ("hist", ColorHistogram)], "bovw": [("bovw", BagOfVisualWords)]}
    if spec not in parts:
        raise ParameterError(f"unknown features {spec!r}; use one of {', '.join(SPECS)}.")
    used, made = set(), []
    for name, cls in parts[spec]:
        own = {k: v for k, v in options.items() if k in cls().get_params()}
        if cls is HOG:
            own = {"block": 2, **own}   # 2x2-cell blocks: 53% vs 45% with hog+hist on CIFAR-10 (BENCHMARKS.md)
        used |= own.keys()
        made.append((name, cls(**own)))
    unknown = sorted(options.keys() - used)
    if unknown:
        raise ParameterError(f"option(s) {unknown} do not apply to features {spec!r}; "
                             f"valid: {sorted(set().union(*(c().get_params() for _, c in parts[spec])))}.")
    return made[0][1] if len(made) == 1 else FeatureUnion(made)


def augment_flip(X, y):
    """``(X2, y2)``: the images followed by their horizontal mirror images, labels repeated (2N)."""
    X = _checks.images(X, who="augment_flip")
    y = np.asarray(y)
    if y.shape[:1] != X.shape[:1]:
        raise InputError(f"augment_flip got {X.shape[0]} images but {y.shape[0] if y.ndim else 0} labels; "
                         "pass one label per image.")
    return np.concatenate([X, X[:, :, ::-1]]), np.concatenate([y, y])


# --- state without pickle -----------------------------------------------------
def features_to_state(transformer) -> tuple[dict, dict]:
    """``(config, arrays)`` of a fitted extractor, ``FeatureUnion`` or ``Pipeline`` of extractors.

    ``config`` is JSON-able; ``arrays`` maps names (``"<path>.<attribute>"``) to numpy arrays,
    ready for ``np.savez``. :func:`features_from_state` inverts it.
    """
    arrays: dict[str, np.ndarray] = {}
    return _to_state(transformer, "f", arrays), arrays


def _to_state(t, path, arrays):
    if isinstance(t, (FeatureUnion, Pipeline)):
        steps = t.transformer_list if isinstance(t, FeatureUnion) else t.steps
        if isinstance(t, FeatureUnion) and t.transformer_weights:
            raise ParameterError("a FeatureUnion with transformer_weights cannot be saved; "
                                 "scale inside the extractors instead.")
        return {"kind": "union" if isinstance(t, FeatureUnion) else "pipeline",
                "steps": [{"name": name, "state": _to_state(step, f"{path}.{i}", arrays)}
                          for i, (name, step) in enumerate(steps)]}
    if type(t).__name__ not in TRANSFORMERS or not isinstance(t, TRANSFORMERS[type(t).__name__]):
        raise ParameterError(f"cannot save a {type(t).__name__} in a model file; only linclass feature "
                             f"extractors ({', '.join(TRANSFORMERS)}) and unions / pipelines of them.")
    config, arr = t.get_state()
    for k, v in arr.items():
        arrays[f"{path}.{k}"] = v
    return {"kind": "transformer", "path": path, "config": config}


def features_from_state(config: dict, arrays: dict):
    """The fitted extractor saved by :func:`features_to_state`; raises ModelFileError on bad state."""
    try:
        kind = config["kind"]
        if kind in ("union", "pipeline"):
            steps = [(s["name"], features_from_state(s["state"], arrays)) for s in config["steps"]]
            return FeatureUnion(steps) if kind == "union" else Pipeline(steps)
        if kind != "transformer":
            raise KeyError(kind)
        cfg = config["config"]
        cls = TRANSFORMERS[cfg["type"]]
        prefix = config["path"] + "."
        own = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix) and "." not in k[len(prefix):]}
        return cls.from_state(cfg, own)
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"the saved feature settings are malformed (missing or unknown {exc}); "
                             "the model file is corrupt or from another version; retrain and save it.") from None


# --- cache ----------------------------------------------------------------------
def fingerprint(*arrays) -> str:
    """A short hash of arrays' shapes, dtypes and bytes."""
    h = hashlib.blake2b(digest_size=12)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


CACHE_VERSION = 2
"""Part of every feature-cache key: raised whenever a transform's output changes (2: exact hue bins, grey
pixels without hue), so no cache computed by older code is read back."""


def cached_features(extractor, X_train, others: dict | None = None, *, cache_dir, data_key: str | None = None):
    """Fit ``extractor`` on ``X_train`` and transform it and ``others``, or load the result from the cache.

    The cache file is keyed by the data (``data_key``, else a hash of the arrays), the
    extractor's settings and :data:`CACHE_VERSION`; it is an ``.npz`` read without pickle
    and written atomically.
    Returns ``(fitted extractor, F_train, {name: F})``.
    """
    others = dict(others or {})
    settings = json.dumps(_params_json(extractor), sort_keys=True, default=str)
    data_key = data_key or fingerprint(X_train, *others.values())
    key = hashlib.sha256(f"{CACHE_VERSION}|{data_key}|{sorted(others)}|{settings}".encode()).hexdigest()[:24]
    path = Path(cache_dir) / f"features-{key}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                config = json.loads(str(z["__config__"]))
                arrays = {k[6:]: z[k] for k in z.files if k.startswith("state:")}
                feats = {k[5:]: z[k] for k in z.files if k.startswith("data:")}
            return features_from_state(config, arrays), feats.pop("__train__"), feats
        except (OSError, ValueError, KeyError, ModelFileError):
            pass                                             # unreadable cache entry: recompute it
    F_train = extractor.fit_transform(X_train)
    feats = {name: extractor.transform(X) for name, X in others.items()}
    config, arrays = features_to_state(extractor)
    payload = {"__config__": np.asarray(json.dumps(config))}
    payload.update({f"state:{k}": v for k, v in arrays.items()})
    payload.update({f"data:{k}": v for k, v in feats.items()})
    payload["data:__train__"] = F_train
    atomic_write(path, lambda f: np.savez(f, **payload))
    return extractor, F_train, feats


def _params_json(extractor):
    if isinstance(extractor, (FeatureUnion, Pipeline)):
        steps = extractor.transformer_list if isinstance(extractor, FeatureUnion) else extractor.steps
        return [type(extractor).__name__, [(n, _params_json(s)) for n, s in steps]]
    params = {k: v for k, v in extractor.get_params().items() if k not in ("n_jobs", "chunk_size")}
    return [type(extractor).__name__, params]
