"""The errors a caller outside clusters/kube/ may need to catch, without importing the client library.

``UNREACHABLE``: the cluster did not answer, refused the call, or its kubeconfig could not be
loaded by the client. ``CLIENT_ERRORS``: the kubernetes client's own error types, which the API's
last-resort handler maps to 502 (``portal.upstream``; registered by the clusters app).
"""

from __future__ import annotations

import urllib3
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException

CLIENT_ERRORS: tuple[type[Exception], ...] = (ApiException, ConfigException)
UNREACHABLE: tuple[type[Exception], ...] = (OSError, urllib3.exceptions.HTTPError, *CLIENT_ERRORS)
