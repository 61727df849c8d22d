"""Bag of visual words against loop references: patches, whitening, encodings, quadrant pooling."""

import numpy as np
import pytest

from linclass.errors import InputError, ModelFileError, ParameterError
from linclass.features import BagOfVisualWords, features_from_state, features_to_state
from linclass.features.bovw import (
    normalize_patches,
    quadrant_of_positions,
    soft_threshold_encode,
    triangle_encode,
    zca_matrix,
)


def images(n, h, w, seed=0):
    """Smooth, image-like uint8 pictures (blobs and stripes plus noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        f = rng.uniform(0.1, 0.6, 3)
        base = 127 + 90 * np.sin(f[0] * yy + f[1] * xx)[..., None] * rng.uniform(-1, 1, 3)
        out[i] = np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)
    return out


def fitted(X, **kw):
    params = dict(n_words=12, patch=4, n_patches=3000, kmeans_iter=3, seed=0)
    params.update(kw)
    return BagOfVisualWords(**params).fit(X)


# --- loop references -------------------------------------------------------------
def loop_normalize(patch):
    p = patch.astype(np.float64).ravel()
    return (p - p.mean()) / np.sqrt(p.var(ddof=1) + 10.0)


def loop_codes(x, codebook, encoding, alpha):
    if encoding == "triangle":
        z = np.array([np.linalg.norm(x - c) for c in codebook])
        return np.array([max(0.0, z.mean() - zk) for zk in z])
    return np.array([max(0.0, c @ x / np.linalg.norm(c) - alpha) for c in codebook])


def loop_features(est, img):
    """Every patch position encoded by loops, then summed over the four quadrants by slicing."""
    p, s = est.patch, est.stride
    H, W, _ = img.shape
    rows, cols = range(0, H - p + 1, s), range(0, W - p + 1, s)
    maps = np.zeros((len(rows), len(cols), est.n_words))
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            x = loop_normalize(img[r:r + p, c:c + p])
            if est.whiten:
                x = (x - est.mean_) @ est.whitening_
            maps[i, j] = loop_codes(x, est.codebook_.astype(np.float64), est.encoding, est.alpha)
    if est.pooling == "sum":
        return maps.sum(axis=(0, 1))
    hr, hc = -(-maps.shape[0] // 2), -(-maps.shape[1] // 2)   # middle row/column to the first half
    quads = [maps[:hr, :hc], maps[:hr, hc:], maps[hr:, :hc], maps[hr:, hc:]]  # up to the LAST row / column
    return np.concatenate([q.sum(axis=(0, 1)) for q in quads])


# --- the pieces ------------------------------------------------------------------
def test_patch_normalization_matches_loop_formula():
    patches = np.random.default_rng(0).integers(0, 256, (50, 4, 4, 3))
    ours = normalize_patches(patches.reshape(50, -1))
    ref = np.stack([loop_normalize(p) for p in patches])
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("encoding", ["triangle", "soft"])
def test_encodings_match_direct_loop_formula(encoding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 12)).astype(np.float32)
    codebook = rng.standard_normal((7, 12)).astype(np.float32)
    if encoding == "triangle":
        ours = triangle_encode(x, codebook)
    else:
        ours = soft_threshold_encode(x, codebook / np.linalg.norm(codebook, axis=1, keepdims=True), 0.25)
    ref = np.stack([loop_codes(xi.astype(np.float64), codebook.astype(np.float64), encoding, 0.25) for xi in x])
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)
    assert (ours >= 0).all() and (ours == 0).any()


def test_zca_whitening_makes_covariance_identity_up_to_regularization():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((12, 12))
    x = normalize_patches(rng.standard_normal((20000, 12)) @ A * 30 + 100)   # correlated, then normalized
    for eps in (1e-6, 0.1):
        mu, P = zca_matrix(x, eps)
        cov_w = np.cov((x - mu).astype(np.float64) @ P, rowvar=False)
        lam, V = np.linalg.eigh(np.cov(x.astype(np.float64), rowvar=False))
        expected = (V * (lam / (lam + eps))) @ V.T            # regularized: λ / (λ + ε) on each axis
        np.testing.assert_allclose(cov_w, expected, atol=1e-3)
    # nearly unregularized: identity except the patch-mean direction that normalization removed
    u = np.ones((12, 1)) / np.sqrt(12)
    mu, P = zca_matrix(x, 1e-6)
    np.testing.assert_allclose(np.cov((x - mu).astype(np.float64) @ P, rowvar=False), np.eye(12) - u @ u.T,
                               atol=1e-3)


@pytest.mark.parametrize("shape", [(5, 5), (4, 7), (1, 1), (8, 9)])
def test_quadrants_cover_every_row_and_column(shape):
    q = quadrant_of_positions(*shape)
    hr, hc = -(-shape[0] // 2), -(-shape[1] // 2)
    ref = np.zeros(shape, int)
    for r in range(shape[0]):
        for c in range(shape[1]):
            ref[r, c] = 2 * (r >= hr) + (c >= hc)
    np.testing.assert_array_equal(q, ref)
    assert q[-1, -1] == (3 if min(shape) > 1 else q[-1, -1])


# --- the transformer ---------------------------------------------------------------
@pytest.mark.parametrize("hw,patch,stride,encoding,pooling", [
    ((11, 12), 4, 1, "triangle", "quadrants"),   # 8 x 9 map: odd columns
    ((13, 13), 3, 2, "triangle", "quadrants"),   # 6 x 6 map with stride 2
    ((12, 10), 4, 1, "soft", "quadrants"),       # 9 x 7 map: odd both ways
    ((10, 11), 5, 1, "triangle", "sum"),
])
def test_transform_matches_loop_reference_including_last_row_and_column(hw, patch, stride, encoding, pooling):
    X = images(30, *hw)
    est = fitted(X, patch=patch, stride=stride, encoding=encoding, pooling=pooling, n_patches=2000)
    ours = est.transform(X[:3])
    ref = np.stack([loop_features(est, img) for img in X[:3]])
    np.testing.assert_allclose(ours, ref, rtol=2e-4, atol=2e-3)


def test_last_row_and_column_reach_the_bottom_right_quadrant():
    X = images(20, 11, 12)
    est = fitted(X, whiten=False)
    flat = np.full((1, 11, 12, 3), 100, np.uint8)
    corner = flat.copy()
    corner[0, -4:, -4:] = np.random.default_rng(3).integers(0, 256, (4, 4, 3))  # only the last patch changes
    a, b = est.transform(flat).reshape(4, -1), est.transform(corner).reshape(4, -1)
    np.testing.assert_array_equal(a[:3], b[:3])
    assert not np.array_equal(a[3], b[3])


def test_same_seed_same_codebook_and_another_seed_another():
    X = images(20, 16, 16)
    a, b, c = fitted(X, seed=5), fitted(X, seed=5), fitted(X, seed=6)
    np.testing.assert_array_equal(a.codebook_, b.codebook_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not np.array_equal(a.codebook_, c.codebook_)


@pytest.mark.parametrize("kmeans", ["minibatch", "lloyd"])
def test_codebook_words_are_cluster_means(kmeans):
    X = images(20, 16, 16)
    est = fitted(X, kmeans=kmeans, kmeans_iter=20)
    x = (est.sample_patches(X) - est.mean_) @ est.whitening_
    nearest = ((x[:, None, :] - est.codebook_[None]) ** 2).sum(-1).argmin(1)
    used = np.unique(nearest)
    means = np.stack([x[nearest == k].mean(0) for k in used])
    # k-means words sit near the mean of the patches they win (exactly so at convergence)
    assert np.median(np.linalg.norm(means - est.codebook_[used], axis=1)) < 0.5 * np.linalg.norm(x, axis=1).mean()


def test_chunks_threads_and_state_round_trip_give_identical_output():
    X = images(25, 14, 15)
    est = fitted(X, chunk_size=4)
    whole = fitted(X, chunk_size=100).transform(X)
    np.testing.assert_array_equal(est.transform(X), whole)
    est.n_jobs = 2
    np.testing.assert_array_equal(est.transform(X), whole)
    config, arrays = features_to_state(est)
    back = features_from_state(config, arrays)
    np.testing.assert_array_equal(back.transform(X), whole)
    assert back.transform(X).dtype == np.float32 and whole.shape == (25, 4 * 12)


def test_state_with_wrong_array_shapes_is_rejected():
    X = images(10, 12, 12)
    config, arrays = features_to_state(fitted(X))
    arrays["f.codebook_"] = arrays["f.codebook_"][:5]
    with pytest.raises(ModelFileError, match="codebook_"):
        features_from_state(config, arrays)
    del arrays["f.codebook_"]
    with pytest.raises(ModelFileError, match="lacks"):
        features_from_state(config, arrays)


@pytest.mark.parametrize("X,match", [
    (np.zeros((3, 5, 8, 3), np.uint8), "at least 6x6"),
    (np.zeros((3, 8, 8, 3), np.float64), "uint8"),
    (np.zeros((8, 8, 3), np.uint8), r"\(N, H, W, 3\)"),
])
def test_bad_images_raise_input_error(X, match):
    with pytest.raises(InputError, match=match):
        BagOfVisualWords(patch=6).fit(X)


def test_bad_settings_raise_parameter_error():
    X = images(5, 10, 10)
    with pytest.raises(ParameterError, match="n_words"):
        BagOfVisualWords(n_words=500, n_patches=100, patch=4).fit(X)
    with pytest.raises(ParameterError, match="encoding"):
        BagOfVisualWords(encoding="hard").fit(X)
    with pytest.raises(ParameterError, match="zca_eps"):
        BagOfVisualWords(zca_eps=0).fit(X)
