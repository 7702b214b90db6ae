"""Chaos pieces that pages show: the "chaos-ready · r12" badge (environment page and list), a run's
status badge, and an experiment's schedule and window in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from ..chaos.models import ChaosExperiment, ChaosRun
from ..chaos.recovery_chart import seconds_text
from ..chaos.selectors import ChaosBadge, chaos_badge, chaos_badges

register = template.Library()

RUN_TONES = {ChaosRun.RECOVERED: "success", ChaosRun.UNRECOVERED: "failure", ChaosRun.FAILED: "failure",
             ChaosRun.INTERRUPTED: "failure", ChaosRun.QUEUED: "running", ChaosRun.RUNNING: "running",
             ChaosRun.STOPPED: "warning"}
WEEKDAY_NAMES = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}


def _ready_context(found: ChaosBadge | None) -> dict[str, Any]:
    if found is None:
        return {"badge": None}
    p95 = f"; p95 recovery {found.p95_seconds:.1f} s" if found.p95_seconds is not None else ""
    return {"badge": found, "title": f"The last {found.runs} chaos runs on r{found.revision_number} recovered within "
                                     f"{found.slo_seconds} s with availability ≥ {found.availability_target:g} %{p95}"}


@register.inclusion_tag("environments/chaos/_ready_badge.html")
def chaos_ready(environment: Any) -> dict[str, Any]:
    """The badge of one environment (its page)."""
    return _ready_context(chaos_badge(environment))


@register.simple_tag
def chaos_ready_badges(environments: Any) -> dict[int, ChaosBadge]:
    """Badges of a page of environments in one go (``{% chaos_ready_badges page.object_list as badges %}``)."""
    return chaos_badges(list(environments))


@register.inclusion_tag("environments/chaos/_ready_badge.html")
def chaos_ready_from(badges: dict[int, ChaosBadge], environment: Any) -> dict[str, Any]:
    """One row's badge out of ``chaos_ready_badges`` (a list of environments)."""
    return _ready_context(badges.get(environment.pk))


@register.inclusion_tag("_status_badge.html")
def chaos_run_status(run: ChaosRun) -> dict[str, Any]:
    return {"badges": [{"value": run.status, "label": run.get_status_display().lower(),
                        "tone": RUN_TONES.get(run.status, "neutral"), "title": run.status_message[:200],
                        "transitional": run.status in ChaosRun.ACTIVE}]}


def _seconds_words(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


@register.filter
def schedule_words(experiment: ChaosExperiment) -> str:
    if experiment.schedule == ChaosExperiment.INTERVAL and experiment.interval_seconds:
        return f"every {_seconds_words(experiment.interval_seconds)}"
    if experiment.schedule == ChaosExperiment.CRON:
        return f"cron “{experiment.cron}”"
    return "once, by hand"


@register.filter
def window_words(experiment: ChaosExperiment) -> str:
    days = sorted(experiment.window_days or [])
    if days == [1, 2, 3, 4, 5]:
        day_text = "Mon–Fri"
    else:
        day_text = ", ".join(WEEKDAY_NAMES.get(d, str(d)) for d in days) or "any day"
    if experiment.window_start and experiment.window_end:
        return f"{day_text} {experiment.window_start:%H:%M}–{experiment.window_end:%H:%M} {experiment.timezone}"
    return day_text if days else "any time"


@register.filter
def event_time(value: str) -> str:
    """An event's ISO time as HH:MM:SS.mmm (what a timeline needs); the text itself if it is not ISO."""
    try:
        return datetime.fromisoformat(value).strftime("%H:%M:%S.%f")[:-3]
    except (TypeError, ValueError):
        return str(value)


@register.filter
def seconds(value: float | None) -> str:
    return "—" if value is None else seconds_text(value)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} %"
