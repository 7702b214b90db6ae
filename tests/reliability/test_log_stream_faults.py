"""Live logs when the connection to the API server breaks: reconnect with back-off, no duplicates.

A plain TCP relay sits between Slipway and the stack's real API server (TLS passes through it
untouched); cutting the relay's connections is what an API server restart or a network drop
looks like from Slipway's side.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from clusters.models import Cluster
from devstack.control_plane import KUBE_PORT
from devstack.kwok_pod_logs import append_pod_log
from tests.environments.logs.support import Viewer, communicator, db, line, make_environment, start_pod

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


class Relay:
    def __init__(self) -> None:
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.connections = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", KUBE_PORT)
        self.writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def cut(self) -> None:
        """Drop every open connection at once, as a restarting API server does."""
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def stop(self) -> None:
        self.cut()
        self.server.close()


async def test_stream_survives_a_dropped_api_server_connection(users, team, kubeconfig_path, kube_namespace,
                                                               kube_client):
    relay = Relay()
    port = await relay.start()
    try:
        environment = await db(make_environment, kubeconfig_path, kube_namespace, team=team, owner=users["qa"])
        cluster = environment.cluster
        cluster.kubeconfig = cluster.kubeconfig.replace(f"127.0.0.1:{KUBE_PORT}", f"127.0.0.1:{port}")
        assert f"127.0.0.1:{port}" in cluster.kubeconfig
        await db(Cluster.save, cluster)
        await db(start_pod, kube_client, kube_namespace, "web-1", "web")
        comm = communicator(environment, users["qa"], "component=web")
        assert (await comm.connect(timeout=20))[0]
        viewer = Viewer(comm)
        await viewer.until(lambda i: i.get("kind") == "ready")
        await db(append_pod_log, kube_namespace, "web-1", "web", "before the cut", client=kube_client)
        await viewer.until(line("before the cut"))
        connections = relay.connections

        relay.cut()
        await viewer.until(lambda i: i.get("kind") == "reconnecting")
        await db(append_pod_log, kube_namespace, "web-1", "web", "after the cut", client=kube_client)
        await viewer.until(line("after the cut"))

        assert relay.connections > connections  # it really reconnected through the relay
        assert viewer.lines().count("before the cut") == 1  # resumed from its last line, no replay
        await comm.disconnect()
    finally:
        await relay.stop()
