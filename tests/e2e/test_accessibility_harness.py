"""The axe-core check of every journey page can fail: a page with known violations is reported."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route

from .accessibility import check_final_state, install_axe

pytestmark = pytest.mark.e2e

BAD_PAGE = """<!doctype html><html lang="en"><head><title>probe</title></head><body><main>
<p style="color:#e4e7eb;background:#e6f0ff">light text on a light box</p>
<input type="text">
</main></body></html>"""
GOOD_PAGE = """<!doctype html><html lang="en"><head><title>probe</title></head><body><main>
<h1>Fine</h1><label for="n">Name</label><input id="n" type="text"></main></body></html>"""


def serve(html: str):
    def handler(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=html)

    return handler


def test_axe_reports_contrast_and_unlabelled_controls(browser: Browser) -> None:
    context = browser.new_context()
    try:
        findings = install_axe(context)
        context.route("http://axe.test/**", serve(BAD_PAGE))
        page = context.new_page()
        page.goto("http://axe.test/bad")
        check_final_state(page)
        rules = " ".join(findings.failures)
        assert "color-contrast" in rules and "label" in rules, findings.failures
        assert any(url.startswith("/bad") for url in findings.checked)

        context.unroute("http://axe.test/**")
        context.route("http://axe.test/**", serve(GOOD_PAGE))
        findings.failures.clear()
        page.goto("http://axe.test/good")
        check_final_state(page)
        # The bad page's delayed load report can still arrive after the clear: judge the good page's own.
        assert any(url.startswith("/good") for url in findings.checked)
        assert [f for f in findings.failures if f.startswith("/good")] == []
    finally:
        context.close()
