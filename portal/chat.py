"""The chat adapter: post a message to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat,
Teams' Slack-compatible connectors). The URL is a secret (it grants posting), so it never appears in errors.
"""

from __future__ import annotations

import requests
from django.conf import settings


class ChatError(Exception):
    """The webhook could not be reached or refused the message."""


def chat_configured() -> bool:
    return bool(settings.SLIPWAY_CHAT_WEBHOOK_URL)


def chat_post(text: str, *, url: str | None = None) -> None:
    """Post ``{"text": text}``. Raises ChatError (without the URL) when it does not arrive."""
    target = url or settings.SLIPWAY_CHAT_WEBHOOK_URL
    if not target:
        raise ChatError("no chat webhook is configured")
    try:
        response = requests.post(target, json={"text": text}, timeout=settings.SLIPWAY_CHAT_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise ChatError(f"the chat webhook is unreachable ({type(exc).__name__})") from None
    if response.status_code >= 300:
        raise ChatError(f"the chat webhook answered HTTP {response.status_code}")
