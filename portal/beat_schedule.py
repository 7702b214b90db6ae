"""Celery beat's periodic tasks and how often each runs (``CELERY_BEAT_SCHEDULE``; beat itself runs one leader
at a time, see portal/beat_leader.py). Intervals that operators tune are read from the environment."""

from __future__ import annotations

from typing import Any


def beat_schedule(env: Any) -> dict[str, dict[str, Any]]:
    """The beat schedule, with intervals from ``env`` (django-environ's Env of portal/settings.py)."""
    return {
        "environments-expire": {"task": "environments.expire", "schedule": 300.0},
        "environments-drift": {"task": "environments.drift_check", "schedule": 600.0},
        "environments-dns-sweep": {"task": "environments.dns_sweep",
                                   "schedule": env.float("SLIPWAY_DNS_SWEEP_SECONDS", default=3600.0)},
        "clusters-terraform-drift": {"task": "clusters.terraform_drift_check_all",
                                     "schedule": env.float("SLIPWAY_TERRAFORM_DRIFT_SECONDS", default=3600.0)},
        "environments-chaos-undo-due": {"task": "environments.chaos_undo_due",
                                        "schedule": env.float("SLIPWAY_CHAOS_UNDO_SECONDS", default=5.0)},
        # Starts the runs of scheduled chaos experiments (environments/chaos/schedule.py); the shortest
        # interval an experiment may have is SLIPWAY_CHAOS_MIN_INTERVAL_SECONDS.
        "environments-chaos-schedule": {"task": "environments.chaos_schedule_tick",
                                        "schedule": env.float("SLIPWAY_CHAOS_SCHEDULE_SECONDS", default=5.0)},
        # Sleep schedules and idle sleep (environments/sleep/periodic.py, the wake part).
        "environments-sleep-tick": {"task": "environments.sleep_tick",
                                    "schedule": env.float("SLIPWAY_SLEEP_TICK_SECONDS", default=60.0)},
        "clusters-terraform-reap": {"task": "clusters.terraform_reap_interrupted", "schedule": 60.0},
        "data-stores-deprovision": {"task": "migrations_tool.deprovision_due", "schedule": 600.0},
        "clusters-health": {"task": "clusters.health_check_all",
                            "schedule": env.float("SLIPWAY_CLUSTER_HEALTH_SECONDS", default=120.0)},
        # Image versions from registries (environments/catalog/version_sync.py).
        "environments-versions-sync": {"task": "environments.versions_sync",
                                       "schedule": env.float("SLIPWAY_VERSIONS_SYNC_SECONDS", default=900.0)},
        # Orphans (issue 17): what Slipway created and no longer tracks (environments/orphans/), daily.
        "environments-orphans-sweep": {"task": "environments.orphans_sweep",
                                       "schedule": env.float("SLIPWAY_ORPHAN_SWEEP_SECONDS", default=86400.0)},
        # Cost samples and budget notices (environments/cost/periodic.py).
        "environments-cost-sample": {"task": "environments.cost_sample",
                                     "schedule": env.float("SLIPWAY_COST_SAMPLE_SECONDS", default=300.0)},
        # Policies (issue 17): TTL that extends on activity (environments/policies/services.py).
        "environments-policy-ttl-extend": {"task": "environments.policy_ttl_extend",
                                           "schedule": env.float("SLIPWAY_POLICY_TTL_EXTEND_SECONDS", default=300.0)},
    }
