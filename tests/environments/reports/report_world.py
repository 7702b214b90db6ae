"""A reports fixture: teams, owners, environments of known ages and statuses, destruction events in the audit
trail, sleep activity and cost samples — and, computed here in plain Python from the same definitions (never
through the code under test), the figures the dashboard must show."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection

from clusters.models import Cluster
from environments.models import Blueprint, CostSample, Environment, SleepState
from tests.factories import TeamFactory, UserFactory

STAGES = ("dev", "qa", "staging", "prod")


@dataclass
class Planned:
    name: str
    team: str
    stage: str
    owner: str | None
    created_at: datetime
    status: str
    destroyed_at: datetime | None = None
    last_activity_at: datetime | None = None
    has_sleep_state: bool = False
    pk: int = 0


@dataclass
class World:
    environments: list[Planned]
    samples: list[dict]
    now: datetime
    teams: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)

    # -- the expected figures, from the plan ------------------------------------------------------------
    def live(self, team: str = "", stage: str = "") -> list[Planned]:
        return [e for e in self.environments if e.status != "destroyed" and (not team or e.team == team)
                and (not stage or e.stage == stage)]

    def scoped(self, team: str = "", stage: str = "") -> list[Planned]:
        return [e for e in self.environments if (not team or e.team == team) and (not stage or e.stage == stage)]

    def by(self, attr: str, team: str = "", stage: str = "") -> dict:
        return dict(Counter(getattr(e, attr) for e in self.live(team, stage)))

    def age_bucket(self, e: Planned) -> str:
        days = (self.now - e.created_at) / timedelta(days=1)
        return "lt1d" if days <= 1 else "1to7d" if days <= 7 else "7to30d" if days <= 30 else "gt30d"

    def aged(self, bucket: str) -> set[str]:
        return {e.name for e in self.live() if self.age_bucket(e) == bucket}

    def by_age(self, team: str = "", stage: str = "") -> dict[str, int]:
        counts = Counter(self.age_bucket(e) for e in self.live(team, stage))
        return {k: counts.get(k, 0) for k in ("lt1d", "1to7d", "7to30d", "gt30d")}

    def period_start(self, weeks: int) -> datetime:
        today = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=today.weekday(), weeks=weeks - 1)

    def per_week(self, weeks: int, team: str = "", stage: str = "") -> list[tuple[datetime, int, int]]:
        start = self.period_start(weeks)
        rows = []
        for i in range(weeks):
            a, b = start + timedelta(weeks=i), min(start + timedelta(weeks=i + 1), self.now)
            rows.append((a, sum(a <= e.created_at < b for e in self.scoped(team, stage)),
                         sum(e.destroyed_at is not None and a <= e.destroyed_at < b for e in self.scoped(team, stage))))
        return rows

    def creators(self, weeks: int, team: str = "", stage: str = "") -> Counter:
        start = self.period_start(weeks)
        return Counter(e.owner for e in self.scoped(team, stage) if start <= e.created_at < self.now)

    def idle(self, hours: int, team: str = "", stage: str = "") -> list[Planned]:
        cutoff = self.now - timedelta(hours=hours)
        return [e for e in self.live(team, stage) if e.stage != "prod"
                and (e.last_activity_at is None or e.last_activity_at < cutoff)]

    def cost_by_team(self, weeks: int, team: str = "", stage: str = "") -> dict[str, tuple[Decimal, Decimal]]:
        start, totals = self.period_start(weeks), defaultdict(lambda: [Decimal(0), Decimal(0)])
        for s in self.samples:
            if start <= s["started_at"] < self.now and (not team or s["team"] == team) and (not stage or s["stage"] == stage):
                totals[self.teams[s["team"]].name][0] += s["cost"]
                totals[self.teams[s["team"]].name][1] += s["would_cost"]
        return {k: (v[0], v[1]) for k, v in totals.items()}


def plan(n: int, now: datetime, prefix: str = "rep") -> tuple[list[Planned], list[dict]]:
    """``n`` environments over 5 teams, 4 stages and 20 owners (one in 23 with no owner), created every 4h13m
    back from now; one in 6 destroyed some days later; activity for two thirds of the rest."""
    environments = []
    for i in range(n):
        created = now - timedelta(minutes=253 * i + 7)
        status = "destroyed" if i % 6 == 0 else ("asleep" if i % 7 == 0 else "ready")
        destroyed = created + timedelta(hours=6 + (i * 13) % 200) if status == "destroyed" else None
        if destroyed is not None and destroyed >= now:
            destroyed = now - timedelta(minutes=1)
        # Never exactly on an hour boundary: the page's "now" is a moment after the plan's.
        activity = now - timedelta(hours=(i * 11) % 97, minutes=17) if i % 3 else None
        environments.append(Planned(
            name=f"{prefix}-{i:04d}", team=f"rep-team-{i % 5}", stage=STAGES[(i // 2) % 4],
            owner=None if i % 23 == 0 else f"rep-owner-{i % 20}", created_at=created, status=status,
            destroyed_at=destroyed, last_activity_at=activity, has_sleep_state=activity is not None or i % 2 == 0))
    samples = []
    for i in range(240):
        started = now - timedelta(hours=9 * i + 1)
        asleep = i % 4 == 0
        cost = Decimal("0.000000") if asleep else Decimal(f"{1 + i % 7}.125000")
        samples.append({"team": f"rep-team-{i % 5}", "stage": STAGES[i % 4], "started_at": started,
                        "cost": cost, "would_cost": Decimal(f"{1 + i % 7}.125000"), "asleep": asleep,
                        "env": (i * 37) % n})
    return environments, samples


def build(now: datetime, n: int = 1000, noise_events: int = 100_000, prefix: str = "rep") -> World:
    """Write the plan: environments with bulk_create (then their creation times in one UPDATE), sleep states,
    cost samples, and ``noise_events`` audit events with one INSERT … SELECT generate_series (the trail is
    append-only and its timestamps are set by the database; raw SQL sets them as planned)."""
    environments, samples = plan(n, now, prefix)
    world = World(environments=environments, samples=samples, now=now)
    world.teams = {f"rep-team-{t}": TeamFactory(slug=f"rep-team-{t}", name=f"Rep team {t}") for t in range(5)}
    world.users = {f"rep-owner-{u}": UserFactory(username=f"rep-owner-{u}") for u in range(20)}
    cluster = Cluster.objects.create(name=f"{prefix}-cluster", kind="local")
    blueprint, _ = Blueprint.objects.get_or_create(name="rep-shop", version=1)
    rows = Environment.objects.bulk_create([
        Environment(name=e.name, cluster=cluster, namespace=f"slw-{e.name}", blueprint=blueprint, stage=e.stage,
                    team=world.teams[e.team], owner=world.users.get(e.owner), status=e.status)
        for e in environments])
    for e, row in zip(environments, rows, strict=True):
        e.pk = row.pk
    with connection.cursor() as cursor:
        values = ", ".join(["(%s, %s::timestamptz)"] * len(environments))
        cursor.execute(f"UPDATE environments_environment e SET created_at = v.t FROM (VALUES {values}) v(id, t) "
                       "WHERE e.id = v.id", [x for e in environments for x in (e.pk, e.created_at)])
        destroyed = [e for e in environments if e.destroyed_at]
        values = ", ".join(["(%s::timestamptz, %s, %s)"] * len(destroyed))
        # The real events, and decoys that must not count: a failed destroy, another object type.
        cursor.execute(
            "INSERT INTO audit_auditevent (timestamp, actor_name, actor_kind, team_slug, action, object_type, "
            "object_id, object_repr, details, outcome, error, request_id) "
            f"SELECT v.t, 'system', 'system', v.team, 'environment.destroyed', 'environments.environment', v.id, '', "
            f"'{{}}', 'success', '', '' FROM (VALUES {values}) v(t, id, team)",
            [x for e in destroyed for x in (e.destroyed_at, str(e.pk), e.team)])
        cursor.execute(
            "INSERT INTO audit_auditevent (timestamp, actor_name, actor_kind, team_slug, action, object_type, "
            "object_id, object_repr, details, outcome, error, request_id) "
            "SELECT %s - (g %% 4000) * interval '1 hour', 'rep-owner-' || (g %% 20), 'user', 'rep-team-' || (g %% 5), "
            "CASE WHEN g %% 50 = 0 THEN 'environment.destroyed' WHEN g %% 3 = 0 THEN 'environment.create' "
            "ELSE 'user.login' END, CASE WHEN g %% 100 = 0 THEN 'environments.environment' ELSE 'other.thing' END, "
            "(%s + g %% %s)::text, '', '{}', CASE WHEN g %% 100 = 0 THEN 'failure' ELSE 'success' END, '', '' "
            "FROM generate_series(1, %s) g",
            [now, environments[0].pk, n, noise_events])
    SleepState.objects.bulk_create([SleepState(environment_id=e.pk, last_activity_at=e.last_activity_at)
                                    for e in environments if e.has_sleep_state])
    by_name = {e.name: e for e in environments}
    CostSample.objects.bulk_create([
        CostSample(kind=CostSample.PODS, cluster=cluster, environment_id=by_name[f"{prefix}-{s['env']:04d}"].pk,
                   team=world.teams[s["team"]], stage=s["stage"], started_at=s["started_at"],
                   ended_at=s["started_at"] + timedelta(hours=1), seconds=3600, asleep=s["asleep"], cost=s["cost"],
                   would_cost=s["would_cost"]) for s in samples]
        # Node samples are the cluster's own bill: the environment totals must not count them.
        + [CostSample(kind=CostSample.NODES, cluster=cluster, started_at=now - timedelta(hours=2),
                      ended_at=now - timedelta(hours=1), seconds=3600, cost=Decimal("99"), would_cost=Decimal("99"))])
    return world
