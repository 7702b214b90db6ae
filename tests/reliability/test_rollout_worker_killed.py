"""A worker killed (SIGKILL) in the middle of a rollout: the task is redelivered and converges."""

import os
import signal
from pathlib import Path

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import connection
from kubernetes import client as k8s

from clusters.kube.owner_labels import ENVIRONMENT, MANAGED_BY
from clusters.services import cluster_register
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.jobs.models import Job
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.kube_cluster import namespaces_delete
from tests.reliability import worker
from tests.reliability.worker import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "slw-it-killed"


def start_worker(url: str, queue: str, tmp_path: Path):
    # The threads pool the chart, compose and `make run` start: the task runs in a thread of the killed process.
    return worker.start_worker(url, queue, tmp_path, pool="threads", concurrency=8,
                               SLIPWAY_ROLLOUT_TIMEOUT_SECONDS="120")


def test_killed_worker_mid_rollout_is_redelivered_and_converges(redis_url, kubeconfig_path, kube_client, tmp_path):
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (the worker is another process)")
    url, queue = f"{redis_url}/3", f"killed-{os.getpid()}"
    core = k8s.CoreV1Api(kube_client)
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = cluster_register(actor=Actor.system("test"), name="local", kind="local",
                               kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    team = TeamFactory(slug="payments")
    qa = UserFactory(username="qa-killed", roles=["QA"], teams=[team])
    # Hold the rollout in its readiness wait: no pod may exist until the test lifts this quota.
    # Labelled as the environment's own (a namespace Slipway made): an unlabelled one is refused as not ours.
    core.create_namespace({"metadata": {"name": NAMESPACE, "labels": {MANAGED_BY: "slipway", ENVIRONMENT: "it-killed"}}})
    core.create_namespaced_resource_quota(NAMESPACE, {"metadata": {"name": "hold"}, "spec": {"hard": {"pods": "0"}}})
    first = start_worker(url, queue, tmp_path)
    second = None
    try:
        environment = environment_create(actor=Actor.for_user(qa), user=qa, cluster=cluster,
                                          blueprint=Blueprint.objects.get(name="shop"), name="it-killed", stage="qa",
                                          team=team, versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
        job = Job.objects.get(rollout__environment=environment)
        # The on-commit enqueue went to the project's eager app in this process; send it to the real worker.
        Job.objects.filter(pk=job.pk).update(state="queued", attempts=0, started_at=None, finished_at=None, error="")
        job.events.all().delete()
        Job.objects.filter(pk=job.pk).update(next_seq=1)
        Environment.objects.filter(pk=environment.pk).update(status="pending", status_message="")
        client = Celery("killed-test-client", broker=url, set_as_current=False)
        client.send_task("environments.rollout", args=[str(job.pk), Actor.for_user(qa).to_dict()], queue=queue)
        wait_for(lambda: job.events.filter(text__startswith="waiting for").exists(), 60, "the rollout's wait")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        job.refresh_from_db()
        assert (job.state, job.attempts) == ("running", 1)
        core.delete_namespaced_resource_quota("hold", NAMESPACE)
        second = start_worker(url, queue, tmp_path)
        wait_for(lambda: Job.objects.get(pk=job.pk).state in Job.FINISHED, 120, "the redelivered rollout")
        job.refresh_from_db()
        environment.refresh_from_db()
        assert job.state == "succeeded", job.error
        assert job.attempts == 2
        assert job.events.filter(kind="state", text="restarted (attempt 2)").exists()
        assert environment.status == "ready"
        deployments = k8s.AppsV1Api(kube_client).list_namespaced_deployment(NAMESPACE).items
        assert sorted(d.metadata.name for d in deployments) == ["api", "web", "worker"]
        assert all(d.status.ready_replicas == d.spec.replicas for d in deployments)
        client.close()
    finally:
        worker.kill(first, second)
        namespaces_delete(kube_client, [NAMESPACE])
