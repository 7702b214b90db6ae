"""A worker SIGKILLed in the middle of a chaos experiment: the periodic task undoes the fault and marks
the run interrupted; the redelivered job does not inject again."""

import os
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import connection
from kubernetes import client as k8s

from clusters.services import cluster_register
from environments.chaos import runs
from environments.chaos.models import ChaosExperiment, ChaosRun, ChaosSettings, ChaosUndo
from environments.chaos.periodic import chaos_undo_due
from environments.models import Blueprint
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.kube_cluster import namespaces_delete
from tests.reliability import worker
from tests.reliability.worker import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
NAME = f"eng-chaos-killed-{uuid.uuid4().hex[:5]}"  # unique: the plane is shared


def policy_names(kube_client, namespace: str) -> set[str]:
    return {p.metadata.name for p in k8s.NetworkingV1Api(kube_client).list_namespaced_network_policy(namespace).items}


def test_killed_worker_mid_experiment_fault_undone_and_run_interrupted(redis_url, kubeconfig_path, kube_client,
                                                                       tmp_path, settings, monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (the worker is another process)")
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    settings.SLIPWAY_CHAOS_HEARTBEAT_SECONDS = 3
    url, queue = f"{redis_url}/3", f"chaos-killed-{os.getpid()}"
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = cluster_register(actor=Actor.system("test"), name="local", kind="local",
                               kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    team = TeamFactory(slug="payments")
    qa = UserFactory(username="qa-chaos-killed", roles=["QA"], teams=[team])
    first = second = None
    try:
        with django_capture_on_commit_callbacks(execute=True):  # the rollout runs here, eagerly
            environment = environment_create(actor=Actor.for_user(qa), user=qa, cluster=cluster,
                                             blueprint=Blueprint.objects.get(name="shop"), name=NAME, stage="qa",
                                             team=team, versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
        environment.refresh_from_db()
        assert environment.status == "ready", environment.status_message
        ChaosSettings.objects.create(environment=environment, enabled=True)
        experiment = ChaosExperiment.objects.create(environment=environment, name="cut-web", fault="network-cut",
                                                    target="web", duration_seconds=600)
        # The job goes to the real worker below, not to this process's eager queue.
        monkeypatch.setattr(runs.chaos_run_task, "delay", lambda *args: None)
        run = runs.chaos_run_start(actor=Actor.for_user(qa), user=qa, experiment=experiment)
        first = worker.start_worker(url, queue, tmp_path)
        client = Celery("chaos-killed-client", broker=url, set_as_current=False)
        client.send_task("environments.chaos_run", args=[str(run.job.pk), Actor.for_user(qa).to_dict()], queue=queue)
        wait_for(lambda: ChaosRun.objects.filter(pk=run.pk, injected_at__isnull=False).exists(), 90,
                 "the fault to be injected")
        run.refresh_from_db()
        policy = run.target["policy"]
        assert policy in policy_names(kube_client, environment.namespace)
        worker.kill(first)
        assert ChaosRun.objects.get(pk=run.pk).status == "running"
        # The beat task (called as beat would, every few seconds): once the heartbeat is stale it undoes.
        wait_for(lambda: (chaos_undo_due(), ChaosRun.objects.get(pk=run.pk).status == "interrupted")[1], 60,
                 "the periodic task to interrupt the run")
        assert policy not in policy_names(kube_client, environment.namespace)
        undo = ChaosUndo.objects.get(run=run)
        assert undo.done_at is not None and undo.done_at < undo.due_at  # long before its 600 s were up
        # The redelivered job (visibility timeout 5 s) converges without injecting again.
        second = worker.start_worker(url, queue, tmp_path)
        wait_for(lambda: Job.objects.get(pk=run.job.pk).state in Job.FINISHED, 90, "the redelivered job")
        job = Job.objects.get(pk=run.job.pk)
        assert (job.state, job.attempts) == ("succeeded", 2), job.error
        time.sleep(1)
        assert policy not in policy_names(kube_client, environment.namespace)
        assert AuditEvent.objects.filter(action="chaos.fault_injected", object_id=str(run.pk)).count() == 1
        assert ChaosRun.objects.get(pk=run.pk).status == "interrupted"
        client.close()
    finally:
        worker.kill(first, second)
        namespaces_delete(kube_client, [f"slw-{NAME}"])
