"""Browser journey (issue 8, hostnames): a Platform admin sets the cluster's hosted zone, QA creates an
environment and sees its hostname on the environment page; Route 53 (moto) and the Ingress on the local
control plane hold the same name."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from kubernetes import client as k8s
from playwright.sync_api import Page, expect

from clusters.services import cluster_register
from environments.hostnames import route53
from environments.hostnames.names import ownership_name
from environments.models import Environment
from portal.accounts import roles
from portal.audit.actor import Actor
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.kube_cluster import namespaces_delete

from .support import SERVER_ROLLOUT_TIMEOUT_SECONDS, expect_job_succeeded, log_in

pytestmark = pytest.mark.e2e
ROLLOUT = (SERVER_ROLLOUT_TIMEOUT_SECONDS + 30) * 1000


def test_admin_sets_the_zone_and_qa_sees_the_hostname(page: Page, screenshot, transactional_db, kubeconfig_path,
                                                      kube_client, route53_zone) -> None:
    call_command("seed_demo_blueprint", verbosity=0)
    cluster_register(actor=Actor.system("test"), name="local", kind="local",
                     kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    team = TeamFactory(slug="payments", name="Payments")
    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS], teams=[team])
    UserFactory(username="quinn", roles=[roles.QA], teams=[team])
    zone = route53_zone["name"].rstrip(".")
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    hostname = f"{name}.payments.{zone}"
    try:
        log_in(page, "ada")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Clusters").click()
        page.get_by_role("link", name="set up").click()
        expect(page.get_by_role("heading", name="Hostnames", level=1)).to_be_visible()
        page.locator("[data-cluster=local]").get_by_role("link", name="Edit").click()
        page.get_by_label("Hosted zone", exact=True).fill("no-such-zone.test")
        page.get_by_label("Ingress load-balancer hostname", exact=True).fill("ingress.elb.example.net")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".errorlist, .error-text").first).to_contain_text(
            "Route 53 has no hosted zone named no-such-zone.test")
        page.get_by_label("Hosted zone", exact=True).fill(zone)
        expect(page.get_by_label("Hostname pattern", exact=True)).to_have_value("{environment}.{team}.{zone}")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("Hostname settings of local saved.")
        expect(page.locator("[data-cluster=local]")).to_contain_text(zone)
        screenshot("hostnames-settings")
        page.get_by_role("button", name="Log out").click()

        log_in(page, "quinn")
        page.goto("/environments/new/")
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Blueprint", exact=True).select_option(label="shop v1")
        expect(page.locator("#version-picker select")).to_have_count(3)
        page.get_by_label("Team", exact=True).select_option("payments")
        page.get_by_role("button", name="Create environment").click()
        expect(page).to_have_url(re.compile(r"/environments/\d+/$"), timeout=ROLLOUT)
        expect_job_succeeded(page.locator("[data-job-stream]"), ROLLOUT)
        page.reload()
        hostnames = page.locator("[data-hostnames]")
        expect(hostnames.locator("[data-hostname]")).to_have_text(hostname)
        expect(hostnames.locator(f'[data-record="{hostname}"]')).to_contain_text("live")
        expect(hostnames.locator(f'[data-record="{hostname}"]')).to_contain_text("CNAME")
        screenshot("hostnames-environment")

        environment = Environment.objects.get(name=name)
        assert environment.hostname == hostname
        records = {(r.name, r.type) for r in route53.iter_records(route53_zone["id"])}
        assert {(hostname, "CNAME"), (ownership_name(hostname), "TXT")} <= records
        ingress = k8s.NetworkingV1Api(kube_client).read_namespaced_ingress(name, f"slw-{name}")
        assert [rule.host for rule in ingress.spec.rules] == [hostname]
    finally:
        namespaces_delete(kube_client, [f"slw-{name}"])
        leftovers = [route53.Change("DELETE", r) for r in route53.iter_records(route53_zone["id"])
                     if r.type in ("CNAME", "TXT")]
        if leftovers:
            route53.change(route53_zone["id"], [leftovers])
