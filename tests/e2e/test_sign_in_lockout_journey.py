"""Browser journey (issue 14, class 8): wrong passwords pause sign-in for that account from this
address, with a page that says why and for how long, and the lockout is on the audit trail once."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from portal.accounts import roles
from portal.audit.models import AuditEvent
from tests.factories import UserFactory

from .support import PASSWORD

pytestmark = pytest.mark.e2e


def sign_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_repeated_wrong_passwords_pause_sign_in(page: Page, screenshot) -> None:
    UserFactory(username="lee", roles=[roles.QA])
    page.goto("/login/")
    for n in range(4):
        sign_in(page, "lee", f"guess-{n}")
        expect(page.get_by_text("Your username and password didn't match")).to_be_visible()
    sign_in(page, "lee", "guess-4")
    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins from your address")
    screenshot("sign-in-locked-out")

    # The right password does not get through while the lockout lasts.
    page.get_by_role("link", name="Back to sign in").click()
    sign_in(page, "lee", PASSWORD)
    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()
    locked = AuditEvent.objects.filter(action="user.locked_out")
    assert [(e.actor_name, e.object_repr) for e in locked] == [("anonymous", "lee")]
