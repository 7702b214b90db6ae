
import functools

import pytest
import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from clusters.models import Cluster
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from tests.racing import race

KUBECONFIG = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "c",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}], "users": [{"name": "u", "user": {}}]})
VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}


@pytest.fixture
def shop(db):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    return Blueprint.objects.get(name="shop"), cluster


def create(user, shop, team, **overrides):
    blueprint, cluster = shop
    kwargs = {"name": "qa-1", "stage": "qa", "versions": dict(VERSIONS), "ttl_hours": 24} | overrides
    return environment_create(actor=Actor.for_user(user), user=user, cluster=cluster, blueprint=blueprint,
                              team=team, **kwargs)


def test_create_records_revision_job_and_audit(users, team, shop):
    environment = create(users["qa"], shop, team)
    assert environment.namespace == "slw-qa-1"
    assert environment.status == "pending" and environment.owner == users["qa"]
    revision = environment.current_revision
    assert revision.number == 1
    assert {c["name"]: c["tag"] for c in revision.snapshot["components"]} == VERSIONS
    assert revision.snapshot["backing_services"][0]["kind"] == "mariadb"
    job = Job.objects.get(rollout__environment=environment)
    assert (job.kind, job.state, job.team) == ("rollout", "queued", team)
    event = AuditEvent.objects.get(action="environment.create")
    assert (event.outcome, event.team_slug, event.object_id) == ("success", "payments", str(environment.pk))


def test_stage_overrides_only_differ_where_declared(users, team, shop):
    prod = create(users["admin"], shop, team, name="prod-1", stage="prod")
    qa = create(users["qa"], shop, team, name="qa-2")
    by_name = {c["name"]: c for c in prod.current_revision.snapshot["components"]}
    qa_by_name = {c["name"]: c for c in qa.current_revision.snapshot["components"]}
    assert by_name["web"]["replicas"] == 3 and by_name["web"]["autoscaling_max"] == 10
    assert qa_by_name["web"]["replicas"] == 1 and qa_by_name["web"]["autoscaling_max"] is None
    assert by_name["worker"] == qa_by_name["worker"]


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"name": "Bad_Name"}, "name", "lower-case letters"),
    ({"versions": {"web": "9.9.9", "api": "2.1.0", "worker": "2.0.1"}}, "versions", "'9.9.9' is not a known version"),
    ({"versions": {"web": "1.5.0"}}, "versions", "Choose a version for 'api'"),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_left(users, team, shop, overrides, field, message):
    with pytest.raises(ValidationError) as refused:
        create(users["qa"], shop, team, **overrides)
    assert message in " ".join(refused.value.message_dict[field])
    assert not Environment.objects.exists() and not Job.objects.exists()
    assert AuditEvent.objects.get(action="environment.create").outcome == "failure"


def test_duplicate_name_is_refused(users, team, shop):
    create(users["qa"], shop, team)
    with pytest.raises(ValidationError, match="already exists"):
        create(users["developer"], shop, team)
    assert Environment.objects.count() == 1


def test_permissions(users, team, shop):
    with pytest.raises(PermissionDenied):
        create(users["qa"], shop, team, stage="prod")
    with pytest.raises(PermissionDenied):
        create(users["manager"], shop, team)
    with pytest.raises(PermissionDenied):
        create(users["outsider"], shop, team)
    assert not Environment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_same_name_creation_lets_exactly_one_through(shop):
    from tests.factories import TeamFactory, UserFactory

    team = TeamFactory(slug="race")
    users = [UserFactory(username=f"racer{n}", roles=["QA"], teams=[team]) for n in range(4)]
    outcomes = race(*[functools.partial(create, user, shop, team, name="same-name") for user in users])
    assert sum(isinstance(o, Environment) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, ValidationError) and "already exists" in str(o)
               for o in outcomes if not isinstance(o, Environment))
    assert Environment.objects.filter(name="same-name").count() == 1


def test_api_create_and_list(users, team, shop, api_for):
    blueprint, _ = shop
    client = api_for(users["qa"])
    response = client.post("/api/v1/environments/", {"name": "api-made", "cluster": "local", "blueprint": blueprint.pk,
                                                      "team": "payments", "versions": VERSIONS}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["versions"] == VERSIONS and response.json()["status"] == "pending"
    bad = client.post("/api/v1/environments/", {"name": "x", "cluster": "nope", "blueprint": blueprint.pk,
                                                "team": "payments", "versions": VERSIONS}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["cluster"]
    assert [e["name"] for e in client.get("/api/v1/environments/").json()["results"]] == ["api-made"]
    assert api_for(users["outsider"]).get("/api/v1/environments/").status_code == 403  # no role: refused


def test_update_versions_refusals(users, team, shop, api_for):
    from environments.services import environment_update_versions

    environment = create(users["qa"], shop, team)
    actor = Actor.for_user(users["qa"])
    with pytest.raises(ValidationError, match="already the environment's versions"):
        environment_update_versions(actor=actor, user=users["qa"], environment=environment, versions={"web": "1.5.0"})
    with pytest.raises(ValidationError, match="not a component"):
        environment_update_versions(actor=actor, user=users["qa"], environment=environment, versions={"db": "1"})
    with pytest.raises(ValidationError, match="not a known version"):
        environment_update_versions(actor=actor, user=users["qa"], environment=environment, versions={"web": "0.0"})
    with pytest.raises(PermissionDenied):
        environment_update_versions(actor=Actor.for_user(users["manager"]), user=users["manager"],
                                    environment=environment, versions={"web": "1.4.2"})
    assert environment.revisions.count() == 1
    response = api_for(users["manager"]).post(f"/api/v1/environments/{environment.pk}/destroy/")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    response = api_for(users["qa"]).post(f"/api/v1/environments/{environment.pk}/versions/",
                                         {"versions": {"web": "1.4.2"}}, format="json")
    assert response.status_code == 202 and response.json()["kind"] == "rollout"
    assert environment.revisions.count() == 2
    failures = AuditEvent.objects.filter(action="environment.update_versions", outcome="failure").count()
    assert failures == 4


def test_environment_pages_render(users, team, shop, client):
    environment = create(users["qa"], shop, team)
    client.force_login(users["qa"])
    assert b"qa-1" in client.get("/environments/").content
    page = client.get(f"/environments/{environment.pk}/")
    assert page.status_code == 200 and b"Roll out new revision" in page.content
    picker = client.get("/environments/new/versions/", {"blueprint": shop[0].pk})
    assert b'name="version-web"' in picker.content and b"1.6.0-rc1" in picker.content
    client.force_login(users["manager"])
    assert b"Roll out new revision" not in client.get(f"/environments/{environment.pk}/").content
    client.force_login(users["outsider"])
    assert client.get(f"/environments/{environment.pk}/").status_code == 403  # no role: refused


def test_stages_differ_only_in_declared_ways(users, team, shop, api_for):
    qa = create(users["qa"], shop, team, name="cmp-qa")
    prod = create(users["admin"], shop, team, name="cmp-prod", stage="prod",
                  versions={"web": "1.4.2", "api": "2.1.0", "worker": "2.0.1"})
    rows = api_for(users["admin"]).get(f"/api/v1/environments/{qa.pk}/compare/", {"with": prod.pk}).json()
    kinds = {r["kind"] for r in rows}
    assert "undeclared" not in kinds, [r for r in rows if r["kind"] == "undeclared"]
    assert {"version", "override", "identity", "backing"} <= kinds
    image = next(r for r in rows if r["path"].endswith("containers[name=web].image"))
    assert (image["a"], image["b"]) == ("registry.example.com/shop/web:1.5.0", "registry.example.com/shop/web:1.4.2")
    assert all("password" not in str(r["a"]).lower() for r in rows)
    same = create(users["qa"], shop, team, name="cmp-qa2")
    assert {r["kind"] for r in api_for(users["qa"]).get(f"/api/v1/environments/{qa.pk}/compare/",
                                                         {"with": same.pk}).json()} <= {"identity"}


def test_extend_clears_the_expiry_notice(users, team, shop):
    from datetime import timedelta

    from django.utils import timezone

    from environments.services import environment_extend, environments_expire

    environment = create(users["qa"], shop, team, ttl_hours=2)
    assert environments_expire() == []
    environment.refresh_from_db()
    assert environment.expiry_notified_at is not None
    environment_extend(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment, hours=48)
    environment.refresh_from_db()
    assert environment.expiry_notified_at is None
    assert environment.expires_at > timezone.now() + timedelta(hours=47)
    with pytest.raises(ValidationError, match="Extend by 1 hour to 30 days"):
        environment_extend(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment, hours=0)


def test_unreachable_cluster_fails_with_a_clear_message(users, team, shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(users["qa"], shop, team, name="no-cluster")
    environment.refresh_from_db()
    job = Job.objects.get(rollout__environment=environment)
    assert environment.status == "failed"
    assert environment.status_message.startswith("Cluster local is unreachable at")
    assert "MaxRetryError" in environment.status_message
    assert job.state == "failed" and "unreachable" in job.error


def test_destroy_checks_a_typed_name_when_one_is_given(users, team, shop, client, api_for):
    """The page's dialog posts the typed name; the view and the API refuse a wrong one, and the API
    still destroys without one (scripts need not type)."""
    first = create(users["qa"], shop, team, name="typed-1")
    client.force_login(users["qa"])
    page = client.post(f"/environments/{first.pk}/destroy/", {"confirm_name": "typed-2"}, follow=True)
    assert "Type the environment&#x27;s name (typed-1) to confirm; nothing was destroyed." in page.content.decode()
    first.refresh_from_db()
    assert first.status != Environment.DESTROYING
    refused = AuditEvent.objects.get(action="environment.destroy", outcome="failure")
    assert refused.object_id == str(first.pk)

    wrong = api_for(users["qa"]).post(f"/api/v1/environments/{first.pk}/destroy/", {"confirm_name": "nope"},
                                      format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["fields"]["confirm_name"] == [
        "Type the environment's name (typed-1) to confirm; nothing was destroyed."]
    first.refresh_from_db()
    assert first.status != Environment.DESTROYING

    page = client.post(f"/environments/{first.pk}/destroy/", {"confirm_name": "typed-1"}, follow=True)
    assert b"The environment is being destroyed." in page.content
    assert Job.objects.filter(kind="destroy", target_id=str(first.pk)).exists()

    second = create(users["qa"], shop, team, name="typed-2")
    untyped = api_for(users["qa"]).post(f"/api/v1/environments/{second.pk}/destroy/")
    assert untyped.status_code == 202 and untyped.json()["kind"] == "destroy"
