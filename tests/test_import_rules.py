"""Import boundaries ruff cannot express: the layers below ``environments`` import nothing from it.

ruff's banned-api table is one per configuration, and a nested configuration replaces the root's
table rather than adding to it, so "clusters may not import environments" is checked here by
walking the AST of every module (imports inside functions included).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``; relative imports are skipped
    (they stay inside their own package)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def imports_of(package: str, forbidden: str) -> list[str]:
    """"path:line module" for every import of ``forbidden`` (or a submodule) in ``package``'s modules."""
    hits = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imported_modules(path.read_text()):
            if module == forbidden or module.startswith(f"{forbidden}."):
                hits.append(f"{path.relative_to(ROOT)}:{line} {module}")
    return hits


def test_clusters_imports_nothing_from_environments():
    assert imports_of("clusters", "environments") == []


def test_the_walk_sees_imports_inside_functions_too():
    source = "import os\n\ndef f():\n    from environments.models import Environment\n    import environments.selectors\n"
    assert [m for _, m in imported_modules(source)] == ["os", "environments.models", "environments.selectors"]
