"""Whether an environment may have a fault injected now: the one answer the start of a run, the run
job (again, just before it injects) and the pages share."""

from __future__ import annotations

from portal.accounts.rules import PRODUCTION_STAGES

from ..models import Environment
from .models import ChaosKillSwitch
from .selectors import chaos_settings_of

PRODUCTION_NEEDS_APPROVAL = "Production environments need a Platform admin's approval for chaos experiments."


def global_kill_switch_engaged() -> bool:
    """True while the global kill switch (row pk 1, absent = released) is engaged."""
    return ChaosKillSwitch.objects.filter(pk=1, engaged=True).exists()


def chaos_refusal(environment: Environment) -> str | None:
    """Why no experiment may run in ``environment`` now, as a sentence for a person; None when allowed.

    Reads the database fresh each time (the kill switches can change between two calls)."""
    settings = chaos_settings_of(environment)
    if not settings.enabled:
        return f"Chaos experiments are off for {environment.name}; opt the environment in first."
    if environment.stage in PRODUCTION_STAGES and settings.approved_by_id is None:
        return PRODUCTION_NEEDS_APPROVAL
    if settings.halted:
        return f"The kill switch of {environment.name} is engaged; release it to run experiments again."
    if global_kill_switch_engaged():
        return "The global chaos kill switch is engaged; no experiment runs until a Platform admin releases it."
    status = Environment.objects.filter(pk=environment.pk).values_list("status", flat=True).first()
    if status != Environment.READY:
        return (f"{environment.name} is {status or 'gone'}; experiments run only against a ready environment "
                "(its steady state must be known).")
    return None
