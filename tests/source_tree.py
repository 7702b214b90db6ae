"""The product's Python source, parsed, for the tests that guard its import structure (issue 15).

Product code is every ``.py`` file of the repository outside ``tests/``, ``var/``, migrations and hidden
directories (``.venv``, ``.git``); the product packages are the top-level directories with an
``__init__.py`` (``clusters``, ``environments``, ``migrations_tool``, ``portal``…), found, not listed,
so a new package is guarded from its first commit.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PRODUCT = {"tests", "var", "migrations", "node_modules", "static", "staticfiles"}


def product_files() -> list[Path]:
    """Paths (relative to the repository root) of every product module, sorted."""
    found = []
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if any(part in NOT_PRODUCT or part.startswith(".") for part in parts[:-1]):
            continue
        found.append(path.relative_to(ROOT))
    return sorted(found)


def product_packages() -> set[str]:
    """The top-level packages of the product (not ``tests``)."""
    return {path.parent.name for path in ROOT.glob("*/__init__.py")} - NOT_PRODUCT


def module_name(path: Path) -> str:
    """``environments/hostnames/services.py`` → ``environments.hostnames.services`` (a package: its own name)."""
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def parsed(path: Path) -> ast.Module:
    return ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=str(path))


def absolute(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a ``from … import`` names (``from ..services import x`` in a subpackage → its parent's)."""
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[:len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])
