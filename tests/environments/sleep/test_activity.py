"""Activity: one cheap write, throttled to one a minute, from every source — the environment's page and
sub-pages, its log pages and live log websocket, its API, a rollout's start, and a request to its
hostname while it sleeps (in test_wake_on_request.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments.sleep.activity import activity_kind_of, activity_record
from environments.sleep.models import SleepState

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(make_ready):
    return make_ready("act-qa")


def last(environment) -> tuple:
    state = SleepState.objects.filter(environment=environment).first()
    return (state.last_activity_at, state.last_activity_kind) if state else (None, "")


def test_first_record_makes_the_state_then_one_write_a_minute(env):
    start = timezone.now()
    activity_record(env, "page", now=start)
    assert last(env) == (start, "page")
    activity_record(env.pk, "api", now=start + timedelta(seconds=30))  # throttled: nothing written
    assert last(env) == (start, "page")
    activity_record(env.pk, "api", now=start + timedelta(seconds=61))
    assert last(env) == (start + timedelta(seconds=61), "api")


def test_a_throttled_record_is_one_query_and_a_missing_environment_is_no_error(env):
    activity_record(env, "page")
    with CaptureQueriesContext(connection) as queries:
        activity_record(env, "page")
    assert len(queries) == 1  # within the minute: one indexed read, no write
    with CaptureQueriesContext(connection) as queries:
        activity_record(env, "page", now=timezone.now() + timedelta(minutes=2))
    assert len(queries) == 2 and queries[1]["sql"].startswith("UPDATE")
    activity_record(987654321, "page")  # no such environment: nothing, and the transaction goes on
    assert SleepState.objects.filter(environment_id=987654321).count() == 0
    with pytest.raises(ValueError, match="unknown activity kind"):
        activity_record(env, "coffee")


@pytest.mark.parametrize(("path", "expected"), [
    ("/environments/12/", (12, "page")),
    ("/environments/12/chaos/", (12, "page")),
    ("/environments/12/logs/", (12, "logs")),
    ("/environments/12/log-history/", (12, "logs")),
    ("/api/v1/environments/12/", (12, "api")),
    ("/api/v1/environments/12.json", (12, "api")),
    ("/api/v1/environments/12/sleep-schedule/", (12, "api")),
    ("/environments/", None),
    ("/environments/chaos/", None),
    ("/api/v1/environments/", None),
    ("/api/v1/environments/123abc/", None),
])
def test_which_paths_count(path, expected):
    assert activity_kind_of(path) == expected


def test_pages_logs_and_api_record_activity_for_whoever_may_see_them(env, client, users, api_for):
    client.force_login(users["qa"])
    assert client.get(f"/environments/{env.pk}/").status_code == 200
    assert last(env)[1] == "page"
    SleepState.objects.filter(environment=env).update(last_activity_at=timezone.now() - timedelta(hours=1))
    assert client.get(f"/environments/{env.pk}/log-history/").status_code == 200
    assert last(env)[1] == "logs"
    SleepState.objects.filter(environment=env).update(last_activity_at=timezone.now() - timedelta(hours=1))
    assert api_for(users["qa"]).get(f"/api/v1/environments/{env.pk}/").status_code == 200
    assert last(env)[1] == "api"
    # Someone who may not see it (404) records nothing.
    SleepState.objects.filter(environment=env).update(last_activity_at=None, last_activity_kind="")
    client.force_login(users["outsider"])
    client.get(f"/environments/{env.pk}/")
    assert api_for(users["outsider"]).get(f"/api/v1/environments/{env.pk}/").status_code in (403, 404)
    assert last(env) == (None, "")


def test_a_rollout_start_records_activity(offline_cluster, users, team, django_capture_on_commit_callbacks):
    from environments.models import Blueprint
    from environments.services import environment_create
    from portal.audit.actor import Actor
    from tests.environments.chaos.conftest import VERSIONS

    with django_capture_on_commit_callbacks(execute=True):
        environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=offline_cluster,
                                         blueprint=Blueprint.objects.get(name="shop"), name="act-rollout",
                                         stage="qa", team=team, versions=dict(VERSIONS))
    # The cluster is unreachable: the rollout fails, but it started (deploying) and that is activity.
    assert last(environment)[1] == "rollout"
