"""Color histogram against matplotlib/scikit-image HSV + np.histogram; composition, state, cache, flips."""

import json

import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv as mpl_rgb_to_hsv
from skimage.color import rgb2hsv
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
from linclass.features.color import rgb_to_hsv


def rgb_images(n=12, h=9, w=11, seed=0):
    X = np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    X[: n // 3] = X[: n // 3] // 51 * 51          # coarse colors: ties between channels, hues on bin edges
    X[n // 3] = 128                                # gray: hue 0, saturation 0
    return X


def test_hsv_equals_matplotlib_and_skimage():
    X = rgb_images()
    np.testing.assert_array_equal(rgb_to_hsv(X), mpl_rgb_to_hsv(X / 255.0))
    np.testing.assert_allclose(rgb_to_hsv(X), rgb2hsv(X), atol=1e-12)


@pytest.mark.parametrize("bins", [1, 4, 10, 13])
@pytest.mark.parametrize("channel,index", [("hue", 0), ("saturation", 1), ("value", 2)])
def test_histogram_equals_np_histogram_per_image(bins, channel, index):
    X = rgb_images()
    ours = ColorHistogram(bins=bins, channel=channel).fit_transform(X)
    hsv = mpl_rgb_to_hsv(X / 255.0)
    ref = np.stack([np.histogram(h[..., index], bins=bins, range=(0, 1))[0] / h[..., 0].size for h in hsv])
    np.testing.assert_array_equal(ours, ref.astype(np.float32))
    np.testing.assert_allclose(ours.sum(axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("channel,cols", [("hs", [0, 1]), ("hsv", [0, 1, 2])])
def test_joint_histogram_equals_np_histogramdd(channel, cols):
    X = rgb_images()
    ours = ColorHistogram(bins=4, channel=channel).fit_transform(X)
    hsv = mpl_rgb_to_hsv(X / 255.0)
    ref = np.stack([np.histogramdd(h.reshape(-1, 3)[:, cols], bins=4, range=[(0, 1)] * len(cols))[0].ravel()
                    / h[..., 0].size for h in hsv])
    np.testing.assert_allclose(ours, ref, atol=1e-7)


def test_pure_colors_land_in_their_hue_bins():
    colors = np.array([[255, 0, 0], [255, 255, 0], [0, 255, 0], [0, 255, 255], [0, 0, 255], [255, 0, 255]])
    X = np.broadcast_to(colors[:, None, None, :], (6, 2, 2, 3)).astype(np.uint8)
    hist = ColorHistogram(bins=6).fit_transform(X)
    np.testing.assert_array_equal(hist, np.eye(6, dtype=np.float32))     # hues 0, 1/6, ..., 5/6


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
