"""The one AWS adapter: every boto3 client in Slipway is built here, with endpoint overrides.

``AWS_ENDPOINT_URL`` points every service at one endpoint (the moto server in tests and in
``make run``); ``SLIPWAY_AWS_ENDPOINT_URLS`` (``s3=http://…,route53=http://…``) overrides per service.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings

from portal.redaction import hold

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"})


def endpoint_for(service: str) -> str | None:
    return settings.AWS_ENDPOINT_URLS.get(service) or settings.AWS_ENDPOINT_URL or None


def session(*, region: str | None = None, credentials: dict[str, str] | None = None) -> boto3.session.Session:
    """A session from explicit credentials (e.g. a cluster's stored keys) or the default chain."""
    kwargs: dict[str, Any] = {"region_name": region or settings.AWS_REGION}
    # The keys a job uses are secrets it holds: masked wherever a tool or an error echoes them.
    hold(os.environ.get("AWS_SECRET_ACCESS_KEY"), os.environ.get("AWS_SESSION_TOKEN"))
    if credentials:
        hold(credentials.get("secret_access_key"), credentials.get("session_token"))
        kwargs.update(aws_access_key_id=credentials["access_key_id"],
                      aws_secret_access_key=credentials["secret_access_key"],
                      aws_session_token=credentials.get("session_token"))
    return boto3.session.Session(**kwargs)


def client(service: str, *, region: str | None = None, credentials: dict[str, str] | None = None,
           endpoint_url: str | None = None, config: Config | None = None) -> Any:
    """A client for ``service``; ``endpoint_url`` (e.g. another account's S3-compatible store) wins over
    the configured endpoints, and ``config`` is merged over the default retry policy."""
    return session(region=region, credentials=credentials).client(
        service, endpoint_url=endpoint_url or endpoint_for(service),
        config=_RETRIES.merge(config) if config else _RETRIES)
