"""Request body parsers for the API, bounded.

DRF's JSONParser turns malformed JSON into a 400 but lets ``RecursionError`` through: a body of a
hundred thousand ``[`` was a 500. NUL characters are refused in every string of a body (keys
included): PostgreSQL cannot hold them in text, and a field that is not a CharField (a slug or a
name looked up in the database, a JSON field) passed them on to the driver, a 500.
Size is bounded before parsing (``portal.request_limits``).
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

NUL_MESSAGE = "Text in the request body may not contain NUL characters (\\u0000)."


def _has_nul(value: Any) -> bool:
    pending = [value]
    while pending:  # iterative: a parsed body may be as deep as the JSON parser allowed
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
        if _has_nul(data):
            raise ParseError(NUL_MESSAGE)
        return data


def _refuse_nul_in_form(data: QueryDict) -> None:
    if any("\x00" in key or "\x00" in value for key, values in data.lists() for value in values
           if isinstance(value, str)):
        raise ParseError(NUL_MESSAGE)


class FormParser(parsers.FormParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _refuse_nul_in_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        result = super().parse(stream, media_type, parser_context)
        _refuse_nul_in_form(result.data)
        return result
