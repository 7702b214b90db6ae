"""Showing a service's refusal on the form that asked for it (every app's views use this one)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError


def add_service_errors(form: forms.Form, exc: ValidationError | PermissionDenied) -> None:
    """Field errors by field, the rest at the top of the form."""
    if isinstance(exc, PermissionDenied):
        form.add_error(None, str(exc))
        return
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages_ in errors.items():
        form.add_error(field if field in form.fields else None, messages_)
