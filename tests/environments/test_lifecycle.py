"""An environment's status moves only through environments/lifecycle.py (issue 15).

The services and jobs are driven for real (as test_services/test_retry/test_rollout do); each
transition they make must be in the table, audited once and, inside a job, written to its log.
"""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from environments.lifecycle import ENVIRONMENT_STATUS, environment_transition, failed_when_unqueued
from environments.models import Environment
from environments.services import environment_destroy, environment_retry, environment_update_versions
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.status_machine import IllegalTransition
from tests.status_changes import job_log, status_changes

from .test_rollout import create as create_on_kube
from .test_rollout import local_cluster  # noqa: F401  (the fixture)
from .test_services import create, shop  # noqa: F401  (the fixture)

STATUSES = [value for value, _ in Environment.STATUSES]
ALLOWED = {(source, to) for to, sources in ENVIRONMENT_STATUS.sources.items() for source in sources}


@pytest.mark.parametrize(("source", "to"), [(s, t) for s in STATUSES for t in STATUSES])
def test_the_table_allows_what_it_lists_and_refuses_the_rest_changing_nothing(users, team, shop, source,  # noqa: F811
                                                                              to):
    environment = create(users["qa"], shop, team)
    Environment.objects.filter(pk=environment.pk).update(status=source, status_message="before")
    environment.status = source
    if (source, to) in ALLOWED:
        assert environment_transition(environment, to, actor=Actor.system("test"), message="why") == source
        environment.refresh_from_db()
        assert (environment.status, environment.status_message) == (to, "why")
        assert status_changes(environment, "environment.status_changed") == ([] if source == to else [(source, to)])
    else:
        with pytest.raises(IllegalTransition, match=f"is {source}; it cannot become {to}"):
            environment_transition(environment, to, actor=Actor.system("test"), message="why")
        environment.refresh_from_db()
        assert (environment.status, environment.status_message) == (source, "before")
        assert status_changes(environment, "environment.status_changed") == []


def test_destroyed_is_final_and_destroying_only_ends_destroyed_or_failed():
    assert not any(source == Environment.DESTROYED for source, _ in ALLOWED)
    assert {to for source, to in ALLOWED if source == Environment.DESTROYING} == {
        Environment.DESTROYING, Environment.DESTROYED, Environment.FAILED}


def test_messages_are_redacted_and_a_superseded_revision_changes_nothing(users, team, shop):  # noqa: F811
    environment = create(users["qa"], shop, team)
    actor = Actor.system("test")
    environment_transition(environment, Environment.FAILED, actor=actor,
                           message="boom: password=hunter2-very-secret")
    environment.refresh_from_db()
    assert "hunter2-very-secret" not in environment.status_message
    assert "hunter2-very-secret" not in str(AuditEvent.objects.filter(action="environment.status_changed")
                                            .values_list("details", flat=True))
    old = environment.current_revision
    newer = environment.revisions.create(number=2, snapshot=old.snapshot, message="newer")
    Environment.objects.filter(pk=environment.pk).update(current_revision=newer)
    assert environment_transition(environment, Environment.READY, actor=actor, revision=old) is None
    environment.refresh_from_db()
    assert environment.status == Environment.FAILED and len(status_changes(environment, "environment.status_changed")) == 1


def test_services_and_jobs_move_the_status_through_the_table_audited_and_logged(
        users, team, shop, django_capture_on_commit_callbacks):  # noqa: F811
    """Create → rollout fails (the cluster answers nowhere) → retry → update versions → destroy → its job
    fails → retry of the destroy: every move audited once, and the jobs' moves in their logs."""
    qa, actor = users["qa"], Actor.for_user(users["qa"])
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(qa, shop, team, name="walk")
    rollout_job = environment.rollouts.get().job
    assert status_changes(environment, "environment.status_changed") == [("pending", "deploying"), ("deploying", "failed")]
    log = job_log(rollout_job)
    assert "status: pending → deploying" in log and "status: deploying → failed (Cluster local is unreachable" in log

    with django_capture_on_commit_callbacks(execute=True):
        environment_retry(actor=actor, user=qa, environment=environment)
    with django_capture_on_commit_callbacks(execute=True):
        environment_update_versions(actor=actor, user=qa, environment=environment, versions={"web": "1.6.0-rc1"})
    environment.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        destroy_job = environment_destroy(actor=actor, user=qa, environment=environment)
    assert "status: destroying → failed (destroy failed:" in job_log(destroy_job)
    with django_capture_on_commit_callbacks(execute=True):
        environment_retry(actor=actor, user=qa, environment=environment)
    assert status_changes(environment, "environment.status_changed") == [
        ("pending", "deploying"), ("deploying", "failed"),
        ("failed", "pending"), ("pending", "deploying"), ("deploying", "failed"),  # retry of the rollout
        ("failed", "pending"), ("pending", "deploying"), ("deploying", "failed"),  # update versions
        ("failed", "destroying"), ("destroying", "failed"),  # destroy
        ("failed", "destroying"), ("destroying", "failed"),  # retry of the destroy
    ]
    assert all(set(change) <= set(STATUSES) and change in ALLOWED for change in status_changes(environment, "environment.status_changed"))
    events = AuditEvent.objects.filter(action="environment.status_changed", object_id=str(environment.pk))
    assert {e.team_slug for e in events} == {"payments"}
    # Moves made by a service carry the person and their request; a job's, the person who queued it.
    assert {e.actor_name for e in events} == {"qa"}


@pytest.mark.integration
def test_ready_and_destroyed_on_the_real_control_plane(users, team, local_cluster, kube_client,  # noqa: F811
                                                        cleanup_namespaces, django_capture_on_commit_callbacks):
    cleanup_namespaces.append("slw-it-lifecycle")
    actor = Actor.for_user(users["qa"])
    with django_capture_on_commit_callbacks(execute=True):
        environment = create_on_kube(users["qa"], team, local_cluster, "it-lifecycle")
    environment.refresh_from_db()
    assert environment.status == "ready", environment.status_message
    assert "status: deploying → ready" in job_log(environment.rollouts.get().job)
    with django_capture_on_commit_callbacks(execute=True):
        job = environment_destroy(actor=actor, user=users["qa"], environment=environment)
    environment.refresh_from_db()
    assert environment.status == "destroyed", job.error
    assert "status: destroying → destroyed" in job_log(job)
    assert status_changes(environment, "environment.status_changed") == [("pending", "deploying"), ("deploying", "ready"), ("ready", "destroying"),
                                    ("destroying", "destroyed")]


def test_a_change_that_lost_the_race_against_a_destroy_is_refused_and_starts_nothing(users, team, shop):  # noqa: F811
    qa = users["qa"]
    environment = create(qa, shop, team)
    # Read as pending by the change, while a destroy has since marked the row destroying.
    Environment.objects.filter(pk=environment.pk).update(status=Environment.DESTROYING)
    with pytest.raises(ValidationError, match="is destroying; it cannot become pending"):
        environment_update_versions(actor=Actor.for_user(qa), user=qa, environment=environment,
                                    versions={"web": "1.6.0-rc1"})
    environment.refresh_from_db()
    assert environment.status == Environment.DESTROYING and environment.current_revision.number == 1
    assert environment.revisions.count() == 1 and environment.rollouts.count() == 1
    assert AuditEvent.objects.get(action="environment.update_versions").outcome == "failure"


def test_a_rollout_queued_before_a_destroy_does_not_revive_the_environment(users, team, shop,  # noqa: F811
                                                                           django_capture_on_commit_callbacks):
    qa = users["qa"]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        environment = create(qa, shop, team)
    with django_capture_on_commit_callbacks(execute=False):
        environment_destroy(actor=Actor.for_user(qa), user=qa, environment=environment)
    queued[0]()  # the rollout job runs only now, the destroy still queued
    job = environment.rollouts.get().job
    job.refresh_from_db()
    environment.refresh_from_db()
    assert job.state == Job.FAILED and "is destroying; it cannot become deploying" in job.error
    assert environment.status == Environment.DESTROYING
    assert status_changes(environment, "environment.status_changed") == [("pending", "destroying")]


@pytest.mark.django_db(transaction=True)
def test_two_racing_workers_cannot_both_move_it(shop):  # noqa: F811
    """Two destroy jobs (a redelivered one beside the original) finish together: exactly one records
    destroyed; the other waits for the first's commit, then is refused."""
    from tests.factories import TeamFactory, UserFactory

    team = TeamFactory(slug="race")
    qa = UserFactory(username="racer", roles=["QA"], teams=[team])
    environment = create(qa, shop, team, name="raced")
    Environment.objects.filter(pk=environment.pk).update(status=Environment.DESTROYING)
    first_moved, outcomes = threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                environment_transition(Environment.objects.get(pk=environment.pk), Environment.DESTROYED,
                                       actor=Actor.system("worker-1"))
                first_moved.set()
                time.sleep(0.5)  # still uncommitted while the second worker tries
            outcomes["first"] = "moved"
        finally:
            connection.close()

    def second():
        first_moved.wait(10)
        started = time.monotonic()
        try:
            environment_transition(Environment.objects.get(pk=environment.pk), Environment.DESTROYED,
                                   actor=Actor.system("worker-2"))
            outcomes["second"] = "moved"
        except IllegalTransition as exc:
            outcomes["second"] = str(exc)
        finally:
            outcomes["waited"] = time.monotonic() - started
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes["first"] == "moved"
    assert "is destroyed; it cannot become destroyed" in outcomes["second"]
    assert outcomes["waited"] >= 0.3  # it was held by the first worker's row lock, not refused beforehand
    raced = AuditEvent.objects.filter(action="environment.status_changed", details__to="destroyed")
    assert [(e.details["from"], e.actor_name) for e in raced] == [("destroying", "system:worker-1")]


def test_a_job_that_could_not_be_queued_fails_only_an_environment_still_waiting_for_it(users, team, shop):  # noqa: F811
    environment = create(users["qa"], shop, team)
    actor = Actor.system("test")
    environment_transition(environment, Environment.DESTROYING, actor=actor)
    unqueued = failed_when_unqueued(environment, actor=actor)
    environment_transition(environment, Environment.DESTROYED, actor=actor)  # another job ended it meanwhile
    unqueued("Slipway could not queue the job")
    environment.refresh_from_db()
    assert environment.status == Environment.DESTROYED

    waiting = create(users["qa"], shop, team)
    environment_transition(waiting, Environment.DESTROYING, actor=actor)
    failed_when_unqueued(waiting, actor=actor)("Slipway could not queue the job")
    waiting.refresh_from_db()
    assert (waiting.status, waiting.status_message) == (Environment.FAILED, "Slipway could not queue the job")
