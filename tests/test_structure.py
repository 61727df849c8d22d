"""The package's shape: no import loops, and imports at module level.

Both tests read the source with :mod:`ast` (nothing is imported), so they see
every module, also those a test run never loads.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from linclass.cli import COMMANDS, build_parser

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "linclass"

MAX_LOCAL_IMPORTS = 30
"""Function-local imports allowed in src/linclass: each one defers a measured import-time cost (DESIGN.md)."""


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name → (file, is a package ``__init__``)."""
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def _type_checking_nodes(tree) -> set[int]:
    """Imports under ``if TYPE_CHECKING:`` never run, so they cannot close a loop."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    return skip


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules its code imports (at module level or inside functions).

    ``from . import name`` imports the package ``__init__`` (for names it defines) and the
    submodule ``name`` (when there is one); ``from .mod import name`` imports ``mod`` and,
    when ``name`` is a submodule of ``mod``, that submodule too.
    """
    modules = _modules()
    graph = {}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        package = name if is_package else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    target = f"{base}.{node.module}" if node.module else base
                else:
                    target = node.module or ""
                if target not in modules:
                    continue
                names_module = False
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in modules:
                        edges.add(sub)
                    else:
                        names_module = True
                if names_module or node.module:
                    edges.add(target)
        edges.discard(name)
        graph[name] = edges
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of modules (Tarjan), as a readable loop."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def local_imports() -> dict[str, int]:
    """Import statements inside functions (``TYPE_CHECKING`` blocks excluded), per file."""
    counts = {}
    for name, (path, _) in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inner = {id(sub) for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom))}
        if inner:
            counts[name] = len(inner)
    return counts


def test_the_cycle_finder_sees_loops_direct_and_through_others():
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert import_cycles(graph) == [["a", "b"], ["c", "d", "e"]]


def test_the_graph_sees_a_package_init_imported_by_its_own_submodule(tmp_path, monkeypatch):
    pkg = tmp_path / PACKAGE / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / PACKAGE / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .child import thing\n")
    (pkg / "child.py").write_text("from . import helper\n\ndef f():\n    from .. import sub\n")
    (pkg / "other.py").write_text("thing = 1\n")
    monkeypatch.setitem(globals(), "SRC", tmp_path)
    graph = import_graph()
    assert graph[f"{PACKAGE}.sub.child"] == {f"{PACKAGE}.sub"}
    assert import_cycles(graph) == [[f"{PACKAGE}.sub", f"{PACKAGE}.sub.child"]]
    assert local_imports() == {f"{PACKAGE}.sub.child": 1}


def test_no_import_loops_anywhere_in_the_package():
    cycles = import_cycles(import_graph())
    assert not cycles, "import loops: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_function_local_imports_stay_few():
    counts = local_imports()
    total = sum(counts.values())
    listing = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    assert total <= MAX_LOCAL_IMPORTS, f"{total} function-local imports (at most {MAX_LOCAL_IMPORTS}): {listing}"


@pytest.mark.parametrize("init", sorted(str(p.relative_to(SRC)) for p in (SRC / PACKAGE).rglob("__init__.py")))
def test_package_init_files_only_hand_names_on(init):
    """A package ``__init__`` holds imports, ``__all__`` and a docstring: no logic of its own."""
    tree = ast.parse((SRC / init).read_text(encoding="utf-8"))
    allowed = (ast.Import, ast.ImportFrom, ast.Expr)
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            continue
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            continue  # lazy hand-on of names whose import is slow (see DESIGN.md)
        assert isinstance(node, allowed) and (not isinstance(node, ast.Expr) or isinstance(node.value, ast.Constant)), \
            f"{init} line {node.lineno}: {ast.unparse(node)[:80]!r} is logic; move it to a module"


@pytest.mark.parametrize("argv", [["--help"], ["gradcheck", "--examples", "5"], ["explain"]])
def test_a_command_loads_only_the_libraries_it_uses(argv):
    """The lazy command loader: ``linclass --help`` or a light command never pays for scikit-learn,
    SciPy, matplotlib or Dask (seconds of import time, see DESIGN.md)."""
    code = ("import sys\nfrom linclass.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'matplotlib', 'dask'})\n"
            "print('HEAVY', heavy)\n" % (argv,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)}).stdout
    assert "HEAVY []" in out, out[-300:]


def test_every_command_registers_under_its_name_with_its_help_line():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == list(COMMANDS)
    for name, (summary, example_lines) in COMMANDS.items():
        assert sub.choices[name].description == summary
        assert all(line.startswith(f"linclass {name}") for line in example_lines.split("\n") if line), name
        assert sub.choices[name].epilog.split("\n")[1].strip() == example_lines.split("\n")[1].strip()


CORE_ONLY = {"lbfgs", "run_epochs"}
"""L-BFGS's iteration and the minibatch loop: run only by the one fitting core (DESIGN.md, ``fitting/``)."""


def _core_only_uses(tree) -> list[str]:
    """Imports or calls of a name in :data:`CORE_ONLY` (``from ..optim import lbfgs``, ``optim.lbfgs(...)``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name in CORE_ONLY]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CORE_ONLY:
            found.append(f"line {node.lineno}: calls {ast.unparse(node.func)}")
    return found


def test_the_check_for_core_only_calls_sees_imports_and_attribute_calls():
    tree = ast.parse("from ..optim import lbfgs, get_optimizer\nimport linclass\nlinclass.fitting.loop.run_epochs(1)")
    assert _core_only_uses(tree) == ["line 1: imports lbfgs", "line 3: calls linclass.fitting.loop.run_epochs"]


def test_only_the_fitting_core_runs_lbfgs_or_the_minibatch_loop():
    """Every fit goes through ``fitting.solve``: no module outside ``fitting/`` (and ``optim/``, where L-BFGS is
    written) imports or calls L-BFGS's iteration or the minibatch loop."""
    offenders = {}
    for name, (path, _) in _modules().items():
        if name.startswith((f"{PACKAGE}.fitting", f"{PACKAGE}.optim")):
            continue
        uses = _core_only_uses(ast.parse(path.read_text(encoding="utf-8")))
        if uses:
            offenders[name] = uses
    assert not offenders, f"fit through linclass.fitting.solve instead: {offenders}"
