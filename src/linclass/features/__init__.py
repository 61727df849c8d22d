"""Image features that make a linear classifier strong (the lecture's "Image features").

Each extractor is a scikit-learn transformer on image batches ``(N, H, W, 3)``
uint8 giving ``(N, D)`` float32, vectorized over the batch and run chunk by
chunk so memory stays bounded:

- :class:`ColorHistogram` -- hue histogram (the lecture), or saturation / value / joint bins;
- :class:`HOG` -- histogram of oriented gradients (Dalal & Triggs, 2005), equal to
  ``skimage.feature.hog`` on the same grayscale images;
- :class:`BagOfVisualWords` -- whitened patches, k-means codebook, triangle or
  soft-threshold codes, quadrant sum pooling (Coates, Lee & Ng, 2011).

:func:`make_features` builds them by name (``raw|hist|hog|hog+hist|bovw``);
:func:`features_to_state` / :func:`features_from_state` save and restore fitted
extractors without pickle; :func:`augment_flip` appends mirrored images;
:func:`cached_features` fits and transforms once per data and settings.
"""

from ._common import GRAY_WEIGHTS, to_gray
from .bovw import BagOfVisualWords
from .color import ColorHistogram
from .compose import (
                      SPECS,
                      RawPixels,
                      augment_flip,
                      cached_features,
                      features_from_state,
                      features_to_state,
                      fingerprint,
                      make_features,
)
from .hog import HOG, hog_features

__all__ = [
    "BagOfVisualWords", "ColorHistogram", "GRAY_WEIGHTS", "HOG", "RawPixels", "SPECS",
    "augment_flip", "cached_features", "features_from_state", "features_to_state", "fingerprint",
    "hog_features", "make_features", "to_gray",
]
