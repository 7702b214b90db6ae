"""Browser journeys of issue 13's everyday surface: forms whose checkboxes sit beside their labels,
one confirmation dialog for dangerous actions, the favicon and friendly error pages.

Every page here is also checked by axe-core (see accessibility.py).
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from clusters.models import Cluster
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

from .support import confirm_in_dialog, log_in

pytestmark = pytest.mark.e2e

# An API server nobody listens on: pages that ask the cluster get "connection refused" at once.
UNREACHABLE_KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: c
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {}}]
"""

# The checkbox's box and the box of its label's own text (not the label element, which holds both).
CHECKBOX_AND_TEXT = """(input) => {
  const label = input.closest("label") || document.querySelector(`label[for="${input.id}"]`);
  const range = document.createRange();
  const texts = [...label.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  range.setStartBefore(texts[0]);
  range.setEndAfter(texts[texts.length - 1]);
  const box = (r) => ({ x: r.x, y: r.y, width: r.width, height: r.height });
  return { input: box(input.getBoundingClientRect()), text: box(range.getBoundingClientRect()) };
}"""


def assert_beside_its_label(page: Page, label: str) -> None:
    checkbox = page.get_by_label(label, exact=True)
    expect(checkbox).to_be_visible()
    boxes = checkbox.evaluate(CHECKBOX_AND_TEXT)
    box, text = boxes["input"], boxes["text"]
    assert box["width"] < 30, f"{label}: the checkbox is stretched ({box})"
    gap = text["x"] - (box["x"] + box["width"])
    assert 0 <= gap <= 16, f"{label}: the checkbox is not just left of its text ({boxes})"
    middle, text_middle = box["y"] + box["height"] / 2, text["y"] + text["height"] / 2
    assert abs(middle - text_middle) <= 4, f"{label}: the checkbox is not level with its text ({boxes})"


def test_checkboxes_sit_beside_their_labels_on_every_form(page: Page, screenshot, users) -> None:
    call_command("seed_demo_blueprint", verbosity=0)
    log_in(page, "admin")

    page.goto("/clusters/register/")
    assert_beside_its_label(page, "Default cluster for new environments")
    screenshot("form-cluster-register")

    page.goto("/catalog/blueprints/new/")
    for component in ("web", "api", "worker"):
        assert_beside_its_label(page, component)
    # A new blueprint declares nothing unless told: every store unclassified (fail closed).
    assert page.get_by_label("Personal data").input_value().strip() == ""
    screenshot("form-blueprint")

    page.goto("/catalog/registries/new/")
    assert_beside_its_label(page, "Clear credentials")
    # Text fields still fill their column: scoping the rules did not shrink them.
    name = page.get_by_label("Name", exact=True)
    assert name.bounding_box()["width"] > 300
    screenshot("form-registry")


def test_destroying_an_environment_asks_for_its_name(page: Page, screenshot, users, team) -> None:
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="far-away", kind="local", kubeconfig=UNREACHABLE_KUBECONFIG,
                                     is_default=True)
    environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                     blueprint=Blueprint.objects.get(name="shop"), team=team, name="qa-doomed",
                                     stage="qa", versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.1.0"},
                                     ttl_hours=24)
    log_in(page, "qa")
    page.goto(f"/environments/{environment.pk}/")
    destroy = page.get_by_role("button", name="Destroy environment")
    destroy.click()

    dialog = page.get_by_role("dialog", name="Destroy qa-doomed")
    expect(dialog).to_contain_text("Everything in namespace slw-qa-doomed is deleted")
    name = dialog.get_by_label("Type qa-doomed to confirm")
    expect(name).to_be_focused()
    name.fill("qa-doome")
    dialog.get_by_role("button", name="Destroy environment").click()
    expect(dialog.get_by_role("alert")).to_have_text("That is not the name: type qa-doomed exactly, or cancel.")
    expect(name).to_have_attribute("aria-invalid", "true")
    screenshot("destroy-dialog-wrong-name")
    environment.refresh_from_db()
    assert environment.status != Environment.DESTROYING

    # Escape cancels and gives focus back; nothing was posted.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(destroy).to_be_focused()
    assert not AuditEvent.objects.filter(action="environment.destroy").exists()

    destroy.click()
    confirm_in_dialog(page, "Destroy qa-doomed", typed_name="qa-doomed")
    expect(page.get_by_role("status")).to_contain_text("The environment is being destroyed.")
    event = AuditEvent.objects.get(action="environment.destroy")
    assert event.outcome == "success" and event.actor_name == "qa"


def test_favicon_and_friendly_error_pages(page: Page, screenshot, users) -> None:
    log_in(page, "qa")
    icon = page.locator('link[rel="icon"]')
    expect(icon).to_have_attribute("href", "/static/img/favicon.svg")
    default_request = page.request.get("/favicon.ico")
    assert default_request.ok and default_request.headers["content-type"].startswith("image/svg+xml")
    assert "M11 2v15H4l7-15z" in default_request.text()

    response = page.goto("/environments/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Nothing here", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Back to the dashboard")).to_be_visible()
    body = page.locator("body")
    expect(body).not_to_contain_text("URL patterns")
    expect(body).not_to_contain_text("Page not found (404)")
    screenshot("error-404")

    response = page.goto("/environments/new/versions/?blueprint=abc")  # a malformed id: the reason, not a 500
    assert response.status == 400
    expect(page.get_by_role("heading", name="That request cannot be answered", level=1)).to_be_visible()
    expect(body).to_contain_text("Give blueprint as a blueprint's id: a whole number")
    screenshot("error-400")

    response = page.goto("/__fail__/")
    assert response.status == 500
    expect(page.get_by_role("heading", name="Something went wrong on our side", level=1)).to_be_visible()
    expect(body).not_to_contain_text(re.compile("Traceback|RuntimeError|SECRET_TRACEBACK_TEXT"))
    screenshot("error-500")
    page.get_by_role("link", name="Back to the dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
