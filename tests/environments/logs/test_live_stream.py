"""Live logs over the websocket, against the real local control plane (kwok serves pod logs)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client as k8s

from clusters.kube import pod_logs
from devstack.kwok_pod_logs import append_pod_log
from environments.logs.consumers import LogStreamConsumer
from portal.audit.models import AuditEvent
from portal.streaming import CLOSE_BAD_REQUEST, CLOSE_FORBIDDEN

from .support import Viewer, apiserver_connections, communicator, db, line, make_environment, start_pod

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def environment(users, team, kubeconfig_path, kube_namespace):
    return make_environment(kubeconfig_path, kube_namespace, team=team, owner=users["developer"])


async def open_viewer(environment, user, query="", *, ack=True) -> Viewer:
    comm = communicator(environment, user, query)
    connected, code = await comm.connect(timeout=20)
    assert connected, code
    viewer = Viewer(comm, ack=ack)
    await viewer.until(lambda i: i.get("kind") == "ready")
    viewer.checked = 0  # lines may arrive before "ready": let the test look at them too
    return viewer


async def test_tail_then_live_lines_from_the_selected_component_only(environment, users, kube_client,
                                                                      kube_namespace):
    ns = kube_namespace
    await db(start_pod, kube_client, ns, "web-1", "web")
    await db(start_pod, kube_client, ns, "api-1", "api")
    await db(append_pod_log, ns, "web-1", "web", "\n".join(f"old {n}" for n in range(5)), client=kube_client)
    await db(append_pod_log, ns, "api-1", "api", "api line", client=kube_client)

    viewer = await open_viewer(environment, users["developer"], "component=web&tail=2")
    await viewer.until(line("old 4"))
    assert viewer.lines() == ["old 3", "old 4"]  # tail=2: only the last two lines

    hostile = "\x1b[31mred\x1b[0m <script>alert(1)</script> & \"quotes\""
    huge = "x" * (1024 * 1024)
    await db(append_pod_log, ns, "web-1", "web", f"live one\n{hostile}\n{huge}\nafter huge", client=kube_client)
    await viewer.until(line("after huge"))
    assert viewer.lines()[2:] == ["live one", hostile, huge, "after huge"]  # verbatim: the page escapes
    assert {i["pod"] for i in viewer.items if "pod" in i and "type" not in i} == {"web-1"}
    assert all(i["ts"].startswith("20") for i in viewer.items if "type" not in i)
    assert [m["pod"] for m in viewer.markers("pod-joined")] == ["web-1"]
    await viewer.comm.disconnect()


async def test_whole_log_with_tail_all_and_since(environment, users, kube_client, kube_namespace):
    ns = kube_namespace
    await db(start_pod, kube_client, ns, "web-1", "web")
    path = await db(append_pod_log, ns, "web-1", "web", "", client=kube_client)
    with path.open("a") as log:  # two lines written two hours ago, in CRI format
        stamp = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        log.write(f"{stamp} stdout F ancient 1\n{stamp} stdout F ancient 2\n")
    await db(append_pod_log, ns, "web-1", "web", "\n".join(f"line {n}" for n in range(500)), client=kube_client)

    everything = await open_viewer(environment, users["developer"], "component=web&tail=all")
    await everything.until(line("line 499"))
    # No line-count cap: the whole log, old lines included.
    assert everything.lines() == ["", "ancient 1", "ancient 2", *(f"line {n}" for n in range(500))]
    await everything.comm.disconnect()

    recent = await open_viewer(environment, users["developer"], "component=web&tail=all&since=3600")
    await recent.until(line("line 499"))
    assert "ancient 1" not in recent.lines() and len(recent.lines()) == 501  # since: the last hour only
    await recent.comm.disconnect()


async def test_replaced_pod_leaves_and_its_successor_joins(environment, users, kube_client, kube_namespace):
    ns = kube_namespace
    await db(start_pod, kube_client, ns, "web-1", "web")
    viewer = await open_viewer(environment, users["developer"], "component=web")
    await db(append_pod_log, ns, "web-1", "web", "from the first pod", client=kube_client)
    await viewer.until(line("from the first pod"))

    await db(k8s.CoreV1Api(kube_client).delete_namespaced_pod, "web-1", ns, grace_period_seconds=0)
    await viewer.until(lambda i: i.get("kind") == "pod-left" and i["pod"] == "web-1")
    await db(start_pod, kube_client, ns, "web-2", "web")
    await viewer.until(lambda i: i.get("kind") == "pod-joined" and i["pod"] == "web-2")
    await db(append_pod_log, ns, "web-2", "web", "from the second pod", client=kube_client)
    found = await viewer.until(line("from the second pod"))
    assert found["pod"] == "web-2"
    await viewer.comm.disconnect()


async def test_disconnect_closes_the_api_server_streams_and_leaves_no_threads(environment, users, kube_client,
                                                                               kube_namespace):
    ns = kube_namespace
    await db(start_pod, kube_client, ns, "web-1", "web")
    await db(start_pod, kube_client, ns, "web-2", "web")
    await db(append_pod_log, ns, "web-1", "web", "warm up", client=kube_client)
    threads_before = threading.active_count()
    connections_before = apiserver_connections()

    viewer = await open_viewer(environment, users["developer"], "component=web")
    await viewer.until(line("warm up"))
    # One pod watch and two log follows are open while streaming...
    assert apiserver_connections() >= connections_before + 3
    await viewer.comm.disconnect()

    # ...and all of them are closed once the browser goes (cancellation is immediate; the loop
    # only gives the sockets' close a few turns of the event loop).
    for _ in range(100):
        if apiserver_connections() == connections_before:
            break
        await asyncio.sleep(0.05)
    assert apiserver_connections() == connections_before
    assert threading.active_count() <= threads_before


async def test_unauthorized_users_are_refused_and_production_viewing_is_audited(environment, users, kube_client,
                                                                                 kube_namespace):
    from django.contrib.auth.models import AnonymousUser

    for user in (users["outsider"], AnonymousUser()):
        comm = communicator(environment, user)
        connected, code = await comm.connect(timeout=10)
        assert (connected, code) == (False, CLOSE_FORBIDDEN)

    await db(start_pod, kube_client, kube_namespace, "web-1", "web")
    viewer = await open_viewer(environment, users["manager"], "component=web")  # read-only, may watch
    await viewer.comm.disconnect()
    assert not await db(AuditEvent.objects.filter(action="environment.logs.live").exists)

    environment.stage = "prod"
    await db(environment.save)
    viewer = await open_viewer(environment, users["manager"], "component=web&tail=10")
    await viewer.comm.disconnect()
    event = await db(AuditEvent.objects.get, action="environment.logs.live")
    assert (event.actor_name, event.object_id) == ("manager", str(environment.pk))
    assert event.details["components"] == ["web"] and event.details["tail_lines"] == 10


async def test_bad_selection_is_refused_with_a_message(environment, users):
    comm = communicator(environment, users["developer"], "component=Not_Valid!")
    connected, _ = await comm.connect(timeout=10)
    assert connected
    frame = await comm.receive_json_from(timeout=10)
    assert "not a valid Kubernetes name" in frame["items"][0]["text"]
    assert (await comm.receive_output(timeout=10))["code"] == CLOSE_BAD_REQUEST


async def test_a_slow_browser_gets_a_skipped_marker_not_unbounded_memory(environment, users, kube_client,
                                                                         kube_namespace, monkeypatch):
    monkeypatch.setattr(LogStreamConsumer, "MAX_ITEMS", 100)
    monkeypatch.setattr(LogStreamConsumer, "ACK_WINDOW", 1)
    monkeypatch.setattr(LogStreamConsumer, "PAUSE_SECONDS", 0.5)
    ns = kube_namespace
    await db(start_pod, kube_client, ns, "web-1", "web")
    viewer = await open_viewer(environment, users["developer"], "component=web")
    viewer.ack = False
    # The viewer stops acknowledging: one batch in flight, then the outbox fills and lines drop.
    await db(append_pod_log, ns, "web-1", "web", "\n".join(f"burst {n}" for n in range(3000)), client=kube_client)
    await asyncio.sleep(2.0)  # the read pauses 0.5 s, then drops (not a timing assertion)
    viewer.ack = True
    await viewer.comm.send_json_to({"ack": 10_000})
    await viewer.until(lambda i: i.get("kind") == "skipped")
    # Once the viewer keeps up again, new lines flow (a probe may itself be skipped while the
    # outbox drains, and is then counted like any other line).
    for attempt in range(20):
        await db(append_pod_log, ns, "web-1", "web", f"probe {attempt}", client=kube_client)
        try:
            await viewer.until(line(f"probe {attempt}"), timeout=3)
            break
        except AssertionError:
            continue
    delivered = [t for t in viewer.lines() if t.startswith(("burst", "probe"))]
    skipped = sum(m["count"] for m in viewer.markers("skipped"))
    assert skipped > 0 and delivered[-1] == f"probe {attempt}"
    assert len(delivered) + skipped == 3000 + attempt + 1  # every line either delivered or counted
    await viewer.comm.disconnect()


async def test_a_briefly_slow_browser_loses_nothing(environment, users, kube_client, kube_namespace, monkeypatch):
    monkeypatch.setattr(LogStreamConsumer, "MAX_ITEMS", 100)
    monkeypatch.setattr(LogStreamConsumer, "ACK_WINDOW", 1)
    ns = kube_namespace
    await db(start_pod, kube_client, ns, "web-1", "web")
    viewer = await open_viewer(environment, users["developer"], "component=web")
    viewer.ack = False
    await db(append_pod_log, ns, "web-1", "web", "\n".join(f"burst {n}" for n in range(3000)), client=kube_client)
    await asyncio.sleep(1.0)  # a pause shorter than PAUSE_SECONDS: the pod log read waits instead
    viewer.ack = True
    await viewer.comm.send_json_to({"ack": 10_000})
    await viewer.until(line("burst 2999"))
    assert [t for t in viewer.lines() if t.startswith("burst")] == [f"burst {n}" for n in range(3000)]
    assert not viewer.markers("skipped")
    await viewer.comm.disconnect()


async def test_a_busy_container_is_read_in_gathered_chunks_from_the_socket_under_tls(environment, users,
                                                                                    kube_client, kube_namespace,
                                                                                    monkeypatch):
    # The gathering pauses the socket's own transport: pausing the TLS layer above it would still wake
    # the loop for every line. That transport is asyncio's private attribute, so this checks it is found.
    paused = []
    gather = pod_logs.let_lines_gather

    async def recording(transport):
        paused.append(transport)
        await gather(transport)

    monkeypatch.setattr(pod_logs, "let_lines_gather", recording)
    ns = kube_namespace
    await db(start_pod, kube_client, ns, "web-1", "web")
    viewer = await open_viewer(environment, users["developer"], "component=web")
    await db(append_pod_log, ns, "web-1", "web", "\n".join(f"busy {n}" for n in range(5000)), client=kube_client)
    await viewer.until(line("busy 4999"))
    assert [t for t in viewer.lines() if t.startswith("busy")] == [f"busy {n}" for n in range(5000)]
    assert environment.cluster.kubeconfig and "https://" in environment.cluster.kubeconfig
    wire = paused[-1]
    assert wire.get_extra_info("socket") is not None
    assert wire.get_extra_info("ssl_object") is None, "the TLS layer was paused, not the socket under it"
    await viewer.comm.disconnect()
