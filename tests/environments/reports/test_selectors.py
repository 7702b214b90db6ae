"""The dashboard's figures equal the plan's (computed independently in report_world), for every filter, and
each figure's link shows exactly the environments it counts; visibility follows the environment rules."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.utils import timezone

from environments.reports import selectors
from environments.reports.selectors import ReportScope
from environments.selectors import environment_list
from portal.accounts import roles
from tests.factories import UserFactory

from .report_world import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build(timezone.now(), n=120, noise_events=2000)


@pytest.fixture
def manager(db):
    return UserFactory(username="rep-manager", roles=[roles.MANAGERS])


def listed(user, row_query) -> set[str]:
    """The names the environment list shows for a figure's link."""
    return set(environment_list(user=user, filters=row_query).values_list("name", flat=True))


FILTERS = [{}, {"team": "rep-team-1"}, {"stage": "qa"}, {"team": "rep-team-2", "stage": "dev"}]


@pytest.mark.parametrize("filters", FILTERS)
def test_counts_by_team_owner_stage_and_age_equal_the_plan_and_link_to_exactly_them(world, manager, filters):
    scope = ReportScope(now=world.now, **filters)
    for by, attr in (("team", "team"), ("owner", "owner"), ("stage", "stage")):
        rows = selectors.environments_by(manager, scope, by=by)
        assert {row.key or None: row.count for row in rows} == world.by(attr, **filters), by
        for row in rows:
            if row.list_query is not None:
                assert listed(manager, row.list_query) == {e.name for e in world.live(**filters)
                                                           if getattr(e, attr) == row.key}
    ages = selectors.environments_by_age(manager, scope)
    assert {row.key: row.count for row in ages} == world.by_age(**filters)
    assert sum(len(listed(manager, row.list_query)) for row in ages) == len(world.live(**filters))


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("weeks", [4, 26])
def test_created_and_destroyed_per_week_equal_the_plan(world, manager, filters, weeks):
    scope = ReportScope(now=world.now, weeks=weeks, **filters)
    rows = selectors.created_destroyed_per_week(manager, scope)
    assert [(r.week, r.created, r.destroyed) for r in rows] == world.per_week(weeks, **filters)
    assert sum(r.destroyed for r in rows) > 0 or weeks == 4
    for row in rows:
        assert len(listed(manager, row.created_query)) == row.created
        assert len(listed(manager, row.destroyed_query)) == row.destroyed


def test_top_creators_count_owners_in_the_period_and_link_to_them(world, manager):
    scope = ReportScope(now=world.now, weeks=13, team="rep-team-3")
    rows = selectors.top_creators(manager, scope, limit=None)
    assert {r.key or None: r.count for r in rows} == dict(world.creators(13, team="rep-team-3"))
    assert [r.count for r in rows] == sorted((r.count for r in rows), reverse=True)
    for row in rows:
        if row.list_query:
            assert len(listed(manager, row.list_query)) == row.count
    assert len(selectors.top_creators(manager, scope)) <= selectors.TOP


@pytest.mark.parametrize("hours", [1, 24, 72])
def test_idle_non_production_environments(world, manager, hours):
    scope = ReportScope(now=world.now, idle_hours=hours)
    idle = selectors.idle_environments(manager, scope)
    assert set(idle.values_list("name", flat=True)) == {e.name for e in world.idle(hours)}
    assert not idle.filter(stage="prod").exists()
    activity = [e.last_activity_at for e in idle]
    never = [a for a in activity if a is None]
    assert activity[:len(never)] == never and activity[len(never):] == sorted(activity[len(never):])


def test_longest_lived_are_the_oldest_live_ones(world, manager):
    names = list(selectors.longest_lived(manager, ReportScope(now=world.now)).values_list("name", flat=True)[:5])
    assert names == [e.name for e in sorted(world.live(), key=lambda e: e.created_at)][:5]


@pytest.mark.parametrize("filters", [{}, {"team": "rep-team-4"}, {"stage": "staging"}])
def test_cost_per_team_equals_the_samples_and_the_saving_is_the_difference(world, manager, filters):
    scope = ReportScope(now=world.now, weeks=13, **filters)
    costs = selectors.cost_by_team_and_month(manager, scope)
    expected = world.cost_by_team(13, **filters)
    assert {r.label: (r.cost, r.would_cost) for r in costs.by_team} == expected
    assert all(r.saving == r.would_cost - r.cost for r in costs.by_team)
    assert costs.total.cost == sum(c for c, _ in expected.values())  # node samples (99) are not counted
    assert sum(costs.cells.values()) == costs.total.cost
    assert len(costs.months) in (3, 4) and costs.months == sorted(costs.months)


def test_others_see_only_their_own_and_their_teams_figures(world):
    qa = UserFactory(username="rep-qa", roles=[roles.QA], teams=[world.teams["rep-team-1"]])
    scope = ReportScope(now=world.now)
    assert {r.key for r in selectors.environments_by(qa, scope, by="team")} == {"rep-team-1"}
    assert sum(r.count for r in selectors.environments_by(qa, scope, by="team")) == len(world.live(team="rep-team-1"))
    assert {r.label for r in selectors.cost_by_team_and_month(qa, scope).by_team} == {"Rep team 1"}
    assert {r.destroyed for r in selectors.created_destroyed_per_week(qa, scope)} != set()
    assert sum(r.destroyed for r in selectors.created_destroyed_per_week(qa, scope)) == sum(
        d for _, _, d in world.per_week(13, team="rep-team-1"))
    nobody = UserFactory(username="rep-nobody")
    assert selectors.environments_by(nobody, scope, by="team") == []
    assert selectors.cost_by_team_and_month(nobody, scope).by_team == []


def test_links_carry_times_the_list_reads_back(world, manager):
    row = selectors.environments_by_age(manager, ReportScope(now=world.now))[1]
    query = dict(parse_qsl(urlsplit(row.list_url).query))
    assert query == row.list_query and query["created_after"].endswith("Z")
