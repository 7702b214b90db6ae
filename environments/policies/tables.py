"""The environment requests' CSV table, shared by the queue page's and the API's exports."""

from __future__ import annotations

from portal.csv_export import Column, CsvTable, iso

ENVIRONMENT_REQUESTS = CsvTable("environment-requests", (
    Column.attr("id"),
    Column.attr("state"),
    Column.attr("name"),
    Column.attr("stage"),
    Column("team", lambda r: r.team.slug),
    Column("cluster", lambda r: r.cluster.name),
    Column("blueprint", lambda r: str(r.blueprint)),
    Column("requested_by", lambda r: r.requested_by.username if r.requested_by else ""),
    Column("created_at", lambda r: iso(r.created_at)),
    Column.attr("justification"),
    Column("decided_by", lambda r: r.decided_by.username if r.decided_by else ""),
    Column("decided_at", lambda r: iso(r.decided_at)),
    Column.attr("decision_reason"),
    Column("environment", lambda r: r.environment.name if r.environment else ""),
), chunk_size=1000)
