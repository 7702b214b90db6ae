"""The safety net: the periodic task applies due undos and interrupts runs whose worker stopped beating;
a redelivered run job undoes and never injects again; an undo is applied once however many callers race."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from kubernetes import client as k8s

from clusters.kube.chaos_faults import network_cut
from environments.chaos.models import ChaosRun, ChaosUndo
from environments.chaos.periodic import chaos_undo_due
from environments.chaos.run_job import run_chaos
from environments.chaos.undo import undo_apply
from environments.render.labels import NAME
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.reporting import JobReporter
from tests.factories import JobFactory
from tests.racing import race

from .conftest import experiment

pytestmark = [pytest.mark.integration]


def cut(kube_client, environment, run, suffix: str, *, due_in: float) -> ChaosUndo:
    """A network cut of ``web`` with its undo (as the run job records it), injected for real."""
    name = f"slipway-chaos-run-{run.pk}-{suffix}"
    undo = ChaosUndo.objects.create(run=run, action=ChaosUndo.DELETE_NETWORK_POLICY,
                                    spec={"namespace": environment.namespace, "name": name},
                                    due_at=timezone.now() + timedelta(seconds=due_in))
    network_cut(kube_client, environment.namespace, name=name, pod_selector={NAME: "web"})
    return undo


def policies(kube_client, environment) -> set[str]:
    items = k8s.NetworkingV1Api(kube_client).list_namespaced_network_policy(environment.namespace).items
    return {p.metadata.name for p in items}


def running_run(environment, **fields) -> ChaosRun:
    exp = experiment(environment, fault="network-cut", target="web")
    return ChaosRun.objects.create(experiment=exp, environment=environment, fault=exp.fault, status="running",
                                   started_at=timezone.now(), **fields)


def test_due_undos_are_applied_and_silent_runs_interrupted(rolled_out, kube_client, settings):
    settings.SLIPWAY_CHAOS_HEARTBEAT_SECONDS = 20
    environment = rolled_out("eng-periodic")
    run = running_run(environment, heartbeat_at=timezone.now())
    due, later = cut(kube_client, environment, run, "a", due_in=-1), cut(kube_client, environment, run, "b", due_in=300)
    assert {due.spec["name"], later.spec["name"]} <= policies(kube_client, environment)
    assert chaos_undo_due() == {"undone": [due.pk], "interrupted": []}
    run.refresh_from_db()
    assert run.status == "running"  # its worker is alive (fresh heartbeat): only the due undo was applied
    assert due.spec["name"] not in policies(kube_client, environment)
    assert later.spec["name"] in policies(kube_client, environment)
    ChaosRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=21))
    assert chaos_undo_due() == {"undone": [], "interrupted": [run.pk]}
    run.refresh_from_db()
    later.refresh_from_db()
    assert run.status == "interrupted" and "heartbeats" in run.status_message
    assert later.done_at is not None and later.spec["name"] not in policies(kube_client, environment)
    assert chaos_undo_due() == {"undone": [], "interrupted": []}  # converged
    assert AuditEvent.objects.filter(action="chaos.fault_undone", object_id=str(run.pk)).count() == 2


def test_a_redelivered_job_undoes_and_never_injects_again(rolled_out, kube_client):
    environment = rolled_out("eng-redeliver")
    job = JobFactory(kind="chaos")
    run = running_run(environment, heartbeat_at=timezone.now(), job=job)
    undo = cut(kube_client, environment, run, "a", due_in=300)
    pods = {p.metadata.name for p in k8s.CoreV1Api(kube_client).list_namespaced_pod(environment.namespace).items}
    run_chaos(job, JobReporter(job), Actor.system("test"))
    run.refresh_from_db()
    undo.refresh_from_db()
    assert run.status == "interrupted" and undo.done_at is not None
    assert undo.spec["name"] not in policies(kube_client, environment)
    assert {p.metadata.name for p in k8s.CoreV1Api(kube_client).list_namespaced_pod(environment.namespace).items} == pods
    assert not AuditEvent.objects.filter(action="chaos.fault_injected").exists()
    # Once more (a third delivery): the run already ended, nothing happens.
    run_chaos(job, JobReporter(job), Actor.system("test"))
    assert ChaosRun.objects.get(pk=run.pk).status == "interrupted"


@pytest.mark.django_db(transaction=True)
def test_racing_callers_apply_an_undo_once(rolled_out, kube_client):
    if connection.vendor != "postgresql":
        pytest.skip("needs the stack's PostgreSQL")
    environment = rolled_out("eng-race-undo")
    run = running_run(environment, heartbeat_at=timezone.now())
    undo = cut(kube_client, environment, run, "a", due_in=0)
    results = race(*[lambda: undo_apply(ChaosUndo.objects.get(pk=undo.pk), actor=Actor.system("test"))] * 3)
    assert sorted(results) == [False, False, True]
    undo.refresh_from_db()
    assert undo.attempts == 1 and undo.error == ""
    assert AuditEvent.objects.filter(action="chaos.fault_undone").count() == 1
