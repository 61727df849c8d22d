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
from ..i18n import _
from . import lecture_plots
from .explain import text_width

HUE_BINS = 12
CELL = 8
ORIENTATIONS = 9


def read_image(path) -> np.ndarray:
    """The image at ``path`` as (H, W, 3) uint8, or an :class:`InputError` naming the cause."""
    path = Path(path)
    if not path.is_file():
        raise InputError(_("no image file {path}; give the path of a PNG or JPEG image.").format(path=repr(str(path))))
    try:
        return decode_image(path)[0]
    except Exception as err:  # Pillow's errors vary by format: any of them means "not an image we read"
        raise InputError(_("cannot read {path} as an image ({reason}); give a PNG, JPEG, BMP, GIF or WebP file.")
                         .format(path=repr(str(path)), reason=bad_reason(err))) from None


def image_features(image) -> dict:
    """Hue histogram, HOG feature vector and HOG cell histograms (nr, nc, 9) of one (H, W, 3) image."""
    H, W = image.shape[:2]
    if H < CELL or W < CELL:
        raise InputError(_("the image is {size} pixels; HOG needs at least {cell}.").format(
            size=f"{H}×{W}", cell=f"{CELL}×{CELL}"))
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
    pictures = _("pictures:")
    lines = [_("{path}: {shape} pixels (H×W), {raw} raw numbers").format(path=path, shape=f"{H}×{W}",
                                                                           raw=f"{H * W * 3:,}"), "",
             _("hue histogram: {bins} bins of {width}°, the fraction of pixels in each:").format(
                 bins=HUE_BINS, width=360 // HUE_BINS), *bars,
             "  " + _("{grey} of {pixels} pixels are grey ({rule}): they have no hue and are left out.").format(
                 grey=f"{feats['no_hue']:,}", pixels=f"{H * W:,}", rule="R = G = B"), "",
             _("HOG: {cell}-pixel cells → {grid} cells, {n} orientation bins each → {product} numbers").format(
                 cell=f"{CELL}×{CELL}", grid=f"{nr}×{nc}", n=n, product=f"{nr} × {nc} × {n} = {feats['hog'].size:,}"),
             "  " + _("(the lecture: {a} → {b} cells → {c}; {d} → {e} cells → {f})").format(
                 a="128×64", b="16×8", c="1,152", d="320×240", e="40×30", f="10,800"), "",
             f"{pictures} {hue_png}", " " * text_width(pictures) + f" {hog_png}"]
    data = {"image": str(path), "height": H, "width": W, "hue_histogram": feats["hue"].tolist(),
            "pixels_without_hue": feats["no_hue"],
            "hog_size": int(feats["hog"].size), "hog_cells": [nr, nc], "orientations": n,
            "pictures": {"hue_histogram": str(hue_png), "hog": str(hog_png)}}
    return "\n".join(lines), data
