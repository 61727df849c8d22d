"""An interrupted probe continues where it stopped: finished λ read back, a minibatch λ from its last epoch."""

import numpy as np
import pytest

from linclass.cli import main
from linclass.errors import ParameterError
from linclass.fitting import loop as train_module
from linclass.probe import core, fit, synthetic

PATH = [1e-2, 1e-3, 1e-4]


@pytest.fixture(scope="module")
def data():
    return synthetic.embeddings(1500, 16, 4), synthetic.embeddings(300, 16, 4, split=1)


def _interrupt_after(monkeypatch, module, name, calls):
    """Make ``module.name`` raise KeyboardInterrupt once it has run ``calls`` times (a crash mid-run)."""
    real, count = getattr(module, name), [0]

    def wrapped(*args, **kwargs):
        if count[0] == calls:
            raise KeyboardInterrupt
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return count


def test_a_path_resumes_after_its_finished_lambdas(tmp_path, monkeypatch, data):
    (X, y), val = data
    whole = fit(X, y, val=val, reg_path=PATH)
    with monkeypatch.context() as m:
        _interrupt_after(m, core, "solve", 2)
        with pytest.raises(KeyboardInterrupt):
            fit(X, y, val=val, reg_path=PATH, checkpoint=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lambda-00.npz", "lambda-01.npz"]
    fits = _interrupt_after(monkeypatch, core, "solve", 99)
    resumed = fit(X, y, val=val, reg_path=PATH, checkpoint=tmp_path, resume=True)
    assert fits[0] == 1  # only the third λ was fitted
    for a, b in zip(resumed.path[:2], whole.path[:2]):
        assert a["objective"] == b["objective"] and a["val_accuracy"] == b["val_accuracy"]
    # the third λ warm-starts from the second's weights read back (without L-BFGS's pairs): the same optimum
    assert resumed.path[2]["objective"] == pytest.approx(whole.path[2]["objective"], rel=1e-7)
    assert resumed.best["reg_strength"] == whole.best["reg_strength"]


def test_a_minibatch_lambda_resumes_from_its_last_epoch_bit_for_bit(tmp_path, monkeypatch, data):
    (X, y), _ = data
    settings = dict(reg_strength=1e-3, optimizer="adam", lr=1e-2, epochs=4, batch_size=64, seed=3)
    whole = fit(X, y, **settings)
    with monkeypatch.context() as m:
        _interrupt_after(m, train_module, "save_checkpoint", 2)  # epochs 1 and 2 saved, then a crash
        with pytest.raises(KeyboardInterrupt):
            fit(X, y, checkpoint=tmp_path, **settings)
    assert (tmp_path / "epochs-00.npz").is_file()
    saves = _interrupt_after(monkeypatch, train_module, "save_checkpoint", 99)
    resumed = fit(X, y, checkpoint=tmp_path, resume=True, **settings)
    assert saves[0] == 2  # epochs 3 and 4 only: it went on from the checkpoint
    np.testing.assert_array_equal(resumed.classifier.model.W, whole.classifier.model.W)
    np.testing.assert_array_equal(resumed.classifier.model.b, whole.classifier.model.b)
    assert not (tmp_path / "epochs-00.npz").exists()  # the λ finished: its epochs' checkpoint went


def test_another_runs_files_are_refused_naming_the_difference(tmp_path, data):
    (X, y), val = data
    fit(X, y, val=val, reg_path=PATH, checkpoint=tmp_path)
    with pytest.raises(ParameterError, match="cannot resume.*reg_path"):
        fit(X, y, val=val, reg_path=[1e-2, 1e-3], checkpoint=tmp_path, resume=True)
    with pytest.raises(ParameterError, match="cannot resume.*labels"):
        fit(X, (y + 1) % 4, val=val, reg_path=PATH, checkpoint=tmp_path, resume=True)


def test_cli_resume_needs_out_and_a_finished_run_leaves_no_checkpoints(tmp_path, capsys):
    synthetic.write(tmp_path / "train", 600, 8, 3)
    synthetic.write(tmp_path / "val", 200, 8, 3, split=1)
    assert main(["probe", str(tmp_path / "train"), "--resume"]) == 2
    assert "--resume continues the run in --out" in capsys.readouterr().err
    out = tmp_path / "run"
    argv = ["probe", str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--reg-path", "1e-4:1e-2:3",
            "--out", str(out)]
    assert main(argv) == 0
    assert not list(out.glob("lambda-*.npz")) and (out / "model.npz").is_file()
    assert main([*argv, "--resume", "--json"]) == 0  # nothing left to read back: it fits again
