"""Every command and Python example in docs/lecture.md runs and gives the output shown; every Python block of
docs/ runs as typed."""

import contextlib
import doctest
import io
import re
import shlex
from pathlib import Path

import pytest

from linclass.cli import main
from linclass.probe import synthetic

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "lecture.md"
CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def console_blocks():
    """``(tag, [(command, expected lines)])`` for each ```console block."""
    text = DOC.read_text()
    for m in re.finditer(r"```console( cifar)?\n(.*?)```", text, re.S):
        steps = []
        for line in m.group(2).splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        yield bool(m.group(1)), steps


def matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` lines in order, where ``...`` skips lines and ``...`` inside a line matches anything."""
    if not expected:
        return True
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    if not actual:
        return False
    pattern = ".*".join(re.escape(part) for part in head.rstrip().split("..."))
    return re.fullmatch(pattern, actual[0].rstrip()) is not None and matches(rest, actual[1:])


BLOCKS = list(console_blocks())


@pytest.mark.parametrize("cifar, steps", [
    pytest.param(c, s, marks=[pytest.mark.slow, pytest.mark.cifar] if c else [], id=s[0][0][:60])
    for c, s in BLOCKS])
def test_console_block(cifar, steps, tmp_path, monkeypatch):
    if cifar and not CIFAR.exists():
        pytest.skip(f"{CIFAR} is absent")
    monkeypatch.chdir(tmp_path)  # runs/ goes here; ../shared/ is made absolute below
    for command, expected in steps:
        argv = shlex.split(command)
        assert argv[0] == "linclass"
        argv = [a.replace("../shared/", str(ROOT.parent / "shared") + "/") for a in argv[1:]]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(argv) == 0, command
        actual = buf.getvalue().rstrip("\n").splitlines()
        assert matches(expected, actual), f"{command}\n--- expected ---\n" + "\n".join(expected) + \
            "\n--- got ---\n" + "\n".join(actual)


def test_python_examples():
    parser = doctest.DocTestParser()
    test = parser.get_doctest(DOC.read_text(), {}, "lecture.md", str(DOC), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert test.examples, "no examples found"


def test_the_matcher_can_fail():
    assert matches(["a", "...", "c ... d"], ["a", "x", "y", "c 12 d"])
    assert not matches(["a", "c"], ["a", "b"])
    assert not matches(["a ... d"], ["a b c"])


def python_blocks():
    """``(file, first line, source)`` of every ```python block in docs/*.md that is a script (doctest blocks,
    with ``>>>``, are run by :func:`test_python_examples` and tests/test_estimators.py; README.md's blocks by
    tests/test_readme.py)."""
    for path in sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"```python\n(.*?)```", text, re.S):
            if not m.group(1).lstrip().startswith(">>>"):
                yield path.name, text[:m.start()].count("\n") + 2, m.group(1)


@pytest.fixture
def embedding_files(tmp_path, monkeypatch):
    """``emb/train``, ``emb/val`` and ``emb/test`` (the docs' names) in a fresh working directory."""
    monkeypatch.chdir(tmp_path)
    for split, name in enumerate(["train", "val", "test"]):
        synthetic.write(f"emb/{name}", 600, 16, 6, seed=0, separation=0.6, split=split)


@pytest.mark.parametrize("name, line, source", [pytest.param(*b, id=f"{b[0]}:{b[1]}") for b in python_blocks()])
def test_python_blocks_run_as_typed(name, line, source, embedding_files, one_blas_thread):
    exec(compile(source, f"{name}:{line}", "exec"), {"__name__": "__doc_block__"})


def test_every_python_block_of_the_docs_is_found():
    found = {name for name, _, _ in python_blocks()}
    assert "probe.md" in found
