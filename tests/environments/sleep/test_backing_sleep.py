"""Backing services that may sleep, on the stack's control plane: the sleep job scales only their StatefulSets
to zero (after the Deployments), the wake brings them back ready BEFORE the Deployments, a re-run never saves
zero over a saved count, and drift checks do not report those zeros (but do report one that must stay up)."""

import pytest
from kubernetes import client as k8s

from environments.drift_checks import environment_drift_check
from environments.models import Blueprint, Environment, SleepState
from environments.sleep.services import environment_sleep, environment_wake
from environments.sleep.sleep_jobs import run_sleep
from portal.audit.actor import Actor
from portal.jobs.reporting import JobReporter

from .conftest import deployments, run_use_case

pytestmark = [pytest.mark.integration]


def _statefulsets(api, namespace) -> dict[str, int]:
    return {s.metadata.name: s.spec.replicas for s in k8s.AppsV1Api(api).list_namespaced_stateful_set(namespace).items}


def _log(rollout) -> list[str]:
    """The job's log, a line each (the reporter writes lines in batches)."""
    return "\n".join(rollout.job.events.order_by("seq").values_list("text", flat=True)).splitlines()


def _line(lines: list[str], text: str) -> int:
    return next(n for n, line in enumerate(lines) if text in line)


def _ready_at(pod):
    return next(c.last_transition_time for c in pod.status.conditions if c.type == "Ready" and c.status == "True")


def test_only_the_backing_service_that_may_sleep_sleeps_and_wakes_first(awake, users, kube_client,
                                                                        django_capture_on_commit_callbacks):
    Blueprint.objects.filter(name="shop").update(backing_services=[
        {"kind": "mariadb", "name": "db", "version": "11.4"},
        {"kind": "redis", "name": "cache", "version": "7.2", "may_sleep": True}])
    env, qa, capture = awake("backing"), users["qa"], django_capture_on_commit_callbacks
    ns, actor = env.namespace, Actor.for_user(users["qa"])
    assert _statefulsets(kube_client, ns) == {"db": 1, "cache": 1}

    slept = run_use_case(environment_sleep, env, qa, capture, Environment.ASLEEP)
    assert deployments(kube_client, ns) == {"web": 0, "api": 0, "worker": 0}
    assert _statefulsets(kube_client, ns) == {"db": 1, "cache": 0}  # db may not sleep: it stays up
    pods = k8s.CoreV1Api(kube_client).list_namespaced_pod(ns).items
    assert [p.metadata.name for p in pods] == ["db-0"]
    state = SleepState.objects.get(environment=env)
    assert state.replicas == {"web": 1, "api": 1, "worker": 1, "StatefulSet/cache": 1}
    log = _log(slept)
    assert _line(log, "scaled api 1→0") < _line(log, "scaled StatefulSet/cache 1→0")  # after the Deployments
    assert environment_drift_check(actor=Actor.system("test"), environment=env) == []

    # A redelivered sleep job (a worker killed after the scale) finds cache at zero: it keeps the saved 1.
    Environment.objects.filter(pk=env.pk).update(status=Environment.SLEEPING)
    run_sleep(slept.job, JobReporter(slept.job), actor)
    state.refresh_from_db()
    env.refresh_from_db()
    assert env.status == Environment.ASLEEP and state.replicas["StatefulSet/cache"] == 1

    # One that must stay up, found at zero while asleep, is drift.
    k8s.AppsV1Api(kube_client).patch_namespaced_stateful_set_scale("db", ns, {"spec": {"replicas": 0}})
    drifts = environment_drift_check(actor=Actor.system("test"), environment=env)
    assert [(d["key"][1], d["key"][3]) for d in drifts] == [("StatefulSet", "db")], drifts
    k8s.AppsV1Api(kube_client).patch_namespaced_stateful_set_scale("db", ns, {"spec": {"replicas": 1}})

    woke = run_use_case(environment_wake, env, qa, capture, Environment.READY)
    assert _statefulsets(kube_client, ns) == {"db": 1, "cache": 1}
    assert deployments(kube_client, ns) == {"web": 1, "api": 1, "worker": 1}
    log = _log(woke)
    assert (_line(log, "scaled StatefulSet/cache 0→1") < _line(log, "StatefulSet cache ready")
            < _line(log, "scaled api 0→1"))
    # The objects agree: cache's pod was ready before any Deployment's pod was created (second granularity).
    core = k8s.CoreV1Api(kube_client)
    cache = core.read_namespaced_pod("cache-0", ns)
    app_pods = [p for p in core.list_namespaced_pod(ns).items if p.metadata.name.split("-")[0] in ("web", "api",
                                                                                                    "worker")]
    assert app_pods and all(_ready_at(cache) <= p.metadata.creation_timestamp for p in app_pods)
    state.refresh_from_db()
    assert state.replicas == {}
    assert environment_drift_check(actor=Actor.system("test"), environment=env) == []
