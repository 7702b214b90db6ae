"""The orphan pages and API on rows made directly: filters, totals, CSV, who may do what, refusals with a
sentence, and the beat task (one sweep at a time)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from environments.orphans.models import Orphan
from environments.orphans.orphan_removal import run_orphan_removal
from environments.orphans.periodic import orphans_sweep
from environments.orphans.services import orphans_remove_start
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter


@pytest.fixture
def rows(db, settings, tmp_path):
    settings.SLIPWAY_TERRAFORM_DIR = tmp_path
    now = timezone.now()
    return {
        "ns": Orphan.objects.create(kind=Orphan.NAMESPACE, location="c1", name="slw-a", monthly_cost=Decimal("10.5"),
                                    last_seen_at=now),
        "bucket": Orphan.objects.create(kind=Orphan.S3_BUCKET, location="c1 s3 server #1", name="b",
                                        monthly_cost=Decimal("0.25"), last_seen_at=now),
        "dir": Orphan.objects.create(kind=Orphan.TERRAFORM_DIR, location=str(tmp_path), name="gone",
                                     monthly_cost=Decimal(0), last_seen_at=now),
        "old": Orphan.objects.create(kind=Orphan.NAMESPACE, location="c2", name="slw-b", monthly_cost=Decimal(99),
                                     state=Orphan.REMOVED, last_seen_at=now),
    }


def test_list_filters_totals_and_csv_for_managers(rows, users, api_for, client):
    api = api_for(users["manager"])
    listed = api.get("/api/v1/orphans/").json()
    assert [r["name"] for r in listed["results"]] == ["slw-a", "b", "gone", "slw-b"]  # open ones first
    assert [r["name"] for r in api.get("/api/v1/orphans/?kind=namespace&state=found").json()["results"]] == ["slw-a"]
    assert api.get("/api/v1/orphans/totals/").json() == [{"currency": "USD", "total": "10.750000"}]
    assert api.get("/api/v1/orphans/totals/?location=c2").json() == []
    csv = b"".join(api.get("/api/v1/orphans/export/?kind=s3-bucket").streaming_content).decode()
    assert csv.splitlines()[0].startswith("id,kind,location,name,state,monthly_cost") and ",b," in csv
    assert "slw-a" not in csv
    client.force_login(users["manager"])
    page = client.get("/orphans/?state=found")
    assert page.status_code == 200 and b"10.75 USD" in page.content and b'name="orphans"' not in page.content
    assert client.get("/orphans/remove/?orphans=1").status_code == 403
    assert client.post("/orphans/sweep/").status_code == 403


def test_others_do_not_see_orphans(rows, users, api_for):
    assert api_for(users["developer"]).get("/api/v1/orphans/").status_code == 403
    assert api_for(users["qa"]).post("/api/v1/orphans/sweep/").status_code == 403


def test_api_removal_refusals_are_sentences_and_change_nothing(rows, users, api_for):
    api = api_for(users["admin"])
    answer = api.post("/api/v1/orphans/remove/", {"orphans": [rows["ns"].pk], "confirm": False}, format="json")
    assert answer.status_code == 400 and "Set confirm to true" in str(answer.json())
    answer = api.post("/api/v1/orphans/remove/", {"orphans": [rows["ns"].pk, rows["old"].pk, 999999],
                                                  "confirm": True}, format="json")
    assert answer.status_code == 400
    text = str(answer.json())
    assert "Nothing was removed" in text and "#999999 does not exist" in text and "slw-b is removed" in text
    assert Orphan.objects.get(pk=rows["ns"].pk).state == Orphan.FOUND
    assert not Job.objects.filter(kind="orphans.remove").exists()


def test_confirmation_page_names_each_orphan_and_the_cost_then_removes(rows, users, client,
                                                                       django_capture_on_commit_callbacks):
    client.force_login(users["admin"])
    ids = [rows["bucket"].pk, rows["dir"].pk, rows["old"].pk]
    page = client.get("/orphans/remove/", {"orphans": ids})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Remove 2 orphans?" in body and "0.25 USD" in body and "1 of the chosen orphan cannot be removed" in body
    refused = client.post("/orphans/remove/", {"orphans": [rows["dir"].pk]})  # not confirmed
    assert refused.status_code == 400 and "Tick the box to confirm the removal." in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/orphans/remove/", {"orphans": [rows["dir"].pk], "confirm": "on"})
    assert done.status_code == 302 and "/jobs/" in done["Location"]
    assert Orphan.objects.get(pk=rows["dir"].pk).state == Orphan.REMOVED  # already absent = removed
    event = AuditEvent.objects.get(action="orphan.removed")
    assert event.details["kind"] == "tf-dir" and event.details["name"] == "gone"
    assert AuditEvent.objects.filter(action="orphans.remove_start").exists()


def test_the_beat_task_starts_one_sweep_at_a_time(db, settings, tmp_path):
    settings.SLIPWAY_TERRAFORM_DIR = tmp_path
    # The test's transaction never commits, so the job is never sent: it stays queued, as behind a busy worker.
    first = orphans_sweep()
    assert orphans_sweep() == first
    assert Job.objects.filter(kind="orphans.sweep").count() == 1
    assert settings.CELERY_BEAT_SCHEDULE["environments-orphans-sweep"]["task"] == "environments.orphans_sweep"


def test_the_api_twins_are_in_the_openapi_schema(users, client):
    client.force_login(users["admin"])
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert {"/api/v1/orphans/", "/api/v1/orphans/export/", "/api/v1/orphans/totals/", "/api/v1/orphans/sweep/",
            "/api/v1/orphans/remove/"} <= set(paths)


def test_a_removal_job_run_again_after_a_kill_converges(rows, users, tmp_path):
    """The job's rows stay ``removing`` until each is done: a redelivered run finishes them, a third changes nothing."""
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "slipway.s3.tfbackend").write_text("")
    actor = Actor.for_user(users["admin"])
    job = orphans_remove_start(actor=actor, user=users["admin"], orphan_ids=[rows["dir"].pk])  # never sent
    assert Orphan.objects.get(pk=rows["dir"].pk).state == Orphan.REMOVING
    for _ in range(2):
        run_orphan_removal(job, JobReporter(job), actor)
        assert Orphan.objects.get(pk=rows["dir"].pk).state == Orphan.REMOVED and not (tmp_path / "gone").exists()
    assert AuditEvent.objects.filter(action="orphan.removed").count() == 1
