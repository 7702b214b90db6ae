"""Class 11 for pages: every page answers junk in its GET parameters with a page (or a 400 that says
why), never a 500. The routes come from the resolver, so a new page is covered by itself."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from clusters.models import Cluster
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor

from ..environments.test_services import KUBECONFIG, VERSIONS
from ..factories import JobFactory

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
def test_every_page_survives_junk_parameters(users, team, aws_settings):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="local", kind="existing", kubeconfig=KUBECONFIG,
                                     api_server="https://127.0.0.1:1", is_default=True)
    environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                     blueprint=Blueprint.objects.get(name="shop"), name="qa-1", stage="qa",
                                     team=team, versions=dict(VERSIONS))
    Environment.objects.filter(pk=environment.pk).update(status=Environment.READY)
    job = JobFactory()
    blueprint = Blueprint.objects.get(name="shop")
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
