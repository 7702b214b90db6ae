"""Guard: product code imports at module level (issue 15).

An import hidden inside a function usually dodges an import cycle, and says the boundary between two
modules is in the wrong place: move the boundary (a shared piece to its own module, beat entry points
to ``periodic.py``…) instead. Stdlib imports simply go to the top. The few legitimate cases are listed
in ALLOWED, each with its reason.
"""

from __future__ import annotations

import ast
from fnmatch import fnmatch
from pathlib import Path

from tests.source_tree import absolute, parsed, product_files

# (file glob, function qualname glob, imported module or its prefix) → why it may import inside that function.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("*/apps.py", "*.ready", "*"):
        "AppConfig.ready: models, signal receivers and tasks may only load once the app registry is ready",
    ("manage.py", "main", "django.core.management"):
        "Django's manage.py: the settings module is chosen before Django is imported",
    ("bench/*.py", "*", "django"):
        "benchmarks start their own database, then call django.setup(): Django is usable only after",
    ("bench/*.py", "*", "clusters"): "benchmarks: Slipway code needs django.setup() first (see above)",
    ("bench/*.py", "*", "environments"): "benchmarks: Slipway code needs django.setup() first (see above)",
    ("bench/*.py", "*", "migrations_tool"): "benchmarks: Slipway code needs django.setup() first (see above)",
    ("bench/*.py", "*", "portal"): "benchmarks: Slipway code needs django.setup() first (see above)",
    ("bench/*.py", "*", "psycopg"): "benchmarks: the database client is loaded by the mode that creates the database",
    ("bench/*.py", "*", "redis"): "benchmarks: the Redis client is loaded by the side that uses it",
    ("bench/*.py", "*", "aiohttp"): "benchmarks: the websocket client is loaded only by the log-stream viewer",
    ("bench/*.py", "*", "kubernetes"): "benchmarks: the Kubernetes client is loaded after setup, by the modes that drive the control plane",
    ("devstack/moto_persistent.py", "*", "moto"):
        "moto is a development dependency (requirements-dev.txt), not in the image that carries devstack/",
    ("devstack/moto_persistent.py", "main", "werkzeug.serving"): "moto's server, loaded with moto (see above)",
}


def imports_inside_functions(path: Path) -> list[tuple[int, str, str]]:
    """(line, function qualname, imported module) of each import inside a function or method of ``path``."""
    found: list[tuple[int, str, str]] = []

    def visit(node: ast.AST, scope: list[str], in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                visit(child, [*scope, child.name],
                      in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))
            elif in_function and isinstance(child, ast.Import):
                found.extend((child.lineno, ".".join(scope), alias.name) for alias in child.names)
            elif in_function and isinstance(child, ast.ImportFrom):
                found.append((child.lineno, ".".join(scope), absolute(path, child)))
            else:
                visit(child, scope, in_function)

    visit(parsed(path), [], False)
    return found


def allowed(path: Path, function: str, module: str) -> bool:
    return any(fnmatch(str(path), file) and fnmatch(function, qualname)
               and (prefix == "*" or module == prefix or module.startswith(prefix + "."))
               for file, qualname, prefix in ALLOWED)


def test_no_import_inside_a_function_of_product_code():
    hidden = [f"{path}:{line} in {function}(): import of {module}"
              for path in product_files() for line, function, module in imports_inside_functions(path)
              if not allowed(path, function, module)]
    assert not hidden, ("Imports inside functions (move them to the top; if they dodge a cycle, move the "
                        "boundary instead; a real exception goes in ALLOWED with its reason):\n" + "\n".join(hidden))


def test_every_allowed_entry_is_still_needed():
    """An allow-list entry nothing matches any more is removed, so the list only shrinks."""
    used = {(file, qualname, prefix) for path in product_files()
            for _, function, module in imports_inside_functions(path)
            for file, qualname, prefix in ALLOWED
            if fnmatch(str(path), file) and fnmatch(function, qualname)
            and (prefix == "*" or module == prefix or module.startswith(prefix + "."))}
    assert not set(ALLOWED) - used, f"Allow-list entries that match nothing: {sorted(set(ALLOWED) - used)}"
