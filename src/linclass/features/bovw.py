"""Bag of visual words: a k-means codebook of whitened image patches, encoded and pooled.

Coates, A., Lee, H. & Ng, A. Y. (2011). *An Analysis of Single-Layer Networks
in Unsupervised Feature Learning.* AISTATS 2011, pp. 215-223. The soft-threshold
encoding is from Coates, A. & Ng, A. Y. (2011). *The Importance of Encoding
Versus Training with Sparse Coding and Vector Quantization.* ICML 2011. The
lecture's "Bag of Words": cluster patches into a codebook of visual words
(step 1), then encode images by them (step 2).

Conventions: N images of H x W pixels; patches of ``p x p x 3`` pixels, so
``D = 3p²`` numbers each (flattened in (row, column, channel) order); ``K``
words; a patch every ``stride`` pixels gives an ``Lr x Lc`` map of positions,
``Lr = (H - p) // stride + 1``.

fit (step 1):
1. ``n_patches`` random patches from random training images (seeded);
2. each patch ``x`` (D,) brightness/contrast normalized:
   ``x ← (x - mean(x)) / sqrt(var(x) + 10)`` (pixels in 0..255, unbiased var);
3. ZCA whitening: with the patches' mean ``μ`` and covariance ``Σ = V Λ Vᵀ``,
   ``P = V (Λ + ε I)^(-1/2) Vᵀ`` (ε = ``zca_eps``) and ``x_w = (x - μ) P``;
4. k-means on the whitened patches: the codebook ``c_1..c_K`` (D,).

transform (step 2), for every patch position of every image:
- triangle encoding ``f_k = max(0, mean_j(z_j) - z_k)`` with ``z_k = ‖x_w - c_k‖``;
- soft threshold ``f_k = max(0, c_kᵀ x_w / ‖c_k‖ - α)``;
then sum pooling over the four quadrants of the position map (rows
``[0, ⌈Lr/2⌉)`` and ``[⌈Lr/2⌉, Lr)``, the same for columns; odd maps give the
middle row and column to the first half, as Coates et al.'s code does) →
``4K`` features per image, quadrant-major (top-left, top-right, bottom-left,
bottom-right). Distances come from one float32 matrix product
``‖x‖² - 2 x·c + ‖c‖²``, and a block of a few hundred patch positions is encoded
and pooled at a time: the full encoded maps (N x Lr x Lc x K) never exist.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from .. import _checks
from ..errors import ModelFileError, ParameterError
from ._common import ImageTransformer

ENCODINGS = ("triangle", "soft")
POOLINGS = ("quadrants", "sum")
KMEANS = ("minibatch", "lloyd")
NORM_EPS = 10.0
_BLOCK_ROWS = 256  # patch positions encoded at once: a 256 x K float32 block stays in the CPU cache


def normalize_patches(patches: np.ndarray) -> np.ndarray:
    """Per-patch brightness/contrast normalization ``(x - mean(x)) / sqrt(var(x) + 10)``, (n, D) float32."""
    x = patches.astype(np.float32)
    x -= x.mean(axis=1, keepdims=True)
    var = (x * x).sum(axis=1, keepdims=True) / np.float32(x.shape[1] - 1)
    x /= np.sqrt(var + np.float32(NORM_EPS))
    return x


def zca_matrix(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``μ`` (D,) and ZCA whitening matrix ``P = V (Λ + εI)^(-1/2) Vᵀ`` (D, D) of rows ``x``."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=0)
    cov = np.cov(x, rowvar=False)
    lam, V = np.linalg.eigh(cov)
    P = (V * (1.0 / np.sqrt(np.maximum(lam, 0.0) + eps))) @ V.T
    return mu.astype(np.float32), P.astype(np.float32)


def triangle_encode(x: np.ndarray, codebook: np.ndarray, augmented: np.ndarray | None = None) -> np.ndarray:
    """Triangle ("k-means triangle") encoding ``f_k = max(0, mean(z) - z_k)``, ``z_k = ‖x - c_k‖``.

    ``x`` (n, D), ``codebook`` (K, D) -> (n, K) float32. The squared distances
    ``‖x‖² - 2 x·c_k + ‖c_k‖²`` come from one matrix product ``[x, 1, ‖x‖²] @ A`` with
    ``A = [-2 Cᵀ; ‖c‖²; 1]`` (D + 2, K) (``augmented``, precomputed by the transformer).
    """
    if augmented is None:
        augmented = triangle_matrix(codebook)
    z = _augment(x, (x * x).sum(axis=1)) @ augmented       # (n, K) squared distances
    np.maximum(z, 0, out=z)
    np.sqrt(z, out=z)                                       # z_k = ‖x - c_k‖
    mu = z.mean(axis=1, keepdims=True)
    np.minimum(z, mu, out=z)
    np.subtract(mu, z, out=z)                               # mu - min(z, mu) = max(0, mu - z)
    return z


def triangle_matrix(codebook: np.ndarray) -> np.ndarray:
    """``[-2 Cᵀ; ‖c‖²; 1]`` (D + 2, K) float32, for :func:`triangle_encode`."""
    c = codebook.astype(np.float32)
    return np.vstack([-2 * c.T, (c * c).sum(axis=1)[None], np.ones((1, c.shape[0]), np.float32)])


def soft_threshold_encode(x: np.ndarray, unit_codebook: np.ndarray, alpha: float) -> np.ndarray:
    """Soft-threshold encoding ``f_k = max(0, d_kᵀ x - α)`` with unit-norm words ``d_k``, (n, K) float32."""
    f = x @ unit_codebook.T
    f -= np.float32(alpha)
    np.maximum(f, 0, out=f)
    return f


def _augment(x, extra):
    """``[x, 1, extra]`` (n, D + 2) float32."""
    out = np.empty((x.shape[0], x.shape[1] + 2), np.float32)
    out[:, :-2] = x
    out[:, -2] = 1
    out[:, -1] = extra
    return out


def quadrant_of_positions(n_rows: int, n_cols: int) -> np.ndarray:
    """Quadrant 0..3 of each position of an ``n_rows x n_cols`` map, (n_rows, n_cols) int.

    Row ``r`` is in the bottom half when ``r >= ceil(n_rows / 2)``; the same for columns;
    quadrant = 2·bottom + right. Every row and column, the last ones included, belongs to one.
    """
    bottom = np.arange(n_rows) >= (n_rows + 1) // 2
    right = np.arange(n_cols) >= (n_cols + 1) // 2
    return 2 * bottom[:, None].astype(np.intp) + right[None, :].astype(np.intp)


class BagOfVisualWords(ImageTransformer):
    """Bag of visual words after Coates, Lee & Ng (2011): whitened patches, k-means words, triangle code.

    ``BagOfVisualWords(n_words=1600, patch=6, stride=1, whiten=True,
    encoding="triangle", pooling="quadrants")`` learns a codebook in ``fit`` and
    turns ``(N, H, W, 3)`` uint8 images into ``(N, 4·n_words)`` float32 features
    (``n_words`` with ``pooling="sum"``); see the module docstring for the math.

    Parameters: ``n_patches`` patches sampled for the codebook; ``kmeans`` is
    ``"minibatch"`` (scikit-learn's MiniBatchKMeans, ``kmeans_iter`` passes over
    the patches) or ``"lloyd"`` (full k-means, ``kmeans_iter`` iterations);
    ``zca_eps`` the whitening regularizer; ``alpha`` the soft threshold;
    ``seed`` makes patch sampling and k-means repeatable; ``n_jobs`` threads
    encode chunks in parallel (numpy releases the GIL); ``chunk_size`` images per
    chunk (default: about 16,000 patch positions).

    Fitted: ``mean_`` (D,), ``whitening_`` (D, D), ``codebook_`` (K, D).
    """

    _config_keys = ("n_words", "patch", "stride", "whiten", "encoding", "pooling", "n_patches",
                    "kmeans", "kmeans_iter", "zca_eps", "alpha", "seed", "n_jobs", "chunk_size")
    _array_keys = ("mean_", "whitening_", "codebook_")

    def __init__(self, n_words=1600, patch=6, stride=1, whiten=True, encoding="triangle",
                 pooling="quadrants", n_patches=200_000, kmeans="minibatch", kmeans_iter=10,
                 zca_eps=0.1, alpha=0.25, seed=0, n_jobs=1, chunk_size=None):
        self.n_words = n_words
        self.patch = patch
        self.stride = stride
        self.whiten = whiten
        self.encoding = encoding
        self.pooling = pooling
        self.n_patches = n_patches
        self.kmeans = kmeans
        self.kmeans_iter = kmeans_iter
        self.zca_eps = zca_eps
        self.alpha = alpha
        self.seed = seed
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    # --- settings -------------------------------------------------------------
    _int_params = ("n_words", "patch", "stride", "n_patches", "kmeans_iter", "n_jobs")
    _choice_params = {"encoding": ENCODINGS, "pooling": POOLINGS, "kmeans": KMEANS, "whiten": (True, False)}

    def _check_params(self):
        super()._check_params()
        _checks.number(self.zca_eps, "zca_eps", low=0, low_open=True, hint="; 0.1 is usual")
        _checks.number(self.alpha, "alpha", hint="; 0.25 is usual")

    def _min_size(self):
        return (self.patch, self.patch)

    @property
    def _pixels_per_chunk(self):
        return 16_384 * self.stride * self.stride  # about 16k patch positions per chunk

    def _map_shape(self, image_shape):
        return ((image_shape[0] - self.patch) // self.stride + 1,
                (image_shape[1] - self.patch) // self.stride + 1)

    def _n_out(self, image_shape):
        return self.n_words * (4 if self.pooling == "quadrants" else 1)

    # --- step 1: the codebook ---------------------------------------------------
    def sample_patches(self, X) -> np.ndarray:
        """``n_patches`` random normalized patches (n_patches, D) float32 from images ``X`` (seeded)."""
        X = self._check(X)
        rng = np.random.default_rng(self.seed)
        n, H, W, _ = X.shape
        p = self.patch
        img = rng.integers(0, n, self.n_patches)
        r = rng.integers(0, H - p + 1, self.n_patches)
        c = rng.integers(0, W - p + 1, self.n_patches)
        d = np.arange(p)
        patches = X[img[:, None, None], r[:, None, None] + d[None, :, None], c[:, None, None] + d[None, None, :]]
        return normalize_patches(patches.reshape(self.n_patches, -1))   # (n_patches, p, p, 3) -> (n, D)

    def fit(self, X, y=None):
        """Learn the whitening and the codebook from random patches of images ``X`` (N, H, W, 3) uint8."""
        self._check_params()
        X = self._check(X)
        with threadpool_limits(self.n_jobs):          # BLAS and OpenMP threads: at most n_jobs
            return self._fit(X)

    def _fit(self, X):
        x = self.sample_patches(X)
        D = x.shape[1]
        if self.whiten:
            self.mean_, self.whitening_ = zca_matrix(x, self.zca_eps)
            x = (x - self.mean_) @ self.whitening_
        else:
            self.mean_, self.whitening_ = np.zeros(D, np.float32), np.eye(D, dtype=np.float32)
        self.codebook_ = self._kmeans(x)
        self._restore({})
        self.image_shape_ = tuple(int(s) for s in X.shape[1:])
        self.n_features_out_ = self._n_out(self.image_shape_)
        return self

    def _kmeans(self, x):
        if self.n_words > x.shape[0]:
            raise ParameterError(f"n_words={self.n_words} exceeds the {x.shape[0]} sampled patches; "
                                 "raise n_patches or lower n_words.")
        from sklearn.cluster import KMeans, MiniBatchKMeans
        if self.kmeans == "minibatch":
            km = MiniBatchKMeans(n_clusters=self.n_words, batch_size=max(4096, 2 * self.n_words),
                                 max_iter=self.kmeans_iter, n_init=1, random_state=self.seed,
                                 max_no_improvement=None, reassignment_ratio=0.01)
        else:
            km = KMeans(n_clusters=self.n_words, max_iter=self.kmeans_iter, n_init=1,
                        random_state=self.seed, algorithm="lloyd")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of passes is the setting
            km.fit(x)
        return km.cluster_centers_.astype(np.float32)

    def _restore(self, arrays):
        self.mean_ = np.asarray(self.mean_, np.float32)
        self.whitening_ = np.asarray(self.whitening_, np.float32)
        self.codebook_ = np.ascontiguousarray(self.codebook_, np.float32)
        D = 3 * self.patch ** 2
        shapes = {"mean_": (D,), "whitening_": (D, D), "codebook_": (self.n_words, D)}
        for k, shape in shapes.items():
            if getattr(self, k).shape != shape:
                raise ModelFileError(f"{k} has shape {getattr(self, k).shape}, expected {shape} for "
                                 f"patch={self.patch}, n_words={self.n_words}; the saved state is inconsistent.")
        self._triangle = triangle_matrix(self.codebook_)
        norms = np.linalg.norm(self.codebook_, axis=1)
        self._unit = self.codebook_ / np.where(norms > 0, norms, 1)[:, None]

    # --- step 2: encode and pool ------------------------------------------------
    def patches_of(self, images) -> np.ndarray:
        """Normalized patches at every position ``(m·Lr·Lc, D)`` float32, image-major, row-major."""
        p, s = self.patch, self.stride
        win = np.lib.stride_tricks.sliding_window_view(images, (p, p), axis=(1, 2))[:, ::s, ::s]
        win = win.transpose(0, 1, 2, 4, 5, 3)                 # (m, Lr, Lc, p, p, 3)
        return normalize_patches(win.reshape(-1, 3 * p * p))

    def encode(self, x) -> np.ndarray:
        """Codes ``(n, K)`` float32 of normalized patches ``x`` (n, D): whiten, then encode."""
        xw = (x - self.mean_) @ self.whitening_ if self.whiten else x
        if self.encoding == "triangle":
            return triangle_encode(xw, self.codebook_, self._triangle)
        return soft_threshold_encode(xw, self._unit, self.alpha)

    def _pooling_matrix(self, map_shape) -> np.ndarray:
        """``Q`` (pools, Lr·Lc) 0/1: ``Q @ codes`` sums the codes of each pooling region of one image."""
        n_pos = map_shape[0] * map_shape[1]
        if self.pooling == "sum":
            return np.ones((1, n_pos), np.float32)
        quadrant = quadrant_of_positions(*map_shape).ravel()
        return (quadrant[None, :] == np.arange(4)[:, None]).astype(np.float32)

    def _transform_chunk(self, images):
        m = images.shape[0]
        Q = self._pooling_matrix(self._map_shape(images.shape[1:]))   # (pools, P), P = Lr·Lc
        n_pools, P = Q.shape
        x = self.patches_of(images).reshape(m, P, -1)                  # (m, P, D)
        pooled = np.zeros((m, n_pools, self.n_words), np.float32)
        # Blocks of about _BLOCK_ROWS positions that never straddle two images: g whole images,
        # or one image's positions cut in equal parts. Each image's features thus depend on its
        # own pixels only, bit for bit, whatever the chunking.
        g = max(1, _BLOCK_ROWS // P)
        cuts = np.linspace(0, P, -(-P // _BLOCK_ROWS) + 1).astype(int) if g == 1 else np.array([0, P])
        for i in range(0, m, g):
            for a, b in zip(cuts[:-1], cuts[1:]):
                xb = x[i:i + g, a:b]                                      # (g, b - a, D)
                codes = self.encode(xb.reshape(-1, xb.shape[-1])).reshape(xb.shape[0], b - a, -1)
                pooled[i:i + g] += np.matmul(Q[:, a:b], codes)            # sum pooling (g, pools, K)
        return pooled.reshape(m, n_pools * self.n_words)

    def get_feature_names_out(self, input_features=None):
        q = ["tl", "tr", "bl", "br"] if self.pooling == "quadrants" else ["all"]
        return np.asarray([f"bovw_{qq}_{k}" for qq in q for k in range(self.n_words)], dtype=object)

