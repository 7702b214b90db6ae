import pytest
from django.test import override_settings

from portal.accounts.oidc import apply_roles, roles_from_claims
from portal.audit.models import AuditEvent
from tests.factories import UserFactory

ROLE_MAP = {"platform-team": "Platform admins", "qa-folks": "QA", "bogus": "Not a role"}


@override_settings(SLIPWAY_OIDC_ROLE_MAP=ROLE_MAP, SLIPWAY_OIDC_GROUPS_CLAIM="groups")
def test_claim_groups_map_to_roles():
    assert roles_from_claims({"groups": ["qa-folks", "unrelated", "bogus"]}) == {"QA"}
    assert roles_from_claims({"groups": "platform-team"}) == {"Platform admins"}
    assert roles_from_claims({}) == set()


@pytest.mark.django_db
@override_settings(SLIPWAY_OIDC_ROLE_MAP=ROLE_MAP, SLIPWAY_OIDC_GROUPS_CLAIM="groups")
def test_idp_is_source_of_truth_for_roles():
    user = UserFactory(username="sso-user", roles=["Developers"])
    apply_roles(user, {"groups": ["qa-folks"]})
    assert set(user.groups.values_list("name", flat=True)) == {"QA"}


@pytest.mark.django_db
@override_settings(SLIPWAY_OIDC_ROLE_MAP=ROLE_MAP, SLIPWAY_OIDC_GROUPS_CLAIM="groups")
def test_roles_the_idp_changes_reach_the_audit_trail():
    user = UserFactory(username="sso-user", roles=["Developers"])
    apply_roles(user, {"groups": ["qa-folks"]})
    event = AuditEvent.objects.get(action="user.update")
    assert (event.actor_name, event.object_repr, event.details["via"]) == ("system:oidc", "sso-user", "oidc")
    assert event.details["changes"] == {"roles": {"before": ["Developers"], "after": ["QA"]}}
    apply_roles(user, {"groups": ["qa-folks"]})  # no change, no event
    assert AuditEvent.objects.filter(action="user.update").count() == 1
