"""The one AWS adapter: every boto3 client in Slipway is built here, with endpoint overrides.

``AWS_ENDPOINT_URL`` points every service at one endpoint (the moto server in tests and in
``make run``); ``SLIPWAY_AWS_ENDPOINT_URLS`` (``s3=http://…,route53=http://…``) overrides per service.

Only this module imports boto3/botocore (ruff's banned-api rule TID251 enforces it): callers catch
``aws.ClientError``/``aws.BotoCoreError`` (and the narrower ``NoCredentialsError``,
``EndpointConnectionError``) and tune a client with ``aws.config(...)``, so the retry policy and the
credential masking here cannot be skipped by building a client elsewhere.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from botocore.signers import RequestSigner
from django.conf import settings

from portal.redaction import hold

__all__ = ["BotoCoreError", "ClientError", "EndpointConnectionError", "NoCredentialsError", "client", "config",
           "default_region", "endpoint_for", "presigned_get_url"]

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"})


def config(**options: Any) -> Config:
    """Client options (``max_pool_connections``, ``retries``…) that ``client(config=…)`` merges over the
    default retry policy; the keywords are botocore's ``Config``'s."""
    return Config(**options)


def endpoint_for(service: str) -> str | None:
    return settings.AWS_ENDPOINT_URLS.get(service) or settings.AWS_ENDPOINT_URL or None


def _session(*, region: str | None = None, credentials: dict[str, str] | None = None) -> boto3.session.Session:
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


def default_region() -> str | None:
    """The region clients use when none is given (``AWS_REGION``, else boto3's own configuration)."""
    return _session().region_name


def client(service: str, *, region: str | None = None, credentials: dict[str, str] | None = None,
           endpoint_url: str | None = None, config: Config | None = None) -> Any:
    """A client for ``service``; ``endpoint_url`` (e.g. another account's S3-compatible store) wins over
    the configured endpoints, and ``config`` is merged over the default retry policy."""
    # The session stays private: a client made from it elsewhere would skip the retry policy below.
    return _session(region=region, credentials=credentials).client(
        service, endpoint_url=endpoint_url or endpoint_for(service),
        config=_RETRIES.merge(config) if config else _RETRIES)


def presigned_get_url(service: str, *, query: str, headers: dict[str, str], region: str,
                      credentials: dict[str, str] | None = None, expires_in: int) -> str:
    """A SigV4 presigned ``GET <service endpoint>/?<query>`` URL that also signs ``headers``, for another
    party to replay (EKS's authenticator replays STS ``GetCallerIdentity`` to learn who calls)."""
    signing = _session(region=region, credentials=credentials)
    service_client = client(service, region=region, credentials=credentials)
    signer = RequestSigner(service_client.meta.service_model.service_id, region, service, "v4",
                           signing.get_credentials(), signing.events)
    return signer.generate_presigned_url(
        {"method": "GET", "url": f"{service_client.meta.endpoint_url}/?{query}", "body": {}, "headers": headers,
         "context": {}},
        region_name=region, expires_in=expires_in, operation_name="")
