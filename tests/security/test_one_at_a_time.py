"""Class 10: one thing at a time where it matters, held by the database (partial unique constraints).

Each race fires concurrent requests from threads, each with its own connection to the real PostgreSQL,
released together by a barrier: exactly one wins, the others get the same clear 4xx as a sequential
second request. Jobs are only queued here (no eager run), so the winner stays active while the others try.
"""

import functools
import json
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from clusters.models import Cluster
from clusters.terraform import Backend, StateLocked
from environments.models import Blueprint, Environment, EnvironmentRevision
from migrations_tool.models import DataCopy, DataStore
from portal import aws
from portal.accounts import roles
from portal.accounts.models import Team
from portal.celery import app as celery_app
from portal.jobs.models import Job
from tests.factories import JobFactory, TeamFactory, UserFactory
from tests.racing import race

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RACERS = 4


@pytest.fixture(autouse=True)
def queued_not_run(monkeypatch):
    """Jobs go to the (in-memory) broker instead of running in the request: the winner stays active."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def race_requests(user, method, path, bodies):
    """POST (or …) every body at once, one thread and connection each; the responses in thread order."""
    return race(*[functools.partial(getattr(client_for(user), method), path, body, format="json") for body in bodies])


def one_winner(responses, won, refusal):
    codes = [r.status_code for r in responses]
    assert codes.count(won) == 1, [(r.status_code, r.json()) for r in responses]
    refused = [r for r in responses if r.status_code != won]
    assert all(r.status_code == 400 for r in refused), [(r.status_code, r.content[:300]) for r in refused]
    assert all(refusal in r.json()["error"]["message"] + str(r.json()["error"].get("fields")) for r in refused)


@pytest.fixture
def world():
    team = TeamFactory(slug="race")
    qa = UserFactory(username="qa-racer", roles=[roles.QA], teams=[team])
    admin = UserFactory(username="admin-racer", roles=[roles.PLATFORM_ADMINS])
    cluster = Cluster.objects.create(name="race-cluster", kind="existing", kubeconfig="{}")
    blueprint = Blueprint.objects.create(name="race-bp")

    def environment(name):
        env = Environment.objects.create(name=name, cluster=cluster, namespace=f"slw-{name}", blueprint=blueprint,
                                         stage="qa", team=team, owner=qa, status="ready")
        # never reached: the copies are only queued
        DataStore.objects.create(environment=env, kind="mysql", name="db", host="127.0.0.1", port=1, database=name)
        return env

    return {"team": team, "qa": qa, "admin": admin, "cluster": cluster, "source": environment("race-src"),
            "target": environment("race-dst")}


def test_the_database_holds_one_active_copy_per_target(world):
    """Whatever path writes the row (a service, a shell, a future endpoint), a second active copy is refused."""
    def copy(state):
        return DataCopy.objects.create(source=world["source"], target=world["target"], team=world["team"],
                                       stores=["mysql"], job=JobFactory(), state=state)

    copy(DataCopy.VERIFIED)
    copy(DataCopy.QUEUED)
    for state in DataCopy.ACTIVE:
        with pytest.raises(IntegrityError), transaction.atomic():
            copy(state)
    copy(DataCopy.FAILED)  # finished copies are history, any number of them


def test_concurrent_copies_into_one_target_start_exactly_one(world):
    body = {"source": world["source"].pk, "target": world["target"].pk, "stores": ["mysql"]}
    responses = race_requests(world["qa"], "post", "/api/v1/data-copies/", [body] * RACERS)
    one_winner(responses, 202, "already running")
    assert DataCopy.objects.filter(target=world["target"]).count() == 1
    assert Job.objects.filter(kind="data_copy").count() == 1  # nothing half-created by the losers


def test_an_undo_racing_new_copies_into_its_target_lets_one_through(world):
    done = DataCopy.objects.create(source=world["source"], target=world["target"], team=world["team"],
                                   stores=["mysql"], job=JobFactory(), state=DataCopy.VERIFIED,
                                   snapshots={"mysql": {"kind": "mysql"}}, started_by=world["qa"],
                                   finished_at=timezone.now(), undo_until=timezone.now() + timedelta(hours=1))
    copy_body = {"source": world["source"].pk, "target": world["target"].pk, "stores": ["mysql"]}
    client = client_for(world["qa"])
    results = race(functools.partial(client.post, f"/api/v1/data-copies/{done.pk}/undo/"),
                   *[functools.partial(client_for(world["qa"]).post, "/api/v1/data-copies/", copy_body, format="json")
                     for _ in range(RACERS - 1)])
    assert [r.status_code for r in results].count(202) == 1, [(r.status_code, r.json()) for r in results]
    assert all(r.status_code == 400 for r in results if r.status_code != 202)
    assert DataCopy.objects.filter(target=world["target"], state__in=DataCopy.ACTIVE).count() == 1


def test_concurrent_destroys_of_one_environment_start_one_job(world):
    target = world["target"]
    responses = race_requests(world["qa"], "post", f"/api/v1/environments/{target.pk}/destroy/", [{}] * RACERS)
    one_winner(responses, 202, "already queued")
    assert Job.objects.filter(kind="destroy", target_id=str(target.pk)).count() == 1
    # a second destroy while the first is queued gets the same answer
    again = race_requests(world["qa"], "post", f"/api/v1/environments/{target.pk}/destroy/", [{}])
    assert again[0].status_code == 400 and "already queued" in again[0].json()["error"]["message"]


def test_concurrent_dns_sweeps_start_one(world):
    responses = race_requests(world["admin"], "post", "/api/v1/dns/sweeps/", [{}] * RACERS)
    one_winner(responses, 202, "already queued")
    assert Job.objects.filter(kind="dns-sweep").count() == 1


def test_concurrent_add_on_installs_on_one_cluster_start_one(world):
    cluster = world["cluster"]
    responses = race_requests(world["admin"], "post", f"/api/v1/clusters/{cluster.pk}/addons/", [{}] * RACERS)
    codes = [r.status_code for r in responses]
    won = next(c for c in codes if c < 300)
    one_winner(responses, won, "already queued")
    assert Job.objects.filter(kind="cluster-addons").count() == 1


def test_concurrent_creations_of_one_team_slug_give_one_team_and_clear_refusals(world):
    body = {"slug": "twins", "name": "Twins"}
    responses = race_requests(world["admin"], "post", "/api/v1/teams/", [body] * RACERS)
    one_winner(responses, 201, "already exists")
    assert Team.objects.filter(slug="twins").count() == 1


def test_concurrent_creations_of_one_cluster_name_give_one_cluster_and_clear_refusals(world, settings):
    body = {"name": "twin-cluster", "kind": "local"}
    responses = race_requests(world["admin"], "post", "/api/v1/clusters/", [body] * RACERS)
    codes = [r.status_code for r in responses]
    won = next(c for c in codes if c < 300)
    one_winner(responses, won, "already")
    assert Cluster.objects.filter(name="twin-cluster").count() == 1


def test_concurrent_creations_of_one_username_give_one_user_and_clear_refusals(world):
    body = {"username": "twin", "roles": [roles.QA]}
    responses = race_requests(world["admin"], "post", "/api/v1/users/", [body] * RACERS)
    codes = [r.status_code for r in responses]
    won = next(c for c in codes if c < 300)
    one_winner(responses, won, "is taken")
    assert get_user_model().objects.filter(username="twin").count() == 1


def test_concurrent_terraform_runs_on_one_cluster_start_one(world, settings):
    """The rule the others follow (TerraformRun's one_active_terraform_run), through the API."""
    cluster = Cluster.objects.create(name="tf-race", kind="local", managed_by_terraform=True, status="ready")
    responses = race_requests(world["admin"], "post", f"/api/v1/clusters/{cluster.pk}/runs/", [{"action": "plan"}] * RACERS)
    codes = [r.status_code for r in responses]
    won = next(c for c in codes if c < 300)
    one_winner(responses, won, "already has run")


@pytest.fixture
def state_cluster(aws_settings):
    """A Terraform-managed cluster whose versioned state bucket on moto holds two state versions."""
    s3 = aws.client("s3")
    bucket, key = f"race-state-{uuid.uuid4().hex[:8]}", "clusters/race/terraform.tfstate"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    versions = [s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"lineage": "l-1", "serial": serial}).encode())
                ["VersionId"] for serial in (1, 2)]
    cluster = Cluster.objects.create(name="race-tf", kind="local", managed_by_terraform=True, status="ready",
                                     state_bucket=bucket, state_key=key, state_lineage="l-1", state_serial=2)
    yield {"cluster": cluster, "s3": s3, "bucket": bucket, "key": key, "versions": versions}
    listing = s3.list_object_versions(Bucket=bucket)
    for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    s3.delete_bucket(Bucket=bucket)


def serial_of(world):
    return json.loads(world["s3"].get_object(Bucket=world["bucket"], Key=world["key"])["Body"].read())["serial"]


def test_a_state_restore_waits_its_turn_behind_terraforms_state_lock(world, state_cluster):
    """A run holding Terraform's lock file (as `use_lockfile` writes it) and a restore never overlap."""
    s3, cluster, older = state_cluster["s3"], state_cluster["cluster"], state_cluster["versions"][0]
    lock_key = f"{state_cluster['key']}.tflock"
    s3.put_object(Bucket=state_cluster["bucket"], Key=lock_key, Body=json.dumps(
        {"ID": "run-lock-1", "Operation": "OperationTypeApply", "Who": "worker@host"}).encode())
    refused = race_requests(world["admin"], "post", f"/api/v1/clusters/{cluster.pk}/state/restore/", [{"version_id": older}])
    assert refused[0].status_code == 400, refused[0].content[:300]
    assert "locked" in refused[0].json()["error"]["message"] and "run-lock-1" in refused[0].json()["error"]["message"]
    assert serial_of(state_cluster) == 2  # nothing was restored under the run's feet

    s3.delete_object(Bucket=state_cluster["bucket"], Key=lock_key)  # the run ended
    done = race_requests(world["admin"], "post", f"/api/v1/clusters/{cluster.pk}/state/restore/", [{"version_id": older}])
    assert done[0].status_code == 200 and serial_of(state_cluster) == 1
    assert Backend(bucket=state_cluster["bucket"], key=state_cluster["key"], region="us-east-1").lock() is None


def test_two_holders_of_the_state_lock_cannot_overlap(state_cluster):
    backend = Backend(bucket=state_cluster["bucket"], key=state_cluster["key"], region="us-east-1")
    with backend.holding_lock(operation="slipway state restore", who="alice") as held:
        with pytest.raises(StateLocked) as second, backend.holding_lock(operation="slipway state accept", who="bob"):
            pass
        assert second.value.lock["ID"] == held["ID"] and second.value.lock["Who"] == "alice"
    assert backend.lock() is None


def test_two_last_admins_removing_each_other_at_once_leave_one(world):
    """Not a uniqueness but the same check-then-act: "the last active Platform admin stays one"."""
    first, second = world["admin"], UserFactory(username="admin-twin", roles=[roles.PLATFORM_ADMINS])
    results = race(*[functools.partial(client_for(by).post, f"/api/v1/users/{whom.pk}/deactivate/")
                     for by, whom in ((first, second), (second, first))])
    assert sorted(r.status_code for r in results) == [200, 400], [(r.status_code, r.content[:200]) for r in results]
    refused = next(r for r in results if r.status_code == 400)
    assert "last active Platform admin" in refused.json()["error"]["message"]
    assert get_user_model().objects.filter(is_active=True, groups__name=roles.PLATFORM_ADMINS).count() == 1


@pytest.mark.parametrize("failed_job", ["rollout", "destroy"])
def test_concurrent_retries_of_a_failed_environment_start_one_job(world, failed_job):
    """Held by a row lock on the environment (and, for a destroy, by one_active_exclusive_job as well)."""
    environment = world["target"]
    revision = EnvironmentRevision.objects.create(environment=environment, number=1, snapshot={"components": []})
    Environment.objects.filter(pk=environment.pk).update(current_revision=revision, status=Environment.FAILED)
    JobFactory(kind=failed_job, state=Job.FAILED, target_type="environments.environment",
               target_id=str(environment.pk))
    responses = race_requests(world["qa"], "post", f"/api/v1/environments/{environment.pk}/retry/", [{}] * RACERS)
    one_winner(responses, 202, "")
    for refused in (r for r in responses if r.status_code == 400):  # the second sees the job, or the new status
        message = refused.json()["error"]["message"]
        assert "already running" in message or "Only a failed environment can be retried" in message, message
    assert Job.objects.filter(target_id=str(environment.pk), state=Job.QUEUED).count() == 1
