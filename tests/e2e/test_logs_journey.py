"""Browser journey (issue 6): a developer opens an environment's logs and watches new lines arrive.

The pods are real objects on the stack's local control plane; kwok serves their logs through the
API server, and the live daphne server follows them for the browser's websocket.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from clusters.kube.owner_labels import MANAGED_BY
from devstack.kwok_pod_logs import append_pod_log
from environments.management.commands.demo_pod_logs import DemoLogs
from portal.accounts import roles
from tests.environments.logs.support import make_environment, start_pod
from tests.factories import TeamFactory, UserFactory

from .support import log_in

pytestmark = pytest.mark.e2e


def test_developer_watches_live_logs_safely_rendered(page: Page, kube_client, kube_namespace, kubeconfig_path):
    team = TeamFactory(slug="payments", name="Payments")
    developer = UserFactory(username="devon", roles=[roles.DEVELOPERS], teams=[team])
    environment = make_environment(kubeconfig_path, kube_namespace, team=team, owner=developer)
    start_pod(kube_client, kube_namespace, "web-1", "web")
    append_pod_log(kube_namespace, "web-1", "web", "booted", client=kube_client)

    log_in(page, "devon")
    page.goto(f"/environments/{environment.pk}/")
    page.get_by_role("link", name="Logs", exact=True).click()
    lines = page.locator("[data-log-lines]")
    expect(lines.locator(".log-line", has_text="booted")).to_be_visible()
    expect(lines.locator(".log-marker", has_text="web-1/web joined")).to_be_visible()

    # New lines appear live, tagged with their pod; log text is never HTML, ANSI colours are spans.
    append_pod_log(kube_namespace, "web-1", "web",
                   "request handled in 12ms\n\x1b[31mERROR\x1b[0m <img src=x onerror=\"window.pwned=1\"> &amp;",
                   client=kube_client)
    expect(lines.locator(".log-line", has_text="request handled in 12ms")).to_be_visible()
    error_line = lines.locator(".log-line", has_text="ERROR")
    expect(error_line.locator(".ansi-fg-31")).to_have_text("ERROR")
    expect(error_line.locator(".log-text")).to_have_text('ERROR <img src=x onerror="window.pwned=1"> &amp;')
    assert lines.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None
    expect(error_line.locator(".log-pod")).to_have_text("web-1/web")
    assert "around=" in error_line.locator("a.log-hist").get_attribute("href")

    # Filter and highlight; timestamps toggle; pause keeps the view where it is.
    page.get_by_placeholder("Filter and highlight…").fill("handled")
    expect(lines.locator(".log-line")).to_have_count(1)
    expect(lines.locator("mark")).to_have_text("handled")
    page.get_by_placeholder("Filter and highlight…").fill("")
    expect(lines.locator(".log-line .log-ts").first).to_be_hidden()
    page.get_by_label("Timestamps").check()
    expect(lines.locator(".log-line .log-ts").first).to_be_visible()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    append_pod_log(kube_namespace, "web-1", "web", "while paused", client=kube_client)
    expect(page.locator("[data-log-count]")).to_contain_text("new while paused")
    page.get_by_role("button", name="Resume").click()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download shown").click()
    text = open(download.value.path()).read()
    assert "web-1 request handled in 12ms" in text and "while paused" in text
    assert "\x1b" not in text


# WCAG relative luminance and contrast ratio of two computed CSS colours ("rgb(r, g, b)").
CONTRAST = """([fg, bg]) => {
  const channels = (css) => css.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = (css) => {
    const [r, g, b] = channels(css).map((c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def test_first_visit_shows_the_demo_pods_lines_readably(page: Page, screenshot, kube_client, kube_namespace,
                                                       kubeconfig_path):
    """What `make run` gives a newcomer: the demo blueprint's pods print (demo_pod_logs), and the lines
    are light text on the viewer's dark box, not on a flash message's light one."""
    team = TeamFactory(slug="payments", name="Payments")
    qa = UserFactory(username="quinn", roles=[roles.QA], teams=[team])
    environment = make_environment(kubeconfig_path, kube_namespace, team=team, owner=qa)
    for pod, component in (("web-7d9f", "web"), ("api-5c2b", "api")):
        start_pod(kube_client, kube_namespace, pod, component, labels={MANAGED_BY: "slipway"}, register_log=False)
    feeder = DemoLogs()
    feeder.feed_once()

    log_in(page, "quinn")
    page.goto(f"/environments/{environment.pk}/logs/")
    lines = page.locator("[data-log-lines]")
    expect(lines.locator(".log-line", has_text="Uvicorn running on http://0.0.0.0:8000")).to_be_visible()
    expect(lines.locator(".log-line", has_text="starting nginx on port 8080")).to_be_visible()
    feeder.feed_once()  # the next round arrives live
    expect(lines.locator(".log-line", has_text=' HTTP/1.1" ').first).to_be_visible()

    text = lines.locator(".log-line .log-text").first
    colours = text.evaluate("(el) => [getComputedStyle(el).color, "
                            "getComputedStyle(el.closest('[data-log-lines]')).backgroundColor]")
    assert page.evaluate(CONTRAST, colours) >= 7, colours
    assert text.evaluate("(el) => getComputedStyle(el).backgroundColor") == "rgba(0, 0, 0, 0)"

    # The toolbar's checkboxes sit beside their labels.
    box = page.get_by_label("Timestamps").bounding_box()
    label = page.locator("label.check", has_text="Timestamps").bounding_box()
    assert box["width"] < 30 and abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) <= 4
    screenshot("logs-first-visit")
