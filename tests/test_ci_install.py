""".ci/run installs PyTorch as a fresh machine can, and never a CUDA build.

The install step (.ci/install_torch.py) runs here with ``--dry-run`` against small local package
sources the test writes (wheels holding only their metadata, a PEP 503 index as files), with pip's
configuration shut out, so no network is used: a local CPU wheel, a CPU index, and a CUDA build offered
in either place.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "install_torch.py"
_spec = importlib.util.spec_from_file_location("install_torch", SCRIPT)
install_torch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install_torch)


def _wheel(folder: Path, name: str, version: str, requires=()) -> Path:
    """A wheel of ``name`` ``version`` that holds only its metadata (enough for pip's resolver)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{dist}.dist-info/METADATA", metadata)
        z.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                              "Tag: py3-none-any\n")
        z.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def _index(root: Path, wheels: list[Path]) -> str:
    """A PEP 503 simple index under ``root`` serving ``wheels``; its file:// URL."""
    for wheel in wheels:
        project = root / re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        project.mkdir(parents=True, exist_ok=True)
        (project / "index.html").write_text(f'<a href="{wheel.as_uri()}">{wheel.name}</a>\n')
    root.mkdir(parents=True, exist_ok=True)
    return root.as_uri()


def _dry_run(tmp_path, find_links: Path, cpu_index: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_FIND_LINKS=str(find_links),
               PIP_INDEX_URL=_index(tmp_path / "pypi", []), PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--cpu-index", cpu_index],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def sources(tmp_path):
    """Wheels of a CPU and a CUDA build of torch, and the CUDA library the latter needs."""
    files = tmp_path / "files"
    return {"cpu": _wheel(files / "cpu", "torch", "2.13.0+cpu"),
            "cuda": _wheel(files / "cuda", "torch", "2.13.0", ["nvidia-cublas-cu12>=12"]),
            "nvidia": _wheel(files / "cuda", "nvidia-cublas-cu12", "12.8.4.1")}


def test_the_local_cpu_wheel_is_installed_first(tmp_path, sources):
    plan = _dry_run(tmp_path, sources["cpu"].parent, _index(tmp_path / "cpu-index", []))
    assert plan["source"] == "local" and plan["pip_args"] == [str(sources["cpu"])]
    assert plan["packages"] == ["torch==2.13.0+cpu"]


def test_a_local_cuda_build_is_passed_over_for_the_cpu_index(tmp_path, sources):
    cpu_index = _index(tmp_path / "cpu-index", [sources["cpu"]])
    plan = _dry_run(tmp_path, sources["cuda"].parent, cpu_index)
    assert plan["source"] == "cpu-index" and plan["pip_args"] == ["--index-url", cpu_index, "torch>=2.4"]
    assert plan["packages"] == ["torch==2.13.0+cpu"]
    assert any("nvidia-cublas-cu12" in r for r in plan["reasons"])


def test_with_only_cuda_builds_offered_torch_is_skipped_with_the_reason(tmp_path, sources):
    cpu_index = _index(tmp_path / "cpu-index", [sources["cuda"], sources["nvidia"]])
    plan = _dry_run(tmp_path, tmp_path / "nothing", cpu_index)
    assert plan["source"] == "none" and plan["packages"] == [] and plan["pip_args"] == []
    assert plan["reasons"][0].startswith("local: no wheel")
    assert "CUDA packages (nvidia-cublas-cu12" in plan["reasons"][1]


def test_cuda_packages_are_told_by_name():
    install = [{"metadata": {"name": n}} for n in ("torch", "sympy", "nvidia-cudnn-cu12", "triton", "NVIDIA_nccl")]
    assert install_torch.cuda_packages(install) == ["nvidia-cudnn-cu12", "triton", "NVIDIA_nccl"]


def test_ci_installs_torch_only_through_the_checked_step_and_the_test_extra_holds_no_torch():
    run = (ROOT / ".ci" / "run").read_text()
    pip_lines = [line for line in run.splitlines() if "pip install" in line and not line.lstrip().startswith("#")]
    assert pip_lines and not any(re.search(r"\btorch\b", line) for line in pip_lines)
    assert ".ci/install_torch.py" in run
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert not [r for r in extras["test"] if re.match(r"(torch|nvidia)", r)]
