"""TEMPORARY stand-in for the sleep part's selectors (branch i17-sleep owns this file): the contract's
signatures only, so the wake part runs before i17-sleep is merged. The lead takes i17-sleep's version."""

from __future__ import annotations

from ..models import Environment, Rollout


def sleep_refusal(environment: Environment) -> str | None:
    if environment.status in (Environment.SLEEPING, Environment.ASLEEP):
        return "It is already asleep."
    if environment.status != Environment.READY:
        return "Only a ready environment can go to sleep."
    return None


def wake_in_progress(environment: Environment) -> Rollout | None:
    return environment.rollouts.filter(job__kind="wake", job__state__in=("queued", "running")).first()
