"""The dashboard's tables as CSV (one ``CsvTable`` each), and which selector fills each one: the page's
exports and the API's read the same rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from portal.csv_export import Column, CsvTable, iso

from . import selectors
from .selectors import ReportScope

COUNT_COLUMNS = (Column.attr("key"), Column.attr("label"), Column.attr("count"))
ENVIRONMENT_COLUMNS = (
    Column.attr("id"), Column.attr("name"), Column("team", lambda e: e.team.slug), Column.attr("stage"),
    Column("owner", lambda e: e.owner.username if e.owner else ""), Column.attr("status"),
    Column("cluster", lambda e: e.cluster.name), Column("created_at", lambda e: iso(e.created_at)),
)
COST_COLUMNS = (Column("team", lambda r: r.label), Column.attr("currency"), Column.attr("cost"),
                Column.attr("would_cost"), Column.attr("saving"),
                Column("asleep_hours", lambda r: round(r.asleep_hours, 2)),
                Column("idle_hours", lambda r: round(r.idle_hours, 2)))


@dataclass(frozen=True)
class ReportTable:
    """One table of the dashboard: its title, its CSV, and its rows for a user and a scope (every row)."""

    title: str
    csv: CsvTable
    rows: Callable[[Any, ReportScope], Iterable[Any]]


def _counts(name: str, title: str, by: str) -> ReportTable:
    return ReportTable(title, CsvTable(f"report-{name}", COUNT_COLUMNS),
                       lambda user, scope: selectors.environments_by(user, scope, by=by))


REPORT_TABLES: dict[str, ReportTable] = {
    "by-team": _counts("by-team", "Live environments by team", "team"),
    "by-owner": _counts("by-owner", "Live environments by owner", "owner"),
    "by-stage": _counts("by-stage", "Live environments by stage", "stage"),
    "by-age": ReportTable("Live environments by age", CsvTable("report-by-age", COUNT_COLUMNS),
                          selectors.environments_by_age),
    "weekly": ReportTable("Created and destroyed per week", CsvTable("report-weekly", (
        Column("week", lambda r: r.week.date().isoformat()), Column.attr("created"), Column.attr("destroyed"))),
        selectors.created_destroyed_per_week),
    "top-creators": ReportTable("Top creators in the period", CsvTable("report-top-creators", COUNT_COLUMNS),
                                lambda user, scope: selectors.top_creators(user, scope, limit=None)),
    "cost-by-team": ReportTable("Cost and saving by team in the period", CsvTable("report-cost-by-team", COST_COLUMNS),
                                selectors.cost_by_team),
    "cost-by-month": ReportTable("Cost per team per month", CsvTable("report-cost-by-month", (
        Column.attr("month"), Column.attr("team"), Column.attr("cost"))),
        lambda user, scope: selectors.cost_by_team_and_month(user, scope).cells_as_rows()),
    "longest-lived": ReportTable("Longest-lived environments", CsvTable("report-longest-lived", ENVIRONMENT_COLUMNS),
                                 selectors.longest_lived),
    "idle": ReportTable("Idle non-production environments", CsvTable("report-idle", (
        *ENVIRONMENT_COLUMNS, Column("last_activity_at", lambda e: iso(e.last_activity_at)))),
        selectors.idle_environments),
}
