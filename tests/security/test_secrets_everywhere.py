"""Secrets fed through every path appear nowhere (issue 14, classes 6 and 7).

Known marker values for a kubeconfig token, database passwords, registry credentials, AWS keys and
Terraform variables go through creation, jobs (a real Terraform plan of the `local` blueprint, a data
copy on the real MariaDB, a rollout on the stack's control plane), failures (wrong passwords,
rejected and unreachable servers) and logs. Then every log record (caplog at DEBUG), job output,
stored message, page (crawled from the dashboard as a Platform admin), API response and audit row
is searched for each marker, as is and in the encodings a tool may print it in: none is found.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from clusters import blueprints
from clusters.health import cluster_check_health
from clusters.models import Cluster, TerraformRun
from clusters.services import cluster_register
from clusters.terraform import TFVARS_FILE, Workspace
from clusters.terraform_runs import cluster_create
from environments.catalog.version_sync import component_versions_sync
from environments.models import Blueprint, Component, Environment, Registry
from environments.services import environment_create
from migrations_tool.models import DataCopy, DataStore
from migrations_tool.services import data_copy_start
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job, JobEvent
from portal.jobs.reporting import JobReporter
from tests.environments.conftest import cleanup_namespaces  # noqa: F401 - a fixture
from tests.fixtures.image_registry import REGISTRY_USER
from tests.migrations_tool.conftest import copy_world, fill, mariadb_pair  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

RUN = uuid.uuid4().hex[:8]
MARKERS = {
    "kube_token": f"kubeTokenMarker.{RUN}.eyJzdWIiOiJtYXJrZXIifQ",
    "db_password": f"dbPasswordMarker-{RUN}-x9",
    "registry_password": f"registryPwMarker/{RUN}+q",
    "aws_secret": f"awsSecretMarker{RUN}wJalrXUtnFEMIK7MDENGbPxRfi",
    "tf_var": f"tfVarMarker-{RUN} quotedTail-{RUN}",  # a quoted value with a space: both halves are secret
}


def spellings(secret: str) -> set[str]:
    """The marker as is, each part of it, URL-encoded, JSON-escaped, and its base64 core at each alignment."""
    found = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1], *secret.split()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret.encode()).decode()
        found.add(encoded[shift + 2:-4])
    return {s for s in found if len(s) >= 8}


def assert_nowhere(secrets: dict[str, str], where: str, text: str) -> None:
    for name, secret in secrets.items():
        for spelling in spellings(secret):
            assert spelling not in text, f"{name} ({spelling[:12]}…) found in {where}: " \
                                         f"…{text[max(0, text.find(spelling) - 150):text.find(spelling) + 50]}…"


def crawl_pages(client: Client, start: list[str], limit: int = 250) -> dict[str, str]:
    """Every page reachable by GET links from ``start`` (same site, no logout), body by path."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        body = content.decode(errors="replace") if response.status_code == 200 else ""
        seen[path] = body
        if "text/html" not in response.get("Content-Type", ""):
            continue
        for href in re.findall(r'href="(/[^"#]*)"', body):
            href = href.replace("&amp;", "&")
            if href.startswith(("/static/", "/logout", "/admin/")) or href in seen:
                continue
            queue.append(href)
    return seen


def crawl_api(api: APIClient) -> dict[str, str]:
    """Every list endpoint of the API and the details of the objects it lists (first 25 each)."""
    bodies: dict[str, str] = {}
    schema = api.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = list(json.loads(schema.content).get("paths", {}))
    for path in paths:
        if "{" in path:
            continue
        response = api.get(path)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        bodies[path] = content.decode(errors="replace")
        if response.status_code != 200 or "json" not in response.get("Content-Type", ""):
            continue
        data = response.json()
        items = data.get("results", data) if isinstance(data, dict) else data
        for item in (items if isinstance(items, list) else [])[:25]:
            if isinstance(item, dict) and "id" in item:
                detail = f"{path.rstrip('/')}/{item['id']}/"
                bodies[detail] = api.get(detail).content.decode(errors="replace")
    assert len(bodies) > 20, "the API crawl found too little to be a search"
    return bodies


def stored_text() -> dict[str, str]:
    """Everything Slipway stored that a person can read: job output, messages, audit rows."""
    return {
        "job events": "\n".join(JobEvent.objects.values_list("text", flat=True)),
        "jobs": "\n".join(f"{j.error} {j.message} {j.title}" for j in Job.objects.all()),
        "terraform runs": "\n".join(f"{r.log}\n{r.message}\n{json.dumps(r.outputs)}\n{json.dumps(r.lock_info)}"
                                    for r in TerraformRun.objects.all()),
        "clusters": "\n".join(f"{c.status_message} {c.api_server}" for c in Cluster.objects.all()),
        "environments": "\n".join(e.status_message for e in Environment.objects.all()),
        "data copies": "\n".join(f"{c.error} {json.dumps(c.progress)} {json.dumps(c.verification)}"
                                 for c in DataCopy.objects.all()),
        "components": "\n".join(c.versions_sync_error for c in Component.objects.all()),
        "audit rows": "\n".join(json.dumps([a.action, a.details, a.error, a.object_repr])
                                for a in AuditEvent.objects.all()),
    }


@pytest.fixture
def stack_kube(kubeconfig_path):
    text = Path(kubeconfig_path).read_text()
    data = yaml.safe_load(text)
    return {"text": text, "server": data["clusters"][0]["cluster"]["server"],
            "ca_data": data["clusters"][0]["cluster"]["certificate-authority-data"],
            "client_key": data["users"][0]["user"]["client-key-data"]}


def test_secrets_fed_through_every_path_appear_nowhere(
        users, team, stack_kube, local_registry, local_clusters, terraform_settings, monkeypatch, caplog,
        django_capture_on_commit_callbacks,
        copy_world, cleanup_namespaces):  # noqa: F811 - the fixtures imported above
    caplog.set_level(logging.DEBUG)
    admin = users["admin"]
    actor = Actor.for_user(admin)
    secrets = dict(MARKERS)
    # The stack's own credentials are secrets Slipway holds too.
    secrets["stack_db_password"] = str(copy_world["source_ep"].password)
    secrets["stack_client_key"] = stack_kube["client_key"]
    # AWS: every boto3 client and the Terraform S3 backend use the marker key (moto accepts any).
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", MARKERS["aws_secret"])

    # --- creation and failures: a cluster by token (rejected, then unreachable), by kubeconfig --------------
    api = APIClient()
    api.force_authenticate(admin)
    rejected = api.post("/api/v1/clusters/register/", {"name": "by-token", "server": stack_kube["server"],
                                                       "ca_data": stack_kube["ca_data"],
                                                       "token": MARKERS["kube_token"]}, format="json")
    assert rejected.status_code == 400, rejected.content
    page = Client()
    page.force_login(admin)
    refused = page.post("/clusters/register/", {"name": "by-token", "server": "https://127.0.0.1:1",
                                                "token": MARKERS["kube_token"]})
    assert refused.status_code == 400 and b"cannot be reached" in refused.content
    assert_nowhere(secrets, "the refused registration page", refused.content.decode())
    unreachable = yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": MARKERS["kube_token"]}}]})
    refused = page.post("/clusters/register/", {"name": "by-kubeconfig", "kubeconfig": unreachable})
    assert refused.status_code == 400 and b"cannot be reached" in refused.content
    assert_nowhere(secrets, "the refused kubeconfig page", refused.content.decode())
    # Stored some other way, then unreachable: the health check records why, never the token.
    Cluster.objects.create(name="stored-token", kind=Cluster.EXISTING, api_server="https://127.0.0.1:1",
                           kubeconfig=unreachable)
    cluster_check_health(actor=actor, cluster=Cluster.objects.get(name="stored-token"))
    call_command("seed_demo_blueprint", verbosity=0)
    local = cluster_register(actor=actor, name="stack", kind="local", kubeconfig=stack_kube["text"])

    # --- a rollout on the stack's control plane (generated database passwords, the client key) --------------
    cleanup_namespaces.append("slw-sec-roll")
    with django_capture_on_commit_callbacks(execute=True):
        environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=local,
                                         blueprint=Blueprint.objects.get(name="shop"), name="sec-roll", stage="qa",
                                         team=team, versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
    environment.refresh_from_db()
    assert environment.status == "ready", environment.status_message
    for value in json.loads(environment.backing_passwords or "{}").values():
        secrets[f"backing_password_{len(secrets)}"] = value

    # --- data copies on the real MariaDB: one verified, one from a store whose password is wrong ------------
    fill(copy_world["source_ep"], customers=10)
    with django_capture_on_commit_callbacks(execute=True):
        good = data_copy_start(actor=Actor.for_user(users["qa"]), user=users["qa"], source=copy_world["source"],
                               target=copy_world["target"], stores=["mysql"])
    good.refresh_from_db()
    assert good.state == DataCopy.VERIFIED, good.error
    wrong = copy_world["environment"]("qa-wrong-pw", "qa", copy_world["source_ep"])
    DataStore.objects.filter(environment=wrong).update(password=DataStore._meta.get_field("password")
                                                      .get_prep_value(MARKERS["db_password"]))
    with django_capture_on_commit_callbacks(execute=True):
        failed = data_copy_start(actor=Actor.for_user(users["qa"]), user=users["qa"], source=wrong,
                                 target=copy_world["target"], stores=["mysql"])
    failed.refresh_from_db()
    assert failed.state == DataCopy.FAILED and failed.error

    # --- registry credentials: created through the API, refused by the real registry ------------------------
    created = api.post("/api/v1/registries/", {"name": "dist", "kind": "v2", "url": local_registry.url,
                                               "credentials": {"username": REGISTRY_USER,
                                                               "password": MARKERS["registry_password"]}},
                       format="json")
    assert created.status_code == 201, created.content
    local_registry.push("shop/web", "1.0.0", created="2026-03-01T10:00:00Z")
    component = Component.objects.create(name="sec-web", image_repository="127.0.0.1/shop/web",
                                         registry=Registry.objects.get(name="dist"), repository="shop/web")
    with pytest.raises(ValidationError, match="refused the credentials"):
        component_versions_sync(actor=actor, user=admin, component=component)

    # --- Terraform: a real plan of the `local` blueprint with a sensitive variable and the marker AWS key ----
    terraform_settings.SLIPWAY_TERRAFORM_AUTO_APPROVE = []
    with django_capture_on_commit_callbacks(execute=True):
        run = cluster_create(actor=actor, user=admin, name=f"sec-{RUN}", kind="local",
                             terraform_vars={"admin_password": MARKERS["tf_var"]})
    run.refresh_from_db()
    assert run.state == TerraformRun.AWAITING_APPROVAL, (run.message, run.log[-2000:])
    # A tool that prints its inputs (as TF_LOG=trace or a chatty provisioner does) streams them through the
    # run's log path: the variables file, a connection string, a request header.
    cluster = Cluster.objects.get(name=f"sec-{RUN}")
    workspace = Workspace(name=cluster.name, blueprint="local", backend=blueprints.backend(cluster),
                          variables={**blueprints.variables(cluster), "admin_password": MARKERS["tf_var"]})
    workspace.prepare()
    job = Job.objects.create(kind="terraform-echo", title="inputs echoed")
    reporter = JobReporter(job)
    chatty = (f"print(open({TFVARS_FILE!r}).read()); "
              f"print('connecting to mysql://root:{MARKERS['db_password']}@127.0.0.1:3306/shop'); "
              f"print('> Authorization: Bearer {MARKERS['kube_token']}')")
    workspace.stream([sys.executable, "-c", chatty], reporter.log)
    reporter.flush()
    assert "admin_password" in "\n".join(job.events.values_list("text", flat=True))
    logging.getLogger("slipway.test").debug("the worker saw %s and %s", MARKERS["tf_var"], MARKERS["db_password"])

    # --- now search everything -------------------------------------------------------------------------------
    for where, text in stored_text().items():
        assert_nowhere(secrets, where, text)
    assert_nowhere(secrets, "log records", caplog.text)
    for record in caplog.records:
        assert_nowhere(secrets, f"log record {record.name}", record.getMessage() + (record.exc_text or ""))
    pages = crawl_pages(page, ["/", "/clusters/", f"/clusters/{cluster.pk}/", f"/clusters/runs/{run.pk}/",
                               f"/environments/{environment.pk}/", "/data-copies/", f"/data-copies/{failed.pk}/",
                               "/catalog/registries/", f"/catalog/components/{component.pk}/", "/audit/",
                               f"/jobs/{job.pk}/", f"/jobs/{failed.job_id}/", f"/jobs/{run.plan_job_id}/"])
    assert len([body for body in pages.values() if body]) > 20, "the page crawl found too little to be a search"
    for path, body in pages.items():
        assert_nowhere(secrets, f"page {urlsplit(path).path}", body)
    for path, body in crawl_api(api).items():
        assert_nowhere(secrets, f"API {path}", body)
