"""The beat leader lease on the stack's Redis: only its holder renews or releases it, a lease that runs out
goes to the other, and a scheduler without it publishes nothing (tests/reliability/test_several_processes.py
runs two real beats)."""

import time

import pytest
from celery import Celery

from portal.beat_leader import LeaderLease, LeaderScheduler
from tests.reliability.worker import wait_for

pytestmark = pytest.mark.integration


def test_only_the_holder_renews_or_releases_the_lease(redis_namespace):
    client, key = redis_namespace["client"], redis_namespace["prefix"] + "leader"
    first, second = LeaderLease(client, key, seconds=30), LeaderLease(client, key, seconds=30)
    assert first.hold() and not second.hold()
    assert first.hold()  # renewed, still the holder
    assert first.holder() == first.token and first.token != second.token
    second.release()  # not the holder: a no-op
    assert client.get(key).decode() == first.token
    first.release()
    assert client.get(key) is None
    assert second.hold() and not first.hold()


def test_a_lease_that_runs_out_goes_to_the_other_and_cannot_be_renewed_by_its_old_holder(redis_namespace):
    client, key = redis_namespace["client"], redis_namespace["prefix"] + "leader"
    stalled, other = LeaderLease(client, key, seconds=0.2), LeaderLease(client, key, seconds=30)
    assert stalled.hold()
    wait_for(other.hold, 10, "the lease to run out and go to the other")
    assert not stalled.hold()  # its compare-and-extend finds another token
    stalled.release()
    assert client.get(key).decode() == other.token


def test_a_stand_by_scheduler_publishes_nothing_until_the_leader_stops(redis_namespace, settings, tmp_path):
    client, prefix = redis_namespace["client"], redis_namespace["prefix"]
    settings.SLIPWAY_BEAT_LOCK_KEY, settings.SLIPWAY_BEAT_LOCK_SECONDS = prefix + "beat", 30
    queue = prefix + "ticks"
    app = Celery("beat-leader-test", broker=redis_namespace["url"], set_as_current=False)
    app.conf.beat_schedule = {"probe": {"task": "probe", "schedule": 0.05, "options": {"queue": queue}}}
    leader = LeaderScheduler(app=app, schedule_filename=str(tmp_path / "leader"))
    stand_by = LeaderScheduler(app=app, schedule_filename=str(tmp_path / "stand-by"))
    try:
        def leader_ticks() -> None:
            while (wait := leader.tick()) == 0:  # 0: it sent a due task and looks again at once
                pass
            assert wait <= 10  # it comes back within a third of the lease, to renew it

        leader_ticks()
        published = client.llen(queue)
        time.sleep(0.1)  # the entry is due again
        for _ in range(3):
            assert stand_by.tick() == 3.0  # a tenth of the lease
        assert client.llen(queue) == published
        leader_ticks()
        assert client.llen(queue) == published + 1
        leader.close()  # a clean stop releases the lease: the stand-by takes it at its next try
        assert client.get(prefix + "beat") is None
        time.sleep(0.1)
        assert stand_by.tick() <= 10 and stand_by.lease.held
    finally:
        stand_by.close()
        client.delete(f"_kombu.binding.{queue}")
