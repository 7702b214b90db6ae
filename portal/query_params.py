"""Reading query parameters that name objects or numbers: a malformed value is the caller's 400.

``?target=abc`` handed to ``filter(target_id=...)`` raised ValueError deep in the ORM: an HTML or
JSON 500 for a typo. Selectors and views read such parameters here instead; ``InvalidParameter`` is
Django's ``BadRequest`` (a 400 page; handler400) and the API's error handler turns it into a 400
with the parameter as the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time

from django.core.exceptions import BadRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

MAX_ID = 2**63 - 1  # the database's bigint


class InvalidParameter(BadRequest):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def id_param(params: Mapping[str, str], key: str, *, what: str = "an id") -> int | None:
    """``params[key]`` as a positive whole number, None when absent or empty. Raises InvalidParameter."""
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise InvalidParameter(key, f"Give {key} as {what}: a whole number, e.g. ?{key}=12.")
    return int(raw)


def datetime_param(params: Mapping[str, str], key: str) -> datetime | None:
    """``params[key]`` as an aware time: an ISO 8601 time (``2026-12-01T08:00:00Z``) or a date (its midnight in
    the server's time zone); None when absent or empty. Raises InvalidParameter."""
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = parse_datetime(raw) if isinstance(raw, str) and "T" in raw else None
        if value is None and isinstance(raw, str):
            day = parse_date(raw)
            value = datetime.combine(day, time.min) if day else None
    except ValueError:
        value = None
    if value is None:
        raise InvalidParameter(key, f"Give {key} as a date or an ISO 8601 time, e.g. ?{key}=2026-12-01.")
    return value if timezone.is_aware(value) else timezone.make_aware(value)
