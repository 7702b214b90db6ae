"""Log history: the query language (unit) and CloudWatch Logs search against the moto server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from clusters.models import Cluster
from environments.logs.cloudwatch import CloudWatchLogHistory, filter_pattern, log_group, log_stream
from environments.logs.history import HistoryQuery, HistoryQueryError, TextQuery, parse_text
from environments.models import Blueprint, Environment
from portal import aws
from portal.audit.models import AuditEvent


@pytest.mark.parametrize(("text", "pattern"), [
    ("", ""),
    ("timeout", '"timeout"'),
    ('ERROR "connection reset"', '"ERROR" "connection reset"'),
    ("?ERROR ?WARN", '?"ERROR" ?"WARN"'),
    ('?"disk full" ?oom', '?"disk full" ?"oom"'),
    ("ERROR -healthcheck", '"ERROR" -"healthcheck"'),
    ('-"GET /healthz"', '-"GET /healthz"'),
    ("order=42 user@example.test", '"order=42" "user@example.test"'),
])
def test_filter_pattern_from_the_query_language(text, pattern):
    assert filter_pattern(parse_text(text)) == pattern


@pytest.mark.parametrize(("text", "message"), [
    ('"unclosed', "not closed"),
    ("?a b", "not both"),
    ("?a -b", "not both"),
    (" ".join(f"t{n}" for n in range(21)), "At most 20"),
])
def test_queries_cloudwatch_cannot_express_are_refused(text, message):
    with pytest.raises(HistoryQueryError, match=message):
        parse_text(text)


def test_request_narrows_by_component_pod_and_time():
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    backend = CloudWatchLogHistory(client=object())
    request = backend.request(HistoryQuery(cluster="eu-1", namespace="slw-shop", component="web", pod="web-7d9",
                                           start=start, end=end, text=parse_text("?a ?b")))
    assert request == {"logGroupName": "/slipway/eu-1/slw-shop", "logStreamNames": ["web/web-7d9"],
                       "startTime": 1767225600000, "endTime": 1767312000000, "filterPattern": '?"a" ?"b"',
                       "interleaved": True}
    assert backend.request(HistoryQuery(cluster="c", namespace="n", component="api"))["logStreamNamePrefix"] == "api/"
    with pytest.raises(HistoryQueryError, match="component"):
        backend.request(HistoryQuery(cluster="c", namespace="n", pod="web-1"))


# --- against moto -------------------------------------------------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def shipped(db, aws_settings, team, users):
    """An environment and the log group its cluster's fluent-bit would have filled."""
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name=f"c-{uuid.uuid4().hex[:8]}", kind=Cluster.EXISTING)
    namespace = f"slw-hist-{uuid.uuid4().hex[:6]}"
    environment = Environment.objects.create(name="hist", cluster=cluster, namespace=namespace, team=team,
                                             blueprint=Blueprint.objects.get(name="shop"), stage="qa",
                                             owner=users["developer"], status=Environment.READY)
    logs = aws.client("logs")
    group = log_group(cluster.name, namespace)
    logs.create_log_group(logGroupName=group)
    lines = {
        log_stream("web", "web-1"): ["GET / 200", "GET /cart 500 connection reset by peer", "GET /healthz 200"],
        log_stream("web", "web-2"): ["GET /checkout 200", '{"log": "json wrapped line\\n", "stream": "stdout"}'],
        log_stream("api", "api-1"): ["order 42 created", "order 43 failed: connection reset"],
    }
    for stream, messages in lines.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": int((NOW - timedelta(minutes=30 - n)).timestamp() * 1000), "message": m}
            for n, m in enumerate(messages)])
    old = log_stream("api", "api-0")
    logs.create_log_stream(logGroupName=group, logStreamName=old)
    logs.put_log_events(logGroupName=group, logStreamName=old, logEvents=[
        {"timestamp": int((NOW - timedelta(hours=5)).timestamp() * 1000), "message": "yesterday's order 1"}])
    yield environment
    logs.delete_log_group(logGroupName=group)


def search(environment, **query):
    defaults = {"cluster": environment.cluster.name, "namespace": environment.namespace}
    return CloudWatchLogHistory().search(HistoryQuery(**defaults | query))


@pytest.mark.integration
def test_search_by_component_pod_text_and_time(shipped):
    everything = search(shipped)
    assert len(everything.events) == 8 and not everything.next_cursor
    # A component alone is a logStreamNamePrefix, which moto ignores (measured): see the unit test.
    # One pod is an exact stream name, which moto honours.
    assert [e.message for e in search(shipped, component="web", pod="web-2").events] == [
        "GET /checkout 200", "json wrapped line"]  # fluent-bit's JSON record is unwrapped to its "log"
    reset = search(shipped, text=TextQuery(all_terms=("connection reset",)))
    assert sorted((e.container, e.pod) for e in reset.events) == [("api", "api-1"), ("web", "web-1")]
    assert [e.message for e in search(shipped, component="api", text=TextQuery(all_terms=("order",)),
                                      start=NOW - timedelta(hours=1), end=NOW).events] == [
        "order 42 created", "order 43 failed: connection reset"]


@pytest.mark.integration
def test_pages_follow_the_next_token(shipped):
    seen, cursor = [], ""
    for _ in range(10):
        page = search(shipped, limit=3, cursor=cursor)
        seen += [e.message for e in page.events]
        assert len(page.events) <= 3
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == 8 and len(set(seen)) == 8


@pytest.mark.integration
def test_missing_log_group_is_a_notice_not_an_error(db, aws_settings):
    page = CloudWatchLogHistory().search(HistoryQuery(cluster="nowhere", namespace=f"n-{uuid.uuid4().hex[:6]}"))
    assert page.events == [] and "does not exist" in page.notice


@pytest.mark.integration
def test_page_and_api_search_with_audit_for_production(shipped, users, client, api_for):
    client.force_login(users["developer"])
    page = client.get(f"/environments/{shipped.pk}/log-history/", {"component": "web", "text": '"connection reset"'})
    assert page.status_code == 200
    body = page.content.decode()
    assert "GET /cart 500 connection reset by peer" in body and "GET / 200" not in body
    assert not AuditEvent.objects.filter(action="environment.logs.history").exists()  # qa: not audited

    bad = client.get(f"/environments/{shipped.pk}/log-history/", {"text": "?a b"})
    assert bad.status_code == 400 and "not both" in bad.content.decode()

    api = api_for(users["manager"])
    Environment.objects.filter(pk=shipped.pk).update(stage="prod")
    response = api.get(f"/api/v1/environments/{shipped.pk}/logs/history/",
                       {"text": "order", "limit": 1})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert [e["message"] for e in data["events"]] == ["yesterday's order 1"] and data["next_cursor"]
    following = api.get(f"/api/v1/environments/{shipped.pk}/logs/history/",
                        {"text": "order", "limit": 1, "cursor": data["next_cursor"]}).json()
    assert [e["message"] for e in following["events"]] == ["order 42 created"]
    # Every page is audited: a cursor reads on without asking for the first page again.
    first, second = AuditEvent.objects.filter(action="environment.logs.history").order_by("id")
    assert first.actor_name == "manager" and first.details["text"]["all_terms"] == ["order"]
    assert (first.details["next_page"], second.details["next_page"]) == (False, True)
    assert second.actor_name == "manager" and second.details["events"] == 1
    # …even a cursor presented alone, by someone who never asked for the first page.
    api_for(users["admin"]).get(f"/api/v1/environments/{shipped.pk}/logs/history/",
                                {"text": "order", "limit": 1, "cursor": data["next_cursor"]})
    assert AuditEvent.objects.filter(action="environment.logs.history", actor_name="admin").count() == 1

    around = api.get(f"/api/v1/environments/{shipped.pk}/logs/history/", {
        "component": "web", "pod": "web-1", "around": (NOW - timedelta(minutes=29)).isoformat()}).json()
    assert [e["message"] for e in around["events"]] == ["GET / 200", "GET /cart 500 connection reset by peer",
                                                       "GET /healthz 200"]
    assert api.get(f"/api/v1/environments/{shipped.pk}/logs/history/", {"pod": "web-1"}).status_code == 400
    assert api_for(users["outsider"]).get(f"/api/v1/environments/{shipped.pk}/logs/history/").status_code == 403
