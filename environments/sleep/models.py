"""Sleep state: what an environment looked like before it slept (so waking restores it exactly), its
last activity, and sleep schedules (per environment, or a default per team and/or stage).

They belong to the ``environments`` app (``environments/models.py`` imports them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# A StatefulSet's count in SleepState.replicas: "StatefulSet/<name>" (a Deployment's name cannot hold a "/", so
# the keys never collide, and rows saved before StatefulSets could sleep read the same).
STATEFULSET_KEY = "StatefulSet/"


def saved_deployments(replicas: dict[str, int]) -> dict[str, int]:
    """The Deployments' counts of a SleepState.replicas, by name."""
    return {name: count for name, count in replicas.items() if not name.startswith(STATEFULSET_KEY)}


def saved_statefulsets(replicas: dict[str, int]) -> dict[str, int]:
    """The StatefulSets' counts of a SleepState.replicas, by StatefulSet name."""
    return {name.removeprefix(STATEFULSET_KEY): count for name, count in replicas.items()
            if name.startswith(STATEFULSET_KEY)}


def replicas_saved(deployments: dict[str, int], statefulsets: dict[str, int]) -> dict[str, int]:
    """One SleepState.replicas from both kinds' counts (the inverse of the two above)."""
    return {**deployments, **{STATEFULSET_KEY + name: count for name, count in statefulsets.items()}}


class SleepState(models.Model):
    """One per environment (made on first use). Written by the sleep and wake jobs and by activity."""

    environment = models.OneToOneField("environments.Environment", on_delete=models.CASCADE,
                                       related_name="sleep_state")
    # Saved by the sleep job before it changes anything, restored by the wake job:
    # {"<deployment name>": replicas, "StatefulSet/<name>": replicas of a backing service that may sleep},
    # {"<hpa name>": the HPA object as it was}, {"<ingress name>": its rules}.
    replicas = models.JSONField(default=dict, blank=True)
    autoscalers = models.JSONField(default=dict, blank=True)
    routes = models.JSONField(default=dict, blank=True)
    slept_at = models.DateTimeField(null=True, blank=True)
    woke_at = models.DateTimeField(null=True, blank=True)
    # Why it last slept or woke: manual, schedule, idle, request (the first HTTP request to its hostname).
    reason = models.CharField(max_length=20, blank=True, default="")
    wake_requested_at = models.DateTimeField(null=True, blank=True)
    # Seconds from the wake request to every component ready (shown on the page, kept for the bench).
    last_wake_seconds = models.FloatField(null=True, blank=True)
    # Activity (rollout, log view, API call, page visit, request through its hostname) for idle sleep and
    # TTLs that extend on activity.
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_activity_kind = models.CharField(max_length=20, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sleep state"

    def __str__(self) -> str:
        return f"sleep state of {self.environment}"


class SleepSchedule(models.Model):
    """When to sleep and when to wake (cron expressions in a time zone), and idle sleep.

    Either an environment's own (``environment`` set) or a default for a team and/or a stage
    (``environment`` empty); an environment without its own uses the most specific default:
    team and stage, then team, then stage.
    """

    environment = models.OneToOneField("environments.Environment", null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="sleep_schedule")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="sleep_schedules")
    stage = models.CharField(max_length=10, blank=True, default="")
    enabled = models.BooleanField(default=True)
    # e.g. sleep "0 20 * * 1-5" and wake "0 8 * * 1-5" (nights); wake empty: it wakes only on request.
    sleep_cron = models.CharField(max_length=100, blank=True, default="")
    wake_cron = models.CharField(max_length=100, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC")
    # Sleep after this many hours without activity; empty: never for being idle.
    idle_hours = models.FloatField(null=True, blank=True)
    # The periodic tick acts on cron times in (checked_until, now], so a missed tick catches up once and a
    # "Wake now" at night is not undone until the next sleep time.
    checked_until = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(environment__isnull=False) | ~Q(team=None) | ~Q(stage=""),
                                   name="sleep_schedule_has_a_scope"),
            models.UniqueConstraint(fields=["team", "stage"], condition=Q(environment__isnull=True, team__isnull=False),
                                    name="sleep_schedule_one_default_per_team_stage"),
            models.UniqueConstraint(fields=["stage"], condition=Q(environment__isnull=True, team__isnull=True),
                                    name="sleep_schedule_one_default_per_stage"),
        ]

    def __str__(self) -> str:
        if self.environment_id:
            return f"sleep schedule of {self.environment}"
        return f"default sleep schedule for {self.team or 'every team'} / {self.stage or 'every stage'}"
