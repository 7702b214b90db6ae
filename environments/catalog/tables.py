"""The catalog's CSV tables, shared by the pages' and the API's exports."""

from __future__ import annotations

from portal.csv_export import Column, CsvTable, iso

TABLES: dict[str, CsvTable] = {
    "components": CsvTable("components", (
        Column.attr("name"), Column.attr("image_repository"),
        Column("registry", lambda c: c.registry.name if c.registry else ""),
        Column.attr("repository"), Column.attr("container_port"), Column.attr("replicas"),
        Column.attr("autoscaling_min"), Column.attr("autoscaling_max"),
        Column("versions_synced_at", lambda c: iso(c.versions_synced_at)), Column.attr("versions_sync_error"))),
    "image-versions": CsvTable("image-versions", (
        Column("component", lambda v: v.component.name), Column.attr("tag"), Column.attr("digest"),
        Column("pushed_at", lambda v: iso(v.pushed_at)), Column.attr("size_bytes"),
        Column.attr("removed_from_registry"), Column("removed_at", lambda v: iso(v.removed_at)),
        Column.attr("discovered"), Column("created_at", lambda v: iso(v.created_at)))),
    "blueprints": CsvTable("blueprints", (
        Column.attr("name"), Column.attr("version"), Column.attr("description"),
        Column("components", lambda b: " ".join(sorted(c.name for c in b.components.all()))),
        Column("backing_services",
               lambda b: " ".join(f"{s.get('kind')}:{s.get('name')}" + (":may-sleep" if s.get("may_sleep") else "")
                                  for s in b.backing_services or [])),
        Column("stage_overrides", lambda b: ", ".join(sorted(b.stage_overrides or {}))),
        Column("created_at", lambda b: iso(b.created_at)))),
    "registries": CsvTable("registries", (
        Column.attr("name"), Column.attr("kind"), Column.attr("url"), Column.attr("region"),
        Column("has_credentials", lambda r: bool(r.credentials)), Column("created_at", lambda r: iso(r.created_at)))),
}
