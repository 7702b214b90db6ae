"""Class 11 for pages: every page answers junk in its GET parameters with a page (or a 400 that says
why), never a 500. The routes come from the resolver, so a new page is covered by itself."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

PARAMS = ["page", "target", "blueprint", "with", "source", "from", "to", "tail", "state", "status", "drift",
          "since", "until", "q", "team", "stage", "component", "environment", "after", "cursor", "kind",
          "waiting", "sort", "order", "ordering", "action", "actor", "object_type", "start", "end", "text"]
JUNK = ["abc", "-1", "99999999999999999999999", "\x00", "'\"<x>", "1e9", "2026-13-45", ""]
SKIP_PREFIXES = ("api/", "admin/", "static/", "logout/", "password/set/")


def _routes(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _fill(route: str, ids: dict) -> str | None:
    path = route.lstrip("^").rstrip("$")
    for name, value in ids.items():
        path = path.replace(name, str(value))
    return None if "<" in path or "(" in path or "\\" in path else "/" + path


@pytest.mark.django_db
def test_every_page_survives_junk_parameters(probe_world):
    users, cluster, environment, job = probe_world.users, probe_world.cluster, probe_world.environment, probe_world.job
    blueprint = probe_world.blueprint
    ids = {"<int:environment_id>": environment.pk, "<int:cluster_id>": cluster.pk, "<int:blueprint_id>": blueprint.pk,
           "<int:component_id>": blueprint.components.first().pk, "<uuid:job_id>": job.pk,
           "<str:object_type>": "environment", "<str:object_id>": environment.pk}
    pages = sorted({p for r in _routes(get_resolver().url_patterns) if not r.startswith(SKIP_PREFIXES)
                    for p in [_fill(r, ids)] if p})
    assert len(pages) > 20
    failures = []
    for role in ("qa", "admin"):
        client = Client(raise_request_exception=False)
        client.force_login(users[role])
        for page in pages:
            for junk in JUNK:
                response = client.get(page, {name: junk for name in PARAMS})
                if response.status_code >= 500:
                    failures.append(f"{role} GET {page} ?…={junk!r}: {response.status_code}")
                    break
    assert not failures, "\n".join(failures)
