"""Data stores made with an environment, on the cluster's shared MariaDB, and removed after the window."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pymysql
import pytest
from django.core.management import call_command
from django.utils import timezone

from clusters.models import Cluster
from environments.models import Blueprint, Environment
from migrations_tool.data_store_provisioning import (
    data_stores_deprovision_due,
    data_stores_provision,
    data_stores_retire,
    store_owner,
)
from migrations_tool.models import DataServer, DataStore
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.fixtures.kube_cluster import namespaces_delete

from .conftest import unique_name

pytestmark = pytest.mark.integration


def can_connect(store):
    try:
        pymysql.connect(host=store.host, port=store.port, user=store.user, password=str(store.password),
                        database=store.database).close()
    except pymysql.MySQLError:
        return False
    return True


@pytest.fixture
def shared_mariadb(db, mariadb_url):
    url = urlparse(mariadb_url)
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name=unique_name("c-"), kind="local", kubeconfig="{}")
    server = DataServer.objects.create(cluster=cluster, kind="mysql", host=url.hostname, port=url.port,
                                       user=url.username, password=url.password)
    return cluster, server


def make_environment(cluster, team, users, name=None, stage="qa"):
    return Environment.objects.create(name=name or unique_name("p-"), cluster=cluster, namespace="slw-x", stage=stage,
                                      blueprint=Blueprint.objects.get(name="shop"), team=team, owner=users["qa"],
                                      backing_passwords='{"db": "in-cluster-pw"}')


def test_shared_server_database_per_environment_then_removed_after_window(shared_mariadb, team, users):
    cluster, _ = shared_mariadb
    environment = make_environment(cluster, team, users)
    made = data_stores_provision(environment)
    assert [(s.kind, s.placement) for s in made] == [("mysql", "shared"), ("redis", "in_cluster")]
    store = DataStore.objects.get(environment=environment, kind="mysql")
    assert store.placement == DataStore.SHARED and store.user != "root" and can_connect(store)
    assert data_stores_provision(environment) == []  # idempotent
    assert data_stores_retire(environment) == 2
    assert data_stores_deprovision_due() == 0  # still inside the undo window
    assert can_connect(store)
    assert data_stores_deprovision_due(now=timezone.now() + timedelta(days=30)) == 2
    store.refresh_from_db()
    assert store.state == DataStore.REMOVED and not can_connect(store)
    assert AuditEvent.objects.filter(action="data_store.removed", object_id=str(store.pk)).exists()


def test_without_shared_server_the_in_cluster_statefulset_is_recorded(db, team, users):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name=unique_name("c-"), kind="local", kubeconfig="{}")
    environment = make_environment(cluster, team, users)
    data_stores_provision(environment)
    store = DataStore.objects.get(environment=environment, kind="mysql")
    assert store.placement == DataStore.IN_CLUSTER and store.host == "db.slw-x.svc.cluster.local"
    assert store.password == "in-cluster-pw" and store.port == 3306


def test_production_gets_no_provisioned_store(shared_mariadb, team, users):
    environment = make_environment(shared_mariadb[0], team, users, stage="prod")
    assert data_stores_provision(environment) == []


def test_environment_create_and_destroy_jobs_provision_and_retire(users, team, kubeconfig_path, mariadb_url,
                                                                    kube_client, settings,
                                                                    django_capture_on_commit_callbacks):
    from clusters.services import cluster_register
    from environments.services import environment_create, environment_destroy

    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = cluster_register(actor=Actor.system("test"), name="local", kind="local",
                               kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    url = urlparse(mariadb_url)
    DataServer.objects.create(cluster=cluster, kind="mysql", host=url.hostname, port=url.port, user=url.username,
                              password=url.password)
    name = unique_name("dp-")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                             blueprint=Blueprint.objects.get(name="shop"), name=name, team=team,
                                             stage="qa", versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
        environment.refresh_from_db()
        assert environment.status == "ready", environment.status_message
        store = DataStore.objects.get(environment=environment, kind="mysql")
        assert store.placement == DataStore.SHARED and can_connect(store)
        with django_capture_on_commit_callbacks(execute=True):
            environment_destroy(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment)
        store.refresh_from_db()
        assert store.state == DataStore.RETIRING and store.remove_after > timezone.now()
        data_stores_deprovision_due(now=timezone.now() + timedelta(days=30))
        assert not can_connect(store)
    finally:
        namespaces_delete(kube_client, [f"slw-{name}"])


def test_create_provisions_mariadb_redis_and_s3_on_the_local_servers_and_the_reaper_removes_them(
        users, team, kubeconfig_path, mariadb_url, aws_settings, other_redis, kube_client, settings,
        django_capture_on_commit_callbacks):
    """As `make run` sets things up (register_local_cluster's shared servers), with a blueprint that has an
    S3 backing service too: the rollout gives the environment a database, a Redis logical db and a bucket,
    destroy retires them and the beat task removes them once the undo window has passed."""
    import redis

    from clusters.services import cluster_register
    from environments.services import environment_create, environment_destroy
    from migrations_tool.periodic import deprovision_due
    from migrations_tool.servers import data_servers_register_local
    from portal import aws

    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    call_command("seed_demo_blueprint", verbosity=0)
    blueprint = Blueprint.objects.get(name="shop")
    blueprint.backing_services = [*blueprint.backing_services, {"kind": "s3", "name": "files"}]
    blueprint.save()
    cluster = cluster_register(actor=Actor.system("test"), name="local", kind="local",
                               kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    # the spare Redis stands in for the stack's (a logical db per environment must not touch shared dbs)
    redis_url = f"redis://:{other_redis['password']}@{other_redis['host']}:{other_redis['port']}"
    assert data_servers_register_local(actor=Actor.system("test"), cluster=cluster,
                                       facts={"MARIADB_URL": mariadb_url, "REDIS_URL": redis_url,
                                              **aws_settings}) == ["mysql", "redis", "s3"]
    name = unique_name("dp-")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                             blueprint=blueprint, name=name, team=team, stage="qa",
                                             versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
        environment.refresh_from_db()
        assert environment.status == "ready", environment.status_message
        stores = {s.kind: s for s in DataStore.objects.filter(environment=environment)}
        assert {k: s.placement for k, s in stores.items()} == {"mysql": "shared", "redis": "shared", "s3": "shared"}
        assert can_connect(stores["mysql"])
        cache = redis.Redis(host=stores["redis"].host, port=stores["redis"].port,
                            password=str(stores["redis"].password), db=int(stores["redis"].database))
        assert int(stores["redis"].database) > 0 and cache.set("warm", "1")
        s3 = aws.client("s3")
        s3.put_object(Bucket=stores["s3"].database, Key="upload.txt", Body=b"x")

        with django_capture_on_commit_callbacks(execute=True):
            environment_destroy(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment)
        assert deprovision_due.apply().get() == 0  # inside the undo window: all still there
        assert cache.get("warm") == b"1" and s3.head_bucket(Bucket=stores["s3"].database)
        DataStore.objects.filter(environment=environment).update(remove_after=timezone.now() - timedelta(seconds=1))
        assert deprovision_due.apply().get() == 3
        assert set(DataStore.objects.filter(environment=environment).values_list("state", flat=True)) == {"removed"}
        assert not can_connect(stores["mysql"]) and cache.dbsize() == 0
        registry = redis.Redis(host=other_redis["host"], port=other_redis["port"], password=other_redis["password"])
        assert not registry.hexists("slipway:dbmap", store_owner(environment).marker)
        registry.close()
        assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"] == stores["s3"].database]
        cache.close()
    finally:
        namespaces_delete(kube_client, [f"slw-{name}"])


def test_redis_server_in_prefix_mode_gives_each_environment_a_key_prefix(db, team, users, other_redis):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name=unique_name("c-"), kind="local", kubeconfig="{}")
    DataServer.objects.create(cluster=cluster, kind="redis", host=other_redis["host"], port=other_redis["port"],
                              password=other_redis["password"], mode="prefix", database="4")
    environment = make_environment(cluster, team, users)
    data_stores_provision(environment)
    store = DataStore.objects.get(environment=environment, kind="redis")
    assert (store.placement, store.database) == (DataStore.SHARED, "4")
    assert store.prefix.startswith(f"slipway-env:{environment.name}-") and store.prefix.endswith(":")
    assert store.owner_marker == store_owner(environment).marker
