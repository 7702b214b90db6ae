"""Failures of the outside systems a request waits on (a cluster's API server, AWS, a registry).

They are not Slipway's bug and not the caller's mistake: the API answers 503 in its error shape with
the reason in plain words, a page shows the reason as a message. The adapters (``clusters.kubeclient``
and others) raise ``ServiceUnavailable`` with that reason; ``OUTSIDE_ERRORS`` are the client
libraries' own connection errors, mapped to a 502 as a last resort when an adapter did not.
"""

from __future__ import annotations

import urllib3.exceptions
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException

from portal import aws


class ServiceUnavailable(Exception):
    """An outside system did not answer or refused; ``str()`` says which and why, without credentials."""


OUTSIDE_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError, ApiException, ConfigException,
    aws.BotoCoreError, aws.ClientError,
)
