"""The "chaos-ready" badge: earned by the last N measured runs on the CURRENT revision, all recovered
within the SLO with availability at or above the target; it names that revision, a new revision starts
it again, and the list's badges are a fixed number of queries."""

import pytest

from environments.chaos.models import ChaosRun, ChaosSettings
from environments.chaos.selectors import chaos_badge, chaos_badges, chaos_settings_of
from tests.environments.chaos.schedule_support import make_environment, make_experiment, make_run, new_revision


@pytest.fixture
def env(users, team):
    environment = make_environment("badge-qa", team=team, owner=users["developer"])
    ChaosSettings.objects.create(environment=environment, enabled=True, slo_seconds=30, availability_target=99.0,
                                 badge_runs=3)
    return environment


def good_runs(experiment, seconds=(2.0, 3.0, 5.0), **fields):
    return [make_run(experiment, seconds=s, availability=100.0, **fields) for s in seconds]


def test_no_runs_no_badge(env):
    assert chaos_badge(env) is None


def test_an_environment_without_settings_has_the_defaults_opted_out(users, team, env):
    other = make_environment("badge-none", team=team, owner=users["developer"])
    defaults = chaos_settings_of(other)
    assert defaults.pk is None and not defaults.enabled and (defaults.slo_seconds, defaults.badge_runs) == (30, 3)
    assert chaos_settings_of(env).pk is not None and chaos_settings_of(env).enabled


def test_earned_by_the_last_n_runs_on_the_current_revision_and_names_it(env):
    experiment = make_experiment(env)
    good_runs(experiment, seconds=(2.0, 3.0))
    assert chaos_badge(env) is None  # two of three
    good_runs(experiment, seconds=(5.0,))
    badge = chaos_badge(env)
    assert badge is not None
    assert (badge.revision_number, badge.runs, badge.p95_seconds, badge.slo_seconds) == (1, 3, 5.0, 30)


def test_a_new_revision_starts_it_again_and_earns_its_own(env):
    experiment = make_experiment(env)
    good_runs(experiment)
    assert chaos_badge(env).revision_number == 1
    new_revision(env)
    assert chaos_badge(env) is None  # r2 has no runs yet
    good_runs(experiment, seconds=(1.0, 1.5))
    assert chaos_badge(env) is None
    good_runs(experiment, seconds=(2.0,))
    assert chaos_badge(env).revision_number == 2


@pytest.mark.parametrize(("bad", "why"), [
    ({"seconds": 31.0, "status": ChaosRun.UNRECOVERED}, "late"),
    ({"seconds": None, "status": ChaosRun.UNRECOVERED}, "never recovered"),
    ({"seconds": 4.0, "availability": 98.9}, "availability under the target"),
])
def test_one_bad_run_among_the_last_n_takes_it_away_until_n_good_ones_follow(env, bad, why):
    experiment = make_experiment(env)
    good_runs(experiment, seconds=(1.0, 2.0))
    make_run(experiment, finished_ago=0, **bad)
    assert chaos_badge(env) is None, why
    good_runs(experiment, seconds=(1.0, 2.0))
    assert chaos_badge(env) is None, "the bad run is still among the last three"
    good_runs(experiment, seconds=(3.0,))
    assert chaos_badge(env) is not None


def test_runs_that_measured_nothing_neither_earn_nor_break_it(env):
    experiment = make_experiment(env)
    good_runs(experiment, seconds=(1.0, 2.0))
    for status in (ChaosRun.SKIPPED, ChaosRun.STOPPED, ChaosRun.FAILED, ChaosRun.INTERRUPTED):
        make_run(experiment, seconds=None, status=status)
    assert chaos_badge(env) is None
    good_runs(experiment, seconds=(3.0,))
    assert chaos_badge(env).runs == 3


def test_the_current_settings_decide_so_tightening_them_takes_it_back(env):
    experiment = make_experiment(env)
    good_runs(experiment, seconds=(2.0, 3.0, 12.0))
    assert chaos_badge(env) is not None
    ChaosSettings.objects.filter(environment=env).update(slo_seconds=10)
    assert chaos_badge(env) is None
    ChaosSettings.objects.filter(environment=env).update(slo_seconds=30, badge_runs=4)
    assert chaos_badge(env) is None
    ChaosSettings.objects.filter(environment=env).update(badge_runs=1)
    badge = chaos_badge(env)
    assert badge.runs == 1 and badge.p95_seconds == 12.0  # the latest run only


def test_badges_of_a_list_take_the_same_queries_for_one_or_many_environments(users, team,
                                                                             django_assert_num_queries):
    environments = []

    def add(count):
        for _ in range(count):
            environment = make_environment(f"badge-{len(environments)}", team=team, owner=users["developer"])
            experiment = make_experiment(environment)
            good_runs(experiment, seconds=(1.0, 2.0, 3.0, 4.0))
            if len(environments) % 2:
                new_revision(environment)
                good_runs(experiment, seconds=(1.0,))  # r2 has one run: no badge yet
            environments.append(environment)

    add(1)
    with django_assert_num_queries(2):
        assert list(chaos_badges(environments)) == [environments[0].pk]
    add(7)
    with django_assert_num_queries(2):
        badges = chaos_badges(environments)
    assert sorted(badges) == sorted(e.pk for i, e in enumerate(environments) if i % 2 == 0)
    assert {b.revision_number for b in badges.values()} == {1}
    assert chaos_badges([]) == {}
