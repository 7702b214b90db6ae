"""Query-count guards of the environment requests' queue: the page, its CSV, the API's list and CSV cost
the same number of SQL queries for 3 requests as for 30 (every row's requester, decider, team, cluster,
blueprint and environment come with the rows, never one query per row)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments.models import Environment, EnvironmentRequest
from portal.accounts import roles
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

# The most queries each surface may make, whatever the number of rows (sessions, roles, teams, count, rows).
MAX_QUERIES = {"page": 6, "page_csv": 5, "api_list": 2, "api_csv": 1}


def _add_requests(shop, admin, payments, start: int, count: int) -> None:
    """``count`` requests, each of its own requester, every other one of the viewers' team (payments, which
    a developer sees) and the rest each of its own team; every other one approved, with its decider and
    environment, so every column the queue shows is filled."""
    blueprint, cluster = shop
    for i in range(start, start + count):
        team = payments if i % 2 else TeamFactory(slug=f"rq-team-{i}", name=f"Team {i}")
        asker = UserFactory(username=f"rq-asker-{i}", roles=[roles.DEVELOPERS], teams=[team])
        fields = {"state": EnvironmentRequest.PENDING}
        if i % 4 in (1, 2):
            environment = Environment.objects.create(
                name=f"rq-{i}", cluster=cluster, namespace=f"slw-rq-{i}", blueprint=blueprint, stage="prod",
                team=team, owner=asker, status=Environment.READY)
            fields = {"state": EnvironmentRequest.APPROVED, "decided_by": admin, "decided_at": timezone.now(),
                      "decision_reason": "fine", "environment": environment}
        EnvironmentRequest.objects.create(requested_by=asker, name=f"rq-{i}", cluster=cluster, blueprint=blueprint,
                                          stage="prod", team=team, versions={"web": "1.0"}, ttl_hours=24,
                                          justification="launch", **fields)


def _queries(get: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = get()
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)  # the CSV's rows are read while it streams
    return len(captured)


def _rows(response) -> int:
    if response.streaming:
        return b"".join(response.streaming_content).decode().count("\n") - 1  # less the header
    if "json" in response["Content-Type"]:
        return response.json()["count"]
    return response.content.decode().count("<tr data-request=")


SURFACES = {
    "page": lambda client, api: client.get("/environments/requests/"),
    "page_csv": lambda client, api: client.get("/environments/requests/export/"),
    "api_list": lambda client, api: api.get("/api/v1/environment-requests/"),
    "api_csv": lambda client, api: api.get("/api/v1/environment-requests/export/"),
}


@pytest.mark.parametrize("viewer", ["admin", "developer"])
@pytest.mark.parametrize("surface", list(SURFACES))
def test_the_queue_costs_the_same_queries_for_3_or_30_requests(client, api_for, users, team, shop, viewer,
                                                                surface):
    user = users[viewer]
    client.force_login(user)
    api = api_for(user)
    get = lambda: SURFACES[surface](client, api)  # noqa: E731
    rows = {"admin": 30, "developer": 15}[viewer]
    _add_requests(shop, users["admin"], team, 0, 3)
    _queries(get)  # warm up: what a user object caches (its roles, teams) is not the rows' cost
    few = _queries(get)
    _add_requests(shop, users["admin"], team, 3, 27)
    many = _queries(get)
    assert _rows(get()) == rows  # the viewer sees the rows: the guard measures them

    assert many == few <= MAX_QUERIES[surface], f"{surface}: {few} queries for 3 requests, {many} for 30"
