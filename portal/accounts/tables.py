"""The people lists' CSV tables, shared by the pages' and the API's exports."""

from __future__ import annotations

from portal.csv_export import Column, CsvTable, iso

TABLES: dict[str, CsvTable] = {
    "users": CsvTable("users", (
        Column.attr("username"), Column.attr("email"), Column.attr("first_name"), Column.attr("last_name"),
        Column("active", lambda u: u.is_active),
        Column("roles", lambda u: "; ".join(sorted(g.name for g in u.groups.all()))),
        Column("teams", lambda u: " ".join(sorted(t.slug for t in u.teams.all()))),
        Column("last_login", lambda u: iso(u.last_login)), Column("date_joined", lambda u: iso(u.date_joined)))),
    "teams": CsvTable("teams", (
        Column.attr("slug"), Column.attr("name"),
        Column("members", lambda t: " ".join(sorted(m.username for m in t.members.all()))),
        Column("created_at", lambda t: iso(t.created_at)))),
}
