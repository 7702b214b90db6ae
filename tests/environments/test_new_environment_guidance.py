""""New environment" guides: why the cluster list is empty (local cluster building vs none registered),
what is preselected (the only/default cluster, the user's team, the only blueprint), and the API's
create mirrors both (defaults for omitted fields, a clear 400 when there is no cluster)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from clusters import local_status
from clusters.models import Cluster
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from tests.factories import TeamFactory, UserFactory

from .test_services import KUBECONFIG, VERSIONS

pytestmark = pytest.mark.django_db

BUILDING_TEXT = "The local Kubernetes cluster is being built"
NONE_TEXT = "No cluster is registered yet: a Platform admin can create one (Clusters → New cluster)"


@pytest.fixture(autouse=True)
def status_file(settings, tmp_path):
    settings.SLIPWAY_LOCAL_CLUSTER_STATUS_FILE = tmp_path / "local-cluster.json"
    return settings.SLIPWAY_LOCAL_CLUSTER_STATUS_FILE


@pytest.fixture
def demo(db):
    call_command("seed_demo_blueprint", verbosity=0)
    return Blueprint.objects.get(name="shop")


def new_page(client, user) -> str:
    client.force_login(user)
    response = client.get("/environments/new/")
    assert response.status_code == 200
    return response.content.decode()


def test_no_cluster_while_the_local_cluster_builds_says_when_and_polls(client, users, demo):
    local_status.local_cluster_status_write(state=local_status.BUILDING,
                                            started_at=timezone.now() - timedelta(minutes=4))
    html = new_page(client, users["qa"])
    assert BUILDING_TEXT in html and "started 4 min ago" in html and "~15 minutes on first start" in html
    assert NONE_TEXT not in html
    assert 'hx-trigger="every 5s"' in html  # the field fetches itself again until the cluster is there
    assert 'disabled aria-describedby="environment-submit-why"' in html


def test_no_cluster_and_nothing_building_says_who_can_add_one(client, users, demo):
    html = new_page(client, users["qa"])
    assert NONE_TEXT in html and BUILDING_TEXT not in html
    assert 'hx-trigger="every 5s"' not in html
    assert "/clusters/register/" not in html  # the links are for Platform admins
    assert "/clusters/register/" in new_page(client, users["admin"])


def test_a_building_record_left_by_a_dead_make_run_is_not_believed(client, users, demo):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    local_status.local_cluster_status_write(state=local_status.BUILDING, pid=int(finished.stdout))
    assert local_status.local_cluster_status() is None
    assert NONE_TEXT in new_page(client, users["qa"])
    # Nor is one that has been "building" for hours.
    local_status.local_cluster_status_write(state=local_status.BUILDING,
                                            started_at=timezone.now() - timedelta(hours=3))
    assert local_status.local_cluster_status() is None


def test_a_failed_local_cluster_says_so(client, users, demo):
    local_status.local_cluster_status_write(state=local_status.FAILED, message="no Go toolchain")
    html = new_page(client, users["qa"])
    assert "The local Kubernetes cluster did not start (no Go toolchain)" in html


def test_tracked_start_records_building_then_up_or_failed(db):
    seen = []

    earlier = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    Cluster.objects.filter(pk=earlier.pk).update(updated_at=timezone.now() - timedelta(days=1))

    def start_without_registering() -> None:
        seen.append(local_status.local_cluster_status().state)

    # A local cluster left registered by an earlier run does not make a failed start a success.
    local_status.local_cluster_start_tracked(start_without_registering)()
    assert seen == ["building"] and local_status.local_cluster_status().state == "failed"

    def start_and_register() -> None:
        earlier.save()  # what cluster_register does with the fresh kubeconfig

    local_status.local_cluster_start_tracked(start_and_register)()
    status = local_status.local_cluster_status()
    assert status.state == "up" and status.message == ""

    def start_and_crash() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        local_status.local_cluster_start_tracked(start_and_crash)()
    assert local_status.local_cluster_status().state == "failed"


def test_cluster_field_fragment_turns_into_the_select_when_the_cluster_arrives(client, users, demo):
    local_status.local_cluster_status_write(state=local_status.BUILDING)
    client.force_login(users["qa"])
    waiting = client.get("/environments/new/cluster/").content.decode()
    assert BUILDING_TEXT in waiting and "every 5s" in waiting and 'id="environment-submit"' not in waiting
    assert "/environments/new/cluster/?waiting=building" in waiting
    # Polled while nothing changed: an empty answer, so HTMX swaps nothing and nothing is re-announced.
    unchanged = client.get("/environments/new/cluster/?waiting=building")
    assert unchanged.status_code == 204 and unchanged.content == b""
    Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    ready = client.get("/environments/new/cluster/?waiting=building").content.decode()
    assert BUILDING_TEXT not in ready and "every 5s" not in ready
    assert '<option value="local" selected>local</option>' in ready
    # The enabled submit button comes along, out of band.
    assert 'id="environment-submit" hx-swap-oob="true"' in ready and "disabled" not in ready


def test_posting_without_a_cluster_explains_instead_of_failing(client, users, demo, team):
    client.force_login(users["qa"])
    response = client.post("/environments/new/", {"name": "qa-1", "blueprint": demo.pk, "stage": "qa",
                                                  "team": team.slug, **{f"version-{c}": v for c, v in VERSIONS.items()}})
    assert response.status_code == 200
    assert NONE_TEXT in response.content.decode()
    assert not Environment.objects.exists()


def test_destroyed_and_unapplied_clusters_are_not_offered(client, users, demo):
    Cluster.objects.create(name="gone", kind="local", status=Cluster.DESTROYED)
    Cluster.objects.create(name="coming", kind="aws-eks", managed_by_terraform=True, status=Cluster.PROVISIONING)
    html = new_page(client, users["qa"])
    assert 'value="gone"' not in html and 'value="coming"' not in html
    assert "Cluster coming is being created by Terraform" in html and 'hx-trigger="every 5s"' in html


def test_the_only_team_cluster_and_blueprint_are_preselected(client, users, demo, team):
    Cluster.objects.create(name="only", kind="existing", kubeconfig=KUBECONFIG)  # not marked default
    html = new_page(client, users["qa"])
    assert '<option value="only" selected>only</option>' in html
    assert f'<option value="{team.slug}" selected>' in html
    assert f'<option value="{demo.pk}" selected>shop v1</option>' in html
    assert 'id="version-web"' in html  # the blueprint's version picker is there without a first pick


def test_several_teams_default_to_the_last_used(client, demo, team):
    other = TeamFactory(slug="search", name="Search")
    user = UserFactory(username="multi", roles=["QA"], teams=[team, other])
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    Cluster.objects.create(name="second", kind="existing", kubeconfig=KUBECONFIG)
    html = new_page(client, user)
    assert "selected>Payments" not in html and "selected>Search" not in html  # nothing to go by yet
    assert '<option value="local" selected>local</option>' in html  # the default of two clusters
    environment_create(actor=Actor.for_user(user), user=user, cluster=cluster, blueprint=demo, name="s-1",
                       stage="qa", team=other, versions=dict(VERSIONS))
    assert '<option value="search" selected>Search</option>' in new_page(client, user)


def test_a_user_in_no_team_is_told_so(client, demo):
    loner = UserFactory(username="loner", roles=["QA"])
    assert "You are not in any team yet" in new_page(client, loner)


def test_no_blueprint_is_explained(client, users):
    assert "No blueprint exists yet" in new_page(client, users["qa"])


def test_clone_preselects_the_source_team(client, users, demo, team):
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    TeamFactory(slug="search").members.add(users["qa"])
    source = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                blueprint=demo, name="qa-1", stage="qa", team=team, versions=dict(VERSIONS))
    client.force_login(users["qa"])
    html = client.get(f"/environments/{source.pk}/clone/").content.decode()
    assert '<option value="payments" selected>' in html


# The API mirrors the form.

def test_api_create_without_a_cluster_is_a_clear_400(api_for, users, demo, team):
    body = {"name": "qa-1", "blueprint": demo.pk, "team": team.slug, "versions": VERSIONS}
    response = api_for(users["qa"]).post("/api/v1/environments/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"]["cluster"] == [error["message"].removeprefix("cluster: ")]
    assert NONE_TEXT in error["message"]

    local_status.local_cluster_status_write(state=local_status.BUILDING)
    response = api_for(users["qa"]).post("/api/v1/environments/", {**body, "cluster": "local"}, format="json")
    assert response.status_code == 400 and BUILDING_TEXT in response.json()["error"]["fields"]["cluster"][0]
    assert not Environment.objects.exists()


def test_api_create_fills_in_the_defaults(api_for, users, demo, team):
    Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    response = api_for(users["qa"]).post("/api/v1/environments/", {"name": "qa-1", "versions": VERSIONS},
                                         format="json")
    assert response.status_code == 201, response.content
    assert {k: response.json()[k] for k in ("cluster", "team", "blueprint")} == {
        "cluster": "local", "team": team.slug, "blueprint": "shop v1"}


def test_api_create_names_each_missing_choice_without_a_default(api_for, demo):
    TeamFactory(slug="a").members.add(user := UserFactory(username="two-teams", roles=["QA"]))
    TeamFactory(slug="b").members.add(user)
    Cluster.objects.create(name="one", kind="existing", kubeconfig=KUBECONFIG)
    Cluster.objects.create(name="two", kind="existing", kubeconfig=KUBECONFIG)
    response = api_for(user).post("/api/v1/environments/", {"name": "qa-1", "versions": VERSIONS}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "cluster": ["Choose a cluster: there are several and no default."],
        "team": ["Choose a team: there are several and no default."]}


def test_api_clone_defaults_to_the_source_team(api_for, users, demo, team):
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    TeamFactory(slug="search").members.add(users["qa"])
    source = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                blueprint=demo, name="qa-1", stage="qa", team=team, versions=dict(VERSIONS))
    response = api_for(users["qa"]).post(f"/api/v1/environments/{source.pk}/clone/", {"name": "qa-2"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["team"] == "payments"


def test_a_document_naming_a_cluster_when_there_is_none_says_why(users, demo, team):
    from environments import documents

    from .test_documents import doc

    local_status.local_cluster_status_write(state=local_status.BUILDING)
    with pytest.raises(ValidationError) as refused:
        documents.apply_document(doc(), actor=Actor.for_user(users["qa"]), user=users["qa"])
    [message] = refused.value.message_dict["metadata.cluster"]
    assert message.startswith("No cluster is named 'local'. " + BUILDING_TEXT)
