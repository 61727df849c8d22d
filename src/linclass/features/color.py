"""Color histogram in HSV space, vectorized over a batch of images.

The lecture's "Example: Color Histogram": convert each pixel to hue (the
angle on the color wheel), count the pixels whose hue falls in each of ``bins``
equal bins, and use the counts as the feature vector. As in the course code,
each count is divided by the number of pixels, so the bins sum to 1.

Conventions: N images, H x W pixels, P = H·W pixels per image, B = ``bins``.

HSV is computed as ``matplotlib.colors.rgb_to_hsv`` / ``skimage.color.rgb2hsv``
do, on ``r, g, b = R/255, G/255, B/255``: ``V = max``, ``Δ = max - min``,
``S = Δ / V`` (0 where V = 0), and hue ``H = (h'/6) mod 1`` with
``h' = (g - b)/Δ`` if red is the largest, ``2 + (b - r)/Δ`` if green,
``4 + (r - g)/Δ`` if blue (later channels win ties), 0 where Δ = 0.
Bins are those of ``np.histogram(x, bins=B, range=(0, 1))``: ``[i/B, (i+1)/B)``,
the last one closed.
"""

from __future__ import annotations

import numpy as np

from ._common import ImageTransformer

CHANNELS = {"hue": (0,), "saturation": (1,), "value": (2,), "hs": (0, 1), "hsv": (0, 1, 2)}
"""Which HSV channels are histogrammed; several channels give one joint histogram."""

_SCALE = np.arange(256, dtype=np.float64) / 255.0  # the bits of uint8 / 255.0


def rgb_to_hsv(images: np.ndarray, channels=(0, 1, 2)) -> np.ndarray:
    """HSV of uint8 RGB images ``(N, H, W, 3)`` -> float64 ``(N, H, W, len(channels))`` in [0, 1].

    ``channels`` picks among hue (0), saturation (1), value (2); see the module doc.
    """
    rgb = _SCALE[images]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    v = rgb.max(axis=-1)
    delta = v - rgb.min(axis=-1)
    out = []
    for c in channels:
        if c == 0:
            blue, green = b == v, g == v
            num = np.where(blue, r - g, np.where(green, b - r, g - b))
            offset = np.where(blue, 4.0, np.where(green, 2.0, 0.0))
            pos = delta > 0
            h = offset + num / np.where(pos, delta, 1.0)
            h /= 6.0
            h += h < 0                                        # (h'/6) mod 1 for h' in [-1, 5]
            h[~pos] = 0.0
            out.append(h)
        elif c == 1:
            out.append(np.where(v > 0, delta / np.where(v > 0, v, 1.0), 0.0))
        else:
            out.append(v)
    return np.stack(out, axis=-1)


def bin_index(x: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each value in [0, 1] among ``bins`` equal bins, exactly as ``np.histogram`` assigns it."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    i = (x * bins).astype(np.intp)
    i[i == bins] = bins - 1
    i -= x < edges[i]
    i += (x >= edges[i + 1]) & (i != bins - 1)
    return i


class ColorHistogram(ImageTransformer):
    """Histogram of HSV hue (the lecture's color histogram), or of saturation, value, or joint bins.

    ``ColorHistogram(bins=10, channel="hue")`` turns ``(N, H, W, 3)`` uint8 images
    into ``(N, bins^k)`` float32 features, the fraction of each image's pixels
    in each bin, where ``k`` is the number of channels: ``"hue"``,
    ``"saturation"``, ``"value"`` (k = 1), ``"hs"`` (joint hue x saturation,
    k = 2), ``"hsv"`` (k = 3). Joint bin index: ``i_h·B^(k-1) + i_s·B^(k-2) + ...``.
    Source: the lecture ("Image features: color histogram"); HSV as in
    ``matplotlib.colors.rgb_to_hsv``.

    Example
    -------
    >>> import numpy as np
    >>> red = np.zeros((1, 4, 4, 3), np.uint8); red[..., 0] = 255
    >>> ColorHistogram(bins=4).fit_transform(red)
    array([[1., 0., 0., 0.]], dtype=float32)
    """

    _config_keys = ("bins", "channel", "chunk_size")

    def __init__(self, bins=10, channel="hue", chunk_size=None):
        self.bins = bins
        self.channel = channel
        self.chunk_size = chunk_size

    _int_params = ("bins",)
    _choice_params = {"channel": CHANNELS}

    def _n_out(self, image_shape):
        return self.bins ** len(CHANNELS[self.channel])

    def _transform_chunk(self, images):
        m, H, W, _ = images.shape
        channels = CHANNELS[self.channel]
        hsv = rgb_to_hsv(images, channels).reshape(m, H * W, len(channels))
        idx = np.zeros((m, H * W), np.intp)
        for j in range(len(channels)):
            idx *= self.bins
            idx += bin_index(hsv[..., j], self.bins)
        n_out = self._n_out(images.shape[1:])
        idx += np.arange(m)[:, None] * n_out                # one block of bins per image
        counts = np.bincount(idx.ravel(), minlength=m * n_out).reshape(m, n_out)
        return (counts / (H * W)).astype(np.float32)
