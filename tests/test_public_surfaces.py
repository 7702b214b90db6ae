"""Guard: no module uses another Slipway module's ``_private`` name (issue 15).

ruff's PLC2701 (pyproject) refuses ``from other_package.module import _name`` across top-level
packages, but exempts imports inside one top-level package (``environments.hostnames.services``
importing ``environments.services._x``), and does not see ``module._name`` after ``from . import module``.
This test covers both, for product code and tests alike: what another module needs gets a public name
in the module that owns it. (Django's ``Model._meta`` is public API despite its underscore.)
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.source_tree import ROOT, absolute, module_name, parsed, product_files, product_packages

# (file, module, name) → why it may still reach a private name (none: keep it that way).
ALLOWED: dict[tuple[str, str, str], str] = {}
PUBLIC_DESPITE_UNDERSCORE = {"_meta"}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in PUBLIC_DESPITE_UNDERSCORE


def checked_files() -> list[Path]:
    tests = sorted(path.relative_to(ROOT) for path in (ROOT / "tests").rglob("*.py"))
    return [*product_files(), *tests]


def private_uses(path: Path, first_party: set[str], modules: set[str]) -> list[tuple[int, str, str]]:
    """(line, module, private name) for each first-party module's private name that ``path`` uses."""
    own = module_name(path)
    bound: dict[str, str] = {}  # local name → first-party module it is bound to
    found: list[tuple[int, str, str]] = []
    tree = parsed(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = absolute(path, node)
            if base.split(".")[0] not in first_party:
                continue
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    bound[alias.asname or alias.name] = f"{base}.{alias.name}"
                elif is_private(alias.name) and base != own:
                    found.append((node.lineno, base, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in first_party:
                    # ``import a.b as c`` binds c to a.b; ``import a.b`` binds a (used as a.b.name).
                    local = alias.asname or alias.name.split(".")[0]
                    bound[local] = alias.name if alias.asname else local
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and is_private(node.attr)):
            continue
        head, _, rest = (dotted(node.value) or "").partition(".")
        if head in bound:
            target = f"{bound[head]}.{rest}" if rest else bound[head]
            if target in modules and target != own:
                found.append((node.lineno, target, node.attr))
    return found


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (base := dotted(node.value)):
        return f"{base}.{node.attr}"
    return None


def test_no_private_name_of_another_module_is_used():
    first_party = product_packages() | {"tests"}
    modules = {module_name(path) for path in checked_files()}
    reached = [f"{path}:{line}: {module}.{name}" for path in checked_files()
               for line, module, name in private_uses(path, first_party, modules)
               if (str(path), module, name) not in ALLOWED]
    assert not reached, "Private names used from another module (give them a public name):\n" + "\n".join(reached)


def test_every_allowed_entry_is_still_needed():
    first_party = product_packages() | {"tests"}
    modules = {module_name(path) for path in checked_files()}
    used = {(str(path), module, name) for path in checked_files()
            for _, module, name in private_uses(path, first_party, modules)}
    assert not set(ALLOWED) - used, f"Allow-list entries that match nothing: {sorted(set(ALLOWED) - used)}"
