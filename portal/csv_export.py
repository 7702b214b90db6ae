"""Every CSV download goes through here (people, catalog, audit trail, data copies): each export is one
declared ``CsvTable`` — its file name, its columns (header + how a row's cell is read) — streamed
row by row and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
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


def iso(value: Any) -> str:
    """A date or time as ISO 8601, or "" when there is none."""
    return value.isoformat() if value else ""


@dataclass(frozen=True)
class Column:
    """One CSV column: its header and how a row's cell is read (before CSV-injection defusing)."""

    header: str
    value: Callable[[Any], Any]

    @classmethod
    def attr(cls, name: str) -> Column:
        """A column showing the row's attribute ``name`` under that header."""
        return cls(name, attrgetter(name))


@dataclass(frozen=True)
class CsvTable:
    """A downloadable table: ``<name>-<timestamp>.csv`` with ``columns`` in order.

    ``chunk_size`` streams a queryset in chunks of that many rows instead of loading it whole: for the
    tables that grow without bound (the audit trail, data copies).
    """

    name: str
    columns: tuple[Column, ...]
    chunk_size: int | None = None

    def lines(self, rows: Iterable[Any]) -> Iterator[str]:
        """The CSV text, one line per item: the header, then one line per row."""
        writer = csv.writer(_Echo())
        yield writer.writerow([column.header for column in self.columns])
        if self.chunk_size:
            rows = rows.iterator(chunk_size=self.chunk_size)  # a QuerySet: see the class docstring
        for row in rows:
            yield writer.writerow([csv_cell(column.value(row)) for column in self.columns])

    def download(self, rows: Iterable[Any]) -> StreamingHttpResponse:
        """The streamed ``text/csv`` attachment of ``rows`` (a queryset when ``chunk_size`` is set)."""
        response = StreamingHttpResponse(self.lines(rows), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{self.name}-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        return response
