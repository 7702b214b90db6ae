"""An environment request's state moves only through environments/policies/lifecycle.py: every pair."""

import pytest

from environments.models import EnvironmentRequest
from environments.policies.lifecycle import ENVIRONMENT_REQUEST_STATE, environment_request_transition
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.status_machine import IllegalTransition

STATES = [value for value, _ in EnvironmentRequest.STATES]
ALLOWED = {(source, to) for to, sources in ENVIRONMENT_REQUEST_STATE.sources.items() for source in sources}


def test_only_a_pending_request_is_decided():
    assert ALLOWED == {("pending", "approved"), ("pending", "refused"), ("pending", "cancelled")}


@pytest.mark.parametrize(("source", "to"), [(s, t) for s in STATES for t in STATES])
def test_the_table_allows_what_it_lists_and_refuses_the_rest(users, team, shop, source, to):
    blueprint, cluster = shop
    request = EnvironmentRequest.objects.create(requested_by=users["developer"], name="pol-r", cluster=cluster,
                                                blueprint=blueprint, stage="prod", team=team, state=source)
    if (source, to) in ALLOWED:
        assert environment_request_transition(request, to, actor=Actor.system("test"), reason="why") == source
        request.refresh_from_db()
        assert (request.state, request.decision_reason) == (to, "why")
        event = AuditEvent.objects.get(action="environment_request.state_changed")
        assert (event.details["from"], event.details["to"]) == (source, to)
    else:
        with pytest.raises(IllegalTransition):
            environment_request_transition(request, to, actor=Actor.system("test"), reason="why")
        request.refresh_from_db()
        assert (request.state, request.decision_reason) == (source, "")
        assert not AuditEvent.objects.filter(action="environment_request.state_changed").exists()
