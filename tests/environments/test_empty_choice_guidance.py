"""Forms next to "New environment" that would show an empty select say why and what to do instead:
promote and compare with no other environment of the blueprint, hostnames of a cluster without Route 53
settings, "New cluster" without a Terraform blueprint."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from clusters.models import Cluster
from environments.models import Blueprint
from environments.services import environment_create
from portal.audit.actor import Actor

from .test_services import KUBECONFIG, VERSIONS

pytestmark = pytest.mark.django_db


@pytest.fixture
def lone(users, team):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    return environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                              blueprint=Blueprint.objects.get(name="shop"), name="qa-1", stage="qa", team=team,
                              versions=dict(VERSIONS))


def page(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize(("action", "button"), [("promote", "Show changes"),
                                                ("compare", "Compare rendered manifests")])
def test_promote_and_compare_without_another_environment_say_how_to_get_one(client, users, lone, action, button):
    html = page(client, users["qa"], f"/environments/{lone.pk}/{action}/")
    assert "you can see no other environment of blueprint\n  shop." in html
    assert f'href="/environments/{lone.pk}/clone/">Clone qa-1</a>' in html
    assert button not in html and "no other environment of this blueprint</option>" not in html


def test_promote_lists_the_other_environment_once_there_is_one(client, users, lone, team):
    environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=lone.cluster,
                       blueprint=lone.blueprint, name="qa-2", stage="qa", team=team, versions=dict(VERSIONS))
    html = page(client, users["qa"], f"/environments/{lone.pk}/promote/")
    assert "qa-2 (QA, r1)</option>" in html and "Show changes" in html and "you can see no other" not in html


def test_an_environment_without_hostname_says_who_sets_the_zone(client, users, lone):
    assert "A Platform admin can set them on the" in page(client, users["qa"], f"/environments/{lone.pk}/")
    admin = page(client, users["admin"], f"/environments/{lone.pk}/")
    assert f'<a href="/environments/hostnames/clusters/{lone.cluster.pk}/">Set them</a>' in admin


def test_hostnames_page_without_clusters_explains(client, users):
    html = page(client, users["qa"], "/environments/hostnames/")
    assert "No cluster is registered yet: a Platform admin can create one" in html
    assert "Hostnames are set per cluster." in html


def test_new_cluster_without_terraform_blueprints_points_to_registration(client, users, settings, tmp_path):
    assert "Plan cluster</button>" in page(client, users["admin"], "/clusters/new/")
    settings.SLIPWAY_TERRAFORM_BLUEPRINTS_DIR = tmp_path  # an install without clusters/terraform/
    html = page(client, users["admin"], "/clusters/new/")
    assert f"No Terraform blueprint is installed in {tmp_path}" in html
    assert 'href="/clusters/register/">Register an existing cluster</a>' in html
    assert "disabled>Plan cluster</button>" in html
    response = client.post("/clusters/new/", {"name": "c1", "kind": "local", "node_groups": "[]"})
    assert response.status_code == 200 and not Cluster.objects.exists()


def test_new_cluster_offers_only_installed_blueprints(client, users, settings, tmp_path):
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "main.tf").write_text("")
    settings.SLIPWAY_TERRAFORM_BLUEPRINTS_DIR = tmp_path
    html = page(client, users["admin"], "/clusters/new/")
    assert 'value="local"' in html and 'value="aws-eks"' not in html


def test_new_blueprint_without_components_says_to_add_one(client, users):
    html = page(client, users["admin"], "/catalog/blueprints/new/")
    assert "No component exists yet, and a blueprint is a set of components" in html
    call_command("seed_demo_blueprint", verbosity=0)
    html = page(client, users["admin"], "/catalog/blueprints/new/")
    assert "No component exists yet" not in html and 'value="web"' in html


def test_new_component_without_registry_says_versions_are_entered_by_hand(client, users):
    html = page(client, users["admin"], "/catalog/components/new/")
    assert "No registry is configured yet: this component&#x27;s versions are entered by hand" in html
