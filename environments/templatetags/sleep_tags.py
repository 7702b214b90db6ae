"""``{% sleep_schedule_panel environment %}``: the environment page's "Sleep schedule" panel (its own
schedule or the inherited default, the last sleep and wake, and the form for whoever may change it)."""

from __future__ import annotations

from typing import Any

from django import template

from portal.accounts import authz

from ..sleep.forms import SleepScheduleForm
from ..sleep.schedule_edits import schedule_values
from ..sleep.schedule_overview import schedule_overview

register = template.Library()


@register.inclusion_tag("environments/sleep/_schedule_panel.html", takes_context=True)
def sleep_schedule_panel(context: dict[str, Any], environment) -> dict[str, Any]:
    overview = schedule_overview(environment)
    user = context["request"].user
    return {"overview": overview, "environment": environment, "csrf_token": context.get("csrf_token"),
            "can_change": authz.sleep_schedule_can(user, authz.CHANGE, environment),
            "form": SleepScheduleForm(initial=schedule_values(overview.schedule), auto_id="sleep-%s")}
