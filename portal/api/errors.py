"""One error format for every 4xx the API returns:

``{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"name": ["..."]}}}``
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler as drf_exception_handler

from portal.query_params import InvalidParameter
from portal.quoting import MESSAGE_CHARS, shortened
from portal.upstream import ServiceUnavailable, is_outside_error

MAX_FIELDS = 50
logger = logging.getLogger(__name__)


def _first_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        text = _first_message(value)
        return text if key in ("non_field_errors", "detail") else f"{key}: {text}"
    return str(detail)


def _bounded_fields(fields: dict) -> dict:
    """At most ``MAX_FIELDS`` keys, each key and message cut: the last guard against a message that
    quotes an unbounded user value (keys are document paths, which users choose too)."""
    bounded = {}
    for key, messages in list(fields.items())[:MAX_FIELDS]:
        items = messages if isinstance(messages, list) else [messages]
        bounded[shortened(str(key), 200)] = [
            _bounded_fields(m) if isinstance(m, dict) else shortened(str(m), MESSAGE_CHARS) for m in items[:MAX_FIELDS]]
    return bounded


def error_body(status_code: int, code: str, message: str, fields: dict | None = None) -> dict:
    body = {"status": status_code, "code": code, "message": shortened(str(message), MESSAGE_CHARS)}
    if fields:
        body["fields"] = _bounded_fields(fields)
    return {"error": body}


class _Unavailable(exceptions.APIException):
    status_code, default_code = status.HTTP_503_SERVICE_UNAVAILABLE, "service_unavailable"


class _BadGateway(exceptions.APIException):
    status_code, default_code = status.HTTP_502_BAD_GATEWAY, "bad_gateway"
    default_detail = ("An outside service (a cluster's API server or AWS) did not answer as expected; try again, "
                      "or ask a Platform admin to check it.")


def exception_handler(exc, context):
    if isinstance(exc, ServiceUnavailable):
        exc = _Unavailable(str(exc))
    elif is_outside_error(exc):  # an adapter let a client library's error through: still not a 500
        logger.warning("outside service error reached the API", exc_info=exc)
        exc = _BadGateway()
    elif isinstance(exc, InvalidParameter):
        exc = exceptions.ValidationError({exc.field: [exc.message]})
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    fields = None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = _first_message(exc.detail)
    else:
        message = _first_message(exc.detail)
    response.data = error_body(response.status_code, code, message, fields)
    request = context.get("request")
    if request is not None:  # errors are JSON whatever the endpoint renders (YAML documents, CSV exports)
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
    return response


def json_error_view(status_code: int, code: str, message: str):
    """Django handler400/403/404/500 replacement: JSON under /api/, the friendly HTML page elsewhere.

    The 500 page (templates/500.html) is rendered without the request's context, so it still shows
    when the database is what failed.
    """

    def view(request, exception=None):
        # A refused query parameter says which and how to fix it; other 400s keep the general message.
        reason = exception.message if isinstance(exception, InvalidParameter) else message
        if request.path.startswith("/api/"):
            fields = {exception.field: [reason]} if isinstance(exception, InvalidParameter) else None
            return JsonResponse(error_body(status_code, code, reason, fields), status=status_code)
        if status_code == 500:
            return defaults.server_error(request)
        if status_code == 400:
            return render(request, "400.html", {"reason": reason}, status=400)
        handler = {404: defaults.page_not_found, 403: defaults.permission_denied}[status_code]
        return handler(request, exception)

    return view
