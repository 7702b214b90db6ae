"""Showing a service's refusal on the form that asked for it (every app's views use this one)."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError


def add_service_errors(form: forms.Form, exc: ValidationError | PermissionDenied) -> None:
    """Field errors by field, the rest at the top of the form.

    A path inside a field (``personal_data.redis[0]``: a YAML field's entry) goes to that field, the
    path leading the message so the person sees which entry.
    """
    if isinstance(exc, PermissionDenied):
        form.add_error(None, str(exc))
        return
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages_ in errors.items():
        root = re.split(r"[.\[]", field, maxsplit=1)[0] if field else field
        if field != root and root in form.fields:
            form.add_error(root, [f"{field}: {message}" for message in messages_])
        else:
            form.add_error(field if field in form.fields else None, messages_)
