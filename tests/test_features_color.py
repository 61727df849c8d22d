"""Color histogram against an exact fractions.Fraction reference and matplotlib; composition, state, cache, flips."""

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv as mpl_rgb_to_hsv
from sklearn.pipeline import FeatureUnion, Pipeline

from linclass.errors import InputError, ModelFileError, ParameterError
from linclass.features import (
    HOG,
    BagOfVisualWords,
    ColorHistogram,
    RawPixels,
    augment_flip,
    cached_features,
    features_from_state,
    features_to_state,
    make_features,
)


def rgb_images(n=12, h=9, w=11, seed=0):
    X = np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    X[: n // 3] = X[: n // 3] // 51 * 51          # coarse colors: ties between channels, hues on bin edges
    X[n // 3] = 128                                # gray: hue 0, saturation 0
    return X


def exact_bins(color, bins):
    """``(hue bin or None, saturation bin, value bin)`` of one RGB color, in exact rationals (textbook HSV)."""
    r, g, b = (int(c) for c in color)
    top, chroma = max(r, g, b), max(r, g, b) - min(r, g, b)
    if chroma == 0:
        hue = None                                     # grey: no hue
    elif top == r:
        hue = (Fraction(g - b, chroma) % 6) / 6
    elif top == g:
        hue = (Fraction(b - r, chroma) + 2) / 6
    else:
        hue = (Fraction(r - g, chroma) + 4) / 6

    def bin_of(x):
        return min(math.floor(x * bins), bins - 1)

    saturation = Fraction(chroma, top) if top else Fraction(0)
    return (None if hue is None else bin_of(hue)), bin_of(saturation), bin_of(Fraction(top, 255))


def exact_histogram(X, bins, channel):
    """The color histogram from :func:`exact_bins`, one distinct color at a time (slow, exact)."""
    cols = {"hue": [0], "saturation": [1], "value": [2], "hs": [0, 1], "hsv": [0, 1, 2]}[channel]
    packed = (X[..., 0].astype(np.int64) << 16) | (X[..., 1].astype(np.int64) << 8) | X[..., 2]
    colors, inverse = np.unique(packed, return_inverse=True)
    index = np.full(colors.size, -1)
    for k, c in enumerate(colors.tolist()):
        b = exact_bins((c >> 16, (c >> 8) & 255, c & 255), bins)
        if b[0] is None and cols == [0]:
            continue                                   # no hue: left out of the hue histogram
        b = (0 if b[0] is None else b[0], b[1], b[2])
        index[k] = sum(b[j] * bins ** (len(cols) - 1 - n) for n, j in enumerate(cols))
    per_pixel = index[inverse.reshape(len(X), -1)]
    out = np.zeros((len(X), bins ** len(cols)))
    for i, row in enumerate(per_pixel):
        out[i] = np.bincount(row[row >= 0], minlength=bins ** len(cols)) / row.size
    return out


def edge_images(n=12, h=9, w=11, seed=0):
    """Random images, a third of them on a coarse grid of values (ties, hues on bin edges), and grey ones."""
    X = rgb_images(n, h, w, seed)
    X[n // 3 + 1] = np.random.default_rng(seed).choice([0, 17, 51, 85, 102, 153, 170, 204, 255], (h, w, 3))
    return X


@pytest.mark.parametrize("bins", [1, 4, 6, 10, 12, 13])
@pytest.mark.parametrize("channel", ["hue", "saturation", "value", "hs", "hsv"])
def test_histogram_equals_the_exact_reference(bins, channel):
    X = edge_images()
    ours = ColorHistogram(bins=bins, channel=channel).fit_transform(X)
    np.testing.assert_array_equal(ours, exact_histogram(X, bins, channel).astype(np.float32))


def test_hues_on_a_bin_edge_land_in_the_upper_bin():
    """(255, 153, 0) has hue exactly 1/10; float division puts it in bin 0 (0.6/6 = 0.0999…)."""
    X = np.array([255, 153, 0], np.uint8).reshape(1, 1, 1, 3)
    assert exact_bins((255, 153, 0), 10)[0] == 1
    np.testing.assert_array_equal(ColorHistogram(bins=10).fit_transform(X)[0], np.eye(10)[1])


def test_grey_pixels_have_no_hue():
    grey = np.full((1, 4, 4, 3), 128, np.uint8)
    assert not ColorHistogram(bins=12).fit_transform(grey).any()
    half = grey.copy()
    half[0, :2] = [0, 0, 255]                          # half blue: hue 2/3
    hist = ColorHistogram(bins=12).fit_transform(half)[0]
    assert hist[8] == 0.5 and hist.sum() == 0.5


def test_bins_agree_with_matplotlib_away_from_edges():
    """An independent float HSV (matplotlib) gives the same bins wherever a value is not on a bin edge."""
    X = edge_images()
    hsv = mpl_rgb_to_hsv(X / 255.0)
    for bins in (4, 10, 13):
        scaled = hsv * bins
        clear = (np.abs(scaled - np.round(scaled)) > 1e-9).all(axis=-1) & (X.max(-1) != X.min(-1))
        ref = np.minimum(np.floor(scaled), bins - 1).astype(int)
        for c, channel in enumerate(("hue", "saturation", "value")):
            for i in range(len(X)):
                column = X[i][clear[i]][None, :, None]     # the clear pixels as a one-column image
                if column.size:
                    counts = np.bincount(ref[i][clear[i]][:, c], minlength=bins) / column.shape[1]
                    got = ColorHistogram(bins=bins, channel=channel).fit_transform(column)[0]
                    np.testing.assert_allclose(got, counts, rtol=1e-6)


def test_pure_colors_land_in_their_hue_bins():
    colors = np.array([[255, 0, 0], [255, 255, 0], [0, 255, 0], [0, 255, 255], [0, 0, 255], [255, 0, 255]])
    X = np.broadcast_to(colors[:, None, None, :], (6, 2, 2, 3)).astype(np.uint8)
    hist = ColorHistogram(bins=6).fit_transform(X)
    np.testing.assert_array_equal(hist, np.eye(6, dtype=np.float32))     # hues 0, 1/6, ..., 5/6


@pytest.mark.slow
@pytest.mark.cifar
def test_hue_histogram_is_exact_on_all_of_cifar10(cifar_jpg_images):
    X = cifar_jpg_images()
    assert X.shape == (60000, 32, 32, 3)
    np.testing.assert_array_equal(ColorHistogram(bins=10).fit_transform(X),
                                  exact_histogram(X, 10, "hue").astype(np.float32))


def test_chunking_does_not_change_the_output():
    X = rgb_images(n=17)
    np.testing.assert_array_equal(ColorHistogram(chunk_size=3).fit_transform(X),
                                  ColorHistogram(chunk_size=100).fit_transform(X))


def test_bad_input_and_settings():
    with pytest.raises(InputError, match="uint8"):
        ColorHistogram().fit(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(ParameterError, match="channel"):
        ColorHistogram(channel="hue+sat").fit(rgb_images())
    with pytest.raises(ParameterError, match="bins"):
        ColorHistogram(bins=0).fit(rgb_images())


# --- composition -------------------------------------------------------------------
@pytest.mark.parametrize("spec,options,cls", [
    ("raw", {}, RawPixels), ("hist", {"bins": 7}, ColorHistogram), ("hog", {"cell": 4}, HOG),
    ("hog+hist", {"cell": 4, "bins": 5}, FeatureUnion),
    ("bovw", {"n_words": 6, "patch": 3, "n_patches": 500, "n_jobs": None}, BagOfVisualWords),
])
def test_make_features_fits_and_state_round_trip_through_json(spec, options, cls):
    X = rgb_images(n=10, h=16, w=16)
    ext = make_features(spec, **options)
    assert isinstance(ext, cls)
    F = ext.fit_transform(X)
    assert F.dtype == np.float32 and F.shape[0] == 10
    config, arrays = features_to_state(ext)
    back = features_from_state(json.loads(json.dumps(config)), {k: v.copy() for k, v in arrays.items()})
    np.testing.assert_array_equal(back.transform(X), F)


def test_hog_plus_hist_concatenates_both():
    X = rgb_images(n=5, h=16, w=16)
    F = make_features("hog+hist", cell=8, bins=10).fit_transform(X)
    ref = np.hstack([HOG(cell=8, block=2).fit_transform(X), ColorHistogram(bins=10).fit_transform(X)])
    np.testing.assert_array_equal(F, ref)


def test_raw_pixels():
    X = rgb_images(n=6)
    np.testing.assert_array_equal(RawPixels().fit_transform(X), X.reshape(6, -1).astype(np.float32))


def test_make_features_rejects_unknown_spec_and_options():
    with pytest.raises(ParameterError, match="unknown features"):
        make_features("sift")
    with pytest.raises(ParameterError, match="n_words"):
        make_features("hog", n_words=10)


def test_state_of_foreign_steps_and_malformed_state_are_rejected():
    from sklearn.preprocessing import StandardScaler
    with pytest.raises(ParameterError, match="cannot save"):
        features_to_state(Pipeline([("s", StandardScaler())]))
    with pytest.raises(ModelFileError):
        features_from_state({"kind": "transformer", "path": "f", "config": {"type": "os.system"}}, {})
    with pytest.raises(ModelFileError):
        features_from_state({"kind": "transformer", "path": "f",
                             "config": {"type": "HOG", "params": {"cell": -1}}}, {})


def test_augment_flip_appends_mirrored_images():
    X = rgb_images(n=4)
    y = np.arange(4)
    X2, y2 = augment_flip(X, y)
    np.testing.assert_array_equal(X2[:4], X)
    for i in range(4):
        np.testing.assert_array_equal(X2[4 + i], np.fliplr(X[i]))
    np.testing.assert_array_equal(y2, np.r_[y, y])
    with pytest.raises(InputError, match="labels"):
        augment_flip(X, y[:3])


def test_feature_cache_reuses_results_for_same_data_and_settings(tmp_path):
    X = rgb_images(n=8, h=16, w=16)
    ext, F, others = cached_features(make_features("hog", cell=4), X[:6], {"test": X[6:]}, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    ext2, F2, others2 = cached_features(make_features("hog", cell=4), X[:6], {"test": X[6:]}, cache_dir=tmp_path)
    np.testing.assert_array_equal(F2, HOG(cell=4, block=2).fit_transform(X[:6]))
    np.testing.assert_array_equal(others2["test"], HOG(cell=4, block=2).fit_transform(X[6:]))
    assert isinstance(ext2, HOG) and list(tmp_path.iterdir()) == files
    cached_features(make_features("hog", cell=8), X[:6], {"test": X[6:]}, cache_dir=tmp_path)
    cached_features(make_features("hog", cell=4), X[1:7], {"test": X[6:]}, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 3              # other settings or data: new entries
