"""Expiry notices by e-mail and chat webhook: once per expiry, and a failing channel blocks nothing."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from environments.models import Environment
from environments.services import environment_extend, environments_expire
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.environments import test_services
from tests.environments.test_services import create

shop = test_services.shop


class ChatServer:
    """A Slack-compatible incoming webhook on loopback that records what it receives."""

    def __init__(self, status: int = 200) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T000/B000/secret-part"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat(settings):
    server = ChatServer()
    settings.SLIPWAY_CHAT_WEBHOOK_URL = server.url
    yield server
    server.close()


def _expiring(users, team, shop, hours=1):
    environment = create(users["qa"], shop, team)
    Environment.objects.filter(pk=environment.pk).update(expires_at=timezone.now() + timedelta(hours=hours))
    environment.refresh_from_db()
    return environment


def test_owner_gets_one_email_and_one_chat_message_per_expiry(users, team, shop, chat, settings):
    settings.SLIPWAY_EXPIRY_NOTICE_HOURS = 24
    environment = _expiring(users, team, shop)
    environments_expire()
    environments_expire()  # the next beat: nothing is sent again
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["qa@example.test"] and "qa-1 expires" in message.subject
    assert f"/environments/{environment.pk}/" in message.body and "Extend" in message.body
    assert len(chat.received) == 1 and "qa-1 expires" in chat.received[0]["text"]
    assert "owner: qa" in chat.received[0]["text"]
    event = AuditEvent.objects.get(action="environment.expiry_notice")
    assert event.details["channels"] == {"email": "sent", "chat": "sent"}
    # Extending starts a new expiry, which gets its own notice when it comes near.
    environment_extend(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment, hours=2)
    environments_expire()
    assert len(mail.outbox) == 2 and len(chat.received) == 2


def test_failing_channels_do_not_block_expiry_and_are_not_retried(users, team, shop, settings):
    settings.SLIPWAY_EXPIRY_NOTICE_HOURS = 24
    settings.SLIPWAY_EXPIRY_GRACE_MINUTES = 10
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    broken = ChatServer(status=500)
    settings.SLIPWAY_CHAT_WEBHOOK_URL = broken.url
    try:
        environment = _expiring(users, team, shop)
        environments_expire()
        event = AuditEvent.objects.get(action="environment.expiry_notice")
        assert event.details["channels"]["email"].startswith("failed: ")
        assert event.details["channels"]["chat"] == "failed: the chat webhook answered HTTP 500"
        assert "secret-part" not in json.dumps(event.details)
        # Past expiry and the grace period: destroyed all the same, and no second attempt to notify.
        later = timezone.now() + timedelta(hours=2)
        assert environments_expire(now=later) == [environment.pk]
        assert len(broken.received) == 1
        assert AuditEvent.objects.filter(action="environment.expiry_notice").count() == 1
        environment.refresh_from_db()
        assert environment.status == Environment.DESTROYING
    finally:
        broken.close()


def test_owner_without_email_is_skipped_and_no_webhook_means_no_post(users, team, shop, settings):
    settings.SLIPWAY_EXPIRY_NOTICE_HOURS = 24
    settings.SLIPWAY_CHAT_WEBHOOK_URL = ""
    users["qa"].email = ""
    users["qa"].save()
    _expiring(users, team, shop)
    environments_expire()
    assert mail.outbox == []
    event = AuditEvent.objects.get(action="environment.expiry_notice")
    assert event.details["channels"] == {"email": "skipped: the owner has no e-mail address"}
