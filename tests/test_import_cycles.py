"""Guard: no import cycle between product modules (issue 15).

Builds the module graph of the product packages from their source (every import, module level or
not: an import moved into a function still ties the two modules together) and fails on any strongly
connected component of more than one module that ALLOWED does not list with a reason.
"""

from __future__ import annotations

import ast
from collections import defaultdict

from tests.source_tree import absolute, module_name, parsed, product_files, product_packages

# Known cycles, each with the reason it is still allowed (none: keep it that way).
ALLOWED: dict[frozenset[str], str] = {}


def module_graph() -> dict[str, set[str]]:
    """Product module → the product modules it imports."""
    packages = product_packages()
    files = {module_name(path): path for path in product_files() if path.parts[0] in packages}

    def known(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in files.items():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = absolute(path, node)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                           for alias in node.names]
            else:
                continue
            graph[name].update(target for t in targets if (target := known(t)) and target != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_cycles_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]


def test_no_import_cycle_between_product_modules():
    found = cycles(module_graph())
    unexpected = [sorted(component) for component in found if component not in ALLOWED]
    assert not unexpected, ("Import cycles (move the shared piece to its own module, or the entry point above "
                            f"both): {unexpected}")
    assert not set(ALLOWED) - set(found), f"Allowed cycles that are gone: remove {set(ALLOWED) - set(found)}"
