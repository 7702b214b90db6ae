"""Benchmark: paging the audit trail with 100,000 events, against raw SQL on the same database.

Prints, per scenario, the median time of Slipway's selector + paginator (the audit page's query
path) and of a hand-written SQL query returning the same page, and their ratio. Uses a fresh
database on the test stack's PostgreSQL (`python -m devstack up postgres`).
Run: `make bench` (or `.venv/bin/python bench/audit_pagination.py [--smoke] [--events N]`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_stack import create_bench_database  # noqa: E402  (importable once the project root is on sys.path)
from devstack.daemons import Postgres  # noqa: E402  (importable once the project root is on sys.path)
from devstack.process import Context  # noqa: E402  (importable once the project root is on sys.path)


def median_ms(fn, repeat: int = 15) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def seed_audit_events(count: int, *, teams: list[str]) -> None:
    """``count`` audit events of 50 actors, ``teams`` and 5 actions about 2,000 environments, in bulk
    (Django set up, the database migrated); prints how long the insert took."""
    from portal.audit.models import AuditEvent

    actors = [f"user{n}" for n in range(50)]
    actions = ["environment.create", "environment.update", "environment.destroy", "datacopy.start", "user.login"]
    batch = [AuditEvent(actor_name=actors[n % 50], team_slug=teams[n % len(teams)], action=actions[n % 5],
                        object_type="environments.environment", object_id=str(n % 2000),
                        object_repr=f"env-{n % 2000}", details={"n": n}, request_id=uuid.uuid4().hex)
             for n in range(count)]
    start = time.perf_counter()
    AuditEvent.objects.bulk_create(batch, batch_size=5000)
    print(f"inserted {count} audit events in {time.perf_counter() - start:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="a smoke run: 2,000 events")
    args = parser.parse_args()
    if args.smoke:
        args.events = 2000

    import psycopg


    admin_url = Postgres().up(Context.default())["POSTGRES_URL"]
    name = f"bench_{uuid.uuid4().hex[:8]}"
    db_url = create_bench_database(admin_url, name)
    os.environ.update(DATABASE_URL=db_url, DJANGO_SETTINGS_MODULE="portal.settings",
                      SLIPWAY_VAR_DIR=str(ROOT / "var" / "bench"))
    try:
        run(db_url, args.events)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(db_url: str, count: int) -> None:
    import django

    django.setup()
    import psycopg
    from django.core.paginator import Paginator

    from portal.audit.selectors import audit_event_list

    seed_audit_events(count, teams=["payments", "search", "checkout", "platform"])
    with psycopg.connect(db_url) as conn:
        conn.execute("ANALYZE audit_auditevent")

    class Manager:
        is_authenticated = True
        is_superuser = True
        pk = 0

    user = Manager()
    scenarios = {
        "first page": ({}, 1, ""),
        "page 1000": ({}, 1000, ""),
        "actor filter, page 10": ({"actor": "user7"}, 10, "WHERE actor_name = 'user7'"),
        "object history": ({"object_type": "environments.environment", "object_id": "42"}, 1,
                           "WHERE object_type = 'environments.environment' AND object_id = '42'"),
    }
    conn = psycopg.connect(db_url)
    print(f"{'scenario':26} {'slipway ms':>11} {'raw SQL ms':>11} {'ratio':>7}")
    for label, (filters, page_no, where) in scenarios.items():
        def slipway(filters=filters, page_no=page_no):
            events, _ = audit_event_list(user=user, filters=filters)
            page = Paginator(events, 50).get_page(page_no)
            return list(page.object_list), page.paginator.count

        def raw(where=where, page_no=page_no):
            cur = conn.execute(f"SELECT count(*) FROM audit_auditevent {where}")
            cur.fetchone()
            return conn.execute(f"SELECT * FROM audit_auditevent {where} ORDER BY timestamp DESC, id DESC "
                                f"LIMIT 50 OFFSET {(page_no - 1) * 50}").fetchall()

        ours, base = median_ms(slipway), median_ms(raw)
        print(f"{label:26} {ours:11.2f} {base:11.2f} {ours / base:7.2f}")
    conn.close()


if __name__ == "__main__":
    main()
