"""Reading query parameters that name objects or numbers: a malformed value is the caller's 400.

``?target=abc`` handed to ``filter(target_id=...)`` raised ValueError deep in the ORM: an HTML or
JSON 500 for a typo. Selectors and views read such parameters here instead; ``InvalidParameter`` is
Django's ``BadRequest`` (a 400 page; handler400) and the API's error handler turns it into a 400
with the parameter as the field.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import BadRequest

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
