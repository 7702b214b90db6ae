"""The permission matrix, generated from the routes (issue 14, class 5).

Every URL pattern, API endpoint (each HTTP method it allows) and websocket route is enumerated
from the resolvers; each is requested as every role against an object of the caller's team, of
another team and of production, and the outcome is compared with ``permission_table``.

An outcome is ALLOWED unless the answer is a refusal: 401, 403, 404 or a redirect to the login
page. Routes that CREATE are sent a valid body whose team/stage is the scope's, and count as
allowed only when something was created (201/202, or a page's redirect to the new object): a
form shown again with an error is a refusal there. Each request runs in a savepoint that is
rolled back, so every request sees the same world.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clusters.models import Cluster, TerraformRun
from environments.chaos.models import ChaosExperiment, ChaosRun
from environments.hostnames.models import ClusterDns, DnsSweep
from environments.models import (
    Blueprint,
    Component,
    Environment,
    EnvironmentRequest,
    ImageVersion,
    QuotaPolicy,
    Registry,
)
from environments.services import environment_create
from environments.sleep.models import SleepSchedule
from migrations_tool.models import DataCopy, DataServer, DataStore
from portal.accounts import roles
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.routing import websocket_urlpatterns
from tests.factories import JobFactory, TeamFactory, UserFactory

from .permission_table import POLICIES, ROLES, SCOPES, TABLE, Route

KUBECONFIG = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "c",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}], "users": [{"name": "u", "user": {}}]})
VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}
TEAM_KINDS = {"env", "copy", "job", "data_store", "chaos_experiment", "chaos_run", "env_request"}
_FORMAT_SUFFIX = re.compile(r"\\\.\(\?P<format>")


# --- enumerating the routes -------------------------------------------------------------------

def _methods(pattern: URLPattern) -> set[str] | None:
    """The HTTP methods a route serves when its view says so (DRF viewsets and API views), else None."""
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:
        # DRF adds "head" to a viewset's actions once it has served a GET.
        return {method.upper() for method in actions} - {"HEAD"}
    view_class = getattr(callback, "cls", None)
    if view_class is not None and hasattr(view_class, "http_method_names"):
        served = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m) and m != "options"}
        return served - {"HEAD"}
    return None


def http_routes() -> dict[str, tuple[URLPattern, set[str] | None]]:
    """Route key (namespaced URL name, or the pattern when unnamed) → its pattern and served methods."""
    found: dict[str, tuple[URLPattern, set[str] | None]] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    found["admin:*"] = (None, None)
                    continue
                walk(entry, prefix + str(entry.pattern), entry.namespace or namespace)
                continue
            if _FORMAT_SUFFIX.search(str(entry.pattern)) or "<drf_format_suffix" in str(entry.pattern):
                continue  # the same view with ".json" on the end
            key = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or prefix + str(entry.pattern)
            methods = _methods(entry)
            if key in found and found[key][1] is not None and methods is not None:
                methods |= found[key][1]
            found[key] = (entry, methods)

    walk(get_resolver(), "", None)
    return found


def websocket_routes() -> list[str]:
    return [f"ws:{route.pattern}" for route in websocket_urlpatterns]


def test_every_route_is_in_the_permission_table():
    routes = http_routes()
    missing = [key for key in [*routes, *websocket_routes()] if key not in TABLE]
    assert not missing, "\n".join(f"add {key} to the permission table" for key in missing)
    stale = [key for key in TABLE if key not in routes and key not in websocket_routes()]
    assert not stale, f"the permission table names routes that no longer exist: {stale}"
    for key, (_, served) in routes.items():
        if served is not None:
            assert set(TABLE[key].methods) == served, (
                f"{key} serves {sorted(served)}; the permission table lists {sorted(TABLE[key].methods)}")
    for key, route in TABLE.items():
        for method, policy in route.methods.items():
            assert policy in POLICIES, f"{key} {method}: unknown policy {policy}"


# --- the world: two teams, every role, one object of each kind per scope ---------------------------

@pytest.fixture
def world(db):
    call_command("seed_demo_blueprint", verbosity=0)
    own, other = TeamFactory(slug="payments", name="Payments"), TeamFactory(slug="search", name="Search")
    people: dict[str, Any] = {"anonymous": None, "none": UserFactory(username="m-none", teams=[own])}
    for key, role in (("qa", roles.QA), ("developer", roles.DEVELOPERS), ("manager", roles.MANAGERS),
                      ("admin", roles.PLATFORM_ADMINS)):
        people[key] = UserFactory(username=f"m-{key}", roles=[role], teams=[own])
    admin = people["admin"]
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    blueprint = Blueprint.objects.get(name="shop")

    def environment(name: str, team, stage: str) -> Environment:
        env = environment_create(actor=Actor.for_user(admin), user=admin, cluster=cluster, blueprint=blueprint,
                                 name=name, stage=stage, team=team, versions=dict(VERSIONS))
        Environment.objects.filter(pk=env.pk).update(status=Environment.READY)
        env.refresh_from_db()
        # (With on-commit work running, as in the websocket tests, the rollout may have made it already.)
        DataStore.objects.get_or_create(environment=env, kind="mysql", defaults={
            "name": "db", "host": "127.0.0.1", "port": 1, "user": "u", "password": "p", "database": f"db_{env.pk}"})
        return env

    envs = {"own": environment("qa-own", own, "qa"), "other": environment("qa-other", other, "qa"),
            "prod": environment("prod-own", own, "prod"), "own_source": environment("qa-src", own, "qa")}

    def copy(source, target) -> DataCopy:
        return DataCopy.objects.create(source=source, target=target, team=target.team, stores=["mysql"],
                                       job=JobFactory(team=target.team, started_by=admin), started_by=admin,
                                       state=DataCopy.VERIFIED)

    run = TerraformRun.objects.create(cluster=cluster, action=TerraformRun.PLAN, started_by=admin)
    experiments = {scope: ChaosExperiment.objects.create(environment=envs[scope], name="kill-api", fault="pod-kill",
                                                         target="api") for scope in SCOPES}
    # A finished run (the only status a test may write directly: no run job is involved).
    chaos_runs = {scope: ChaosRun.objects.create(experiment=e, environment=e.environment, fault=e.fault,
                                                 status=ChaosRun.RECOVERED, revision_number=1, recovery_seconds=2.0)
                  for scope, e in experiments.items()}
    objects = {
        "env": envs,
        "env_source": dict.fromkeys(SCOPES, envs["own"]),
        "job": {scope: envs[scope].rollouts.first().job for scope in SCOPES},
        "copy": {scope: copy(envs["own_source"] if scope != "other" else envs["other"], envs[scope])
                 for scope in SCOPES},
        "data_store": {scope: envs[scope].data_stores.first() for scope in SCOPES},
        "cluster": cluster, "run": run, "user": people["developer"], "team": own,
        "component": Component.objects.first(), "image_version": ImageVersion.objects.first(),
        "blueprint": blueprint,
        "registry": Registry.objects.create(name="hub", kind=Registry.V2, url="https://registry.example.test"),
        "data_server": DataServer.objects.create(cluster=cluster, kind="mysql", host="127.0.0.1", port=1),
        # On a cluster of its own: with hostname settings, creating an environment would ask Route 53.
        "cluster_dns": ClusterDns.objects.create(cluster=Cluster.objects.create(name="dns", kind="local"),
                                                 zone_id="Z1", zone_name="example.test", target="lb.example.test"),
        "dns_sweep": DnsSweep.objects.create(zone_id="Z1", zone_name="example.test", owner_id="slipway"),
        "audit_event": AuditEvent.objects.order_by("pk").first(),
        "chaos_experiment": experiments, "chaos_run": chaos_runs,
        # Issue 17, wake part: a default sleep schedule.
        "sleep_default": SleepSchedule.objects.create(stage="dev", sleep_cron="0 20 * * *"),
        # Policies (issue 17): requests for production environments (the developer's in the own team).
        "env_request": {scope: EnvironmentRequest.objects.create(
            requested_by=people["developer"] if scope != "other" else admin, name=f"ask-{scope}-r", cluster=cluster,
            blueprint=blueprint, stage="prod", team=other if scope == "other" else own, versions=dict(VERSIONS))
            for scope in SCOPES},
        "stage_policy": SimpleNamespace(pk="qa"),  # the stage is the policy's key in its URLs
        "quota_policy": QuotaPolicy.objects.create(team=None),
    }
    return {"people": people, "cluster": cluster, "blueprint": blueprint, "versions": dict(VERSIONS),
            "objects": objects, "target": {"own": (own, "qa"), "other": (other, "qa"), "prod": (own, "prod")}}


def _object(world: dict[str, Any], kind: str, scope: str) -> Any:
    found = world["objects"][kind]
    return found[scope] if isinstance(found, dict) else found


def _kwargs(pattern: URLPattern, kind: str | None, world: dict[str, Any], scope: str) -> dict[str, Any]:
    names = list(getattr(pattern.pattern, "converters", {}) or pattern.pattern.regex.groupindex)
    if kind == "audit_object":
        return {"object_type": "environment", "object_id": str(world["objects"]["env"]["own"].pk)}
    if kind == "people_table":
        return {"table": "users"}
    if kind == "cluster_dns":
        return {"cluster": world["objects"]["cluster_dns"].cluster.name}
    if not names:
        return {}
    if "uidb64" in names:
        return {"uidb64": "MQ", "token": "not-a-token"}
    obj = _object(world, kind, scope)
    return {names[0]: obj.pk}


def _url(key: str, pattern: URLPattern, route: Route, world: dict[str, Any], scope: str) -> str:
    if key == "admin:*":
        return "/admin/"
    kwargs = _kwargs(pattern, route.kind, world, scope)
    url = reverse(key, kwargs=kwargs) if pattern.name else "/" + str(pattern.pattern)
    return f"{url}?{route.query}" if route.query else url


def _refused(response, *, creates: bool, signs_out: bool = False) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if response.status_code in (301, 302, 303):
        # A page's redirect after an action counts as done; to the sign-in page, as refused (but
        # signing out always ends there).
        return not signs_out and response.get("Location", "").startswith(("/login/", "/admin/login/"))
    if creates:
        return response.status_code not in (201, 202)
    return False


def _request(client: Client, method: str, url: str, body: Any, *, api: bool):
    if api:
        return client.generic(method, url, data=json.dumps(body or {}), content_type="application/json",
                              HTTP_ACCEPT="application/json")
    # Pages answer GET and (form-encoded) POST only.
    return client.get(url) if method == "GET" else client.post(url, data=body or {})


def _cases() -> list[tuple[str, str]]:
    return [(key, method) for key, route in TABLE.items() if not key.startswith("ws:")
            for method in route.methods]


@pytest.mark.parametrize(("key", "method"), _cases(), ids=[f"{k} {m}" for k, m in _cases()])
def test_route_obeys_the_permission_table(world, key, method):
    pattern = None if key == "admin:*" else http_routes()[key][0]
    route = TABLE[key]
    policy = POLICIES[route.methods[method]]
    body_for = route.bodies.get(method)
    scopes = SCOPES if (route.kind in TEAM_KINDS or body_for is not None) else ("own",)
    wrong, errors = [], []
    for scope in scopes:
        for role in ROLES:
            client = Client(raise_request_exception=False)
            with transaction.atomic():
                if world["people"][role] is not None:
                    client.force_login(world["people"][role])
                url = _url(key, pattern, route, world, scope)
                body = body_for(world, scope) if body_for else None
                response = _request(client, method, url, body, api=key.startswith("api:"))
                transaction.set_rollback(True)
            allowed = not _refused(response, creates=body_for is not None, signs_out=key == "logout")
            if response.status_code >= 500:
                errors.append(f"{role:9} {scope:5} → {response.status_code}")
            if allowed != policy[scope][role]:
                wrong.append(f"{role:9} {scope:5} → {response.status_code} "
                             f"{response.get('Location', '')} (expected {'allowed' if policy[scope][role] else 'denied'})"
                             f" {response.content[:300]!r}")
    assert not wrong, f"{method} {key}:\n" + "\n".join(wrong)
