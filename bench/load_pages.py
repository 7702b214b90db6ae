"""Benchmark: list pages and API list endpoints under load, with 1,000 environments and 100,000 audit events.

A running daphne (the web process a user reaches), --clients concurrent clients (asyncio + aiohttp) that
authenticate as a user does: a session cookie from a real login (POST /login/) for the pages, an API token
for the API. Each endpoint is requested --requests times per client, all clients at once; the p50 and p95
latencies, the requests per second and the SQL queries one request of it runs (counted in this process
with Django's test client on the same database) are printed, with the machine's load.

The rows are bulk-created (not timed): --envs environments over 10 teams, 20 owners and 5 clusters, each
with a revision and a job, and --events audit events. A fresh database on the stack's PostgreSQL and Redis
database --redis-db (dropped/emptied at the end). Run: `make bench-load` (or `.venv/bin/python
bench/load_pages.py [--smoke] [--envs N] [--events N] [--clients N] [--requests N]`).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.audit_pagination import seed_audit_events  # noqa: E402  (importable once the project root is on sys.path)
from bench.bench_seed import BenchWorld, seed_bench_world  # noqa: E402  (importable once the project root is on sys.path)
from bench.bench_stack import bench_slipway  # noqa: E402  (importable once the project root is on sys.path)
from bench.chaos_scenarios import percentile  # noqa: E402  (importable once the project root is on sys.path)
from bench.environment_create import load  # noqa: E402  (importable once the project root is on sys.path)

PAGES = ["/environments/", "/audit/", "/jobs/", "/clusters/"]
API = ["/api/v1/environments/", "/api/v1/audit-events/", "/api/v1/jobs/", "/api/v1/clusters/",
       "/api/v1/blueprints/"]
PASSWORD = "bench-pw-1"  # seed_bench_world's admin


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", type=int, default=1000, help="environments in the database")
    parser.add_argument("--events", type=int, default=100_000, help="audit events in the database")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=10, help="requests per client and endpoint")
    parser.add_argument("--redis-db", type=int, default=8, help="the Redis database this run owns (emptied)")
    parser.add_argument("--smoke", action="store_true", help="a smoke run: 30 environments, 1,000 events, "
                                                             "5 clients, 2 requests each")
    args = parser.parse_args(argv)
    if args.smoke:
        args.envs, args.events, args.clients, args.requests = 30, 1000, 5, 2
    return args


def seed_environments(world: BenchWorld, count: int) -> None:
    """``count`` ready environments over 10 teams, 20 owners and 5 clusters, each with a revision and a
    finished rollout job, in bulk (varied related rows, so a per-row query would show in the timings)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from clusters.models import Cluster
    from environments.models import Environment, EnvironmentRevision
    from portal.accounts import roles
    from portal.accounts.models import Team
    from portal.jobs.models import Job

    teams = [world.team] + Team.objects.bulk_create([Team(slug=f"load-{n}", name=f"Load {n}") for n in range(9)])
    owners = [get_user_model().objects.create_user(f"load-owner-{n}", f"o{n}@example.test") for n in range(20)]
    Group.objects.get(name=roles.DEVELOPERS).user_set.add(*owners)
    for n, owner in enumerate(owners):
        teams[n % 10].members.add(owner)
    clusters = [world.cluster] + Cluster.objects.bulk_create(
        [Cluster(name=f"load-{n}", kind="local") for n in range(4)])
    start = time.perf_counter()
    environments = Environment.objects.bulk_create([
        Environment(name=f"load-{n:05d}", cluster=clusters[n % 5], namespace=f"slw-load-{n:05d}",
                    blueprint=world.blueprint, stage=("qa", "dev", "staging")[n % 3], team=teams[n % 10],
                    owner=owners[n % 20], status=Environment.READY) for n in range(count)], batch_size=1000)
    snapshot = {"components": [{"name": name, "image": "registry.example.com/bench", "tag": tag, "replicas": 1}
                               for name, tag in world.versions.items()], "backing_services": []}
    revisions = EnvironmentRevision.objects.bulk_create([
        EnvironmentRevision(environment=e, number=1, snapshot=snapshot, created_by=e.owner) for e in environments],
        batch_size=1000)
    for environment, revision in zip(environments, revisions, strict=True):
        environment.current_revision = revision
    Environment.objects.bulk_update(environments, ["current_revision"], batch_size=1000)
    Job.objects.bulk_create([
        Job(kind="rollout", title=f"Roll out {e.name}", team=e.team, started_by=e.owner, state=Job.SUCCEEDED,
            target_type="environments.environment", target_id=str(e.pk), target_repr=e.name)
        for e in environments], batch_size=1000)
    print(f"inserted {count} environments (with revisions and jobs) in {time.perf_counter() - start:.1f}s")


def query_counts(world: BenchWorld) -> dict[str, int]:
    """SQL queries of one request of each endpoint (after one to warm the caches), as the admin."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(world.user)
    counts = {}
    for url in PAGES + API:
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        counts[url] = len(captured)
    return counts


async def login(session: aiohttp.ClientSession, base: str) -> None:
    """A user's login: the form's CSRF token, then POST; the session cookie stays in ``session``'s jar."""
    async with session.get(f"{base}/login/") as response:
        form = await response.text()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    async with session.post(f"{base}/login/", data={"username": "bench-admin", "password": PASSWORD,
                                                    "csrfmiddlewaretoken": token},
                            headers={"Referer": f"{base}/login/"}, allow_redirects=False) as response:
        if response.status != 302:
            raise RuntimeError(f"login refused: HTTP {response.status}")


async def hammer(base: str, token: str, url: str, *, clients: int, requests: int,
                 cookies: aiohttp.CookieJar) -> tuple[list[float], float, list[str]]:
    """``clients`` clients each GET ``url`` ``requests`` times: (latencies, wall seconds, errors)."""
    headers = ({"Authorization": f"Token {token}", "Accept": "application/json"} if url.startswith("/api/")
               else {"Accept": "text/html"})
    latencies: list[float] = []
    errors: list[str] = []

    async def client(session: aiohttp.ClientSession) -> None:
        for _ in range(requests):
            start = time.perf_counter()
            async with session.get(base + url, headers=headers, allow_redirects=False) as response:
                await response.read()
                if response.status != 200:
                    errors.append(f"{url}: HTTP {response.status}")
            latencies.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=cookies, timeout=timeout) as session:
        start = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        return latencies, time.perf_counter() - start, errors


async def measure(base: str, world: BenchWorld, args: argparse.Namespace,
                  counts: dict[str, int]) -> list[str]:
    cookies = aiohttp.CookieJar(unsafe=True)  # an IP address host: keep its cookies
    async with aiohttp.ClientSession(cookie_jar=cookies) as session:
        await login(session, base)
    errors: list[str] = []
    print(f"{'endpoint':26} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7} {'queries':>8}")
    for url in PAGES + API:
        latencies, wall, failed = await hammer(base, world.token, url, clients=args.clients,
                                               requests=args.requests, cookies=cookies)
        errors += failed
        print(f"{url:26} {percentile(latencies, 50) * 1000:8.0f} {percentile(latencies, 95) * 1000:8.0f} "
              f"{len(latencies) / wall:7.1f} {counts[url]:8d}")
    return errors


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    with bench_slipway("loadbench", redis_db=args.redis_db, concurrency=1) as started:
        world = seed_bench_world(started.kube, components=3, prefix="ld")
        seed_environments(world, args.envs)
        seed_audit_events(args.events, teams=["bench"] + [f"load-{n}" for n in range(9)])
        counts = query_counts(world)
        base = started.processes.start_web()
        print(f"{args.envs} environments, {args.events} audit events; {args.clients} clients x {args.requests} "
              f"requests per endpoint on one daphne; {load()}")
        errors = asyncio.run(measure(base, world, args, counts))
        print(f"{len(errors)} error(s); {load()}")
        for error in sorted(set(errors)):
            print(f"  error: {error}")
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
