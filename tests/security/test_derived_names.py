"""Names Slipway derives for outside systems never collide, and Slipway touches only what it marked.

Two environments of different teams whose names share a long prefix get distinct databases, users,
Redis prefixes and buckets on the real shared servers; removing one leaves the other's data intact;
a store that exists without Slipway's ownership marker (or with another owner's) is refused with the
reason, before anything is changed.
"""

import re
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pymysql
import pytest
import redis
from django.core.management import call_command
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from kubernetes import client as k8s

from clusters.kube.owner_labels import OWNER_MARKER
from clusters.models import Cluster
from clusters.services import cluster_register
from clusters.terraform_runs import state_key_for
from devstack.spare_redis import spare_redis
from environments.hostnames import route53
from environments.hostnames.names import ownership_name, ownership_value
from environments.hostnames.ownership import HostnameTaken, check_available, claim_of, delete_group
from environments.hostnames.route53 import Change, RecordSet
from environments.logs.cloudwatch import log_group
from environments.models import Blueprint, Environment
from environments.render import render
from environments.render.spec import EnvironmentSpec
from environments.rollout import run_rollout
from environments.services import NAMESPACE_NAME, environment_create, environment_destroy
from migrations_tool import mariadb_accounts
from migrations_tool.contracts import CopyError, Endpoint, StoreOwner
from migrations_tool.data_store_provisioning import (
    data_store_deprovision,
    data_stores_deprovision_due,
    data_stores_provision,
    store_owner,
)
from migrations_tool.models import DataServer, DataStore
from migrations_tool.redis_copy import RedisCopier
from migrations_tool.s3_copy import OWNER_TAG, S3Copier, bucket_name
from portal import aws
from portal.accounts import roles
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.derived_names import DNS_LABEL, MARIADB, REDIS_PREFIX, bounded_name, owner_marker
from portal.jobs.runner import execute_job
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.kube_cluster import namespaces_delete

# -- every derived identifier is valid for its system and distinct per owner (property) ------------

VALID = {
    "mariadb": (MARIADB, re.compile(r"^[a-z0-9_]{1,32}$")),
    "redis": (REDIS_PREFIX, re.compile(r"^[a-z0-9._-]{1,100}$")),
    "dns": (DNS_LABEL, re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")),
    "namespace": (NAMESPACE_NAME, re.compile(r"^slw-[a-z0-9]([-a-z0-9]{0,57}[a-z0-9])?$")),
}
names = st.one_of(st.text(max_size=300), st.from_regex(r"[a-z][a-z0-9-]{40,80}", fullmatch=True))


@given(first=names, second=names, pks=st.lists(st.integers(1, 10**12), min_size=2, max_size=2, unique=True))
def test_derived_identifiers_are_valid_and_distinct_for_distinct_owners(first, second, pks):
    owners = [StoreOwner(first, owner_marker("environment", pks[0])),
              StoreOwner(second, owner_marker("environment", pks[1]))]
    for rule, valid in VALID.values():
        made = [bounded_name(o.readable, o.marker, rule) for o in owners]
        assert all(valid.match(n) for n in made), made
        assert made[0] != made[1]
        assert made[0] == bounded_name(first, owners[0].marker, rule)  # stable
    buckets = [bucket_name("slipway-shared", o) for o in owners]
    for bucket in buckets:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", bucket) and "--" not in bucket, bucket
    assert buckets[0] != buckets[1]


def test_colliding_prefixes_differ_by_construction():
    shared = "checkout-regression-suite-for-the-payments-team-"  # 48 characters in common
    a, b = (StoreOwner(shared + tail, owner_marker("environment", pk)) for tail, pk in (("a", 1), ("b", 2)))
    assert mariadb_accounts.database_name(a) != mariadb_accounts.database_name(b)
    assert len(mariadb_accounts.database_name(a)) <= 32


# -- the real shared servers ------------------------------------------------------------------------

LONG = "payments-checkout-regression-suite-with-a-very-long-name"  # 57: environment names allow 59


@pytest.fixture
def two_teams_environments(request, db):
    """Two environments of different teams on one cluster. By default their names share the first 57
    characters; with ``@pytest.mark.parametrize("two_teams_environments", ["reused"], indirect=True)``
    the second has the very same name, made after the first was destroyed (its stores still retiring)."""
    reused = getattr(request, "param", "") == "reused"
    cluster = Cluster.objects.create(name=f"c-{uuid.uuid4().hex[:8]}", kind="local", kubeconfig="{}")
    blueprint = Blueprint.objects.create(
        name=f"bp-{uuid.uuid4().hex[:8]}", version=1,
        backing_services=[{"kind": "mariadb", "name": "db"}, {"kind": "redis", "name": "cache"},
                          {"kind": "s3", "name": "files"}])
    made = []
    for suffix in ("-a", "-b"):
        team = TeamFactory(slug=f"team{suffix}")
        owner = UserFactory(username=f"qa{suffix}", roles=[roles.QA], teams=[team])
        status = Environment.DESTROYED if reused and suffix == "-a" else Environment.PENDING
        made.append(Environment.objects.create(name=LONG + ("-a" if reused else suffix), cluster=cluster,
                                               namespace=f"slw-x{suffix}", stage="qa", blueprint=blueprint,
                                               team=team, owner=owner, status=status))
    return cluster, made


def _mariadb_server(cluster, mariadb_url):
    url = urlparse(mariadb_url)
    return DataServer.objects.create(cluster=cluster, kind="mysql", host=url.hostname, port=url.port,
                                     user=url.username, password=url.password)


def _connect(store, **kwargs):
    return pymysql.connect(host=store.host, port=store.port, user=store.user, password=str(store.password),
                           autocommit=True, **kwargs)


@pytest.fixture(scope="module")
def redis_server():
    with spare_redis(password=f"pw-{uuid.uuid4().hex}") as server:
        yield server


def _redis(server, db=0):
    return redis.Redis(host=server["host"], port=server["port"], password=server["password"], db=db)


@pytest.mark.parametrize("two_teams_environments", ["prefix", "reused"], indirect=True)
def test_mariadb_long_colliding_names_get_their_own_database_and_user(two_teams_environments, mariadb_url):
    cluster, (first, second) = two_teams_environments
    _mariadb_server(cluster, mariadb_url)
    data_stores_provision(first)
    store_a = DataStore.objects.get(environment=first, kind="mysql")
    conn = _connect(store_a, database=store_a.database)
    conn.cursor().execute("CREATE TABLE orders (id INT PRIMARY KEY)")
    conn.cursor().execute("INSERT INTO orders VALUES (1)")
    conn.close()

    data_stores_provision(second)
    store_b = DataStore.objects.get(environment=second, kind="mysql")
    assert (store_a.database, store_a.user) != (store_b.database, store_b.user)
    assert store_a.user != store_b.user and store_a.owner_marker != store_b.owner_marker

    data_store_deprovision(store_b)
    conn = _connect(store_a, database=store_a.database)  # first's password was not changed by second
    cur = conn.cursor()
    cur.execute("SELECT id FROM orders")
    assert cur.fetchall() == ((1,),)
    conn.close()
    data_store_deprovision(store_a)


def test_mariadb_database_without_marker_or_of_another_owner_is_refused(db, mariadb_url):
    url = urlparse(mariadb_url)
    server = Endpoint(kind="mysql", host=url.hostname, port=url.port, user=url.username, password=url.password)
    owner = StoreOwner(LONG, f"test-{uuid.uuid4().hex}/environment/1")
    name = mariadb_accounts.database_name(owner)
    admin = _connect(server)
    admin.cursor().execute(f"CREATE DATABASE `{name}`")  # someone else's database, no marker
    admin.cursor().execute(f"CREATE TABLE `{name}`.precious (id INT)")
    try:
        with pytest.raises(CopyError, match="without Slipway's ownership marker"):
            mariadb_accounts.provision(server, owner)
        with pytest.raises(CopyError, match="without Slipway's ownership marker"):
            mariadb_accounts.deprovision(Endpoint(kind="mysql", database=name, user=name), server, owner.marker)
        cur = admin.cursor()
        cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (name,))
        assert cur.fetchone() and not _user_exists(cur, name)
    finally:
        admin.cursor().execute(f"DROP DATABASE `{name}`")

    mine = mariadb_accounts.provision(server, owner)
    thief = StoreOwner(LONG, f"test-{uuid.uuid4().hex}/environment/1")  # another installation, same pk
    with pytest.raises(CopyError, match="belongs to"):
        mariadb_accounts.deprovision(mine, server, thief.marker)
    assert _connect(mine, database=mine.database)  # still there
    mariadb_accounts.deprovision(mine, server, owner.marker)
    mariadb_accounts.deprovision(mine, server, owner.marker)  # idempotent
    assert not _user_exists(admin.cursor(), name)
    admin.close()


def _user_exists(cur, user):
    cur.execute("SELECT 1 FROM mysql.user WHERE User = %s", (user,))
    return cur.fetchone() is not None


def test_legacy_stores_sharing_a_database_are_not_dropped(two_teams_environments, mariadb_url):
    """Stores made before markers (cut names) may share a database: destroying one must not drop it."""
    cluster, (first, second) = two_teams_environments
    server = _mariadb_server(cluster, mariadb_url)
    shared = {"placement": DataStore.SHARED, "server": server, "host": server.host, "port": server.port,
              "kind": "mysql", "user": "slw_payments_checkout_regression", "database": f"legacy_{uuid.uuid4().hex[:8]}"}
    admin = _connect(server.server_endpoint())
    admin.cursor().execute(f"CREATE DATABASE `{shared['database']}`")
    try:
        DataStore.objects.create(environment=first, name="db", **shared)
        second_store = DataStore.objects.create(environment=second, name="db", **shared)
        with pytest.raises(CopyError, match=f"also the store of environment {first.name}"):
            data_store_deprovision(second_store)
        DataStore.objects.filter(pk=second_store.pk).update(state=DataStore.RETIRING, remove_after=timezone.now())
        assert data_stores_deprovision_due() == data_stores_deprovision_due() == 0  # the reaper keeps it too
        refusals = AuditEvent.objects.filter(action="data_store.removal_failed", object_id=str(second_store.pk))
        assert [(e.outcome, first.name in e.error) for e in refusals] == [("failure", True)]  # once, with why
        cur = admin.cursor()
        cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (shared["database"],))
        assert cur.fetchone()
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{shared['database']}`")
        admin.close()


@pytest.mark.parametrize("two_teams_environments", ["prefix", "reused"], indirect=True)
def test_redis_prefixes_of_long_colliding_names_are_distinct_and_marked(two_teams_environments, redis_server):
    cluster, (first, second) = two_teams_environments
    _redis(redis_server).flushall()
    DataServer.objects.create(cluster=cluster, kind="redis", host=redis_server["host"], port=redis_server["port"],
                              password=redis_server["password"], mode="prefix", database="5")
    data_stores_provision(first)
    data_stores_provision(second)
    a, b = (DataStore.objects.get(environment=e, kind="redis") for e in (first, second))
    assert a.prefix != b.prefix and not a.prefix.startswith(b.prefix) and not b.prefix.startswith(a.prefix)
    client = _redis(redis_server, db=5)
    client.set(f"{a.prefix}cart", "first's")
    client.set(f"{b.prefix}cart", "second's")

    with pytest.raises(CopyError, match="not registered to"):  # another owner's marker
        RedisCopier().deprovision(a.store_endpoint(), a.server.server_endpoint(), b.owner_marker)
    data_store_deprovision(b)
    assert client.get(f"{a.prefix}cart") == b"first's" and client.get(f"{b.prefix}cart") is None

    # keys already under the prefix an owner would get, put there by nobody Slipway knows
    stranger = StoreOwner(LONG, f"test-{uuid.uuid4().hex}/environment/9")
    taken = f"envs:{bounded_name(stranger.readable, stranger.marker, REDIS_PREFIX)}:"
    client.set(f"{taken}session", "not slipway's")
    server = Endpoint(kind="redis", host=redis_server["host"], port=redis_server["port"],
                      password=redis_server["password"], database="5", prefix="envs:")
    with pytest.raises(CopyError, match="without Slipway's ownership marker"):
        RedisCopier().provision(server, stranger)
    with pytest.raises(CopyError, match="no ownership marker"):
        RedisCopier().deprovision(Endpoint(**{**server.__dict__, "prefix": taken}), server, stranger.marker)
    assert client.get(f"{taken}session") == b"not slipway's"
    client.close()


def test_redis_db_mode_deprovision_refuses_a_db_registered_to_another_owner(redis_server):
    _redis(redis_server).flushall()
    server = Endpoint(kind="redis", host=redis_server["host"], port=redis_server["port"],
                      password=redis_server["password"], database="0")
    mine = StoreOwner(LONG, "test/environment/1")
    store = RedisCopier().provision(server, mine)
    _redis(redis_server, db=int(store.database)).set("k", "v")
    with pytest.raises(CopyError, match="registered to test/environment/1"):
        RedisCopier().deprovision(store, server, "test/environment/2")
    assert _redis(redis_server, db=int(store.database)).get("k") == b"v"
    RedisCopier().deprovision(store, server, mine.marker)
    assert _redis(redis_server, db=int(store.database)).dbsize() == 0


@pytest.mark.parametrize("two_teams_environments", ["prefix", "reused"], indirect=True)
def test_s3_buckets_of_long_colliding_names_are_distinct_tagged_and_guarded(two_teams_environments, aws_settings):
    cluster, (first, second) = two_teams_environments
    DataServer.objects.create(cluster=cluster, kind="s3", database="slipway-sec")
    data_stores_provision(first)
    data_stores_provision(second)
    a, b = (DataStore.objects.get(environment=e, kind="s3") for e in (first, second))
    assert a.database != b.database
    s3 = aws.client("s3")
    tags = s3.get_bucket_tagging(Bucket=a.database)["TagSet"]
    assert {"Key": OWNER_TAG, "Value": store_owner(first).marker} in tags
    s3.put_object(Bucket=a.database, Key="invoice.pdf", Body=b"first's")

    with pytest.raises(CopyError, match="belongs to"):
        S3Copier().deprovision(a.store_endpoint(), a.server.server_endpoint(), b.owner_marker)
    data_store_deprovision(b)
    assert s3.get_object(Bucket=a.database, Key="invoice.pdf")["Body"].read() == b"first's"
    data_store_deprovision(a)

    stranger = StoreOwner(LONG, f"test-{uuid.uuid4().hex}/environment/3")
    foreign = bucket_name("slipway-sec", stranger)
    s3.create_bucket(Bucket=foreign)  # exists, untagged: not Slipway's
    try:
        with pytest.raises(CopyError, match="without Slipway's ownership tag"):
            S3Copier().provision(Endpoint(kind="s3", database="slipway-sec"), stranger)
        with pytest.raises(CopyError, match="without Slipway's ownership tag"):
            S3Copier().deprovision(Endpoint(kind="s3", database=foreign), Endpoint(kind="s3"), stranger.marker)
        assert foreign in [x["Name"] for x in s3.list_buckets()["Buckets"]]
    finally:
        s3.delete_bucket(Bucket=foreign)


# -- namespaces on the real (kwok) control plane ------------------------------------------------------

@pytest.mark.parametrize("marker", ["", "slipway-0123456789ab/environment/1"])
def test_a_namespace_not_marked_as_the_environments_is_neither_taken_over_nor_deleted(
        marker, db, users, team, kubeconfig_path, kube_client, settings, django_capture_on_commit_callbacks):
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    call_command("seed_demo_blueprint", verbosity=0)
    qa = users["qa"]
    cluster = cluster_register(actor=Actor.system("test"), name="local", kind="local",
                               kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    environment = environment_create(actor=Actor.for_user(qa), user=qa, cluster=cluster,
                                     name=f"{LONG[:50]}-{uuid.uuid4().hex[:8]}", stage="qa", team=team,
                                     blueprint=Blueprint.objects.get(name="shop"),
                                     versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
    core = k8s.CoreV1Api(kube_client)
    # Someone else's namespace under the very name: labelled as Slipway's, but not marked as this environment's.
    labels = {"app.kubernetes.io/managed-by": "slipway", "slipway.io/environment": "someone-else"}
    annotations = {OWNER_MARKER: marker} if marker else {}
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=environment.namespace, labels=labels,
                                                                    annotations=annotations)))
    try:
        job = environment.rollouts.get().job
        assert execute_job(str(job.pk), Actor.for_user(qa), run_rollout) == "failed"
        environment.refresh_from_db()
        reason = f"belongs to {marker}" if marker else "without Slipway's ownership marker"
        assert environment.status == Environment.FAILED and reason in environment.status_message
        assert core.list_namespaced_resource_quota(environment.namespace).items == []  # nothing applied

        with django_capture_on_commit_callbacks(execute=True):
            destroy_job = environment_destroy(actor=Actor.for_user(qa), user=qa, environment=environment)
        destroy_job.refresh_from_db()
        environment.refresh_from_db()
        assert destroy_job.state == "failed" and "destroy refused" in environment.status_message
        assert reason in environment.status_message
        assert core.read_namespace(environment.namespace).status.phase == "Active"  # still there
    finally:
        namespaces_delete(kube_client, [environment.namespace])


def test_the_environments_namespace_carries_its_marker(db):
    spec = EnvironmentSpec(name="shop", namespace="slw-shop", team="payments", owner="qa", stage="qa", revision=1,
                           owner_marker=owner_marker("environment", 7))
    namespace = next(m for m in render(spec) if m["kind"] == "Namespace")
    assert namespace["metadata"]["annotations"][OWNER_MARKER] == owner_marker("environment", 7)


def test_terraform_state_keys_differ_between_installations_sharing_a_bucket(settings):
    """The state bucket's default name is the same everywhere: a cluster 'prod' of two installations (or a
    re-created 'prod') must not share a state, or one's apply would take over the other's infrastructure."""
    cluster = Cluster(pk=3, name="prod", kind="aws-eks")
    settings.SLIPWAY_INSTANCE_ID = "first"
    first = state_key_for(cluster)
    settings.SLIPWAY_INSTANCE_ID = "second"
    assert first != state_key_for(cluster) and first.startswith("clusters/prod-")
    assert state_key_for(cluster) != state_key_for(Cluster(pk=4, name="prod", kind="aws-eks"))


def test_a_name_used_again_gets_its_own_namespace_and_log_group(db, users):
    """Names are unique per cluster among live environments only: a name used again after a destroy must
    not land in the old environment's namespace, nor read its CloudWatch log history (another team's)."""
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="shared", kind="local", kubeconfig="{}")
    blueprint = Blueprint.objects.get(name="shop")
    name = LONG + "-a"  # 59 characters: "slw-" + name is the longest namespace there is
    made = []
    for slug in ("team-a", "team-b"):
        team = TeamFactory(slug=slug)
        qa = UserFactory(username=f"qa-{slug}", roles=[roles.QA], teams=[team])
        environment = environment_create(actor=Actor.for_user(qa), user=qa, cluster=cluster, name=name, stage="qa",
                                         team=team, blueprint=blueprint,
                                         versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
        Environment.objects.filter(pk=environment.pk).update(status=Environment.DESTROYED)
        made.append(environment)
    first, second = made
    assert first.namespace == f"slw-{name}"  # unchanged for a name used once
    assert second.namespace != first.namespace and len(second.namespace) <= 63
    assert VALID["dns"][1].match(second.namespace)
    assert log_group(cluster.name, first.namespace) != log_group(cluster.name, second.namespace)
    second.refresh_from_db()
    assert second.namespace == made[1].namespace  # stored, never derived again


def test_route53_names_of_another_environment_or_nobody_are_refused(db, route53_zone):
    """Route 53 already keeps an ownership TXT beside each name (environments/hostnames/ownership.py):
    covered here with long colliding names so the store-by-store list is complete."""
    zone = route53_zone["name"].rstrip(".")
    first, second = (f"{LONG}{tail}.{zone}" for tail in ("-a", "-b"))
    assert first != second
    route53.change(route53_zone["id"], [[
        Change("CREATE", RecordSet(name=first, type="CNAME", ttl=60, values=("lb.example.net",))),
        Change("CREATE", RecordSet(name=ownership_name(first), type="TXT", ttl=60, values=(ownership_value(1),)))]])
    route53.change(route53_zone["id"], [[
        Change("CREATE", RecordSet(name=second, type="CNAME", ttl=60, values=("someone.example.org",)))]])
    with pytest.raises(HostnameTaken, match="environment #1"):
        check_available(route53_zone["id"], first, environment_id=2, live_environment_ids={1, 2})
    with pytest.raises(HostnameTaken, match="not created by Slipway"):
        check_available(route53_zone["id"], second, environment_id=2, live_environment_ids={1, 2})
    assert delete_group(claim_of(route53_zone["id"], first), environment_id=2) == []
    assert delete_group(claim_of(route53_zone["id"], second), environment_id=None) == []


def test_an_environments_marker_is_fixed_at_creation(db, users, team, settings):
    """Markers are compared before destroying: moving the database or renaming the instance must not make
    Slipway disown (and refuse to remove) what it made."""
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig="{}")
    environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                     name="fixed", stage="qa", team=team, blueprint=Blueprint.objects.get(name="shop"),
                                     versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
    made = owner_marker("environment", environment.pk)
    settings.SLIPWAY_INSTANCE_ID = "moved-elsewhere"
    environment = Environment.objects.get(pk=environment.pk)
    assert environment.ownership_marker == made == store_owner(environment).marker
    assert owner_marker("environment", environment.pk) != made
