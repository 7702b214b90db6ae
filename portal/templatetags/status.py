"""One status badge for every object a page shows (environment, cluster, Terraform run, job, data copy).

``{% status_badge obj %}`` renders what is true of the object, in the same words and colours on every
page: a Terraform plan that waits for approval says so (not the "succeeded" of the job behind it), a
drifted environment says drifted. A badge of an object in a transitional state carries
``data-live-transitional``, which tells static/js/live-regions.js to keep refreshing the page's live regions.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

# state value -> tone (the badge's colour class); states not listed are neutral (grey).
TONES = {
    "ready": "success", "succeeded": "success", "verified": "success", "in_sync": "success",
    "failed": "failure", "unreachable": "failure", "interrupted": "failure", "drifted": "failure",
    "pending": "running", "deploying": "running", "queued": "running", "running": "running",
    "applying": "running", "provisioning": "running", "undoing": "running", "planning": "running",
    "moved_tag": "failure",
    "destroying": "warning", "awaiting_approval": "warning", "retiring": "warning", "sleeping": "warning",
    "waking": "running", "asleep": "asleep",  # issue 17: asleep has its own (night) colour
}
# States that end on their own (a job is working on them): a page showing one keeps refreshing.
TRANSITIONAL = frozenset({"pending", "deploying", "destroying", "queued", "running", "applying", "provisioning",
                          "undoing", "planning", "awaiting_approval", "sleeping", "waking"})


def badge(value: str, label: str | None = None, *, title: str = "") -> dict[str, Any]:
    """One badge's context: ``value`` picks colour and liveness, ``label`` is what a person reads."""
    return {"value": value, "label": (label or value.replace("_", " ")).lower(), "tone": TONES.get(value, "neutral"),
            "transitional": value in TRANSITIONAL, "title": title}


def badges_for(obj: Any) -> list[dict[str, Any]]:
    """The badges that describe ``obj`` (its state first, then what else is true of it)."""
    field = "status" if hasattr(obj, "status") else "state"
    value = getattr(obj, field)
    display = getattr(obj, f"get_{field}_display", lambda: value)()
    badges = [badge(value, display)]
    if value in ("destroying", "destroyed"):
        return badges
    if getattr(obj, "drift", None) and isinstance(obj.drift, list):  # an environment whose live objects differ
        badges.append(badge("drifted", title="live objects differ from the current revision"))
    elif getattr(obj, "drift_status", "") == "drifted":  # a Terraform-managed cluster
        badges.append(badge("drifted", title="Terraform's plan found differences with the code"))
    if getattr(obj, "moved_tags", None):
        moved = " ".join(f"{m['component']}:{m['tag']}" for m in obj.moved_tags)
        badges.append(badge("moved_tag", "mutable tag moved", title=f"{moved} now names another image"))
    return badges


@register.inclusion_tag("_status_badge.html")
def status_badge(obj: Any, waiting: str = "") -> dict[str, Any]:
    """The status badges of ``obj``. ``waiting`` relabels a succeeded job whose object now waits on a
    person (a Terraform plan awaiting approval), so the page does not call it done."""
    badges = badges_for(obj)
    if waiting and badges[0]["value"] == "succeeded":
        badges[0] = badge("awaiting_approval", waiting)
    return {"badges": badges}
