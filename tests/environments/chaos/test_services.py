"""Chaos settings and experiment use cases: who may, every refusal's message, production approval, the
audit trail, and nothing half-done when refused."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from environments.chaos.gate import chaos_refusal
from environments.chaos.models import ChaosExperiment, ChaosRun, ChaosSettings, ChaosUndo
from environments.chaos.services import (
    chaos_experiment_create,
    chaos_experiment_delete,
    chaos_experiment_pause,
    chaos_experiment_update,
    chaos_settings_update,
)
from environments.models import Environment
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.environments.chaos.schedule_support import make_environment, make_experiment, make_run


@pytest.fixture
def qa_env(users, team):
    return make_environment("sched-qa", team=team, owner=users["developer"])


@pytest.fixture
def prod_env(users, team):
    return make_environment("sched-prod", team=team, owner=users["admin"], stage="prod")


def settings_update(user, environment, **changes):
    return chaos_settings_update(actor=Actor.for_user(user), user=user, environment=environment, **changes)


def create(user, environment, **fields):
    values = {"name": "kill-web", "fault": "pod-kill", "target": "web"} | fields
    return chaos_experiment_create(actor=Actor.for_user(user), user=user, environment=environment, **values)


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# ----------------------------------------------------------------------------------------------- settings

def test_a_developer_opts_their_environment_in_and_it_is_audited_with_before_and_after(users, qa_env):
    row = settings_update(users["developer"], qa_env, enabled=True, slo_seconds=20, availability_target=99.5)
    row.refresh_from_db()
    assert (row.enabled, row.slo_seconds, row.availability_target, row.badge_runs) == (True, 20, 99.5, 3)
    assert row.approved_by is None and row.updated_by == users["developer"]
    [event] = events("chaos.settings_changed")
    assert event.outcome == "success" and event.team_slug == "payments" and event.actor_name == "developer"
    assert event.details["before"]["enabled"] is False and event.details["after"]["enabled"] is True
    assert event.details["changes"]["slo_seconds"] == {"before": 30, "after": 20}
    settings_update(users["developer"], qa_env, enabled=False)
    assert ChaosSettings.objects.get(environment=qa_env).enabled is False
    assert len(events("chaos.settings_changed")) == 2


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"slo_seconds": 0}, "slo_seconds", "Use a recovery SLO from 1 to 3600 seconds."),
    ({"slo_seconds": 3601}, "slo_seconds", "Use a recovery SLO from 1 to 3600 seconds."),
    ({"slo_seconds": "soon"}, "slo_seconds", "Use a recovery SLO from 1 to 3600 seconds."),
    ({"availability_target": 100.5}, "availability_target", "Use an availability target from 0 to 100 %."),
    ({"availability_target": -1}, "availability_target", "Use an availability target from 0 to 100 %."),
    ({"badge_runs": 0}, "badge_runs", "Use 1 to 50 runs for the chaos-ready badge."),
    ({"badge_runs": 51}, "badge_runs", "Use 1 to 50 runs for the chaos-ready badge."),
    ({"enabled": "yes"}, "enabled", "Say true (opted in) or false (opted out)."),
    ({"halted": True}, "halted", "'halted' is not a field of the chaos settings."),
])
def test_bad_settings_are_refused_field_by_field_and_nothing_changes(users, qa_env, changes, field, message):
    with pytest.raises(ValidationError) as refused:
        settings_update(users["developer"], qa_env, **({"enabled": True} | changes))
    assert refused.value.message_dict[field] == [message]
    assert not ChaosSettings.objects.filter(environment=qa_env, enabled=True).exists()
    assert events("chaos.settings_changed")[-1].outcome == "failure"


@pytest.mark.parametrize("who", ["manager", "outsider"])
def test_people_who_may_not_change_the_environment_may_not_opt_it_in(users, qa_env, who):
    with pytest.raises(PermissionDenied, match="own teams' environments"):
        settings_update(users[who], qa_env, enabled=True)
    assert not ChaosSettings.objects.filter(enabled=True).exists()


def test_production_is_refused_to_developers_and_without_an_approval_reason(users, prod_env):
    with pytest.raises(PermissionDenied):
        settings_update(users["developer"], prod_env, enabled=True, approval_reason="trust me")
    with pytest.raises(ValidationError) as refused:
        settings_update(users["admin"], prod_env, enabled=True)
    assert "needs a Platform admin's approval" in refused.value.message_dict["approval_reason"][0]
    with pytest.raises(ValidationError):
        settings_update(users["admin"], prod_env, enabled=True, approval_reason="   ")
    assert not ChaosSettings.objects.filter(environment=prod_env, enabled=True).exists()
    assert not events("chaos.production_approved")
    assert [e.outcome for e in events("chaos.settings_changed")] == ["failure"] * 3


def test_production_is_opted_in_by_an_admin_with_a_reason_recorded_and_audited(users, prod_env):
    assert chaos_refusal(prod_env) is not None
    row = settings_update(users["admin"], prod_env, enabled=True, approval_reason="game day, agreed with SRE")
    assert chaos_refusal(prod_env) is None  # the engine's gate lets the approved environment run
    row.refresh_from_db()
    assert row.enabled and row.approved_by == users["admin"] and row.approval_reason == "game day, agreed with SRE"
    assert row.approved_at is not None and timezone.now() - row.approved_at < timedelta(minutes=5)
    [approved] = events("chaos.production_approved")
    assert approved.details == {"reason": "game day, agreed with SRE"} and approved.actor_name == "admin"
    assert approved.object_id == str(prod_env.pk)
    # A later change of limits needs no new approval; opting out clears it, so opting in needs another.
    settings_update(users["admin"], prod_env, slo_seconds=10)
    settings_update(users["admin"], prod_env, enabled=False)
    row.refresh_from_db()
    assert row.approved_by is None and row.approval_reason == ""
    assert "off for sched-prod" in chaos_refusal(prod_env)
    with pytest.raises(ValidationError):
        settings_update(users["admin"], prod_env, enabled=True)
    assert len(events("chaos.production_approved")) == 1


def test_a_destroyed_environment_cannot_be_opted_in(users, team):
    gone = make_environment("sched-gone", team=team, owner=users["developer"], status=Environment.DESTROYED)
    with pytest.raises(ValidationError, match="being destroyed"):
        settings_update(users["developer"], gone, enabled=True)


# ----------------------------------------------------------------------------------------------- experiments

def test_create_an_interval_experiment_with_its_next_run_and_an_audit_event(users, qa_env):
    before = timezone.now()
    experiment = create(users["developer"], qa_env, schedule="interval", interval_seconds=120, percent="25",
                        fault="pod-kill-percent", max_down_percent=50, window_days=[5, 1, 1],
                        window_start="00:00", window_end="23:59", timezone="Europe/Berlin")
    experiment.refresh_from_db()
    assert (experiment.percent, experiment.window_days, experiment.window_start) == (25, [1, 5], time(0))
    assert experiment.created_by == users["developer"] and experiment.next_run_at is not None
    assert experiment.next_run_at >= before + timedelta(seconds=120)
    [event] = events("chaos.experiment_created")
    assert event.outcome == "success" and event.object_id == str(experiment.pk) and event.team_slug == "payments"
    assert event.details["after"]["fault"] == "pod-kill-percent"


def test_a_one_off_experiment_has_no_next_run_and_defaults_from_the_model(users, qa_env):
    experiment = create(users["developer"], qa_env, target="")
    assert experiment.schedule == "once" and experiment.next_run_at is None
    assert (experiment.duration_seconds, experiment.max_down_percent, experiment.timezone) == (30, 100, "UTC")


REFUSALS = [
    ({"name": "Kill_Web"}, "name", "Use lower-case letters, digits and '-'"),
    ({"fault": "meteor"}, "fault", "Choose a fault: pod-kill, pod-kill-percent, pod-kill-all"),
    ({"target": "payments"}, "target", "'payments' is not a component of sched-qa's current revision "
                                       "(choose one of: web, api, solo"),
    ({"fault": "backing-scale-zero", "target": "files"}, "target",
     "'files' is not a backing service of sched-qa in the cluster (choose one of: db, cache"),
    ({"fault": "backing-scale-zero", "target": "web"}, "target", "is not a backing service"),
    ({"percent": 0}, "percent", "Use a percentage of pods from 1 to 100."),
    ({"percent": 101}, "percent", "Use a percentage of pods from 1 to 100."),
    ({"duration_seconds": 4}, "duration_seconds", "Use a duration from 5 to 3600 seconds."),
    ({"duration_seconds": 3601}, "duration_seconds", "Use a duration from 5 to 3600 seconds."),
    ({"max_down_percent": 0}, "max_down_percent", "Use a blast-radius limit from 1 to 100 %."),
    ({"fault": "pod-kill-all", "max_down_percent": 50}, "max_down_percent",
     "Killing all pods takes every pod of its target down at once: set the blast-radius limit to 100 %."),
    ({"fault": "network-cut", "max_down_percent": 99}, "max_down_percent", "A network cut takes every pod"),
    ({"fault": "backing-scale-zero", "target": "db", "max_down_percent": 50}, "max_down_percent",
     "Scaling a backing service to zero takes every pod"),
    ({"fault": "pod-kill-percent", "percent": 75, "max_down_percent": 50}, "percent",
     "Killing 75 % of the pods exceeds the blast-radius limit of 50 %: lower the percentage or raise the limit."),
    ({"target": "solo", "max_down_percent": 50}, "max_down_percent",
     "solo runs 1 replica: at 50 % not even one pod may go down; raise the limit (100 allows it)"),
    ({"schedule": "weekly"}, "schedule", "Choose once, interval or cron."),
    ({"schedule": "interval"}, "interval_seconds", "An interval schedule needs the interval in seconds."),
    ({"schedule": "interval", "interval_seconds": 9}, "interval_seconds", "Give an interval of at least 10 seconds."),
    ({"schedule": "interval", "interval_seconds": "often"}, "interval_seconds", "at least 10 seconds"),
    ({"schedule": "cron", "interval_seconds": 60, "cron": "* * * * *"}, "interval_seconds",
     "Only an interval schedule has an interval; leave it empty."),
    ({"cron": "* * * * *"}, "cron", "Only a cron schedule has a cron expression; leave it empty."),
    ({"schedule": "cron"}, "cron", "A cron schedule needs an expression, such as '0 10 * * 1-5'."),
    ({"schedule": "cron", "cron": "0 0 10 * * 1-5"}, "cron",
     "Use five fields: minute, hour, day of month, month, day of week (this has 6)."),
    ({"schedule": "cron", "cron": "61 * * * *"}, "cron",
     "This is not a valid cron expression: [61 * * * *] is not acceptable, out of range"),
    ({"schedule": "cron", "cron": "0 3 * * *", "window_start": "10:00", "window_end": "16:00"}, "cron",
     "This cron expression never fires inside the allowed window within a year."),
    ({"schedule": "cron", "cron": "0 12 29 2 *"}, "cron", "This cron expression does not fire within a year."),
    ({"timezone": "Mars/Olympus"}, "timezone", "'Mars/Olympus' is not a known time zone"),
    ({"timezone": "../../etc/passwd"}, "timezone", "is not a known time zone"),
    ({"window_days": [0, 8]}, "window_days", "Use ISO weekdays from 1 (Monday) to 7 (Sunday)."),
    ({"window_days": "weekdays"}, "window_days", "Use ISO weekdays"),
    ({"window_start": "25:00", "window_end": "26:00"}, "window_start", "Give a time of day as HH:MM."),
    ({"window_start": "10:00"}, "window_end", "Give both a start and an end time, or neither (any time of day)."),
    ({"window_start": time(16), "window_end": time(10)}, "window_end",
     "The window must end after it starts (a window does not cross midnight)."),
    ({"paused": "maybe"}, "paused", "Say true or false."),
    ({"colour": "red"}, "colour", "'colour' is not a field of an experiment."),
]


@pytest.mark.parametrize(("fields", "field", "message"), REFUSALS, ids=[r[1] + ":" + str(i) for i, r in
                                                                         enumerate(REFUSALS)])
def test_every_refusal_names_its_field_with_a_sentence_and_nothing_is_created(users, qa_env, fields, field, message):
    with pytest.raises(ValidationError) as refused:
        create(users["developer"], qa_env, **fields)
    assert message in " ".join(refused.value.message_dict[field])
    assert not ChaosExperiment.objects.exists()
    assert events("chaos.experiment_created")[-1].outcome == "failure"


def test_production_backing_services_are_not_in_the_cluster(users, prod_env):
    with pytest.raises(ValidationError) as refused:
        create(users["admin"], prod_env, fault="backing-scale-zero", target="")
    assert "managed outside the cluster" in refused.value.message_dict["target"][0]


def test_the_minimum_interval_is_a_setting(users, qa_env, settings):
    settings.SLIPWAY_CHAOS_MIN_INTERVAL_SECONDS = 1
    experiment = create(users["developer"], qa_env, schedule="interval", interval_seconds=1)
    assert experiment.interval_seconds == 1


def test_names_are_unique_per_environment_only(users, team, qa_env):
    create(users["developer"], qa_env)
    with pytest.raises(ValidationError) as refused:
        create(users["qa"], qa_env)
    assert refused.value.message_dict["name"] == ["sched-qa already has an experiment named 'kill-web'."]
    other = make_environment("sched-qa-2", team=team, owner=users["qa"])
    assert create(users["qa"], other).name == "kill-web"


@pytest.mark.parametrize("who", ["manager", "outsider"])
def test_only_people_who_may_change_the_environment_create_experiments(users, qa_env, who):
    with pytest.raises(PermissionDenied):
        create(users[who], qa_env)
    assert not ChaosExperiment.objects.exists()


def test_production_experiments_are_for_platform_admins(users, prod_env):
    with pytest.raises(PermissionDenied):
        create(users["developer"], prod_env)
    assert create(users["admin"], prod_env).environment == prod_env


def test_update_checks_like_create_recomputes_the_next_run_and_audits_the_changes(users, qa_env):
    experiment = create(users["developer"], qa_env)
    create(users["developer"], qa_env, name="other")
    actor = Actor.for_user(users["qa"])
    with pytest.raises(ValidationError) as refused:
        chaos_experiment_update(actor=actor, user=users["qa"], experiment=experiment, name="other")
    assert "already has an experiment named 'other'" in refused.value.message_dict["name"][0]
    with pytest.raises(ValidationError):
        chaos_experiment_update(actor=actor, user=users["qa"], experiment=experiment, schedule="interval")
    experiment.refresh_from_db()
    assert (experiment.name, experiment.schedule, experiment.next_run_at) == ("kill-web", "once", None)
    updated = chaos_experiment_update(actor=actor, user=users["qa"], experiment=experiment, schedule="cron",
                                      cron="0 10 * * 1-5", timezone="Europe/Berlin")
    assert updated.next_run_at is not None and updated.next_run_at > timezone.now()
    event = events("chaos.experiment_updated")[-1]
    assert event.outcome == "success"
    assert event.details["changes"]["cron"] == {"before": "", "after": "0 10 * * 1-5"}
    assert set(event.details["changes"]) == {"schedule", "cron", "timezone"}
    with pytest.raises(PermissionDenied):
        chaos_experiment_update(actor=actor, user=users["manager"], experiment=experiment, percent=10)


def test_pause_clears_the_next_run_and_resume_computes_it_from_now(users, qa_env):
    experiment = create(users["developer"], qa_env, schedule="interval", interval_seconds=60)
    actor = Actor.for_user(users["developer"])
    paused = chaos_experiment_pause(actor=actor, user=users["developer"], experiment=experiment, paused=True)
    assert paused.paused and paused.next_run_at is None
    before = timezone.now()
    resumed = chaos_experiment_pause(actor=actor, user=users["developer"], experiment=experiment, paused=False)
    assert not resumed.paused and resumed.next_run_at >= before + timedelta(seconds=60)
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="chaos.experiment_p")] == [
        "chaos.experiment_paused"]
    assert events("chaos.experiment_resumed")[0].details["was_paused"] is True
    with pytest.raises(PermissionDenied):
        chaos_experiment_pause(actor=actor, user=users["outsider"], experiment=experiment, paused=True)


def test_delete_is_refused_while_a_run_is_active_or_a_fault_waits_for_its_undo(users, qa_env):
    experiment = make_experiment(qa_env, name="net", fault="network-cut")
    actor = Actor.for_user(users["developer"])
    run = make_run(experiment, seconds=None, status=ChaosRun.RUNNING)
    with pytest.raises(ValidationError, match=rf"Run {run.pk} of net is running; stop it"):
        chaos_experiment_delete(actor=actor, user=users["developer"], experiment=experiment)
    ChaosRun.objects.filter(pk=run.pk).delete()
    done = make_run(experiment, seconds=3.0)
    ChaosUndo.objects.create(run=done, action=ChaosUndo.DELETE_NETWORK_POLICY, spec={}, due_at=timezone.now())
    with pytest.raises(ValidationError, match="still to be undone"):
        chaos_experiment_delete(actor=actor, user=users["developer"], experiment=experiment)
    assert ChaosExperiment.objects.filter(pk=experiment.pk).exists()
    ChaosUndo.objects.update(done_at=timezone.now())
    with pytest.raises(PermissionDenied):
        chaos_experiment_delete(actor=actor, user=users["manager"], experiment=experiment)
    chaos_experiment_delete(actor=actor, user=users["developer"], experiment=experiment)
    assert not ChaosExperiment.objects.exists()
    assert [e.outcome for e in events("chaos.experiment_deleted")] == ["failure", "failure", "failure", "success"]
    assert events("chaos.experiment_deleted")[-1].details["before"]["fault"] == "network-cut"
