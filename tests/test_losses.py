"""Losses against the lecture's numbers and the loop reference."""

import warnings
from functools import partial

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from linclass import Objective, losses, reference
from linclass.errors import InputError, LabelError, LinclassError
from linclass.optim import chunked
from linclass.optim.chunked import BatchSteps, SoftmaxL2, fused_softmax, one_blas_thread
from linclass.regularizers import L1, L2
from linclass.rows.batches import Indexed

SLIDES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
SEED004 = np.array([[7.9, 5.8, -1.9], [3.3, -0.8, 6.5], [-1.1, 3.4, 2.5], [2.3, 1.5, 4.4]])
TEN_CLASS = np.array([  # the 10-class table (seeds 000, 001), one row per image: cat, car, frog
    [-3.45, -8.87, 0.09, 2.90, 4.48, 8.02, 3.78, 1.06, -0.36, -0.72],
    [-0.51, 6.04, 5.31, -4.22, -4.19, 3.58, 4.49, -4.37, -2.09, -2.93],
    [3.42, 4.64, 2.65, 5.10, 2.64, 5.55, -4.34, -1.50, -4.79, 6.14]])


def test_svm_reproduces_the_slides():
    per_example, _ = losses.svm_loss(SLIDES, [0, 1, 2], reduction="none")
    np.testing.assert_allclose(per_example, [2.9, 0.0, 12.9], atol=1e-12)
    assert losses.svm_loss(SLIDES, [0, 1, 2])[0] == pytest.approx(5.2667, abs=1e-4)


def test_svm_four_image_table_seed004():
    per_example, _ = losses.svm_loss(SEED004, [0, 1, 2, 0], reduction="none")
    np.testing.assert_allclose(per_example, [0, 13.4, 1.9, 3.3], atol=1e-12)
    assert losses.svm_loss(SEED004, [0, 1, 2, 0])[0] == pytest.approx(4.65)


def test_softmax_cat_column_seed003():
    probs = losses.softmax(SLIDES[:1])[0]
    np.testing.assert_allclose(np.exp(SLIDES[0]), [24.53, 164.02, 0.18], atol=0.01)
    np.testing.assert_allclose(probs, [0.13, 0.87, 0.00097], atol=0.005)
    per_example, _ = losses.softmax_loss(SLIDES, [0, 1, 2], reduction="none")
    np.testing.assert_allclose(per_example, [2.0404, 0.0791, 6.1565], atol=1e-4)
    assert per_example[0] == pytest.approx(-np.log(0.13), abs=0.01)


def test_ten_class_table():
    y = [3, 1, 6]
    np.testing.assert_allclose(losses.svm_loss(TEN_CLASS, y, reduction="none")[0], [10.58, 0.27, 71.91], atol=1e-9)
    np.testing.assert_allclose(losses.softmax_loss(TEN_CLASS, y, reduction="none")[0], [5.170, 0.577, 11.294],
                               atol=1e-3)


@pytest.mark.parametrize("scores, svm, soft, soft20", [
    ([10, -2, 3], 0.0, 0.00092, 4.2e-8),
    ([10, 9, 9], 0.0, 0.5514, 3.3e-5),
    ([10, -100, -100], 0.0, 3.4e-48, 0.0),
], ids=["clear", "close", "far"])
def test_svm_vs_softmax(scores, svm, soft, soft20):
    assert losses.svm_loss([scores], [0])[0] == svm
    assert losses.softmax_loss([scores], [0])[0] == pytest.approx(soft, rel=0.02)
    assert losses.softmax_loss([[20] + scores[1:]], [0])[0] == pytest.approx(soft20, rel=0.02, abs=1e-50)


@pytest.mark.parametrize("scores, y", [([[10, -100, -100]], [0]), ([[1000, 0, -1000]], [1]),
                                       ([[-1000, 0, 1000]], [0]), ([[1e300, -1e300]], [1])])
def test_softmax_is_stable(scores, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dscores = losses.softmax_loss(np.array(scores, dtype=float), y)
    assert np.isfinite(loss) and np.all(np.isfinite(dscores))
    s = np.array(scores[0], dtype=float)
    expected = np.logaddexp.reduce(s) - s[y[0]]  # numpy's own log-sum-exp
    assert loss == pytest.approx(expected, rel=1e-12)


def test_losses_at_small_scores_are_c_minus_1_and_log_c():
    for C in (3, 10):
        zero = np.zeros((5, C))
        y = np.arange(5) % C
        assert losses.svm_loss(zero, y)[0] == pytest.approx(C - 1)
        assert losses.softmax_loss(zero, y)[0] == pytest.approx(np.log(C))


def _random_problem(rng, N, D, C, ties=False):
    X = rng.standard_normal((N, D))
    W = rng.standard_normal((D, C))
    b = rng.standard_normal(C)
    if ties:  # integer data → many equal scores and margins of exactly 0
        X, W, b = np.round(X), np.round(W), np.round(b)
    y = rng.integers(0, C, N)
    return X, W, b, y


SHAPES = [(1, 3, 2), (7, 5, 2), (20, 6, 4), (50, 10, 10)]


@pytest.mark.parametrize("N,D,C", SHAPES, ids=lambda v: str(v))
@pytest.mark.parametrize("ties", [False, True], ids=["random", "ties"])
@pytest.mark.parametrize("name", ["svm", "squared-svm", "softmax"])
def test_vectorized_objective_matches_loops(name, N, D, C, ties):
    from linclass.objective import Objective
    from linclass.regularizers import L2
    rng = np.random.default_rng(N * 100 + D + C)
    X, W, b, y = _random_problem(rng, N, D, C, ties)
    reg = 0.3
    if name == "softmax":
        ref = reference.softmax_loss_naive(W, b, X, y, reg=reg)
    else:
        ref = reference.svm_loss_naive(W, b, X, y, reg=reg, squared=name == "squared-svm")
    value = Objective(name, L2(), reg)({"W": W, "b": b}, X, y)
    assert value.loss == pytest.approx(ref[0], abs=1e-10, rel=1e-10)
    np.testing.assert_allclose(value.grads["W"], ref[1], atol=1e-10, rtol=1e-10)
    np.testing.assert_allclose(value.grads["b"], ref[2], atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("name, naive", [("ova-svm", reference.ova_svm_losses_naive),
                                         ("squared-ova-svm", partial(reference.ova_svm_losses_naive, squared=True)),
                                         ("structured-svm", reference.structured_svm_losses_naive)])
@pytest.mark.parametrize("ties", [False, True], ids=["random", "ties"])
def test_other_svm_formulations_match_loops(name, naive, ties):
    rng = np.random.default_rng(3)
    scores = rng.standard_normal((30, 4))
    if ties:
        scores = np.round(scores)
    y = rng.integers(0, 4, 30)
    per_example, _ = losses.get_loss(name)(scores, y, reduction="none")
    np.testing.assert_allclose(per_example, naive(scores.tolist(), y.tolist()), atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions_agree(reduction):
    rng = np.random.default_rng(0)
    scores, y = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    per, dper = losses.softmax_loss(scores, y, reduction="none")
    loss, d = losses.softmax_loss(scores, y, reduction=reduction)
    expected = {"mean": (per.mean(), dper / 6), "sum": (per.sum(), dper), "none": (per, dper)}[reduction]
    np.testing.assert_allclose(loss, expected[0])
    np.testing.assert_allclose(d, expected[1])


def test_float32_scores_stay_float32():
    scores = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    for name in losses.LOSSES:
        _, dscores = losses.get_loss(name)(scores, [0, 1, 2, 0])
        assert dscores.dtype == np.float32, name


@pytest.mark.parametrize("scores, y, error, words", [
    ([[1.0, 2.0]], [2], LabelError, "outside [0, 2)"),
    ([[1.0, 2.0]], [-1], LabelError, "outside"),
    ([[1.0, 2.0]], [0.0], LabelError, "integers"),
    ([[1.0, 2.0], [3.0, 4.0]], [0], LabelError, "shape (2,)"),
    (np.zeros((0, 3)), np.zeros(0, dtype=int), InputError, "empty"),
    ([[1.0, np.nan]], [0], InputError, "NaN"),
    ([[1.0, np.inf]], [0], InputError, "NaN or inf"),
    ([1.0, 2.0], [0], InputError, "2 dimension"),
    ([[1.0]], [0], InputError, "at least 2 classes"),
], ids=["label-high", "label-negative", "label-float", "mismatch", "empty", "nan", "inf", "1d", "one-class"])
@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_bad_input_raises_a_clear_error(name, scores, y, error, words):
    with pytest.raises(error, match=None) as info:
        losses.get_loss(name)(scores, y)
    assert isinstance(info.value, LinclassError)
    assert words in str(info.value)


def test_unknown_loss_lists_the_choices():
    with pytest.raises(LinclassError, match="choose one of svm"):
        losses.get_loss("hinge")


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_the_smooth_trait_matches_the_gradient_at_a_kink(name):
    """Across a margin of 0 (s_1 − s_0 + 1 = 0, and 1 ± s for one-vs-all) the gradient jumps unless smooth."""
    eps = 1e-6
    jumps = []
    for at in (-1.0, 1.0):  # ova-svm has kinks at s_j = ±1; the multiclass hinges at s_1 = s_0 − 1 = −1
        below = np.array([[0.0, at - eps, -5.0]])
        above = np.array([[0.0, at + eps, -5.0]])
        _, d_below = losses.get_loss(name)(below, [0])
        _, d_above = losses.get_loss(name)(above, [0])
        jumps.append(np.abs(d_above - d_below).max())
    if losses.get_loss(name).smooth:
        assert max(jumps) < 1e-4
    else:
        assert max(jumps) > 0.5
    assert (losses.get_loss(name).kinks is None) == (name == "softmax")


@pytest.mark.parametrize("threads, n, lam", [(1, 300, 0.1), (2, 300, 0.1), (2, 130, 0.0), (3, 50, 1e-3)])
@pytest.mark.parametrize("loss, reg", [("softmax", L2()), ("svm", L2()), ("squared-svm", L1())])
def test_the_split_minibatch_step_gives_the_objectives_loss_gradient_and_scores(threads, n, lam, loss, reg):
    rng = np.random.default_rng(threads)
    X, y = rng.standard_normal((n, 7)), rng.integers(0, 4, n)
    params = {"W": rng.standard_normal((7, 4)), "b": rng.standard_normal(4)}
    objective = Objective(loss, reg, lam)
    step = BatchSteps(objective, threads=threads)
    with step.running():
        split = step(params, X, y)
    plain = objective(params, X, y)
    idx = np.random.default_rng(0).permutation(2 * n)[:n]  # the same rows, given as indices into a larger X
    big = np.zeros((2 * n, 7))
    big[idx] = X
    with step.running():
        gathered = step(params, Indexed(big, idx), y)
    assert gathered.loss == split.loss and np.array_equal(gathered.grads["W"], split.grads["W"])
    assert split.loss == pytest.approx(plain.loss, rel=1e-12)
    assert split.reg_loss == pytest.approx(plain.reg_loss, rel=1e-12)
    for k in ("W", "b"):
        np.testing.assert_allclose(split.grads[k], plain.grads[k], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(split.scores, plain.scores, rtol=1e-12)


@pytest.mark.parametrize("loss", ["squared-svm", "squared-ova-svm", "softmax"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_chunked_engine_computes_any_smooth_loss_as_the_objective_does(loss, dtype):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((700, 9)), rng.integers(0, 5, 700)
    W, b = rng.standard_normal((9, 5)) * 0.3, rng.standard_normal(5) * 0.3
    objective = Objective(loss, L2(), 0.05)
    chunked = SoftmaxL2(X.astype(dtype), y, 5, 0.05, dtype=dtype, chunk_rows=64, threads=2,
                        loss=None if loss == "softmax" else objective)
    value, dW, db = chunked(W, b)
    plain = objective({"W": W, "b": b}, X, y)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert value == pytest.approx(plain.loss, rel=tol)
    np.testing.assert_allclose(dW, plain.grads["W"], rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(db, plain.grads["b"], rtol=tol * 10, atol=tol)


def test_the_split_step_keeps_to_a_blas_thread_cap_set_by_the_caller():
    with threadpool_limits(limits=1):  # as tune's one thread per job
        assert BatchSteps(Objective("softmax", L2(), 0.1)).threads == 1


def test_one_chunk_and_many_chunks_give_the_same_evaluation_with_the_blas_thread_set_once():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((500, 7)), rng.integers(0, 4, 500)
    W, b = rng.standard_normal((7, 4)) * 0.3, rng.standard_normal(4) * 0.3
    plain = Objective("softmax", L2(), 0.02)({"W": W, "b": b}, X, y)
    one = SoftmaxL2(X, y, 4, 0.02, dtype=np.float64)  # a single chunk: this thread alone
    many = SoftmaxL2(X, y, 4, 0.02, dtype=np.float64, chunk_rows=60, threads=3)
    assert len(one.work) == 1 and len(many.work) == 9
    outside = one(W, b)
    blas = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    with pytest.raises(RuntimeError), one_blas_thread():
        assert chunked.blas_threads() == 1  # NumPy's BLAS, which computes the products
        inside = one.data_terms(W, b), many.data_terms(W, b)
        raise RuntimeError  # the block is left as after any error
    assert chunked._SINGLE == 0
    assert [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"] == blas
    assert inside[0][0] == one.data_terms(W, b)[0]  # set once or each time: the same numbers
    for total, gV, gc in inside:
        value, dW, db = one.finish(W, total, gV, gc)
        assert value == pytest.approx(plain.loss, rel=1e-12) and outside[0] == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(dW, plain.grads["W"], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(db, plain.grads["b"], rtol=1e-10, atol=1e-14)


def test_fused_softmax_is_the_softmax_loss_and_gradient_for_any_layout():
    rng = np.random.default_rng(9)
    S, y = rng.standard_normal((30, 6)) * 3, rng.integers(0, 6, 30)
    per_row, dS = losses.softmax_loss(S, y, reduction="none")
    for St in (S.T.copy(), S.T):  # classes as rows, C-contiguous (a product's) or a transposed view
        loss, G = fused_softmax(St.copy(order="K"), y)
        assert loss == pytest.approx(per_row.sum(), rel=1e-12)
        np.testing.assert_allclose(G.T, dS, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n_classes", [2, 3, 5, 10, 12])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_engine_with_zero_classes_padded_gives_the_objectives_loss_and_gradient(n_classes, weighted):
    """The engine pads C to a multiple of 4 for the products (chunked.pad_classes): the loss and the gradient are
    still those of the lecture's objective on the C real classes (weighted: scikit-learn's Σ w_i L_i / Σ w_i)."""
    rng = np.random.default_rng(n_classes)
    X, y = rng.standard_normal((300, 9)), rng.integers(0, n_classes, 300)
    W, b = rng.standard_normal((9, n_classes)) * 0.4, rng.standard_normal(n_classes) * 0.4
    weight = rng.uniform(0.5, 2.0, 300) if weighted else np.ones(300)
    per_row, dS = losses.softmax_loss(X @ W + b, y, reduction="none")
    expected = per_row @ weight / weight.sum() + 0.05 * np.sum(W * W)
    dW = X.T @ (dS * weight[:, None]) / weight.sum() + 0.1 * W
    db = (dS * weight[:, None]).sum(axis=0) / weight.sum()
    engine = SoftmaxL2(X, y, n_classes, 0.05, dtype=np.float64, chunk_rows=70, threads=2,
                       sample_weight=weight if weighted else None)
    value, gW, gb = engine(W, b)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(gW, dW, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(gb, db, rtol=1e-10, atol=1e-13)


def test_chunk_terms_on_padded_weights_are_the_unpadded_ones():
    rng = np.random.default_rng(10)
    block, y = rng.standard_normal((50, 8)), rng.integers(0, 10, 50)
    V, c = rng.standard_normal((8, 10)), rng.standard_normal((10, 1))
    Vp, cp = chunked.pad_classes(V, c)
    assert Vp.shape == (8, 12) and cp.shape == (12, 1) and not Vp[:, 10:].any() and not cp[10:].any()
    plain = chunked.chunk_terms(block, y, V, c, np.float64)
    padded = chunked.chunk_terms(block, y, Vp, cp, np.float64, classes=10)
    assert padded[0] == pytest.approx(plain[0], rel=1e-14)
    assert padded[1].shape == (8, 10) and padded[2].shape == (10,)
    np.testing.assert_allclose(padded[1], plain[1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(padded[2], plain[2], rtol=1e-12, atol=1e-14)
    assert chunked.pad_classes(Vp, cp)[0] is Vp  # a multiple of 4 already: nothing added
