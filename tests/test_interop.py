"""linclass.load, Classifier.to_sklearn / to_torch, and `import linclass` staying light."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import linclass
from linclass.classifier import Classifier
from linclass.errors import ParameterError
from linclass.probe import synthetic

try:
    import torch
except ImportError:  # linclass[torch] is optional: .ci/run installs it only where a CPU build is at hand
    torch = None

SRC = Path(__file__).resolve().parents[1] / "src"
pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module", params=[2, 5], ids=["binary", "5 classes"])
def saved(request, tmp_path_factory):
    """A standardized probe's model file on shifted, scaled rows with string labels, and fresh rows."""
    C = request.param
    X, y = synthetic.embeddings(400, 8, C, separation=0.7, dtype=np.float64)
    X = X * np.linspace(0.5, 4, 8) + 2
    names = np.array(["ant", "bee", "cat", "dog", "eel"])[:C]
    result = linclass.probe.fit(X, names[y], standardize=True, reg_strength=1e-3)
    path = result.classifier.save(tmp_path_factory.mktemp("m") / "model.npz")
    rows, _ = synthetic.embeddings(50, 8, C, separation=0.7, split=1, dtype=np.float64)
    return path, rows * np.linspace(0.5, 4, 8) + 2, names


def test_load_returns_the_classifier(saved):
    path, rows, names = saved
    clf = linclass.load(path)
    assert isinstance(clf, Classifier) and clf.class_names == list(names)
    np.testing.assert_array_equal(clf.predict(rows), Classifier.load(path).predict(rows))


def test_to_sklearn_is_a_fitted_logistic_regression_with_the_same_probabilities(saved):
    path, rows, names = saved
    clf = linclass.load(path)
    sk = clf.to_sklearn()
    assert isinstance(sk, LogisticRegression)
    assert sk.classes_.tolist() == list(names)
    assert sk.coef_.shape == ((1, 8) if len(names) == 2 else (len(names), 8))
    np.testing.assert_allclose(sk.predict_proba(rows), clf.predict_proba(rows), atol=1e-6)
    np.testing.assert_array_equal(sk.predict(rows), names[clf.predict(rows)])


def test_to_sklearn_coefficients_are_the_standardization_folded_into_the_weights(saved):
    path, rows, names = saved
    clf = linclass.load(path)
    sk = clf.to_sklearn()
    mean, std = clf.preprocessor.mean.astype(np.float64), clf.preprocessor.std.astype(np.float64)
    W, b = clf.model.W.astype(np.float64), clf.model.b.astype(np.float64)
    scores = ((rows - mean) / std) @ W + b  # the model written out
    expected = scores[:, 1] - scores[:, 0] if len(names) == 2 else scores
    np.testing.assert_allclose(sk.decision_function(rows), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.skipif(torch is None, reason="needs PyTorch (linclass[torch]), not installed")
def test_to_torch_gives_a_linear_layer_with_the_same_logits(saved):
    path, rows, _ = saved
    clf = linclass.load(path)
    layer = clf.to_torch()
    assert isinstance(layer, torch.nn.Linear) and layer.in_features == 8
    with torch.no_grad():
        logits = layer(torch.from_numpy(rows.astype(np.float32))).numpy()
    np.testing.assert_allclose(logits, clf.scores(rows), rtol=1e-4, atol=1e-4)


def test_an_svm_model_refuses_to_sklearn_in_one_line(saved):
    path, *_ = saved
    clf = linclass.load(path)
    clf.loss = "svm"
    with pytest.raises(ParameterError, match="LogisticRegression"):
        clf.to_sklearn()


def test_import_linclass_stays_light_and_hands_on_probe_lazily():
    code = ("import sys, linclass\nlight = 'sklearn' not in sys.modules\n"
            "fit = linclass.probe.fit\nprint(light, callable(fit), callable(linclass.load))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)}).stdout
    assert out.split() == ["True", "True", "True"]


def test_the_probe_command_loads_neither_scikit_learn_nor_matplotlib():
    """Its start-up (bench_probe.py --overhead-only): the model file, report and fit need neither."""
    code = "import sys, linclass.cli.probe\nprint(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', " \
           "'matplotlib', 'pandas', 'dask'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)}).stdout
    assert out.strip() == "[]"
