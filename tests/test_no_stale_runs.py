"""Nothing silent across runs: a resume on other inputs, a finished run's --out, a bounded --reg-path."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from linclass import persist
from linclass.cli import main
from linclass.cli.outdir import default_out
from linclass.errors import ParameterError
from linclass.probe import core, fit, parse_reg_path, synthetic
from linclass.probe.resume import run_record

PATH = [1e-1, 1e-2, 1e-3]


@pytest.fixture
def splits(tmp_path):
    synthetic.write(tmp_path / "train", 300, 6, 3, seed=1)
    synthetic.write(tmp_path / "val", 120, 6, 3, seed=1, split=1)
    return tmp_path / "train", tmp_path / "val"


def _rewrite(split, seed):
    """The same shapes and labels, other rows (as another model's embeddings of the same images would be)."""
    X = np.load(split / "X.npy")
    np.save(split / "X.npy", np.random.default_rng(seed).normal(size=X.shape).astype(X.dtype))


@pytest.mark.parametrize("changed", ["train", "val"])
def test_resume_refuses_other_inputs_of_the_same_shape_naming_the_input(tmp_path, splits, changed):
    train, val = splits
    fit(train, val=val, reg_path=PATH, checkpoint=tmp_path / "run")  # every λ saved, as if killed before the end
    _rewrite(train if changed == "train" else val, seed=7)
    with pytest.raises(ParameterError, match=f"cannot resume: .*{changed} \\d+×6 float32, sampled sha256"):
        fit(train, val=val, reg_path=PATH, checkpoint=tmp_path / "run", resume=True)


def test_cli_resume_refuses_a_changed_val_in_one_line(tmp_path, splits, monkeypatch, capsys):
    train, val = splits
    out = tmp_path / "run"
    argv = ["probe", str(train), "--val", str(val), "--reg-path", "1e-3:1e-1:3", "--out", str(out)]
    real, calls = core.solve, []

    def interrupted(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(core, "solve", interrupted)
        assert main(argv) != 0
    assert sorted(p.name for p in out.glob("lambda-*.npz")) == ["lambda-00.npz", "lambda-01.npz"]
    _rewrite(val, seed=3)
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot resume" in err and "val 120×6" in err and "train" not in err.split("(")[1]


def test_a_full_digest_accepts_a_copy_of_the_same_files(tmp_path, splits):
    train, val = splits
    fit(train, val=val, reg_path=PATH, checkpoint=tmp_path / "run", full_digest=True)
    copy = shutil.copytree(train, tmp_path / "copy")  # new files, new dates, the same bytes
    resumed = fit(copy, val=val, reg_path=PATH, checkpoint=tmp_path / "run", resume=True, full_digest=True)
    assert len(resumed.path) == 3
    with pytest.raises(ParameterError, match="cannot resume: .*train"):  # the cheap digest sees other files
        fit(copy, val=val, reg_path=PATH, checkpoint=tmp_path / "run", resume=True)


def test_reg_path_count_is_capped_with_a_hint_about_k(capsys, tmp_path):
    with pytest.raises(ParameterError, match=r"K must be an integer in \[1, 200\].*the number of λ"):
        parse_reg_path("1e-6:1e-2:1000000")
    assert len(parse_reg_path(f"1e-6:1e-2:{core.MAX_PATH}")) == core.MAX_PATH
    for text in ("1e-6:1e300:3", "1e-6:inf:3", "0:1e-2:3"):
        with pytest.raises(ParameterError, match="LO:HI:K"):
            parse_reg_path(text)
    assert main(["probe", str(tmp_path), "--val", str(tmp_path), "--reg-path", "1e-6:1e-2:1000000",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "K" in err and "--subset" not in err and "--image-size" not in err


def test_each_lambda_file_stores_a_record_of_one_size_whatever_k(tmp_path, splits):
    small = json.dumps(run_record(np.zeros((4, 2)), np.arange(4), np.arange(2), {"reg_path": PATH}))
    large = json.dumps(run_record(np.zeros((4, 2)), np.arange(4), np.arange(2),
                                  {"reg_path": parse_reg_path("1e-6:1e-2:200")}))
    assert abs(len(large) - len(small)) < 8
    train, val = splits
    fit(train, val=val, reg_path=PATH, checkpoint=tmp_path / "run")
    _, meta = persist.load_arrays(tmp_path / "run" / "lambda-02.npz", kind="checkpoint")
    assert meta["settings"]["reg_path"].startswith("3 λ from 0.10000000000000001 to 0.001")


@pytest.mark.parametrize("command", ["probe", "train"])
def test_a_finished_runs_out_is_not_overwritten_without_overwrite(tmp_path, splits, capsys, command):
    out = tmp_path / "run"
    given = [str(splits[0])] if command == "probe" else ["--epochs", "2", "--subset", "300", "--no-progress"]
    argv = [command, *given, "--out", str(out)]
    assert main(argv) == 0
    model = (out / "model.npz").read_bytes()
    capsys.readouterr()
    assert main([*argv, "--seed", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--overwrite" in err and "another --out" in err
    assert (out / "model.npz").read_bytes() == model and not (out / ".lock").exists()
    assert main([*argv, "--seed", "5", "--overwrite"]) == 0


def test_runs_started_in_one_second_get_their_own_default_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = default_out("probe")
    first.mkdir(parents=True)
    second = default_out("probe")
    assert second != first and second.name.startswith(first.name) and not second.exists()
