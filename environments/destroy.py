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

from .hostnames.publishing import hostnames_release
from .hostnames.route53 import Route53Error
from .lifecycle import environment_transition
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
        environment_transition(environment, Environment.FAILED, actor=actor, reporter=reporter,
                               message=f"destroy stuck: {exc}")
        raise
    except NamespaceNotOurs as exc:
        environment_transition(environment, Environment.FAILED, actor=actor, reporter=reporter,
                               message=f"destroy refused: {exc}")
        raise
    except Exception as exc:
        # Anything else (an unreachable cluster) must not leave it "destroying" forever: failed can be retried.
        environment_transition(environment, Environment.FAILED, actor=actor, reporter=reporter,
                               message=f"destroy failed: {type(exc).__name__}: {exc}")
        raise
    retired = data_stores_retire(environment)
    if retired:
        reporter.log(f"{retired} data store(s) kept for the undo window, then removed")
    environment_transition(environment, Environment.DESTROYED, actor=actor, reporter=reporter)
    audit_record(actor=actor, action="environment.destroyed", obj=environment, team_slug=environment.team.slug,
                 details={"namespace": environment.namespace})
    reporter.log(f"namespace {environment.namespace} is gone")
