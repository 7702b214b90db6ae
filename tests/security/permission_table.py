"""THE permission table: every route × HTTP method → the policy that decides it.

``test_permission_matrix`` enumerates every URL pattern, API endpoint and websocket route from the
resolvers and fails with "add <route> to the permission table" for any route missing here.

A policy says, for each role (``anonymous``, ``none`` = signed in with no role, ``qa``,
``developer``, ``manager``, ``admin``) and each scope of the object the route acts on, whether the
request is ALLOWED (any answer but a refusal) or DENIED (401/403/404 or the login page).
Scopes: ``own`` — a non-production object of the caller's team; ``other`` — another team's;
``prod`` — the caller's team's production object. Routes on objects that belong to no team
(clusters, catalog, people…) and routes without an object use the ``own`` column only.

Refusals: an object the caller may not see answers 404 (its existence is not disclosed); an object
the caller sees but may not change answers 403. Both count as DENIED here.

For routes that CREATE, the body decides the target (team and stage): ``BODIES`` builds one per
scope, so "own/other/prod" is the team and stage the new object would get.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

ROLES = ("anonymous", "none", "qa", "developer", "manager", "admin")
SCOPES = ("own", "other", "prod")

A, D = True, False  # allowed, denied


def _policy(*, anonymous=D, none=D, qa, developer, manager, admin=A) -> dict[str, bool]:
    return {"anonymous": anonymous, "none": none, "qa": qa, "developer": developer, "manager": manager,
            "admin": admin}


_PUBLIC = _policy(anonymous=A, none=A, qa=A, developer=A, manager=A)
_SIGNED_IN = _policy(none=A, qa=A, developer=A, manager=A)
_ANY_ROLE = _policy(qa=A, developer=A, manager=A)
_SELF_SERVICE = _policy(qa=A, developer=A, manager=D)
_OVERSIGHT = _policy(qa=D, developer=D, manager=A)
_ADMIN = _policy(qa=D, developer=D, manager=D)

# policy name → scope → role → allowed
POLICIES: dict[str, dict[str, dict[str, bool]]] = {
    "public": dict.fromkeys(SCOPES, _PUBLIC),
    "signed_in": dict.fromkeys(SCOPES, _SIGNED_IN),
    "any_role": dict.fromkeys(SCOPES, _ANY_ROLE),
    "self_service": dict.fromkeys(SCOPES, _SELF_SERVICE),
    "oversight": dict.fromkeys(SCOPES, _OVERSIGHT),
    "admin": dict.fromkeys(SCOPES, _ADMIN),
    "staff": dict.fromkeys(SCOPES, _policy(qa=D, developer=D, manager=D, admin=D)),
    # Team objects: read by the team (production included), Managers and admins.
    "team_view": {"own": _ANY_ROLE, "other": _OVERSIGHT, "prod": _ANY_ROLE},
    # Team objects: changed by the team's QA/Developers (never production) and admins; also CREATE
    # judged by the target team/stage.
    "team_change": {"own": _SELF_SERVICE, "other": _ADMIN, "prod": _ADMIN},
    # Policies (issue 17): creating in production (a stage that needs approval) makes a request instead.
    "team_create_or_request": {"own": _SELF_SERVICE, "other": _ADMIN, "prod": _SELF_SERVICE},
    # Requests for environments: cancelled by their requester (the developer, in the world) or an admin.
    "request_cancel": {"own": _policy(qa=D, developer=A, manager=D), "other": _ADMIN,
                       "prod": _policy(qa=D, developer=A, manager=D)},
}


@dataclass(frozen=True)
class Route:
    """``kind``: which world object fills the route's object arguments (None: no object)."""

    methods: dict[str, str]
    kind: str | None = None
    bodies: dict[str, Callable[[dict[str, Any], str], dict]] = field(default_factory=dict)
    query: str = ""
    note: str = ""


def _env_body(world: dict[str, Any], scope: str) -> dict:
    team, stage = world["target"][scope]
    return {"cluster": world["cluster"].name, "blueprint": world["blueprint"].pk, "name": f"new-{scope}",
            "stage": stage, "team": team.slug, "versions": world["versions"]}


def _env_form(world: dict[str, Any], scope: str) -> dict:
    body = _env_body(world, scope)
    return {**{k: v for k, v in body.items() if k != "versions"}, "strategy": "rolling", "ttl_hours": "24",
            **{f"version-{name}": tag for name, tag in world["versions"].items()}}


def _document(world: dict[str, Any], scope: str) -> str:
    team, stage = world["target"][scope]
    return yaml.safe_dump({
        "apiVersion": "slipway.io/v1", "kind": "Environment",
        "metadata": {"name": f"doc-{scope}", "team": team.slug, "stage": stage, "cluster": world["cluster"].name},
        "spec": {"blueprint": {"name": world["blueprint"].name, "version": world["blueprint"].version},
                 "versions": world["versions"]}})


def _apply_body(world: dict[str, Any], scope: str) -> dict:
    return {"document": _document(world, scope), "confirm": True}


def _import_form(world: dict[str, Any], scope: str) -> dict:
    return {"document": _document(world, scope), "confirm": "1"}


def _clone_body(world: dict[str, Any], scope: str) -> dict:
    # Clone the own team's environment (which the caller may see) INTO the scope's team and stage.
    team, stage = world["target"][scope]
    return {"name": f"clone-{scope}", "team": team.slug, "stage": stage}


def _request_body(world: dict[str, Any], scope: str) -> dict:
    # Asking for an environment of the scope's team in production (the stage that needs approval).
    team, _ = world["target"][scope]
    return {**_env_body(world, scope), "name": f"ask-{scope}", "team": team.slug, "stage": "prod"}


def _copy_body(world: dict[str, Any], scope: str) -> dict:
    return {"source": world["objects"]["env"]["own_source"].pk, "target": world["objects"]["env"][scope].pk,
            "stores": ["mysql"], "confirm": world["objects"]["env"][scope].name}


# Route key: the URL name with its namespace (``api:environment-list``), or the pattern for unnamed
# routes; websocket routes are ``ws:<pattern>``; Django's admin site is one entry (``admin:*``).
TABLE: dict[str, Route] = {
    # Sign-in, health, documentation
    "dashboard": Route({"GET": "signed_in"}),
    "healthz": Route({"GET": "public"}),
    "favicon.ico": Route({"GET": "public"}),
    "login": Route({"GET": "public"}),
    "logout": Route({"POST": "public"}, note="answers with a redirect to the sign-in page, for everyone"),
    "password-set": Route({"GET": "public"}, note="the token in the link authorizes; a bad one shows a message"),
    "password-change": Route({"GET": "signed_in"}),
    "api-token": Route({"POST": "public"}, note="credentials in the body authorize"),
    "api-schema": Route({"GET": "public"}, note="the API's description holds no data"),
    "api-docs": Route({"GET": "public"}),
    "api:api-root": Route({"GET": "signed_in"}),
    "api:api-me": Route({"GET": "signed_in"}),
    "admin:*": Route({"GET": "staff"}, note="Django admin: staff accounts only, which no role gives"),
    # People (users, teams): Platform admins
    "people-users": Route({"GET": "admin"}),
    "people-user-new": Route({"GET": "admin", "POST": "admin"}),
    "people-user": Route({"GET": "admin", "POST": "admin"}, kind="user"),
    "people-user-deactivate": Route({"POST": "admin"}, kind="user"),
    "people-user-reactivate": Route({"POST": "admin"}, kind="user"),
    "people-user-password": Route({"POST": "admin"}, kind="user"),
    "people-teams": Route({"GET": "admin"}),
    "people-team-new": Route({"GET": "admin", "POST": "admin"}),
    "people-team": Route({"GET": "admin", "POST": "admin"}, kind="team"),
    "people-export": Route({"GET": "admin"}, kind="people_table"),
    "api:user-list": Route({"GET": "admin", "POST": "admin"}),
    "api:user-export": Route({"GET": "admin"}),
    "api:user-detail": Route({"GET": "admin", "PATCH": "admin"}, kind="user"),
    "api:user-deactivate": Route({"POST": "admin"}, kind="user"),
    "api:user-reactivate": Route({"POST": "admin"}, kind="user"),
    "api:user-reset-password": Route({"POST": "admin"}, kind="user"),
    "api:team-list": Route({"GET": "any_role", "POST": "admin"}, note="teams are read to choose one"),
    "api:team-export": Route({"GET": "admin"}),
    "api:team-detail": Route({"GET": "any_role", "PATCH": "admin"}, kind="team"),
    # Environments
    "environment-list": Route({"GET": "any_role"}),
    "environment-new": Route({"GET": "self_service", "POST": "team_create_or_request"}, bodies={"POST": _env_form}),
    "environment-version-picker": Route({"GET": "self_service"}),
    "environment-cluster-field": Route({"GET": "self_service"}),
    "environment-ttl-field": Route({"GET": "self_service"}, query="stage=qa&ttl_hours=48&ttl_suggested=48"),
    "environment-import": Route({"GET": "self_service", "POST": "team_change"}, bodies={"POST": _import_form}),
    "environment-detail": Route({"GET": "team_view"}, kind="env"),
    "environment-update-versions": Route({"POST": "team_change"}, kind="env"),
    "environment-rollback": Route({"POST": "team_change"}, kind="env"),
    "environment-retry": Route({"POST": "team_change"}, kind="env"),
    "environment-destroy": Route({"POST": "team_change"}, kind="env"),
    "environment-extend": Route({"POST": "team_change"}, kind="env"),
    "environment-document": Route({"GET": "team_view"}, kind="env"),
    "environment-diff": Route({"GET": "team_view"}, kind="env", query="from=1&to=1"),
    "environment-switch": Route({"POST": "team_change"}, kind="env"),
    "environment-retire": Route({"POST": "team_change"}, kind="env"),
    "environment-drift-check": Route({"POST": "team_change"}, kind="env"),
    "environment-reconcile": Route({"POST": "team_change"}, kind="env"),
    "environment-compare": Route({"GET": "team_view"}, kind="env"),
    "environment-clone": Route({"GET": "team_view", "POST": "team_change"}, kind="env_source",
                               bodies={"POST": _clone_body}),
    "environment-promote": Route({"GET": "team_change", "POST": "team_change"}, kind="env"),
    "environment-hostname": Route({"POST": "team_change"}, kind="env"),
    "environment-extra-hostnames": Route({"POST": "team_change"}, kind="env"),
    "environment-copy-data": Route({"GET": "team_change", "POST": "team_change"}, kind="env"),
    "environment-logs": Route({"GET": "team_view"}, kind="env"),
    "environment-log-history": Route({"GET": "team_view"}, kind="env"),
    "api:environment-list": Route({"GET": "any_role", "POST": "team_create_or_request"}, bodies={"POST": _env_body}),
    "api:environment-apply-document": Route({"POST": "team_change"}, bodies={"POST": _apply_body}),
    "api:environment-detail": Route({"GET": "team_view"}, kind="env"),
    "api:environment-clone": Route({"POST": "team_change"}, kind="env_source", bodies={"POST": _clone_body}),
    "api:environment-compare": Route({"GET": "team_view"}, kind="env"),
    "api:environment-destroy-environment": Route({"POST": "team_change"}, kind="env"),
    "api:environment-diff": Route({"GET": "team_view"}, kind="env"),
    "api:environment-document": Route({"GET": "team_view"}, kind="env"),
    "api:environment-drift-check": Route({"POST": "team_change"}, kind="env"),
    "api:environment-extend": Route({"POST": "team_change"}, kind="env"),
    "api:environment-promote": Route({"GET": "team_change", "POST": "team_change"}, kind="env"),
    "api:environment-reconcile": Route({"POST": "team_change"}, kind="env"),
    "api:environment-retire": Route({"POST": "team_change"}, kind="env"),
    "api:environment-retry": Route({"POST": "team_change"}, kind="env"),
    "api:environment-revisions": Route({"GET": "team_view"}, kind="env"),
    "api:environment-rollback": Route({"POST": "team_change"}, kind="env"),
    "api:environment-switch": Route({"POST": "team_change"}, kind="env"),
    "api:environment-versions": Route({"POST": "team_change"}, kind="env"),
    "api:environment-hostnames": Route({"GET": "team_view", "POST": "team_change", "PUT": "team_change"},
                                      kind="env"),
    "api:environment-log-history": Route({"GET": "team_view"}, kind="env"),
    # Chaos experiments: an environment's chaos is seen and changed like the environment; the global kill
    # switch is engaged by Platform admins and Managers and released by Platform admins only.
    "environment-chaos": Route({"GET": "team_view"}, kind="env"),
    "environment-chaos-settings": Route({"POST": "team_change"}, kind="env"),
    "environment-chaos-kill-switch": Route({"POST": "team_change"}, kind="env"),
    "environment-chaos-experiment-new": Route({"GET": "team_change", "POST": "team_change"}, kind="env"),
    "environment-chaos-document": Route({"GET": "team_view", "POST": "team_change"}, kind="env"),
    "environment-chaos-runs-export": Route({"GET": "team_view"}, kind="env"),
    "chaos-experiment-edit": Route({"GET": "team_change", "POST": "team_change"}, kind="chaos_experiment"),
    "chaos-experiment-pause": Route({"POST": "team_change"}, kind="chaos_experiment"),
    "chaos-experiment-delete": Route({"POST": "team_change"}, kind="chaos_experiment"),
    "chaos-experiment-run": Route({"POST": "team_change"}, kind="chaos_experiment"),
    "chaos-run-detail": Route({"GET": "team_view"}, kind="chaos_run"),
    "chaos-run-stop": Route({"POST": "team_change"}, kind="chaos_run"),
    "chaos-index": Route({"GET": "any_role"}),
    "chaos-runs-export": Route({"GET": "any_role"}),
    "chaos-kill-switch-engage": Route({"POST": "oversight"}, note="stopping faults is oversight: Managers too"),
    "chaos-kill-switch-release": Route({"POST": "admin"}),
    "api:environment-chaos-settings": Route({"GET": "team_view", "PATCH": "team_change"}, kind="env"),
    "api:environment-chaos-kill-switch": Route({"POST": "team_change"}, kind="env"),
    "api:environment-chaos-experiments": Route({"GET": "team_view", "POST": "team_change"}, kind="env"),
    "api:environment-chaos-stats": Route({"GET": "team_view"}, kind="env"),
    "api:environment-chaos-badge": Route({"GET": "team_view"}, kind="env"),
    "api:environment-chaos-comparison": Route({"GET": "team_view"}, kind="env", query="a=1&b=1"),
    "api:environment-chaos-document": Route({"GET": "team_view", "PUT": "team_change"}, kind="env"),
    "api:chaos-kill-switch": Route({"GET": "any_role"}),
    "api:chaos-kill-switch-engage": Route({"POST": "oversight"}, note="stopping faults is oversight: Managers too"),
    "api:chaos-kill-switch-release": Route({"POST": "admin"}),
    "api:chaos-experiment-list": Route({"GET": "any_role"}),
    "api:chaos-experiment-detail": Route({"GET": "team_view", "PATCH": "team_change", "DELETE": "team_change"},
                                         kind="chaos_experiment"),
    "api:chaos-experiment-pause": Route({"POST": "team_change"}, kind="chaos_experiment"),
    "api:chaos-experiment-run": Route({"POST": "team_change"}, kind="chaos_experiment"),
    "api:chaos-run-list": Route({"GET": "any_role"}),
    "api:chaos-run-export": Route({"GET": "any_role"}),
    "api:chaos-run-detail": Route({"GET": "team_view"}, kind="chaos_run"),
    "api:chaos-run-stop": Route({"POST": "team_change"}, kind="chaos_run"),
    # Hostnames (cluster DNS settings, sweeps)
    "hostnames-index": Route({"GET": "any_role"}),
    "cluster-dns-edit": Route({"GET": "admin", "POST": "admin"}, kind="cluster"),
    "dns-sweep": Route({"POST": "admin"}),
    "api:cluster-dns-list": Route({"GET": "any_role"}),
    "api:cluster-dns-detail": Route({"GET": "any_role", "PUT": "admin"}, kind="cluster_dns"),
    "api:dns-sweep-list": Route({"GET": "oversight", "POST": "admin"}),
    "api:dns-sweep-detail": Route({"GET": "oversight"}, kind="dns_sweep"),
    # Catalog: every role reads; admins change; QA/Developers add image versions
    "catalog-components": Route({"GET": "any_role"}),
    "catalog-image-versions": Route({"GET": "any_role"}),
    "catalog-blueprints": Route({"GET": "any_role"}),
    "catalog-registries": Route({"GET": "any_role"}),
    "catalog-components-export": Route({"GET": "any_role"}),
    "catalog-image-versions-export": Route({"GET": "any_role"}),
    "catalog-blueprints-export": Route({"GET": "any_role"}),
    "catalog-registries-export": Route({"GET": "any_role"}),
    "catalog-component-new": Route({"GET": "admin", "POST": "admin"}),
    "catalog-component": Route({"GET": "any_role"}, kind="component"),
    "catalog-component-edit": Route({"GET": "admin", "POST": "admin"}, kind="component"),
    "catalog-component-refresh": Route({"POST": "self_service"}, kind="component"),
    "catalog-version-add": Route({"POST": "self_service"}, kind="component"),
    "catalog-blueprint-new": Route({"GET": "admin", "POST": "admin"}),
    "catalog-blueprint-import": Route({"GET": "admin", "POST": "admin"}),
    "catalog-blueprint": Route({"GET": "any_role"}, kind="blueprint"),
    "catalog-blueprint-edit": Route({"GET": "admin", "POST": "admin"}, kind="blueprint"),
    "catalog-blueprint-document": Route({"GET": "any_role"}, kind="blueprint"),
    "catalog-registry-new": Route({"GET": "admin", "POST": "admin"}),
    "catalog-registry-edit": Route({"GET": "admin", "POST": "admin"}, kind="registry"),
    "api:blueprint-list": Route({"GET": "any_role", "POST": "admin"}),
    "api:blueprint-apply-document": Route({"POST": "admin"}),
    "api:blueprint-export": Route({"GET": "any_role"}),
    "api:blueprint-detail": Route({"GET": "any_role", "PUT": "admin"}, kind="blueprint"),
    "api:blueprint-document": Route({"GET": "any_role"}, kind="blueprint"),
    "api:component-list": Route({"GET": "any_role", "POST": "admin"}),
    "api:component-export": Route({"GET": "any_role"}),
    "api:component-detail": Route({"GET": "any_role", "PUT": "admin", "PATCH": "admin"}, kind="component"),
    "api:component-refresh-versions": Route({"POST": "self_service"}, kind="component"),
    "api:image-version-list": Route({"GET": "any_role", "POST": "self_service"}),
    "api:image-version-export": Route({"GET": "any_role"}),
    "api:image-version-detail": Route({"GET": "any_role"}, kind="image_version"),
    "api:registry-list": Route({"GET": "any_role", "POST": "admin"}),
    "api:registry-export": Route({"GET": "any_role"}),
    "api:registry-detail": Route({"GET": "any_role", "PUT": "admin", "PATCH": "admin"}, kind="registry"),
    # Clusters and Terraform runs
    "cluster-list": Route({"GET": "any_role"}),
    "cluster-new": Route({"GET": "admin", "POST": "admin"}),
    "cluster-register": Route({"GET": "admin", "POST": "admin"}),
    "cluster-detail": Route({"GET": "any_role"}, kind="cluster"),
    "cluster-health-check": Route({"POST": "admin"}, kind="cluster"),
    "cluster-addons": Route({"POST": "admin"}, kind="cluster"),
    "cluster-run-start": Route({"POST": "admin"}, kind="cluster"),
    "cluster-destroy": Route({"POST": "admin"}, kind="cluster"),
    "cluster-force-unlock": Route({"POST": "admin"}, kind="cluster"),
    "cluster-state-restore": Route({"POST": "admin"}, kind="cluster"),
    "cluster-state-accept": Route({"POST": "admin"}, kind="cluster"),
    "terraform-run-detail": Route({"GET": "oversight"}, kind="run"),
    "terraform-run-approve": Route({"POST": "admin"}, kind="run"),
    "terraform-run-discard": Route({"POST": "admin"}, kind="run"),
    "api:cluster-list": Route({"GET": "any_role", "POST": "admin"}),
    "api:cluster-register": Route({"POST": "admin"}),
    "api:cluster-detail": Route({"GET": "any_role"}, kind="cluster"),
    "api:cluster-addons": Route({"POST": "admin"}, kind="cluster"),
    "api:cluster-destroy-cluster": Route({"POST": "admin"}, kind="cluster"),
    "api:cluster-force-unlock": Route({"POST": "admin"}, kind="cluster"),
    "api:cluster-health-check": Route({"POST": "admin"}, kind="cluster"),
    "api:cluster-lock": Route({"GET": "oversight"}, kind="cluster"),
    "api:cluster-runs": Route({"POST": "admin"}, kind="cluster"),
    "api:cluster-state": Route({"GET": "oversight"}, kind="cluster"),
    "api:cluster-state-accept": Route({"POST": "admin"}, kind="cluster"),
    "api:cluster-state-restore": Route({"POST": "admin"}, kind="cluster"),
    "api:terraform-run-list": Route({"GET": "oversight"}),
    "api:terraform-run-detail": Route({"GET": "oversight"}, kind="run"),
    "api:terraform-run-approve": Route({"POST": "admin"}, kind="run"),
    "api:terraform-run-discard": Route({"POST": "admin"}, kind="run"),
    # Data copies, stores and servers
    "datacopy-list": Route({"GET": "any_role"}),
    "datacopy-export": Route({"GET": "any_role"}),
    "datacopy-detail": Route({"GET": "team_view"}, kind="copy"),
    "datacopy-progress": Route({"GET": "team_view"}, kind="copy"),
    "datacopy-undo": Route({"POST": "team_change"}, kind="copy"),
    "api:data-copy-list": Route({"GET": "any_role", "POST": "team_change"}, bodies={"POST": _copy_body}),
    "api:data-copy-export": Route({"GET": "any_role"}),
    "api:data-copy-sources": Route({"GET": "self_service"}, note="the sources offered when starting a copy"),
    "api:data-copy-detail": Route({"GET": "team_view"}, kind="copy"),
    "api:data-copy-undo": Route({"POST": "team_change"}, kind="copy"),
    "api:data-server-list": Route({"GET": "admin", "POST": "admin"}),
    "api:data-server-detail": Route({"GET": "admin"}, kind="data_server"),
    "api:data-store-list": Route({"GET": "any_role"}),
    "api:data-store-detail": Route({"GET": "team_view"}, kind="data_store"),
    # Policies (issue 17): every role reads the policies; Platform admins change them. Requests for
    # environments are asked for like environments are created (production too), decided by admins.
    "policies-index": Route({"GET": "any_role"}),
    "stage-policy-edit": Route({"GET": "admin", "POST": "admin"}, kind="stage_policy"),
    "quota-policy-set": Route({"POST": "admin"}),
    "quota-policy-delete": Route({"POST": "admin"}, kind="quota_policy"),
    "policy-notice": Route({"GET": "self_service"}, query="stage=prod&team=payments"),
    "environment-request-list": Route({"GET": "any_role"}),
    "environment-request-export": Route({"GET": "any_role"}),
    "environment-request-detail": Route({"GET": "team_view"}, kind="env_request"),
    "environment-request-approve": Route({"POST": "admin"}, kind="env_request"),
    "environment-request-refuse": Route({"POST": "admin"}, kind="env_request"),
    "environment-request-cancel": Route({"POST": "request_cancel"}, kind="env_request"),
    "api:environment-request-list": Route({"GET": "any_role", "POST": "team_create_or_request"},
                                          bodies={"POST": _request_body}),
    "api:environment-request-export": Route({"GET": "any_role"}),
    "api:environment-request-detail": Route({"GET": "team_view"}, kind="env_request"),
    "api:environment-request-approve": Route({"POST": "admin"}, kind="env_request"),
    "api:environment-request-refuse": Route({"POST": "admin"}, kind="env_request"),
    "api:environment-request-cancel": Route({"POST": "request_cancel"}, kind="env_request"),
    "api:stage-policy-list": Route({"GET": "any_role"}),
    "api:stage-policy-detail": Route({"GET": "any_role", "PATCH": "admin"}, kind="stage_policy"),
    "api:quota-policy-list": Route({"GET": "any_role", "POST": "admin"}),
    "api:quota-policy-detail": Route({"GET": "any_role", "PATCH": "admin", "DELETE": "admin"}, kind="quota_policy"),
    # Audit trail
    "audit-list": Route({"GET": "oversight"}),
    "audit-export": Route({"GET": "oversight"}),
    "audit-object": Route({"GET": "oversight"}, kind="audit_object"),
    "api:audit-event-list": Route({"GET": "oversight"}),
    "api:audit-event-export": Route({"GET": "oversight"}),
    "api:audit-event-detail": Route({"GET": "oversight"}, kind="audit_event"),
    # Jobs
    "job-list": Route({"GET": "any_role"}),
    "job-selfcheck": Route({"POST": "admin"}),
    "job-detail": Route({"GET": "team_view"}, kind="job"),
    "api:job-list": Route({"GET": "any_role"}),
    "api:job-selfcheck": Route({"POST": "admin"}),
    "api:job-detail": Route({"GET": "team_view"}, kind="job"),
    "api:job-events": Route({"GET": "team_view"}, kind="job"),
    # Issue 17, part "sleep": put to sleep and woken like the environment is changed; its state seen like it.
    "environment-sleep": Route({"POST": "team_change"}, kind="env"),
    "environment-wake": Route({"POST": "team_change"}, kind="env"),
    "api:environment-sleep": Route({"POST": "team_change"}, kind="env"),
    "api:environment-wake": Route({"POST": "team_change"}, kind="env"),
    "api:environment-sleep-state": Route({"GET": "team_view"}, kind="env"),
    # Reports (issue 17, the managers' dashboard): every role reads; the figures are filtered to what one sees.
    "reports": Route({"GET": "any_role"}),
    "reports-export": Route({"GET": "any_role"}, query="table=by-team"),
    "api:report-summary": Route({"GET": "any_role"}),
    **{f"api:report-{table}": Route({"GET": "any_role"}) for table in (
        "by-team", "by-owner", "by-stage", "by-age", "weekly", "top-creators", "cost-by-team", "cost-by-month",
        "longest-lived", "idle")},
    # Websockets (connect = GET): the job stream and the live log stream
    "ws:ws/jobs/<uuid:job_id>/": Route({"GET": "team_view"}, kind="job"),
    "ws:ws/environments/<int:environment_id>/logs/": Route({"GET": "team_view"}, kind="env"),
    # Orphans (issue 17, part "orphans"): Platform admins sweep and remove; Managers read the findings.
    "orphans-index": Route({"GET": "oversight"}),
    "orphans-export": Route({"GET": "oversight"}),
    "orphans-sweep": Route({"POST": "admin"}),
    "orphans-remove": Route({"GET": "admin", "POST": "admin"}),
    "api:orphan-list": Route({"GET": "oversight"}),
    "api:orphan-export": Route({"GET": "oversight"}),
    "api:orphan-totals": Route({"GET": "oversight"}),
    "api:orphan-sweep": Route({"POST": "admin"}),
    "api:orphan-remove": Route({"POST": "admin"}),
    # Issue 17, wake part: sleep schedules (an environment's own like the environment; defaults by admins)
    # and the public waking page (a middleware on environments' hostnames, not a route).
    "environment-sleep-schedule": Route({"POST": "team_change"}, kind="env"),
    "environment-sleep-schedule-clear": Route({"POST": "team_change"}, kind="env"),
    "sleep-default-list": Route({"GET": "any_role"}),
    "sleep-default-export": Route({"GET": "any_role"}),
    "sleep-default-new": Route({"GET": "admin", "POST": "admin"}),
    "sleep-default-edit": Route({"GET": "admin", "POST": "admin"}, kind="sleep_default"),
    "sleep-default-delete": Route({"POST": "admin"}, kind="sleep_default"),
    "api:environment-sleep-schedule": Route({"GET": "team_view", "PUT": "team_change", "PATCH": "team_change",
                                             "DELETE": "team_change"}, kind="env"),
    "api:sleep-default-list": Route({"GET": "any_role", "POST": "admin"},
                                    bodies={"POST": lambda world, scope: {"stage": "staging", "sleep_cron": "0 20 * * *"}}),
    "api:sleep-default-export": Route({"GET": "any_role"}),
    "api:sleep-default-detail": Route({"GET": "any_role", "PATCH": "admin", "DELETE": "admin"}, kind="sleep_default"),
    # Cost (issue 17, part "cost"): figures are read by every role (rows filtered like environments);
    # price tables and budgets are changed by Platform admins; an environment's cost is seen like it.
    "cost-list": Route({"GET": "any_role"}),
    "cost-export": Route({"GET": "any_role"}),
    "cost-prices": Route({"GET": "any_role"}),
    "cost-price-table": Route({"GET": "any_role", "POST": "admin"}, kind="cluster"),
    "cost-budgets": Route({"GET": "any_role", "POST": "admin"}),
    "cost-forecast": Route({"GET": "any_role"}),
    "api:cost-totals": Route({"GET": "any_role"}),
    "api:cost-budgets": Route({"GET": "any_role", "PUT": "admin"}),
    "api:cluster-prices": Route({"GET": "any_role", "PUT": "admin"}, kind="cluster"),
    "api:environment-forecast": Route({"POST": "any_role"}, note="a forecast reads prices and a blueprint"),
    "api:environment-cost": Route({"GET": "team_view"}, kind="env"),
    # Issue 18, part "observe": the readiness probe is public (kubelet sends no cookie); metrics are read by a
    # scraper with SLIPWAY_METRICS_TOKEN (not a role) or a signed-in Platform admin.
    "readyz": Route({"GET": "public"}),
    "metrics": Route({"GET": "admin"}),
}
