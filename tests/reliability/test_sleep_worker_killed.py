"""A worker SIGKILLed in the middle of a sleep: the redelivered job converges to asleep and the saved
replica counts survive (a re-run finds every Deployment at zero and must not save zeros); the wake then
brings back the counts from before the sleep, the HPA-scaled one included."""

import os
import threading
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import connection, transaction
from kubernetes import client as k8s

from clusters.services import cluster_register
from environments.models import Blueprint, Component, Environment, SleepState
from environments.services import environment_create
from environments.sleep import tasks as sleep_tasks
from environments.sleep.services import environment_sleep, environment_wake
from portal.audit.actor import Actor
from portal.jobs.models import Job
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.kube_cluster import namespaces_delete
from tests.reliability import worker
from tests.reliability.worker import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
NAME = f"sleep-killed-{uuid.uuid4().hex[:5]}"  # unique: the plane is shared


def _replicas(kube_client, namespace):
    return {d.metadata.name: d.spec.replicas for d in k8s.AppsV1Api(kube_client).list_namespaced_deployment(
        namespace).items}


def _hold_row(environment_id: int, held: threading.Event, release: threading.Event) -> None:
    """Lock the environment's row until ``release``: the job's last step (asleep) waits for it."""
    try:
        with transaction.atomic():
            Environment.objects.select_for_update().get(pk=environment_id)
            held.set()
            release.wait(120)
    finally:
        connection.close()


def test_killed_worker_mid_sleep_converges_and_keeps_the_saved_counts(redis_url, kubeconfig_path, kube_client,
                                                                      tmp_path, settings, monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (the worker is another process)")
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    url, queue = f"{redis_url}/3", f"sleep-killed-{os.getpid()}"
    call_command("seed_demo_blueprint", verbosity=0)
    Component.objects.filter(name="web").update(autoscaling_min=1, autoscaling_max=5)
    cluster = cluster_register(actor=Actor.system("test"), name="local", kind="local",
                               kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    team = TeamFactory(slug="sleepers")
    qa = UserFactory(username="qa-sleep-killed", roles=["QA"], teams=[team])
    first = second = None
    release, held = threading.Event(), threading.Event()
    holder = None
    try:
        with django_capture_on_commit_callbacks(execute=True):  # the rollout runs here, eagerly
            environment = environment_create(actor=Actor.for_user(qa), user=qa, cluster=cluster,
                                             blueprint=Blueprint.objects.get(name="shop"), name=NAME, stage="qa",
                                             team=team, versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
        environment.refresh_from_db()
        assert environment.status == "ready", environment.status_message
        ns = environment.namespace
        k8s.AppsV1Api(kube_client).patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
        before = {"web": 3, "api": 1, "worker": 1}
        wait_for(lambda: _replicas(kube_client, ns) == before, 30, "web scaled to 3")

        # The job goes to the real worker below, not to this process's eager queue.
        monkeypatch.setattr(sleep_tasks.sleep, "delay", lambda *args: None)
        rollout = environment_sleep(actor=Actor.for_user(qa), user=qa, environment=environment)
        holder = threading.Thread(target=_hold_row, args=(environment.pk, held, release))
        holder.start()
        assert held.wait(10)
        first = worker.start_worker(url, queue, tmp_path)
        client = Celery("sleep-killed-client", broker=url, set_as_current=False)
        client.send_task("environments.sleep", args=[str(rollout.job.pk), Actor.for_user(qa).to_dict()], queue=queue)
        # Everything is scaled down; the job now waits for its pods to go, or for the row to mark it asleep.
        wait_for(lambda: set(_replicas(kube_client, ns).values()) == {0}, 90, "the Deployments at zero")
        assert SleepState.objects.get(environment=environment).replicas == before
        worker.kill(first)
        release.set()
        holder.join()
        assert Environment.objects.get(pk=environment.pk).status == Environment.SLEEPING

        # The redelivered job (visibility timeout 5 s) finds everything at zero and keeps the saved counts.
        second = worker.start_worker(url, queue, tmp_path)
        wait_for(lambda: Job.objects.get(pk=rollout.job.pk).state in Job.FINISHED, 90, "the redelivered job")
        job = Job.objects.get(pk=rollout.job.pk)
        assert (job.state, job.attempts) == ("succeeded", 2), job.error
        environment.refresh_from_db()
        assert environment.status == Environment.ASLEEP
        state = SleepState.objects.get(environment=environment)
        assert state.replicas == before and set(state.autoscalers) == {"web"}

        # And the wake (through the same worker) brings the counts and the HPA back.
        monkeypatch.setattr(sleep_tasks.wake, "delay", lambda *args: None)
        wake = environment_wake(actor=Actor.for_user(qa), user=qa, environment=environment)
        client.send_task("environments.wake", args=[str(wake.job.pk), Actor.for_user(qa).to_dict()], queue=queue)
        wait_for(lambda: Job.objects.get(pk=wake.job.pk).state in Job.FINISHED, 90, "the wake job")
        assert Job.objects.get(pk=wake.job.pk).state == "succeeded", Job.objects.get(pk=wake.job.pk).error
        assert Environment.objects.get(pk=environment.pk).status == Environment.READY
        assert _replicas(kube_client, ns) == before
        assert k8s.AutoscalingV2Api(kube_client).read_namespaced_horizontal_pod_autoscaler("web", ns)
        client.close()
    finally:
        release.set()
        if holder is not None:
            holder.join()
        worker.kill(first, second)
        namespaces_delete(kube_client, [f"slw-{NAME}"])
