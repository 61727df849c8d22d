"""Plots of a run: loss curve, accuracies, weight templates, confusion matrix,
decision regions, kNN cross-validation, hyperparameter-search heat map.

Conventions: N examples, D features, C classes, E epochs. Every function takes
arrays, draws one figure with matplotlib's object API (``Figure`` +
``FigureCanvasAgg``, never pyplot's global state, so it is safe in threads and
servers), writes it atomically to ``path`` (PNG, or SVG / PDF by the suffix),
creating the parent directory, and returns ``path`` as a :class:`~pathlib.Path`.
Inputs are validated first: a wrong shape raises :class:`InputError` saying
what was expected.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .._checks import as_float_array
from ..errors import InputError, ParameterError
from ..persist import write_bytes
from .html import format_value

_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_DPI = 100


# --------------------------------------------------------------------------- helpers

@contextmanager
def _figure(path, figsize):
    """Yield a fresh Agg-backed Figure; on success save it atomically to ``path``; always free it."""
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ParameterError(f"cannot tell the image format of {str(path)!r}; end the file name "
                             f"with one of {', '.join(_FORMATS)}.")
    fig = Figure(figsize=figsize, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    try:
        yield fig
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=_DPI)
        write_bytes(path, buf.getvalue())
    finally:
        fig.clear()


def _class_colors(n_classes: int) -> np.ndarray:
    """(C, 4) RGBA colors, one per class: tab10 up to 10 classes, tab20 up to 20, then hsv."""
    if n_classes <= 10:
        return colormaps["tab10"](np.arange(n_classes))
    if n_classes <= 20:
        return colormaps["tab20"](np.arange(n_classes))
    return colormaps["hsv"](np.linspace(0, 1, n_classes, endpoint=False))


def _class_names(class_names, n_classes: int, what: str) -> list[str]:
    if class_names is None:
        return [str(c) for c in range(n_classes)]
    names = [str(c) for c in class_names]
    if len(names) != n_classes:
        raise InputError(f"got {len(names)} class name(s) but {what} has {n_classes} classes; "
                         "pass one name per class, in label order.")
    return names


def _accuracies(a, name: str) -> np.ndarray:
    arr = as_float_array(a, name, 1)
    if arr.min() < 0 or arr.max() > 1:
        raise InputError(f"{name} must be fractions in [0, 1], got values in [{arr.min():g}, "
                         f"{arr.max():g}]; divide percentages by 100.")
    return arr


def moving_average(x, window: int) -> np.ndarray:
    """Mean of each run of ``window`` consecutive values: ``m_t = 1/w Σ_{i=t}^{t+w-1} x_i``.

    x (n,) -> (n - window + 1,), computed from a cumulative sum (O(n)).
    """
    x = np.asarray(x, dtype=np.float64)
    if not 1 <= window <= x.shape[0]:
        raise ParameterError(f"smoothing window must be in [1, {x.shape[0]}] (the number of "
                             f"values), got {window}; pick a smaller window.")
    csum = np.concatenate(([0.0], np.cumsum(x)))
    return (csum[window:] - csum[:-window]) / window


# --------------------------------------------------------------------------- training curves

def loss_curve(losses, path, *, title: str = "Training loss", smooth_window: int | None = None) -> Path:
    """Per-iteration loss (thin, light) with its moving average (bold).

    losses (n_iter,) finite. ``smooth_window`` defaults to ``max(1, n_iter // 25)``;
    the average of iterations ``t .. t+w-1`` is drawn at their centre. The y axis
    is logarithmic when all losses are positive and span more than two decades
    (max / min > 100), which keeps the slow tail of training visible.
    """
    losses = as_float_array(losses, "losses", 1)
    n = losses.shape[0]
    window = max(1, n // 25) if smooth_window is None else int(smooth_window)
    smooth = moving_average(losses, window)
    iters = np.arange(n)
    with _figure(path, (6.4, 4.0)) as fig:
        ax = fig.add_subplot()
        if window > 1:
            ax.plot(iters, losses, color="tab:blue", alpha=0.3, linewidth=0.8, label="per iteration")
            centres = np.arange(smooth.shape[0]) + (window - 1) / 2
            ax.plot(centres, smooth, color="tab:blue", linewidth=2.0,
                    label=f"moving average ({window} iterations)")
            ax.legend(loc="upper right")
        else:
            ax.plot(iters, losses, color="tab:blue", linewidth=1.5, marker="." if n <= 50 else None)
        if losses.min() > 0 and losses.max() / losses.min() > 100:
            ax.set_yscale("log")
        ax.set(title=title, xlabel="iteration", ylabel="loss")
        ax.grid(True, alpha=0.3)
    return Path(path)


def accuracy_curves(train_acc, val_acc, path, *, kept_epoch: int | None = None, kept: str = "last") -> Path:
    """Training (and validation) accuracy per epoch, x = epoch 1..E; fractions in [0, 1].

    train_acc (E,), val_acc (E,) or None. The best validation epoch is starred;
    ``kept_epoch`` (1..E), the epoch whose weights the run kept (``kept``: ``"best"``
    or ``"last"``), is marked by a dashed vertical line.
    """
    train_acc = _accuracies(train_acc, "train_acc")
    epochs = np.arange(1, train_acc.shape[0] + 1)
    if kept_epoch is not None and not (isinstance(kept_epoch, int | np.integer) and 1 <= kept_epoch <= len(epochs)):
        raise InputError(f"kept_epoch must be an epoch in 1 … {len(epochs)}, got {kept_epoch!r}.")
    if val_acc is not None:
        val_acc = _accuracies(val_acc, "val_acc")
        if val_acc.shape != train_acc.shape:
            raise InputError(f"val_acc has {val_acc.shape[0]} epoch(s) but train_acc has "
                             f"{train_acc.shape[0]}; pass one value per epoch for both.")
    marker = "o" if epochs.shape[0] <= 30 else None
    with _figure(path, (6.4, 4.0)) as fig:
        ax = fig.add_subplot()
        ax.plot(epochs, train_acc, color="tab:blue", marker=marker, label="train")
        if val_acc is not None:
            ax.plot(epochs, val_acc, color="tab:orange", marker=marker, label="validation")
            best = int(np.argmax(val_acc))
            ax.plot(epochs[best], val_acc[best], marker="*", markersize=14, color="tab:red",
                    linestyle="none", label=f"best validation {val_acc[best]:.3f} (epoch {best + 1})")
        if kept_epoch is not None:
            ax.axvline(kept_epoch, color="tab:green", linestyle="--", linewidth=1.5,
                       label=f"weights kept: epoch {int(kept_epoch)} ({kept})")
        both = train_acc if val_acc is None else np.concatenate((train_acc, val_acc))
        ax.set_ylim(max(0.0, both.min() - 0.05), min(1.0, both.max() + 0.05))
        ax.set(title="Accuracy per epoch", xlabel="epoch", ylabel="accuracy")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="lower right")
        ax.grid(True, alpha=0.3)
    return Path(path)


# --------------------------------------------------------------------------- what the model learned

def template_images(W, image_shape) -> np.ndarray:
    """Each class's weights as an image, min-max rescaled to 0..255 per class.

    W (D, C) with ``D = H·W·ch`` (rows flattened in ``(H, W, ch)`` order, as
    ``images.reshape(N, -1)`` does), or ``D = H·W·ch + 1`` where the last row is
    the bias of the bias trick and is dropped. Returns (C, H, W, ch) uint8 with
    ``round(255 · (w - min_c) / (max_c - min_c))``; a constant template is all 0.
    """
    W = as_float_array(W, "W", 2)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1 or shape[2] not in (1, 3):
        raise InputError(f"image_shape must be (H, W, ch) with ch 1 (gray) or 3 (RGB), got "
                         f"{tuple(image_shape)}; pass e.g. (32, 32, 3).")
    D = int(np.prod(shape))
    if W.shape[0] not in (D, D + 1):
        raise InputError(f"W has D={W.shape[0]} rows but image_shape {shape} needs D = H*W*ch = {D} "
                         f"(or {D + 1} with a bias row); weight templates need a model trained on "
                         "raw pixels, not on features.")
    T = W[:D].T.astype(np.float64)                       # (C, D)
    lo = T.min(axis=1, keepdims=True)
    span = T.max(axis=1, keepdims=True) - lo
    scaled = np.divide(255.0 * (T - lo), span, out=np.zeros_like(T), where=span > 0)
    return np.rint(scaled).astype(np.uint8).reshape((-1, *shape))


def weight_templates(W, image_shape, class_names, path) -> Path:
    """The learned weights shown as one template image per class (the lecture's CIFAR-10 figure).

    W (D, C); see :func:`template_images` for the layout and rescaling. Up to 10
    templates per row; grayscale when ch == 1.
    """
    images = template_images(W, image_shape)             # (C, H, W, ch)
    C = images.shape[0]
    names = _class_names(class_names, C, "W")
    ncols = min(C, 10)
    nrows = -(-C // ncols)
    with _figure(path, (1.35 * ncols + 0.2, 1.55 * nrows + 0.45)) as fig:
        fig.suptitle("Learned weights as class templates")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for j, ax in enumerate(axes.flat):
            ax.set_axis_off()
            if j >= C:
                continue
            if images.shape[3] == 1:
                ax.imshow(images[j, :, :, 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            else:
                ax.imshow(images[j], interpolation="nearest")
            ax.set_title(names[j], fontsize=10)
    return Path(path)


def normalize_confusion(cm) -> np.ndarray:
    """Row-normalized confusion matrix: ``cm[i, j] / Σ_j cm[i, j]`` (rows = true class).

    A class with no examples (an all-zero row) stays 0, as scikit-learn does.
    """
    cm = np.asarray(cm, dtype=np.float64)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


def _confusion_counts(cm) -> np.ndarray:
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise InputError(f"confusion matrix must be square (C, C), got shape {cm.shape}; "
                         "build it with sklearn.metrics.confusion_matrix(y_true, y_pred).")
    if cm.dtype.kind not in "iu":
        if cm.dtype.kind != "f" or not np.isfinite(cm).all() or (cm != np.round(cm)).any():
            raise InputError(f"confusion matrix must hold integer counts, got dtype {cm.dtype}; "
                             "pass counts and let normalize=True do the division.")
        cm = cm.astype(np.int64)
    if (cm < 0).any():
        raise InputError("confusion matrix has negative counts; pass counts of examples.")
    return cm


def confusion_matrix(cm, class_names, path, *, normalize: bool = True) -> Path:
    """Confusion matrix heat map, rows = true class, columns = predicted class.

    cm (C, C) integer counts. With ``normalize`` each row is divided by its
    total (:func:`normalize_confusion`), so the diagonal is each class's recall.
    Cells are annotated up to 20 classes.
    """
    cm = _confusion_counts(cm)
    C = cm.shape[0]
    names = _class_names(class_names, C, "the confusion matrix")
    values = normalize_confusion(cm) if normalize else cm.astype(np.float64)
    vmax = 1.0 if normalize else max(1.0, float(values.max()))
    side = min(12.0, max(4.5, 0.55 * C + 2.5))
    with _figure(path, (side + 1.0, side)) as fig:
        ax = fig.add_subplot()
        im = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class" if normalize else "count")
        ax.set_xticks(np.arange(C), labels=names, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_yticks(np.arange(C), labels=names)
        ax.set(xlabel="predicted class", ylabel="true class",
               title="Confusion matrix" + (" (row-normalized)" if normalize else ""))
        if C <= 20:
            fontsize = 9 if C <= 10 else 7
            for i, j in np.ndindex(C, C):
                text = f"{values[i, j]:.2f}" if normalize else f"{cm[i, j]:d}"
                color = "white" if values[i, j] > 0.6 * vmax else "black"
                ax.text(j, i, text, ha="center", va="center", color=color, fontsize=fontsize)
    return Path(path)


def decision_regions(predict, X, y, path, *, class_names=None, resolution: int = 300) -> Path:
    """The 2-D plane colored by ``predict``'s class, with the data points on top.

    predict: callable (M, 2) -> (M,) integer (or bool) labels; X (N, 2); y (N,) labels in
    [0, C). C is ``len(class_names)`` if given, else the largest label seen + 1.
    The grid spans the data's bounding box plus 10 % on each side, at
    ``resolution`` × ``resolution`` points.
    """
    X = as_float_array(X, "X", 2)
    if X.shape[1] != 2:
        raise InputError(f"X must be (N, 2) points in the plane, got shape {X.shape}; "
                         "decision regions are drawn for 2-D data only.")
    y = np.asarray(y)
    if y.dtype.kind not in "iub" or y.shape != (X.shape[0],) or (y < 0).any():
        raise InputError(f"y must be ({X.shape[0]},) non-negative integer labels to match X, got "
                         f"shape {y.shape} and dtype {y.dtype}.")
    if not callable(predict):
        raise InputError("predict must be a callable (M, 2) -> (M,) labels, e.g. model.predict.")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-9) + (hi == lo)
    lo, hi = lo - pad, hi + pad
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)     # (M, 2), row-major over y
    Z = np.asarray(predict(grid))
    if Z.shape != (grid.shape[0],) or Z.dtype.kind not in "iub" or (Z < 0).any():
        raise InputError(f"predict returned shape {Z.shape} dtype {Z.dtype} for {grid.shape[0]} points; "
                         "it must return one non-negative integer label per row.")
    y, Z = y.astype(np.int64), Z.astype(np.int64)       # bool labels (binary predict) become 0 / 1
    C = len(class_names) if class_names is not None else int(max(y.max(), Z.max())) + 1
    names = _class_names(class_names, C, "the labels")
    if max(y.max(), Z.max()) >= C:
        raise InputError(f"a label reaches {int(max(y.max(), Z.max()))} but only {C} class names "
                         "were given; pass one name per class.")
    colors = _class_colors(C)
    with _figure(path, (6.0, 5.0)) as fig:
        ax = fig.add_subplot()
        ax.imshow(Z.reshape(resolution, resolution), origin="lower", cmap=ListedColormap(colors),
                  vmin=-0.5, vmax=C - 0.5, alpha=0.3, interpolation="nearest", aspect="auto",
                  extent=(lo[0], hi[0], lo[1], hi[1]))
        for c in range(C):
            pts = X[y == c]
            if pts.shape[0]:
                ax.scatter(pts[:, 0], pts[:, 1], s=22, color=colors[c], edgecolors="black",
                           linewidths=0.5, label=names[c])
        ax.set(title="Decision regions", xlabel="$x_1$", ylabel="$x_2$",
               xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
    return Path(path)


# --------------------------------------------------------------------------- model selection

def knn_curve(ks, fold_accuracies, path) -> Path:
    """Cross-validation accuracy of kNN against k: one dot per fold, mean ± std as a line.

    ks: the k values; fold_accuracies: {k: [accuracy of each fold]} in [0, 1].
    The k with the best mean accuracy is marked.
    """
    ks = [int(k) for k in ks]
    if not ks:
        raise InputError("ks is empty; pass at least one k.")
    missing = [k for k in ks if k not in fold_accuracies]
    if missing:
        raise InputError(f"fold_accuracies has no entry for k = {missing}; pass a list of fold "
                         "accuracies for every k in ks.")
    folds = {k: _accuracies(fold_accuracies[k], f"fold_accuracies[{k}]") for k in ks}
    order = sorted(ks)
    means = np.array([folds[k].mean() for k in order])
    stds = np.array([folds[k].std() for k in order])
    best = int(np.argmax(means))
    with _figure(path, (6.4, 4.0)) as fig:
        ax = fig.add_subplot()
        for k in order:
            ax.scatter(np.full(folds[k].shape, k), folds[k], s=14, color="tab:gray", alpha=0.7)
        ax.errorbar(order, means, yerr=stds, color="tab:blue", marker="o", capsize=3,
                    label="mean ± std over folds")
        ax.plot(order[best], means[best], marker="*", markersize=15, color="tab:red",
                linestyle="none", label=f"best k = {order[best]} ({means[best]:.3f})")
        ax.set(title="Cross-validation accuracy of k-nearest neighbours", xlabel="k",
               ylabel="accuracy")
        ax.legend(loc="best")
        ax.grid(True, alpha=0.3)
    return Path(path)


def search_heatmap(learning_rates, reg_strengths, accuracy, path, *,
                   title: str = "Validation accuracy over the hyperparameter grid") -> Path:
    """Validation accuracy over a learning-rate × regularization grid (the lecture's search plot).

    learning_rates (n_lr,), reg_strengths (n_reg,), accuracy (n_lr, n_reg) in
    [0, 1]; NaN marks a run without a result (e.g. it diverged) and is drawn gray.
    Rows are learning rates, columns regularization strengths, each labelled with
    its value (a log grid shown evenly spaced); the best cell is outlined.
    """
    lrs = as_float_array(learning_rates, "learning_rates", 1)
    regs = as_float_array(reg_strengths, "reg_strengths", 1)
    acc = np.asarray(accuracy, dtype=np.float64)
    if acc.shape != (lrs.shape[0], regs.shape[0]):
        raise InputError(f"accuracy must be (n_lr, n_reg) = ({lrs.shape[0]}, {regs.shape[0]}), got "
                         f"shape {acc.shape}; one row per learning rate, one column per strength.")
    done = acc[~np.isnan(acc)]
    if done.size == 0:
        raise InputError("accuracy holds only NaN; no run of the search finished.")
    if np.isinf(done).any() or done.min() < 0 or done.max() > 1:
        raise InputError("accuracy must be fractions in [0, 1] (NaN for a failed run); "
                         "divide percentages by 100.")
    cmap = colormaps["viridis"].with_extremes(bad="lightgray")
    n_lr, n_reg = acc.shape
    with _figure(path, (min(12.0, 1.0 + 0.8 * n_reg + 2.0), min(10.0, 1.5 + 0.5 * n_lr))) as fig:
        ax = fig.add_subplot()
        im = ax.imshow(np.ma.masked_invalid(acc), origin="lower", cmap=cmap, aspect="auto",
                       interpolation="nearest", vmin=done.min(), vmax=done.max())
        fig.colorbar(im, ax=ax, label="validation accuracy")
        ax.set_xticks(np.arange(n_reg), labels=[format_value(r) for r in regs], rotation=45,
                      ha="right", rotation_mode="anchor")
        ax.set_yticks(np.arange(n_lr), labels=[format_value(r) for r in lrs])
        ax.set(title=title, xlabel="regularization strength λ", ylabel="learning rate")
        if acc.size <= 150:
            mid = (done.min() + done.max()) / 2
            for i, j in np.ndindex(n_lr, n_reg):
                text = "—" if np.isnan(acc[i, j]) else f"{acc[i, j]:.3f}"
                color = "black" if np.isnan(acc[i, j]) or acc[i, j] > mid else "white"
                ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8)
        bi, bj = np.unravel_index(np.nanargmax(acc), acc.shape)
        ax.add_patch(Rectangle((bj - 0.5, bi - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    return Path(path)
