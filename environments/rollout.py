"""The rollout job: render the revision, server-side apply it, prune, and wait for readiness."""

from __future__ import annotations

import urllib3
from django.conf import settings
from django.db import transaction

from clusters.kube.apply import PRUNABLE_KINDS, apply_manifests, prune, raise_for_errors
from clusters.kube.client import api_client
from clusters.kube.namespace_lifecycle import NamespaceNotOurs, check_namespace_owner
from clusters.kube.owner_labels import ownership_selector
from clusters.kube.wait import RolloutFailed, wait_quotas_enforced, wait_ready
from migrations_tool.data_store_provisioning import data_stores_provision
from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter

from .hostnames.ownership import HostnameTaken
from .hostnames.publishing import hostnames_publish
from .hostnames.route53 import Route53Error
from .lifecycle import environment_transition
from .models import Environment
from .render import object_key, render
from .sleep.activity import activity_record
from .sleep.sleep_jobs import slept_replicas_restore, slept_state_clear
from .snapshot import spec_for

_POLICY_KINDS = frozenset({"Namespace", "ResourceQuota", "LimitRange"})


def run_rollout(job: Job, reporter: JobReporter, actor: Actor) -> None:
    """Converge the cluster to the job's revision. Idempotent: a re-run after a crash re-applies."""
    rollout = job.rollout
    environment, revision = rollout.environment, rollout.revision
    environment.refresh_from_db()
    if environment.current_revision_id != revision.pk:
        reporter.log(f"superseded by r{environment.current_revision.number}: nothing to do")
        return
    environment_transition(environment, Environment.DEPLOYING, actor=actor, reporter=reporter)
    activity_record(environment, "rollout")
    try:
        # Inside the try: a revision that cannot render fails the environment too, never leaves it deploying.
        spec = spec_for(environment, revision)
        manifests = render(spec)
        reporter.log(f"rendered {len(manifests)} objects for {environment.name} r{revision.number}")
        reporter.progress(10, "rendered")
        # An existing namespace that is not this environment's fails the rollout before anything is made.
        with api_client(environment.cluster.kubeconfig) as api:
            check_namespace_owner(api, environment.namespace, marker=spec.owner_marker, environment=environment.name)
        # DNS first: a name someone else owns fails the rollout before anything is applied.
        hostnames_publish(environment=environment, reporter=reporter, actor=actor)
        data_stores_provision(environment, reporter.log)
        with api_client(environment.cluster.kubeconfig) as api:
            # Policy first (namespace, quota, limits), and workloads only once the quota is enforced.
            policy = [m for m in manifests if m["kind"] in _POLICY_KINDS]
            results = apply_manifests(api, policy)
            raise_for_errors(results)
            wait_quotas_enforced(api, namespace=environment.namespace,
                                 names=[m["metadata"]["name"] for m in policy if m["kind"] == "ResourceQuota"])
            results += apply_manifests(api, [m for m in manifests if m["kind"] not in _POLICY_KINDS])
            for result in results:
                reporter.log(f"{result.key[1]}/{result.key[3]}: {result.error or result.action}")
            raise_for_errors(results)
            reporter.progress(40, "applied")
            # A blue/green environment's live colour is not part of this render: it must survive the prune.
            live_colour = ("green" if spec.colour == "blue" else "blue") if environment.strategy == "bluegreen" else ""
            selector = ownership_selector(environment.name, except_colour=live_colour)
            pruned = prune(api, namespace=environment.namespace, selector=selector,
                           keep={object_key(m) for m in manifests}, kinds=PRUNABLE_KINDS)
            for key in pruned:
                reporter.log(f"{key[1]}/{key[3]}: pruned")
            slept_replicas_restore(api, environment, reporter)  # a rollout wakes an environment that slept
            deployments = [m["metadata"]["name"] for m in manifests if m["kind"] == "Deployment"]
            statefulsets = [m["metadata"]["name"] for m in manifests if m["kind"] == "StatefulSet"]
            total = len(deployments) + len(statefulsets)

            def progress(ready: int, of: int, message: str) -> None:
                reporter.progress(40 + (59 * ready // max(of, 1)), message)

            reporter.log(f"waiting for {total} workload(s) to become ready")
            wait_ready(api, namespace=environment.namespace, deployments=deployments, statefulsets=statefulsets,
                       timeout=settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS, on_progress=progress)
    except (RolloutFailed, HostnameTaken, Route53Error, NamespaceNotOurs) as exc:
        environment_transition(environment, Environment.FAILED, actor=actor, reporter=reporter, message=str(exc))
        raise
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        message = (f"Cluster {environment.cluster.name} is unreachable at {environment.cluster.api_server} "
                   f"({type(exc).__name__}); retry once it answers, or destroy the environment.")
        environment_transition(environment, Environment.FAILED, actor=actor, reporter=reporter, message=message)
        raise RolloutFailed(message) from exc
    except Exception as exc:
        environment_transition(environment, Environment.FAILED, actor=actor, reporter=reporter,
                               message=f"{type(exc).__name__}: {exc}")
        raise
    with transaction.atomic():
        rollout.results = [{"object": "/".join(r.key), "action": r.action} for r in results]
        rollout.save(update_fields=["results"])
        # A newer revision may have been recorded meanwhile: its own rollout owns the status.
        if environment_transition(environment, Environment.READY, actor=actor, reporter=reporter,
                                  revision=revision) is not None:
            slept_state_clear(environment)
    audit_record(actor=actor, action="environment.ready", obj=environment, team_slug=environment.team.slug,
                 details={"revision": revision.number})
    reporter.log(f"{environment.name} is ready")
