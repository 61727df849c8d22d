"""`linclass train --resume` continues only the run that wrote the checkpoint; --keep chooses the weights."""

import json

import numpy as np
import pytest

from linclass.classifier import Classifier
from linclass.cli import main
from linclass.datasets import load_dataset
from linclass.errors import ParameterError
from linclass.fitting import loop
from linclass.fitting.loop import LoopConfig
from linclass.model import LinearModel
from linclass.objective import Objective
from linclass.optim import get_optimizer
from linclass.regularizers import L2

RUN = ["train", "--subset", "40", "--epochs", "3", "--lr", "0.1", "--no-progress"]


@pytest.fixture
def interrupted(tmp_path, monkeypatch):
    """An --out folder holding the checkpoint of a run killed after its last epoch (before its files)."""
    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr("linclass.cli.train.write_json", killed)
        assert main([*RUN, "--out", str(tmp_path)]) == 130
    assert (tmp_path / "checkpoint.npz").is_file()
    return tmp_path


@pytest.mark.parametrize("change, difference", [
    (["--lr", "0.01"], "lr 0.1 → 0.01"),
    (["--loss", "svm"], "loss softmax → svm"),
    (["--penalty", "l1"], "penalty l2 → l1"),
    (["--schedule", "cosine"], "schedule constant → cosine"),
    (["--dtype", "float64"], "dtype float32 → float64"),
    (["--subset", "50"], "train_examples 40 → 50"),
    (["--optimizer", "momentum"], "optimizer sgd → momentum"),
    (["--batch-size", "16"], "batch_size 64 → 16"),
])
def test_resume_with_other_settings_or_data_is_refused_naming_the_difference(interrupted, capsys, change,
                                                                             difference):
    before = (interrupted / "checkpoint.npz").read_bytes()
    code = main([*RUN, *change, "--out", str(interrupted), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "cannot resume" in err and difference in err
    assert (interrupted / "checkpoint.npz").read_bytes() == before  # the checkpoint is left as it was


def test_resume_with_other_data_names_the_fingerprint(interrupted, capsys):
    assert main([*RUN, "--seed", "1", "--out", str(interrupted), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "data_fingerprint" in err and "seed 0 → 1" in err


def test_resume_with_the_same_settings_continues(interrupted, capsys):
    assert main([*RUN, "--out", str(interrupted), "--resume", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["iterations"] == 3 and not (interrupted / "checkpoint.npz").exists()


def test_a_checkpoint_of_another_optimizer_is_refused_in_the_library(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    objective = Objective("softmax", L2(), 1e-3)
    params = LinearModel.init(4, 3, seed=0).params
    config = LoopConfig(batch_size=8, epochs=1, checkpoint=str(tmp_path / "c.npz"))
    loop.run_epochs(objective, get_optimizer("sgd", learning_rate=0.1), X, y, params=params, config=config)
    with pytest.raises(ParameterError, match="another optimizer"):
        loop.run_epochs(objective, get_optimizer("momentum", learning_rate=0.1), X, y, params=params,
                           config=config, resume=True)


def _val_accuracies(out):
    rows = (out / "history.csv").read_text().splitlines()[1:]
    return [float(r.split(",")[4]) for r in rows if r.split(",")[4]]


@pytest.mark.parametrize("keep", ["best", "last"])
def test_keep_chooses_the_weights_and_the_report_says_which(tmp_path, capsys, keep):
    out = tmp_path / keep
    argv = ["train", "--subset", "60", "--epochs", "8", "--lr", "3", "--no-progress", "--keep", keep,
            "--out", str(out), "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    val = _val_accuracies(out)
    assert data["kept"] == keep and data["best_epoch"] == int(np.argmax(val)) + 1
    clf = Classifier.load(out / "model.npz")
    ds = load_dataset("digits", seed=0)
    acc = float(np.mean(clf.predict(ds.X_val) == ds.y_val))
    assert acc == pytest.approx(max(val) if keep == "best" else val[-1])
    page = (out / "report.html").read_text()
    assert "Weights kept" in page and f">{keep}<" in page
