"""The audit trail's CSV table, shared by the page's and the API's exports."""

from __future__ import annotations

import json

from portal.csv_export import Column, CsvTable

AUDIT_EVENTS = CsvTable("audit", (
    Column("timestamp", lambda e: e.timestamp.isoformat()),
    *(Column.attr(name) for name in ("actor_name", "actor_kind", "team_slug", "action", "object_type", "object_id",
                                     "object_repr", "outcome", "error", "request_id", "source_ip")),
    Column("details", lambda e: json.dumps(e.details, sort_keys=True)),
), chunk_size=2000)
