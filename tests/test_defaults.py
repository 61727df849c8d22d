"""One defaults table (``linclass/defaults.py``): every context reads it, no module writes its own default."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from linclass import defaults
from linclass.defaults import REASONS, TABLE, value
from linclass.errors import ParameterError
from linclass.estimators import LinearSVM, SoftmaxClassifier
from linclass.settings import Settings

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "linclass"

NAMES = {"reg_strength", "lam", "lr", "learning_rate", "batch_size", "epochs", "tol", "max_iter"}
"""Parameters whose default belongs in the table (λ, learning rate, batch size, epochs, tolerance, budget)."""

SKLEARN = {"alpha": "reg_strength", "learning_rate": "lr", "batch_size": "batch_size"}
"""The estimators' parameter → the table's name (their defaults stay literal in ``__init__`` for get_params)."""

PENDING: set = set()
"""Literal defaults that still have to move to the table (none left; a module being rewritten may list its
own here for a while)."""

FIXED = {("report/explain_occam.py", "MAX_ITER"): "the lecture's λ sweep, a worked example: no user sets it"}
"""Literal values that are not defaults a user or caller can change, each with its reason."""


def literal_number(node) -> bool:
    """A number written out, other than 0 (no regularization, no budget: an absence, not a choice)."""
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value != 0


def outside_functions(tree):
    """The nodes of module and class bodies (a function's local variables are not defaults)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.ClassDef):
            stack.extend(node.body)


def literal_defaults(path: Path) -> set[tuple[str, str]]:
    """``(module, name)`` for each literal number given as the default of a parameter in :data:`NAMES`: a
    function's default, a field's or a module constant's value, an argparse ``default=``."""
    tree, module, found = ast.parse(path.read_text(encoding="utf-8")), str(path.relative_to(PACKAGE)), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            pairs = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            found |= {(module, a.arg) for a, d in pairs if a.arg in NAMES and literal_number(d)}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            options = [a.value for a in node.args if isinstance(a, ast.Constant)]
            dest = next((o.lstrip("-").replace("-", "_") for o in options if str(o).startswith("--")), None)
            for kw in node.keywords:
                if kw.arg == "default" and dest in NAMES and literal_number(kw.value):
                    found.add((module, dest))
    for node in outside_functions(tree):
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        for target in targets:
            if isinstance(target, ast.Name) and target.id.lower() in NAMES and literal_number(node.value):
                found.add((module, target.id))
    return found


def scan() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "defaults.py" and path.name != "estimators.py":
            found |= literal_defaults(path)
    return found


def test_the_scanner_sees_each_way_of_writing_a_default(tmp_path, monkeypatch):
    source = ("TOL = 1e-4\nclass S:\n    epochs: int = 10\n"
              "def f(x, lr=0.1, *, max_iter=None, seed=3):\n    p.add_argument('--batch-size', default=64)\n"
              "    tol = 1e-3\ndef g(reg_strength=REG, epochs=0):\n    pass\n")
    (tmp_path / "m.py").write_text(source)
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path)
    assert literal_defaults(tmp_path / "m.py") == {("m.py", "TOL"), ("m.py", "epochs"), ("m.py", "lr"),
                                                    ("m.py", "batch_size")}


def test_no_module_writes_its_own_default_for_what_the_table_holds():
    found = scan() - set(FIXED)
    assert found <= PENDING, f"literal defaults outside linclass/defaults.py: {sorted(found - PENDING)}"


def test_pending_literals_are_still_there():
    gone = PENDING - scan()
    assert not gone, f"these now read the table: remove them from PENDING: {sorted(gone)}"


@pytest.mark.parametrize("estimator", [SoftmaxClassifier, LinearSVM])
def test_the_estimators_signatures_show_the_table(estimator):
    signature = inspect.signature(estimator.__init__).parameters
    for parameter, name in SKLEARN.items():
        assert signature[parameter].default == value("estimator", name), parameter


def test_settings_base_layer_is_the_train_row():
    base = Settings()
    for name in ("reg_strength", "lr", "batch_size", "epochs"):
        assert getattr(base, name) == TABLE["train"][name], name


def test_every_lbfgs_tolerance_and_budget_has_its_reason():
    for context, row in TABLE.items():
        for name in row:
            if name.startswith("lbfgs_"):
                assert (context, name) in REASONS and REASONS[(context, name)].strip(), (context, name)


def test_an_unknown_default_names_the_known_ones():
    with pytest.raises(ParameterError, match="probe.lbfgs_tol"):
        defaults.value("probe", "nonsense")
