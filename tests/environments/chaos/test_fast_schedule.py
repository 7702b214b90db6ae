"""Blast radius and one fault at a time under a fast schedule, on the real local control plane.

An interval schedule of one second is ticked every second for about 20 s against a 4-replica component
with ``max_down_percent`` 50 and a fault that would kill half of it. The test is the worker (each run's
task runs in its own thread as soon as it is queued, so nothing serialises the runs but Slipway itself)
and keeps its own watch on the component's pods: never more than 2 of the 4 are down at once, and never
two runs are active at once in the environment.
"""

import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from kubernetes import client as k8s
from kubernetes import watch

from clusters.services import cluster_register
from environments.chaos import runs
from environments.chaos.models import ChaosExperiment, ChaosRun, ChaosSettings
from environments.chaos.schedule import chaos_schedule_tick
from environments.chaos.services import chaos_experiment_create
from environments.models import Blueprint, Component
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}
REPLICAS = 4
TICKS = 20


class DownWatch(threading.Thread):
    """The test's own watch of a component's pods: after every event, how many of the desired pods are
    not ready (terminating pods count as down), and the largest such number seen."""

    def __init__(self, api, namespace: str, component: str, desired: int) -> None:
        super().__init__(daemon=True)
        self.api, self.namespace, self.component, self.desired = api, namespace, component, desired
        self.ready: dict[str, bool] = {}
        self.most_down, self.deleted, self.events = 0, [], 0
        self.listed = threading.Event()
        self.watch = watch.Watch()

    @staticmethod
    def _ready(pod) -> bool:
        return pod.metadata.deletion_timestamp is None and any(
            c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))

    def down(self) -> int:
        return max(0, self.desired - sum(self.ready.values()))

    def run(self) -> None:
        core = k8s.CoreV1Api(self.api)
        selector = f"app.kubernetes.io/name={self.component}"
        listing = core.list_namespaced_pod(self.namespace, label_selector=selector)
        self.ready = {p.metadata.name: self._ready(p) for p in listing.items}
        self.listed.set()
        try:
            for event in self.watch.stream(core.list_namespaced_pod, self.namespace, label_selector=selector,
                                           resource_version=listing.metadata.resource_version, timeout_seconds=300):
                pod = event["object"]
                if event["type"] == "DELETED":
                    self.ready.pop(pod.metadata.name, None)
                    self.deleted.append((datetime.now(UTC), pod.metadata.name))
                else:
                    self.ready[pod.metadata.name] = self._ready(pod)
                self.events += 1
                self.most_down = max(self.most_down, self.down())
        except Exception:  # stop() closes the connection under the stream
            pass


@pytest.fixture
def web_of_four(users, team, kubeconfig_path, cleanup_namespaces, settings):
    """A ready environment on the control plane whose "web" runs 4 replicas, opted in to chaos."""
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    settings.SLIPWAY_CHAOS_WATCH_MARGIN_SECONDS = 20
    settings.SLIPWAY_CHAOS_MIN_INTERVAL_SECONDS = 1
    call_command("seed_demo_blueprint", verbosity=0)
    Component.objects.filter(name="web").update(replicas=REPLICAS)
    cluster = cluster_register(actor=Actor.system("test"), name="sched-local", kind="local",
                               kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    cleanup_namespaces.append("slw-sched-fast")
    # Eager: the rollout runs when the creation commits.
    environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                     blueprint=Blueprint.objects.get(name="shop"), name="sched-fast", stage="qa",
                                     team=team, versions=dict(VERSIONS))
    environment.refresh_from_db()
    assert environment.status == "ready", environment.status_message
    ChaosSettings.objects.create(environment=environment, enabled=True)
    return environment


@pytest.fixture
def worker(monkeypatch):
    """Each queued run's task runs at once in its own thread (job state, authorisation and all)."""
    threads: list[threading.Thread] = []

    def run_task(job_id, actor):
        try:
            runs.chaos_run_task.apply(args=(job_id, actor))
        finally:
            connection.close()

    def delay(job_id, actor):
        thread = threading.Thread(target=run_task, args=(job_id, actor), daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(runs.chaos_run_task, "delay", delay)
    yield threads
    for thread in threads:
        thread.join(timeout=120)


def test_blast_radius_and_one_fault_at_a_time_hold_under_a_fast_schedule(users, web_of_four, kube_client, worker):
    environment = web_of_four
    experiment = chaos_experiment_create(
        actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment, name="half-of-web",
        fault="pod-kill-percent", target="web", percent=50, max_down_percent=50, schedule="interval",
        interval_seconds=1)
    pods = DownWatch(kube_client, environment.namespace, "web", REPLICAS)
    pods.start()
    assert pods.listed.wait(30) and sum(pods.ready.values()) == REPLICAS

    most_active, started = 0, []
    begin = time.monotonic()
    # Due half a second before each beat: every beat has exactly one due time to start or refuse.
    ChaosExperiment.objects.filter(pk=experiment.pk).update(next_run_at=timezone.now() + timedelta(seconds=0.5))
    for tick in range(TICKS):
        time.sleep(max(0.0, begin + tick + 1 - time.monotonic()))  # a beat every second
        started += chaos_schedule_tick()
        most_active = max(most_active, ChaosRun.objects.filter(environment=environment,
                                                               status__in=ChaosRun.ACTIVE).count())
    for thread in worker:
        thread.join(timeout=120)
    time.sleep(1)  # the watch has seen the last replacement become ready
    pods.watch.stop()

    done = list(ChaosRun.objects.filter(environment=environment).order_by("created_at"))
    assert [r.pk for r in done] == started
    statuses = [r.status for r in done]
    assert len(done) >= 2, statuses
    assert not set(statuses) - {"recovered", "unrecovered", "skipped"}, [(r.status, r.status_message) for r in done]
    killed = [name for r in done for name in r.target.get("pods", [])]
    assert killed and all(len(r.target.get("pods", [])) <= 2 for r in done)
    # Blast radius, from the test's own watch: never more than half of web down at once.
    assert 2 <= pods.most_down <= 2, pods.most_down
    assert set(killed) <= {name for _, name in pods.deleted}
    # One fault at a time: each run queued only after the one before it ended.
    assert most_active <= 1
    for before, after in pairwise(done):
        assert before.finished_at is not None and before.finished_at <= after.created_at, (before.pk, after.pk)
    # The ticks that came while a run was active were refused and said so.
    refusals = AuditEvent.objects.filter(action="chaos.run_skipped", object_id=str(experiment.pk))
    assert refusals.exists()
    assert all("already running" in e.details["reason"] for e in refusals)
    assert len(done) + refusals.count() == TICKS
