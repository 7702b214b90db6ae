"""Streaming CSV downloads for any table (lists, the audit trail), safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> Any:
    # Spreadsheets execute cells starting with these characters (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def csv_rows(columns: list[str], rows: Iterable[Any], cells: Callable[[Any], list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in cells(row)])


def csv_download(name: str, columns: list[str], rows: Iterable[Any], cells: Callable[[Any], list[Any]]
                 ) -> StreamingHttpResponse:
    """``name-<timestamp>.csv`` streamed from ``rows`` (``cells(row)`` gives one line's values)."""
    response = StreamingHttpResponse(csv_rows(columns, rows, cells), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response
