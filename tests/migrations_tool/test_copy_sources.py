""""Copy data from…" offers only environments with a store of a kind the target has, says why others are
left out and what to do when none is left; the API's sources list says the same."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from clusters.models import Cluster
from environments.models import Blueprint, Environment
from environments.services import environment_create
from migrations_tool.models import DataStore
from portal.audit.actor import Actor
from tests.environments.test_services import KUBECONFIG, VERSIONS
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def make(users, team):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    blueprint = Blueprint.objects.get(name="shop")

    def environment(name: str, *kinds: str, team_=None, state: str = DataStore.READY) -> Environment:
        created = environment_create(actor=Actor.for_user(users["admin"]), user=users["admin"], cluster=cluster,
                                     blueprint=blueprint, name=name, stage="qa", team=team_ or team,
                                     versions=dict(VERSIONS))
        for kind in kinds:
            DataStore.objects.create(environment=created, kind=kind, name=f"{name}-{kind}", state=state)
        return created

    return environment


def copy_form(client, user, target) -> str:
    client.force_login(user)
    response = client.get(f"/environments/{target.pk}/copy-data/")
    assert response.status_code == 200
    return response.content.decode()


def test_only_sources_sharing_a_kind_of_store_are_offered(client, users, make):
    target = make("target", "mysql", "redis")
    make("with-mysql", "mysql")
    make("with-redis-s3", "redis", "s3")
    make("only-s3", "s3")
    make("no-stores")
    make("retired-mysql", "mysql", state=DataStore.RETIRING)
    html = copy_form(client, users["qa"], target)
    assert "with-mysql (QA, payments) — mysql</option>" in html
    assert "with-redis-s3 (QA, payments) — redis</option>" in html
    for name in ("only-s3", "no-stores", "retired-mysql"):
        assert f"{name} (" not in html
    assert "3 other environments you can see are not listed: no MySQL/MariaDB or Redis store." in html
    # Only the target's kinds of store can be ticked.
    assert 'value="mysql"' in html and 'value="redis"' in html and 'value="s3"' not in html
    assert "Start copy" in html


def test_no_source_says_what_to_do(client, users, make):
    target = make("target", "mysql")
    make("only-s3", "s3")
    make("elsewhere", "mysql", team_=TeamFactory(slug="search"))  # another team's: qa cannot see it
    html = copy_form(client, users["qa"], target)
    assert "No other environment you can see has a store of the kind target has (MySQL/MariaDB) to copy from." in html
    assert "Create one from a blueprint with that backing service (e.g. shop v1)" in html
    assert "Start copy" not in html and "Back to target" in html


def test_a_target_without_stores_says_there_is_nothing_to_copy_into(client, users, make):
    target = make("target")
    make("with-mysql", "mysql")
    html = copy_form(client, users["qa"], target)
    assert "target has no data store: its blueprint (shop v1) declares no MySQL/MariaDB, Redis or S3" in html
    assert "Start copy" not in html


def test_the_only_source_is_preselected_with_the_stores_both_have(client, users, make):
    target = make("target", "mysql", "redis")
    source = make("source", "mysql")
    html = copy_form(client, users["qa"], target)
    assert f'<option value="{source.pk}" selected>source (QA, payments) — mysql</option>' in html
    assert 'value="mysql" id="id_stores_0" checked>' in html
    assert 'value="redis" id="id_stores_1">' in html  # offered (the target has it), not ticked


def test_posting_an_unlisted_source_is_refused_on_the_form(client, users, make):
    target = make("target", "mysql")
    make("source", "mysql")
    other = make("only-s3", "s3")
    client.force_login(users["qa"])
    response = client.post(f"/environments/{target.pk}/copy-data/", {"source": other.pk, "stores": ["mysql"]})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_api_lists_the_same_sources_with_notes(api_for, users, make):
    target = make("target", "mysql", "redis")
    source = make("with-mysql", "mysql", "s3")
    make("only-s3", "s3")
    api = api_for(users["qa"])
    body = api.get("/api/v1/data-copies/sources/", {"target": target.pk}).json()
    assert body == {"target_kinds": ["mysql", "redis"],
                    "sources": [{"id": source.pk, "name": "with-mysql", "stage": "qa", "team": "payments",
                                 "kinds": ["mysql"]}],
                    "notes": ["1 other environment you can see is not listed: no MySQL/MariaDB or Redis store."]}
    bad = api.get("/api/v1/data-copies/sources/")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["target"]
    assert api_for(users["outsider"]).get("/api/v1/data-copies/sources/", {"target": target.pk}).status_code == 403
