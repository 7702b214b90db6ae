"""Starting runs, the gate, one run at a time, the kill switches and their authorization (database only:
the run jobs are queued, not run; what they do on a cluster is in test_run_job.py)."""


import functools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from environments.chaos.gate import PRODUCTION_NEEDS_APPROVAL, chaos_refusal
from environments.chaos.models import ChaosKillSwitch, ChaosRun, ChaosSettings
from environments.chaos.runs import (
    chaos_kill_switch_environment,
    chaos_kill_switch_global,
    chaos_run_start,
    chaos_run_stop,
)
from environments.lifecycle import environment_transition
from environments.models import Environment
from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from tests.racing import race

from .conftest import experiment, ready_environment

pytestmark = pytest.mark.django_db


def start(user, exp, **kwargs):
    return chaos_run_start(actor=Actor.for_user(user), user=user, experiment=exp, **kwargs)


def test_a_run_is_queued_with_its_job_and_audited(users, team, offline_cluster):
    environment = ready_environment(users["qa"], team, offline_cluster, "engine-q1")
    ChaosSettings.objects.filter(environment=environment).update(slo_seconds=12)
    run = start(users["qa"], experiment(environment, target="api"))
    assert (run.status, run.fault, run.slo_seconds, run.trigger, run.started_by) == (
        "queued", "pod-kill", 12, "manual", users["qa"])
    job = Job.objects.get(chaos_run=run)
    assert (job.kind, job.state, job.team, job.target_id) == ("chaos", "queued", team, str(environment.pk))
    event = AuditEvent.objects.get(action="chaos.run_started")
    assert (event.outcome, event.team_slug, event.details["run"]) == ("success", "payments", run.pk)


@pytest.mark.parametrize(("change", "refusal"), [
    ({"enabled": False}, "Chaos experiments are off for engine-g1; opt the environment in first."),
    ({"halted": True}, "The kill switch of engine-g1 is engaged; release it to run experiments again."),
])
def test_the_gate_refuses_with_a_sentence(users, team, offline_cluster, change, refusal):
    environment = ready_environment(users["qa"], team, offline_cluster, "engine-g1")
    assert chaos_refusal(environment) is None
    ChaosSettings.objects.filter(environment=environment).update(**change)
    assert chaos_refusal(environment) == refusal
    with pytest.raises(ValidationError) as caught:
        start(users["qa"], experiment(environment))
    assert caught.value.messages == [refusal]
    assert not ChaosRun.objects.exists() and not Job.objects.filter(kind="chaos").exists()
    assert AuditEvent.objects.get(action="chaos.run_started").outcome == "failure"


def test_the_global_switch_and_an_unready_environment_are_refused(users, team, offline_cluster):
    environment = ready_environment(users["qa"], team, offline_cluster, "engine-g2")
    ChaosKillSwitch.objects.create(pk=1, engaged=True)
    assert "global chaos kill switch is engaged" in chaos_refusal(environment)
    ChaosKillSwitch.objects.filter(pk=1).update(engaged=False)
    environment_transition(environment, Environment.FAILED, actor=Actor.system("test"))
    assert chaos_refusal(environment).startswith("engine-g2 is failed; experiments run only against a ready")


def test_production_is_refused_without_a_platform_admins_approval(users, team, offline_cluster):
    admin = users["admin"]
    environment = ready_environment(admin, team, offline_cluster, "engine-prod", stage="prod")
    exp = experiment(environment)
    with pytest.raises(ValidationError) as caught:
        start(admin, exp)
    assert caught.value.messages == [PRODUCTION_NEEDS_APPROVAL]
    with pytest.raises(PermissionDenied):
        start(users["qa"], exp)  # people of the team may not change production at all
    ChaosSettings.objects.filter(environment=environment).update(approved_by=admin)
    assert start(admin, exp).status == "queued"


def test_who_may_start_a_run(users, team, offline_cluster):
    exp = experiment(ready_environment(users["qa"], team, offline_cluster, "engine-p1"))
    for key in ("manager", "outsider"):
        with pytest.raises(PermissionDenied):
            start(users[key], exp)
    assert start(users["developer"], exp).status == "queued"
    scheduled = chaos_run_start(actor=Actor.system("chaos-schedule"), user=None,
                                experiment=experiment(ready_environment(users["qa"], team, offline_cluster,
                                                                        "engine-p2")), trigger="schedule")
    assert (scheduled.trigger, scheduled.started_by) == ("schedule", None)


def test_one_run_at_a_time_per_environment(users, team, offline_cluster):
    environment = ready_environment(users["qa"], team, offline_cluster, "engine-one")
    first = start(users["qa"], experiment(environment, "first"))
    with pytest.raises(ValidationError) as caught:
        start(users["qa"], experiment(environment, "second"))
    assert caught.value.messages == ["An experiment is already running in engine-one (first); wait for it or "
                                     "stop it."]
    chaos_run_stop(actor=Actor.for_user(users["qa"]), user=users["qa"], run=first)
    assert start(users["qa"], experiment(environment, "third")).status == "queued"


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_let_exactly_one_through(users, team, offline_cluster):
    if connection.vendor != "postgresql":
        pytest.skip("needs the stack's PostgreSQL")
    environment = ready_environment(users["qa"], team, offline_cluster, "engine-race")
    experiments = [experiment(environment, f"race-{i}") for i in range(4)]
    outcomes = race(*[functools.partial(start, users["qa"], e) for e in experiments])
    assert sum(isinstance(o, ChaosRun) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, ValidationError) and o.messages[0].startswith("An experiment is already running in "
                                                                          "engine-race")
               for o in outcomes if not isinstance(o, ChaosRun))
    assert ChaosRun.objects.filter(environment=environment).count() == 1


def test_the_environment_kill_switch_stops_its_runs_and_blocks_new_ones(users, team, offline_cluster):
    environment = ready_environment(users["qa"], team, offline_cluster, "engine-halt")
    other = ready_environment(users["qa"], team, offline_cluster, "engine-other")
    run, untouched = start(users["qa"], experiment(environment)), start(users["qa"], experiment(other))
    with pytest.raises(PermissionDenied):
        chaos_kill_switch_environment(actor=Actor.for_user(users["manager"]), user=users["manager"],
                                      environment=environment, engage=True)
    settings = chaos_kill_switch_environment(actor=Actor.for_user(users["qa"]), user=users["qa"],
                                             environment=environment, engage=True)
    assert (settings.halted, settings.halted_by) == (True, users["qa"])
    run.refresh_from_db()
    untouched.refresh_from_db()
    assert (run.status, untouched.status) == ("stopped", "queued")
    assert "kill switch of engine-halt engaged by qa" in run.status_message
    event = AuditEvent.objects.get(action="chaos.kill_switch_engaged", outcome="success")
    assert event.details["runs_stopped"] == [run.pk] and event.details["scope"] == "environment"
    with pytest.raises(ValidationError):
        start(users["qa"], experiment(environment, "again"))
    chaos_kill_switch_environment(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment,
                                  engage=False)
    assert AuditEvent.objects.filter(action="chaos.kill_switch_released").exists()
    assert start(users["qa"], experiment(environment, "after")).status == "queued"


def test_the_global_kill_switch_managers_engage_only_admins_release(users, team, offline_cluster):
    runs = [start(users["qa"], experiment(ready_environment(users["qa"], team, offline_cluster, f"engine-all{i}")))
            for i in range(2)]
    for key in ("qa", "developer", "outsider"):
        with pytest.raises(PermissionDenied):
            chaos_kill_switch_global(actor=Actor.for_user(users[key]), user=users[key], engage=True)
    manager = users["manager"]
    switch = chaos_kill_switch_global(actor=Actor.for_user(manager), user=manager, engage=True, reason="incident")
    assert (switch.engaged, switch.engaged_by, switch.reason) == (True, manager, "incident")
    assert set(ChaosRun.objects.values_list("status", flat=True)) == {"stopped"}
    assert sorted(AuditEvent.objects.get(action="chaos.kill_switch_engaged", outcome="success").details["runs_stopped"]) == sorted(
        r.pk for r in runs)
    with pytest.raises(PermissionDenied) as caught:
        chaos_kill_switch_global(actor=Actor.for_user(manager), user=manager, engage=False)
    assert str(caught.value) == "Only Platform admins can release the global kill switch."
    chaos_kill_switch_global(actor=Actor.for_user(users["admin"]), user=users["admin"], engage=False)
    assert not ChaosKillSwitch.objects.get(pk=1).engaged


def test_authz_rules(users):
    assert authz.chaos_global_can(None, authz.VIEW) is False
    assert authz.chaos_global_can(users["qa"], authz.VIEW) is True
    with pytest.raises(ValueError, match="unknown action 'nope'"):
        authz.chaos_global_can(users["manager"], "nope")
