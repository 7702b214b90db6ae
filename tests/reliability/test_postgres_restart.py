"""PostgreSQL restarted under a running web process: meanwhile every page and API call answers 503 with
one sentence (no stack trace, no connection string) while /healthz stays 200; afterwards the same
process answers 200 again by itself."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

import aiohttp
import pytest
import requests
from django.db import connection
from django.test import Client

from devstack.daemons import Postgres
from devstack.process import Context, free_port, stop
from portal.outages import CLOSE_UNAVAILABLE, MESSAGE
from tests.factories import JobFactory, TeamFactory, UserFactory
from tests.reliability import worker
from tests.reliability.daphne_web import start_web

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def copy_test_database(target_url: str) -> None:
    """The test database (schema, migrations table, the rows the test made) into the private server:
    a second or two, against ten for running every migration again."""
    db = connection.settings_dict
    source = f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    dump = subprocess.run(["pg_dump", "--no-owner", "--no-acl", source], capture_output=True, check=True)
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", target_url], input=dump.stdout, capture_output=True,
                   check=True)


async def websocket_close_code(base: str, path: str, session: str) -> int | None:
    async with aiohttp.ClientSession() as http, http.ws_connect(
            base.replace("http", "ws") + path, headers={"Cookie": f"sessionid={session}", "Origin": base}) as ws:
        message = await ws.receive(timeout=20)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), message
        return ws.close_code


def test_database_restart_answers_503_then_recovers_in_the_same_process():
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (its test database is copied to the private server)")
    team = TeamFactory(slug="faults-pg")
    person = UserFactory(username="faults-pg", roles=["QA"], teams=[team])
    job = JobFactory(team=team, started_by=person)
    browser = Client()
    browser.force_login(person)
    session = browser.cookies["sessionid"].value
    # PostgreSQL runs as its own user: its directory must not be root's private pytest tmp_path.
    root = Path(tempfile.mkdtemp(prefix="slipway-faults-pg-"))
    root.chmod(0o755)
    ctx, postgres = Context(root=root), Postgres(free_port())
    web = None
    try:
        admin_url = postgres.up(ctx)["POSTGRES_URL"]
        copy_test_database(admin_url)
        web, base = start_web(root / "web.log", DATABASE_URL=admin_url, REDIS_URL="",
                              SLIPWAY_VAR_DIR=str(root / "var"))
        http = requests.Session()
        http.cookies.set("sessionid", session)

        def answers() -> dict[str, requests.Response]:
            pages = {path: http.get(base + path, timeout=30, allow_redirects=False)
                     for path in ("/", "/jobs/", "/api/v1/jobs/")}
            return {**pages, "/healthz": requests.get(base + "/healthz", timeout=30)}  # a probe sends no cookie

        before = answers()
        assert {p: r.status_code for p, r in before.items()} == dict.fromkeys(before, 200)
        assert before["/api/v1/jobs/"].json()["count"] == 1

        stop(ctx, "postgres")
        during = answers()
        assert {p: r.status_code for p, r in during.items()} == {"/": 503, "/jobs/": 503, "/api/v1/jobs/": 503,
                                                                 "/healthz": 200}
        for path in ("/", "/jobs/"):
            assert MESSAGE in during[path].text and during[path].headers["Content-Type"].startswith("text/html")
        assert during["/api/v1/jobs/"].json() == {
            "error": {"status": 503, "code": "database_unavailable", "message": MESSAGE}}
        assert during["/healthz"].json() == {"status": "ok", "database": "unavailable"}
        code = asyncio.run(websocket_close_code(base, f"/ws/jobs/{job.pk}/", session))
        assert code == CLOSE_UNAVAILABLE, (root / "web.log").read_text()[-3000:]
        for response in during.values():
            assert "Traceback" not in response.text
            assert str(postgres.port) not in response.text and "slipway@" not in response.text

        postgres.up(ctx)  # the same port and data directory
        worker.wait_for(lambda: http.get(base + "/", timeout=30).status_code == 200, 60, "the page to recover")
        after = answers()
        assert {p: r.status_code for p, r in after.items()} == dict.fromkeys(after, 200)
        assert after["/healthz"].json()["database"] == "ok"
        assert web.poll() is None  # recovered without a restart
        log = (root / "web.log").read_text()
        assert "Traceback" not in log, log[-3000:]
        assert log.count("database unreachable") == 4  # one line per refused request or socket
    finally:
        if web is not None:
            worker.kill(web)
        stop(ctx, "postgres")
        shutil.rmtree(root, ignore_errors=True)
