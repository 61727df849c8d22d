"""DESIGN.md is the map of the package: every module is on it, and every module it names exists.

A module ``pkg/mod.py`` is named when DESIGN.md writes `` `pkg/mod.py` ``, or writes `` `mod.py` `` on
a line that also names its package `` `pkg/` `` (a row of the module table); a package's
``__init__.py`` is named by `` `pkg/` ``. Every `` `….py` `` and `` `name/` `` DESIGN.md writes must be a
file or folder of the package (or of the repository: ``tests/``, ``benchmarks/``), unless it is
listed in :data:`PLANNED` — modules agreed in DESIGN.md whose work is under way; the section
of examples from other codebases (:data:`OTHERS`) is not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "linclass"
DESIGN = ROOT / "DESIGN.md"

PLANNED = set()
"""Named in DESIGN.md before they exist (issue 18's one fitting core); each leaves this set when it lands."""

OTHERS = "## Examples to follow"
"""From this heading on, DESIGN.md names files of other codebases."""

PATH = re.compile(r"(?<![\w./-])((?:[\w-]+/)*(?:[\w-]+\.py|[\w-]+/))(?![\w/])")


def backticked(text: str) -> list[str]:
    """The spans between backticks."""
    return re.findall(r"`([^`\n]+)`", text)


def named_paths(text: str) -> set[str]:
    """Every ``….py`` or ``name/`` written inside backticks (``linclass/`` prefixes dropped)."""
    found = set()
    for span in backticked(text):
        for path in PATH.findall(span):
            found.add(path.removeprefix("linclass/"))
    return found


def modules() -> list[str]:
    """Every module of the package, as its path under ``src/linclass`` (``datasets/base.py``)."""
    return sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py"))


def is_named(module: str, text: str) -> bool:
    if module.count("/") == 0:
        return module in named_paths(text)
    package, _, name = module.rpartition("/")
    if name == "__init__.py":
        return f"{package}/" in named_paths(text)
    if module in named_paths(text):
        return True
    return any(f"{package}/" in named_paths(line) and name in named_paths(line) for line in text.splitlines())


def exists(path: str) -> bool:
    basenames = {Path(m).name for m in modules()}
    for base in (PACKAGE, ROOT):
        if (base / path).exists():
            return True
    return "/" not in path and path in basenames


def test_the_name_finder_reads_paths_in_backticks_only():
    text = "| `datasets/` | `base.py` (`Dataset`), `linclass/__init__.py` | numpy |\nplain base2.py, `a.b`"
    assert named_paths(text) == {"datasets/", "base.py", "__init__.py"}
    assert is_named("datasets/base.py", text) and is_named("datasets/__init__.py", text)
    assert not is_named("datasets/load.py", text)
    assert not is_named("rows/base.py", text)


def test_every_module_of_the_package_is_on_the_map():
    text = DESIGN.read_text(encoding="utf-8")
    missing = [m for m in modules() if not is_named(m, text)]
    assert not missing, f"modules DESIGN.md does not name (add them to its module table): {', '.join(missing)}"


def test_every_module_the_map_names_exists():
    own = DESIGN.read_text(encoding="utf-8").split(OTHERS)[0]
    names = named_paths(own)
    absent = sorted(p for p in names - PLANNED if not exists(p))
    assert not absent, f"DESIGN.md names modules that do not exist (update it): {', '.join(absent)}"


def test_planned_modules_do_not_exist_yet():
    landed = sorted(p for p in PLANNED if exists(p))
    assert not landed, f"these landed: remove them from PLANNED in {Path(__file__).name}: {', '.join(landed)}"
