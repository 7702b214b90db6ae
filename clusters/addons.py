"""Cluster add-ons: server-side apply of the versioned manifests, and the record of what is installed.

``install_addons`` runs after Terraform (and for registered clusters on demand). It is
idempotent: every object is applied with one field manager, so a second run reports every object
"unchanged", and a run killed half-way converges when re-run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from portal import aws
from portal.audit.actor import Actor
from portal.audit.services import audited

from .addon_manifests import ADDON_VERSIONS, AddonFacts, render_addon
from .kube.apply import apply_manifests, raise_for_errors
from .kube.client import api_client
from .models import Cluster

FIELD_MANAGER = "slipway-addons"


def addon_facts(cluster: Cluster, *, role_arns: dict[str, str] | None = None) -> AddonFacts:
    """What the manifests need from a cluster. ``role_arns``: the aws-eks blueprint's addon_role_arns output."""
    return AddonFacts(
        cluster_name=cluster.name,
        # A local cluster's region is "local"; its logs go to Slipway's own region.
        region=cluster.region if cluster.kind != Cluster.LOCAL and cluster.region else settings.AWS_REGION,
        node_groups=list(cluster.node_groups or []),
        role_arns=dict(role_arns or {}),
        cloudwatch_endpoint=aws.endpoint_for("logs"),
        # Pods of the local (kwok) control plane do not serve anything; see AddonFacts.
        register_metrics_api=cluster.kind != Cluster.LOCAL,
    )


def install_addons(cluster: Cluster, report: Callable[[str], None], *,
                   role_arns: dict[str, str] | None = None) -> None:
    """Apply every add-on at its pinned version to ``cluster`` and record the versions on it.

    Raises ApplyFailed (some objects were refused; the message lists them) or the client's error
    when the API server cannot be reached; add-ons applied before the failure stay applied and
    recorded, so a re-run continues from there.
    """
    facts = addon_facts(cluster, role_arns=role_arns)
    installed = dict(cluster.addons or {})
    with audited(actor=Actor.system("cluster-addons"), action="cluster.addons_install", obj=cluster,
                 details={"versions": ADDON_VERSIONS}) as scope, api_client(cluster.kubeconfig) as api:
        for addon, version in ADDON_VERSIONS.items():
            manifests = render_addon(addon, facts, version=version)
            results = apply_manifests(api, manifests, field_manager=FIELD_MANAGER)
            counts = Counter(r.action for r in results)
            report(f"{addon} {version}: " + ", ".join(f"{n} {action}" for action, n in sorted(counts.items())))
            for result in results:
                if result.action in {"created", "configured"}:
                    report(f"  {result.action} {result.key[1]}/{result.key[3]}"
                           f"{f' in {result.key[2]}' if result.key[2] else ''}")
            raise_for_errors(results)
            previous = installed.get(addon) or {}
            changed = previous.get("version") != version or counts["created"] or counts["configured"]
            installed[addon] = {"version": version, "objects": len(results),
                                "installed_at": timezone.now().isoformat() if changed
                                else previous.get("installed_at")}
            cluster.addons = installed
            cluster.save(update_fields=["addons", "updated_at"])
        if not facts.register_metrics_api:
            report("metrics-server: the metrics.k8s.io APIService is not registered on the local control plane "
                   "(its pods do not serve; an unavailable aggregated API would block namespace deletion)")
        scope.details["installed"] = installed


def run_addons_install(job, reporter, actor: Actor) -> None:
    """Job body (clusters.addons_install): install the add-ons on the job's cluster. Idempotent."""
    cluster = Cluster.objects.get(pk=job.target_id)
    done: list[str] = []

    def report(line: str) -> None:
        reporter.log(line)
        addon = line.split(" ", 1)[0]
        if addon in ADDON_VERSIONS and addon not in done:  # an add-on's summary line: it is applied
            done.append(addon)
            reporter.progress(len(done) * 100 // len(ADDON_VERSIONS), f"{addon} applied")

    install_addons(cluster, report)
