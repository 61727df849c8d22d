"""HOG against scikit-image's ``hog`` on the same grayscale images, plus invariances and errors."""

import numpy as np
import pytest
from skimage import data as skdata
from skimage.color import rgb2gray
from skimage.feature import hog as skimage_hog
from skimage.transform import resize

from linclass.errors import InputError, ParameterError
from linclass.features import HOG, features_from_state, features_to_state, hog_features, to_gray

SETTINGS = [  # cell, orientations, block, block_norm
    (8, 9, 1, "L2-Hys"), (8, 9, 2, "L2-Hys"), (4, 8, 2, "L1"), (6, 6, 3, "L2"),
    (5, 7, 2, "L1-sqrt"), (3, 12, 1, "L2-Hys"), (4, 4, 3, "L1"), (7, 18, 1, "L2"),
]


def reference(gray, cell, orientations, block, block_norm):
    return np.stack([skimage_hog(im, orientations=orientations, pixels_per_cell=(cell, cell),
                                 cells_per_block=(block, block), block_norm=block_norm) for im in gray])


def random_gray(seed, shape, dtype):
    rng = np.random.default_rng(seed)
    g = rng.random(shape)
    g[: shape[0] // 2] = np.round(g[: shape[0] // 2] * 6) / 6  # many exact ties: 0, 45, 90 degree gradients
    return g.astype(dtype)


def photo_gray(n, size):
    """Real-looking grayscale crops of skimage's bundled photographs, in [0, 1] float64."""
    crops = []
    for img in (skdata.astronaut(), skdata.coffee(), skdata.chelsea()):
        g = rgb2gray(img)
        for k in range(n):
            y, x = 37 * k, 53 * k
            crops.append(resize(g[y:y + 4 * size[0], x:x + 4 * size[1]], size, anti_aliasing=True))
    return np.stack(crops)


@pytest.mark.parametrize("cell,orientations,block,block_norm", SETTINGS, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(12, 32, 32), (8, 37, 29)], ids=["32x32", "37x29"])
def test_hog_equals_skimage_on_random_images(cell, orientations, block, block_norm, dtype, shape):
    gray = random_gray(cell * orientations, shape, dtype)
    ours = hog_features(gray, cell=cell, orientations=orientations, block=block, block_norm=block_norm)
    ref = reference(gray, cell, orientations, block, block_norm)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("cell,orientations,block,block_norm", SETTINGS[:5], ids=lambda v: str(v))
def test_hog_equals_skimage_on_photographs(cell, orientations, block, block_norm):
    gray = photo_gray(3, (40, 48))
    ours = hog_features(gray, cell=cell, orientations=orientations, block=block, block_norm=block_norm)
    np.testing.assert_allclose(ours, reference(gray, cell, orientations, block, block_norm), rtol=0, atol=1e-6)


@pytest.mark.parametrize("gray", ["bt709", "bt601"])
def test_transformer_on_rgb_equals_skimage_on_its_grayscale(gray):
    rgb = np.stack([resize(skdata.astronaut()[s:s + 256, s:s + 256], (32, 32), preserve_range=True)
                    .round().astype(np.uint8) for s in (0, 100, 200)])
    est = HOG(cell=8, orientations=9, block=2, block_norm="L2-Hys", gray=gray).fit(rgb)
    ref = reference(to_gray(rgb, gray).astype(np.float64), 8, 9, 2, "L2-Hys")
    np.testing.assert_allclose(est.transform(rgb), ref, rtol=0, atol=1e-6)


def test_grayscale_weights_match_bt601_and_skimage():
    rgb = np.random.default_rng(0).integers(0, 256, (3, 7, 9, 3), dtype=np.uint8)
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    np.testing.assert_allclose(to_gray(rgb, "bt601"), (0.299 * r + 0.587 * g + 0.114 * b) / 255, atol=1e-6)
    np.testing.assert_allclose(to_gray(rgb, "bt709"), rgb2gray(rgb), atol=1e-6)


def test_constant_image_gives_zero_hog():
    X = np.full((2, 32, 32, 3), 137, np.uint8)
    assert np.all(HOG().fit_transform(X) == 0)


@pytest.mark.parametrize("orientations", [9, 8, 6])
def test_rotating_an_edge_by_90_degrees_moves_the_peak_bin(orientations):
    img = np.zeros((1, 32, 32, 3), np.uint8)
    img[:, :, 16:] = 255                                      # vertical edge: gradient along columns, θ = 0
    est = HOG(cell=8, orientations=orientations, block=1, block_norm=None).fit(img)
    hist = est.transform(img).reshape(4, 4, orientations).sum(axis=(0, 1))
    rotated = est.transform(np.rot90(img, axes=(1, 2)).copy()).reshape(4, 4, orientations).sum(axis=(0, 1))
    bin_width = 180 / orientations
    assert hist.argmax() == 0                                 # 0 degrees
    assert rotated.argmax() == int(90 // bin_width)           # the bin holding 90 degrees
    assert hist[int(90 // bin_width)] == 0 and rotated[0] == 0


@pytest.mark.parametrize("hw,expected", [((128, 64), 1152), ((240, 320), 10800)])
def test_lecture_feature_counts(hw, expected):
    """The lecture: 8x8 cells, 9 bins; 128x64 -> 16x8 cells -> 1,152 numbers; 320x240 -> 10,800."""
    X = np.zeros((1, *hw, 3), np.uint8)
    assert HOG(block_norm=None).fit_transform(X).shape == (1, expected)


def test_chunks_and_state_round_trip_give_identical_output():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (23, 24, 20, 3), dtype=np.uint8)
    est = HOG(cell=4, block=2, chunk_size=5).fit(X)
    whole = HOG(cell=4, block=2, chunk_size=100).fit(X).transform(X)
    np.testing.assert_array_equal(est.transform(X), whole)
    config, arrays = features_to_state(est)
    np.testing.assert_array_equal(features_from_state(config, arrays).transform(X), whole)


@pytest.mark.parametrize("shape,dtype,match", [
    ((2, 15, 40, 3), np.uint8, "at least 16x16"),
    ((2, 32, 32), np.uint8, r"\(N, H, W, 3\)"),
    ((2, 32, 32, 4), np.uint8, r"\(N, H, W, 3\)"),
    ((2, 32, 32, 3), np.float32, "uint8"),
    ((0, 32, 32, 3), np.uint8, "empty"),
])
def test_bad_images_raise_input_error(shape, dtype, match):
    with pytest.raises(InputError, match=match):
        HOG(cell=8, block=2).fit(np.zeros(shape, dtype))


def test_transform_rejects_another_image_size_and_bad_settings():
    est = HOG().fit(np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(InputError, match="fitted on images of shape"):
        est.transform(np.zeros((1, 40, 32, 3), np.uint8))
    with pytest.raises(ParameterError, match="block_norm"):
        HOG(block_norm="L3").fit(np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(ParameterError, match="cell"):
        HOG(cell=0).fit(np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(InputError, match="at least 24x24"):
        hog_features(np.zeros((1, 20, 30)), cell=8, block=3)


@pytest.mark.cifar
def test_hog_equals_skimage_on_cifar10_images(cifar_jpg_images):
    X = cifar_jpg_images("test", 300)
    est = HOG(cell=8, orientations=9, block=2, gray="bt709").fit(X)
    ref = reference(to_gray(X, "bt709").astype(np.float64), 8, 9, 2, "L2-Hys")
    np.testing.assert_allclose(est.transform(X), ref, rtol=0, atol=1e-6)
