"""Histogram of oriented gradients (HOG), vectorized over a batch of images.

Dalal, N. & Triggs, B. (2005). *Histograms of Oriented Gradients for Human
Detection.* CVPR 2005, pp. 886-893. The lecture's version: divide the image
into 8x8-pixel cells and, within each, quantize the edge direction into 9 bins
(a 320x240 image gives 40x30 cells x 9 = 10,800 numbers).

Conventions: N images, H x W pixels, cells of ``cell`` x ``cell`` pixels,
``nr = H // cell`` by ``nc = W // cell`` cells, ``n`` orientation bins,
blocks of ``block`` x ``block`` cells.

The steps (the same as ``skimage.feature.hog`` with ``transform_sqrt=False``, so
that on the same grayscale images the outputs agree to float32 rounding):

1. gradients by centred differences ``g_row[r] = I[r+1] - I[r-1]``,
   ``g_col[c] = I[c+1] - I[c-1]``, zero on the image border;
2. magnitude ``|g| = sqrt(g_row² + g_col²)`` and unsigned orientation
   ``θ = atan2(g_row, g_col) mod 180°``;
3. per cell and bin ``o``: ``h[o] = (1 / cell²) Σ |g|`` over the cell's pixels with
   ``θ`` in ``[o·180/n, (o+1)·180/n)`` (hard binning; pixels beyond the last
   whole cell are ignored);
4. per block of ``block x block`` cells, the concatenated histograms ``v`` are
   normalized: L1 ``v / (‖v‖₁ + ε)``, L1-sqrt ``sqrt(v / (‖v‖₁ + ε))``,
   L2 ``v / sqrt(‖v‖₂² + ε²)``, L2-Hys (L2, clip at 0.2, L2 again), ε = 1e-5;
   blocks overlap with a stride of one cell.

Output layout per image: ``(nbr, nbc, block, block, n)`` flattened, with
``nbr = nr - block + 1`` (as skimage's ``feature_vector=True``).

Speed: the orientation is found with a float32 ``arctan2`` over the whole chunk;
the few pixels whose angle lies within 1e-4 of a bin edge are redone in float64
exactly as skimage does, so the bin choices agree with skimage's.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._common import GRAY_WEIGHTS, ImageTransformer, chunks, to_gray

BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys", None)
EPS = 1e-5
_EDGE_TOL = 1e-4  # in bins: float32 angle error is < 1e-5 bins, so this band catches every doubtful pixel


def hog_features(gray, *, cell: int = 8, orientations: int = 9, block: int = 1,
                 block_norm: str | None = "L2-Hys", chunk_size: int | None = None) -> np.ndarray:
    """HOG descriptors of grayscale images ``(N, H, W)`` float -> ``(N, D)`` float32.

    ``D = nbr·nbc·block²·orientations`` (``nr·nc·orientations`` when ``block_norm``
    is None, which returns the per-cell histograms unnormalized). Gradients are
    taken in the input's float precision, as ``skimage.feature.hog`` does.
    """
    gray = np.asarray(gray)
    if gray.ndim != 3 or gray.dtype.kind != "f":
        raise InputError(f"hog_features expects grayscale images (N, H, W) of floats, got "
                         f"{gray.dtype} {gray.shape}; convert RGB with features.to_gray.")
    _check_size(gray.shape[1:], cell, block)
    n_img = gray.shape[0]
    if chunk_size is None:
        chunk_size = max(1, (1 << 16) // (gray.shape[1] * gray.shape[2]))
    out = None
    for part in chunks(n_img, chunk_size):
        h = _cell_histograms(gray[part], cell, orientations)
        f = _normalize_blocks(h, block, block_norm).reshape(h.shape[0], -1)
        if out is None:
            out = np.empty((n_img, f.shape[1]), np.float32)
        out[part] = f
    return out


def _check_size(hw, cell, block):
    need = cell * block
    if hw[0] < need or hw[1] < need:
        raise InputError(f"HOG needs images of at least {need}x{need} pixels (cell={cell} x block={block}), "
                         f"got {hw[0]}x{hw[1]}; use larger images or a smaller cell or block.")


def _gradients(gray):
    """Centred differences ``(g_row, g_col)`` in the input dtype, zero on the border (N, H, W)."""
    g_row = np.empty_like(gray)
    g_col = np.empty_like(gray)
    np.subtract(gray[:, 2:, :], gray[:, :-2, :], out=g_row[:, 1:-1, :])
    np.subtract(gray[:, :, 2:], gray[:, :, :-2], out=g_col[:, :, 1:-1])
    g_row[:, [0, -1], :] = 0
    g_col[:, :, [0, -1]] = 0
    return g_row, g_col


def _bin_edges(n):
    """skimage's bin edges: float32 ``(180/n)·o`` for o = 1..n, as float64."""
    step = np.float32(180.0 / n)
    return (step * np.arange(1, n + 1, dtype=np.float32)).astype(np.float64)


def _cell_histograms(gray, cell, n):
    """Per-cell orientation histograms ``(N, nr, nc, n)`` float64 (mean magnitude per bin)."""
    m, H, W = gray.shape
    nr, nc = H // cell, W // cell
    g_row, g_col = _gradients(gray)
    g_row, g_col = g_row[:, :nr * cell, :nc * cell], g_col[:, :nr * cell, :nc * cell]
    gr = g_row.astype(np.float32)
    gc = g_col.astype(np.float32)
    mag = gr * gr
    mag += gc * gc
    np.sqrt(mag, out=mag)                                    # (m, nr*cell, nc*cell)
    # Signed position in bins t = atan2·n/π + n in [0, 2n]; slot k = floor(t) in [0, 2n]:
    # k < n is θ in [-180, 0) (bin k), n <= k < 2n is bin k - n, k = 2n is θ = 180 (bin 0).
    t = np.arctan2(gr, gc)
    t *= np.float32(n / np.pi)
    t += np.float32(n)
    np.copyto(t, np.float32(n + 0.5), where=(g_row == 0))    # θ = 0 or 180 exactly: bin 0, as skimage
    kf = np.floor(t)
    t -= kf
    t -= np.float32(0.5)
    np.abs(t, out=t)                                         # |frac - 1/2|: near 1/2 means near an edge
    k = kf.astype(np.intp)
    idx = np.flatnonzero(t > np.float32(0.5 - _EDGE_TOL))
    if idx.size:
        k.ravel()[idx] = _exact_slots(g_row, g_col, idx, n)
    slots = 2 * n + 2                                        # the last slot holds dropped pixels
    base = _slot_base(m, nr, nc, cell, slots)
    counts = np.bincount((base + k).ravel(), weights=mag.ravel(), minlength=m * nr * nc * slots)
    c = counts.reshape(m, nr, nc, slots)
    hist = c[..., :n] + c[..., n:2 * n]
    hist[..., 0] += c[..., 2 * n]
    return hist / (cell * cell)


def _exact_slots(g_row, g_col, idx, n):
    """Slots of the doubtful pixels ``idx``, from skimage's float64 formula ``rad2deg(atan2) % 180``."""
    shape = g_row.shape
    gr = g_row[np.unravel_index(idx, shape)].astype(np.float64)
    gc = g_col[np.unravel_index(idx, shape)].astype(np.float64)
    theta = np.rad2deg(np.arctan2(gr, gc)) % 180
    o = np.searchsorted(_bin_edges(n), theta, side="right")  # number of edges <= θ: the bin, or n (dropped)
    return np.where(o < n, o + n, 2 * n + 1)


_BASE_CACHE: dict = {}


def _slot_base(m, nr, nc, cell, slots):
    """``(m, nr*cell, nc*cell)`` index of each pixel's first slot in the flat count array."""
    key = (m, nr, nc, cell, slots)
    if key not in _BASE_CACHE:
        if len(_BASE_CACHE) > 8:
            _BASE_CACHE.clear()
        rows = np.arange(nr * cell) // cell
        cols = np.arange(nc * cell) // cell
        cell_id = rows[:, None] * nc + cols[None, :]            # (nr*cell, nc*cell)
        base = (np.arange(m)[:, None, None] * (nr * nc) + cell_id) * slots
        _BASE_CACHE[key] = base.astype(np.intp)
    return _BASE_CACHE[key]


def _normalize_blocks(hist, block, method):
    """Blocks ``(N, nbr, nbc, block, block, n)`` of cell histograms, each normalized by ``method``."""
    if method is None:
        return hist.astype(np.float32)
    hist = hist.astype(np.float32)
    if block == 1:
        v = hist[:, :, :, None, None, :]
    else:
        v = np.lib.stride_tricks.sliding_window_view(hist, (block, block), axis=(1, 2))
        v = v.transpose(0, 1, 2, 4, 5, 3)                     # (m, nbr, nbc, b, b, n)
    axes = (3, 4, 5)
    if method in ("L1", "L1-sqrt"):
        out = v / (v.sum(axis=axes, keepdims=True) + np.float32(EPS))  # v >= 0
        if method == "L1-sqrt":
            out = np.sqrt(out)
    else:
        out = v / np.sqrt((v * v).sum(axis=axes, keepdims=True) + np.float32(EPS ** 2))
        if method == "L2-Hys":
            out = np.minimum(out, 0.2)
            out = out / np.sqrt((out * out).sum(axis=axes, keepdims=True) + np.float32(EPS ** 2))
    return out


class HOG(ImageTransformer):
    """Histogram of oriented gradients of RGB images (Dalal & Triggs, 2005).

    ``HOG(cell=8, orientations=9, block=1, block_norm="L2-Hys")`` turns
    ``(N, H, W, 3)`` uint8 images into ``(N, nbr·nbc·block²·orientations)``
    float32 features; see the module docstring for the formula. The images are
    first made grayscale in [0, 1] with ``gray`` weights: ``"bt601"`` (ITU-R
    BT.601: 0.299 R + 0.587 G + 0.114 B) or ``"bt709"`` (``skimage.color.rgb2gray``).
    With ``block_norm`` one of L1, L1-sqrt, L2, L2-Hys the output equals
    ``skimage.feature.hog(gray, orientations, (cell, cell), (block, block), block_norm)``
    on the same grayscale images; ``None`` gives the raw cell histograms.

    Example
    -------
    >>> import numpy as np
    >>> X = np.zeros((2, 32, 32, 3), np.uint8); X[:, :, 16:] = 255
    >>> HOG().fit_transform(X).shape
    (2, 144)
    """

    _config_keys = ("cell", "orientations", "block", "block_norm", "gray", "chunk_size")

    def __init__(self, cell=8, orientations=9, block=1, block_norm="L2-Hys", gray="bt601", chunk_size=None):
        self.cell = cell
        self.orientations = orientations
        self.block = block
        self.block_norm = block_norm
        self.gray = gray
        self.chunk_size = chunk_size

    _int_params = ("cell", "orientations", "block")
    _choice_params = {"block_norm": BLOCK_NORMS, "gray": GRAY_WEIGHTS}

    def _min_size(self):
        return (self.cell * self.block, self.cell * self.block)

    def _n_out(self, image_shape):
        nr, nc = image_shape[0] // self.cell, image_shape[1] // self.cell
        if self.block_norm is None:
            return nr * nc * self.orientations
        return (nr - self.block + 1) * (nc - self.block + 1) * self.block ** 2 * self.orientations

    def _transform_chunk(self, images):
        return hog_features(to_gray(images, self.gray), cell=self.cell, orientations=self.orientations,
                            block=self.block, block_norm=self.block_norm, chunk_size=images.shape[0])
