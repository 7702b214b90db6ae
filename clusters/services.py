"""Cluster use cases: register an existing cluster, install its add-ons (the health check is ``health.py``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.jobs.models import Job
from portal.jobs.services import job_create

from .kube import client as kubeclient
from .kube import rbac
from .models import Cluster
from .tasks import addons_install, health_check


def _facts(cluster: Cluster) -> dict:
    return {"kind": cluster.kind, "api_server": cluster.api_server, "is_default": cluster.is_default}


def verify_cluster_access(kubeconfig: str, *, field: str = "kubeconfig") -> str:
    """Call the cluster with the credentials; return its version. Raises ValidationError saying what is wrong.

    Refused: a kubeconfig that cannot be loaded, an API server that cannot be reached or whose
    certificate the CA does not vouch for, rejected credentials, and credentials lacking any
    permission in ``rbac.REQUIRED`` (listed, per resource, under ``missing_permissions``).
    """
    try:
        server = kubeclient.parse_kubeconfig(kubeconfig)["server"]
    except kubeclient.KubeconfigError as exc:
        raise ValidationError({field: [str(exc)]}) from exc
    try:
        with kubeclient.api_client(kubeconfig, retries=0) as api:
            version = kubeclient.server_version(api, timeout=10)
            missing = rbac.missing_permissions(api)
    except Exception as exc:  # every failure is the user's to fix; the message says how
        raise ValidationError({field: [kubeclient.connection_problem(exc, server)]}) from exc
    if missing:
        raise ValidationError({
            field: [f"The credentials lack {len(missing)} permission(s) Slipway needs in every namespace: "
                    f"{rbac.describe_missing(missing)}."],
            "missing_permissions": [str(p) for p in missing],
        })
    return version


def cluster_register(*, actor: Actor, name: str, kind: str, kubeconfig: str, make_default: bool = False,
                     verify: bool = False, error_field: str = "kubeconfig") -> Cluster:
    """Create or update the cluster ``name`` from a kubeconfig (idempotent). Raises ValidationError.

    With ``verify``, nothing is saved unless ``verify_cluster_access`` accepts the credentials.
    """
    with audited(actor=actor, action="cluster.register", details={"name": name, "kind": kind}) as scope:
        try:
            facts = kubeclient.parse_kubeconfig(kubeconfig)
            # Every kubeconfig Slipway stores (registered, or output by a blueprint) obeys the same rules.
            kubeclient.check_self_contained(kubeconfig)
        except kubeclient.KubeconfigError as exc:
            raise ValidationError({"kubeconfig": [str(exc)]}) from exc
        version = verify_cluster_access(kubeconfig, field=error_field) if verify else ""
        with transaction.atomic():
            cluster = Cluster.objects.select_for_update().filter(name=name).first()
            before = _facts(cluster) if cluster else None
            if make_default:
                Cluster.objects.filter(is_default=True).exclude(name=name).update(is_default=False)
            cluster = cluster or Cluster(name=name, created_by_id=actor.user_id)
            cluster.kind, cluster.kubeconfig, cluster.api_server = kind, kubeconfig, facts["server"]
            cluster.is_default = make_default or cluster.is_default
            if version:
                cluster.server_version = version
            cluster.full_clean(exclude=["kubeconfig"])
            cluster.save()
        scope.obj = cluster
        scope.details.update(before=before, after=_facts(cluster))
    return cluster


def cluster_register_existing(*, actor: Actor, name: str, kubeconfig: str = "", server: str = "",
                              ca_data: str = "", token: str = "", make_default: bool = False) -> Cluster:
    """Register a cluster Slipway did not create, from a kubeconfig or from endpoint + CA + token.

    The credentials are verified against the live API first (see ``verify_cluster_access``);
    nothing is stored when they are refused. A health check is queued after commit.
    """
    taken = Cluster.objects.filter(name=name).exclude(kind=Cluster.EXISTING).first()
    if taken:
        raise ValidationError({"name": [f"A {taken.get_kind_display()} cluster is already named {name!r}: "
                                        "pick another name."]})
    if kubeconfig.strip() and (server or token):
        raise ValidationError({"kubeconfig": ["Give a kubeconfig or an endpoint with a token, not both."]})
    if kubeconfig.strip():
        try:
            kubeclient.parse_kubeconfig(kubeconfig)
            kubeclient.check_self_contained(kubeconfig)
        except kubeclient.KubeconfigError as exc:
            raise ValidationError({"kubeconfig": [str(exc)]}) from exc
    else:
        problems = {f: ["Required without a kubeconfig."] for f, v in (("server", server), ("token", token))
                    if not v.strip()}
        if problems:
            raise ValidationError(problems)
        if not server.startswith("https://"):
            raise ValidationError({"server": ["The API server endpoint must be an https:// URL."]})
        kubeconfig = kubeclient.kubeconfig_from_token(server=server.strip(), token=token.strip(),
                                                      ca_data=ca_data.strip(), name=name)
    cluster = cluster_register(actor=actor, name=name, kind=Cluster.EXISTING, kubeconfig=kubeconfig,
                               make_default=make_default, verify=True,
                               error_field="token" if server else "kubeconfig")
    transaction.on_commit(lambda: health_check.delay(cluster.pk))
    return cluster


def cluster_addons_start(*, actor: Actor, user: Any, cluster: Cluster) -> Job:
    """Queue a job installing the add-ons on ``cluster`` (Platform admins). Raises PermissionDenied."""
    with audited(actor=actor, action="cluster.addons_start", obj=cluster) as scope:
        if not authz.cluster_can(user, authz.CHANGE, cluster):
            raise PermissionDenied("Only Platform admins install cluster add-ons.")
        if not cluster.kubeconfig:
            raise ValidationError({"cluster": [f"Cluster {cluster.name} has no credentials yet."]})
        with transaction.atomic():
            job = job_create(actor=actor, kind="cluster-addons", title=f"Install add-ons on {cluster.name}",
                             task=addons_install, target=cluster)
        scope.details["job"] = str(job.pk)
    return job
