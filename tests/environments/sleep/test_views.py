"""The sleep schedule pages: the environment page's panel (inherited default shown as such, own schedule
editable by who may change it, last slept/woke/wake-up time), setting and clearing its own schedule, the
stage policy refusing to disable, and the default schedules pages (list with filters, CSV, create, edit,
delete for Platform admins). Every change is audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from environments.policies.models import StagePolicy
from environments.sleep.models import SleepSchedule, SleepState
from portal.audit.models import AuditEvent
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

NIGHTS = {"sleep_cron": "0 20 * * 1-5", "wake_cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}
FORM = {"enabled": "on", "sleep_cron": "0 19 * * 1-5", "wake_cron": "0 7 * * 1-5", "timezone": "Europe/Berlin",
        "idle_hours": "4"}


@pytest.fixture
def env(make_ready):
    return make_ready("ui-sleep")


def signed_in(client, user):
    client.force_login(user)
    return client


def test_the_panel_shows_the_inherited_default_and_the_sleep_state(env, client, users, team):
    SleepSchedule.objects.create(team=team, stage="qa", **NIGHTS)
    SleepState.objects.create(environment=env, last_wake_seconds=17.4, reason="request")
    page = signed_in(client, users["qa"]).get(reverse("environment-detail", args=[env.pk])).content.decode()
    assert "Sleep schedule" in page and "Inherited from the default for <strong>Payments / qa</strong>" in page
    assert "0 20 * * 1-5" in page and "17.4 s" in page and "Give it its own schedule" in page
    # A Manager sees it but gets no form.
    page = signed_in(client, users["manager"]).get(reverse("environment-detail", args=[env.pk])).content.decode()
    assert "Inherited from the default" in page and "Save sleep schedule" not in page


def test_setting_then_clearing_its_own_schedule_is_audited(env, client, users, team):
    qa = signed_in(client, users["qa"])
    response = qa.post(reverse("environment-sleep-schedule", args=[env.pk]), FORM, follow=True)
    assert "Sleep schedule saved." in response.content.decode()
    own = SleepSchedule.objects.get(environment=env)
    assert (own.sleep_cron, own.idle_hours, own.enabled, own.updated_by) == ("0 19 * * 1-5", 4.0, True, users["qa"])
    event = AuditEvent.objects.get(action="sleep_schedule.set")
    assert event.details["changes"]["sleep_cron"] == {"before": None, "after": "0 19 * * 1-5"}
    assert "Its own schedule" in response.content.decode()
    SleepSchedule.objects.create(team=team, **NIGHTS)
    response = qa.post(reverse("environment-sleep-schedule-clear", args=[env.pk]), follow=True)
    assert "It now follows the default for Payments / every stage." in response.content.decode()
    assert not SleepSchedule.objects.filter(environment=env).exists()
    assert AuditEvent.objects.filter(action="sleep_schedule.cleared", object_id=str(env.pk)).exists()


def test_bad_values_are_refused_with_a_sentence_and_nothing_is_saved(env, client, users):
    qa = signed_in(client, users["qa"])
    for field, value, words in (("sleep_cron", "every evening", "five cron fields"),
                                ("timezone", "Mars/Olympus", "not a time zone"),
                                ("idle_hours", "0", "Sleep after idle")):
        response = qa.post(reverse("environment-sleep-schedule", args=[env.pk]), {**FORM, field: value}, follow=True)
        assert response.status_code == 200 and words in response.content.decode(), field
    assert not SleepSchedule.objects.filter(environment=env).exists()


def test_a_stage_that_requires_a_schedule_refuses_disabling(env, client, users):
    StagePolicy.objects.create(stage="qa", sleep_schedule_required=True)
    qa = signed_in(client, users["qa"])
    response = qa.post(reverse("environment-sleep-schedule", args=[env.pk]), {**FORM, "enabled": ""}, follow=True)
    assert "The qa stage requires a sleep schedule" in response.content.decode()
    assert not SleepSchedule.objects.filter(environment=env).exists()


def test_who_may_change_it(env, client, users):
    for user in ("manager", "outsider"):
        response = signed_in(client, users[user]).post(reverse("environment-sleep-schedule", args=[env.pk]), FORM)
        assert response.status_code in (403, 404), user
    assert not SleepSchedule.objects.exists()


def test_defaults_list_filters_and_exports(client, users, team):
    other = TeamFactory(slug="search", name="Search")
    SleepSchedule.objects.create(team=team, stage="qa", **NIGHTS)
    SleepSchedule.objects.create(team=other, idle_hours=3)
    SleepSchedule.objects.create(stage="dev", sleep_cron="0 22 * * *")
    qa = signed_in(client, users["qa"])
    page = qa.get(reverse("sleep-default-list")).content.decode()
    assert page.count("data-default=") == 3 and "New default" not in page
    page = qa.get(reverse("sleep-default-list"), {"team": "search"}).content.decode()
    assert page.count("data-default=") == 1 and "3 h" in page
    page = qa.get(reverse("sleep-default-list"), {"team": "none"}).content.decode()
    assert page.count("data-default=") == 1 and "0 22 * * *" in page
    csv = b"".join(qa.get(reverse("sleep-default-export"), {"stage": "qa"}).streaming_content).decode()
    lines = csv.strip().splitlines()
    assert lines[0].startswith("id,team,stage,enabled,sleep_cron") and len(lines) == 2 and "payments,qa" in lines[1]
    assert ",35.7," in lines[1]  # awake 60 of 168 hours


def test_admin_creates_edits_and_deletes_a_default(client, users, team):
    admin = signed_in(client, users["admin"])
    response = admin.post(reverse("sleep-default-new"), {**FORM, "team": "payments", "stage": "qa"}, follow=True)
    assert "Default sleep schedule created." in response.content.decode()
    made = SleepSchedule.objects.get(team=team, stage="qa")
    # The same scope twice: a sentence on the form, not a 500.
    response = admin.post(reverse("sleep-default-new"), {**FORM, "team": "payments", "stage": "qa"})
    assert response.status_code == 200 and "There is already a default" in response.content.decode()
    response = admin.post(reverse("sleep-default-new"), {**FORM, "team": "", "stage": ""})
    assert "Choose a team, a stage or both" in response.content.decode()
    response = admin.post(reverse("sleep-default-edit", args=[made.pk]), {**FORM, "wake_cron": ""}, follow=True)
    made.refresh_from_db()
    assert made.wake_cron == "" and "saved" in response.content.decode()
    admin.post(reverse("sleep-default-delete", args=[made.pk]))
    assert not SleepSchedule.objects.filter(pk=made.pk).exists()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="sleep_default.").order_by("pk")] == [
        "sleep_default.created", "sleep_default.changed", "sleep_default.deleted"]


def test_a_required_stage_default_cannot_be_disabled_or_deleted(client, users):
    StagePolicy.objects.create(stage="staging", sleep_schedule_required=True)
    made = SleepSchedule.objects.create(stage="staging", **NIGHTS)
    admin = signed_in(client, users["admin"])
    response = admin.post(reverse("sleep-default-edit", args=[made.pk]), {**FORM, "enabled": ""})
    assert "The staging stage requires a sleep schedule" in response.content.decode()
    response = admin.post(reverse("sleep-default-delete", args=[made.pk]), follow=True)
    assert "The staging stage requires a sleep schedule" in response.content.decode()
    made.refresh_from_db()
    assert made.enabled


def test_only_admins_change_defaults(client, users):
    made = SleepSchedule.objects.create(stage="dev", **NIGHTS)
    for user in ("qa", "developer", "manager"):
        c = signed_in(client, users[user])
        assert c.get(reverse("sleep-default-new")).status_code == 403
        assert c.post(reverse("sleep-default-delete", args=[made.pk])).status_code == 403
    assert SleepSchedule.objects.filter(pk=made.pk).exists()
