"""The one data path (linclass.design): images → features → flatten → preprocessing, for every entry point."""

import json

import numpy as np
import pytest

from linclass.classifier import Classifier
from linclass.cli import main
from linclass.design import Design, fit_design
from linclass.errors import ParameterError
from linclass.features import ColorHistogram
from linclass.pipeline import Settings


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8), rng.integers(0, 3, n)


def test_raw_pixels_standardized_match_a_numpy_reference():
    X_train, y_train = _images(40)
    X_test, _ = _images(7, seed=1)
    design, X, y, others = fit_design(X_train, y_train, Settings(preprocess="standardize"), others={"test": X_test})
    F = X_train.reshape(40, -1).astype(np.float64)
    mean, std = F.mean(axis=0), F.std(axis=0)
    ref_test = (X_test.reshape(7, -1) - mean) / std
    np.testing.assert_allclose(X, (F - mean) / std, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(others["test"], ref_test, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(design.transform(X_test), others["test"])  # fitted once, applied the same
    assert X.dtype == np.float32 and y is y_train


def test_features_flip_and_dtype_follow_the_settings():
    X_train, y_train = _images(30)
    settings = Settings(features="hist", augment="flip", dtype="float64")
    design, X, y, others = fit_design(X_train, y_train, settings, others={"val": X_train[:0]})
    ref = ColorHistogram().fit(X_train).transform(np.concatenate([X_train, X_train[:, :, ::-1]]))
    np.testing.assert_allclose(X, ref - ref.mean(axis=0), atol=1e-6)
    assert X.dtype == np.float64 and y.tolist() == [*y_train, *y_train] and others == {}
    assert isinstance(design.features, ColorHistogram)
    with pytest.raises(ParameterError, match="unknown augmentation 'flop'.*did you mean 'flip'"):
        fit_design(X_train, y_train, Settings(augment="flop"))


def test_the_classifier_predicts_through_the_same_path():
    X_train, y_train = _images(30)
    design, X, _, _ = fit_design(X_train, y_train, Settings(features="hist", preprocess="standardize"))
    clf = Classifier(model=None, preprocessor=design.preprocessor, class_names=["a", "b", "c"], loss="softmax",
                     features=design.features)
    np.testing.assert_array_equal(clf.design_matrix(X_train), X)
    assert Design().transform(X_train).tolist() == X_train.reshape(30, -1).astype(np.float32).tolist()


@pytest.fixture
def color_folder(tmp_path, color_images):
    return color_images(tmp_path / "colors")


def test_tune_uses_the_features_it_is_given_and_saves_them(color_folder, tmp_path, capsys):
    """`linclass tune --features` was refused (the option did not exist) and tune built its own raw-pixel X."""
    out = tmp_path / "run"
    code = main(["tune", "--json", "--data", str(color_folder), "--features", "hist", "--lr", "0.1",
                 "--reg-strength", "1e-4", "--epochs", "20", "--val-size", "6", "--out", str(out),
                 "--data-dir", str(tmp_path / "cache")])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    clf = Classifier.load(data["model_path"])
    assert isinstance(clf.features, ColorHistogram) and clf.model.n_features == 10  # 10 hue bins, not pixels
    assert data["test_accuracy"] >= 0.9  # hue separates the classes; chance is 1/3
