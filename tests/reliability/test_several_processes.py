"""Several processes, one system: two daphne web processes (A, B), two Celery workers and two beats, each its own
OS process, over the one test database and one Redis database.

Web B follows jobs through the channel layer only: its database fallback poll is set to an hour, so every job
event it delivers after the socket opened crossed processes through Redis (worker → channel layer → web B).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from kubernetes import client as k8s

from bench.bench_stack import Api
from clusters.kube.owner_labels import ENVIRONMENT, MANAGED_BY
from clusters.services import cluster_register
from devstack.kwok_pod_logs import append_pod_log
from environments.models import Blueprint, Environment
from portal.accounts.tokens import api_token_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from tests.environments.logs.support import make_environment, start_pod
from tests.factories import TeamFactory, UserFactory
from tests.reliability.portal_processes import Browser, PortalProcesses
from tests.reliability.worker import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
REDIS_DB = 13  # this module's own; the keys it makes carry the test run's pid and are deleted at the end
RUN = f"multiproc-{os.getpid()}"
LEASE_SECONDS = 2
VISIBILITY_SECONDS = 8  # a killed worker's task goes to the other after this long (the test kills within ~1 s)
PROBE_ENTRY = "multiproc-probe"  # tests/reliability/beat_probe.py's entry (not imported: it reschedules the app)


@pytest.fixture(scope="module")
def slipway(django_db_setup, redis_url, tmp_path_factory):
    """Six processes started at once (their start-up overlaps), ready, then stopped and their keys deleted."""
    url = f"{redis_url}/{REDIS_DB}"
    processes = PortalProcesses(url, tmp_path_factory.mktemp("multiproc"), {
        "SLIPWAY_CELERY_QUEUE": RUN, "SLIPWAY_BEAT_PROBE_QUEUE": f"{RUN}-probe",
        "SLIPWAY_BEAT_LOCK_SECONDS": str(LEASE_SECONDS), "SLIPWAY_ROLLOUT_TIMEOUT_SECONDS": "120",
        "SLIPWAY_CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_SECONDS)})
    broker = redis.Redis.from_url(url)
    try:
        web_a = processes.web("web-a")
        web_b = processes.web("web-b", SLIPWAY_JOB_STREAM_POLL_SECONDS="3600")
        for name in ("worker-1", "worker-2"):
            processes.worker(name)
        for name in ("beat-1", "beat-2"):
            processes.beat(name, "tests.reliability.beat_probe")
        processes.wait_listening(web_a, "web-a")
        processes.wait_listening(web_b, "web-b")
        for name in ("worker-1", "worker-2"):
            processes.wait_logged(name, " ready.")
        yield {"processes": processes, "web_a": web_a, "web_b": web_b, "redis": broker}
    finally:
        processes.stop()
        for key in broker.scan_iter(f"*{RUN}*"):
            broker.delete(key)
        broker.close()


def session_cookie(user) -> tuple[str, str]:
    """A signed-in browser's session cookie (sessions live in the database every web process reads)."""
    browser = Client()
    browser.force_login(user)
    return settings.SESSION_COOKIE_NAME, browser.cookies[settings.SESSION_COOKIE_NAME].value


def holding(processes: PortalProcesses, task: str) -> list[str]:
    """The workers whose log says they received ``task``."""
    return [name for name in ("worker-1", "worker-2") if f"{task}[" in processes.started[name].output()]


def test_job_started_on_web_a_streams_to_web_b_and_survives_its_killed_worker(slipway, kubeconfig_path,
                                                                              kube_client):
    processes: PortalProcesses = slipway["processes"]
    core = k8s.CoreV1Api(kube_client)
    call_command("seed_demo_blueprint", verbosity=0)
    system = Actor.system("test")
    cluster_register(actor=system, name="local", kind="local", kubeconfig=Path(kubeconfig_path).read_text(),
                     make_default=True)
    team = TeamFactory(slug="payments")
    qa = UserFactory(username="qa-multiproc", roles=["QA"], teams=[team])
    _, key = api_token_create(actor=system, user=qa, name="multiproc")
    name = f"mp-{uuid.uuid4().hex[:6]}"  # its namespace is deleted in the background: never reuse a name
    namespace = f"slw-{name}"
    # Hold the rollout in its readiness wait (no pod may exist) until the first worker is dead.
    core.create_namespace({"metadata": {"name": namespace, "labels": {MANAGED_BY: "slipway", ENVIRONMENT: name}}})
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "hold"}, "spec": {"hard": {"pods": "0"}}})
    browser = None
    try:
        Api(slipway["web_a"], key).post("/api/v1/environments/", {
            "name": name, "cluster": "local", "blueprint": Blueprint.objects.get(name="shop").pk, "stage": "qa",
            "team": team.slug, "versions": {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}})
        environment = Environment.objects.get(name=name)
        job = Job.objects.get(rollout__environment=environment)
        browser = Browser(slipway["web_b"], f"/ws/jobs/{job.pk}/", session_cookie(qa))
        assert browser.opened.wait(30) and not browser.closed, browser.closed
        # Kill as soon as the job runs: Redis hands an unacknowledged task to the other worker once the
        # visibility timeout has passed, even while the first still runs it (kombu has no heartbeat).
        holders = wait_for(lambda: Job.objects.filter(pk=job.pk, state="running").exists()
                           and holding(processes, "environments.rollout"), 30, "a worker to start the rollout")
        assert len(holders) == 1, f"both workers took the rollout before the kill: {holders}"
        [first], [second] = holders, list({"worker-1", "worker-2"} - set(holders))
        processes.started[first].kill()
        seen_before_kill = max((m["seq"] for m in browser.received() if m["type"] == "event"), default=0)
        job.refresh_from_db()
        assert (job.state, job.attempts) == ("running", 1)
        core.delete_namespaced_resource_quota("hold", namespace)
        final = browser.wait(lambda m: m["type"] == "status" and m["state"] in Job.FINISHED, 120,
                             "the job's final state on web B")

        assert final["state"] == "succeeded", final
        events = [m for m in browser.received() if m["type"] == "event"]
        assert [m["seq"] for m in events] == list(range(1, len(events) + 1))  # no gap, no duplicate
        after_kill = [m for m in events if m["seq"] > seen_before_kill]
        # Delivered live by the worker's broadcasts through Redis (web B does not poll): the restart, progress.
        assert any(m["kind"] == "state" and m["text"] == "restarted (attempt 2)" for m in after_kill), after_kill
        assert [m["progress"] for m in after_kill if m["kind"] == "progress"], after_kill
        assert after_kill[-1]["kind"] == "state" and after_kill[-1]["state"] == "succeeded"
        assert holding(processes, "environments.rollout") == ["worker-1", "worker-2"]  # the second one got it too
        assert "succeeded" in processes.started[second].output()

        job.refresh_from_db()
        environment.refresh_from_db()
        assert (job.state, job.attempts, job.finished_at is not None) == ("succeeded", 2, True)
        assert environment.status == Environment.READY
        recorded = AuditEvent.objects.get(action="job.succeeded", object_id=str(job.pk))
        assert recorded.details["attempts"] == 2
        deployments = k8s.AppsV1Api(kube_client).list_namespaced_deployment(namespace).items
        assert sorted(d.metadata.name for d in deployments) == ["api", "web", "worker"]
        assert all(d.status.ready_replicas == d.spec.replicas for d in deployments)
    finally:
        if browser is not None:
            browser.close()
        core.delete_namespace(namespace, propagation_policy="Background")


def test_live_log_stream_opened_on_web_b_delivers_appended_lines(slipway, users, team, kubeconfig_path,
                                                                  kube_namespace, kube_client):
    environment = make_environment(kubeconfig_path, kube_namespace, team=team, owner=users["qa"])
    start_pod(kube_client, kube_namespace, "web-1", "web")
    browser = Browser(slipway["web_b"], f"/ws/environments/{environment.pk}/logs/?component=web",
                      session_cookie(users["qa"]))
    try:
        def items() -> list[dict]:
            return [item for m in browser.received() if m.get("type") == "batch" for item in m["items"]]

        wait_for(lambda: any(i.get("kind") == "ready" for i in items()), 30, "the stream to be ready")
        for n in range(3):
            append_pod_log(kube_namespace, "web-1", "web", f"line {n} for web B", client=kube_client)
        wait_for(lambda: [i["text"] for i in items() if "pod" in i and "type" not in i][-1:] == ["line 2 for web B"],
                 30, "the appended lines on web B")
        assert [i["text"] for i in items() if "pod" in i and "type" not in i] == [f"line {n} for web B"
                                                                                  for n in range(3)]
    finally:
        browser.close()


def probe_origins(broker: redis.Redis) -> list[int]:
    """The pid of the beat that published each probe message, oldest first (kombu pushes at the list's head)."""
    pids = []
    for raw in reversed(broker.lrange(f"{RUN}-probe", 0, -1)):
        message = json.loads(raw)
        headers = message["headers"]
        assert headers["task"] == "clusters.health_check_all", headers
        assert json.loads(base64.b64decode(message["body"]))[0] == []  # no arguments: the entry's own call
        pids.append(int(headers["origin"].split("@")[0].removeprefix("gen")))
    return pids


def test_two_beats_publish_each_tick_once_and_the_stand_by_takes_over(slipway):
    processes: PortalProcesses = slipway["processes"]
    broker: redis.Redis = slipway["redis"]
    beats = {processes.started[name].popen.pid: processes.started[name] for name in ("beat-1", "beat-2")}
    # Both beats have ticked (one leads, one stands by), then six more ticks are published.
    wait_for(lambda: all("is now the leader" in beat.output() or "stands by" in beat.output()
                         for beat in beats.values()), 60, "both beats to tick")
    ticked = len(probe_origins(broker))
    wait_for(lambda: len(probe_origins(broker)) >= ticked + 6, 60, "six more ticks of the probe entry")
    processes.check_alive("beat-1", "beat-2")
    publishers = set(probe_origins(broker))
    assert len(publishers) == 1, f"both beats published the same entry: {sorted(publishers)}"
    [leader_pid] = publishers
    leader = beats.pop(leader_pid)
    [(stand_by_pid, stand_by)] = beats.items()
    assert "stands by" in stand_by.output()
    assert f"Sending due task {PROBE_ENTRY}" not in stand_by.output()

    leader.kill()  # SIGKILL: the lease is not released, it runs out
    published_before = len(probe_origins(broker))
    wait_for(lambda: probe_origins(broker).count(stand_by_pid) >= 3, 10 * LEASE_SECONDS + 30,
             "the stand-by to take over and publish")
    after = probe_origins(broker)[published_before:]
    assert set(after) == {stand_by_pid}
    assert "is now the leader" in stand_by.output()
