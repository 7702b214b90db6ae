"""The lease a job's running delivery holds (portal/jobs/lease.py), in-process: who may take it, when, and what a
delivery that finds it held does. tests/reliability/test_job_lease.py shows it across two real workers."""

import socket
from datetime import timedelta

import pytest
from celery import Celery
from celery.exceptions import Reject
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.lease import JobLeaseHeld, LeaseKeeper, job_lease_renew, job_lease_take
from portal.jobs.models import Job
from portal.jobs.runner import execute_job, redeliver_later
from portal.jobs.tasks import selfcheck
from tests.factories import JobFactory
from tests.racing import race
from tests.reliability.worker import wait_for


@pytest.mark.django_db
def test_another_owners_unexpired_lease_refuses_until_it_runs_out():
    job = JobFactory()
    assert job_lease_take(str(job.pk), owner="a", seconds=60)
    assert job_lease_take(str(job.pk), owner="a", seconds=60)  # its own: renewed
    with pytest.raises(JobLeaseHeld) as held:
        job_lease_take(str(job.pk), owner="b", seconds=60)
    assert held.value.owner == "a" and 0 < held.value.seconds_left <= 60
    assert not job_lease_renew(str(job.pk), owner="b", seconds=60)
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # "a" died
    assert job_lease_take(str(job.pk), owner="b", seconds=60)
    assert not job_lease_renew(str(job.pk), owner="a", seconds=60)  # "a" lost it
    Job.objects.filter(pk=job.pk).update(state=Job.SUCCEEDED)
    assert not job_lease_take(str(job.pk), owner="c", seconds=60)  # finished: nothing to take


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_racing_for_a_free_job_never_both_take_it():
    job = JobFactory()
    outcomes = race(*[lambda owner=owner: job_lease_take(str(job.pk), owner=owner, seconds=60)
                      for owner in ("a", "b", "c", "d")])
    assert sorted(type(o).__name__ for o in outcomes) == ["JobLeaseHeld", "JobLeaseHeld", "JobLeaseHeld", "bool"]
    assert Job.objects.get(pk=job.pk).lease_owner == "abcd"[outcomes.index(True)]


@pytest.mark.django_db
def test_a_delivery_finding_the_job_leased_elsewhere_leaves_it_untouched():
    job = JobFactory()
    assert job_lease_take(str(job.pk), owner="elsewhere", seconds=60)
    ran = []
    with pytest.raises(JobLeaseHeld):
        execute_job(str(job.pk), Actor.system("test"), lambda *args: ran.append(args))
    # Eagerly (no broker to come back through) the task does nothing and says the job is running.
    assert selfcheck.delay(str(job.pk), Actor.system("test").to_dict()).get() == Job.RUNNING
    job.refresh_from_db()
    assert not ran and (job.state, job.attempts, job.events.count()) == (Job.QUEUED, 0, 0)


@pytest.mark.django_db
def test_a_finished_job_holds_no_lease():
    job = JobFactory()
    seen = []
    assert execute_job(str(job.pk), Actor.system("test"), lambda job, *_: seen.append(job.lease_owner)) == "succeeded"
    job.refresh_from_db()
    assert seen[0] and (job.lease_owner, job.lease_until) == ("", None)  # held while the body ran


@pytest.mark.django_db(transaction=True)
def test_the_keeper_renews_the_lease_while_the_body_runs():
    job = JobFactory()
    assert job_lease_take(str(job.pk), owner="me", seconds=0.6)
    taken_until = Job.objects.get(pk=job.pk).lease_until
    with LeaseKeeper(str(job.pk), "me", 0.6):
        wait_for(lambda: Job.objects.get(pk=job.pk).lease_until > taken_until, 10, "a renewal")


@pytest.mark.django_db
def test_a_delivery_that_lost_its_lease_stops_at_its_next_line_and_leaves_the_job_to_the_new_holder():
    job = JobFactory()

    def overtaken(job, reporter, actor):
        reporter.log("before")
        reporter.flush()
        # This worker stalled past its lease and another delivery took the job over (as job_lease_take would).
        Job.objects.filter(pk=job.pk).update(lease_owner="the-other-worker")
        reporter.log("after")
        reporter.flush()
        raise AssertionError("the body went on writing after losing its lease")

    assert execute_job(str(job.pk), Actor.system("test"), overtaken) == Job.RUNNING
    job.refresh_from_db()
    assert (job.state, job.lease_owner, job.attempts) == (Job.RUNNING, "the-other-worker", 1)
    assert list(job.events.filter(kind="log").values_list("text", flat=True)) == ["before"]
    assert not AuditEvent.objects.filter(object_id=str(job.pk), action__startswith="job.").exists()


@pytest.mark.django_db
def test_a_body_stopped_by_the_process_exiting_releases_the_lease_for_the_redelivery():
    job = JobFactory()

    def exiting(job, reporter, actor):
        raise SystemExit("worker shutting down")  # not an Exception: the job is left running

    with pytest.raises(SystemExit):
        execute_job(str(job.pk), Actor.system("test"), exiting)
    job.refresh_from_db()
    assert (job.state, job.lease_owner, job.lease_until) == (Job.RUNNING, "", None)
    assert job_lease_take(str(job.pk), owner="redelivery", seconds=60)


def test_a_delivery_that_cannot_be_sent_again_is_rejected_for_requeue_not_acknowledged():
    # A broker nobody listens on: sending the delivery again is refused, as with Redis down. Acknowledged
    # (what an exception does to an acks_late task), the job would be left with no delivery if its
    # holder had died.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = Celery("unreachable", broker=f"redis://127.0.0.1:{port}/0", set_as_current=False)
    app.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1,
                                          "interval_max": 0.1}

    @app.task(bind=True, acks_late=True)
    def leased(self, job_id, actor):
        return job_id

    leased.push_request(id="delivery-1", args=("job-1", {}), kwargs={}, headers={},
                        delivery_info={"exchange": "", "routing_key": "celery"})
    try:
        with pytest.raises(Reject) as rejected:
            redeliver_later(leased, JobLeaseHeld("job-1", owner="worker-a", seconds_left=5))
    finally:
        leased.pop_request()
    assert rejected.value.requeue is True
    assert "could not send this delivery again" in str(rejected.value.reason)
