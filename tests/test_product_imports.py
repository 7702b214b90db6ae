"""Product code never imports the test suite: `tests/` holds only tests (issue 15).

What product code and tests share, such as the local stack that `make run` and the test fixtures
both start, lives in a product package (`devstack/`) that tests import, never the other way round.
The check reads every product module's syntax tree, so an import hidden inside a function counts too.
The local stack itself (`devstack/`) imports none of Slipway's apps either: it runs before Django is set up.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The suite itself, virtualenvs, runtime state and generated or cached files are not product code.
NOT_PRODUCT = {"tests", ".venv", "venv", "var", ".git", ".stack", "node_modules", "staticfiles",
               "test-artifacts", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "control"}


def product_modules(root: Path = ROOT) -> list[Path]:
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in NOT_PRODUCT)
        found += [Path(directory, name) for name in sorted(files) if name.endswith(".py")]
    return found


def imports_of_tests(source: str, filename: str = "<source>") -> list[str]:
    """Each import of `tests` (or `tests.*`) in ``source``, as "line N: statement"."""
    return imports_of(source, {"tests"}, filename)


def imports_of(source: str, packages: set[str], filename: str = "<source>") -> list[str]:
    """Each import of one of ``packages`` (or a module inside one) in ``source``, as "line N: statement"."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in {"import_module", "__import__"}):
            names = [node.args[0].value]  # importlib.import_module("tests.x") / __import__("tests")
        else:
            continue
        if any(name.split(".")[0] in packages for name in names):
            found.append(f"line {node.lineno}: {ast.get_source_segment(source, node)}")
    return found


def test_no_product_module_imports_tests():
    modules = product_modules()
    scanned = {path.relative_to(ROOT).as_posix() for path in modules}
    # The walk reaches the product commands that start the local stack, and devstack itself.
    assert {"portal/management/commands/runportal.py", "devstack/control_plane.py", "manage.py"} <= scanned
    offenders = {}
    for path in modules:
        hits = imports_of_tests(path.read_text(), str(path))
        if hits:
            offenders[path.relative_to(ROOT).as_posix()] = hits
    assert not offenders, f"product code imports the test suite (move what it needs to a product package): " \
                          f"{offenders}"


def test_the_check_sees_every_form_of_import():
    source = ("import tests\nimport os, tests.factories as f\nfrom tests.fixtures.stack import in_ci\n"
              "def later():\n    from tests import settings\n    importlib.import_module('tests.settings')\n"
              "from .tests import x\nimport testsuite\nfrom devstack.process import Context\n")
    assert [hit.split(":")[0] for hit in imports_of_tests(source)] == ["line 1", "line 2", "line 3", "line 5", "line 6"]


# The local stack starts before Django is configured (`python -m devstack up`, the test settings'
# database): it must not import Slipway's apps, whose modules expect configured settings.
SLIPWAY_PACKAGES = {"portal", "clusters", "environments", "migrations_tool", "tests"}


def test_devstack_imports_none_of_slipways_apps():
    modules = sorted((ROOT / "devstack").rglob("*.py"))
    assert ROOT / "devstack" / "control_plane.py" in modules
    offenders = {path.relative_to(ROOT).as_posix(): hits for path in modules
                 if (hits := imports_of(path.read_text(), SLIPWAY_PACKAGES, str(path)))}
    assert not offenders, f"devstack imports Slipway's apps: {offenders}"
