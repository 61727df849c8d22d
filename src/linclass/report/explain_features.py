"""An image's features, as pictures (``linclass explain --features-of IMAGE``).

The lecture's two hand-made features (seeds 001, 004): a hue histogram (the
fraction of pixels in each hue bin; grey pixels have no hue and are counted
apart) and HOG with 8×8-pixel cells and 9
orientation bins in each, one number per cell and bin: a 128×64 image has
16×8 cells → 1,152 numbers, a 320×240 image 40×30 cells → 10,800. That is
``HOG(cell=8, orientations=9, block=1)``; ``--features hog`` in training uses
overlapping 2×2-cell blocks instead (3,780 numbers for 128×64), which does
better on CIFAR-10.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.images import bad_reason, decode_image
from ..errors import InputError
from ..features import HOG, ColorHistogram, to_gray
from ..features.color import achromatic
from ..features.hog import hog_features
from . import lecture_plots

HUE_BINS = 12
CELL = 8
ORIENTATIONS = 9


def read_image(path) -> np.ndarray:
    """The image at ``path`` as (H, W, 3) uint8, or an :class:`InputError` naming the cause."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no image file {str(path)!r}; give the path of a PNG or JPEG image.")
    try:
        return decode_image(path)[0]
    except Exception as err:  # Pillow's errors vary by format: any of them means "not an image we read"
        raise InputError(f"cannot read {str(path)!r} as an image ({bad_reason(err)}); give a PNG, JPEG, "
                         "BMP, GIF or WebP file.") from None


def image_features(image) -> dict:
    """Hue histogram, HOG feature vector and HOG cell histograms (nr, nc, 9) of one (H, W, 3) image."""
    H, W = image.shape[:2]
    if H < CELL or W < CELL:
        raise InputError(f"the image is {H}×{W} pixels; HOG needs at least {CELL}×{CELL}.")
    batch = image[None]
    hist = ColorHistogram(bins=HUE_BINS, channel="hue").fit_transform(batch)[0]
    hog = HOG(cell=CELL, orientations=ORIENTATIONS, block=1).fit_transform(batch)[0]
    gray = to_gray(batch)
    cells = hog_features(gray, cell=CELL, orientations=ORIENTATIONS, block=1, block_norm=None)[0]
    return {"hue": hist, "hog": hog, "cells": cells.reshape(H // CELL, W // CELL, ORIENTATIONS), "gray": gray[0],
            "no_hue": int(achromatic(image).sum())}


def explain_features(path, out_dir=None):
    """``(text, data)``: the sizes and pictures of ``path``'s hue histogram and HOG, PNGs in ``out_dir``."""
    image = read_image(path)
    feats = image_features(image)
    H, W = image.shape[:2]
    nr, nc, n = feats["cells"].shape
    out = Path(out_dir) if out_dir is not None else Path("runs") / f"features-{Path(path).stem}"
    hue_png = lecture_plots.hue_histogram(image, feats["hue"], out / "hue_histogram.png")
    hog_png = lecture_plots.hog_picture(feats["gray"], feats["cells"], CELL, out / "hog.png")
    bars = [f"  {round(360 * (k + 0.5) / HUE_BINS):>4}°  {'█' * round(40 * v)} {v:.3f}"
            for k, v in enumerate(feats["hue"])]
    lines = [f"{path}: {H}×{W} pixels (H×W), {H * W * 3:,} raw numbers", "",
             f"hue histogram: {HUE_BINS} bins of {360 // HUE_BINS}°, the fraction of pixels in each:", *bars,
             f"  {feats['no_hue']:,} of {H * W:,} pixels are grey (R = G = B): they have no hue and are left out.", "",
             f"HOG: {CELL}×{CELL}-pixel cells → {nr}×{nc} cells, {n} orientation bins each → "
             f"{nr} × {nc} × {n} = {feats['hog'].size:,} numbers",
             "  (the lecture: 128×64 → 16×8 cells → 1,152; 320×240 → 40×30 cells → 10,800)", "",
             f"pictures: {hue_png}", f"          {hog_png}"]
    data = {"image": str(path), "height": H, "width": W, "hue_histogram": feats["hue"].tolist(),
            "pixels_without_hue": feats["no_hue"],
            "hog_size": int(feats["hog"].size), "hog_cells": [nr, nc], "orientations": n,
            "pictures": {"hue_histogram": str(hue_png), "hog": str(hog_png)}}
    return "\n".join(lines), data
