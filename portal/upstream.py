"""Failures of the outside systems a request waits on (a cluster's API server, AWS, a registry).

They are not Slipway's bug and not the caller's mistake: the API answers 503 in its error shape with
the reason in plain words, a page shows the reason as a message. The adapters (``clusters.kube.client``
and others) raise ``ServiceUnavailable`` with that reason; ``is_outside_error`` recognises the client
libraries' own connection errors, mapped to a 502 as a last resort when an adapter did not.
"""

from __future__ import annotations

import urllib3.exceptions

from portal import aws


class ServiceUnavailable(Exception):
    """An outside system did not answer or refused; ``str()`` says which and why, without credentials."""


_outside_errors: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError, aws.BotoCoreError, aws.ClientError,
)


def outside_errors_register(*types: type[BaseException]) -> None:
    """Add an adapter's client-library errors (called from its app's ``ready``): portal sits below the
    apps whose adapters know those libraries, so it learns their errors rather than importing them."""
    global _outside_errors
    _outside_errors = (*_outside_errors, *(t for t in types if t not in _outside_errors))


def is_outside_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an outside client library's error that no adapter turned into ServiceUnavailable."""
    return isinstance(exc, _outside_errors)
