"""Every shell command in README.md's code blocks runs, in the order printed, as a new user would run it.

The ``linclass`` commands run in-process in a fresh folder, on data made here: CIFAR-10 through
``linclass data export`` from a small archive in the official format served on 127.0.0.1 (the
``official_cifar10`` fixture), the embeddings of the probe section written by :func:`_embeddings`.
A command that would be long on that data, or needs what a test machine lacks, runs with the change
listed in :data:`CHANGED`, each with its reason. The install commands (every command that is not
``linclass …``) run as written in a copy of the repository in the slow test at the end.
The README's Python blocks run too. Every ``--flag`` and ``linclass`` command that README.md and docs/
name, in prose and tables too, exists in the CLI's parsers (:func:`cli_names_missing`).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from test_flags import commands

from linclass.cli import build_parser, main
from linclass.cli.flags import Renamed

try:
    import torch
except ImportError:  # linclass[torch] is optional: the README's GPU command must then say how to get it
    torch = None
try:
    import distributed
except ImportError:  # linclass[cluster] likewise, for the cluster commands
    distributed = None

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

CHANGED = {
    # README command (its start) → (what the test does instead, why)
    "linclass demo": (["--port", "0", "--no-browser"],
                      "a test opens no browser and cannot count on port 8000; it serves until stopped "
                      "(run in a subprocess, fetched once, then stopped with Ctrl-C)"),
    "linclass train --data data/cifar10-jpg --loss svm --preprocess center": (
        ["--iterations", "20"], "1,500 steps of 200 images: on the test's 90 training images each step is a "
                                "whole epoch with its validation pass and checkpoint"),
    "linclass knn": (["--k", "1,3,5"], "the default k list reaches 100, more than a fold of 80 test images holds"),
    "linclass strategies": (["--budget", "50"], "1,000 loss evaluations per search strategy take seconds each "
                                                "even on small data"),
    "linclass tune --loss svm --lr": (["--epochs", "3"], "16 runs of 60 epochs on digits"),
    "linclass tune --loss svm --dask": (["--epochs", "3"], "the same 16 runs of 60 epochs on digits"),
}
SUBSTITUTED = {
    # README text → (what the test gives instead, why)
    "tcp://scheduler-host:8786": ("the address of a Dask cluster the test starts", "the scheduler is the user's"),
}
INSTALL_COMMANDS = {shlex.join(shlex.split(command)): change for command, change in {
    # the README's commands other than linclass …: run in order in the slow test, as written but for
    # (arguments appended, why)
    "python3 -m venv .venv": ([], ""),
    ".venv/bin/pip install -e .": ([], ""),
    ".venv/bin/linclass train": ([], ""),
    "bash .ci/run": (["--collect-only", "-q"], "the test suite is what runs this test"),
    "source .venv/bin/activate": ([], ""),
    ".venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu": ([], ""),
    '.venv/bin/pip install -e ".[torch]"': ([], ""),
}.items()}

PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
NEED_PYTORCH_INDEX = {shlex.join(shlex.split(command)) for command in (
    f".venv/bin/pip install torch --index-url {PYTORCH_CPU_INDEX}", '.venv/bin/pip install -e ".[torch]"')}
"""The README's CPU-build install of PyTorch: without the index, and without a torch that .ci/run installed
from a local wheel, the slow test skips these (with the reason) rather than fail or fetch a CUDA build."""


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10):
            return True
    except OSError:
        return False


def _has_torch(clone: Path) -> bool:
    return subprocess.run([clone / ".venv" / "bin" / "python", "-c", "import torch"]).returncode == 0


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def shell_commands() -> list[str]:
    """Each command of the README's ``bash`` blocks in order: continued lines joined, comments dropped,
    ``a && b`` split into ``a`` and ``b``."""
    commands = []
    for block in code_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words:
                cut = words.index("&&") if "&&" in words else len(words)
                commands.append(shlex.join(words[:cut]))
                words = words[cut + 1:]
    return commands


def _changed(command: str) -> list[str]:
    starts = [start for start in CHANGED if command.startswith(start)]
    return CHANGED[max(starts, key=len)][0] if starts else []


def test_every_command_is_known_and_every_change_is_used():
    commands = shell_commands()
    assert commands, "the README shows no command"
    unknown = [c for c in commands if not c.startswith("linclass ") and c not in INSTALL_COMMANDS]
    assert not unknown, f"README commands this test does not run: {unknown}"
    unused = [k for k in [*CHANGED, *SUBSTITUTED, *INSTALL_COMMANDS, *NEED_PYTORCH_INDEX]
              if not any(k in c for c in commands)]
    assert not unused, f"changes listed for commands the README no longer shows: {unused}"


def test_bare_linclass_commands_come_after_the_venv_is_activated():
    commands = shell_commands()
    creates = next(i for i, c in enumerate(commands) if c == "python3 -m venv .venv")
    activates = commands.index("source .venv/bin/activate")
    bare = [i for i, c in enumerate(commands) if c.startswith("linclass ")]
    assert creates < activates < bare[0], "a bare `linclass` command is printed before the README activates .venv"


def _embeddings(root: Path) -> None:
    """``emb/train``, ``emb/val``, ``emb/test``: X.npy and y.npy of 5 separable Gaussian classes in 16-D."""
    rng = np.random.default_rng(0)
    centers = 3 * rng.standard_normal((5, 16))
    for split, n in (("train", 200), ("val", 50), ("test", 50)):
        y = np.arange(n) % 5
        (root / split).mkdir(parents=True)
        np.save(root / split / "X.npy", (centers[y] + rng.standard_normal((n, 16))).astype(np.float32))
        np.save(root / split / "y.npy", y)


def _demo(argv: list[str]) -> None:
    """``linclass demo …`` in a subprocess: it prints its URL, serves the page, and stops on Ctrl-C."""
    proc = subprocess.Popen([sys.executable, "-m", "linclass", *argv], stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # Ctrl-C as in a terminal
    try:
        url = re.search(r"serving (\S+)", proc.stdout.readline()).group(1)
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


@pytest.fixture
def dask_address():
    """The address of a Dask cluster in this process (None without linclass[cluster])."""
    if distributed is None:
        yield None
        return
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address
        while True:  # probe.fit leaves its Client open: close it before its cluster goes
            try:
                distributed.default_client().close()
            except ValueError:  # none left
                break


def test_every_linclass_command_runs(official_cifar10, tmp_path, monkeypatch, capsys, dask_address):
    monkeypatch.chdir(tmp_path)
    _embeddings(tmp_path / "emb")
    for command in [c for c in shell_commands() if c.startswith("linclass ")]:
        cluster = "tcp://scheduler-host:8786" in command
        if cluster and dask_address:
            command = command.replace("tcp://scheduler-host:8786", dask_address)
        argv = shlex.split(command)[1:] + _changed(command)
        if argv[0] == "demo":
            _demo(argv)
            continue
        gpu = "--device" in argv and argv[argv.index("--device") + 1] == "cuda"
        if gpu and torch is not None and not torch.cuda.is_available():
            argv[argv.index("--device") + 1] = "cpu"  # no GPU here: the same solver on the CPU
        code = main(argv)
        out = capsys.readouterr()
        missing = "linclass[torch]" if gpu and torch is None else "linclass[cluster]" if cluster and not distributed \
            else None
        if missing:  # without the extra: one line that names it
            assert code == 2 and missing in out.err, out.err
            continue
        assert code == 0, f"`{command}` failed:\n{out.err[-2000:]}"
        assert "linclass: note:" not in out.err, f"`{command}` uses an old spelling:\n{out.err}"
    assert (tmp_path / "data" / "cifar10-jpg" / "SHA256SUMS").is_file()


def test_python_blocks_run(official_cifar10, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _embeddings(tmp_path / "emb")
    for block in code_blocks("python"):
        exec(compile(block, "README.md", "exec"), {})


@pytest.mark.slow
def test_install_commands_run_as_written_in_a_fresh_copy(tmp_path):
    """The README's install commands in a copy of the repository (tracked files only), in order."""
    clone = tmp_path / "clone"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in files.stdout.split("\0"):
        if name and (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    stub = tmp_path / "bin"  # a `chromium` on the PATH: .ci/run must not apt-get install it during a test
    stub.mkdir()
    (stub / "chromium").write_text("#!/bin/sh\nexit 0\n")
    (stub / "chromium").chmod(0o755)
    env = {"PATH": f"{stub}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path),
           **{k: v for k, v in os.environ.items() if k.startswith(("PIP_", "LANG", "SSL_"))}}
    skipped = []
    for command in [c for c in shell_commands() if not c.startswith("linclass ")]:
        if command in NEED_PYTORCH_INDEX and not _has_torch(clone) and not _reachable(PYTORCH_CPU_INDEX):
            skipped.append(command)  # and never let pip take the CUDA build from PyPI instead
            continue
        line = shlex.join([*shlex.split(command), *INSTALL_COMMANDS[command][0]])
        if command.startswith("source "):
            line += " && command -v linclass"
        done = subprocess.run(["bash", "-c", line], cwd=clone, env=env, capture_output=True, text=True,
                              timeout=1200)
        assert done.returncode == 0, f"`{line}` failed:\n{done.stderr[-3000:]}"
        if command.startswith("source "):
            assert done.stdout.strip() == str(clone / ".venv" / "bin" / "linclass")
        if command == ".venv/bin/linclass train":
            assert "report" in done.stdout
    if skipped:
        pytest.skip(f"all ran but {skipped}: no torch in .venv and {PYTORCH_CPU_INDEX} is unreachable from here")


def _current_flags(parser) -> set[str]:
    """The long options of ``parser``, old spellings (:class:`Renamed`) left out."""
    return {s for action in parser._actions if not isinstance(action, Renamed)
            for s in action.option_strings if s.startswith("--")}


OTHER_TOOLS_FLAGS = {"--index-url", "--dry-run", "--nthreads", "--nworkers"}
"""Flags the README and docs/ give to other tools (pip, .ci/install_torch.py, ``dask worker``), not to linclass."""
OLD_SPELLINGS_NAMED = {"docs/sklearn.md": {"--scheduler"}}
"""Old spellings a page names as such (they still parse, with a note)."""


def _command_mentions(text: str) -> list[list[str]]:
    """The words after ``linclass`` (or ``…/linclass``) in every line of ``text``'s ``bash`` and ``console``
    blocks (``$`` prompts dropped), in its indented code lines, and in every inline code span (which may
    wrap): ``[["train", "--data", "x"], …]``; comments dropped."""
    blocks = re.findall(r"```(?:bash|console)[^\n]*\n(.*?)```", text, flags=re.S)
    outside = re.sub(r"```.*?```", "", text, flags=re.S)
    spans = re.findall(r"(?<!`)`([^`]+)`(?!`)", outside)
    lines = [line.removeprefix("$ ") for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    lines += [line for line in outside.splitlines() if line.startswith("    ") and "linclass " in line]
    mentions = []
    for line in lines + [span.replace("\n", " ") for span in spans]:
        try:
            words = shlex.split(line.replace("\\", "/"), comments=True)
        except ValueError:  # a span of code with an open quote, not a command
            words = line.split()
        mentions += [_until_message(words[i + 1:]) for i, w in enumerate(words) if w.split("/")[-1] == "linclass"]
    return mentions


def _until_message(words: list[str]) -> list[str]:
    """``words`` up to a program name of a message (``linclass explain: error: …`` → ``["explain"]``)."""
    ends = [i for i, w in enumerate(words) if w.endswith(":")]
    return words[:ends[0]] + [words[ends[0]].rstrip(":")] if ends else words


def _has_subcommands(parser) -> bool:
    return any(isinstance(action, argparse._SubParsersAction) for action in parser._actions)


def cli_names_missing(text: str) -> list[str]:
    """Each ``--flag`` and ``linclass`` command that ``text`` names but the CLI lacks (its parsers, built by
    :func:`build_parser`; old spellings count as missing): a flag anywhere in the text must be some
    command's; a command line or code span must name a command, and its flags must be that command's."""
    top = build_parser()
    parsers = {"": top, **commands(top)}
    every_flag = set().union(*map(_current_flags, parsers.values())) | OTHER_TOOLS_FLAGS
    problems = [f"{flag}: no linclass command has it" for flag in
                sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text)) - every_flag)]
    for words in _command_mentions(text):
        path = ""
        while words and not words[0].startswith("-") and _has_subcommands(parsers[path]):
            path = f"{path} {words.pop(0)}".strip()
            if path not in parsers:
                problems.append(f"linclass {path}: no such command")
                break
        else:
            known = _current_flags(parsers[path])
            problems += [f"linclass {path} {w}: not an option of that command".replace("  ", " ")
                         for w in words if w.startswith("--") and w.split("=")[0] not in known]
    return problems


@pytest.mark.parametrize("page", ["README.md", *sorted(p.relative_to(ROOT).as_posix()
                                                      for p in (ROOT / "docs").glob("*.md"))])
def test_every_flag_and_command_a_page_names_exists(page):
    """Also in prose and tables, which no command runs: a renamed or removed flag or command shows up here."""
    missing = [m for m in cli_names_missing((ROOT / page).read_text(encoding="utf-8"))
               if m.split(":")[0] not in OLD_SPELLINGS_NAMED.get(page, ())]
    assert not missing, f"{page} names what the command line lacks (any more): {missing}"


@pytest.mark.parametrize("text, problem", [
    ("pass `--no-such-flag` to train", "--no-such-flag: no linclass command has it"),
    ("```bash\nlinclass trian --loss svm\n```", "linclass trian: no such command"),
    ("run `linclass data exprt cifar10 out`", "linclass data exprt: no such command"),
    ("```bash\n.venv/bin/linclass train --k 3   # --k is knn's\n```", "linclass train --k: not an option of"),
    ("`linclass train --reg l2`", "--reg: no linclass command has it"),  # an old spelling
    ("a span that wraps, `linclass train\n--k 3`", "linclass train --k: not an option of"),
    ("the message `linclass trian: error: …`", "linclass trian: no such command"),
])
def test_the_name_check_catches_a_made_up_or_misplaced_name(text, problem):
    assert any(p.startswith(problem) for p in cli_names_missing(text)), cli_names_missing(text)


def test_the_name_check_passes_real_names():
    text = ("```bash\nlinclass data export cifar10 out --format png\nlinclass knn --k 1,3 --json  # --help\n```\n"
            "`linclass explain --loss softmax`, `--features bovw --augment flip`, `linclass[torch]`, `linclass`, "
            "`linclass explain: error: --loss: invalid choice`")
    assert cli_names_missing(text) == []


def test_every_module_the_layout_names_exists():
    layout = README.read_text(encoding="utf-8").split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`([\w/]+(?:\.py|/))`", layout)
    assert named, "the Layout section names no module"
    missing = [n for n in named if not (ROOT / "src" / "linclass" / n).exists()]
    assert not missing, f"README's Layout names modules that are gone: {missing}"
