"""Preprocessing: training statistics only, the same transform at prediction, and the bias trick."""

import numpy as np
import pytest

from linclass.classifier import Classifier
from linclass.cli import main
from linclass.errors import InputError, ParameterError
from linclass.preprocess import Preprocessor, add_bias_column, flatten


def _images(seed=0, n=50):
    return np.random.default_rng(seed).integers(0, 256, (n, 4, 4, 3)).astype(np.uint8)


def test_mean_and_std_come_from_the_training_rows_only():
    train, other = _images(0), _images(1)
    pre = Preprocessor.fit(flatten(train), "standardize", chunk=7)  # chunks must not change the result
    rows = train.reshape(50, -1).astype(np.float64)
    np.testing.assert_allclose(pre.mean, rows.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(pre.std, rows.std(axis=0), rtol=1e-5)
    out = pre.transform(other)
    np.testing.assert_allclose(out, (other.reshape(50, -1) - rows.mean(0)) / rows.std(0), rtol=1e-4, atol=1e-5)
    assert out.dtype == np.float32


def test_constant_features_are_left_unscaled():
    X = np.ones((10, 3), dtype=np.float32)
    X[:, 1] = np.arange(10)
    pre = Preprocessor.fit(X, "standardize")
    assert pre.std[0] == 1.0 and pre.std[2] == 1.0 and np.isfinite(pre.transform(X)).all()


def test_wrong_size_input_names_the_expected_size():
    pre = Preprocessor.fit(flatten(_images()))
    with pytest.raises(InputError, match="training had 48"):
        pre.transform(np.zeros((2, 5, 5, 3), np.uint8))


def test_bias_trick_gives_the_same_scores():
    rng = np.random.default_rng(0)
    X, W, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    np.testing.assert_allclose(add_bias_column(X) @ np.vstack([W, b]), X @ W + b)


def test_each_preprocessing_choice_matches_numpy():
    X = np.random.default_rng(0).normal(5, 3, (40, 6)).astype(np.float32)
    expected = {"none": X, "center": X - X.mean(0), "standardize": (X - X.mean(0)) / X.std(0)}
    for mode, want in expected.items():
        np.testing.assert_allclose(Preprocessor.fit(X, mode).transform(X), want, rtol=1e-4, atol=1e-4)
    with pytest.raises(ParameterError, match="none, center, standardize"):
        Preprocessor.fit(X, "whiten")


def test_mean_subtraction_from_the_command_line_saves_no_std(tmp_path, capsys):
    assert main(["train", "--preprocess", "center", "--epochs", "2", "--out", str(tmp_path), "--no-progress"]) == 0
    pre = Classifier.load(tmp_path / "model.npz").preprocessor
    assert pre.std is None and pre.mean is not None
