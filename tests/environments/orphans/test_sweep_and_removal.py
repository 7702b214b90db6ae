"""The sweeper finds exactly the planted orphans (never a live look-alike, another installation's thing or
an unrelated namespace), prices them, removes them and nothing else, and never deletes a namespace an
environment took meanwhile."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from kubernetes.client.rest import ApiException

from environments.hostnames import route53
from environments.orphans.lifecycle import ORPHAN_STATE
from environments.orphans.models import Orphan
from environments.orphans.orphan_removal import orphan_remove
from environments.orphans.services import orphans_remove_start, orphans_sweep_start
from migrations_tool import store_inventory
from portal import aws
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job

from .conftest import environment

pytestmark = pytest.mark.integration


def sweep(users, capture) -> Job:
    with capture(execute=True):
        job = orphans_sweep_start(actor=Actor.for_user(users["admin"]), user=users["admin"])
    job.refresh_from_db()
    assert job.state == Job.SUCCEEDED, job.error
    return job


def found(state=Orphan.FOUND) -> dict[str, set[tuple[str, str]]]:
    rows: dict[str, set[tuple[str, str]]] = {}
    for o in Orphan.objects.filter(state=state):
        rows.setdefault(o.kind, set()).add((o.location, o.name))
    return rows


def namespace_exists(world, name) -> bool:
    try:
        world["core"].read_namespace(name)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def test_sweep_finds_exactly_the_planted_orphans_with_their_costs(orphan_world, users,
                                                                  django_capture_on_commit_callbacks):
    world = orphan_world
    sweep(users, django_capture_on_commit_callbacks)
    assert found() == world["planted"]
    namespace = Orphan.objects.get(kind=Orphan.NAMESPACE, name=world["dead"].namespace)
    assert namespace.details["running_pods"] == 1 and namespace.details["cpu_cores"] == 0.5
    assert namespace.monthly_cost == Decimal("25.55")  # (0.5 vCPU x 0.05 + 1 GiB x 0.01) x 730 h
    assert Orphan.objects.get(kind=Orphan.NAMESPACE, name=world["dead2"].namespace).monthly_cost == 0
    bucket = Orphan.objects.get(kind=Orphan.S3_BUCKET)
    assert bucket.details["size_bytes"] == 1024 * 1024
    assert bucket.monthly_cost == (Decimal(1) / 1024 * Decimal("0.02")).quantize(Decimal("0.000001"))
    assert Orphan.objects.get(kind=Orphan.REDIS_PREFIX).details["items"] == 5
    assert AuditEvent.objects.filter(action="orphan.found").count() == Orphan.objects.count()

    # A second sweep changes nothing: the same open rows, no new ones.
    ids = set(Orphan.objects.values_list("pk", flat=True))
    sweep(users, django_capture_on_commit_callbacks)
    assert set(Orphan.objects.values_list("pk", flat=True)) == ids and found() == world["planted"]


def test_removal_removes_the_orphans_and_nothing_else_and_spares_a_namespace_taken_meanwhile(
        orphan_world, users, team, django_capture_on_commit_callbacks):
    world = orphan_world
    sweep(users, django_capture_on_commit_callbacks)
    # After the sweep, before the removal: a new environment takes the second orphan namespace's name.
    taker = environment(world["cluster"], team, users, status="pending", ns=world["dead2"].namespace)

    admin = users["admin"]
    with django_capture_on_commit_callbacks(execute=True):
        job = orphans_remove_start(actor=Actor.for_user(admin), user=admin,
                                   orphan_ids=list(Orphan.objects.values_list("pk", flat=True)))
    job.refresh_from_db()
    assert job.state == Job.SUCCEEDED, job.error
    spared = Orphan.objects.get(name=world["dead2"].namespace)
    assert spared.state == Orphan.GONE and f"environment {taker.name}" in spared.error
    assert namespace_exists(world, world["dead2"].namespace)
    removed = {(o.kind, o.location, o.name) for o in Orphan.objects.filter(state=Orphan.REMOVED)}
    expected = {(k, loc, n) for k, pairs in world["planted"].items() for loc, n in pairs} - {
        (Orphan.NAMESPACE, world["cluster"].name, world["dead2"].namespace)}
    assert removed == expected
    assert AuditEvent.objects.filter(action="orphan.removed").count() == len(expected)
    assert all(o.removed_by == admin for o in Orphan.objects.filter(state=Orphan.REMOVED))

    # Gone: the orphans.
    assert not namespace_exists(world, world["dead"].namespace)
    servers, made, dead, live = world["servers"], world["made"], world["dead"], world["live"]
    assert made["mysql"][dead.pk].database not in {s.name for s in store_inventory.mariadb_registered(servers["mysql"])}
    assert not list(world["keys"].scan_iter(f"{made['redis'][dead.pk].prefix}*"))
    s3 = aws.client("s3")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert made["s3"][dead.pk].database not in buckets
    snapshots = s3.list_objects_v2(Bucket=settings.SLIPWAY_SNAPSHOT_BUCKET).get("Contents", [])
    assert [o["Key"].split("/")[1] for o in snapshots] == [live.name]
    assert not route53.records_named(world["zone"]["id"], f"{dead.name}.{world['zone']['name'].rstrip('.')}")
    states = [o["Key"] for o in s3.list_objects_v2(Bucket=settings.SLIPWAY_TERRAFORM_STATE_BUCKET)["Contents"]]
    assert world["gone_key"] not in states and world["cluster"].state_key in states
    assert "clusters/theirs-abcdefghij/terraform.tfstate" in states
    root = Path(settings.SLIPWAY_TERRAFORM_DIR)
    assert sorted(p.name for p in root.iterdir()) == sorted([".plugin-cache", "notes", world["cluster"].name])
    # Kept: every live look-alike.
    assert namespace_exists(world, live.namespace) and namespace_exists(world, "kube-system")
    assert made["mysql"][live.pk].database in {s.name for s in store_inventory.mariadb_registered(servers["mysql"])}
    assert len(list(world["keys"].scan_iter(f"{made['redis'][live.pk].prefix}*"))) == 5
    assert made["s3"][live.pk].database in buckets
    assert route53.records_named(world["zone"]["id"], f"{live.name}.{world['zone']['name'].rstrip('.')}")

    # A re-sweep finds nothing new; the removed rows stay removed. Planted again = a new row.
    sweep(users, django_capture_on_commit_callbacks)
    assert found() == {} and found(Orphan.REMOVED) == {k: {(loc, n) for kk, loc, n in expected if kk == k}
                                                         for k in {k for k, _, _ in expected}}
    (root / world["gone_cluster"]).mkdir()
    (root / world["gone_cluster"] / "slipway.s3.tfbackend").write_text("")
    sweep(users, django_capture_on_commit_callbacks)
    assert Orphan.objects.filter(kind=Orphan.TERRAFORM_DIR, name=world["gone_cluster"]).count() == 2
    assert found() == {Orphan.TERRAFORM_DIR: world["planted"]["tf-dir"]}


def test_an_orphan_removed_by_someone_else_is_marked_gone_by_the_next_sweep(orphan_world, users,
                                                                           django_capture_on_commit_callbacks):
    world = orphan_world
    sweep(users, django_capture_on_commit_callbacks)
    aws.client("s3").delete_object(Bucket=settings.SLIPWAY_TERRAFORM_STATE_BUCKET, Key=world["gone_key"])
    sweep(users, django_capture_on_commit_callbacks)
    state = Orphan.objects.get(kind=Orphan.TERRAFORM_STATE)
    assert state.state == Orphan.GONE and "no longer finds" in state.error
    # Removal of a thing already gone is idempotent: the namespace deleted by hand still ends "removed".
    namespace = Orphan.objects.get(kind=Orphan.NAMESPACE, name=world["dead"].namespace)
    world["core"].delete_namespace(world["dead"].namespace)
    assert orphan_remove(namespace, actor=Actor.for_user(users["admin"])) == Orphan.REMOVED
    assert orphan_remove(namespace, actor=Actor.for_user(users["admin"])) == Orphan.REMOVED  # again: no change


def test_automatic_removal_removes_what_the_sweep_finds(orphan_world, users, settings,
                                                         django_capture_on_commit_callbacks):
    settings.SLIPWAY_ORPHANS_REMOVE_AUTOMATICALLY = True
    sweep(users, django_capture_on_commit_callbacks)
    assert found() == {} and found(Orphan.REMOVED) == orphan_world["planted"]


def test_state_machine_table():
    assert ORPHAN_STATE.sources[Orphan.REMOVED] == {Orphan.REMOVING}
    assert Orphan.FOUND not in ORPHAN_STATE.sources  # entered only when a row is created
