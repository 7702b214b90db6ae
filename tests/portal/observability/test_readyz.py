"""/readyz against the real services: 200 naming every check, 503 naming the one that failed."""

import socket

import pytest
from channels.layers import channel_layers
from django.contrib.sessions.models import Session

from portal.channel_layer import redis_channel_layer

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_everywhere(settings, redis_url):
    settings.CELERY_BROKER_URL = f"{redis_url}/6"
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(f"{redis_url}/6")}
    yield settings
    channel_layers.backends.clear()


def test_ready_when_database_broker_and_channel_layer_answer(client, redis_everywhere):
    redis_everywhere.SECURE_SSL_REDIRECT = True  # probes speak plain HTTP: no redirect, like /healthz
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok",
                               "checks": {"database": "ok", "redis broker": "ok", "channel layer": "ok"}}
    assert "sessionid" not in response.cookies and not Session.objects.exists()


def test_a_broker_on_a_closed_port_answers_503_naming_the_redis_broker(client, redis_everywhere):
    redis_everywhere.CELERY_BROKER_URL = f"redis://:probe-secret-pw@127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["message"] == "Slipway is not ready: redis broker failing."
    assert body["checks"]["database"] == "ok" and body["checks"]["channel layer"] == "ok"
    assert body["checks"]["redis broker"].startswith("The Celery broker (Redis) did not accept a connection")
    text = response.content.decode()
    assert "probe-secret-pw" not in text and "redis://" not in text and "Traceback" not in text


def test_a_channel_layer_on_a_closed_port_is_named(client, redis_everywhere):
    redis_everywhere.CHANNEL_LAYERS = {"default": redis_channel_layer(f"redis://127.0.0.1:{closed_port()}/0")}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["message"] == "Slipway is not ready: channel layer failing."
