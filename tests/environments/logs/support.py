"""Helpers for the log tests: an environment row over a real namespace, pods with kwok logs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from kubernetes import client as k8s

from clusters.models import Cluster
from devstack.control_plane import KUBE_PORT
from devstack.kwok_pod_logs import start_pod as start_kwok_pod
from environments.models import Blueprint, Environment
from environments.render.labels import NAME
from portal.routing import websocket_urlpatterns

app = URLRouter(websocket_urlpatterns)


def make_environment(kubeconfig_path: str, namespace: str, *, team, owner, stage: str = "qa") -> Environment:
    call_command("seed_demo_blueprint", verbosity=0)
    cluster, _ = Cluster.objects.get_or_create(name="local-logs", defaults={
        "kind": Cluster.LOCAL, "kubeconfig": Path(kubeconfig_path).read_text()})
    return Environment.objects.create(name=namespace[-30:].strip("-"), cluster=cluster, namespace=namespace,
                                      blueprint=Blueprint.objects.get(name="shop"), stage=stage, team=team,
                                      owner=owner, status=Environment.READY)


def start_pod(kube_client: k8s.ApiClient, namespace: str, name: str, component: str, *,
              labels: dict[str, str] | None = None, register_log: bool = True) -> None:
    """A bare pod of ``component`` (container named like it), Running, with its own kwok log file.

    The log file is registered before the pod exists, so a follower that joins as soon as the
    pod starts already reads the pod's own file (``register_log=False``: the pod gets kwok's
    default, empty log until someone registers one).
    """
    start_kwok_pod(kube_client, namespace, name, component, labels={NAME: component, **(labels or {})},
                   register_log=register_log)


def communicator(environment: Environment, user, query: str = "") -> WebsocketCommunicator:
    comm = WebsocketCommunicator(app, f"/ws/environments/{environment.pk}/logs/?{query}")
    comm.scope["user"] = user
    return comm


class Viewer:
    """Reads batches from a communicator, acknowledging them like the browser does."""

    def __init__(self, comm: WebsocketCommunicator, *, ack: bool = True) -> None:
        self.comm, self.ack = comm, ack
        self.items: list[dict] = []
        self.checked = 0  # items before this index were already offered to until()

    async def next_items(self, timeout: float = 20) -> list[dict]:
        frame = await self.comm.receive_json_from(timeout=timeout)
        assert frame["type"] == "batch", frame
        if self.ack:
            await self.comm.send_json_to({"ack": frame["seq"]})
        self.items.extend(frame["items"])
        return frame["items"]

    async def until(self, predicate, timeout: float = 30) -> dict:
        """The first item not yet looked at that satisfies ``predicate``, reading more as needed."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    while self.checked < len(self.items):
                        item = self.items[self.checked]
                        self.checked += 1
                        if predicate(item):
                            return item
                    await self.next_items(timeout)
        except TimeoutError:
            raise AssertionError(f"not seen within {timeout}s; received: {self.items[-10:]}") from None

    def lines(self, pod: str | None = None) -> list[str]:
        return [i["text"] for i in self.items if "pod" in i and "type" not in i and (pod is None or i["pod"] == pod)]

    def markers(self, kind: str) -> list[dict]:
        return [i for i in self.items if i.get("type") == "marker" and i["kind"] == kind]


def line(text: str):
    return lambda item: item.get("type") is None and item.get("text") == text


def apiserver_connections() -> int:
    """ESTABLISHED TCP connections from this process to the stack's API server."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            for row in list(f)[1:]:
                fields = row.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == KUBE_PORT and fields[3] == "01" and fields[9] in inodes:
                    count += 1
    return count


async def db(fn, *args, **kwargs):
    return await database_sync_to_async(fn)(*args, **kwargs)
