"""``ws/environments/<id>/logs/``: an environment's live pod logs, merged, to one browser.

Query parameters pick what to follow (see selection.parse_selection): ``component`` (repeatable),
``pod``, ``container``, ``tail`` (lines per container, ``all`` for no cap), ``since`` (seconds),
``previous=1`` (the previous container's logs, not followed).
Frames are the shared stream batches: ``{"type": "batch", "seq", "items": [...]}`` whose items
are lines ``{"pod", "container", "ts", "text"}`` or markers ``{"type": "marker", "kind", "text"}``;
the browser acknowledges each ``seq`` with ``{"ack": seq}``.
"""

from __future__ import annotations

import asyncio
from json.encoder import encode_basestring_ascii as _quoted  # json.dumps's own string encoder (in C)
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from clusters.kube.client import AsyncEndpoint, async_endpoint
from clusters.kube.pod_logs import KubeLogSource
from portal.accounts import authz
from portal.accounts.rules import PRODUCTION_STAGES
from portal.audit.actor import Actor
from portal.request_context import scope_source_ip
from portal.streaming import CLOSE_BAD_REQUEST, StreamConsumer

from ..models import Environment
from ..sleep.activity import activity_record
from .selection import SelectionError, parse_selection
from .services import environment_logs_opened


class LogStreamConsumer(StreamConsumer):
    OVERFLOW = "drop"  # live lines are not stored: a slow browser gets a "N lines skipped" marker
    ACK_WINDOW = 8
    MAX_ITEMS = 20_000
    MAX_BYTES = 8 * 1024 * 1024

    async def load_object(self) -> Environment | None:
        # One trip to the database thread for everything connect needs: each trip may open a new
        # database connection (CONN_MAX_AGE=0), which dominated connect time with 200 viewers.
        environment, self.allowed, self.endpoint = await database_sync_to_async(self._load)(
            self.scope["url_route"]["kwargs"]["environment_id"])
        return environment

    def _load(self, environment_id: int) -> tuple[Environment | None, bool, AsyncEndpoint | None]:
        environment = (Environment.objects.select_related("cluster", "team").filter(pk=environment_id)
                       .exclude(status=Environment.DESTROYED).first())
        if environment is None or not authz.logs_can(self.scope["user"], authz.VIEW, environment):
            return environment, False, None
        activity_record(environment, "logs")
        return environment, True, async_endpoint(environment.cluster.kubeconfig)

    async def authorize(self, obj: Environment) -> bool:
        return self.allowed

    async def on_open(self) -> None:
        self.prefixes: dict[tuple[str, str], str] = {}
        try:
            selection = parse_selection(parse_qs(self.scope.get("query_string", b"").decode(),
                                                 keep_blank_values=True))
        except SelectionError as exc:
            await self.send_json({"type": "batch", "seq": 0, "items": [
                {"type": "marker", "kind": "error", "text": str(exc)}]})
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        environment: Environment = self.object
        if environment.stage in PRODUCTION_STAGES:
            await database_sync_to_async(self._audit)(environment, selection)
        source = KubeLogSource(self.endpoint, environment.namespace, selection, self._emit,
                               room=self.outbox.room, wait_for_room=self.wait_for_room)
        self.tasks.append(asyncio.ensure_future(source.run()))

    def _audit(self, environment: Environment, selection) -> None:
        user = self.scope["user"]
        actor = Actor(name=user.get_username(), user_id=user.pk, source_ip=scope_source_ip(self.scope))
        environment_logs_opened(actor=actor, environment=environment, what="live", details=selection.describe())

    def _emit(self, message: dict, droppable: bool) -> None:
        if not droppable:  # a marker
            self.push(message, size=len(message.get("text", "")) + 96)
            return
        # A line, encoded here as json.dumps(message, separators=(",", ":")) would (the page reads the
        # same frame), with the pod's part made once: the hot path of a busy stream.
        source = (message["pod"], message["container"])
        prefix = self.prefixes.get(source)
        if prefix is None:
            prefix = self.prefixes[source] = (f'{{"pod":{_quoted(source[0])},"container":{_quoted(source[1])},'
                                              f'"ts":')
        text = message["text"]
        self.push(f'{prefix}{_quoted(message["ts"])},"text":{_quoted(text)}}}', droppable=True, size=len(text) + 96)
