"""The chaos runs' CSV table, shared by the pages' and the API's exports."""

from __future__ import annotations

from portal.csv_export import Column, CsvTable, iso

CHAOS_RUNS = CsvTable("chaos-runs", (
    Column.attr("id"),
    Column("environment", lambda r: r.environment.name),
    Column("experiment", lambda r: r.experiment.name),
    Column.attr("fault"),
    Column.attr("status"),
    Column.attr("trigger"),
    Column("revision", lambda r: r.revision_number),
    Column("target", lambda r: " ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                                        for k, v in sorted((r.target or {}).items()))),
    Column("injected_at", lambda r: iso(r.injected_at)),
    Column("recovered_at", lambda r: iso(r.recovered_at)),
    Column.attr("recovery_seconds"),
    Column.attr("availability_percent"),
    Column.attr("within_slo"),
    Column.attr("slo_seconds"),
    Column("unavailable", lambda r: " ".join(f"{k}={v}" for k, v in sorted((r.unavailable or {}).items()))),
    Column("started_by", lambda r: r.started_by.username if r.started_by else ""),
    Column("finished_at", lambda r: iso(r.finished_at)),
    Column.attr("status_message"),
), chunk_size=1000)
