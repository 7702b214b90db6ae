"""Retrying a failed environment (issue 13 point 4): service, API and page.

The cluster here answers nowhere (127.0.0.1:1), so every rollout fails for real and a retry can be
seen to run the same revision again; tests/e2e/test_live_status_journey.py retries one to Ready.
"""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from environments.models import Environment
from environments.services import environment_destroy, environment_retry
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job

from .test_services import create, shop  # noqa: F401  (the fixture)


@pytest.fixture
def failed(users, team, shop, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(users["qa"], shop, team, name="will-fail")
    environment.refresh_from_db()
    assert environment.status == Environment.FAILED
    return environment


def test_retry_reruns_the_current_revision_and_is_audited(users, failed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = environment_retry(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=failed)
    failed.refresh_from_db()
    assert (failed.status, failed.status_message) == ("pending", "")
    assert job.kind == "rollout" and job.state == Job.QUEUED and job.started_by == users["qa"]
    # No new revision: the same r1 is rolled out again.
    assert failed.revisions.count() == 1
    assert [r.revision.number for r in failed.rollouts.all()] == [1, 1]
    event = AuditEvent.objects.get(action="environment.retry")
    assert event.outcome == "success" and event.object_id == str(failed.pk) and event.team_slug == "payments"
    assert event.details["revision"] == 1 and event.details["kind"] == "rollout"
    assert "unreachable" in event.details["failure"]
    # The enqueued rollout really runs (and fails again here: the cluster still does not answer).
    assert len(callbacks) == 1
    callbacks[0]()
    failed.refresh_from_db()
    job.refresh_from_db()
    assert failed.status == "failed" and job.state == Job.FAILED


def test_retry_is_refused_unless_failed_and_idle(users, failed):
    actor, qa = Actor.for_user(users["qa"]), users["qa"]
    environment_retry(actor=actor, user=qa, environment=failed)
    # A double click: the first retry's job is queued, so the second is refused and starts nothing.
    with pytest.raises(ValidationError, match="A job is already running for this environment"):
        environment_retry(actor=actor, user=qa, environment=failed)
    assert failed.rollouts.count() == 2
    Job.objects.filter(kind="rollout").update(state=Job.SUCCEEDED)
    Environment.objects.filter(pk=failed.pk).update(status=Environment.READY)
    with pytest.raises(ValidationError, match="Only a failed environment can be retried; this one is ready"):
        environment_retry(actor=actor, user=qa, environment=failed)
    with pytest.raises(PermissionDenied):
        environment_retry(actor=Actor.for_user(users["manager"]), user=users["manager"], environment=failed)
    assert failed.rollouts.count() == 2
    assert AuditEvent.objects.filter(action="environment.retry", outcome="failure").count() == 3


def test_a_later_data_copy_job_does_not_change_what_is_retried(users, failed):
    # A copy into the environment after the failed rollout: the retry still re-runs the rollout.
    Job.objects.create(kind="data_copy", title="Copy", state=Job.FAILED, target_type="environments.environment",
                       target_id=str(failed.pk))
    job = environment_retry(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=failed)
    assert job.kind == "rollout" and failed.rollouts.count() == 2


def test_a_failed_destroy_is_retried_as_a_destroy(users, failed, django_capture_on_commit_callbacks, client):
    with django_capture_on_commit_callbacks(execute=True):
        environment_destroy(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=failed)
    failed.refresh_from_db()
    # An unreachable cluster fails the destroy; the environment says so instead of "destroying" forever.
    assert failed.status == "failed" and failed.status_message.startswith("destroy failed:")
    client.force_login(users["qa"])
    page = client.get(f"/environments/{failed.pk}/").content.decode()
    assert "Retry destroy" in page and "Retry rollout" not in page
    with django_capture_on_commit_callbacks(execute=False):
        job = environment_retry(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=failed)
    failed.refresh_from_db()
    assert job.kind == "destroy" and failed.status == "destroying"
    assert failed.rollouts.count() == 1


def test_api_retry(users, failed, api_for):
    url = f"/api/v1/environments/{failed.pk}/retry/"
    assert api_for(users["outsider"]).post(url).status_code == 403  # no role: refused
    denied = api_for(users["manager"]).post(url)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
    response = api_for(users["qa"]).post(url)
    assert response.status_code == 202, response.json()
    assert response.json()["kind"] == "rollout" and response.json()["state"] == "queued"
    again = api_for(users["qa"]).post(url)
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid"
    assert "already running" in again.json()["error"]["message"]
    schema = api_for(users["qa"]).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    retry = schema.json()["paths"]["/api/v1/environments/{id}/retry/"]["post"]
    assert set(retry["responses"]) >= {"202", "400", "403", "404"}


def test_page_offers_retry_to_who_may_change_it(users, failed, client):
    client.force_login(users["manager"])
    assert b"Retry rollout" not in client.get(f"/environments/{failed.pk}/").content
    client.force_login(users["qa"])
    page = client.get(f"/environments/{failed.pk}/").content.decode()
    assert "Retry rollout of r1" in page and 'data-status="failed"' in page
    response = client.post(f"/environments/{failed.pk}/retry/", follow=True)
    assert "Retrying: the job is running again." in response.content.decode()
    failed.refresh_from_db()
    assert failed.rollouts.count() == 2
    # Its job is queued (on_commit does not fire inside this test's transaction): no second retry offered,
    # the badge says pending, and the queued job's panel is on the page.
    page = response.content.decode()
    assert "Retry rollout of r1" not in page and 'data-status="pending"' in page
    assert "Running job" in page
