"""The orphans' CSV table, shared by the page's and the API's exports."""

from __future__ import annotations

from portal.csv_export import Column, CsvTable, iso

ORPHANS = CsvTable("orphans", (
    Column.attr("id"),
    Column.attr("kind"),
    Column.attr("location"),
    Column.attr("name"),
    Column.attr("state"),
    Column.attr("monthly_cost"),
    Column.attr("currency"),
    Column("cost_basis", lambda o: (o.details or {}).get("cost_basis", "")),
    Column("found_at", lambda o: iso(o.found_at)),
    Column("last_seen_at", lambda o: iso(o.last_seen_at)),
    Column("removed_at", lambda o: iso(o.removed_at)),
    Column("removed_by", lambda o: o.removed_by.username if o.removed_by else ""),
    Column.attr("error"),
), chunk_size=1000)
