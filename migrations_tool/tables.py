"""The data copies' CSV table, shared by the page's and the API's exports."""

from __future__ import annotations

from typing import Any

from portal.csv_export import Column, CsvTable


def _rows_copied(copy: Any) -> int:
    return sum(int(v.get("counters", {}).get("rows", 0)) for v in copy.verification.values())


def _verified(copy: Any) -> bool:
    return all(v.get("verified") for v in copy.verification.values()) if copy.verification else False


DATA_COPIES = CsvTable("data-copies", (
    Column.attr("id"),
    Column("created_at", lambda c: c.created_at.isoformat()),
    Column("source", lambda c: c.source.name),
    Column("target", lambda c: c.target.name),
    Column("team", lambda c: c.team.slug),
    Column("stores", lambda c: " ".join(c.stores)),
    Column.attr("state"),
    Column("started_by", lambda c: c.started_by.username if c.started_by else ""),
    Column("rows", _rows_copied),
    Column("verified", _verified),
    Column.attr("error"),
), chunk_size=1000)
