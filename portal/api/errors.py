"""One error format for every 4xx the API returns:

``{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"name": ["..."]}}}``
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _first_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        text = _first_message(value)
        return text if key in ("non_field_errors", "detail") else f"{key}: {text}"
    return str(detail)


def error_body(status_code: int, code: str, message: str, fields: dict | None = None) -> dict:
    body = {"status": status_code, "code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
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
    return response


def json_error_view(status_code: int, code: str, message: str):
    """Django handler403/404/500 replacement: JSON under /api/, the friendly HTML page elsewhere.

    The 500 page (templates/500.html) is rendered without the request's context, so it still shows
    when the database is what failed.
    """

    def view(request, exception=None):
        if request.path.startswith("/api/"):
            return JsonResponse(error_body(status_code, code, message), status=status_code)
        if status_code == 500:
            return defaults.server_error(request)
        handler = {404: defaults.page_not_found, 403: defaults.permission_denied}[status_code]
        return handler(request, exception)

    return view


class ErrorResponse(Response):
    def __init__(self, status_code: int = status.HTTP_400_BAD_REQUEST, *, code: str, message: str) -> None:
        super().__init__(error_body(status_code, code, message), status=status_code)
