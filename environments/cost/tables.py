"""The cost table's CSV, shared by the page's and the API's exports."""

from __future__ import annotations

from portal.csv_export import Column, CsvTable

COST_ROWS = CsvTable("costs", (
    Column("group", lambda r: r.label),
    Column("key", lambda r: "" if r.key is None else r.key),
    Column.attr("currency"),
    Column.attr("cost"),
    Column.attr("would_cost"),
    Column.attr("saving"),
    Column("asleep_hours", lambda r: round(r.asleep_hours, 2)),
    Column("idle_hours", lambda r: round(r.idle_hours, 2)),
))
