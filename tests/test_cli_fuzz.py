"""Every flag of every command, given 0, −1, a huge number, text, NaN and 2**70: exit 0 or 2, never a traceback.

The commands run in-process on tiny data; the parsers are introspected, so a new flag is fuzzed
without touching this file. Figures are not drawn (each plot function writes a stub file: drawing is
tested in test_report.py) and the demo does not serve: the rest of each command runs for real.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from linclass.cli import build_parser, flags, main
from linclass.demo.server import DemoServer
from linclass.report import plots

VALUES = ["0", "-1", "1000000000000", "abc", "nan", str(2**70)]
SKIP = {"help", "json", "debug", "version"}


PLOTS = ["loss_curve", "accuracy_curves", "weight_templates", "decision_regions", "confusion_matrix",
         "knn_curve", "search_heatmap"]


def _stub_plot(*args, **kwargs):
    path = next(Path(a) for a in [*args, *kwargs.values()] if isinstance(a, str | Path))
    path.write_bytes(b"\x89PNG\r\n\x1a\n stub")
    return path


def _stub_plots(mp):
    for name in PLOTS:
        mp.setattr(plots, name, _stub_plot)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A model file and an image, for evaluate and predict."""
    root = tmp_path_factory.mktemp("fuzz-model")
    with pytest.MonkeyPatch.context() as mp:
        _stub_plots(mp)
        assert main(["train", "--subset", "30", "--epochs", "1", "--no-progress", "--out", str(root / "run")]) == 0
    Image.new("L", (8, 8), 128).save(root / "img.png")
    rng = np.random.default_rng(0)
    (root / "emb").mkdir()
    np.save(root / "emb" / "X.npy", rng.standard_normal((30, 4)).astype(np.float32))
    np.save(root / "emb" / "y.npy", np.arange(30) % 3)
    return str(root / "run" / "model.npz"), str(root / "img.png"), str(root / "emb")


def _base(command, model):
    """Arguments that make ``command`` a valid run of well under a second (a new command needs an entry)."""
    return {
        "train": ["--subset", "30", "--epochs", "1", "--no-progress", "--out", "out-train"],
        "evaluate": [model[0]],
        "predict": [model[0], model[1]],
        "strategies": ["--subset", "30", "--epochs", "1", "--budget", "3"],
        "explain": [],
        "exercise": [],
        "gradcheck": ["--examples", "5", "--dimensions", "3", "--classes", "3", "--checks", "2"],
        "knn": ["--train-size", "40", "--test-size", "10", "--k", "1,3", "--folds", "2", "--out", "out-knn"],
        "demo": ["--no-browser", "--port", "0"],
        "probe": [model[2], "--out", "out-probe"],
        "tune": ["--subset", "60", "--val-size", "20", "--epochs", "1", "--lr", "0.1", "--reg-strength", "0.001",
                 "--out", "out-tune"],
    }[command]


def _cases(parser):
    for action in parser._actions:
        if action.dest in SKIP or not action.option_strings:
            continue
        flag = flags.option_name(action)
        if action.nargs == 0:
            yield [flag]
        else:
            yield from ([flag, v] for v in VALUES)


def test_every_flag_of_every_command_fails_cleanly(model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _stub_plots(monkeypatch)
    monkeypatch.setattr(DemoServer, "serve_forever", lambda self, *a, **k: None)
    monkeypatch.setattr("webbrowser.open", lambda *a, **k: pytest.fail("the demo opened a browser"))
    parser = build_parser()
    failures, runs = [], 0
    for command, sub in parser.commands.items():
        for case in _cases(sub):
            argv = [command, *_base(command, model), *case]
            code = main(argv)
            runs += 1
            out, err = capsys.readouterr()
            err = "".join(line for line in err.splitlines(True) if not line.startswith("linclass: note:"))
            if code not in (0, 2) or "Traceback" in err or (code == 2 and err.count("\n") != 1):
                failures.append(f"{' '.join(argv)} → exit {code}: {err.strip()[-300:]}")
    assert runs > 200
    assert not failures, "\n".join(failures)


def test_every_numeric_flag_has_a_range():
    for command, sub in build_parser().commands.items():
        for action in flags.numeric_actions(sub):
            assert action.dest in flags.FLAGS, f"linclass {command} {flags.option_name(action)} has no range"


def test_fuzz_cases_cover_each_flag():
    parser = build_parser().commands["train"]
    cases = list(_cases(parser))
    assert ["--seed", str(2**70)] in cases and ["--resume"] in cases and ["--batch-size", "-1"] in cases
    assert not any(case[0] in ("--help", "--json") for case in cases)
