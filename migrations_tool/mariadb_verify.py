"""Verification of a MariaDB copy: each table's digest measured on both sides, by several connections
at once while the copy still runs, then compared (digests: ``mariadb_checksum``)."""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable
from typing import Any

from .mariadb_checksum import table_digest
from .mariadb_read import Plan
from .mariadb_schema import Table

Sums = dict[str, tuple[int | None, Any]]


def table_sum(conn, plan: Plan, table: Table, side: str, same_version: bool) -> tuple[int | None, Any]:
    """One table's verification digest; a row filter applies to the source side only. The source's
    count may be None: the rows its readers read stand for it (the copier fills it in)."""
    where = plan.filters.get(table.name)
    return table_digest(conn, table, plan.rules.get(table.name, {}), where if side == "source" else None,
                        same_server_version=same_version and where is None, count=side == "target")


def measurer(plan: Plan, side: str, same_version: bool, into: Sums) -> Callable[[Any], None]:
    """A job for several connections at once: each measures tables from one shared list into ``into``."""
    pending: queue.Queue = queue.Queue()
    for table in plan.tables:
        pending.put(table)

    def measure(conn) -> None:
        while True:
            try:
                table = pending.get_nowait()
            except queue.Empty:
                return
            into[table.name] = table_sum(conn, plan, table, side, same_version)
    return measure


def verify_digests(writers: list[Any], plan: Plan, same_version: bool, source_sums: Sums,
                   target_sums: Sums) -> dict[str, dict[str, Any]]:
    """Compare the digests; the target's tables not yet measured during the load are measured now."""
    left = dataclasses.replace(plan, tables=[t for t in plan.tables if t.name not in target_sums])
    run_each(writers, measurer(left, "target", same_version, target_sums))
    results: dict[str, dict[str, Any]] = {}
    for table in plan.tables:
        src_rows, src_sum = source_sums[table.name]
        dst_rows, dst_sum = target_sums[table.name]
        masked = sorted(plan.rules.get(table.name, {}))
        results[table.name] = {"source_rows": src_rows, "target_rows": dst_rows,
                               "checksum": "equal" if src_sum == dst_sum else "different",
                               "masked_columns": masked,
                               "ok": src_rows == dst_rows and src_sum == dst_sum}
    return results


class Background:
    """``fn(connection)`` on a thread of its own; ``join`` waits for it and re-raises its error."""

    def __init__(self, fn: Callable[[Any], None], connection: Any) -> None:
        self.error: BaseException | None = None

        def body() -> None:
            try:
                fn(connection)
            except BaseException as exc:
                self.error = exc
        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


def run_each(connections: list[Any], fn: Callable[[Any], None]) -> None:
    """Run ``fn(connection)`` on every connection at once, one thread each; once all have ended, re-raises
    the first error."""
    jobs = [Background(fn, conn) for conn in connections]
    for job in jobs:
        job.thread.join()
    for job in jobs:
        job.join()
