"""Browser journey (issue 7): QA opens an environment, chooses "Copy data from…", picks MariaDB, Redis
and S3 with masking, and watches every store's copy to verified, then undoes it.

The copy is real: the live server's eager Celery runs the job inside the POST (after commit) against
the stack's MariaDB and Redis and two buckets on the moto server, snapshotting each target store into
the target environment's bucket first.
"""

from __future__ import annotations

import re

import pymysql
import pytest
import redis
from django.core.management import call_command
from playwright.sync_api import Page, expect

from clusters.models import Cluster
from environments.models import Blueprint, Environment
from migrations_tool.models import DataCopy, DataStore
from portal import aws
from portal.accounts import roles
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.stack import scratch_bucket
from tests.migrations_tool.conftest import fill, mariadb_pair, query  # noqa: F401 - fixture

from .support import confirm_in_dialog, log_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def source_bucket(s3_bucket):
    with scratch_bucket(f"{s3_bucket}-src") as name:
        yield name


@pytest.fixture
def environments(transactional_db, mariadb_pair, s3_bucket, source_bucket, redis_namespace,  # noqa: F811
                 aws_settings):
    call_command("seed_demo_blueprint", verbosity=0)
    blueprint = Blueprint.objects.get(name="shop")
    blueprint.personal_data = ["customers.email", "customers.name"]
    blueprint.save()
    team = TeamFactory(slug="payments", name="Payments")
    UserFactory(username="quinn", roles=[roles.QA], teams=[team])
    cluster = Cluster.objects.create(name="e2e-copies", kind="local", kubeconfig="{}")
    made = {}
    for (name, endpoint) in zip(("qa-orders", "qa-fresh"), mariadb_pair, strict=True):
        env = Environment.objects.create(name=name, cluster=cluster, namespace=f"slw-{name}", blueprint=blueprint,
                                         stage="qa", team=team, status="ready")
        DataStore.objects.create(environment=env, kind="mysql", name="db", host=endpoint.host, port=endpoint.port,
                                 user=endpoint.user, password=str(endpoint.password), database=endpoint.database)
        made[name] = env
    source_cache = redis_namespace["client"]
    where = source_cache.connection_pool.connection_kwargs
    for (name, bucket, keys) in (("qa-orders", source_bucket, "from:"), ("qa-fresh", s3_bucket, "to:")):
        DataStore.objects.create(environment=made[name], kind="redis", name="cache", host=where["host"],
                                 port=where["port"], database="1", prefix=f"{redis_namespace['prefix']}{keys}")
        DataStore.objects.create(environment=made[name], kind="s3", name="files", database=bucket,
                                 endpoint_url=aws_settings["AWS_ENDPOINT_URL"])
    fill(mariadb_pair[0], customers=30)
    for i in range(50):
        source_cache.set(f"{redis_namespace['prefix']}from:session:{i}", f"user{i}", ex=3600)
    source_cache.set(f"{redis_namespace['prefix']}to:stale", "before the copy")
    s3 = aws.client("s3")
    for i in range(12):
        s3.put_object(Bucket=source_bucket, Key=f"uploads/{i}.txt", Body=f"file {i}".encode(), ContentType="text/plain")
    s3.put_object(Bucket=s3_bucket, Key="uploads/0.txt", Body=b"before the copy")
    return made, mariadb_pair


def test_qa_copies_data_into_an_environment_and_watches_it_verify(page: Page, screenshot, environments) -> None:
    made, (source_ep, target_ep) = environments
    target = made["qa-fresh"]
    log_in(page, "quinn")
    page.goto(f"/environments/{target.pk}/")
    page.get_by_role("link", name="Copy data from…").click()
    expect(page).to_have_url(re.compile(rf"/environments/{target.pk}/copy-data/$"))
    expect(page.get_by_role("heading", name="Copy data into qa-fresh", level=1)).to_be_visible()

    # The only source with stores of the target's kinds comes preselected, with the kinds they share.
    expect(page.get_by_label("Copy data from").locator("option:checked")).to_have_text(
        "qa-orders (QA, payments) — mysql, redis, s3")
    for store in ("MySQL/MariaDB", "Redis", "S3"):
        expect(page.get_by_label(store)).to_be_checked()  # the stores the target has
    masking = page.get_by_label("Masking rules (one per line: table.column = rule)")
    expect(masking).to_have_value("customers.email = email\ncustomers.name = name")
    page.get_by_label("Row filters for a subset (one per line: table: WHERE expression)").fill(
        "orders: amount >= 10")
    screenshot("data-copy-form")
    page.set_default_timeout(180_000)  # the POST returns once the eager copy job has run (a shared 2-core box)
    page.get_by_role("button", name="Start copy").click()

    expect(page).to_have_url(re.compile(r"/data-copies/\d+/$"), timeout=120_000)
    copy = DataCopy.objects.get()
    progress = page.locator("#copy-progress")
    expect(progress).to_have_attribute("data-copy-state", "verified", timeout=60_000)
    for kind in ("mysql", "redis", "s3"):
        store = progress.locator(f'[data-store="{kind}"]')
        expect(store.locator("[data-store-phase]")).to_have_text("verified")
        expect(store.locator("[data-verified]")).to_have_attribute("data-verified", "yes")
    mysql = progress.locator('[data-store="mysql"]')
    expect(mysql.get_by_role("row").filter(has_text="customers")).to_contain_text("email, name")
    expect(progress.locator('[data-store="redis"] [data-unit="keys"]')).to_have_text("50 / 50")
    expect(progress.locator('[data-store="s3"] [data-unit="objects"]')).to_have_text("12 / 12")
    expect(progress.locator('[data-store="s3"] [data-verification-summary]')).to_contain_text("missing: none")
    stream = page.locator("[data-job-stream]")
    expect(stream.locator("[data-job-state]")).to_have_text("succeeded")
    expect(stream.locator("[data-job-log]")).to_contain_text("all stores copied and verified")
    screenshot("data-copy-verified")

    expected = query(source_ep, "SELECT COUNT(*) FROM orders WHERE amount >= 10")
    assert query(target_ep, "SELECT COUNT(*) FROM orders") == expected
    assert query(target_ep, "SELECT COUNT(*) FROM customers WHERE email LIKE '%%@corp.example'") == ((0,),)
    assert copy.started_by.username == "quinn" and sorted(copy.stores) == ["mysql", "redis", "s3"]
    cache, prefix = redis_of(target)
    assert cache.get(f"{prefix}session:7") == b"user7" and cache.get(f"{prefix}stale") == b"before the copy"

    # Undo asks first: Escape cancels and nothing happens; confirming restores the snapshots.
    undo = page.get_by_role("button", name="Undo last copy")
    undo.click()
    dialog = page.get_by_role("dialog", name="Undo the last copy")
    expect(dialog).to_contain_text("anything written to them since is lost")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    screenshot("data-copy-undo-dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(undo).to_be_focused()
    copy.refresh_from_db()
    assert copy.state == DataCopy.VERIFIED
    undo.click()
    confirm_in_dialog(page, "Undo the last copy")
    expect(page.get_by_role("status")).to_contain_text("Restoring qa-fresh")
    copy.refresh_from_db()
    assert copy.state == DataCopy.UNDONE, copy.error
    assert query(target_ep, "SHOW TABLES") == ()
    assert not cache.exists(f"{prefix}session:7") and cache.get(f"{prefix}stale") == b"before the copy"
    files = target.data_stores.get(kind="s3").database
    assert aws.client("s3").get_object(Bucket=files, Key="uploads/0.txt")["Body"].read() == b"before the copy"
    assert [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=files, Prefix="uploads/").get("Contents", [])] == [
        "uploads/0.txt"]
    try:
        pymysql.connect(host=target_ep.host, port=target_ep.port, user=target_ep.user,
                        password=str(target_ep.password), database=target_ep.database).close()
    except pymysql.MySQLError as exc:  # the database itself must survive the undo
        pytest.fail(f"target database gone after undo: {exc}")


def redis_of(environment):
    store = environment.data_stores.get(kind="redis")
    return redis.Redis(host=store.host, port=store.port, db=int(store.database)), store.prefix
