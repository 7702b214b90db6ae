"""Browser journey (issue 7): QA opens an environment, chooses "Copy data from…", picks stores and
masking, and watches the copy to verified, then undoes it.

The copy is real: the live server's eager Celery runs the job inside the POST (after commit) against
the stack's MariaDB, snapshotting the target into an S3 bucket on the moto server first.
"""

from __future__ import annotations

import re

import pymysql
import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from clusters.models import Cluster
from environments.models import Blueprint, Environment
from migrations_tool.models import DataCopy, DataStore
from portal.accounts import roles
from tests.factories import TeamFactory, UserFactory
from tests.migrations_tool.conftest import fill, mariadb_pair, query  # noqa: F401 - fixture

from .support import log_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def environments(transactional_db, mariadb_pair, s3_bucket, aws_settings):  # noqa: F811
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
    DataStore.objects.create(environment=made["qa-fresh"], kind="s3", name="files", database=s3_bucket,
                             endpoint_url=aws_settings["AWS_ENDPOINT_URL"])
    fill(mariadb_pair[0], customers=30)
    return made, mariadb_pair


def test_qa_copies_data_into_an_environment_and_watches_it_verify(page: Page, screenshot, environments) -> None:
    made, (source_ep, target_ep) = environments
    target = made["qa-fresh"]
    log_in(page, "quinn")
    page.goto(f"/environments/{target.pk}/")
    page.get_by_role("link", name="Copy data from…").click()
    expect(page).to_have_url(re.compile(rf"/environments/{target.pk}/copy-data/$"))
    expect(page.get_by_role("heading", name="Copy data into qa-fresh", level=1)).to_be_visible()

    page.get_by_label("Copy data from").select_option(label="qa-orders (QA, payments)")
    page.get_by_label("MySQL/MariaDB").check()
    page.get_by_label("S3").uncheck()
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
    store = progress.locator('[data-store="mysql"]')
    expect(store.locator("[data-store-phase]")).to_have_text("verified")
    expect(store.locator("[data-verified]")).to_have_attribute("data-verified", "yes")
    expect(store.get_by_role("row").filter(has_text="customers")).to_contain_text("email, name")
    stream = page.locator("[data-job-stream]")
    expect(stream.locator("[data-job-state]")).to_have_text("succeeded")
    expect(stream.locator("[data-job-log]")).to_contain_text("all stores copied and verified")
    screenshot("data-copy-verified")

    expected = query(source_ep, "SELECT COUNT(*) FROM orders WHERE amount >= 10")
    assert query(target_ep, "SELECT COUNT(*) FROM orders") == expected
    assert query(target_ep, "SELECT COUNT(*) FROM customers WHERE email LIKE '%%@corp.example'") == ((0,),)
    assert copy.started_by.username == "quinn" and copy.stores == ["mysql"]

    page.get_by_role("button", name="Undo last copy").click()
    expect(page.get_by_role("status")).to_contain_text("Restoring qa-fresh")
    copy.refresh_from_db()
    assert copy.state == DataCopy.UNDONE, copy.error
    assert query(target_ep, "SHOW TABLES") == ()
    try:
        pymysql.connect(host=target_ep.host, port=target_ep.port, user=target_ep.user,
                        password=str(target_ep.password), database=target_ep.database).close()
    except pymysql.MySQLError as exc:  # the database itself must survive the undo
        pytest.fail(f"target database gone after undo: {exc}")
