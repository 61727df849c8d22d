"""Install a CPU build of PyTorch into this Python's environment, or say why not (a step of .ci/run).

PyTorch is optional (``linclass[torch]``: ``probe --backend torch``); CI runs its tests when a CPU build
can be had cheaply and never downloads a CUDA build (``torch`` from PyPI on Linux pulls about 20
``nvidia-*`` packages, gigabytes). The candidates, in order:

1. ``local``: a wheel already on this machine, found through pip's ``--find-links`` (``PIP_FIND_LINKS``,
   pip.conf) without any index, so nothing is downloaded; its dependencies come from the usual index;
2. ``cpu-index``: PyTorch's CPU index (https://download.pytorch.org/whl/cpu), where it is reachable.

Each candidate is first resolved with ``pip install --dry-run --report``; one that cannot be resolved, or
whose plan holds a CUDA package (``nvidia-*``, ``triton``), is passed over. With none left, torch is not
installed, the reason is printed, and the torch tests skip. Exit status 0 in every case but a failed
install of a checked plan.

    python .ci/install_torch.py [--dry-run] [--cpu-index URL] [--requirement 'torch>=2.4']
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
REQUIREMENT = "torch>=2.4"
"""The lower bound of pyproject.toml's ``torch`` extra."""
CUDA_PREFIXES = ("nvidia-", "nvidia_", "triton")


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


def plan(args: list[str]) -> tuple[list[dict] | None, str]:
    """What ``pip install *args`` would install (the report's ``install`` list), or None and why not."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        done = pip("install", "--dry-run", "--ignore-installed", "--quiet", "--timeout", "20", "--retries", "1",
                   "--report", str(report), *args)
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or ["pip failed"]
            return None, lines[-1]
        return json.loads(report.read_text())["install"], ""


def cuda_packages(install: list[dict]) -> list[str]:
    """The names in a report's ``install`` list that belong to a CUDA build."""
    names = [item["metadata"]["name"] for item in install]
    return [n for n in names if n.lower().startswith(CUDA_PREFIXES)]


def local_wheel(requirement: str) -> str | None:
    """The path of a wheel of ``requirement`` that pip finds on this machine without an index, or None."""
    install, _ = plan(["--no-deps", "--no-index", "--only-binary=:all:", requirement])
    url = install[0]["download_info"]["url"] if install else ""
    return url2pathname(urlparse(url).path) if url.startswith("file:") else None


def choose(requirement: str, cpu_index: str) -> tuple[str, list[str], list[dict], list[str]]:
    """``(source, pip arguments, planned packages, reasons)``; source ``none`` when no candidate is fit."""
    wheel = local_wheel(requirement)
    found = [("local", [wheel])] if wheel else []
    reasons = [] if wheel else ["local: no wheel of torch on this machine (pip --find-links)"]
    for source, args in found + [("cpu-index", ["--index-url", cpu_index, requirement])]:
        install, why = plan(args)
        cuda = cuda_packages(install or [])
        if install is not None and not cuda:
            return source, args, install, reasons
        reasons.append(f"{source}: " + (f"would install CUDA packages ({', '.join(cuda[:3])}, ...)" if cuda
                                        else f"not available ({why})"))
    return "none", [], [], reasons


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print the plan as JSON, install nothing")
    parser.add_argument("--cpu-index", default=CPU_INDEX, help=f"PyTorch's CPU index (default {CPU_INDEX})")
    parser.add_argument("--requirement", default=REQUIREMENT, help=f"default {REQUIREMENT!r}")
    opts = parser.parse_args(argv)
    source, args, install, reasons = choose(opts.requirement, opts.cpu_index)
    if opts.dry_run:
        packages = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in install]
        print(json.dumps({"source": source, "pip_args": args, "packages": packages, "reasons": reasons}))
        return 0
    if source == "none":
        print("warning: PyTorch not installed, the torch tests will be skipped: " + "; ".join(reasons),
              file=sys.stderr)
        return 0
    torch = next(f"{i['metadata']['name']} {i['metadata']['version']}" for i in install
                 if i["metadata"]["name"].lower() == "torch")
    print(f"installing {torch} ({source}, {len(install)} packages, no CUDA)", file=sys.stderr)
    return subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args]).returncode


if __name__ == "__main__":
    sys.exit(main())
