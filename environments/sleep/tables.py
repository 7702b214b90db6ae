"""The default sleep schedules' CSV table, shared by the page's and the API's exports."""

from __future__ import annotations

from portal.csv_export import Column, CsvTable, iso

from .schedule import awake_fraction

SLEEP_DEFAULTS = CsvTable("sleep-schedules", (
    Column.attr("id"),
    Column("team", lambda s: s.team.slug if s.team else ""),
    Column.attr("stage"),
    Column.attr("enabled"),
    Column.attr("sleep_cron"),
    Column.attr("wake_cron"),
    Column.attr("timezone"),
    Column.attr("idle_hours"),
    Column("awake_percent", lambda s: round(awake_fraction(s) * 100, 1)),
    Column("updated_by", lambda s: s.updated_by.username if s.updated_by else ""),
    Column("updated_at", lambda s: iso(s.updated_at)),
))
