"""Use cases around logs: opening a live stream and searching history (audited for production)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from portal.accounts.rules import PRODUCTION_STAGES
from portal.audit.actor import Actor
from portal.audit.services import audit_record

from ..models import Environment
from .history import HistoryPage, HistoryQuery, TextQuery, history_backend


def environment_logs_opened(*, actor: Actor, environment: Environment, what: str, details: dict[str, Any]) -> bool:
    """Record that ``actor`` opened ``environment``'s logs (``what``: "live" or "history").

    Only production is audited: logs there may hold customer data, and reading them is the
    access managers ask about. Returns whether an event was written.
    """
    if environment.stage not in PRODUCTION_STAGES:
        return False
    audit_record(actor=actor, action=f"environment.logs.{what}", obj=environment, details=details)
    return True


def environment_log_search(*, actor: Actor, environment: Environment, search: dict[str, Any]) -> HistoryPage:
    """One page of ``environment``'s log history (``search``: HistorySearchForm.cleaned_data).

    Raises HistoryQueryError when the backend refuses the query. Every page of a production search
    is audited: each returns more of production's logs, and a cursor can be reused or handed on
    without the first page ever being asked for again.
    """
    query = HistoryQuery(cluster=environment.cluster.name, namespace=environment.namespace,
                         component=search.get("component") or "", pod=search.get("pod") or "",
                         start=search.get("start"), end=search.get("end"), text=search.get("text") or TextQuery(),
                         cursor=search.get("cursor") or "", limit=search.get("limit") or 100)
    page = history_backend().search(query)
    environment_logs_opened(actor=actor, environment=environment, what="history", details={
        "component": query.component, "pod": query.pod, "text": asdict(query.text),
        "start": query.start, "end": query.end, "next_page": bool(query.cursor), "events": len(page.events)})
    return page
