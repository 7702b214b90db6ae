"""The destroy job: delete the namespace, wait until it is gone, report what holds it if stuck."""

from __future__ import annotations

from django.conf import settings

from clusters.kube.client import api_client
from clusters.kube.namespace_lifecycle import NamespaceNotOurs, NamespaceStuck, check_namespace_owner, delete_namespace
from migrations_tool.data_store_provisioning import data_stores_retire
from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter
from portal.redaction import redact

from .hostnames.publishing import hostnames_release
from .hostnames.route53 import Route53Error
from .models import Environment


def run_destroy(job: Job, reporter: JobReporter, actor: Actor) -> None:
    """Idempotent: deleting an already-deleted namespace is a no-op, so a re-run converges."""
    environment = Environment.objects.select_related("cluster", "team").get(pk=job.target_id)
    try:
        # Names first, so nothing resolves to a namespace that is going away.
        hostnames_release(environment=environment, reporter=reporter, actor=actor)
        reporter.log(f"deleting namespace {environment.namespace}")
        reporter.progress(10, "deleting namespace")
        with api_client(environment.cluster.kubeconfig) as api:
            check_namespace_owner(api, environment.namespace, environment=environment.name,
                                  marker=environment.ownership_marker)
            delete_namespace(api, environment.namespace, timeout=settings.SLIPWAY_DESTROY_TIMEOUT_SECONDS)
    except (NamespaceStuck, Route53Error) as exc:
        Environment.objects.filter(pk=environment.pk).update(status=Environment.FAILED,
                                                             status_message=redact(f"destroy stuck: {exc}")[:2000])
        raise
    except NamespaceNotOurs as exc:
        Environment.objects.filter(pk=environment.pk).update(status=Environment.FAILED,
                                                             status_message=f"destroy refused: {exc}"[:2000])
        raise
    except Exception as exc:
        # Anything else (an unreachable cluster) must not leave it "destroying" forever: failed can be retried.
        Environment.objects.filter(pk=environment.pk).update(
            status=Environment.FAILED, status_message=redact(f"destroy failed: {type(exc).__name__}: {exc}")[:2000])
        raise
    retired = data_stores_retire(environment)
    if retired:
        reporter.log(f"{retired} data store(s) kept for the undo window, then removed")
    Environment.objects.filter(pk=environment.pk).update(status=Environment.DESTROYED, status_message="")
    audit_record(actor=actor, action="environment.destroyed", obj=environment, team_slug=environment.team.slug,
                 details={"namespace": environment.namespace})
    reporter.log(f"namespace {environment.namespace} is gone")
