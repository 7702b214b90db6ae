"""Watching an environment's live logs (the websocket, on the local control plane) is activity; a refused
viewer records none."""

from __future__ import annotations

import pytest

from environments.sleep.models import SleepState
from tests.environments.logs.support import communicator, db, make_environment

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


async def test_opening_the_live_log_stream_records_logs_activity(users, team, kubeconfig_path, kube_namespace):
    environment = await db(make_environment, kubeconfig_path, kube_namespace, team=team, owner=users["developer"])
    refused = communicator(environment, users["outsider"])
    assert (await refused.connect(timeout=10))[0] is False
    assert not await db(SleepState.objects.filter(environment=environment).exists)
    viewer = communicator(environment, users["developer"])
    connected, code = await viewer.connect(timeout=20)
    assert connected, code
    await viewer.disconnect()
    state = await db(SleepState.objects.get, environment=environment)
    assert state.last_activity_kind == "logs" and state.last_activity_at is not None
