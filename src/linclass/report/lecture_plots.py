"""Pictures for ``linclass explain``: an image's hue histogram and HOG, the learning-rate lab, the loss
landscape and the Occam sweep.

Same conventions as :mod:`linclass.report.plots` (matplotlib's object API, an
atomic write, the path returned). Their words speak the current language where
the plots' font draws it (:func:`drawn`), else English.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from matplotlib import colormaps, font_manager
from matplotlib.collections import LineCollection

from ..i18n import N_, _
from .plots import _figure


def drawn(message: str) -> str:
    """``message`` (marked with ``N_``) in the current language where the plots' font has a glyph for every
    character of the translation, else in English: matplotlib's own DejaVu Sans draws Russian and Vietnamese,
    not Chinese, and a picture of empty boxes teaches nothing."""
    translated = _(message)
    return translated if set(map(ord, translated)) <= _font_characters() else message


@functools.lru_cache(maxsize=1)
def _font_characters() -> frozenset:
    """The characters (code points) the plots' default font has glyphs for."""
    return frozenset(font_manager.get_font(font_manager.findfont(font_manager.FontProperties())).get_charmap())


def hue_histogram(image, hist, path) -> Path:
    """The image beside its hue histogram, each bar drawn in its hue."""
    bins = len(hist)
    with _figure(path, (8, 3.2)) as fig:
        left, right = fig.subplots(1, 2, width_ratios=[1, 2])
        left.imshow(image)
        left.set_axis_off()
        centers = (np.arange(bins) + 0.5) / bins
        right.bar(np.arange(bins), hist, color=colormaps["hsv"](centers), edgecolor="black", linewidth=0.5)
        right.set_xticks(np.arange(bins), [f"{round(360 * c)}°" for c in centers], fontsize=7)
        right.set_xlabel(drawn(N_("hue (bin centre)")))
        right.set_ylabel(drawn(N_("fraction of pixels")))
        right.set_title(drawn(N_("hue histogram: {bins} numbers")).format(bins=bins))
    return Path(path)


def hog_picture(gray, cells, cell: int, path) -> Path:
    """The grayscale image beside its HOG: in each cell, one line per orientation bin, as long as the bin."""
    nr, nc, n = cells.shape
    angles = (np.arange(n) + 0.5) * np.pi / n  # bin centres; the edge runs across the gradient
    segments, widths = [], []
    peak = cells.max() or 1.0
    for r in range(nr):
        for c in range(nc):
            cy, cx = (r + 0.5) * cell, (c + 0.5) * cell
            for o in range(n):
                length = 0.5 * cell * cells[r, c, o] / peak
                dy, dx = -np.cos(angles[o]) * length, np.sin(angles[o]) * length
                segments.append([(cx - dx, cy - dy), (cx + dx, cy + dy)])
                widths.append(0.4 + 1.6 * cells[r, c, o] / peak)
    H, W = gray.shape
    with _figure(path, (8, 4.2 * H / max(W, 1) + 0.6)) as fig:
        left, right = fig.subplots(1, 2)
        left.imshow(gray, cmap="gray")
        left.set_title(drawn(N_("{size} grayscale")).format(size=f"{H}×{W}"))
        right.set_facecolor("black")
        right.add_collection(LineCollection(segments, colors="white", linewidths=widths))
        right.set_xlim(0, nc * cell)
        right.set_ylim(nr * cell, 0)
        right.set_aspect("equal")
        right.set_title(drawn(N_("HOG: {cells} cells × {bins} bins = {total} numbers")).format(
            cells=f"{nr}×{nc}", bins=n, total=f"{nr * nc * n:,}"))
        for ax in (left, right):
            ax.set_xticks([])
            ax.set_yticks([])
    return Path(path)


def lr_lab(runs: dict, curvature, path) -> Path:
    """The learning-rate lab: each run's path on the bowl's contours, and its loss against step.

    ``runs`` maps a label to ``(path (T+1, 2), losses (T+1,))``; the loss is ``½ Σ_k a_k w_k²``.
    """
    a = np.asarray(curvature, dtype=np.float64)
    with _figure(path, (11, 4.2)) as fig:
        left, right = fig.subplots(1, 2)
        reach = max(float(np.abs(p[0]).max()) for p, _ in runs.values()) * 1.3
        grid = np.linspace(-reach, reach, 200)
        g1, g2 = np.meshgrid(grid, grid)
        left.contour(g1, g2, 0.5 * (a[0] * g1 ** 2 + a[1] * g2 ** 2), levels=12, colors="0.8", linewidths=0.7)
        for label, (p, losses) in runs.items():
            shown = p[np.all(np.abs(p) <= reach, axis=1)]
            (line,) = left.plot(shown[:, 0], shown[:, 1], marker=".", markersize=3, linewidth=0.8, label=label)
            right.plot(np.arange(len(losses)), losses, color=line.get_color(), label=label)
        left.set_xlim(-reach, reach)
        left.set_ylim(-reach, reach)
        left.set_aspect("equal")
        left.set_xlabel("w₁")
        left.set_ylabel("w₂")
        left.set_title(drawn(N_("paths on the loss contours")))
        right.set_yscale("log")
        right.set_xlabel(drawn(N_("step")))
        right.set_ylabel(drawn(N_("loss (log scale)")))
        right.set_title(drawn(N_("loss against step")))
        right.legend(fontsize=8)
    return Path(path)


def landscape(views: dict, path) -> Path:
    """The loss landscape, as in the course notes: per loss, its slice along a line and over a plane.

    ``views`` maps a loss name to ``{"line", "along", "plane", "over"}`` (see :mod:`.explain_landscape`).
    """
    with _figure(path, (9, 4 * len(views))) as fig:
        axes = fig.subplots(len(views), 2, squeeze=False)
        for (line_ax, plane_ax), (loss, view) in zip(axes, views.items()):
            line_ax.plot(view["line"], view["along"])
            line_ax.set_xlabel("a")
            line_ax.set_ylabel(drawn(N_("loss")))
            line_ax.set_title(f"{loss}: L(W + a·W₁)")
            reach = float(view["plane"][-1])
            image = plane_ax.imshow(view["over"].T, origin="lower", extent=(-reach, reach, -reach, reach),
                                    cmap="viridis", aspect="equal")
            plane_ax.contour(view["plane"], view["plane"], view["over"].T, levels=12, colors="white",
                             linewidths=0.5)
            plane_ax.set_xlabel("a")
            plane_ax.set_ylabel("b")
            plane_ax.set_title(f"{loss}: L(W + a·W₁ + b·W₂)")
            fig.colorbar(image, ax=plane_ax, shrink=0.8)
    return Path(path)


def occam(rows, path) -> Path:
    """Train and validation accuracy against λ (log scale), the Occam choice marked."""
    lam = [r["lambda"] for r in rows]
    with _figure(path, (6, 3.8)) as fig:
        ax = fig.subplots()
        ax.plot(lam, [r["train"] for r in rows], marker="o", label=drawn(N_("train")))
        ax.plot(lam, [r["val"] for r in rows], marker="s", label=drawn(N_("validation")))
        ax.set_xscale("log")
        ax.set_xlabel(drawn(N_("regularization strength λ")))
        ax.set_ylabel(drawn(N_("accuracy")))
        ax.set_title(drawn(N_("Occam: train vs validation accuracy against λ")))
        ax.legend()
    return Path(path)
