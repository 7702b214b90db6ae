"""Browser journey (issue 13, points 5 and 9): a Platform admin creates a team and a user in the portal,
the user signs in with the one-time password shown once, the admin deactivates them and they can no
longer sign in; the audit trail shows it all, filtered with the selects and the hide-routine toggle."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal.accounts import roles
from portal.audit.models import AuditEvent
from tests.factories import UserFactory

from .support import log_in

pytestmark = pytest.mark.e2e


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign in to Slipway")).to_be_visible()


def test_admin_manages_people_and_finds_it_in_the_audit_trail(page: Page, screenshot) -> None:
    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])
    UserFactory(username="dev", roles=[roles.DEVELOPERS])

    # A developer has no People entry; the admin has one.
    log_in(page, "dev")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="People")).to_have_count(0)
    log_out(page)
    log_in(page, "ada")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()
    expect(page.locator("table")).to_contain_text("dev")
    screenshot("people-users")

    # A team first, then the user in it with the QA role.
    page.get_by_role("navigation", name="People").get_by_role("link", name="Teams").click()
    page.get_by_role("link", name="New team").click()
    page.get_by_label("Slug").fill("search")
    page.get_by_label("Name", exact=True).fill("Search")
    screenshot("people-team-new")
    page.get_by_role("button", name="Save team").click()
    expect(page.get_by_role("status")).to_contain_text("Team Search saved.")
    expect(page.locator("table")).to_contain_text("search")
    screenshot("people-teams")

    page.get_by_role("navigation", name="People").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="New user").click()
    page.get_by_label("Username").fill("quinn")
    page.get_by_label("E-mail").fill("quinn@example.test")
    page.get_by_role("group", name="Roles").get_by_label("QA").check()
    page.get_by_role("group", name="Teams").get_by_label("Search").check()
    expect(page.get_by_label("Generate a one-time password")).to_be_checked()
    screenshot("people-user-new")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", name="User quinn created")).to_be_visible()
    password = page.get_by_test_id("one-time-password").text_content().strip()
    assert len(password) >= 12
    expect(page.get_by_text("will not be shown again")).to_be_visible()
    screenshot("people-user-created")
    page.get_by_role("link", name="All users").click()
    page.get_by_role("navigation", name="People").get_by_role("link", name="Teams").click()
    expect(page.locator("table tbody tr", has_text="search")).to_contain_text("1: quinn")
    page.get_by_role("link", name="Search", exact=True).click()
    expect(page.get_by_role("group", name="Members").get_by_label("quinn")).to_be_checked()
    expect(page.get_by_label("Slug")).to_be_disabled()
    screenshot("people-team-edit")
    log_out(page)

    # quinn signs in with it and sees the portal as QA in the team.
    log_in(page, "quinn", password)
    expect(page.locator(".userbox")).to_contain_text("quinn · QA")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Environments")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="People")).to_have_count(0)
    screenshot("people-quinn-signed-in")
    log_out(page)

    # The admin deactivates quinn; the admin cannot deactivate herself.
    log_in(page, "ada")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    page.get_by_role("link", name="quinn", exact=True).click()
    expect(page.get_by_role("group", name="Teams").get_by_label("Search")).to_be_checked()
    page.get_by_role("button", name="Deactivate").click()
    # Deactivating asks first, in the one confirmation dialog.
    dialog = page.get_by_role("dialog", name="Deactivate quinn?")
    expect(dialog).to_contain_text("quinn can no longer sign in")
    screenshot("people-deactivate-confirm")
    dialog.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("status")).to_contain_text("User quinn deactivated")
    expect(page.get_by_role("heading", name=re.compile("quinn"))).to_contain_text("deactivated")
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()
    screenshot("people-user-deactivated")
    log_out(page)

    page.goto("/login/")
    page.get_by_label("Username").fill("quinn")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Your username and password didn't match")).to_be_visible()

    # The audit trail: routine sign-ins hidden with one click, then only the user events of quinn.
    log_in(page, "ada")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    rows = page.locator("table tbody tr")
    expect(rows.filter(has_text="user.login").first).to_be_visible()
    page.get_by_label("Hide routine events").check()  # applies at once
    expect(page).to_have_url(re.compile(r"hide_noise=on"))
    expect(page.get_by_label("Hide routine events")).to_be_checked()
    expect(rows.filter(has=page.locator("code", has_text=re.compile(r"^user\.login$")))).to_have_count(0)
    # quinn's refused sign-in is counted by the lockout (axes), not written to the trail: anyone can send one.
    expect(rows.filter(has_text="user.login_failed")).to_have_count(0)
    page.get_by_label("Object type").select_option("auth.user")
    page.get_by_label("Action", exact=True).select_option(label="user.* (all)")
    page.get_by_label("Actor").fill("ada")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_label("Action", exact=True)).to_have_value("user.")
    actions = page.locator("table tbody tr td:nth-child(3) code")
    expect(actions).to_have_text(["user.deactivate", "user.create"])
    expect(rows.first).to_contain_text("quinn")
    screenshot("audit-filtered")
    assert page.get_by_role("link", name="Export CSV").get_attribute("href").count("hide_noise=on") == 1
    assert AuditEvent.objects.filter(action="team.create", team_slug="search", actor_name="ada").exists()


def test_set_password_link_then_change_password(page: Page, screenshot) -> None:
    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])
    log_in(page, "ada")
    page.goto("/people/users/new/")
    page.get_by_label("Username").fill("lin")
    page.get_by_role("group", name="Roles").get_by_label("Developers").check()
    page.get_by_label("Make a set-password link").check()
    page.get_by_role("button", name="Create user").click()
    link = page.get_by_test_id("set-password-link").text_content().strip()
    screenshot("people-set-password-link")
    log_out(page)

    page.goto(link)
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".error-text").first).to_contain_text("too short")
    screenshot("password-set-refused")
    page.get_by_label("New password", exact=True).fill("lin-chooses-this-9")
    page.get_by_label("New password confirmation").fill("lin-chooses-this-9")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("status")).to_contain_text("Password set. Sign in with it.")
    log_in(page, "lin", "lin-chooses-this-9")

    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Old password").fill("lin-chooses-this-9")
    page.get_by_label("New password", exact=True).fill("lin-changed-it-10")
    page.get_by_label("New password confirmation").fill("lin-changed-it-10")
    screenshot("password-change")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed.")
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("no longer valid")
    assert list(AuditEvent.objects.filter(object_type="auth.user", actor_name="lin", action__startswith="user.password")
                .order_by("id").values_list("action", flat=True)) == ["user.password_set", "user.password_change"]
