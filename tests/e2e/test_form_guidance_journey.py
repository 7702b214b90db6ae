"""Browser journey (issue 13, point 8): forms say why a list is empty and preselect the obvious choice.

A newcomer opens "New environment" while `make run`'s local cluster is still being built: the page says
so and when it will be ready, and swaps the cluster select in by itself once the cluster is registered.
Their only team and the only blueprint are preselected. "Copy data from…" lists only environments with
a store of a kind the target has, and says why the others are missing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from clusters import local_status
from clusters.models import Cluster
from environments.models import Blueprint, Environment
from migrations_tool.models import DataStore
from portal.accounts import roles
from portal.accounts.models import Team
from tests.factories import TeamFactory, UserFactory

from .support import log_in

pytestmark = pytest.mark.e2e

KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"


@pytest.fixture
def newcomer(transactional_db, settings, live_asgi_server):
    """A QA user in one team, the demo blueprint, no cluster, and the server's local-cluster status file."""
    settings.SLIPWAY_LOCAL_CLUSTER_STATUS_FILE = live_asgi_server.settings_overrides[
        "SLIPWAY_LOCAL_CLUSTER_STATUS_FILE"]
    settings.SLIPWAY_LOCAL_CLUSTER_STATUS_FILE.unlink(missing_ok=True)
    call_command("seed_demo_blueprint", verbosity=0)
    team = TeamFactory(slug="payments", name="Payments")
    TeamFactory(slug="search", name="Search")  # not theirs: never offered
    yield UserFactory(username="nora", roles=[roles.QA], teams=[team])
    settings.SLIPWAY_LOCAL_CLUSTER_STATUS_FILE.unlink(missing_ok=True)


def test_new_environment_while_the_local_cluster_builds(page: Page, screenshot, newcomer) -> None:
    local_status.local_cluster_status_write(state=local_status.BUILDING,
                                            started_at=timezone.now() - timedelta(minutes=3))
    log_in(page, "nora")
    page.get_by_role("link", name="New environment").click()
    expect(page.get_by_role("heading", name="New environment", level=1)).to_be_visible()

    cluster = page.get_by_label("Cluster", exact=True)
    expect(cluster).to_be_disabled()
    expect(cluster).to_have_accessible_description(
        "The local Kubernetes cluster is being built (started 3 min ago) — usually ~15 minutes on first start, "
        "under a minute later on. This page updates when it is ready.")
    create = page.get_by_role("button", name="Create environment")
    expect(create).to_be_disabled()
    expect(create).to_have_accessible_description("An environment needs a cluster: see “Cluster” above.")
    # What can be chosen already is: their only team, the only blueprint and its versions.
    expect(page.get_by_label("Team", exact=True)).to_have_value("payments")
    expect(page.get_by_label("Team", exact=True).locator("option")).to_have_text(["---------", "Payments"])
    expect(page.get_by_label("Blueprint", exact=True).locator("option:checked")).to_have_text("shop v1")
    expect(page.locator("#version-picker select")).to_have_count(3)
    screenshot("environment-new-cluster-building")

    # make run registers the local cluster: the page notices by itself (it polls while waiting).
    Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    local_status.local_cluster_status_write(state=local_status.UP)
    expect(cluster).to_be_enabled(timeout=15_000)
    expect(cluster).to_have_value("local")
    expect(page.get_by_text("The local Kubernetes cluster is being built")).to_have_count(0)
    expect(create).to_be_enabled()
    page.get_by_label("Name", exact=True).fill("first-env")
    screenshot("environment-new-cluster-ready")


def test_new_environment_with_no_cluster_says_who_can_add_one(page: Page, screenshot, newcomer) -> None:
    log_in(page, "nora")
    page.goto("/environments/new/")
    reason = page.locator("#cluster-empty-reason")
    expect(reason).to_have_text("No cluster is registered yet: a Platform admin can create one (Clusters → New "
                                "cluster) or register one by kubeconfig (Clusters → Register an existing cluster).")
    expect(page.get_by_label("Cluster", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Create environment")).to_be_disabled()
    expect(page.get_by_label("Team", exact=True)).to_have_value("payments")
    screenshot("environment-new-no-cluster")
    assert not Environment.objects.exists()


def test_copy_data_from_offers_only_sources_with_matching_stores(page: Page, screenshot, newcomer) -> None:
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    blueprint = Blueprint.objects.get(name="shop")
    team = Team.objects.get(slug="payments")

    def environment(name: str, *kinds: str) -> Environment:
        made = Environment.objects.create(name=name, cluster=cluster, namespace=f"slw-{name}", blueprint=blueprint,
                                          stage="qa", team=team, owner=newcomer, status="ready")
        for kind in kinds:
            DataStore.objects.create(environment=made, kind=kind, name=f"{name}-{kind}")
        return made

    target = environment("qa-target", "mysql", "redis")
    environment("qa-orders", "mysql", "s3")
    environment("qa-cache", "redis")
    environment("qa-files", "s3")
    environment("qa-stateless")
    lonely = environment("qa-lonely", "s3")

    log_in(page, "nora")
    page.goto(f"/environments/{target.pk}/")
    page.get_by_role("link", name="Copy data from…").click()
    expect(page.get_by_role("heading", name="Copy data into qa-target", level=1)).to_be_visible()
    source = page.get_by_label("Copy data from")
    expect(source.locator("option")).to_have_text(["---------", "qa-cache (QA, payments) — redis",
                                                   "qa-orders (QA, payments) — mysql"])
    expect(page.get_by_text("3 other environments you can see are not listed: no MySQL/MariaDB or Redis store."))\
        .to_be_visible()
    expect(page.get_by_role("checkbox")).to_have_count(2)
    expect(page.get_by_label("MySQL/MariaDB")).to_be_checked()
    expect(page.get_by_label("Redis")).to_be_checked()
    screenshot("copy-data-from-filtered")

    # Into an environment whose only store is S3 while no other S3 store is left (the others are retiring):
    # the page says what to do instead of showing an empty list.
    DataStore.objects.filter(kind="s3").exclude(environment=lonely).update(state=DataStore.RETIRING)
    page.goto(f"/environments/{lonely.pk}/copy-data/")
    expect(page.locator(".copy-note")).to_have_text(
        "No other environment you can see has a store of the kind qa-lonely has (S3) to copy from. Create one "
        "from a blueprint with that backing service (e.g. shop v1); only environments you can see (your teams') "
        "are offered.")
    expect(page.get_by_role("button", name="Start copy")).to_have_count(0)
    expect(page.get_by_role("link", name="Back to qa-lonely")).to_be_visible()
    screenshot("copy-data-from-none")
