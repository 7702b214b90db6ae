"""Browser journey (issue 13, point 2): a Terraform state that went backwards is shown on the cluster page,
with the state's versions; the admin restores the recorded one through the confirmation dialog."""

from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import Page, expect

from clusters.models import Cluster
from portal import aws
from portal.accounts import roles
from tests.factories import UserFactory

from .support import log_in

pytestmark = pytest.mark.e2e


def test_a_replaced_state_is_refused_on_the_page_and_restored(page: Page, screenshot, live_asgi_server,
                                                               aws_settings) -> None:
    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])
    name = f"sg-{uuid.uuid4().hex[:6]}"
    bucket = live_asgi_server.settings_overrides["SLIPWAY_TERRAFORM_STATE_BUCKET"]
    key = f"clusters/{name}/terraform.tfstate"
    s3 = aws.client("s3")
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ours = {"version": 4, "lineage": "11111111-aaaa", "serial": 3, "resources": []}
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(ours))
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({**ours, "lineage": "99999999-other", "serial": 12}))
    cluster = Cluster.objects.create(name=name, kind="local", managed_by_terraform=True, status=Cluster.READY,
                                     terraform_vars={"api_port": 56799}, state_bucket=bucket, state_key=key,
                                     state_lineage="11111111-aaaa", state_serial=3)

    log_in(page, "ada")
    page.goto(f"/clusters/{cluster.pk}/")
    card = page.locator("[data-terraform-state]")
    expect(card.locator("[data-state-problem]")).to_contain_text("Slipway will not plan or destroy against this state.")
    expect(card).to_contain_text("has lineage 99999999-other, not the lineage 11111111-aaaa, serial 3")
    rows = card.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("11111111-aaaa")
    expect(rows.nth(1)).to_contain_text("recorded")
    expect(rows.nth(0)).to_contain_text("current")
    expect(rows.nth(0).get_by_role("button")).to_have_count(0)
    screenshot("cluster-state-went-backwards")

    rows.nth(1).get_by_role("button", name="Restore this version").click()
    dialog = page.get_by_role("dialog", name="Restore this state version?")
    expect(dialog).to_contain_text(f"This version becomes the current state of {name}")
    dialog.get_by_role("button", name="Restore this version").click()
    expect(page.get_by_role("status")).to_contain_text("State version restored (lineage 11111111-aaaa, serial 3)")
    expect(card.locator("[data-state-problem]")).to_have_count(0)
    expect(card.locator("dd").nth(1)).to_have_text("lineage 11111111-aaaa · serial 3")
    screenshot("cluster-state-restored")
