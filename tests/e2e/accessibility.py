"""Automated accessibility checks for every page a browser journey loads (axe-core, vendored).

axe-core 4.14.1 is vendored from npm (``npm pack axe-core@4.14.1``: ``axe.min.js`` and its licences
in ``vendor/axe-core-4.14.1/``), so the check runs offline and the same everywhere. It is injected
into every document of a test's browser context with ``add_init_script``; after each top-level load
(and once more on the page's final state, at teardown) it runs ``axe.run()`` and hands the result
to Python through an exposed function. A journey fails at teardown when any page had a *serious*
or *critical* violation: colour contrast, unlabelled controls, missing names, …
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, Page

AXE_VERSION = "4.14.1"
AXE_SOURCE = Path(__file__).with_name("vendor") / f"axe-core-{AXE_VERSION}" / "axe.min.js"
FAILING_IMPACTS = frozenset({"serious", "critical"})
REPORT_BINDING = "__slipwayAxeReport"

# Runs in every document (init scripts run before the page's own scripts). Only the top frame is
# checked; a page's later loads each report once. The short delay lets deferred scripts (htmx, the
# log viewer) render first. A run started while another is going would throw "already running",
# so runs are chained.
_RUNNER = """
(() => {
  if (window.top !== window || !window.axe) return;
  const options = { resultTypes: ["violations"] };
  let chain = Promise.resolve();
  window.__slipwayAxeRun = function (when) {
    chain = chain.then(() => window.axe.run(document, options)).then((results) => {
      const violations = results.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
      }));
      return window.__BINDING__(location.pathname + location.search, when, violations);
    }).catch((err) => window.__BINDING__(location.pathname, when, [{ id: "axe-error", impact: "critical",
      help: String(err), nodes: [] }]));
    return chain;
  };
  window.addEventListener("load", () => setTimeout(() => window.__slipwayAxeRun("load"), 150));
})();
""".replace("__BINDING__", REPORT_BINDING)


@dataclass
class AxeFindings:
    """What axe reported for the pages of one browser context."""

    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def record(self, url: str, when: str, violations: list[dict]) -> None:
        self.checked.append(f"{url} ({when})")
        for violation in violations:
            if violation.get("impact") not in FAILING_IMPACTS:
                continue
            nodes = "; ".join(node["target"] for node in violation.get("nodes", []))
            self.failures.append(f"{url} ({when}): [{violation['impact']}] {violation['id']}: "
                                 f"{violation['help']} — {nodes}")

    def report(self) -> str:
        return "axe-core found serious or critical accessibility violations:\n" + "\n".join(
            f"  {line}" for line in dict.fromkeys(self.failures))


def install_axe(context: BrowserContext) -> AxeFindings:
    """Check every page loaded in ``context``; the returned findings fill up as pages load."""
    findings = AxeFindings()
    context.expose_function(REPORT_BINDING, findings.record)
    context.add_init_script(script=AXE_SOURCE.read_text(encoding="utf-8") + "\n" + _RUNNER)
    return findings


def check_final_state(page: Page) -> None:
    """Run axe once more on what the page shows now (after the journey's clicks and live updates)."""
    if page.is_closed() or not page.url.startswith("http"):
        return
    try:
        page.evaluate("() => window.__slipwayAxeRun ? window.__slipwayAxeRun('end of test') : null")
    except Exception as exc:  # a page navigating away mid-run: its load-time check already ran
        if "Execution context was destroyed" not in str(exc):
            raise


def violations_json(findings: AxeFindings) -> str:
    """The findings as JSON, saved next to a failing test's screenshot."""
    return json.dumps({"checked": findings.checked, "failures": findings.failures}, indent=2)
