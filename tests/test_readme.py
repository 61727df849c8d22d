"""README's commands work as printed after the first one (which creates .venv)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_bare_linclass_commands_come_after_the_venv_is_activated():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    creates = next(i for i, line in enumerate(lines) if "-m venv .venv" in line)
    activates = next((i for i, line in enumerate(lines) if line.startswith("source .venv/bin/activate")), None)
    bare = [i for i, line in enumerate(lines) if line.startswith("linclass ")]
    assert bare, "the README shows no linclass command"
    assert activates is not None and creates < activates < bare[0], (
        "a bare `linclass` command is printed before the README activates .venv")
