"""Chaos reads shared by pages, the API and the badge: what a user may see, the numbers of a set of runs
(recovery percentiles, availability, runs outside the SLO), the "chaos-ready" badge and the comparison of
two revisions.

Only MEASURED runs (recovered or unrecovered) count; skipped, stopped, interrupted and failed runs
measured nothing. Percentiles are nearest-rank (always a recovery time that was seen).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from portal.accounts import rules

from ..models import Environment
from .models import ChaosExperiment, ChaosRun, ChaosSettings

# A revision is "more fragile" when its p95 recovery is this much slower (both ratio and seconds), so
# that noise between two runs of 2.1 s and 2.4 s is not called a regression.
FRAGILE_RATIO = 1.25
FRAGILE_SECONDS = 1.0
MAX_BADGE_RUNS = 50  # chaos_settings_update's upper bound for badge_runs
STAT_FIELDS = ("fault", "status", "recovery_seconds", "availability_percent", "within_slo")


@dataclass(frozen=True)
class ChaosStats:
    """The numbers of a set of runs. Seconds and percentages are None when no measured run has them."""

    count: int = 0  # measured runs
    p50_seconds: float | None = None
    p95_seconds: float | None = None
    max_seconds: float | None = None
    availability_percent: float | None = None  # the mean over measured runs
    outside_slo: int = 0  # measured runs that did not recover within their SLO (late or never)
    by_fault: dict[str, ChaosStats] = field(default_factory=dict)


@dataclass(frozen=True)
class ChaosBadge:
    """"Chaos-ready": the last ``runs`` measured runs on ``revision_number`` all recovered in time."""

    environment_id: int
    revision_number: int
    runs: int
    p95_seconds: float | None
    slo_seconds: int
    availability_target: float


@dataclass(frozen=True)
class RevisionComparison:
    a: int
    b: int
    stats_a: ChaosStats
    stats_b: ChaosStats
    verdict: str  # "more fragile", "sturdier", "about the same" or "not enough data"
    sentence: str


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _row(run: Any) -> dict[str, Any]:
    return run if isinstance(run, dict) else {name: getattr(run, name) for name in STAT_FIELDS}


def _stats(rows: list[dict[str, Any]], *, by_fault: bool) -> ChaosStats:
    measured = [r for r in rows if r["status"] in ChaosRun.MEASURED]
    seconds = [r["recovery_seconds"] for r in measured if r["recovery_seconds"] is not None]
    availability = [r["availability_percent"] for r in measured if r["availability_percent"] is not None]
    faults: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in measured:
        faults[r["fault"]].append(r)
    return ChaosStats(
        count=len(measured), p50_seconds=percentile(seconds, 50), p95_seconds=percentile(seconds, 95),
        max_seconds=max(seconds) if seconds else None,
        availability_percent=sum(availability) / len(availability) if availability else None,
        outside_slo=sum(1 for r in measured if r["within_slo"] is not True),
        by_fault={name: _stats(group, by_fault=False) for name, group in sorted(faults.items())} if by_fault else {},
    )


def chaos_stats(runs: Iterable[ChaosRun] | QuerySet[ChaosRun]) -> ChaosStats:
    """The numbers of ``runs`` (a queryset is read in one query, only the fields needed), overall and
    per fault."""
    if isinstance(runs, QuerySet):
        rows = list(runs.filter(status__in=ChaosRun.MEASURED).values(*STAT_FIELDS))
    else:
        rows = [_row(run) for run in runs]
    return _stats(rows, by_fault=True)


def chaos_stats_by_experiment(runs: QuerySet[ChaosRun]) -> dict[int, ChaosStats]:
    """The numbers of each experiment's runs among ``runs``, by experiment id, in one query (an experiment
    with no measured run is absent)."""
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in runs.filter(status__in=ChaosRun.MEASURED).values("experiment_id", *STAT_FIELDS):
        groups[row["experiment_id"]].append(row)
    return {pk: _stats(rows, by_fault=False) for pk, rows in groups.items()}


def chaos_settings_of(environment: Environment) -> ChaosSettings:
    """The environment's chaos settings, or the defaults (not saved) when it never had any: opted out."""
    return ChaosSettings.objects.filter(environment=environment).first() or ChaosSettings(environment=environment)


def _good(run: dict[str, Any], settings: ChaosSettings) -> bool:
    # The current SLO and target, not the run's own: tightening them takes a badge back.
    seconds, availability = run["recovery_seconds"], run["availability_percent"]
    return (run["status"] == ChaosRun.RECOVERED and run["within_slo"] is True and seconds is not None
            and seconds <= settings.slo_seconds and availability is not None
            and availability >= settings.availability_target)


def chaos_badges(environments: Iterable[Environment]) -> dict[int, ChaosBadge]:
    """The badge of each environment that has earned one, in two queries whatever the number of
    environments (settings, then the latest measured runs on each current revision ranked per
    environment in the database)."""
    ids = [e.pk for e in environments]
    if not ids:
        return {}
    settings = {s.environment_id: s for s in ChaosSettings.objects.filter(environment_id__in=ids)}
    default = ChaosSettings()
    latest = (ChaosRun.objects
              .filter(environment_id__in=ids, status__in=ChaosRun.MEASURED,
                      revision_number=F("environment__current_revision__number"))
              .annotate(rank=Window(RowNumber(), partition_by=F("environment_id"),
                                    order_by=[F("finished_at").desc(nulls_last=True), F("created_at").desc(),
                                              F("pk").desc()]))
              .filter(rank__lte=MAX_BADGE_RUNS).order_by("environment_id", "rank")
              .values("environment_id", "revision_number", *STAT_FIELDS))
    per_environment: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in latest:
        per_environment[row["environment_id"]].append(row)
    badges = {}
    for environment_id, rows in per_environment.items():
        rules_of = settings.get(environment_id, default)
        last = rows[:rules_of.badge_runs]
        if len(last) == rules_of.badge_runs and all(_good(r, rules_of) for r in last):
            badges[environment_id] = ChaosBadge(
                environment_id=environment_id, revision_number=last[0]["revision_number"], runs=len(last),
                p95_seconds=percentile([r["recovery_seconds"] for r in last], 95),
                slo_seconds=rules_of.slo_seconds, availability_target=rules_of.availability_target)
    return badges


def chaos_badge(environment: Environment) -> ChaosBadge | None:
    """The environment's "chaos-ready" badge: earned when its last ``badge_runs`` measured runs on its
    CURRENT revision all recovered within the SLO with availability at or above the target; it names
    that revision. A new revision has no runs yet, so no badge until it earns its own."""
    return chaos_badges([environment]).get(environment.pk)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f}".rstrip("0").rstrip(".") + " s"


def chaos_revision_comparison(environment: Environment, a: int, b: int) -> RevisionComparison:
    """The stats of revisions ``a`` and ``b`` of ``environment`` and a sentence saying whether ``b`` got
    more fragile: "r12 recovers in 4 s p95, r13 in 19 s — more fragile"."""
    runs = ChaosRun.objects.filter(environment=environment)
    stats_a, stats_b = chaos_stats(runs.filter(revision_number=a)), chaos_stats(runs.filter(revision_number=b))
    missing = [f"r{n}" for n, s in ((a, stats_a), (b, stats_b)) if s.p95_seconds is None]
    if missing:
        verdict = "not enough data"
        sentence = f"{' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} no measured recovery yet."
    else:
        slower = stats_b.p95_seconds - stats_a.p95_seconds
        if stats_b.p95_seconds > stats_a.p95_seconds * FRAGILE_RATIO and slower >= FRAGILE_SECONDS:
            verdict = "more fragile"
        elif stats_a.p95_seconds > stats_b.p95_seconds * FRAGILE_RATIO and -slower >= FRAGILE_SECONDS:
            verdict = "sturdier"
        else:
            verdict = "about the same"
        sentence = (f"r{a} recovers in {_seconds(stats_a.p95_seconds)} p95, r{b} in "
                    f"{_seconds(stats_b.p95_seconds)} — {verdict}")
        if stats_b.outside_slo > stats_a.outside_slo:
            sentence += f"; {stats_b.outside_slo} of r{b}'s {stats_b.count} runs missed the SLO"
        sentence += "."
    return RevisionComparison(a=a, b=b, stats_a=stats_a, stats_b=stats_b, verdict=verdict, sentence=sentence)


def _visible(queryset: QuerySet, user: Any, prefix: str) -> QuerySet:
    visible = rules.visible_filter(user, owner_field=f"{prefix}owner", team_field=f"{prefix}team")
    return queryset if visible is None else queryset.filter(visible)


def chaos_experiments_visible(user: Any) -> QuerySet[ChaosExperiment]:
    """Experiments of the environments ``user`` may see (team scoping as environment_list), with their
    environment and team loaded."""
    queryset = ChaosExperiment.objects.select_related("environment__team", "environment__current_revision")
    return _visible(queryset, user, "environment__")


def chaos_runs_visible(user: Any) -> QuerySet[ChaosRun]:
    """Runs of the environments ``user`` may see, newest first, with experiment, environment, team and
    job loaded (a list of runs is one query)."""
    queryset = ChaosRun.objects.select_related("experiment", "environment__team", "job", "started_by")
    return _visible(queryset, user, "environment__")
