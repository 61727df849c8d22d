"""The default ``--out`` of a run: ``runs/<name>-<date>-<time>``, never a folder another run already used."""

from __future__ import annotations

import datetime
import json
import types

import numpy as np

from linclass.cli import main, outdir


class _Frozen(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2026, 12, 4, 17, 30, 5)


def test_two_runs_in_the_same_second_get_two_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(outdir, "_dt", types.SimpleNamespace(datetime=_Frozen))
    rng = np.random.default_rng(0)
    (tmp_path / "emb").mkdir()
    np.save(tmp_path / "emb" / "X.npy", rng.standard_normal((40, 4)).astype(np.float32))
    np.save(tmp_path / "emb" / "y.npy", np.arange(40) % 2)
    folders = []
    for _ in range(3):
        assert main(["probe", "emb", "--json"]) == 0
        folders.append(json.loads(capsys.readouterr().out)["model_path"].split("/")[1])
    assert folders == ["probe-20261204-173005", "probe-20261204-173005-2", "probe-20261204-173005-3"]
