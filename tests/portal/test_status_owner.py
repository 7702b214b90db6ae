"""A status changes in one place (issue 15): no product module writes a ``status`` itself.

Walks the product code: a queryset ``.update(status=…)``, a ``save(update_fields=[…"status"…])`` or an
assignment ``thing.status = …`` outside portal/status_machine.py is a second writer the lifecycle
tables (environments/lifecycle.py, clusters/lifecycle.py) do not see. Creating a row with its initial
status (``objects.create(status=…)``) is not a transition and is allowed. ``state`` is a column of
several models (jobs, Terraform runs, hostname records), so for a data copy (migrations_tool/lifecycle.py)
the walk looks at ``DataCopy.objects….update(state=…)`` and ``copy.state = …``, and for an environment
request (environments/policies/lifecycle.py) at ``EnvironmentRequest.objects….update(state=…)``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [p for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "tests"]
OWNER = ROOT / "portal" / "status_machine.py"
STATUS_FIELDS = {"status", "status_message"}


def status_writes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            keywords = {k.arg for k in node.keywords}
            if node.func.attr == "update" and keywords & STATUS_FIELDS:
                found.append((node.lineno, "queryset update of status"))
            if node.func.attr == "update" and "state" in keywords and ast.unparse(node.func).startswith("DataCopy."):
                found.append((node.lineno, "queryset update of a data copy's state"))
            if node.func.attr == "update" and "state" in keywords and ast.unparse(node.func).startswith("Orphan."):
                found.append((node.lineno, "queryset update of an orphan's state"))
            # Policies (issue 17): an environment request's state moves through environments/policies/lifecycle.py.
            if node.func.attr == "update" and keywords & {"state", "decision_reason"} and ast.unparse(
                    node.func).startswith("EnvironmentRequest."):
                found.append((node.lineno, "queryset update of an environment request's state"))
            for keyword in node.keywords:
                if node.func.attr == "save" and keyword.arg == "update_fields" and any(
                        isinstance(c, ast.Constant) and c.value in STATUS_FIELDS for c in ast.walk(keyword.value)):
                    found.append((node.lineno, "save(update_fields=[status])"))
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                # ``self.status`` in a class of its own (a log stream's) is that object's, not a model row's.
                if (isinstance(element, ast.Attribute) and element.attr in STATUS_FIELDS
                        and not (isinstance(element.value, ast.Name) and element.value.id == "self")):
                    found.append((node.lineno, f"assignment to .{element.attr}"))
                if (isinstance(element, ast.Attribute) and element.attr == "state"
                        and isinstance(element.value, ast.Name) and element.value.id == "copy"):
                    found.append((node.lineno, "assignment to a data copy's .state"))
                if (isinstance(element, ast.Attribute) and element.attr == "state"
                        and isinstance(element.value, ast.Name) and element.value.id == "orphan"):
                    found.append((node.lineno, "assignment to an orphan's .state"))
    return sorted(found)


def test_only_the_status_machine_writes_a_status():
    offenders = []
    for package in PRODUCT:
        for path in package.rglob("*.py"):
            if path == OWNER or "migrations" in path.parts:
                continue
            for line, what in status_writes(ast.parse(path.read_text(), filename=str(path))):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offenders == [], "write statuses through a lifecycle's transition():\n" + "\n".join(offenders)


def test_the_walk_finds_each_kind_of_write():
    code = """
Environment.objects.filter(pk=1).update(status="ready", status_message="")
cluster.save(update_fields=["status", "node_count"])
cluster.status, cluster.status_message = "ready", ""
Environment.objects.create(name="x", status="pending")
self.status = 200
DataCopy.objects.filter(pk=1).update(state="undoing", undo_job=job)
copy.state = "failed"
Orphan.objects.filter(pk=1).update(state="removed")
orphan.state = "gone"
EnvironmentRequest.objects.filter(pk=1).update(state="approved")
Job.objects.filter(pk=1).update(state="cancelled")
"""
    assert [what for _, what in status_writes(ast.parse(code))] == [
        "queryset update of status", "save(update_fields=[status])", "assignment to .status",
        "assignment to .status_message", "queryset update of a data copy's state", "assignment to a data copy's .state",
        "queryset update of an orphan's state", "assignment to an orphan's .state",
        "queryset update of an environment request's state"]
