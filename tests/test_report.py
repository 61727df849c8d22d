"""Plots and the HTML run report: valid images, correct placement, escaping, atomic writes."""

from __future__ import annotations

import base64
import os
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from linclass.errors import InputError, ParameterError
from linclass.report import html, plots

RNG = np.random.default_rng(0)
NAMES3 = ["cat", "car", "frog"]


def _png_pixels(path) -> np.ndarray:
    """Decode a PNG with Pillow (independent of matplotlib) as an (H, W, 3) float array."""
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.verify()
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def _no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------- every plot

def _knn_folds():
    return {k: list(0.3 + 0.01 * RNG.standard_normal(5)) for k in (1, 3, 5, 10)}


PLOTS = {
    "loss_curve": lambda p: plots.loss_curve(5 * np.exp(-np.arange(400) / 60) + RNG.random(400), p),
    "loss_curve_short": lambda p: plots.loss_curve([2.3, 2.1, 1.9], p, smooth_window=1),
    "accuracy_curves": lambda p: plots.accuracy_curves([0.2, 0.3, 0.35], [0.18, 0.28, 0.3], p),
    "accuracy_train_only": lambda p: plots.accuracy_curves([0.2, 0.3, 0.35], None, p),
    "weight_templates_rgb": lambda p: plots.weight_templates(RNG.standard_normal((8 * 8 * 3, 3)),
                                                             (8, 8, 3), NAMES3, p),
    "weight_templates_gray": lambda p: plots.weight_templates(RNG.standard_normal((8 * 8 + 1, 12)),
                                                              (8, 8, 1), [f"c{i}" for i in range(12)], p),
    "confusion_matrix": lambda p: plots.confusion_matrix([[5, 1, 0], [2, 7, 1], [0, 0, 9]], NAMES3, p),
    "confusion_counts": lambda p: plots.confusion_matrix([[5, 1], [2, 7]], ["a", "b"], p, normalize=False),
    "decision_regions": lambda p: plots.decision_regions(
        lambda P: P[:, 0] > 0, RNG.standard_normal((30, 2)), np.arange(30) % 2, p,
        class_names=["left", "right"], resolution=60),
    "knn_curve": lambda p: plots.knn_curve([1, 3, 5, 10], _knn_folds(), p),
    "search_heatmap": lambda p: plots.search_heatmap(
        [1e-7, 5e-7, 1e-6], [2.5e4, 5e4], [[0.30, 0.35], [0.38, np.nan], [0.2, 0.1]], p),
}


@pytest.mark.parametrize("name", list(PLOTS))
def test_plot_writes_a_nonblank_png_into_a_new_directory(tmp_path, name):
    path = tmp_path / "new" / "dir" / f"{name}.png"
    out = PLOTS[name](path)
    assert Path(out) == path and path.stat().st_size > 0
    pixels = _png_pixels(path)
    assert pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert pixels.std() > 0
    assert _no_temp_files(path.parent)


def test_plot_writes_svg_by_suffix_and_rejects_unknown_suffix(tmp_path):
    svg = plots.accuracy_curves([0.1, 0.2], None, tmp_path / "acc.svg")
    assert svg.read_text().lstrip().startswith("<?xml")
    with pytest.raises(ParameterError, match=r"\.png"):
        plots.accuracy_curves([0.1, 0.2], None, tmp_path / "acc.bmpx")


# ----------------------------------------------------------------------------- weight templates

def _templates_loop(W, image_shape):
    """Reference: per-class min-max to 0..255, written one class at a time."""
    H, Wd, ch = image_shape
    D = H * Wd * ch
    out = np.zeros((W.shape[1], H, Wd, ch), dtype=np.uint8)
    for j in range(W.shape[1]):
        w = W[:D, j]
        lo, hi = w.min(), w.max()
        if hi > lo:
            out[j] = np.round(255.0 * (w - lo) / (hi - lo)).reshape(H, Wd, ch)
    return out


@pytest.mark.parametrize("image_shape", [(4, 5, 3), (6, 3, 1), (32, 32, 3)], ids=str)
@pytest.mark.parametrize("bias_row", [False, True], ids=["no-bias", "bias-row"])
def test_template_images_match_a_per_class_minmax_loop(image_shape, bias_row):
    D = int(np.prod(image_shape)) + bias_row
    W = RNG.standard_normal((D, 4)).astype(np.float32)
    W[:, 2] = 0.7                                        # a constant template
    if bias_row:
        W[-1] = 1e6                                      # the bias must not take part in the scaling
    got = plots.template_images(W, image_shape)
    assert got.dtype == np.uint8 and got.shape == (4, *image_shape)
    np.testing.assert_array_equal(got, _templates_loop(W.astype(np.float64), image_shape))


def test_template_images_use_the_row_major_image_layout():
    images = RNG.integers(0, 256, size=(3, 4, 5, 3))
    W = images.reshape(3, -1).T.astype(np.float64)        # as X = images.reshape(N, -1) rows
    got = plots.template_images(W, (4, 5, 3))
    for j in range(3):
        lo, hi = images[j].min(), images[j].max()
        np.testing.assert_array_equal(got[j], np.round(255.0 * (images[j] - lo) / (hi - lo)))


@pytest.mark.parametrize("ch", [1, 3])
@pytest.mark.parametrize("bright", [0, 2, 3])
def test_weight_templates_show_each_class_in_its_own_panel(tmp_path, ch, bright):
    C, H = 4, 8
    D = H * H * ch
    W = np.zeros((D, C))
    W[0, :] = 1.0                                        # every other class: black but one pixel
    W[:, bright] = 1.0                                   # class `bright`: white (red if RGB) but one pixel
    W[0, bright] = 0.0
    if ch == 3:
        W[1::3, bright] = 0.0                            # no green
        W[2::3, bright] = 0.0                            # no blue
    path = plots.weight_templates(W, (H, H, ch), list("abcd"), tmp_path / "t.png")
    pixels = _png_pixels(path)
    strips = np.array_split(pixels, C, axis=1)           # one panel per strip, left to right
    score = [s[..., 0].mean() - (s[..., 1].mean() if ch == 3 else 0.0) for s in strips]
    assert int(np.argmax(score)) == bright


def test_weight_templates_reject_weights_that_are_not_images():
    with pytest.raises(InputError, match=r"D=100 .*H\*W\*ch = 3072"):
        plots.template_images(np.zeros((100, 10)), (32, 32, 3))
    with pytest.raises(InputError, match="ch 1"):
        plots.template_images(np.zeros((32, 10)), (4, 4, 2))


def test_weight_templates_need_one_name_per_class(tmp_path):
    with pytest.raises(InputError, match="one name per class"):
        plots.weight_templates(np.ones((12, 3)), (2, 2, 3), ["a", "b"], tmp_path / "t.png")


# ----------------------------------------------------------------------------- confusion matrix

@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_confusion_normalization_matches_sklearn(n_classes):
    y_true = RNG.integers(0, n_classes, 300)
    y_true[y_true == n_classes - 1] = 0                  # one class without examples: an all-zero row
    y_pred = np.where(RNG.random(300) < 0.5, y_true, RNG.integers(0, n_classes, 300))
    labels = np.arange(n_classes)
    counts = sk_confusion_matrix(y_true, y_pred, labels=labels)
    with np.errstate(all="ignore"):
        expected = sk_confusion_matrix(y_true, y_pred, labels=labels, normalize="true")
    np.testing.assert_allclose(plots.normalize_confusion(counts), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cm, match", [
    (np.zeros((2, 3), dtype=int), "square"),
    ([[1, -1], [0, 2]], "negative"),
    ([[0.5, 1], [0, 2]], "integer counts"),
])
def test_confusion_matrix_rejects_bad_input(tmp_path, cm, match):
    with pytest.raises(InputError, match=match):
        plots.confusion_matrix(cm, ["a", "b"], tmp_path / "cm.png")


# ----------------------------------------------------------------------------- curves and grids

@pytest.mark.parametrize("window", [1, 3, 10])
def test_moving_average_matches_a_loop(window):
    x = RNG.standard_normal(37)
    expected = [sum(x[t:t + window]) / window for t in range(len(x) - window + 1)]
    np.testing.assert_allclose(plots.moving_average(x, window), expected, rtol=1e-12, atol=1e-12)


def test_decision_regions_ask_predict_about_a_grid_covering_the_data(tmp_path):
    X = RNG.uniform(-3, 5, size=(25, 2))
    seen = []

    def predict(P):
        seen.append(P.copy())
        return (P[:, 1] > 1).astype(np.int64)

    plots.decision_regions(predict, X, (X[:, 1] > 1).astype(int), tmp_path / "r.png", resolution=40)
    grid = np.concatenate(seen)
    assert grid.shape == (40 * 40, 2)
    assert (grid.min(axis=0) < X.min(axis=0)).all() and (grid.max(axis=0) > X.max(axis=0)).all()


BAD_INPUTS = {
    "accuracy over 1": (lambda p: plots.accuracy_curves([20.0, 30.0], None, p), InputError, r"\[0, 1\]"),
    "val length": (lambda p: plots.accuracy_curves([0.1, 0.2], [0.1], p), InputError, "epoch"),
    "loss NaN": (lambda p: plots.loss_curve([1.0, np.nan], p), InputError, "NaN"),
    "window too big": (lambda p: plots.loss_curve([1.0, 2.0], p, smooth_window=5), ParameterError, "window"),
    "X not 2-D points": (lambda p: plots.decision_regions(lambda P: P[:, 0] > 0, np.zeros((4, 3)),
                                                          np.zeros(4, int), p), InputError, r"\(N, 2\)"),
    "predict floats": (lambda p: plots.decision_regions(lambda P: P[:, 0], np.eye(2), np.array([0, 1]), p),
                       InputError, "integer label"),
    "label beyond names": (lambda p: plots.decision_regions(lambda P: np.zeros(len(P), int), np.eye(2),
                                                            np.array([0, 2]), p, class_names=["a", "b"]),
                           InputError, "class names"),
    "knn missing k": (lambda p: plots.knn_curve([1, 3], {1: [0.2]}, p), InputError, r"k = \[3\]"),
    "heatmap shape": (lambda p: plots.search_heatmap([1e-7, 1e-6], [1e4], np.zeros((1, 2)), p),
                      InputError, r"\(2, 1\)"),
    "heatmap all NaN": (lambda p: plots.search_heatmap([1e-7], [1e4], [[np.nan]], p), InputError, "NaN"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_plots_reject_bad_input_with_a_clear_error(tmp_path, name):
    call, error, match = BAD_INPUTS[name]
    with pytest.raises(error, match=match):
        call(tmp_path / "x.png")
    assert not list(tmp_path.iterdir())                  # nothing written, not even a temp file


# ----------------------------------------------------------------------------- HTML report

class _CheckingParser(HTMLParser):
    """Collects text, img sources and every tag, and checks that elements nest properly."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.srcs, self.text, self.errors = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _CheckingParser:
    parser = _CheckingParser()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == [], (parser.errors, parser.stack)
    return parser


EVIL = "<script>alert('x')</script> & \"quotes\""


def _write_demo_report(tmp_path, **kwargs):
    for name in ("loss.png", "my plot.png"):
        plots.accuracy_curves([0.1, 0.2], None, tmp_path / name)
    return html.write_report(
        tmp_path / "report.html", title=f"run {EVIL}",
        settings={"learning_rate": 1e-7, EVIL: EVIL, "epochs": 10},
        metrics={"val_acc": np.float32(0.3876), "loss": 2.302585},
        images=[(f"loss {EVIL}", "loss.png"), ("accuracy", "my plot.png")],
        tables=[(f"per class {EVIL}", ["class", EVIL], [["cat", 0.5], [EVIL, 0.25]])], **kwargs)


def test_report_escapes_everything_and_parses_cleanly(tmp_path):
    path = _write_demo_report(tmp_path)
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    parser = _parse(page)
    text = "".join(parser.text)
    assert text.count(EVIL) >= 5                         # title, h1, setting key & value, caption...
    assert "script" not in parser.tags and "link" not in parser.tags
    assert "http://" not in page and "https://" not in page
    assert "1e-07" in text and "0.3876" in text and "2.303" in text


def test_report_references_every_image_relative_to_its_directory(tmp_path):
    path = _write_demo_report(tmp_path)
    srcs = _parse(path.read_text(encoding="utf-8")).srcs
    assert [unquote(s) for s in srcs] == ["loss.png", "my plot.png"]
    assert all((path.parent / unquote(s)).is_file() for s in srcs)
    assert all(" " not in s for s in srcs)


def test_report_embeds_images_as_data_uris(tmp_path):
    path = _write_demo_report(tmp_path, embed=True)
    srcs = _parse(path.read_text(encoding="utf-8")).srcs
    for src, name in zip(srcs, ["loss.png", "my plot.png"]):
        head, data = src.split(",", 1)
        assert head == "data:image/png;base64"
        assert base64.b64decode(data) == (tmp_path / name).read_bytes()


def test_report_makes_an_absolute_image_path_inside_its_directory_relative(tmp_path):
    plots.accuracy_curves([0.1, 0.2], None, tmp_path / "plots" / "acc.png")
    path = html.write_report(tmp_path / "report.html", title="t", settings={}, metrics={},
                             images=[("acc", tmp_path / "plots" / "acc.png")])
    assert _parse(path.read_text()).srcs == ["plots/acc.png"]


@pytest.mark.parametrize("kwargs, match", [
    ({"images": [("gone", "missing.png")], "embed": True}, "write the plots"),
    ({"images": [("out", "/elsewhere/x.png")]}, "outside the report"),
    ({"tables": [("t", ["a", "b"], [[1, 2], [3]])]}, "row 1 has 1 cell"),
    ({"settings": [("lr", 1)]}, "dict"),
])
def test_report_rejects_bad_input_and_writes_nothing(tmp_path, kwargs, match):
    args = {"title": "t", "settings": {}, "metrics": {}} | kwargs
    with pytest.raises(InputError, match=match):
        html.write_report(tmp_path / "report.html", **args)
    assert not list(tmp_path.iterdir())


def test_report_write_is_atomic_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = html.write_report(tmp_path / "report.html", title="first", settings={}, metrics={})
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        html.write_report(path, title="second", settings={}, metrics={})
    assert path.read_bytes() == before                   # the old page is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.parametrize("value, text", [
    (0.38761, "0.3876"), (2.302585, "2.303"), (1e-7, "1e-07"), (25000.0, "2.5e+04"),
    (123456.0, "1.23e+05"), (0.0, "0"), (50000, "50000"), (np.int64(7), "7"),
    (np.float32(0.5), "0.5"), (True, "true"), (None, "\u2014"), (float("nan"), "nan"),
    ([1e-3, 2], "[0.001, 2]"), ({"a": 1.5}, "a=1.5"), ("svm", "svm"),
])
def test_values_are_formatted_readably(value, text):
    assert html.format_value(value) == text


def test_metrics_carry_a_label_and_an_explanation(tmp_path):
    path = html.write_report(tmp_path / "report.html", title="t", settings={},
                             metrics={"grad_norm": 1e-6, "distance_bound": 0.002, "kept": "best", "custom": 3})
    page = path.read_text()
    text = " ".join(_parse(page).text)
    assert "Gradient norm ‖∇L‖" in text and "grad_norm" not in text
    assert text.count("optimality certificate") == 2  # the gradient norm and the distance bound
    assert "Weights kept" in text and "--keep best|last" in text
    assert "custom" in text  # an unknown key is shown as is


def test_accuracy_plot_marks_the_kept_epoch(tmp_path):
    plain = plots.accuracy_curves([0.5, 0.7, 0.6], [0.4, 0.6, 0.5], tmp_path / "a.png")
    marked = plots.accuracy_curves([0.5, 0.7, 0.6], [0.4, 0.6, 0.5], tmp_path / "b.png", kept_epoch=2, kept="best")
    assert plain.read_bytes() != marked.read_bytes()
    with pytest.raises(InputError, match="kept_epoch"):
        plots.accuracy_curves([0.5, 0.7], None, tmp_path / "c.png", kept_epoch=3)
