"""Browser journey (issue 17, cost): a Platform admin reads the costs by team and month, edits a cluster's
prices (a bad amount is refused with a sentence), sets a team budget and sees an environment's cost block;
the forecast on "New environment" follows the stage."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from clusters.models import Cluster
from environments.catalog.versions import resolve
from environments.models import Blueprint, CostSample, Environment, EnvironmentRevision
from environments.snapshot import snapshot_from_blueprint
from portal.accounts import roles
from tests.factories import TeamFactory, UserFactory

from .support import log_in

pytestmark = pytest.mark.e2e

KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}


@pytest.fixture
def costs(transactional_db):
    """Two teams' environments with a day of samples (one slept half of it), on a cluster with default prices."""
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="cost-local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    payments, search = TeamFactory(slug="payments", name="Payments"), TeamFactory(slug="search", name="Search")
    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])
    qa = UserFactory(username="nora", roles=[roles.QA], teams=[payments])
    shop = Blueprint.objects.get(name="shop")
    now = timezone.now()
    made = []
    for team, name in ((payments, "checkout-qa"), (search, "search-qa")):
        environment = Environment.objects.create(name=name, cluster=cluster, namespace=f"slw-{name}", blueprint=shop,
                                                 stage="qa", team=team, owner=qa, status=Environment.READY)
        snapshot = snapshot_from_blueprint(blueprint=shop, stage="qa", versions=resolve(shop, VERSIONS))
        revision = EnvironmentRevision.objects.create(environment=environment, number=1, snapshot=snapshot)
        Environment.objects.filter(pk=environment.pk).update(current_revision=revision)
        for hour in range(24):
            asleep = team == payments and hour >= 12
            start = now - timedelta(hours=24 - hour)
            CostSample.objects.create(kind="pods", cluster=cluster, environment=environment, team=team, owner=qa,
                                      stage="qa", started_at=start, ended_at=start + timedelta(hours=1), seconds=3600,
                                      pods=0 if asleep else 6, asleep=asleep, idle=not asleep and hour < 4,
                                      cost=Decimal(0) if asleep else Decimal("0.021272"),
                                      would_cost=Decimal("0.021272"))
        made.append(environment)
    return {"cluster": cluster, "environment": made[0]}


def test_costs_prices_budgets_and_the_environment_block(page: Page, screenshot, costs) -> None:
    log_in(page, "ada")
    page.get_by_role("link", name="Costs").click()
    expect(page.get_by_role("heading", name="Costs", level=1)).to_be_visible()
    rows = page.locator("[data-cost-rows] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Search")
    expect(page.locator("[data-cost-rows] tfoot")).to_contain_text("$0.77")  # 36 awake hours
    screenshot("cost-by-team")

    page.get_by_label("Group by").select_option("environment")
    page.get_by_role("button", name="Show").click()
    expect(rows.nth(1)).to_contain_text("checkout-qa")
    expect(rows.nth(1)).to_contain_text("12.0 h")  # asleep
    screenshot("cost-by-environment")

    page.get_by_role("link", name="Price tables").click()
    page.get_by_role("link", name="cost-local").click()
    page.get_by_label("Price per vCPU-hour").fill("cheap")
    page.get_by_role("button", name="Save prices").click()
    expect(page.get_by_text("Price per vCPU-hour: 'cheap' is not a number; write it like 0.0405.")).to_be_visible()
    screenshot("cost-price-table-refused")
    page.get_by_label("Price per vCPU-hour").fill("0.05")
    page.get_by_role("button", name="Save prices").click()
    expect(page.get_by_text("Prices of cost-local saved.")).to_be_visible()

    page.goto("/costs/budgets/")
    page.get_by_label("Team", exact=True).select_option("payments")
    page.get_by_label("Monthly budget").fill("20")
    page.get_by_role("button", name="Save budget").click()
    expect(page.get_by_text("Budget of Payments saved.")).to_be_visible()
    expect(page.locator("[data-budgets] tbody tr")).to_contain_text("$20.00")
    screenshot("cost-budgets")

    page.goto(f"/environments/{costs['environment'].pk}/")
    block = page.locator("#env-cost")
    expect(block).to_contain_text("Saved this month")
    expect(block.locator("[data-cost-saving]")).to_have_text("$0.26")  # 12 asleep hours x 0.021272
    block.scroll_into_view_if_needed()
    screenshot("cost-environment-block")


def test_the_new_environment_form_forecasts_and_follows_the_stage(page: Page, screenshot, costs) -> None:
    log_in(page, "ada")  # production is for Platform admins: its stage overrides add replicas
    page.goto("/environments/new/")
    forecast = page.locator("#cost-forecast [data-forecast]")
    expect(forecast).to_have_text("about $0.51/day running (no sleep schedule applies).")
    page.get_by_label("Stage", exact=True).select_option("prod")
    expect(forecast).to_have_text("about $0.66/day running (no sleep schedule applies).")
    page.get_by_label("Stage", exact=True).select_option("qa")
    expect(forecast).to_contain_text("$0.51/day")
    screenshot("environment-new-forecast")
