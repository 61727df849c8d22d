"""Labelled rows: raw labels encoded as scikit-learn's LabelEncoder does, unknown ones refused with the source."""

import numpy as np
import pytest
from sklearn.preprocessing import LabelEncoder

from linclass.errors import LabelError
from linclass.fitting import Problem
from linclass.objective import Objective
from linclass.regularizers import L2
from linclass.rows import Labeled


@pytest.mark.parametrize("labels", [np.array([3, 1, 3, 7, 1]), np.array(["dog", "cat", "dog", "ant", "cat"])])
def test_training_labels_are_indices_into_the_sorted_classes(labels):
    enc = LabelEncoder().fit(labels)
    train = Labeled.of(np.zeros((5, 2)), labels, "train")
    assert train.y.tolist() == enc.transform(labels).tolist() and train.y.dtype == np.int64
    assert list(train.class_names) == enc.classes_.tolist() and train.n_classes == 3
    val = Labeled.of(np.zeros((2, 2)), labels[::-2][:2], "val", train.class_names)
    assert val.y.tolist() == enc.transform(labels[::-2][:2]).tolist()


def test_labels_match_a_models_string_names_and_unknown_ones_are_refused():
    assert Labeled.of(None, [2, 0], "emb", ("0", "1", "2"), known_by="the model").y.tolist() == [2, 0]
    with pytest.raises(LabelError, match=r"val has label\(s\) \['9'\] that the training split does not have"):
        Labeled.of(None, [9, 0], "val", (0, 1))
    with pytest.raises(LabelError, match="only one class"):
        Labeled.of(None, [4, 4], "train")


def test_a_problem_reads_labelled_rows():
    X = np.arange(12.0).reshape(6, 2)
    train = Labeled.of(X, ["b", "a", "b", "c", "a", "c"], "train")
    problem = Problem.of(Objective("softmax", L2(), 0.1), train, val=Labeled(X[:2], train.y[:2], train.class_names))
    assert problem.shape == (6, 2, 3) and problem.val[1].tolist() == [1, 0]
