"""The Dask backend on a real cluster: a `dask scheduler` and `dask worker` processes over tcp on loopback,
started here; the probe's optimum and training accuracy equal the NumPy engine's, no block moves."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import linclass
from linclass.cli import main
from linclass.optim.chunked import SoftmaxL2
from linclass.probe import dask_backend, fit, open_split, synthetic

distributed = pytest.importorskip("dask.distributed")
pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """``tcp://127.0.0.1:PORT`` of a scheduler with 2 worker processes (1 thread each), stopped afterwards."""
    tmp = tmp_path_factory.mktemp("dask")
    info = tmp / "scheduler.json"
    src = str(Path(linclass.__file__).resolve().parents[1])  # the processes import this linclass
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp, "env": env}
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(info)], **quiet)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file", str(info),
                                       "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], **quiet))
        address = json.loads(info.read_text())["address"]
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in procs[::-1]:
            p.terminate()
            p.wait(timeout=30)


def test_a_probe_over_tcp_reaches_the_numpy_engines_optimum(scheduler, tmp_path):
    synthetic.write(tmp_path / "train", 1200, 10, 4, seed=3, separation=0.5, shards=3)
    local = fit(tmp_path / "train", reg_strength=1e-2)
    assert main(["probe", str(tmp_path / "train"), "--reg-strength", "1e-2", "--dask", scheduler,
                 "--out", str(tmp_path / "run"), "--json"]) == 0
    out = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert out["objective"] == pytest.approx(local.best["objective"], rel=1e-7)
    assert out["train_accuracy"] == pytest.approx(local.best["train_accuracy"])


def test_blocks_are_spread_evenly_stay_where_they_were_placed_and_give_the_numpy_terms(scheduler, tmp_path):
    split = open_split(synthetic.write(tmp_path / "train", 1000, 8, 3, seed=4, separation=0.5))
    y = split.y.astype(np.int64)
    rng = np.random.default_rng(0)
    with distributed.Client(scheduler) as client:
        evaluator = dask_backend.DaskSoftmaxL2(client, split.X, y, 3, 1e-3, dtype=np.float64)
        rows = {w: sum(len(r) for r, _ in client.gather(blocks)) for w, blocks in evaluator.groups.items()}
        placed = client.who_has(evaluator.blocks)
        for _ in range(3):
            W, b = rng.standard_normal((8, 3)), rng.standard_normal(3)
            ours, ref = evaluator(W, b), SoftmaxL2(split.X, y, 3, 1e-3, dtype=np.float64)(W, b)
            assert ours[0] == pytest.approx(ref[0], rel=1e-12)
            np.testing.assert_allclose(ours[1], ref[1], rtol=1e-10, atol=1e-13)
        assert client.who_has(evaluator.blocks) == placed  # no block was copied to another worker
    assert len(rows) == 2 and sorted(rows.values()) == [500, 500]


def test_no_scheduler_names_the_address_in_the_fix(monkeypatch):
    def refused(*args, **kwargs):
        raise OSError("connection refused")
    monkeypatch.setattr(dask_backend, "Client", type("Refusing", (), {"__new__": refused}))
    with pytest.raises(Exception, match=r"dask worker tcp://127\.0\.0\.1:1`"):
        dask_backend.connect("tcp://127.0.0.1:1")
