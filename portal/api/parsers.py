"""Request body parsers for the API, bounded.

DRF's JSONParser turns malformed JSON into a 400 but lets ``RecursionError`` through: a body of a
hundred thousand ``[`` was a 500. Size is bounded before parsing (``portal.request_limits``).
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc

