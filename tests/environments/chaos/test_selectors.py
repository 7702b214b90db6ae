"""The numbers of chaos runs, the comparison of two revisions and who sees which runs — from runs made
in the database as the engine records them."""

import dataclasses

import pytest

from environments.chaos.models import ChaosRun
from environments.chaos.selectors import (
    ChaosStats,
    chaos_experiments_visible,
    chaos_revision_comparison,
    chaos_runs_visible,
    chaos_stats,
    chaos_stats_by_experiment,
    percentile,
)
from tests.environments.chaos.schedule_support import make_environment, make_experiment, make_run, new_revision
from tests.factories import TeamFactory, UserFactory


@pytest.fixture
def env(users, team):
    return make_environment("stats-qa", team=team, owner=users["developer"])


def test_nearest_rank_percentiles_are_values_that_were_seen():
    assert percentile([], 95) is None
    assert percentile([4.0], 50) == 4.0
    values = [float(n) for n in range(1, 21)]  # 1..20
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (10.0, 19.0, 20.0)
    assert percentile([3.0, 1.0, 2.0], 95) == 3.0


def test_stats_count_only_measured_runs_overall_and_per_fault(env):
    kill = make_experiment(env, name="kill")
    cut = make_experiment(env, name="cut", fault="network-cut")
    for seconds in (2.0, 4.0, 6.0, 8.0):
        make_run(kill, seconds=seconds, availability=100.0)
    make_run(kill, seconds=45.0, availability=80.0, status=ChaosRun.UNRECOVERED)  # late: outside the SLO
    make_run(cut, seconds=None, availability=50.0, status=ChaosRun.UNRECOVERED)  # never recovered
    make_run(cut, seconds=3.0, availability=90.0)
    for status in (ChaosRun.SKIPPED, ChaosRun.STOPPED, ChaosRun.FAILED, ChaosRun.INTERRUPTED):
        make_run(kill, seconds=None, status=status)  # measured nothing
    stats = chaos_stats(env.chaos_runs.all())
    assert stats.count == 7 and stats.outside_slo == 2
    assert (stats.p50_seconds, stats.p95_seconds, stats.max_seconds) == (4.0, 45.0, 45.0)
    assert stats.availability_percent == pytest.approx((400 + 80 + 50 + 90) / 7)
    assert set(stats.by_fault) == {"pod-kill", "network-cut"}
    assert stats.by_fault["network-cut"] == ChaosStats(count=2, p50_seconds=3.0, p95_seconds=3.0, max_seconds=3.0,
                                                       availability_percent=70.0, outside_slo=1)
    assert stats.by_fault["pod-kill"].count == 5 and stats.by_fault["pod-kill"].p50_seconds == 6.0
    # A list of runs gives the same numbers as a queryset of them.
    assert chaos_stats(list(env.chaos_runs.all())) == stats


def test_stats_per_experiment_are_one_query_and_count_each_experiments_own_runs(env, django_assert_num_queries):
    kill, cut, idle = (make_experiment(env, name="kill"), make_experiment(env, name="cut", fault="network-cut"),
                       make_experiment(env, name="idle"))
    for seconds in (1.0, 3.0):
        make_run(kill, seconds=seconds)
    make_run(cut, seconds=40.0, availability=60.0, status=ChaosRun.UNRECOVERED)
    make_run(idle, seconds=None, status=ChaosRun.SKIPPED)  # measured nothing: absent
    with django_assert_num_queries(1):
        stats = chaos_stats_by_experiment(env.chaos_runs.all())
    assert set(stats) == {kill.pk, cut.pk}
    assert (stats[kill.pk].count, stats[kill.pk].p95_seconds, stats[kill.pk].outside_slo) == (2, 3.0, 0)
    assert (stats[cut.pk].count, stats[cut.pk].availability_percent, stats[cut.pk].outside_slo) == (1, 60.0, 1)
    # The same numbers as the overall statistics of that experiment's runs alone.
    assert stats[kill.pk] == dataclasses.replace(chaos_stats(kill.runs.all()), by_fault={})


def test_stats_of_no_runs_are_empty(env):
    assert chaos_stats(ChaosRun.objects.none()) == ChaosStats()
    assert chaos_stats([]) == ChaosStats()


def test_stats_of_a_queryset_are_one_query(env, django_assert_num_queries):
    experiment = make_experiment(env)
    for seconds in range(1, 30):
        make_run(experiment, seconds=float(seconds))
    with django_assert_num_queries(1):
        assert chaos_stats(env.chaos_runs.all()).count == 29


def test_revision_comparison_says_when_a_revision_got_more_fragile(env):
    experiment = make_experiment(env)
    r1 = env.current_revision
    for seconds in (3.0, 4.0, 4.0):
        make_run(experiment, seconds=seconds, revision=r1)
    r2 = new_revision(env)
    for seconds in (12.0, 19.0, 35.0):
        make_run(experiment, seconds=seconds, revision=r2, status=ChaosRun.UNRECOVERED if seconds > 30 else
                 ChaosRun.RECOVERED)
    comparison = chaos_revision_comparison(env, 1, 2)
    assert comparison.verdict == "more fragile"
    assert comparison.stats_a.p95_seconds == 4.0 and comparison.stats_b.p95_seconds == 35.0
    assert comparison.sentence == "r1 recovers in 4 s p95, r2 in 35 s — more fragile; 1 of r2's 3 runs missed the SLO."
    back = chaos_revision_comparison(env, 2, 1)
    assert back.verdict == "sturdier" and back.sentence == "r2 recovers in 35 s p95, r1 in 4 s — sturdier."


def test_revision_comparison_calls_small_differences_the_same_and_missing_data_missing(env):
    experiment = make_experiment(env)
    make_run(experiment, seconds=2.1)
    r2 = new_revision(env)
    make_run(experiment, seconds=2.6, revision=r2)
    same = chaos_revision_comparison(env, 1, 2)
    assert same.verdict == "about the same" and same.sentence == "r1 recovers in 2.1 s p95, r2 in 2.6 s — about the same."
    new_revision(env)
    missing = chaos_revision_comparison(env, 2, 3)
    assert missing.verdict == "not enough data" and missing.sentence == "r3 has no measured recovery yet."
    assert chaos_revision_comparison(env, 7, 8).sentence == "r7 and r8 have no measured recovery yet."


def test_runs_and_experiments_are_scoped_like_environments(users, team, env):
    mine = make_run(make_experiment(env), seconds=1.0)
    elsewhere_team = TeamFactory(slug="search")
    stranger = UserFactory(username="stranger", roles=["Developers"], teams=[elsewhere_team])
    other_env = make_environment("stats-other", team=elsewhere_team, owner=stranger)
    theirs = make_run(make_experiment(other_env), seconds=1.0)
    assert list(chaos_runs_visible(users["developer"])) == [mine]
    assert list(chaos_runs_visible(stranger)) == [theirs]
    assert set(chaos_runs_visible(users["manager"])) == {mine, theirs}
    assert set(chaos_runs_visible(users["admin"])) == {mine, theirs}
    assert list(chaos_runs_visible(users["outsider"])) == []
    assert [e.environment for e in chaos_experiments_visible(users["qa"])] == [env]
    assert chaos_experiments_visible(users["outsider"]).count() == 0


def test_a_list_of_runs_is_one_query_however_many(users, env, django_assert_num_queries):
    experiment = make_experiment(env)
    developer = users["developer"]
    list(chaos_runs_visible(developer))  # the user's roles and teams are read once and kept on the user
    for runs in (1, 6):
        while experiment.runs.count() < runs:
            make_run(experiment, seconds=1.0)
        with django_assert_num_queries(1):
            rows = [(r.experiment.name, r.environment.team.slug, r.environment.name, r.job)
                    for r in chaos_runs_visible(developer)]
        assert len(rows) == runs
