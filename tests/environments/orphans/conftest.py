"""A world of planted orphans next to live, tracked look-alikes, on the real stack: the kwok plane, the
stack's MariaDB, a spare Redis, moto's S3 and Route 53, a Terraform directory under tmp_path."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from django.core.management import call_command
from kubernetes import client as k8s

from clusters.kube.owner_labels import ENVIRONMENT, MANAGED_BY, OWNER_MARKER
from clusters.models import Cluster
from clusters.terraform import BACKEND_FILE
from clusters.terraform_runs import state_key_for
from environments.cost.models import PriceTable
from environments.hostnames import route53
from environments.hostnames.models import ClusterDns
from environments.hostnames.names import ownership_name, ownership_value
from environments.models import Blueprint, Environment
from migrations_tool.contracts import SNAPSHOT_PREFIX, StoreOwner
from migrations_tool.copiers import copier_for
from migrations_tool.models import DataCopy, DataServer, DataStore
from portal import aws
from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from tests.fixtures.kube_cluster import namespaces_delete
from tests.migrations_tool.conftest import other_redis, spare_redis_server  # noqa: F401  (fixtures)

PRICES = {"vcpu_hour": Decimal("0.05"), "gib_hour": Decimal("0.01"), "storage_gib_month": Decimal("0.02")}
POD_CPU, POD_MEMORY_GIB = "500m", 1  # the orphan namespace's running pod: (0.5 x 0.05 + 1 x 0.01) x 730 = 25.55


def uid() -> str:
    return uuid.uuid4().hex[:8]


def namespace(core: k8s.CoreV1Api, name: str, *, marker: str | None, environment: str = "x") -> str:
    labels = {MANAGED_BY: "slipway", ENVIRONMENT: environment} if marker is not None else {}
    annotations = {OWNER_MARKER: marker} if marker else {}
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name, labels=labels,
                                                                    annotations=annotations)))
    return name


def running_pod(core: k8s.CoreV1Api, ns: str) -> None:
    container = k8s.V1Container(name="app", image="nginx", resources=k8s.V1ResourceRequirements(
        requests={"cpu": POD_CPU, "memory": f"{POD_MEMORY_GIB}Gi"}))
    core.create_namespaced_pod(ns, k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="app"),
                                             spec=k8s.V1PodSpec(containers=[container])))
    deadline = time.monotonic() + 60
    while core.read_namespaced_pod("app", ns).status.phase != "Running":  # kwok runs it on a kwok node
        assert time.monotonic() < deadline, "the kwok pod never ran"
        time.sleep(0.2)


def environment(cluster, team, users, *, status, ns="") -> Environment:
    name = f"or-{uid()}"
    return Environment.objects.create(name=name, cluster=cluster, namespace=ns or f"slw-{name}", stage="qa",
                                      blueprint=Blueprint.objects.get(name="shop"), team=team, owner=users["qa"],
                                      status=status)


@pytest.fixture
def orphan_world(db, team, users, settings, tmp_path, kubeconfig_path, kube_client, mariadb_url, aws_settings,
                 other_redis, route53_zone):  # noqa: F811
    """Plants one orphan of every kind and a tracked look-alike of each; yields what was planted."""
    settings.SLIPWAY_INSTANCE_ID = f"orphans-{uid()}"  # this test's installation: nobody else's markers match
    settings.SLIPWAY_TERRAFORM_DIR = tmp_path / "terraform"
    settings.SLIPWAY_TERRAFORM_STATE_BUCKET = f"or-state-{uid()}"
    settings.SLIPWAY_SNAPSHOT_BUCKET = f"or-snap-{uid()}"
    settings.SLIPWAY_DESTROY_TIMEOUT_SECONDS = 60
    call_command("seed_demo_blueprint", verbosity=0)
    core = k8s.CoreV1Api(kube_client)
    s3 = aws.client("s3")
    gone_cluster = Cluster.objects.create(name=f"or-gone-{uid()}", kind="local")  # a cluster deleted since
    audit_record(actor=Actor.system("test"), action="cluster.create", obj=gone_cluster)
    gone_key = state_key_for(gone_cluster)
    gone_cluster.delete()
    cluster = Cluster.objects.create(name=f"or-{uid()}", kind="local", kubeconfig=Path(kubeconfig_path).read_text())
    cluster.state_key = state_key_for(cluster)
    cluster.save()
    PriceTable.objects.create(cluster=cluster, currency="USD", **PRICES)
    live = environment(cluster, team, users, status=Environment.READY)
    dead = environment(cluster, team, users, status=Environment.DESTROYED)
    dead2 = environment(cluster, team, users, status=Environment.DESTROYED)
    planted: dict[str, set[tuple[str, str]]] = {}
    made_namespaces: list[str] = []

    # Namespaces: two orphans (one with a running pod), the live environment's, another installation's, an
    # unlabelled one; kube-system exists anyway.
    made_namespaces += [namespace(core, dead.namespace, marker=dead.ownership_marker, environment=dead.name),
                        namespace(core, dead2.namespace, marker=dead2.ownership_marker, environment=dead2.name),
                        namespace(core, live.namespace, marker=live.ownership_marker, environment=live.name),
                        namespace(core, f"or-other-{uid()}", marker=f"slipway-elsewhere/environment/{dead.pk}"),
                        namespace(core, f"or-plain-{uid()}", marker=None)]
    running_pod(core, dead.namespace)
    planted["namespace"] = {(cluster.name, dead.namespace), (cluster.name, dead2.namespace)}

    # Shared servers: a store of the destroyed environment and a tracked store of the live one on each.
    url = urlparse(mariadb_url)
    mysql = DataServer.objects.create(cluster=cluster, kind="mysql", host=url.hostname, port=url.port,
                                      user=url.username, password=url.password)
    cache = DataServer.objects.create(cluster=cluster, kind="redis", host=other_redis["host"],
                                      port=other_redis["port"], password=other_redis["password"], mode="prefix",
                                      database="3")
    s3_server = DataServer.objects.create(cluster=cluster, kind="s3", endpoint_url=aws_settings["AWS_ENDPOINT_URL"],
                                          user=aws_settings["AWS_ACCESS_KEY_ID"],
                                          password=aws_settings["AWS_SECRET_ACCESS_KEY"], region="us-east-1",
                                          database=f"or{uid()}")
    made: dict[str, dict] = {}
    for server in (mysql, cache, s3_server):
        for env in (dead, live):
            endpoint = copier_for(server.kind).provision(server.server_endpoint(),
                                                         StoreOwner(env.name, env.ownership_marker))
            made.setdefault(server.kind, {})[env.pk] = endpoint
        live_store = made[server.kind][live.pk]
        DataStore.objects.create(environment=live, kind=server.kind, name=server.kind, placement=DataStore.SHARED,
                                 server=server, database=live_store.database, prefix=live_store.prefix,
                                 owner_marker=live.ownership_marker)
    keys = redis.Redis(host=other_redis["host"], port=other_redis["port"], password=other_redis["password"], db=3)
    for i in range(5):
        keys.set(f"{made['redis'][dead.pk].prefix}k{i}", "v")
        keys.set(f"{made['redis'][live.pk].prefix}k{i}", "v")
    dead_bucket = made["s3"][dead.pk].database
    s3.put_object(Bucket=dead_bucket, Key="upload.bin", Body=b"x" * (1024 * 1024))
    planted["database"] = {(f"{cluster.name} mysql server #{mysql.pk}", made["mysql"][dead.pk].database)}
    planted["redis"] = {(f"{cluster.name} redis server #{cache.pk}", f"prefix:{made['redis'][dead.pk].prefix}")}
    planted["s3-bucket"] = {(f"{cluster.name} s3 server #{s3_server.pk}", dead_bucket)}

    # Undo snapshots of copies: into the destroyed environment (orphan) and into the live one.
    s3.create_bucket(Bucket=settings.SLIPWAY_SNAPSHOT_BUCKET)
    for env in (dead, live):
        copy = DataCopy.objects.create(source=live, target=env, team=team, stores=["redis"],
                                       job=Job.objects.create(kind="data-copy", title="copy"))
        s3.put_object(Bucket=settings.SLIPWAY_SNAPSHOT_BUCKET, Key=f"{SNAPSHOT_PREFIX}{env.name}/{copy.pk}/redis/0",
                      Body=b"s" * 2048)
        if env is dead:
            planted["s3-prefix"] = {(settings.SLIPWAY_SNAPSHOT_BUCKET, f"{SNAPSHOT_PREFIX}{env.name}/{copy.pk}/")}

    # Route 53: the destroyed environment's name and the live one's, both with this installation's marker.
    zone = route53_zone["name"].rstrip(".")
    ClusterDns.objects.create(cluster=cluster, zone_id=route53_zone["id"].split("/")[-1], zone_name=zone,
                              target="lb.example.org")
    for env in (dead, live):
        name = f"{env.name}.{zone}"
        route53.change(route53_zone["id"], [[
            route53.Change("UPSERT", route53.RecordSet(name=name, type="CNAME", ttl=60, values=("lb.example.org",))),
            route53.Change("UPSERT", route53.RecordSet(name=ownership_name(name), type="TXT", ttl=60,
                                                       values=(ownership_value(env.pk),)))]])
    planted["dns"] = {(zone, f"{dead.name}.{zone}")}

    # Terraform: the deleted cluster's state and directory; the live cluster's; another installation's state;
    # a directory that is not Slipway's.
    bucket = settings.SLIPWAY_TERRAFORM_STATE_BUCKET
    s3.create_bucket(Bucket=bucket)
    for key in (gone_key, cluster.state_key, "clusters/theirs-abcdefghij/terraform.tfstate"):
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"lineage": "x", "serial": 1}')
    root = Path(settings.SLIPWAY_TERRAFORM_DIR)
    for name in (gone_cluster.name, cluster.name):
        (root / name).mkdir(parents=True)
        (root / name / BACKEND_FILE).write_text("bucket = \"x\"\n")
    (root / "notes").mkdir()
    (root / ".plugin-cache").mkdir()
    planted["tf-state"] = {(bucket, gone_key)}
    planted["tf-dir"] = {(str(root), gone_cluster.name)}

    yield {"cluster": cluster, "live": live, "dead": dead, "dead2": dead2, "planted": planted, "made": made,
           "servers": {"mysql": mysql, "redis": cache, "s3": s3_server}, "keys": keys, "core": core,
           "zone": route53_zone, "gone_cluster": gone_cluster.name, "gone_key": gone_key}

    namespaces_delete(kube_client, made_namespaces)
    for server in (mysql, cache, s3_server):
        for env in (dead, live):
            try:
                copier_for(server.kind).deprovision(made[server.kind][env.pk], server.server_endpoint(), None)
            except Exception:
                pass
    keys.close()
