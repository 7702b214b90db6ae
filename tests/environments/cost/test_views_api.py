"""The cost pages and their API twins: filters (a bad one is a 400 with a sentence), CSV, price table and
budget forms, the forecast (fragment and API), the environment's cost block."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from clusters.models import Cluster
from environments.models import Blueprint, CostSample, Environment, PriceTable
from tests.environments.cost.conftest import db_environment
from tests.factories import TeamFactory

NOW = timezone.now()


@pytest.fixture
def world(users, team):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="cost-pages", kind="local", is_default=True)
    other = TeamFactory(slug="cost-others", name="Others")
    for owner_team, cost, would in ((team, "1.5", "4"), (other, "9", "9")):
        CostSample.objects.create(kind="pods", cluster=cluster, team=owner_team, owner=users["qa"], stage="qa",
                                  started_at=NOW - timedelta(hours=1), ended_at=NOW, seconds=3600,
                                  cost=Decimal(cost), would_cost=Decimal(would), asleep=would != cost)
    cluster.team_ids = (team.pk, other.pk)
    return cluster


def signed_in(client, user):
    client.force_login(user)
    return client


def test_the_costs_page_shows_the_callers_teams_rows(client, users, world):
    page = signed_in(client, users["developer"]).get(reverse("cost-list"), {"by": "team"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<td>Payments</td>" in html and "<td>Others</td>" not in html and "$2.50" in html  # saving 4 - 1.5
    manager = signed_in(client, users["manager"]).get(reverse("cost-list"))
    assert "<td>Others</td>" in manager.content.decode()


def test_a_malformed_month_is_a_400_with_a_sentence(client, users, world):
    page = signed_in(client, users["admin"]).get(reverse("cost-list"), {"month": "december"})
    assert page.status_code == 400
    assert "Write the month as YYYY-MM (like 2026-12), not &#x27;december&#x27;." in page.content.decode()
    api = signed_in(client, users["admin"]).get("/api/v1/costs/", {"month": "2026-13"})
    assert api.status_code == 400 and "YYYY-MM" in str(api.json())


def test_csv_export_has_the_same_rows(client, users, world):
    response = signed_in(client, users["admin"]).get(reverse("cost-export"), {"by": "team"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "group,key,currency,cost,would_cost,saving,asleep_hours,idle_hours"
    assert lines[1:] == [f"Others,{world.team_ids[1]},USD,9.000000,9.000000,0.000000,0.0,0.0",
                         f"Payments,{world.team_ids[0]},USD,1.500000,4.000000,2.500000,1.0,0.0"]


def test_api_totals_are_paginated_with_the_total(users, world, api_for):
    body = api_for(users["manager"]).get("/api/v1/costs/", {"by": "team"}).json()
    assert body["by"] == "team" and body["count"] == 2
    assert [(r["label"], r["cost"]) for r in body["results"]] == [("Others", "9.000000"), ("Payments", "1.500000")]
    assert body["total"]["saving"] == "2.500000"


def test_price_table_form_refuses_bad_amounts_and_saves_good_ones(client, users, world):
    url = reverse("cost-price-table", args=[world.pk])
    form = {"currency": "USD", "vcpu_hour": "abc", "gib_hour": "0.005", "storage_gib_month": "0.023",
            "node_hours": "m5.large = 0.096\nkwok 0.1", "default_instance_type": "m5.large", "source": "x"}
    bad = signed_in(client, users["admin"]).post(url, form)
    assert bad.status_code == 400 and "write it as &#x27;instance type = price&#x27;" in bad.content.decode()
    bad = client.post(url, form | {"node_hours": "m5.large = 0.096"})
    assert bad.status_code == 400 and "&#x27;abc&#x27; is not a number" in bad.content.decode()
    assert not PriceTable.objects.exists()
    assert client.post(url, form | {"node_hours": "m5.large = 0.096", "vcpu_hour": "0.05"}).status_code == 302
    assert PriceTable.objects.get(cluster=world).vcpu_hour == Decimal("0.05")
    assert signed_in(client, users["developer"]).post(url, form).status_code == 403


def test_api_prices_read_by_all_written_by_admins(users, world, api_for):
    assert api_for(users["qa"]).get(f"/api/v1/clusters/{world.pk}/prices/").json()["from_table"] is False
    body = {"currency": "USD", "vcpu_hour": "0.05", "gib_hour": "0.005", "storage_gib_month": "0.023",
            "node_hours": {"m5.large": "0.1"}}
    assert api_for(users["manager"]).put(f"/api/v1/clusters/{world.pk}/prices/", body, format="json").status_code == 403
    bad = api_for(users["admin"]).put(f"/api/v1/clusters/{world.pk}/prices/", body | {"gib_hour": "-2"}, format="json")
    assert bad.status_code == 400 and "zero or more" in str(bad.json())
    saved = api_for(users["admin"]).put(f"/api/v1/clusters/{world.pk}/prices/", body, format="json").json()
    assert (saved["from_table"], saved["vcpu_hour"]) == (True, "0.050000")


def test_budgets_page_and_api(client, users, team, world, api_for):
    assert api_for(users["admin"]).put("/api/v1/costs/budgets/", {"team": team.slug, "monthly_amount": "10"},
                                       format="json").status_code == 200
    assert api_for(users["developer"]).put("/api/v1/costs/budgets/", {"team": team.slug, "monthly_amount": "1"},
                                           format="json").status_code == 403
    mine = api_for(users["developer"]).get("/api/v1/costs/budgets/").json()
    assert [(b["team"], b["spent"], b["percent"]) for b in mine] == [("payments", "1.500000", "15.0")]
    page = signed_in(client, users["admin"]).post(reverse("cost-budgets"), {"team": team.slug,
                                                                           "monthly_amount": "ten", "currency": "USD"})
    assert page.status_code == 400 and "&#x27;ten&#x27; is not a number" in page.content.decode()


def test_forecast_fragment_and_api(client, users, team, world, api_for):
    shop = Blueprint.objects.get(name="shop")
    fragment = signed_in(client, users["qa"]).get(reverse("cost-forecast"), {
        "cluster": world.name, "blueprint": shop.pk, "stage": "qa", "team": team.slug, "version-web": "1.5.0"})
    assert "about $0.51/day running" in fragment.content.decode()
    empty = client.get(reverse("cost-forecast"), {"cluster": world.name})
    assert "Choose a cluster, a blueprint and a stage" in empty.content.decode()
    body = api_for(users["manager"]).post("/api/v1/environments/forecast/", {
        "cluster": world.name, "blueprint": shop.pk, "stage": "qa", "team": team.slug}, format="json").json()
    assert (body["per_day_running"], body["awake_fraction"], body["currency"]) == ("0.510526", 1.0, "USD")
    bad = api_for(users["qa"]).post("/api/v1/environments/forecast/", {"cluster": "nowhere", "blueprint": 999999,
                                                                       "stage": "qa"}, format="json")
    assert bad.status_code == 400 and "No cluster is named 'nowhere'." in str(bad.json())


def test_the_environment_page_has_its_cost_block_and_api_twin(client, users, team, world, api_for):
    environment = db_environment(users["qa"], team, world)
    CostSample.objects.filter(team=team).update(environment=environment)
    page = signed_in(client, users["qa"]).get(reverse("environment-detail", args=[environment.pk]))
    html = page.content.decode()
    assert 'id="env-cost"' in html and "$1.50" in html and "about $0.51" in html
    body = api_for(users["qa"]).get(f"/api/v1/environments/{environment.pk}/cost/").json()
    assert (body["total"]["cost"], body["per_day"]) == ("1.500000", "0.510526")
    assert api_for(users["outsider"]).get(f"/api/v1/environments/{environment.pk}/cost/").status_code == 403
    assert Environment.objects.filter(pk=environment.pk).exists()


def test_an_environment_whose_revision_cannot_be_rendered_shows_its_cost_as_unknown(client, users, team, world,
                                                                                       api_for):
    environment = db_environment(users["qa"], team, world)
    revision = environment.current_revision
    snapshot = {**revision.snapshot, "components": [{"name": "api", "image": "shop/api", "tag": "1"}]}
    type(revision).objects.filter(pk=revision.pk).update(snapshot=snapshot)  # as an old or hand-made revision
    page = signed_in(client, users["qa"]).get(reverse("environment-detail", args=[environment.pk]))
    assert page.status_code == 200
    assert "unknown" in page.content.decode().split('data-cost-per-day>')[1].split("</dd>")[0]
    body = api_for(users["qa"]).get(f"/api/v1/environments/{environment.pk}/cost/").json()
    assert body["per_day"] is None
