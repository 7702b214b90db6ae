"""The Kubernetes API server PROCESS restarted (SIGKILL, started again on the same etcd) during a
rollout and during a live log stream: both carry on once it answers, and nothing is left half-done.

test_log_stream_faults.py cuts the TCP connection through a relay; here the real process goes away, so
every client of the cluster (Slipway, the scheduler, kwok) loses it at once and must come back.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from kubernetes import client as k8s

from clusters.services import cluster_register
from devstack.control_plane import KwokCluster
from devstack.kwok_pod_logs import append_pod_log, register_pod_log, start_pod
from devstack.process import free_port
from environments.models import Blueprint, Environment
from environments.render.labels import NAME
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job, JobEvent
from tests.environments.logs.support import Viewer, communicator, db, line, make_environment
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.kube_cluster import namespace_create
from tests.reliability.worker import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def private_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KwokCluster]:
    """A kwok control plane of this module's own: its API server is killed, the shared one never."""
    cluster = KwokCluster.standalone("faults-apiserver", free_port(), tmp_path_factory.mktemp("kube"))
    cluster.create()
    try:
        yield cluster
    finally:
        cluster.delete()


@pytest.fixture
def private_client(private_cluster: KwokCluster) -> Iterator[k8s.ApiClient]:
    api = private_cluster.api_client()
    yield api
    api.close()


def cordon(api: k8s.ApiClient, unschedulable: bool) -> None:
    core = k8s.CoreV1Api(api)
    for node in core.list_node(label_selector="type=kwok").items:
        core.patch_node(node.metadata.name, {"spec": {"unschedulable": unschedulable}})


@override_settings(SLIPWAY_ROLLOUT_TIMEOUT_SECONDS=120)
def test_rollout_completes_after_the_api_server_restarts(private_cluster, private_client):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = cluster_register(actor=Actor.system("test"), name="faults-apiserver", kind="local",
                               kubeconfig=private_cluster.kubeconfig_file.read_text(), make_default=True)
    team = TeamFactory(slug="faults-kube")
    qa = UserFactory(username="faults-kube", roles=["QA"], teams=[team])
    # Hold the rollout in its readiness wait: with every node cordoned its pods stay Pending (a quota
    # would fail it after its grace period instead). The fault is injected while it waits.
    cordon(private_client, True)
    failures: list[BaseException] = []

    def restart_while_waiting() -> None:
        try:
            wait_for(lambda: JobEvent.objects.filter(job__kind="rollout", text__startswith="waiting for").exists(),
                     60, "the rollout's wait")
            private_cluster.restart_apiserver()
            cordon(private_client, False)
        except BaseException as exc:  # re-raised in the test's thread below
            failures.append(exc)
            cordon(private_client, False)  # let the rollout end rather than wait for its timeout
        finally:
            connection.close()

    fault = threading.Thread(target=restart_while_waiting)
    fault.start()
    try:
        # The project's eager Celery app runs the rollout here, in this thread, while the fault is injected.
        environment = environment_create(actor=Actor.for_user(qa), user=qa, cluster=cluster,
                                          blueprint=Blueprint.objects.get(name="shop"), name="faults-kube",
                                          stage="qa", team=team,
                                          versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
    finally:
        fault.join(timeout=180)
    assert not failures, failures
    job = Job.objects.get(rollout__environment=environment)
    environment.refresh_from_db()
    assert (job.state, job.attempts, job.error) == (Job.SUCCEEDED, 1, "")
    assert environment.status == Environment.READY
    assert job.events.filter(text__startswith="waiting for").exists()  # it was waiting when the server died
    moves = list(AuditEvent.objects.filter(action="environment.status_changed", object_id=str(environment.pk))
                 .order_by("timestamp").values_list("details__to", flat=True))
    assert moves[-2:] == ["deploying", "ready"]
    assert AuditEvent.objects.filter(action="job.succeeded", object_id=str(job.pk)).count() == 1
    deployments = k8s.AppsV1Api(private_client).list_namespaced_deployment(environment.namespace).items
    assert sorted(d.metadata.name for d in deployments) == ["api", "web", "worker"]
    assert all(d.status.ready_replicas == d.spec.replicas for d in deployments)


async def test_log_stream_resumes_after_the_api_server_restarts(private_cluster, private_client, users, team):
    namespace = "faults-logs"
    await asyncio.to_thread(namespace_create, private_client, namespace, labels={}, timeout=60)
    logs_root = Path(private_cluster.logs_root)
    await asyncio.to_thread(start_pod, private_client, namespace, "web-1", "web", labels={NAME: "web"},
                            register_log=False)
    # Registered once the pod runs: then it waits until kwok serves the pod's own file.
    await asyncio.to_thread(register_pod_log, namespace, "web-1", "web", client=private_client, logs_root=logs_root)
    environment = await db(make_environment, str(private_cluster.kubeconfig_file), namespace, team=team,
                           owner=users["qa"])
    comm = communicator(environment, users["qa"], "component=web")
    assert (await comm.connect(timeout=20))[0]
    viewer = Viewer(comm)
    await viewer.until(lambda i: i.get("kind") == "ready")
    await asyncio.to_thread(append_pod_log, namespace, "web-1", "web", "before the restart", client=private_client,
                            logs_root=logs_root)
    await viewer.until(line("before the restart"))

    await asyncio.to_thread(private_cluster.restart_apiserver)
    await viewer.until(lambda i: i.get("kind") == "reconnecting")
    await asyncio.to_thread(append_pod_log, namespace, "web-1", "web", "after the restart", client=private_client,
                            logs_root=logs_root)
    await viewer.until(line("after the restart"), timeout=60)

    assert viewer.lines().count("before the restart") == 1  # resumed from its last line, no replay
    assert viewer.lines().count("after the restart") == 1
    await comm.disconnect()
