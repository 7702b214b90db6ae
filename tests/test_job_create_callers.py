"""Every ``job_create(`` in product code says what happens when its task cannot be queued (issue 18).

A caller that moved something into a waiting status before the job runs passes ``on_unqueued`` (moving it
out again: tests/reliability/test_unqueued_jobs.py drives each); a caller with nothing waiting is listed
below with the reason. A new caller is refused until it does one or the other.
"""

from __future__ import annotations

import ast

from tests.source_tree import ROOT, parsed, product_files

# (module, enclosing function): why the failed job (failed with the reason, audited) is record enough.
NEEDS_NONE = {
    ("clusters/services.py", "cluster_addons_start"): "the cluster's status is not touched before the job runs",
    ("environments/orphans/services.py", "orphans_sweep_start"):
        "nothing waits: a sweep is 'active' only while its job is queued or running",
    ("environments/hostnames/services.py", "dns_sweep_start"): "nothing waits: the sweep is only its job",
    ("portal/jobs/services.py", "selfcheck_start"): "nothing waits: the self-check is only its job",
}


def job_create_calls() -> dict[tuple[str, str], bool]:
    """(module, enclosing function) → whether every ``job_create(`` call there passes ``on_unqueued``."""
    found: dict[tuple[str, str], bool] = {}
    for path in product_files():
        if "job_create(" not in (ROOT / path).read_text(encoding="utf-8"):
            continue  # parse only the modules that could call it
        for function in ast.walk(parsed(path)):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                name = getattr(node, "func", None)
                if isinstance(node, ast.Call) and getattr(name, "id", getattr(name, "attr", "")) == "job_create":
                    passes = any(k.arg == "on_unqueued" for k in node.keywords)
                    key = (path.as_posix(), function.name)
                    found[key] = found.get(key, True) and passes
    return found


def test_every_job_create_call_passes_on_unqueued_or_is_listed_with_a_reason():
    calls = job_create_calls()
    assert len(calls) >= 10, calls  # the walk finds the callers (sleep, copies, terraform, chaos, …)
    missing = sorted(key for key, passes in calls.items() if not passes and key not in NEEDS_NONE)
    assert not missing, f"job_create without on_unqueued (pass one, or list it in NEEDS_NONE with why): {missing}"
    stale = sorted(key for key in NEEDS_NONE if key not in calls or calls[key])
    assert not stale, f"NEEDS_NONE lists callers that no longer exist or now pass on_unqueued: {stale}"
